/*
 * emitter.c - publishing generated records (see emitter.h).
 */
#include "emitter.h"

#include <errno.h>
#include <string.h>
#include "ecom/codec.h"

#define FLUSH_TIMEOUT_MS 120000

int gen_emitter_open(gen_emitter *e, const ecom_config *cfg, ecom_error *err)
{
    memset(e, 0, sizeof *e);
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        ecom_topic_name(cfg, ecom_kind_topic((ecom_kind)k), e->topics[k], sizeof e->topics[k]);
    if (cfg->output && *cfg->output) {
        if (strcmp(cfg->output, "-") == 0) {
            e->out = stdout;
        } else {
            e->out = fopen(cfg->output, "w");
            if (!e->out)
                return ecom_fail(err, "--output %s: %s", cfg->output, strerror(errno));
            e->close_out = true;
        }
        setvbuf(e->out, NULL, _IOFBF, 1 << 20);
        return 0;
    }
    e->to_kafka = true;
    return ecom_producer_open(&e->producer, cfg, err);
}

int gen_emit(gen_emitter *e, ecom_kind kind, const void *rec, ecom_error *err)
{
    if (ecom_validate(kind, rec, err))
        return ecom_fail_prefix(err, "generated %s record is invalid", ecom_kind_topic(kind));
    const char *key = ecom_key(kind, rec);
    ecom_buf_reset(&e->value);
    ecom_encode(kind, rec, &e->value);
    e->messages[kind]++;
    e->bytes += (int64_t)e->value.len;
    if (e->to_kafka)
        return ecom_producer_send(&e->producer, e->topics[kind], key, strlen(key), e->value.data,
                                  e->value.len, err);
    /* topic and key are plain identifiers (checked by validation), so they need no escaping */
    ecom_buf_reset(&e->line);
    ecom_buf_printf(&e->line, "{\"topic\":\"%s\",\"key\":\"%s\",\"value\":", e->topics[kind], key);
    ecom_buf_append(&e->line, e->value.data, e->value.len);
    ecom_buf_append(&e->line, "}\n", 2);
    if (fwrite(e->line.data, 1, e->line.len, e->out) != e->line.len)
        return ecom_fail(err, "writing NDJSON output: %s", strerror(errno));
    return 0;
}

int64_t gen_emitter_total(const gen_emitter *e)
{
    int64_t n = 0;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        n += e->messages[k];
    return n;
}

int gen_emitter_close(gen_emitter *e, ecom_error *err)
{
    int rc = 0;
    if (e->to_kafka) {
        rc = ecom_producer_flush(&e->producer, FLUSH_TIMEOUT_MS, err);
        ecom_producer_close(&e->producer);
    } else if (e->out) {
        if (fflush(e->out) != 0)
            rc = ecom_fail(err, "writing NDJSON output: %s", strerror(errno));
        if (e->close_out && fclose(e->out) != 0 && rc == 0)
            rc = ecom_fail(err, "closing NDJSON output: %s", strerror(errno));
        e->out = NULL;
    }
    ecom_buf_free(&e->value);
    ecom_buf_free(&e->line);
    return rc;
}
