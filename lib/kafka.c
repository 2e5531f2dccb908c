/*
 * kafka.c - librdkafka configuration and the checked producer (see kafka.h).
 *
 * Delivery reports arrive on the thread that polls; the producer polls every few hundred sends
 * (a dead-letter send, which is rare, polls every time) and at flush, so counts stay current
 * and a failure is reported at the latest when the caller flushes. The producer's defaults
 * favour throughput with safety: idempotence (no duplicates or reordering from retries), lz4
 * compression and a short linger to fill batches.
 *
 * Its local queue is sized for what a backfill needs, not for librdkafka's default of a
 * gigabyte: with a 20 ms linger and at most five requests in flight per broker, a few tens of
 * megabytes of messages keep every batch full at the broker's pace, and a bigger queue only
 * fills up with messages waiting for the broker (measured: the same rate, twice the memory).
 */
#include "ecom/kafka.h"

#include <stdio.h>
#include <string.h>
#include "ecom/log.h"
#include "ecom/redact.h"

#define PRODUCER_POLL_EVERY 500 /* sends between two servings of delivery reports */

/* Sets one property. librdkafka's refusal may quote the value; a secret's never shows. */
static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *origin,
                    ecom_error *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
        return 0;
    if (!ecom_secret_name(key))
        return ecom_fail(err, "%s %s=%s: %s", origin, key, value, errstr);
    ecom_secrets secret = {0};
    ecom_secrets_add_value(&secret, value, strlen(value));
    ecom_secrets_redact(&secret, errstr, sizeof errstr);
    ecom_secrets_free(&secret);
    return ecom_fail(err, "%s %s=***: %s", origin, key, errstr);
}

static void log_kafka_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    ecom_log(code == RD_KAFKA_RESP_ERR__FATAL ? ECOM_ERROR : ECOM_WARN, "kafka client error",
             "error=\"%s\" reason=\"%s\"", rd_kafka_err2str((rd_kafka_resp_err_t)code), reason);
}

/* librdkafka's own log lines, as structured lines like ours. */
static void log_kafka_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    ecom_log(level <= 3   ? ECOM_ERROR
             : level <= 4 ? ECOM_WARN
             : level <= 6 ? ECOM_INFO
                          : ECOM_DEBUG,
             "kafka client", "facility=%s detail=\"%s\"", fac, buf);
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
    rd_kafka_conf_set_log_cb(conf, log_kafka_line);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *ecom_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, ecom_error *err)
{
    if (!conf)
        return NULL;
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        ecom_fail(err, "cannot create a Kafka %s: %s",
                  type == RD_KAFKA_CONSUMER ? "consumer" : "client", errstr);
    }
    return rk;
}

