/*
 * validate.c - what a well-formed record is: id shapes, enumerations, ranges and the arithmetic
 * that ties money fields together.
 *
 * The codec calls ecom_validate() after decoding, so every consumer sees only records
 * that pass these checks; the generator asserts them on what it produces, so the rules and the
 * data cannot drift apart. Messages name the field and the rule, as they end up in dead-letter
 * headers; a value they quote is escaped first (escape.h), so a hostile id cannot forge a log
 * line or a header.
 */
#include "ecom/validate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "ecom/escape.h"
#include "ecom/model.h"

static const char *const device_types[] = {"mobile", "desktop", "tablet", NULL};
static const char *const device_oses[] = {"iOS", "Android", "Windows", "macOS", NULL};
static const char *const browsers[] = {"Chrome", "Safari", "Firefox", "Edge", NULL};
static const char *const referrers[] = {"direct",        "email",     "social",
                                        "search_engine", "affiliate", NULL};
static const char *const payment_methods[] = {"credit_card", "debit_card",    "paypal", "apple_pay",
                                              "google_pay",  "bank_transfer", NULL};
static const char *const statuses[] = {"completed", "processing", "shipped", "delivered", NULL};

/* "<prefix><digits>" with at least min_digits digits. */
static bool id_shape(const char *s, const char *prefix, int min_digits)
{
    for (; *prefix; s++, prefix++)
        if (*s != *prefix)
            return false;
    int n = 0;
    for (; *s; s++, n++)
        if (*s < '0' || *s > '9')
            return false;
    return n >= min_digits;
}

/* Skips a run of at least min digits at *s. */
static bool skip_digits(const char **s, int min)
{
    int n = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++)
        n++;
    return n >= min;
}

/* sub_<category digits, at least 3>_<at least 2 digits> */
static bool subcategory_id_shape(const char *s)
{
    if (strncmp(s, "sub_", 4) != 0)
        return false;
    s += 4;
    if (!skip_digits(&s, 3) || *s++ != '_')
        return false;
    return skip_digits(&s, 2) && *s == '\0';
}

int ecom_user_id_check(const char *s, ecom_error *err)
{
    char shown[ECOM_SHOW_MAX];
    if (strlen(s) >= ECOM_ID_MAX || !id_shape(s, "user_", 6))
        return ecom_fail(err, "'%s' is not a user id of the form user_000000",
                         ecom_show(shown, s, ECOM_SHOW_LIMIT));
    return 0;
}

static int fail_shape(const char *field, const char *value, const char *example, ecom_error *err)
{
    char shown[ECOM_SHOW_MAX];
    return ecom_fail(err, "field '%s': '%s' is not an id of the form %s", field,
                     ecom_show(shown, value, ECOM_SHOW_LIMIT), example);
}

static int check_id(const char *field, const char *value, const char *prefix, int min_digits,
                    const char *example, ecom_error *err)
{
    if (!id_shape(value, prefix, min_digits))
        return fail_shape(field, value, example, err);
    return 0;
}

static int check_word(const char *field, const char *value, const char *const *allowed,
                      ecom_error *err)
{
    for (int i = 0; allowed[i]; i++) /* the first byte first: this runs for every event */
        if (allowed[i][0] == value[0] && strcmp(allowed[i], value) == 0)
            return 0;
    char list[256] = "";
    for (int i = 0; allowed[i]; i++) {
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, allowed[i], sizeof list - strlen(list) - 1);
    }
    char shown[ECOM_SHOW_MAX];
    return ecom_fail(err, "field '%s': '%s' is not one of %s", field,
                     ecom_show(shown, value, ECOM_SHOW_LIMIT), list);
}

static int check_nonempty(const char *field, const char *value, ecom_error *err)
{
    if (!*value)
        return ecom_fail(err, "field '%s': must not be empty", field);
    return 0;
}

/* A name or place: not empty, and no control character (they end up on pages and in logs). */
static int check_text(const char *field, const char *value, ecom_error *err)
{
    if (check_nonempty(field, value, err))
        return -1;
    const char *c = ecom_find_control(value);
    if (c) {
        unsigned code = (unsigned char)c[0] == 0xc2 ? (unsigned char)c[1] : (unsigned char)c[0];
        return ecom_fail(err, "field '%s': contains control character 0x%02x at byte %d", field,
                         code, (int)(c - value));
    }
    return 0;
}

