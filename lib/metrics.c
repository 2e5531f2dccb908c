/*
 * metrics.c - the batch reference computation of SPEC section 5 (see metrics.h).
 *
 * Four hash tables hold everything: products and users (each entry has the reference fields
 * and the facts folded onto that key), categories (names), and two day-keyed tables for daily
 * sales and the funnel. The snapshot joins facts to reference data at the end, which is what
 * makes the result independent of arrival order.
 */
#include "ecom/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"

typedef struct product_entry {
    char product_id[ECOM_ID_MAX];
    bool known; /* reference data seen */
    char name[ECOM_NAME_MAX];
    char category_id[ECOM_ID_MAX];
    int64_t units, revenue_cents, lines;
} product_entry;

typedef struct user_entry {
    char user_id[ECOM_ID_MAX];
    bool known;
    ecom_time registration_date;
    int64_t orders, total_cents;
    int n_months, cap_months;
    int32_t *months; /* distinct transaction months, unsorted */
} user_entry;

typedef struct day_entry {
    int64_t day;
    int64_t revenue_cents, orders, units;        /* daily sales */
    int64_t viewed, carted, converted, sessions; /* funnel */
} day_entry;

struct ecom_metrics {
    GHashTable *categories; /* id -> name (both owned) */
    GHashTable *products;   /* id (in entry) -> product_entry */
    GHashTable *users;      /* id (in entry) -> user_entry */
    GHashTable *days;       /* int64 day (in entry) -> day_entry */
    int64_t transactions, sessions;
    int64_t known_products, known_users; /* entries whose reference data arrived */
    int64_t funnel_viewed, funnel_carted, funnel_converted;
};

static void free_user(gpointer p)
{
    user_entry *u = p;
    free(u->months);
    free(u);
}

ecom_metrics *ecom_metrics_new(void)
{
    ecom_metrics *m = ecom_xcalloc(1, sizeof *m);
    m->categories = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    m->products = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    m->users = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_user);
    m->days = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
    return m;
}

void ecom_metrics_free(ecom_metrics *m)
{
    if (!m)
        return;
    g_hash_table_destroy(m->categories);
    g_hash_table_destroy(m->products);
    g_hash_table_destroy(m->users);
    g_hash_table_destroy(m->days);
    free(m);
}

static product_entry *product_at(ecom_metrics *m, const char *id)
{
    product_entry *p = g_hash_table_lookup(m->products, id);
    if (!p) {
        p = ecom_xcalloc(1, sizeof *p);
        g_strlcpy(p->product_id, id, sizeof p->product_id);
        g_hash_table_insert(m->products, p->product_id, p);
    }
    return p;
}

static user_entry *user_at(ecom_metrics *m, const char *id)
{
    user_entry *u = g_hash_table_lookup(m->users, id);
    if (!u) {
        u = ecom_xcalloc(1, sizeof *u);
        g_strlcpy(u->user_id, id, sizeof u->user_id);
        g_hash_table_insert(m->users, u->user_id, u);
    }
    return u;
}

static day_entry *day_at(ecom_metrics *m, int64_t day)
{
    day_entry *d = g_hash_table_lookup(m->days, &day);
    if (!d) {
        d = ecom_xcalloc(1, sizeof *d);
        d->day = day;
        g_hash_table_insert(m->days, &d->day, d);
    }
    return d;
}

void ecom_metrics_add_category(ecom_metrics *m, const ecom_category *c)
{
    g_hash_table_replace(m->categories, ecom_xstrdup(c->category_id), ecom_xstrdup(c->name));
}

void ecom_metrics_add_product(ecom_metrics *m, const ecom_product *p)
{
    product_entry *e = product_at(m, p->product_id);
    m->known_products += !e->known;
    e->known = true;
    g_strlcpy(e->name, p->name, sizeof e->name);
    g_strlcpy(e->category_id, p->category_id, sizeof e->category_id);
}

void ecom_metrics_add_user(ecom_metrics *m, const ecom_user *u)
{
    user_entry *e = user_at(m, u->user_id);
    m->known_users += !e->known;
    e->known = true;
    e->registration_date = u->registration_date;
}

static void user_add_month(user_entry *u, int32_t month)
{
    for (int i = 0; i < u->n_months; i++)
        if (u->months[i] == month)
            return;
    if (u->n_months == u->cap_months) {
        u->cap_months = u->cap_months ? u->cap_months * 2 : 4;
        u->months = ecom_xrealloc(u->months, sizeof *u->months * (size_t)u->cap_months);
    }
    u->months[u->n_months++] = month;
}

