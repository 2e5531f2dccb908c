/*
 * test_codec.c - encoding and strict decoding of every record kind (lib/codec.c, lib/validate.c).
 *
 * Three parts:
 *   - Round trips: a record of every kind (and every session event type and page shape) is
 *     built by hand, encoded, decoded, compared field by field, and re-encoded to the same
 *     bytes; the same at the size limits (32 items, 64 viewed products, 95-byte names, ...).
 *   - Real messages: lines printed by `ecom generate --seed 7 --scale 0.01 --end 2025-06-01
 *     --output -` decode, carry the key they were published under, and re-encode byte for byte.
 *   - Bad input, table driven, one cmocka test per row so a failure names the case. Most rows
 *     take a valid base message (the encoding of a sample record), apply up to three edits at
 *     paths like "items[1].quantity" (set to a JSON value, or delete) and expect decoding to fail
 *     with the error text given (matched with strstr; the rows spell out whole messages). Raw
 *     rows are byte strings that are not a valid message at all (not JSON, truncated, bad UTF-8,
 *     NUL, duplicate keys, ...), matched on the key part of the message. Size limits that need
 *     generated input have their own tests.
 * Unknown extra fields must be accepted and dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/codec.h"
#include "ecom/topics.h"

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))
#define T(text) sample_time(text)

static ecom_time sample_time(const char *text)
{
    ecom_time t;
    ecom_error err;
    if (ecom_time_parse(text, &t, &err))
        fail_msg("bad time in test data: %s", err.msg);
    return t;
}

/* ---- sample records ---------------------------------------------------------------------- */

static ecom_category sample_category(void)
{
    ecom_category c = {0};
    SET(c.category_id, "cat_007");
    SET(c.name, "Home & \"Garden\" \\ Caf\xc3\xa9"); /* escapes and UTF-8 survive */
    static const double margins[] = {0.1, 0.25, 0.4};
    c.n_subcategories = 3;
    for (int i = 0; i < 3; i++) {
        snprintf(c.subcategories[i].subcategory_id, ECOM_ID_MAX, "sub_007_%02d", i);
        snprintf(c.subcategories[i].name, ECOM_NAME_MAX, "Garden %d", i);
        c.subcategories[i].profit_margin = margins[i];
    }
    return c;
}

static ecom_product sample_product(void)
{
    ecom_product p = {0};
    SET(p.product_id, "prod_00042");
    SET(p.name, "Heavy Cotton Blender");
    SET(p.category_id, "cat_007");
    static const ecom_cents prices[] = {5362, 5522, 4612};
    static const char *const dates[] = {"2025-02-21T21:19:18Z", "2025-03-14T07:10:42Z",
                                        "2025-04-21T04:45:45Z"};
    p.n_prices = 3;
    for (int i = 0; i < 3; i++)
        p.price_history[i] = (ecom_price_point){prices[i], T(dates[i])};
    p.base_price_cents = prices[2];
    p.current_stock = 0;
    p.is_active = false;
    p.creation_date = p.price_history[0].date;
    return p;
}

static ecom_user sample_user(void)
{
    ecom_user u = {0};
    SET(u.user_id, "user_000123");
    SET(u.geo_data.city, "Z\xc3\xbcrich");
    SET(u.geo_data.state, "ZH");
    SET(u.geo_data.country, "Switzerland");
    u.registration_date = T("2024-09-15T08:00:00Z");
    u.last_active = T("2025-02-01T10:00:00Z");
    return u;
}

static void add_item(ecom_transaction *t, const char *product, int32_t qty, ecom_cents unit)
{
    ecom_item *it = &t->items[t->n_items++];
    SET(it->product_id, product);
    it->quantity = qty;
    it->unit_price_cents = unit;
    it->subtotal_cents = qty * unit;
    t->subtotal_cents += it->subtotal_cents;
    t->total_cents = t->subtotal_cents - t->discount_cents;
}

/* Two lines: 2 x 1250 + 1 x 999 = 3499, 349 off, 3150 to pay. */
static ecom_transaction sample_transaction(void)
{
    ecom_transaction t = {0};
    SET(t.transaction_id, "txn_00000077");
    SET(t.session_id, "sess_00000012");
    SET(t.user_id, "user_000123");
    t.timestamp = T("2025-03-01T12:34:56Z");
    t.discount_cents = 349;
    add_item(&t, "prod_00001", 2, 1250);
    add_item(&t, "prod_00002", 1, 999);
    SET(t.payment_method, "paypal");
    SET(t.status, "shipped");
    return t;
}

static ecom_session_event sample_event(ecom_event_type type, int n)
{
    ecom_session_event ev = {0};
    snprintf(ev.event_id, sizeof ev.event_id, "sess_00000012-%d", n);
    ev.type = type;
    SET(ev.session_id, "sess_00000012");
    SET(ev.user_id, "user_000123");
    ev.start_time = T("2025-03-01T12:00:00Z");
    ev.ts = ev.start_time + 60 * n;
    return ev;
}

static ecom_session_event sample_session_start(void)
{
    ecom_session_event ev = sample_event(ECOM_EV_SESSION_START, 0);
    ecom_session_start *s = &ev.u.start;
    SET(s->device_profile.type, "tablet");
    SET(s->device_profile.os, "iOS");
    SET(s->device_profile.browser, "Safari");
    SET(s->geo_data.city, "Z\xc3\xbcrich");
    SET(s->geo_data.state, "ZH");
    SET(s->geo_data.country, "Switzerland");
    SET(s->geo_data.ip_address, "2001:db8::1");
    SET(s->referrer, "search_engine");
    return ev;
}

static ecom_session_event sample_page_view(ecom_page_type page, const char *product,
                                           const char *category)
{
    ecom_session_event ev = sample_event(ECOM_EV_PAGE_VIEW, 3);
    ev.u.page_view.seq = 3;
    ev.u.page_view.page_type = page;
    SET(ev.u.page_view.product_id, product);
    SET(ev.u.page_view.category_id, category);
    ev.u.page_view.view_duration = 45;
    return ev;
}

static ecom_session_event sample_cart_add(void)
{
    ecom_session_event ev = sample_event(ECOM_EV_CART_ADD, 4);
    SET(ev.u.cart_add.product_id, "prod_00001");
    ev.u.cart_add.quantity = 2;
    ev.u.cart_add.unit_price_cents = 1250;
    return ev;
}

/* Viewed three products, carted two; converted into sample_transaction() unless told otherwise. */
static ecom_session_event sample_session_end(ecom_conversion status)
{
    ecom_session_event ev = sample_event(ECOM_EV_SESSION_END, 9);
    ecom_session_end *e = &ev.u.end;
    e->duration_seconds = 1994;
    e->conversion_status = status;
    if (status == ECOM_CONV_CONVERTED)
        SET(e->transaction_id, "txn_00000077");
    e->n_viewed = 3;
    for (int i = 0; i < 3; i++)
        snprintf(e->viewed_products[i], ECOM_ID_MAX, "prod_0000%d", i + 1);
    if (status != ECOM_CONV_BROWSED) {
        e->n_cart = 2;
        e->cart_contents[0] = (ecom_cart_line){"prod_00001", 2};
        e->cart_contents[1] = (ecom_cart_line){"prod_00002", 1};
    }
    return ev;
}

/* ---- field-by-field comparison ----------------------------------------------------------- */

#define EQ_STR(f) assert_string_equal(a->f, b->f)
#define EQ_INT(f) assert_int_equal(a->f, b->f)

static void assert_geo_equal(const ecom_geo *a, const ecom_geo *b)
{
    EQ_STR(city);
    EQ_STR(state);
    EQ_STR(country);
    EQ_STR(ip_address);
}

static void assert_category_equal(const ecom_category *a, const ecom_category *b)
{
    EQ_STR(category_id);
    EQ_STR(name);
    EQ_INT(n_subcategories);
    for (int i = 0; i < a->n_subcategories; i++) {
        EQ_STR(subcategories[i].subcategory_id);
        EQ_STR(subcategories[i].name);
        assert_true(a->subcategories[i].profit_margin == b->subcategories[i].profit_margin);
    }
}

static void assert_product_equal(const ecom_product *a, const ecom_product *b)
{
    EQ_STR(product_id);
    EQ_STR(name);
    EQ_STR(category_id);
    EQ_INT(base_price_cents);
    EQ_INT(n_prices);
    for (int i = 0; i < a->n_prices; i++) {
        EQ_INT(price_history[i].price_cents);
        EQ_INT(price_history[i].date);
    }
    EQ_INT(current_stock);
    EQ_INT(is_active);
    EQ_INT(creation_date);
}

static void assert_user_equal(const ecom_user *a, const ecom_user *b)
{
    EQ_STR(user_id);
    assert_geo_equal(&a->geo_data, &b->geo_data);
    EQ_INT(registration_date);
    EQ_INT(last_active);
}

static void assert_transaction_equal(const ecom_transaction *a, const ecom_transaction *b)
{
    EQ_STR(transaction_id);
    EQ_STR(session_id);
    EQ_STR(user_id);
    EQ_INT(timestamp);
    EQ_INT(n_items);
    for (int i = 0; i < a->n_items; i++) {
        EQ_STR(items[i].product_id);
        EQ_INT(items[i].quantity);
        EQ_INT(items[i].unit_price_cents);
        EQ_INT(items[i].subtotal_cents);
    }
    EQ_INT(subtotal_cents);
    EQ_INT(discount_cents);
    EQ_INT(total_cents);
    EQ_STR(payment_method);
    EQ_STR(status);
}

