/*
 * test_metrics.c - the batch metrics of SPEC section 5 (lib/metrics.c).
 *
 * A small hand-made world is fed into ecom_metrics and the snapshot is checked section by
 * section against values worked out by hand below (the arithmetic is spelled out next to each
 * expected value). The world is chosen so that each rule has something to bite on:
 *   - days: sales on 02-28, 03-01, 03-02; sessions on 02-28, 03-01, 03-03, so daily_sales and
 *     funnel.by_day list different days; times at 23:59:59 and 00:00:00 pin the day boundary;
 *   - top_products: units tie 4/4 and 2/2, revenue tie 6000/6000, all broken by product_id;
 *   - category_revenue: prod_00003 first arrives as "Old Novel" in cat_000, then is replaced by
 *     "Novel" in cat_001 (the later version must win); cat_000 first arrives misspelt;
 *   - spend_by_registration_year: 2024 has 16050 cents over 4 orders = 4012.5, which must round
 *     half up to 4013; users registered at 2024-12-31T23:59:59Z and 2025-01-01T00:00:00Z;
 *   - cohorts: user_000001 buys twice in March and counts once.
 * Feeding the reference data after the facts must give the same snapshot. Smaller tests cover
 * the empty snapshot, the top-10 cut and facts whose reference data never arrives.
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
#include "ecom/metrics.h"

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

static ecom_time at(const char *text)
{
    ecom_time t;
    ecom_error err;
    if (ecom_time_parse(text, &t, &err))
        fail_msg("bad time in test data: %s", err.msg);
    return t;
}

/* ---- feeding ----------------------------------------------------------------------------- */

static void add_category(ecom_metrics *m, const char *id, const char *name)
{
    ecom_category c = {0};
    SET(c.category_id, id);
    SET(c.name, name);
    ecom_metrics_add_category(m, &c);
}

static void add_product(ecom_metrics *m, const char *id, const char *name, const char *category)
{
    ecom_product p = {0};
    SET(p.product_id, id);
    SET(p.name, name);
    SET(p.category_id, category);
    ecom_metrics_add_product(m, &p);
}

static void add_user(ecom_metrics *m, const char *id, const char *registered)
{
    ecom_user u = {0};
    SET(u.user_id, id);
    u.registration_date = at(registered);
    ecom_metrics_add_user(m, &u);
}

typedef struct line {
    const char *product;
    int32_t quantity;
    ecom_cents unit_price;
} line;

/* Builds a transaction that passes ecom_validate (so the test data is realistic) and adds it. */
static void add_txn_lines(ecom_metrics *m, const char *id, const char *user, const char *ts,
                          ecom_cents discount, const line *lines, int n)
{
    ecom_transaction t = {0};
    SET(t.transaction_id, id);
    SET(t.user_id, user);
    t.timestamp = at(ts);
    for (int i = 0; i < n; i++) {
        ecom_item *it = &t.items[t.n_items++];
        SET(it->product_id, lines[i].product);
        it->quantity = lines[i].quantity;
        it->unit_price_cents = lines[i].unit_price;
        it->subtotal_cents = lines[i].quantity * lines[i].unit_price;
        t.subtotal_cents += it->subtotal_cents;
    }
    t.discount_cents = discount;
    t.total_cents = t.subtotal_cents - discount;
    SET(t.payment_method, "credit_card");
    SET(t.status, "completed");
    ecom_error err;
    if (ecom_validate(ECOM_KIND_TRANSACTION, &t, &err))
        fail_msg("test transaction %s is invalid: %s", id, err.msg);
    ecom_metrics_add_transaction(m, &t);
}

#define ADD_TXN(m, id, user, ts, discount, ...)                                                    \
    add_txn_lines((m), (id), (user), (ts), (discount), (const line[]){__VA_ARGS__},                \
                  (int)(sizeof((const line[]){__VA_ARGS__}) / sizeof(line)))

static void add_session(ecom_metrics *m, const char *start, bool viewed, bool carted,
                        bool converted)
{
    ecom_metrics_add_session(m, at(start), viewed, carted, converted);
}

static void feed_reference(ecom_metrics *m)
{
    add_category(m, "cat_000", "Electrnics"); /* corrected below: the later version wins */
    add_category(m, "cat_001", "Books");
    add_category(m, "cat_002", "Garden");
    add_category(m, "cat_000", "Electronics");

    add_product(m, "prod_00001", "Phone", "cat_000");
    add_product(m, "prod_00002", "Cable", "cat_000");
    add_product(m, "prod_00003", "Old Novel", "cat_000");
    add_product(m, "prod_00004", "Rake", "cat_002");
    add_product(m, "prod_00003", "Novel", "cat_001"); /* a new version: new name and category */

    add_user(m, "user_000001", "2024-09-15T10:00:00Z");
    add_user(m, "user_000002", "2024-12-31T23:59:59Z");
    add_user(m, "user_000003", "2025-01-01T00:00:00Z");
}

