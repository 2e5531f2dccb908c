/*
 * hbase_store.c - session rows in HBase over Thrift v1 (see hbase_store.h for the layout).
 *
 * The generated c_glib client (from lib/hbase/hbase_v1.thrift, built at compile time) speaks the
 * binary protocol over a buffered socket transport. Each call's send and receive halves are
 * separate functions, which is what lets a batch keep a window of calls in flight.
 */
#include "ecom/hbase_store.h"

#include <glib-object.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_buffered_transport.h>
#include <thrift/c_glib/transport/thrift_socket.h>
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/jsonw.h"
#include "hbase.h"

#define PIPELINE_WINDOW 64 /* calls in flight per connection; each reply is a few bytes */
#define CONNECTIONS 8      /* the Thrift server serves each connection on its own thread */
#define SCAN_ROWS 256

static const char *const families[] = {"info:", "geo:", "device:", "pv:", "cart:"};

typedef struct connection {
    ThriftSocket *socket;
    ThriftTransport *transport;
    ThriftProtocol *protocol;
    HbaseIf *client;
    bool open;
    int in_flight; /* calls sent whose reply is not read yet */
} connection;

struct ecom_hbase {
    char host[256];
    int port;
    connection conn[CONNECTIONS]; /* conn[0] serves single calls and scans */
    HbaseIf *client;              /* conn[0].client */
    GByteArray *table;            /* the table name as Thrift Text */
    GHashTable *attributes;       /* always empty */
};

/* ---- Thrift plumbing ------------------------------------------------------------------------ */

static GByteArray *text(const char *s)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
    return b;
}

/* Reports a failed call: a transport error, or one of HBase's own exceptions. */
static int call_failed(ecom_hbase *h, const char *what, GError *gerr, IOError *io,
                       IllegalArgument *ia, ecom_error *err)
{
    if (io)
        ecom_fail(err, "HBase %s: %s", what, io->message ? io->message : "IOError");
    else if (ia)
        ecom_fail(err, "HBase %s: illegal argument: %s", what, ia->message ? ia->message : "");
    else
        ecom_fail(err, "HBase %s at %s:%d: %s", what, h->host, h->port,
                  gerr ? gerr->message : "unknown error");
    if (gerr)
        g_error_free(gerr);
    if (io)
        g_object_unref(io);
    if (ia)
        g_object_unref(ia);
    /* streams may be mid-reply: start over on fresh connections next time */
    for (int i = 0; i < CONNECTIONS; i++) {
        if (h->conn[i].open)
            thrift_transport_close(h->conn[i].transport, NULL);
        h->conn[i].open = false;
        h->conn[i].in_flight = 0;
    }
    return -1;
}

static int open_connection(ecom_hbase *h, connection *c, ecom_error *err)
{
    if (c->open)
        return 0;
    GError *gerr = NULL;
    if (!thrift_transport_open(c->transport, &gerr))
        return call_failed(h, "connect", gerr, NULL, NULL, err);
    c->open = true;
    return 0;
}

static int ensure_open(ecom_hbase *h, ecom_error *err)
{
    return open_connection(h, &h->conn[0], err);
}

/* The c_glib code generator of this Thrift version writes finalize functions that do not chain
 * up to GObject's own, so every struct object leaks the small data list GObject attaches to an
 * instance while destroying it (tens of bytes per cell written). Chaining up is restored here,
 * once per process, for every generated type this client creates or receives. The table is
 * filled once under g_once and only read afterwards. */
typedef struct finalize_fix {
    GType (*get_type)(void);
    void (*generated)(GObject *);
} finalize_fix;

static finalize_fix finalize_fixes[] = {
    {mutation_get_type, NULL},
    {batch_mutation_get_type, NULL},
    {t_row_result_get_type, NULL},
    {t_column_get_type, NULL},
    {t_cell_get_type, NULL},
    {t_scan_get_type, NULL},
    {column_descriptor_get_type, NULL},
    {i_o_error_get_type, NULL},
    {illegal_argument_get_type, NULL},
    {already_exists_get_type, NULL},
};

static void chained_finalize(GObject *object)
{
    GType type = G_OBJECT_TYPE(object);
    for (size_t i = 0; i < G_N_ELEMENTS(finalize_fixes); i++) {
        if (finalize_fixes[i].get_type() == type) {
            finalize_fixes[i].generated(object);
            break;
        }
    }
    G_OBJECT_CLASS(g_type_class_peek_parent(G_OBJECT_GET_CLASS(object)))->finalize(object);
}

