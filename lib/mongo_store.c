/*
 * mongo_store.c - documents, indexes and the sink's batches of the MongoDB store (see
 * mongo_store.h).
 *
 * A batch is written as plain inserts first because that is what every MongoDB-compatible
 * server does fast; only the documents whose _id turned out to exist cost more (a read, and a
 * rewrite where the stored version differs). The batch is split over the writer's connections
 * by position, a share of each collection per connection; the shares are disjoint sets of ids,
 * so they need no order among themselves.
 */
#include "ecom/mongo_store.h"

#include <assert.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/background.h"
#include "ecom/buf.h"
#include "ecom/log.h"
#include "ecom/redact.h"

/* `secrets`, when set, are the connection string's (see ecom_mongo_connect). */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                       void *secrets)
{
    if (level > MONGOC_LOG_LEVEL_WARNING)
        return;
    /* FerretDB v1 does not implement endSessions, which the driver sends on shutdown; nothing
     * is lost by it, so it is not worth a warning on every exit */
    if (strstr(message, "endSessions"))
        return;
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", message);
    if (secrets)
        ecom_secrets_redact(secrets, detail, sizeof detail);
    ecom_log(level <= MONGOC_LOG_LEVEL_CRITICAL ? ECOM_ERROR : ECOM_WARN, "mongodb driver",
             "domain=%s detail=\"%s\"", domain, detail);
}

void ecom_mongo_init(void)
{
    mongoc_init();
    mongoc_log_set_handler(driver_log, NULL);
}

const char *ecom_mongo_collection(ecom_kind kind)
{
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        return "categories";
    case ECOM_KIND_PRODUCT:
        return "products";
    case ECOM_KIND_USER:
        return "users";
    case ECOM_KIND_TRANSACTION:
        return "transactions";
    default:
        return NULL;
    }
}

/* libmongoc 1.23 ends the password at a raw '@' in it and takes the rest for a host, whose
 * name then shows in every connection error: a piece of the password. */
static bool raw_at_in_userinfo(const char *uri)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    size_t authority = strcspn(p, "/?");
    const char *at = memchr(p, '@', authority);
    return at && memchr(at + 1, '@', authority - (size_t)(at + 1 - p)) != NULL;
}

static mongoc_client_t *client_for_uri(const ecom_config *cfg, const char *appname,
                                       const ecom_secrets *secrets, ecom_error *err)
{
    bson_error_t berr;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->mongo_uri, &berr);
    if (!uri) {
        ecom_secrets_redact(secrets, berr.message, sizeof berr.message);
        ecom_fail(err, "--mongo-uri: %s", berr.message);
        return NULL;
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
    mongoc_client_t *client = mongoc_client_new_from_uri_with_error(uri, &berr);
    mongoc_uri_destroy(uri);
    if (!client) {
        ecom_secrets_redact(secrets, berr.message, sizeof berr.message);
        ecom_fail(err, "--mongo-uri: %s", berr.message);
        return NULL;
    }
    mongoc_client_set_appname(client, appname);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    return client;
}

/* libmongoc 1.23 quotes pieces of a malformed connection string back (a password with an
 * unencoded ':', an option's value), in its errors and in the warnings it logs while parsing:
 * both pass through the string's secrets on their way out. */
mongoc_client_t *ecom_mongo_connect(const ecom_config *cfg, const char *appname, ecom_error *err)
{
    if (raw_at_in_userinfo(cfg->mongo_uri)) {
        ecom_fail(err, "--mongo-uri: an unencoded '@' in the user name or password; write it "
                       "as %%40");
        return NULL;
    }
    ecom_secrets secrets = {0};
    ecom_secrets_from_uri(&secrets, cfg->mongo_uri);
    mongoc_log_set_handler(driver_log, &secrets);
    mongoc_client_t *client = client_for_uri(cfg, appname, &secrets, err);
    mongoc_log_set_handler(driver_log, NULL);
    ecom_secrets_free(&secrets);
    return client;
}

