/*
 * table_reader.c - compacted topics read as tables (see table_reader.h).
 *
 * librdkafka needs a group.id to assign partitions by hand; this reader never subscribes and never
 * commits, so the group is only a name. Catching up compares each partition's position with its
 * high watermark queried at the start of the catch-up.
 */
#include "ecom/table_reader.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/fetch_waker.h"
#include "ecom/kafka.h"
#include "ecom/log.h"
#include "ecom/retry.h"
#include "ecom/signals.h"
#include "ecom/topics.h"

#define POLL_BATCH 10000      /* messages applied per poll call at most */
#define CATCH_UP_STALL_S 60.0   /* no progress for this long while behind: give up */
#define END_OFFSETS_WAIT_S 30.0 /* for the partitions of new topics to get a leader */

#define TABLE_QUEUE_KBYTES "2048"
#define TABLE_FETCH_BYTES "1048576"

struct ecom_table_reader {
    const ecom_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts; /* every partition of every topic */
    ecom_fetch_waker *waker;                /* keeps the small queue fetching */
    ecom_record *record;
    int64_t records, invalid;
};

void ecom_table_reader_close(ecom_table_reader *t)
{
    if (!t)
        return;
    ecom_fetch_waker_free(t->waker);
    if (t->rk) {
        rd_kafka_consumer_close(t->rk);
        rd_kafka_destroy(t->rk);
    }
    if (t->parts)
        rd_kafka_topic_partition_list_destroy(t->parts);
    free(t->record);
    free(t);
}

