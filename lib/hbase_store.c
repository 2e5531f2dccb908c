/*
 * hbase_store.c - session rows in HBase over Thrift2 (see hbase_store.h for the layout).
 *
 * The generated c_glib client (from lib/hbase/hbase_v2.thrift, built at compile time) speaks the
 * binary protocol over a buffered socket transport to HBase's Thrift2 server (THBaseService).
 * Thrift2's put carries a timestamp on every cell, so a batch - whatever event times it holds -
 * is one putMultiple per connection (a batch beyond CELLS_PER_CALL a call more per that many
 * cells): the batch's rows are split into slices of about equal cells, every slice is sent
 * before any reply is read, so the server (a thread per connection) writes them side by side.
 *
 * A batch owns its Thrift objects and reuses them: clearing a batch keeps every TPut and
 * TColumnValue it ever built, with their byte arrays, for the next batch to refill, so writing
 * allocates nothing per cell once batches have reached their usual size.
 */
#include "ecom/hbase_store.h"

#include <glib-object.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>
#include <thrift/c_glib/transport/thrift_buffered_transport.h>
#include <thrift/c_glib/transport/thrift_socket.h>
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/jsonw.h"
#include "t_h_base_service.h"

/* Connections a batch is spread over. The Thrift2 server serves each on its own thread, so the
 * slices are written side by side. Measured at scale 0.1 on a 2-core machine where HBase's own
 * CPU is most of the work: one connection 5,600 sessions/s, two 6,100, three and four within
 * 2% of two (medians of 2-8 runs). */
#define CONNECTIONS 2
/* Cells in one putMultiple (about 4 MB on the wire): far below what the server accepts in one
 * message, so a batch of any --batch-size is a few calls more, never one too large. */
#define CELLS_PER_CALL 50000
#define SCAN_ROWS 256

enum family { FAM_INFO, FAM_GEO, FAM_DEVICE, FAM_PV, FAM_CART, N_FAMILIES };
static const char *const family_names[N_FAMILIES] = {"info", "geo", "device", "pv", "cart"};

typedef struct connection {
    ThriftSocket *socket;
    ThriftTransport *transport;
    ThriftProtocol *protocol;
    THBaseServiceIf *client;
    bool open;
} connection;

struct ecom_hbase {
    char host[256];
    int port;
    connection conn[CONNECTIONS]; /* conn[0] serves single calls and scans */
    THBaseServiceIf *client;      /* conn[0].client */
    GByteArray *table;            /* the table name as data calls take it, "[ns:]name" */
    TTableName *table_name;       /* the same, as table calls take it */
};

/* ---- Thrift plumbing ------------------------------------------------------------------------ */

static GByteArray *bytes(const char *s, size_t n)
{
    GByteArray *b = g_byte_array_sized_new((guint)n);
    g_byte_array_append(b, (const guint8 *)s, (guint)n);
    return b;
}

static GByteArray *text(const char *s)
{
    return bytes(s, strlen(s));
}

/* Refills a reused byte array with s. */
static void set_text(GByteArray *b, const char *s)
{
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
}

static void close_all(ecom_hbase *h)
{
    for (int i = 0; i < CONNECTIONS; i++) {
        if (h->conn[i].open)
            thrift_transport_close(h->conn[i].transport, NULL);
        h->conn[i].open = false;
    }
}

/* HBase reports a missing table with the table's name as the whole message. */
static bool names_the_table(const ecom_hbase *h, const char *message)
{
    const char *name = (const char *)h->table->data;
    size_t n = h->table->len;
    return message && ((strlen(message) == n && memcmp(message, name, n) == 0) ||
                       (strncmp(message, "default:", 8) == 0 && strlen(message + 8) == n &&
                        memcmp(message + 8, name, n) == 0));
}

/* A Thrift v1 server answers Thrift2 calls with "Invalid method name". */
static bool unknown_method(const GError *gerr)
{
    return gerr && gerr->domain == THRIFT_APPLICATION_EXCEPTION_ERROR &&
           gerr->code == THRIFT_APPLICATION_EXCEPTION_ERROR_UNKNOWN_METHOD;
}

