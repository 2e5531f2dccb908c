/*
 * snapshot.h - the one JSON shape of every metric (SPEC section 5), built and compared here.
 *
 * The generator's manifest, `ecom aggregate --snapshot`, the dashboard's /api/metrics.json and
 * `ecom verify`'s recomputation from MongoDB and HBase all build their snapshot with these
 * functions, so field names, list order and rounding are defined once, and any two snapshots
 * compare field by field:
 *
 *   { "daily_sales": [{"day", "revenue_cents", "orders", "units"}],
 *     "funnel": {"total": {"viewed", "carted", "converted"},
 *                "by_day": [{"day", "viewed", "carted", "converted"}]},
 *     "top_products": {"by_units": [...], "by_revenue": [...]}   each {"product_id", "name",
 *                                                                "units", "revenue_cents"}
 *     "category_revenue": [{"category_id", "name", "lines", "revenue_cents"}],
 *     "spend_by_registration_year": [{"year", "orders", "total_cents", "mean_cents"}],
 *     "cohorts": [{"registration_month", "transaction_month", "users"}],
 *     "counts": {"users", "categories", "products", "transactions", "sessions"},
 *     "minutes": [{"minute", "orders", "revenue_cents", "sessions", "page_views", "converted"}],
 *     "active_sessions": N,
 *     "segments": {"device": [{"key", "sessions", "viewed", "carted", "converted", "orders",
 *                              "revenue_cents"}], "referrer": [...], "country": [...]} }
 *
 * "minutes" holds the ECOM_MINUTE_WINDOW minutes up to the newest one with a count (UTC minute
 * of event time, "YYYY-MM-DDTHH:MMZ"), only those with any count; a segment's key is the
 * session's device type, referrer or country, "unknown" where the events carried none.
 *
 * Rows may be added in any order; ecom_snapshot_finish() sorts every list by its key (days,
 * ids and months as text, years as numbers), ranks the top products (units or revenue
 * descending, ties by product id) and keeps the first ECOM_TOP_N of each ranking.
 */
#ifndef ECOM_SNAPSHOT_H
#define ECOM_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#define ECOM_TOP_N 10
#define ECOM_MINUTE_WINDOW 1440 /* minutes kept by the minute series: one day */
#define ECOM_MINUTE_TEXT 18     /* "2025-03-01T12:34Z" + NUL */

/* The three segment dimensions, in the order of the snapshot's "segments". */
typedef enum ecom_dimension {
    ECOM_DIM_DEVICE,
    ECOM_DIM_REFERRER,
    ECOM_DIM_COUNTRY,
    ECOM_DIMENSIONS
} ecom_dimension;
extern const char *const ecom_dimension_names[ECOM_DIMENSIONS]; /* "device", ... */

/* One row of the minute series and of a segment list. */
typedef struct ecom_minute_counts {
    int64_t orders, revenue_cents, sessions, page_views, converted;
} ecom_minute_counts;

typedef struct ecom_segment_counts {
    int64_t sessions, viewed, carted, converted, orders, revenue_cents;
} ecom_segment_counts;

/* "YYYY-MM-DDTHH:MMZ" of a minute since the epoch. */
void ecom_minute_format(int64_t minute, char out[ECOM_MINUTE_TEXT]);

/* An empty snapshot with every key present, lists empty and totals zero (new reference). */
json_t *ecom_snapshot_new(void);

void ecom_snapshot_add_daily_sales(json_t *snap, int64_t day, int64_t revenue_cents, int64_t orders,
                                   int64_t units);
void ecom_snapshot_set_funnel_total(json_t *snap, int64_t viewed, int64_t carted,
                                    int64_t converted);
void ecom_snapshot_add_funnel_day(json_t *snap, int64_t day, int64_t viewed, int64_t carted,
                                  int64_t converted);
/* A product with sales: a candidate of both rankings. */
void ecom_snapshot_add_product(json_t *snap, const char *product_id, const char *name,
                               int64_t units, int64_t revenue_cents);
void ecom_snapshot_add_category(json_t *snap, const char *category_id, const char *name,
                                int64_t lines, int64_t revenue_cents);
/* mean_cents is computed here: total / orders, rounded half up. orders > 0. */
void ecom_snapshot_add_year(json_t *snap, int64_t year, int64_t orders, int64_t total_cents);
void ecom_snapshot_add_cohort(json_t *snap, const char *registration_month,
                              const char *transaction_month, int64_t users);
void ecom_snapshot_set_counts(json_t *snap, int64_t users, int64_t categories, int64_t products,
                              int64_t transactions, int64_t sessions);

/* A minute (since the epoch) of the series; rows whose counts are all zero are left out. */
void ecom_snapshot_add_minute(json_t *snap, int64_t minute, const ecom_minute_counts *c);
void ecom_snapshot_set_active_sessions(json_t *snap, int64_t active);
void ecom_snapshot_add_segment(json_t *snap, ecom_dimension dim, const char *key,
                               const ecom_segment_counts *c);

/* Sorts the lists and ranks the products (see above). Call once, after the last add. */
void ecom_snapshot_finish(json_t *snap);

/* One difference between two snapshots: the metric ("daily_sales.revenue_cents"), the row's key
 * ("2025-03-01"; "#3" for a rank; "" for a total), and both values as text ("(none)" when the
 * row is missing on that side). */
typedef void (*ecom_snapshot_diff_fn)(void *arg, const char *metric, const char *key,
                                      const char *expected, const char *found);

/* Compares every metric of two snapshots ("pipeline" is not a metric and is skipped); calls fn
 * for each difference and returns how many there were. */
int ecom_snapshot_diff(const json_t *expected, const json_t *found, ecom_snapshot_diff_fn fn,
                       void *arg);

#endif
