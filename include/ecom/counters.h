/*
 * counters.h - the live counters in Redis: key layout, generations, exactly-once batches, and
 * the snapshot read back from them. One header for the three files that implement it, since
 * all three follow the one key layout and guarantee described here:
 *
 *   lib/counters_generations.c   which generation readers use; the rebuild's lock and switch
 *   lib/counters_batch.c         a batch of changes and the writer that applies it exactly once
 *   lib/counters_snapshot.c      every metric of the current generation, read back at once
 *
 * Every key starts with a prefix (--redis-prefix, by default the topic prefix, "ecom."), so
 * several pipelines can share one Redis. Counters live in a generation, a namespace
 * <prefix>g<N>: that a rebuild can fill from scratch while readers keep using the current one.
 *
 *   <prefix>current             the generation readers use (a number)
 *   <prefix>next_generation     allocates generation numbers
 *   <prefix>rebuilding          the generation a rebuild is filling, while it runs
 *   <prefix>rebuild_lock        held, with a lease, by the one running rebuild
 *   <prefix>changes             pub/sub channel: the generation, after every applied batch
 *
 *   <prefix>g<N>:sales          hash  <day>:revenue_cents | <day>:orders | <day>:units
 *   <prefix>g<N>:funnel         hash  <day>:sessions|viewed|carted|converted, total:<step>
 *   <prefix>g<N>:products:units     sorted set  product_id -> units sold
 *   <prefix>g<N>:products:revenue   sorted set  product_id -> revenue in cents
 *   <prefix>g<N>:categories     hash  <category_id>:lines | <category_id>:revenue_cents
 *   <prefix>g<N>:spend          hash  <year>:orders | <year>:total_cents   (registration year)
 *   <prefix>g<N>:cohorts        hash  <registration month>:<transaction month> -> buying users
 *   <prefix>g<N>:counts         hash  users, categories, products, transactions, sessions,
 *                                     active_sessions
 *   <prefix>g<N>:minutes        sorted set  the minutes of the series (since the epoch)
 *   <prefix>g<N>:minute:<m>     hash  orders | revenue_cents | sessions | page_views | converted
 *   <prefix>g<N>:segments       hash  <device|referrer|country>:<value>:<sessions|viewed|carted|
 *                                     converted|orders|revenue_cents>
 *   <prefix>g<N>:pipeline       hash  <topic>:records, dead_letters, latency_ms_p50,
 *                                     latency_ms_p99, updated_at
 *   <prefix>g<N>:names:products, <prefix>g<N>:names:categories   hash  id -> name
 *   <prefix>g<N>:categories:products   hash  product id -> category id (for report.h)
 *   <prefix>g<N>:offsets        hash  <topic>:<partition> -> next offset the counters include
 *   <prefix>g<N>:seen:<kind>:<block>   first-seen bitmaps (below)
 *   <prefix>g<N>:layout         the layout of those bitmaps ("2")
 *   <prefix>g<N>:frozen         exists while a rebuild switches readers away from N
 *
 * Days are UTC dates of the event (a transaction's timestamp, a session's start), so a late event
 * lands on its own day. "unknown" stands for a category or registration month the reference
 * data does not have (year 0 for the year).
 *
 * Exactly once. A batch is applied by one Lua script (lib/lua/apply.lua) that first checks the
 * stored offsets of the batch's partitions are where this writer continues from, then applies
 * every change and stores the new offsets, all atomically. A crash loses either the whole batch
 * (it is read again from the stored offsets) or nothing; a retry of a batch that was applied
 * finds the offsets already moved and changes nothing. The same id published twice is caught by
 * first-seen bits: an id `<prefix>_<digits>` maps to bitmap <kind>:<digits but the last four>,
 * bit <last four digits>, so dense ids cost one bit each. A transaction or a funnel step counts
 * only if its bit was clear, distinct cohort users the same way. A session has a field of 24
 * bits instead (kind "session", 3 bytes at 3 * slot, most significant bit first): its funnel
 * steps (seen, viewed a product, added to the cart, converted), then its minute-series bits, then
 * its started and ended bits. The writer decides these from its own copy of the fields and sends
 * only the changed bytes with the bytes it expects there, which the script checks before writing
 * anything (session_fields.h): a stale copy costs a round, never a count. The generation's
 * "layout" key names this layout; apply.lua refuses a generation written without it
 * (ECOM_COUNTERS_OUTDATED). Memory: with the generator's dense ids about 1 bit per transaction,
 * 3 bytes per session and 1 bit per (user, month). It grows with distinct ids, not with
 * messages.
 *
 * The minute series keeps the ECOM_MINUTE_WINDOW minutes up to the newest one it holds; the
 * script that applies a batch moves the window and deletes the minutes that fell out of it in the
 * same atomic step, and counts an entry only inside the window, so the series is "every event
 * within the window of the newest" whatever the arrival order. Its entries are first-seen bits
 * too (a session's start, conversion and first 16 page views; a page view past those has a bitmap
 * of its session's own), set only inside the window. Active sessions are the sessions with their
 * started bit set and their ended bit clear. Segments are more targets of the funnel's
 * first-seen bits and of the new transactions' sums.
 */
