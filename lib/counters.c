/*
 * counters.c - the live counters in Redis (see counters.h for the key layout and guarantees).
 *
 * A batch keeps what it was given in compact form: transactions with their items, one entry per
 * session with the funnel steps the batch saw, reference ids and names, per-topic record counts.
 * Applying it joins the facts with the reference tables, sums every counter change in memory,
 * and sends the lot to apply.lua in one call. Transaction ids are checked there; when some were
 * counted before, the script changes nothing and names them, and the batch is sent again without
 * them (a second round trip only when duplicates were published).
 */
#include "ecom/counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"
#include "ecom/snapshot.h"
#include "ecom/timeutil.h"

extern const char ecom_lua_apply[];
extern const char ecom_lua_read[];
extern const char ecom_lua_switch[];
extern const char ecom_lua_lease[];

static const ecom_redis_script apply_script = {"apply.lua", ecom_lua_apply};
static const ecom_redis_script read_script = {"read.lua", ecom_lua_read};
static const ecom_redis_script switch_script = {"switch.lua", ecom_lua_switch};
static const ecom_redis_script lease_script = {"lease.lua", ecom_lua_lease};

#define FIELD_SEP '\x1f' /* between hash and field in the in-memory sums */

/* Session steps: bit positions within a session's four bits, and their funnel names. */
enum { STEP_SEEN, STEP_VIEWED, STEP_CARTED, STEP_CONVERTED, N_STEPS };
static const char *const step_names[N_STEPS] = {"sessions", "viewed", "carted", "converted"};

/* ---- ids ------------------------------------------------------------------------------------ */

void ecom_counters_id_slot(const char *kind, const char *id, char *key, size_t key_size,
                           int64_t *bit)
{
    const char *digits = strrchr(id, '_');
    digits = digits ? digits + 1 : id;
    size_t n = strlen(digits);
    bool numeric = n > 0;
    for (size_t i = 0; i < n && numeric; i++)
        numeric = digits[i] >= '0' && digits[i] <= '9';
    if (!numeric) { /* not an id shape the codec lets through; still exact, one key per id */
        snprintf(key, key_size, "seen:%s:x%s", kind, id);
        *bit = 0;
        return;
    }
    size_t tail = n > 4 ? 4 : n;
    *bit = strtoll(digits + n - tail, NULL, 10);
    if (n > 4)
        snprintf(key, key_size, "seen:%s:%.*s", kind, (int)(n - 4), digits);
    else /* short ids: the length keeps "7" and "007" apart */
        snprintf(key, key_size, "seen:%s:~%zu", kind, n);
}

/* ---- generations ---------------------------------------------------------------------------- */

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
static int get_int(ecom_redis *r, const char *prefix, const char *name, int64_t *out,
                   ecom_error *err)
{
    redisReply *reply = ecom_redis_cmd(r, err, "GET %s%s", prefix, name);
    if (!reply)
        return -1;
    *out = 0;
    int rc = 0;
    if (reply->type != REDIS_REPLY_NIL && reply_int(reply, out))
        rc = ecom_fail(err, "Redis key %s%s does not hold a number", prefix, name);
    freeReplyObject(reply);
    return rc;
}

int ecom_counters_current(ecom_redis *r, const char *prefix, int64_t *gen, ecom_error *err)
{
    return get_int(r, prefix, "current", gen, err);
}

int ecom_counters_ensure_current(ecom_redis *r, const char *prefix, int64_t *gen, ecom_error *err)
{
    if (ecom_counters_current(r, prefix, gen, err))
        return -1;
    if (*gen)
        return 0;
    redisReply *reply = ecom_redis_cmd(r, err, "INCR %snext_generation", prefix);
    if (!reply)
        return -1;
    int64_t fresh = reply->integer;
    freeReplyObject(reply);
    reply = ecom_redis_cmd(r, err, "SET %scurrent %lld NX", prefix, (long long)fresh);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return ecom_counters_current(r, prefix, gen, err); /* ours, or a racing writer's */
}

int ecom_counters_rebuild_begin(ecom_redis *r, const char *prefix, const char *token, int lease_ms,
                                int64_t *gen, bool *resumed, ecom_error *err)
{
    redisReply *reply =
        ecom_redis_cmd(r, err, "SET %srebuild_lock %s NX PX %d", prefix, token, lease_ms);
    if (!reply)
        return -1;
    bool taken = reply->type == REDIS_REPLY_NIL;
    freeReplyObject(reply);
    if (taken)
        return ecom_fail(err,
                         "another rebuild is running (Redis key %srebuild_lock is held); wait "
                         "for it to finish, or for its lease to expire if it died",
                         prefix);
    if (get_int(r, prefix, "rebuilding", gen, err))
        return -1;
    *resumed = *gen != 0;
    if (*resumed)
        return 0;
    reply = ecom_redis_cmd(r, err, "INCR %snext_generation", prefix);
    if (!reply)
        return -1;
    *gen = reply->integer;
    freeReplyObject(reply);
    reply = ecom_redis_cmd(r, err, "SET %srebuilding %lld", prefix, (long long)*gen);
    freeReplyObject(reply);
    return reply ? 0 : -1;
}

