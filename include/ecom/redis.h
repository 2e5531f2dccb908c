/*
 * redis.h - one Redis connection for commands and Lua scripts, made from a redis:// URL.
 *
 * `--redis redis://[user:pass@]host:port[/db]` names the server; user and password (percent-
 * encoded where needed) go to AUTH and the database number to SELECT on every (re)connection,
 * so credentials live in the URL, which can come from ECOM_REDIS instead of the command line.
 *
 * The connection is made lazily and dropped after any I/O error; the next call reconnects. So a
 * Redis restart costs the caller one failed call, which it retries like any store outage (see
 * retry.h). Scripts are sent once per connection with SCRIPT LOAD and then called by their SHA;
 * a server that lost its script cache (a restart) gets them again transparently.
 *
 * One Redis node, not a cluster. The scripts (lib/lua/) build their key names from a prefix they
 * are passed as an argument and declare no KEYS, and they touch many keys in one call. Redis
 * Cluster routes a script by the keys it declares and refuses keys of other hash slots, so these
 * scripts run only on a single node: `--redis` names one server (which may have replicas).
 */
#ifndef ECOM_REDIS_H
#define ECOM_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/buf.h"
#include "ecom/error.h"

typedef struct ecom_redis_url {
    char host[256];
    int port;
    char user[128];     /* empty: AUTH with the password only (or no AUTH) */
    char password[256]; /* empty: no AUTH */
    int db;
} ecom_redis_url;

/* Parses redis://[user:pass@]host[:port][/db]; errors name the URL part that is wrong. */
int ecom_redis_url_parse(const char *url, ecom_redis_url *out, ecom_error *err);

/* The URL with the password replaced by "***", for log lines. */
void ecom_redis_url_redacted(const ecom_redis_url *u, char *out, size_t n);

typedef struct ecom_redis ecom_redis;

/* A client for the URL (not connected yet). `timeout_ms` bounds every call; 0 waits forever
 * (a subscriber). */
ecom_redis *ecom_redis_new(const char *url, int timeout_ms, ecom_error *err);
void ecom_redis_free(ecom_redis *r);
/* Connects now if not connected (a start-up check). */
int ecom_redis_ping(ecom_redis *r, ecom_error *err);

/* Arguments of one command or script call, kept in one growing buffer. */
typedef struct ecom_redis_args {
    ecom_buf text;
    size_t *offsets, *lengths;
    int n, cap;
} ecom_redis_args;

void ecom_redis_args_init(ecom_redis_args *a);
void ecom_redis_args_free(ecom_redis_args *a);
void ecom_redis_args_reset(ecom_redis_args *a);
void ecom_redis_args_add(ecom_redis_args *a, const char *s);
void ecom_redis_args_add_len(ecom_redis_args *a, const char *s, size_t len);
void ecom_redis_args_add_int(ecom_redis_args *a, int64_t v);
void ecom_redis_args_addf(ecom_redis_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs a command. Returns the reply (free with freeReplyObject) or NULL with err: the server
 * unreachable, the connection lost, or an error reply (its text in err). */
redisReply *ecom_redis_call(ecom_redis *r, const ecom_redis_args *a, ecom_error *err);
/* The same from a printf-like format (hiredis' %s/%b/%d conventions). */
redisReply *ecom_redis_cmd(ecom_redis *r, ecom_error *err, const char *fmt, ...);

/* A Lua script: its name (for errors) and source. The client remembers each script's SHA. */
typedef struct ecom_redis_script {
    const char *name;
    const char *source;
} ecom_redis_script;

/* EVALSHA of the script with no KEYS and the given ARGV (so: one node, see above). */
redisReply *ecom_redis_eval(ecom_redis *r, const ecom_redis_script *s, const ecom_redis_args *argv,
                            ecom_error *err);

/* The underlying connection, connected (NULL with err when it cannot be): for a subscriber's
 * blocking reads. */
redisContext *ecom_redis_context(ecom_redis *r, ecom_error *err);
/* Drops the connection (after a failed read on it). */
void ecom_redis_disconnect(ecom_redis *r);

#endif