static void assert_event_equal(const ecom_session_event *a, const ecom_session_event *b)
{
    EQ_STR(event_id);
    EQ_INT(type);
    EQ_STR(session_id);
    EQ_STR(user_id);
    EQ_INT(ts);
    EQ_INT(start_time);
    switch (a->type) {
    case ECOM_EV_SESSION_START:
        EQ_STR(u.start.device_profile.type);
        EQ_STR(u.start.device_profile.os);
        EQ_STR(u.start.device_profile.browser);
        assert_geo_equal(&a->u.start.geo_data, &b->u.start.geo_data);
        EQ_STR(u.start.referrer);
        break;
    case ECOM_EV_PAGE_VIEW:
        EQ_INT(u.page_view.seq);
        EQ_INT(u.page_view.page_type);
        EQ_STR(u.page_view.product_id);
        EQ_STR(u.page_view.category_id);
        EQ_INT(u.page_view.view_duration);
        break;
    case ECOM_EV_CART_ADD:
        EQ_STR(u.cart_add.product_id);
        EQ_INT(u.cart_add.quantity);
        EQ_INT(u.cart_add.unit_price_cents);
        break;
    case ECOM_EV_SESSION_END:
        EQ_INT(u.end.duration_seconds);
        EQ_INT(u.end.conversion_status);
        EQ_STR(u.end.transaction_id);
        EQ_INT(u.end.n_viewed);
        for (int i = 0; i < a->u.end.n_viewed; i++)
            EQ_STR(u.end.viewed_products[i]);
        EQ_INT(u.end.n_cart);
        for (int i = 0; i < a->u.end.n_cart; i++) {
            EQ_STR(u.end.cart_contents[i].product_id);
            EQ_INT(u.end.cart_contents[i].quantity);
        }
        break;
    }
}

static void assert_record_equal(ecom_kind kind, const void *a, const void *b)
{
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        assert_category_equal(a, b);
        break;
    case ECOM_KIND_PRODUCT:
        assert_product_equal(a, b);
        break;
    case ECOM_KIND_USER:
        assert_user_equal(a, b);
        break;
    case ECOM_KIND_TRANSACTION:
        assert_transaction_equal(a, b);
        break;
    case ECOM_KIND_SESSION_EVENT:
        assert_event_equal(a, b);
        break;
    default:
        fail_msg("unknown kind %d", (int)kind);
    }
}

/* ---- round trips ------------------------------------------------------------------------- */

static void decode_ok(ecom_kind kind, const char *data, size_t len, ecom_record *out)
{
    ecom_error err = {""};
    if (ecom_record_decode(kind, data, len, out, &err) != 0)
        fail_msg("decode failed: %s\nmessage: %.*s", err.msg, (int)len, data);
    assert_int_equal(out->kind, kind);
}

/* Encode, decode, compare, re-encode to the same bytes; also through the json_t entry points. */
static void assert_round_trip(ecom_kind kind, const void *rec)
{
    ecom_error err = {""};
    if (ecom_validate(kind, rec, &err))
        fail_msg("sample record is invalid: %s", err.msg);
    ecom_buf first, second;
    ecom_buf_init(&first);
    ecom_buf_init(&second);
    ecom_encode(kind, rec, &first);
    assert_int_equal(strlen(first.data), first.len);
    assert_true(first.len <= ECOM_MAX_MESSAGE);
    assert_non_null(strstr(first.data, "{\"schema_version\":2,"));

    ecom_record back;
    decode_ok(kind, first.data, first.len, &back);
    assert_record_equal(kind, rec, &back.u);
    ecom_encode(kind, &back.u, &second);
    assert_string_equal(second.data, first.data);

    json_t *obj = ecom_to_json(kind, rec);
    assert_non_null(obj);
    ecom_record via_json;
    assert_int_equal(ecom_record_from_json(kind, obj, &via_json, &err), 0);
    assert_record_equal(kind, rec, &via_json.u);
    json_decref(obj);
    ecom_buf_free(&first);
    ecom_buf_free(&second);
}

static void test_round_trip_reference_data(void **state)
{
    (void)state;
    ecom_category c = sample_category();
    ecom_product p = sample_product();
    ecom_user u = sample_user();
    assert_round_trip(ECOM_KIND_CATEGORY, &c);
    assert_round_trip(ECOM_KIND_PRODUCT, &p);
    assert_round_trip(ECOM_KIND_USER, &u);
}

static void test_round_trip_transactions(void **state)
{
    (void)state;
    ecom_transaction t = sample_transaction();
    assert_round_trip(ECOM_KIND_TRANSACTION, &t);
    /* standalone: no session, encoded as null */
    t.session_id[0] = '\0';
    assert_round_trip(ECOM_KIND_TRANSACTION, &t);
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(ECOM_KIND_TRANSACTION, &t, &b);
    assert_non_null(strstr(b.data, "\"session_id\":null,"));
    ecom_buf_free(&b);
}

