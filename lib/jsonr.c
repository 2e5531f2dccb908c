/*
 * jsonr.c - the strict JSON reader (see jsonr.h for what it accepts, and why it exists).
 *
 * One loop reads the text left to right. The containers still open sit on a stack of token
 * indices, at most JSONR_MAX_DEPTH of them; a value that starts adds to its array's count (an
 * object counts its keys), and a container that closes gets its length, the index of the token
 * after it and, for an object two of whose keys share a signature, its duplicate-key check.
 * Strings are validated as they are read (UTF-8, escapes, surrogate pairs) and their unescaped
 * length counted on the way, so that copying one later is a memcpy when it holds no escape.
 * Integers are checked against the 64-bit range here, and kept in the token when they fit 32
 * bits (else converted again when asked for); reals go through strtod, as jansson's do, so both
 * readers give the same double.
 *
 * Every rule follows jansson 2.14's lexer and parser (load.c, utf.c), quirks included: one NUL
 * byte after a number or a literal is skipped, because jansson's lexer puts that lookahead byte
 * back where it is taken for "nothing buffered".
 */
#define _GNU_SOURCE /* qsort_r */
#include "ecom/jsonr.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Objects up to this many members are checked for duplicate keys pair by pair; bigger ones
 * (never ours, only hostile input) by sorting their keys. */
#define SMALL_OBJECT 32

typedef struct reader {
    const unsigned char *text, *p, *end;
    jsonr_token *tokens;
    uint32_t count, cap;
    uint32_t depth;                 /* containers open */
    uint32_t open[JSONR_MAX_DEPTH]; /* their tokens, outermost first */
    /* For each open object: the signatures of its keys so far (key_signature), and whether two
     * of them were equal, when it needs its keys compared for a duplicate as it closes. */
    uint64_t signatures[JSONR_MAX_DEPTH];
    bool clash[JSONR_MAX_DEPTH];
    jsonr_error *err;
} reader;

static int fail(reader *r, const unsigned char *at, const char *reason)
{
    r->err->offset = (size_t)(at - r->text);
    r->err->reason = reason;
    return -1;
}

/* (Compact text has no whitespace: a byte above the space ends it at the first compare.) */
static inline void skip_space(reader *r)
{
    while (r->p < r->end && *r->p <= ' ' &&
           (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline __attribute__((always_inline)) int add_token(reader *r, jsonr_type type,
                                                           uint32_t *index)
{
    if (r->count == r->cap)
        return fail(r, r->p, "more values than the token array holds");
    jsonr_token *t = &r->tokens[r->count];
    t->start = (uint32_t)(r->p - r->text);
    t->len = 0;
    t->size = 0;
    t->next = r->count + 1;
    t->type = (uint8_t)type;
    t->escaped = 0;
    *index = r->count++;
    return 0;
}

/* ---- strings ----------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (whose first byte is 0x80 or more), or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    uint32_t cp;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0; /* a continuation byte, an overlong 0xC0/0xC1, or past U+10FFFF */
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000))
        return 0;
    return n;
}

