/*
 * fuzz_jsonr.c - the JSON reader (lib/jsonr.c) against jansson 2.14 itself, on any bytes.
 *
 * The decoder reads every message with jsonr and promises that it accepts exactly what
 * json_loadb(JSON_REJECT_DUPLICATES) accepts, and that a message means the same to both. This
 * harness is that promise, checked: for every input, jsonr accepts it if and only if jansson
 * does, and when both do the two documents are equal value by value - types, integers, reals bit
 * for bit, string bytes, object keys in order, array elements - and every object member jsonr
 * lists is the one its own key lookup finds.
 *
 * The token array is exactly JSONR_TOKENS_FOR(size) long and on the heap, so a text needing
 * more tokens than that bound shows as a refusal jansson disagrees with, and a write past it
 * as an ASan report. An input '#' n rest ('#' is never JSON; n, one byte) stands for rest nested
 * JSONR_MAX_DEPTH - n % 8 arrays down, so that whatever shapes the fuzzer makes meet the depth
 * limit.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/jsonr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *jansson_type_name(const json_t *j)
{
    static const char *const names[] = {"object", "array", "string", "integer",
                                        "real",   "true",  "false",  "null"};
    return names[json_typeof(j)];
}

static void check_string(const json_t *j, jsonr_value v, const char *what)
{
    size_t n = json_string_length(j);
    if (jsonr_size(v) != n)
        fuzz_fail("%s: jansson has %zu bytes, jsonr %u", what, n, jsonr_size(v));
    char *copy = malloc(n + 1);
    if (!copy)
        abort();
    size_t copied = jsonr_string_copy(v, copy);
    if (copied != n || memcmp(copy, json_string_value(j), n) != 0 || copy[n] != '\0')
        fuzz_fail("%s: the bytes differ", what);
    if (!jsonr_string_equals(v, json_string_value(j), n))
        fuzz_fail("%s: jsonr_string_equals denies its own bytes", what);
    free(copy);
}

static void check_same(const json_t *j, jsonr_value v);

static void check_object(const json_t *j, jsonr_value v)
{
    if (jsonr_size(v) != json_object_size(j))
        fuzz_fail("object: jansson has %zu members, jsonr %u", json_object_size(j), jsonr_size(v));
    jsonr_value key = jsonr_first(v);
    for (void *it = json_object_iter((json_t *)j); it;
         it = json_object_iter_next((json_t *)j, it)) {
        const char *name = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        if (jsonr_type_of(key) != JSONR_STRING)
            fuzz_fail("object: a key of type %d", (int)jsonr_type_of(key));
        if (jsonr_size(key) != len || !jsonr_string_equals(key, name, len))
            fuzz_fail("object: keys differ or come in another order at '%.*s'", (int)len, name);
        jsonr_value value = jsonr_member_value(key);
        if (jsonr_object_getn(v, name, len).index != value.index)
            fuzz_fail("object: jsonr_object_getn does not find the member '%.*s'", (int)len, name);
        check_same(json_object_iter_value(it), value);
        key = jsonr_next(value);
    }
    if (key.index != jsonr_token_of(v)->next)
        fuzz_fail("object: its members end at token %u, its next is %u", key.index,
                  jsonr_token_of(v)->next);
}

static void check_array(const json_t *j, jsonr_value v)
{
    if (jsonr_size(v) != json_array_size(j))
        fuzz_fail("array: jansson has %zu elements, jsonr %u", json_array_size(j), jsonr_size(v));
    jsonr_value e = jsonr_first(v);
    for (size_t i = 0; i < json_array_size(j); i++, e = jsonr_next(e))
        check_same(json_array_get(j, i), e);
    if (e.index != jsonr_token_of(v)->next)
        fuzz_fail("array: its elements end at token %u, its next is %u", e.index,
                  jsonr_token_of(v)->next);
}

/* The value j of jansson's tree and v of jsonr's document are the same value. */
static void check_same(const json_t *j, jsonr_value v)
{
    static const jsonr_type as_jsonr[] = {
        [JSON_OBJECT] = JSONR_OBJECT,   [JSON_ARRAY] = JSONR_ARRAY, [JSON_STRING] = JSONR_STRING,
        [JSON_INTEGER] = JSONR_INTEGER, [JSON_REAL] = JSONR_REAL,   [JSON_TRUE] = JSONR_TRUE,
        [JSON_FALSE] = JSONR_FALSE,     [JSON_NULL] = JSONR_NULL,
    };
    if (as_jsonr[json_typeof(j)] != jsonr_type_of(v))
        fuzz_fail("jansson reads %s, jsonr type %d, at byte %u", jansson_type_name(j),
                  (int)jsonr_type_of(v), jsonr_token_of(v)->start);
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        check_object(j, v);
        break;
    case JSON_ARRAY:
        check_array(j, v);
        break;
    case JSON_STRING:
        check_string(j, v, "string");
        break;
    case JSON_INTEGER:
        if (json_integer_value(j) != jsonr_integer(v) ||
            (double)json_integer_value(j) != jsonr_number(v))
            fuzz_fail("integer: jansson %lld, jsonr %lld", (long long)json_integer_value(j),
                      (long long)jsonr_integer(v));
        break;
    case JSON_REAL: {
        double a = json_real_value(j), b = jsonr_real(v), c = jsonr_number(v);
        if (memcmp(&a, &b, sizeof a) != 0 || memcmp(&a, &c, sizeof a) != 0)
            fuzz_fail("real: jansson %.17g, jsonr %.17g", a, b);
        break;
    }
    default:
        break;
    }
}

/* Both readers on text: the same answer, and the same document when they accept it. */
static void check_text(const char *text, size_t size)
{
    json_error_t jerr;
    json_t *tree = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    size_t cap = JSONR_TOKENS_FOR(size);
    jsonr_token *tokens = malloc(cap * sizeof *tokens);
    if (!tokens)
        abort();
    jsonr_doc doc;
    jsonr_error err;
    int rc = jsonr_parse(&doc, text, size, tokens, cap, &err);
    if (tree && rc)
        fuzz_fail("jansson accepts, jsonr refuses at byte %zu: %s", err.offset, err.reason);
    if (!tree && rc == 0)
        fuzz_fail("jansson refuses (line %d column %d: %s), jsonr accepts", jerr.line, jerr.column,
                  jerr.text);
    if (rc) {
        if (err.offset > size)
            fuzz_fail("a refusal at byte %zu of %zu", err.offset, size);
        fuzz_check_printable("jsonr's reason", err.reason);
    } else {
        check_same(tree, jsonr_root(&doc));
        if (jsonr_token_of(jsonr_root(&doc))->next != doc.count)
            fuzz_fail("the outermost value ends at token %u of %u",
                      jsonr_token_of(jsonr_root(&doc))->next, doc.count);
    }
    json_decref(tree);
    free(tokens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || data[0] != '#') {
        check_text((const char *)data, size);
        return 0;
    }
    size_t depth = JSONR_MAX_DEPTH - data[1] % 8, rest = size - 2;
    size_t len = depth + rest + depth;
    char *deep = malloc(len);
    if (!deep)
        abort();
    memset(deep, '[', depth);
    memcpy(deep + depth, data + 2, rest);
    memset(deep + depth + rest, ']', depth);
    check_text(deep, len);
    free(deep);
    return 0;
}
