/*
 * generate_cmd.c - `ecom generate`: the synthetic shop, published to Kafka or written as NDJSON.
 *
 * Order of publication: categories, products and users first (reference data before the facts
 * that use it), then the facts, then a new version of every product whose stock changed.
 *
 * Backfill draws every session start in the 90-day window, sorts them, and simulates sessions in
 * time order (stock is shared, so order matters), publishing each session's events as a block
 * and its transaction after its session_end. Standalone purchases then fill up to the
 * transaction target, in time order. The main thread simulates, validates and counts; a
 * publishing thread (publisher.h) encodes and sends the sessions in the order they were
 * simulated.
 * Nothing here reads the clock, so a seed and an --end give the same bytes every time.
 *
 * Live mode keeps --concurrency sessions open and sends their events interleaved, stamped with
 * the wall clock, paced to --rate events per second; standalone purchases keep pace with
 * sessions in the seed-scale proportion. On a stop signal or --limit it finishes the open
 * sessions, so no session is left without its end.
 *
 * Every published fact is also folded into an ecom_metrics accumulator, whose snapshot is the
 * manifest: the ground truth for every later stage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "ecom/log.h"
#include "ecom/metrics.h"
#include "ecom/signals.h"
#include "emitter.h"
#include "publisher.h"
#include "session_sim.h"
#include "world.h"

#define STREAM_STARTS 0x57a7000000000000ULL
#define STREAM_STANDALONE 0x57a1000000000000ULL
#define STREAM_LIVE 0x11fe000000000000ULL
/* seed scale: 500,000 transactions for 2,000,000 sessions */
#define TRANSACTIONS_PER_SESSION 0.25

static const ecom_option generate_options[] = {
    ECOM_UINT64_OPTION("seed", 0, "ECOM_SEED", seed, "42", "N",
                       "random seed: the same seed and --end give the same data"),
    ECOM_DOUBLE_OPTION("scale", 0, "ECOM_SCALE", scale, "1", 0.00001, 100, "F",
                       "size factor: 1 = 10,000 users, 5,000 products, 500,000 transactions, "
                       "2,000,000 sessions"),
    ECOM_STRING_OPTION("end", 0, "ECOM_END", end, NULL, "YYYY-MM-DD",
                       "end of the 90-day window (exclusive, UTC) [default: today]"),
    ECOM_CHOICE_OPTION("mode", 0, "ECOM_MODE", mode, "backfill", "backfill|live", "MODE",
                       "backfill: the whole history as fast as possible; live: events stamped "
                       "now, paced by --rate"),
    ECOM_DOUBLE_OPTION("rate", 0, "ECOM_RATE", rate, "1000", 0.1, 10000000, "EVENTS/S",
                       "live mode: session events per second"),
    ECOM_INT_OPTION("limit", 0, "ECOM_LIMIT", limit, "0", 0, 1e15, "N",
                    "live mode: stop after about N session events (0: until signalled)"),
    ECOM_INT_OPTION("concurrency", 0, "ECOM_CONCURRENCY", concurrency, "256", 1, 100000, "N",
                    "live mode: sessions open at the same time"),
    ECOM_STRING_OPTION("manifest", 0, "ECOM_MANIFEST", manifest, NULL, "FILE",
                       "write the ground-truth value of every metric to FILE"),
    ECOM_STRING_OPTION("output", 'o', "ECOM_OUTPUT", output, NULL, "FILE|-",
                       "write NDJSON lines {topic,key,value} to FILE (- for stdout) instead of "
                       "Kafka"),
    ECOM_FLAG_OPTION("progress", 0, "ECOM_PROGRESS", progress,
                     "show the progress line even when stderr is not a terminal"),
    ECOM_FLAG_OPTION("once", 0, "ECOM_ONCE", once,
                     "backfill: publish nothing if the fact topics already hold messages (a "
                     "deployment's one-time history, safe to run again)"),
    ECOM_OPTIONS_END,
};

typedef struct generator {
    const ecom_config *cfg;
    gen_world world;
    gen_emitter out;
    ecom_metrics *metrics;
    int64_t next_txn; /* the number of the next transaction id */
    int64_t sessions_done;
    gen_publisher *publishing; /* backfill's publishing thread, while it runs */
    bool show_progress;
    bool skipped; /* --once found the facts published already */
    double started, last_progress;
} generator;