static void test_round_trip_session_events(void **state)
{
    (void)state;
    const ecom_session_event events[] = {
        sample_session_start(),
        sample_page_view(ECOM_PAGE_PRODUCT_DETAIL, "prod_00001", "cat_001"),
        sample_page_view(ECOM_PAGE_CATEGORY_LISTING, "", "cat_001"),
        sample_page_view(ECOM_PAGE_HOME, "", ""),
        sample_page_view(ECOM_PAGE_SEARCH, "", ""),
        sample_page_view(ECOM_PAGE_CART, "", ""),
        sample_page_view(ECOM_PAGE_CHECKOUT, "", ""),
        sample_page_view(ECOM_PAGE_CONFIRMATION, "", ""),
        sample_cart_add(),
        sample_session_end(ECOM_CONV_CONVERTED),
        sample_session_end(ECOM_CONV_ABANDONED),
        sample_session_end(ECOM_CONV_BROWSED),
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        assert_round_trip(ECOM_KIND_SESSION_EVENT, &events[i]);
}

static void test_encoding_is_compact_and_ordered(void **state)
{
    (void)state;
    ecom_session_event ev = sample_session_end(ECOM_CONV_ABANDONED);
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(ECOM_KIND_SESSION_EVENT, &ev, &b);
    assert_string_equal(
        b.data, "{\"schema_version\":2,\"event_id\":\"sess_00000012-9\",\"type\":\"session_end\","
                "\"session_id\":\"sess_00000012\",\"user_id\":\"user_000123\","
                "\"ts\":\"2025-03-01T12:09:00Z\",\"start_time\":\"2025-03-01T12:00:00Z\","
                "\"duration_seconds\":1994,"
                "\"conversion_status\":\"abandoned\",\"transaction_id\":null,"
                "\"viewed_products\":[\"prod_00001\",\"prod_00002\",\"prod_00003\"],"
                "\"cart_contents\":{\"prod_00001\":2,\"prod_00002\":1}}");
    ecom_buf_free(&b);
}

static void test_round_trip_at_limits(void **state)
{
    (void)state;
    char name95[ECOM_NAME_MAX];
    memset(name95, 'n', ECOM_NAME_MAX - 1);
    name95[ECOM_NAME_MAX - 1] = '\0';

    ecom_category c = sample_category();
    SET(c.name, name95);
    c.n_subcategories = ECOM_MAX_SUBCATEGORIES;
    for (int i = 0; i < c.n_subcategories; i++) {
        snprintf(c.subcategories[i].subcategory_id, ECOM_ID_MAX, "sub_007_%02d", i);
        SET(c.subcategories[i].name, name95);
        c.subcategories[i].profit_margin = 0.125 * i; /* 0 .. 0.875, exact in binary */
    }
    assert_round_trip(ECOM_KIND_CATEGORY, &c);

    ecom_product p = sample_product();
    p.n_prices = ECOM_MAX_PRICES;
    for (int i = 0; i < p.n_prices; i++)
        p.price_history[i] = (ecom_price_point){1000 + i, T("2025-01-01T00:00:00Z")}; /* ties ok */
    p.base_price_cents = 1000 + ECOM_MAX_PRICES - 1;
    p.current_stock = INT32_MAX;
    assert_round_trip(ECOM_KIND_PRODUCT, &p);

    ecom_transaction t = sample_transaction();
    t.n_items = 0;
    t.subtotal_cents = 0;
    t.discount_cents = 0;
    for (int i = 0; i < ECOM_MAX_ITEMS; i++) {
        char id[ECOM_ID_MAX];
        snprintf(id, sizeof id, "prod_%05d", i);
        add_item(&t, id, ECOM_MAX_QUANTITY, 1000000000); /* 1e12 cents a line */
    }
    t.discount_cents = t.subtotal_cents; /* free: total 0 is allowed */
    t.total_cents = 0;
    SET(t.transaction_id, "txn_123456789012"); /* more digits than the minimum */
    assert_round_trip(ECOM_KIND_TRANSACTION, &t);

    ecom_session_event ev = sample_session_end(ECOM_CONV_ABANDONED);
    ecom_session_end *e = &ev.u.end;
    e->n_viewed = ECOM_MAX_VIEWED;
    for (int i = 0; i < ECOM_MAX_VIEWED; i++)
        snprintf(e->viewed_products[i], ECOM_ID_MAX, "prod_%05d", 99999 - i);
    e->n_cart = ECOM_MAX_ITEMS;
    for (int i = 0; i < ECOM_MAX_ITEMS; i++) {
        snprintf(e->cart_contents[i].product_id, ECOM_ID_MAX, "prod_%05d", 500 - i);
        e->cart_contents[i].quantity = i + 1;
    }
    e->duration_seconds = 7 * 86400;
    assert_round_trip(ECOM_KIND_SESSION_EVENT, &ev);
}

/* ---- real messages from the generator ---------------------------------------------------- */

/* `ecom generate --seed 7 --scale 0.01 --end 2025-06-01 --output -`, one line of each shape. */
// clang-format off
static const char *const real_lines[] = {
    "{\"topic\":\"ecom.categories\",\"key\":\"cat_000\",\"value\":{\"schema_version\":1,"
    "\"category_id\":\"cat_000\",\"name\":\"Electronics\","
    "\"subcategories\":[{\"subcategory_id\":\"sub_000_00\",\"name\":\"Electronics Premium\","
    "\"profit_margin\":0.1389},{\"subcategory_id\":\"sub_000_01\","
    "\"name\":\"Electronics Accessories\",\"profit_margin\":0.3687},"
    "{\"subcategory_id\":\"sub_000_02\",\"name\":\"Electronics Classics\","
    "\"profit_margin\":0.3344},{\"subcategory_id\":\"sub_000_03\","
    "\"name\":\"Electronics Outlet\",\"profit_margin\":0.2273}]}}",

    "{\"topic\":\"ecom.products\",\"key\":\"prod_00003\",\"value\":{\"schema_version\":1,"
    "\"product_id\":\"prod_00003\",\"name\":\"Classic Cotton Tent\","
    "\"category_id\":\"cat_023\",\"base_price_cents\":4612,"
    "\"price_history\":[{\"price_cents\":5362,\"date\":\"2025-02-21T21:19:18Z\"},"
    "{\"price_cents\":5522,\"date\":\"2025-03-14T07:10:42Z\"},{\"price_cents\":4612,"
    "\"date\":\"2025-04-21T04:45:45Z\"}],\"current_stock\":766,\"is_active\":true,"
    "\"creation_date\":\"2025-02-21T21:19:18Z\"}}",

    "{\"topic\":\"ecom.users\",\"key\":\"user_000000\",\"value\":{\"schema_version\":1,"
    "\"user_id\":\"user_000000\",\"geo_data\":{\"city\":\"Houston\",\"state\":\"TX\","
    "\"country\":\"USA\"},\"registration_date\":\"2024-11-13T04:27:41Z\","
    "\"last_active\":\"2025-03-28T08:39:59Z\"}}",

    "{\"topic\":\"ecom.transactions\",\"key\":\"user_000027\",\"value\":{\"schema_version\":1,"
    "\"transaction_id\":\"txn_00000004\",\"session_id\":\"sess_00000013\","
    "\"user_id\":\"user_000027\",\"timestamp\":\"2025-03-03T01:23:56Z\","
    "\"items\":[{\"product_id\":\"prod_00000\",\"quantity\":3,\"unit_price_cents\":23882,"
    "\"subtotal_cents\":71646}],\"subtotal_cents\":71646,\"discount_cents\":10746,"
    "\"total_cents\":60900,\"payment_method\":\"google_pay\",\"status\":\"delivered\"}}",

    "{\"topic\":\"ecom.transactions\",\"key\":\"user_000022\",\"value\":{\"schema_version\":1,"
    "\"transaction_id\":\"txn_00004049\",\"session_id\":null,\"user_id\":\"user_000022\","
    "\"timestamp\":\"2025-03-03T01:29:53Z\",\"items\":[{\"product_id\":\"prod_00002\","
    "\"quantity\":3,\"unit_price_cents\":3559,\"subtotal_cents\":10677},"
    "{\"product_id\":\"prod_00048\",\"quantity\":3,\"unit_price_cents\":24167,"
    "\"subtotal_cents\":72501},{\"product_id\":\"prod_00013\",\"quantity\":3,"
    "\"unit_price_cents\":20915,\"subtotal_cents\":62745}],\"subtotal_cents\":145923,"
    "\"discount_cents\":0,\"total_cents\":145923,\"payment_method\":\"debit_card\","
    "\"status\":\"delivered\"}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-0\","
    "\"type\":\"session_start\",\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:00:02Z\",\"start_time\":\"2025-03-03T00:00:02Z\","
    "\"device_profile\":{\"type\":\"desktop\",\"os\":\"Windows\",\"browser\":\"Edge\"},"
    "\"geo_data\":{\"city\":\"Los Angeles\",\"state\":\"CA\",\"country\":\"USA\","
    "\"ip_address\":\"204.199.97.141\"},\"referrer\":\"search_engine\"}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-1\",\"type\":\"page_view\","
    "\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:01:54Z\",\"start_time\":\"2025-03-03T00:00:02Z\",\"seq\":1,"
    "\"page_type\":\"category_listing\",\"category_id\":\"cat_002\",\"view_duration\":91}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-2\",\"type\":\"page_view\","
    "\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:03:25Z\",\"start_time\":\"2025-03-03T00:00:02Z\",\"seq\":2,"
    "\"page_type\":\"product_detail\",\"product_id\":\"prod_00003\","
    "\"category_id\":\"cat_023\",\"view_duration\":66}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-4\",\"type\":\"page_view\","
    "\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:05:51Z\",\"start_time\":\"2025-03-03T00:00:02Z\",\"seq\":4,"
    "\"page_type\":\"home\",\"view_duration\":363}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-6\",\"type\":\"cart_add\","
    "\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:11:54Z\",\"start_time\":\"2025-03-03T00:00:02Z\","
    "\"product_id\":\"prod_00049\",\"quantity\":1,\"unit_price_cents\":9212}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000051\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000000-13\","
    "\"type\":\"session_end\",\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
    "\"ts\":\"2025-03-03T00:33:16Z\",\"start_time\":\"2025-03-03T00:00:02Z\","
    "\"duration_seconds\":1994,\"conversion_status\":\"abandoned\",\"transaction_id\":null,"
    "\"viewed_products\":[\"prod_00003\",\"prod_00005\",\"prod_00049\",\"prod_00015\"],"
    "\"cart_contents\":{\"prod_00049\":1,\"prod_00015\":3}}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000098\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000002-15\","
    "\"type\":\"session_end\",\"session_id\":\"sess_00000002\",\"user_id\":\"user_000098\","
    "\"ts\":\"2025-03-03T00:40:03Z\",\"start_time\":\"2025-03-03T00:03:21Z\","
    "\"duration_seconds\":2202,\"conversion_status\":\"converted\","
    "\"transaction_id\":\"txn_00000000\",\"viewed_products\":[\"prod_00040\",\"prod_00013\","
    "\"prod_00000\",\"prod_00048\"],\"cart_contents\":{\"prod_00040\":2,\"prod_00000\":1,"
    "\"prod_00048\":3}}}",

    "{\"topic\":\"ecom.session_events\",\"key\":\"user_000054\","
    "\"value\":{\"schema_version\":1,\"event_id\":\"sess_00000001-5\",\"type\":\"session_end\","
    "\"session_id\":\"sess_00000001\",\"user_id\":\"user_000054\","
    "\"ts\":\"2025-03-03T00:33:00Z\",\"start_time\":\"2025-03-03T00:02:36Z\","
    "\"duration_seconds\":1824,\"conversion_status\":\"browsed\",\"transaction_id\":null,"
    "\"viewed_products\":[\"prod_00047\"],\"cart_contents\":{}}}",
};
// clang-format on
enum { N_REAL = sizeof real_lines / sizeof real_lines[0] };

/* Decodes the value of an NDJSON line (the exact bytes after "value":), checks its key. */
static void decode_real_line(const char *line, ecom_record *out, const char **value,
                             size_t *value_len)
{
    json_error_t jerr;
    json_t *env = json_loads(line, 0, &jerr);
    if (!env)
        fail_msg("test data is not JSON: %s", jerr.text);
    const char *topic = json_string_value(json_object_get(env, "topic"));
    const char *key = json_string_value(json_object_get(env, "key"));
    assert_non_null(topic);
    assert_non_null(key);
    int kind = -1;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        if (strncmp(topic, "ecom.", 5) == 0 && strcmp(topic + 5, ecom_kind_topic(k)) == 0)
            kind = k;
    if (kind < 0)
        fail_msg("no kind for topic %s", topic);

    const char *v = strstr(line, "\"value\":");
    assert_non_null(v);
    *value = v + strlen("\"value\":");
    *value_len = strlen(*value) - 1; /* the envelope's closing brace */
    decode_ok((ecom_kind)kind, *value, *value_len, out);
    assert_string_equal(ecom_key(out->kind, &out->u), key);
    json_decref(env);
}

static void test_real_lines_decode_and_reencode_identically(void **state)
{
    (void)state;
    for (int i = 0; i < N_REAL; i++) {
        ecom_record rec;
        const char *value;
        size_t len;
        decode_real_line(real_lines[i], &rec, &value, &len);
        ecom_buf b;
        ecom_buf_init(&b);
        ecom_encode(rec.kind, &rec.u, &b);
        /* these are version 1 lines, which carry no segment: they re-encode as version 2 with
         * nothing else changed */
        char *expected = strndup(value, len);
        char *v1 = strstr(expected, "\"schema_version\":1,");
        assert_non_null(v1);
        v1[strlen("\"schema_version\":")] = '2';
        assert_int_equal(b.len, len);
        assert_memory_equal(b.data, expected, len);
        free(expected);
        ecom_buf_free(&b);
    }
}

/* Version 2: every event but session_start, and a transaction of a session, carry the session's
 * segment; a session_start's segment is its own device, referrer and country. */
static void test_segment_fields_version_2(void **state)
{
    (void)state;
    static const char page_view[] =
        "{\"schema_version\":2,\"event_id\":\"sess_00000000-1\",\"type\":\"page_view\","
        "\"session_id\":\"sess_00000000\",\"user_id\":\"user_000051\","
        "\"ts\":\"2025-03-03T00:01:54Z\",\"start_time\":\"2025-03-03T00:00:02Z\","
        "\"segment\":{\"device\":\"desktop\",\"referrer\":\"email\",\"country\":\"USA\"},"
        "\"seq\":1,\"page_type\":\"category_listing\",\"category_id\":\"cat_002\","
        "\"view_duration\":91}";
    ecom_record rec;
    decode_ok(ECOM_KIND_SESSION_EVENT, page_view, strlen(page_view), &rec);
    assert_string_equal(rec.u.event.segment.device, "desktop");
    assert_string_equal(rec.u.event.segment.referrer, "email");
    assert_string_equal(rec.u.event.segment.country, "USA");
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(ECOM_KIND_SESSION_EVENT, &rec.u.event, &b);
    assert_string_equal(b.data, page_view);
    ecom_buf_free(&b);

    decode_real_line(real_lines[5], &rec, &(const char *){NULL}, &(size_t){0});
    assert_int_equal(rec.u.event.type, ECOM_EV_SESSION_START);
    assert_string_equal(rec.u.event.segment.device, "desktop");
    assert_string_equal(rec.u.event.segment.referrer, "search_engine");
    assert_string_equal(rec.u.event.segment.country, "USA");

    ecom_error err = {""};
    char bad[sizeof page_view + 8];
    snprintf(bad, sizeof bad, "%s", page_view);
    memcpy(strstr(bad, "desktop"), "desktox", 7);
    assert_int_not_equal(ecom_record_decode(ECOM_KIND_SESSION_EVENT, bad, strlen(bad), &rec, &err),
                         0);
    assert_non_null(strstr(err.msg, "field 'segment.device': 'desktox' is not one of"));
}

static void test_real_lines_field_values(void **state)
{
    (void)state;
    ecom_record r[N_REAL];
    for (int i = 0; i < N_REAL; i++) {
        const char *value;
        size_t len;
        decode_real_line(real_lines[i], &r[i], &value, &len);
    }
    /* the business id of each kind */
    assert_string_equal(ecom_record_id(&r[0]), "cat_000");
    assert_string_equal(ecom_record_id(&r[1]), "prod_00003");
    assert_string_equal(ecom_record_id(&r[2]), "user_000000");
    assert_string_equal(ecom_record_id(&r[3]), "txn_00000004");
    assert_string_equal(ecom_record_id(&r[10]), "sess_00000000-13");

    const ecom_category *cat = &r[0].u.category;
    assert_int_equal(cat->n_subcategories, 4);
    assert_string_equal(cat->subcategories[3].name, "Electronics Outlet");
    assert_true(cat->subcategories[0].profit_margin == 0.1389);

    const ecom_product *prod = &r[1].u.product;
    assert_int_equal(prod->n_prices, 3);
    assert_int_equal(prod->base_price_cents, 4612);
    assert_int_equal(prod->price_history[1].date, T("2025-03-14T07:10:42Z"));
    assert_int_equal(prod->creation_date, prod->price_history[0].date);
    assert_true(prod->is_active);

    assert_int_equal(r[2].u.user.registration_date, T("2024-11-13T04:27:41Z"));
    assert_string_equal(r[2].u.user.geo_data.ip_address, "");

    const ecom_transaction *disc = &r[3].u.transaction;
    assert_int_equal(disc->subtotal_cents, 71646);
    assert_int_equal(disc->discount_cents, 10746);
    assert_int_equal(disc->total_cents, 60900);
    assert_string_equal(disc->session_id, "sess_00000013");
    const ecom_transaction *standalone = &r[4].u.transaction;
    assert_string_equal(standalone->session_id, "");
    assert_int_equal(standalone->n_items, 3);
    assert_int_equal(standalone->items[2].subtotal_cents, 62745);

    assert_int_equal(r[5].u.event.type, ECOM_EV_SESSION_START);
    assert_int_equal(r[5].u.event.start_time, r[5].u.event.ts);
    for (int i = 6; i <= 10; i++) /* every event of sess_00000000 knows when it started */
        assert_int_equal(r[i].u.event.start_time, T("2025-03-03T00:00:02Z"));
    assert_string_equal(r[5].u.event.u.start.geo_data.ip_address, "204.199.97.141");
    assert_int_equal(r[6].u.event.u.page_view.page_type, ECOM_PAGE_CATEGORY_LISTING);
    assert_string_equal(r[6].u.event.u.page_view.product_id, "");
    assert_string_equal(r[6].u.event.u.page_view.category_id, "cat_002");
    assert_int_equal(r[7].u.event.u.page_view.page_type, ECOM_PAGE_PRODUCT_DETAIL);
    assert_string_equal(r[7].u.event.u.page_view.product_id, "prod_00003");
    assert_int_equal(r[8].u.event.u.page_view.page_type, ECOM_PAGE_HOME);
    assert_int_equal(r[8].u.event.u.page_view.view_duration, 363);
    assert_int_equal(r[9].u.event.u.cart_add.unit_price_cents, 9212);

    const ecom_session_end *abandoned = &r[10].u.event.u.end;
    assert_int_equal(abandoned->conversion_status, ECOM_CONV_ABANDONED);
    assert_int_equal(abandoned->n_viewed, 4);
    assert_string_equal(abandoned->viewed_products[3], "prod_00015");
    assert_int_equal(abandoned->n_cart, 2);
    assert_string_equal(abandoned->cart_contents[1].product_id, "prod_00015"); /* input order */
    assert_int_equal(abandoned->cart_contents[1].quantity, 3);
    for (int i = 10; i <= 12; i++) /* a session's duration is its end minus its start */
        assert_int_equal(r[i].u.event.u.end.duration_seconds,
                         r[i].u.event.ts - r[i].u.event.start_time);
    const ecom_session_end *converted = &r[11].u.event.u.end;
    assert_string_equal(converted->transaction_id, "txn_00000000");
    assert_int_equal(converted->n_cart, 3);
    const ecom_session_end *browsed = &r[12].u.event.u.end;
    assert_int_equal(browsed->conversion_status, ECOM_CONV_BROWSED);
    assert_int_equal(browsed->n_cart, 0);
    assert_int_equal(browsed->duration_seconds, 1824);
}

/* ---- bad input: edits of a valid base message -------------------------------------------- */

typedef enum base_message {
    B_CATEGORY,
    B_PRODUCT,
    B_USER,
    B_TXN,
    B_START,
    B_PAGE_VIEW, /* product_detail of prod_00001 in cat_001 */
    B_CART_ADD,
    B_END, /* converted, cart {prod_00001: 2, prod_00002: 1} */
    B_COUNT
} base_message;

static ecom_kind base_encode(base_message b, ecom_buf *out)
{
    ecom_record r = {0};
    switch (b) {
    case B_CATEGORY:
        r.kind = ECOM_KIND_CATEGORY;
        r.u.category = sample_category();
        break;
    case B_PRODUCT:
        r.kind = ECOM_KIND_PRODUCT;
        r.u.product = sample_product();
        break;
    case B_USER:
        r.kind = ECOM_KIND_USER;
        r.u.user = sample_user();
        break;
    case B_TXN:
        r.kind = ECOM_KIND_TRANSACTION;
        r.u.transaction = sample_transaction();
        break;
    case B_START:
        r.kind = ECOM_KIND_SESSION_EVENT;
        r.u.event = sample_session_start();
        break;
    case B_PAGE_VIEW:
        r.kind = ECOM_KIND_SESSION_EVENT;
        r.u.event = sample_page_view(ECOM_PAGE_PRODUCT_DETAIL, "prod_00001", "cat_001");
        break;
    case B_CART_ADD:
        r.kind = ECOM_KIND_SESSION_EVENT;
        r.u.event = sample_cart_add();
        break;
    default:
        r.kind = ECOM_KIND_SESSION_EVENT;
        r.u.event = sample_session_end(ECOM_CONV_CONVERTED);
        break;
    }
    ecom_encode(r.kind, &r.u, out);
    return r.kind;
}

static json_t *base_json(base_message b, ecom_kind *kind)
{
    ecom_buf buf;
    ecom_buf_init(&buf);
    *kind = base_encode(b, &buf);
    json_t *o = json_loadb(buf.data, buf.len, 0, NULL);
    ecom_buf_free(&buf);
    assert_non_null(o);
    return o;
}

typedef struct edit {
    const char *path;  /* "items[1].quantity", "cart_contents.prod_00001", "schema_version" */
    const char *value; /* JSON text to set; NULL deletes */
} edit;

typedef struct bad_case {
    const char *what;
    base_message base;
    edit edits[3];
    const char *expected; /* the error text, matched as a substring */
} bad_case;

/* Walks to the container of the path's last step; that step is key, or index when key is "". */
static json_t *walk(json_t *root, const char *path, char key[64], size_t *index)
{
    json_t *node = root;
    for (const char *p = path;;) {
        key[0] = '\0';
        if (*p == '[') {
            char *end;
            *index = strtoul(p + 1, &end, 10);
            assert_true(*end == ']');
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");
            assert_true(n > 0 && n < 64);
            memcpy(key, p, n);
            key[n] = '\0';
            p += n;
        }
        if (*p == '.')
            p++;
        if (*p == '\0')
            return node;
        node = key[0] ? json_object_get(node, key) : json_array_get(node, *index);
        if (!node)
            fail_msg("path '%s' is not in the base message", path);
    }
}

static void apply_edit(json_t *root, const edit *e)
{
    char key[64];
    size_t index = 0;
    json_t *parent = walk(root, e->path, key, &index);
    int rc;
    if (!e->value) {
        rc = key[0] ? json_object_del(parent, key) : json_array_remove(parent, index);
    } else {
        json_error_t jerr;
        json_t *v = json_loads(e->value, JSON_DECODE_ANY, &jerr);
        if (!v)
            fail_msg("edit value %s is not JSON: %s", e->value, jerr.text);
        rc = key[0] ? json_object_set_new(parent, key, v) : json_array_set_new(parent, index, v);
    }
    if (rc)
        fail_msg("edit of '%s' did not apply", e->path);
}

/* Decodes text and expects failure with a message containing `expected`. */
static void assert_decode_fails(ecom_kind kind, const char *data, size_t len, const char *expected)
{
    ecom_record rec;
    ecom_error err = {""};
    if (ecom_record_decode(kind, data, len, &rec, &err) != -1)
        fail_msg("decoded without error: %.*s", (int)(len > 400 ? 400 : len), data);
    if (!strstr(err.msg, expected))
        fail_msg("error text\n  '%s'\ndoes not contain\n  '%s'", err.msg, expected);
}

static void run_bad_case(void **state)
{
    const bad_case *c = *state;
    ecom_kind kind;
    json_t *msg = base_json(c->base, &kind);
    for (int i = 0; i < 3 && c->edits[i].path; i++)
        apply_edit(msg, &c->edits[i]);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    assert_non_null(text);
    assert_decode_fails(kind, text, strlen(text), c->expected);
    free(text);
}

#define X10 "xxxxxxxxxx"
#define JSON_96_BYTES "\"" X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxx\""
#define JSON_64_BYTES "\"" X10 X10 X10 X10 X10 X10 "xxxx\""
#define JSON_24_BYTES "\"" X10 X10 "xxxx\""
#define MAX_CENTS_TEXT "1125899906842624" /* 2^50 */
#define ONE_OF_PAYMENT "credit_card|debit_card|paypal|apple_pay|google_pay|bank_transfer"
#define NOT_A_TIME "is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"

// clang-format off
static const bad_case bad_cases[] = {
    /* schema version */
    {"missing schema_version", B_USER, {{"schema_version", NULL}},
     "field 'schema_version': missing"},
    {"schema_version 3", B_USER, {{"schema_version", "3"}},
     "field 'schema_version': must be 1..2, got 3"},
    {"schema_version 0", B_TXN, {{"schema_version", "0"}},
     "field 'schema_version': must be 1..2, got 0"},
    {"schema_version as a string", B_USER, {{"schema_version", "\"1\""}},
     "field 'schema_version': must be an integer"},

    /* a missing required field, for each kind */
    {"category without name", B_CATEGORY, {{"name", NULL}}, "field 'name': missing"},
    {"subcategory without profit_margin", B_CATEGORY, {{"subcategories[2].profit_margin", NULL}},
     "field 'subcategories[2].profit_margin': missing"},
    {"product without price_history", B_PRODUCT, {{"price_history", NULL}},
     "field 'price_history': missing"},
    {"product without is_active", B_PRODUCT, {{"is_active", NULL}}, "field 'is_active': missing"},
    {"product price without date", B_PRODUCT, {{"price_history[1].date", NULL}},
     "field 'price_history[1].date': missing"},
    {"user without geo_data.city", B_USER, {{"geo_data.city", NULL}},
     "field 'geo_data.city': missing"},
    {"user without registration_date", B_USER, {{"registration_date", NULL}},
     "field 'registration_date': missing"},
    {"transaction without items[1].quantity", B_TXN, {{"items[1].quantity", NULL}},
     "field 'items[1].quantity': missing"},
    {"transaction without payment_method", B_TXN, {{"payment_method", NULL}},
     "field 'payment_method': missing"},
    {"transaction without user_id", B_TXN, {{"user_id", NULL}}, "field 'user_id': missing"},
    {"event without ts", B_CART_ADD, {{"ts", NULL}}, "field 'ts': missing"},
    {"event without type", B_CART_ADD, {{"type", NULL}}, "field 'type': missing"},
    {"event without start_time", B_END, {{"start_time", NULL}}, "field 'start_time': missing"},
    {"session_start without device_profile.browser", B_START,
     {{"device_profile.browser", NULL}}, "field 'device_profile.browser': missing"},
    {"session_start without geo_data.ip_address", B_START, {{"geo_data.ip_address", NULL}},
     "field 'geo_data.ip_address': missing"},
    {"page_view without view_duration", B_PAGE_VIEW, {{"view_duration", NULL}},
     "field 'view_duration': missing"},
    {"cart_add without unit_price_cents", B_CART_ADD, {{"unit_price_cents", NULL}},
     "field 'unit_price_cents': missing"},
    {"session_end without cart_contents", B_END, {{"cart_contents", NULL}},
     "field 'cart_contents': missing"},
    {"session_end without viewed_products", B_END, {{"viewed_products", NULL}},
     "field 'viewed_products': missing"},

    /* wrong JSON types */
    {"string where an integer belongs", B_TXN, {{"items[0].quantity", "\"2\""}},
     "field 'items[0].quantity': must be an integer"},
    {"integer where a string belongs", B_USER, {{"user_id", "123"}},
     "field 'user_id': must be a string"},
    {"float for a cents field", B_TXN, {{"items[0].unit_price_cents", "12.5"}},
     "field 'items[0].unit_price_cents': must be an integer"},
    {"integral float for a cents field", B_TXN, {{"total_cents", "3150.0"}},
     "field 'total_cents': must be an integer"},
    {"null for a required string", B_TXN, {{"transaction_id", "null"}},
     "field 'transaction_id': must be a string"},
    {"string for a boolean", B_PRODUCT, {{"is_active", "\"yes\""}},
     "field 'is_active': must be true or false"},
    {"string for an object", B_USER, {{"geo_data", "\"Berlin\""}},
     "field 'geo_data': must be an object"},
    {"object for an array", B_TXN, {{"items", "{}"}}, "field 'items': must be an array"},
    {"number for an item", B_TXN, {{"items[1]", "5"}}, "field 'items[1]': must be an object"},
    {"string for a cart quantity", B_END, {{"cart_contents.prod_00002", "\"1\""}},
     "field 'cart_contents.prod_00002': must be an integer"},
    {"string for a profit margin", B_CATEGORY, {{"subcategories[0].profit_margin", "\"0.2\""}},
     "field 'subcategories[0].profit_margin': must be a number"},
    {"number for a timestamp", B_TXN, {{"timestamp", "1740832496"}},
     "field 'timestamp': must be a string"},
    {"number in viewed_products", B_END, {{"viewed_products[1]", "7"}},
     "field 'viewed_products[1]': must be a product id string"},

    /* quantities and ranges */
    {"negative quantity", B_TXN, {{"items[1].quantity", "-3"}},
     "field 'items[1].quantity': must be 1..1000, got -3"},
    {"quantity 0", B_TXN, {{"items[1].quantity", "0"}},
     "field 'items[1].quantity': must be 1..1000, got 0"},
    {"quantity 1001", B_TXN, {{"items[1].quantity", "1001"}},
     "field 'items[1].quantity': must be 1..1000, got 1001"},
    {"cart_add quantity 0", B_CART_ADD, {{"quantity", "0"}},
     "field 'quantity': must be 1..1000, got 0"},
    {"cart_contents quantity 1001", B_END, {{"cart_contents.prod_00002", "1001"}},
     "field 'cart_contents.prod_00002': must be 1..1000, got 1001"},
    {"cart_contents quantity 0", B_END, {{"cart_contents.prod_00001", "0"}},
     "field 'cart_contents.prod_00001': must be 1..1000, got 0"},
    {"unit price 0", B_TXN, {{"items[0].unit_price_cents", "0"}},
     "field 'items[0].unit_price_cents': must be 1.." MAX_CENTS_TEXT ", got 0"},
    {"negative discount", B_TXN, {{"discount_cents", "-1"}},
     "field 'discount_cents': must be 0.." MAX_CENTS_TEXT ", got -1"},
    {"negative stock", B_PRODUCT, {{"current_stock", "-1"}},
     "field 'current_stock': must be 0..2147483647, got -1"},
    {"profit margin over 1", B_CATEGORY, {{"subcategories[1].profit_margin", "1.5"}},
     "field 'subcategories[1].profit_margin': must be 0..1, got 1.5"},
    {"page view seq 0", B_PAGE_VIEW, {{"seq", "0"}}, "field 'seq': must be 1..100000, got 0"},
    {"negative view_duration", B_PAGE_VIEW, {{"view_duration", "-1"}},
     "field 'view_duration': must be 0..86400, got -1"},
    {"session longer than a week", B_END, {{"duration_seconds", "604801"}},
     "field 'duration_seconds': must be 0..604800, got 604801"},

    /* id shapes */
    {"user id with too few digits", B_USER, {{"user_id", "\"user_12\""}},
     "field 'user_id': 'user_12' is not an id of the form user_000000"},
    {"upper-case user id", B_USER, {{"user_id", "\"USER_000001\""}},
     "field 'user_id': 'USER_000001' is not an id of the form user_000000"},
    {"user id with trailing space", B_TXN, {{"user_id", "\"user_000123 \""}},
     "field 'user_id': 'user_000123 ' is not an id of the form user_000000"},
    {"product id with letters", B_TXN, {{"items[0].product_id", "\"prod_abc\""}},
     "field 'items[0].product_id': 'prod_abc' is not an id of the form prod_00000"},
    {"empty product id", B_PRODUCT, {{"product_id", "\"\""}},
     "field 'product_id': '' is not an id of the form prod_00000"},
    {"short category id", B_CATEGORY, {{"category_id", "\"cat_7\""}},
     "field 'category_id': 'cat_7' is not an id of the form cat_000"},
    {"bad subcategory id", B_CATEGORY, {{"subcategories[1].subcategory_id", "\"sub_7\""}},
     "field 'subcategories[1].subcategory_id': 'sub_7' is not an id of the form sub_000_00"},
    {"bad transaction id", B_TXN, {{"transaction_id", "\"txn_123\""}},
     "field 'transaction_id': 'txn_123' is not an id of the form txn_00000000"},
    {"bad session id on a transaction", B_TXN, {{"session_id", "\"session_1\""}},
     "field 'session_id': 'session_1' is not an id of the form sess_00000000"},
    {"bad session id on an event", B_START, {{"session_id", "\"sess_1\""}},
     "field 'session_id': 'sess_1' is not an id of the form sess_00000000"},
    {"event id without a number", B_CART_ADD, {{"event_id", "\"sess_00000012-x\""}},
     "field 'event_id': 'sess_00000012-x' is not of the form <session_id>-<n>"},
    {"event id of another session", B_CART_ADD, {{"event_id", "\"sess_00000013-4\""}},
     "field 'event_id': 'sess_00000013-4' is not of the form <session_id>-<n>"},
    {"bad id in viewed_products", B_END, {{"viewed_products[1]", "\"p2\""}},
     "field 'viewed_products[1]': 'p2' is not an id of the form prod_00000"},
    {"bad product id as a cart key", B_END, {{"cart_contents.item_1", "1"}},
     "field 'cart_contents': 'item_1' is not an id of the form prod_00000"},

    /* enumerations */
    {"unknown event type", B_CART_ADD, {{"type", "\"page_click\""}},
     "field 'type': unknown event type 'page_click'"},
    {"unknown page type", B_PAGE_VIEW, {{"page_type", "\"landing\""}},
     "field 'page_type': unknown page type 'landing'"},
    {"unknown conversion status", B_END, {{"conversion_status", "\"bought\""}},
     "field 'conversion_status': 'bought' is not converted|abandoned|browsed"},
    {"unknown payment method", B_TXN, {{"payment_method", "\"bitcoin\""}},
     "field 'payment_method': 'bitcoin' is not one of " ONE_OF_PAYMENT},
    {"unknown status", B_TXN, {{"status", "\"lost\""}},
     "field 'status': 'lost' is not one of completed|processing|shipped|delivered"},
    {"unknown device os", B_START, {{"device_profile.os", "\"Linux\""}},
     "field 'device_profile.os': 'Linux' is not one of iOS|Android|Windows|macOS"},
    {"unknown referrer", B_START, {{"referrer", "\"tv\""}},
     "field 'referrer': 'tv' is not one of direct|email|social|search_engine|affiliate"},

    /* money arithmetic */
    {"item subtotal not quantity x unit price", B_TXN, {{"items[0].subtotal_cents", "2499"}},
     "field 'items[0].subtotal_cents': 2499 is not quantity x unit_price_cents = 2500"},
    {"transaction subtotal not the sum", B_TXN, {{"subtotal_cents", "3500"}},
     "field 'subtotal_cents': 3500 is not the sum of items, 3499"},
    {"total not subtotal - discount", B_TXN, {{"total_cents", "3149"}},
     "field 'total_cents': 3149 is not subtotal - discount = 3150"},
    {"discount over subtotal", B_TXN, {{"discount_cents", "3500"}},
     "field 'discount_cents': must be 0..subtotal_cents, got 3500"},
    {"base price not the latest price", B_PRODUCT, {{"base_price_cents", "5362"}},
     "field 'base_price_cents': 5362 is not the latest price_history price 4612"},
    {"price history out of order", B_PRODUCT,
     {{"price_history[2].date", "\"2025-01-01T00:00:00Z\""}},
     "field 'price_history[2].date': not sorted by date"},
    {"empty price history", B_PRODUCT, {{"price_history", "[]"}},
     "field 'price_history': must have 1..8 entries, has 0"},
    {"no items", B_TXN, {{"items", "[]"}}, "field 'items': must have 1..32 entries, has 0"},
    {"no subcategories", B_CATEGORY, {{"subcategories", "[]"}},
     "field 'subcategories': must have 1..8 entries, has 0"},

    /* timestamps */
    {"timestamp Feb 30", B_TXN, {{"timestamp", "\"2025-02-30T00:00:00Z\""}},
     "field 'timestamp': '2025-02-30T00:00:00Z' " NOT_A_TIME},
    {"timestamp with a space", B_TXN, {{"timestamp", "\"2025-03-01 12:00:00\""}},
     "field 'timestamp': '2025-03-01 12:00:00' " NOT_A_TIME},
    {"timestamp without Z", B_TXN, {{"timestamp", "\"2025-03-01T12:00:00\""}},
     "field 'timestamp': '2025-03-01T12:00:00' " NOT_A_TIME},
    {"timestamp hour 24", B_TXN, {{"timestamp", "\"2025-03-01T24:00:00Z\""}},
     "field 'timestamp': '2025-03-01T24:00:00Z' " NOT_A_TIME},
    {"timestamp with an offset", B_START, {{"ts", "\"2025-03-01T12:00:00+01:00\""}},
     "field 'ts': '2025-03-01T12:00:00+01:00' " NOT_A_TIME},
    {"bad price date", B_PRODUCT, {{"price_history[0].date", "\"2025-02-21\""}},
     "field 'price_history[0].date': '2025-02-21' " NOT_A_TIME},
    {"bad start_time", B_PAGE_VIEW, {{"start_time", "\"2025-03-01T12:00Z\""}},
     "field 'start_time': '2025-03-01T12:00Z' " NOT_A_TIME},
    {"event before its session started", B_CART_ADD, {{"ts", "\"2025-03-01T11:59:59Z\""}},
     "field 'ts': before the session's start_time"},
    {"last_active before registration", B_USER, {{"last_active", "\"2024-09-15T07:59:59Z\""}},
     "field 'last_active': before registration_date"},

    /* string lengths and emptiness */
    {"name of 96 bytes", B_CATEGORY, {{"name", JSON_96_BYTES}},
     "field 'name': longer than 95 bytes"},
    {"product name of 96 bytes", B_PRODUCT, {{"name", JSON_96_BYTES}},
     "field 'name': longer than 95 bytes"},
    {"city of 64 bytes", B_USER, {{"geo_data.city", JSON_64_BYTES}},
     "field 'geo_data.city': longer than 63 bytes"},
    {"payment method of 24 bytes", B_TXN, {{"payment_method", JSON_24_BYTES}},
     "field 'payment_method': longer than 23 bytes"},
    {"user id of 32 bytes", B_USER, {{"user_id", "\"user_000000000000000000000000000\""}},
     "field 'user_id': longer than 31 bytes"},
    {"empty name", B_CATEGORY, {{"name", "\"\""}}, "field 'name': must not be empty"},
    {"empty state", B_USER, {{"geo_data.state", "\"\""}},
     "field 'geo_data.state': must not be empty"},

    /* session rules */
    {"browsed with a non-empty cart", B_END,
     {{"conversion_status", "\"browsed\""}, {"transaction_id", "null"}},
     "field 'conversion_status': browsed, but the cart is not empty"},
    {"abandoned with an empty cart", B_END,
     {{"conversion_status", "\"abandoned\""}, {"transaction_id", "null"}, {"cart_contents", "{}"}},
     "field 'conversion_status': abandoned, but the cart is empty"},
    {"converted without transaction_id", B_END, {{"transaction_id", "null"}},
     "field 'transaction_id': '' is not an id of the form txn_00000000"},
    {"abandoned with a transaction_id", B_END, {{"conversion_status", "\"abandoned\""}},
     "field 'transaction_id': only a converted session has one"},
    {"product_detail without product_id", B_PAGE_VIEW, {{"product_id", NULL}},
     "field 'product_id': '' is not an id of the form prod_00000"},
    {"product_detail without category_id", B_PAGE_VIEW, {{"category_id", NULL}},
     "field 'category_id': '' is not an id of the form cat_000"},
    {"home page with a product_id", B_PAGE_VIEW, {{"page_type", "\"home\""}},
     "field 'product_id': only product_detail pages name a product"},
    {"search page with a category_id", B_PAGE_VIEW,
     {{"page_type", "\"search\""}, {"product_id", NULL}},
     "field 'category_id': not expected on a search page"},
    {"category_listing without category_id", B_PAGE_VIEW,
     {{"page_type", "\"category_listing\""}, {"product_id", NULL}, {"category_id", NULL}},
     "field 'category_id': '' is not an id of the form cat_000"},

    /* addresses, subcategory ids, control characters in names and places */
    {"ip address out of range", B_START, {{"geo_data.ip_address", "\"999.1.1.1\""}},
     "field 'geo_data.ip_address': '999.1.1.1' is not an IPv4 or IPv6 address"},
    {"ip address empty", B_START, {{"geo_data.ip_address", "\"\""}},
     "field 'geo_data.ip_address': '' is not an IPv4 or IPv6 address"},
    {"ip address with text after it", B_START, {{"geo_data.ip_address", "\"10.0.0.1 x\""}},
     "field 'geo_data.ip_address': '10.0.0.1 x' is not an IPv4 or IPv6 address"},
    {"ip address a host name", B_START, {{"geo_data.ip_address", "\"localhost\""}},
     "field 'geo_data.ip_address': 'localhost' is not an IPv4 or IPv6 address"},
    {"ip address with a zone", B_START, {{"geo_data.ip_address", "\"fe80::1%eth0\""}},
     "field 'geo_data.ip_address': 'fe80::1%eth0' is not an IPv4 or IPv6 address"},
    {"ip address with a leading zero", B_START, {{"geo_data.ip_address", "\"10.01.0.1\""}},
     "field 'geo_data.ip_address': '10.01.0.1' is not an IPv4 or IPv6 address"},
    {"subcategory id without digits", B_CATEGORY,
     {{"subcategories[0].subcategory_id", "\"sub_abc_de\""}},
     "field 'subcategories[0].subcategory_id': 'sub_abc_de' is not an id of the form sub_000_00"},
    {"subcategory id with a letter", B_CATEGORY,
     {{"subcategories[2].subcategory_id", "\"sub_007_0x\""}},
     "field 'subcategories[2].subcategory_id': 'sub_007_0x' is not an id of the form sub_000_00"},
    {"subcategory id with a short category part", B_CATEGORY,
     {{"subcategories[0].subcategory_id", "\"sub_07_001\""}},
     "field 'subcategories[0].subcategory_id': 'sub_07_001' is not an id of the form sub_000_00"},
    {"subcategory id with a trailing blank", B_CATEGORY,
     {{"subcategories[0].subcategory_id", "\"sub_007_00 \""}},
     "field 'subcategories[0].subcategory_id': 'sub_007_00 ' is not an id of the form sub_000_00"},
    {"category name with a newline", B_CATEGORY, {{"name", "\"Home\\nGarden\""}},
     "field 'name': contains control character 0x0a at byte 4"},
    {"subcategory name with a tab", B_CATEGORY, {{"subcategories[1].name", "\"a\\tb\""}},
     "field 'subcategories[1].name': contains control character 0x09 at byte 1"},
    {"product name with an escape sequence", B_PRODUCT, {{"name", "\"\\u001b[2J\""}},
     "field 'name': contains control character 0x1b at byte 0"},
    {"user city with DEL", B_USER, {{"geo_data.city", "\"Z\\u007f\""}},
     "field 'geo_data.city': contains control character 0x7f at byte 1"},
    {"user country with a carriage return", B_USER, {{"geo_data.country", "\"CH\\r\""}},
     "field 'geo_data.country': contains control character 0x0d at byte 2"},
    {"session state with a C1 control", B_START, {{"geo_data.state", "\"Z\\u0085H\""}},
     "field 'geo_data.state': contains control character 0x85 at byte 1"},
    {"session city with a NUL byte", B_START, {{"geo_data.city", "\"Z\\u0001\""}},
     "field 'geo_data.city': contains control character 0x01 at byte 1"},

    /* hostile values are quoted escaped: one line, quotes that cannot close the text's own */
    {"product id forging a log line", B_TXN,
     {{"items[0].product_id", "\"prod_1\\nlevel=error msg=\\\"f\\\"\""}},
     "field 'items[0].product_id': 'prod_1\\nlevel=error msg=\\\"f\\\"' is not an id of the "
     "form prod_00000"},
    {"user id with quotes and a backslash", B_USER, {{"user_id", "\"user_1'\\\\\\\"\""}},
     "field 'user_id': 'user_1\\'\\\\\\\"' is not an id of the form user_000000"},
    {"event type with a terminal escape", B_CART_ADD, {{"type", "\"\\u001b[31mred\""}},
     "field 'type': unknown event type '\\x1b[31mred'"},
    {"page type with a line separator", B_PAGE_VIEW, {{"page_type", "\"home\\u2028\""}},
     "field 'page_type': unknown page type 'home\\u2028'"},
    {"payment method with a tab", B_TXN, {{"payment_method", "\"pay\\tpal\""}},
     "field 'payment_method': 'pay\\tpal' is not one of " ONE_OF_PAYMENT},
    {"cart key with a newline", B_END, {{"cart_contents.prod_00001", NULL},
                                        {"cart_contents.prod\n1", "\"2\""}},
     "field 'cart_contents.prod\\n1': must be an integer"},
    {"time with a newline", B_TXN, {{"timestamp", "\"2025-03-01\\n12:00:00Z\""}},
     "field 'timestamp': '2025-03-01\\n12:00:00Z' " NOT_A_TIME},
    {"event id with a bidirectional override", B_CART_ADD,
     {{"event_id", "\"sess_00000012-\\u202e4\""}},
     "field 'event_id': 'sess_00000012-\\u202e4' is not of the form <session_id>-<n>"},
};
// clang-format on
enum { N_BAD = sizeof bad_cases / sizeof bad_cases[0] };

/* ---- bad input: raw bytes ---------------------------------------------------------------- */

typedef struct raw_case {
    const char *what;
    const char *data;
    size_t len;           /* 0: strlen(data) */
    const char *expected; /* a part of the error text */
} raw_case;

/* A user message with its city spliced in, to put odd bytes inside a string. */
#define USER_WITH_CITY(city)                                                                       \
    "{\"schema_version\":1,\"user_id\":\"user_000123\",\"geo_data\":{\"city\":\"" city             \
    "\",\"state\":\"ZH\",\"country\":\"CH\"},\"registration_date\":\"2024-09-15T08:00:00Z\","      \
    "\"last_active\":\"2025-02-01T10:00:00Z\"}"

// clang-format off
static const raw_case raw_cases[] = {
    {"not JSON", "hello", 0, "not valid JSON at line 1 column 5: '[' or '{' expected"},
    {"bare number", "42", 0, "not valid JSON at line 1 column 2: '[' or '{' expected"},
    {"truncated JSON", "{\"schema_version\":1,\"user_id\":\"user_0", 0,
     "not valid JSON at line 1 column 37: premature end of input"},
    {"truncated after an object member", "{\"schema_version\":1,", 0, "not valid JSON"},
    {"JSON array instead of object", "[{\"schema_version\":1}]", 0,
     "message is not a JSON object"},
    {"empty message", "", 0, "message is empty"},
    {"whitespace only", "  \n", 0, "not valid JSON"},
    {"trailing garbage", USER_WITH_CITY("Bern") " x", 0, "end of file expected"},
    {"trailing comma", "{\"schema_version\":1,}", 0, "string or '}' expected"},
    {"invalid UTF-8 byte 0xff", USER_WITH_CITY("Z\xffrich"), 0, "unable to decode byte 0xff"},
    {"overlong UTF-8 encoding", USER_WITH_CITY("\xc0\xaf"), 0, "unable to decode byte 0xc0"},
    {"UTF-8 encoded surrogate", USER_WITH_CITY("\xed\xa0\x80"), 0,
     "unable to decode byte 0xed"},
    {"lone surrogate escape", USER_WITH_CITY("\\ud800"), 0, "invalid Unicode '\\uD800'"},
    {"embedded NUL as \\u0000", USER_WITH_CITY("Z\\u0000rich"), 0,
     "\\u0000 is not allowed without JSON_ALLOW_NUL"},
    {"raw NUL byte in a string", USER_WITH_CITY("Z\0rich"), sizeof USER_WITH_CITY("Z\0rich") - 1,
     "control character 0x0"},
    {"duplicate keys",
     "{\"schema_version\":1,\"user_id\":\"user_000123\",\"user_id\":\"user_000124\"}", 0,
     "duplicate object key"},
    {"duplicate nested keys", USER_WITH_CITY("Bern\",\"city\":\"Basel"), 0,
     "duplicate object key"},
};
// clang-format on
enum { N_RAW = sizeof raw_cases / sizeof raw_cases[0] };

static void run_raw_case(void **state)
{
    const raw_case *c = *state;
    size_t len = c->len ? c->len : strlen(c->data);
    assert_decode_fails(ECOM_KIND_USER, c->data, len, c->expected);
}

/* The raw rows fail for the reason named, not for something else in the message. */
static void test_raw_case_control_decodes(void **state)
{
    (void)state;
    static const char ok[] = USER_WITH_CITY("Z\xc3\xbcrich \\u00e9 \\ud83d\\ude00");
    ecom_record rec;
    decode_ok(ECOM_KIND_USER, ok, sizeof ok - 1, &rec);
    assert_string_equal(rec.u.user.geo_data.city, "Z\xc3\xbcrich \xc3\xa9 \xf0\x9f\x98\x80");
}

/* ---- limits that need generated input ---------------------------------------------------- */

static void test_base_messages_are_valid(void **state)
{
    (void)state;
    for (int b = 0; b < B_COUNT; b++) {
        ecom_buf buf;
        ecom_buf_init(&buf);
        ecom_kind kind = base_encode((base_message)b, &buf);
        ecom_record rec;
        decode_ok(kind, buf.data, buf.len, &rec);
        ecom_buf_free(&buf);
    }
}

/* Replaces the array at key with n copies of its first element. */
static void repeat_first(json_t *obj, const char *key, int n)
{
    json_t *arr = json_object_get(obj, key);
    json_t *first = json_incref(json_array_get(arr, 0));
    json_array_clear(arr);
    for (int i = 0; i < n; i++)
        json_array_append(arr, first);
    json_decref(first);
}

static void assert_json_decode_fails(ecom_kind kind, const json_t *msg, const char *expected)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    assert_decode_fails(kind, text, strlen(text), expected);
    free(text);
}

