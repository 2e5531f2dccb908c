/*
 * redis.c - the Redis connection (see redis.h): URL parsing, lazy connect with AUTH and SELECT,
 * reconnect after failures, and scripts called by SHA.
 */
#include "ecom/redis.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 3000
#define MAX_SCRIPTS 8

typedef struct loaded_script {
    const char *source; /* identity of the script */
    char sha[41];
} loaded_script;

struct ecom_redis {
    ecom_redis_url url;
    int timeout_ms;
    redisContext *ctx;
    loaded_script scripts[MAX_SCRIPTS]; /* SHAs known to the current connection */
    int n_scripts;
    ecom_buf command; /* the last command in the protocol's form, reused */
};

/* ---- URL ------------------------------------------------------------------------------------
 *
 * The URL holds the password, so no error about it quotes any part of it: a malformed URL can
 * put a piece of the password where the host or the port is expected (an unencoded '/' in it
 * ends the host part early), so the errors say what is wrong and how to write it instead. */

#define URL_FORM "redis://[user:pass@]host:port[/db]"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies the user name or password s[0..len) percent-decoded into out. A %00 is refused: the
 * credential would reach AUTH cut short at it. */
static int decode_credential(const char *s, size_t len, char *out, size_t n, const char *what,
                             ecom_error *err)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return ecom_fail(err, "--redis: the %s is not valid percent-encoded text", what);
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return ecom_fail(err, "--redis: the %s contains %%00, a NUL byte, which AUTH "
                                      "cannot send", what);
            i += 2;
        }
        if (o + 1 >= n)
            return ecom_fail(err, "--redis: the %s is longer than %zu bytes", what, n - 1);
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* user:password, user alone is the password (redis://secret@host), as redis-cli reads it. */
static int parse_userinfo(const char *p, const char *at, ecom_redis_url *out, ecom_error *err)
{
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon)
        return decode_credential(p, (size_t)(at - p), out->password, sizeof out->password,
                                 "password", err);
    if (decode_credential(p, (size_t)(colon - p), out->user, sizeof out->user, "user name", err))
        return -1;
    return decode_credential(colon + 1, (size_t)(at - colon - 1), out->password,
                             sizeof out->password, "password", err);
}

/* A decimal number of digits only (no blanks, no sign) in lo..hi. */
static bool parse_number(const char *s, const char *end, long lo, long hi, long *out)
{
    if (s == end || end - s > 9)
        return false;
    long v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return v >= lo && v <= hi;
}

/* The host's text into out: printable ASCII; in brackets an IPv6 address, else no brackets. */
static int copy_host(const char *host, const char *host_end, bool bracketed, ecom_redis_url *out,
                     ecom_error *err)
{
    size_t len = (size_t)(host_end - host);
    if (len >= sizeof out->host)
        return ecom_fail(err, "--redis: host name too long");
    for (const char *c = host; c < host_end; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return ecom_fail(err, "--redis: the host contains a blank, a control character or "
                                  "a byte that is not ASCII");
    memcpy(out->host, host, len);
    out->host[len] = '\0';
    if (!len)
        return ecom_fail(err, "--redis: no host in " URL_FORM);
    unsigned char addr[sizeof(struct in6_addr)];
    if (bracketed && inet_pton(AF_INET6, out->host, addr) != 1)
        return ecom_fail(err, "--redis: the host in brackets is not an IPv6 address");
    if (!bracketed && strpbrk(out->host, "[]"))
        return ecom_fail(err, "--redis: '[' or ']' in a host name");
    return 0;
}

/* Host (a name, an IPv4 address or a bracketed IPv6 one) and port, in p..end. */
static int parse_host_port(const char *p, const char *end, ecom_redis_url *out, ecom_error *err)
{
    bool bracketed = *p == '[';
    const char *host = bracketed ? p + 1 : p, *host_end;
    if (bracketed) { /* [::1]:6379 */
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end)
            return ecom_fail(err, "--redis: unclosed '[' in the host");
        p = host_end + 1;
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        host_end = host_end ? host_end : end;
        p = host_end;
    }
    if (copy_host(host, host_end, bracketed, out, err))
        return -1;
    if (p == end)
        return 0;
    long port;
    if (*p != ':')
        return ecom_fail(err, "--redis: unexpected text after the host");
    if (!parse_number(p + 1, end, 1, 65535, &port))
        return ecom_fail(err, "--redis: the port must be a number 1..65535");
    out->port = (int)port;
    return 0;
}