/* Reports a failed call: a transport error, or one of HBase's own exceptions. */
static int call_failed(ecom_hbase *h, const char *what, GError *gerr, TIOError *io,
                       TIllegalArgument *ia, ecom_error *err)
{
    const char *table = (const char *)h->table->data;
    int table_len = (int)h->table->len;
    if (io && names_the_table(h, io->message))
        ecom_fail(err, "HBase %s: table '%.*s' does not exist (`ecom init` creates it)", what,
                  table_len, table);
    else if (io)
        ecom_fail(err, "HBase %s on table '%.*s': %s", what, table_len, table,
                  io->message ? io->message : "TIOError");
    else if (ia)
        ecom_fail(err, "HBase %s: illegal argument: %s", what, ia->message ? ia->message : "");
    else if (unknown_method(gerr))
        ecom_fail(err,
                  "HBase %s at %s:%d: %s - is --hbase a Thrift2 server? (the local stack "
                  "runs Thrift2 on 9091, Thrift v1 on 9090)",
                  what, h->host, h->port, gerr->message);
    else
        ecom_fail(err, "HBase %s at %s:%d (Thrift2): %s", what, h->host, h->port,
                  gerr ? gerr->message : "unknown error");
    if (gerr)
        g_error_free(gerr);
    if (io)
        g_object_unref(io);
    if (ia)
        g_object_unref(ia);
    /* streams may be mid-reply: start over on fresh connections next time */
    close_all(h);
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
 * instance while destroying it (tens of bytes per cell). Chaining up is restored here, once per
 * process, for every generated type this client creates or receives. The table is filled once
 * under g_once and only read afterwards, from any thread. */
typedef struct finalize_fix {
    GType (*get_type)(void);
    void (*generated)(GObject *);
} finalize_fix;

static finalize_fix finalize_fixes[] = {
    {t_table_name_get_type, NULL},
    {t_column_value_get_type, NULL},
    {t_put_get_type, NULL},
    {t_result_get_type, NULL},
    {t_scan_get_type, NULL},
    {t_column_family_descriptor_get_type, NULL},
    {t_table_descriptor_get_type, NULL},
    {t_i_o_error_get_type, NULL},
    {t_illegal_argument_get_type, NULL},
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

static void install_finalize_fixes_once(void)
{
    static GOnce fixes_installed = G_ONCE_INIT;
    g_once(&fixes_installed, install_finalize_fixes, NULL);
}

/* "ns:name" is the table name in namespace ns; a plain name is in the default namespace. */
static TTableName *table_name_of(const char *table)
{
    TTableName *t = g_object_new(TYPE_T_TABLE_NAME, NULL);
    const char *colon = strchr(table, ':');
    if (colon) {
        t->ns = bytes(table, (size_t)(colon - table));
        t->__isset_ns = TRUE;
        t->qualifier = text(colon + 1);
    } else {
        t->qualifier = text(table);
    }
    return t;
}

static void connection_init(connection *c, const char *host, int port)
{
    c->socket = g_object_new(THRIFT_TYPE_SOCKET, "hostname", host, "port", port, NULL);
    c->transport = g_object_new(THRIFT_TYPE_BUFFERED_TRANSPORT, "transport", c->socket,
                                "r_buf_size", 65536, "w_buf_size", 262144, NULL);
    c->protocol = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL, "transport", c->transport, NULL);
    c->client = g_object_new(TYPE_T_H_BASE_SERVICE_CLIENT, "input_protocol", c->protocol,
                             "output_protocol", c->protocol, NULL);
}

ecom_hbase *ecom_hbase_new(const char *host_port, const char *table, ecom_error *err)
{
    install_finalize_fixes_once();
    const char *colon = strrchr(host_port, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == host_port || (size_t)(colon - host_port) >= 256 || !end || *end ||
        port <= 0 || port > 65535) {
        ecom_fail(err, "--hbase: '%s' is not HOST:PORT", host_port);
        return NULL;
    }
    if (!*table || table[strlen(table) - 1] == ':') {
        ecom_fail(err, "--hbase-table: '%s' is not a table name ([namespace:]name)", table);
        return NULL;
    }
    ecom_hbase *h = ecom_xcalloc(1, sizeof *h);
    memcpy(h->host, host_port, (size_t)(colon - host_port));
    h->port = (int)port;
    for (int i = 0; i < CONNECTIONS; i++)
        connection_init(&h->conn[i], h->host, h->port);
    h->client = h->conn[0].client;
    h->table = text(table);
    h->table_name = table_name_of(table);
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
    g_object_unref(h->table_name);
    free(h);
}

/* ---- the table ------------------------------------------------------------------------------ */

static int table_exists(ecom_hbase *h, bool *exists, ecom_error *err)
{
    gboolean found = FALSE;
    TIOError *io = NULL;
    GError *gerr = NULL;
    if (!t_h_base_service_if_table_exists(h->client, &found, h->table_name, &io, &gerr) || io)
        return call_failed(h, "tableExists", gerr, io, NULL, err);
    *exists = found;
    return 0;
}

/* Every family keeps one version: a re-written cell replaces itself, no history is kept. */
static TTableDescriptor *table_descriptor(const ecom_hbase *h)
{
    TTableDescriptor *desc = g_object_new(TYPE_T_TABLE_DESCRIPTOR, NULL);
    desc->tableName = g_object_ref(h->table_name);
    desc->columns = g_ptr_array_new_with_free_func(g_object_unref);
    desc->__isset_columns = TRUE;
    for (int f = 0; f < N_FAMILIES; f++) {
        TColumnFamilyDescriptor *cf = g_object_new(TYPE_T_COLUMN_FAMILY_DESCRIPTOR, NULL);
        cf->name = text(family_names[f]);
        cf->maxVersions = 1;
        cf->__isset_maxVersions = TRUE;
        g_ptr_array_add(desc->columns, cf);
    }
    return desc;
}

int ecom_hbase_ensure_table(ecom_hbase *h, ecom_error *err)
{
    bool exists = false;
    if (ensure_open(h, err) || table_exists(h, &exists, err))
        return -1;
    if (exists)
        return 0;
    TTableDescriptor *desc = table_descriptor(h);
    TIOError *io = NULL;
    GError *gerr = NULL;
    gboolean ok = t_h_base_service_if_create_table(h->client, desc, &io, &gerr);
    g_object_unref(desc);
    if (ok && !io)
        return 0;
    /* HBase said no (the connection is fine): created meanwhile by another sink is fine */
    if (io && table_exists(h, &exists, err) == 0 && exists) {
        g_object_unref(io);
        if (gerr)
            g_error_free(gerr);
        return 0;
    }
    return call_failed(h, "createTable", gerr, io, NULL, err);
}

int ecom_hbase_drop_table(ecom_hbase *h, ecom_error *err)
{
    if (ensure_open(h, err))
        return -1;
    TIOError *io = NULL;
    GError *gerr = NULL;
    if (!t_h_base_service_if_disable_table(h->client, h->table_name, &io, &gerr) || io)
        return call_failed(h, "disableTable", gerr, io, NULL, err);
    if (!t_h_base_service_if_delete_table(h->client, h->table_name, &io, &gerr) || io)
        return call_failed(h, "deleteTable", gerr, io, NULL, err);
    return 0;
}

/* ---- batches -------------------------------------------------------------------------------- */

/* One TPut per row; every cell carries its own timestamp. puts and cells are pools: the first
 * puts_used (cells_used) entries belong to the pending batch, the rest wait for reuse. A TPut's
 * own list holds a reference to each of its cells, dropped when the batch is cleared. */
struct ecom_hbase_batch {
    GHashTable *rows; /* row key (owned string) -> TPut* of the pool */
    GPtrArray *puts;  /* TPut*, the pool */
    GPtrArray *cells; /* TColumnValue*, the pool */
    guint puts_used, cells_used;
    GByteArray *family[N_FAMILIES]; /* shared by reference by every cell of that family */
    GPtrArray *slices;              /* GPtrArray* per call: the puts it sends (no references) */
    ecom_buf scratch;
};

ecom_hbase_batch *ecom_hbase_batch_new(void)
{
    install_finalize_fixes_once();
    ecom_hbase_batch *b = ecom_xcalloc(1, sizeof *b);
    b->rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    b->puts = g_ptr_array_new_with_free_func(g_object_unref);
    b->cells = g_ptr_array_new_with_free_func(g_object_unref);
    for (int f = 0; f < N_FAMILIES; f++)
        b->family[f] = text(family_names[f]);
    b->slices = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    ecom_buf_init(&b->scratch);
    return b;
}

void ecom_hbase_batch_clear(ecom_hbase_batch *b)
{
    g_hash_table_remove_all(b->rows);
    for (guint i = 0; i < b->puts_used; i++)
        g_ptr_array_set_size(((TPut *)g_ptr_array_index(b->puts, i))->columnValues, 0);
    b->puts_used = 0;
    b->cells_used = 0;
}

void ecom_hbase_batch_free(ecom_hbase_batch *b)
{
    if (!b)
        return;
    ecom_hbase_batch_clear(b);
    g_hash_table_destroy(b->rows);
    g_ptr_array_unref(b->puts);
    g_ptr_array_unref(b->cells);
    for (int f = 0; f < N_FAMILIES; f++)
        g_byte_array_unref(b->family[f]);
    g_ptr_array_unref(b->slices);
    ecom_buf_free(&b->scratch);
    free(b);
}

int64_t ecom_hbase_batch_cells(const ecom_hbase_batch *b)
{
    return b->cells_used;
}

static TPut *row_put(ecom_hbase_batch *b, const char *row)
{
    TPut *p = g_hash_table_lookup(b->rows, row);
    if (p)
        return p;
    if (b->puts_used == b->puts->len) {
        p = g_object_new(TYPE_T_PUT, NULL);
        p->row = g_byte_array_new();
        g_ptr_array_add(b->puts, p);
    }
    p = g_ptr_array_index(b->puts, b->puts_used++);
    set_text(p->row, row);
    g_hash_table_insert(b->rows, g_strdup(row), p);
    return p;
}

/* The next cell of the pool, its byte arrays emptied. */
static TColumnValue *next_cell(ecom_hbase_batch *b)
{
    if (b->cells_used == b->cells->len) {
        TColumnValue *c = g_object_new(TYPE_T_COLUMN_VALUE, NULL);
        c->qualifier = g_byte_array_new();
        c->value = g_byte_array_new();
        g_ptr_array_add(b->cells, c);
    }
    return g_ptr_array_index(b->cells, b->cells_used++);
}

static void put(ecom_hbase_batch *b, TPut *p, enum family f, const char *qualifier,
                const char *value, int64_t ts_ms)
{
    TColumnValue *c = next_cell(b);
    if (c->family != b->family[f]) {
        if (c->family)
            g_byte_array_unref(c->family);
        c->family = g_byte_array_ref(b->family[f]);
    }
    set_text(c->qualifier, qualifier);
    set_text(c->value, value);
    c->timestamp = ts_ms;
    c->__isset_timestamp = TRUE;
    g_ptr_array_add(p->columnValues, g_object_ref(c));
}

static void put_time(ecom_hbase_batch *b, TPut *p, enum family f, const char *qualifier,
                     ecom_time t, int64_t ts_ms)
{
    char s[ECOM_TIME_TEXT];
    ecom_time_format(t, s);
    put(b, p, f, qualifier, s, ts_ms);
}

static void put_int(ecom_hbase_batch *b, TPut *p, enum family f, const char *qualifier, int64_t v,
                    int64_t ts_ms)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    put(b, p, f, qualifier, s, ts_ms);
}

