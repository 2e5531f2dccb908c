/*
 * mongo_sink.c - `ecom sink mongo`: users, categories, products and transactions into MongoDB.
 *
 * A stage of the shared consume loop (consumer.h). Each polled batch becomes, per collection,
 * one unordered bulk insert keyed by _id (the natural id). An id already stored is the same
 * transaction again (facts are immutable: nothing to do) or a version of a user, category or
 * product, which is rewritten only when it differs from the stored one. So writing a batch twice,
 * after a crash, a replay or a duplicate published upstream, leaves the documents exactly as
 * once, and a replay costs reads, not writes. Within a batch the last version of an id wins
 * before anything is sent: an unordered bulk may apply its operations in any order.
 *
 * Why not a replace-with-upsert for everything: on the SQLite-backed FerretDB used by the local
 * stack an upsert scans the collection, so its cost grows with the collection, and long runs of
 * replacements stall; inserts are checked by the unique _id index and stay fast everywhere.
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

#define DUPLICATE_KEY 11000

/* Inserts the batch unordered; collects the positions of documents whose _id already exists. */
static int insert_all(mongo_sink *s, int kind, GArray *dups, ecom_error *err)
{
    collection_batch *b = &s->batch[kind];
    bson_t opts = BSON_INITIALIZER, reply;
    bson_error_t berr;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    mongoc_bulk_operation_t *bulk =
        mongoc_collection_create_bulk_operation_with_opts(s->collections[kind], &opts);
    for (guint i = 0; i < b->docs->len; i++)
        mongoc_bulk_operation_insert_with_opts(bulk, g_ptr_array_index(b->docs, i), NULL, NULL);
    int rc = 0;
    if (!mongoc_bulk_operation_execute(bulk, &reply, &berr)) {
        /* only duplicate keys are expected: everything else is a failed write */
        bson_iter_t it, errors;
        bool other = !bson_iter_init_find(&it, &reply, "writeErrors") ||
                     !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &errors);
        while (!other && bson_iter_next(&errors)) {
            bson_iter_t e;
            int32_t code = 0, index = -1;
            if (bson_iter_recurse(&errors, &e))
                while (bson_iter_next(&e)) {
                    if (!strcmp(bson_iter_key(&e), "code"))
                        code = bson_iter_as_int64(&e);
                    else if (!strcmp(bson_iter_key(&e), "index"))
                        index = bson_iter_as_int64(&e);
                }
            if (code == DUPLICATE_KEY && index >= 0 && (guint)index < b->docs->len)
                g_array_append_val(dups, index);
            else
                other = true;
        }
        if (other)
            rc = ecom_fail(err, "writing %u document(s) to %s.%s: %s", b->docs->len, s->db,
                           ecom_mongo_collection(kind), berr.message);
    }
    bson_destroy(&reply);
    bson_destroy(&opts);
    mongoc_bulk_operation_destroy(bulk);
    return rc;
}

/* For documents whose _id existed: rewrites those whose stored version differs. One query
 * fetches the stored versions, so a replay (all identical) costs one read and no writes. */
