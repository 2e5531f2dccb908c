/*
 * aggregate_cmd.c - `ecom aggregate`: every metric live in Redis, exactly once.
 *
 * A stage of the shared consume loop (consumer.h) over the fact topics, transactions and
 * session_events, in consumer group ecom-aggregate. Each polled batch is folded into an
 * ecom_counters_batch and applied to Redis in one script call that also stores the batch's
 * offsets (counters.h): Redis, not Kafka, holds the aggregator's positions, so a crash, restart,
 * rebalance or replay resumes exactly after the last applied batch. Kafka commits still happen,
 * for lag monitoring only.
 *
 * The batch is applied on the loop's writer thread while the next one is consumed and decoded
 * (consumer.h, "writing while consuming"). Everything that talks to Redis or reads the
 * reference tables runs in `write` or in `idle`, which the loop never runs beside a write; what
 * runs beside it, `add`, touches only the open batch.
 *
 * The reference topics are read as tables by every instance (table_reader.h), to their end before
 * the first fact, then followed; a fact naming a product or user not known yet first catches the
 * tables up to the broker's current end. Reference ids and names go to Redis too (counts and
 * rankings need them), idempotently.
 *
 * Three modes:
 *   (default)   the live service: counts into the current generation until SIGTERM, or the end
 *               with --until-end;
 *   --rebuild   counts everything from the beginning into a new generation while the current one
 *               keeps serving, then freezes the current one for the last few seconds of catching
 *               up, switches readers atomically, and drops the old generation. An interrupted
 *               rebuild resumes where it stopped. The live service follows the switch by itself:
 *               its next batch finds its generation gone and continues in the new one.
 *   --snapshot  prints every metric of the current generation as JSON (the manifest's shape).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib.h>
#include "commands.h"
#include "ecom/consumer.h"
#include "ecom/counters.h"
#include "ecom/log.h"
#include "ecom/redis.h"
#include "ecom/reference.h"
#include "ecom/retry.h"
#include "ecom/signals.h"
#include "ecom/table_reader.h"
#include "latency.h"

#define REDIS_TIMEOUT_MS 30000
#define REFERENCE_CHUNK 10000 /* reference records per script call */
#define LEASE_MS 60000        /* the rebuild lock, renewed every LEASE_RENEW_S */
#define LEASE_RENEW_S 10.0
#define FREEZE_MS 30000 /* the frozen generation thaws by itself if the rebuild dies */
#define FREEZE_RENEW_S 5.0
#define GAUGE_EVERY_S 1.0

static const ecom_option aggregate_options[] = {
    ECOM_FLAG_OPTION("rebuild", 0, NULL, rebuild,
                     "recompute every counter from the beginning of the topics into a new "
                     "generation while the current one keeps serving; switch readers to it "
                     "atomically once caught up, then exit"),
    ECOM_FLAG_OPTION("snapshot", 0, NULL, snapshot,
                     "print every metric of the current generation as JSON (the manifest's "
                     "shape) and exit"),
    ECOM_OPTIONS_END,
};

static const ecom_kind fact_kinds[] = {ECOM_KIND_TRANSACTION, ECOM_KIND_SESSION_EVENT};
static const ecom_kind reference_kinds[] = {ECOM_KIND_CATEGORY, ECOM_KIND_PRODUCT, ECOM_KIND_USER};

typedef struct aggregator {
    const ecom_config *cfg;
    ecom_counters_store store; /* Redis and the prefix of the counters' keys */
    ecom_counters_role role;
    ecom_reference *ref;
    ecom_table_reader *tables;
    ecom_counters_writer *writer;
    struct fact_batch *open;   /* the facts of the open consume batch */
    struct fact_batch *spare;  /* a written batch, to be filled again */
    ecom_counters_batch *refs; /* reference changes not in Redis yet */
    latency_histogram *run_latency, *window_latency;
    double last_gauge;
    /* --rebuild */
    char token[128];
    double lease_renewed;
    int64_t frozen_gen; /* the current generation while it is frozen, else 0 */
    double frozen_renewed;
    bool waiting_logged;
    /* a push of every reference entry into a new generation (after a switch) */
    bool push_pending;
    ecom_counters_outcome push_rc;
    ecom_error push_err;
    bool outdated; /* the generation is in an older layout: nothing can be written to it */
} aggregator;