/* The field <prefix>.ip_address: an IPv4 or IPv6 address. */
static int check_ip(const char *prefix, const char *value, ecom_error *err)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, value, addr) == 1 || inet_pton(AF_INET6, value, addr) == 1)
        return 0;
    char shown[ECOM_SHOW_MAX];
    return ecom_fail(err, "field '%s.ip_address': '%s' is not an IPv4 or IPv6 address", prefix,
                     ecom_show(shown, value, ECOM_SHOW_LIMIT));
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (expr)                                                                                  \
            return -1;                                                                             \
    } while (0)

static int validate_category(const ecom_category *c, ecom_error *err)
{
    CHECK(check_id("category_id", c->category_id, "cat_", 3, "cat_000", err));
    CHECK(check_text("name", c->name, err));
    if (c->n_subcategories < 1 || c->n_subcategories > ECOM_MAX_SUBCATEGORIES)
        return ecom_fail(err, "field 'subcategories': must have 1..%d entries, has %d",
                         ECOM_MAX_SUBCATEGORIES, c->n_subcategories);
    for (int i = 0; i < c->n_subcategories; i++) {
        const ecom_subcategory *s = &c->subcategories[i];
        char field[64];
        snprintf(field, sizeof field, "subcategories[%d].subcategory_id", i);
        if (!subcategory_id_shape(s->subcategory_id))
            return fail_shape(field, s->subcategory_id, "sub_000_00", err);
        snprintf(field, sizeof field, "subcategories[%d].name", i);
        CHECK(check_text(field, s->name, err));
        if (!(s->profit_margin >= 0.0 && s->profit_margin <= 1.0))
            return ecom_fail(err, "field 'subcategories[%d].profit_margin': must be 0..1, got %g",
                             i, s->profit_margin);
    }
    return 0;
}

static int validate_product(const ecom_product *p, ecom_error *err)
{
    CHECK(check_id("product_id", p->product_id, "prod_", 5, "prod_00000", err));
    CHECK(check_text("name", p->name, err));
    CHECK(check_id("category_id", p->category_id, "cat_", 3, "cat_000", err));
    if (p->n_prices < 1 || p->n_prices > ECOM_MAX_PRICES)
        return ecom_fail(err, "field 'price_history': must have 1..%d entries, has %d",
                         ECOM_MAX_PRICES, p->n_prices);
    for (int i = 0; i < p->n_prices; i++) {
        if (p->price_history[i].price_cents <= 0)
            return ecom_fail(err, "field 'price_history[%d].price_cents': must be > 0, got %lld", i,
                             (long long)p->price_history[i].price_cents);
        if (i && p->price_history[i].date < p->price_history[i - 1].date)
            return ecom_fail(err, "field 'price_history[%d].date': not sorted by date", i);
    }
    if (p->base_price_cents != p->price_history[p->n_prices - 1].price_cents)
        return ecom_fail(err,
                         "field 'base_price_cents': %lld is not the latest price_history price "
                         "%lld",
                         (long long)p->base_price_cents,
                         (long long)p->price_history[p->n_prices - 1].price_cents);
    if (p->current_stock < 0)
        return ecom_fail(err, "field 'current_stock': must be >= 0, got %d", p->current_stock);
    return 0;
}

/* check_text of the field <prefix>.<name>, whose path is put together only for the error (this
 * runs for every session_start). */
static int check_place(const char *prefix, const char *name, const char *value, ecom_error *err)
{
    if (*value && !ecom_find_control(value))
        return 0;
    char field[64];
    snprintf(field, sizeof field, "%s.%s", prefix, name);
    return check_text(field, value, err);
}

/* A session's place carries the visitor's address; a user's has none (where one is given
 * anyway, it must be an address too). */
static int validate_geo(const char *prefix, const ecom_geo *g, bool with_ip, ecom_error *err)
{
    CHECK(check_place(prefix, "city", g->city, err));
    CHECK(check_place(prefix, "state", g->state, err));
    CHECK(check_place(prefix, "country", g->country, err));
    if (with_ip || *g->ip_address)
        CHECK(check_ip(prefix, g->ip_address, err));
    return 0;
}

static int validate_user(const ecom_user *u, ecom_error *err)
{
    CHECK(check_id("user_id", u->user_id, "user_", 6, "user_000000", err));
    CHECK(validate_geo("geo_data", &u->geo_data, false, err));
    if (u->last_active < u->registration_date)
        return ecom_fail(err, "field 'last_active': before registration_date");
    return 0;
}

static bool quantity_ok(int32_t q)
{
    return q >= 1 && q <= ECOM_MAX_QUANTITY;
}

static int check_quantity(const char *field, int32_t q, ecom_error *err)
{
    if (!quantity_ok(q))
        return ecom_fail(err, "field '%s': must be 1..%d, got %d", field, ECOM_MAX_QUANTITY, q);
    return 0;
}