static void feed_facts(ecom_metrics *m)
{
    /* T1: 1 x 10000 + 2 x 500 = 11000 */
    ADD_TXN(m, "txn_00000001", "user_000001", "2025-02-28T10:00:00Z", 0, {"prod_00001", 1, 10000},
            {"prod_00002", 2, 500});
    /* T2: 3 x 1500 = 4500, 450 off: 4050 */
    ADD_TXN(m, "txn_00000002", "user_000002", "2025-02-28T23:59:59Z", 450, {"prod_00003", 3, 1500});
    /* T3: 500, first second of March */
    ADD_TXN(m, "txn_00000003", "user_000001", "2025-03-01T00:00:00Z", 0, {"prod_00002", 1, 500});
    /* T4: 2 x 3000 + 1 x 1500 = 7500 */
    ADD_TXN(m, "txn_00000004", "user_000003", "2025-03-01T12:00:00Z", 0, {"prod_00004", 2, 3000},
            {"prod_00003", 1, 1500});
    /* T5: 10000, 1000 off: 9000 */
    ADD_TXN(m, "txn_00000005", "user_000003", "2025-03-02T08:00:00Z", 1000,
            {"prod_00001", 1, 10000});
    /* T6: 500, user_000001's second March purchase */
    ADD_TXN(m, "txn_00000006", "user_000001", "2025-03-02T09:30:00Z", 0, {"prod_00002", 1, 500});

    /* start, viewed, carted, converted */
    add_session(m, "2025-02-28T09:00:00Z", true, true, true);
    add_session(m, "2025-02-28T15:00:00Z", true, false, false);
    add_session(m, "2025-03-01T23:59:59Z", true, true, false);
    add_session(m, "2025-03-03T00:00:00Z", false, false, false);
    add_session(m, "2025-03-03T10:00:00Z", true, true, true);
}

/* ---- comparing JSON with the path of the first difference -------------------------------- */

static void assert_json_matches(const json_t *actual, const json_t *expected, const char *path)
{
    char *want = json_dumps(expected, JSON_COMPACT | JSON_ENCODE_ANY);
    char *got = actual ? json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!actual)
        fail_msg("%s: missing, expected %s", path, want);
    if (json_typeof(actual) != json_typeof(expected))
        fail_msg("%s: expected %s, got %s", path, want, got);
    char sub[256];
    switch (json_typeof(expected)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)expected, key, value)
        {
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            assert_json_matches(json_object_get(actual, key), value, sub);
        }
        if (json_object_size(actual) != json_object_size(expected))
            fail_msg("%s: unexpected extra fields in %s", path, got);
        break;
    }
    case JSON_ARRAY:
        if (json_array_size(actual) != json_array_size(expected))
            fail_msg("%s: expected %zu entries %s\n got %zu entries %s", path,
                     json_array_size(expected), want, json_array_size(actual), got);
        for (size_t i = 0; i < json_array_size(expected); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            assert_json_matches(json_array_get(actual, i), json_array_get(expected, i), sub);
        }
        break;
    default:
        if (!json_equal((json_t *)actual, (json_t *)expected))
            fail_msg("%s: expected %s, got %s", path, want, got);
    }
    free(want);
    free(got);
}

/* Checks one top-level section of a snapshot and releases `expected`. */
static void assert_section(const json_t *snap, const char *section, json_t *expected)
{
    assert_non_null(expected);
    assert_json_matches(json_object_get(snap, section), expected, section);
    json_decref(expected);
}

/* ---- expected rows ----------------------------------------------------------------------- */

static json_t *sales(const char *day, int64_t revenue, int64_t orders, int64_t units)
{
    return json_pack("{s:s, s:I, s:I, s:I}", "day", day, "revenue_cents", (json_int_t)revenue,
                     "orders", (json_int_t)orders, "units", (json_int_t)units);
}

static json_t *funnel(const char *day, int64_t viewed, int64_t carted, int64_t converted)
{
    json_t *row = json_pack("{s:I, s:I, s:I}", "viewed", (json_int_t)viewed, "carted",
                            (json_int_t)carted, "converted", (json_int_t)converted);
    if (day)
        json_object_set_new(row, "day", json_string(day));
    return row;
}