/* The facts of one consume batch, and when each was produced (CreateTime, for the latency). */
typedef struct fact_batch {
    ecom_counters_batch *counters;
    GArray *produced_ms;
} fact_batch;

static fact_batch *fact_batch_new(void)
{
    fact_batch *b = ecom_xmalloc(sizeof *b);
    b->counters = ecom_counters_batch_new();
    b->produced_ms = g_array_new(FALSE, FALSE, sizeof(int64_t));
    return b;
}

static void fact_batch_clear(fact_batch *b)
{
    ecom_counters_batch_clear(b->counters);
    g_array_set_size(b->produced_ms, 0);
}

static void fact_batch_free(fact_batch *b)
{
    if (!b)
        return;
    ecom_counters_batch_free(b->counters);
    g_array_free(b->produced_ms, TRUE);
    free(b);
}

/* ---- Redis calls that wait out an outage ------------------------------------------------------
 */

typedef struct ensure_call {
    aggregator *a;
    int64_t gen;
} ensure_call;

static int ensure_current_attempt(void *arg, ecom_error *err)
{
    ensure_call *c = arg;
    return ecom_counters_ensure_current(&c->a->store, &c->gen, err);
}

/* Applies a batch, waiting while a rebuild has the generation frozen: never
 * ECOM_COUNTERS_FROZEN, and ECOM_COUNTERS_FAILED when a stop ends the wait. */
static ecom_counters_outcome apply_waiting(aggregator *a, ecom_counters_batch *b,
                                           const rd_kafka_topic_partition_list_t *next_offsets,
                                           ecom_error *err)
{
    for (;;) {
        ecom_counters_outcome rc =
            ecom_counters_writer_apply(a->writer, b, a->ref, next_offsets, err);
        if (rc != ECOM_COUNTERS_FROZEN) {
            bool applied = rc == ECOM_COUNTERS_APPLIED;
            if (a->waiting_logged && applied)
                ecom_log(ECOM_INFO, "the rebuild's switch is over; applying again",
                         "generation=%lld", (long long)ecom_counters_writer_generation(a->writer));
            a->waiting_logged = applied ? false : a->waiting_logged;
            return rc;
        }
        if (!a->waiting_logged)
            ecom_log(ECOM_INFO, "a rebuild is switching generations; batches wait",
                     "generation=%lld", (long long)ecom_counters_writer_generation(a->writer));
        a->waiting_logged = true;
        if (ecom_stop_requested()) {
            ecom_fail(err, "stopped while a rebuild was switching generations");
            return ECOM_COUNTERS_FAILED;
        }
        ecom_sleep_ms(50);
    }
}

/* ---- reference data ----------------------------------------------------------------------- */

static int retarget(aggregator *a, ecom_error *err);

/* Writes the pending reference changes (ids and names, no offsets). */
static int refs_apply(aggregator *a, ecom_error *err)
{
    while (ecom_counters_batch_size(a->refs) > 0) {
        ecom_counters_outcome rc = apply_waiting(a, a->refs, NULL, err);
        if (rc == ECOM_COUNTERS_APPLIED) {
            ecom_counters_batch_clear(a->refs);
        } else if (rc == ECOM_COUNTERS_FENCED) {
            if (retarget(a, err))
                return -1;
        } else {
            a->outdated = rc == ECOM_COUNTERS_OUTDATED;
            return -1;
        }
    }
    return 0;
}

static int refs_apply_attempt(void *arg, ecom_error *err)
{
    aggregator *a = arg;
    return refs_apply(a, err) && !a->outdated ? -1 : 0; /* retrying cannot help an old layout */
}

/* refs_apply, retrying while Redis is unavailable. */
static int refs_apply_retrying(aggregator *a, ecom_error *err)
{
    ecom_retry r = {
        .what = "write reference data to Redis", .attempt = refs_apply_attempt, .arg = a};
    return ecom_retry_run(&r, err) || a->outdated ? -1 : 0;
}

