/*
 * metrics.c - the batch reference computation of SPEC section 5 (see metrics.h).
 *
 * Four hash tables hold everything: products and users (each entry has the reference fields
 * and the facts folded onto that key), categories (names), and two day-keyed tables for daily
 * sales and the funnel. The snapshot joins facts to reference data at the end, which is what
 * makes the result independent of arrival order.
 */
#include "ecom/metrics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"
#include "ecom/snapshot.h"

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

typedef struct minute_entry {
    int64_t minute;
    ecom_minute_counts c;
} minute_entry;

/* Minutes looked up lately, by minute modulo the size: a session's page views fall in the hour
 * after its start and sessions come in time order, so nearly every lookup finds its minute here
 * instead of hashing (the table is what every minute is counted in). */
#define RECENT_MINUTES 256

struct ecom_metrics {
    GHashTable *minutes; /* int64 minute (in entry) -> minute_entry, every minute seen */
    minute_entry *recent_minutes[RECENT_MINUTES];
    GHashTable *segments; /* "<dimension>\x1f<key>" -> ecom_segment_counts */
    int64_t active_sessions;
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
    m->minutes = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
    m->segments = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free);
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
    g_hash_table_destroy(m->minutes);
    g_hash_table_destroy(m->segments);
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

static ecom_minute_counts *minute_at(ecom_metrics *m, ecom_time t)
{
    int64_t minute = t >= 0 ? t / 60 : -((-t + 59) / 60);
    minute_entry **recent = &m->recent_minutes[(uint64_t)minute % RECENT_MINUTES];
    if (*recent && (*recent)->minute == minute)
        return &(*recent)->c;
    minute_entry *e = g_hash_table_lookup(m->minutes, &minute);
    if (!e) {
        e = ecom_xcalloc(1, sizeof *e);
        e->minute = minute;
        g_hash_table_insert(m->minutes, &e->minute, e);
    }
    *recent = e;
    return &e->c;
}

#define SEGMENT_KEY_MAX 128 /* a dimension's name, the separator and an ecom_segment field */

static ecom_segment_counts *segment_at(ecom_metrics *m, ecom_dimension dim, const char *key)
{
    /* "<dimension>\x1f<value>", looked up from the stack: this runs for every session, and
     * only a new segment's key is copied into the table */
    const char *name = ecom_dimension_names[dim], *value = *key ? key : "unknown";
    size_t n = strlen(name), v = strlen(value);
    char k[SEGMENT_KEY_MAX];
    assert(n + 1 + v < sizeof k);
    memcpy(k, name, n);
    k[n] = '\x1f';
    memcpy(k + n + 1, value, v + 1);
    ecom_segment_counts *c = g_hash_table_lookup(m->segments, k);
    if (c)
        return c;
    c = ecom_xcalloc(1, sizeof *c);
    g_hash_table_insert(m->segments, g_strdup(k), c);
    return c;
}

static const char *segment_key(const ecom_segment *seg, ecom_dimension dim)
{
    return dim == ECOM_DIM_DEVICE     ? seg->device
           : dim == ECOM_DIM_REFERRER ? seg->referrer
                                      : seg->country;
}

void ecom_metrics_add_minute(ecom_metrics *m, ecom_minute_series series, ecom_time t, int64_t n)
{
    ecom_minute_counts *c = minute_at(m, t);
    if (series == ECOM_MINUTE_SESSIONS)
        c->sessions += n;
    else if (series == ECOM_MINUTE_PAGE_VIEWS)
        c->page_views += n;
    else
        c->converted += n;
}

void ecom_metrics_add_segment_session(ecom_metrics *m, const ecom_segment *seg, bool viewed,
                                      bool carted, bool converted)
{
    for (int d = 0; d < ECOM_DIMENSIONS; d++) {
        ecom_segment_counts *c = segment_at(m, (ecom_dimension)d, segment_key(seg, d));
        c->sessions++;
        c->viewed += viewed;
        c->carted += carted;
        c->converted += converted;
    }
}

void ecom_metrics_add_segment_order(ecom_metrics *m, const ecom_segment *seg,
                                    ecom_cents total_cents)
{
    for (int d = 0; d < ECOM_DIMENSIONS; d++) {
        ecom_segment_counts *c = segment_at(m, (ecom_dimension)d, segment_key(seg, d));
        c->orders++;
        c->revenue_cents += total_cents;
    }
}