static void progress(generator *g, const char *phase, int64_t done, int64_t total, bool final)
{
    if (!g->show_progress)
        return;
    double now = ecom_monotonic();
    if (!final && now - g->last_progress < 0.5)
        return;
    g->last_progress = now;
    double secs = now - g->started > 1e-9 ? now - g->started : 1e-9;
    int64_t n, bytes;
    if (g->publishing) { /* the emitter is the publishing thread's: ask the publisher */
        n = atomic_load_explicit(&g->publishing->messages, memory_order_relaxed);
        bytes = atomic_load_explicit(&g->publishing->bytes, memory_order_relaxed);
    } else {
        n = gen_emitter_total(&g->out);
        bytes = g->out.bytes;
    }
    fprintf(stderr, "\r%-12s %lld/%lld  messages %lld  %.0f msg/s  %.1f MB/s   ", phase,
            (long long)done, (long long)total, (long long)n, (double)n / secs,
            (double)bytes / secs / 1e6);
    if (final)
        fputc('\n', stderr);
}

static int publish_reference(generator *g, ecom_error *err)
{
    gen_world *w = &g->world;
    for (int i = 0; i < GEN_CATEGORIES; i++) {
        if (gen_emit(&g->out, ECOM_KIND_CATEGORY, &w->categories[i], err))
            return -1;
        ecom_metrics_add_category(g->metrics, &w->categories[i]);
    }
    for (int i = 0; i < w->n_products; i++) {
        if (gen_emit(&g->out, ECOM_KIND_PRODUCT, &w->products[i], err))
            return -1;
        ecom_metrics_add_product(g->metrics, &w->products[i]);
    }
    for (int i = 0; i < w->n_users; i++) {
        if (gen_emit(&g->out, ECOM_KIND_USER, &w->users[i], err))
            return -1;
        ecom_metrics_add_user(g->metrics, &w->users[i]);
    }
    return 0;
}

/* The stock a run sold shows up as a new version of each product it touched. */
static int publish_stock_changes(generator *g, ecom_error *err)
{
    gen_world *w = &g->world;
    for (int i = 0; i < w->n_products; i++) {
        if (!w->stock_changed[i])
            continue;
        if (gen_emit(&g->out, ECOM_KIND_PRODUCT, &w->products[i], err))
            return -1;
        ecom_metrics_add_product(g->metrics, &w->products[i]);
    }
    return 0;
}

static int publish_transaction(generator *g, const ecom_transaction *t, ecom_error *err)
{
    if (gen_emit(&g->out, ECOM_KIND_TRANSACTION, t, err))
        return -1;
    ecom_metrics_add_transaction(g->metrics, t);
    return 0;
}

/* A finished session in the manifest: its funnel outcome by day and by segment, and its start,
 * page views and conversion in the minute series (its transaction counts on publication). */
static void count_session(generator *g, const gen_session *s)
{
    ecom_metrics_add_session(g->metrics, s->start, s->viewed, s->carted, s->converted);
    ecom_metrics_add_segment_session(g->metrics, &s->events[0].segment, s->viewed, s->carted,
                                     s->converted);
    ecom_metrics_add_minute(g->metrics, ECOM_MINUTE_SESSIONS, s->start, 1);
    for (int i = 0; i < s->n_events; i++) {
        const ecom_session_event *ev = &s->events[i];
        if (ev->type == ECOM_EV_PAGE_VIEW)
            ecom_metrics_add_minute(g->metrics, ECOM_MINUTE_PAGE_VIEWS, ev->ts, 1);
        else if (ev->type == ECOM_EV_SESSION_END &&
                 ev->u.end.conversion_status == ECOM_CONV_CONVERTED)
            ecom_metrics_add_minute(g->metrics, ECOM_MINUTE_CONVERTED, ev->ts, 1);
    }
}

static int cmp_time(const void *a, const void *b)
{
    ecom_time x = *(const ecom_time *)a, y = *(const ecom_time *)b;
    return (x > y) - (x < y);
}

/* n times drawn uniformly in the window, sorted (caller frees). */
static ecom_time *sorted_times(const gen_world *w, uint64_t stream, int64_t n)
{
    ecom_rng r;
    ecom_rng_seed(&r, w->seed, stream);
    ecom_time *t = ecom_xmalloc(sizeof *t * (size_t)(n ? n : 1));
    uint64_t span = (uint64_t)(w->end - w->window_start);
    for (int64_t i = 0; i < n; i++)
        t[i] = w->window_start + (ecom_time)ecom_rng_below(&r, span);
    qsort(t, (size_t)n, sizeof *t, cmp_time);
    return t;
}

