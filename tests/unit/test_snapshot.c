/*
 * test_snapshot.c - the snapshot shape and its comparison (lib/snapshot.c).
 *
 * Rows go in out of order and must come out sorted by key; the rankings are cut at ten with ties
 * broken by product id; the mean rounds half up. The comparison must find every kind of
 * difference (a changed field, a row only one side has, a rank held by another product, a
 * total) and name it with its metric and key, and find nothing between equal snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/snapshot.h"
#include "ecom/timeutil.h"

static int64_t day(const char *text)
{
    ecom_time t;
    ecom_error err;
    if (ecom_date_parse(text, &t, &err))
        fail_msg("bad day in test data: %s", err.msg);
    return ecom_time_day(t);
}

static const char *text_at(const json_t *snap, const char *list, size_t i, const char *field)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(snap, list), i), field));
}

static json_t *sample(void)
{
    json_t *s = ecom_snapshot_new();
    ecom_snapshot_add_daily_sales(s, day("2025-03-02"), 300, 3, 4);
    ecom_snapshot_add_daily_sales(s, day("2025-02-28"), 100, 1, 1);
    ecom_snapshot_add_funnel_day(s, day("2025-03-01"), 5, 2, 1);
    ecom_snapshot_set_funnel_total(s, 5, 2, 1);
    ecom_snapshot_add_category(s, "unknown", "", 1, 50);
    ecom_snapshot_add_category(s, "cat_001", "Books", 2, 350);
    ecom_snapshot_add_year(s, 2025, 2, 301);
    ecom_snapshot_add_year(s, 0, 1, 99);
    ecom_snapshot_add_year(s, 2024, 4, 16050);
    ecom_snapshot_add_cohort(s, "unknown", "2025-03", 1);
    ecom_snapshot_add_cohort(s, "2024-12", "2025-03", 2);
    ecom_snapshot_add_cohort(s, "2024-12", "2025-02", 1);
    for (int i = 0; i < 13; i++) {
        char id[32], name[32];
        snprintf(id, sizeof id, "prod_%05d", 12 - i);
        snprintf(name, sizeof name, "Product %d", 12 - i);
        /* units 1,1,2,2,...: ties everywhere; revenue the other way round */
        ecom_snapshot_add_product(s, id, name, 1 + i / 2, 1000 - 10 * i);
    }
    ecom_snapshot_set_counts(s, 10, 2, 13, 6, 5);
    ecom_snapshot_finish(s);
    return s;
}

static void test_lists_are_sorted_by_key(void **state)
{
    (void)state;
    json_t *s = sample();
    assert_string_equal(text_at(s, "daily_sales", 0, "day"), "2025-02-28");
    assert_string_equal(text_at(s, "daily_sales", 1, "day"), "2025-03-02");
    assert_string_equal(text_at(s, "category_revenue", 0, "category_id"), "cat_001");
    assert_string_equal(text_at(s, "category_revenue", 1, "category_id"), "unknown");
    json_t *years = json_object_get(s, "spend_by_registration_year");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(years, 0), "year")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(years, 2), "year")), 2025);
    assert_string_equal(text_at(s, "cohorts", 0, "transaction_month"), "2025-02");
    assert_string_equal(text_at(s, "cohorts", 1, "registration_month"), "2024-12");
    assert_string_equal(text_at(s, "cohorts", 2, "registration_month"), "unknown");
    json_decref(s);
}

static void test_mean_rounds_half_up(void **state)
{
    (void)state;
    json_t *s = sample();
    json_t *years = json_object_get(s, "spend_by_registration_year");
    /* 16050 / 4 = 4012.5 -> 4013; 301 / 2 = 150.5 -> 151; 99 / 1 = 99 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(years, 1), "mean_cents")),
                     4013);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(years, 2), "mean_cents")),
                     151);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(years, 0), "mean_cents")),
                     99);
    json_decref(s);
}

static void test_rankings_cut_at_ten_ties_by_id(void **state)
{
    (void)state;
    json_t *s = sample();
    json_t *top = json_object_get(s, "top_products");
    json_t *by_units = json_object_get(top, "by_units"),
           *by_revenue = json_object_get(top, "by_revenue");
    assert_int_equal(json_array_size(by_units), ECOM_TOP_N);
    assert_int_equal(json_array_size(by_revenue), ECOM_TOP_N);
    /* units 7: only prod_00000 (i = 12); then units 6: prod_00001, prod_00002 (ids ascending) */
    const char *want_units[] = {"prod_00000", "prod_00001", "prod_00002", "prod_00003",
                                "prod_00004"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(by_units, i), "product_id")),
            want_units[i]);
    /* revenue 1000 - 10 i falls with i: prod_00012 first */
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(by_revenue, 0), "product_id")),
        "prod_00012");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(by_revenue, 9), "product_id")),
        "prod_00003");
    json_decref(s);
}

