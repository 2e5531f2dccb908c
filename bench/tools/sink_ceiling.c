/*
 * sink_ceiling.c - what a store takes when nothing but writing runs: the ceiling bench/sinks
 * sets beside each sink.
 *
 *   sink_ceiling mongo NDJSON --mongo-uri URI --mongo-db DB [--connections N] [--batch N]
 *   sink_ceiling hbase NDJSON --hbase HOST:PORT --hbase-table T [--batch N]
 *
 * NDJSON is `ecom generate --output` of the data the sinks read. Everything is decoded and turned
 * into the store's own form before the clock starts, and no Kafka, no decoding and no other
 * thread runs while it does:
 *   - mongo: the documents the sink stores (the last version of every id), as BSON, inserted in
 *     bulk inserts of --batch documents per collection into collections that already have the
 *     sink's indexes (the state the sink writes into), the chunks spread over --connections
 *     connections on a thread each (default 1: FerretDB's SQLite takes one writer at a time, and
 *     a second connection measured no faster). A store's fastest path: plain inserts, no
 *     duplicate handling.
 *   - hbase: every cell the sink writes, in batches of --batch events, each batch built first and
 *     then written by the store client's batch write (putMultiple over its connections); only the
 *     writes are timed.
 * Prints one JSON line: {"documents", "seconds"} or {"sessions", "events", "cells", "seconds"}.
 */
#include <glib.h>
#include <jansson.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/codec.h"
#include "ecom/hbase_store.h"
#include "ecom/mongo_store.h"
#include "ecom/timeutil.h"
#include "ecom/topics.h"

#define N_COLLECTIONS ((int)ECOM_KIND_TRANSACTION + 1)

typedef struct args {
    const char *store, *ndjson, *mongo_uri, *mongo_db, *hbase, *table;
    int connections, batch;
} args;

static int usage(void)
{
    fprintf(stderr, "usage: sink_ceiling mongo NDJSON --mongo-uri URI --mongo-db DB "
                    "[--connections N] [--batch N]\n"
                    "       sink_ceiling hbase NDJSON --hbase HOST:PORT --hbase-table T "
                    "[--batch N]\n");
    return 2;
}

static int parse_args(int argc, char **argv, args *a)
{
    *a = (args){.connections = 1, .batch = 0};
    if (argc < 3)
        return -1;
    a->store = argv[1];
    a->ndjson = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--mongo-uri"))
            a->mongo_uri = v;
        else if (!strcmp(k, "--mongo-db"))
            a->mongo_db = v;
        else if (!strcmp(k, "--hbase"))
            a->hbase = v;
        else if (!strcmp(k, "--hbase-table"))
            a->table = v;
        else if (!strcmp(k, "--connections"))
            a->connections = atoi(v);
        else if (!strcmp(k, "--batch"))
            a->batch = atoi(v);
        else
            return -1;
    }
    if ((argc - 3) % 2 || a->connections < 1 || a->batch < 0)
        return -1;
    if (!strcmp(a->store, "mongo"))
        return a->mongo_uri && a->mongo_db ? 0 : -1;
    if (!strcmp(a->store, "hbase"))
        return a->hbase && a->table ? 0 : -1;
    return -1;
}

/* The kind of a topic name: its last dot-separated part. */
static int kind_of(const char *topic)
{
    const char *dot = strrchr(topic, '.');
    const char *suffix = dot ? dot + 1 : topic;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        if (!strcmp(suffix, ecom_kind_topic((ecom_kind)k)))
            return k;
    return -1;
}

/* Calls fn with every record of the file, in order. */
static int each_record(const char *path, int (*fn)(void *arg, const ecom_record *r), void *arg)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0, lineno = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *msg = json_loadb(line, (size_t)n, 0, &jerr);
        const char *topic = msg ? json_string_value(json_object_get(msg, "topic")) : NULL;
        int kind = topic ? kind_of(topic) : -1;
        char *value = kind >= 0 ? json_dumps(json_object_get(msg, "value"), JSON_COMPACT) : NULL;
        ecom_record r;
        ecom_error err;
        if (!value || ecom_record_decode((ecom_kind)kind, value, strlen(value), &r, &err)) {
            fprintf(stderr, "%s:%d: not a message of ecom generate\n", path, lineno);
            rc = -1;
        } else {
            rc = fn(arg, &r);
        }
        free(value);
        json_decref(msg);
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- MongoDB -------------------------------------------------------------------------------- */