static size_t utf8_length(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static size_t utf8_put(uint32_t cp, unsigned char *out)
{
    size_t n = utf8_length(cp);
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--) {
        out[i] = (unsigned char)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (unsigned char)(n == 1 ? cp : lead[n] | cp);
    return n;
}

/* The four hex digits at p as a UTF-16 code unit, or -1. */
static int32_t hex4(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 4)
        return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        unsigned char lower = c | 0x20;
        int d = is_digit(c) ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* A \uXXXX escape at p (after its "\u"), or a surrogate pair: the code point, its text's
 * length in *used, or -1 for the reason in *why. */
static int32_t unicode_escape(const unsigned char *p, const unsigned char *end, size_t *used,
                              const char **why)
{
    int32_t cu = hex4(p, end);
    *why = "invalid escape";
    if (cu < 0)
        return -1;
    *used = 4;
    if (cu >= 0xDC00 && cu <= 0xDFFF) {
        *why = "invalid Unicode: a low surrogate without a high one";
        return -1;
    }
    if (cu < 0xD800 || cu > 0xDBFF)
        return cu;
    if (end - p < 6 || p[4] != '\\' || p[5] != 'u') {
        *why = "invalid Unicode: a high surrogate without a low one";
        return -1;
    }
    int32_t low = hex4(p + 6, end);
    if (low < 0)
        return -1;
    if (low < 0xDC00 || low > 0xDFFF) {
        *why = "invalid Unicode: a high surrogate without a low one";
        return -1;
    }
    *used = 10;
    return ((cu - 0xD800) << 10) + (low - 0xDC00) + 0x10000;
}

/* The escape at r->p (its backslash): validates it, moves past it, adds its bytes to *size. */
static int read_escape(reader *r, uint32_t *size)
{
    const unsigned char *at = r->p++;
    if (r->p >= r->end)
        return fail(r, r->p, "premature end of input");
    switch (*r->p) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        r->p++;
        *size += 1;
        return 0;
    case 'u': {
        size_t used;
        const char *why;
        int32_t cp = unicode_escape(r->p + 1, r->end, &used, &why);
        if (cp < 0)
            return fail(r, at, why);
        if (cp == 0)
            return fail(r, at, "\\u0000 is not allowed");
        r->p += 1 + used;
        *size += (uint32_t)utf8_length((uint32_t)cp);
        return 0;
    }
    default:
        return fail(r, at, "invalid escape");
    }
}

/* The end of the run of plain bytes at p: printable ASCII other than '"' and '\\', the bytes a
 * string holds as they are. Sixteen at a time where the CPU can (a signed compare with 0x20
 * finds the control bytes and every byte of 0x80 and up at once). */
static inline __attribute__((always_inline)) const unsigned char *
plain_run_end(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i stop =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                         _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* The string at r->p (its opening quote) as a token. The usual string, plain bytes up to its
 * closing quote, takes one run and no branch of the loop's body. */
static inline __attribute__((always_inline)) int read_string(reader *r)
{
    uint32_t index;
    if (add_token(r, JSONR_STRING, &index))
        return -1;
    const unsigned char *p = r->p + 1, *end = r->end;
    uint32_t size = 0;
    uint8_t escaped = 0;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run_end(p, end);
        size += (uint32_t)(p - run);
        if (p >= end) {
            r->p = p;
            return fail(r, p, "premature end of input");
        }
        unsigned char c = *p;
        if (c == '"')
            break;
        r->p = p;
        if (c == '\\') {
            escaped = 1;
            if (read_escape(r, &size))
                return -1;
        } else if (c < 0x20) {
            return fail(r, p, "control character in a string");
        } else {
            size_t n = utf8_sequence(p, end);
            if (!n)
                return fail(r, p, "invalid UTF-8");
            r->p += n;
            size += (uint32_t)n;
        }
        p = r->p;
    }
    r->p = p + 1;
    jsonr_token *t = &r->tokens[index];
    t->len = (uint32_t)(r->p - r->text) - t->start;
    t->size = size;
    t->escaped = escaped;
    return 0;
}

/* ---- numbers and literals ---------------------------------------------------------------- */

static void skip_digits(reader *r)
{
    while (r->p < r->end && is_digit(*r->p))
        r->p++;
}

/* Whether the integer text [p, end) (an optional '-', then digits without a leading zero) fits
 * in 64 bits; its value in *out. */
static bool integer_value(const unsigned char *p, const unsigned char *end, int64_t *out)
{
    bool negative = *p == '-';
    p += negative;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, m = 0;
    for (; p < end; p++) {
        unsigned d = *p - '0';
        if (m > (limit - d) / 10)
            return false;
        m = m * 10 + d;
    }
    if (!negative)
        *out = (int64_t)m;
    else
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    return true;
}

