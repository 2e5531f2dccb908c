/*
 * hbase_sink.c - `ecom sink hbase`: the clickstream into HBase, one wide row per session.
 *
 * A stage of the shared consume loop (consumer.h). Each event becomes cells of its session's
 * row (layout in hbase_store.h), stamped with the event time, so a re-delivered or replayed
 * event rewrites identical cells. The table and its families are created at start-up when
 * missing, retrying while HBase is not reachable yet.
 *
 * HBase is the slow side, so the loop writes a closed batch on its writer thread while it consumes
 * and decodes the next one (consumer.h), and HBase never waits for the sink; the stage keeps two
 * batches, the one filling and, once written, a spare for the next (a batch keeps its Thrift
 * objects for reuse, so its memory is that of the largest batch it held).
 */
#include <string.h>
#include "commands.h"
#include "ecom/consumer.h"
#include "ecom/hbase_store.h"
#include "ecom/log.h"
#include "ecom/retry.h"
#include "ecom/signals.h"

/* Messages fetched ahead: HBase takes some tens of thousands of events a second, so 16 MiB is a
 * second or more of its work; a bigger queue only holds memory, as a backfill fills whatever it
 * is given (librdkafka's own depth, 100,000 messages per partition, took the sink past 128 MB
 * at seed scale). */
#define PREFETCH_KBYTES 16384

typedef struct hbase_sink {
    ecom_hbase *hbase;         /* used by `write` only, on the loop's writer thread */
    ecom_hbase_batch *pending; /* filled by `add` on the loop's thread */
    ecom_hbase_batch *spare;   /* an emptied batch, the next to fill */
    int64_t cells_written;     /* `write` only */
} hbase_sink;

static int sink_add(void *ctx, const ecom_record *r, const rd_kafka_message_t *m, ecom_error *err)
{
    (void)m;
    hbase_sink *s = ctx;
    if (r->kind != ECOM_KIND_SESSION_EVENT)
        return ecom_fail(err, "the HBase sink stores session events only, got %s",
                         ecom_kind_topic(r->kind));
    ecom_hbase_batch_add(s->pending, &r->u.event);
    return 0;
}

static void *sink_detach(void *ctx)
{
    hbase_sink *s = ctx;
    ecom_hbase_batch *b = s->pending;
    s->pending = s->spare ? s->spare : ecom_hbase_batch_new();
    s->spare = NULL;
    return b;
}

static ecom_stage_result sink_write(void *ctx, void *batch,
                                    const rd_kafka_topic_partition_list_t *next_offsets,
                                    ecom_error *err)
{
    (void)next_offsets; /* the positions are Kafka's commits */
    hbase_sink *s = ctx;
    int64_t cells = ecom_hbase_batch_cells(batch);
    if (ecom_hbase_batch_write(s->hbase, batch, err))
        return ECOM_STAGE_RETRY; /* the batch is intact: it is retried whole */
    s->cells_written += cells;
    return ECOM_STAGE_WRITTEN;
}

static void sink_release(void *ctx, void *batch)
{
    hbase_sink *s = ctx;
    ecom_hbase_batch_clear(batch);
    if (s->spare)
        ecom_hbase_batch_free(batch);
    else
        s->spare = batch;
}

static int ensure_table_attempt(void *arg, ecom_error *err)
{
    return ecom_hbase_ensure_table(arg, err);
}

static int hbase_sink_run(ecom_config *cfg)
{
    ecom_error err;
    hbase_sink s = {0};
    s.hbase = ecom_hbase_new(cfg->hbase, cfg->hbase_table, &err);
    if (!s.hbase) {
        ecom_log(ECOM_ERROR, "sink hbase cannot start", "error=\"%s\"", err.msg);
        return 2;
    }
    s.pending = ecom_hbase_batch_new();
    ecom_signals_install();
    int rc = 1;
    ecom_retry table = {
        .what = "create the HBase table", .attempt = ensure_table_attempt, .arg = s.hbase};
    if (ecom_retry_run(&table, &err) == 0) {
        static const ecom_kind kinds[] = {ECOM_KIND_SESSION_EVENT};
        ecom_consume_opts opts =
            ecom_consume_opts_for(cfg, "sink hbase", "ecom-sink-hbase", ECOM_BATCH_SIZE_STORE,
                                  ECOM_BATCH_MS_STORE, kinds, 1);
        opts.prefetch_kbytes = PREFETCH_KBYTES;
        ecom_stage stage = {.ctx = &s,
                            .add = sink_add,
                            .detach = sink_detach,
                            .write = sink_write,
                            .release = sink_release};
        ecom_consume_stats stats;
        if (ecom_consume(cfg, &opts, &stage, &stats, &err) == 0) {
            rc = 0;
            ecom_log(ECOM_INFO, "sink hbase stopped",
                     "consumed=%lld events_stored=%lld cells_written=%lld dead_letters=%lld "
                     "seconds=%.1f events_per_s=%.0f",
                     (long long)stats.consumed, (long long)stats.stored, (long long)s.cells_written,
                     (long long)stats.dead_letters, stats.seconds,
                     (double)stats.stored / (stats.seconds + 1e-9));
        }
    }
    if (rc)
        ecom_log(ECOM_ERROR, "sink hbase failed", "error=\"%s\"", err.msg);
    ecom_hbase_batch_free(s.pending);
    ecom_hbase_batch_free(s.spare);
    ecom_hbase_free(s.hbase);
    return rc;
}

const ecom_command ecom_cmd_sink_hbase = {
    .name = "sink hbase",
    .synopsis = "[options]",
    .summary = "Consume the clickstream into HBase table user_sessions, one row per session "
               "(cells stamped with event time, commit after write).",
    .options = ecom_consumer_options,
    .min_args = 0,
    .max_args = 0,
    .run = hbase_sink_run,
};