static void test_too_many_entries(void **state)
{
    (void)state;
    ecom_kind kind;
    json_t *txn = base_json(B_TXN, &kind);
    repeat_first(txn, "items", ECOM_MAX_ITEMS + 1);
    assert_json_decode_fails(kind, txn, "field 'items': more than 32 entries");
    json_decref(txn);

    json_t *end = base_json(B_END, &kind);
    repeat_first(end, "viewed_products", ECOM_MAX_VIEWED + 1);
    assert_json_decode_fails(kind, end, "field 'viewed_products': more than 64 entries");
    json_decref(end);

    end = base_json(B_END, &kind);
    json_t *cart = json_object_get(end, "cart_contents");
    for (int i = 0; i < ECOM_MAX_ITEMS + 1; i++) {
        char id[ECOM_ID_MAX];
        snprintf(id, sizeof id, "prod_%05d", 100 + i);
        json_object_set_new(cart, id, json_integer(1));
    }
    assert_json_decode_fails(kind, end, "field 'cart_contents': more than 32 products");
    json_decref(end);

    json_t *prod = base_json(B_PRODUCT, &kind);
    repeat_first(prod, "price_history", ECOM_MAX_PRICES + 1);
    assert_json_decode_fails(kind, prod, "field 'price_history': more than 8 entries");
    json_decref(prod);
}