static json_t *product(const char *id, const char *name, int64_t units, int64_t revenue)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "product_id", id, "name", name, "units",
                     (json_int_t)units, "revenue_cents", (json_int_t)revenue);
}

static json_t *category(const char *id, const char *name, int64_t lines, int64_t revenue)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "category_id", id, "name", name, "lines",
                     (json_int_t)lines, "revenue_cents", (json_int_t)revenue);
}

static json_t *spend(int64_t year, int64_t orders, int64_t total, int64_t mean)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "year", (json_int_t)year, "orders", (json_int_t)orders,
                     "total_cents", (json_int_t)total, "mean_cents", (json_int_t)mean);
}

static json_t *cohort(const char *registered, const char *bought, int64_t users)
{
    return json_pack("{s:s, s:s, s:I}", "registration_month", registered, "transaction_month",
                     bought, "users", (json_int_t)users);
}

static json_t *counts(int64_t users, int64_t categories, int64_t products, int64_t transactions,
                      int64_t sessions)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "users", (json_int_t)users, "categories",
                     (json_int_t)categories, "products", (json_int_t)products, "transactions",
                     (json_int_t)transactions, "sessions", (json_int_t)sessions);
}

/* The whole expected snapshot of feed_reference + feed_facts, worked out by hand. */
// clang-format off
static void assert_world_snapshot(const json_t *snap)
{
    assert_section(snap, "daily_sales",
                   json_pack("[o, o, o]",
                             /* day, revenue, orders, units */
                             sales("2025-02-28", 11000 + 4050, 2, (1 + 2) + 3),
                             sales("2025-03-01", 500 + 7500, 2, 1 + (2 + 1)),
                             sales("2025-03-02", 9000 + 500, 2, 1 + 1)));

    assert_section(snap, "funnel",
                   json_pack("{s:o, s:[o, o, o]}", "total", funnel(NULL, 4, 3, 2), "by_day",
                             funnel("2025-02-28", 2, 1, 1), funnel("2025-03-01", 1, 1, 0),
                             funnel("2025-03-03", 1, 1, 1)));

    /* units / revenue: 00001 1+1 / 10000+10000; 00002 2+1+1 / 1000+500+500;
     * 00003 3+1 / 4500+1500; 00004 2 / 6000 */
    assert_section(snap, "top_products",
                   json_pack("{s:[o, o, o, o], s:[o, o, o, o]}",
                             "by_units", /* 4 = 4 and 2 = 2: by id */
                             product("prod_00002", "Cable", 4, 2000),
                             product("prod_00003", "Novel", 4, 6000),
                             product("prod_00001", "Phone", 2, 20000),
                             product("prod_00004", "Rake", 2, 6000),
                             "by_revenue", /* 6000 = 6000: by id */
                             product("prod_00001", "Phone", 2, 20000),
                             product("prod_00003", "Novel", 4, 6000),
                             product("prod_00004", "Rake", 2, 6000),
                             product("prod_00002", "Cable", 4, 2000)));

    assert_section(snap, "category_revenue",
                   json_pack("[o, o, o]",
                             /* 00001 in T1, T5; 00002 in T1, T3, T6 */
                             category("cat_000", "Electronics", 2 + 3, 20000 + 2000),
                             /* 00003 (its latest version) in T2, T4 */
                             category("cat_001", "Books", 2, 4500 + 1500),
                             category("cat_002", "Garden", 1, 6000)));

    assert_section(snap, "spend_by_registration_year",
                   json_pack("[o, o]",
                             /* user_000001: T1 T3 T6, user_000002: T2 */
                             spend(2024, 3 + 1, 11000 + 500 + 500 + 4050, 4013), /* 4012.5 up */
                             /* user_000003: T4 T5 */
                             spend(2025, 2, 7500 + 9000, 8250)));

    assert_section(snap, "cohorts",
                   json_pack("[o, o, o, o]", cohort("2024-09", "2025-02", 1), /* T1 */
                             cohort("2024-09", "2025-03", 1), /* T3 and T6: one user */
                             cohort("2024-12", "2025-02", 1), /* T2 */
                             cohort("2025-01", "2025-03", 1)  /* T4 and T5 */));

    assert_section(snap, "counts", counts(3, 3, 4, 6, 5));
    assert_int_equal(json_object_size(snap), 10); /* no "pipeline" in the batch snapshot */
}
// clang-format on

/* ---- tests ------------------------------------------------------------------------------- */

static void test_snapshot_reference_first(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    feed_reference(m);
    feed_facts(m);
    json_t *snap = ecom_metrics_snapshot(m);
    assert_world_snapshot(snap);
    json_decref(snap);
    ecom_metrics_free(m);
}

