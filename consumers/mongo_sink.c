/*
 * mongo_sink.c - `ecom sink mongo`: users, categories, products and transactions into MongoDB.
 *
 * A stage of the shared consume loop (consumer.h). Each record becomes a document of its
 * collection, keyed by _id (the natural id), in a batch of the store (mongo_store.h), which
 * writes idempotently: a batch written twice leaves the documents exactly as once. Indexes are
 * created at start-up, retrying while MongoDB is not reachable yet.
 *
 * The store is the slow side: FerretDB keeps a processor busy writing what the loop consumes and
 * decodes in a tenth of the time. So the loop writes a closed batch on its writer thread while it
 * consumes into the next one, and the store never waits; the stage keeps two batches, the one
 * filling and, once written, a spare for the next.
 */
#include <stddef.h>
#include <string.h>
#include "commands.h"
#include "ecom/consumer.h"
#include "ecom/log.h"
#include "ecom/mongo_store.h"
#include "ecom/retry.h"
#include "ecom/signals.h"

/* Messages fetched ahead: the store takes some thousands of documents a second, so 8 MiB is
 * seconds of work; a bigger queue only holds memory, as a backfill fills whatever it is given. */
#define PREFETCH_KBYTES 8192

typedef struct mongo_sink {
    ecom_mongo *mongo;         /* used by `write` only, on the loop's writer thread */
    ecom_mongo_batch *pending; /* filled by `add` on the loop's thread */
    ecom_mongo_batch *spare;   /* an emptied batch, the next to fill */
    int64_t written;           /* documents written; `write` only */
} mongo_sink;

static int sink_add(void *ctx, const ecom_record *r, const rd_kafka_message_t *m, ecom_error *err)
{
    (void)m;
    mongo_sink *s = ctx;
    if (!ecom_mongo_collection(r->kind))
        return ecom_fail(err, "the MongoDB sink stores no %s records", ecom_kind_topic(r->kind));
    ecom_mongo_batch_add(s->pending, r);
    return 0;
}

static void *sink_detach(void *ctx)
{
    mongo_sink *s = ctx;
    ecom_mongo_batch *b = s->pending;
    s->pending = s->spare ? s->spare : ecom_mongo_batch_new();
    s->spare = NULL;
    return b;
}

static ecom_stage_result sink_write(void *ctx, void *batch,
                                    const rd_kafka_topic_partition_list_t *next_offsets,
                                    ecom_error *err)
{
    (void)next_offsets; /* the positions are Kafka's commits */
    mongo_sink *s = ctx;
    int64_t before = ecom_mongo_batch_documents(batch);
    int rc = ecom_mongo_batch_write(s->mongo, batch, err);
    s->written += before - ecom_mongo_batch_documents(batch); /* what left the batch is stored */
    return rc ? ECOM_STAGE_RETRY : ECOM_STAGE_WRITTEN;
}

static void sink_release(void *ctx, void *batch)
{
    mongo_sink *s = ctx;
    ecom_mongo_batch_clear(batch);
    if (s->spare)
        ecom_mongo_batch_free(batch);
    else
        s->spare = batch;
}

static int ensure_indexes_attempt(void *arg, ecom_error *err)
{
    return ecom_mongo_ensure_indexes(arg, err);
}

static int mongo_sink_run(ecom_config *cfg)
{
    ecom_mongo_init();
    ecom_error err;
    mongo_sink s = {0};
    s.mongo = ecom_mongo_new(cfg, "ecom-sink-mongo", (int)cfg->mongo_connections, &err);
    if (!s.mongo) {
        ecom_log(ECOM_ERROR, "sink mongo cannot start", "error=\"%s\"", err.msg);
        mongoc_cleanup();
        return 2;
    }
    s.pending = ecom_mongo_batch_new();
    ecom_signals_install();
    int rc = 1;
    ecom_retry indexes = {
        .what = "create MongoDB indexes", .attempt = ensure_indexes_attempt, .arg = s.mongo};
    if (ecom_retry_run(&indexes, &err) == 0) {
        static const ecom_kind kinds[] = {ECOM_KIND_CATEGORY, ECOM_KIND_PRODUCT, ECOM_KIND_USER,
                                          ECOM_KIND_TRANSACTION};
        ecom_consume_opts opts =
            ecom_consume_opts_for(cfg, "sink mongo", "ecom-sink-mongo", ECOM_BATCH_SIZE_STORE,
                                  ECOM_BATCH_MS_STORE, kinds, 4);
        opts.prefetch_kbytes = PREFETCH_KBYTES;
        ecom_stage stage = {.ctx = &s,
                            .add = sink_add,
                            .detach = sink_detach,
                            .write = sink_write,
                            .release = sink_release};
        ecom_consume_stats stats;
        if (ecom_consume(cfg, &opts, &stage, &stats, &err) == 0) {
            rc = 0;
            ecom_log(ECOM_INFO, "sink mongo stopped",
                     "consumed=%lld documents_written=%lld dead_letters=%lld seconds=%.1f "
                     "docs_per_s=%.0f",
                     (long long)stats.consumed, (long long)s.written, (long long)stats.dead_letters,
                     stats.seconds, (double)s.written / (stats.seconds + 1e-9));
        }
    }
    if (rc)
        ecom_log(ECOM_ERROR, "sink mongo failed", "error=\"%s\"", err.msg);
    ecom_mongo_batch_free(s.pending);
    ecom_mongo_batch_free(s.spare);
    ecom_mongo_free(s.mongo);
    mongoc_cleanup();
    return rc;
}

static const ecom_option mongo_sink_options[] = {
    ECOM_INT_OPTION("mongo-connections", 0, "ECOM_MONGO_CONNECTIONS", mongo_connections, "1", 1, 8,
                    "N",
                    "connections each batch is written over at once (FerretDB on SQLite takes "
                    "one writer at a time: keep 1 there)"),
    ECOM_OPTIONS_END,
};

const ecom_command ecom_cmd_sink_mongo = {
    .name = "sink mongo",
    .synopsis = "[options]",
    .summary = "Consume users, categories, products and transactions into MongoDB "
               "(idempotent writes by id, commit after write).",
    .options = mongo_sink_options,
    .more_options = ecom_consumer_options,
    .min_args = 0,
    .max_args = 0,
    .run = mongo_sink_run,
};