/* A reference record from the tables: kept, and queued for Redis when it changed anything. */
static int table_record(void *arg, const ecom_record *r)
{
    aggregator *a = arg;
    if (!ecom_reference_apply(a->ref, r))
        return 0;
    ecom_counters_batch_add(a->refs, r, NULL);
    if (ecom_counters_batch_size(a->refs) < REFERENCE_CHUNK)
        return 0;
    ecom_error err;
    if (refs_apply_retrying(a, &err) == 0)
        return 0;
    ecom_log(ECOM_ERROR, "cannot write reference data", "error=\"%s\"", err.msg);
    return -1;
}

/* One entry of the tables into a chunked push (a failure stops the rest of this push). */
static void queue_reference(void *arg, const ecom_record *r)
{
    aggregator *a = arg;
    if (a->push_rc != ECOM_COUNTERS_APPLIED)
        return;
    ecom_counters_batch_add(a->refs, r, NULL);
    if (ecom_counters_batch_size(a->refs) < REFERENCE_CHUNK)
        return;
    a->push_rc = apply_waiting(a, a->refs, NULL, &a->push_err);
    if (a->push_rc == ECOM_COUNTERS_APPLIED)
        ecom_counters_batch_clear(a->refs);
}

/* Everything the tables hold, in chunks, into a generation that may not have it. Sets
 * push_pending when it could not finish, for background_work to try again. */
static void push_all_reference(aggregator *a)
{
    a->push_rc = ECOM_COUNTERS_APPLIED;
    ecom_counters_batch_clear(a->refs);
    ecom_reference_foreach(a->ref, queue_reference, a);
    if (a->push_rc == ECOM_COUNTERS_APPLIED && ecom_counters_batch_size(a->refs) > 0)
        a->push_rc = apply_waiting(a, a->refs, NULL, &a->push_err);
    ecom_counters_batch_clear(a->refs);
    a->push_pending = a->push_rc != ECOM_COUNTERS_APPLIED;
    if (a->push_pending)
        ecom_log(ECOM_WARN, "reference data not written to the new generation yet; trying again",
                 "error=\"%s\"",
                 a->push_rc == ECOM_COUNTERS_FENCED ? "generation moved on" : a->push_err.msg);
}

/* The live writer's generation is gone (a rebuild switched readers): continue in the current
 * one, whose offsets the rewind that follows re-reads. The rebuild wrote the reference data
 * into it already; pushing it again only covers changes since. */
static int retarget(aggregator *a, ecom_error *err)
{
    if (a->role == ECOM_COUNTERS_REBUILD)
        return ecom_fail(err, "generation %lld is no longer the one being rebuilt",
                         (long long)ecom_counters_writer_generation(a->writer));
    int64_t gen;
    if (ecom_counters_ensure_current(&a->store, &gen, err))
        return -1;
    if (gen == ecom_counters_writer_generation(a->writer))
        return 0; /* same generation, another writer moved the offsets: just re-read them */
    ecom_log(ECOM_INFO, "readers switched generations; continuing in the new one",
             "from=%lld to=%lld", (long long)ecom_counters_writer_generation(a->writer),
             (long long)gen);
    ecom_counters_writer_free(a->writer);
    a->writer = ecom_counters_writer_new(&a->store, gen, a->role);
    push_all_reference(a);
    return 0;
}

/* Reference changes that arrived since the last batch, and the rebuild's leases: written,
 * ECOM_STAGE_RETRY when Redis failed, or ECOM_STAGE_FATAL. */