static gpointer install_finalize_fixes(gpointer unused)
{
    (void)unused;
    for (size_t i = 0; i < G_N_ELEMENTS(finalize_fixes); i++) {
        GObjectClass *klass = g_type_class_ref(finalize_fixes[i].get_type());
        finalize_fixes[i].generated = klass->finalize;
        klass->finalize = chained_finalize;
    }
    return NULL;
}

ecom_hbase *ecom_hbase_new(const char *host_port, const char *table, ecom_error *err)
{
    static GOnce fixes_installed = G_ONCE_INIT;
    g_once(&fixes_installed, install_finalize_fixes, NULL);
    const char *colon = strrchr(host_port, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == host_port || (size_t)(colon - host_port) >= 256 || !end || *end ||
        port <= 0 || port > 65535) {
        ecom_fail(err, "--hbase: '%s' is not HOST:PORT", host_port);
        return NULL;
    }
    ecom_hbase *h = ecom_xcalloc(1, sizeof *h);
    memcpy(h->host, host_port, (size_t)(colon - host_port));
    h->port = (int)port;
    for (int i = 0; i < CONNECTIONS; i++) {
        connection *c = &h->conn[i];
        c->socket = g_object_new(THRIFT_TYPE_SOCKET, "hostname", h->host, "port", h->port, NULL);
        c->transport = g_object_new(THRIFT_TYPE_BUFFERED_TRANSPORT, "transport", c->socket,
                                    "r_buf_size", 65536, "w_buf_size", 262144, NULL);
        c->protocol = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL, "transport", c->transport, NULL);
        c->client = g_object_new(TYPE_HBASE_CLIENT, "input_protocol", c->protocol,
                                 "output_protocol", c->protocol, NULL);
    }
    h->client = h->conn[0].client;
    h->table = text(table);
    h->attributes = g_hash_table_new(g_str_hash, g_str_equal);
    return h;
}

void ecom_hbase_free(ecom_hbase *h)
{
    if (!h)
        return;
    for (int i = 0; i < CONNECTIONS; i++) {
        connection *c = &h->conn[i];
        if (c->open)
            thrift_transport_close(c->transport, NULL);
        g_object_unref(c->client);
        g_object_unref(c->protocol);
        g_object_unref(c->transport);
        g_object_unref(c->socket);
    }
    g_byte_array_unref(h->table);
    g_hash_table_destroy(h->attributes);
    free(h);
}

static bool same_bytes(const GByteArray *a, const GByteArray *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int ecom_hbase_ensure_table(ecom_hbase *h, ecom_error *err)
{
    if (ensure_open(h, err))
        return -1;
    /* the generated client appends list results to an array the caller provides */
    GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    IOError *io = NULL;
    GError *gerr = NULL;
    if (!hbase_if_get_table_names(h->client, &names, &io, &gerr) || io) {
        g_ptr_array_unref(names);
        return call_failed(h, "getTableNames", gerr, io, NULL, err);
    }
    bool exists = false;
    for (guint i = 0; i < names->len; i++)
        exists |= same_bytes(g_ptr_array_index(names, i), h->table);
    g_ptr_array_unref(names);
    if (exists)
        return 0;
    GPtrArray *cfs = g_ptr_array_new_with_free_func(g_object_unref);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        ColumnDescriptor *cd = g_object_new(TYPE_COLUMN_DESCRIPTOR, NULL);
        cd->name = text(families[i]);
        cd->__isset_name = TRUE;
        cd->maxVersions = 1; /* a re-written cell replaces itself; no history is kept */
        cd->__isset_maxVersions = TRUE;
        g_ptr_array_add(cfs, cd);
    }
    IllegalArgument *ia = NULL;
    AlreadyExists *exist = NULL;
    gboolean ok = hbase_if_create_table(h->client, h->table, cfs, &io, &ia, &exist, &gerr);
    g_ptr_array_unref(cfs);
    if (exist) { /* created meanwhile by another sink: fine */
        g_object_unref(exist);
        return 0;
    }
    if (!ok || io || ia)
        return call_failed(h, "createTable", gerr, io, ia, err);
    return 0;
}