static int lease_call(ecom_redis *r, const char *prefix, const char *token, const char *action,
                      int lease_ms, ecom_error *err)
{
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_addf(&a, "%srebuild_lock", prefix);
    ecom_redis_args_add(&a, token);
    ecom_redis_args_add(&a, action);
    ecom_redis_args_add_int(&a, lease_ms);
    redisReply *reply = ecom_redis_eval(r, &lease_script, &a, err);
    ecom_redis_args_free(&a);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
                 ? 0
                 : ecom_fail(err, "the rebuild lock %srebuild_lock is no longer ours", prefix);
    freeReplyObject(reply);
    return rc;
}

int ecom_counters_rebuild_renew(ecom_redis *r, const char *prefix, const char *token, int lease_ms,
                                ecom_error *err)
{
    return lease_call(r, prefix, token, "renew", lease_ms, err);
}

void ecom_counters_rebuild_release(ecom_redis *r, const char *prefix, const char *token)
{
    ecom_error err;
    lease_call(r, prefix, token, "release", 0, &err);
}

int ecom_counters_freeze(ecom_redis *r, const char *prefix, int64_t gen, int ttl_ms,
                         ecom_error *err)
{
    redisReply *reply =
        ecom_redis_cmd(r, err, "SET %sg%lld:frozen 1 PX %d", prefix, (long long)gen, ttl_ms);
    freeReplyObject(reply);
    return reply ? 0 : -1;
}

