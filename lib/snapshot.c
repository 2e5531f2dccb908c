/*
 * snapshot.c - building, ordering and comparing metric snapshots (see snapshot.h).
 *
 * Rows are jansson objects appended to their list; ordering happens once, in finish(), so the
 * producers of a snapshot (a hash-table walk, a Redis reply, a MongoDB cursor) need not care
 * about order. The comparison is driven by one table of the lists and their key fields.
 */
#include "ecom/snapshot.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/timeutil.h"

static json_t *at_path(const json_t *snap, const char *a, const char *b)
{
    json_t *v = json_object_get(snap, a);
    return b ? json_object_get(v, b) : v;
}

const char *const ecom_dimension_names[ECOM_DIMENSIONS] = {"device", "referrer", "country"};

json_t *ecom_snapshot_new(void)
{
    return json_pack("{s:[], s:{s:{s:I, s:I, s:I}, s:[]}, s:{s:[], s:[]}, s:[], s:[], s:[], "
                     "s:{s:I, s:I, s:I, s:I, s:I}, s:[], s:I, s:{s:[], s:[], s:[]}}",
                     "daily_sales", "funnel", "total", "viewed", (json_int_t)0, "carted",
                     (json_int_t)0, "converted", (json_int_t)0, "by_day", "top_products",
                     "by_units", "by_revenue", "category_revenue", "spend_by_registration_year",
                     "cohorts", "counts", "users", (json_int_t)0, "categories", (json_int_t)0,
                     "products", (json_int_t)0, "transactions", (json_int_t)0, "sessions",
                     (json_int_t)0, "minutes", "active_sessions", (json_int_t)0, "segments",
                     "device", "referrer", "country");
}

static void append(json_t *snap, const char *a, const char *b, json_t *row)
{
    json_array_append_new(at_path(snap, a, b), row);
}

void ecom_snapshot_add_daily_sales(json_t *snap, int64_t day, int64_t revenue_cents, int64_t orders,
                                   int64_t units)
{
    char d[ECOM_DAY_TEXT];
    ecom_day_format(day, d);
    append(snap, "daily_sales", NULL,
           json_pack("{s:s, s:I, s:I, s:I}", "day", d, "revenue_cents", (json_int_t)revenue_cents,
                     "orders", (json_int_t)orders, "units", (json_int_t)units));
}

void ecom_snapshot_set_funnel_total(json_t *snap, int64_t viewed, int64_t carted, int64_t converted)
{
    json_object_set_new(at_path(snap, "funnel", NULL), "total",
                        json_pack("{s:I, s:I, s:I}", "viewed", (json_int_t)viewed, "carted",
                                  (json_int_t)carted, "converted", (json_int_t)converted));
}

void ecom_snapshot_add_funnel_day(json_t *snap, int64_t day, int64_t viewed, int64_t carted,
                                  int64_t converted)
{
    char d[ECOM_DAY_TEXT];
    ecom_day_format(day, d);
    append(snap, "funnel", "by_day",
           json_pack("{s:s, s:I, s:I, s:I}", "day", d, "viewed", (json_int_t)viewed, "carted",
                     (json_int_t)carted, "converted", (json_int_t)converted));
}

void ecom_snapshot_add_product(json_t *snap, const char *product_id, const char *name,
                               int64_t units, int64_t revenue_cents)
{
    json_t *row = json_pack("{s:s, s:s, s:I, s:I}", "product_id", product_id, "name", name, "units",
                            (json_int_t)units, "revenue_cents", (json_int_t)revenue_cents);
    append(snap, "top_products", "by_units", json_deep_copy(row));
    append(snap, "top_products", "by_revenue", row);
}

void ecom_snapshot_add_category(json_t *snap, const char *category_id, const char *name,
                                int64_t lines, int64_t revenue_cents)
{
    append(snap, "category_revenue", NULL,
           json_pack("{s:s, s:s, s:I, s:I}", "category_id", category_id, "name", name, "lines",
                     (json_int_t)lines, "revenue_cents", (json_int_t)revenue_cents));
}

void ecom_snapshot_add_year(json_t *snap, int64_t year, int64_t orders, int64_t total_cents)
{
    /* the mean rounded half up, in integers: floor((2 * total + orders) / (2 * orders)) */
    int64_t mean = orders ? (2 * total_cents + orders) / (2 * orders) : 0;
    append(snap, "spend_by_registration_year", NULL,
           json_pack("{s:I, s:I, s:I, s:I}", "year", (json_int_t)year, "orders", (json_int_t)orders,
                     "total_cents", (json_int_t)total_cents, "mean_cents", (json_int_t)mean));
}