int ecom_hbase_drop_table(ecom_hbase *h, ecom_error *err)
{
    if (ensure_open(h, err))
        return -1;
    IOError *io = NULL;
    GError *gerr = NULL;
    if (!hbase_if_disable_table(h->client, h->table, &io, &gerr) || io)
        return call_failed(h, "disableTable", gerr, io, NULL, err);
    if (!hbase_if_delete_table(h->client, h->table, &io, &gerr) || io)
        return call_failed(h, "deleteTable", gerr, io, NULL, err);
    return 0;
}

/* ---- batches -------------------------------------------------------------------------------- */

/* Cells are grouped by timestamp (one mutateRowsTs each), then by row. */
struct ecom_hbase_batch {
    GHashTable *by_ts; /* gint64* -> GHashTable (row key -> BatchMutation*) */
    int64_t cells;
    ecom_buf scratch;
};

static void free_ts_key(gpointer p)
{
    g_free(p);
}

ecom_hbase_batch *ecom_hbase_batch_new(void)
{
    ecom_hbase_batch *b = ecom_xcalloc(1, sizeof *b);
    b->by_ts = g_hash_table_new_full(g_int64_hash, g_int64_equal, free_ts_key,
                                     (GDestroyNotify)g_hash_table_unref);
    ecom_buf_init(&b->scratch);
    return b;
}

void ecom_hbase_batch_free(ecom_hbase_batch *b)
{
    if (!b)
        return;
    g_hash_table_destroy(b->by_ts);
    ecom_buf_free(&b->scratch);
    free(b);
}

void ecom_hbase_batch_clear(ecom_hbase_batch *b)
{
    g_hash_table_remove_all(b->by_ts);
    b->cells = 0;
}

int64_t ecom_hbase_batch_cells(const ecom_hbase_batch *b)
{
    return b->cells;
}

static BatchMutation *row_at(ecom_hbase_batch *b, int64_t ts_ms, const char *row)
{
    GHashTable *rows = g_hash_table_lookup(b->by_ts, &ts_ms);
    if (!rows) {
        gint64 *key = g_new(gint64, 1);
        *key = ts_ms;
        rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
        g_hash_table_insert(b->by_ts, key, rows);
    }
    BatchMutation *bm = g_hash_table_lookup(rows, row);
    if (!bm) {
        bm = g_object_new(TYPE_BATCH_MUTATION, NULL);
        bm->row = text(row);
        bm->__isset_row = TRUE;
        bm->__isset_mutations = TRUE;
        g_hash_table_insert(rows, g_strdup(row), bm);
    }
    return bm;
}

static void put(ecom_hbase_batch *b, BatchMutation *bm, const char *column, const char *value)
{
    Mutation *m = g_object_new(TYPE_MUTATION, NULL);
    m->column = text(column);
    m->__isset_column = TRUE;
    m->value = text(value);
    m->__isset_value = TRUE;
    g_ptr_array_add(bm->mutations, m);
    b->cells++;
}

static void put_time(ecom_hbase_batch *b, BatchMutation *bm, const char *column, ecom_time t)
{
    char s[ECOM_TIME_TEXT];
    ecom_time_format(t, s);
    put(b, bm, column, s);
}

static void put_int(ecom_hbase_batch *b, BatchMutation *bm, const char *column, int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    put(b, bm, column, s);
}

static void session_row_key(const ecom_session_event *ev, char *out, size_t n)
{
    char start[ECOM_TIME_TEXT];
    ecom_time_format(ev->start_time, start);
    snprintf(out, n, "%s_%s_%s", ev->user_id, start, ev->session_id);
}