/* The number at r->p: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, as jansson lexes it. */
static int read_number(reader *r)
{
    uint32_t index;
    if (add_token(r, JSONR_INTEGER, &index))
        return -1;
    jsonr_token *t = &r->tokens[index];
    const unsigned char *start = r->p;
    if (*r->p == '-')
        r->p++;
    if (r->p < r->end && *r->p == '0') {
        r->p++;
        if (r->p < r->end && is_digit(*r->p))
            return fail(r, start, "invalid token: a number with a leading zero");
    } else if (r->p < r->end && is_digit(*r->p)) {
        skip_digits(r);
    } else {
        return fail(r, start, "invalid token");
    }
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            return fail(r, start, "invalid token: no digit after the decimal point");
        skip_digits(r);
        t->type = JSONR_REAL;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            return fail(r, start, "invalid token: no digit in the exponent");
        skip_digits(r);
        t->type = JSONR_REAL;
    }
    t->len = (uint32_t)(r->p - start);
    /* A number never ends a valid text, and strtod below must stop inside the buffer. */
    if (r->p >= r->end)
        return fail(r, r->p, "premature end of input");
    if (t->type == JSONR_INTEGER) {
        int64_t v;
        if (!integer_value(start, r->p, &v))
            return fail(r, start, *start == '-' ? "too big negative integer" : "too big integer");
        t->size = v >= 0 && v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
    } else {
        errno = 0;
        double v = strtod((const char *)start, NULL);
        if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
            return fail(r, start, "real number overflow");
    }
    return 0;
}

static int read_literal(reader *r)
{
    static const struct {
        const char *word;
        size_t len;
        jsonr_type type;
    } literals[] = {{"true", 4, JSONR_TRUE}, {"false", 5, JSONR_FALSE}, {"null", 4, JSONR_NULL}};
    for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
        if ((size_t)(r->end - r->p) >= literals[i].len &&
            memcmp(r->p, literals[i].word, literals[i].len) == 0) {
            uint32_t index;
            if (add_token(r, literals[i].type, &index))
                return -1;
            r->tokens[index].len = (uint32_t)literals[i].len;
            r->p += literals[i].len;
            return 0;
        }
    }
    return fail(r, r->p, "invalid token");
}

/* A string, number or literal; a number's or a literal's lookahead NUL is skipped as jansson's
 * lexer skips it. */
static int read_scalar(reader *r)
{
    if (*r->p == '"')
        return read_string(r);
    if (*r->p == '-' || is_digit(*r->p)) {
        if (read_number(r))
            return -1;
    } else if (read_literal(r)) {
        return -1;
    }
    if (r->p < r->end && *r->p == '\0')
        r->p++;
    return 0;
}

/* ---- comparing strings --------------------------------------------------------------------- */

/* Reads a string's unescaped bytes one at a time. */
typedef struct cursor {
    const unsigned char *p, *end;
    unsigned char unit[4];
    size_t n, i;
} cursor;

static cursor cursor_at(const char *text, const jsonr_token *t)
{
    const unsigned char *s = (const unsigned char *)text + t->start;
    return (cursor){s + 1, s + t->len - 1, {0}, 0, 0};
}

/* Unescapes the (valid) escape at *pp into out; returns its bytes. */
static size_t unescape(const unsigned char **pp, unsigned char *out)
{
    const unsigned char *p = *pp + 1;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = strchr(from, *p);
    if (*p != 'u' && k) {
        *pp = p + 1;
        out[0] = (unsigned char)to[k - from];
        return 1;
    }
    size_t used;
    const char *why;
    int32_t cp = unicode_escape(p + 1, p + 11, &used, &why);
    assert(cp > 0);
    *pp = p + 1 + used;
    return utf8_put((uint32_t)cp, out);
}

static int cursor_next(cursor *c)
{
    if (c->i < c->n)
        return c->unit[c->i++];
    if (c->p >= c->end)
        return -1;
    if (*c->p != '\\')
        return *c->p++;
    c->n = unescape(&c->p, c->unit);
    c->i = 1;
    return c->unit[0];
}

