/*
 * counters_batch.c - a batch of counter changes and the writer that applies it to one
 * generation exactly once (see counters.h for the keys and the guarantee).
 *
 * They live in one file because the writer reads the batch's own arrays: a batch keeps what it
 * was given in compact form (transactions with their items, one entry per session with the
 * funnel steps the batch saw, reference ids and names, per-topic record counts), and nothing
 * outside this file needs to know that form. Applying a batch joins the facts with the reference
 * tables, decides which session bits it sets from the writer's copy of them (session_fields.h),
 * sums every counter change in memory, and sends the lot to apply.lua in one call. Transaction
 * ids are checked there; when some were counted before, the script changes nothing and names
 * them, and the batch is sent again without them (a second round trip only when duplicates were
 * published). Another round follows, too, when the script finds the copy of the session bits or
 * the minute window the batch was decided in is not what Redis holds.
 */
#include "ecom/counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/log.h"
#include "ecom/session_fields.h"
#include "ecom/snapshot.h"
#include "ecom/timeutil.h"

extern const char ecom_lua_apply[];

static const ecom_redis_script apply_script = {"apply.lua", ecom_lua_apply};

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

/* ---- batches -------------------------------------------------------------------------------- */

typedef struct txn_entry {
    char id[ECOM_ID_MAX];
    char user_id[ECOM_ID_MAX];
    ecom_time timestamp;
    ecom_cents total;
    int first_item, n_items;
    bool in_session;      /* counts in its session's segment */
    ecom_segment segment; /* as the message carried it */
} txn_entry;

typedef struct item_entry {
    char product_id[ECOM_ID_MAX];
    int32_t quantity;
    ecom_cents subtotal;
} item_entry;

/* Every first-seen bit of a session, in one field of SESSION_BITS bits per session (bitmap kind
 * "session", the writer's copy in session_fields.h): the funnel steps, whether its start, its
 * conversion and each of its first MIN_PAGES page views are in the minute series, and whether it
 * started and ended (active sessions). A page view past the first MIN_PAGES has a bitmap of its
 * own. */
enum {
    SB_STEPS = 0, /* + STEP_* */
    SB_MIN_STARTED = SB_STEPS + N_STEPS,
    SB_MIN_CONVERTED,
    SB_MIN_FIRST_PAGE,
    MIN_PAGES = 16,
    SB_STARTED = SB_MIN_FIRST_PAGE + MIN_PAGES,
    SB_ENDED,
    SESSION_BITS
};

typedef struct session_entry {
    char session_id[ECOM_ID_MAX];
    int64_t day;          /* of the session's start */
    int64_t start_minute; /* likewise */
    int64_t end_minute;   /* of a converted session_end */
    unsigned steps;       /* bit per STEP_ */
    unsigned segmented;   /* the steps an event carrying a segment brought (not version 1) */
    unsigned marks;       /* MARK_STARTED | MARK_ENDED: the batch has its session_start, _end */
    unsigned pages; /* bit seq - 1: the batch has that page view, one of the first MIN_PAGES */
    int64_t page_minute[MIN_PAGES];
    ecom_segment segment; /* from the first of its events that carries one */
} session_entry;

/* A page view past a session's first MIN_PAGES. */
typedef struct page_view_entry {
    char session_id[ECOM_ID_MAX];
    int32_t seq;
    int64_t minute;
} page_view_entry;

enum { MARK_STARTED = 1, MARK_ENDED = 2 };

typedef struct ref_entry {
    ecom_kind kind;
    char id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];      /* products and categories */
    char category_id[ECOM_ID_MAX]; /* products */
} ref_entry;

typedef struct gauge {
    char field[48];
    int64_t value;
} gauge;

struct ecom_counters_batch {
    GArray *txns;           /* txn_entry */
    GArray *items;          /* item_entry, the txns' items back to back */
    GHashTable *txn_ids;    /* id -> present, against the same id twice in one batch */
    GHashTable *sessions;   /* session_id (in entry) -> session_entry */
    GArray *page_views;     /* page_view_entry, past a session's first MIN_PAGES */
    GArray *refs;           /* ref_entry */
    GHashTable *records;    /* topic -> int64 records of it */
    const char *last_topic; /* the topic of the last record counted, and its count in records */
    int64_t *last_count;
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
    b->page_views = g_array_new(FALSE, FALSE, sizeof(page_view_entry));
    b->refs = g_array_new(FALSE, FALSE, sizeof(ref_entry));
    b->records = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    b->gauges = g_array_new(FALSE, FALSE, sizeof(gauge));
    return b;
}

/* Reference records a cleared batch keeps room for. */
#define REFS_KEPT 1024

void ecom_counters_batch_clear(ecom_counters_batch *b)
{
    g_array_set_size(b->txns, 0);
    g_array_set_size(b->items, 0);
    g_hash_table_remove_all(b->txn_ids);
    g_hash_table_remove_all(b->sessions);
    g_array_set_size(b->page_views, 0);
    if (b->refs->len > REFS_KEPT) { /* a table load's thousands: not kept for a live batch */
        g_array_free(b->refs, TRUE);
        b->refs = g_array_new(FALSE, FALSE, sizeof(ref_entry));
    }
    g_array_set_size(b->refs, 0);
    g_hash_table_remove_all(b->records);
    b->last_topic = NULL;
    b->last_count = NULL;
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
    g_array_free(b->page_views, TRUE);
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

bool ecom_counters_batch_full(const ecom_counters_batch *b)
{
    return b->txns->len >= ECOM_COUNTERS_BATCH_TXNS;
}

static void count_record(ecom_counters_batch *b, const char *topic)
{
    if (!topic)
        return;
    if (topic == b->last_topic) { /* the same name as the last one (the caller's topic handle) */
        (*b->last_count)++;
        return;
    }
    int64_t *n = g_hash_table_lookup(b->records, topic); /* per message: no allocation */
    if (!n) {
        n = g_new0(int64_t, 1);
        g_hash_table_insert(b->records, g_strdup(topic), n);
    }
    b->last_topic = topic;
    b->last_count = n;
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
                   .n_items = t->n_items,
                   .in_session = *t->session_id != '\0',
                   .segment = t->segment};
    g_strlcpy(e.id, t->transaction_id, sizeof e.id);
    g_strlcpy(e.user_id, t->user_id, sizeof e.user_id);
    g_array_append_val(b->txns, e);
    for (int i = 0; i < t->n_items; i++) {
        item_entry it = {.quantity = t->items[i].quantity, .subtotal = t->items[i].subtotal_cents};
        g_strlcpy(it.product_id, t->items[i].product_id, sizeof it.product_id);
        g_array_append_val(b->items, it);
    }
}