static bool has_segment(const ecom_segment *seg)
{
    return *seg->device || *seg->referrer || *seg->country;
}

/* A segment, where a message carries one, holds the words and place its session_start has. */
static int validate_segment(const ecom_segment *seg, ecom_error *err)
{
    if (!has_segment(seg))
        return 0;
    CHECK(check_word("segment.device", seg->device, device_types, err));
    CHECK(check_word("segment.referrer", seg->referrer, referrers, err));
    return check_text("segment.country", seg->country, err);
}

static int validate_transaction(const ecom_transaction *t, ecom_error *err)
{
    CHECK(check_id("transaction_id", t->transaction_id, "txn_", 8, "txn_00000000", err));
    if (*t->session_id)
        CHECK(check_id("session_id", t->session_id, "sess_", 8, "sess_00000000", err));
    CHECK(check_id("user_id", t->user_id, "user_", 6, "user_000000", err));
    if (t->n_items < 1 || t->n_items > ECOM_MAX_ITEMS)
        return ecom_fail(err, "field 'items': must have 1..%d entries, has %d", ECOM_MAX_ITEMS,
                         t->n_items);
    ecom_cents sum = 0;
    for (int i = 0; i < t->n_items; i++) {
        const ecom_item *it = &t->items[i];
        char field[64];
        if (!id_shape(it->product_id, "prod_", 5)) {
            snprintf(field, sizeof field, "items[%d].product_id", i);
            return fail_shape(field, it->product_id, "prod_00000", err);
        }
        if (!quantity_ok(it->quantity)) {
            snprintf(field, sizeof field, "items[%d].quantity", i);
            return check_quantity(field, it->quantity, err);
        }
        if (it->unit_price_cents <= 0)
            return ecom_fail(err, "field 'items[%d].unit_price_cents': must be > 0, got %lld", i,
                             (long long)it->unit_price_cents);
        if (it->subtotal_cents != it->unit_price_cents * it->quantity)
            return ecom_fail(err,
                             "field 'items[%d].subtotal_cents': %lld is not quantity x "
                             "unit_price_cents = %lld",
                             i, (long long)it->subtotal_cents,
                             (long long)(it->unit_price_cents * it->quantity));
        sum += it->subtotal_cents;
    }
    if (t->subtotal_cents != sum)
        return ecom_fail(err, "field 'subtotal_cents': %lld is not the sum of items, %lld",
                         (long long)t->subtotal_cents, (long long)sum);
    if (t->discount_cents < 0 || t->discount_cents > t->subtotal_cents)
        return ecom_fail(err, "field 'discount_cents': must be 0..subtotal_cents, got %lld",
                         (long long)t->discount_cents);
    if (t->total_cents != t->subtotal_cents - t->discount_cents)
        return ecom_fail(err, "field 'total_cents': %lld is not subtotal - discount = %lld",
                         (long long)t->total_cents,
                         (long long)(t->subtotal_cents - t->discount_cents));
    CHECK(check_word("payment_method", t->payment_method, payment_methods, err));
    CHECK(check_word("status", t->status, statuses, err));
    if (!*t->session_id && has_segment(&t->segment))
        return ecom_fail(err, "field 'segment': only a transaction of a session has one");
    return validate_segment(&t->segment, err);
}

static int validate_page_view(const ecom_page_view *pv, ecom_error *err)
{
    if (pv->seq < 1)
        return ecom_fail(err, "field 'seq': must be >= 1, got %d", pv->seq);
    if (pv->view_duration < 0)
        return ecom_fail(err, "field 'view_duration': must be >= 0, got %d", pv->view_duration);
    bool wants_product = pv->page_type == ECOM_PAGE_PRODUCT_DETAIL;
    bool wants_category = wants_product || pv->page_type == ECOM_PAGE_CATEGORY_LISTING;
    if (wants_product)
        CHECK(check_id("product_id", pv->product_id, "prod_", 5, "prod_00000", err));
    else if (*pv->product_id)
        return ecom_fail(err, "field 'product_id': only product_detail pages name a product");
    if (wants_category)
        CHECK(check_id("category_id", pv->category_id, "cat_", 3, "cat_000", err));
    else if (*pv->category_id)
        return ecom_fail(err, "field 'category_id': not expected on a %s page",
                         ecom_page_type_name(pv->page_type));
    return 0;
}