#ifndef ECOM_COUNTERS_H
#define ECOM_COUNTERS_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include "ecom/error.h"
#include "ecom/model.h"
#include "ecom/redis.h"
#include "ecom/reference.h"

/* ---- where the counters live ---------------------------------------------------------------- */

/* One Redis and the prefix of every key in it that belongs to one pipeline. It owns neither:
 * both outlive every call that takes it. */
typedef struct ecom_counters_store {
    ecom_redis *redis;
    const char *prefix;
} ecom_counters_store;

/* ---- generations and the rebuild (lib/counters_generations.c) ------------------------------- */

/* The generation readers use; 0 when there is none yet. */
int ecom_counters_current(const ecom_counters_store *s, int64_t *gen, ecom_error *err);
/* The current generation, creating the first one when there is none. */
int ecom_counters_ensure_current(const ecom_counters_store *s, int64_t *gen, ecom_error *err);

/* Starts a rebuild: takes the rebuild lock (lease of lease_ms, identified by token) and returns
 * the generation to fill, the unfinished one of an interrupted rebuild if there is one. Fails
 * when another rebuild holds the lock. */
int ecom_counters_rebuild_begin(const ecom_counters_store *s, const char *token, int lease_ms,
                                int64_t *gen, bool *resumed, ecom_error *err);
/* Renews the rebuild lock's lease; fails when the lock is no longer this token's. */
int ecom_counters_rebuild_renew(const ecom_counters_store *s, const char *token, int lease_ms,
                                ecom_error *err);
void ecom_counters_rebuild_release(const ecom_counters_store *s, const char *token);
/* Stops live writers of gen (their batches wait) for ttl_ms, renewable by calling again. */
int ecom_counters_freeze(const ecom_counters_store *s, int64_t gen, int ttl_ms, ecom_error *err);
/* Makes `rebuilt` the current generation, atomically, if its offsets reach the current one's
 * on every partition; *behind (optional) is set when they do not (nothing changes then). */
int ecom_counters_switch(const ecom_counters_store *s, int64_t rebuilt, bool *behind,
                         ecom_error *err);
/* Deletes every key of a generation (never the current one). */
int ecom_counters_drop(const ecom_counters_store *s, int64_t gen, ecom_error *err);

/* ---- batches (lib/counters_batch.c) --------------------------------------------------------- */

/* The changes one polled batch makes, pre-aggregated in memory. */
typedef struct ecom_counters_batch ecom_counters_batch;

ecom_counters_batch *ecom_counters_batch_new(void);
void ecom_counters_batch_free(ecom_counters_batch *b);
void ecom_counters_batch_clear(ecom_counters_batch *b);
/* A transaction, a session event, or reference data (a first-seen id and its name), read from
 * `topic` (NULL: counted in no topic). Facts are joined with the reference tables when the
 * batch is applied. A topic name must not change while the batch holds records of it: the same
 * pointer as the last record's is taken for the same topic (librdkafka's topic names are). */
