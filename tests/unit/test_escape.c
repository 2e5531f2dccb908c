/*
 * test_escape.c - hostile text shown safely: the escaper (lib/escape.c) and the log writer that
 * escapes every value it writes (lib/log.c).
 *
 * The escaper: ordinary text unchanged; quotes, backslashes, control characters, C1 and layout
 * controls, and every kind of invalid UTF-8 escaped; cuts that never split a character or an
 * escape; the printable-only mode that leaves escaped text as it is. The log writer: a line
 * with hostile values is still one line whose quoted fields hold exactly their value, numbers
 * format as printf formats them, and a dead letter's error text (a product id that tries to
 * forge a log line) comes out on one line. Lines are read back from stderr, redirected to a
 * temporary file around each call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ecom/codec.h"
#include "ecom/escape.h"
#include "ecom/log.h"
#include "capture.h"

static void assert_shown(const char *value, const char *expected)
{
    char out[ECOM_SHOW_MAX];
    const char *shown = ecom_show(out, value, ECOM_SHOW_LIMIT);
    assert_ptr_equal(shown, out);
    if (strcmp(shown, expected) != 0)
        fail_msg("shown as '%s', expected '%s'", shown, expected);
}

static void test_ordinary_text_unchanged(void **state)
{
    (void)state;
    assert_shown("", "");
    assert_shown("prod_00042", "prod_00042");
    assert_shown("Z\xc3\xbcrich \xf0\x9f\x98\x80 & co.", "Z\xc3\xbcrich \xf0\x9f\x98\x80 & co.");
    assert_shown("2025-03-01 12:00:00", "2025-03-01 12:00:00");
}

static void test_quotes_backslashes_and_controls_escaped(void **state)
{
    (void)state;
    assert_shown("a'b\"c\\d", "a\\'b\\\"c\\\\d");
    assert_shown("x\ny\rz\tw", "x\\ny\\rz\\tw");
    assert_shown("\x1b[31m\x01\x7f", "\\x1b[31m\\x01\\x7f");
    assert_shown("a\xc2\x85" "b", "a\\u0085b");              /* C1 next line */
    assert_shown("a\xe2\x80\xa8" "b", "a\\u2028b");          /* line separator */
    assert_shown("abc\xe2\x80\xae" "def", "abc\\u202edef");  /* right-to-left override */
    assert_shown("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069"); /* isolates */
}