static int64_t minute_of(ecom_time t)
{
    return t >= 0 ? t / 60 : -((-t + 59) / 60);
}

/* The funnel steps one event reaches. */
static unsigned brought_steps(const ecom_session_event *ev)
{
    unsigned steps = 1u << STEP_SEEN;
    if (ev->type == ECOM_EV_PAGE_VIEW && ev->u.page_view.page_type == ECOM_PAGE_PRODUCT_DETAIL)
        steps |= 1u << STEP_VIEWED;
    else if (ev->type == ECOM_EV_CART_ADD)
        steps |= 1u << STEP_CARTED;
    else if (ev->type == ECOM_EV_SESSION_END && ev->u.end.conversion_status == ECOM_CONV_CONVERTED)
        steps |= 1u << STEP_CONVERTED;
    return steps;
}

static void add_event(ecom_counters_batch *b, const ecom_session_event *ev)
{
    session_entry *s = g_hash_table_lookup(b->sessions, ev->session_id);
    if (!s) {
        s = g_new0(session_entry, 1);
        g_strlcpy(s->session_id, ev->session_id, sizeof s->session_id);
        s->day = ecom_time_day(ev->start_time);
        s->start_minute = minute_of(ev->start_time);
        g_hash_table_insert(b->sessions, s->session_id, s);
    }
    if (!*s->segment.device && *ev->segment.device)
        s->segment = ev->segment;
    unsigned brought = brought_steps(ev);
    s->steps |= brought;
    if (ev->type == ECOM_EV_SESSION_START) {
        s->marks |= MARK_STARTED;
    } else if (ev->type == ECOM_EV_PAGE_VIEW) {
        int32_t seq = ev->u.page_view.seq;
        if (seq >= 1 && seq <= MIN_PAGES) {
            if (!(s->pages & (1u << (seq - 1)))) /* the same page view twice: one bit */
                s->page_minute[seq - 1] = minute_of(ev->ts);
            s->pages |= 1u << (seq - 1);
        } else {
            page_view_entry pv = {.seq = seq, .minute = minute_of(ev->ts)};
            g_strlcpy(pv.session_id, ev->session_id, sizeof pv.session_id);
            g_array_append_val(b->page_views, pv);
        }
    } else if (ev->type == ECOM_EV_SESSION_END) {
        s->marks |= MARK_ENDED;
        if (ev->u.end.conversion_status == ECOM_CONV_CONVERTED)
            s->end_minute = minute_of(ev->ts);
    }
    /* a step counts in a segment only when an event that carries one brought it, so a version 1
     * event counts in "unknown" however the batches fall */
    if (*ev->segment.device)
        s->segmented |= brought;
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

/* What a session bit does once a batch sets it (a group of bits that do the same). */
typedef struct session_group {
    char kind;     /* 't' targets +1, 'm' a minute's series +1 (inside the window only),
                      's' a start (one more active session unless it ended), 'e' an end;
                      'd', 'g' only hold the targets step groups share (step_group) */
    int n_targets; /* 't': numbers of w->targets, from 1 */
    int targets[2 + ECOM_DIMENSIONS];
    int64_t minute; /* 'm' */
    const char *series;
    uint32_t other; /* 's', 'e': the mask of the other bit */
    int64_t count;  /* bits of the group the batch set */
} session_group;

/* A counter session groups add to. */
typedef struct target {
    char hash[16];
    char field[128];
    int64_t count;
} target;

/* The session groups by identity: (number, what) -> group number, in an open addressing table
 * (deciding a session's bits looks up several groups, and a lookup builds no name and hashes
 * no string). A group's number is a day or a minute; `what` packs its kind and the rest of what
 * tells it apart (group_what).
 *
 * Groups, their targets and the segment ids outlive a batch: a batch only sets the counts to
 * zero, so a funnel step's group names its counters once, not once per batch. Past GROUPS_KEPT
 * groups (a minute's are new every minute) all are dropped, and the next batch names them
 * again. */
enum { GROUPS_KEPT = 16384 };
typedef struct group_slot {
    int64_t number;
    uint64_t what;
    int group; /* 0: an empty slot */
} group_slot;

typedef struct group_index {
    group_slot *slots;
    size_t cap; /* a power of two, or 0 */
} group_index;

/* The writer's own copy of the session fields holds at most this much between batches; a
 * batch's ranges join changed sessions at most RANGE_GAP slots apart. After a stale copy, only
 * adjacent ones for EXACT_BATCHES batches (another member writes nearby). */
#define SESSION_COPY_BYTES (1u << 20)
enum { RANGE_GAP = 8, EXACT_BATCHES = 1000, MAX_ROUNDS = 6 };

#define NO_MINUTE INT64_MIN

/* What the batch's transactions add up to, by what each sum is counted per. A transaction adds
 * some twenty counters, and a batch's transactions mostly the same few: they are tallied here
 * without text, and become sums (sum_add) once per product, day, minute, segment value and
 * year (tally_flush). Keys point into the batch, which outlives the plan. */
typedef struct product_tally {
    const char *product_id, *category; /* the reference's category, or "unknown" */
    int64_t units, revenue, lines;
} product_tally;

typedef struct keyed_tally { /* a day, minute or year: its orders, money and (days) units */
    int64_t key, orders, money, units;
} keyed_tally;

typedef struct segment_tally {
    int dim;
    const char *value;
    int64_t orders, revenue;
} segment_tally;

typedef struct txn_tally {
    GHashTable *product_ids;        /* product id -> its entry's index + 1 */
    GArray *products;               /* product_tally */
    GHashTable *minute_ids;         /* minute -> its entry's index + 1 */
    GArray *minutes, *days, *years; /* keyed_tally (days and years: a few, searched in turn) */
    GArray *segments;               /* segment_tally, searched in turn */
    int64_t transactions;
} txn_tally;

static void tally_init(txn_tally *t);
static void tally_free(txn_tally *t);

struct ecom_counters_writer {
    ecom_redis *redis;
    char *prefix; /* a copy */
    char *ns;     /* "<prefix>g<gen>:" */
    int64_t gen;
    ecom_counters_role role;
    GHashTable *expected; /* "<topic>:<partition>" -> stored offset text, "-" for none */
    ecom_session_fields *fields;
    int64_t stored_newest; /* the newest minute of the series as last seen, or NO_MINUTE */
    int exact_batches;     /* batches left that send only adjacent sessions in one range */
    /* scratch of apply, kept between batches */
    GHashTable *sums;                    /* "hash\x1ffield" -> int64 delta */
    GHashTable *zsums;                   /* "zset\x1fmember" -> int64 delta */
    GHashTable *msums;                   /* "minute\x1fseries" -> int64 delta */
    GHashTable *pairs;                   /* cohort "month\x1fuser" seen in this batch */
    txn_tally tally;                     /* the transactions' sums, before they are sums */
    group_index group_ids;               /* a group's identity -> its number, from 1 */
    GHashTable *segment_ids;             /* "device\x1freferrer\x1fcountry" -> id, from 1 */
    GHashTable *target_ids;              /* "hash\x1ffield" -> its number, from 1 */
    GArray *groups;                      /* session_group, by number - 1 */
    GArray *targets;                     /* target, by number - 1 */
    int64_t active;                      /* the batch's change of active sessions */
    ecom_buf group_name;                 /* scratch */
    ecom_redis_args facts, firsts, sets; /* the script's sections that are not sums */
    ecom_redis_args minutes, ranges;
    int n_facts, n_firsts, n_minutes;
#define N_SECTIONS 5  /* the ecom_redis_args above */
    GArray *fact_txn; /* the batch index of each transaction sent, in order */
};

/* The script's sections a writer builds, each an ecom_redis_args of its own. */
static void writer_sections(ecom_counters_writer *w, ecom_redis_args *out[N_SECTIONS])
{
    ecom_redis_args *all[N_SECTIONS] = {&w->facts, &w->firsts, &w->sets, &w->minutes, &w->ranges};
    memcpy(out, all, sizeof all);
}

ecom_counters_writer *ecom_counters_writer_new(const ecom_counters_store *s, int64_t gen,
                                               ecom_counters_role role)
{
    ecom_counters_writer *w = ecom_xcalloc(1, sizeof *w);
    w->redis = s->redis;
    w->prefix = g_strdup(s->prefix);
    w->ns = g_strdup_printf("%sg%lld:", s->prefix, (long long)gen);
    w->gen = gen;
    w->fields = ecom_session_fields_new(SESSION_COPY_BYTES);
    w->stored_newest = NO_MINUTE;
    w->role = role;
    w->expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->zsums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->msums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->pairs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    tally_init(&w->tally);
    w->segment_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->target_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->groups = g_array_new(FALSE, FALSE, sizeof(session_group));
    w->targets = g_array_new(FALSE, FALSE, sizeof(target));
    w->fact_txn = g_array_new(FALSE, FALSE, sizeof(guint));
    ecom_redis_args *all[N_SECTIONS];
    writer_sections(w, all);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ecom_redis_args_init(all[i]);
    return w;
}

void ecom_counters_writer_free(ecom_counters_writer *w)
{
    if (!w)
        return;
    g_free(w->prefix);
    g_free(w->ns);
    g_hash_table_destroy(w->expected);
    ecom_session_fields_free(w->fields);
    g_hash_table_destroy(w->sums);
    g_hash_table_destroy(w->zsums);
    g_hash_table_destroy(w->msums);
    g_hash_table_destroy(w->pairs);
    tally_free(&w->tally);
    free(w->group_ids.slots);
    g_hash_table_destroy(w->segment_ids);
    g_hash_table_destroy(w->target_ids);
    ecom_buf_free(&w->group_name);
    g_array_free(w->groups, TRUE);
    g_array_free(w->targets, TRUE);
    g_array_free(w->fact_txn, TRUE);
    ecom_redis_args *all[N_SECTIONS];
    writer_sections(w, all);
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
    /* partitions may have moved here: the copy of the session fields may be behind for them (it
     * could not count wrong, see session_fields.h, but would cost a round) */
    ecom_session_fields_forget(w->fields);
    w->stored_newest = NO_MINUTE;
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

/* An entry of the minute series: counted only while `minute` is inside the window, and then,
 * when a bitmap key is given, only if that first-seen bit was clear (see apply.lua). */
static void minute_entry(ecom_counters_writer *w, const char *key, int64_t bit, int64_t minute,
                         const char *series, int64_t delta)
{
    ecom_redis_args_add(&w->minutes, key ? key : "-");
    ecom_redis_args_add_int(&w->minutes, bit);
    ecom_redis_args_add_int(&w->minutes, minute);
    ecom_redis_args_add(&w->minutes, series);
    ecom_redis_args_add_int(&w->minutes, delta);
    w->n_minutes++;
}

static const char *segment_value(const ecom_segment *seg, int dim)
{
    const char *v = dim == ECOM_DIM_DEVICE     ? seg->device
                    : dim == ECOM_DIM_REFERRER ? seg->referrer
                                               : seg->country;
    return *v ? v : "unknown";
}

/* The segments hash's fields of a metric: "<dimension>:<value>:<metric>" for each dimension. */
static void segment_fields(const ecom_segment *seg, const char *metric,
                           char fields[ECOM_DIMENSIONS][128])
{
    for (int d = 0; d < ECOM_DIMENSIONS; d++)
        snprintf(fields[d], sizeof fields[d], "%s:%s:%s", ecom_dimension_names[d],
                 segment_value(seg, d), metric);
}

static void tally_init(txn_tally *t)
{
    t->product_ids = g_hash_table_new(g_str_hash, g_str_equal);
    t->products = g_array_new(FALSE, FALSE, sizeof(product_tally));
    t->minute_ids = g_hash_table_new(g_direct_hash, g_direct_equal);
    t->minutes = g_array_new(FALSE, FALSE, sizeof(keyed_tally));
    t->days = g_array_new(FALSE, FALSE, sizeof(keyed_tally));
    t->years = g_array_new(FALSE, FALSE, sizeof(keyed_tally));
    t->segments = g_array_new(FALSE, FALSE, sizeof(segment_tally));
    t->transactions = 0;
}

static void tally_clear(txn_tally *t)
{
    g_hash_table_remove_all(t->product_ids);
    g_hash_table_remove_all(t->minute_ids);
    g_array_set_size(t->products, 0);
    g_array_set_size(t->minutes, 0);
    g_array_set_size(t->days, 0);
    g_array_set_size(t->years, 0);
    g_array_set_size(t->segments, 0);
    t->transactions = 0;
}

static void tally_free(txn_tally *t)
{
    g_hash_table_destroy(t->product_ids);
    g_hash_table_destroy(t->minute_ids);
    g_array_free(t->products, TRUE);
    g_array_free(t->minutes, TRUE);
    g_array_free(t->days, TRUE);
    g_array_free(t->years, TRUE);
    g_array_free(t->segments, TRUE);
}

/* The entry of `key` in a short array of them, added when missing. */
static keyed_tally *keyed_in(GArray *a, int64_t key)
{
    for (guint i = a->len; i-- > 0;)
        if (g_array_index(a, keyed_tally, i).key == key)
            return &g_array_index(a, keyed_tally, i);
    keyed_tally fresh = {.key = key};
    g_array_append_val(a, fresh);
    return &g_array_index(a, keyed_tally, a->len - 1);
}

static keyed_tally *minute_in(txn_tally *t, int64_t minute)
{
    gpointer key = (gpointer)(intptr_t)minute, n = g_hash_table_lookup(t->minute_ids, key);
    if (n)
        return &g_array_index(t->minutes, keyed_tally, GPOINTER_TO_UINT(n) - 1);
    keyed_tally fresh = {.key = minute};
    g_array_append_val(t->minutes, fresh);
    g_hash_table_insert(t->minute_ids, key, GUINT_TO_POINTER(t->minutes->len));
    return &g_array_index(t->minutes, keyed_tally, t->minutes->len - 1);
}

static product_tally *product_in(txn_tally *t, const char *product_id, const ecom_reference *ref)
{
    gpointer n = g_hash_table_lookup(t->product_ids, product_id);
    if (n)
        return &g_array_index(t->products, product_tally, GPOINTER_TO_UINT(n) - 1);
    const ecom_ref_product *p = ecom_reference_product(ref, product_id);
    product_tally fresh = {.product_id = product_id, .category = p ? p->category_id : "unknown"};
    g_array_append_val(t->products, fresh);
    g_hash_table_insert(t->product_ids, (gpointer)product_id, GUINT_TO_POINTER(t->products->len));
    return &g_array_index(t->products, product_tally, t->products->len - 1);
}

static void segment_add(txn_tally *t, int dim, const char *value, int64_t revenue)
{
    segment_tally *s = NULL;
    for (guint i = 0; i < t->segments->len && !s; i++) {
        segment_tally *x = &g_array_index(t->segments, segment_tally, i);
        if (x->dim == dim && strcmp(x->value, value) == 0)
            s = x;
    }
    if (!s) {
        segment_tally fresh = {.dim = dim, .value = value};
        g_array_append_val(t->segments, fresh);
        s = &g_array_index(t->segments, segment_tally, t->segments->len - 1);
    }
    s->orders++;
    s->revenue += revenue;
}

/* "<a>:<b>" into field (which has room: ids, words and numbers are short). */
static const char *field_of(char *field, size_t size, const char *a, const char *b)
{
    snprintf(field, size, "%s:%s", a, b);
    return field;
}

/* The tally as sums: the counters each transaction used to add one by one. */
static void tally_flush(ecom_counters_writer *w, txn_tally *t)
{
    char field[160], text[ECOM_DAY_TEXT > ECOM_INT_TEXT ? ECOM_DAY_TEXT : ECOM_INT_TEXT];
    for (guint i = 0; i < t->products->len; i++) {
        const product_tally *p = &g_array_index(t->products, product_tally, i);
        sum_add(w->zsums, "products:units", p->product_id, p->units);
        sum_add(w->zsums, "products:revenue", p->product_id, p->revenue);
        sum_add(w->sums, "categories", field_of(field, sizeof field, p->category, "lines"),
                p->lines);
        sum_add(w->sums, "categories", field_of(field, sizeof field, p->category, "revenue_cents"),
                p->revenue);
    }
    for (guint i = 0; i < t->days->len; i++) {
        const keyed_tally *d = &g_array_index(t->days, keyed_tally, i);
        ecom_day_format(d->key, text);
        sum_add(w->sums, "sales", field_of(field, sizeof field, text, "revenue_cents"), d->money);
        sum_add(w->sums, "sales", field_of(field, sizeof field, text, "orders"), d->orders);
        sum_add(w->sums, "sales", field_of(field, sizeof field, text, "units"), d->units);
    }
    if (t->transactions)
        sum_add(w->sums, "counts", "transactions", t->transactions);
    for (guint i = 0; i < t->minutes->len; i++) {
        const keyed_tally *m = &g_array_index(t->minutes, keyed_tally, i);
        char minute[ECOM_INT_TEXT];
        const char *digits = ecom_int_text(m->key, minute + sizeof minute - 1);
        minute[sizeof minute - 1] = '\0';
        sum_add(w->msums, digits, "orders", m->orders);
        sum_add(w->msums, digits, "revenue_cents", m->money);
    }
    for (guint i = 0; i < t->segments->len; i++) {
        const segment_tally *s = &g_array_index(t->segments, segment_tally, i);
        snprintf(field, sizeof field, "%s:%s:orders", ecom_dimension_names[s->dim], s->value);
        sum_add(w->sums, "segments", field, s->orders);
        snprintf(field, sizeof field, "%s:%s:revenue_cents", ecom_dimension_names[s->dim],
                 s->value);
        sum_add(w->sums, "segments", field, s->revenue);
    }
    for (guint i = 0; i < t->years->len; i++) {
        const keyed_tally *y = &g_array_index(t->years, keyed_tally, i);
        snprintf(text, sizeof text, "%lld", (long long)y->key);
        sum_add(w->sums, "spend", field_of(field, sizeof field, text, "orders"), y->orders);
        sum_add(w->sums, "spend", field_of(field, sizeof field, text, "total_cents"), y->money);
    }
    tally_clear(t);
}

static void plan_transaction(ecom_counters_writer *w, const ecom_counters_batch *b,
                             const txn_entry *t, const ecom_reference *ref)
{
    char key[160];
    int64_t bit;
    ecom_counters_id_slot("txn", t->id, key, sizeof key, &bit);
    ecom_redis_args_add(&w->facts, key);
    ecom_redis_args_add_int(&w->facts, bit);
    w->n_facts++;

    txn_tally *tally = &w->tally;
    int64_t units = 0;
    for (int i = 0; i < t->n_items; i++) {
        const item_entry *it = &g_array_index(b->items, item_entry, t->first_item + i);
        product_tally *p = product_in(tally, it->product_id, ref);
        units += it->quantity;
        p->units += it->quantity;
        p->revenue += it->subtotal;
        p->lines++;
    }
    keyed_tally *day = keyed_in(tally->days, ecom_time_day(t->timestamp));
    day->money += t->total;
    day->orders++;
    day->units += units;
    tally->transactions++;
    keyed_tally *minute = minute_in(tally, minute_of(t->timestamp));
    minute->orders++;
    minute->money += t->total;
    if (t->in_session)
        for (int d = 0; d < ECOM_DIMENSIONS; d++)
            segment_add(tally, d, segment_value(&t->segment, d), t->total);

    const ecom_ref_user *u = ecom_reference_user(ref, t->user_id);
    keyed_tally *year = keyed_in(tally->years, u ? ecom_time_year(u->registration_date) : 0);
    year->orders++;
    year->money += t->total;

    /* a cohort counts each user once per transaction month */
    int32_t month = ecom_time_month(t->timestamp);
    char pair[ECOM_INT_TEXT + ECOM_ID_MAX + 2];
    snprintf(pair, sizeof pair, "%d%c%s", (int)month, FIELD_SEP, t->user_id);
    if (g_hash_table_contains(w->pairs, pair))
        return;
    g_hash_table_add(w->pairs, g_strdup(pair));
    char reg_month[ECOM_MONTH_TEXT] = "unknown", month_text[ECOM_MONTH_TEXT];
    if (u)
        ecom_month_format(ecom_time_month(u->registration_date), reg_month);
    ecom_month_format(month, month_text);
    char kind[32], cohort[2 * ECOM_MONTH_TEXT + 8];
    snprintf(kind, sizeof kind, "cohort:%s", month_text);
    snprintf(cohort, sizeof cohort, "%s:%s", reg_month, month_text);
    const char *targets[] = {"cohorts", cohort};
    first_seen(w, kind, t->user_id, 1, 0, 1, targets);
}

/* The number of the entry of `entries` that `name` names in `ids`, numbered from 1 in the order
 * first seen; a fresh name gets a copy of `entry` appended (*fresh says so, for the caller to
 * fill in the rest). */
static int number_of(GHashTable *ids, GArray *entries, const void *entry, const char *name,
                     bool *fresh)
{
    gpointer n = g_hash_table_lookup(ids, name);
    *fresh = n == NULL;
    if (n)
        return GPOINTER_TO_INT(n);
    g_array_append_vals(entries, entry, 1);
    g_hash_table_insert(ids, g_strdup(name), GINT_TO_POINTER(entries->len));
    return (int)entries->len;
}

/* A group's name: its kind, then each part after FIELD_SEP (built without printf: a batch names
 * one per bit). */
static void group_name(ecom_buf *name, char kind, int n, const char *const *parts, int64_t number)
{
    ecom_buf_reset(name);
    ecom_buf_append(name, &kind, 1);
    ecom_buf_append_int(name, number);
    for (int i = 0; i < n; i++) {
        ecom_buf_append(name, (const char[]){FIELD_SEP}, 1);
        ecom_buf_puts(name, parts[i]);
    }
}

/* What tells a session group apart besides its number: its kind, and for a step group the step
 * and the segment's id (segment_id), for a minute group its series (the index in
 * series_names). */
static uint64_t group_what(char kind, unsigned sub, uint32_t segment)
{
    return (uint64_t)(unsigned char)kind << 56 | (uint64_t)sub << 40 | segment;
}

static size_t group_slot_of(const group_index *x, int64_t number, uint64_t what)
{
    uint64_t h = (uint64_t)number * 0x9e3779b97f4a7c15u ^ what; /* then splitmix64's finish */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return (size_t)(h ^ (h >> 31)) & (x->cap - 1);
}

/* Doubles the table (at least 1024 slots) and puts every group back. */
static void group_index_grow(group_index *x)
{
    group_index bigger = {.cap = x->cap ? 2 * x->cap : 1024};
    bigger.slots = ecom_xcalloc(bigger.cap, sizeof *bigger.slots);
    for (size_t i = 0; i < x->cap; i++) {
        const group_slot *old = &x->slots[i];
        if (!old->group)
            continue;
        size_t j = group_slot_of(&bigger, old->number, old->what);
        while (bigger.slots[j].group)
            j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *old;
    }
    free(x->slots);
    *x = bigger;
}

/* The number of the session bits' group (number, what) (see session_group); a fresh one is of
 * `kind`, counts nothing yet, and the caller fills in the rest. */
static int group_number(ecom_counters_writer *w, int64_t number, uint64_t what, char kind,
                        bool *fresh)
{
    group_index *x = &w->group_ids;
    if (2 * ((size_t)w->groups->len + 1) > x->cap) /* at most half full */
        group_index_grow(x);
    size_t i = group_slot_of(x, number, what);
    for (; x->slots[i].group; i = (i + 1) & (x->cap - 1))
        if (x->slots[i].number == number && x->slots[i].what == what) {
            *fresh = false;
            return x->slots[i].group;
        }
    session_group empty = {.kind = kind};
    g_array_append_val(w->groups, empty);
    x->slots[i] = (group_slot){number, what, (int)w->groups->len};
    *fresh = true;
    return (int)w->groups->len;
}

/* A segment's id, from 1 (0 is "unknown" in every dimension), kept as long as the groups. */
static uint32_t segment_id(ecom_counters_writer *w, const ecom_segment *seg)
{
    if (!*seg->device && !*seg->referrer && !*seg->country)
        return 0;
    const char *values[ECOM_DIMENSIONS];
    for (int d = 0; d < ECOM_DIMENSIONS; d++)
        values[d] = segment_value(seg, d);
    group_name(&w->group_name, 'g', ECOM_DIMENSIONS, values, 0);
    gpointer id = g_hash_table_lookup(w->segment_ids, w->group_name.data);
    if (id)
        return (uint32_t)GPOINTER_TO_UINT(id);
    uint32_t fresh = g_hash_table_size(w->segment_ids) + 1;
    g_hash_table_insert(w->segment_ids, g_strdup(w->group_name.data), GUINT_TO_POINTER(fresh));
    return fresh;
}

static session_group *group_at(ecom_counters_writer *w, int g)
{
    return &g_array_index(w->groups, session_group, g - 1);
}

/* The number of a counter (hash, field) the session bits' groups add to. */
static int target_number(ecom_counters_writer *w, const char *hash, const char *field)
{
    const char *parts[] = {hash, field};
    group_name(&w->group_name, 'c', 2, parts, 0);
    target e = {.count = 0};
    g_strlcpy(e.hash, hash, sizeof e.hash);
    g_strlcpy(e.field, field, sizeof e.field);
    bool fresh;
    return number_of(w->target_ids, w->targets, &e, w->group_name.data, &fresh);
}

/* The targets of a funnel step's groups that depend on the day and the step: the day's count
 * and the step's total (the first step's is the sessions count), found once per (day, step) in
 * a group of kind 'd' that counts nothing. */
static const int *day_step_targets(ecom_counters_writer *w, int64_t day, int step)
{
    bool fresh;
    int g = group_number(w, day, group_what('d', (unsigned)step, 0), 'd', &fresh);
    if (fresh) {
        char day_text[ECOM_DAY_TEXT], day_field[ECOM_DAY_TEXT + 16], total_field[32];
        ecom_day_format(day, day_text);
        snprintf(day_field, sizeof day_field, "%s:%s", day_text, step_names[step]);
        snprintf(total_field, sizeof total_field, "total:%s", step_names[step]);
        int on_day = target_number(w, "funnel", day_field);
        int total = step == STEP_SEEN ? target_number(w, "counts", "sessions")
                                      : target_number(w, "funnel", total_field);
        group_at(w, g)->targets[0] = on_day;
        group_at(w, g)->targets[1] = total;
    }
    return group_at(w, g)->targets;
}

/* The targets of a funnel step's groups in each dimension of a segment (whose id is `segment`,
 * or "unknown"'s), found once per (step, segment) in a group of kind 'g' that counts nothing. */
static const int *segment_step_targets(ecom_counters_writer *w, int step, const ecom_segment *seg,
                                       uint32_t segment)
{
    bool fresh;
    int g = group_number(w, 0, group_what('g', (unsigned)step, segment), 'g', &fresh);
    if (fresh) {
        char fields[ECOM_DIMENSIONS][128];
        segment_fields(seg, step_names[step], fields);
        for (int d = 0; d < ECOM_DIMENSIONS; d++) {
            int t = target_number(w, "segments", fields[d]);
            group_at(w, g)->targets[d] = t;
        }
    }
    return group_at(w, g)->targets;
}

/* The group of a funnel step of sessions that started on `day` (a segment's, whose id is
 * `segment`, or "unknown"'s): +1 on the day, in the total (the sessions count for the first
 * step) and in each segment. */
static int step_group(ecom_counters_writer *w, int64_t day, int step, const ecom_segment *seg,
                      uint32_t segment)
{
    bool fresh;
    int g = group_number(w, day, group_what('t', (unsigned)step, segment), 't', &fresh);
    if (!fresh)
        return g;
    int targets[2 + ECOM_DIMENSIONS];
    memcpy(targets, day_step_targets(w, day, step), 2 * sizeof *targets);
    memcpy(targets + 2, segment_step_targets(w, step, seg, segment),
           ECOM_DIMENSIONS * sizeof *targets);
    session_group *t = group_at(w, g); /* (after the lookups, which may move the groups) */
    memcpy(t->targets, targets, sizeof targets);
    t->n_targets = 2 + ECOM_DIMENSIONS;
    return g;
}

/* The minute series a session's bits count in. */
enum { SERIES_SESSIONS, SERIES_CONVERTED, SERIES_PAGE_VIEWS };
static const char *const series_names[] = {"sessions", "converted", "page_views"};

/* A group that adds 1 to a series of a minute, inside the window only. */
static int minute_group(ecom_counters_writer *w, int64_t minute, int series)
{
    bool fresh;
    int g = group_number(w, minute, group_what('m', (unsigned)series, 0), 'm', &fresh);
    if (fresh) {
        group_at(w, g)->minute = minute;
        group_at(w, g)->series = series_names[series];
    }
    return g;
}

/* A session bit's mask in its field read as a number, whose first bit is the most significant
 * (BITFIELD's bit 0). */
static uint32_t session_bit_mask(int bit)
{
    return (uint32_t)1 << (SESSION_BITS - 1 - bit);
}

/* The groups of the active-sessions bits: a start (active unless ended) and an end (no longer
 * active if started), each naming the other's bit. */
static int active_group(ecom_counters_writer *w, bool start)
{
    bool fresh;
    char kind = start ? 's' : 'e';
    int g = group_number(w, 0, group_what(kind, 0, 0), kind, &fresh);
    if (fresh)
        group_at(w, g)->other = session_bit_mask(start ? SB_ENDED : SB_STARTED);
    return g;
}

/* The copy of a session fields' block, read from the store the first time. */
static ecom_session_block *session_block(ecom_counters_writer *w, const char *key, ecom_error *err)
{
    ecom_session_block *b = ecom_session_fields_find(w->fields, key);
    if (b)
        return b;
    redisReply *reply = ecom_redis_cmd(w->redis, err, "GET %s%s", w->ns, key);
    if (!reply)
        return NULL;
    if (reply->type == REDIS_REPLY_STRING)
        b = ecom_session_fields_keep(w->fields, key, reply->str, reply->len);
    else if (reply->type == REDIS_REPLY_NIL)
        b = ecom_session_fields_keep(w->fields, key, NULL, 0);
    else
        ecom_fail(err, "Redis GET of the session bitmap %s: unexpected reply", key);
    freeReplyObject(reply);
    return b;
}

/* A session's bits: which of them the batch sets (a minute bit only inside the window, which
 * starts at `first`), each one it sets counting in its group. The started bit is taken before
 * the ended one, so a session that starts and ends in one batch is never active. */
static int plan_session(ecom_counters_writer *w, const session_entry *s, int64_t first,
                        ecom_error *err)
{
    int bits[SESSION_BITS][2], n = 0; /* (bit, group) */
    uint32_t segment = s->steps & s->segmented ? segment_id(w, &s->segment) : 0;
    for (int step = 0; step < N_STEPS; step++) {
        if (!(s->steps & (1u << step)))
            continue;
        static const ecom_segment unknown; /* all empty: "unknown" */
        bool own = s->segmented & (1u << step);
        bits[n][0] = SB_STEPS + step;
        bits[n++][1] = step_group(w, s->day, step, own ? &s->segment : &unknown, own ? segment : 0);
    }
    bits[n][0] = SB_MIN_STARTED;
    bits[n++][1] = minute_group(w, s->start_minute, SERIES_SESSIONS);
    if (s->steps & (1u << STEP_CONVERTED)) {
        bits[n][0] = SB_MIN_CONVERTED;
        bits[n++][1] = minute_group(w, s->end_minute, SERIES_CONVERTED);
    }
    for (int p = 0; p < MIN_PAGES; p++) {
        if (!(s->pages & (1u << p)))
            continue;
        bits[n][0] = SB_MIN_FIRST_PAGE + p;
        bits[n++][1] = minute_group(w, s->page_minute[p], SERIES_PAGE_VIEWS);
    }
    if (s->marks & MARK_STARTED) {
        bits[n][0] = SB_STARTED;
        bits[n++][1] = active_group(w, true);
    }
    if (s->marks & MARK_ENDED) {
        bits[n][0] = SB_ENDED;
        bits[n++][1] = active_group(w, false);
    }

    char key[160];
    int64_t slot;
    ecom_counters_id_slot("session", s->session_id, key, sizeof key, &slot);
    ecom_session_block *block = session_block(w, key, err);
    if (!block)
        return -1;
    uint32_t was = ecom_session_field(block, slot), now = was;
    for (int i = 0; i < n; i++) {
        uint32_t mask = session_bit_mask(bits[i][0]);
        session_group *g = group_at(w, bits[i][1]);
        if (now & mask)
            continue;
        if (g->kind == 'm' && g->minute < first)
            continue; /* outside the window: counts nothing, and the bit stays clear */
        now |= mask;
        if (g->kind == 's')
            w->active += !(now & g->other);
        else if (g->kind == 'e')
            w->active -= (now & g->other) != 0;
        else
            g->count++;
    }
    if (now != was)
        ecom_session_fields_stage(w->fields, block, slot, now);
    return 0;
}

/* The sessions' groups, summed: their counters into the batch's sums. */
static void add_group_counts(ecom_counters_writer *w)
{
    for (guint i = 0; i < w->groups->len; i++) {
        const session_group *g = &g_array_index(w->groups, session_group, i);
        if (g->count == 0)
            continue;
        if (g->kind == 'm') {
            char minute[ECOM_INT_TEXT + 1];
            minute[ECOM_INT_TEXT] = '\0';
            sum_add(w->msums, ecom_int_text(g->minute, minute + ECOM_INT_TEXT), g->series,
                    g->count);
        }
        for (int t = 0; g->kind == 't' && t < g->n_targets; t++)
            g_array_index(w->targets, target, g->targets[t] - 1).count += g->count;
    }
    for (guint i = 0; i < w->targets->len; i++) {
        const target *t = &g_array_index(w->targets, target, i);
        if (t->count)
            sum_add(w->sums, t->hash, t->field, t->count);
    }
    if (w->active)
        sum_add(w->sums, "counts", "active_sessions", w->active);
}

/* A page view past its session's first MIN_PAGES: a bitmap of the session's own. */
static void plan_page_view(ecom_counters_writer *w, const page_view_entry *pv)
{
    char key[160];
    snprintf(key, sizeof key, "seen:minpv:%s", pv->session_id);
    minute_entry(w, key, pv->seq, pv->minute, "page_views", 1);
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

static void append_section(ecom_redis_args *argv, const ecom_redis_args *section)
{
    for (int i = 0; i < section->n; i++)
        ecom_redis_args_add_len(argv, section->text.data + section->offsets[i],
                                section->lengths[i]);
}

/* The newest minute the batch's minute series entries name, NO_MINUTE when none: the
 * transactions not marked in `dup`, the sessions' starts, conversions and page views. */
static int64_t batch_newest(const ecom_counters_batch *b, const bool *dup)
{
    int64_t newest = NO_MINUTE;
#define NEWER(m) (newest = (m) > newest ? (m) : newest)
    for (guint i = 0; i < b->txns->len; i++)
        if (!dup[i])
            NEWER(minute_of(g_array_index(b->txns, txn_entry, i).timestamp));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, b->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const session_entry *s = value;
        NEWER(s->start_minute);
        if (s->steps & (1u << STEP_CONVERTED))
            NEWER(s->end_minute);
        for (int p = 0; p < MIN_PAGES; p++)
            if (s->pages & (1u << p))
                NEWER(s->page_minute[p]);
    }
    for (guint i = 0; i < b->page_views->len; i++)
        NEWER(g_array_index(b->page_views, page_view_entry, i).minute);
#undef NEWER
    return newest;
}

static void add_minute_or_none(ecom_redis_args *argv, int64_t minute)
{
    if (minute == NO_MINUTE)
        ecom_redis_args_add(argv, "-");
    else
        ecom_redis_args_add_int(argv, minute);
}

/* Counts of the groups and their targets back to zero for a batch, or, past GROUPS_KEPT
 * groups, no groups at all. */
static void groups_reset(ecom_counters_writer *w)
{
    if (w->groups->len > GROUPS_KEPT) {
        memset(w->group_ids.slots, 0, w->group_ids.cap * sizeof *w->group_ids.slots);
        g_hash_table_remove_all(w->segment_ids);
        g_hash_table_remove_all(w->target_ids);
        g_array_set_size(w->groups, 0);
        g_array_set_size(w->targets, 0);
        return;
    }
    for (guint i = 0; i < w->groups->len; i++)
        g_array_index(w->groups, session_group, i).count = 0;
    for (guint i = 0; i < w->targets->len; i++)
        g_array_index(w->targets, target, i).count = 0;
}

/* Builds the script's arguments for the batch without the transactions marked in `dup`,
 * deciding which session bits it sets against the copy of their fields; -1 when a block of
 * them could not be read. */
static int plan(ecom_counters_writer *w, const ecom_counters_batch *b, const ecom_reference *ref,
                const rd_kafka_topic_partition_list_t *next_offsets, const bool *dup,
                ecom_redis_args *argv, ecom_error *err)
{
    ecom_redis_args *parts[N_SECTIONS];
    writer_sections(w, parts);
    for (size_t i = 0; i < N_SECTIONS; i++)
        ecom_redis_args_reset(parts[i]);
    g_hash_table_remove_all(w->sums);
    g_hash_table_remove_all(w->zsums);
    g_hash_table_remove_all(w->msums);
    g_hash_table_remove_all(w->pairs);
    groups_reset(w);
    ecom_session_fields_discard(w->fields); /* (an earlier round's) */
    w->n_facts = w->n_firsts = w->n_minutes = 0;
    w->active = 0;
    g_array_set_size(w->fact_txn, 0);

    for (guint i = 0; i < b->txns->len; i++) {
        if (dup[i])
            continue;
        plan_transaction(w, b, &g_array_index(b->txns, txn_entry, i), ref);
        g_array_append_val(w->fact_txn, i);
    }
    tally_flush(w, &w->tally);
    /* the window the session bits are decided in: the script checks it is the one it has */
    int64_t newest = batch_newest(b, dup), first = NO_MINUTE;
    if (newest != NO_MINUTE)
        first = (newest > w->stored_newest ? newest : w->stored_newest) - ECOM_MINUTE_WINDOW + 1;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, b->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (plan_session(w, value, first, err))
            return -1;
    add_group_counts(w);
    /* a minute before the window counts nothing (the script would skip it): not sent */
    for (guint i = 0; i < b->page_views->len; i++) {
        const page_view_entry *pv = &g_array_index(b->page_views, page_view_entry, i);
        if (pv->minute >= first)
            plan_page_view(w, pv);
    }
    g_hash_table_iter_init(&it, w->msums);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const char *k = key, *sep = strchr(k, FIELD_SEP);
        int64_t minute = strtoll(k, NULL, 10);
        if (minute >= first)
            minute_entry(w, NULL, 0, minute, sep + 1, *(int64_t *)value);
    }
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
    int n_ranges =
        ecom_session_fields_ranges(w->fields, w->exact_batches > 0 ? 0 : RANGE_GAP, &w->ranges);

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
    add_minute_or_none(argv, newest);
    add_minute_or_none(argv, first);
    ecom_redis_args_add_int(argv, n_ranges);
    append_section(argv, &w->ranges);
    ecom_redis_args_add_int(argv, w->n_facts);
    append_section(argv, &w->facts);
    ecom_redis_args_add_int(argv, w->n_firsts);
    append_section(argv, &w->firsts);
    ecom_redis_args_add_int(argv, g_hash_table_size(w->sums));
    emit_sums(w->sums, argv);
    ecom_redis_args_add_int(argv, g_hash_table_size(w->zsums));
    emit_sums(w->zsums, argv);
    ecom_redis_args_add_int(argv, w->sets.n / 3);
    append_section(argv, &w->sets);
    ecom_redis_args_add_int(argv, w->n_minutes);
    append_section(argv, &w->minutes);
    return 0;
}

/* A minute in a reply: its number, NO_MINUTE for "-" (or anything else). */
static int64_t reply_minute(const redisReply *reply, size_t i)
{
    if (reply->elements <= i || reply->element[i]->type != REDIS_REPLY_STRING)
        return NO_MINUTE;
    char *end;
    long long m = strtoll(reply->element[i]->str, &end, 10);
    return end != reply->element[i]->str && *end == '\0' ? m : NO_MINUTE;
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

ecom_counters_outcome
ecom_counters_writer_apply(ecom_counters_writer *w, const ecom_counters_batch *b,
                           const ecom_reference *ref,
                           const rd_kafka_topic_partition_list_t *next_offsets, ecom_error *err)
{
    bool *dup = ecom_xcalloc(b->txns->len + 1, sizeof *dup);
    ecom_redis_args argv;
    ecom_redis_args_init(&argv);
    ecom_counters_outcome rc = ECOM_COUNTERS_FAILED;
    bool again = true;
    /* another round when some transactions were counted before (once: this writer is the only
     * one at these offsets), when the window moved (another member wrote a newer minute) or the
     * copy of the session fields was stale (then it is read again) */
    for (int round = 0; again && round < MAX_ROUNDS; round++) {
        again = false;
        if (plan(w, b, ref, next_offsets, dup, &argv, err))
            break;
        redisReply *reply = ecom_redis_eval(w->redis, &apply_script, &argv, err);
        if (!reply)
            break;
        const char *status = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                                     reply->element[0]->type == REDIS_REPLY_STRING
                                 ? reply->element[0]->str
                                 : "";
        if (strcmp(status, "ok") == 0) {
            ecom_session_fields_commit(w->fields);
            w->stored_newest = reply_minute(reply, 1);
            w->exact_batches -= w->exact_batches > 0;
            remember_offsets(w, next_offsets);
            rc = ECOM_COUNTERS_APPLIED;
        } else if (strcmp(status, "already") == 0) {
            /* applied by an earlier round whose reply was lost: the copy may lack its changes */
            ecom_session_fields_forget(w->fields);
            w->stored_newest = NO_MINUTE;
            remember_offsets(w, next_offsets);
            rc = ECOM_COUNTERS_APPLIED;
        } else if (strcmp(status, "window") == 0) {
            w->stored_newest = reply_minute(reply, 1);
            again = true;
        } else if (strcmp(status, "stale") == 0) {
            ecom_log(ECOM_INFO, "session bits changed by another writer; reading them again",
                     "generation=%lld", (long long)w->gen);
            ecom_session_fields_forget(w->fields);
            w->exact_batches = EXACT_BATCHES;
            again = true;
        } else if (strcmp(status, "fenced") == 0) {
            rc = ECOM_COUNTERS_FENCED;
        } else if (strcmp(status, "frozen") == 0) {
            rc = ECOM_COUNTERS_FROZEN;
        } else if (strcmp(status, "layout") == 0) {
            ecom_fail(err,
                      "generation %lld keeps its first-seen bits in an older layout; "
                      "`ecom aggregate --rebuild` recomputes every counter into a new generation",
                      (long long)w->gen);
            rc = ECOM_COUNTERS_OUTDATED;
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
        ecom_fail(err, "Redis apply.lua: the batch did not settle in %d rounds", MAX_ROUNDS);
    if (rc != ECOM_COUNTERS_APPLIED)
        ecom_session_fields_discard(w->fields);
    ecom_redis_args_free(&argv);
    free(dup);
    return rc;
}