int ecom_mongo_ping(mongoc_client_t *client, ecom_error *err)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t berr;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bool ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &berr);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    return ok ? 0 : ecom_fail(err, "MongoDB unreachable: %s", berr.message);
}

static void append_date(bson_t *doc, const char *key, ecom_time t)
{
    bson_append_date_time(doc, key, -1, (int64_t)t * 1000);
}

static void append_geo(bson_t *doc, const char *key, const ecom_geo *g, bool with_ip)
{
    bson_t sub;
    bson_append_document_begin(doc, key, -1, &sub);
    BSON_APPEND_UTF8(&sub, "city", g->city);
    BSON_APPEND_UTF8(&sub, "state", g->state);
    BSON_APPEND_UTF8(&sub, "country", g->country);
    if (with_ip)
        BSON_APPEND_UTF8(&sub, "ip_address", g->ip_address);
    bson_append_document_end(doc, &sub);
}

/* Array keys "0", "1", ... */
static const char *index_key(uint32_t i, char buf[16])
{
    const char *key;
    bson_uint32_to_string(i, &key, buf, 16);
    return key;
}

static void category_document(const ecom_category *c, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "_id", c->category_id);
    BSON_APPEND_UTF8(doc, "category_id", c->category_id);
    BSON_APPEND_UTF8(doc, "name", c->name);
    bson_t arr, sub;
    char buf[16];
    bson_append_array_begin(doc, "subcategories", -1, &arr);
    for (int i = 0; i < c->n_subcategories; i++) {
        bson_append_document_begin(&arr, index_key((uint32_t)i, buf), -1, &sub);
        BSON_APPEND_UTF8(&sub, "subcategory_id", c->subcategories[i].subcategory_id);
        BSON_APPEND_UTF8(&sub, "name", c->subcategories[i].name);
        BSON_APPEND_DOUBLE(&sub, "profit_margin", c->subcategories[i].profit_margin);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(doc, &arr);
}

static void product_document(const ecom_product *p, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "_id", p->product_id);
    BSON_APPEND_UTF8(doc, "product_id", p->product_id);
    BSON_APPEND_UTF8(doc, "name", p->name);
    BSON_APPEND_UTF8(doc, "category_id", p->category_id);
    BSON_APPEND_INT64(doc, "base_price_cents", p->base_price_cents);
    bson_t arr, sub;
    char buf[16];
    bson_append_array_begin(doc, "price_history", -1, &arr);
    for (int i = 0; i < p->n_prices; i++) {
        bson_append_document_begin(&arr, index_key((uint32_t)i, buf), -1, &sub);
        BSON_APPEND_INT64(&sub, "price_cents", p->price_history[i].price_cents);
        append_date(&sub, "date", p->price_history[i].date);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(doc, &arr);
    BSON_APPEND_INT32(doc, "current_stock", p->current_stock);
    BSON_APPEND_BOOL(doc, "is_active", p->is_active);
    append_date(doc, "creation_date", p->creation_date);
}

static void user_document(const ecom_user *u, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "_id", u->user_id);
    BSON_APPEND_UTF8(doc, "user_id", u->user_id);
    append_geo(doc, "geo_data", &u->geo_data, false);
    append_date(doc, "registration_date", u->registration_date);
    append_date(doc, "last_active", u->last_active);
}

