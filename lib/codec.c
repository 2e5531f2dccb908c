/*
 * codec.c - records to JSON and back (see codec.h for the contract).
 *
 * Encoding streams fields in a fixed order through the JSON writer (jsonw.h), so bytes are
 * reproducible and no document tree is built per message. Decoding reads the bytes into tokens
 * (jsonr.h, which accepts exactly what jansson does), walks them with the small typed getters
 * below, each of which knows the field's path for its error text, then hands the record to
 * ecom_validate() for the cross-field rules. That walk is the only one: a jansson object
 * (ecom_record_from_json) is written out and read back through it. jansson reads a message
 * again only when the reader refuses it, for the error text.
 */
#include "ecom/codec.h"
#include "ecom/escape.h"
#include "ecom/jsonr.h"
#include "ecom/jsonw.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ---------------------------------------------------------------------------- */

static void geo_write(jw *w, const char *key, const ecom_geo *g, bool with_ip)
{
    jw_key(w, key);
    jw_begin_object(w);
    jw_kv_string(w, "city", g->city);
    jw_kv_string(w, "state", g->state);
    jw_kv_string(w, "country", g->country);
    if (with_ip)
        jw_kv_string(w, "ip_address", g->ip_address);
    jw_end_object(w);
}

static void category_write(jw *w, const ecom_category *c)
{
    jw_kv_string(w, "category_id", c->category_id);
    jw_kv_string(w, "name", c->name);
    jw_key(w, "subcategories");
    jw_begin_array(w);
    for (int i = 0; i < c->n_subcategories; i++) {
        jw_begin_object(w);
        jw_kv_string(w, "subcategory_id", c->subcategories[i].subcategory_id);
        jw_kv_string(w, "name", c->subcategories[i].name);
        jw_key(w, "profit_margin");
        jw_real(w, c->subcategories[i].profit_margin);
        jw_end_object(w);
    }
    jw_end_array(w);
}

