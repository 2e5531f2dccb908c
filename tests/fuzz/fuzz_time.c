/*
 * fuzz_time.c - the time parsers (lib/timeutil.c) against any text, and the formatter against
 * any time they can produce.
 *
 * A parse either fails with a printable error or gives the time whose text is the input itself:
 * the accepted forms are canonical, so formatting gives the same bytes back (a time as
 * YYYY-MM-DDTHH:MM:SSZ, a date as YYYY-MM-DD at midnight). Either-form parsing agrees with the
 * form the text has. The input's first eight bytes, read as a time between 1970 and 9999, also
 * format to a text that parses back to it.
 */
#include <stddef.h>
#include <stdint.h>
#include "ecom/timeutil.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LAST_SECOND 253402300799 /* 9999-12-31T23:59:59Z */

static void check_time_text(const char *s)
{
    ecom_time t, either;
    ecom_error err;
    if (ecom_time_parse(s, &t, &err)) {
        fuzz_check_printable("the time error", err.msg);
        return;
    }
    char text[ECOM_TIME_TEXT];
    ecom_time_format(t, text);
    if (strcmp(text, s) != 0)
        fuzz_fail("'%s' parsed to %lld, which formats as '%s'", s, (long long)t, text);
    if (ecom_time_or_date_parse(s, &either, &err) || either != t)
        fuzz_fail("'%s': either-form parsing disagrees", s);
}

static void check_date_text(const char *s)
{
    ecom_time t, either;
    ecom_error err;
    if (ecom_date_parse(s, &t, &err)) {
        fuzz_check_printable("the date error", err.msg);
        return;
    }
    char text[ECOM_DAY_TEXT];
    ecom_day_format(ecom_time_day(t), text);
    if (strcmp(text, s) != 0 || t % ECOM_SECONDS_PER_DAY != 0)
        fuzz_fail("'%s' parsed to %lld, day '%s'", s, (long long)t, text);
    if (ecom_time_or_date_parse(s, &either, &err) || either != t)
        fuzz_fail("'%s': either-form parsing disagrees", s);
}

static void check_format(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t bits;
    memcpy(&bits, data, 8);
    ecom_time t = (ecom_time)(bits % (LAST_SECOND + 1));
    char text[ECOM_TIME_TEXT];
    ecom_time_format(t, text);
    ecom_time back;
    ecom_error err;
    if (ecom_time_parse(text, &back, &err) || back != t)
        fuzz_fail("%lld formats as '%s', which does not parse back", (long long)t, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    check_time_text(s);
    check_date_text(s);
    ecom_time t;
    ecom_error err;
    if (ecom_time_or_date_parse(s, &t, &err))
        fuzz_check_printable("the either-form error", err.msg);
    free(s);
    check_format(data, size);
    return 0;
}