static void transaction_document(const ecom_transaction *t, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "_id", t->transaction_id);
    BSON_APPEND_UTF8(doc, "transaction_id", t->transaction_id);
    if (*t->session_id)
        BSON_APPEND_UTF8(doc, "session_id", t->session_id);
    else
        BSON_APPEND_NULL(doc, "session_id");
    BSON_APPEND_UTF8(doc, "user_id", t->user_id);
    append_date(doc, "timestamp", t->timestamp);
    bson_t arr, sub;
    char buf[16];
    bson_append_array_begin(doc, "items", -1, &arr);
    for (int i = 0; i < t->n_items; i++) {
        const ecom_item *it = &t->items[i];
        bson_append_document_begin(&arr, index_key((uint32_t)i, buf), -1, &sub);
        BSON_APPEND_UTF8(&sub, "product_id", it->product_id);
        BSON_APPEND_INT32(&sub, "quantity", it->quantity);
        BSON_APPEND_INT64(&sub, "unit_price_cents", it->unit_price_cents);
        BSON_APPEND_INT64(&sub, "subtotal_cents", it->subtotal_cents);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(doc, &arr);
    BSON_APPEND_INT64(doc, "subtotal_cents", t->subtotal_cents);
    BSON_APPEND_INT64(doc, "discount_cents", t->discount_cents);
    BSON_APPEND_INT64(doc, "total_cents", t->total_cents);
    BSON_APPEND_UTF8(doc, "payment_method", t->payment_method);
    BSON_APPEND_UTF8(doc, "status", t->status);
    if (*t->segment.device || *t->segment.referrer || *t->segment.country) {
        bson_t seg; /* the session's segment, as the message carried it (schema version 2) */
        bson_append_document_begin(doc, "segment", -1, &seg);
        BSON_APPEND_UTF8(&seg, "device", t->segment.device);
        BSON_APPEND_UTF8(&seg, "referrer", t->segment.referrer);
        BSON_APPEND_UTF8(&seg, "country", t->segment.country);
        bson_append_document_end(doc, &seg);
    }
}

void ecom_mongo_document(const ecom_record *r, bson_t *doc)
{
    switch (r->kind) {
    case ECOM_KIND_CATEGORY:
        category_document(&r->u.category, doc);
        break;
    case ECOM_KIND_PRODUCT:
        product_document(&r->u.product, doc);
        break;
    case ECOM_KIND_USER:
        user_document(&r->u.user, doc);
        break;
    case ECOM_KIND_TRANSACTION:
        transaction_document(&r->u.transaction, doc);
        break;
    default:
        break;
    }
}

int ecom_mongo_each(mongoc_cursor_t *cursor, const char *what,
                    int (*fn)(void *arg, const bson_t *doc), void *arg, ecom_error *err)
{
    const bson_t *doc;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cursor, &doc))
        rc = fn(arg, doc) ? 1 : 0;
    bson_error_t berr;
    if (mongoc_cursor_error(cursor, &berr))
        rc = ecom_fail(err, "MongoDB: reading %s: %s", what, berr.message);
    mongoc_cursor_destroy(cursor);
    return rc < 0 ? -1 : 0;
}

const char *ecom_bson_text(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_iter_utf8(&it, NULL);
}

int64_t ecom_bson_int(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it))
        return 0;
    return bson_iter_as_int64(&it);
}

ecom_time ecom_bson_time(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DATE_TIME(&it))
        return 0;
    int64_t ms = bson_iter_date_time(&it);
    return (ecom_time)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
}

typedef struct index_spec {
    const char *collection;
    const char *field;
} index_spec;

/* The fields verify, the dashboard and ad-hoc queries filter or join on. */
static const index_spec indexes[] = {
    {"transactions", "user_id"},    {"transactions", "timestamp"},
    {"transactions", "session_id"}, {"transactions", "items.product_id"},
    {"products", "category_id"},    {"users", "registration_date"},
};

int ecom_mongo_create_indexes(mongoc_client_t *client, const char *db_name, ecom_error *err)
{
    mongoc_database_t *db = mongoc_client_get_database(client, db_name);
    int rc = 0;
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0] && rc == 0; i++) {
        bson_t cmd = BSON_INITIALIZER, arr, spec, key, reply;
        bson_error_t berr;
        char name[64];
        snprintf(name, sizeof name, "%s_1", indexes[i].field);
        BSON_APPEND_UTF8(&cmd, "createIndexes", indexes[i].collection);
        bson_append_array_begin(&cmd, "indexes", -1, &arr);
        bson_append_document_begin(&arr, "0", -1, &spec);
        bson_append_document_begin(&spec, "key", -1, &key);
        BSON_APPEND_INT32(&key, indexes[i].field, 1);
        bson_append_document_end(&spec, &key);
        BSON_APPEND_UTF8(&spec, "name", name);
        bson_append_document_end(&arr, &spec);
        bson_append_array_end(&cmd, &arr);
        if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &berr))
            rc = ecom_fail(err, "creating index %s.%s: %s", indexes[i].collection, indexes[i].field,
                           berr.message);
        bson_destroy(&cmd);
        bson_destroy(&reply);
    }
    mongoc_database_destroy(db);
    return rc;
}

