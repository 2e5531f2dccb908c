/*
 * report.h - every analysis as a table of rows: the dashboard's exports
 * (/api/export/<name>.csv) and `ecom report NAME`, from one list of reports.
 *
 * A report is a name, where its rows come from and its columns. Most are a list of the snapshot
 * (snapshot.h) as it is, so they hold exactly what /api/metrics.json holds; `products` is every
 * product of the generation (products.lua, one atomic read, so it never mixes two batches
 * either); `users/<user_id>/sessions` is one user's sessions from HBase, the listing of
 * /api/users/<id>/sessions. Adding a report is adding a row to ecom_reports (report.c).
 *
 * Columns are the rows' field names in order. A field ending in `_cents` is money: each output
 * format shows it as the integer cents and, right after, the decimal amount in a column named
 * without the suffix (`revenue_cents`, `revenue`), which is what a spreadsheet sums.
 *
 * Formats: CSV (csv.h: a header row, RFC 4180 quoting), JSON (an array of objects keyed by the
 * CSV's header, the decimal amounts as strings so they stay exact), and an aligned table for a
 * terminal (numbers to the right, anything unprintable escaped).
 */
#ifndef ECOM_REPORT_H
#define ECOM_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include "ecom/buf.h"
#include "ecom/config.h"
#include "ecom/counters.h"
#include "ecom/error.h"
#include "ecom/model.h"
#include "ecom/redis.h"
#include "ecom/timeutil.h"

typedef enum ecom_report_source {
    ECOM_REPORT_FROM_SNAPSHOT,      /* `path` of the snapshot: a list, or an object as one row */
    ECOM_REPORT_FROM_PRODUCTS,      /* ecom_counters_products() */
    ECOM_REPORT_FROM_USER_SESSIONS, /* `path` of ecom_hbase_user_sessions()'s listing */
} ecom_report_source;

typedef struct ecom_report {
    const char *name; /* NULL ends the list; "<user_id>" stands for a user id */
    ecom_report_source source;
    const char *path;    /* dotted: "funnel.by_day" */
    const char *columns; /* "day,revenue_cents,orders,units" */
    const char *summary; /* for help texts */
} ecom_report;

extern const ecom_report ecom_reports[];

typedef enum ecom_report_lookup {
    ECOM_REPORT_FOUND,
    ECOM_REPORT_UNKNOWN, /* no report has that name */
    ECOM_REPORT_BAD_ID,  /* the name's user id is not one */
} ecom_report_lookup;

/* The report a name asks for ("daily_sales", "users/user_000042/sessions"). The user id of a
 * name that holds one is checked and copied to id. Otherwise err says what is wrong: an
 * unknown name is quoted (escaped) with the list of every report. */
ecom_report_lookup ecom_report_find(const char *name, const ecom_report **out, char id[ECOM_ID_MAX],
                                    ecom_error *err);

/* "daily_sales, funnel_by_day, ..., users/<user_id>/sessions" (for help and errors). */
void ecom_report_names(ecom_buf *out);

/* The rows of a report (a new JSON array of objects). A snapshot report takes them from
 * `snapshot` (the dashboard's latest), or with snapshot NULL reads one from Redis now; the
 * others read Redis or HBase as cfg says. -1 with err when a store cannot be read or Redis
 * holds no counters yet. */
int ecom_report_rows(const ecom_report *rep, const char *id, const ecom_config *cfg,
                     const json_t *snapshot, json_t **rows, ecom_error *err);

typedef enum ecom_report_format {
    ECOM_REPORT_CSV,
    ECOM_REPORT_JSON,
    ECOM_REPORT_TABLE,
} ecom_report_format;

/* Appends the rows in a format (see above). */
void ecom_report_render(const ecom_report *rep, const json_t *rows, ecom_report_format format,
                        ecom_buf *out);

/* A file name that says what and when: "ecom-products-2026-12-01T1200Z.csv" for the report
 * asked for as `name` (slashes become dashes) at time t; ext without the dot. */
void ecom_report_file_name(const char *name, ecom_time t, const char *ext, char *out, size_t n);

#endif