typedef struct mongo_docs {
    GPtrArray *docs[N_COLLECTIONS]; /* bson_t *, the last version of each id */
    GHashTable *slot[N_COLLECTIONS]; /* id -> index + 1 */
} mongo_docs;

static int keep_document(void *arg, const ecom_record *r)
{
    mongo_docs *d = arg;
    if ((int)r->kind >= N_COLLECTIONS)
        return 0;
    bson_t *doc = bson_new();
    ecom_mongo_document(r, doc);
    const char *id = ecom_record_id(r);
    guint slot = GPOINTER_TO_UINT(g_hash_table_lookup(d->slot[r->kind], id));
    if (slot) {
        bson_destroy(g_ptr_array_index(d->docs[r->kind], slot - 1));
        g_ptr_array_index(d->docs[r->kind], slot - 1) = doc;
    } else {
        g_ptr_array_add(d->docs[r->kind], doc);
        g_hash_table_insert(d->slot[r->kind], g_strdup(id),
                            GUINT_TO_POINTER(d->docs[r->kind]->len));
    }
    return 0;
}

static int create_indexes(const args *a)
{
    ecom_config cfg = {.mongo_uri = (char *)a->mongo_uri};
    ecom_error err;
    mongoc_client_t *client = ecom_mongo_connect(&cfg, "sink-ceiling", &err);
    int rc = client ? ecom_mongo_create_indexes(client, a->mongo_db, &err) : -1;
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    mongoc_client_destroy(client);
    return rc;
}

/* One chunk of one collection, inserted by whichever connection thread takes it next. */
typedef struct chunk {
    int kind;
    guint from, to;
} chunk;

typedef struct mongo_run {
    const args *a;
    mongo_docs *docs;
    chunk *chunks;
    int n_chunks, next;
    pthread_mutex_t lock;
    int failed;
} mongo_run;

static void *insert_chunks(void *arg)
{
    mongo_run *run = arg;
    mongoc_client_t *client = mongoc_client_new(run->a->mongo_uri);
    mongoc_collection_t *colls[N_COLLECTIONS];
    for (int k = 0; k < N_COLLECTIONS; k++)
        colls[k] = mongoc_client_get_collection(client, run->a->mongo_db,
                                                ecom_mongo_collection((ecom_kind)k));
    for (;;) {
        pthread_mutex_lock(&run->lock);
        int i = run->failed ? run->n_chunks : run->next++;
        pthread_mutex_unlock(&run->lock);
        if (i >= run->n_chunks)
            break;
        const chunk *c = &run->chunks[i];
        bson_error_t berr;
        bool ok = mongoc_collection_insert_many(
            colls[c->kind], (const bson_t **)run->docs->docs[c->kind]->pdata + c->from,
            c->to - c->from, NULL, NULL, &berr);
        if (!ok) {
            fprintf(stderr, "insert into %s: %s\n", ecom_mongo_collection((ecom_kind)c->kind),
                    berr.message);
            pthread_mutex_lock(&run->lock);
            run->failed = 1;
            pthread_mutex_unlock(&run->lock);
        }
    }
    for (int k = 0; k < N_COLLECTIONS; k++)
        mongoc_collection_destroy(colls[k]);
    mongoc_client_destroy(client);
    return NULL;
}