static void session_row_key(const ecom_session_event *ev, char *out, size_t n)
{
    char start[ECOM_TIME_TEXT];
    ecom_time_format(ev->start_time, start);
    snprintf(out, n, "%s_%s_%s", ev->user_id, start, ev->session_id);
}

static void add_session_start(ecom_hbase_batch *b, TPut *p, const ecom_session_event *ev,
                              int64_t ts)
{
    const ecom_session_start *st = &ev->u.start;
    put(b, p, FAM_INFO, "session_id", ev->session_id, ts);
    put(b, p, FAM_INFO, "user_id", ev->user_id, ts);
    put_time(b, p, FAM_INFO, "start_time", ev->start_time, ts);
    put(b, p, FAM_INFO, "referrer", st->referrer, ts);
    put(b, p, FAM_GEO, "city", st->geo_data.city, ts);
    put(b, p, FAM_GEO, "state", st->geo_data.state, ts);
    put(b, p, FAM_GEO, "country", st->geo_data.country, ts);
    put(b, p, FAM_GEO, "ip_address", st->geo_data.ip_address, ts);
    put(b, p, FAM_DEVICE, "type", st->device_profile.type, ts);
    put(b, p, FAM_DEVICE, "os", st->device_profile.os, ts);
    put(b, p, FAM_DEVICE, "browser", st->device_profile.browser, ts);
}

