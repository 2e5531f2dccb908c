/*
 * verify_cmd.c - `ecom verify`: recompute every metric from the stores, compare with Redis and
 * the manifest, print every difference.
 *
 * The recomputation is independent of the aggregator: it reads what the sinks stored.
 *   MongoDB  the server sums each product's units, revenue and item lines ($unwind + $group,
 *            which FerretDB v1 and MongoDB both run); the orders stream past with only
 *            their user, time, total and quantities projected, and the client buckets them by day
 *            and month (there are no date operators to push down on FerretDB) and joins them with
 *            users, products and categories read whole.
 *   HBase    one scan of user_sessions gives the funnel by day of session start and the session
 *            count; the minute series (starts, page view cells' times, conversions), the
 *            segments (device:type, info:referrer, geo:country; MongoDB's transactions of each
 *            session counted in its row's segment) and the active sessions (a session_start
 *            stored, no session_end); and checks that every row sits under its own user's prefix
 * (the per-user sessions of `ecom sessions` are a prefix scan). The recomputed snapshot goes
 * through the same accumulator and renderer as the generator's manifest (metrics.h, snapshot.h), so
 * equal data gives equal JSON. One cross-store check needs no manifest: sessions HBase has as
 * converted must equal transactions MongoDB has with a session.
 *
 * Output: one line per difference, "<A> vs <B>: <metric> <key>: expected <x>, found <y>", then a
 * summary per comparison. Exit 0 when everything agrees, 1 when anything differs, 2 when a store
 * (or the manifest) cannot be read.
 */
#include <glib.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "ecom/counters.h"
#include "ecom/hbase_store.h"
#include "ecom/log.h"
#include "ecom/metrics.h"
#include "ecom/mongo_store.h"
#include "ecom/redis.h"

static const ecom_option verify_options[] = {
    ECOM_STRING_OPTION("manifest", 0, "ECOM_MANIFEST", manifest, NULL, "FILE",
                       "also compare with the ground truth `ecom generate --manifest` wrote"),
    ECOM_OPTIONS_END,
};

/* ---- MongoDB -------------------------------------------------------------------------------- */

typedef struct recompute {
    ecom_metrics *metrics;
    GHashTable *session_orders; /* session id -> GArray of total_cents, MongoDB's transactions */
    int64_t sessions, converted_sessions, misplaced_rows, active_sessions;
    int64_t linked_transactions; /* transactions with a session id */
    ecom_error row_error;
} recompute;

static int category_doc(void *arg, const bson_t *doc)
{
    ecom_category c = {0};
    const char *id = ecom_bson_text(doc, "_id"), *name = ecom_bson_text(doc, "name");
    snprintf(c.category_id, sizeof c.category_id, "%s", id ? id : "");
    snprintf(c.name, sizeof c.name, "%s", name ? name : "");
    ecom_metrics_add_category(((recompute *)arg)->metrics, &c);
    return 0;
}

static int product_doc(void *arg, const bson_t *doc)
{
    ecom_product p = {0};
    const char *id = ecom_bson_text(doc, "_id"), *name = ecom_bson_text(doc, "name"),
               *category = ecom_bson_text(doc, "category_id");
    snprintf(p.product_id, sizeof p.product_id, "%s", id ? id : "");
    snprintf(p.name, sizeof p.name, "%s", name ? name : "");
    snprintf(p.category_id, sizeof p.category_id, "%s", category ? category : "");
    ecom_metrics_add_product(((recompute *)arg)->metrics, &p);
    return 0;
}

static int user_doc(void *arg, const bson_t *doc)
{
    ecom_user u = {0};
    const char *id = ecom_bson_text(doc, "_id");
    snprintf(u.user_id, sizeof u.user_id, "%s", id ? id : "");
    u.registration_date = ecom_bson_time(doc, "registration_date");
    ecom_metrics_add_user(((recompute *)arg)->metrics, &u);
    return 0;
}

/* One of the per-product sums: which one the pipeline computed into "v". */
typedef enum product_sum { SUM_UNITS, SUM_REVENUE, SUM_LINES } product_sum;

typedef struct product_sums {
    recompute *rc;
    product_sum which;
} product_sums;