/* The sessions in time order, each simulated into the publisher's next slot and counted in the
 * manifest as it is handed over. */
static int simulate_sessions(generator *g, gen_publisher *pub, ecom_error *err)
{
    gen_world *w = &g->world;
    ecom_time *starts = sorted_times(w, STREAM_STARTS, w->n_sessions);
    int rc = 0;
    for (int64_t i = 0; i < w->n_sessions && rc == 0; i++) {
        if (ecom_stop_requested()) {
            rc = ecom_fail(err, "interrupted after %lld of %lld sessions", (long long)i,
                           (long long)w->n_sessions);
            break;
        }
        gen_session *s = gen_publisher_slot(pub);
        if (!s) {
            rc = ecom_fail(err, "publishing stopped"); /* gen_publisher_finish says why */
            break;
        }
        gen_session_simulate(w, i, starts[i], &g->next_txn, s);
        if (s->has_transaction)
            ecom_metrics_add_transaction(g->metrics, &s->transaction);
        count_session(g, s);
        if (gen_publisher_submit(pub, err)) { /* the slot is the publishing thread's now */
            rc = -1;
            break;
        }
        g->sessions_done++;
        progress(g, "sessions", i + 1, w->n_sessions, false);
    }
    free(starts);
    if (rc == 0)
        progress(g, "sessions", w->n_sessions, w->n_sessions, true);
    return rc;
}

/* Purchases outside sessions up to the transaction target, in time order, each in a slot of
 * its own with no events. */
static int simulate_standalone(generator *g, gen_publisher *pub, ecom_error *err)
{
    gen_world *w = &g->world;
    int64_t standalone = w->n_transactions - g->next_txn;
    if (standalone < 0)
        standalone = 0;
    ecom_time *times = sorted_times(w, STREAM_STANDALONE, standalone);
    ecom_rng r;
    ecom_rng_seed(&r, w->seed, STREAM_STANDALONE + 1);
    int64_t unsold = 0;
    int rc = 0;
    for (int64_t i = 0; i < standalone && rc == 0; i++) {
        if (ecom_stop_requested()) {
            rc = ecom_fail(err, "interrupted during standalone transactions");
            break;
        }
        gen_session *s = gen_publisher_slot(pub);
        if (!s) {
            rc = ecom_fail(err, "publishing stopped");
            break;
        }
        s->n_events = 0;
        s->has_transaction = true;
        if (gen_standalone_transaction(w, &r, times[i], g->next_txn, &s->transaction)) {
            g->next_txn++;
            ecom_metrics_add_transaction(g->metrics, &s->transaction);
            if (gen_publisher_submit(pub, err)) {
                rc = -1;
                break;
            }
        } else {
            unsold++;
        }
        progress(g, "transactions", i + 1, standalone, false);
    }
    free(times);
    if (rc == 0)
        progress(g, "transactions", standalone, standalone, true);
    if (unsold)
        ecom_log(ECOM_WARN, "stock ran out: fewer transactions than the target",
                 "target=%lld made=%lld", (long long)w->n_transactions, (long long)g->next_txn);
    return rc;
}

static int run_backfill(generator *g, ecom_error *err)
{
    gen_publisher pub;
    if (gen_publisher_start(&pub, &g->out, err))
        return -1;
    g->publishing = &pub;
    int rc = simulate_sessions(g, &pub, err);
    if (rc == 0)
        rc = simulate_standalone(g, &pub, err);
    /* a failure of the publishing thread is the reason the main thread stopped, if it did */
    if (gen_publisher_finish(&pub, err))
        rc = -1;
    g->publishing = NULL;
    return rc;
}

/* ---- live mode ----------------------------------------------------------------------------- */

typedef struct live_slot {
    gen_session session;
    int next; /* index of the next event to send */
} live_slot;

static void live_open(generator *g, live_slot *slot, int64_t *next_session)
{
    gen_session_simulate(&g->world, (*next_session)++, ecom_now(), &g->next_txn, &slot->session);
    slot->next = 0;
}