void ecom_metrics_set_active_sessions(ecom_metrics *m, int64_t active)
{
    m->active_sessions = active;
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

void ecom_metrics_add_order(ecom_metrics *m, const char *user_id, ecom_time timestamp,
                            ecom_cents total_cents, int64_t units)
{
    m->transactions++;
    ecom_minute_counts *mc = minute_at(m, timestamp);
    mc->orders++;
    mc->revenue_cents += total_cents;
    day_entry *d = day_at(m, ecom_time_day(timestamp));
    d->orders++;
    d->revenue_cents += total_cents;
    d->units += units;
    user_entry *u = user_at(m, user_id);
    u->orders++;
    u->total_cents += total_cents;
    user_add_month(u, ecom_time_month(timestamp));
}

void ecom_metrics_add_product_sales(ecom_metrics *m, const char *product_id, int64_t units,
                                    ecom_cents revenue_cents, int64_t lines)
{
    product_entry *p = product_at(m, product_id);
    p->units += units;
    p->revenue_cents += revenue_cents;
    p->lines += lines;
}

void ecom_metrics_add_transaction(ecom_metrics *m, const ecom_transaction *t)
{
    int64_t units = 0;
    for (int i = 0; i < t->n_items; i++) {
        const ecom_item *it = &t->items[i];
        ecom_metrics_add_product_sales(m, it->product_id, it->quantity, it->subtotal_cents, 1);
        units += it->quantity;
    }
    ecom_metrics_add_order(m, t->user_id, t->timestamp, t->total_cents, units);
    if (*t->session_id)
        ecom_metrics_add_segment_order(m, &t->segment, t->total_cents);
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

typedef struct sums {
    int64_t a, b;
} sums;

/* Adds (a, b) to the entry of key in a table of sums. */
static void sum_into(GHashTable *t, gpointer key, int64_t a, int64_t b)
{
    sums *s = g_hash_table_lookup(t, key);
    if (!s) {
        s = ecom_xcalloc(1, sizeof *s);
        g_hash_table_insert(t, key, s);
    }
    s->a += a;
    s->b += b;
}

static void products_json(const ecom_metrics *m, json_t *snap)
{
    GHashTable *categories = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, m->products);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        product_entry *p = value;
        if (!p->lines)
            continue;
        ecom_snapshot_add_product(snap, p->product_id, p->name, p->units, p->revenue_cents);
        sum_into(categories, p->known ? p->category_id : "unknown", p->lines, p->revenue_cents);
    }
    g_hash_table_iter_init(&it, categories);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const char *name = g_hash_table_lookup(m->categories, key);
        const sums *s = value;
        ecom_snapshot_add_category(snap, key, name ? name : "", s->a, s->b);
    }
    g_hash_table_destroy(categories);
}

static void users_json(const ecom_metrics *m, json_t *snap)
{
    GHashTable *years = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free);
    /* cohort key: registration month * 100000 + transaction month, both < 100000 */
    GHashTable *cohorts = g_hash_table_new_full(g_int64_hash, g_int64_equal, free, free);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, m->users);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const user_entry *u = value;
        if (!u->orders)
            continue;
        intptr_t year = u->known ? ecom_time_year(u->registration_date) : 0;
        sum_into(years, (gpointer)year, u->orders, u->total_cents);
        int64_t reg_month = u->known ? ecom_time_month(u->registration_date) : 0;
        for (int i = 0; i < u->n_months; i++) {
            int64_t ck = reg_month * 100000 + u->months[i];
            if (!g_hash_table_contains(cohorts, &ck)) {
                int64_t *k = ecom_xmalloc(sizeof *k);
                *k = ck;
                sum_into(cohorts, k, 0, 0);
            }
            ((sums *)g_hash_table_lookup(cohorts, &ck))->a++;
        }
    }
    g_hash_table_iter_init(&it, years);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const sums *s = value;
        ecom_snapshot_add_year(snap, (intptr_t)key, s->a, s->b);
    }
    g_hash_table_iter_init(&it, cohorts);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        int64_t k = *(int64_t *)key;
        char reg[ECOM_MONTH_TEXT], txn[ECOM_MONTH_TEXT];
        if (k / 100000)
            ecom_month_format((int32_t)(k / 100000), reg);
        else
            strcpy(reg, "unknown");
        ecom_month_format((int32_t)(k % 100000), txn);
        ecom_snapshot_add_cohort(snap, reg, txn, ((sums *)value)->a);
    }
    g_hash_table_destroy(years);
    g_hash_table_destroy(cohorts);
}

/* The window: every minute within ECOM_MINUTE_WINDOW of the newest one with a count. */
static void minutes_json(const ecom_metrics *m, json_t *snap)
{
    GHashTableIter it;
    gpointer key, value;
    bool any = false;
    int64_t newest = 0;
    g_hash_table_iter_init(&it, m->minutes);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const minute_entry *e = value;
        if (!any || e->minute > newest)
            newest = e->minute;
        any = true;
    }
    g_hash_table_iter_init(&it, m->minutes);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const minute_entry *e = value;
        if (e->minute > newest - ECOM_MINUTE_WINDOW)
            ecom_snapshot_add_minute(snap, e->minute, &e->c);
    }
}

static void segments_json(const ecom_metrics *m, json_t *snap)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, m->segments);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const char *k = key, *sep = strchr(k, '\x1f');
        for (int d = 0; d < ECOM_DIMENSIONS; d++)
            if (strncmp(k, ecom_dimension_names[d], (size_t)(sep - k)) == 0 &&
                ecom_dimension_names[d][sep - k] == '\0')
                ecom_snapshot_add_segment(snap, (ecom_dimension)d, sep + 1, value);
    }
}

json_t *ecom_metrics_snapshot(const ecom_metrics *m)
{
    json_t *snap = ecom_snapshot_new();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, m->days);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const day_entry *d = value;
        if (d->orders)
            ecom_snapshot_add_daily_sales(snap, d->day, d->revenue_cents, d->orders, d->units);
        if (d->sessions)
            ecom_snapshot_add_funnel_day(snap, d->day, d->viewed, d->carted, d->converted);
    }
    ecom_snapshot_set_funnel_total(snap, m->funnel_viewed, m->funnel_carted, m->funnel_converted);
    products_json(m, snap);
    users_json(m, snap);
    ecom_snapshot_set_counts(snap, m->known_users, g_hash_table_size(m->categories),
                             m->known_products, m->transactions, m->sessions);
    minutes_json(m, snap);
    segments_json(m, snap);
    ecom_snapshot_set_active_sessions(snap, m->active_sessions);
    ecom_snapshot_finish(snap);
    return snap;
}
