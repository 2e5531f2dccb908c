/*
 * test_jsonw.c - the streaming JSON writer (lib/jsonw.c) on its own.
 *
 * Commas and colons land where JSON wants them through nesting; a string is copied whole when it
 * needs no escape and escaped byte by byte from its first one that does, whether that byte comes
 * first, in the middle or last, and UTF-8 passes through; a key known only at run time is
 * escaped like any string; integers cover the whole int64_t range; a buffer that starts empty
 * grows as the text does and stays NUL-terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "ecom/jsonw.h"

/* Each test writes into one buffer, from empty. */
typedef struct text {
    ecom_buf b;
    jw w;
} text;

static int text_new(void **state)
{
    text *t = calloc(1, sizeof *t);
    ecom_buf_init(&t->b);
    jw_init(&t->w, &t->b);
    *state = t;
    return 0;
}

static int text_free(void **state)
{
    text *t = *state;
    ecom_buf_free(&t->b);
    free(t);
    return 0;
}

/* Starts the text over. */
static jw *again(text *t)
{
    ecom_buf_reset(&t->b);
    jw_init(&t->w, &t->b);
    return &t->w;
}

static void test_structure(void **state)
{
    text *t = *state;
    jw *w = &t->w;
    jw_begin_object(w);
    jw_kv_int(w, "n", 1);
    jw_key(w, "list");
    jw_begin_array(w);
    jw_int(w, 2);
    jw_begin_object(w);
    jw_end_object(w);
    jw_begin_array(w);
    jw_end_array(w);
    jw_null(w);
    jw_bool(w, true);
    jw_bool(w, false);
    jw_real(w, 0.25);
    jw_real(w, 3);
    jw_end_array(w);
    jw_kv_opt_string(w, "none", "");
    jw_kv_opt_string(w, "some", "x");
    jw_kv_time(w, "at", 1748736000 + 3723);
    jw_end_object(w);
    assert_string_equal(t->b.data, "{\"n\":1,\"list\":[2,{},[],null,true,false,0.25,3.0],"
                                   "\"none\":null,\"some\":\"x\",\"at\":\"2025-06-01T01:02:03Z\"}");
    assert_int_equal(t->b.len, strlen(t->b.data));
}

/* A string value is the whole text, quoted and escaped as JSON wants. */
static void string_is(text *t, const char *s, const char *want)
{
    jw_string(again(t), s);
    assert_string_equal(t->b.data, want);
}

static void test_escapes(void **state)
{
    text *t = *state;
    string_is(t, "plain id_0001", "\"plain id_0001\"");
    string_is(t, "", "\"\"");
    string_is(t, "\"first", "\"\\\"first\"");
    string_is(t, "mid\\dle", "\"mid\\\\dle\"");
    string_is(t, "last\n", "\"last\\n\"");
    string_is(t, "\t\r\b\f\x01\x1f ok \"\"", "\"\\t\\r\\b\\f\\u0001\\u001f ok \\\"\\\"\"");
    string_is(t, "Caf\xc3\xa9 \x7f", "\"Caf\xc3\xa9 \x7f\"");
}

static void test_keys(void **state)
{
    text *t = *state;
    jw *w = &t->w;
    jw_begin_object(w);
    jw_key(w, "prod_00001");
    jw_int(w, 2);
    jw_key(w, "a\"b");
    jw_int(w, 3);
    jw_kv_string(w, "s", "v");
    jw_end_object(w);
    assert_string_equal(t->b.data, "{\"prod_00001\":2,\"a\\\"b\":3,\"s\":\"v\"}");
}

static void test_integers(void **state)
{
    text *t = *state;
    jw *w = &t->w;
    jw_begin_array(w);
    jw_int(w, 0);
    jw_int(w, -1);
    jw_int(w, INT64_MAX);
    jw_int(w, INT64_MIN);
    jw_end_array(w);
    assert_string_equal(t->b.data, "[0,-1,9223372036854775807,-9223372036854775808]");
    w = again(t);
    jw_begin_object(w);
    jw_kv_int(w, "min", INT64_MIN);
    jw_end_object(w);
    assert_string_equal(t->b.data, "{\"min\":-9223372036854775808}");
}

static void test_grows_from_empty(void **state)
{
    text *t = *state;
    char long_text[5000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[4000] = '"'; /* an escape far past the first reservation */
    jw_begin_array(&t->w);
    for (int i = 0; i < 3; i++)
        jw_string(&t->w, long_text);
    jw_end_array(&t->w);
    assert_int_equal(t->b.len, 1 + 3 * (2 + 4999 + 1) + 2 + 1);
    assert_int_equal(t->b.len, strlen(t->b.data));
    assert_memory_equal(t->b.data + 1 + 1 + 4000, "\\\"", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_structure, text_new, text_free),
        cmocka_unit_test_setup_teardown(test_escapes, text_new, text_free),
        cmocka_unit_test_setup_teardown(test_keys, text_new, text_free),
        cmocka_unit_test_setup_teardown(test_integers, text_new, text_free),
        cmocka_unit_test_setup_teardown(test_grows_from_empty, text_new, text_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