void ecom_snapshot_add_cohort(json_t *snap, const char *registration_month,
                              const char *transaction_month, int64_t users)
{
    append(snap, "cohorts", NULL,
           json_pack("{s:s, s:s, s:I}", "registration_month", registration_month,
                     "transaction_month", transaction_month, "users", (json_int_t)users));
}

void ecom_snapshot_set_counts(json_t *snap, int64_t users, int64_t categories, int64_t products,
                              int64_t transactions, int64_t sessions)
{
    json_object_set_new(snap, "counts",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "users", (json_int_t)users,
                                  "categories", (json_int_t)categories, "products",
                                  (json_int_t)products, "transactions", (json_int_t)transactions,
                                  "sessions", (json_int_t)sessions));
}

void ecom_minute_format(int64_t minute, char out[ECOM_MINUTE_TEXT])
{
    char t[ECOM_TIME_TEXT];
    ecom_time_format(minute * 60, t);
    memcpy(out, t, 16); /* "YYYY-MM-DDTHH:MM" */
    out[16] = 'Z';
    out[17] = '\0';
}

void ecom_snapshot_add_minute(json_t *snap, int64_t minute, const ecom_minute_counts *c)
{
    if (!c->orders && !c->revenue_cents && !c->sessions && !c->page_views && !c->converted)
        return;
    char text[ECOM_MINUTE_TEXT];
    ecom_minute_format(minute, text);
    append(snap, "minutes", NULL,
           json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "minute", text, "orders",
                     (json_int_t)c->orders, "revenue_cents", (json_int_t)c->revenue_cents,
                     "sessions", (json_int_t)c->sessions, "page_views", (json_int_t)c->page_views,
                     "converted", (json_int_t)c->converted));
}

void ecom_snapshot_set_active_sessions(json_t *snap, int64_t active)
{
    json_object_set_new(snap, "active_sessions", json_integer(active));
}

void ecom_snapshot_add_segment(json_t *snap, ecom_dimension dim, const char *key,
                               const ecom_segment_counts *c)
{
    append(snap, "segments", ecom_dimension_names[dim],
           json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "key", key, "sessions",
                     (json_int_t)c->sessions, "viewed", (json_int_t)c->viewed, "carted",
                     (json_int_t)c->carted, "converted", (json_int_t)c->converted, "orders",
                     (json_int_t)c->orders, "revenue_cents", (json_int_t)c->revenue_cents));
}

/* ---- ordering ------------------------------------------------------------------------------- */

/* qsort has no context argument: the comparators read the fields they sort by from these. */
typedef struct sort_key {
    const char *first, *second; /* text keys, compared in order */
    bool numeric;               /* `first` is an integer field */
} sort_key;

typedef struct sortable {
    json_t *row;
    const sort_key *key;
} sortable;

static int cmp_field(const json_t *a, const json_t *b, const char *field, bool numeric)
{
    const json_t *x = json_object_get(a, field), *y = json_object_get(b, field);
    if (numeric) {
        json_int_t p = json_integer_value(x), q = json_integer_value(y);
        return (p > q) - (p < q);
    }
    const char *s = json_string_value(x), *t = json_string_value(y);
    return strcmp(s ? s : "", t ? t : "");
}

static int cmp_rows(const void *pa, const void *pb)
{
    const sortable *a = pa, *b = pb;
    int c = cmp_field(a->row, b->row, a->key->first, a->key->numeric);
    if (c == 0 && a->key->second)
        c = cmp_field(a->row, b->row, a->key->second, false);
    return c;
}

/* by_units / by_revenue: the value descending, then the product id ascending */
static int cmp_ranked(const void *pa, const void *pb)
{
    const sortable *a = pa, *b = pb;
    int c = cmp_field(b->row, a->row, a->key->first, true);
    return c ? c : cmp_field(a->row, b->row, "product_id", false);
}