int ecom_counters_switch(ecom_redis *r, const char *prefix, int64_t rebuilt, bool *behind,
                         ecom_error *err)
{
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_add(&a, prefix);
    ecom_redis_args_add_int(&a, rebuilt);
    redisReply *reply = ecom_redis_eval(r, &switch_script, &a, err);
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
static void glob_escape(const char *s, ecom_buf *out)
{
    for (; *s; s++) {
        if (strchr("*?[]\\", *s))
            ecom_buf_append(out, "\\", 1);
        ecom_buf_append(out, s, 1);
    }
}

int ecom_counters_drop(ecom_redis *r, const char *prefix, int64_t gen, ecom_error *err)
{
    int64_t current;
    if (ecom_counters_current(r, prefix, &current, err))
        return -1;
    if (gen == current)
        return ecom_fail(err, "generation %lld is the current one; it is not dropped",
                         (long long)gen);
    ecom_buf pattern;
    ecom_buf_init(&pattern);
    glob_escape(prefix, &pattern);
    ecom_buf_printf(&pattern, "g%lld:*", (long long)gen);
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *reply =
            ecom_redis_cmd(r, err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern.data);
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
            redisReply *del = ecom_redis_call(r, &a, err);
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

/* ---- batches -------------------------------------------------------------------------------- */

typedef struct txn_entry {
    char id[ECOM_ID_MAX];
    char user_id[ECOM_ID_MAX];
    ecom_time timestamp;
    ecom_cents total;
    int first_item, n_items;
} txn_entry;

typedef struct item_entry {
    char product_id[ECOM_ID_MAX];
    int32_t quantity;
    ecom_cents subtotal;
} item_entry;

typedef struct session_entry {
    char session_id[ECOM_ID_MAX];
    int64_t day;    /* of the session's start */
    unsigned steps; /* bit per STEP_ */
} session_entry;

typedef struct ref_entry {
    ecom_kind kind;
    char id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];       /* products and categories */
    char category_id[ECOM_ID_MAX]; /* products */
} ref_entry;

typedef struct gauge {
    char field[48];
    int64_t value;
} gauge;

struct ecom_counters_batch {
    GArray *txns;         /* txn_entry */
    GArray *items;        /* item_entry, the txns' items back to back */
    GHashTable *txn_ids;  /* id -> present, against the same id twice in one batch */
    GHashTable *sessions; /* session_id (in entry) -> session_entry */
    GArray *refs;         /* ref_entry */
    GHashTable *records;  /* topic -> int64 records of it */
    int64_t dead_letters;
    GArray *gauges; /* gauge */
    int64_t size;
};

ecom_counters_batch *ecom_counters_batch_new(void)
{
    ecom_counters_batch *b = ecom_xcalloc(1, sizeof *b);
    b->txns = g_array_new(FALSE, FALSE, sizeof(txn_entry));
    b->items = g_array_new(FALSE, FALSE, sizeof(item_entry));
    b->txn_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    b->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    b->refs = g_array_new(FALSE, FALSE, sizeof(ref_entry));
    b->records = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    b->gauges = g_array_new(FALSE, FALSE, sizeof(gauge));
    return b;
}

void ecom_counters_batch_clear(ecom_counters_batch *b)
{
    g_array_set_size(b->txns, 0);
    g_array_set_size(b->items, 0);
    g_hash_table_remove_all(b->txn_ids);
    g_hash_table_remove_all(b->sessions);
    g_array_set_size(b->refs, 0);
    g_hash_table_remove_all(b->records);
    g_array_set_size(b->gauges, 0);
    b->dead_letters = 0;
    b->size = 0;
}

void ecom_counters_batch_free(ecom_counters_batch *b)
{
    if (!b)
        return;
    g_array_free(b->txns, TRUE);
    g_array_free(b->items, TRUE);
    g_hash_table_destroy(b->txn_ids);
    g_hash_table_destroy(b->sessions);
    g_array_free(b->refs, TRUE);
    g_hash_table_destroy(b->records);
    g_array_free(b->gauges, TRUE);
    free(b);
}

bool ecom_counters_batch_needs_reference(const ecom_counters_batch *b, const ecom_reference *ref)
{
    for (guint i = 0; i < b->txns->len; i++) {
        const txn_entry *t = &g_array_index(b->txns, txn_entry, i);
        if (!ecom_reference_user(ref, t->user_id))
            return true;
        for (int k = 0; k < t->n_items; k++)
            if (!ecom_reference_product(
                    ref, g_array_index(b->items, item_entry, t->first_item + k).product_id))
                return true;
    }
    return false;
}

int64_t ecom_counters_batch_size(const ecom_counters_batch *b)
{
    return b->size;
}

static void count_record(ecom_counters_batch *b, const char *topic)
{
    if (!topic)
        return;
    int64_t *n = g_hash_table_lookup(b->records, topic); /* per message: no allocation */
    if (!n) {
        n = g_new0(int64_t, 1);
        g_hash_table_insert(b->records, g_strdup(topic), n);
    }
    (*n)++;
}

static void add_transaction(ecom_counters_batch *b, const ecom_transaction *t)
{
    if (g_hash_table_contains(b->txn_ids, t->transaction_id))
        return; /* the same id twice in one batch: it counts once */
    g_hash_table_add(b->txn_ids, g_strdup(t->transaction_id));
    txn_entry e = {.timestamp = t->timestamp,
                   .total = t->total_cents,
                   .first_item = (int)b->items->len,
                   .n_items = t->n_items};
    g_strlcpy(e.id, t->transaction_id, sizeof e.id);
    g_strlcpy(e.user_id, t->user_id, sizeof e.user_id);
    g_array_append_val(b->txns, e);
    for (int i = 0; i < t->n_items; i++) {
        item_entry it = {.quantity = t->items[i].quantity, .subtotal = t->items[i].subtotal_cents};
        g_strlcpy(it.product_id, t->items[i].product_id, sizeof it.product_id);
        g_array_append_val(b->items, it);
    }
}

static void add_event(ecom_counters_batch *b, const ecom_session_event *ev)
{
    session_entry *s = g_hash_table_lookup(b->sessions, ev->session_id);
    if (!s) {
        s = g_new0(session_entry, 1);
        g_strlcpy(s->session_id, ev->session_id, sizeof s->session_id);
        s->day = ecom_time_day(ev->start_time);
        g_hash_table_insert(b->sessions, s->session_id, s);
    }
    s->steps |= 1u << STEP_SEEN;
    if (ev->type == ECOM_EV_PAGE_VIEW && ev->u.page_view.page_type == ECOM_PAGE_PRODUCT_DETAIL)
        s->steps |= 1u << STEP_VIEWED;
    else if (ev->type == ECOM_EV_CART_ADD)
        s->steps |= 1u << STEP_CARTED;
    else if (ev->type == ECOM_EV_SESSION_END && ev->u.end.conversion_status == ECOM_CONV_CONVERTED)
        s->steps |= 1u << STEP_CONVERTED;
}

static void add_reference(ecom_counters_batch *b, ecom_kind kind, const char *id, const char *name,
                          const char *category_id)
{
    ref_entry e = {.kind = kind};
    g_strlcpy(e.id, id, sizeof e.id);
    g_strlcpy(e.name, name ? name : "", sizeof e.name);
    g_strlcpy(e.category_id, category_id ? category_id : "", sizeof e.category_id);
    g_array_append_val(b->refs, e);
}

void ecom_counters_batch_add(ecom_counters_batch *b, const ecom_record *r, const char *topic)
{
    switch (r->kind) {
    case ECOM_KIND_TRANSACTION:
        add_transaction(b, &r->u.transaction);
        break;
    case ECOM_KIND_SESSION_EVENT:
        add_event(b, &r->u.event);
        break;
    case ECOM_KIND_CATEGORY:
        add_reference(b, r->kind, r->u.category.category_id, r->u.category.name, NULL);
        break;
    case ECOM_KIND_PRODUCT:
        add_reference(b, r->kind, r->u.product.product_id, r->u.product.name,
                      r->u.product.category_id);
        break;
    case ECOM_KIND_USER:
        add_reference(b, r->kind, r->u.user.user_id, NULL, NULL);
        break;
    default:
        return;
    }
    count_record(b, topic);
    b->size++;
}

void ecom_counters_batch_dead_letter(ecom_counters_batch *b)
{
    b->dead_letters++;
    b->size++;
}

void ecom_counters_batch_gauge(ecom_counters_batch *b, const char *field, int64_t value)
{
    gauge g = {.value = value};
    g_strlcpy(g.field, field, sizeof g.field);
    g_array_append_val(b->gauges, g);
}

/* ---- writing -------------------------------------------------------------------------------- */

struct ecom_counters_writer {
    ecom_redis *redis;
    char prefix[128];
    int64_t gen;
    ecom_counters_role role;
    GHashTable *expected; /* "<topic>:<partition>" -> stored offset text, "-" for none */
    /* scratch of apply, kept between batches */
    GHashTable *sums;  /* "hash\x1ffield" -> int64 delta */
    GHashTable *zsums; /* "zset\x1fmember" -> int64 delta */
    GHashTable *pairs; /* cohort "month\x1fuser" seen in this batch */
    ecom_redis_args facts, firsts, sets; /* the script's sections that are not sums */
    int n_facts, n_firsts;
    GArray *fact_txn; /* the batch index of each transaction sent, in order */
};

ecom_counters_writer *ecom_counters_writer_new(ecom_redis *r, const char *prefix, int64_t gen,
                                               ecom_counters_role role)
{
    ecom_counters_writer *w = ecom_xcalloc(1, sizeof *w);
    w->redis = r;
    g_strlcpy(w->prefix, prefix, sizeof w->prefix);
    w->gen = gen;
    w->role = role;
    w->expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->zsums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->pairs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->fact_txn = g_array_new(FALSE, FALSE, sizeof(guint));
    ecom_redis_args *all[] = {&w->facts, &w->firsts, &w->sets};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ecom_redis_args_init(all[i]);
    return w;
}

void ecom_counters_writer_free(ecom_counters_writer *w)
{
    if (!w)
        return;
    g_hash_table_destroy(w->expected);
    g_hash_table_destroy(w->sums);
    g_hash_table_destroy(w->zsums);
    g_hash_table_destroy(w->pairs);
    g_array_free(w->fact_txn, TRUE);
    ecom_redis_args *all[] = {&w->facts, &w->firsts, &w->sets};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ecom_redis_args_free(all[i]);
    free(w);
}

int64_t ecom_counters_writer_generation(const ecom_counters_writer *w)
{
    return w->gen;
}

static void offset_field(const char *topic, int32_t partition, char *out, size_t n)
{
    snprintf(out, n, "%s:%d", topic, (int)partition);
}

int ecom_counters_writer_positions(ecom_counters_writer *w, rd_kafka_topic_partition_list_t *parts,
                                   ecom_error *err)
{
    if (parts->cnt == 0)
        return 0;
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_add(&a, "HMGET");
    ecom_redis_args_addf(&a, "%sg%lld:offsets", w->prefix, (long long)w->gen);
    char field[300];
    for (int i = 0; i < parts->cnt; i++) {
        offset_field(parts->elems[i].topic, parts->elems[i].partition, field, sizeof field);
        ecom_redis_args_add(&a, field);
    }
    redisReply *reply = ecom_redis_call(w->redis, &a, err);
    ecom_redis_args_free(&a);
    if (!reply)
        return -1;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)parts->cnt) {
        freeReplyObject(reply);
        return ecom_fail(err, "Redis HMGET of the stored offsets: unexpected reply");
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        const redisReply *v = reply->element[i];
        offset_field(p->topic, p->partition, field, sizeof field);
        if (v->type == REDIS_REPLY_STRING) {
            p->offset = strtoll(v->str, NULL, 10);
            g_hash_table_replace(w->expected, g_strdup(field), g_strdup(v->str));
        } else {
            if (p->offset == RD_KAFKA_OFFSET_INVALID)
                p->offset = RD_KAFKA_OFFSET_BEGINNING; /* counters start from the first message */
            g_hash_table_replace(w->expected, g_strdup(field), g_strdup("-"));
        }
    }
    freeReplyObject(reply);
    return 0;
}

