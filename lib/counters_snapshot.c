/*
 * counters_snapshot.c - every metric of the current generation read back as one snapshot, in
 * the shape snapshot.h builds (see counters.h), for `ecom verify`, `ecom aggregate --snapshot`
 * and the dashboard.
 *
 * read.lua reads the generation and all of its hashes in one script call, so a snapshot never
 * mixes two batches or two generations; this file only turns the hashes' "<key>:<name>" fields
 * back into rows. Every product with its name, category, units and revenue (the reports' and
 * the dashboard's products table) is read the same way, by products.lua.
 */
#include "ecom/counters.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/snapshot.h"
#include "ecom/timeutil.h"

extern const char ecom_lua_read[];
extern const char ecom_lua_products[];

static const ecom_redis_script read_script = {"read.lua", ecom_lua_read};
static const ecom_redis_script products_script = {"products.lua", ecom_lua_products};

/* Runs one of the read scripts over the current generation, with the prefix and, when it is not
 * negative, `limit` as arguments: its reply is an array of `parts` parts, or empty when there is
 * no generation yet (then *reply is NULL). */
static int read_generation(const ecom_counters_store *s, const ecom_redis_script *script,
                           int64_t limit, size_t parts, redisReply **reply, ecom_error *err)
{
    *reply = NULL;
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_add(&a, s->prefix);
    if (limit >= 0)
        ecom_redis_args_add_int(&a, limit);
    redisReply *r = ecom_redis_eval(s->redis, script, &a, err);
    ecom_redis_args_free(&a);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || (r->elements != 0 && r->elements != parts)) {
        freeReplyObject(r);
        return ecom_fail(err, "Redis %s: unexpected reply", script->name);
    }
    if (r->elements == 0)
        freeReplyObject(r);
    else
        *reply = r;
    return 0;
}

/* Splits "a:b" at the last ':' into a (copied into head) and b. */
static const char *split_last(const char *field, char *head, size_t n)
{
    const char *colon = strrchr(field, ':');
    if (!colon) {
        head[0] = '\0';
        return field;
    }
    size_t len = (size_t)(colon - field) < n - 1 ? (size_t)(colon - field) : n - 1;
    memcpy(head, field, len);
    head[len] = '\0';
    return colon + 1;
}

/* Rows of a hash whose fields are "<key>:<name>": key -> (name -> value) as a JSON object. */
static json_t *rows_of(const redisReply *hash)
{
    json_t *rows = json_object();
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2) {
        char key[200];
        const char *name = split_last(hash->element[i]->str, key, sizeof key);
        json_t *row = json_object_get(rows, key);
        if (!row) {
            row = json_object();
            json_object_set_new(rows, key, row);
        }
        json_object_set_new(row, name, json_integer(strtoll(hash->element[i + 1]->str, NULL, 10)));
    }
    return rows;
}

static int64_t row_int(const json_t *row, const char *name)
{
    return json_integer_value(json_object_get(row, name));
}

static int64_t day_of(const char *text)
{
    ecom_time t;
    return ecom_date_parse(text, &t, NULL) == 0 ? ecom_time_day(t) : -1;
}

static const redisReply *hash_field(const redisReply *hash, const char *field)
{
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2)
        if (strcmp(hash->element[i]->str, field) == 0)
            return hash->element[i + 1];
    return NULL;
}

static int64_t hash_int(const redisReply *hash, const char *field)
{
    const redisReply *v = hash_field(hash, field);
    return v ? strtoll(v->str, NULL, 10) : 0;
}

enum {
    H_SALES = 1,
    H_FUNNEL,
    H_CATEGORIES,
    H_SPEND,
    H_COHORTS,
    H_COUNTS,
    H_PIPELINE,
    H_CATEGORY_NAMES,
    H_OFFSETS,
    H_SEGMENTS,
    H_PRODUCTS,
    H_MINUTES,
    N_READ_PARTS
};

static json_t *pipeline_of(const redisReply *hash, const redisReply *offsets, int64_t gen)
{
    json_t *records = json_object(), *positions = json_object();
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2) {
        char topic[200];
        const char *name = split_last(hash->element[i]->str, topic, sizeof topic);
        if (topic[0] && strcmp(name, "records") == 0)
            json_object_set_new(records, topic,
                                json_integer(strtoll(hash->element[i + 1]->str, NULL, 10)));
    }
    for (size_t i = 0; offsets && i + 1 < offsets->elements; i += 2)
        json_object_set_new(positions, offsets->element[i]->str,
                            json_integer(strtoll(offsets->element[i + 1]->str, NULL, 10)));
    int64_t updated = hash_int(hash, "updated_at");
    char updated_text[ECOM_TIME_TEXT] = "";
    if (updated)
        ecom_time_format(updated, updated_text);
    return json_pack("{s:I, s:o, s:{s:I, s:I}, s:{s:o, s:I, s:o}}", "generation", (json_int_t)gen,
                     "updated_at", updated ? json_string(updated_text) : json_null(), "latency_ms",
                     "p50", (json_int_t)hash_int(hash, "latency_ms_p50"), "p99",
                     (json_int_t)hash_int(hash, "latency_ms_p99"), "aggregator", "records", records,
                     "dead_letters", (json_int_t)hash_int(hash, "dead_letters"), "positions",
                     positions);
}