static void sort_list(json_t *list, const sort_key *key, int (*cmp)(const void *, const void *),
                      size_t keep)
{
    size_t n = json_array_size(list);
    if (n == 0)
        return;
    sortable *rows = malloc(sizeof *rows * n);
    for (size_t i = 0; i < n; i++) {
        rows[i].row = json_incref(json_array_get(list, i));
        rows[i].key = key;
    }
    qsort(rows, n, sizeof *rows, cmp);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++) {
        if (i < keep)
            json_array_append(list, rows[i].row);
        json_decref(rows[i].row);
    }
    free(rows);
}

void ecom_snapshot_finish(json_t *snap)
{
    static const sort_key by_day = {"day", NULL, false}, by_category = {"category_id", NULL, false},
                          by_year = {"year", NULL, true},
                          by_cohort = {"registration_month", "transaction_month", false},
                          by_units = {"units", NULL, true}, by_minute = {"minute", NULL, false},
                          by_key = {"key", NULL, false}, by_revenue = {"revenue_cents", NULL, true};
    sort_list(at_path(snap, "daily_sales", NULL), &by_day, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "funnel", "by_day"), &by_day, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "category_revenue", NULL), &by_category, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "spend_by_registration_year", NULL), &by_year, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "cohorts", NULL), &by_cohort, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "minutes", NULL), &by_minute, cmp_rows, SIZE_MAX);
    for (int d = 0; d < ECOM_DIMENSIONS; d++)
        sort_list(at_path(snap, "segments", ecom_dimension_names[d]), &by_key, cmp_rows, SIZE_MAX);
    sort_list(at_path(snap, "top_products", "by_units"), &by_units, cmp_ranked, ECOM_TOP_N);
    sort_list(at_path(snap, "top_products", "by_revenue"), &by_revenue, cmp_ranked, ECOM_TOP_N);
}

/* ---- comparison ----------------------------------------------------------------------------- */

typedef struct list_spec {
    const char *a, *b;     /* where the list is */
    const char *name;      /* for reports */
    const char *keys[3];   /* fields that identify a row; none: rows compare by rank */
    const char *values[7]; /* fields compared */
} list_spec;

static const list_spec lists[] = {
    {"daily_sales", NULL, "daily_sales", {"day"}, {"revenue_cents", "orders", "units"}},
    {"funnel", "by_day", "funnel.by_day", {"day"}, {"viewed", "carted", "converted"}},
    {"top_products",
     "by_units",
     "top_products.by_units",
     {NULL},
     {"product_id", "name", "units", "revenue_cents"}},
    {"top_products",
     "by_revenue",
     "top_products.by_revenue",
     {NULL},
     {"product_id", "name", "units", "revenue_cents"}},
    {"category_revenue",
     NULL,
     "category_revenue",
     {"category_id"},
     {"name", "lines", "revenue_cents"}},
    {"spend_by_registration_year",
     NULL,
     "spend_by_registration_year",
     {"year"},
     {"orders", "total_cents", "mean_cents"}},
    {"cohorts", NULL, "cohorts", {"registration_month", "transaction_month"}, {"users"}},
    {"minutes",
     NULL,
     "minutes",
     {"minute"},
     {"orders", "revenue_cents", "sessions", "page_views", "converted"}},
#define SEGMENT_LIST(dim)                                                                          \
    {                                                                                              \
        "segments", dim, "segments." dim, {"key"},                                                 \
        {                                                                                          \
            "sessions", "viewed", "carted", "converted", "orders", "revenue_cents"                 \
        }                                                                                          \
    }
    SEGMENT_LIST("device"),
    SEGMENT_LIST("referrer"),
    SEGMENT_LIST("country"),
#undef SEGMENT_LIST
};

typedef struct object_spec {
    const char *a, *b, *name;
    const char *values[6];
} object_spec;

static const object_spec objects[] = {
    {"funnel", "total", "funnel.total", {"viewed", "carted", "converted"}},
    {"counts", NULL, "counts", {"users", "categories", "products", "transactions", "sessions"}},
};

/* Numbers at the top level of the snapshot. */
static const char *const scalars[] = {"active_sessions", NULL};

static char *value_text(const json_t *v)
{
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(none)");
}

typedef struct differ {
    ecom_snapshot_diff_fn fn;
    void *arg;
    int count;
} differ;