static int mongo_ceiling(const args *a)
{
    ecom_mongo_init(); /* the driver's own log lines, filtered */
    mongo_docs d;
    for (int k = 0; k < N_COLLECTIONS; k++) {
        d.docs[k] = g_ptr_array_new_with_free_func((GDestroyNotify)bson_destroy);
        d.slot[k] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    int rc = each_record(a->ndjson, keep_document, &d);
    if (rc == 0)
        rc = create_indexes(a);
    int batch = a->batch ? a->batch : 1000;
    mongo_run run = {.a = a, .docs = &d};
    pthread_mutex_init(&run.lock, NULL);
    guint total = 0;
    for (int k = 0; k < N_COLLECTIONS; k++) {
        total += d.docs[k]->len;
        for (guint from = 0; from < d.docs[k]->len; from += (guint)batch) {
            run.chunks = realloc(run.chunks, sizeof *run.chunks * (size_t)(run.n_chunks + 1));
            guint to = from + (guint)batch < d.docs[k]->len ? from + (guint)batch : d.docs[k]->len;
            run.chunks[run.n_chunks++] = (chunk){k, from, to};
        }
    }
    double started = ecom_monotonic();
    pthread_t *threads = calloc((size_t)a->connections, sizeof *threads);
    for (int i = 0; rc == 0 && i < a->connections; i++)
        pthread_create(&threads[i], NULL, insert_chunks, &run);
    for (int i = 0; rc == 0 && i < a->connections; i++)
        pthread_join(threads[i], NULL);
    double seconds = ecom_monotonic() - started;
    if (rc == 0 && !run.failed)
        printf("{\"documents\": %u, \"seconds\": %.3f, \"connections\": %d, \"batch\": %d}\n",
               total, seconds, a->connections, batch);
    free(threads);
    free(run.chunks);
    pthread_mutex_destroy(&run.lock);
    for (int k = 0; k < N_COLLECTIONS; k++) {
        g_ptr_array_free(d.docs[k], TRUE);
        g_hash_table_destroy(d.slot[k]);
    }
    mongoc_cleanup();
    return rc || run.failed ? 1 : 0;
}

/* ---- HBase ---------------------------------------------------------------------------------- */

typedef struct hbase_run {
    ecom_hbase *h;
    ecom_hbase_batch *batch;
    int per_batch, in_batch;
    int64_t events, sessions, cells;
    double seconds;
    int failed;
} hbase_run;

static int write_batch(hbase_run *run)
{
    ecom_error err;
    int64_t cells = ecom_hbase_batch_cells(run->batch);
    double started = ecom_monotonic();
    if (ecom_hbase_batch_write(run->h, run->batch, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        run->failed = 1;
        return -1;
    }
    run->seconds += ecom_monotonic() - started;
    run->cells += cells;
    run->in_batch = 0;
    return 0;
}

static int add_event(void *arg, const ecom_record *r)
{
    hbase_run *run = arg;
    if (r->kind != ECOM_KIND_SESSION_EVENT)
        return 0;
    ecom_hbase_batch_add(run->batch, &r->u.event);
    run->events++;
    run->sessions += r->u.event.type == ECOM_EV_SESSION_START;
    return ++run->in_batch >= run->per_batch ? write_batch(run) : 0;
}

static int hbase_ceiling(const args *a)
{
    ecom_error err;
    hbase_run run = {.per_batch = a->batch ? a->batch : 5000};
    run.h = ecom_hbase_new(a->hbase, a->table, &err);
    if (!run.h || ecom_hbase_ensure_table(run.h, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        ecom_hbase_free(run.h);
        return 1;
    }
    run.batch = ecom_hbase_batch_new();
    int rc = each_record(a->ndjson, add_event, &run);
    if (rc == 0 && run.in_batch)
        rc = write_batch(&run);
    if (rc == 0)
        printf("{\"sessions\": %lld, \"events\": %lld, \"cells\": %lld, \"seconds\": %.3f}\n",
               (long long)run.sessions, (long long)run.events, (long long)run.cells, run.seconds);
    ecom_hbase_batch_free(run.batch);
    ecom_hbase_free(run.h);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a))
        return usage();
    return !strcmp(a.store, "mongo") ? mongo_ceiling(&a) : hbase_ceiling(&a);
}