/* ---- the sink's writer and its batches ------------------------------------------------------ */

#define N_COLLECTIONS ((int)ECOM_KIND_TRANSACTION + 1) /* kinds 0..3 have collections */
#define MAX_CONNECTIONS 8
#define MIN_SLICE 256 /* documents below which a collection is not split over connections */
#define DUPLICATE_KEY 11000

typedef struct connection {
    mongoc_client_t *client;
    mongoc_collection_t *collections[N_COLLECTIONS];
    ecom_background *thread; /* NULL for the first: the caller's thread writes its share */
} connection;

struct ecom_mongo {
    char *db;
    int n;
    connection conns[MAX_CONNECTIONS];
};

typedef struct collection_batch {
    GPtrArray *docs;     /* bson_t *, owned */
    GHashTable *slot_of; /* _id -> index + 1 in docs; keys owned */
} collection_batch;

struct ecom_mongo_batch {
    collection_batch coll[N_COLLECTIONS];
};

ecom_mongo *ecom_mongo_new(const ecom_config *cfg, const char *appname, int connections,
                           ecom_error *err)
{
    ecom_mongo *m = ecom_xcalloc(1, sizeof *m);
    m->db = ecom_xstrdup(cfg->mongo_db);
    int n = connections < 1 ? 1 : connections > MAX_CONNECTIONS ? MAX_CONNECTIONS : connections;
    for (; m->n < n; m->n++) {
        connection *c = &m->conns[m->n];
        c->client = ecom_mongo_connect(cfg, appname, err);
        if (!c->client) {
            ecom_mongo_free(m);
            return NULL;
        }
        for (int k = 0; k < N_COLLECTIONS; k++)
            c->collections[k] =
                mongoc_client_get_collection(c->client, m->db, ecom_mongo_collection((ecom_kind)k));
        if (m->n > 0)
            c->thread = ecom_background_new();
    }
    return m;
}

void ecom_mongo_free(ecom_mongo *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        connection *c = &m->conns[i];
        ecom_background_free(c->thread);
        for (int k = 0; k < N_COLLECTIONS; k++)
            mongoc_collection_destroy(c->collections[k]);
        mongoc_client_destroy(c->client);
    }
    free(m->db);
    free(m);
}

int ecom_mongo_ensure_indexes(ecom_mongo *m, ecom_error *err)
{
    return ecom_mongo_create_indexes(m->conns[0].client, m->db, err);
}

