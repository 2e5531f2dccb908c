/*
 * test_counters.c - the parts of the live counters that need no Redis: where an id's first-seen
 * bit lives, the redis:// URL, the reference tables the aggregator joins with, and the latency
 * histogram. (Applying batches is tested against a real Redis by the integration tests.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "ecom/counters.h"
#include "ecom/redis.h"
#include "ecom/reference.h"
#include "latency.h"

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

static void slot(const char *kind, const char *id, char *key, int64_t *bit)
{
    ecom_counters_id_slot(kind, id, key, 160, bit);
}

static void test_id_slots_are_dense_and_distinct(void **state)
{
    (void)state;
    char key[160];
    int64_t bit;
    slot("txn", "txn_00012345", key, &bit);
    assert_string_equal(key, "seen:txn:0001");
    assert_int_equal(bit, 2345);
    /* neighbours share a bitmap: dense ids cost a bit each */
    slot("txn", "txn_00012346", key, &bit);
    assert_string_equal(key, "seen:txn:0001");
    assert_int_equal(bit, 2346);
    /* the same number with another width is another id, and another slot */
    slot("txn", "txn_0012345", key, &bit);
    assert_string_equal(key, "seen:txn:001");
    assert_int_equal(bit, 2345);
    /* live ids carry the clock: long, still exact */
    slot("sess", "sess_1795630954000123", key, &bit);
    assert_string_equal(key, "seen:sess:179563095400");
    assert_int_equal(bit, 123);
    /* short ids keep their length apart */
    char key2[160];
    int64_t bit2;
    slot("category", "cat_007", key, &bit);
    slot("category", "cat_7", key2, &bit2);
    assert_int_equal(bit, 7);
    assert_int_equal(bit2, 7);
    assert_string_not_equal(key, key2);
    /* not an id shape: one key of its own, so still exact */
    slot("user", "user_abc", key, &bit);
    assert_string_equal(key, "seen:user:xuser_abc");
    assert_int_equal(bit, 0);
}