void ecom_hbase_batch_add(ecom_hbase_batch *b, const ecom_session_event *ev)
{
    char row[3 * ECOM_ID_MAX + ECOM_TIME_TEXT];
    session_row_key(ev, row, sizeof row);
    BatchMutation *bm = row_at(b, ev->ts * 1000, row);
    ecom_buf *s = &b->scratch;
    jw w;
    switch (ev->type) {
    case ECOM_EV_SESSION_START: {
        const ecom_session_start *st = &ev->u.start;
        put(b, bm, "info:session_id", ev->session_id);
        put(b, bm, "info:user_id", ev->user_id);
        put_time(b, bm, "info:start_time", ev->start_time);
        put(b, bm, "info:referrer", st->referrer);
        put(b, bm, "geo:city", st->geo_data.city);
        put(b, bm, "geo:state", st->geo_data.state);
        put(b, bm, "geo:country", st->geo_data.country);
        put(b, bm, "geo:ip_address", st->geo_data.ip_address);
        put(b, bm, "device:type", st->device_profile.type);
        put(b, bm, "device:os", st->device_profile.os);
        put(b, bm, "device:browser", st->device_profile.browser);
        break;
    }
    case ECOM_EV_PAGE_VIEW: {
        const ecom_page_view *pv = &ev->u.page_view;
        char column[16];
        snprintf(column, sizeof column, "pv:%03d", (int)pv->seq % 1000);
        ecom_buf_reset(s);
        jw_init(&w, s);
        jw_begin_object(&w);
        jw_kv_time(&w, "ts", ev->ts);
        jw_kv_string(&w, "page_type", ecom_page_type_name(pv->page_type));
        if (*pv->product_id)
            jw_kv_string(&w, "product_id", pv->product_id);
        if (*pv->category_id)
            jw_kv_string(&w, "category_id", pv->category_id);
        jw_kv_int(&w, "view_duration", pv->view_duration);
        jw_end_object(&w);
        put(b, bm, column, s->data);
        break;
    }
    case ECOM_EV_CART_ADD:
        /* the cart family holds the final cart, written from session_end */
        break;
    case ECOM_EV_SESSION_END: {
        const ecom_session_end *e = &ev->u.end;
        put_time(b, bm, "info:end_time", ev->ts);
        put_int(b, bm, "info:duration", e->duration_seconds);
        put(b, bm, "info:conversion", ecom_conversion_name(e->conversion_status));
        if (*e->transaction_id)
            put(b, bm, "info:transaction_id", e->transaction_id);
        ecom_buf_reset(s);
        jw_init(&w, s);
        jw_begin_array(&w);
        for (int i = 0; i < e->n_viewed; i++)
            jw_string(&w, e->viewed_products[i]);
        jw_end_array(&w);
        put(b, bm, "info:viewed_products", s->data);
        ecom_buf_reset(s);
        jw_init(&w, s);
        jw_begin_object(&w);
        for (int i = 0; i < e->n_cart; i++)
            jw_kv_int(&w, e->cart_contents[i].product_id, e->cart_contents[i].quantity);
        jw_end_object(&w);
        put(b, bm, "info:cart_contents", s->data);
        for (int i = 0; i < e->n_cart; i++) {
            char column[ECOM_ID_MAX + 8];
            snprintf(column, sizeof column, "cart:%s", e->cart_contents[i].product_id);
            put_int(b, bm, column, e->cart_contents[i].quantity);
        }
        break;
    }
    }
}

static int recv_one(ecom_hbase *h, connection *c, ecom_error *err)
{
    IOError *io = NULL;
    IllegalArgument *ia = NULL;
    GError *gerr = NULL;
    if (!hbase_client_recv_mutate_rows_ts(c->client, &io, &ia, &gerr) || io || ia)
        return call_failed(h, "mutateRowsTs", gerr, io, ia, err);
    c->in_flight--;
    return 0;
}

/* Sends one call per timestamp, spread over the connections, each keeping a window of calls in
 * flight, then reads every remaining reply. Any failure fails the whole batch, which is then
 * retried whole: re-writing cells with the same timestamps is harmless. */
int ecom_hbase_batch_write(ecom_hbase *h, ecom_hbase_batch *b, ecom_error *err)
{
    if (b->cells == 0)
        return 0;
    for (int i = 0; i < CONNECTIONS; i++)
        if (open_connection(h, &h->conn[i], err))
            return -1;
    GHashTableIter it;
    gpointer key, value;
    int next = 0, rc = 0;
    GPtrArray *rows = g_ptr_array_new();
    g_hash_table_iter_init(&it, b->by_ts);
    while (rc == 0 && g_hash_table_iter_next(&it, &key, &value)) {
        g_ptr_array_set_size(rows, 0);
        GHashTableIter rit;
        gpointer rk, rv;
        g_hash_table_iter_init(&rit, value);
        while (g_hash_table_iter_next(&rit, &rk, &rv))
            g_ptr_array_add(rows, rv);
        connection *c = &h->conn[next++ % CONNECTIONS];
        if (c->in_flight >= PIPELINE_WINDOW && recv_one(h, c, err)) {
            rc = -1;
            break;
        }
        GError *gerr = NULL;
        if (!hbase_client_send_mutate_rows_ts(c->client, h->table, rows, *(gint64 *)key,
                                              h->attributes, &gerr)) {
            rc = call_failed(h, "mutateRowsTs", gerr, NULL, NULL, err);
            break;
        }
        c->in_flight++;
    }
    g_ptr_array_free(rows, TRUE);
    for (int i = 0; rc == 0 && i < CONNECTIONS; i++)
        while (rc == 0 && h->conn[i].in_flight > 0)
            rc = recv_one(h, &h->conn[i], err);
    if (rc == 0)
        ecom_hbase_batch_clear(b);
    return rc;
}