static void add_page_view(ecom_hbase_batch *b, TPut *p, const ecom_session_event *ev, int64_t ts)
{
    const ecom_page_view *pv = &ev->u.page_view;
    char qualifier[8];
    snprintf(qualifier, sizeof qualifier, "%03d", (int)pv->seq % 1000);
    ecom_buf *s = &b->scratch;
    jw w;
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
    put(b, p, FAM_PV, qualifier, s->data, ts);
}

static void add_session_end(ecom_hbase_batch *b, TPut *p, const ecom_session_event *ev, int64_t ts)
{
    const ecom_session_end *e = &ev->u.end;
    ecom_buf *s = &b->scratch;
    jw w;
    put_time(b, p, FAM_INFO, "end_time", ev->ts, ts);
    put_int(b, p, FAM_INFO, "duration", e->duration_seconds, ts);
    put(b, p, FAM_INFO, "conversion", ecom_conversion_name(e->conversion_status), ts);
    if (*e->transaction_id)
        put(b, p, FAM_INFO, "transaction_id", e->transaction_id, ts);
    ecom_buf_reset(s);
    jw_init(&w, s);
    jw_begin_array(&w);
    for (int i = 0; i < e->n_viewed; i++)
        jw_string(&w, e->viewed_products[i]);
    jw_end_array(&w);
    put(b, p, FAM_INFO, "viewed_products", s->data, ts);
    ecom_buf_reset(s);
    jw_init(&w, s);
    jw_begin_object(&w);
    for (int i = 0; i < e->n_cart; i++) {
        jw_key(&w, e->cart_contents[i].product_id); /* an id as the key */
        jw_int(&w, e->cart_contents[i].quantity);
    }
    jw_end_object(&w);
    put(b, p, FAM_INFO, "cart_contents", s->data, ts);
    for (int i = 0; i < e->n_cart; i++)
        put_int(b, p, FAM_CART, e->cart_contents[i].product_id, e->cart_contents[i].quantity, ts);
}