static bool token_equals(const char *text, const jsonr_token *t, const char *s, size_t n)
{
    if (t->size != n)
        return false;
    if (!t->escaped)
        return memcmp(text + t->start + 1, s, n) == 0;
    cursor c = cursor_at(text, t);
    for (size_t i = 0; i < n; i++)
        if (cursor_next(&c) != (unsigned char)s[i])
            return false;
    return true;
}

/* Orders strings by length, then by their unescaped bytes. */
static int tokens_compare(const char *text, const jsonr_token *a, const jsonr_token *b)
{
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    if (!a->escaped && !b->escaped)
        return memcmp(text + a->start + 1, text + b->start + 1, a->size);
    cursor ca = cursor_at(text, a), cb = cursor_at(text, b);
    for (uint32_t i = 0; i < a->size; i++) {
        int x = cursor_next(&ca), y = cursor_next(&cb);
        if (x != y)
            return x - y;
    }
    return 0;
}

/* ---- containers -------------------------------------------------------------------------- */

typedef struct key_order {
    const char *text;
    const jsonr_token *tokens;
} key_order;

static int key_index_compare(const void *a, const void *b, void *ctx)
{
    const key_order *o = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = tokens_compare(o->text, &o->tokens[x], &o->tokens[y]);
    return c ? c : (x < y ? -1 : x > y);
}

static int duplicate_in_sorted(reader *r, uint32_t object)
{
    uint32_t n = r->tokens[object].size;
    uint32_t *keys = malloc(n * sizeof *keys);
    if (!keys)
        return fail(r, r->text + r->tokens[object].start, "out of memory checking keys");
    for (uint32_t i = 0, k = object + 1; i < n; i++, k = r->tokens[k + 1].next)
        keys[i] = k;
    key_order o = {(const char *)r->text, r->tokens};
    qsort_r(keys, n, sizeof *keys, key_index_compare, &o);
    uint32_t dup = 0;
    for (uint32_t i = 1; i < n && !dup; i++)
        if (tokens_compare(o.text, &r->tokens[keys[i - 1]], &r->tokens[keys[i]]) == 0)
            dup = keys[i];
    free(keys);
    return dup ? fail(r, r->text + r->tokens[dup].start, "duplicate object key") : 0;
}

static unsigned signature_of(uint32_t size, unsigned first, unsigned last)
{
    return (size * 10u + first * 2u + last * 3u) & 63u;
}

static __attribute__((noinline)) unsigned escaped_key_signature(const char *text,
                                                                const jsonr_token *t)
{
    cursor c = cursor_at(text, t);
    unsigned first, last;
    first = last = (unsigned)cursor_next(&c);
    for (uint32_t i = 1; i < t->size; i++)
        last = (unsigned)cursor_next(&c);
    return signature_of(t->size, first, last);
}

/* Six bits of a key's length and of its first and last bytes once unescaped: equal keys have
 * equal signatures, whatever their escapes. The weights are ones under which the keys of each
 * object of our messages all differ (every kind's top level and nested objects), so reading
 * them never compares keys. */
static inline unsigned key_signature(const char *text, const jsonr_token *t)
{
    if (t->size == 0)
        return 0;
    if (t->escaped)
        return escaped_key_signature(text, t);
    return signature_of(t->size, (unsigned char)text[t->start + 1],
                        (unsigned char)text[t->start + t->size]);
}

/* An object two of whose keys share a signature: in a small one each key is compared only
 * with the earlier ones of its signature. (The usual object, whose keys all differ in length
 * or ends, never comes here: read_key notes the signatures as it goes.) */