static int validate_session_end(const ecom_session_end *e, ecom_error *err)
{
    if (e->duration_seconds < 0)
        return ecom_fail(err, "field 'duration_seconds': must be >= 0, got %d",
                         e->duration_seconds);
    bool converted = e->conversion_status == ECOM_CONV_CONVERTED;
    if (converted)
        CHECK(check_id("transaction_id", e->transaction_id, "txn_", 8, "txn_00000000", err));
    else if (*e->transaction_id)
        return ecom_fail(err, "field 'transaction_id': only a converted session has one");
    for (int i = 0; i < e->n_viewed; i++) {
        int twice = -1; /* an earlier entry it repeats */
        for (int j = 0; j < i && twice < 0; j++)
            if (strcmp(e->viewed_products[i], e->viewed_products[j]) == 0)
                twice = j;
        bool shaped = id_shape(e->viewed_products[i], "prod_", 5);
        if (shaped && twice < 0)
            continue;
        char field[64];
        snprintf(field, sizeof field, "viewed_products[%d]", i);
        if (!shaped)
            return fail_shape(field, e->viewed_products[i], "prod_00000", err);
        return ecom_fail(err, "field '%s': %s is listed twice", field, e->viewed_products[i]);
    }
    for (int i = 0; i < e->n_cart; i++) {
        const ecom_cart_line *line = &e->cart_contents[i];
        CHECK(check_id("cart_contents", line->product_id, "prod_", 5, "prod_00000", err));
        if (!quantity_ok(line->quantity)) {
            char field[80];
            snprintf(field, sizeof field, "cart_contents.%s", line->product_id);
            return check_quantity(field, line->quantity, err);
        }
    }
    if (e->conversion_status == ECOM_CONV_BROWSED && e->n_cart)
        return ecom_fail(err, "field 'conversion_status': browsed, but the cart is not empty");
    if (e->conversion_status != ECOM_CONV_BROWSED && !e->n_cart)
        return ecom_fail(err, "field 'conversion_status': %s, but the cart is empty",
                         ecom_conversion_name(e->conversion_status));
    return 0;
}

static int validate_event(const ecom_session_event *ev, ecom_error *err)
{
    CHECK(check_id("session_id", ev->session_id, "sess_", 8, "sess_00000000", err));
    CHECK(check_id("user_id", ev->user_id, "user_", 6, "user_000000", err));
    size_t sl = strlen(ev->session_id);
    if (strncmp(ev->event_id, ev->session_id, sl) != 0 || ev->event_id[sl] != '-' ||
        !id_shape(ev->event_id + sl + 1, "", 1)) {
        char shown[ECOM_SHOW_MAX];
        return ecom_fail(err, "field 'event_id': '%s' is not of the form <session_id>-<n>",
                         ecom_show(shown, ev->event_id, ECOM_SHOW_LIMIT));
    }
    if (ev->ts < ev->start_time)
        return ecom_fail(err, "field 'ts': before the session's start_time");
    if (ev->type != ECOM_EV_SESSION_START)
        CHECK(validate_segment(&ev->segment, err));
    switch (ev->type) {
    case ECOM_EV_SESSION_START:
        CHECK(
            check_word("device_profile.type", ev->u.start.device_profile.type, device_types, err));
        CHECK(check_word("device_profile.os", ev->u.start.device_profile.os, device_oses, err));
        CHECK(check_word("device_profile.browser", ev->u.start.device_profile.browser, browsers,
                         err));
        CHECK(validate_geo("geo_data", &ev->u.start.geo_data, true, err));
        CHECK(check_word("referrer", ev->u.start.referrer, referrers, err));
        return 0;
    case ECOM_EV_PAGE_VIEW:
        return validate_page_view(&ev->u.page_view, err);
    case ECOM_EV_CART_ADD:
        CHECK(check_id("product_id", ev->u.cart_add.product_id, "prod_", 5, "prod_00000", err));
        CHECK(check_quantity("quantity", ev->u.cart_add.quantity, err));
        if (ev->u.cart_add.unit_price_cents <= 0)
            return ecom_fail(err, "field 'unit_price_cents': must be > 0, got %lld",
                             (long long)ev->u.cart_add.unit_price_cents);
        return 0;
    case ECOM_EV_SESSION_END:
        return validate_session_end(&ev->u.end, err);
    }
    return ecom_fail(err, "field 'type': unknown event type %d", (int)ev->type);
}

int ecom_validate(ecom_kind kind, const void *rec, ecom_error *err)
{
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        return validate_category(rec, err);
    case ECOM_KIND_PRODUCT:
        return validate_product(rec, err);
    case ECOM_KIND_USER:
        return validate_user(rec, err);
    case ECOM_KIND_TRANSACTION:
        return validate_transaction(rec, err);
    case ECOM_KIND_SESSION_EVENT:
        return validate_event(rec, err);
    default:
        return ecom_fail(err, "unknown record kind %d", (int)kind);
    }
}
