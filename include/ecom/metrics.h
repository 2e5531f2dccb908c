/*
 * metrics.h - the batch computation of every business metric (SPEC section 5) in one pass.
 *
 * Feed it reference data (categories, products, users) and facts (transactions, session
 * outcomes) in any order; ecom_metrics_snapshot() then joins and renders the JSON shape shared by
 * the generator's manifest, `ecom aggregate --snapshot` and the dashboard. It is the reference
 * the live counters are checked against.
 *
 * Facts are folded by their join key as they arrive (per product: units, revenue, lines; per
 * user: orders, spend, months bought in), and joined with the reference tables only when the
 * snapshot is taken, so memory grows with the number of products and users, not transactions,
 * and reference data may arrive after the facts that use it. The accumulator does not
 * de-duplicate: callers add each transaction and each session once.
 */
#ifndef ECOM_METRICS_H
#define ECOM_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include "ecom/model.h"
#include "ecom/snapshot.h"

typedef struct ecom_metrics ecom_metrics;

ecom_metrics *ecom_metrics_new(void);
void ecom_metrics_free(ecom_metrics *m);

/* Reference data: the latest version of an id replaces the earlier one. */
void ecom_metrics_add_category(ecom_metrics *m, const ecom_category *c);
void ecom_metrics_add_product(ecom_metrics *m, const ecom_product *p);
void ecom_metrics_add_user(ecom_metrics *m, const ecom_user *u);

void ecom_metrics_add_transaction(ecom_metrics *m, const ecom_transaction *t);
/* The two halves of a transaction, for callers that get them apart (`ecom verify` reads the
 * per-product sums from a server-side aggregation and the orders one by one): the order
 * (daily sales, spend, cohorts) and sales of one product over any number of item lines. */
void ecom_metrics_add_order(ecom_metrics *m, const char *user_id, ecom_time timestamp,
                            ecom_cents total_cents, int64_t units);
void ecom_metrics_add_product_sales(ecom_metrics *m, const char *product_id, int64_t units,
                                    ecom_cents revenue_cents, int64_t lines);
/* One session's funnel outcome, by the time it started. */
void ecom_metrics_add_session(ecom_metrics *m, ecom_time start, bool viewed, bool carted,
                              bool converted);

/* The minute series ("minutes" of snapshot.h): n more of a series in the minute of t. Orders
 * and revenue are added by the order functions above; the caller adds sessions (by start),
 * page views and converted sessions (by the time of the session_end). */
typedef enum ecom_minute_series {
    ECOM_MINUTE_SESSIONS,
    ECOM_MINUTE_PAGE_VIEWS,
    ECOM_MINUTE_CONVERTED,
} ecom_minute_series;
void ecom_metrics_add_minute(ecom_metrics *m, ecom_minute_series series, ecom_time t, int64_t n);
/* One session's funnel outcome in its segment (empty fields count as "unknown"). */
void ecom_metrics_add_segment_session(ecom_metrics *m, const ecom_segment *seg, bool viewed,
                                      bool carted, bool converted);
/* A transaction of a session, in that session's segment (add_transaction does this itself). */
void ecom_metrics_add_segment_order(ecom_metrics *m, const ecom_segment *seg,
                                    ecom_cents total_cents);
/* Sessions started and not ended (0 unless set). */
void ecom_metrics_set_active_sessions(ecom_metrics *m, int64_t active);

/* The snapshot of SPEC section 5 without "pipeline" (new reference), shaped and ordered by
 * snapshot.h. */
json_t *ecom_metrics_snapshot(const ecom_metrics *m);

#endif