static void sum_add(GHashTable *t, const char *a, const char *b, int64_t delta)
{
    /* "a\x1fb", on the stack unless a field is unusually long (never cut: a cut key could merge
     * two counters) */
    size_t la = strlen(a), lb = strlen(b);
    char stack[256];
    char *key = la + lb + 2 <= sizeof stack ? stack : ecom_xmalloc(la + lb + 2);
    memcpy(key, a, la);
    key[la] = FIELD_SEP;
    memcpy(key + la + 1, b, lb + 1);
    int64_t *v = g_hash_table_lookup(t, key);
    if (!v) {
        v = g_new0(int64_t, 1);
        g_hash_table_insert(t, g_strdup(key), v);
    }
    *v += delta;
    if (key != stack)
        free(key);
}

/* Appends the sums as (a, b, delta) triples; returns how many. */
static int emit_sums(GHashTable *t, ecom_redis_args *out)
{
    GHashTableIter it;
    gpointer key, value;
    int n = 0;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const char *k = key, *sep = strchr(k, FIELD_SEP);
        ecom_redis_args_add_len(out, k, (size_t)(sep - k));
        ecom_redis_args_add(out, sep + 1);
        ecom_redis_args_add_int(out, *(int64_t *)value);
        n++;
    }
    return n;
}