static int product_sum_doc(void *arg, const bson_t *doc)
{
    product_sums *ps = arg;
    const char *id = ecom_bson_text(doc, "_id");
    int64_t v = ecom_bson_int(doc, "v");
    ecom_metrics_add_product_sales(ps->rc->metrics, id ? id : "", ps->which == SUM_UNITS ? v : 0,
                                   ps->which == SUM_REVENUE ? v : 0,
                                   ps->which == SUM_LINES ? v : 0);
    return 0;
}

/* Each sum is its own pipeline: FerretDB v1.24 computes only the first accumulator of a $group
 * (the others come back 0), and {$sum: 1} as 0, so lines are counted with $count. MongoDB gives
 * the same answers to these pipelines. */
static int product_sums_recompute(mongoc_client_t *client, const char *db, recompute *rc,
                                  ecom_error *err)
{
    mongoc_collection_t *c = mongoc_client_get_collection(client, db, "transactions");
    int r = 0;
    for (int which = SUM_UNITS; which <= SUM_LINES && r == 0; which++) {
        bson_t *acc = which == SUM_LINES   ? BCON_NEW("$count", "{", "}")
                      : which == SUM_UNITS ? BCON_NEW("$sum", BCON_UTF8("$items.quantity"))
                                           : BCON_NEW("$sum", BCON_UTF8("$items.subtotal_cents"));
        bson_t *pipeline =
            BCON_NEW("pipeline", "[", "{", "$unwind", BCON_UTF8("$items"), "}", "{", "$group", "{",
                     "_id", BCON_UTF8("$items.product_id"), "v", BCON_DOCUMENT(acc), "}", "}", "]");
        char what[256];
        snprintf(what, sizeof what, "the per-product sums of %s.transactions", db);
        product_sums ps = {rc, (product_sum)which};
        r = ecom_mongo_each(mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL),
                            what, product_sum_doc, &ps, err);
        bson_destroy(pipeline);
        bson_destroy(acc);
    }
    mongoc_collection_destroy(c);
    return r;
}

static int order_doc(void *arg, const bson_t *doc)
{
    recompute *rc = arg;
    int64_t units = 0;
    bson_iter_t it, items;
    if (bson_iter_init_find(&it, doc, "items") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &items))
        while (bson_iter_next(&items)) {
            bson_iter_t item;
            if (BSON_ITER_HOLDS_DOCUMENT(&items) && bson_iter_recurse(&items, &item) &&
                bson_iter_find(&item, "quantity") && BSON_ITER_HOLDS_NUMBER(&item))
                units += bson_iter_as_int64(&item);
        }
    const char *user = ecom_bson_text(doc, "user_id");
    ecom_metrics_add_order(rc->metrics, user ? user : "", ecom_bson_time(doc, "timestamp"),
                           ecom_bson_int(doc, "total_cents"), units);
    const char *session = ecom_bson_text(doc, "session_id");
    if (session) { /* counted in its session's segment once HBase has told which that is */
        rc->linked_transactions++;
        GArray *totals = g_hash_table_lookup(rc->session_orders, session);
        if (!totals) {
            totals = g_array_new(FALSE, FALSE, sizeof(ecom_cents));
            g_hash_table_insert(rc->session_orders, g_strdup(session), totals);
        }
        ecom_cents total = ecom_bson_int(doc, "total_cents");
        g_array_append_val(totals, total);
    }
    return 0;
}