/* What follows host:port: nothing, "/", or "/<db>". */
static int parse_db(const char *p, ecom_redis_url *out, ecom_error *err)
{
    if (*p == '\0' || strcmp(p, "/") == 0)
        return 0;
    if (*p != '/')
        return ecom_fail(err, "--redis: query options are not supported");
    long db;
    if (!parse_number(p + 1, p + strlen(p), 0, 1000000, &db))
        return ecom_fail(err, "--redis: the database must be a number 0..1000000");
    out->db = (int)db;
    return 0;
}

int ecom_redis_url_parse(const char *url, ecom_redis_url *out, ecom_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *scheme = "redis://";
    if (strncmp(url, "rediss://", 9) == 0)
        return ecom_fail(err, "--redis: TLS (rediss://) is not supported by this build; reach "
                              "a TLS Redis through a local TLS tunnel and use redis://");
    if (strncmp(url, scheme, strlen(scheme)) != 0)
        return ecom_fail(err, "--redis: expected " URL_FORM);
    const char *p = url + strlen(scheme);
    const char *end = p + strcspn(p, "/?#");
    if (strchr(end, '@'))
        return ecom_fail(err, "--redis: '@' after the host; percent-encode '/', '?', '#' and '@' "
                              "in the user name and password (%%2F, %%3F, %%23, %%40)");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q; /* the last '@': a password may contain an encoded one, never a raw one */
    if (at && parse_userinfo(p, at, out, err))
        return -1;
    if (parse_host_port(at ? at + 1 : p, end, out, err))
        return -1;
    return parse_db(end, out, err);
}

