/*
 * emitter.c - publishing generated records (see emitter.h).
 */
#include "emitter.h"

#include <errno.h>
#include <stdlib.h>
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
    bool live = cfg->mode && strcmp(cfg->mode, "live") == 0;
    if (ecom_producer_open(&e->producer, cfg, live ? ECOM_LINGER_MS_LIVE : ECOM_LINGER_MS_BULK,
                           err))
        return -1;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        if (!(e->handles[k] = ecom_producer_topic(&e->producer, e->topics[k], err)))
            return -1;
    return 0;
}

/* {"topic":"...","key":"...","value":<the record>} and a newline. Topic and key are plain
 * identifiers (the topic from the configuration, the key checked by validation), so they need
 * no escaping; the record is encoded in place, after its prefix. */
static int write_line(gen_emitter *e, ecom_kind kind, const char *key, const void *rec,
                      ecom_error *err)
{
    ecom_buf *b = &e->line;
    ecom_buf_reset(b);
    ecom_buf_append(b, "{\"topic\":\"", 10);
    ecom_buf_puts(b, e->topics[kind]);
    ecom_buf_append(b, "\",\"key\":\"", 9);
    ecom_buf_puts(b, key);
    ecom_buf_append(b, "\",\"value\":", 10);
    size_t value_at = b->len;
    ecom_encode(kind, rec, b);
    e->bytes += (int64_t)(b->len - value_at);
    ecom_buf_append(b, "}\n", 2);
    if (fwrite(b->data, 1, b->len, e->out) != b->len)
        return ecom_fail(err, "writing NDJSON output: %s", strerror(errno));
    return 0;
}

int gen_check(ecom_kind kind, const void *rec, ecom_error *err)
{
    if (ecom_validate(kind, rec, err))
        return ecom_fail_prefix(err, "generated %s record is invalid", ecom_kind_topic(kind));
    return 0;
}

int gen_publish(gen_emitter *e, ecom_kind kind, const void *rec, ecom_error *err)
{
    const char *key = ecom_key(kind, rec);
    e->messages[kind]++;
    if (!e->to_kafka)
        return write_line(e, kind, key, rec, err);
    ecom_buf_reset(&e->value);
    ecom_encode(kind, rec, &e->value);
    e->bytes += (int64_t)e->value.len;
    return ecom_producer_send(&e->producer, e->handles[kind], key, strlen(key), e->value.data,
                              e->value.len, err);
}

int gen_publish_run(gen_emitter *e, ecom_kind kind, const void *recs, size_t rec_size, int n,
                    ecom_error *err)
{
    const char *rec = recs;
    if (!e->to_kafka) {
        for (int i = 0; i < n; i++)
            if (gen_publish(e, kind, rec + (size_t)i * rec_size, err))
                return -1;
        return 0;
    }
    if (n > e->run_cap) {
        e->run_cap = n;
        e->run = ecom_xrealloc(e->run, (size_t)n * sizeof *e->run);
    }
    /* the values one after another in one buffer (which may move as it grows), then where
     * each starts */
    ecom_buf_reset(&e->value);
    for (int i = 0; i < n; i++) {
        const void *r = rec + (size_t)i * rec_size;
        size_t at = e->value.len;
        ecom_encode(kind, r, &e->value);
        const char *key = ecom_key(kind, r);
        e->run[i] = (rd_kafka_message_t){
            .len = e->value.len - at, .key = (void *)key, .key_len = strlen(key)};
    }
    char *value = e->value.data;
    for (int i = 0; i < n; i++) {
        e->run[i].payload = value;
        value += e->run[i].len;
    }
    e->messages[kind] += n;
    e->bytes += (int64_t)e->value.len;
    return ecom_producer_send_batch(&e->producer, e->handles[kind], e->run, n, err);
}

int gen_emit(gen_emitter *e, ecom_kind kind, const void *rec, ecom_error *err)
{
    return gen_check(kind, rec, err) ? -1 : gen_publish(e, kind, rec, err);
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
    free(e->run);
    e->run = NULL;
    return rc;
}