static int check_duplicate_keys(reader *r, uint32_t object)
{
    uint32_t n = r->tokens[object].size;
    if (n > SMALL_OBJECT)
        return duplicate_in_sorted(r, object);
    uint32_t keys[SMALL_OBJECT];
    unsigned signatures[SMALL_OBJECT];
    uint64_t seen = 0; /* the signatures of the keys so far */
    const char *text = (const char *)r->text;
    for (uint32_t i = 0, k = object + 1; i < n; i++, k = r->tokens[k + 1].next) {
        keys[i] = k;
        signatures[i] = key_signature(text, &r->tokens[k]);
        uint64_t bit = (uint64_t)1 << signatures[i];
        for (uint32_t j = 0; (seen & bit) && j < i; j++)
            if (signatures[j] == signatures[i] &&
                tokens_compare(text, &r->tokens[keys[j]], &r->tokens[k]) == 0)
                return fail(r, r->text + r->tokens[k].start, "duplicate object key");
        seen |= bit;
    }
    return 0;
}

/* The closing bracket at r->p ends the innermost container. */
static int close_container(reader *r)
{
    uint32_t index = r->open[--r->depth];
    jsonr_token *t = &r->tokens[index];
    r->p++;
    t->len = (uint32_t)(r->p - r->text) - t->start;
    t->next = r->count;
    return t->type == JSONR_OBJECT && r->clash[r->depth] ? check_duplicate_keys(r, index) : 0;
}

/* A member's key and its ':' at r->p (whitespace skipped), counted in the innermost object. */
static int read_key(reader *r)
{
    if (r->p >= r->end || *r->p != '"')
        return fail(r, r->p, "string or '}' expected");
    if (read_string(r))
        return -1;
    uint32_t d = r->depth - 1;
    r->tokens[r->open[d]].size++;
    uint64_t bit = (uint64_t)1 << key_signature((const char *)r->text, &r->tokens[r->count - 1]);
    r->clash[d] |= (r->signatures[d] & bit) != 0;
    r->signatures[d] |= bit;
    if (r->p < r->end && *r->p == ':') { /* the usual key, its ':' right after it */
        r->p++;
    } else {
        skip_space(r);
        if (r->p >= r->end || *r->p != ':')
            return fail(r, r->p, "':' expected");
        r->p++;
    }
    skip_space(r);
    return 0;
}

/* The value at r->p: a scalar read whole, or a container opened (and closed, when empty).
 * Sets *open when a container was left open for its contents. */
static int begin_value(reader *r, bool *open)
{
    *open = false;
    /* jansson counts the value itself: the outermost is at depth 1 */
    if (r->depth >= JSONR_MAX_DEPTH)
        return fail(r, r->p, "maximum parsing depth reached");
    if (r->p >= r->end)
        return fail(r, r->p, "premature end of input");
    if (r->depth && r->tokens[r->open[r->depth - 1]].type == JSONR_ARRAY)
        r->tokens[r->open[r->depth - 1]].size++;
    unsigned char c = *r->p;
    if (c != '{' && c != '[')
        return read_scalar(r);
    uint32_t index;
    if (add_token(r, c == '{' ? JSONR_OBJECT : JSONR_ARRAY, &index))
        return -1;
    r->signatures[r->depth] = 0;
    r->clash[r->depth] = false;
    r->open[r->depth++] = index;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == (c == '{' ? '}' : ']'))
        return close_container(r);
    *open = true;
    return c == '{' ? read_key(r) : 0;
}

/* After a value: commas and closing brackets up to the next value. Sets *done at the end of
 * the outermost container. */
static int end_value(reader *r, bool *done)
{
    for (;;) {
        if (r->depth == 0) {
            *done = true;
            return 0;
        }
        skip_space(r);
        if (r->p >= r->end)
            return fail(r, r->p, "premature end of input");
        bool in_object = r->tokens[r->open[r->depth - 1]].type == JSONR_OBJECT;
        if (*r->p == ',') {
            r->p++;
            *done = false;
            if (r->p >= r->end || *r->p != '"') /* (compact text: the next key, at once) */
                skip_space(r);
            return in_object ? read_key(r) : 0;
        }
        if (*r->p != (in_object ? '}' : ']'))
            return fail(r, r->p, in_object ? "'}' expected" : "']' expected");
        if (close_container(r))
            return -1;
    }
}

