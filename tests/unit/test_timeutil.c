/*
 * test_timeutil.c - UTC times, days and months (lib/timeutil.c).
 *
 * Covers: formatting and strict parsing against epoch values computed independently
 * (`date -u -d ... +%s`), format/parse round trips over a long span, the epoch itself, leap days
 * (2024, 2000 yes; 2023, 2100 no), every way a timestamp can be malformed (with the error text),
 * dates vs times, and the day/month/year keys around midnight and before the epoch, where floor
 * division matters, plus their text forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "ecom/timeutil.h"

#define DAY ECOM_SECONDS_PER_DAY

static ecom_time parse_ok(const char *s)
{
    ecom_error err = {""};
    ecom_time t = -12345;
    if (ecom_time_parse(s, &t, &err) != 0)
        fail_msg("'%s' should parse: %s", s, err.msg);
    return t;
}

static void assert_formats_as(ecom_time t, const char *expected)
{
    char out[ECOM_TIME_TEXT];
    ecom_time_format(t, out);
    assert_string_equal(out, expected);
}

/* Epoch seconds from `date -u -d TEXT +%s`, not from the code under test. */
static const struct {
    const char *text;
    ecom_time t;
    // clang-format off
} known_times[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01T00:00:01Z", 1},
    {"2000-02-29T23:59:59Z", 951868799},
    {"2024-02-29T00:00:00Z", 1709164800},
    {"2025-03-01T12:34:56Z", 1740832496},
    {"2038-01-19T03:14:08Z", 2147483648},
    {"2099-12-31T23:59:59Z", 4102444799},
};
// clang-format on

static void test_known_times_parse_and_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof known_times / sizeof known_times[0]; i++) {
        assert_int_equal(parse_ok(known_times[i].text), known_times[i].t);
        assert_formats_as(known_times[i].t, known_times[i].text);
    }
}

static void test_from_civil_matches_parse(void **state)
{
    (void)state;
    assert_int_equal(ecom_time_from_civil(2025, 3, 1, 12, 34, 56), 1740832496);
    assert_int_equal(ecom_time_from_civil(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(ecom_time_from_civil(1969, 12, 31, 23, 59, 59), -1);
}

static void test_round_trip_over_two_centuries(void **state)
{
    (void)state;
    /* An odd step so every time of day, day of month and month gets visited. */
    const ecom_time end = ecom_time_from_civil(2170, 1, 1, 0, 0, 0);
    int checked = 0;
    for (ecom_time t = 0; t < end; t += 37 * DAY + 4567, checked++) {
        char text[ECOM_TIME_TEXT];
        ecom_time_format(t, text);
        assert_int_equal(strlen(text), ECOM_TIME_TEXT - 1);
        assert_int_equal(parse_ok(text), t);
    }
    assert_true(checked > 1900);
}

static void test_leap_days(void **state)
{
    (void)state;
    ecom_error err;
    ecom_time t;
    /* The second after 2024-02-28T23:59:59Z is Feb 29; the day after that is March 1. */
    ecom_time feb28_last = parse_ok("2024-02-28T23:59:59Z");
    assert_formats_as(feb28_last + 1, "2024-02-29T00:00:00Z");
    assert_formats_as(feb28_last + 1 + DAY, "2024-03-01T00:00:00Z");
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400); /* divisible by 400 */
    /* 2023 is not a leap year, nor is 2100 (divisible by 100, not 400). */
    assert_int_equal(ecom_time_parse("2023-02-29T00:00:00Z", &t, &err), -1);
    assert_int_equal(ecom_time_parse("2100-02-29T00:00:00Z", &t, &err), -1);
    assert_formats_as(parse_ok("2023-02-28T12:00:00Z") + DAY, "2023-03-01T12:00:00Z");
}

static void test_malformed_times_rejected(void **state)
{
    (void)state;
    // clang-format off
    static const char *const bad[] = {
        "2025-02-30T00:00:00Z", /* no such day */
        "2025-04-31T00:00:00Z",
        "2025-13-01T00:00:00Z", /* no such month */
        "2025-00-10T00:00:00Z",
        "2025-03-00T00:00:00Z",
        "2025-03-01 12:00:00",  /* space, no Z */
        "2025-03-01T12:00:00",  /* missing Z */
        "2025-03-01T12:00:00z", /* lower-case z */
        "2025-03-01T12:00:00+00:00",
        "2025-03-01T24:00:00Z", /* hour 24 */
        "2025-03-01T12:60:00Z",
        "2025-03-01T12:00:60Z", /* no leap seconds */
        "2025-3-01T12:00:00Z",  /* unpadded */
        "2025-03-01T12:00:00Z ", /* trailing text */
        " 2025-03-01T12:00:00Z",
        "2025-03-01T12:00:00.5Z",
        "1969-12-31T23:59:59Z", /* before 1970 */
        "",
        "2025-03-01",
        "abcd-ef-ghTij:kl:mnZ",
    };
    // clang-format on
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ecom_error err = {""};
        ecom_time t = 777;
        if (ecom_time_parse(bad[i], &t, &err) != -1)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)t);
        assert_int_equal(t, 777); /* output untouched on failure */
        char expected[128];
        snprintf(expected, sizeof expected,
                 "'%s' is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ", bad[i]);
        assert_string_equal(err.msg, expected);
    }
}