/* A first-seen bit of an id: bit (slot * per_id + step) of its bitmap; when the bit was clear,
 * each (hash, field) of targets gets +1. */
static void first_seen(ecom_counters_writer *w, const char *kind, const char *id, int per_id,
                       int step, int n_targets, const char *const *targets)
{
    char key[160];
    int64_t slot;
    ecom_counters_id_slot(kind, id, key, sizeof key, &slot);
    ecom_redis_args_add(&w->firsts, key);
    ecom_redis_args_add_int(&w->firsts, slot * per_id + step);
    ecom_redis_args_add_int(&w->firsts, n_targets);
    for (int i = 0; i < 2 * n_targets; i++)
        ecom_redis_args_add(&w->firsts, targets[i]);
    w->n_firsts++;
}

static void plan_transaction(ecom_counters_writer *w, const ecom_counters_batch *b,
                             const txn_entry *t, const ecom_reference *ref)
{
    char key[160], day[ECOM_DAY_TEXT], field[96];
    int64_t bit;
    ecom_counters_id_slot("txn", t->id, key, sizeof key, &bit);
    ecom_redis_args_add(&w->facts, key);
    ecom_redis_args_add_int(&w->facts, bit);
    w->n_facts++;

    ecom_day_format(ecom_time_day(t->timestamp), day);
    int64_t units = 0;
    for (int i = 0; i < t->n_items; i++) {
        const item_entry *it = &g_array_index(b->items, item_entry, t->first_item + i);
        const ecom_ref_product *p = ecom_reference_product(ref, it->product_id);
        const char *category = p ? p->category_id : "unknown";
        units += it->quantity;
        sum_add(w->zsums, "products:units", it->product_id, it->quantity);
        sum_add(w->zsums, "products:revenue", it->product_id, it->subtotal);
        snprintf(field, sizeof field, "%s:lines", category);
        sum_add(w->sums, "categories", field, 1);
        snprintf(field, sizeof field, "%s:revenue_cents", category);
        sum_add(w->sums, "categories", field, it->subtotal);
    }
    snprintf(field, sizeof field, "%s:revenue_cents", day);
    sum_add(w->sums, "sales", field, t->total);
    snprintf(field, sizeof field, "%s:orders", day);
    sum_add(w->sums, "sales", field, 1);
    snprintf(field, sizeof field, "%s:units", day);
    sum_add(w->sums, "sales", field, units);
    sum_add(w->sums, "counts", "transactions", 1);

    const ecom_ref_user *u = ecom_reference_user(ref, t->user_id);
    char reg_month[ECOM_MONTH_TEXT] = "unknown", month[ECOM_MONTH_TEXT];
    int64_t year = 0;
    if (u) {
        ecom_month_format(ecom_time_month(u->registration_date), reg_month);
        year = ecom_time_year(u->registration_date);
    }
    snprintf(field, sizeof field, "%lld:orders", (long long)year);
    sum_add(w->sums, "spend", field, 1);
    snprintf(field, sizeof field, "%lld:total_cents", (long long)year);
    sum_add(w->sums, "spend", field, t->total);

    /* a cohort counts each user once per transaction month */
    ecom_month_format(ecom_time_month(t->timestamp), month);
    char pair[ECOM_MONTH_TEXT + ECOM_ID_MAX + 2];
    snprintf(pair, sizeof pair, "%s%c%s", month, FIELD_SEP, t->user_id);
    if (g_hash_table_contains(w->pairs, pair))
        return;
    g_hash_table_add(w->pairs, g_strdup(pair));
    char kind[32], cohort[2 * ECOM_MONTH_TEXT + 8];
    snprintf(kind, sizeof kind, "cohort:%s", month);
    snprintf(cohort, sizeof cohort, "%s:%s", reg_month, month);
    const char *targets[] = {"cohorts", cohort};
    first_seen(w, kind, t->user_id, 1, 0, 1, targets);
}

static void plan_session(ecom_counters_writer *w, const session_entry *s)
{
    char day[ECOM_DAY_TEXT], day_field[ECOM_DAY_TEXT + 16], total_field[32];
    ecom_day_format(s->day, day);
    for (int step = 0; step < N_STEPS; step++) {
        if (!(s->steps & (1u << step)))
            continue;
        snprintf(day_field, sizeof day_field, "%s:%s", day, step_names[step]);
        snprintf(total_field, sizeof total_field, "total:%s", step_names[step]);
        const char *seen[] = {"funnel", day_field, "counts", "sessions"};
        const char *step_targets[] = {"funnel", day_field, "funnel", total_field};
        first_seen(w, "sess", s->session_id, N_STEPS, step, 2,
                   step == STEP_SEEN ? seen : step_targets);
    }
}