static void test_reference_after_facts_gives_same_snapshot(void **state)
{
    (void)state;
    ecom_metrics *first = ecom_metrics_new(), *late = ecom_metrics_new();
    feed_reference(first);
    feed_facts(first);
    feed_facts(late);
    feed_reference(late);
    json_t *a = ecom_metrics_snapshot(first), *b = ecom_metrics_snapshot(late);
    assert_world_snapshot(b);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    ecom_metrics_free(first);
    ecom_metrics_free(late);
}

static void test_snapshot_is_repeatable(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    feed_reference(m);
    feed_facts(m);
    json_t *a = ecom_metrics_snapshot(m), *b = ecom_metrics_snapshot(m);
    char *ta = json_dumps(a, JSON_COMPACT), *tb = json_dumps(b, JSON_COMPACT);
    assert_string_equal(ta, tb); /* taking a snapshot changes nothing */
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    ecom_metrics_free(m);
}

static void test_empty_snapshot(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    json_t *snap = ecom_metrics_snapshot(m);
    assert_section(snap, "daily_sales", json_array());
    assert_section(snap, "funnel",
                   json_pack("{s:o, s:[]}", "total", funnel(NULL, 0, 0, 0), "by_day"));
    assert_section(snap, "top_products", json_pack("{s:[], s:[]}", "by_units", "by_revenue"));
    assert_section(snap, "category_revenue", json_array());
    assert_section(snap, "spend_by_registration_year", json_array());
    assert_section(snap, "cohorts", json_array());
    assert_section(snap, "counts", counts(0, 0, 0, 0, 0));
    json_decref(snap);
    ecom_metrics_free(m);
}

static void test_top_products_keep_first_ten(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    /* prod_00000 .. prod_00011 sell 1 .. 12 units at 100; prod_00012 is listed but never sold */
    for (int i = 0; i <= 12; i++) {
        char id[ECOM_ID_MAX], name[16], txn[ECOM_ID_MAX];
        snprintf(id, sizeof id, "prod_%05d", i);
        snprintf(name, sizeof name, "P%d", i);
        add_product(m, id, name, "cat_000");
        if (i == 12)
            break;
        snprintf(txn, sizeof txn, "txn_%08d", i);
        ADD_TXN(m, txn, "user_000001", "2025-03-01T12:00:00Z", 0, {id, i + 1, 100});
    }
    json_t *snap = ecom_metrics_snapshot(m);
    json_t *by_units = json_object_get(json_object_get(snap, "top_products"), "by_units");
    assert_int_equal(json_array_size(by_units), ECOM_TOP_N);
    for (int i = 0; i < ECOM_TOP_N; i++) {
        char id[ECOM_ID_MAX], name[16];
        snprintf(id, sizeof id, "prod_%05d", 11 - i);
        snprintf(name, sizeof name, "P%d", 11 - i);
        char path[32];
        snprintf(path, sizeof path, "by_units[%d]", i);
        json_t *want = product(id, name, 12 - i, 100 * (12 - i));
        assert_json_matches(json_array_get(by_units, (size_t)i), want, path);
        json_decref(want);
    }
    /* every sold product still counts towards its category, listed or not: 1 + ... + 12 */
    assert_section(snap, "category_revenue", json_pack("[o]", category("cat_000", "", 12, 7800)));
    assert_section(snap, "counts", counts(0, 0, 13, 12, 0));
    json_decref(snap);
    ecom_metrics_free(m);
}

static void test_facts_without_reference_data(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    add_category(m, "cat_005", "Toys"); /* known category, but no product says so */
    ADD_TXN(m, "txn_00000001", "user_000009", "2025-03-01T12:00:00Z", 0, {"prod_00009", 2, 250});
    json_t *snap = ecom_metrics_snapshot(m);
    assert_section(snap, "top_products",
                   json_pack("{s:[o], s:[o]}", "by_units", product("prod_00009", "", 2, 500),
                             "by_revenue", product("prod_00009", "", 2, 500)));
    assert_section(snap, "category_revenue", json_pack("[o]", category("unknown", "", 1, 500)));
    assert_section(snap, "spend_by_registration_year", json_pack("[o]", spend(0, 1, 500, 500)));
    assert_section(snap, "cohorts", json_pack("[o]", cohort("unknown", "2025-03", 1)));
    assert_section(snap, "counts", counts(0, 1, 0, 1, 0));
    json_decref(snap);
    ecom_metrics_free(m);
}

/* ---- the minute window and the segments ---------------------------------------------------- */