static void test_date_parse(void **state)
{
    (void)state;
    ecom_error err = {""};
    ecom_time t;
    assert_int_equal(ecom_date_parse("2024-02-29", &t, &err), 0);
    assert_int_equal(t, 1709164800);
    assert_int_equal(ecom_date_parse("2025-02-29", &t, &err), -1);
    assert_string_equal(err.msg,
                        "'2025-02-29' is not a date of the form YYYY-MM-DD (1970 or later)");
    assert_int_equal(ecom_date_parse("2025-03-01T00:00:00Z", &t, &err), -1);
    assert_int_equal(ecom_date_parse("1969-12-31", &t, &err), -1);

    /* Either form: a date means midnight. */
    assert_int_equal(ecom_time_or_date_parse("2025-03-01", &t, &err), 0);
    assert_int_equal(t, ecom_time_from_civil(2025, 3, 1, 0, 0, 0));
    assert_int_equal(ecom_time_or_date_parse("2025-03-01T12:34:56Z", &t, &err), 0);
    assert_int_equal(t, 1740832496);
    assert_int_equal(ecom_time_or_date_parse("2025-03-1", &t, &err), -1);
    assert_non_null(strstr(err.msg, "'2025-03-1'"));
}

static void test_day_around_midnight_and_before_epoch(void **state)
{
    (void)state;
    ecom_time midnight = parse_ok("2025-03-01T00:00:00Z");
    assert_int_equal(midnight % DAY, 0);
    assert_int_equal(ecom_time_day(midnight), midnight / DAY);
    assert_int_equal(ecom_time_day(midnight - 1), midnight / DAY - 1);
    assert_int_equal(ecom_time_day(midnight + DAY - 1), midnight / DAY);
    /* Floor, not truncation, below zero. */
    assert_int_equal(ecom_time_day(0), 0);
    assert_int_equal(ecom_time_day(-1), -1);
    assert_int_equal(ecom_time_day(-DAY), -1);
    assert_int_equal(ecom_time_day(-DAY - 1), -2);
    assert_formats_as(-1, "1969-12-31T23:59:59Z");
    assert_formats_as(-DAY, "1969-12-31T00:00:00Z");
}

static void test_month_and_year_keys(void **state)
{
    (void)state;
    ecom_time mar1 = parse_ok("2025-03-01T00:00:00Z");
    assert_int_equal(ecom_time_month(mar1), 2025 * 12 + 2);
    assert_int_equal(ecom_time_month(mar1 - 1), 2025 * 12 + 1);
    ecom_time new_year = parse_ok("2025-01-01T00:00:00Z");
    assert_int_equal(ecom_time_year(new_year), 2025);
    assert_int_equal(ecom_time_year(new_year - 1), 2024);
    assert_int_equal(ecom_time_month(new_year - 1), 2024 * 12 + 11);
    assert_int_equal(ecom_time_year(0), 1970);
    assert_int_equal(ecom_time_month(0), 1970 * 12);
    assert_int_equal(ecom_time_year(-1), 1969);
    assert_int_equal(ecom_time_month(-1), 1969 * 12 + 11);
    assert_int_equal(ecom_time_month(parse_ok("2024-02-29T23:59:59Z")), 2024 * 12 + 1);
}

static void test_day_and_month_text(void **state)
{
    (void)state;
    char day[ECOM_DAY_TEXT], month[ECOM_MONTH_TEXT];
    ecom_day_format(0, day);
    assert_string_equal(day, "1970-01-01");
    ecom_day_format(-1, day);
    assert_string_equal(day, "1969-12-31");
    ecom_day_format(ecom_time_day(parse_ok("2024-02-29T23:59:59Z")), day);
    assert_string_equal(day, "2024-02-29");
    ecom_day_format(ecom_time_day(parse_ok("2025-03-01T00:00:00Z") - 1), day);
    assert_string_equal(day, "2025-02-28");

    ecom_month_format(2025 * 12 + 2, month);
    assert_string_equal(month, "2025-03");
    ecom_month_format(2024 * 12 + 11, month);
    assert_string_equal(month, "2024-12");
    ecom_month_format(ecom_time_month(-1), month);
    assert_string_equal(month, "1969-12");
    ecom_month_format(ecom_time_month(parse_ok("2025-01-31T23:59:59Z")), month);
    assert_string_equal(month, "2025-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_times_parse_and_format),
        cmocka_unit_test(test_from_civil_matches_parse),
        cmocka_unit_test(test_round_trip_over_two_centuries),
        cmocka_unit_test(test_leap_days),
        cmocka_unit_test(test_malformed_times_rejected),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_day_around_midnight_and_before_epoch),
        cmocka_unit_test(test_month_and_year_keys),
        cmocka_unit_test(test_day_and_month_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