static void plan_reference(ecom_counters_writer *w, const ref_entry *e)
{
    static const char *const kinds[] = {[ECOM_KIND_CATEGORY] = "category",
                                        [ECOM_KIND_PRODUCT] = "product",
                                        [ECOM_KIND_USER] = "user"};
    static const char *const counts[] = {[ECOM_KIND_CATEGORY] = "categories",
                                         [ECOM_KIND_PRODUCT] = "products",
                                         [ECOM_KIND_USER] = "users"};
    const char *targets[] = {"counts", counts[e->kind]};
    first_seen(w, kinds[e->kind], e->id, 1, 0, 1, targets);
    if (e->kind == ECOM_KIND_USER)
        return;
    ecom_redis_args_add(&w->sets,
                        e->kind == ECOM_KIND_PRODUCT ? "names:products" : "names:categories");
    ecom_redis_args_add(&w->sets, e->id);
    ecom_redis_args_add(&w->sets, e->name);
    if (e->kind == ECOM_KIND_PRODUCT) { /* the products report names each product's category */
        ecom_redis_args_add(&w->sets, "categories:products");
        ecom_redis_args_add(&w->sets, e->id);
        ecom_redis_args_add(&w->sets, e->category_id);
    }
}

/* Builds the script's arguments for the batch without the transactions marked in `dup`. */
static void plan(ecom_counters_writer *w, const ecom_counters_batch *b, const ecom_reference *ref,
                 const rd_kafka_topic_partition_list_t *next_offsets, const bool *dup,
                 ecom_redis_args *argv)
{
    ecom_redis_args *parts[] = {&w->facts, &w->firsts, &w->sets};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        ecom_redis_args_reset(parts[i]);
    g_hash_table_remove_all(w->sums);
    g_hash_table_remove_all(w->zsums);
    g_hash_table_remove_all(w->pairs);
    w->n_facts = w->n_firsts = 0;
    g_array_set_size(w->fact_txn, 0);

    for (guint i = 0; i < b->txns->len; i++) {
        if (dup[i])
            continue;
        plan_transaction(w, b, &g_array_index(b->txns, txn_entry, i), ref);
        g_array_append_val(w->fact_txn, i);
    }
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, b->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        plan_session(w, value);
    for (guint i = 0; i < b->refs->len; i++)
        plan_reference(w, &g_array_index(b->refs, ref_entry, i));
    g_hash_table_iter_init(&it, b->records);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        char field[300];
        snprintf(field, sizeof field, "%s:records", (const char *)key);
        sum_add(w->sums, "pipeline", field, *(int64_t *)value);
    }
    if (b->dead_letters)
        sum_add(w->sums, "pipeline", "dead_letters", b->dead_letters);
    for (guint i = 0; i < b->gauges->len; i++) {
        const gauge *g = &g_array_index(b->gauges, gauge, i);
        ecom_redis_args_add(&w->sets, "pipeline");
        ecom_redis_args_add(&w->sets, g->field);
        ecom_redis_args_add_int(&w->sets, g->value);
    }

    ecom_redis_args_reset(argv);
    ecom_redis_args_add(argv, w->prefix);
    ecom_redis_args_add_int(argv, w->gen);
    ecom_redis_args_add(argv, w->role == ECOM_COUNTERS_LIVE ? "live" : "rebuild");
    int n_offsets = next_offsets ? next_offsets->cnt : 0;
    ecom_redis_args_add_int(argv, n_offsets);
    for (int i = 0; i < n_offsets; i++) {
        const rd_kafka_topic_partition_t *p = &next_offsets->elems[i];
        char field[300];
        offset_field(p->topic, p->partition, field, sizeof field);
        const char *expected = g_hash_table_lookup(w->expected, field);
        ecom_redis_args_add(argv, field);
        ecom_redis_args_add(argv, expected ? expected : "-");
        ecom_redis_args_add_int(argv, p->offset);
    }
    ecom_redis_args_add_int(argv, w->n_facts);
    for (int i = 0; i < w->facts.n; i++)
        ecom_redis_args_add_len(argv, w->facts.text.data + w->facts.offsets[i],
                                w->facts.lengths[i]);
    ecom_redis_args_add_int(argv, w->n_firsts);
    for (int i = 0; i < w->firsts.n; i++)
        ecom_redis_args_add_len(argv, w->firsts.text.data + w->firsts.offsets[i],
                                w->firsts.lengths[i]);
    ecom_redis_args_add_int(argv, g_hash_table_size(w->sums));
    emit_sums(w->sums, argv);
    ecom_redis_args_add_int(argv, g_hash_table_size(w->zsums));
    emit_sums(w->zsums, argv);
    ecom_redis_args_add_int(argv, w->sets.n / 3);
    for (int i = 0; i < w->sets.n; i++)
        ecom_redis_args_add_len(argv, w->sets.text.data + w->sets.offsets[i], w->sets.lengths[i]);
}