static void test_invalid_utf8_escaped_byte_by_byte(void **state)
{
    (void)state;
    assert_shown("Z\xffrich", "Z\\xffrich");
    assert_shown("\xc0\xaf", "\\xc0\\xaf");               /* overlong '/' */
    assert_shown("\xe0\x80\xaf", "\\xe0\\x80\\xaf");       /* overlong, three bytes */
    assert_shown("\xed\xa0\x80", "\\xed\\xa0\\x80");       /* a surrogate */
    assert_shown("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
    assert_shown("\xe2\x82", "\\xe2\\x82");                /* truncated */
    assert_shown("\x80x", "\\x80x");                       /* stray continuation */
    assert_shown("\xc3\xa9\xc3", "\xc3\xa9\\xc3");
}

static void test_cut_keeps_characters_whole(void **state)
{
    (void)state;
    char value[64], out[ECOM_SHOW_MAX];
    memset(value, 'a', 39);
    strcpy(value + 39, "\xc3\xa9tail"); /* an e-acute across the 40-byte limit */
    ecom_show(out, value, ECOM_SHOW_LIMIT);
    assert_int_equal(strlen(out), 39);
    strcpy(value + 38, "\xc3\xa9tail"); /* ending exactly at the limit: kept */
    ecom_show(out, value, ECOM_SHOW_LIMIT);
    assert_int_equal(strlen(out), 40);
    assert_string_equal(out + 38, "\xc3\xa9");
    /* the worst case, 64 control bytes, fits */
    memset(value, 1, 63);
    value[63] = '\0';
    ecom_show(out, value, 64);
    assert_int_equal(strlen(out), 63 * 4);
}

static void test_append_never_splits_an_escape(void **state)
{
    (void)state;
    char out[7] = "ab";
    size_t n = ecom_escape_append(out, sizeof out, 2, "c\n\"d", 4, "\"");
    assert_string_equal(out, "abc\\n"); /* the \" does not fit whole: it and the rest are left out */
    assert_int_equal(n, 5);
    char small[5] = "";
    ecom_escape_append(small, sizeof small, 0, "\xf0\x9f\x98\x80", 4, NULL);
    assert_string_equal(small, "\xf0\x9f\x98\x80");
    char tiny[4] = "";
    ecom_escape_append(tiny, sizeof tiny, 0, "\xf0\x9f\x98\x80", 4, NULL);
    assert_string_equal(tiny, ""); /* a character that does not fit whole is left out */
}

static void test_printable_mode_leaves_escaped_text_alone(void **state)
{
    (void)state;
    const char *escaped = "field 'x': 'a\\nb \\'q\\' \\\\' is not \"ok\"";
    char out[128];
    ecom_escape_append(out, sizeof out, 0, escaped, strlen(escaped), NULL);
    assert_string_equal(out, escaped);
    const char *raw = "near '\"Z\xff\n";
    ecom_escape_append(out, sizeof out, 0, raw, strlen(raw), NULL);
    assert_string_equal(out, "near '\"Z\\xff\\n");
}

static void test_find_control(void **state)
{
    (void)state;
    const char *s = "Caf\xc3\xa9 \xe2\x80\xa8 ok";
    assert_null(ecom_find_control(s)); /* a line separator is not a control character */
    s = "ab\tc";
    assert_ptr_equal(ecom_find_control(s), s + 2);
    s = "\xc3\xa9\xc2\x9f";
    assert_ptr_equal(ecom_find_control(s), s + 2);
    s = "x\xff\x7f";
    assert_ptr_equal(ecom_find_control(s), s + 2); /* an invalid byte is skipped, DEL found */
}

/* ---- log lines ---------------------------------------------------------------------------- */

/* The line after its "ts=YYYY-MM-DDTHH:MM:SSZ " prefix; fails unless text is exactly one line. */
static const char *after_timestamp(const char *text)
{
    assert_int_equal(strncmp(text, "ts=", 3), 0);
    assert_int_equal(text[23], ' ');
    const char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_string_equal(nl, "\n");
    return text + 24;
}

static void emit_hostile_fields(void)
{
    ecom_log(ECOM_WARN, "a \"msg\"\nts=x",
             "topic=%s error=\"%s\" n=%d big=%lld u=%u f=%.1f pct=%% c=%c p=%.3s w=%5d", "t\nx",
             "a\"b\\c\nd level=error", -5, 1234567890123LL, 7u, 2.5, '\n', "abcdef", 42);
}

static void test_log_fields_escaped(void **state)
{
    (void)state;
    char *text = captured_stderr(emit_hostile_fields);
    assert_string_equal(after_timestamp(text),
                        "level=warn msg=\"a \\\"msg\\\"\\nts=x\" topic=t\\nx "
                        "error=\"a\\\"b\\\\c\\nd level=error\" n=-5 big=1234567890123 u=7 f=2.5 "
                        "pct=% c=\\n p=abc w=   42\n");
    free(text);
}

static void emit_ordinary_line(void)
{
    ecom_log(ECOM_INFO, "progress", "service=\"%s\" consumed=%lld rate_per_s=%.0f lag=%lld",
             "sink mongo", 1000LL, 2500.4, 0LL);
}

static void test_ordinary_log_line_unchanged(void **state)
{
    (void)state;
    char *text = captured_stderr(emit_ordinary_line);
    assert_string_equal(after_timestamp(text), "level=info msg=\"progress\" service=\"sink mongo\" "
                                               "consumed=1000 rate_per_s=2500 lag=0\n");
    free(text);
}

/* A product id built to forge a log line, decoded, refused, and logged as a dead letter is. */
static void emit_dead_letter_of_forged_id(void)
{
    static const char msg[] =
        "{\"schema_version\":1,\"product_id\":\"prod_1\\nts=x level=error msg=\\\"f\\\"\","
        "\"name\":\"n\",\"category_id\":\"cat_001\",\"base_price_cents\":1,\"price_history\":"
        "[{\"price_cents\":1,\"date\":\"2025-01-01T00:00:00Z\"}],\"current_stock\":1,"
        "\"is_active\":true,\"creation_date\":\"2025-01-01T00:00:00Z\"}";
    ecom_record rec;
    ecom_error err;
    assert_int_equal(ecom_record_decode(ECOM_KIND_PRODUCT, msg, sizeof msg - 1, &rec, &err), -1);
    ecom_log(ECOM_WARN, "dead letter", "topic=%s partition=%d offset=%lld error=\"%s\"",
             "ecom.products", 0, 7LL, err.msg);
}

static void test_dead_letter_of_forged_id_is_one_line(void **state)
{
    (void)state;
    char *text = captured_stderr(emit_dead_letter_of_forged_id);
    assert_string_equal(after_timestamp(text),
                        "level=warn msg=\"dead letter\" topic=ecom.products partition=0 offset=7 "
                        "error=\"field 'product_id': 'prod_1\\\\nts=x level=error msg=\\\\\\\"f\\\\\\\"' "
                        "is not an id of the form prod_00000\"\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordinary_text_unchanged),
        cmocka_unit_test(test_quotes_backslashes_and_controls_escaped),
        cmocka_unit_test(test_invalid_utf8_escaped_byte_by_byte),
        cmocka_unit_test(test_cut_keeps_characters_whole),
        cmocka_unit_test(test_append_never_splits_an_escape),
        cmocka_unit_test(test_printable_mode_leaves_escaped_text_alone),
        cmocka_unit_test(test_find_control),
        cmocka_unit_test(test_log_fields_escaped),
        cmocka_unit_test(test_ordinary_log_line_unchanged),
        cmocka_unit_test(test_dead_letter_of_forged_id_is_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