rd_kafka_t *ecom_kafka_admin_client(const ecom_config *cfg, ecom_error *err)
{
    return ecom_kafka_new(RD_KAFKA_PRODUCER, ecom_kafka_conf(cfg, NULL, err), err);
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

int ecom_producer_open(ecom_producer *p, const ecom_config *cfg, int linger_ms, ecom_error *err)
{
    char linger[16];
    snprintf(linger, sizeof linger, "%d", linger_ms);
    const char *const defaults[] = {
        "enable.idempotence",
        "true",
        "compression.type",
        "lz4",
        "linger.ms",
        linger,
        "batch.size",
        "1000000",
        "queue.buffering.max.messages",
        "50000",
        "queue.buffering.max.kbytes",
        "16384",
        NULL,
    };
    memset(p, 0, sizeof *p);
    rd_kafka_conf_t *conf = ecom_kafka_conf(cfg, defaults, err);
    if (!conf)
        return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = ecom_kafka_new(RD_KAFKA_PRODUCER, conf, err);
    return p->rk ? 0 : -1;
}

rd_kafka_topic_t *ecom_producer_topic(ecom_producer *p, const char *topic, ecom_error *err)
{
    for (int i = 0; i < p->n_topics; i++)
        if (strcmp(rd_kafka_topic_name(p->topics[i]), topic) == 0)
            return p->topics[i];
    if (p->n_topics == ECOM_PRODUCER_TOPICS) {
        ecom_fail(err, "topic %s: a producer keeps at most %d topics", topic, ECOM_PRODUCER_TOPICS);
        return NULL;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!rkt) {
        ecom_fail(err, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return NULL;
    }
    p->topics[p->n_topics++] = rkt;
    return rkt;
}

/* After messages are queued: their count, and any delivery failure reported so far. */
static int queued(ecom_producer *p, int messages, int64_t value_bytes, ecom_error *err)
{
    p->sent += messages;
    p->bytes += value_bytes;
    if (p->failed)
        return ecom_fail(err, "delivery failed: %s", p->first_error);
    return 0;
}

/* After `sent` more sends: a poll takes librdkafka's queue lock, so once per few hundred sends
 * is enough to keep the acknowledged messages freed and the counts current. */
static void poll_now_and_then(ecom_producer *p, int sent)
{
    p->unpolled += sent;
    if (p->unpolled >= PRODUCER_POLL_EVERY) {
        rd_kafka_poll(p->rk, 0);
        p->unpolled = 0;
    }
}

int ecom_producer_send(ecom_producer *p, rd_kafka_topic_t *topic, const void *key, size_t key_len,
                       const void *value, size_t value_len, ecom_error *err)
{
    while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value,
                            value_len, key, key_len, NULL) != 0) {
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return ecom_fail(err, "cannot produce to topic %s: %s", rd_kafka_topic_name(topic),
                             rd_kafka_err2str(e));
        rd_kafka_poll(p->rk, 50); /* the local queue drains as the broker acknowledges */
        p->unpolled = 0;
    }
    poll_now_and_then(p, 1);
    return queued(p, 1, (int64_t)value_len, err);
}

int ecom_producer_send_batch(ecom_producer *p, rd_kafka_topic_t *topic,
                             rd_kafka_message_t *messages, int n, ecom_error *err)
{
    int64_t bytes = 0;
    int done = 0;
    for (;;) {
        int queued_now = rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                                messages + done, n - done);
        int refused = done; /* the first message refused, if any */
        while (refused < n && !messages[refused].err)
            bytes += (int64_t)messages[refused++].len;
        if (refused == n)
            break;
        /* a full queue refuses the message that found it full and every later one: the
         * queued ones are a prefix, and the rest goes again, in order, once it drains */
        rd_kafka_resp_err_t e = messages[refused].err;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || queued_now != refused - done) {
            queued(p, refused, bytes, err);
            return ecom_fail(err, "cannot produce to topic %s: %s", rd_kafka_topic_name(topic),
                             rd_kafka_err2str(e));
        }
        done = refused;
        rd_kafka_poll(p->rk, 50); /* the local queue drains as the broker acknowledges */
        p->unpolled = 0;
    }
    poll_now_and_then(p, n);
    return queued(p, n, bytes, err);
}

int ecom_producer_send_with_headers(ecom_producer *p, const char *topic, const void *key,
                                    size_t key_len, const void *value, size_t value_len,
                                    rd_kafka_headers_t *headers, ecom_error *err)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, key_len),
            RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (headers)
                rd_kafka_headers_destroy(headers);
            return ecom_fail(err, "cannot produce to topic %s: %s", topic, rd_kafka_err2str(e));
        }
        rd_kafka_poll(p->rk, 50); /* the local queue drains as the broker acknowledges */
    }
    rd_kafka_poll(p->rk, 0);
    return queued(p, 1, (int64_t)value_len, err);
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
    for (int i = 0; i < p->n_topics; i++)
        rd_kafka_topic_destroy(p->topics[i]);
    p->n_topics = 0;
    if (p->rk)
        rd_kafka_destroy(p->rk);
    p->rk = NULL;
}