static ecom_stage_result background_work(aggregator *a, ecom_error *err)
{
    if (ecom_table_reader_poll(a->tables, table_record, a, err))
        return ECOM_STAGE_FATAL;
    double now = ecom_monotonic();
    if (a->role == ECOM_COUNTERS_REBUILD && now - a->lease_renewed >= LEASE_RENEW_S) {
        if (ecom_counters_rebuild_renew(&a->store, a->token, LEASE_MS, err))
            return ECOM_STAGE_FATAL;
        a->lease_renewed = now;
    }
    if (a->frozen_gen && now - a->frozen_renewed >= FREEZE_RENEW_S) {
        if (ecom_counters_freeze(&a->store, a->frozen_gen, FREEZE_MS, err))
            return ECOM_STAGE_RETRY;
        a->frozen_renewed = now;
    }
    if (a->push_pending)
        push_all_reference(a);
    if (refs_apply(a, err))
        return a->outdated ? ECOM_STAGE_FATAL : ECOM_STAGE_RETRY;
    return ECOM_STAGE_WRITTEN;
}

/* ---- the stage ------------------------------------------------------------------------------ */

static int stage_add(void *ctx, const ecom_record *r, const rd_kafka_message_t *m, ecom_error *err)
{
    aggregator *a = ctx;
    if (r->kind != ECOM_KIND_TRANSACTION && r->kind != ECOM_KIND_SESSION_EVENT)
        return ecom_fail(err, "the aggregator consumes facts only, got %s",
                         ecom_kind_topic(r->kind));
    ecom_counters_batch_add(a->open->counters, r, rd_kafka_topic_name(m->rkt));
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);
    if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME && ts > 0)
        g_array_append_val(a->open->produced_ms, ts);
    return ecom_counters_batch_full(a->open->counters) ? 1 : 0;
}

