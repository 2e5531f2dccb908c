/*
 * test_csv.c - the CSV writer and money text (lib/csv.c), and the reports' formats
 * (lib/report.c) that use them.
 *
 * The writer: plain fields as they are; commas, quotes, CR and LF quoted with quotes doubled;
 * empty fields; CRLF records. Money: zero, cents below one unit, negatives (also above -1),
 * the int64 extremes. The reports: the header and the decimal column after each `_cents` one,
 * a name with commas and quotes in CSV, JSON and the table; names found, unknown, or with a bad
 * user id; the file name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>
#include "ecom/csv.h"
#include "ecom/report.h"

static void assert_money(int64_t cents, const char *expected)
{
    char out[ECOM_MONEY_TEXT];
    ecom_money_format(cents, out);
    assert_string_equal(out, expected);
}

static void test_money(void **state)
{
    (void)state;
    assert_money(0, "0.00");
    assert_money(5, "0.05");
    assert_money(99, "0.99");
    assert_money(100, "1.00");
    assert_money(123456, "1234.56");
    assert_money(-5, "-0.05");
    assert_money(-99, "-0.99");
    assert_money(-100, "-1.00");
    assert_money(-123450, "-1234.50");
    assert_money(INT64_MAX, "92233720368547758.07");
    assert_money(INT64_MIN, "-92233720368547758.08");
}

/* One record of the given texts, as the writer makes it. */
static char *record(int n, const char *const *fields)
{
    ecom_buf out;
    ecom_buf_init(&out);
    ecom_csv w;
    ecom_csv_init(&w, &out);
    for (int i = 0; i < n; i++)
        ecom_csv_text(&w, fields[i]);
    ecom_csv_end_record(&w);
    return out.data;
}

static void assert_record(int n, const char *const *fields, const char *expected)
{
    char *text = record(n, fields);
    assert_string_equal(text, expected);
    free(text);
}

static void test_quoting(void **state)
{
    (void)state;
    assert_record(2, (const char *[]){"plain", "two words"}, "plain,two words\r\n");
    assert_record(1, (const char *[]){"a,b"}, "\"a,b\"\r\n");
    assert_record(1, (const char *[]){"say \"hi\""}, "\"say \"\"hi\"\"\"\r\n");
    assert_record(1, (const char *[]){"\""}, "\"\"\"\"\r\n");
    assert_record(1, (const char *[]){"line\nbreak"}, "\"line\nbreak\"\r\n");
    assert_record(1, (const char *[]){"cr\rhere"}, "\"cr\rhere\"\r\n");
    assert_record(3, (const char *[]){"", "x", ""}, ",x,\r\n");
    assert_record(1, (const char *[]){"  kept  "}, "  kept  \r\n");
    assert_record(1, (const char *[]){"Caf\xc3\xa9, \"Z\""}, "\"Caf\xc3\xa9, \"\"Z\"\"\"\r\n");
}

static void test_typed_fields(void **state)
{
    (void)state;
    ecom_buf out;
    ecom_buf_init(&out);
    ecom_csv w;
    ecom_csv_init(&w, &out);
    ecom_csv_int(&w, -42);
    ecom_csv_money(&w, -42);
    ecom_csv_money(&w, 0);
    ecom_csv_end_record(&w);
    ecom_csv_text(&w, "next");
    ecom_csv_end_record(&w);
    assert_string_equal(out.data, "-42,-0.42,0.00\r\nnext\r\n");
    ecom_buf_free(&out);
}

static const ecom_report *report(const char *name)
{
    const ecom_report *rep = NULL;
    char id[ECOM_ID_MAX];
    ecom_error err;
    assert_int_equal(ecom_report_find(name, &rep, id, &err), ECOM_REPORT_FOUND);
    return rep;
}

static char *render(const char *name, const char *rows_json, ecom_report_format format)
{
    json_t *rows = json_loads(rows_json, 0, NULL);
    assert_non_null(rows);
    ecom_buf out;
    ecom_buf_init(&out);
    ecom_report_render(report(name), rows, format, &out);
    json_decref(rows);
    return out.data;
}

static const char CATEGORIES[] =
    "[{\"category_id\": \"cat_001\", \"name\": \"Tools, \\\"Pro\\\"\", \"lines\": 3, "
    "\"revenue_cents\": 1005},"
    " {\"category_id\": \"unknown\", \"name\": \"\", \"lines\": 1, \"revenue_cents\": -7}]";

