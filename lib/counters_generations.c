/*
 * counters_generations.c - which generation of the counters readers use, and the rebuild that
 * fills a new one (see counters.h for the keys).
 *
 * A generation is a namespace of keys, <prefix>g<N>:. Readers and the live writer follow
 * <prefix>current; a rebuild takes <prefix>rebuild_lock with a lease (lease.lua renews and
 * releases it only for the token that took it), fills the generation named by
 * <prefix>rebuilding, freezes the current one while it catches up on the last messages, and
 * switches readers in one script (switch.lua) that refuses when the rebuilt generation is still
 * behind. Nothing here touches a counter: batches do (counters_batch.c).
 */
#include "ecom/counters.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"

extern const char ecom_lua_switch[];
extern const char ecom_lua_lease[];

static const ecom_redis_script switch_script = {"switch.lua", ecom_lua_switch};
static const ecom_redis_script lease_script = {"lease.lua", ecom_lua_lease};

static int reply_int(redisReply *reply, int64_t *out)
{
    if (reply->type == REDIS_REPLY_INTEGER) {
        *out = reply->integer;
        return 0;
    }
    if (reply->type == REDIS_REPLY_STRING) {
        char *end;
        *out = strtoll(reply->str, &end, 10);
        return *end ? -1 : 0;
    }
    return -1;
}

/* GET of an integer key: 0 when missing. */
static int get_int(const ecom_counters_store *s, const char *name, int64_t *out, ecom_error *err)
{
    redisReply *reply = ecom_redis_cmd(s->redis, err, "GET %s%s", s->prefix, name);
    if (!reply)
        return -1;
    *out = 0;
    int rc = 0;
    if (reply->type != REDIS_REPLY_NIL && reply_int(reply, out))
        rc = ecom_fail(err, "Redis key %s%s does not hold a number", s->prefix, name);
    freeReplyObject(reply);
    return rc;
}

int ecom_counters_current(const ecom_counters_store *s, int64_t *gen, ecom_error *err)
{
    return get_int(s, "current", gen, err);
}

int ecom_counters_ensure_current(const ecom_counters_store *s, int64_t *gen, ecom_error *err)
{
    if (ecom_counters_current(s, gen, err))
        return -1;
    if (*gen)
        return 0;
    redisReply *reply = ecom_redis_cmd(s->redis, err, "INCR %snext_generation", s->prefix);
    if (!reply)
        return -1;
    int64_t fresh = reply->integer;
    freeReplyObject(reply);
    reply = ecom_redis_cmd(s->redis, err, "SET %scurrent %lld NX", s->prefix, (long long)fresh);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return ecom_counters_current(s, gen, err); /* ours, or a racing writer's */
}

