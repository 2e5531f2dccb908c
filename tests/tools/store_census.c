/*
 * store_census - what the stores hold, for tests and benchmarks.
 *
 * MongoDB: per collection, the document count and an order-independent digest of every
 * document's canonical extended JSON. HBase: rows, cells, a digest of every cell (row, column,
 * value and timestamp), and the funnel and duration totals of the session rows. Two censuses
 * are equal exactly when the stores hold the same data, so "a replay changes nothing" is one
 * comparison. `--doc COLLECTION ID` prints one document as relaxed extended JSON instead.
 *
 * usage: store_census [--mongo-uri U] [--mongo-db D] [--hbase H] [--hbase-table T]
 *                     [--doc COLLECTION ID] [--no-mongo] [--no-hbase]
 */
#include <jansson.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>
#include "ecom/buf.h"
#include "ecom/hbase_store.h"
#include "ecom/mongo_store.h"

static json_t *digest_json(uint64_t d)
{
    char s[17];
    snprintf(s, sizeof s, "%016llx", (unsigned long long)d);
    return json_string(s);
}

static int mongo_census(mongoc_client_t *client, const char *db, json_t *out)
{
    static const char *const collections[] = {"categories", "products", "users", "transactions"};
    for (size_t i = 0; i < 4; i++) {
        mongoc_collection_t *c = mongoc_client_get_collection(client, db, collections[i]);
        bson_t filter = BSON_INITIALIZER;
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &filter, NULL, NULL);
        const bson_t *doc;
        int64_t n = 0;
        uint64_t digest = 0;
        while (mongoc_cursor_next(cur, &doc)) {
            size_t len;
            char *json = bson_as_canonical_extended_json(doc, &len);
            digest += ecom_fnv1a(ECOM_FNV_OFFSET, json, len);
            bson_free(json);
            n++;
        }
        bson_error_t berr;
        int rc = 0;
        if (mongoc_cursor_error(cur, &berr)) {
            fprintf(stderr, "store_census: %s.%s: %s\n", db, collections[i], berr.message);
            rc = -1;
        }
        mongoc_cursor_destroy(cur);
        bson_destroy(&filter);
        mongoc_collection_destroy(c);
        if (rc)
            return -1;
        json_object_set_new(
            out, collections[i],
            json_pack("{s:I, s:o}", "count", (json_int_t)n, "digest", digest_json(digest)));
    }
    return 0;
}

typedef struct hbase_tally {
    int64_t rows, cells, viewed, carted, converted, ended, duration;
    uint64_t digest;
} hbase_tally;

static int tally_row(void *arg, const char *row, size_t row_len, const ecom_hbase_cell *cells,
                     size_t n)
{
    hbase_tally *t = arg;
    t->rows++;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ecom_fnv1a(ECOM_FNV_OFFSET, row, row_len);
        h = ecom_fnv1a(h, cells[i].column, cells[i].column_len);
        h = ecom_fnv1a(h, cells[i].value, cells[i].value_len);
        h = ecom_fnv1a(h, &cells[i].timestamp, sizeof cells[i].timestamp);
        t->digest += h;
        t->cells++;
    }
    return 0;
}

static int tally_session(void *arg, const ecom_session_row *r)
{
    hbase_tally *t = arg;
    t->viewed += r->viewed_product;
    t->carted += r->cart_lines > 0;
    t->converted += strcmp(r->conversion, "converted") == 0;
    t->ended += r->end_time != 0;
    t->duration += r->duration;
    return 0;
}

int main(int argc, char **argv)
{
    const char *uri = "mongodb://127.0.0.1:27017", *db = "ecommerce_db";
    const char *hbase = "127.0.0.1:9091", *table = "user_sessions";
    const char *doc_coll = NULL, *doc_id = NULL;
    int use_mongo = 1, use_hbase = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mongo-uri") && i + 1 < argc)
            uri = argv[++i];
        else if (!strcmp(argv[i], "--mongo-db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--hbase") && i + 1 < argc)
            hbase = argv[++i];
        else if (!strcmp(argv[i], "--hbase-table") && i + 1 < argc)
            table = argv[++i];
        else if (!strcmp(argv[i], "--doc") && i + 2 < argc) {
            doc_coll = argv[++i];
            doc_id = argv[++i];
        } else if (!strcmp(argv[i], "--no-mongo"))
            use_mongo = 0;
        else if (!strcmp(argv[i], "--no-hbase"))
            use_hbase = 0;
        else {
            fprintf(stderr, "store_census: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    ecom_mongo_init();
    mongoc_client_t *client = mongoc_client_new(uri);
    int rc = 0;
    if (doc_coll) {
        mongoc_collection_t *c = mongoc_client_get_collection(client, db, doc_coll);
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(doc_id));
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, NULL, NULL);
        const bson_t *doc;
        if (mongoc_cursor_next(cur, &doc)) {
            char *json = bson_as_relaxed_extended_json(doc, NULL);
            printf("%s\n", json);
            bson_free(json);
        } else {
            rc = 1;
        }
        mongoc_cursor_destroy(cur);
        bson_destroy(filter);
        mongoc_collection_destroy(c);
    } else {
        json_t *out = json_object();
        if (use_mongo) {
            json_t *m = json_object();
            rc |= mongo_census(client, db, m);
            json_object_set_new(out, "mongo", m);
        }
        if (use_hbase) {
            ecom_error err;
            ecom_hbase *h = ecom_hbase_new(hbase, table, &err);
            hbase_tally t = {0};
            if (!h || ecom_hbase_scan_cells(h, "", tally_row, &t, &err) ||
                ecom_hbase_scan_sessions(h, "", tally_session, &t, &err)) {
                fprintf(stderr, "store_census: %s\n", err.msg);
                rc = 1;
            }
            ecom_hbase_free(h);
            json_object_set_new(
                out, "hbase",
                json_pack("{s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "rows", (json_int_t)t.rows,
                          "cells", (json_int_t)t.cells, "digest", digest_json(t.digest), "viewed",
                          (json_int_t)t.viewed, "carted", (json_int_t)t.carted, "converted",
                          (json_int_t)t.converted, "ended", (json_int_t)t.ended, "total_duration",
                          (json_int_t)t.duration));
        }
        json_dumpf(out, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(out);
    }
    mongoc_client_destroy(client);
    mongoc_cleanup();
    return rc;
}