/* The batch is in: its offsets are now what the store holds. */
static void remember_offsets(ecom_counters_writer *w,
                             const rd_kafka_topic_partition_list_t *next_offsets)
{
    for (int i = 0; next_offsets && i < next_offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &next_offsets->elems[i];
        char field[300];
        offset_field(p->topic, p->partition, field, sizeof field);
        g_hash_table_replace(w->expected, g_strdup(field),
                             g_strdup_printf("%lld", (long long)p->offset));
    }
}

int ecom_counters_writer_apply(ecom_counters_writer *w, const ecom_counters_batch *b,
                               const ecom_reference *ref,
                               const rd_kafka_topic_partition_list_t *next_offsets, ecom_error *err)
{
    bool *dup = ecom_xcalloc(b->txns->len + 1, sizeof *dup);
    ecom_redis_args argv;
    ecom_redis_args_init(&argv);
    int rc = -1;
    bool again = true;
    /* a second round only when some transactions were counted before; a third cannot find any
     * new ones, since this writer is the only one at these offsets */
    for (int attempt = 0; again && attempt < 3; attempt++) {
        again = false;
        plan(w, b, ref, next_offsets, dup, &argv);
        redisReply *reply = ecom_redis_eval(w->redis, &apply_script, &argv, err);
        if (!reply)
            break;
        const char *status = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                                     reply->element[0]->type == REDIS_REPLY_STRING
                                 ? reply->element[0]->str
                                 : "";
        if (strcmp(status, "ok") == 0 || strcmp(status, "already") == 0) {
            remember_offsets(w, next_offsets);
            rc = 0;
        } else if (strcmp(status, "fenced") == 0) {
            rc = ECOM_COUNTERS_FENCED;
        } else if (strcmp(status, "frozen") == 0) {
            rc = ECOM_COUNTERS_FROZEN;
        } else if (strcmp(status, "dups") == 0) {
            for (size_t i = 1; i < reply->elements; i++) {
                long long sent = reply->element[i]->integer;
                if (sent >= 0 && (guint)sent < w->fact_txn->len)
                    dup[g_array_index(w->fact_txn, guint, sent)] = true;
            }
            again = true;
        } else {
            ecom_fail(err, "Redis apply.lua: unexpected reply");
        }
        freeReplyObject(reply);
    }
    if (again)
        ecom_fail(err, "Redis apply.lua: duplicate transactions did not settle");
    ecom_redis_args_free(&argv);
    free(dup);
    return rc;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* Splits "a:b" at the last ':' into a (copied into head) and b. */
static const char *split_last(const char *field, char *head, size_t n)
{
    const char *colon = strrchr(field, ':');
    if (!colon) {
        head[0] = '\0';
        return field;
    }
    size_t len = (size_t)(colon - field) < n - 1 ? (size_t)(colon - field) : n - 1;
    memcpy(head, field, len);
    head[len] = '\0';
    return colon + 1;
}

/* Rows of a hash whose fields are "<key>:<name>": key -> (name -> value) as a JSON object. */
static json_t *rows_of(const redisReply *hash)
{
    json_t *rows = json_object();
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2) {
        char key[200];
        const char *name = split_last(hash->element[i]->str, key, sizeof key);
        json_t *row = json_object_get(rows, key);
        if (!row) {
            row = json_object();
            json_object_set_new(rows, key, row);
        }
        json_object_set_new(row, name, json_integer(strtoll(hash->element[i + 1]->str, NULL, 10)));
    }
    return rows;
}

static int64_t row_int(const json_t *row, const char *name)
{
    return json_integer_value(json_object_get(row, name));
}

static int64_t day_of(const char *text)
{
    ecom_time t;
    return ecom_date_parse(text, &t, NULL) == 0 ? ecom_time_day(t) : -1;
}

static const redisReply *hash_field(const redisReply *hash, const char *field)
{
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2)
        if (strcmp(hash->element[i]->str, field) == 0)
            return hash->element[i + 1];
    return NULL;
}

static int64_t hash_int(const redisReply *hash, const char *field)
{
    const redisReply *v = hash_field(hash, field);
    return v ? strtoll(v->str, NULL, 10) : 0;
}

enum {
    H_SALES = 1,
    H_FUNNEL,
    H_CATEGORIES,
    H_SPEND,
    H_COHORTS,
    H_COUNTS,
    H_PIPELINE,
    H_CATEGORY_NAMES,
    H_OFFSETS,
    H_PRODUCTS,
    N_READ_PARTS
};

