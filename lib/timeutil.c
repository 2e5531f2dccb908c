/*
 * timeutil.c - UTC calendar arithmetic without the C library's time zone machinery.
 *
 * days_from_civil / civil_from_days are the proleptic Gregorian conversions; using them instead
 * of gmtime/timegm keeps the results independent of TZ and locale, which the generator's
 * byte-for-byte determinism needs.
 */
#include "ecom/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "ecom/escape.h"

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int32_t *y, int32_t *m, int32_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int32_t)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int32_t)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int32_t)(yy + (*m <= 2));
}

/* Copies formatted text into a fixed field; the formats above always fit for years 1970-9999. */
static void copy_text(char *out, const char *tmp, size_t size)
{
    size_t n = strnlen(tmp, size - 1);
    memcpy(out, tmp, n);
    out[n] = '\0';
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

ecom_time ecom_time_from_civil(int32_t year, int32_t month, int32_t day, int32_t hour,
                               int32_t minute, int32_t second)
{
    return days_from_civil(year, month, day) * ECOM_SECONDS_PER_DAY + hour * 3600 + minute * 60 +
           second;
}

int64_t ecom_time_day(ecom_time t)
{
    return floor_div(t, ECOM_SECONDS_PER_DAY);
}

/* Writes v as exactly n decimal digits (32-bit arithmetic: every field of a time fits). */
static void put_digits(char *out, int n, uint32_t v)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void ecom_time_format(ecom_time t, char out[ECOM_TIME_TEXT])
{
    /* hand-rolled instead of snprintf: this runs for every timestamp of every message */
    int64_t day = ecom_time_day(t);
    int64_t sec = t - day * ECOM_SECONDS_PER_DAY;
    int32_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    uint32_t s = (uint32_t)sec; /* 0..86399 */
    put_digits(out, 4, (uint32_t)(y < 0 ? 0 : y % 10000));
    out[4] = '-';
    put_digits(out + 5, 2, (uint32_t)m);
    out[7] = '-';
    put_digits(out + 8, 2, (uint32_t)d);
    out[10] = 'T';
    put_digits(out + 11, 2, s / 3600);
    out[13] = ':';
    put_digits(out + 14, 2, s / 60 % 60);
    out[16] = ':';
    put_digits(out + 17, 2, s % 60);
    out[19] = 'Z';
    out[20] = '\0';
}

void ecom_day_format(int64_t day, char out[ECOM_DAY_TEXT])
{
    int32_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", (int)(y % 10000), (int)m, (int)d);
    copy_text(out, tmp, ECOM_DAY_TEXT);
}

int32_t ecom_time_month(ecom_time t)
{
    int32_t y, m, d;
    civil_from_days(ecom_time_day(t), &y, &m, &d);
    return y * 12 + (m - 1);
}

void ecom_month_format(int32_t month, char out[ECOM_MONTH_TEXT])
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d", (int)(month / 12 % 10000), (int)(month % 12 + 1));
    copy_text(out, tmp, ECOM_MONTH_TEXT);
}

int32_t ecom_time_year(ecom_time t)
{
    int32_t y, m, d;
    civil_from_days(ecom_time_day(t), &y, &m, &d);
    return y;
}

/* Reads exactly n decimal digits. */
static int digits(const char *s, int n, int32_t *out)
{
    int32_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int32_t y, int32_t m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dim[m - 1] + (m == 2 && leap);
}

static int parse_date_part(const char *s, int32_t *y, int32_t *m, int32_t *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' || digits(s + 8, 2, d))
        return -1;
    if (*y < 1970 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int ecom_date_parse(const char *s, ecom_time *out, ecom_error *err)
{
    int32_t y, m, d;
    char shown[ECOM_SHOW_MAX];
    if (strlen(s) != 10 || parse_date_part(s, &y, &m, &d))
        return ecom_fail(err, "'%s' is not a date of the form YYYY-MM-DD (1970 or later)",
                         ecom_show(shown, s, ECOM_SHOW_LIMIT));
    *out = ecom_time_from_civil(y, m, d, 0, 0, 0);
    return 0;
}

/* The last valid date a thread read as part of a time, and its day: the times of a stream of
 * messages mostly fall on the day before them, whose date then reads as one compare. */
static _Thread_local struct {
    char date[10];
    int64_t day;
} last_date = {"", 0};

/* Whether s starts with the last date; read up to the first byte that differs, so never past
 * the NUL of a shorter s (the date holds none). */
static bool is_last_date(const char *s)
{
    if (!last_date.date[0])
        return false;
    for (size_t i = 0; i < sizeof last_date.date; i++)
        if (s[i] != last_date.date[i])
            return false;
    return true;
}

/* The day of the date at s[0..10), or -1 when it is not one. */
static int date_day(const char *s, int64_t *day)
{
    if (is_last_date(s)) {
        *day = last_date.day;
        return 0;
    }
    int32_t y, m, d;
    if (parse_date_part(s, &y, &m, &d))
        return -1;
    memcpy(last_date.date, s, sizeof last_date.date);
    last_date.day = *day = days_from_civil(y, m, d);
    return 0;
}

int ecom_time_parse(const char *s, ecom_time *out, ecom_error *err)
{
    int32_t hh, mm, ss;
    int64_t day;
    char shown[ECOM_SHOW_MAX];
    /* left to right, each byte read only when the ones before it are not the end */
    if (date_day(s, &day) || s[10] != 'T' || digits(s + 11, 2, &hh) || s[13] != ':' ||
        digits(s + 14, 2, &mm) || s[16] != ':' || digits(s + 17, 2, &ss) || s[19] != 'Z' ||
        s[20] != '\0' || hh > 23 || mm > 59 || ss > 59)
        return ecom_fail(err, "'%s' is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ",
                         ecom_show(shown, s, ECOM_SHOW_LIMIT));
    *out = day * ECOM_SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss;
    return 0;
}

int ecom_time_or_date_parse(const char *s, ecom_time *out, ecom_error *err)
{
    if (strlen(s) == 10)
        return ecom_date_parse(s, out, err);
    return ecom_time_parse(s, out, err);
}

ecom_time ecom_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (ecom_time)ts.tv_sec;
}

double ecom_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
