/*
 * test_jsonr.c - the strict JSON reader (lib/jsonr.c): what it accepts, and what it reads.
 *
 * Acceptance is checked case by case against jansson 2.14 (json_loadb with
 * JSON_REJECT_DUPLICATES, as the decoder used it): every row names the answer both must give,
 * so a row fails if either reader disagrees with it. The rows are the hard parts of the grammar
 * - UTF-8 forms, escapes and surrogate pairs, the number grammar and the 64-bit and double
 * limits, duplicate keys spelled differently, the depth limit, the NUL jansson skips after a
 * number or a literal; a disagreement the differential fuzz harness (tests/fuzz/fuzz_jsonr.c)
 * finds becomes a row here. Then the values read: integers at their limits, reals as strtod
 * gives them, string bytes once unescaped, members found by their unescaped keys, and the token
 * bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/jsonr.h"

typedef struct text_case {
    const char *what;
    const char *text;
    size_t len; /* 0: strlen(text) */
    bool accepted;
} text_case;

/* A string literal with its NULs: its length without the terminating one. */
#define RAW(s) s, sizeof s - 1

// clang-format off
static const text_case cases[] = {
    /* structure */
    {"empty object", "{}", 0, true},
    {"empty array with spaces", " \t\r\n[ \n]\r\n ", 0, true},
    {"nested", "{\"a\":[1,{\"b\":null},[]],\"c\":{}}", 0, true},
    {"a bare number", "42", 0, false},
    {"a bare string", "\"a\"", 0, false},
    {"a bare literal", "true", 0, false},
    {"nothing", "", 0, false},
    {"whitespace only", "  \n", 0, false},
    {"a form feed is not whitespace", "[\f]", 0, false},
    {"trailing text", "[] x", 0, false},
    {"a second value", "[][]", 0, false},
    {"unclosed", "[1,2", 0, false},
    {"unclosed object", "{\"a\":1", 0, false},
    {"trailing comma in an array", "[1,]", 0, false},
    {"trailing comma in an object", "{\"a\":1,}", 0, false},
    {"leading comma", "[,1]", 0, false},
    {"missing comma", "[1 2]", 0, false},
    {"missing colon", "{\"a\" 1}", 0, false},
    {"a key without a value", "{\"a\"}", 0, false},
    {"a number as a key", "{1:2}", 0, false},
    {"mismatched brackets", "[1}", 0, false},
    {"a colon in an array", "[1:2]", 0, false},
    /* literals */
    {"literals", "[true,false,null]", 0, true},
    {"a literal with a letter after it", "[truex]", 0, false},
    {"a capitalised literal", "[True]", 0, false},
    {"a cut literal", "[nul]", 0, false},
    {"a literal with a digit after it", "[true1]", 0, false},
    /* the NUL byte jansson's lexer skips after a number or a literal */
    {"NUL after an integer", RAW("[1\0]"), true},
    {"NUL after a literal", RAW("{\"a\":true\0}"), true},
    {"NUL after a real and after null", RAW("[1.5\0,null\0 ]"), true},
    {"NUL after a negative zero", RAW("[-0\0]"), true},
    {"two NULs after a number", RAW("[1\0\0]"), false},
    {"NUL after a space after a number", RAW("[1 \0]"), false},
    {"NUL after a string", RAW("[\"a\"\0]"), false},
    {"NUL after a key", RAW("{\"a\"\0:1}"), false},
    {"NUL before a value", RAW("[\0 1]"), false},
    {"NUL after the outermost value", RAW("{}\0"), false},
    {"NUL after a number at the end", RAW("[1\0"), false},
    {"NUL after a minus sign", RAW("[-\0]"), false},
    /* numbers */
    {"zero and negative zero", "[0,-0,0.0,-0.0]", 0, true},
    {"a leading zero", "[01]", 0, false},
    {"a negative leading zero", "[-01]", 0, false},
    {"a minus sign alone", "[-]", 0, false},
    {"a plus sign", "[+1]", 0, false},
    {"no digit after the point", "[1.]", 0, false},
    {"no digit before the point", "[.5]", 0, false},
    {"no digit in the exponent", "[1e]", 0, false},
    {"a signed exponent without digits", "[1e+]", 0, false},
    {"exponents", "[1e5,1E+5,1e-5,1.5E05,0e0,-0.0e-0]", 0, true},
    {"hexadecimal", "[0x10]", 0, false},
    {"a point after an exponent", "[1e5.5]", 0, false},
    {"infinity", "[Infinity]", 0, false},
    {"the largest integer", "[9223372036854775807]", 0, true},
    {"past the largest integer", "[9223372036854775808]", 0, false},
    {"the smallest integer", "[-9223372036854775808]", 0, true},
    {"past the smallest integer", "[-9223372036854775809]", 0, false},
    {"a very long integer", "[123456789012345678901234567890]", 0, false},
    {"the same as a real", "[123456789012345678901234567890.0]", 0, true},
    {"a real near the largest double", "[1.7976931348623157e308]", 0, true},
    {"a real past the largest double", "[1.8e308]", 0, false},
    {"a negative real past the largest double", "[-1e309]", 0, false},
    {"a real that underflows", "[1e-400,-4.9e-330]", 0, true},
    /* strings: raw bytes */
    {"DEL is allowed", "[\"\x7f\"]", 0, true},
    {"a raw control character", "[\"\x1f\"]", 0, false},
    {"a raw tab", "[\"a\tb\"]", 0, false},
    {"a raw newline", "[\"a\nb\"]", 0, false},
    {"a raw NUL", RAW("[\"a\0b\"]"), false},
    {"an unterminated string", "[\"abc", 0, false},
    {"two-, three- and four-byte UTF-8", "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", 0, true},
    {"U+10FFFF", "[\"\xf4\x8f\xbf\xbf\"]", 0, true},
    {"past U+10FFFF", "[\"\xf4\x90\x80\x80\"]", 0, false},
    {"lead byte 0xf5", "[\"\xf5\x80\x80\x80\"]", 0, false},
    {"lead byte 0xff", "[\"\xff\"]", 0, false},
    {"a lone continuation byte", "[\"\x80\"]", 0, false},
    {"overlong two bytes (0xc0)", "[\"\xc0\x80\"]", 0, false},
    {"overlong two bytes (0xc1)", "[\"\xc1\xbf\"]", 0, false},
    {"overlong three bytes", "[\"\xe0\x9f\xbf\"]", 0, false},
    {"overlong four bytes", "[\"\xf0\x8f\xbf\xbf\"]", 0, false},
    {"a UTF-8 encoded surrogate", "[\"\xed\xa0\x80\"]", 0, false},
    {"the last character before the surrogates", "[\"\xed\x9f\xbf\"]", 0, true},
    {"a cut two-byte sequence", "[\"\xc3\"]", 0, false},
    {"a cut three-byte sequence", "[\"\xe2\x82\"]", 0, false},
    {"a sequence cut by the end of the text", "[\"\xe2\x82", 0, false},
    {"a bad continuation byte", "[\"\xe2\x28\xa1\"]", 0, false},
    {"UTF-8 outside a string", "[\xc3\xa9]", 0, false},
    /* strings: escapes */
    {"every short escape", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0, true},
    {"an unknown escape", "[\"\\a\"]", 0, false},
    {"an escaped single quote", "[\"\\'\"]", 0, false},
    {"a backslash at the end", "[\"\\", 0, false},
    {"\\u escapes in both cases", "[\"\\u00e9\\u00E9\\uFFFF\"]", 0, true},
    {"\\u with a non-hex digit", "[\"\\u00g0\"]", 0, false},
    {"\\u with three digits", "[\"\\u00e\"]", 0, false},
    {"\\u0000", "[\"a\\u0000b\"]", 0, false},
    {"\\u0000 in a key", "{\"\\u0000\":1}", 0, false},
    {"a surrogate pair", "[\"\\ud83d\\ude00\"]", 0, true},
    {"the last surrogate pair", "[\"\\uDBFF\\uDFFF\"]", 0, true},
    {"a lone high surrogate", "[\"\\ud83d\"]", 0, false},
    {"a high surrogate then text", "[\"\\ud83dx\"]", 0, false},
    {"a lone low surrogate", "[\"\\ude00\"]", 0, false},
    {"a high surrogate then a letter escape", "[\"\\ud83d\\u0041\"]", 0, false},
    {"a high surrogate then another high one", "[\"\\ud83d\\ud83d\\ude00\"]", 0, false},
    {"a high surrogate then an escaped backslash", "[\"\\ud83d\\\\ude00\"]", 0, false},
    {"a high surrogate then a short escape", "[\"\\ud83d\\n\"]", 0, false},
    {"a pair cut short", "[\"\\ud83d\\ude0\"]", 0, false},
    /* duplicate keys, compared once unescaped */
    {"the same key twice", "{\"a\":1,\"a\":2}", 0, false},
    {"the same key escaped", "{\"a\":1,\"\\u0061\":2}", 0, false},
    {"the same key escaped otherwise", "{\"\\/\":1,\"/\":2}", 0, false},
    {"the same key, both escaped", "{\"\\u00e9\":1,\"\\u00E9\":2}", 0, false},
    {"an escape and its UTF-8", "{\"\\u00e9\":1,\"\xc3\xa9\":2}", 0, false},
    {"a pair and its UTF-8", "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 0, false},
    {"a key that is a prefix", "{\"ab\":1,\"a\":2,\"\":3}", 0, true},
    {"the same key in another object", "{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3}]}", 0, true},
    {"the same key far apart", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"a\":6}", 0, false},
    {"two keys alike at both ends", "{\"axb\":1,\"ayb\":2}", 0, true},
    {"a duplicate inside, none outside", "{\"a\":{\"b\":1,\"b\":2},\"c\":3}", 0, false},
    {"a duplicate outside, none inside", "{\"a\":{\"b\":1,\"c\":2},\"a\":3}", 0, false},
};
// clang-format on
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* Whether jsonr accepts text; its tokens exactly as many as JSONR_TOKENS_FOR promises. */
static bool jsonr_accepts(const char *text, size_t len, jsonr_error *err)
{
    size_t cap = JSONR_TOKENS_FOR(len);
    jsonr_token *tokens = malloc(cap * sizeof *tokens);
    assert_non_null(tokens);
    jsonr_doc doc;
    bool ok = jsonr_parse(&doc, text, len, tokens, cap, err) == 0;
    free(tokens);
    return ok;
}

static bool jansson_accepts(const char *text, size_t len, json_error_t *jerr)
{
    json_t *tree = json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
    json_decref(tree);
    return tree != NULL;
}

static void assert_both(const char *what, const char *text, size_t len, bool accepted)
{
    jsonr_error err = {0, ""};
    json_error_t jerr;
    bool by_jansson = jansson_accepts(text, len, &jerr);
    bool by_jsonr = jsonr_accepts(text, len, &err);
    if (by_jansson != accepted)
        fail_msg("%s: jansson %s, the case says %s", what, by_jansson ? "accepts it" : jerr.text,
                 accepted ? "accepted" : "refused");
    if (by_jsonr && !accepted)
        fail_msg("%s: jsonr accepts it, the case says refused", what);
    if (!by_jsonr && accepted)
        fail_msg("%s: jsonr refuses it at byte %zu (%s), the case says accepted", what, err.offset,
                 err.reason);
}

static void test_accepts_what_jansson_accepts(void **state)
{
    (void)state;
    for (int i = 0; i < N_CASES; i++) {
        const text_case *c = &cases[i];
        assert_both(c->what, c->text, c->len ? c->len : strlen(c->text), c->accepted);
    }
}

/* n containers deep, each an array, around inner (may be empty). */
static char *nested(int n, const char *inner)
{
    size_t len = strlen(inner);
    char *s = malloc(2 * (size_t)n + len + 1);
    assert_non_null(s);
    memset(s, '[', (size_t)n);
    memcpy(s + n, inner, len);
    memset(s + n + len, ']', (size_t)n);
    s[2 * n + len] = '\0';
    return s;
}

/* jansson counts every value, the outermost being 1 deep: JSONR_MAX_DEPTH containers hold no
 * scalar, one fewer does; an object member's key is no deeper than its object. */
static void test_depth_limit(void **state)
{
    (void)state;
    static const struct {
        int depth;
        const char *inner;
        bool accepted;
    } rows[] = {
        {JSONR_MAX_DEPTH, "", true},
        {JSONR_MAX_DEPTH + 1, "", false},
        {JSONR_MAX_DEPTH - 1, "1", true},
        {JSONR_MAX_DEPTH, "1", false},
        {JSONR_MAX_DEPTH - 1, "{}", true},
        {JSONR_MAX_DEPTH - 1, "{\"a\":[]}", false},
        {JSONR_MAX_DEPTH - 2, "{\"a\":[]}", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *s = nested(rows[i].depth, rows[i].inner);
        char what[64];
        snprintf(what, sizeof what, "%d arrays around '%s'", rows[i].depth, rows[i].inner);
        assert_both(what, s, strlen(s), rows[i].accepted);
        free(s);
    }
}

/* An object of n members "k0".."k<n-1>", its last key then given as last (a duplicate or not). */
static char *object_of(int n, const char *last)
{
    size_t cap = (size_t)n * 24 + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t at = (size_t)snprintf(s, cap, "{");
    for (int i = 0; i < n - 1; i++)
        at += (size_t)snprintf(s + at, cap - at, "\"k%d\":%d,", i, i);
    snprintf(s + at, cap - at, "\"%s\":0}", last);
    return s;
}

/* Objects past the pair-by-pair size are checked for duplicates by sorting their keys. */
static void test_duplicates_in_big_objects(void **state)
{
    (void)state;
    static const struct {
        int members;
        const char *last;
        bool accepted;
    } rows[] = {
        {32, "k31", true},    {32, "k0", false},        {33, "k32", true},
        {33, "k0", false},    {33, "k\\u0031", false},  {200, "k199", true},
        {200, "k150", false}, {200, "\\u006b7", false}, {200, "k\\u00e9", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *s = object_of(rows[i].members, rows[i].last);
        char what[64];
        snprintf(what, sizeof what, "%d members, the last '%s'", rows[i].members, rows[i].last);
        assert_both(what, s, strlen(s), rows[i].accepted);
        free(s);
    }
}

/* ---- values ------------------------------------------------------------------------------ */

typedef struct parsed {
    jsonr_doc doc;
    jsonr_token tokens[256];
} parsed;

static jsonr_value parse_ok(parsed *p, const char *text)
{
    jsonr_error err;
    if (jsonr_parse(&p->doc, text, strlen(text), p->tokens, 256, &err) != 0)
        fail_msg("refused at byte %zu: %s\n%s", err.offset, err.reason, text);
    return jsonr_root(&p->doc);
}

static void test_integers_and_reals(void **state)
{
    (void)state;
    static parsed p;
    /* (the reader keeps a value below UINT32_MAX in the token, and reads the others again) */
    const char *text = "[9223372036854775807,-9223372036854775808,-0,0,42,4294967294,4294967295,"
                       "4294967296,-1,1.5,-0.0,1e-400,0.1,2.5e-3,123456789012345678901234567890.0,7]";
    jsonr_value v = jsonr_first(parse_ok(&p, text));
    const int64_t ints[] = {INT64_MAX, INT64_MIN, 0,           0, 42, UINT32_MAX - 1,
                            UINT32_MAX, (int64_t)UINT32_MAX + 1, -1};
    for (int i = 0; i < 9; i++, v = jsonr_next(v)) {
        assert_int_equal(jsonr_type_of(v), JSONR_INTEGER);
        assert_true(jsonr_integer(v) == ints[i]);
        assert_true(jsonr_number(v) == (double)ints[i]);
    }
    const char *reals[] = {"1.5", "-0.0",   "1e-400",
                           "0.1", "2.5e-3", "123456789012345678901234567890.0"};
    for (int i = 0; i < 6; i++, v = jsonr_next(v)) {
        assert_int_equal(jsonr_type_of(v), JSONR_REAL);
        double want = strtod(reals[i], NULL), got = jsonr_real(v), num = jsonr_number(v);
        assert_memory_equal(&got, &want, sizeof want);
        assert_memory_equal(&num, &want, sizeof want);
    }
    assert_int_equal(jsonr_integer(v), 7);
    assert_int_equal(jsonr_next(v).index, p.doc.count);
}

static void test_strings_unescaped(void **state)
{
    (void)state;
    static parsed p;
    jsonr_value root = parse_ok(&p, "[\"plain \xc3\xa9\",\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\","
                                    "\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\uDBFF\\uDFFF\",\"\"]");
    static const struct {
        const char *bytes;
        size_t len;
        bool escaped;
    } want[] = {
        {RAW("plain \xc3\xa9"), false},
        {RAW("q\"b\\s/b\bf\fn\nr\rt\t"), true},
        {RAW("A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"), true},
        {RAW(""), false},
    };
    assert_int_equal(jsonr_size(root), 4);
    jsonr_value v = jsonr_first(root);
    for (int i = 0; i < 4; i++, v = jsonr_next(v)) {
        char out[64];
        assert_int_equal(jsonr_type_of(v), JSONR_STRING);
        assert_int_equal(jsonr_size(v), want[i].len);
        assert_int_equal(jsonr_token_of(v)->escaped, want[i].escaped);
        assert_int_equal(jsonr_string_copy(v, out), want[i].len);
        assert_memory_equal(out, want[i].bytes, want[i].len);
        assert_int_equal(out[want[i].len], '\0');
        assert_true(jsonr_string_equals(v, want[i].bytes, want[i].len));
        if (want[i].len) {
            assert_false(jsonr_string_equals(v, want[i].bytes, want[i].len - 1));
            char other[64];
            memcpy(other, want[i].bytes, want[i].len);
            other[want[i].len - 1] ^= 1;
            assert_false(jsonr_string_equals(v, other, want[i].len));
        }
    }
}

static void test_members_found_by_unescaped_key(void **state)
{
    (void)state;
    static parsed p;
    jsonr_value o = parse_ok(&p, "{\"a\":1,\"\\u0062\":[true,false],\"c\\/d\":{\"a\":null},"
                                 "\"\":\"empty\",\"\\u00e9\":2}");
    assert_int_equal(jsonr_type_of(o), JSONR_OBJECT);
    assert_int_equal(jsonr_size(o), 5);
    assert_int_equal(jsonr_integer(jsonr_object_get(o, "a")), 1);
    jsonr_value b = jsonr_object_get(o, "b");
    assert_int_equal(jsonr_type_of(b), JSONR_ARRAY);
    assert_int_equal(jsonr_size(b), 2);
    assert_int_equal(jsonr_type_of(jsonr_first(b)), JSONR_TRUE);
    assert_int_equal(jsonr_type_of(jsonr_next(jsonr_first(b))), JSONR_FALSE);
    jsonr_value cd = jsonr_object_get(o, "c/d");
    assert_int_equal(jsonr_type_of(jsonr_object_get(cd, "a")), JSONR_NULL);
    assert_false(jsonr_present(jsonr_object_get(cd, "b")));
    assert_true(jsonr_string_equals(jsonr_object_getn(o, "", 0), "empty", 5));
    assert_int_equal(jsonr_integer(jsonr_object_get(o, "\xc3\xa9")), 2);
    assert_false(jsonr_present(jsonr_object_get(o, "c\\/d")));
    assert_false(jsonr_present(jsonr_object_get(o, "ab")));
    assert_false(jsonr_present(jsonr_object_get(b, "a"))); /* not an object */
    /* members in the order of the text, each value followed by the next key */
    static const char *const keys[] = {"a", "b", "c/d", "", "\xc3\xa9"};
    jsonr_value k = jsonr_first(o);
    for (int i = 0; i < 5; i++) {
        assert_true(jsonr_string_equals(k, keys[i], strlen(keys[i])));
        k = jsonr_next(jsonr_member_value(k));
    }
    assert_int_equal(k.index, p.doc.count);
}

/* The densest text there is, one-digit elements, fits JSONR_TOKENS_FOR exactly; one token less
 * is refused, not overrun. */
static void test_token_bound(void **state)
{
    (void)state;
    enum { N = 1000 };
    char text[2 * N + 2];
    text[0] = '[';
    for (int i = 0; i < N; i++) {
        text[1 + 2 * i] = '1';
        text[2 + 2 * i] = i + 1 < N ? ',' : ']';
    }
    size_t len = 2 * N + 1;
    text[len] = '\0';
    jsonr_error err;
    assert_true(jsonr_accepts(text, len, &err));
    size_t need = N + 1;
    assert_true(need <= JSONR_TOKENS_FOR(len));
    jsonr_token *tokens = malloc(need * sizeof *tokens);
    assert_non_null(tokens);
    jsonr_doc doc;
    assert_int_equal(jsonr_parse(&doc, text, len, tokens, need, &err), 0);
    assert_int_equal(doc.count, need);
    assert_int_equal(jsonr_parse(&doc, text, len, tokens, need - 1, &err), -1);
    assert_string_equal(err.reason, "more values than the token array holds");
    free(tokens);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_what_jansson_accepts),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_duplicates_in_big_objects),
        cmocka_unit_test(test_integers_and_reals),
        cmocka_unit_test(test_strings_unescaped),
        cmocka_unit_test(test_members_found_by_unescaped_key),
        cmocka_unit_test(test_token_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