static json_t *pipeline_of(const redisReply *hash, const redisReply *offsets, int64_t gen)
{
    json_t *records = json_object(), *positions = json_object();
    for (size_t i = 0; hash && i + 1 < hash->elements; i += 2) {
        char topic[200];
        const char *name = split_last(hash->element[i]->str, topic, sizeof topic);
        if (topic[0] && strcmp(name, "records") == 0)
            json_object_set_new(records, topic,
                                json_integer(strtoll(hash->element[i + 1]->str, NULL, 10)));
    }
    for (size_t i = 0; offsets && i + 1 < offsets->elements; i += 2)
        json_object_set_new(positions, offsets->element[i]->str,
                            json_integer(strtoll(offsets->element[i + 1]->str, NULL, 10)));
    int64_t updated = hash_int(hash, "updated_at");
    char updated_text[ECOM_TIME_TEXT] = "";
    if (updated)
        ecom_time_format(updated, updated_text);
    return json_pack("{s:I, s:o, s:{s:I, s:I}, s:{s:o, s:I, s:o}}", "generation", (json_int_t)gen,
                     "updated_at", updated ? json_string(updated_text) : json_null(), "latency_ms",
                     "p50", (json_int_t)hash_int(hash, "latency_ms_p50"), "p99",
                     (json_int_t)hash_int(hash, "latency_ms_p99"), "aggregator", "records", records,
                     "dead_letters", (json_int_t)hash_int(hash, "dead_letters"), "positions",
                     positions);
}

static json_t *snapshot_of(const redisReply *reply)
{
    const redisReply *const *part = (const redisReply *const *)reply->element;
    int64_t gen = strtoll(part[0]->str, NULL, 10);
    json_t *snap = ecom_snapshot_new();
    const char *key;
    json_t *row;

    json_t *sales = rows_of(part[H_SALES]);
    json_object_foreach(sales, key, row)
    {
        if (row_int(row, "orders") > 0)
            ecom_snapshot_add_daily_sales(snap, day_of(key), row_int(row, "revenue_cents"),
                                          row_int(row, "orders"), row_int(row, "units"));
    }
    json_decref(sales);

    json_t *funnel = rows_of(part[H_FUNNEL]);
    json_object_foreach(funnel, key, row)
    {
        if (strcmp(key, "total") == 0)
            ecom_snapshot_set_funnel_total(snap, row_int(row, "viewed"), row_int(row, "carted"),
                                           row_int(row, "converted"));
        else if (row_int(row, "sessions") > 0)
            ecom_snapshot_add_funnel_day(snap, day_of(key), row_int(row, "viewed"),
                                         row_int(row, "carted"), row_int(row, "converted"));
    }
    json_decref(funnel);

    json_t *categories = rows_of(part[H_CATEGORIES]);
    json_object_foreach(categories, key, row)
    {
        const redisReply *name = hash_field(part[H_CATEGORY_NAMES], key);
        ecom_snapshot_add_category(snap, key, name ? name->str : "", row_int(row, "lines"),
                                   row_int(row, "revenue_cents"));
    }
    json_decref(categories);

    json_t *spend = rows_of(part[H_SPEND]);
    json_object_foreach(spend, key, row)
    {
        if (row_int(row, "orders") > 0)
            ecom_snapshot_add_year(snap, strtoll(key, NULL, 10), row_int(row, "orders"),
                                   row_int(row, "total_cents"));
    }
    json_decref(spend);

    const redisReply *cohorts = part[H_COHORTS];
    for (size_t i = 0; i + 1 < cohorts->elements; i += 2) {
        char reg[ECOM_MONTH_TEXT + 8];
        const char *month = split_last(cohorts->element[i]->str, reg, sizeof reg);
        ecom_snapshot_add_cohort(snap, reg, month, strtoll(cohorts->element[i + 1]->str, NULL, 10));
    }

    const redisReply *counts = part[H_COUNTS];
    ecom_snapshot_set_counts(snap, hash_int(counts, "users"), hash_int(counts, "categories"),
                             hash_int(counts, "products"), hash_int(counts, "transactions"),
                             hash_int(counts, "sessions"));

    const redisReply *products = part[H_PRODUCTS];
    for (size_t i = 0; i + 3 < products->elements; i += 4)
        ecom_snapshot_add_product(snap, products->element[i]->str, products->element[i + 3]->str,
                                  (int64_t)strtod(products->element[i + 1]->str, NULL),
                                  (int64_t)strtod(products->element[i + 2]->str, NULL));
    ecom_snapshot_finish(snap);
    json_object_set_new(snap, "pipeline", pipeline_of(part[H_PIPELINE], part[H_OFFSETS], gen));
    return snap;
}

int ecom_counters_snapshot(ecom_redis *r, const char *prefix, json_t **out, ecom_error *err)
{
    *out = NULL;
    ecom_redis_args a;
    ecom_redis_args_init(&a);
    ecom_redis_args_add(&a, prefix);
    ecom_redis_args_add_int(&a, ECOM_TOP_N);
    redisReply *reply = ecom_redis_eval(r, &read_script, &a, err);
    ecom_redis_args_free(&a);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type != REDIS_REPLY_ARRAY ||
        (reply->elements != 0 && reply->elements != N_READ_PARTS))
        rc = ecom_fail(err, "Redis read.lua: unexpected reply");
    else if (reply->elements)
        *out = snapshot_of(reply);
    freeReplyObject(reply);
    return rc;
}