/* The minute series holds exactly the minutes within ECOM_MINUTE_WINDOW of the newest one, in
 * whatever order the events came: here the newest comes first, then events in and just out of
 * the window, then one that moves the window on by two minutes. */
static void test_minute_window_is_the_last_day_of_the_newest(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    ecom_time newest = ecom_time_from_civil(2025, 6, 1, 12, 0, 30);
    ecom_metrics_add_order(m, "user_000001", newest, 500, 1);
    ecom_metrics_add_minute(m, ECOM_MINUTE_PAGE_VIEWS, newest - 1439 * 60, 1); /* the first */
    ecom_metrics_add_minute(m, ECOM_MINUTE_SESSIONS, newest - 1440 * 60, 1);   /* just out */
    ecom_metrics_add_minute(m, ECOM_MINUTE_CONVERTED, newest - 60, 2);
    ecom_metrics_add_minute(m, ECOM_MINUTE_CONVERTED, newest - 40 * 86400, 1); /* a late one */
    ecom_metrics_add_minute(m, ECOM_MINUTE_SESSIONS, newest - 5, 1); /* the newest minute too */
    json_t *snap = ecom_metrics_snapshot(m);
    json_t *minutes = json_object_get(snap, "minutes");
    assert_int_equal(json_array_size(minutes), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(minutes, 0), "minute")),
                        "2025-05-31T12:01Z");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(minutes, 0), "page_views")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(minutes, 1), "converted")),
                     2);
    json_t *last = json_array_get(minutes, 2);
    assert_string_equal(json_string_value(json_object_get(last, "minute")), "2025-06-01T12:00Z");
    assert_int_equal(json_integer_value(json_object_get(last, "orders")), 1);
    assert_int_equal(json_integer_value(json_object_get(last, "revenue_cents")), 500);
    assert_int_equal(json_integer_value(json_object_get(last, "sessions")), 1);
    json_decref(snap);

    /* two minutes on: the first minute of the window above falls out of it */
    ecom_metrics_add_minute(m, ECOM_MINUTE_PAGE_VIEWS, newest + 120, 1);
    snap = ecom_metrics_snapshot(m);
    minutes = json_object_get(snap, "minutes");
    assert_int_equal(json_array_size(minutes), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(minutes, 0), "minute")),
                        "2025-06-01T11:59Z");
    json_decref(snap);
    ecom_metrics_free(m);
}

/* Segments: each dimension counts every session once, "unknown" for what no event carried;
 * orders count in their session's segment. */
static void test_segments(void **state)
{
    (void)state;
    ecom_metrics *m = ecom_metrics_new();
    ecom_segment mobile_us = {"mobile", "email", "USA"}, none = {"", "", ""};
    ecom_metrics_add_segment_session(m, &mobile_us, true, true, true);
    ecom_metrics_add_segment_session(m, &mobile_us, true, false, false);
    ecom_metrics_add_segment_session(m, &none, false, false, false);
    ecom_metrics_add_segment_order(m, &mobile_us, 1234);
    ecom_metrics_set_active_sessions(m, 2);
    json_t *snap = ecom_metrics_snapshot(m);
    json_t *device = json_object_get(json_object_get(snap, "segments"), "device");
    assert_int_equal(json_array_size(device), 2);
    json_t *row = json_array_get(device, 0);
    assert_string_equal(json_string_value(json_object_get(row, "key")), "mobile");
    assert_int_equal(json_integer_value(json_object_get(row, "sessions")), 2);
    assert_int_equal(json_integer_value(json_object_get(row, "viewed")), 2);
    assert_int_equal(json_integer_value(json_object_get(row, "carted")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "converted")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "orders")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "revenue_cents")), 1234);
    row = json_array_get(device, 1);
    assert_string_equal(json_string_value(json_object_get(row, "key")), "unknown");
    assert_int_equal(json_integer_value(json_object_get(row, "sessions")), 1);
    json_t *country = json_object_get(json_object_get(snap, "segments"), "country");
    assert_string_equal(json_string_value(json_object_get(json_array_get(country, 0), "key")),
                        "USA");
    assert_int_equal(json_integer_value(json_object_get(snap, "active_sessions")), 2);
    json_decref(snap);
    ecom_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_reference_first),
        cmocka_unit_test(test_reference_after_facts_gives_same_snapshot),
        cmocka_unit_test(test_snapshot_is_repeatable),
        cmocka_unit_test(test_empty_snapshot),
        cmocka_unit_test(test_top_products_keep_first_ten),
        cmocka_unit_test(test_facts_without_reference_data),
        cmocka_unit_test(test_minute_window_is_the_last_day_of_the_newest),
        cmocka_unit_test(test_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
