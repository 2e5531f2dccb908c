/*
 * escape.c - escaping untrusted text (see escape.h).
 *
 * The text is walked one UTF-8 character at a time, so a multi-byte character is either kept
 * whole or (when it is a control or a bidirectional override) escaped whole, and a byte that
 * does not start a valid sequence (a stray continuation, an overlong form, a surrogate, past
 * U+10FFFF) is escaped on its own and the walk goes on with the next byte.
 */
#include "ecom/escape.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1-4) and its code point, or 0 when s[0] does not
 * start one. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1fu;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0fu;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static bool is_c1(uint32_t cp)
{
    return cp >= 0x80 && cp <= 0x9f;
}

/* Code points that are printable bytes yet move or reorder what a reader sees. */
static bool is_layout_control(uint32_t cp)
{
    return is_c1(cp) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape of one ASCII byte into esc, or 0 when it stands for itself. */
static size_t escape_ascii(unsigned char c, const char *quotes, char esc[8])
{
    if (quotes && (c == '\\' || (c && strchr(quotes, c)))) {
        esc[0] = '\\';
        esc[1] = (char)c;
        return 2;
    }
    const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
    if (named) {
        memcpy(esc, named, 2);
        return 2;
    }
    if (c < 0x20 || c == 0x7f)
        return (size_t)snprintf(esc, 8, "\\x%02x", c);
    return 0;
}

size_t ecom_escape_append(char *out, size_t n, size_t used, const char *s, size_t len,
                          const char *quotes)
{
    assert(used < n);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        char esc[8];
        const char *piece = esc;
        size_t piece_len;
        uint32_t cp;
        size_t char_len = utf8_decode(p + i, len - i, &cp);
        if (char_len == 0) {
            piece_len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", p[i]);
            char_len = 1;
        } else if (char_len == 1) {
            piece_len = escape_ascii(p[i], quotes, esc);
            if (piece_len == 0) {
                piece = s + i;
                piece_len = 1;
            }
        } else if (is_layout_control(cp)) {
            piece_len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        } else {
            piece = s + i;
            piece_len = char_len;
        }
        if (piece_len >= n - used)
            break;
        memcpy(out + used, piece, piece_len);
        used += piece_len;
        i += char_len;
    }
    out[used] = '\0';
    return used;
}

const char *ecom_show(char out[ECOM_SHOW_MAX], const char *value, size_t limit)
{
    assert(limit <= 64);
    size_t len = strnlen(value, limit);
    /* a cut inside a multi-byte character backs off to its first byte */
    for (int back = 0; back < 3 && len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80; back++)
        len--;
    ecom_escape_append(out, ECOM_SHOW_MAX, 0, value, len, "'\"");
    return out;
}

const char *ecom_find_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (p[i] >= 0x20 && p[i] < 0x7f) /* printable ASCII, one byte a character */
        i++;
    if (!p[i])
        return NULL;
    size_t len = i + strlen(s + i);
    while (i < len) {
        uint32_t cp;
        size_t char_len = utf8_decode(p + i, len - i, &cp);
        if (char_len == 0) {
            i++; /* not a character at all: not a control character either */
            continue;
        }
        if (cp < 0x20 || cp == 0x7f || is_c1(cp))
            return s + i;
        i += char_len;
    }
    return NULL;
}