/* Sends the next event of a slot stamped now; returns 1 when that finished the session. */
static int live_step(generator *g, live_slot *slot, ecom_error *err)
{
    gen_session *s = &slot->session;
    ecom_session_event *ev = &s->events[slot->next++];
    ev->ts = ecom_now();
    if (ev->type == ECOM_EV_SESSION_START)
        s->start = ev->ts;
    ev->start_time = s->start;
    if (ev->type == ECOM_EV_SESSION_END) {
        int64_t d = ev->ts - s->start;
        ev->u.end.duration_seconds = (int32_t)d;
    }
    if (gen_emit(&g->out, ECOM_KIND_SESSION_EVENT, ev, err))
        return -1;
    if (ev->type != ECOM_EV_SESSION_END)
        return 0;
    if (s->has_transaction) {
        s->transaction.timestamp = ev->ts;
        if (publish_transaction(g, &s->transaction, err))
            return -1;
    }
    count_session(g, s);
    g->sessions_done++;
    return 1;
}

/* Standalone purchases keep the seed-scale ratio of transactions to sessions. */
static int live_standalone(generator *g, ecom_rng *r, ecom_error *err)
{
    while ((double)g->next_txn < TRANSACTIONS_PER_SESSION * (double)g->sessions_done) {
        ecom_transaction t;
        if (!gen_standalone_transaction(&g->world, r, ecom_now(), g->next_txn, &t))
            return 0; /* sold out: sessions keep going, purchases wait for nothing */
        g->next_txn++;
        if (publish_transaction(g, &t, err))
            return -1;
    }
    return 0;
}