void ecom_counters_batch_add(ecom_counters_batch *b, const ecom_record *r, const char *topic);
/* A message that went to the dead-letter topic. */
void ecom_counters_batch_dead_letter(ecom_counters_batch *b);
/* A pipeline gauge to set with the batch (latency, last update). */
void ecom_counters_batch_gauge(ecom_counters_batch *b, const char *field, int64_t value);
/* True when a transaction of the batch names a product or user that ref does not have (yet). */
bool ecom_counters_batch_needs_reference(const ecom_counters_batch *b, const ecom_reference *ref);
/* Records held (facts, session events, reference records). */
int64_t ecom_counters_batch_size(const ecom_counters_batch *b);
/* Whether the batch should be applied before it takes more: session events fold into sums,
 * but each transaction sends the script a first-seen bit and a cohort bit of its own, so a
 * batch holds at most ECOM_COUNTERS_BATCH_TXNS of them (the script's arguments, and the memory
 * that builds them, stay within a few megabytes however the topics interleave). A backfill can
 * read its transactions apart from its session events (the broker fills each 1 MB fetch from
 * one partition while that one has data), in batches of them alone, which the loop waits for: a
 * batch's largest cost in Redis is its products' two ranking counters, and most of a batch's
 * products are in the next one too, so fewer, larger batches send them less often. Measured at
 * seed scale (a 4,096-transaction batch names about 2,300 products): 2,000 per batch kept the
 * loop waiting a quarter of the backfill; 4,096 took 33 ms of Redis time per batch, 8 us a
 * transaction; 8,192 halves the ranking updates per transaction for about 2 MB more at peak. */
#define ECOM_COUNTERS_BATCH_TXNS 8192
bool ecom_counters_batch_full(const ecom_counters_batch *b);

/* The first-seen bitmap key (relative to the generation) and bit of an id `<name>_<digits>`:
 * "seen:<kind>:<digits but the last four>" and the last four digits as a number. */
void ecom_counters_id_slot(const char *kind, const char *id, char *key, size_t key_size,
                           int64_t *bit);

/* ---- writing (lib/counters_batch.c) --------------------------------------------------------- */

typedef enum ecom_counters_role {
    ECOM_COUNTERS_LIVE,    /* writes the current generation */
    ECOM_COUNTERS_REBUILD, /* writes the generation being rebuilt */
} ecom_counters_role;

/* What applying a batch came to. */
typedef enum ecom_counters_outcome {
    ECOM_COUNTERS_FAILED = -1, /* Redis failed (err says why): nothing changed, try again */
    ECOM_COUNTERS_APPLIED = 0, /* applied, or found applied already */
    ECOM_COUNTERS_FENCED,      /* another generation or writer moved on: re-read positions */
    ECOM_COUNTERS_FROZEN,      /* a rebuild is switching generations: try again shortly */
    ECOM_COUNTERS_OUTDATED,    /* the generation's bits are in an older layout (err says so):
                                * only a rebuild can count into it */
} ecom_counters_outcome;

/* A writer of one generation. It remembers, per partition, the stored offset it continues from. */
typedef struct ecom_counters_writer ecom_counters_writer;

/* A writer of generation gen in s (whose prefix it copies; s->redis must outlive it). */
ecom_counters_writer *ecom_counters_writer_new(const ecom_counters_store *s, int64_t gen,
                                               ecom_counters_role role);
void ecom_counters_writer_free(ecom_counters_writer *w);
int64_t ecom_counters_writer_generation(const ecom_counters_writer *w);

/* Where each partition continues: the stored offset when there is one; otherwise the offset the
 * caller chose (an invalid one becomes the beginning). */
int ecom_counters_writer_positions(ecom_counters_writer *w, rd_kafka_topic_partition_list_t *parts,
                                   ecom_error *err);

/* Applies a batch whose partitions end at next_offsets (NULL: reference data only, no offsets),
 * joined with ref. On ECOM_COUNTERS_APPLIED the batch may be cleared. */
ecom_counters_outcome
ecom_counters_writer_apply(ecom_counters_writer *w, const ecom_counters_batch *b,
                           const ecom_reference *ref,
                           const rd_kafka_topic_partition_list_t *next_offsets, ecom_error *err);

/* ---- reading (lib/counters_snapshot.c) ------------------------------------------------------ */

/* The snapshot of the current generation in the shape of snapshot.h, plus a "pipeline" object:
 * {"generation", "updated_at" (the last applied batch), "latency_ms": {"p50", "p99"} (produce
 * to Redis, over the last second of traffic), "aggregator": {"records": {topic: n},
 * "dead_letters", "positions": {"<topic>:<partition>": next offset}}}. *out is NULL when there
 * is no generation yet. One atomic read. */
int ecom_counters_snapshot(const ecom_counters_store *s, json_t **out, ecom_error *err);

/* Every product of the current generation, each {"product_id", "name", "category_id",
 * "category_name", "units", "revenue_cents"}, by revenue descending, then id: every product
 * the reference data named and every product sold (0 units for one never sold, "unknown" for a
 * category the reference data did not give). *rows is NULL when there is no generation yet. */
int ecom_counters_products(const ecom_counters_store *s, json_t **rows, ecom_error *err);

#endif