/* Waits for an admin result; NULL (with err set) on timeout or request-level error. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const ecom_config *cfg, ecom_error *err)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    if (!ev) {
        ecom_fail(err, "no answer from Kafka at %s within 60 s", cfg->brokers);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        ecom_fail(err, "Kafka admin request failed: %s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

int ecom_kafka_create_topics(const ecom_config *cfg, int partitions, int replication, int *created,
                             ecom_error *err)
{
    enum { N = ECOM_TOPIC_COUNT };
    char errstr[512];
    rd_kafka_t *rk = ecom_kafka_admin_client(cfg, err);
    if (!rk)
        return -1;
    rd_kafka_NewTopic_t *topics[N];
    for (int i = 0; i < N; i++) {
        char name[256];
        ecom_topic_name(cfg, ecom_topics[i].suffix, name, sizeof name);
        topics[i] = rd_kafka_NewTopic_new(name, partitions, replication, errstr, sizeof errstr);
        rd_kafka_NewTopic_set_config(topics[i], "cleanup.policy", ecom_topics[i].cleanup_policy);
        if (strcmp(ecom_topics[i].cleanup_policy, "delete") == 0) {
            rd_kafka_NewTopic_set_config(topics[i], "retention.ms", "-1");
            rd_kafka_NewTopic_set_config(topics[i], "retention.bytes", "-1");
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, topics, N, opts, q);
    rd_kafka_event_t *ev = admin_wait(q, cfg, err);
    int rc = ev ? 0 : -1, n_created = 0;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                n_created++;
            else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                rc = ecom_fail(err, "creating topic %s: %s", rd_kafka_topic_result_name(res[i]),
                               rd_kafka_topic_result_error_string(res[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(topics, N);
    rd_kafka_destroy(rk);
    if (created)
        *created = n_created;
    return rc;
}

int ecom_kafka_delete_topics(const ecom_config *cfg, ecom_error *err)
{
    enum { N = ECOM_TOPIC_COUNT };
    rd_kafka_t *rk = ecom_kafka_admin_client(cfg, err);
    if (!rk)
        return -1;
    rd_kafka_DeleteTopic_t *topics[N];
    for (int i = 0; i < N; i++) {
        char name[256];
        ecom_topic_name(cfg, ecom_topics[i].suffix, name, sizeof name);
        topics[i] = rd_kafka_DeleteTopic_new(name);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, topics, N, NULL, q);
    rd_kafka_event_t *ev = admin_wait(q, cfg, err);
    int rc = ev ? 0 : -1;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                rc = ecom_fail(err, "deleting topic %s: %s", rd_kafka_topic_result_name(res[i]),
                               rd_kafka_topic_result_error_string(res[i]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy_array(topics, N);
    rd_kafka_destroy(rk);
    return rc;
}

int ecom_kafka_messages(const ecom_config *cfg, const ecom_kind *kinds, int n_kinds,
                        int64_t *messages, ecom_error *err)
{
    *messages = 0;
    rd_kafka_t *rk = ecom_kafka_admin_client(cfg, err);
    if (!rk)
        return -1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    int rc = e ? ecom_fail(err, "no metadata from Kafka at %s: %s", cfg->brokers,
                           rd_kafka_err2str(e))
               : 0;
    for (int k = 0; rc == 0 && k < n_kinds; k++) {
        char name[256];
        ecom_topic_name(cfg, ecom_kind_topic(kinds[k]), name, sizeof name);
        for (int t = 0; rc == 0 && t < md->topic_cnt; t++) {
            if (md->topics[t].err || strcmp(md->topics[t].topic, name) != 0)
                continue;
            for (int p = 0; rc == 0 && p < md->topics[t].partition_cnt; p++) {
                int64_t lo = 0, hi = 0;
                /* a topic just created may not have its leader yet: a few tries */
                for (int attempt = 0; attempt < 50; attempt++) {
                    e = rd_kafka_query_watermark_offsets(
                        rk, name, md->topics[t].partitions[p].id, &lo, &hi, 10000);
                    if (e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
                        e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                        e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                        break;
                    rd_kafka_poll(rk, 200);
                }
                if (e)
                    rc = ecom_fail(err, "cannot read the offsets of %s: %s", name,
                                   rd_kafka_err2str(e));
                else if (hi > lo)
                    *messages += hi - lo;
            }
        }
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}