ecom_mongo_batch *ecom_mongo_batch_new(void)
{
    ecom_mongo_batch *b = ecom_xcalloc(1, sizeof *b);
    for (int k = 0; k < N_COLLECTIONS; k++) {
        b->coll[k].docs = g_ptr_array_new_with_free_func((GDestroyNotify)bson_destroy);
        b->coll[k].slot_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    return b;
}

void ecom_mongo_batch_free(ecom_mongo_batch *b)
{
    if (!b)
        return;
    for (int k = 0; k < N_COLLECTIONS; k++) {
        g_ptr_array_free(b->coll[k].docs, TRUE);
        g_hash_table_destroy(b->coll[k].slot_of);
    }
    free(b);
}

static void collection_clear(collection_batch *c)
{
    g_ptr_array_set_size(c->docs, 0);
    g_hash_table_remove_all(c->slot_of);
}

void ecom_mongo_batch_clear(ecom_mongo_batch *b)
{
    for (int k = 0; k < N_COLLECTIONS; k++)
        collection_clear(&b->coll[k]);
}

int64_t ecom_mongo_batch_documents(const ecom_mongo_batch *b)
{
    int64_t n = 0;
    for (int k = 0; k < N_COLLECTIONS; k++)
        n += b->coll[k].docs->len;
    return n;
}

void ecom_mongo_batch_add(ecom_mongo_batch *b, const ecom_record *r)
{
    assert((int)r->kind < N_COLLECTIONS);
    collection_batch *c = &b->coll[r->kind];
    bson_t *doc = bson_new();
    ecom_mongo_document(r, doc);
    const char *id = ecom_record_id(r);
    gpointer slot = g_hash_table_lookup(c->slot_of, id);
    if (slot) {
        guint i = GPOINTER_TO_UINT(slot) - 1;
        bson_destroy(g_ptr_array_index(c->docs, i));
        g_ptr_array_index(c->docs, i) = doc; /* a later version of the same id replaces it */
    } else {
        g_ptr_array_add(c->docs, doc);
        g_hash_table_insert(c->slot_of, g_strdup(id), GUINT_TO_POINTER(c->docs->len));
    }
}

/* One connection's share of one collection: documents [from, to). */
typedef struct slice {
    const ecom_mongo *m;
    mongoc_collection_t *coll;
    int kind;
    bson_t *const *docs;
    guint from, to;
} slice;

static guint slice_len(const slice *s)
{
    return s->to - s->from;
}

static bson_t *unordered(void)
{
    return BCON_NEW("ordered", BCON_BOOL(false));
}

/* The documents of a batch are built here from validated records, with fixed keys: the driver
 * need not check each again before sending it. */
static bson_t *unchecked(void)
{
    return BCON_NEW("validate", BCON_BOOL(false));
}

/* Whether a failed insert of n documents failed only on _ids already stored, collecting their
 * positions: the error is the server's duplicate-key error, every write error is one, and every
 * other document was inserted. A lost connection comes back with no write errors at all, and
 * a bulk the driver split in several commands may lose one after another reported duplicates:
 * neither passes for written. */
static bool duplicates_only(const bson_error_t *berr, const bson_t *reply, guint n, GArray *dups)
{
    if (berr->domain != MONGOC_ERROR_SERVER || berr->code != DUPLICATE_KEY)
        return false;
    bson_iter_t it, errors;
    if (bson_iter_init_find(&it, reply, "writeConcernErrors") &&
        (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &errors) ||
         bson_iter_next(&errors)))
        return false;
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &errors))
        return false;
    while (bson_iter_next(&errors)) {
        bson_iter_t e;
        int64_t code = 0, index = -1;
        if (bson_iter_recurse(&errors, &e))
            while (bson_iter_next(&e)) {
                if (!strcmp(bson_iter_key(&e), "code"))
                    code = bson_iter_as_int64(&e);
                else if (!strcmp(bson_iter_key(&e), "index"))
                    index = bson_iter_as_int64(&e);
            }
        if (code != DUPLICATE_KEY || index < 0 || (guint)index >= n)
            return false;
        guint i = (guint)index;
        g_array_append_val(dups, i);
    }
    int64_t inserted = bson_iter_init_find(&it, reply, "nInserted") ? bson_iter_as_int64(&it) : 0;
    return dups->len > 0 && inserted + dups->len == n;
}

/* Inserts the slice unordered; collects the positions of documents whose _id already exists. */
static int insert_slice(const slice *s, GArray *dups, ecom_error *err)
{
    bson_t *opts = unordered(), *validate = unchecked(), reply;
    bson_error_t berr;
    mongoc_bulk_operation_t *bulk =
        mongoc_collection_create_bulk_operation_with_opts(s->coll, opts);
    for (guint i = s->from; i < s->to; i++)
        mongoc_bulk_operation_insert_with_opts(bulk, s->docs[i], validate, NULL);
    int rc = 0;
    if (!mongoc_bulk_operation_execute(bulk, &reply, &berr) &&
        !duplicates_only(&berr, &reply, slice_len(s), dups))
        rc = ecom_fail(err, "writing %u document(s) to %s.%s: %s", slice_len(s), s->m->db,
                       ecom_mongo_collection((ecom_kind)s->kind), berr.message);
    bson_destroy(&reply);
    bson_destroy(validate);
    bson_destroy(opts);
    mongoc_bulk_operation_destroy(bulk);
    return rc;
}