/* A valid user message padded with trailing whitespace to exactly `size` bytes. */
static char *padded_user(size_t size)
{
    ecom_user u = sample_user();
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(ECOM_KIND_USER, &u, &b);
    assert_true(b.len < size);
    char *text = malloc(size);
    assert_non_null(text);
    memcpy(text, b.data, b.len);
    memset(text + b.len, ' ', size - b.len);
    ecom_buf_free(&b);
    return text;
}

static void test_message_size_limit(void **state)
{
    (void)state;
    char *at_limit = padded_user(ECOM_MAX_MESSAGE);
    ecom_record rec;
    decode_ok(ECOM_KIND_USER, at_limit, ECOM_MAX_MESSAGE, &rec);
    free(at_limit);

    char *over = padded_user(ECOM_MAX_MESSAGE + 1);
    assert_decode_fails(ECOM_KIND_USER, over, ECOM_MAX_MESSAGE + 1,
                        "message is 65537 bytes, over the 65536 byte limit");
    free(over);
}

static void test_unknown_fields_accepted(void **state)
{
    (void)state;
    ecom_kind kind;
    json_t *txn = base_json(B_TXN, &kind);
    char *expected = json_dumps(txn, JSON_COMPACT);
    json_object_set_new(txn, "coupon", json_string("SPRING"));
    json_object_set_new(txn, "schema_note", json_pack("{s:[i,i]}", "x", 1, 2));
    json_object_set_new(json_array_get(json_object_get(txn, "items"), 1), "gift_wrap", json_true());
    char *text = json_dumps(txn, JSON_COMPACT);
    ecom_record rec;
    decode_ok(kind, text, strlen(text), &rec);
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(kind, &rec.u, &b);
    assert_string_equal(b.data, expected); /* the extras are dropped, nothing else changes */
    ecom_buf_free(&b);
    free(text);
    free(expected);
    json_decref(txn);

    json_t *user = base_json(B_USER, &kind);
    json_object_set_new(json_object_get(user, "geo_data"), "zip", json_string("8001"));
    json_object_set_new(user, "ip_address", json_null());
    text = json_dumps(user, JSON_COMPACT);
    decode_ok(kind, text, strlen(text), &rec);
    assert_string_equal(rec.u.user.geo_data.city, "Z\xc3\xbcrich");
    free(text);
    json_decref(user);
}

