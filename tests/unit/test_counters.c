/*
 * test_counters.c - the parts of the live counters that need no Redis: where an id's first-seen
 * bit lives, the writer's copy of the session fields and the ranges it sends, the redis:// URL,
 * the reference tables the aggregator joins with, and the latency histogram. (Applying batches
 * is tested against a real Redis by the integration tests.)
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
#include "ecom/session_fields.h"
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

/* Argument i of a, as bytes. */
static void assert_arg(const ecom_redis_args *a, int i, const void *bytes, size_t len)
{
    assert_true(i < a->n);
    assert_int_equal(a->lengths[i], len);
    assert_memory_equal(a->text.data + a->offsets[i], bytes, len);
}

static void assert_arg_text(const ecom_redis_args *a, int i, const char *text)
{
    assert_arg(a, i, text, strlen(text));
}

static void test_session_fields_read_big_endian_and_zero_past_the_end(void **state)
{
    (void)state;
    ecom_session_fields *f = ecom_session_fields_new(1 << 20);
    assert_null(ecom_session_fields_find(f, "seen:session:0001"));
    const uint8_t stored[] = {0x80, 0x00, 0x01, 0x12, 0x34, 0x56, 0xff};
    ecom_session_block *b = ecom_session_fields_keep(f, "seen:session:0001", stored, sizeof stored);
    assert_ptr_equal(ecom_session_fields_find(f, "seen:session:0001"), b);
    assert_int_equal(ecom_session_field(b, 0), 0x800001); /* BITFIELD's bit 0 is the top one */
    assert_int_equal(ecom_session_field(b, 1), 0x123456);
    assert_int_equal(ecom_session_field(b, 2), 0); /* only one byte of it is stored */
    assert_int_equal(ecom_session_field(b, 9999), 0);
    ecom_session_block *none = ecom_session_fields_keep(f, "seen:session:0002", NULL, 0);
    assert_int_equal(ecom_session_field(none, 0), 0);
    assert_int_equal(ecom_session_fields_bytes(f), sizeof stored);
    ecom_session_fields_free(f);
}

static void test_session_fields_send_ranges_with_what_they_expect(void **state)
{
    (void)state;
    ecom_session_fields *f = ecom_session_fields_new(1 << 20);
    const uint8_t stored[] = {0, 0, 0, 0, 0, 7};
    ecom_session_block *a = ecom_session_fields_keep(f, "seen:session:0001", stored, sizeof stored);
    ecom_session_block *b = ecom_session_fields_keep(f, "seen:session:0000", NULL, 0);
    /* staged in any order: sent by block, then slot */
    ecom_session_fields_stage(f, a, 3, 0x000003);
    ecom_session_fields_stage(f, a, 1, 0x000107);
    ecom_session_fields_stage(f, b, 5, 0xabcdef);
    ecom_session_fields_stage(f, a, 2, 0x000002);
    ecom_session_fields_stage(f, a, 20, 0x400000);
    ecom_redis_args out;
    ecom_redis_args_init(&out);
    /* adjacent slots only: block 0000 slot 5; block 0001 slots 1-3, then slot 20 */
    assert_int_equal(ecom_session_fields_ranges(f, 0, &out), 3);
    assert_int_equal(out.n, 12);
    assert_arg_text(&out, 0, "seen:session:0000");
    assert_arg_text(&out, 1, "15");
    assert_arg(&out, 2, "\0\0\0", 3);
    assert_arg(&out, 3, "\xab\xcd\xef", 3);
    assert_arg_text(&out, 4, "seen:session:0001");
    assert_arg_text(&out, 5, "3");
    assert_arg(&out, 6, "\0\0\7\0\0\0\0\0\0", 9); /* slot 1 as stored, 2 and 3 past the end */
    assert_arg(&out, 7, "\0\1\7\0\0\2\0\0\3", 9);
    assert_arg_text(&out, 9, "60");
    assert_arg(&out, 10, "\0\0\0", 3);
    assert_arg(&out, 11, "\x40\0\0", 3);
    /* up to 16 slots apart: one range, the slots between sent unchanged */
    ecom_redis_args_reset(&out);
    assert_int_equal(ecom_session_fields_ranges(f, 16, &out), 2);
    assert_arg_text(&out, 5, "3");
    assert_int_equal(out.lengths[6], 20 * 3);
    assert_int_equal(out.lengths[7], 20 * 3);
    assert_memory_equal(out.text.data + out.offsets[7] + 19 * 3, "\x40\0\0", 3);
    assert_memory_equal(out.text.data + out.offsets[7] + 3 * 3,
                        out.text.data + out.offsets[6] + 3 * 3, 16 * 3);
    /* not stored: the copy is as it was; stored: it takes them */
    ecom_session_fields_discard(f);
    assert_int_equal(ecom_session_field(a, 1), 0x000007);
    ecom_redis_args_reset(&out);
    assert_int_equal(ecom_session_fields_ranges(f, 0, &out), 0);
    ecom_session_fields_stage(f, a, 1, 0x000107);
    ecom_session_fields_stage(f, b, 5, 0xabcdef);
    ecom_session_fields_commit(f);
    assert_int_equal(ecom_session_field(a, 1), 0x000107);
    assert_int_equal(ecom_session_field(b, 5), 0xabcdef);
    ecom_redis_args_free(&out);
    ecom_session_fields_free(f);
}

static void test_session_fields_drop_the_blocks_used_longest_ago(void **state)
{
    (void)state;
    ecom_session_fields *f = ecom_session_fields_new(2 * 30000);
    char key[32];
    for (int i = 0; i < 3; i++) { /* three full blocks, one batch each */
        snprintf(key, sizeof key, "seen:session:%04d", i);
        ecom_session_fields_stage(f, ecom_session_fields_keep(f, key, NULL, 0), 9999, 1);
        ecom_session_fields_commit(f);
    }
    /* over the limit after the third: the first goes */
    assert_null(ecom_session_fields_find(f, "seen:session:0000"));
    assert_int_equal(ecom_session_fields_bytes(f), 2 * 30000);
    assert_non_null(ecom_session_fields_find(f, "seen:session:0001")); /* used again now */
    ecom_session_fields_stage(f, ecom_session_fields_keep(f, "seen:session:0003", NULL, 0), 9999,
                              1);
    ecom_session_fields_commit(f);
    assert_non_null(ecom_session_fields_find(f, "seen:session:0001"));
    assert_null(ecom_session_fields_find(f, "seen:session:0002"));
    assert_int_equal(ecom_session_field(ecom_session_fields_find(f, "seen:session:0003"), 9999), 1);
    ecom_session_fields_forget(f);
    assert_int_equal(ecom_session_fields_bytes(f), 0);
    assert_null(ecom_session_fields_find(f, "seen:session:0001"));
    ecom_session_fields_free(f);
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
        cmocka_unit_test(test_session_fields_read_big_endian_and_zero_past_the_end),
        cmocka_unit_test(test_session_fields_send_ranges_with_what_they_expect),
        cmocka_unit_test(test_session_fields_drop_the_blocks_used_longest_ago),
        cmocka_unit_test(test_redis_urls),
        cmocka_unit_test(test_reference_keeps_latest_and_reports_changes),
        cmocka_unit_test(test_batch_needs_reference_for_unknown_ids),
        cmocka_unit_test(test_latency_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