/* ---- scans ---------------------------------------------------------------------------------- */

static bool column_is(const ecom_hbase_cell *c, const char *s)
{
    return c->column_len == strlen(s) && memcmp(c->column, s, c->column_len) == 0;
}

static bool column_in_family(const ecom_hbase_cell *c, const char *family)
{
    size_t n = strlen(family);
    return c->column_len > n && memcmp(c->column, family, n) == 0;
}

static void copy_value(char *out, size_t n, const ecom_hbase_cell *c)
{
    size_t len = c->value_len < n ? c->value_len : n - 1;
    memcpy(out, c->value, len);
    out[len] = '\0';
}

static void row_from_cells(const char *key, size_t key_len, const ecom_hbase_cell *cells, size_t n,
                           ecom_session_row *row)
{
    memset(row, 0, sizeof *row);
    size_t klen = key_len < sizeof row->row_key - 1 ? key_len : sizeof row->row_key - 1;
    memcpy(row->row_key, key, klen);
    for (size_t i = 0; i < n; i++) {
        const ecom_hbase_cell *c = &cells[i];
        char v[64];
        copy_value(v, sizeof v, c);
        if (column_is(c, "info:session_id"))
            copy_value(row->session_id, sizeof row->session_id, c);
        else if (column_is(c, "info:user_id"))
            copy_value(row->user_id, sizeof row->user_id, c);
        else if (column_is(c, "info:start_time"))
            ecom_time_parse(v, &row->start_time, NULL);
        else if (column_is(c, "info:end_time"))
            ecom_time_parse(v, &row->end_time, NULL);
        else if (column_is(c, "info:duration"))
            row->duration = strtoll(v, NULL, 10);
        else if (column_is(c, "info:conversion"))
            copy_value(row->conversion, sizeof row->conversion, c);
        else if (column_is(c, "info:referrer"))
            copy_value(row->referrer, sizeof row->referrer, c);
        else if (column_is(c, "device:type"))
            copy_value(row->device, sizeof row->device, c);
        else if (column_in_family(c, "pv:")) {
            static const char needle[] = "\"page_type\":\"product_detail\"";
            row->page_views++;
            row->viewed_product |= g_strstr_len(c->value, (gssize)c->value_len, needle) != NULL;
        } else if (column_in_family(c, "cart:"))
            row->cart_lines++;
    }
}

/* The smallest key greater than every key with this prefix (empty: no upper bound). */
static GByteArray *prefix_stop(const char *prefix)
{
    GByteArray *b = text(prefix);
    while (b->len && b->data[b->len - 1] == 0xff)
        g_byte_array_set_size(b, b->len - 1);
    if (b->len)
        b->data[b->len - 1]++;
    return b;
}

