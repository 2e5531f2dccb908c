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
 *     "counts": {"users", "categories", "products", "transactions", "sessions"} }
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