/* The compared fields of a row, as compact JSON ("(none)" for a missing row). */
static char *row_text(const json_t *row, const char *const *fields)
{
    if (!row)
        return strdup("(none)");
    json_t *part = json_object();
    for (int i = 0; fields[i]; i++) {
        json_t *v = json_object_get(row, fields[i]);
        if (v)
            json_object_set(part, fields[i], v);
    }
    char *text = json_dumps(part, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(part);
    return text;
}

static bool rows_equal(const json_t *want, const json_t *got, const char *const *fields)
{
    for (int i = 0; fields[i]; i++) {
        const json_t *x = json_object_get(want, fields[i]), *y = json_object_get(got, fields[i]);
        if (!x != !y || (x && !json_equal((json_t *)x, (json_t *)y)))
            return false;
    }
    return true;
}

/* Reports each differing field of two rows; whole_row reports a differing row once, whole. */
static void compare_fields(differ *d, const char *name, const char *key, const json_t *want,
                           const json_t *got, const char *const *fields, bool whole_row)
{
    if (!want && !got)
        return;
    if (!want != !got || (whole_row && !rows_equal(want, got, fields))) {
        /* a row only one side has, or a rank held by another row: one difference */
        char *xs = row_text(want, fields), *ys = row_text(got, fields);
        d->fn(d->arg, name, key, xs, ys);
        free(xs);
        free(ys);
        d->count++;
        return;
    }
    for (int i = 0; fields[i]; i++) {
        const json_t *x = want ? json_object_get(want, fields[i]) : NULL;
        const json_t *y = got ? json_object_get(got, fields[i]) : NULL;
        if (x && y && json_equal((json_t *)x, (json_t *)y))
            continue;
        if (!x && !y)
            continue;
        char metric[128];
        snprintf(metric, sizeof metric, "%s%s%s", name, *name ? "." : "", fields[i]);
        char *xs = value_text(x), *ys = value_text(y);
        d->fn(d->arg, metric, key, xs, ys);
        free(xs);
        free(ys);
        d->count++;
    }
}

static void row_key(const json_t *row, const char *const *keys, char *out, size_t n)
{
    out[0] = '\0';
    for (int i = 0; i < 3 && keys[i]; i++) {
        const json_t *v = json_object_get(row, keys[i]);
        char part[64];
        if (json_is_string(v))
            snprintf(part, sizeof part, "%s", json_string_value(v));
        else
            snprintf(part, sizeof part, "%lld", (long long)json_integer_value(v));
        if (i)
            g_strlcat(out, "/", n);
        g_strlcat(out, part, n);
    }
}

static void compare_list(differ *d, const list_spec *spec, const json_t *want, const json_t *got)
{
    size_t i;
    const json_t *row;
    char key[160];
    if (!spec->keys[0]) { /* a ranking: rank by rank */
        size_t n = json_array_size(want) > json_array_size(got) ? json_array_size(want)
                                                                : json_array_size(got);
        for (i = 0; i < n; i++) {
            snprintf(key, sizeof key, "#%zu", i + 1);
            compare_fields(d, spec->name, key, json_array_get(want, i), json_array_get(got, i),
                           spec->values, true);
        }
        return;
    }
    GHashTable *found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    json_array_foreach(got, i, row)
    {
        row_key(row, spec->keys, key, sizeof key);
        g_hash_table_insert(found, g_strdup(key), (gpointer)row);
    }
    json_array_foreach(want, i, row)
    {
        row_key(row, spec->keys, key, sizeof key);
        const json_t *other = g_hash_table_lookup(found, key);
        compare_fields(d, spec->name, key, row, other, spec->values, false);
        g_hash_table_remove(found, key);
    }
    json_array_foreach(got, i, row)
    { /* rows only the found side has, in its order */
        row_key(row, spec->keys, key, sizeof key);
        if (g_hash_table_contains(found, key))
            compare_fields(d, spec->name, key, NULL, row, spec->values, false);
    }
    g_hash_table_destroy(found);
}

int ecom_snapshot_diff(const json_t *expected, const json_t *found, ecom_snapshot_diff_fn fn,
                       void *arg)
{
    differ d = {fn, arg, 0};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        compare_list(&d, &lists[i], at_path(expected, lists[i].a, lists[i].b),
                     at_path(found, lists[i].a, lists[i].b));
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
        compare_fields(&d, objects[i].name, "", at_path(expected, objects[i].a, objects[i].b),
                       at_path(found, objects[i].a, objects[i].b), objects[i].values, false);
    compare_fields(&d, "", "", expected, found, scalars, false);
    return d.count;
}
