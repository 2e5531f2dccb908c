/*
 * redis.c - the Redis connection (see redis.h): URL parsing, lazy connect with AUTH and SELECT,
 * reconnect after failures, and scripts called by SHA.
 */
#include "ecom/redis.h"

#include <ctype.h>
#include <stdarg.h>
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
};

/* ---- URL ------------------------------------------------------------------------------------ */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies s[0..len) percent-decoded into out; fails on a bad escape or overflow. */
static int decode_part(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= n)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int ecom_redis_url_parse(const char *url, ecom_redis_url *out, ecom_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *scheme = "redis://";
    if (strncmp(url, "rediss://", 9) == 0)
        return ecom_fail(err,
                         "--redis '%s': TLS (rediss://) is not supported by this build; reach "
                         "a TLS Redis through a local TLS tunnel and use redis://",
                         url);
    if (strncmp(url, scheme, strlen(scheme)) != 0)
        return ecom_fail(err, "--redis '%s': expected redis://[user:pass@]host:port[/db]", url);
    const char *p = url + strlen(scheme);
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q; /* the last '@': a password may contain an encoded one, never a raw one */
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *user_end = colon ? colon : at;
        if (decode_part(p, (size_t)(user_end - p), out->user, sizeof out->user))
            return ecom_fail(err, "--redis: the user name is not valid percent-encoded text");
        if (colon &&
            decode_part(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password))
            return ecom_fail(err, "--redis: the password is not valid percent-encoded text");
        if (!colon) { /* redis://secret@host: the part before '@' is the password */
            snprintf(out->password, sizeof out->password, "%s", out->user);
            out->user[0] = '\0';
        }
        p = at + 1;
    }
    const char *host_end = p;
    if (*p == '[') { /* [::1]:6379 */
        host_end = memchr(p, ']', (size_t)(end - p));
        if (!host_end)
            return ecom_fail(err, "--redis '%s': unclosed '[' in the host", url);
        if ((size_t)(host_end - p - 1) >= sizeof out->host)
            return ecom_fail(err, "--redis: host name too long");
        memcpy(out->host, p + 1, (size_t)(host_end - p - 1));
        host_end++;
    } else {
        while (host_end < end && *host_end != ':')
            host_end++;
        if ((size_t)(host_end - p) >= sizeof out->host)
            return ecom_fail(err, "--redis: host name too long");
        memcpy(out->host, p, (size_t)(host_end - p));
    }
    if (!out->host[0])
        return ecom_fail(err, "--redis '%s': no host", url);
    if (host_end < end && *host_end == ':') {
        char *num_end;
        long port = strtol(host_end + 1, &num_end, 10);
        if (num_end != end || port < 1 || port > 65535)
            return ecom_fail(err, "--redis '%s': the port must be a number 1..65535", url);
        out->port = (int)port;
    } else if (host_end != end) {
        return ecom_fail(err, "--redis '%s': unexpected text after the host", url);
    }
    if (*end == '/' && end[1]) {
        char *num_end;
        long db = strtol(end + 1, &num_end, 10);
        if (*num_end || db < 0 || db > 1000000)
            return ecom_fail(err, "--redis '%s': the database must be a number, got '%s'", url,
                             end + 1);
        out->db = (int)db;
    } else if (*end && strcmp(end, "/") != 0) {
        return ecom_fail(err, "--redis '%s': query options are not supported", url);
    }
    return 0;
}

void ecom_redis_url_redacted(const ecom_redis_url *u, char *out, size_t n)
{
    snprintf(out, n, "redis://%s%s%s%s:%d/%d", u->user, u->password[0] ? ":***" : "",
             u->user[0] || u->password[0] ? "@" : "", u->host, u->port, u->db);
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
    free(r);
}

static struct timeval tv_of_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* A reply that is an error becomes err; the reply is freed then. */
static int reply_failed(redisReply *reply, const char *what, ecom_error *err)
{
    if (reply && reply->type != REDIS_REPLY_ERROR)
        return 0;
    if (reply)
        ecom_fail(err, "Redis %s: %s", what, reply->str);
    freeReplyObject(reply);
    return -1;
}

/* The reply of a set-up command (AUTH, SELECT) on a new connection: 0, or -1 with err set. */
static int setup_reply(redisContext *c, const char *where, const char *what, redisReply *reply,
                       ecom_error *err)
{
    if (reply_failed(reply, what, err)) {
        if (!reply && c->err)
            ecom_fail(err, "Redis at %s: %s: %s", where, what, c->errstr);
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

/* After a call: NULL means the connection is unusable (hiredis sets ctx->err). */
static redisReply *checked(ecom_redis *r, redisReply *reply, const char *what, ecom_error *err)
{
    if (!reply) {
        char where[400];
        ecom_redis_url_redacted(&r->url, where, sizeof where);
        ecom_fail(err, "Redis at %s: %s: %s", where, what,
                  r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        ecom_redis_disconnect(r);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        reply_failed(reply, what, err);
        return NULL;
    }
    return reply;
}

int ecom_redis_ping(ecom_redis *r, ecom_error *err)
{
    redisReply *reply = ecom_redis_cmd(r, err, "PING");
    freeReplyObject(reply);
    return reply ? 0 : -1;
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
    ecom_redis_args_addf(a, "%lld", (long long)v);
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

/* hiredis wants pointers; they are only stable once every argument is in the buffer. */
static redisReply *call_with_prefix(ecom_redis *r, const char *const *head, const size_t *head_len,
                                    int n_head, const ecom_redis_args *a, const char *what,
                                    ecom_error *err)
{
    if (!r->ctx && connect_now(r, err))
        return NULL;
    int argc = n_head + (a ? a->n : 0);
    const char **argv = ecom_xmalloc(sizeof *argv * (size_t)(argc ? argc : 1));
    size_t *lens = ecom_xmalloc(sizeof *lens * (size_t)(argc ? argc : 1));
    for (int i = 0; i < n_head; i++) {
        argv[i] = head[i];
        lens[i] = head_len[i];
    }
    for (int i = 0; a && i < a->n; i++) {
        argv[n_head + i] = a->text.data + a->offsets[i];
        lens[n_head + i] = a->lengths[i];
    }
    redisReply *reply = redisCommandArgv(r->ctx, argc, argv, lens);
    free(argv);
    free(lens);
    return checked(r, reply, what, err);
}

redisReply *ecom_redis_call(ecom_redis *r, const ecom_redis_args *a, ecom_error *err)
{
    char what[64];
    snprintf(what, sizeof what, "%.*s", a->n ? (int)(a->lengths[0] < 40 ? a->lengths[0] : 40) : 0,
             a->n ? a->text.data + a->offsets[0] : "");
    return call_with_prefix(r, NULL, NULL, 0, a, what, err);
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
    return checked(r, reply, what, err);
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
        redisReply *reply = call_with_prefix(r, head, head_len, 3, argv, s->name, err);
        if (reply || !strstr(err->msg, "NOSCRIPT"))
            return reply;
        r->n_scripts = 0; /* the server forgot its scripts (restart, SCRIPT FLUSH): load again */
    }
    return NULL;
}
