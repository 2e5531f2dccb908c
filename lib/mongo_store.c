/*
 * mongo_store.c - documents and indexes of the MongoDB store (see mongo_store.h).
 */
#include "ecom/mongo_store.h"

#include <string.h>
#include "ecom/log.h"

static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                       void *unused)
{
    (void)unused;
    if (level > MONGOC_LOG_LEVEL_WARNING)
        return;
    /* FerretDB v1 does not implement endSessions, which the driver sends on shutdown; nothing
     * is lost by it, so it is not worth a warning on every exit */
    if (strstr(message, "endSessions"))
        return;
    ecom_log(level <= MONGOC_LOG_LEVEL_CRITICAL ? ECOM_ERROR : ECOM_WARN, "mongodb driver",
             "domain=%s detail=\"%s\"", domain, message);
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

mongoc_client_t *ecom_mongo_connect(const ecom_config *cfg, const char *appname, ecom_error *err)
{
    bson_error_t berr;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->mongo_uri, &berr);
    if (!uri) {
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
        ecom_fail(err, "--mongo-uri: %s", berr.message);
        return NULL;
    }
    mongoc_client_set_appname(client, appname);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
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