typedef struct found {
    int n;
    char lines[16][300];
} found;

static void collect(void *arg, const char *metric, const char *key, const char *expected,
                    const char *got)
{
    found *f = arg;
    if (f->n < 16)
        snprintf(f->lines[f->n], sizeof f->lines[0], "%s|%s|%s|%s", metric, key, expected, got);
    f->n++;
}

static bool has_line(const found *f, const char *line)
{
    for (int i = 0; i < f->n && i < 16; i++)
        if (strcmp(f->lines[i], line) == 0)
            return true;
    return false;
}

static void test_equal_snapshots_have_no_difference(void **state)
{
    (void)state;
    json_t *a = sample(), *b = sample();
    found f = {0};
    assert_int_equal(ecom_snapshot_diff(a, b, collect, &f), 0);
    assert_int_equal(f.n, 0);
    /* the pipeline is not a metric */
    json_object_set_new(b, "pipeline", json_pack("{s:i}", "generation", 7));
    assert_int_equal(ecom_snapshot_diff(a, b, collect, &f), 0);
    json_decref(a);
    json_decref(b);
}

static void test_every_kind_of_difference_is_named(void **state)
{
    (void)state;
    json_t *a = sample(), *b = sample();
    /* a changed field */
    json_object_set_new(json_array_get(json_object_get(b, "daily_sales"), 1), "orders",
                        json_integer(4));
    /* a row only one side has */
    json_array_remove(json_object_get(b, "cohorts"), 0);
    /* a total */
    json_object_set_new(json_object_get(json_object_get(b, "funnel"), "total"), "carted",
                        json_integer(3));
    /* a rank held by another product */
    json_t *by_units = json_object_get(json_object_get(b, "top_products"), "by_units");
    json_object_set_new(json_array_get(by_units, 9), "product_id", json_string("prod_00099"));
    found f = {0};
    assert_int_equal(ecom_snapshot_diff(a, b, collect, &f), 4);
    assert_true(has_line(&f, "daily_sales.orders|2025-03-02|3|4"));
    assert_true(has_line(&f, "cohorts|2024-12/2025-02|{\"users\":1}|(none)"));
    assert_true(has_line(&f, "funnel.total.carted||2|3"));
    bool rank_named = false;
    for (int i = 0; i < f.n; i++)
        rank_named |= strncmp(f.lines[i], "top_products.by_units|#10|", 26) == 0 &&
                      strstr(f.lines[i], "prod_00099") != NULL;
    assert_true(rank_named);
    json_decref(a);
    json_decref(b);
}

static void test_row_only_on_found_side(void **state)
{
    (void)state;
    json_t *a = sample(), *b = sample();
    ecom_snapshot_add_daily_sales(b, day("2025-03-09"), 5, 1, 1);
    found f = {0};
    assert_int_equal(ecom_snapshot_diff(a, b, collect, &f), 1);
    assert_true(has_line(&f, "daily_sales|2025-03-09|(none)|{\"revenue_cents\":5,\"orders\":1,"
                             "\"units\":1}"));
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_are_sorted_by_key),
        cmocka_unit_test(test_mean_rounds_half_up),
        cmocka_unit_test(test_rankings_cut_at_ten_ties_by_id),
        cmocka_unit_test(test_equal_snapshots_have_no_difference),
        cmocka_unit_test(test_every_kind_of_difference_is_named),
        cmocka_unit_test(test_row_only_on_found_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