void ecom_hbase_batch_add(ecom_hbase_batch *b, const ecom_session_event *ev)
{
    char row[3 * ECOM_ID_MAX + ECOM_TIME_TEXT];
    session_row_key(ev, row, sizeof row);
    int64_t ts = ev->ts * 1000; /* HBase timestamps are milliseconds */
    switch (ev->type) {
    case ECOM_EV_SESSION_START:
        add_session_start(b, row_put(b, row), ev, ts);
        break;
    case ECOM_EV_PAGE_VIEW:
        add_page_view(b, row_put(b, row), ev, ts);
        break;
    case ECOM_EV_CART_ADD:
        /* the cart family holds the final cart, written from session_end */
        break;
    case ECOM_EV_SESSION_END:
        add_session_end(b, row_put(b, row), ev, ts);
        break;
    }
}

/* How many calls a batch takes: one per connection, more when that would exceed
 * CELLS_PER_CALL, fewer when there are fewer rows. */
static guint calls_for(const ecom_hbase_batch *b)
{
    guint n = (b->cells_used + CELLS_PER_CALL - 1) / CELLS_PER_CALL;
    if (n < CONNECTIONS)
        n = CONNECTIONS;
    return n < b->puts_used ? n : b->puts_used;
}

/* Deals the pending puts, whole, into n slices of about equal cells; returns n. */
static guint deal_slices(ecom_hbase_batch *b)
{
    guint n = calls_for(b), share = (b->cells_used + n - 1) / n, in_slice = 0, k = 0;
    while (b->slices->len < n)
        g_ptr_array_add(b->slices, g_ptr_array_new());
    for (guint i = 0; i < n; i++)
        g_ptr_array_set_size(g_ptr_array_index(b->slices, i), 0);
    for (guint i = 0; i < b->puts_used; i++) {
        TPut *p = g_ptr_array_index(b->puts, i);
        if (in_slice >= share && k + 1 < n) {
            k++;
            in_slice = 0;
        }
        g_ptr_array_add(g_ptr_array_index(b->slices, k), p);
        in_slice += p->columnValues->len;
    }
    return k + 1;
}