static int replace_changed(mongo_sink *s, int kind, const GArray *dups, ecom_error *err)
{
    collection_batch *b = &s->batch[kind];
    bson_t filter = BSON_INITIALIZER, id_doc, in, reply;
    bson_error_t berr;
    bson_append_document_begin(&filter, "_id", 3, &id_doc);
    bson_append_array_begin(&id_doc, "$in", 3, &in);
    GHashTable *pending = g_hash_table_new(g_str_hash, g_str_equal); /* _id -> doc */
    for (guint i = 0; i < dups->len; i++) {
        const bson_t *doc = g_ptr_array_index(b->docs, g_array_index(dups, int32_t, i));
        bson_iter_t it;
        char key[16];
        const char *k;
        if (!bson_iter_init_find(&it, doc, "_id"))
            continue;
        bson_uint32_to_string(i, &k, key, sizeof key);
        bson_append_iter(&in, k, -1, &it);
        g_hash_table_insert(pending, (gpointer)bson_iter_utf8(&it, NULL), (gpointer)doc);
    }
    bson_append_array_end(&id_doc, &in);
    bson_append_document_end(&filter, &id_doc);
    /* one reply holding every match: an open server cursor would keep FerretDB's SQLite
     * connection busy while the replacements below wait for it */
    bson_t *find_opts =
        BCON_NEW("batchSize", BCON_INT32((int32_t)dups->len), "singleBatch", BCON_BOOL(true));
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(s->collections[kind], &filter, find_opts, NULL);
    bson_destroy(find_opts);
    const bson_t *stored;
    while (mongoc_cursor_next(cur, &stored)) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, stored, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
            continue;
        const bson_t *doc = g_hash_table_lookup(pending, bson_iter_utf8(&it, NULL));
        if (doc && bson_equal(doc, stored))
            g_hash_table_remove(pending, bson_iter_utf8(&it, NULL)); /* already as it should be */
    }
    int rc = 0;
    if (mongoc_cursor_error(cur, &berr))
        rc = ecom_fail(err, "reading %s.%s: %s", s->db, ecom_mongo_collection(kind), berr.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    if (rc == 0 && g_hash_table_size(pending) > 0) {
        /* Changed versions are deleted and inserted again rather than replaced: FerretDB v1 on
         * SQLite stalls on long runs of replacements in one command, and delete + insert is
         * one statement each on every server. If the process dies in between, the batch is
         * not committed, so its re-delivery inserts the documents again. */
        bson_t del = BSON_INITIALIZER, del_id, del_in, ins_opts = BSON_INITIALIZER;
        BSON_APPEND_BOOL(&ins_opts, "ordered", false);
        bson_append_document_begin(&del, "_id", 3, &del_id);
        bson_append_array_begin(&del_id, "$in", 3, &del_in);
        GHashTableIter it;
        gpointer id, doc;
        uint32_t n = 0;
        g_hash_table_iter_init(&it, pending);
        while (g_hash_table_iter_next(&it, &id, &doc)) {
            char key[16];
            const char *k;
            bson_uint32_to_string(n++, &k, key, sizeof key);
            bson_append_utf8(&del_in, k, -1, id, -1);
        }
        bson_append_array_end(&del_id, &del_in);
        bson_append_document_end(&del, &del_id);
        if (!mongoc_collection_delete_many(s->collections[kind], &del, NULL, &reply, &berr))
            rc = ecom_fail(err, "removing %u old version(s) from %s.%s: %s", n, s->db,
                           ecom_mongo_collection(kind), berr.message);
        bson_destroy(&reply);
        if (rc == 0) {
            mongoc_bulk_operation_t *bulk =
                mongoc_collection_create_bulk_operation_with_opts(s->collections[kind], &ins_opts);
            g_hash_table_iter_init(&it, pending);
            while (g_hash_table_iter_next(&it, &id, &doc))
                mongoc_bulk_operation_insert_with_opts(bulk, doc, NULL, NULL);
            if (!mongoc_bulk_operation_execute(bulk, &reply, &berr))
                rc = ecom_fail(err, "writing %u new version(s) to %s.%s: %s", n, s->db,
                               ecom_mongo_collection(kind), berr.message);
            bson_destroy(&reply);
            mongoc_bulk_operation_destroy(bulk);
        }
        bson_destroy(&del);
        bson_destroy(&ins_opts);
    }
    g_hash_table_destroy(pending);
    return rc;
}

/* Writes one collection's batch. Inserting is what every MongoDB-compatible server does fast;
 * an id that exists already is either the same fact again (transactions are immutable: done)
 * or possibly a new version of reference data (replaced only when it differs). */
static int write_collection(mongo_sink *s, int kind, ecom_error *err)
{
    collection_batch *b = &s->batch[kind];
    if (b->docs->len == 0)
        return 0;
    GArray *dups = g_array_new(FALSE, FALSE, sizeof(int32_t));
    int rc = insert_all(s, kind, dups, err);
    if (rc == 0 && dups->len && kind != ECOM_KIND_TRANSACTION)
        rc = replace_changed(s, kind, dups, err);
    if (rc == 0) {
        s->written += b->docs->len;
        batch_empty(b); /* written: a retry of the batch need not send it again */
    }
    g_array_free(dups, TRUE);
    return rc;
}

static int sink_flush(void *ctx, const rd_kafka_topic_partition_list_t *next_offsets,
                      ecom_error *err)
{
    (void)next_offsets; /* positions are Kafka's: the loop commits them after the write */
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
    ecom_mongo_init();
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
        ecom_consume_opts opts =
            ecom_consume_opts_for(cfg, "sink mongo", "ecom-sink-mongo", 500, kinds, 4);
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
               "(idempotent writes by id, commit after write).",
    .options = ecom_consumer_options,
    .min_args = 0,
    .max_args = 0,
    .run = mongo_sink_run,
};
