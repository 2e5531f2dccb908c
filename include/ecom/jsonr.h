/*
 * jsonr.h - a strict JSON reader: one pass over a message into a flat array of tokens.
 *
 * Decoding is every consumer's hot path. A document model that allocates a node per value and
 * a copy per string (jansson) costs several times what reading the bytes does, so the reader,
 * the twin of the writer (jsonw.h), records each value as a token in an array the caller owns:
 * its type, where its text lies, how many members, elements or unescaped bytes it has, and
 * where the value after it starts. Nothing is allocated or copied while reading; a string is
 * unescaped, and a number converted, only when the decoder asks for it.
 *
 * The reader accepts exactly what jansson 2.14's json_loadb(JSON_REJECT_DUPLICATES) accepts,
 * so a message means the same whichever of the two reads it:
 *   - the top level is an object or an array, followed by nothing but whitespace;
 *   - strings are valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), with
 *     no raw control character (below 0x20), escapes only of " \ / b f n r t and uXXXX, a
 *     \uXXXX high surrogate always followed by a \uXXXX low one, and no \u0000;
 *   - numbers are -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; one without a fraction or an
 *     exponent is an integer and must fit in 64 bits; a real must not overflow a double;
 *   - a value lies at most JSONR_MAX_DEPTH deep (the top level is 1);
 *   - no object has the same key twice (compared once unescaped);
 *   - one NUL byte right after a number or a literal is skipped, as jansson's lexer does.
 * The fuzz harness tests/fuzz/fuzz_jsonr.c holds it to that against jansson itself.
 *
 * Usage:
 *   jsonr_token tokens[JSONR_TOKENS_FOR(len)]; jsonr_doc doc; jsonr_error err;
 *   if (jsonr_parse(&doc, text, len, tokens, JSONR_TOKENS_FOR(len), &err) == 0) {
 *       jsonr_value name = jsonr_object_get(jsonr_root(&doc), "name");
 *       ...
 * The text and the tokens must outlive the document and every value taken from it.
 */
#ifndef ECOM_JSONR_H
#define ECOM_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSONR_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
/* Tokens enough for any text of len bytes: every value but the outermost takes two bytes. */
#define JSONR_TOKENS_FOR(len) ((size_t)(len) / 2 + 2)
#define JSONR_NONE UINT32_MAX /* the index of a value that is not there */

typedef enum jsonr_type {
    JSONR_OBJECT,
    JSONR_ARRAY,
    JSONR_STRING,
    JSONR_INTEGER,
    JSONR_REAL,
    JSONR_TRUE,
    JSONR_FALSE,
    JSONR_NULL,
} jsonr_type;

/* One value. An object's tokens are its members' key and value, in the order of the text. */
typedef struct jsonr_token {
    uint32_t start;  /* offset of its first byte: '{', '[', '"', '-', a digit or a letter */
    uint32_t len;    /* bytes of its text, brackets and quotes included */
    uint32_t size;   /* object: members; array: elements; string: bytes once unescaped;
                      * integer: its value when it is 0..UINT32_MAX - 1, else UINT32_MAX */
    uint32_t next;   /* index of the token after this value and everything inside it */
    uint8_t type;    /* jsonr_type */
    uint8_t escaped; /* a string holding a backslash (its bytes differ from its text) */
} jsonr_token;

typedef struct jsonr_doc {
    const char *text;
    size_t len;
    const jsonr_token *tokens;
    uint32_t count;
    /* Where the last lookups found their keys, in the last object looked in ([0]) and in the
     * one before it ([1]): that object's token, and the member after the one found. The next
     * lookup in one of them starts there, so fields read in the order they were written are
     * each found at the first compare, also when the walk goes into a nested object and back.
     * The one thing a lookup changes (a document is read by one thread at a time). */
    uint32_t found_in[2], after_found[2];
} jsonr_doc;

/* Why the text was refused and where: a byte offset and a fixed sentence. */
typedef struct jsonr_error {
    size_t offset;
    const char *reason;
} jsonr_error;

/* Reads text[0..len) into tokens[0..cap). Returns 0, or -1 with err filled in (also when cap is
 * below JSONR_TOKENS_FOR(len) and the text needs more). */
int jsonr_parse(jsonr_doc *doc, const char *text, size_t len, jsonr_token *tokens, size_t cap,
                jsonr_error *err);

/* A value of a document: index JSONR_NONE when there is none (a missing key). */
typedef struct jsonr_value {
    const jsonr_doc *doc;
    uint32_t index;
} jsonr_value;

