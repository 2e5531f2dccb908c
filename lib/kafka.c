/*
 * kafka.c - librdkafka configuration and the checked producer (see kafka.h).
 *
 * Delivery reports arrive on the thread that polls; the producer polls on every send (without
 * blocking) and at flush, so counts stay current and a failure is reported at the latest when
 * the caller flushes. The producer's defaults favour throughput with safety: idempotence (no
 * duplicates or reordering from retries), lz4 compression and a short linger to fill batches.
 */
#include "ecom/kafka.h"

#include <stdio.h>
#include <string.h>
#include "ecom/log.h"

void ecom_topic_name(const ecom_config *cfg, const char *suffix, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s%s", cfg->topic_prefix ? cfg->topic_prefix : "", suffix);
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *origin,
                    ecom_error *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return ecom_fail(err, "%s %s=%s: %s", origin, key, value, errstr);
    return 0;
}

static void log_kafka_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    ecom_log(code == RD_KAFKA_RESP_ERR__FATAL ? ECOM_ERROR : ECOM_WARN, "kafka client error",
             "error=\"%s\" reason=\"%s\"", rd_kafka_err2str((rd_kafka_resp_err_t)code), reason);
}

rd_kafka_conf_t *ecom_kafka_conf(const ecom_config *cfg, const char *const *defaults,
                                 ecom_error *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set(conf, "bootstrap.servers", cfg->brokers, "--brokers", err))
        goto fail;
    for (int i = 0; defaults && defaults[i]; i += 2)
        if (conf_set(conf, defaults[i], defaults[i + 1], "default", err))
            goto fail;
    for (int i = 0; i < cfg->kafka.n; i++)
        if (conf_set(conf, cfg->kafka.keys[i], cfg->kafka.values[i], "-X", err))
            goto fail;
    rd_kafka_conf_set_error_cb(conf, log_kafka_error);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    ecom_producer *p = opaque;
    if (m->err) {
        if (p->failed++ == 0)
            snprintf(p->first_error, sizeof p->first_error, "topic %s: %s",
                     rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    } else {
        p->delivered++;
    }
}

int ecom_producer_open(ecom_producer *p, const ecom_config *cfg, ecom_error *err)
{
    static const char *const defaults[] = {
        "enable.idempotence", "true",
        "compression.type", "lz4",
        "linger.ms", "20",
        "batch.size", "1000000",
        "queue.buffering.max.messages", "500000",
        "queue.buffering.max.kbytes", "1048576",
        NULL,
    };
    memset(p, 0, sizeof *p);
    rd_kafka_conf_t *conf = ecom_kafka_conf(cfg, defaults, err);
    if (!conf)
        return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    char errstr[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        return ecom_fail(err, "cannot create Kafka producer: %s", errstr);
    }
    return 0;
}

int ecom_producer_send(ecom_producer *p, const char *topic, const char *key, size_t key_len,
                       const void *value, size_t value_len, ecom_error *err)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, key_len),
            RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return ecom_fail(err, "cannot produce to topic %s: %s", topic, rd_kafka_err2str(e));
        rd_kafka_poll(p->rk, 50); /* the local queue drains as the broker acknowledges */
    }
    p->sent++;
    p->bytes += (int64_t)value_len;
    if (p->failed)
        return ecom_fail(err, "delivery failed: %s", p->first_error);
    rd_kafka_poll(p->rk, 0);
    return 0;
}

void ecom_producer_poll(ecom_producer *p)
{
    rd_kafka_poll(p->rk, 0);
}

int ecom_producer_flush(ecom_producer *p, int timeout_ms, ecom_error *err)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    if (p->failed)
        return ecom_fail(err, "%lld message(s) failed delivery, first: %s", (long long)p->failed,
                         p->first_error);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return ecom_fail(err, "%d message(s) still undelivered after %d ms: %s",
                         rd_kafka_outq_len(p->rk), timeout_ms, rd_kafka_err2str(e));
    return 0;
}

void ecom_producer_close(ecom_producer *p)
{
    if (p->rk)
        rd_kafka_destroy(p->rk);
    p->rk = NULL;
}