static int add_partitions(ecom_table_reader *t, const char *topic, ecom_error *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(t->rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(t->rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return ecom_fail(err, "no metadata for topic %s from %s: %s", topic, t->cfg->brokers,
                         rd_kafka_err2str(e));
    int rc = 0;
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0)
        rc = ecom_fail(err,
                       "topic %s does not exist; create the topics with `ecom init` (and check "
                       "--topic-prefix)",
                       topic);
    for (int i = 0; rc == 0 && i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(t->parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    return rc;
}

ecom_table_reader *ecom_table_reader_open(const ecom_config *cfg, const ecom_kind *kinds,
                                          int n_kinds, ecom_error *err)
{
    static const char *const defaults[] = {
        "group.id",
        "ecom-table-reader", /* required by assign; never joined or committed */
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "enable.partition.eof",
        "false",
        "fetch.wait.max.ms",
        "100",
        /* a table is read once, then followed: a small queue is enough, kept fetching by the
         * waker (librdkafka's own 64 MB held a whole seed-scale table decompressed at once) */
        "queued.max.messages.kbytes",
        TABLE_QUEUE_KBYTES,
        "fetch.max.bytes",
        TABLE_FETCH_BYTES,
        NULL,
    };
    ecom_table_reader *t = ecom_xcalloc(1, sizeof *t);
    t->cfg = cfg;
    t->record = ecom_xmalloc(sizeof *t->record);
    t->parts = rd_kafka_topic_partition_list_new(8);
    t->rk = ecom_kafka_new(RD_KAFKA_CONSUMER, ecom_kafka_conf(cfg, defaults, err), err);
    if (!t->rk) {
        ecom_table_reader_close(t);
        return NULL;
    }
    rd_kafka_poll_set_consumer(t->rk);
    for (int i = 0; i < n_kinds; i++) {
        char topic[256];
        ecom_topic_name(cfg, ecom_kind_topic(kinds[i]), topic, sizeof topic);
        if (add_partitions(t, topic, err)) {
            ecom_table_reader_close(t);
            return NULL;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(t->rk, t->parts);
    if (e) {
        ecom_fail(err, "cannot assign the reference partitions: %s", rd_kafka_err2str(e));
        ecom_table_reader_close(t);
        return NULL;
    }
    t->waker = ecom_fetch_waker_new(t->rk, strtoll(TABLE_QUEUE_KBYTES, NULL, 10) * 1000);
    return t;
}

/* Decodes and applies one message; a bad one is skipped with a log line. */
static int apply_message(ecom_table_reader *t, rd_kafka_message_t *m, ecom_table_fn fn, void *arg)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (m->err) {
        ecom_log(ECOM_WARN, "consume error", "topic=%s partition=%d error=\"%s\"", topic,
                 (int)m->partition, rd_kafka_message_errstr(m));
        return 0;
    }
    int kind = ecom_kind_of_topic(t->cfg, topic);
    ecom_error err;
    if (kind < 0 || ecom_record_decode((ecom_kind)kind, m->payload, m->len, t->record, &err)) {
        t->invalid++;
        ecom_log(ECOM_WARN, "skipping an invalid reference message",
                 "topic=%s partition=%d offset=%lld error=\"%s\"", topic, (int)m->partition,
                 (long long)m->offset, kind < 0 ? "unknown topic" : err.msg);
        return 0;
    }
    t->records++;
    return fn(arg, t->record);
}

int ecom_table_reader_poll(ecom_table_reader *t, ecom_table_fn fn, void *arg, ecom_error *err)
{
    for (int i = 0; i < POLL_BATCH; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, 0);
        if (!m) {
            ecom_fetch_waker_empty(t->waker, t->parts);
            break;
        }
        ecom_fetch_waker_read(t->waker, (int64_t)(m->len + m->key_len));
        int rc = apply_message(t, m, fn, arg);
        rd_kafka_message_destroy(m);
        if (rc)
            return ecom_fail(err, "applying reference data stopped");
    }
    return 0;
}

/* True when every partition's position reached its target end offset. */
static bool reached(ecom_table_reader *t, const rd_kafka_topic_partition_list_t *ends)
{
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(ends);
    rd_kafka_position(t->rk, pos);
    bool all = true;
    for (int i = 0; i < ends->cnt && all; i++)
        all = ends->elems[i].offset <= 0 || pos->elems[i].offset >= ends->elems[i].offset;
    /* (an empty partition's end is 0, or -1 when the broker has no offset for it) */
    rd_kafka_topic_partition_list_destroy(pos);
    return all;
}

int ecom_table_reader_catch_up(ecom_table_reader *t, ecom_table_fn fn, void *arg, ecom_error *err)
{
    /* every partition's end in one request: ListOffsets for "latest" (-1). One request, because
     * each waits behind the reader's own long-polling fetch on the broker connection */
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(t->parts);
    int rc = 0;
    rd_kafka_resp_err_t e;
    double deadline = ecom_monotonic() + END_OFFSETS_WAIT_S;
    for (;;) { /* a topic just created may have no leader yet: wait a little for one */
        for (int i = 0; i < ends->cnt; i++)
            ends->elems[i].offset = RD_KAFKA_OFFSET_END;
        e = rd_kafka_offsets_for_times(t->rk, ends, 30000);
        for (int i = 0; i < ends->cnt && !e; i++)
            e = ends->elems[i].err;
        if (!e || ecom_monotonic() > deadline || ecom_stop_requested())
            break;
        ecom_sleep_ms(200);
    }
    if (e)
        rc = ecom_fail(err, "cannot read the end offsets of the reference topics: %s",
                       rd_kafka_err2str(e));
    double last_progress = ecom_monotonic();
    while (rc == 0 && !reached(t, ends)) {
        if (ecom_stop_requested()) {
            rc = ecom_fail(err, "stopped while loading the reference topics");
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, 0);
        if (!m) { /* the queue ran dry: wake the fetchers before waiting */
            ecom_fetch_waker_empty(t->waker, t->parts);
            m = rd_kafka_consumer_poll(t->rk, 100);
        }
        if (!m) {
            if (ecom_monotonic() - last_progress > CATCH_UP_STALL_S)
                rc = ecom_fail(err, "no progress reading the reference topics for %.0f s",
                               CATCH_UP_STALL_S);
            continue;
        }
        last_progress = ecom_monotonic();
        ecom_fetch_waker_read(t->waker, (int64_t)(m->len + m->key_len));
        if (apply_message(t, m, fn, arg))
            rc = ecom_fail(err, "applying reference data stopped");
        rd_kafka_message_destroy(m);
        rc = rc ? rc : ecom_table_reader_poll(t, fn, arg, err);
    }
    rd_kafka_topic_partition_list_destroy(ends);
    return rc;
}

void ecom_table_reader_stats(const ecom_table_reader *t, int64_t *records, int64_t *invalid)
{
    *records = t->records;
    *invalid = t->invalid;
}
