/*
 * redact.c - collecting the secrets of a setting and removing them from texts (see redact.h).
 */
#include "ecom/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/buf.h"

#define MIN_PIECE 4 /* shorter pieces of a split secret would blank out ordinary words */

/* Delimiters a URI or property parser may split an unencoded value at. */
static const char split_at[] = ":/?#@&=,;";

/* Whether mark (lower case) occurs in s, whatever the case of s. */
static bool contains_folded(const char *s, const char *mark)
{
    for (; *s; s++) {
        size_t i = 0;
        while (mark[i] && tolower((unsigned char)s[i]) == mark[i])
            i++;
        if (!mark[i])
            return true;
    }
    return false;
}

bool ecom_secret_name(const char *name)
{
    static const char *const marks[] = {
        "password", "secret", "token", "ssl_key", "key.pem", "authmechanismproperties",
        "oauthbearer.config", "jaas.config",
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (contains_folded(name, marks[i]))
            return true;
    return false;
}

void ecom_secrets_add(ecom_secrets *s, const char *text, size_t len)
{
    if (len == 0 || s->n == ECOM_SECRETS_MAX)
        return;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->text[i]) == len && memcmp(s->text[i], text, len) == 0)
            return;
    char *copy = ecom_xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    s->text[s->n++] = copy;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* text[0..len) percent-decoded into a new string (a malformed escape is kept as it is). */
static char *percent_decoded(const char *text, size_t len, size_t *out_len)
{
    char *out = ecom_xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = -1, lo = -1;
        if (text[i] == '%' && i + 2 < len) {
            hi = hex_digit(text[i + 1]);
            lo = hex_digit(text[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = text[i];
        }
    }
    out[o] = '\0';
    *out_len = strlen(out); /* a decoded NUL ends what a C library could quote */
    return out;
}

/* The text, and each piece of it between delimiters that is long enough to matter. */
static void add_with_pieces(ecom_secrets *s, const char *text, size_t len)
{
    ecom_secrets_add(s, text, len);
    for (size_t i = 0; i < len;) {
        size_t piece = 0;
        while (i + piece < len && !strchr(split_at, text[i + piece]))
            piece++;
        if (piece >= MIN_PIECE && piece < len)
            ecom_secrets_add(s, text + i, piece);
        i += piece + 1;
    }
}

void ecom_secrets_add_value(ecom_secrets *s, const char *text, size_t len)
{
    add_with_pieces(s, text, len);
    size_t decoded_len;
    char *decoded = percent_decoded(text, len, &decoded_len);
    add_with_pieces(s, decoded, decoded_len);
    free(decoded);
}

/* Option values of ?k=v&k=v (or ;-separated) whose names say they are secret. */
static void add_secret_options(ecom_secrets *s, const char *query)
{
    while (*query) {
        size_t len = strcspn(query, "&;");
        const char *eq = memchr(query, '=', len);
        if (eq) {
            char name[64];
            size_t name_len = (size_t)(eq - query);
            if (name_len < sizeof name) {
                memcpy(name, query, name_len);
                name[name_len] = '\0';
                if (ecom_secret_name(name))
                    ecom_secrets_add_value(s, eq + 1, len - name_len - 1);
            }
        }
        query += len + (query[len] != '\0');
    }
}

void ecom_secrets_from_uri(ecom_secrets *s, const char *uri)
{
    const char *p = strstr(uri, "://");
    if (!p)
        return;
    p += 3;
    const char *last_at = strrchr(p, '@');
    const char *colon = last_at ? memchr(p, ':', (size_t)(last_at - p)) : NULL;
    if (colon) {
        const char *first_at = strchr(colon, '@');
        ecom_secrets_add_value(s, colon + 1, (size_t)(first_at - colon - 1));
        if (first_at != last_at)
            ecom_secrets_add_value(s, colon + 1, (size_t)(last_at - colon - 1));
    }
    const char *query = strchr(p, '?');
    if (query)
        add_secret_options(s, query + 1);
}

/* Replaces each occurrence of secret in text (capacity n, NUL-terminated) by "***". A secret
 * shorter than the mark makes the text longer: what no longer fits is cut off. */
static void redact_one(char *text, size_t n, const char *secret)
{
    size_t slen = strlen(secret), len = strlen(text);
    for (char *at = strstr(text, secret); at; at = strstr(at, secret)) {
        size_t head = (size_t)(at - text), tail = len - head - slen;
        if (head + 3 >= n) {
            *at = '\0';
            return;
        }
        if (head + 3 + tail >= n)
            tail = n - 1 - head - 3;
        memmove(at + 3, at + slen, tail);
        memcpy(at, "***", 3);
        len = head + 3 + tail;
        text[len] = '\0';
        at += 3;
    }
}

void ecom_secrets_redact(const ecom_secrets *s, char *text, size_t n)
{
    bool done[ECOM_SECRETS_MAX] = {false};
    for (int round = 0; round < s->n; round++) {
        int longest = -1;
        for (int i = 0; i < s->n; i++)
            if (!done[i] && (longest < 0 || strlen(s->text[i]) > strlen(s->text[longest])))
                longest = i;
        done[longest] = true;
        redact_one(text, n, s->text[longest]);
    }
}

void ecom_secrets_free(ecom_secrets *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->text[i]);
    s->n = 0;
}