static void stage_dead_letter(void *ctx, const rd_kafka_message_t *m)
{
    (void)m;
    aggregator *a = ctx;
    ecom_counters_batch_dead_letter(a->open->counters);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record_latency(aggregator *a, const GArray *produced_ms)
{
    int64_t now = now_ms();
    int64_t worst = 0;
    for (guint i = 0; i < produced_ms->len; i++)
        if (now - g_array_index(produced_ms, int64_t, i) > worst)
            worst = now - g_array_index(produced_ms, int64_t, i);
    ecom_log(ECOM_DEBUG, "batch applied", "messages=%u oldest_ms=%lld", produced_ms->len,
             (long long)worst);
    for (guint i = 0; i < produced_ms->len; i++) {
        int64_t ms = now - g_array_index(produced_ms, int64_t, i);
        latency_add(a->run_latency, ms);
        latency_add(a->window_latency, ms);
    }
}

/* The recent latency and the time of this update, written with the batch. */
static void add_gauges(aggregator *a, ecom_counters_batch *batch)
{
    double now = ecom_monotonic();
    if (now - a->last_gauge < GAUGE_EVERY_S)
        return;
    a->last_gauge = now;
    if (a->window_latency->count) {
        ecom_counters_batch_gauge(batch, "latency_ms_p50",
                                  latency_quantile(a->window_latency, 0.5));
        ecom_counters_batch_gauge(batch, "latency_ms_p99",
                                  latency_quantile(a->window_latency, 0.99));
        latency_reset(a->window_latency);
    }
    ecom_counters_batch_gauge(batch, "updated_at", now_ms() / 1000);
}

/* What the consume loop makes of a batch's outcome in the counters. */
static ecom_stage_result stage_result_of(aggregator *a, ecom_counters_outcome applied,
                                         ecom_error *err)
{
    switch (applied) {
    case ECOM_COUNTERS_APPLIED:
        return ECOM_STAGE_WRITTEN;
    case ECOM_COUNTERS_FAILED:
    case ECOM_COUNTERS_FROZEN: /* (apply_waiting waits this out) */
        return ECOM_STAGE_RETRY;
    case ECOM_COUNTERS_OUTDATED:
        return ECOM_STAGE_FATAL;
    case ECOM_COUNTERS_FENCED:
        /* the writer's positions are stale: re-read them, in the new generation if there is
         * one; a rebuild whose generation was taken from it cannot go on */
        if (retarget(a, err) == 0)
            return ECOM_STAGE_REWIND;
        return a->role == ECOM_COUNTERS_REBUILD ? ECOM_STAGE_FATAL
                                                : ECOM_STAGE_RETRY; /* Redis failed */
    }
    return ECOM_STAGE_RETRY;
}

/* Applies a detached batch (on the writer thread): first the reference changes that arrived
 * since the last one, then the batch with its offsets. */
static ecom_stage_result stage_write(void *ctx, void *batch,
                                     const rd_kafka_topic_partition_list_t *next_offsets,
                                     ecom_error *err)
{
    aggregator *a = ctx;
    fact_batch *b = batch;
    ecom_stage_result background = background_work(a, err);
    if (background != ECOM_STAGE_WRITTEN)
        return background;
    if (ecom_counters_batch_needs_reference(b->counters, a->ref)) {
        /* a fact before its reference data arrived here: load the tables to the broker's end */
        if (ecom_table_reader_catch_up(a->tables, table_record, a, err))
            return ECOM_STAGE_RETRY;
        if (refs_apply(a, err))
            return a->outdated ? ECOM_STAGE_FATAL : ECOM_STAGE_RETRY;
    }
    add_gauges(a, b->counters);
    ecom_counters_outcome applied = apply_waiting(a, b->counters, next_offsets, err);
    if (applied == ECOM_COUNTERS_APPLIED) {
        record_latency(a, b->produced_ms);
        fact_batch_clear(b);
    }
    return stage_result_of(a, applied, err);
}

static void *stage_detach(void *ctx)
{
    aggregator *a = ctx;
    fact_batch *b = a->open;
    a->open = a->spare ? a->spare : fact_batch_new();
    a->spare = NULL;
    return b;
}

/* A batch back from the writer, written or dropped: emptied, to be filled again. */
static void stage_release(void *ctx, void *batch)
{
    aggregator *a = ctx;
    fact_batch_clear(batch);
    if (a->spare)
        fact_batch_free(batch);
    else
        a->spare = batch;
}

/* The stored offsets of some partitions, read by the retry loop. */
typedef struct positions_call {
    aggregator *a;
    rd_kafka_topic_partition_list_t *parts;
} positions_call;

static int positions_attempt(void *arg, ecom_error *err)
{
    positions_call *c = arg;
    return ecom_counters_writer_positions(c->a->writer, c->parts, err);
}

static int stage_positions(void *ctx, rd_kafka_topic_partition_list_t *parts, ecom_error *err)
{
    positions_call c = {.a = ctx, .parts = parts};
    ecom_retry r = {
        .what = "read the stored offsets from Redis", .attempt = positions_attempt, .arg = &c};
    return ecom_retry_run(&r, err);
}

static int stage_idle(void *ctx, ecom_error *err)
{
    aggregator *a = ctx;
    switch (background_work(a, err)) {
    case ECOM_STAGE_WRITTEN:
        return 0;
    case ECOM_STAGE_RETRY:
    case ECOM_STAGE_REWIND:
        ecom_log(ECOM_WARN, "background work failed; trying again later", "error=\"%s\"", err->msg);
        return 0;
    case ECOM_STAGE_FATAL:
        return -1;
    }
    return -1;
}

/* ---- running -------------------------------------------------------------------------------- */

static int64_t peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

static int load_tables(aggregator *a, ecom_error *err)
{
    double t0 = ecom_monotonic();
    a->tables = ecom_table_reader_open(a->cfg, reference_kinds, 3, err);
    if (!a->tables || ecom_table_reader_catch_up(a->tables, table_record, a, err) ||
        refs_apply_retrying(a, err))
        return -1;
    int64_t categories, products, users;
    ecom_reference_sizes(a->ref, &categories, &products, &users);
    ecom_log(ECOM_INFO, "reference tables loaded",
             "categories=%lld products=%lld users=%lld seconds=%.2f", (long long)categories,
             (long long)products, (long long)users, ecom_monotonic() - t0);
    return 0;
}

static int consume(aggregator *a, const char *service, const char *group, bool until_end,
                   ecom_consume_stats *stats, ecom_error *err)
{
    ecom_consume_opts opts = ecom_consume_opts_for(
        a->cfg, service, group, ECOM_BATCH_SIZE_AGGREGATE, ECOM_BATCH_MS_AGGREGATE, fact_kinds, 2);
    char instance[300];
    if (a->role == ECOM_COUNTERS_REBUILD) {
        opts.group = group; /* the rebuild's own group, derived from --group */
        /* one rebuild at a time (the lock): a resumed rebuild takes over its partitions at once */
        snprintf(instance, sizeof instance, "%s-1", group);
        opts.instance_id = instance;
    }
    opts.until_end = until_end;
    opts.latency_first = true;
    ecom_stage stage = {.ctx = a,
                        .add = stage_add,
                        .detach = stage_detach,
                        .write = stage_write,
                        .release = stage_release,
                        .positions = stage_positions,
                        .dead_letter = stage_dead_letter,
                        .idle = stage_idle};
    return ecom_consume(a->cfg, &opts, &stage, stats, err);
}

static void log_finished(aggregator *a, const char *msg, const ecom_consume_stats *s)
{
    ecom_log(ECOM_INFO, msg,
             "generation=%lld consumed=%lld records=%lld dead_letters=%lld batches=%lld "
             "rewinds=%lld seconds=%.1f records_per_s=%.0f latency_ms_p50=%lld "
             "latency_ms_p99=%lld peak_rss_mb=%.1f",
             (long long)ecom_counters_writer_generation(a->writer), (long long)s->consumed,
             (long long)s->stored, (long long)s->dead_letters, (long long)s->batches,
             (long long)s->rewinds, s->seconds, (double)s->stored / (s->seconds + 1e-9),
             (long long)latency_quantile(a->run_latency, 0.5),
             (long long)latency_quantile(a->run_latency, 0.99), (double)peak_rss_kb() / 1024.0);
}

static int run_live(aggregator *a, ecom_error *err)
{
    ensure_call c = {.a = a};
    ecom_retry r = {
        .what = "open the counters in Redis", .attempt = ensure_current_attempt, .arg = &c};
    if (ecom_retry_run(&r, err))
        return -1;
    a->writer = ecom_counters_writer_new(&a->store, c.gen, ECOM_COUNTERS_LIVE);
    if (load_tables(a, err))
        return -1;
    ecom_consume_stats stats;
    if (consume(a, "aggregate", "ecom-aggregate", a->cfg->until_end, &stats, err))
        return -1;
    if (a->cfg->until_end && (ecom_table_reader_catch_up(a->tables, table_record, a, err) ||
                              refs_apply_retrying(a, err)))
        return -1; /* reference data published after the last fact counts too */
    log_finished(a, "aggregate stopped", &stats);
    return 0;
}

static int run_rebuild(aggregator *a, ecom_error *err)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(a->token, sizeof a->token, "%s:%d:%lld", host, (int)getpid(), (long long)now_ms());
    int64_t gen;
    bool resumed;
    if (ecom_counters_rebuild_begin(&a->store, a->token, LEASE_MS, &gen, &resumed, err))
        return -1;
    a->lease_renewed = ecom_monotonic();
    ecom_log(ECOM_INFO, resumed ? "resuming an interrupted rebuild" : "rebuilding",
             "generation=%lld", (long long)gen);
    a->writer = ecom_counters_writer_new(&a->store, gen, ECOM_COUNTERS_REBUILD);
    char group[256];
    snprintf(group, sizeof group, "%s-rebuild",
             a->cfg->group && *a->cfg->group ? a->cfg->group : "ecom-aggregate");
    ecom_consume_stats stats = {0}; /* every pass's, added up */
    int rc = load_tables(a, err);
    if (rc == 0)
        rc = consume(a, "aggregate --rebuild", group, true, &stats, err);
    int64_t old = 0;
    for (bool behind = true; rc == 0 && behind;) {
        /* freeze the current generation, read what it has read, switch */
        rc = ecom_counters_current(&a->store, &old, err);
        if (rc == 0 && old) {
            rc = ecom_counters_freeze(&a->store, old, FREEZE_MS, err);
            a->frozen_gen = old;
            a->frozen_renewed = ecom_monotonic();
        }
        ecom_consume_stats tail = {0};
        if (rc == 0)
            rc = consume(a, "aggregate --rebuild", group, true, &tail, err);
        if (rc == 0)
            rc = ecom_table_reader_catch_up(a->tables, table_record, a, err) || refs_apply(a, err);
        if (rc == 0)
            rc = ecom_counters_switch(&a->store, gen, &behind, err);
        if (rc == 0 && behind)
            ecom_log(ECOM_INFO, "the current generation is still ahead; catching up again",
                     "generation=%lld", (long long)gen);
        ecom_consume_stats_add(&stats, &tail);
    }
    a->frozen_gen = 0;
    if (rc == 0) {
        ecom_log(ECOM_INFO, "readers switched to the rebuilt generation",
                 "generation=%lld old=%lld", (long long)gen, (long long)old);
        if (old && ecom_counters_drop(&a->store, old, err))
            ecom_log(ECOM_WARN, "the old generation could not be deleted",
                     "generation=%lld "
                     "error=\"%s\"",
                     (long long)old, err->msg);
        log_finished(a, "rebuild finished", &stats);
    }
    ecom_counters_rebuild_release(&a->store, a->token);
    return rc;
}