static int find_all(mongoc_client_t *client, const char *db, const char *collection,
                    bson_t *projection, int (*fn)(void *, const bson_t *), void *arg,
                    ecom_error *err)
{
    mongoc_collection_t *c = mongoc_client_get_collection(client, db, collection);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    if (projection)
        BSON_APPEND_DOCUMENT(&opts, "projection", projection);
    BSON_APPEND_INT32(&opts, "batchSize", 10000);
    char what[256];
    snprintf(what, sizeof what, "%s.%s", db, collection);
    int rc = ecom_mongo_each(mongoc_collection_find_with_opts(c, &filter, &opts, NULL), what, fn,
                             arg, err);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

static int mongo_recompute(const ecom_config *cfg, recompute *rc, ecom_error *err)
{
    mongoc_client_t *client = ecom_mongo_connect(cfg, "ecom-verify", err);
    if (!client)
        return -1;
    const char *db = cfg->mongo_db;
    bson_t *by_name = BCON_NEW("name", BCON_INT32(1));
    bson_t *by_product = BCON_NEW("name", BCON_INT32(1), "category_id", BCON_INT32(1));
    bson_t *by_user = BCON_NEW("registration_date", BCON_INT32(1));
    bson_t *by_order =
        BCON_NEW("user_id", BCON_INT32(1), "timestamp", BCON_INT32(1), "total_cents", BCON_INT32(1),
                 "session_id", BCON_INT32(1), "items.quantity", BCON_INT32(1));
    int r = ecom_mongo_ping(client, err);
    if (r == 0)
        r = find_all(client, db, "categories", by_name, category_doc, rc, err);
    if (r == 0)
        r = find_all(client, db, "products", by_product, product_doc, rc, err);
    if (r == 0)
        r = find_all(client, db, "users", by_user, user_doc, rc, err);
    if (r == 0)
        r = find_all(client, db, "transactions", by_order, order_doc, rc, err);
    if (r == 0)
        r = product_sums_recompute(client, db, rc, err);
    bson_destroy(by_name);
    bson_destroy(by_product);
    bson_destroy(by_user);
    bson_destroy(by_order);
    mongoc_client_destroy(client);
    return r;
}

/* ---- HBase ---------------------------------------------------------------------------------- */

static int session_row(void *arg, const ecom_session_row *row)
{
    recompute *rc = arg;
    bool converted = strcmp(row->conversion, "converted") == 0;
    ecom_metrics_add_session(rc->metrics, row->start_time, row->viewed_product, row->cart_lines > 0,
                             converted);
    ecom_segment seg;
    memset(&seg, 0, sizeof seg);
    g_strlcpy(seg.device, row->device, sizeof seg.device);
    g_strlcpy(seg.referrer, row->referrer, sizeof seg.referrer);
    g_strlcpy(seg.country, row->country, sizeof seg.country);
    ecom_metrics_add_segment_session(rc->metrics, &seg, row->viewed_product, row->cart_lines > 0,
                                     converted);
    GArray *totals = g_hash_table_lookup(rc->session_orders, row->session_id);
    for (guint i = 0; totals && i < totals->len; i++)
        ecom_metrics_add_segment_order(rc->metrics, &seg, g_array_index(totals, ecom_cents, i));
    /* the minute series: the start (written by session_start), each page view (its cell's time),
     * a conversion (the session_end's time) */
    if (row->start_time)
        ecom_metrics_add_minute(rc->metrics, ECOM_MINUTE_SESSIONS, row->start_time, 1);
    int stored_views =
        row->page_views < ECOM_ROW_PAGE_VIEWS ? row->page_views : ECOM_ROW_PAGE_VIEWS;
    for (int i = 0; i < stored_views; i++)
        ecom_metrics_add_minute(rc->metrics, ECOM_MINUTE_PAGE_VIEWS, row->page_view_times[i], 1);
    if (converted)
        ecom_metrics_add_minute(rc->metrics, ECOM_MINUTE_CONVERTED, row->end_time, 1);
    /* started (the session_start's cells are there) and not ended */
    rc->active_sessions += *row->device && !row->end_time;
    rc->sessions++;
    rc->converted_sessions += converted;
    size_t n = strlen(row->user_id);
    if (!n || strncmp(row->row_key, row->user_id, n) != 0 || row->row_key[n] != '_') {
        if (rc->misplaced_rows++ == 0)
            ecom_fail(&rc->row_error, "row %s holds the session of user '%s'", row->row_key,
                      row->user_id);
    }
    return 0;
}

static int hbase_recompute(const ecom_config *cfg, recompute *rc, ecom_error *err)
{
    ecom_hbase *h = ecom_hbase_new(cfg->hbase, cfg->hbase_table, err);
    if (!h)
        return -1;
    int r = ecom_hbase_scan_sessions(h, "", session_row, rc, err);
    ecom_hbase_free(h);
    return r;
}

/* ---- comparing ------------------------------------------------------------------------------ */

typedef struct report {
    const char *expected_name, *found_name;
    int differences;
} report;

static void print_difference(void *arg, const char *metric, const char *key, const char *expected,
                             const char *found)
{
    report *r = arg;
    printf("%s vs %s: %s%s%s: expected %s, found %s\n", r->expected_name, r->found_name, metric,
           *key ? " " : "", key, expected, found);
    r->differences++;
}

/* Compares two snapshots and prints the summary line; returns the number of differences. */
static int compare(const char *expected_name, const json_t *expected, const char *found_name,
                   const json_t *found)
{
    report r = {expected_name, found_name, 0};
    ecom_snapshot_diff(expected, found, print_difference, &r);
    printf("%s vs %s: %s\n", expected_name, found_name,
           r.differences ? "DIFFERENT" : "all metrics equal");
    if (r.differences)
        printf("%s vs %s: %d difference(s)\n", expected_name, found_name, r.differences);
    return r.differences;
}

static int check(const char *what, int64_t expected, int64_t found)
{
    if (expected == found)
        return 0;
    printf("hbase vs mongodb: %s: expected %lld, found %lld\n", what, (long long)expected,
           (long long)found);
    return 1;
}

static int verify_run(ecom_config *cfg)
{
    ecom_mongo_init();
    ecom_error err;
    json_t *manifest = NULL, *counters = NULL, *stores = NULL;
    int rc = 0;
    if (cfg->manifest && *cfg->manifest) {
        json_error_t jerr;
        manifest = json_load_file(cfg->manifest, 0, &jerr);
        if (!manifest) {
            fprintf(stderr, "ecom verify: --manifest %s: %s (line %d)\n", cfg->manifest, jerr.text,
                    jerr.line);
            rc = 2;
        }
    }
    ecom_counters_store store = {.redis = rc ? NULL : ecom_redis_new(cfg->redis, 30000, &err),
                                 .prefix = ecom_config_redis_prefix(cfg)};
    if (!rc && (!store.redis || ecom_counters_snapshot(&store, &counters, &err))) {
        fprintf(stderr, "ecom verify: %s\n", err.msg);
        rc = 2;
    } else if (!rc && !counters) {
        fprintf(stderr,
                "ecom verify: no counters in Redis under prefix '%s'; run `ecom aggregate`\n",
                store.prefix);
        counters = ecom_snapshot_new(); /* compare as all zero: every metric then differs */
    }
    recompute re = {.metrics = ecom_metrics_new(),
                    .session_orders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify)g_array_unref)};
    if (!rc && (mongo_recompute(cfg, &re, &err) || hbase_recompute(cfg, &re, &err))) {
        fprintf(stderr, "ecom verify: %s\n", err.msg);
        rc = 2;
    }
    if (!rc) {
        ecom_metrics_set_active_sessions(re.metrics, re.active_sessions);
        stores = ecom_metrics_snapshot(re.metrics);
        int differences = compare("stores", stores, "redis", counters);
        if (manifest) {
            differences += compare("manifest", manifest, "redis", counters);
            differences += compare("manifest", manifest, "stores", stores);
        }
        differences += check("converted sessions vs transactions with a session",
                             re.converted_sessions, re.linked_transactions);
        if (re.misplaced_rows) {
            printf("hbase: %lld row(s) not under their user's prefix, e.g. %s\n",
                   (long long)re.misplaced_rows, re.row_error.msg);
            differences++;
        }
        printf("verify: %s (%lld transactions and %lld sessions recomputed)\n",
               differences ? "DIFFERENCES FOUND" : "everything agrees",
               (long long)json_integer_value(
                   json_object_get(json_object_get(stores, "counts"), "transactions")),
               (long long)re.sessions);
        rc = differences ? 1 : 0;
    }
    ecom_metrics_free(re.metrics);
    g_hash_table_destroy(re.session_orders);
    json_decref(manifest);
    json_decref(counters);
    json_decref(stores);
    ecom_redis_free(store.redis);
    mongoc_cleanup();
    return rc;
}

const ecom_command ecom_cmd_verify = {
    .name = "verify",
    .synopsis = "[options]",
    .summary = "Recompute every metric from MongoDB and HBase and compare with Redis and the "
               "manifest; exit 0 only when all agree.",
    .options = verify_options,
    .min_args = 0,
    .max_args = 0,
    .run = verify_run,
};