static int recv_put_multiple(ecom_hbase *h, connection *c, ecom_error *err)
{
    TIOError *io = NULL;
    GError *gerr = NULL;
    if (!t_h_base_service_client_recv_put_multiple(c->client, &io, &gerr) || io)
        return call_failed(h, "putMultiple", gerr, io, NULL, err);
    return 0;
}

/* Sends every slice's putMultiple, dealt round the connections, before reading any reply: the
 * server writes the slices of different connections side by side, and a connection's replies
 * (a few bytes each) come back in the order of its calls. Any failure fails the whole batch,
 * which is then retried whole: re-writing cells with the same timestamps puts back the same
 * cells, and a cell's newest version wins whatever order the calls ran in. Uses only h and b:
 * a batch may be written on one thread while another fills a different batch. */
int ecom_hbase_batch_write(ecom_hbase *h, ecom_hbase_batch *b, ecom_error *err)
{
    if (b->cells_used == 0)
        return 0;
    guint n = deal_slices(b);
    for (guint i = 0; i < n && i < CONNECTIONS; i++)
        if (open_connection(h, &h->conn[i], err))
            return -1;
    for (guint i = 0; i < n; i++) {
        GError *gerr = NULL;
        if (!t_h_base_service_client_send_put_multiple(h->conn[i % CONNECTIONS].client, h->table,
                                                       g_ptr_array_index(b->slices, i), &gerr))
            return call_failed(h, "putMultiple", gerr, NULL, NULL, err);
    }
    for (guint i = 0; i < n; i++)
        if (recv_put_multiple(h, &h->conn[i % CONNECTIONS], err))
            return -1;
    ecom_hbase_batch_clear(b);
    return 0;
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
        else if (column_is(c, "geo:country"))
            copy_value(row->country, sizeof row->country, c);
        else if (column_in_family(c, "pv:")) {
            static const char needle[] = "\"page_type\":\"product_detail\"";
            if (row->page_views < ECOM_ROW_PAGE_VIEWS)
                row->page_view_times[row->page_views] = c->timestamp / 1000;
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

static TScan *prefix_scan(const char *prefix)
{
    TScan *scan = g_object_new(TYPE_T_SCAN, NULL);
    if (*prefix) {
        scan->startRow = text(prefix);
        scan->__isset_startRow = TRUE;
        GByteArray *stop = prefix_stop(prefix);
        if (stop->len) {
            scan->stopRow = stop;
            scan->__isset_stopRow = TRUE;
        } else {
            g_byte_array_unref(stop);
        }
    }
    scan->caching = SCAN_ROWS;
    scan->__isset_caching = TRUE;
    scan->maxVersions = 1;
    scan->__isset_maxVersions = TRUE;
    return scan;
}

/* A row's cells as callers see them: "family:qualifier" names are built into names, and the
 * cells point into it (and into the TResult for values). */
typedef struct row_view {
    GArray *cells; /* ecom_hbase_cell */
    ecom_buf names;
} row_view;

static void row_view_fill(row_view *v, const TResult *r)
{
    const GPtrArray *cvs = r->columnValues;
    ecom_buf_reset(&v->names);
    for (guint k = 0; k < cvs->len; k++) {
        const TColumnValue *cv = g_ptr_array_index(cvs, k);
        ecom_buf_append(&v->names, cv->family->data, cv->family->len);
        ecom_buf_append(&v->names, ":", 1);
        ecom_buf_append(&v->names, cv->qualifier->data, cv->qualifier->len);
    }
    g_array_set_size(v->cells, cvs->len);
    size_t at = 0;
    for (guint k = 0; k < cvs->len; k++) {
        const TColumnValue *cv = g_ptr_array_index(cvs, k);
        ecom_hbase_cell *cell = &g_array_index(v->cells, ecom_hbase_cell, k);
        cell->column = v->names.data + at;
        cell->column_len = cv->family->len + 1 + cv->qualifier->len;
        at += cell->column_len;
        cell->value = cv->value ? (const char *)cv->value->data : "";
        cell->value_len = cv->value ? cv->value->len : 0;
        cell->timestamp = cv->timestamp;
    }
}

static int close_scanner(ecom_hbase *h, gint32 id, ecom_error *err)
{
    TIOError *io = NULL;
    TIllegalArgument *ia = NULL;
    GError *gerr = NULL;
    if (!t_h_base_service_if_close_scanner(h->client, id, &io, &ia, &gerr) || io || ia)
        return call_failed(h, "closeScanner", gerr, io, ia, err);
    return 0;
}

/* Reads the scanner to its end or until fn stops; -1 on a failed call (err set). */
static int read_scanner(ecom_hbase *h, gint32 id,
                        int (*fn)(void *arg, const char *row, size_t row_len,
                                  const ecom_hbase_cell *cells, size_t n_cells),
                        void *arg, ecom_error *err)
{
    row_view v = {.cells = g_array_new(FALSE, FALSE, sizeof(ecom_hbase_cell))};
    ecom_buf_init(&v.names);
    int rc = 0, stop = 0;
    while (!stop) {
        GPtrArray *rows = g_ptr_array_new_with_free_func(g_object_unref);
        TIOError *io = NULL;
        TIllegalArgument *ia = NULL;
        GError *gerr = NULL;
        if (!t_h_base_service_if_get_scanner_rows(h->client, &rows, id, SCAN_ROWS, &io, &ia,
                                                  &gerr) ||
            io || ia) {
            g_ptr_array_unref(rows);
            rc = call_failed(h, "getScannerRows", gerr, io, ia, err);
            break;
        }
        stop = rows->len == 0;
        for (guint i = 0; i < rows->len && !stop; i++) {
            const TResult *r = g_ptr_array_index(rows, i);
            row_view_fill(&v, r);
            stop = fn(arg, r->row ? (const char *)r->row->data : "", r->row ? r->row->len : 0,
                      (const ecom_hbase_cell *)(void *)v.cells->data, v.cells->len);
        }
        g_ptr_array_unref(rows);
    }
    g_array_free(v.cells, TRUE);
    ecom_buf_free(&v.names);
    return rc;
}

int ecom_hbase_scan_cells(ecom_hbase *h, const char *prefix,
                          int (*fn)(void *arg, const char *row, size_t row_len,
                                    const ecom_hbase_cell *cells, size_t n_cells),
                          void *arg, ecom_error *err)
{
    if (ensure_open(h, err))
        return -1;
    TScan *scan = prefix_scan(prefix);
    gint32 id = 0;
    TIOError *io = NULL;
    GError *gerr = NULL;
    gboolean ok = t_h_base_service_if_open_scanner(h->client, &id, h->table, scan, &io, &gerr);
    g_object_unref(scan);
    if (!ok || io)
        return call_failed(h, "openScanner", gerr, io, NULL, err);
    if (read_scanner(h, id, fn, arg, err))
        return -1; /* the connection is reset: the server drops the scanner when it expires */
    return close_scanner(h, id, err);
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