static inline jsonr_value jsonr_root(const jsonr_doc *doc)
{
    return (jsonr_value){doc, 0};
}
static inline bool jsonr_present(jsonr_value v)
{
    return v.index != JSONR_NONE;
}
static inline const jsonr_token *jsonr_token_of(jsonr_value v)
{
    return &v.doc->tokens[v.index];
}
static inline jsonr_type jsonr_type_of(jsonr_value v)
{
    return (jsonr_type)jsonr_token_of(v)->type;
}
/* Members of an object, elements of an array, bytes of a string once unescaped. */
static inline uint32_t jsonr_size(jsonr_value v)
{
    return jsonr_token_of(v)->size;
}
/* The first element of a non-empty array, or the first key of a non-empty object. */
static inline jsonr_value jsonr_first(jsonr_value container)
{
    return (jsonr_value){container.doc, container.index + 1};
}
/* The value after v in its array, or after v's member (v being a member's value) in its object. */
static inline jsonr_value jsonr_next(jsonr_value v)
{
    return (jsonr_value){v.doc, jsonr_token_of(v)->next};
}
/* The value of the member whose key is `key`. */
static inline jsonr_value jsonr_member_value(jsonr_value key)
{
    return (jsonr_value){key.doc, key.index + 1};
}

/* Where a lookup in object starts: after the member found last there, or at its first. */
static inline uint32_t jsonr_hint(const jsonr_doc *d, uint32_t object)
{
    return d->found_in[0] == object   ? d->after_found[0]
           : d->found_in[1] == object ? d->after_found[1]
                                      : object + 1;
}
/* Notes that a lookup in object found its member whose key is token `key`. */
static inline void jsonr_found(jsonr_doc *d, uint32_t object, uint32_t key)
{
    if (d->found_in[0] != object) {
        d->found_in[1] = d->found_in[0];
        d->after_found[1] = d->after_found[0];
        d->found_in[0] = object;
    }
    d->after_found[0] = d->tokens[key + 1].next;
}
/* The value of an object's member named key (n bytes), or none: jsonr_object_getn's search
 * of every member, from its hint round to it. */
jsonr_value jsonr_object_search(jsonr_value object, const char *key, size_t n);

/* The value of an object's member named key (n bytes), or none. Inline for the usual case, a
 * key read in the order it was written: the member after the last one found (or the first one)
 * is compared in place, where a literal key's length is a constant. */
static inline jsonr_value jsonr_object_getn(jsonr_value object, const char *key, size_t n)
{
    jsonr_doc *d = (jsonr_doc *)object.doc; /* (it was made writable by its owner) */
    const jsonr_token *o = &d->tokens[object.index];
    uint32_t at = jsonr_hint(d, object.index);
    if (o->type == JSONR_OBJECT && at < o->next) {
        const jsonr_token *k = &d->tokens[at];
        if (k->size == n && !k->escaped && memcmp(d->text + k->start + 1, key, n) == 0) {
            jsonr_found(d, object.index, at);
            return (jsonr_value){d, at + 1};
        }
    }
    return jsonr_object_search(object, key, n);
}
/* (inline, so the length of a literal key is known when compiling) */
static inline jsonr_value jsonr_object_get(jsonr_value object, const char *key)
{
    return jsonr_object_getn(object, key, strlen(key));
}
/* Whether a string's unescaped bytes are s[0..n). */
bool jsonr_string_equals(jsonr_value string, const char *s, size_t n);
/* jsonr_string_copy of a string holding an escape. */
size_t jsonr_string_unescape(jsonr_value string, char *out);
/* Writes a string's unescaped bytes and a NUL into out, which has room for jsonr_size() + 1.
 * Returns the number of bytes (the string holds no NUL: the reader refuses \u0000). Inline
 * for the usual string, whose bytes are its text. */
static inline size_t jsonr_string_copy(jsonr_value string, char *out)
{
    const jsonr_token *t = jsonr_token_of(string);
    if (t->escaped)
        return jsonr_string_unescape(string, out);
    memcpy(out, string.doc->text + t->start + 1, t->size);
    out[t->size] = '\0';
    return t->size;
}
int64_t jsonr_integer_of_text(jsonr_value integer);
static inline int64_t jsonr_integer(jsonr_value integer)
{
    uint32_t v = jsonr_token_of(integer)->size; /* the value, when it fits */
    return v != UINT32_MAX ? (int64_t)v : jsonr_integer_of_text(integer);
}
double jsonr_real(jsonr_value real);
/* An integer or a real as a double. */
double jsonr_number(jsonr_value number);

#endif