static void product_write(jw *w, const ecom_product *p)
{
    jw_kv_string(w, "product_id", p->product_id);
    jw_kv_string(w, "name", p->name);
    jw_kv_string(w, "category_id", p->category_id);
    jw_kv_int(w, "base_price_cents", p->base_price_cents);
    jw_key(w, "price_history");
    jw_begin_array(w);
    for (int i = 0; i < p->n_prices; i++) {
        jw_begin_object(w);
        jw_kv_int(w, "price_cents", p->price_history[i].price_cents);
        jw_kv_time(w, "date", p->price_history[i].date);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_kv_int(w, "current_stock", p->current_stock);
    jw_key(w, "is_active");
    jw_bool(w, p->is_active);
    jw_kv_time(w, "creation_date", p->creation_date);
}

static void user_write(jw *w, const ecom_user *u)
{
    jw_kv_string(w, "user_id", u->user_id);
    geo_write(w, "geo_data", &u->geo_data, false);
    jw_kv_time(w, "registration_date", u->registration_date);
    jw_kv_time(w, "last_active", u->last_active);
}

/* "segment": {"device", "referrer", "country"}, when the record has one. */
static void segment_write(jw *w, const ecom_segment *seg)
{
    if (!*seg->device && !*seg->referrer && !*seg->country)
        return;
    jw_key(w, "segment");
    jw_begin_object(w);
    jw_kv_string(w, "device", seg->device);
    jw_kv_string(w, "referrer", seg->referrer);
    jw_kv_string(w, "country", seg->country);
    jw_end_object(w);
}

static void transaction_write(jw *w, const ecom_transaction *t)
{
    jw_kv_string(w, "transaction_id", t->transaction_id);
    jw_kv_opt_string(w, "session_id", t->session_id);
    jw_kv_string(w, "user_id", t->user_id);
    jw_kv_time(w, "timestamp", t->timestamp);
    jw_key(w, "items");
    jw_begin_array(w);
    for (int i = 0; i < t->n_items; i++) {
        jw_begin_object(w);
        jw_kv_string(w, "product_id", t->items[i].product_id);
        jw_kv_int(w, "quantity", t->items[i].quantity);
        jw_kv_int(w, "unit_price_cents", t->items[i].unit_price_cents);
        jw_kv_int(w, "subtotal_cents", t->items[i].subtotal_cents);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_kv_int(w, "subtotal_cents", t->subtotal_cents);
    jw_kv_int(w, "discount_cents", t->discount_cents);
    jw_kv_int(w, "total_cents", t->total_cents);
    jw_kv_string(w, "payment_method", t->payment_method);
    jw_kv_string(w, "status", t->status);
    segment_write(w, &t->segment);
}

static void event_write(jw *w, const ecom_session_event *ev)
{
    jw_kv_string(w, "event_id", ev->event_id);
    jw_kv_string(w, "type", ecom_event_type_name(ev->type));
    jw_kv_string(w, "session_id", ev->session_id);
    jw_kv_string(w, "user_id", ev->user_id);
    jw_kv_time(w, "ts", ev->ts);
    jw_kv_time(w, "start_time", ev->start_time);
    if (ev->type != ECOM_EV_SESSION_START) /* a session_start's segment is its own fields */
        segment_write(w, &ev->segment);
    switch (ev->type) {
    case ECOM_EV_SESSION_START: {
        const ecom_session_start *s = &ev->u.start;
        jw_key(w, "device_profile");
        jw_begin_object(w);
        jw_kv_string(w, "type", s->device_profile.type);
        jw_kv_string(w, "os", s->device_profile.os);
        jw_kv_string(w, "browser", s->device_profile.browser);
        jw_end_object(w);
        geo_write(w, "geo_data", &s->geo_data, true);
        jw_kv_string(w, "referrer", s->referrer);
        break;
    }
    case ECOM_EV_PAGE_VIEW: {
        const ecom_page_view *pv = &ev->u.page_view;
        jw_kv_int(w, "seq", pv->seq);
        jw_kv_string(w, "page_type", ecom_page_type_name(pv->page_type));
        if (*pv->product_id)
            jw_kv_string(w, "product_id", pv->product_id);
        if (*pv->category_id)
            jw_kv_string(w, "category_id", pv->category_id);
        jw_kv_int(w, "view_duration", pv->view_duration);
        break;
    }
    case ECOM_EV_CART_ADD:
        jw_kv_string(w, "product_id", ev->u.cart_add.product_id);
        jw_kv_int(w, "quantity", ev->u.cart_add.quantity);
        jw_kv_int(w, "unit_price_cents", ev->u.cart_add.unit_price_cents);
        break;
    case ECOM_EV_SESSION_END: {
        const ecom_session_end *e = &ev->u.end;
        jw_kv_int(w, "duration_seconds", e->duration_seconds);
        jw_kv_string(w, "conversion_status", ecom_conversion_name(e->conversion_status));
        jw_kv_opt_string(w, "transaction_id", e->transaction_id);
        jw_key(w, "viewed_products");
        jw_begin_array(w);
        for (int i = 0; i < e->n_viewed; i++)
            jw_string(w, e->viewed_products[i]);
        jw_end_array(w);
        jw_key(w, "cart_contents");
        jw_begin_object(w);
        for (int i = 0; i < e->n_cart; i++) {
            jw_key(w, e->cart_contents[i].product_id); /* an id as the key */
            jw_int(w, e->cart_contents[i].quantity);
        }
        jw_end_object(w);
        break;
    }
    }
}

void ecom_encode(ecom_kind kind, const void *rec, ecom_buf *out)
{
    jw w;
    jw_init(&w, out);
    jw_begin_object(&w);
    jw_kv_int(&w, "schema_version", ECOM_SCHEMA_VERSION);
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        category_write(&w, rec);
        break;
    case ECOM_KIND_PRODUCT:
        product_write(&w, rec);
        break;
    case ECOM_KIND_USER:
        user_write(&w, rec);
        break;
    case ECOM_KIND_TRANSACTION:
        transaction_write(&w, rec);
        break;
    case ECOM_KIND_SESSION_EVENT:
        event_write(&w, rec);
        break;
    default:
        break;
    }
    jw_end_object(&w);
}

json_t *ecom_to_json(ecom_kind kind, const void *rec)
{
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(kind, rec, &b);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    ecom_buf_free(&b);
    return o;
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* Where a field lives, for error texts: "items[2]" + "quantity" -> "items[2].quantity". Only
 * built when there is an error to report: decoding is the consumers' hot path. */
static void field_path(char *out, size_t n, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, n, "%s.%s", path, key);
    else
        snprintf(out, n, "%s", key);
}

/* Fails with "field '<path.key>': <what>". */
static int fail_at(ecom_error *err, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(ecom_error *err, const char *path, const char *key, const char *fmt, ...)
{
    char f[128], what[ECOM_ERROR_MAX];
    field_path(f, sizeof f, path, key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ecom_fail(err, "field '%s': %s", f, what);
}

/* The field getters are inlined into every walk, so each literal key's length is folded. */
#define INLINE __attribute__((always_inline)) inline

static bool is_type(jsonr_value v, jsonr_type type)
{
    return jsonr_type_of(v) == type;
}

INLINE static int get_field(jsonr_value obj, const char *path, const char *key, bool required,
                            jsonr_value *out, ecom_error *err)
{
    jsonr_value v = jsonr_object_get(obj, key);
    if (!jsonr_present(v) || (is_type(v, JSONR_NULL) && !required)) {
        *out = (jsonr_value){obj.doc, JSONR_NONE};
        return required ? fail_at(err, path, key, "missing") : 0;
    }
    *out = v;
    return 0;
}

/* The reader refuses \u0000, so a string copied out is one C string. */
INLINE static int get_str(jsonr_value obj, const char *path, const char *key, bool required,
                          char *out, size_t cap, ecom_error *err)
{
    jsonr_value v;
    out[0] = '\0';
    if (get_field(obj, path, key, required, &v, err))
        return -1;
    if (!jsonr_present(v))
        return 0;
    if (!is_type(v, JSONR_STRING))
        return fail_at(err, path, key, "must be a string");
    if (jsonr_size(v) >= cap)
        return fail_at(err, path, key, "longer than %zu bytes", cap - 1);
    jsonr_string_copy(v, out);
    return 0;
}

INLINE static int get_int(jsonr_value obj, const char *path, const char *key, int64_t lo,
                          int64_t hi, int64_t *out, ecom_error *err)
{
    jsonr_value v;
    if (get_field(obj, path, key, true, &v, err))
        return -1;
    if (!is_type(v, JSONR_INTEGER))
        return fail_at(err, path, key, "must be an integer");
    int64_t x = jsonr_integer(v);
    if (x < lo || x > hi)
        return fail_at(err, path, key, "must be %lld..%lld, got %lld", (long long)lo, (long long)hi,
                       (long long)x);
    *out = x;
    return 0;
}

INLINE static int get_i32(jsonr_value obj, const char *path, const char *key, int64_t lo,
                          int64_t hi, int32_t *out, ecom_error *err)
{
    int64_t x = 0;
    if (get_int(obj, path, key, lo, hi, &x, err))
        return -1;
    *out = (int32_t)x;
    return 0;
}

INLINE static int get_time(jsonr_value obj, const char *path, const char *key, ecom_time *out,
                           ecom_error *err)
{
    char s[64];
    if (get_str(obj, path, key, true, s, sizeof s, err))
        return -1;
    if (ecom_time_parse(s, out, err)) {
        char f[128];
        field_path(f, sizeof f, path, key);
        return ecom_fail_prefix(err, "field '%s'", f);
    }
    return 0;
}

static int get_array(jsonr_value obj, const char *path, const char *key, size_t max,
                     jsonr_value *out, ecom_error *err)
{
    if (get_field(obj, path, key, true, out, err))
        return -1;
    if (!is_type(*out, JSONR_ARRAY))
        return fail_at(err, path, key, "must be an array");
    if (jsonr_size(*out) > max)
        return fail_at(err, path, key, "more than %zu entries", max);
    return 0;
}

static int get_object(jsonr_value obj, const char *path, const char *key, jsonr_value *out,
                      ecom_error *err)
{
    if (get_field(obj, path, key, true, out, err))
        return -1;
    if (!is_type(*out, JSONR_OBJECT))
        return fail_at(err, path, key, "must be an object");
    return 0;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if (expr)                                                                                  \
            return -1;                                                                             \
    } while (0)
#define MAX_CENTS ((int64_t)1 << 50)

static int geo_from_json(jsonr_value o, const char *path, bool with_ip, ecom_geo *g,
                         ecom_error *err)
{
    TRY(get_str(o, path, "city", true, g->city, sizeof g->city, err));
    TRY(get_str(o, path, "state", true, g->state, sizeof g->state, err));
    TRY(get_str(o, path, "country", true, g->country, sizeof g->country, err));
    TRY(get_str(o, path, "ip_address", with_ip, g->ip_address, sizeof g->ip_address, err));
    return 0;
}

static int category_from_json(jsonr_value o, ecom_category *c, ecom_error *err)
{
    jsonr_value subs;
    TRY(get_str(o, "", "category_id", true, c->category_id, sizeof c->category_id, err));
    TRY(get_str(o, "", "name", true, c->name, sizeof c->name, err));
    TRY(get_array(o, "", "subcategories", ECOM_MAX_SUBCATEGORIES, &subs, err));
    c->n_subcategories = (int)jsonr_size(subs);
    jsonr_value s = jsonr_first(subs);
    for (int i = 0; i < c->n_subcategories; i++, s = jsonr_next(s)) {
        ecom_subcategory *sc = &c->subcategories[i];
        char path[64];
        snprintf(path, sizeof path, "subcategories[%d]", i);
        if (!is_type(s, JSONR_OBJECT))
            return ecom_fail(err, "field '%s': must be an object", path);
        TRY(get_str(s, path, "subcategory_id", true, sc->subcategory_id, sizeof sc->subcategory_id,
                    err));
        TRY(get_str(s, path, "name", true, sc->name, sizeof sc->name, err));
        jsonr_value m;
        TRY(get_field(s, path, "profit_margin", true, &m, err));
        if (!is_type(m, JSONR_INTEGER) && !is_type(m, JSONR_REAL))
            return ecom_fail(err, "field '%s.profit_margin': must be a number", path);
        sc->profit_margin = jsonr_number(m);
    }
    return 0;
}

static int product_from_json(jsonr_value o, ecom_product *p, ecom_error *err)
{
    jsonr_value hist, active;
    TRY(get_str(o, "", "product_id", true, p->product_id, sizeof p->product_id, err));
    TRY(get_str(o, "", "name", true, p->name, sizeof p->name, err));
    TRY(get_str(o, "", "category_id", true, p->category_id, sizeof p->category_id, err));
    TRY(get_int(o, "", "base_price_cents", 1, MAX_CENTS, &p->base_price_cents, err));
    TRY(get_array(o, "", "price_history", ECOM_MAX_PRICES, &hist, err));
    p->n_prices = (int)jsonr_size(hist);
    jsonr_value h = jsonr_first(hist);
    for (int i = 0; i < p->n_prices; i++, h = jsonr_next(h)) {
        char path[64];
        snprintf(path, sizeof path, "price_history[%d]", i);
        if (!is_type(h, JSONR_OBJECT))
            return ecom_fail(err, "field '%s': must be an object", path);
        TRY(get_int(h, path, "price_cents", 1, MAX_CENTS, &p->price_history[i].price_cents, err));
        TRY(get_time(h, path, "date", &p->price_history[i].date, err));
    }
    TRY(get_i32(o, "", "current_stock", 0, INT32_MAX, &p->current_stock, err));
    TRY(get_field(o, "", "is_active", true, &active, err));
    if (!is_type(active, JSONR_TRUE) && !is_type(active, JSONR_FALSE))
        return ecom_fail(err, "field 'is_active': must be true or false");
    p->is_active = is_type(active, JSONR_TRUE);
    TRY(get_time(o, "", "creation_date", &p->creation_date, err));
    return 0;
}

static int user_from_json(jsonr_value o, ecom_user *u, ecom_error *err)
{
    jsonr_value geo;
    TRY(get_str(o, "", "user_id", true, u->user_id, sizeof u->user_id, err));
    TRY(get_object(o, "", "geo_data", &geo, err));
    TRY(geo_from_json(geo, "geo_data", false, &u->geo_data, err));
    TRY(get_time(o, "", "registration_date", &u->registration_date, err));
    TRY(get_time(o, "", "last_active", &u->last_active, err));
    return 0;
}

/* The optional "segment" object (schema version 2; version 1 messages have none). */
static int segment_from_json(jsonr_value o, ecom_segment *seg, ecom_error *err)
{
    jsonr_value s;
    TRY(get_field(o, "", "segment", false, &s, err));
    if (!jsonr_present(s))
        return 0;
    if (!is_type(s, JSONR_OBJECT))
        return fail_at(err, "", "segment", "must be an object");
    TRY(get_str(s, "segment", "device", true, seg->device, sizeof seg->device, err));
    TRY(get_str(s, "segment", "referrer", true, seg->referrer, sizeof seg->referrer, err));
    TRY(get_str(s, "segment", "country", true, seg->country, sizeof seg->country, err));
    return 0;
}

static int transaction_from_json(jsonr_value o, ecom_transaction *t, ecom_error *err)
{
    jsonr_value items;
    TRY(get_str(o, "", "transaction_id", true, t->transaction_id, sizeof t->transaction_id, err));
    TRY(get_str(o, "", "session_id", false, t->session_id, sizeof t->session_id, err));
    TRY(get_str(o, "", "user_id", true, t->user_id, sizeof t->user_id, err));
    TRY(get_time(o, "", "timestamp", &t->timestamp, err));
    TRY(get_array(o, "", "items", ECOM_MAX_ITEMS, &items, err));
    t->n_items = (int)jsonr_size(items);
    jsonr_value it = jsonr_first(items);
    for (int i = 0; i < t->n_items; i++, it = jsonr_next(it)) {
        ecom_item *x = &t->items[i];
        char path[64];
        snprintf(path, sizeof path, "items[%d]", i);
        if (!is_type(it, JSONR_OBJECT))
            return ecom_fail(err, "field '%s': must be an object", path);
        TRY(get_str(it, path, "product_id", true, x->product_id, sizeof x->product_id, err));
        TRY(get_i32(it, path, "quantity", 1, ECOM_MAX_QUANTITY, &x->quantity, err));
        TRY(get_int(it, path, "unit_price_cents", 1, MAX_CENTS, &x->unit_price_cents, err));
        TRY(get_int(it, path, "subtotal_cents", 0, MAX_CENTS, &x->subtotal_cents, err));
    }
    TRY(get_int(o, "", "subtotal_cents", 0, MAX_CENTS, &t->subtotal_cents, err));
    TRY(get_int(o, "", "discount_cents", 0, MAX_CENTS, &t->discount_cents, err));
    TRY(get_int(o, "", "total_cents", 0, MAX_CENTS, &t->total_cents, err));
    TRY(get_str(o, "", "payment_method", true, t->payment_method, sizeof t->payment_method, err));
    TRY(get_str(o, "", "status", true, t->status, sizeof t->status, err));
    return segment_from_json(o, &t->segment, err);
}

static int session_start_from_json(jsonr_value o, ecom_session_start *s, ecom_error *err)
{
    jsonr_value dev, geo;
    TRY(get_object(o, "", "device_profile", &dev, err));
    TRY(get_str(dev, "device_profile", "type", true, s->device_profile.type,
                sizeof s->device_profile.type, err));
    TRY(get_str(dev, "device_profile", "os", true, s->device_profile.os,
                sizeof s->device_profile.os, err));
    TRY(get_str(dev, "device_profile", "browser", true, s->device_profile.browser,
                sizeof s->device_profile.browser, err));
    TRY(get_object(o, "", "geo_data", &geo, err));
    TRY(geo_from_json(geo, "geo_data", true, &s->geo_data, err));
    TRY(get_str(o, "", "referrer", true, s->referrer, sizeof s->referrer, err));
    return 0;
}

static void segment_of_start(const ecom_session_start *s, ecom_segment *seg)
{
    memcpy(seg->device, s->device_profile.type, sizeof seg->device);
    memcpy(seg->referrer, s->referrer, sizeof seg->referrer);
    memcpy(seg->country, s->geo_data.country, sizeof seg->country);
}

static int page_view_from_json(jsonr_value o, ecom_page_view *pv, ecom_error *err)
{
    char page[ECOM_WORD_MAX];
    TRY(get_i32(o, "", "seq", 1, 100000, &pv->seq, err));
    TRY(get_str(o, "", "page_type", true, page, sizeof page, err));
    char shown[ECOM_SHOW_MAX];
    if (ecom_page_type_from_name(page, &pv->page_type))
        return ecom_fail(err, "field 'page_type': unknown page type '%s'",
                         ecom_show(shown, page, ECOM_SHOW_LIMIT));
    TRY(get_str(o, "", "product_id", false, pv->product_id, sizeof pv->product_id, err));
    TRY(get_str(o, "", "category_id", false, pv->category_id, sizeof pv->category_id, err));
    TRY(get_i32(o, "", "view_duration", 0, 86400, &pv->view_duration, err));
    return 0;
}

static int cart_contents_from_json(jsonr_value cart, ecom_session_end *e, ecom_error *err)
{
    char shown[ECOM_SHOW_MAX];
    if (jsonr_size(cart) > ECOM_MAX_ITEMS)
        return ecom_fail(err, "field 'cart_contents': more than %d products", ECOM_MAX_ITEMS);
    e->n_cart = 0;
    jsonr_value key = jsonr_first(cart);
    for (uint32_t i = 0; i < jsonr_size(cart); i++) {
        jsonr_value q = jsonr_member_value(key);
        ecom_cart_line *line = &e->cart_contents[e->n_cart++];
        if (jsonr_size(key) >= ECOM_ID_MAX)
            return ecom_fail(err, "field 'cart_contents': key longer than %d bytes",
                             ECOM_ID_MAX - 1);
        jsonr_string_copy(key, line->product_id);
        if (!is_type(q, JSONR_INTEGER))
            return ecom_fail(err, "field 'cart_contents.%s': must be an integer",
                             ecom_show(shown, line->product_id, ECOM_SHOW_LIMIT));
        int64_t qv = jsonr_integer(q);
        if (qv < 1 || qv > ECOM_MAX_QUANTITY)
            return ecom_fail(err, "field 'cart_contents.%s': must be 1..%d, got %lld",
                             ecom_show(shown, line->product_id, ECOM_SHOW_LIMIT), ECOM_MAX_QUANTITY,
                             (long long)qv);
        line->quantity = (int32_t)qv;
        key = jsonr_next(q);
    }
    return 0;
}

static int session_end_from_json(jsonr_value o, ecom_session_end *e, ecom_error *err)
{
    char status[ECOM_WORD_MAX];
    jsonr_value viewed, cart;
    TRY(get_i32(o, "", "duration_seconds", 0, 7 * 86400, &e->duration_seconds, err));
    TRY(get_str(o, "", "conversion_status", true, status, sizeof status, err));
    char shown[ECOM_SHOW_MAX];
    if (ecom_conversion_from_name(status, &e->conversion_status))
        return ecom_fail(err, "field 'conversion_status': '%s' is not converted|abandoned|browsed",
                         ecom_show(shown, status, ECOM_SHOW_LIMIT));
    TRY(get_str(o, "", "transaction_id", false, e->transaction_id, sizeof e->transaction_id, err));
    TRY(get_array(o, "", "viewed_products", ECOM_MAX_VIEWED, &viewed, err));
    e->n_viewed = (int)jsonr_size(viewed);
    jsonr_value v = jsonr_first(viewed);
    for (int i = 0; i < e->n_viewed; i++, v = jsonr_next(v)) {
        if (!is_type(v, JSONR_STRING) || jsonr_size(v) >= ECOM_ID_MAX)
            return ecom_fail(err, "field 'viewed_products[%d]': must be a product id string", i);
        jsonr_string_copy(v, e->viewed_products[i]);
    }
    TRY(get_object(o, "", "cart_contents", &cart, err));
    return cart_contents_from_json(cart, e, err);
}

static int event_from_json(jsonr_value o, ecom_session_event *ev, ecom_error *err)
{
    char type[ECOM_WORD_MAX], shown[ECOM_SHOW_MAX];
    TRY(get_str(o, "", "event_id", true, ev->event_id, sizeof ev->event_id, err));
    TRY(get_str(o, "", "type", true, type, sizeof type, err));
    if (ecom_event_type_from_name(type, &ev->type))
        return ecom_fail(err, "field 'type': unknown event type '%s'",
                         ecom_show(shown, type, ECOM_SHOW_LIMIT));
    memset(&ev->u, 0, ecom_event_part_size(ev->type));
    TRY(get_str(o, "", "session_id", true, ev->session_id, sizeof ev->session_id, err));
    TRY(get_str(o, "", "user_id", true, ev->user_id, sizeof ev->user_id, err));
    TRY(get_time(o, "", "ts", &ev->ts, err));
    TRY(get_time(o, "", "start_time", &ev->start_time, err));
    if (ev->type != ECOM_EV_SESSION_START)
        TRY(segment_from_json(o, &ev->segment, err));
    switch (ev->type) {
    case ECOM_EV_SESSION_START:
        TRY(session_start_from_json(o, &ev->u.start, err));
        segment_of_start(&ev->u.start, &ev->segment);
        return 0;
    case ECOM_EV_PAGE_VIEW:
        return page_view_from_json(o, &ev->u.page_view, err);
    case ECOM_EV_CART_ADD:
        TRY(get_str(o, "", "product_id", true, ev->u.cart_add.product_id,
                    sizeof ev->u.cart_add.product_id, err));
        TRY(get_i32(o, "", "quantity", 1, ECOM_MAX_QUANTITY, &ev->u.cart_add.quantity, err));
        return get_int(o, "", "unit_price_cents", 1, MAX_CENTS, &ev->u.cart_add.unit_price_cents,
                       err);
    case ECOM_EV_SESSION_END:
        return session_end_from_json(o, &ev->u.end, err);
    }
    return ecom_fail(err, "field 'type': unknown event type '%s'",
                     ecom_show(shown, type, ECOM_SHOW_LIMIT));
}

/* The one walk of a parsed message: its kind's fields, then ecom_validate(). */
static int record_from_doc(ecom_kind kind, const jsonr_doc *doc, ecom_record *out, ecom_error *err)
{
    jsonr_value obj = jsonr_root(doc);
    if (!is_type(obj, JSONR_OBJECT))
        return ecom_fail(err, "message is not a JSON object");
    int64_t version;
    TRY(get_int(obj, "", "schema_version", 1, ECOM_SCHEMA_VERSION, &version, err));
    int rc;
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        rc = category_from_json(obj, &out->u.category, err);
        break;
    case ECOM_KIND_PRODUCT:
        rc = product_from_json(obj, &out->u.product, err);
        break;
    case ECOM_KIND_USER:
        rc = user_from_json(obj, &out->u.user, err);
        break;
    case ECOM_KIND_TRANSACTION:
        rc = transaction_from_json(obj, &out->u.transaction, err);
        break;
    case ECOM_KIND_SESSION_EVENT:
        rc = event_from_json(obj, &out->u.event, err);
        break;
    default:
        return ecom_fail(err, "unknown record kind %d", (int)kind);
    }
    if (rc)
        return -1;
    return ecom_validate(kind, &out->u, err);
}

/* ---- the token array --------------------------------------------------------------------
 *
 * Tokens for the largest message (JSONR_TOKENS_FOR(ECOM_MAX_MESSAGE), 640 KiB) are taken
 * once per decoding thread and reused by every message it decodes; only the pages a message's
 * tokens reach are ever touched. The array goes with its thread (a key destructor). */

#define MAX_TOKENS JSONR_TOKENS_FOR(ECOM_MAX_MESSAGE)

static pthread_key_t tokens_key;
static _Thread_local jsonr_token *thread_tokens;

static void make_tokens_key(void)
{
    if (pthread_key_create(&tokens_key, free) != 0)
        abort();
}

/* The calling thread's token array, or NULL when memory is short. */
static jsonr_token *tokens_for_thread(void)
{
    if (thread_tokens)
        return thread_tokens;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_tokens_key);
    thread_tokens = malloc(MAX_TOKENS * sizeof *thread_tokens);
    if (thread_tokens && pthread_setspecific(tokens_key, thread_tokens) != 0) {
        free(thread_tokens);
        thread_tokens = NULL;
    }
    return thread_tokens;
}

/* The rare path: a message the reader refused. jansson, which the reader agrees with on what is
 * JSON, reads it again for the position and wording errors have always had. */
static int not_json(const char *data, size_t len, const jsonr_error *why, ecom_error *err)
{
    json_error_t jerr;
    json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj) { /* never seen (the fuzz harness looks for it), but say what the reader found */
        json_decref(obj);
        return ecom_fail(err, "not valid JSON at byte %zu: %s", why->offset, why->reason);
    }
    /* jansson quotes the bytes near the error: kept printable, as the error travels on */
    char near[4 * sizeof jerr.text];
    ecom_escape_append(near, sizeof near, 0, jerr.text, strlen(jerr.text), NULL);
    return ecom_fail(err, "not valid JSON at line %d column %d: %s", jerr.line, jerr.column, near);
}