/* A control character in a name is written escaped, and refused on the way back in. */
static void test_control_character_encoded_but_refused(void **state)
{
    (void)state;
    ecom_category c = sample_category();
    SET(c.name, "Home\nGarden\x1b");
    ecom_buf b;
    ecom_buf_init(&b);
    ecom_encode(ECOM_KIND_CATEGORY, &c, &b);
    assert_non_null(strstr(b.data, "\"name\":\"Home\\nGarden\\u001b\""));
    assert_decode_fails(ECOM_KIND_CATEGORY, b.data, b.len,
                        "field 'name': contains control character 0x0a at byte 4");
    ecom_buf_free(&b);
    ecom_error err;
    assert_int_equal(ecom_validate(ECOM_KIND_CATEGORY, &c, &err), -1);
    assert_string_equal(err.msg, "field 'name': contains control character 0x0a at byte 4");
}

/* Ids grow digits with the scale: a thousandth category's subcategories are still valid, and
 * IPv4, IPv6 and IPv4-mapped addresses all are addresses. */
static void test_longer_ids_and_address_forms(void **state)
{
    (void)state;
    ecom_category c = sample_category();
    SET(c.category_id, "cat_1000");
    SET(c.subcategories[0].subcategory_id, "sub_1000_00");
    SET(c.subcategories[1].subcategory_id, "sub_1000_100");
    assert_round_trip(ECOM_KIND_CATEGORY, &c);
    static const char *const addresses[] = {
        "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8:0:0:0:0:2:1", "::ffff:192.0.2.1"};
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        ecom_session_event ev = sample_session_start();
        SET(ev.u.start.geo_data.ip_address, addresses[i]);
        assert_round_trip(ECOM_KIND_SESSION_EVENT, &ev);
    }
}