int ecom_hbase_scan_cells(ecom_hbase *h, const char *prefix,
                          int (*fn)(void *arg, const char *row, size_t row_len,
                                    const ecom_hbase_cell *cells, size_t n_cells),
                          void *arg, ecom_error *err)
{
    if (ensure_open(h, err))
        return -1;
    TScan *scan = g_object_new(TYPE_T_SCAN, NULL);
    scan->startRow = text(prefix);
    scan->__isset_startRow = TRUE;
    if (*prefix) {
        scan->stopRow = prefix_stop(prefix);
        scan->__isset_stopRow = TRUE;
    }
    scan->caching = SCAN_ROWS;
    scan->__isset_caching = TRUE;
    scan->sortColumns = TRUE;
    scan->__isset_sortColumns = TRUE;
    ScannerID id = 0;
    IOError *io = NULL;
    IllegalArgument *ia = NULL;
    GError *gerr = NULL;
    gboolean ok =
        hbase_if_scanner_open_with_scan(h->client, &id, h->table, scan, h->attributes, &io, &gerr);
    g_object_unref(scan);
    if (!ok || io)
        return call_failed(h, "scannerOpenWithScan", gerr, io, NULL, err);
    GArray *cells = g_array_new(FALSE, FALSE, sizeof(ecom_hbase_cell));
    int stop = 0;
    while (!stop) {
        GPtrArray *rows = g_ptr_array_new_with_free_func(g_object_unref);
        if (!hbase_if_scanner_get_list(h->client, &rows, id, SCAN_ROWS, &io, &ia, &gerr) || io ||
            ia) {
            g_ptr_array_unref(rows);
            g_array_free(cells, TRUE);
            return call_failed(h, "scannerGetList", gerr, io, ia, err);
        }
        if (rows->len == 0)
            stop = 1;
        for (guint i = 0; i < rows->len && !stop; i++) {
            const TRowResult *r = g_ptr_array_index(rows, i);
            g_array_set_size(cells, 0);
            for (guint k = 0; r->sortedColumns && k < r->sortedColumns->len; k++) {
                const TColumn *c = g_ptr_array_index(r->sortedColumns, k);
                ecom_hbase_cell cell = {
                    .column = (const char *)c->columnName->data,
                    .column_len = c->columnName->len,
                    .value = c->cell->value ? (const char *)c->cell->value->data : "",
                    .value_len = c->cell->value ? c->cell->value->len : 0,
                    .timestamp = c->cell->timestamp,
                };
                g_array_append_val(cells, cell);
            }
            stop = fn(arg, (const char *)r->row->data, r->row->len,
                      (const ecom_hbase_cell *)(void *)cells->data, cells->len);
        }
        g_ptr_array_unref(rows);
    }
    g_array_free(cells, TRUE);
    if (!hbase_if_scanner_close(h->client, id, &io, &ia, &gerr) || io || ia)
        return call_failed(h, "scannerClose", gerr, io, ia, err);
    return 0;
}

typedef struct session_scan {
    int (*fn)(void *arg, const ecom_session_row *row);
    void *arg;
} session_scan;

static int session_row_of_cells(void *arg, const char *row, size_t row_len,
                                const ecom_hbase_cell *cells, size_t n_cells)
{
    session_scan *s = arg;
    ecom_session_row r;
    row_from_cells(row, row_len, cells, n_cells, &r);
    return s->fn(s->arg, &r);
}

int ecom_hbase_scan_sessions(ecom_hbase *h, const char *prefix,
                             int (*fn)(void *arg, const ecom_session_row *row), void *arg,
                             ecom_error *err)
{
    session_scan s = {fn, arg};
    return ecom_hbase_scan_cells(h, prefix, session_row_of_cells, &s, err);
}

/* ---- one user's sessions -------------------------------------------------------------------- */

static int append_session(void *arg, const ecom_session_row *row)
{
    char start[ECOM_TIME_TEXT] = "", end[ECOM_TIME_TEXT] = "";
    if (row->start_time)
        ecom_time_format(row->start_time, start);
    if (row->end_time)
        ecom_time_format(row->end_time, end);
    json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:i, s:i}", "session_id",
                       row->session_id, "start_time", start, "end_time", end, "duration_seconds",
                       (json_int_t)row->duration, "conversion", row->conversion, "referrer",
                       row->referrer, "device", row->device, "page_views", row->page_views,
                       "cart_lines", row->cart_lines));
    return 0;
}

json_t *ecom_hbase_user_sessions(ecom_hbase *h, const char *user_id, ecom_error *err)
{
    if (ecom_user_id_check(user_id, err))
        return NULL;
    char prefix[ECOM_ID_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s_", user_id);
    json_t *sessions = json_array();
    if (ecom_hbase_scan_sessions(h, prefix, append_session, sessions, err)) {
        json_decref(sessions);
        return NULL;
    }
    int64_t total = 0;
    size_t i;
    json_t *s;
    json_array_foreach(sessions, i, s)
    {
        total += json_integer_value(json_object_get(s, "duration_seconds"));
    }
    return json_pack("{s:s, s:o, s:{s:I, s:I}}", "user_id", user_id, "sessions", sessions,
                     "summary", "count", (json_int_t)json_array_size(sessions),
                     "total_duration_seconds", (json_int_t)total);
}