static int read_document(reader *r)
{
    bool open, done = false;
    while (!done) {
        if (begin_value(r, &open))
            return -1;
        if (!open && end_value(r, &done))
            return -1;
    }
    return 0;
}

int jsonr_parse(jsonr_doc *doc, const char *text, size_t len, jsonr_token *tokens, size_t cap,
                jsonr_error *err)
{
    reader r;
    r.text = r.p = (const unsigned char *)text;
    r.end = r.text + len;
    r.tokens = tokens;
    r.count = 0;
    r.cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    r.depth = 0;
    r.err = err;
    *doc = (jsonr_doc){text, len, tokens, 0, {JSONR_NONE, JSONR_NONE}, {JSONR_NONE, JSONR_NONE}};
    if (len >= UINT32_MAX)
        return fail(&r, r.text, "text longer than 4 GiB");
    skip_space(&r);
    if (r.p >= r.end || (*r.p != '{' && *r.p != '['))
        return fail(&r, r.p, "'[' or '{' expected");
    if (read_document(&r))
        return -1;
    skip_space(&r);
    if (r.p != r.end)
        return fail(&r, r.p, "end of file expected");
    doc->count = r.count;
    return 0;
}

/* ---- reading values ---------------------------------------------------------------------- */

jsonr_value jsonr_object_search(jsonr_value object, const char *key, size_t n)
{
    jsonr_doc *d = (jsonr_doc *)object.doc; /* (it was made writable by its owner) */
    const jsonr_token *t = &d->tokens[object.index];
    if (t->type != JSONR_OBJECT || t->size == 0)
        return (jsonr_value){d, JSONR_NONE};
    uint32_t first = object.index + 1, end = t->next;
    /* from the member after the last one found in this object, round to it */
    uint32_t k = jsonr_hint(d, object.index);
    if (k >= end)
        k = first;
    for (uint32_t i = 0; i < t->size; i++) {
        if (token_equals(d->text, &d->tokens[k], key, n)) {
            jsonr_found(d, object.index, k);
            return (jsonr_value){d, k + 1};
        }
        k = d->tokens[k + 1].next;
        if (k >= end)
            k = first;
    }
    return (jsonr_value){d, JSONR_NONE};
}

bool jsonr_string_equals(jsonr_value string, const char *s, size_t n)
{
    return token_equals(string.doc->text, jsonr_token_of(string), s, n);
}

size_t jsonr_string_unescape(jsonr_value string, char *out)
{
    const jsonr_token *t = jsonr_token_of(string);
    const unsigned char *p = (const unsigned char *)string.doc->text + t->start + 1;
    const unsigned char *end = p + t->len - 2;
    unsigned char *o = (unsigned char *)out;
    while (p < end) {
        const unsigned char *slash = memchr(p, '\\', (size_t)(end - p));
        const unsigned char *stop = slash ? slash : end;
        memcpy(o, p, (size_t)(stop - p));
        o += stop - p;
        p = stop;
        if (slash)
            o += unescape(&p, o);
    }
    *o = '\0';
    assert((size_t)(o - (unsigned char *)out) == t->size);
    return t->size;
}

int64_t jsonr_integer_of_text(jsonr_value integer)
{
    const jsonr_token *t = jsonr_token_of(integer);
    const unsigned char *p = (const unsigned char *)integer.doc->text + t->start;
    int64_t v = 0;
    bool ok = integer_value(p, p + t->len, &v);
    assert(ok);
    (void)ok;
    return v;
}

/* The reader checked that the byte after the number is in the text and cannot continue it, so
 * strtod reads exactly the number's text, as jansson's copy of it. */
double jsonr_real(jsonr_value real)
{
    const jsonr_token *t = jsonr_token_of(real);
    return strtod(real.doc->text + t->start, NULL);
}

double jsonr_number(jsonr_value number)
{
    return jsonr_type_of(number) == JSONR_INTEGER ? (double)jsonr_integer(number)
                                                  : jsonr_real(number);
}