/* ---- main -------------------------------------------------------------------------------- */

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_round_trip_reference_data),
        cmocka_unit_test(test_round_trip_transactions),
        cmocka_unit_test(test_round_trip_session_events),
        cmocka_unit_test(test_encoding_is_compact_and_ordered),
        cmocka_unit_test(test_round_trip_at_limits),
        cmocka_unit_test(test_real_lines_decode_and_reencode_identically),
        cmocka_unit_test(test_real_lines_field_values),
        cmocka_unit_test(test_segment_fields_version_2),
        cmocka_unit_test(test_base_messages_are_valid),
        cmocka_unit_test(test_raw_case_control_decodes),
        cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_message_size_limit),
        cmocka_unit_test(test_unknown_fields_accepted),
        cmocka_unit_test(test_control_character_encoded_but_refused),
        cmocka_unit_test(test_longer_ids_and_address_forms),
    };
    enum { N_FIXED = sizeof fixed / sizeof fixed[0] };
    /* Every table row is its own test, named by its description. */
    struct CMUnitTest *tests = calloc(N_FIXED + N_BAD + N_RAW, sizeof *tests);
    if (!tests)
        return 1;
    memcpy(tests, fixed, sizeof fixed);
    for (int i = 0; i < N_BAD; i++)
        tests[N_FIXED + i] =
            (struct CMUnitTest){bad_cases[i].what, run_bad_case, NULL, NULL, (void *)&bad_cases[i]};
    for (int i = 0; i < N_RAW; i++)
        tests[N_FIXED + N_BAD + i] =
            (struct CMUnitTest){raw_cases[i].what, run_raw_case, NULL, NULL, (void *)&raw_cases[i]};
    int failed = _cmocka_run_group_tests("codec", tests, N_FIXED + N_BAD + N_RAW, NULL, NULL);
    free(tests);
    return failed;
}