static void minutes_of(json_t *snap, const redisReply *minutes)
{
    for (size_t i = 0; i + 1 < minutes->elements; i += 2) {
        const redisReply *h = minutes->element[i + 1];
        ecom_minute_counts c = {.orders = hash_int(h, "orders"),
                                .revenue_cents = hash_int(h, "revenue_cents"),
                                .sessions = hash_int(h, "sessions"),
                                .page_views = hash_int(h, "page_views"),
                                .converted = hash_int(h, "converted")};
        ecom_snapshot_add_minute(snap, strtoll(minutes->element[i]->str, NULL, 10), &c);
    }
}

/* The segments hash: "<dimension>:<value>:<metric>"; a value may hold ':' itself. */
static void segments_of(json_t *snap, const redisReply *hash)
{
    json_t *rows = rows_of(hash); /* "<dimension>:<value>" -> metrics */
    const char *key;
    json_t *row;
    json_object_foreach(rows, key, row)
    {
        const char *colon = strchr(key, ':');
        for (int d = 0; colon && d < ECOM_DIMENSIONS; d++) {
            if (strncmp(key, ecom_dimension_names[d], (size_t)(colon - key)) != 0 ||
                ecom_dimension_names[d][colon - key] != '\0')
                continue;
            ecom_segment_counts c = {.sessions = row_int(row, "sessions"),
                                     .viewed = row_int(row, "viewed"),
                                     .carted = row_int(row, "carted"),
                                     .converted = row_int(row, "converted"),
                                     .orders = row_int(row, "orders"),
                                     .revenue_cents = row_int(row, "revenue_cents")};
            ecom_snapshot_add_segment(snap, (ecom_dimension)d, colon + 1, &c);
        }
    }
    json_decref(rows);
}

static json_t *snapshot_of(const redisReply *reply)
{
    const redisReply *const *part = (const redisReply *const *)reply->element;
    int64_t gen = strtoll(part[0]->str, NULL, 10);
    json_t *snap = ecom_snapshot_new();
    const char *key;
    json_t *row;

    json_t *sales = rows_of(part[H_SALES]);
    json_object_foreach(sales, key, row)
    {
        if (row_int(row, "orders") > 0)
            ecom_snapshot_add_daily_sales(snap, day_of(key), row_int(row, "revenue_cents"),
                                          row_int(row, "orders"), row_int(row, "units"));
    }
    json_decref(sales);

    json_t *funnel = rows_of(part[H_FUNNEL]);
    json_object_foreach(funnel, key, row)
    {
        if (strcmp(key, "total") == 0)
            ecom_snapshot_set_funnel_total(snap, row_int(row, "viewed"), row_int(row, "carted"),
                                           row_int(row, "converted"));
        else if (row_int(row, "sessions") > 0)
            ecom_snapshot_add_funnel_day(snap, day_of(key), row_int(row, "viewed"),
                                         row_int(row, "carted"), row_int(row, "converted"));
    }
    json_decref(funnel);

    json_t *categories = rows_of(part[H_CATEGORIES]);
    json_object_foreach(categories, key, row)
    {
        const redisReply *name = hash_field(part[H_CATEGORY_NAMES], key);
        ecom_snapshot_add_category(snap, key, name ? name->str : "", row_int(row, "lines"),
                                   row_int(row, "revenue_cents"));
    }
    json_decref(categories);

    json_t *spend = rows_of(part[H_SPEND]);
    json_object_foreach(spend, key, row)
    {
        if (row_int(row, "orders") > 0)
            ecom_snapshot_add_year(snap, strtoll(key, NULL, 10), row_int(row, "orders"),
                                   row_int(row, "total_cents"));
    }
    json_decref(spend);

    const redisReply *cohorts = part[H_COHORTS];
    for (size_t i = 0; i + 1 < cohorts->elements; i += 2) {
        char reg[ECOM_MONTH_TEXT + 8];
        const char *month = split_last(cohorts->element[i]->str, reg, sizeof reg);
        ecom_snapshot_add_cohort(snap, reg, month, strtoll(cohorts->element[i + 1]->str, NULL, 10));
    }

    const redisReply *counts = part[H_COUNTS];
    ecom_snapshot_set_counts(snap, hash_int(counts, "users"), hash_int(counts, "categories"),
                             hash_int(counts, "products"), hash_int(counts, "transactions"),
                             hash_int(counts, "sessions"));
    ecom_snapshot_set_active_sessions(snap, hash_int(counts, "active_sessions"));
    minutes_of(snap, part[H_MINUTES]);
    segments_of(snap, part[H_SEGMENTS]);

    const redisReply *products = part[H_PRODUCTS];
    for (size_t i = 0; i + 3 < products->elements; i += 4)
        ecom_snapshot_add_product(snap, products->element[i]->str, products->element[i + 3]->str,
                                  (int64_t)strtod(products->element[i + 1]->str, NULL),
                                  (int64_t)strtod(products->element[i + 2]->str, NULL));
    ecom_snapshot_finish(snap);
    json_object_set_new(snap, "pipeline", pipeline_of(part[H_PIPELINE], part[H_OFFSETS], gen));
    return snap;
}