void ecom_metrics_add_transaction(ecom_metrics *m, const ecom_transaction *t)
{
    m->transactions++;
    day_entry *d = day_at(m, ecom_time_day(t->timestamp));
    d->orders++;
    d->revenue_cents += t->total_cents;
    for (int i = 0; i < t->n_items; i++) {
        const ecom_item *it = &t->items[i];
        product_entry *p = product_at(m, it->product_id);
        p->units += it->quantity;
        p->revenue_cents += it->subtotal_cents;
        p->lines++;
        d->units += it->quantity;
    }
    user_entry *u = user_at(m, t->user_id);
    u->orders++;
    u->total_cents += t->total_cents;
    user_add_month(u, ecom_time_month(t->timestamp));
}

void ecom_metrics_add_session(ecom_metrics *m, ecom_time start, bool viewed, bool carted,
                              bool converted)
{
    m->sessions++;
    day_entry *d = day_at(m, ecom_time_day(start));
    d->sessions++;
    d->viewed += viewed;
    d->carted += carted;
    d->converted += converted;
    m->funnel_viewed += viewed;
    m->funnel_carted += carted;
    m->funnel_converted += converted;
}

/* ---- snapshot ---------------------------------------------------------------------------- */

static int cmp_day(const void *a, const void *b)
{
    const day_entry *x = *(day_entry *const *)a, *y = *(day_entry *const *)b;
    return (x->day > y->day) - (x->day < y->day);
}

static int cmp_units(const void *a, const void *b)
{
    const product_entry *x = *(product_entry *const *)a, *y = *(product_entry *const *)b;
    if (x->units != y->units)
        return x->units > y->units ? -1 : 1;
    return strcmp(x->product_id, y->product_id);
}

static int cmp_revenue(const void *a, const void *b)
{
    const product_entry *x = *(product_entry *const *)a, *y = *(product_entry *const *)b;
    if (x->revenue_cents != y->revenue_cents)
        return x->revenue_cents > y->revenue_cents ? -1 : 1;
    return strcmp(x->product_id, y->product_id);
}

/* The values of a table as a sorted array (caller frees the array, not the entries). */
static void **sorted_values(GHashTable *t, int (*cmp)(const void *, const void *), size_t *n)
{
    guint len;
    GPtrArray *arr = g_ptr_array_sized_new(g_hash_table_size(t));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &key, &value))
        g_ptr_array_add(arr, value);
    len = arr->len;
    if (cmp && len)
        qsort(arr->pdata, len, sizeof(void *), cmp);
    *n = len;
    return (void **)g_ptr_array_free(arr, FALSE);
}

static json_t *daily_sales_json(void **days, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const day_entry *d = days[i];
        if (!d->orders)
            continue;
        char day[ECOM_DAY_TEXT];
        ecom_day_format(d->day, day);
        json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I}", "day", day, "revenue_cents",
                                           (json_int_t)d->revenue_cents, "orders",
                                           (json_int_t)d->orders, "units", (json_int_t)d->units));
    }
    return a;
}

static json_t *funnel_json(const ecom_metrics *m, void **days, size_t n)
{
    json_t *by_day = json_array();
    for (size_t i = 0; i < n; i++) {
        const day_entry *d = days[i];
        if (!d->sessions)
            continue;
        char day[ECOM_DAY_TEXT];
        ecom_day_format(d->day, day);
        json_array_append_new(by_day,
                              json_pack("{s:s, s:I, s:I, s:I}", "day", day, "viewed",
                                        (json_int_t)d->viewed, "carted", (json_int_t)d->carted,
                                        "converted", (json_int_t)d->converted));
    }
    return json_pack("{s:{s:I, s:I, s:I}, s:o}", "total", "viewed", (json_int_t)m->funnel_viewed,
                     "carted", (json_int_t)m->funnel_carted, "converted",
                     (json_int_t)m->funnel_converted, "by_day", by_day);
}

static json_t *product_list_json(void **products, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && json_array_size(a) < ECOM_TOP_N; i++) {
        const product_entry *p = products[i];
        if (!p->lines)
            continue;
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I}", "product_id", p->product_id,
                                           "name", p->name, "units", (json_int_t)p->units,
                                           "revenue_cents", (json_int_t)p->revenue_cents));
    }
    return a;
}

typedef struct category_sum {
    int64_t lines, revenue_cents;
} category_sum;

static gint cmp_str_keys(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    return strcmp(a, b);
}

static json_t *category_revenue_json(const ecom_metrics *m, void **products, size_t n)
{
    GTree *sums = g_tree_new_full(cmp_str_keys, NULL, NULL, free);
    for (size_t i = 0; i < n; i++) {
        const product_entry *p = products[i];
        if (!p->lines)
            continue;
        const char *cat = p->known ? p->category_id : "unknown";
        category_sum *s = g_tree_lookup(sums, cat);
        if (!s) {
            s = ecom_xcalloc(1, sizeof *s);
            g_tree_insert(sums, (gpointer)cat, s);
        }
        s->lines += p->lines;
        s->revenue_cents += p->revenue_cents;
    }
    json_t *a = json_array();
    GTreeNode *node = g_tree_node_first(sums);
    for (; node; node = g_tree_node_next(node)) {
        const char *cat = g_tree_node_key(node);
        const category_sum *s = g_tree_node_value(node);
        const char *name = g_hash_table_lookup(m->categories, cat);
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I}", "category_id", cat, "name",
                                           name ? name : "", "lines", (json_int_t)s->lines,
                                           "revenue_cents", (json_int_t)s->revenue_cents));
    }
    g_tree_destroy(sums);
    return a;
}