/* The user name as it is written in a URL: unreserved characters as they are, the rest %XX. */
static void put_encoded(char *out, size_t n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 <= n; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void ecom_redis_url_redacted(const ecom_redis_url *u, char *out, size_t n)
{
    char user[3 * sizeof u->user + 1];
    put_encoded(user, sizeof user, u->user);
    /* "user@" alone would read as a password: a user without one is written "user:@" */
    const char *password = u->password[0] ? ":***@" : u->user[0] ? ":@" : "";
    bool brackets = strchr(u->host, ':') != NULL; /* an IPv6 address */
    snprintf(out, n, "redis://%s%s%s%s%s:%d/%d", user, password, brackets ? "[" : "", u->host,
             brackets ? "]" : "", u->port, u->db);
}

/* ---- connection ----------------------------------------------------------------------------- */

ecom_redis *ecom_redis_new(const char *url, int timeout_ms, ecom_error *err)
{
    ecom_redis *r = ecom_xcalloc(1, sizeof *r);
    if (ecom_redis_url_parse(url, &r->url, err)) {
        free(r);
        return NULL;
    }
    r->timeout_ms = timeout_ms;
    return r;
}

void ecom_redis_disconnect(ecom_redis *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->n_scripts = 0; /* a new connection may be to a restarted server */
}

void ecom_redis_free(ecom_redis *r)
{
    if (!r)
        return;
    ecom_redis_disconnect(r);
    ecom_buf_free(&r->command);
    free(r);
}

static struct timeval tv_of_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* What a call came to, decided once, where its reply arrives: callers branch on the kind, never
 * on the text of an error. */
typedef enum reply_kind {
    REPLY_OK,       /* a reply that is not an error */
    REPLY_LOST,     /* no reply: the server is unreachable or the connection broke (dropped) */
    REPLY_ERROR,    /* an error reply */
    REPLY_NOSCRIPT, /* an error reply: the server has no script by that SHA */
} reply_kind;

/* The kind of an error reply, from its error code: by Redis' convention the first word. */
static reply_kind error_kind(const redisReply *reply)
{
    static const char noscript[] = "NOSCRIPT";
    size_t code = strcspn(reply->str, " ");
    return code == sizeof noscript - 1 && memcmp(reply->str, noscript, code) == 0 ? REPLY_NOSCRIPT
                                                                                  : REPLY_ERROR;
}

/* An error reply becomes err and is freed: its kind. */
static reply_kind error_reply(redisReply *reply, const char *what, ecom_error *err)
{
    reply_kind kind = error_kind(reply);
    ecom_fail(err, "Redis %s: %s", what, reply->str);
    freeReplyObject(reply);
    return kind;
}

/* The reply of a set-up command (AUTH, SELECT) on a new connection: 0, or -1 with err set. */
static int setup_reply(redisContext *c, const char *where, const char *what, redisReply *reply,
                       ecom_error *err)
{
    if (!reply)
        return ecom_fail(err, "Redis at %s: %s: %s", where, what,
                         c->err ? c->errstr : "connection lost");
    if (reply->type == REDIS_REPLY_ERROR) {
        error_reply(reply, what, err);
        return -1;
    }
    freeReplyObject(reply);
    return 0;
}

static int connect_now(ecom_redis *r, ecom_error *err)
{
    char where[400];
    ecom_redis_url_redacted(&r->url, where, sizeof where);
    redisContext *c =
        redisConnectWithTimeout(r->url.host, r->url.port, tv_of_ms(CONNECT_TIMEOUT_MS));
    if (!c || c->err) {
        ecom_fail(err, "cannot connect to Redis at %s: %s", where, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return -1;
    }
    if (r->timeout_ms > 0)
        redisSetTimeout(c, tv_of_ms(r->timeout_ms));
    redisEnableKeepAlive(c);
    int rc = 0;
    if (r->url.password[0])
        rc = setup_reply(c, where, "AUTH",
                         r->url.user[0]
                             ? redisCommand(c, "AUTH %s %s", r->url.user, r->url.password)
                             : redisCommand(c, "AUTH %s", r->url.password),
                         err);
    if (rc == 0 && r->url.db)
        rc = setup_reply(c, where, "SELECT", redisCommand(c, "SELECT %d", r->url.db), err);
    if (rc) {
        redisFree(c);
        return -1;
    }
    r->ctx = c;
    return 0;
}

redisContext *ecom_redis_context(ecom_redis *r, ecom_error *err)
{
    if (!r->ctx && connect_now(r, err))
        return NULL;
    return r->ctx;
}

/* After a call: the reply, or NULL with err and *kind saying why. A NULL from hiredis means the
 * connection is unusable (it sets ctx->err). */
static redisReply *checked(ecom_redis *r, redisReply *reply, const char *what, reply_kind *kind,
                           ecom_error *err)
{
    *kind = REPLY_OK;
    if (!reply) {
        char where[400];
        ecom_redis_url_redacted(&r->url, where, sizeof where);
        ecom_fail(err, "Redis at %s: %s: %s", where, what,
                  r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        ecom_redis_disconnect(r);
        *kind = REPLY_LOST;
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        *kind = error_reply(reply, what, err);
        return NULL;
    }
    return reply;
}

int ecom_redis_ping(ecom_redis *r, ecom_error *err)
{
    redisReply *reply = ecom_redis_cmd(r, err, "PING");
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

/* ---- arguments ------------------------------------------------------------------------------ */

void ecom_redis_args_init(ecom_redis_args *a)
{
    memset(a, 0, sizeof *a);
    ecom_buf_init(&a->text);
}

void ecom_redis_args_free(ecom_redis_args *a)
{
    ecom_buf_free(&a->text);
    free(a->offsets);
    free(a->lengths);
    memset(a, 0, sizeof *a);
}

void ecom_redis_args_reset(ecom_redis_args *a)
{
    ecom_buf_reset(&a->text);
    a->n = 0;
}

static void args_push(ecom_redis_args *a, size_t offset, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->offsets = ecom_xrealloc(a->offsets, sizeof *a->offsets * (size_t)a->cap);
        a->lengths = ecom_xrealloc(a->lengths, sizeof *a->lengths * (size_t)a->cap);
    }
    a->offsets[a->n] = offset;
    a->lengths[a->n] = len;
    a->n++;
}

void ecom_redis_args_add_len(ecom_redis_args *a, const char *s, size_t len)
{
    size_t at = a->text.len;
    ecom_buf_append(&a->text, s, len);
    args_push(a, at, len);
}

void ecom_redis_args_add(ecom_redis_args *a, const char *s)
{
    ecom_redis_args_add_len(a, s, strlen(s));
}

void ecom_redis_args_add_int(ecom_redis_args *a, int64_t v)
{
    size_t at = a->text.len;
    ecom_buf_append_int(&a->text, v);
    args_push(a, at, a->text.len - at);
}

void ecom_redis_args_addf(ecom_redis_args *a, const char *fmt, ...)
{
    size_t at = a->text.len;
    va_list ap;
    va_start(ap, fmt);
    char small[64];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof small) {
        ecom_buf_append(&a->text, small, (size_t)n);
    } else {
        ecom_buf_reserve(&a->text, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(a->text.data + a->text.len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        a->text.len += (size_t)n;
    }
    args_push(a, at, a->text.len - at);
}

/* One bulk string of a command in the protocol's form: $<length>CRLF<bytes>CRLF. */
static void command_arg(ecom_buf *b, const char *s, size_t len)
{
    ecom_buf_append(b, "$", 1);
    ecom_buf_append_int(b, (int64_t)len);
    ecom_buf_append(b, "\r\n", 2);
    ecom_buf_append(b, s, len);
    ecom_buf_append(b, "\r\n", 2);
}

/* The command is written in the protocol's form here rather than by hiredis's formatter, which
 * costs a printf-style pass per argument (a batch's script call has tens of thousands). */
static redisReply *call_with_prefix(ecom_redis *r, const char *const *head, const size_t *head_len,
                                    int n_head, const ecom_redis_args *a, const char *what,
                                    reply_kind *kind, ecom_error *err)
{
    *kind = REPLY_LOST;
    if (!r->ctx && connect_now(r, err))
        return NULL;
    ecom_buf *c = &r->command;
    ecom_buf_reset(c);
    ecom_buf_append(c, "*", 1);
    ecom_buf_append_int(c, n_head + (a ? a->n : 0));
    ecom_buf_append(c, "\r\n", 2);
    for (int i = 0; i < n_head; i++)
        command_arg(c, head[i], head_len[i]);
    for (int i = 0; a && i < a->n; i++)
        command_arg(c, a->text.data + a->offsets[i], a->lengths[i]);
    void *reply = NULL;
    if (redisAppendFormattedCommand(r->ctx, c->data, c->len) != REDIS_OK ||
        redisGetReply(r->ctx, &reply) != REDIS_OK)
        reply = NULL;
    return checked(r, reply, what, kind, err);
}

redisReply *ecom_redis_call(ecom_redis *r, const ecom_redis_args *a, ecom_error *err)
{
    char what[64];
    snprintf(what, sizeof what, "%.*s", a->n ? (int)(a->lengths[0] < 40 ? a->lengths[0] : 40) : 0,
             a->n ? a->text.data + a->offsets[0] : "");
    reply_kind kind;
    return call_with_prefix(r, NULL, NULL, 0, a, what, &kind, err);
}

redisReply *ecom_redis_cmd(ecom_redis *r, ecom_error *err, const char *fmt, ...)
{
    if (!r->ctx && connect_now(r, err))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    char what[48];
    snprintf(what, sizeof what, "%.*s", (int)strcspn(fmt, " "), fmt);
    reply_kind kind;
    return checked(r, reply, what, &kind, err);
}

/* ---- scripts -------------------------------------------------------------------------------- */

static const char *script_sha(ecom_redis *r, const ecom_redis_script *s, ecom_error *err)
{
    for (int i = 0; i < r->n_scripts; i++)
        if (r->scripts[i].source == s->source)
            return r->scripts[i].sha;
    redisReply *reply = ecom_redis_cmd(r, err, "SCRIPT LOAD %s", s->source);
    if (!reply)
        return NULL;
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        freeReplyObject(reply);
        ecom_fail(err, "Redis SCRIPT LOAD of %s: unexpected reply", s->name);
        return NULL;
    }
    int slot = r->n_scripts < MAX_SCRIPTS ? r->n_scripts++ : 0;
    r->scripts[slot].source = s->source;
    memcpy(r->scripts[slot].sha, reply->str, 40);
    r->scripts[slot].sha[40] = '\0';
    freeReplyObject(reply);
    return r->scripts[slot].sha;
}

redisReply *ecom_redis_eval(ecom_redis *r, const ecom_redis_script *s, const ecom_redis_args *argv,
                            ecom_error *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *sha = script_sha(r, s, err);
        if (!sha)
            return NULL;
        const char *head[] = {"EVALSHA", sha, "0"};
        const size_t head_len[] = {7, 40, 1};
        reply_kind kind;
        redisReply *reply = call_with_prefix(r, head, head_len, 3, argv, s->name, &kind, err);
        if (kind != REPLY_NOSCRIPT)
            return reply;
        r->n_scripts = 0; /* the server forgot its scripts (restart, SCRIPT FLUSH): load again */
    }
    return NULL;
}