int ecom_counters_snapshot(const ecom_counters_store *s, json_t **out, ecom_error *err)
{
    *out = NULL;
    redisReply *reply;
    int rc = read_generation(s, &read_script, ECOM_TOP_N, N_READ_PARTS, &reply, err);
    if (reply) {
        *out = snapshot_of(reply);
        freeReplyObject(reply);
    }
    return rc;
}

/* ---- every product ---------------------------------------------------------------------- */

/* ---- products ------------------------------------------------------------------------------- */

typedef struct product {
    const char *id, *name, *category_id; /* in the script's reply */
    int64_t units, revenue_cents;
} product;

enum { P_GEN, P_UNITS, P_REVENUE, P_NAMES, P_CATEGORIES, P_CATEGORY_NAMES, N_PRODUCT_PARTS };

static product *product_of(GHashTable *by_id, const char *id)
{
    product *p = g_hash_table_lookup(by_id, id);
    if (!p) {
        p = g_new0(product, 1);
        p->id = id;
        p->name = "";
        p->category_id = "unknown";
        g_hash_table_insert(by_id, (gpointer)id, p);
    }
    return p;
}

static int by_revenue(gconstpointer a, gconstpointer b)
{
    const product *x = *(product *const *)a, *y = *(product *const *)b;
    if (x->revenue_cents != y->revenue_cents)
        return x->revenue_cents > y->revenue_cents ? -1 : 1;
    return strcmp(x->id, y->id);
}

static json_t *product_rows(const redisReply *const *part)
{
    GHashTable *by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    GHashTable *category_names = g_hash_table_new(g_str_hash, g_str_equal);
    const redisReply *h = part[P_NAMES];
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        product_of(by_id, h->element[i]->str)->name = h->element[i + 1]->str;
    h = part[P_CATEGORIES];
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        product_of(by_id, h->element[i]->str)->category_id = h->element[i + 1]->str;
    h = part[P_UNITS];
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        product_of(by_id, h->element[i]->str)->units =
            (int64_t)strtod(h->element[i + 1]->str, NULL);
    h = part[P_REVENUE];
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        product_of(by_id, h->element[i]->str)->revenue_cents =
            (int64_t)strtod(h->element[i + 1]->str, NULL);
    h = part[P_CATEGORY_NAMES];
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        g_hash_table_insert(category_names, h->element[i]->str, h->element[i + 1]->str);

    GPtrArray *sorted = g_ptr_array_sized_new(g_hash_table_size(by_id));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, by_id);
    while (g_hash_table_iter_next(&it, &key, &value))
        g_ptr_array_add(sorted, value);
    g_ptr_array_sort(sorted, by_revenue);
    json_t *rows = json_array();
    for (guint i = 0; i < sorted->len; i++) {
        const product *p = g_ptr_array_index(sorted, i);
        const char *category_name = g_hash_table_lookup(category_names, p->category_id);
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "product_id", p->id,
                                              "name", p->name, "category_id", p->category_id,
                                              "category_name", category_name ? category_name : "",
                                              "units", (json_int_t)p->units, "revenue_cents",
                                              (json_int_t)p->revenue_cents));
    }
    g_ptr_array_free(sorted, TRUE);
    g_hash_table_destroy(category_names);
    g_hash_table_destroy(by_id);
    return rows;
}

int ecom_counters_products(const ecom_counters_store *s, json_t **rows, ecom_error *err)
{
    *rows = NULL;
    redisReply *reply;
    int rc = read_generation(s, &products_script, -1, N_PRODUCT_PARTS, &reply, err);
    if (reply) {
        *rows = product_rows((const redisReply *const *)reply->element);
        freeReplyObject(reply);
    }
    return rc;
}