static void pace(double started, int64_t sent, double rate)
{
    double due = started + (double)sent / rate;
    double now = ecom_monotonic();
    if (due > now + 0.001) {
        struct timespec ts = {(time_t)(due - now),
                              (long)((due - now - (double)(time_t)(due - now)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int run_live(generator *g, ecom_error *err)
{
    const ecom_config *cfg = g->cfg;
    /* ids of this run start past any backfill and any earlier live run (the clock in them) */
    int64_t next_session = (int64_t)ecom_now() * 1000000;
    g->next_txn = next_session;
    int64_t first_txn = g->next_txn;
    int n_slots = (int)cfg->concurrency;
    live_slot *slots = ecom_xcalloc((size_t)n_slots, sizeof *slots);
    ecom_rng r;
    ecom_rng_seed(&r, g->world.seed, STREAM_LIVE);
    for (int i = 0; i < n_slots; i++)
        live_open(g, &slots[i], &next_session);
    int open = n_slots, rc = 0;
    int64_t sent = 0;
    double started = ecom_monotonic();
    bool draining = false;
    ecom_log(ECOM_INFO, "live generation started", "rate=%g concurrency=%d", cfg->rate, n_slots);
    while (open > 0 && rc == 0) {
        if (!draining && (ecom_stop_requested() || (cfg->limit && sent >= cfg->limit))) {
            draining = true; /* finish every open session, open no new ones */
            ecom_log(ECOM_INFO, "live generation stopping, finishing open sessions", "open=%d",
                     open);
        }
        int k = (int)ecom_rng_below(&r, (uint64_t)n_slots);
        if (slots[k].next >= slots[k].session.n_events)
            continue; /* a drained slot */
        int done = live_step(g, &slots[k], err);
        sent++;
        if (done < 0) {
            rc = -1;
            break;
        }
        if (done) {
            rc = live_standalone(g, &r, err);
            if (draining)
                open--;
            else
                live_open(g, &slots[k], &next_session);
        }
        if (!draining)
            pace(started, sent, cfg->rate);
        progress(g, "live", g->sessions_done, 0, false);
        if (g->out.to_kafka)
            ecom_producer_poll(&g->out.producer);
    }
    free(slots);
    ecom_log(ECOM_INFO, "live generation finished", "events=%lld sessions=%lld transactions=%lld",
             (long long)sent, (long long)g->sessions_done, (long long)(g->next_txn - first_txn));
    return rc;
}

static int write_manifest(generator *g, ecom_error *err)
{
    json_t *snap = ecom_metrics_snapshot(g->metrics);
    int rc = json_dump_file(snap, g->cfg->manifest, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(snap);
    if (rc != 0)
        return ecom_fail(err, "--manifest %s: cannot write the file", g->cfg->manifest);
    return 0;
}

static int end_of_window(const ecom_config *cfg, ecom_time *end, ecom_error *err)
{
    if (cfg->end && *cfg->end)
        return ecom_date_parse(cfg->end, end, err) ? ecom_fail_prefix(err, "--end") : 0;
    *end = ecom_time_day(ecom_now()) * ECOM_SECONDS_PER_DAY;
    return 0;
}

/* --once: whether an earlier run already published the facts. */
static int already_published(const ecom_config *cfg, bool *yes, ecom_error *err)
{
    static const ecom_kind facts[] = {ECOM_KIND_TRANSACTION, ECOM_KIND_SESSION_EVENT};
    int64_t held;
    if (ecom_kafka_messages(cfg, facts, 2, &held, err))
        return -1;
    *yes = held > 0;
    if (*yes)
        ecom_log(ECOM_INFO, "the fact topics already hold messages; --once publishes nothing",
                 "messages=%lld", (long long)held);
    return 0;
}

static int generate(generator *g, ecom_error *err)
{
    const ecom_config *cfg = g->cfg;
    ecom_time end;
    if (end_of_window(cfg, &end, err))
        return -1;
    if (cfg->once && strcmp(cfg->mode, "live") != 0 && !(cfg->output && *cfg->output)) {
        if (already_published(cfg, &g->skipped, err))
            return -1;
        if (g->skipped)
            return 0;
    }
    gen_world_build(&g->world, cfg->seed, cfg->scale, end);
    if (gen_emitter_open(&g->out, cfg, err))
        return -1;
    g->metrics = ecom_metrics_new();
    g->show_progress = cfg->progress || isatty(STDERR_FILENO);
    g->started = ecom_monotonic();
    bool live = strcmp(cfg->mode, "live") == 0;
    /* live: the producer learns every topic's leaders up front (a topic first met while
     * producing holds its messages until a metadata refresh, about a second here), and the
     * reference data is acknowledged before the first live event is stamped */
    if (live && g->out.to_kafka) {
        const rd_kafka_metadata_t *md = NULL;
        if (rd_kafka_metadata(g->out.producer.rk, 1, NULL, &md, 10000) == 0)
            rd_kafka_metadata_destroy(md);
    }
    int rc = publish_reference(g, err);
    if (rc == 0 && live && g->out.to_kafka)
        rc = ecom_producer_flush(&g->out.producer, 60000, err);
    if (rc == 0)
        rc = live ? run_live(g, err) : run_backfill(g, err);
    if (rc == 0)
        rc = publish_stock_changes(g, err);
    ecom_error close_err;
    if (gen_emitter_close(&g->out, &close_err) && rc == 0) {
        *err = close_err;
        rc = -1;
    }
    if (rc == 0 && cfg->manifest && *cfg->manifest)
        rc = write_manifest(g, err);
    return rc;
}

static int generate_run(ecom_config *cfg)
{
    ecom_signals_install();
    generator g;
    memset(&g, 0, sizeof g);
    g.cfg = cfg;
    ecom_error err;
    int rc = generate(&g, &err);
    double secs = ecom_monotonic() - g.started;
    if (rc == 0 && g.skipped) {
        /* nothing generated: the log line of already_published said so */
    } else if (rc == 0) {
        char end[ECOM_DAY_TEXT];
        ecom_day_format(ecom_time_day(g.world.end), end);
        ecom_log(ECOM_INFO, "generated",
                 "seed=%llu scale=%g end=%s categories=%lld products=%lld users=%lld "
                 "transactions=%lld session_events=%lld sessions=%lld bytes=%lld seconds=%.2f",
                 (unsigned long long)cfg->seed, cfg->scale, end,
                 (long long)g.out.messages[ECOM_KIND_CATEGORY],
                 (long long)g.out.messages[ECOM_KIND_PRODUCT],
                 (long long)g.out.messages[ECOM_KIND_USER],
                 (long long)g.out.messages[ECOM_KIND_TRANSACTION],
                 (long long)g.out.messages[ECOM_KIND_SESSION_EVENT], (long long)g.sessions_done,
                 (long long)g.out.bytes, secs);
    } else {
        ecom_log(ECOM_ERROR, "generate failed", "error=\"%s\"", err.msg);
    }
    ecom_metrics_free(g.metrics);
    gen_world_free(&g.world);
    return rc == 0 ? 0 : 1;
}

const ecom_command ecom_cmd_generate = {
    .name = "generate",
    .synopsis = "[options]",
    .summary = "Generate the shop's users, catalogue, transactions and clickstream and publish "
               "them to Kafka (or NDJSON).",
    .options = generate_options,
    .min_args = 0,
    .max_args = 0,
    .run = generate_run,
};
