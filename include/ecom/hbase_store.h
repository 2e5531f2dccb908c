/*
 * hbase_store.h - the HBase side of the data model, over HBase's Thrift2 API (THBaseService).
 *
 * Table `user_sessions` (--hbase-table), one wide row per session, row key
 * `<user_id>_<start_time>_<session_id>` so one user's sessions are one prefix scan and come back
 * in time order. Families:
 *   info    session_id, user_id, start_time, referrer (from session_start); end_time, duration,
 *           conversion, transaction_id, viewed_products (JSON list), cart_contents (JSON object)
 *           (from session_end)
 *   geo     city, state, country, ip_address
 *   device  type, os, browser
 *   pv      one cell per page view, qualifier the 3-digit sequence number, value a JSON object
 *   cart    one cell per product in the final cart, value the quantity
 * Every cell carries the time of the event that wrote it as its timestamp (milliseconds), so
 * re-writing an event (a replay, a re-delivery) puts back the identical cell.
 *
 * Thrift2 gives every cell its own timestamp, so a batch is written in a constant number of
 * calls whatever event times it holds: one putMultiple on each of two connections, sent
 * together, their replies read after (a call more per 50,000 cells of a very large batch).
 *
 * Threads: an ecom_hbase (its connections) is used by one thread at a time; batches are separate
 * objects, so one thread may run ecom_hbase_batch_write on a batch while another thread fills a
 * different batch with ecom_hbase_batch_add.
 */
#ifndef ECOM_HBASE_STORE_H
#define ECOM_HBASE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/error.h"
#include "ecom/model.h"

typedef struct ecom_hbase ecom_hbase;

/* A client of the table ("[namespace:]name") on the Thrift2 server at HOST:PORT; it connects
 * lazily and reconnects after any failure. */
ecom_hbase *ecom_hbase_new(const char *host_port, const char *table, ecom_error *err);
void ecom_hbase_free(ecom_hbase *h);
/* Creates the table and its families when missing. */
int ecom_hbase_ensure_table(ecom_hbase *h, ecom_error *err);
/* Deletes the table (tests and resets only). */
int ecom_hbase_drop_table(ecom_hbase *h, ecom_error *err);

/* Pending cells of a batch of session events. A batch keeps the objects it built for reuse by
 * the next batch, so its memory is that of the largest batch it has held. */
typedef struct ecom_hbase_batch ecom_hbase_batch;
ecom_hbase_batch *ecom_hbase_batch_new(void);
void ecom_hbase_batch_free(ecom_hbase_batch *b);
void ecom_hbase_batch_add(ecom_hbase_batch *b, const ecom_session_event *ev);
int64_t ecom_hbase_batch_cells(const ecom_hbase_batch *b);
void ecom_hbase_batch_clear(ecom_hbase_batch *b);
/* Writes every pending cell; on success the batch is empty, on failure it is intact (and the
 * connections are reset), so it can be retried whole. Touches only h and b: safe on a thread
 * other than the one filling the next batch, as long as no other thread uses h meanwhile. */
int ecom_hbase_batch_write(ecom_hbase *h, ecom_hbase_batch *b, ecom_error *err);

/* pv cells a row can hold: the qualifier is the sequence number's last three digits. */
#define ECOM_ROW_PAGE_VIEWS 1000

/* One session row as read back. */
typedef struct ecom_session_row {
    char row_key[3 * ECOM_ID_MAX];
    char session_id[ECOM_ID_MAX];
    char user_id[ECOM_ID_MAX];
    ecom_time start_time; /* 0 when the session_start was not stored */
    ecom_time end_time;   /* 0 while the session has not ended */
    int64_t duration;
    char conversion[ECOM_WORD_MAX]; /* empty while the session has not ended */
    char referrer[ECOM_WORD_MAX];
    char device[ECOM_WORD_MAX];
    char country[ECOM_GEO_MAX];
    int page_views;
    ecom_time page_view_times[ECOM_ROW_PAGE_VIEWS]; /* of each pv cell (its timestamp) */
    bool viewed_product;                            /* a product_detail page view */
    int cart_lines;
} ecom_session_row;

/* One cell as read back. */
typedef struct ecom_hbase_cell {
    const char *column; /* "family:qualifier", not NUL-terminated */
    size_t column_len;
    const char *value;
    size_t value_len;
    int64_t timestamp; /* milliseconds */
} ecom_hbase_cell;

/* Calls fn with every row whose key starts with prefix ("" for all), cells sorted by column;
 * fn returns non-zero to stop early. */
int ecom_hbase_scan_cells(ecom_hbase *h, const char *prefix,
                          int (*fn)(void *arg, const char *row, size_t row_len,
                                    const ecom_hbase_cell *cells, size_t n_cells),
                          void *arg, ecom_error *err);

/* Calls fn for each row whose key starts with prefix ("" for the whole table), in key order.
 * fn returns non-zero to stop early. */
int ecom_hbase_scan_sessions(ecom_hbase *h, const char *prefix,
                             int (*fn)(void *arg, const ecom_session_row *row), void *arg,
                             ecom_error *err);

/* One user's sessions, in time order, and their summary: {"user_id", "sessions": [{"session_id",
 * "start_time", "end_time", "duration_seconds", "conversion", "referrer", "device", "page_views",
 * "cart_lines"}], "summary": {"count", "total_duration_seconds"}} (new reference; NULL with err
 * on a bad user id or a failed scan). One prefix scan of <user_id>_. */
json_t *ecom_hbase_user_sessions(ecom_hbase *h, const char *user_id, ecom_error *err);

#endif
