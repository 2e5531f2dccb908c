/*
 * fuzz_user_id.c - the user-id check (lib/validate.c), the gate before a user's id reaches an
 * HBase scan, and the escaper (lib/escape.c) its error text quotes the id through.
 *
 * The check accepts exactly what a second, independent reading of the rule accepts: shorter than
 * ECOM_ID_MAX, "user_" then six or more digits and nothing else. A refusal quotes the id so
 * that the text is printable, its quotes are the text's own, and undoing the escapes gives back
 * the id's first bytes exactly: the escaping loses nothing and cannot be misread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_user_id(const char *s)
{
    size_t len = strlen(s);
    if (len >= ECOM_ID_MAX || len < 11 || memcmp(s, "user_", 5) != 0)
        return false;
    return strspn(s + 5, "0123456789") == len - 5;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Undoes ecom_show()'s escapes up to the closing quote; returns the length, or -1 when the text
 * holds something ecom_show() does not write (a bare quote, an unknown escape). */
static long unescape(const char *s, const char **end, char *out)
{
    size_t o = 0;
    for (; *s && *s != '\''; s++) {
        if (*s == '"')
            return -1;
        if (*s != '\\') {
            out[o++] = *s;
            continue;
        }
        char c = *++s;
        if (c == '\\' || c == '\'' || c == '"') {
            out[o++] = c;
        } else if (c == 'n' || c == 'r' || c == 't') {
            out[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : '\t';
        } else if (c == 'x' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
            out[o++] = (char)(hex(s[1]) * 16 + hex(s[2]));
            s += 2;
        } else if (c == 'u' && hex(s[1]) >= 0 && hex(s[2]) >= 0 && hex(s[3]) >= 0 &&
                   hex(s[4]) >= 0) {
            o += put_utf8(out + o, (unsigned)(hex(s[1]) << 12 | hex(s[2]) << 8 | hex(s[3]) << 4 |
                                              hex(s[4])));
            s += 4;
        } else {
            return -1;
        }
    }
    *end = s;
    return (long)o;
}

static void check_refusal(const char *s, const char *msg)
{
    static const char tail[] = "' is not a user id of the form user_000000";
    fuzz_check_printable("the error text", msg);
    size_t n = strlen(msg);
    if (msg[0] != '\'' || n < sizeof tail || strcmp(msg + n - (sizeof tail - 1), tail) != 0)
        fuzz_fail("unexpected error text: %s", msg);
    char id[ECOM_SHOW_MAX];
    const char *end;
    long len = unescape(msg + 1, &end, id);
    if (len < 0 || end != msg + n - (sizeof tail - 1))
        fuzz_fail("the quoted id cannot be read back: %s", msg);
    size_t shown = strlen(s) < ECOM_SHOW_LIMIT ? strlen(s) : ECOM_SHOW_LIMIT;
    if ((size_t)len > shown || (size_t)len + 3 < shown || memcmp(id, s, (size_t)len) != 0)
        fuzz_fail("the quoted id is not the id's first bytes: %s", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    ecom_error err;
    int rc = ecom_user_id_check(s, &err);
    if ((rc == 0) != is_user_id(s))
        fuzz_fail("'%s': the check says %d", s, rc);
    if (rc)
        check_refusal(s, err.msg);
    free(s);
    return 0;
}