int ecom_counters_rebuild_begin(const ecom_counters_store *s, const char *token, int lease_ms,
                                int64_t *gen, bool *resumed, ecom_error *err)
{
    redisReply *reply =
        ecom_redis_cmd(s->redis, err, "SET %srebuild_lock %s NX PX %d", s->prefix, token, lease_ms);
    if (!reply)
        return -1;
    bool taken = reply->type == REDIS_REPLY_NIL;
    freeReplyObject(reply);
    if (taken)
        return ecom_fail(err,
                         "another rebuild is running (Redis key %srebuild_lock is held); wait "
                         "for it to finish, or for its lease to expire if it died",
                         s->prefix);
    if (get_int(s, "rebuilding", gen, err))
        return -1;
    *resumed = *gen != 0;
    if (*resumed)
        return 0;
    reply = ecom_redis_cmd(s->redis, err, "INCR %snext_generation", s->prefix);
    if (!reply)
        return -1;
    *gen = reply->integer;
    freeReplyObject(reply);
    reply = ecom_redis_cmd(s->redis, err, "SET %srebuilding %lld", s->prefix, (long long)*gen);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

static int lease_call(const ecom_counters_store *s, const char *token, const char *action,
                      int lease_ms, ecom_error *err)
{
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_addf(&a, "%srebuild_lock", s->prefix);
    ecom_redis_args_add(&a, token);
    ecom_redis_args_add(&a, action);
    ecom_redis_args_add_int(&a, lease_ms);
    redisReply *reply = ecom_redis_eval(s->redis, &lease_script, &a, err);
    ecom_redis_args_free(&a);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
                 ? 0
                 : ecom_fail(err, "the rebuild lock %srebuild_lock is no longer ours", s->prefix);
    freeReplyObject(reply);
    return rc;
}

int ecom_counters_rebuild_renew(const ecom_counters_store *s, const char *token, int lease_ms,
                                ecom_error *err)
{
    return lease_call(s, token, "renew", lease_ms, err);
}

void ecom_counters_rebuild_release(const ecom_counters_store *s, const char *token)
{
    ecom_error err;
    lease_call(s, token, "release", 0, &err);
}

int ecom_counters_freeze(const ecom_counters_store *s, int64_t gen, int ttl_ms, ecom_error *err)
{
    redisReply *reply = ecom_redis_cmd(s->redis, err, "SET %sg%lld:frozen 1 PX %d", s->prefix,
                                       (long long)gen, ttl_ms);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

int ecom_counters_switch(const ecom_counters_store *s, int64_t rebuilt, bool *behind,
                         ecom_error *err)
{
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_add(&a, s->prefix);
    ecom_redis_args_add_int(&a, rebuilt);
    redisReply *reply = ecom_redis_eval(s->redis, &switch_script, &a, err);
    ecom_redis_args_free(&a);
    if (!reply)
        return -1;
    int rc = 0;
    bool late = false;
    const char *status = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                                 reply->element[0]->type == REDIS_REPLY_STRING
                             ? reply->element[0]->str
                             : "";
    if (strcmp(status, "behind") == 0 && reply->elements == 4)
        late = true;
    else if (strcmp(status, "ok") != 0)
        rc = ecom_fail(err, "generation %lld is no longer the one being rebuilt",
                       (long long)rebuilt);
    freeReplyObject(reply);
    if (behind)
        *behind = late;
    else if (late)
        rc = ecom_fail(err, "generation %lld is behind the current one", (long long)rebuilt);
    return rc;
}

/* SCAN's MATCH is a glob: the prefix is taken literally. */
static void glob_escape(const char *text, ecom_buf *out)
{
    for (; *text; text++) {
        if (strchr("*?[]\\", *text))
            ecom_buf_append(out, "\\", 1);
        ecom_buf_append(out, text, 1);
    }
}

int ecom_counters_drop(const ecom_counters_store *s, int64_t gen, ecom_error *err)
{
    int64_t current;
    if (ecom_counters_current(s, &current, err))
        return -1;
    if (gen == current)
        return ecom_fail(err, "generation %lld is the current one; it is not dropped",
                         (long long)gen);
    ecom_buf pattern;
    ecom_buf_init(&pattern);
    glob_escape(s->prefix, &pattern);
    ecom_buf_printf(&pattern, "g%lld:*", (long long)gen);
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *reply =
            ecom_redis_cmd(s->redis, err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern.data);
        if (!reply) {
            rc = -1;
            break;
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            freeReplyObject(reply);
            rc = ecom_fail(err, "Redis SCAN: unexpected reply");
            break;
        }
        g_strlcpy(cursor, reply->element[0]->str, sizeof cursor);
        redisReply *keys = reply->element[1];
        if (keys->elements) {
            ecom_redis_args a;
            ecom_redis_args_init(&a);
            ecom_redis_args_add(&a, "UNLINK");
            for (size_t i = 0; i < keys->elements; i++)
                ecom_redis_args_add_len(&a, keys->element[i]->str, keys->element[i]->len);
            redisReply *del = ecom_redis_call(s->redis, &a, err);
            ecom_redis_args_free(&a);
            if (!del)
                rc = -1;
            freeReplyObject(del);
        }
        freeReplyObject(reply);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    ecom_buf_free(&pattern);
    return rc;
}