static void test_report_csv(void **state)
{
    (void)state;
    char *csv = render("category_revenue", CATEGORIES, ECOM_REPORT_CSV);
    assert_string_equal(csv, "category_id,name,lines,revenue_cents,revenue\r\n"
                             "cat_001,\"Tools, \"\"Pro\"\"\",3,1005,10.05\r\n"
                             "unknown,,1,-7,-0.07\r\n");
    free(csv);
    csv = render("daily_sales", "[]", ECOM_REPORT_CSV);
    assert_string_equal(csv, "day,revenue_cents,revenue,orders,units\r\n");
    free(csv);
    /* rows cut from a snapshot: a list at a path, an object as one row */
    json_t *snap = json_loads("{\"funnel\": {\"by_day\": [{\"day\": \"2025-03-01\", \"viewed\": 3, "
                              "\"carted\": 2, \"converted\": 1}]}, \"counts\": {\"users\": 1, "
                              "\"categories\": 2, \"products\": 3, \"transactions\": 4, "
                              "\"sessions\": 5}}",
                              0, NULL);
    ecom_config cfg = {0};
    ecom_error err;
    const char *names[] = {"funnel_by_day", "counts"};
    const char *expected[] = {"day,viewed,carted,converted\r\n2025-03-01,3,2,1\r\n",
                              "users,categories,products,transactions,sessions\r\n1,2,3,4,5\r\n"};
    for (int i = 0; i < 2; i++) {
        json_t *rows;
        assert_int_equal(ecom_report_rows(report(names[i]), "", &cfg, snap, &rows, &err), 0);
        ecom_buf out;
        ecom_buf_init(&out);
        ecom_report_render(report(names[i]), rows, ECOM_REPORT_CSV, &out);
        assert_string_equal(out.data, expected[i]);
        ecom_buf_free(&out);
        json_decref(rows);
    }
    json_decref(snap);
}

static void test_report_json(void **state)
{
    (void)state;
    char *text = render("category_revenue", CATEGORIES, ECOM_REPORT_JSON);
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(doc);
    assert_int_equal(json_array_size(doc), 2);
    json_t *row = json_array_get(doc, 0);
    assert_string_equal(json_string_value(json_object_get(row, "name")), "Tools, \"Pro\"");
    assert_int_equal(json_integer_value(json_object_get(row, "revenue_cents")), 1005);
    assert_string_equal(json_string_value(json_object_get(row, "revenue")), "10.05");
    assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 1), "revenue")),
                        "-0.07");
    const char *key;
    json_t *v;
    const char *order[] = {"category_id", "name", "lines", "revenue_cents", "revenue"};
    int i = 0;
    json_object_foreach(row, key, v) assert_string_equal(key, order[i++]);
    assert_int_equal(i, 5);
    json_decref(doc);
}

static void test_report_table(void **state)
{
    (void)state;
    char *text = render("category_revenue", CATEGORIES, ECOM_REPORT_TABLE);
    assert_string_equal(text, "category_id  name          lines  revenue_cents  revenue\n"
                              "cat_001      Tools, \"Pro\"      3           1005    10.05\n"
                              "unknown                        1             -7    -0.07\n"
                              "(2 rows)\n");
    free(text);
    /* a terminal escape of the data never reaches the terminal */
    text = render("category_revenue",
                  "[{\"category_id\": \"cat_002\", \"name\": \"a\\u001b[2Jb\", \"lines\": 1, "
                  "\"revenue_cents\": 1}]",
                  ECOM_REPORT_TABLE);
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "a\\x1b[2Jb"));
    free(text);
}

static void test_report_names(void **state)
{
    (void)state;
    const ecom_report *rep = NULL;
    char id[ECOM_ID_MAX];
    ecom_error err;
    assert_int_equal(ecom_report_find("users/user_000042/sessions", &rep, id, &err),
                     ECOM_REPORT_FOUND);
    assert_int_equal(rep->source, ECOM_REPORT_FROM_USER_SESSIONS);
    assert_string_equal(id, "user_000042");
    assert_int_equal(ecom_report_find("products", &rep, id, &err), ECOM_REPORT_FOUND);
    assert_string_equal(id, "");

    assert_int_equal(ecom_report_find("sales", &rep, id, &err), ECOM_REPORT_UNKNOWN);
    assert_non_null(strstr(err.msg, "no report named 'sales'; reports: daily_sales, "));
    assert_int_equal(ecom_report_find("users/<user_id>/sessions", &rep, id, &err),
                     ECOM_REPORT_BAD_ID);
    assert_int_equal(ecom_report_find("users/user_1/sessions", &rep, id, &err), ECOM_REPORT_BAD_ID);
    assert_non_null(strstr(err.msg, "'user_1' is not a user id"));
    assert_int_equal(ecom_report_find("users/user_000001/x/sessions", &rep, id, &err),
                     ECOM_REPORT_BAD_ID);
    assert_int_equal(ecom_report_find("users//sessions", &rep, id, &err), ECOM_REPORT_BAD_ID);
    assert_int_equal(ecom_report_find("users/user_000001/orders", &rep, id, &err),
                     ECOM_REPORT_UNKNOWN);
    /* a hostile name is quoted escaped */
    assert_int_equal(ecom_report_find("x\ny", &rep, id, &err), ECOM_REPORT_UNKNOWN);
    assert_non_null(strstr(err.msg, "'x\\ny'"));
}

static void test_file_name(void **state)
{
    (void)state;
    char name[160];
    ecom_report_file_name("products", ecom_time_from_civil(2026, 12, 1, 12, 0, 59), "csv", name,
                          sizeof name);
    assert_string_equal(name, "ecom-products-2026-12-01T1200Z.csv");
    ecom_report_file_name("users/user_000042/sessions", ecom_time_from_civil(2025, 3, 9, 7, 5, 0),
                          "json", name, sizeof name);
    assert_string_equal(name, "ecom-users-user_000042-sessions-2025-03-09T0705Z.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_typed_fields), cmocka_unit_test(test_report_csv),
        cmocka_unit_test(test_report_json),  cmocka_unit_test(test_report_table),
        cmocka_unit_test(test_report_names), cmocka_unit_test(test_file_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
