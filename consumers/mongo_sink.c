/*
 * mongo_sink.c - `ecom sink mongo`: users, categories, products and transactions into MongoDB.
 *
 * A stage of the shared consume loop (consumer.h). Each polled batch becomes one unordered bulk
 * write per collection of replace-with-upsert by _id, so writing a batch twice (after a crash,
 * a replay, or a duplicate published upstream) leaves the documents exactly as once. Within a
 * batch the last version of an id wins before anything is sent: an unordered bulk would
 * otherwise be free to apply two versions of one product in either order.
 */
#include <glib.h>
#include <mongoc/mongoc.h>
#include <string.h>
#include "commands.h"
#include "ecom/consumer.h"
#include "ecom/log.h"
#include "ecom/mongo_store.h"
#include "ecom/retry.h"
#include "ecom/signals.h"

#define N_COLLECTIONS ((int)ECOM_KIND_TRANSACTION + 1) /* kinds 0..3 have collections */

typedef struct collection_batch {
    GPtrArray *docs;     /* bson_t *, owned */
    GHashTable *slot_of; /* _id -> index + 1 in docs; keys owned */
} collection_batch;

typedef struct mongo_sink {
    const char *db;
    mongoc_client_t *client;
    mongoc_collection_t *collections[N_COLLECTIONS];
    collection_batch batch[N_COLLECTIONS];
    int64_t written;
} mongo_sink;

static void batch_init(collection_batch *b)
{
    b->docs = g_ptr_array_new_with_free_func((GDestroyNotify)bson_destroy);
    b->slot_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void batch_empty(collection_batch *b)
{
    g_ptr_array_set_size(b->docs, 0);
    g_hash_table_remove_all(b->slot_of);
}

static int sink_add(void *ctx, const ecom_record *r, const rd_kafka_message_t *m, ecom_error *err)
{
    (void)m;
    mongo_sink *s = ctx;
    if ((int)r->kind >= N_COLLECTIONS)
        return ecom_fail(err, "no collection for %s records", ecom_kind_topic(r->kind));
    collection_batch *b = &s->batch[r->kind];
    bson_t *doc = bson_new();
    ecom_mongo_document(r, doc);
    const char *id = ecom_record_id(r);
    gpointer slot = g_hash_table_lookup(b->slot_of, id);
    if (slot) {
        guint i = GPOINTER_TO_UINT(slot) - 1;
        bson_destroy(g_ptr_array_index(b->docs, i));
        g_ptr_array_index(b->docs, i) = doc; /* a later version of the same id replaces it */
    } else {
        g_ptr_array_add(b->docs, doc);
        g_hash_table_insert(b->slot_of, g_strdup(id), GUINT_TO_POINTER(b->docs->len));
    }
    return 0;
}

static int write_collection(mongo_sink *s, int kind, ecom_error *err)
{
    collection_batch *b = &s->batch[kind];
    if (b->docs->len == 0)
        return 0;
    bson_t opts = BSON_INITIALIZER, upsert = BSON_INITIALIZER, reply;
    bson_error_t berr;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    BSON_APPEND_BOOL(&upsert, "upsert", true);
    mongoc_bulk_operation_t *bulk =
        mongoc_collection_create_bulk_operation_with_opts(s->collections[kind], &opts);
    int rc = 0;
    for (guint i = 0; i < b->docs->len && rc == 0; i++) {
        const bson_t *doc = g_ptr_array_index(b->docs, i);
        bson_iter_t it;
        bson_t selector = BSON_INITIALIZER;
        if (bson_iter_init_find(&it, doc, "_id"))
            bson_append_iter(&selector, "_id", 3, &it);
        if (!mongoc_bulk_operation_replace_one_with_opts(bulk, &selector, doc, &upsert, &berr))
            rc = ecom_fail(err, "queueing a write to %s: %s", ecom_mongo_collection(kind),
                           berr.message);
        bson_destroy(&selector);
    }
    if (rc == 0 && !mongoc_bulk_operation_execute(bulk, &reply, &berr))
        rc = ecom_fail(err, "writing %u document(s) to %s.%s: %s", b->docs->len, s->db,
                       ecom_mongo_collection(kind), berr.message);
    else if (rc == 0)
        bson_destroy(&reply);
    if (rc == 0) {
        s->written += b->docs->len;
        batch_empty(b); /* written: a retry of the batch need not send it again */
    } else {
        bson_destroy(&reply);
    }
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(&opts);
    bson_destroy(&upsert);
    return rc;
}

static int sink_flush(void *ctx, ecom_error *err)
{
    mongo_sink *s = ctx;
    for (int k = 0; k < N_COLLECTIONS; k++)
        if (write_collection(s, k, err))
            return -1;
    return 0;
}

static void sink_reset(void *ctx)
{
    mongo_sink *s = ctx;
    for (int k = 0; k < N_COLLECTIONS; k++)
        batch_empty(&s->batch[k]);
}

static int create_indexes_attempt(void *arg, ecom_error *err)
{
    mongo_sink *s = arg;
    return ecom_mongo_create_indexes(s->client, s->db, err);
}

static int mongo_sink_run(ecom_config *cfg)
{
    mongoc_init();
    mongo_sink s;
    memset(&s, 0, sizeof s);
    s.db = cfg->mongo_db;
    ecom_error err;
    int rc = 1;
    s.client = ecom_mongo_connect(cfg, "ecom-sink-mongo", &err);
    if (!s.client) {
        ecom_log(ECOM_ERROR, "sink mongo cannot start", "error=\"%s\"", err.msg);
        mongoc_cleanup();
        return 2;
    }
    for (int k = 0; k < N_COLLECTIONS; k++) {
        s.collections[k] = mongoc_client_get_collection(s.client, cfg->mongo_db,
                                                        ecom_mongo_collection((ecom_kind)k));
        batch_init(&s.batch[k]);
    }
    ecom_signals_install();
    ecom_retry indexes = {
        .what = "create MongoDB indexes", .attempt = create_indexes_attempt, .arg = &s};
    if (ecom_retry_run(&indexes, &err) == 0) {
        static const ecom_kind kinds[] = {ECOM_KIND_CATEGORY, ECOM_KIND_PRODUCT, ECOM_KIND_USER,
                                          ECOM_KIND_TRANSACTION};
        ecom_consume_opts opts = {
            .group = cfg->group ? cfg->group : "ecom-sink-mongo",
            .kinds = kinds,
            .n_kinds = 4,
            .batch_max = (int)cfg->batch_size,
            .batch_ms = (int)cfg->batch_ms,
            .from = cfg->from,
            .until_end = cfg->until_end,
            .service = "sink mongo",
        };
        ecom_stage stage = {.ctx = &s, .add = sink_add, .flush = sink_flush, .reset = sink_reset};
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
    for (int k = 0; k < N_COLLECTIONS; k++) {
        mongoc_collection_destroy(s.collections[k]);
        g_ptr_array_free(s.batch[k].docs, TRUE);
        g_hash_table_destroy(s.batch[k].slot_of);
    }
    mongoc_client_destroy(s.client);
    mongoc_cleanup();
    return rc;
}

const ecom_command ecom_cmd_sink_mongo = {
    .name = "sink mongo",
    .synopsis = "[options]",
    .summary = "Consume users, categories, products and transactions into MongoDB "
               "(idempotent upserts, commit after write).",
    .options = ecom_consumer_options,
    .min_args = 0,
    .max_args = 0,
    .run = mongo_sink_run,
};