static int print_snapshot(aggregator *a)
{
    ecom_error err;
    json_t *snap = NULL;
    if (ecom_counters_snapshot(&a->store, &snap, &err)) {
        fprintf(stderr, "ecom aggregate --snapshot: %s\n", err.msg);
        return 2;
    }
    if (!snap) {
        fprintf(stderr,
                "ecom aggregate --snapshot: no counters in Redis under prefix '%s' yet; run "
                "`ecom aggregate` first (and check --redis-prefix)\n",
                a->store.prefix);
        return 1;
    }
    json_dumpf(snap, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(snap);
    return 0;
}

static int aggregate_run(ecom_config *cfg)
{
    if (cfg->rebuild && cfg->snapshot) {
        fprintf(stderr, "ecom aggregate: --rebuild and --snapshot exclude each other\n");
        return 2;
    }
    aggregator a = {.cfg = cfg, .store = {.prefix = ecom_config_redis_prefix(cfg)}};
    ecom_error err;
    a.store.redis = ecom_redis_new(cfg->redis, REDIS_TIMEOUT_MS, &err);
    if (!a.store.redis) {
        fprintf(stderr, "ecom aggregate: %s\n", err.msg);
        return 2;
    }
    if (cfg->snapshot) {
        int rc = print_snapshot(&a);
        ecom_redis_free(a.store.redis);
        return rc;
    }
    ecom_signals_install();
    a.role = cfg->rebuild ? ECOM_COUNTERS_REBUILD : ECOM_COUNTERS_LIVE;
    a.ref = ecom_reference_new();
    a.open = fact_batch_new();
    a.refs = ecom_counters_batch_new();
    a.run_latency = ecom_xmalloc(sizeof *a.run_latency);
    a.window_latency = ecom_xmalloc(sizeof *a.window_latency);
    latency_reset(a.run_latency);
    latency_reset(a.window_latency);
    int rc = cfg->rebuild ? run_rebuild(&a, &err) : run_live(&a, &err);
    if (rc)
        ecom_log(ECOM_ERROR, cfg->rebuild ? "rebuild failed" : "aggregate failed", "error=\"%s\"",
                 err.msg);
    ecom_table_reader_close(a.tables);
    ecom_counters_writer_free(a.writer);
    fact_batch_free(a.open);
    fact_batch_free(a.spare);
    ecom_counters_batch_free(a.refs);
    ecom_reference_free(a.ref);
    free(a.run_latency);
    free(a.window_latency);
    ecom_redis_free(a.store.redis);
    return rc ? 1 : 0;
}

const ecom_command ecom_cmd_aggregate = {
    .name = "aggregate",
    .synopsis = "[options]",
    .summary = "Keep every metric live in Redis, exactly once (--rebuild: recompute into a new "
               "generation; --snapshot: print them as JSON).",
    .options = aggregate_options,
    .more_options = ecom_consumer_options,
    .min_args = 0,
    .max_args = 0,
    .run = aggregate_run,
};