/* The bytes of a record a decode of that kind zeroes first: as far as its kind's struct goes,
 * and for a session event as far as the part its type has, once the type is read
 * (ecom_event_part_size). Most records are page views, a few hundred bytes of a 3.5 KB union, and
 * the records of a polled chunk stay in the caches when only those are written. */
static size_t record_prefix_size(ecom_kind kind)
{
    size_t head = offsetof(ecom_record, u);
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        return head + sizeof(ecom_category);
    case ECOM_KIND_PRODUCT:
        return head + sizeof(ecom_product);
    case ECOM_KIND_USER:
        return head + sizeof(ecom_user);
    case ECOM_KIND_TRANSACTION:
        return head + sizeof(ecom_transaction);
    case ECOM_KIND_SESSION_EVENT:
        return head + offsetof(ecom_session_event, u);
    default:
        return sizeof(ecom_record);
    }
}

int ecom_record_decode(ecom_kind kind, const char *data, size_t len, ecom_record *out,
                       ecom_error *err)
{
    memset(out, 0, record_prefix_size(kind));
    out->kind = kind;
    if (len > ECOM_MAX_MESSAGE)
        return ecom_fail(err, "message is %zu bytes, over the %d byte limit", len,
                         ECOM_MAX_MESSAGE);
    if (len == 0)
        return ecom_fail(err, "message is empty");
    jsonr_token *tokens = tokens_for_thread();
    if (!tokens)
        return ecom_fail(err, "out of memory for decoding");
    jsonr_doc doc;
    jsonr_error why;
    if (jsonr_parse(&doc, data, len, tokens, MAX_TOKENS, &why))
        return not_json(data, len, &why, err);
    return record_from_doc(kind, &doc, out, err);
}

/* A parsed object goes through the same walk as the bytes it stands for. */
int ecom_record_from_json(ecom_kind kind, const json_t *obj, ecom_record *out, ecom_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (!json_is_object(obj))
        return ecom_fail(err, "message is not a JSON object");
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return ecom_fail(err, "message cannot be written as JSON");
    int rc = ecom_record_decode(kind, text, strlen(text), out, err);
    free(text);
    return rc;
}