typedef struct year_sum {
    int64_t orders, total_cents;
} year_sum;

static gint cmp_int_keys(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    intptr_t x = (intptr_t)a, y = (intptr_t)b;
    return (x > y) - (x < y);
}

static json_t *spend_and_cohorts_json(const ecom_metrics *m, json_t **cohorts_out)
{
    GTree *years = g_tree_new_full(cmp_int_keys, NULL, NULL, free);
    /* cohort key: registration month * 100000 + transaction month, both < 100000 */
    GTree *cohorts = g_tree_new_full(cmp_int_keys, NULL, NULL, NULL);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, m->users);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const user_entry *u = value;
        if (!u->orders)
            continue;
        intptr_t year = u->known ? ecom_time_year(u->registration_date) : 0;
        year_sum *s = g_tree_lookup(years, (gpointer)year);
        if (!s) {
            s = ecom_xcalloc(1, sizeof *s);
            g_tree_insert(years, (gpointer)year, s);
        }
        s->orders += u->orders;
        s->total_cents += u->total_cents;
        intptr_t reg_month = u->known ? ecom_time_month(u->registration_date) : 0;
        for (int i = 0; i < u->n_months; i++) {
            gpointer ck = (gpointer)(reg_month * 100000 + u->months[i]);
            intptr_t count = (intptr_t)g_tree_lookup(cohorts, ck);
            g_tree_replace(cohorts, ck, (gpointer)(count + 1));
        }
    }
    json_t *spend = json_array();
    for (GTreeNode *n = g_tree_node_first(years); n; n = g_tree_node_next(n)) {
        const year_sum *s = g_tree_node_value(n);
        /* mean rounded half up, in integers: floor((2*total + orders) / (2*orders)) */
        int64_t mean = (2 * s->total_cents + s->orders) / (2 * s->orders);
        json_array_append_new(spend, json_pack("{s:I, s:I, s:I, s:I}", "year",
                                               (json_int_t)(intptr_t)g_tree_node_key(n), "orders",
                                               (json_int_t)s->orders, "total_cents",
                                               (json_int_t)s->total_cents, "mean_cents",
                                               (json_int_t)mean));
    }
    json_t *coh = json_array();
    for (GTreeNode *n = g_tree_node_first(cohorts); n; n = g_tree_node_next(n)) {
        intptr_t k = (intptr_t)g_tree_node_key(n);
        char reg[ECOM_MONTH_TEXT], txn[ECOM_MONTH_TEXT];
        if (k / 100000)
            ecom_month_format((int32_t)(k / 100000), reg);
        else
            strcpy(reg, "unknown");
        ecom_month_format((int32_t)(k % 100000), txn);
        json_array_append_new(coh, json_pack("{s:s, s:s, s:I}", "registration_month", reg,
                                             "transaction_month", txn, "users",
                                             (json_int_t)(intptr_t)g_tree_node_value(n)));
    }
    g_tree_destroy(years);
    g_tree_destroy(cohorts);
    *cohorts_out = coh;
    return spend;
}

json_t *ecom_metrics_snapshot(const ecom_metrics *m)
{
    size_t n_days, n_products;
    void **days = sorted_values(m->days, cmp_day, &n_days);
    void **products = sorted_values(m->products, cmp_units, &n_products);
    json_t *by_units = product_list_json(products, n_products);
    if (n_products) /* an empty table gives products == NULL, and qsort(NULL, ...) is UB */
        qsort(products, n_products, sizeof(void *), cmp_revenue);
    json_t *by_revenue = product_list_json(products, n_products);
    json_t *cohorts;
    json_t *spend = spend_and_cohorts_json(m, &cohorts);
    json_t *snap = json_object();
    json_object_set_new(snap, "daily_sales", daily_sales_json(days, n_days));
    json_object_set_new(snap, "funnel", funnel_json(m, days, n_days));
    json_object_set_new(snap, "top_products",
                        json_pack("{s:o, s:o}", "by_units", by_units, "by_revenue", by_revenue));
    json_object_set_new(snap, "category_revenue", category_revenue_json(m, products, n_products));
    json_object_set_new(snap, "spend_by_registration_year", spend);
    json_object_set_new(snap, "cohorts", cohorts);
    json_object_set_new(snap, "counts",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "users", (json_int_t)m->known_users,
                                  "categories", (json_int_t)g_hash_table_size(m->categories),
                                  "products", (json_int_t)m->known_products, "transactions",
                                  (json_int_t)m->transactions, "sessions",
                                  (json_int_t)m->sessions));
    g_free(days);
    g_free(products);
    return snap;
}