static const char *id_of(const bson_t *doc)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

/* {"_id": {"$in": [every key of ids]}} */
static void ids_filter(GHashTable *ids, bson_t *filter)
{
    bson_t id_doc, in;
    bson_append_document_begin(filter, "_id", 3, &id_doc);
    bson_append_array_begin(&id_doc, "$in", 3, &in);
    GHashTableIter it;
    gpointer id;
    uint32_t n = 0;
    g_hash_table_iter_init(&it, ids);
    while (g_hash_table_iter_next(&it, &id, NULL)) {
        char key[16];
        const char *k;
        bson_uint32_to_string(n++, &k, key, sizeof key);
        bson_append_utf8(&in, k, -1, id, -1);
    }
    bson_append_array_end(&id_doc, &in);
    bson_append_document_end(filter, &id_doc);
}

/* Drops from `pending` (_id -> document) every document stored exactly so already. One reply
 * holds every match: an open server cursor would keep FerretDB's SQLite connection busy while
 * the rewrites that follow wait for it. */
static int drop_unchanged(const slice *s, GHashTable *pending, ecom_error *err)
{
    bson_t filter = BSON_INITIALIZER;
    ids_filter(pending, &filter);
    bson_t *find_opts = BCON_NEW("batchSize", BCON_INT32((int32_t)g_hash_table_size(pending)),
                                 "singleBatch", BCON_BOOL(true));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(s->coll, &filter, find_opts, NULL);
    const bson_t *stored;
    while (mongoc_cursor_next(cur, &stored)) {
        const char *id = id_of(stored);
        const bson_t *doc = id ? g_hash_table_lookup(pending, id) : NULL;
        if (doc && bson_equal(doc, stored))
            g_hash_table_remove(pending, id); /* already as it should be */
    }
    bson_error_t berr;
    int rc = 0;
    if (mongoc_cursor_error(cur, &berr))
        rc = ecom_fail(err, "reading %s.%s: %s", s->m->db,
                       ecom_mongo_collection((ecom_kind)s->kind), berr.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(find_opts);
    bson_destroy(&filter);
    return rc;
}

/* Changed versions are deleted and inserted again rather than replaced: FerretDB v1 on SQLite
 * stalls on long runs of replacements in one command, and delete + insert is one statement each
 * on every server. If the process dies in between, the batch is not committed, so its
 * re-delivery inserts the documents again. */
static int rewrite(const slice *s, GHashTable *changed, ecom_error *err)
{
    guint n = g_hash_table_size(changed);
    const char *coll = ecom_mongo_collection((ecom_kind)s->kind);
    bson_t filter = BSON_INITIALIZER, reply;
    bson_error_t berr;
    ids_filter(changed, &filter);
    int rc = 0;
    if (!mongoc_collection_delete_many(s->coll, &filter, NULL, &reply, &berr))
        rc = ecom_fail(err, "removing %u old version(s) from %s.%s: %s", n, s->m->db, coll,
                       berr.message);
    bson_destroy(&reply);
    bson_destroy(&filter);
    if (rc)
        return rc;
    bson_t *opts = unordered(), *validate = unchecked();
    mongoc_bulk_operation_t *bulk =
        mongoc_collection_create_bulk_operation_with_opts(s->coll, opts);
    GHashTableIter it;
    gpointer doc;
    g_hash_table_iter_init(&it, changed);
    while (g_hash_table_iter_next(&it, NULL, &doc))
        mongoc_bulk_operation_insert_with_opts(bulk, doc, validate, NULL);
    if (!mongoc_bulk_operation_execute(bulk, &reply, &berr))
        rc = ecom_fail(err, "writing %u new version(s) to %s.%s: %s", n, s->m->db, coll,
                       berr.message);
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(validate);
    bson_destroy(opts);
    return rc;
}

/* For the documents of the slice whose _id existed: rewrites those whose stored version
 * differs. One query fetches the stored versions, so a replay (all identical) costs one read and
 * no writes. */
static int rewrite_changed(const slice *s, const GArray *dups, ecom_error *err)
{
    GHashTable *pending = g_hash_table_new(g_str_hash, g_str_equal); /* _id -> doc, borrowed */
    for (guint i = 0; i < dups->len; i++) {
        bson_t *doc = s->docs[s->from + g_array_index(dups, guint, i)];
        const char *id = id_of(doc);
        if (id)
            g_hash_table_insert(pending, (gpointer)id, doc);
    }
    int rc = drop_unchanged(s, pending, err);
    if (rc == 0 && g_hash_table_size(pending) > 0)
        rc = rewrite(s, pending, err);
    g_hash_table_destroy(pending);
    return rc;
}

/* Writes one slice. Inserting is what every MongoDB-compatible server does fast; an id that
 * exists already is either the same fact again (transactions are immutable: done) or possibly a
 * new version of reference data (rewritten only when it differs). */
static int write_slice(const slice *s, ecom_error *err)
{
    if (slice_len(s) == 0)
        return 0;
    GArray *dups = g_array_new(FALSE, FALSE, sizeof(guint));
    int rc = insert_slice(s, dups, err);
    if (rc == 0 && dups->len && s->kind != ECOM_KIND_TRANSACTION)
        rc = rewrite_changed(s, dups, err);
    g_array_free(dups, TRUE);
    return rc;
}

/* One connection's share of a batch: its slice of every collection, in kind order. */
typedef struct share {
    slice slices[N_COLLECTIONS];
    bool written[N_COLLECTIONS];
} share;

static int write_share(void *arg, ecom_error *err)
{
    share *sh = arg;
    for (int k = 0; k < N_COLLECTIONS; k++) {
        if (write_slice(&sh->slices[k], err))
            return -1;
        sh->written[k] = true;
    }
    return 0;
}

/* Splits each collection into one slice per connection; a small collection stays whole. */
static void plan_shares(const ecom_mongo *m, ecom_mongo_batch *b, share *shares)
{
    for (int k = 0; k < N_COLLECTIONS; k++) {
        guint len = b->coll[k].docs->len;
        guint parts = len / MIN_SLICE < (guint)m->n ? len / MIN_SLICE : (guint)m->n;
        if (parts == 0)
            parts = 1;
        for (guint i = 0; i < (guint)m->n; i++) {
            slice *s = &shares[i].slices[k];
            *s = (slice){.m = m,
                         .coll = m->conns[i].collections[k],
                         .kind = k,
                         .docs = (bson_t *const *)b->coll[k].docs->pdata,
                         .from = len,
                         .to = len}; /* empty beyond `parts` */
            if (i < parts) {
                s->from = (guint)((uint64_t)len * i / parts);
                s->to = (guint)((uint64_t)len * (i + 1) / parts);
            }
        }
    }
}

int ecom_mongo_batch_write(ecom_mongo *m, ecom_mongo_batch *b, ecom_error *err)
{
    share shares[MAX_CONNECTIONS];
    memset(shares, 0, sizeof shares);
    plan_shares(m, b, shares);
    for (int i = 1; i < m->n; i++)
        ecom_background_start(m->conns[i].thread, write_share, &shares[i]);
    int rc = write_share(&shares[0], err);
    for (int i = 1; i < m->n; i++) {
        ecom_error thread_err;
        if (ecom_background_wait(m->conns[i].thread, &thread_err) && rc == 0) {
            *err = thread_err;
            rc = -1;
        }
    }
    for (int k = 0; k < N_COLLECTIONS; k++) {
        bool all = true;
        for (int i = 0; i < m->n; i++)
            all = all && shares[i].written[k];
        if (all)
            collection_clear(&b->coll[k]); /* written: a retry of the batch need not send it */
    }
    return rc;
}