static void test_redis_urls(void **state)
{
    (void)state;
    ecom_redis_url u;
    ecom_error err;
    assert_int_equal(ecom_redis_url_parse("redis://127.0.0.1:6379", &u, &err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");

    assert_int_equal(ecom_redis_url_parse("redis://ecom:s%40cr%3At@cache.local:6380/3", &u, &err),
                     0);
    assert_string_equal(u.user, "ecom");
    assert_string_equal(u.password, "s@cr:t");
    assert_string_equal(u.host, "cache.local");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);
    char shown[400];
    ecom_redis_url_redacted(&u, shown, sizeof shown);
    assert_string_equal(shown, "redis://ecom:***@cache.local:6380/3");
    assert_null(strstr(shown, "s@cr"));

    assert_int_equal(ecom_redis_url_parse("redis://:secret@h", &u, &err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "secret");
    assert_int_equal(u.port, 6379);

    assert_int_equal(ecom_redis_url_parse("redis://[::1]:7000", &u, &err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);

    static const struct {
        const char *url, *says;
    } bad[] = {
        {"http://h:6379", "expected redis://"},
        {"rediss://h:6379", "TLS"},
        {"redis://h:0", "port"},
        {"redis://h:99999", "port"},
        {"redis://h:63x9", "port"},
        {"redis://:6379", "no host"},
        {"redis://h/x", "database"},
        {"redis://u:p%zz@h", "password"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_int_equal(ecom_redis_url_parse(bad[i].url, &u, &err), -1);
        if (!strstr(err.msg, bad[i].says))
            fail_msg("%s: error '%s' does not say '%s'", bad[i].url, err.msg, bad[i].says);
    }
}

static ecom_record *product(const char *id, const char *name, const char *category, int stock)
{
    static ecom_record r;
    memset(&r, 0, sizeof r);
    r.kind = ECOM_KIND_PRODUCT;
    SET(r.u.product.product_id, id);
    SET(r.u.product.name, name);
    SET(r.u.product.category_id, category);
    r.u.product.current_stock = stock;
    return &r;
}

static void test_reference_keeps_latest_and_reports_changes(void **state)
{
    (void)state;
    ecom_reference *ref = ecom_reference_new();
    assert_true(ecom_reference_apply(ref, product("prod_00001", "Lamp", "cat_001", 10)));
    /* a new stock level changes nothing the joins use */
    assert_false(ecom_reference_apply(ref, product("prod_00001", "Lamp", "cat_001", 9)));
    assert_true(ecom_reference_apply(ref, product("prod_00001", "Desk Lamp", "cat_002", 9)));
    const ecom_ref_product *p = ecom_reference_product(ref, "prod_00001");
    assert_non_null(p);
    assert_string_equal(p->name, "Desk Lamp");
    assert_string_equal(p->category_id, "cat_002");
    assert_null(ecom_reference_product(ref, "prod_00002"));

    ecom_record u = {.kind = ECOM_KIND_USER};
    SET(u.u.user.user_id, "user_000001");
    u.u.user.registration_date = 1700000000;
    assert_true(ecom_reference_apply(ref, &u));
    assert_false(ecom_reference_apply(ref, &u));
    assert_int_equal(ecom_reference_user(ref, "user_000001")->registration_date, 1700000000);

    ecom_record t = {.kind = ECOM_KIND_TRANSACTION};
    assert_false(ecom_reference_apply(ref, &t)); /* facts are not reference data */
    int64_t c, n_products, n_users;
    ecom_reference_sizes(ref, &c, &n_products, &n_users);
    assert_int_equal(c, 0);
    assert_int_equal(n_products, 1);
    assert_int_equal(n_users, 1);
    ecom_reference_free(ref);
}

static void test_batch_needs_reference_for_unknown_ids(void **state)
{
    (void)state;
    ecom_reference *ref = ecom_reference_new();
    ecom_counters_batch *b = ecom_counters_batch_new();
    ecom_record r = {.kind = ECOM_KIND_TRANSACTION};
    SET(r.u.transaction.transaction_id, "txn_00000001");
    SET(r.u.transaction.user_id, "user_000001");
    r.u.transaction.n_items = 1;
    SET(r.u.transaction.items[0].product_id, "prod_00001");
    ecom_counters_batch_add(b, &r, "ecom.transactions");
    ecom_counters_batch_add(b, &r, "ecom.transactions"); /* the same id twice in one batch */
    assert_int_equal(ecom_counters_batch_size(b), 2);
    assert_true(ecom_counters_batch_needs_reference(b, ref));
    ecom_reference_apply(ref, product("prod_00001", "Lamp", "cat_001", 1));
    assert_true(ecom_counters_batch_needs_reference(b, ref)); /* the user is still unknown */
    ecom_record u = {.kind = ECOM_KIND_USER};
    SET(u.u.user.user_id, "user_000001");
    ecom_reference_apply(ref, &u);
    assert_false(ecom_counters_batch_needs_reference(b, ref));
    ecom_counters_batch_clear(b);
    assert_int_equal(ecom_counters_batch_size(b), 0);
    ecom_counters_batch_free(b);
    ecom_reference_free(ref);
}

static void test_latency_quantiles(void **state)
{
    (void)state;
    static latency_histogram h;
    latency_reset(&h);
    assert_int_equal(latency_quantile(&h, 0.5), 0);
    for (int ms = 1; ms <= 100; ms++)
        latency_add(&h, ms);
    assert_int_equal(latency_quantile(&h, 0.5), 50);
    assert_int_equal(latency_quantile(&h, 0.99), 99);
    assert_int_equal(latency_quantile(&h, 1.0), 100);
    latency_add(&h, -5);      /* a clock a little behind counts as 0 */
    latency_add(&h, 3600000); /* an hour lands in the overflow bucket */
    assert_int_equal(h.count, 102);
    assert_int_equal(latency_quantile(&h, 1.0), LATENCY_BUCKETS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_slots_are_dense_and_distinct),
        cmocka_unit_test(test_redis_urls),
        cmocka_unit_test(test_reference_keeps_latest_and_reports_changes),
        cmocka_unit_test(test_batch_needs_reference_for_unknown_ids),
        cmocka_unit_test(test_latency_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
