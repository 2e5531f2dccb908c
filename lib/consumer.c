/*
 * consumer.c - the shared consume loop (see consumer.h for the contract).
 *
 * Shape of the loop, after librdkafka's examples/consumer.c: poll, fold each message into the
 * open batch, close the batch on size or age by flushing the stage and committing the batch's
 * offsets synchronously, and test the stop flag between polls.
 *
 * Offsets to commit are tracked per partition as "next offset" in `pending`; a commit happens
 * only after the stage's flush succeeded and the dead letters of the batch were acknowledged,
 * so a crash anywhere re-delivers from the last commit and loses nothing.
 *
 * While a store is down the loop retries the same batch (retry.h) with its partitions paused:
 * nothing new is read, so memory stays bounded and the position is kept. A stop signal during an
 * outage exits with an error and commits nothing unwritten.
 *
 * Rebalances: on revoke, the open batch is flushed and committed if the store allows, else
 * dropped (the next owner re-reads it). With --from, each partition starts at the beginning or
 * at the offset for that time the first time this process is given it, however late: a member
 * that died keeps its partitions until its session expires, and they are replayed all the same.
 *
 * --until-end takes the end offset of every partition of the topics when the loop starts, not
 * only of those assigned: a partition counts as finished once this process read it to its end,
 * or, while another member holds it, once the group's position for it is there (the stage's
 * stored position, else the group's commit; with --from only a commit made after this run
 * began). A dead member's partitions are so waited for until they come here, never skipped.
 *
 * A stage that keeps its position in its own store (the aggregator keeps it in Redis, written
 * in the same atomic step as the counters) says where each assigned partition starts, and may
 * answer a flush with "rewind": the store moved on without this batch, so the batch is dropped
 * and every partition seeks to the store's position again. Kafka commits then only serve lag
 * monitoring for such a stage, so its written batches' offsets are gathered and committed
 * without waiting, at most once every LAG_COMMIT_EVERY_S, and waited for only when partitions
 * are revoked and at the end. (Committing each batch and waiting for it cost the broker about
 * as much CPU as the whole fetch, and the loop a round trip per batch.)
 *
 * A stage that writes while the loop consumes (consumer.h) gets its closed batch handed to the
 * writer thread with the batch's offsets set aside; the loop opens the next batch and goes on
 * polling and decoding. The hand-off of the next batch first settles the one in flight: its
 * result is taken, a failure retried here as any batch is (partitions paused), its dead letters
 * acknowledged and its offsets committed. So commits stay in batch order, never ahead of a
 * write, and memory holds at most two batches.
 */
#include "ecom/consumer.h"

#include <assert.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stddef.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ecom/background.h"
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/escape.h"
#include "ecom/fetch_waker.h"
#include "ecom/kafka.h"
#include "ecom/log.h"
#include "ecom/retry.h"
#include "ecom/signals.h"
#include "ecom/workers.h"

#define PROGRESS_EVERY_S 10.0
#define END_EMPTY (-1000)         /* an `ends` entry of a partition that was empty at start */
#define DECODE_CHUNK 512          /* polled messages decoded together on the workers */
#define POLL_MS 100               /* the longest a poll waits for a message */
#define POLL_WRITING_MS 5         /* ... while a batch is being written: its end is noticed soon */
#define LAG_COMMIT_EVERY_S 1.0    /* a stage with positions: how often its offsets are committed */
#define RETURN_MEMORY_EVERY_S 0.5 /* how often freed memory goes back to the system */
/* fetch.wait.max.ms when latency comes first: the longest the broker holds a fetch for more
 * data (librdkafka's 500 ms default showed as the live aggregator's 99th percentile) */
#define FRESH_FETCH_WAIT_MS "10"

/* The entry of a partition list that the last message's partition found: messages come in runs
 * from one partition, so it is tried before a search of the list (one string compare instead of
 * one per entry, for every message). */
typedef struct partition_hint {
    const rd_kafka_topic_partition_list_t *list;
    const rd_kafka_topic_t *rkt;
    int32_t partition;
    int index;
} partition_hint;

/* A topic's record kind, by the handle librdkafka gives its messages. */
typedef struct topic_kind {
    const rd_kafka_topic_t *rkt;
    int kind; /* -1: none */
} topic_kind;

#define TOPIC_KINDS 16 /* handles remembered; more topics are looked up by name */

/* Polled messages decoded together on the workers. The loop keeps two: the one its polls fill,
 * and the one filled before it, which decodes on the workers meanwhile and is handed to the
 * batch (in order) once the next is full, while that one decodes in turn. */
typedef struct chunk {
    rd_kafka_message_t **raw;
    int n;
    ecom_record *records; /* decoded[i] == 0: records[i] holds raw[i]'s record */
    ecom_error *errors;   /* decoded[i] != 0: why raw[i] is a dead letter */
    int *decoded;
    int *kinds;    /* kinds[i]: raw[i]'s record kind, -1 for none */
    bool decoding; /* started on the workers and not waited for */
} chunk;

/* A closed batch of a stage that writes while the loop consumes: on the writer thread, or
 * written there and not settled yet. */
typedef struct handoff {
    void *batch;                              /* detached from the stage; NULL when none */
    rd_kafka_topic_partition_list_t *offsets; /* committed once the batch is written */
    int msgs;
    int64_t records;
    bool on_writer; /* the writer thread's attempt has not been waited for */
} handoff;

typedef struct loop {
    const ecom_config *cfg;
    const ecom_consume_opts *opts;
    ecom_stage *stage;
    ecom_consume_stats *stats;
    rd_kafka_t *rk;
    int64_t queue_bytes;     /* queued.max.messages.kbytes, in bytes */
    ecom_fetch_waker *waker; /* see fetch_waker.h */
    ecom_producer dlq;
    char dlq_topic[256];
    rd_kafka_topic_partition_list_t *pending; /* next offset to commit per partition */
    partition_hint pending_hint, read_to_hint;
    int batch_msgs;        /* messages in the open batch */
    bool batch_full;       /* the stage said so */
    int64_t batch_records; /* of which valid records */
    double batch_started;
    bool earliest;
    int64_t from_ms;
    rd_kafka_topic_partition_list_t *from_done; /* partitions --from was applied to */
    rd_kafka_topic_partition_list_t *ends;      /* until_end: every partition's end at start */
    rd_kafka_topic_partition_list_t *read_to;   /* next offset to read per partition */
    rd_kafka_topic_partition_list_t *at_start;  /* --from + until_end: the group's commits then,
                                                 * for a stage without positions */
    char run_id[96];                            /* commit metadata: which run committed */
    /* a stage with positions: written offsets not committed yet, and the commits' results */
    rd_kafka_topic_partition_list_t *lag_offsets;
    rd_kafka_queue_t *lag_results;
    double lag_committed_at;
    double others_checked; /* last look at partitions held elsewhere */
    bool waiting_logged;
    bool assigned_once;
    /* what this member holds, as the rebalance callback gave it: read on every turn of the
     * loop, so kept here rather than asked of librdkafka (rd_kafka_assignment() is a round
     * trip to its main thread, a pair of context switches each time) */
    rd_kafka_topic_partition_list_t *assigned;
    bool rewind;             /* the stage asked to drop the open batch and re-seek */
    ecom_background *writer; /* a stage that writes while the loop consumes: its thread */
    handoff handoff;
    /* polled messages not handled yet: `ahead` decoding (or decoded), `fill` polled after it */
    ecom_workers *workers;
    chunk chunks[2];
    chunk *ahead, *fill;
    topic_kind topic_kinds[TOPIC_KINDS];
    int n_topic_kinds;
    int chunk; /* messages decoded together at most */
    bool failed;
    ecom_error failure;
    double started, last_progress, last_idle;
    double memory_returned; /* see return_free_memory */
    int64_t consumed_at_last_progress;
} loop;

/* --batch-size and --batch-ms have no default of their own: each command passes its own to
 * ecom_consume_opts_for. */
#define BATCH_SIZE_HELP                                                                            \
    "messages per batch written to the store [default: " ECOM_TEXT(                                \
        ECOM_BATCH_SIZE_STORE) "; ecom aggregate: " ECOM_TEXT(ECOM_BATCH_SIZE_AGGREGATE) "]"
#define BATCH_MS_HELP                                                                              \
    "longest time a batch stays open [default: " ECOM_TEXT(                                        \
        ECOM_BATCH_MS_STORE) "; ecom aggregate, where it bounds how fresh the counters "           \
                             "are: " ECOM_TEXT(ECOM_BATCH_MS_AGGREGATE) "]"

const ecom_option ecom_consumer_options[] = {
    ECOM_STRING_OPTION("group", 'g', "ECOM_GROUP", group, NULL, "ID",
                       "consumer group [default: ecom-<command>]"),
    ECOM_STRING_OPTION("from", 0, "ECOM_FROM", from, NULL, "earliest|TIME",
                       "replay from the beginning, or from a time (2025-03-01 or "
                       "2025-03-01T12:00:00Z), instead of the committed offsets (ecom aggregate: "
                       "where Redis holds no position yet)"),
    ECOM_FLAG_OPTION("until-end", 'e', "ECOM_UNTIL_END", until_end,
                     "exit 0 once every partition reached the end offset it had at start, all "
                     "written and committed"),
    ECOM_INT_OPTION("batch-size", 0, "ECOM_BATCH_SIZE", batch_size, NULL, 1, 1000000, "N",
                    BATCH_SIZE_HELP),
    ECOM_INT_OPTION("batch-ms", 0, "ECOM_BATCH_MS", batch_ms, NULL, 1, 600000, "MS", BATCH_MS_HELP),
    ECOM_INT_OPTION("decode-threads", 0, "ECOM_DECODE_THREADS", decode_threads, "0", 0, 256, "N",
                    "threads decoding and validating messages (0: one per processor)"),
    ECOM_OPTIONS_END,
};

ecom_consume_opts ecom_consume_opts_for(const ecom_config *cfg, const char *service,
                                        const char *default_group, int default_batch_size,
                                        int default_batch_ms, const ecom_kind *kinds, int n_kinds)
{
    ecom_consume_opts o = {
        .group = cfg->group && *cfg->group ? cfg->group : default_group,
        .kinds = kinds,
        .n_kinds = n_kinds,
        .batch_max = cfg->batch_size ? (int)cfg->batch_size : default_batch_size,
        .batch_ms = cfg->batch_ms ? (int)cfg->batch_ms : default_batch_ms,
        .from = cfg->from && *cfg->from ? cfg->from : NULL,
        .until_end = cfg->until_end,
        .service = service,
        .decode_threads = (int)cfg->decode_threads,
    };
    return o;
}

int ecom_parse_from(const char *from, bool *earliest, int64_t *ms, ecom_error *err)
{
    *earliest = false;
    *ms = 0;
    if (strcmp(from, "earliest") == 0) {
        *earliest = true;
        return 0;
    }
    ecom_time t;
    if (ecom_time_or_date_parse(from, &t, err))
        return ecom_fail(err,
                         "--from: '%s' is neither 'earliest' nor a time like "
                         "2025-03-01 or 2025-03-01T12:00:00Z",
                         from);
    *ms = t * 1000;
    return 0;
}

/* ---- until-end bookkeeping ------------------------------------------------------------------ */

/* `ends` keeps the end offset every partition of the topics had at start; `read_to` how far this
 * process has read each. Kept apart so a rewind below an end makes that partition unfinished
 * again. */
static int ends_add_topic(loop *l, rd_kafka_t *rk, const rd_kafka_metadata_topic_t *topic,
                          ecom_error *err)
{
    for (int p = 0; p < topic->partition_cnt; p++) {
        int32_t partition = topic->partitions[p].id;
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic->topic, partition, &lo, &hi, 30000);
        if (e)
            return ecom_fail(err, "cannot read the end offset of %s [%d]: %s", topic->topic,
                             (int)partition, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_add(l->ends, topic->topic, partition)->offset =
            hi <= lo ? END_EMPTY : hi;
    }
    return 0;
}

/* --from with a stage that keeps no positions: what the group had committed before this run.
 * Those commits say nothing of the replay. */
static int ends_note_commits_at_start(loop *l, rd_kafka_t *rk, ecom_error *err)
{
    l->at_start = rd_kafka_topic_partition_list_copy(l->ends);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l->at_start, 30000);
    if (e)
        return ecom_fail(err, "cannot read the committed offsets of group %s: %s", l->opts->group,
                         rd_kafka_err2str(e));
    return 0;
}

/* The entry of `list` for a message's partition, added when it has none (*added says so). */
static rd_kafka_topic_partition_t *partition_entry(rd_kafka_topic_partition_list_t *list,
                                                   partition_hint *hint,
                                                   const rd_kafka_topic_t *rkt, int32_t partition,
                                                   bool *added)
{
    const char *topic = rd_kafka_topic_name(rkt);
    *added = false;
    if (hint->list == list && hint->rkt == rkt && hint->partition == partition &&
        hint->index < list->cnt) {
        rd_kafka_topic_partition_t *p = &list->elems[hint->index];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    }
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(list, topic, partition);
    if (!p) {
        p = rd_kafka_topic_partition_list_add(list, topic, partition);
        *added = true;
    }
    *hint = (partition_hint){list, rkt, partition, (int)(p - list->elems)};
    return p;
}

static void ends_note(loop *l, const char *topic, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_t *r =
        rd_kafka_topic_partition_list_find(l->read_to, topic, partition);
    if (!r)
        r = rd_kafka_topic_partition_list_add(l->read_to, topic, partition);
    r->offset = next_offset;
}

/* ends_note for the partition of a message (read, or its end reached). */
static void ends_note_read(loop *l, const rd_kafka_message_t *m, int64_t next_offset)
{
    bool added;
    partition_entry(l->read_to, &l->read_to_hint, m->rkt, m->partition, &added)->offset =
        next_offset;
}

static bool same_metadata(const rd_kafka_topic_partition_t *a, const rd_kafka_topic_partition_t *b)
{
    return a->metadata_size == b->metadata_size &&
           (a->metadata_size == 0 || memcmp(a->metadata, b->metadata, a->metadata_size) == 0);
}

/* Whether the group's position of each partition in `others` (held by other members, or by
 * none yet) reached its end: the stage's stored position when it keeps one, else the group's
 * commit, which under --from must have been made after this run began. */
static bool others_finished(loop *l, rd_kafka_topic_partition_list_t *others)
{
    ecom_error err;
    if (l->stage->positions) {
        for (int i = 0; i < others->cnt; i++)
            others->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        if (l->stage->positions(l->stage->ctx, others, &err))
            return false;
    } else if (rd_kafka_committed(l->rk, others, 10000)) {
        return false;
    }
    for (int i = 0; i < others->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &others->elems[i];
        const rd_kafka_topic_partition_t *end =
            rd_kafka_topic_partition_list_find(l->ends, p->topic, p->partition);
        if (p->err || p->offset < end->offset)
            return false;
        const rd_kafka_topic_partition_t *before =
            l->at_start ? rd_kafka_topic_partition_list_find(l->at_start, p->topic, p->partition)
                        : NULL;
        if (before && before->offset == p->offset && same_metadata(before, p))
            return false; /* committed before this replay began, not by it */
    }
    return true;
}

static bool ends_all_reached(loop *l)
{
    if (!l->assigned_once)
        return false;
    rd_kafka_topic_partition_list_t *unread = rd_kafka_topic_partition_list_new(l->ends->cnt);
    for (int i = 0; i < l->ends->cnt; i++) {
        const rd_kafka_topic_partition_t *end = &l->ends->elems[i];
        const rd_kafka_topic_partition_t *r =
            rd_kafka_topic_partition_list_find(l->read_to, end->topic, end->partition);
        if (end->offset != END_EMPTY && (!r || r->offset < end->offset))
            rd_kafka_topic_partition_list_add(unread, end->topic, end->partition);
    }
    bool reached = unread->cnt == 0;
    if (!reached) {
        bool here = false; /* an unread partition is still being read here */
        for (int i = 0; i < unread->cnt && !here; i++)
            here = rd_kafka_topic_partition_list_find(l->assigned, unread->elems[i].topic,
                                                      unread->elems[i].partition) != NULL;
        double now = ecom_monotonic();
        if (!here && now - l->others_checked >= 1.0) {
            l->others_checked = now;
            reached = others_finished(l, unread);
            if (!reached && !l->waiting_logged) {
                l->waiting_logged = true;
                ecom_log(ECOM_INFO,
                         "every partition held here is read; waiting for the others to reach "
                         "their end (held by another member, or by one that died until its "
                         "session expires)",
                         "service=\"%s\" partitions=%d", l->opts->service, unread->cnt);
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(unread);
    return reached;
}

/* ---- batches -------------------------------------------------------------------------------- */

static void batch_clear(loop *l)
{
    rd_kafka_topic_partition_list_destroy(l->pending);
    l->pending = rd_kafka_topic_partition_list_new(16);
    l->batch_msgs = 0;
    l->batch_records = 0;
    l->batch_full = false;
}

/* Drops the open batch unwritten, in whichever way the stage holds it. */
static void stage_reset(loop *l)
{
    if (l->writer)
        l->stage->release(l->stage->ctx, l->stage->detach(l->stage->ctx));
    else
        l->stage->reset(l->stage->ctx);
}

/* Waits until every dead letter sent so far is acknowledged by Kafka. */
static int dead_letters_delivered(loop *l, ecom_error *err)
{
    if (l->dlq.rk && l->dlq.sent > l->dlq.delivered + l->dlq.failed)
        return ecom_producer_flush(&l->dlq, 30000, err);
    if (l->dlq.failed)
        return ecom_fail(err, "dead-letter delivery failed: %s", l->dlq.first_error);
    return 0;
}

/* One attempt to make the open batch durable: the store, then the dead letters. */
static ecom_stage_result batch_write(loop *l, ecom_error *err)
{
    ecom_stage_result rc = l->stage->flush(l->stage->ctx, l->pending, err);
    if (rc != ECOM_STAGE_WRITTEN)
        return rc < 0 ? ECOM_STAGE_RETRY : rc;
    return dead_letters_delivered(l, err) ? ECOM_STAGE_RETRY : ECOM_STAGE_WRITTEN;
}

/* A partition's entry in a list to commit: which run committed it (commit metadata). */
static void mark_run(const loop *l, rd_kafka_topic_partition_t *p)
{
    p->metadata = ecom_xstrdup(l->run_id); /* freed with the list */
    p->metadata_size = strlen(l->run_id);
}

static void lag_commit_failed(rd_kafka_resp_err_t e)
{
    ecom_log(ECOM_WARN,
             "offset commit failed; it only shows the group's lag, positions are in the store",
             "error=\"%s\"", rd_kafka_err2str(e));
}

static void on_lag_commit(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                          rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    (void)offsets;
    (void)opaque;
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        lag_commit_failed(e);
}

/* A stage with positions: commits the written offsets gathered so far, waiting for it (`wait`)
 * or, at most once every LAG_COMMIT_EVERY_S, not. */
static void lag_commit(loop *l, bool wait)
{
    if (!l->lag_offsets)
        return;
    if (l->lag_results)
        rd_kafka_queue_poll_callback(l->lag_results, 0); /* the results of earlier commits */
    if (l->lag_offsets->cnt == 0 ||
        (!wait && ecom_monotonic() - l->lag_committed_at < LAG_COMMIT_EVERY_S))
        return;
    rd_kafka_resp_err_t e =
        wait ? rd_kafka_commit(l->rk, l->lag_offsets, 0)
             : rd_kafka_commit_queue(l->rk, l->lag_offsets, l->lag_results, on_lag_commit, NULL);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        lag_commit_failed(e);
    rd_kafka_topic_partition_list_destroy(l->lag_offsets);
    l->lag_offsets = rd_kafka_topic_partition_list_new(8);
    l->lag_committed_at = ecom_monotonic();
}

static int offsets_commit(loop *l, const rd_kafka_topic_partition_list_t *offsets)
{
    if (offsets->cnt == 0)
        return 0;
    if (l->lag_offsets) {
        for (int i = 0; i < offsets->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &offsets->elems[i];
            rd_kafka_topic_partition_t *q =
                rd_kafka_topic_partition_list_find(l->lag_offsets, p->topic, p->partition);
            if (!q) {
                q = rd_kafka_topic_partition_list_add(l->lag_offsets, p->topic, p->partition);
                mark_run(l, q);
            }
            q->offset = p->offset;
        }
        lag_commit(l, false);
        return 0;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(l->rk, offsets, 0);
    if (e) {
        /* The batch is written; a failed commit only means it will be re-delivered (and
         * re-written, harmlessly) after the rebalance that caused it. */
        ecom_log(ECOM_WARN, "offset commit failed; the batch will be re-delivered", "error=\"%s\"",
                 rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Gives the heap's free pages back to the system, at most every RETURN_MEMORY_EVERY_S. Fetch
 * buffers and a batch's argument text come and go by the megabyte, and glibc keeps the pages
 * they leave (it raises its mmap threshold past a freed block's size, so the next ones come
 * from the heap): a seed-scale backfill's peak resident memory was 3-5 MB higher without this. */
static void return_free_memory(loop *l)
{
#ifdef __GLIBC__
    double now = ecom_monotonic();
    if (now - l->memory_returned < RETURN_MEMORY_EVERY_S)
        return;
    l->memory_returned = now;
    malloc_trim(0); /* (about a millisecond, 2 at most, at a backfill's heap of 40 MB) */
#else
    (void)l;
#endif
}

/* The open batch is written: commit it and start the next. */
static void batch_finish(loop *l)
{
    offsets_commit(l, l->pending);
    l->stats->batches++;
    l->stats->stored += l->batch_records;
    batch_clear(l);
    return_free_memory(l);
}

static void pause_all(loop *l, bool pause)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(l->rk, &assigned) || !assigned)
        return;
    if (pause)
        rd_kafka_pause_partitions(l->rk, assigned);
    else
        rd_kafka_resume_partitions(l->rk, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
}

/* For the retry loop: -1 to try again, 0 when done (written, or a rewind or failure noted). */
static int batch_write_attempt(void *arg, ecom_error *err)
{
    loop *l = arg;
    switch (batch_write(l, err)) {
    case ECOM_STAGE_WRITTEN:
        return 0;
    case ECOM_STAGE_RETRY:
        return -1;
    case ECOM_STAGE_REWIND:
        l->rewind = true; /* not a failure: nothing to retry */
        return 0;
    case ECOM_STAGE_FATAL:
        l->failed = true; /* retrying cannot help */
        ecom_fail(&l->failure, "%s: %s", l->opts->service, err->msg);
        return 0;
    }
    return -1;
}

static void batch_outage(void *arg, bool begins)
{
    pause_all(arg, begins); /* nothing new is fetched while the batch cannot be written */
}

/* Asks the stage where the given partitions start (when it keeps its own positions). */
static int stage_positions(loop *l, rd_kafka_topic_partition_list_t *parts)
{
    ecom_error err;
    if (!l->stage->positions || l->stage->positions(l->stage->ctx, parts, &err) == 0)
        return 0;
    l->failed = true;
    ecom_fail(&l->failure, "%s: cannot read the stored positions: %s", l->opts->service, err.msg);
    return -1;
}

/* The stage's store is not where this batch continues from: drop the batch and seek every
 * assigned partition to the position the store holds. */
static int rewind_to_stage(loop *l)
{
    l->rewind = false;
    l->stats->rewinds++;
    ecom_log(ECOM_INFO, "store position moved; dropping the batch and re-reading from it",
             "service=\"%s\" batch=%d", l->opts->service, l->batch_msgs);
    stage_reset(l);
    batch_clear(l); /* (chunk_handle drops the rest of its chunk on seeing the rewind) */
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(l->rk, &assigned) || !assigned)
        return 0;
    for (int i = 0; i < assigned->cnt; i++)
        assigned->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    int rc = stage_positions(l, assigned);
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(assigned->cnt);
    for (int i = 0; rc == 0 && i < assigned->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &assigned->elems[i];
        if (p->offset == RD_KAFKA_OFFSET_INVALID)
            continue; /* the stage has no say here: keep reading where we are */
        rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset = p->offset;
        ends_note(l, p->topic, p->partition, p->offset >= 0 ? p->offset : 0);
    }
    if (rc == 0 && seek->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(l->rk, seek, 30000);
        if (e) {
            l->failed = true;
            ecom_fail(&l->failure, "%s: cannot seek to the stored positions: %s", l->opts->service,
                      rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    rd_kafka_topic_partition_list_destroy(assigned);
    return rc;
}

static int batch_hand_off(loop *l);

/* Runs attempt until it succeeds, retrying while the store is unavailable; fails only when asked
 * to stop during an outage, saying that `unwritten` messages were neither written nor
 * committed. */
static int retry_until_written(loop *l, int (*attempt)(void *arg, ecom_error *err), int unwritten)
{
    ecom_error err;
    ecom_retry retry = {
        .what = l->opts->service, .attempt = attempt, .arg = l, .on_outage = batch_outage};
    int rc = ecom_retry_run(&retry, &err);
    l->stats->retries += retry.failures;
    if (rc) {
        l->failed = true;
        ecom_fail(&l->failure,
                  "stopped while the store was unavailable; %d message(s) not written and not "
                  "committed, they will be read again on restart (%s)",
                  unwritten, err.msg);
    }
    return rc ? -1 : 0;
}

/* Writes and commits the open batch, retrying while the store is unavailable; for a stage that
 * writes while the loop consumes, hands it to the writer thread instead. Fails only when asked
 * to stop during an outage. */
static int batch_close(loop *l)
{
    if (l->batch_msgs == 0)
        return 0;
    if (l->writer)
        return batch_hand_off(l);
    if (retry_until_written(l, batch_write_attempt, l->batch_msgs))
        return -1;
    if (l->failed)
        return -1;
    if (l->rewind)
        return rewind_to_stage(l);
    batch_finish(l);
    return 0;
}

/* ---- writing while consuming ---------------------------------------------------------------- */

/* The writer thread's job: one attempt at the batch handed over (its ecom_stage_result is the
 * job's int). */
static int handoff_write_job(void *arg, ecom_error *err)
{
    loop *l = arg;
    return l->stage->write(l->stage->ctx, l->handoff.batch, l->handoff.offsets, err);
}

/* One attempt to make the handed-over batch durable: first the writer thread's (waited for
 * here), then, on a retry, one on this thread; then the dead letters. */
static int handoff_attempt(void *arg, ecom_error *err)
{
    loop *l = arg;
    handoff *h = &l->handoff;
    ecom_stage_result rc = h->on_writer ? (ecom_stage_result)ecom_background_wait(l->writer, err)
                                        : l->stage->write(l->stage->ctx, h->batch, h->offsets, err);
    h->on_writer = false;
    if (rc == ECOM_STAGE_FATAL) {
        l->failed = true; /* retrying cannot help */
        ecom_fail(&l->failure, "%s: %s", l->opts->service, err->msg);
        return 0;
    }
    if (rc == ECOM_STAGE_REWIND) {
        l->rewind = true; /* not a failure: nothing to retry */
        return 0;
    }
    return rc == ECOM_STAGE_WRITTEN ? dead_letters_delivered(l, err) : -1;
}

/* Gives the handed-over batch back to the stage, written or not, and forgets it. */
static void handoff_release(loop *l)
{
    handoff *h = &l->handoff;
    if (h->on_writer) {
        ecom_error ignored;
        ecom_background_wait(l->writer, &ignored);
    }
    l->stage->release(l->stage->ctx, h->batch);
    rd_kafka_topic_partition_list_destroy(h->offsets);
    memset(h, 0, sizeof *h);
}

/* The handed-over batch is written: commit it and count it. */
static void handoff_finish(loop *l)
{
    offsets_commit(l, l->handoff.offsets);
    l->stats->batches++;
    l->stats->stored += l->handoff.records;
    handoff_release(l);
    return_free_memory(l);
}

/* Waits for the batch on the writer thread and commits it, retrying it here while the store is
 * unavailable. When the store's position had moved on, drops it and the open batch (which
 * continues it) and re-reads from the store's position. Fails only when asked to stop during
 * an outage (or on a fatal error). */
static int handoff_settle(loop *l)
{
    if (!l->handoff.batch)
        return 0;
    if (retry_until_written(l, handoff_attempt, l->handoff.msgs + l->batch_msgs))
        return -1;
    if (l->failed)
        return -1;
    if (l->rewind) {
        handoff_release(l);
        return rewind_to_stage(l);
    }
    handoff_finish(l);
    return 0;
}

/* Takes the result of the batch on the writer thread without retrying it (a rebalance lets go
 * of its partitions): 0 when it is written and committed. */
static int handoff_settle_once(loop *l, ecom_error *err)
{
    if (!l->handoff.batch)
        return 0;
    if (handoff_attempt(l, err) || l->failed)
        return -1;
    if (l->rewind) { /* the partitions' next owner reads from the store's position */
        l->rewind = false;
        ecom_fail(err, "the store's position had moved on");
        return -1;
    }
    handoff_finish(l);
    return 0;
}

/* Settles the batch in flight, then hands the open one to the writer thread and opens the
 * next (unless settling dropped it). */
static int batch_hand_off(loop *l)
{
    if (handoff_settle(l))
        return -1;
    if (l->batch_msgs == 0)
        return 0; /* a rewind dropped it */
    handoff *h = &l->handoff;
    h->batch = l->stage->detach(l->stage->ctx);
    h->offsets = l->pending;
    h->msgs = l->batch_msgs;
    h->records = l->batch_records;
    h->on_writer = true;
    l->pending = rd_kafka_topic_partition_list_new(16);
    l->batch_msgs = 0;
    l->batch_records = 0;
    l->batch_full = false;
    ecom_background_start(l->writer, handoff_write_job, l);
    return 0;
}

/* ---- dead letters --------------------------------------------------------------------------- */

static int dead_letter(loop *l, const rd_kafka_message_t *m, const char *reason)
{
    ecom_error err;
    if (!l->dlq.rk && ecom_producer_open(&l->dlq, l->cfg, ECOM_LINGER_MS_BULK, &err)) {
        l->failed = true;
        ecom_fail(&l->failure, "cannot open the dead-letter producer: %s", err.msg);
        return -1;
    }
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%d", (int)m->partition);
    snprintf(offset, sizeof offset, "%lld", (long long)m->offset);
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_headers_t *headers = rd_kafka_headers_new(5);
    rd_kafka_header_add(headers, "source_topic", -1, topic, -1);
    rd_kafka_header_add(headers, "consumer_group", -1, l->opts->group, -1);
    rd_kafka_header_add(headers, "source_partition", -1, partition, -1);
    rd_kafka_header_add(headers, "source_offset", -1, offset, -1);
    /* the reason quotes input escaped already; this keeps the header printable whatever it holds */
    char printable[4 * ECOM_ERROR_MAX];
    ecom_escape_append(printable, sizeof printable, 0, reason, strlen(reason), NULL);
    rd_kafka_header_add(headers, "error", -1, printable, -1);
    if (ecom_producer_send_with_headers(&l->dlq, l->dlq_topic, m->key, m->key_len, m->payload,
                                        m->len, headers, &err)) {
        l->failed = true;
        ecom_fail(&l->failure, "cannot queue dead letter: %s", err.msg);
        return -1;
    }
    l->stats->dead_letters++;
    if (l->stage->dead_letter)
        l->stage->dead_letter(l->stage->ctx, m);
    ecom_log(ECOM_WARN, "dead letter", "topic=%s partition=%d offset=%lld error=\"%s\"", topic,
             (int)m->partition, (long long)m->offset, reason);
    return 0;
}

/* ---- messages ------------------------------------------------------------------------------- */

static void pending_note(loop *l, const rd_kafka_message_t *m)
{
    bool added;
    rd_kafka_topic_partition_t *p =
        partition_entry(l->pending, &l->pending_hint, m->rkt, m->partition, &added);
    if (added)
        mark_run(l, p);
    p->offset = m->offset + 1;
    if (l->batch_msgs++ == 0)
        l->batch_started = ecom_monotonic();
}

/* Handles one message in order, once decoded (rc, rec, err from decode_one). */
static void handle_message(loop *l, rd_kafka_message_t *m, int rc, const ecom_record *rec,
                           const ecom_error *decode_err)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ends_note_read(l, m, m->offset);
        return;
    }
    if (m->err) {
        ecom_log(ECOM_WARN, "consume error", "topic=%s partition=%d error=\"%s\"", topic,
                 (int)m->partition, rd_kafka_message_errstr(m));
        return;
    }
    l->stats->consumed++;
    ecom_error err;
    if (rc) {
        dead_letter(l, m, decode_err->msg);
    } else {
        int added = l->stage->add(l->stage->ctx, rec, m, &err);
        if (added < 0) {
            l->failed = true;
            ecom_fail(&l->failure, "%s: %s", l->opts->service, err.msg);
            return;
        }
        l->batch_records++;
        l->batch_full |= added > 0;
    }
    pending_note(l, m);
    ends_note_read(l, m, m->offset + 1);
}

/* Decodes raw[i] into records[i] (or the reason into errors[i]) of a chunk; runs on any worker. */
static void decode_one(void *arg, int i)
{
    chunk *c = arg;
    const rd_kafka_message_t *m = c->raw[i];
    if (m->err)
        return;
    int kind = c->kinds[i];
    if (kind < 0)
        c->decoded[i] = ecom_fail(&c->errors[i], "topic %s holds no known record kind",
                                  rd_kafka_topic_name(m->rkt));
    else
        c->decoded[i] =
            ecom_record_decode((ecom_kind)kind, m->payload, m->len, &c->records[i], &c->errors[i]);
}

static void chunk_init(chunk *c, int cap)
{
    c->raw = ecom_xcalloc((size_t)cap, sizeof *c->raw);
    c->n = 0;
    c->records = ecom_xmalloc(sizeof *c->records * (size_t)cap);
    c->errors = ecom_xmalloc(sizeof *c->errors * (size_t)cap);
    c->decoded = ecom_xcalloc((size_t)cap, sizeof *c->decoded);
    c->kinds = ecom_xcalloc((size_t)cap, sizeof *c->kinds);
    c->decoding = false;
}

static void chunk_free(chunk *c)
{
    free(c->raw);
    free(c->records);
    free(c->errors);
    free(c->decoded);
    free(c->kinds);
}

/* The record kind of a message's topic (on the loop's thread: the workers only read the result). */
static int kind_of_message(loop *l, const rd_kafka_message_t *m)
{
    for (int i = 0; i < l->n_topic_kinds; i++)
        if (l->topic_kinds[i].rkt == m->rkt)
            return l->topic_kinds[i].kind;
    int kind = ecom_kind_of_topic(l->cfg, rd_kafka_topic_name(m->rkt));
    if (l->n_topic_kinds < TOPIC_KINDS)
        l->topic_kinds[l->n_topic_kinds++] = (topic_kind){m->rkt, kind};
    return kind;
}

/* Starts decoding a chunk on the workers (which are free: one chunk decodes at a time). */
static void chunk_decode_start(loop *l, chunk *c)
{
    for (int i = 0; i < c->n; i++)
        c->kinds[i] = c->raw[i]->err ? -1 : kind_of_message(l, c->raw[i]);
    ecom_workers_start(l->workers, c->n, decode_one, c);
    c->decoding = true;
}

/* Waits until a chunk is decoded, taking part in what is left of it. */
static void chunk_decoded(loop *l, chunk *c)
{
    if (c->decoding)
        ecom_workers_finish(l->workers);
    c->decoding = false;
}

/* Drops a chunk's messages from `from` on, unhandled: they are read again from the position the
 * loop seeks to (or from the last commit). */
static void chunk_drop(loop *l, chunk *c, int from)
{
    chunk_decoded(l, c); /* (the workers may be reading them) */
    for (int i = from; i < c->n; i++)
        rd_kafka_message_destroy(c->raw[i]);
    c->n = 0;
}

/* Hands a chunk's messages, once decoded, to the batch in their order, closing the batch
 * whenever it is full. What a rewind or a failure leaves unhandled is dropped; false then. */
static bool chunk_handle(loop *l, chunk *c)
{
    chunk_decoded(l, c);
    int64_t rewinds = l->stats->rewinds;
    int i = 0;
    for (; i < c->n && !l->failed && l->stats->rewinds == rewinds; i++) {
        handle_message(l, c->raw[i], c->decoded[i], &c->records[i], &c->errors[i]);
        rd_kafka_message_destroy(c->raw[i]);
        if (l->batch_msgs >= l->opts->batch_max || l->batch_full)
            batch_close(l);
    }
    chunk_drop(l, c, i);
    return !l->failed && l->stats->rewinds == rewinds;
}

/* Whether polled messages wait to be handled. */
static bool raw_pending(const loop *l)
{
    return l->fill->n > 0 || l->ahead->n > 0;
}

static void raw_drop(loop *l)
{
    chunk_drop(l, l->ahead, 0);
    chunk_drop(l, l->fill, 0);
}

/* The chunk being filled is full, and more may be waiting: it starts decoding while the loop
 * hands the one before it to the batch. A rewind or a failure there drops it too (it was read
 * before the seek). */
static void raw_advance(loop *l)
{
    chunk *before = l->ahead, *next = l->fill;
    chunk_decoded(l, before);
    chunk_decode_start(l, next);
    l->ahead = next;
    l->fill = before;
    if (before->n && !chunk_handle(l, before))
        chunk_drop(l, next, 0);
}

/* Everything polled goes to the batch now: the chunk ahead, then the one being filled. */
static void raw_handle(loop *l)
{
    if (l->ahead->n && !chunk_handle(l, l->ahead)) {
        chunk_drop(l, l->fill, 0);
        return;
    }
    if (l->fill->n == 0)
        return;
    chunk_decode_start(l, l->fill);
    chunk_handle(l, l->fill);
}

/* ---- group membership ----------------------------------------------------------------------- */

/* --from: the partitions of `parts` this process is given for the first time start at the
 * beginning or at the offset for that time; the others continue from the group's commit. */
static void apply_from(loop *l, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *fresh = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (rd_kafka_topic_partition_list_find(l->from_done, p->topic, p->partition))
            continue;
        rd_kafka_topic_partition_list_add(l->from_done, p->topic, p->partition);
        rd_kafka_topic_partition_list_add(fresh, p->topic, p->partition)->offset =
            l->earliest ? RD_KAFKA_OFFSET_BEGINNING : l->from_ms;
    }
    if (fresh->cnt && !l->earliest) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(l->rk, fresh, 30000);
        if (e)
            ecom_log(ECOM_WARN, "offsets for --from time failed, starting at the beginning",
                     "error=\"%s\"", rd_kafka_err2str(e));
        for (int i = 0; i < fresh->cnt; i++)
            if (e || fresh->elems[i].offset < 0)
                fresh->elems[i].offset = e ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    }
    for (int i = 0; i < fresh->cnt; i++) {
        const rd_kafka_topic_partition_t *f = &fresh->elems[i];
        rd_kafka_topic_partition_list_find(parts, f->topic, f->partition)->offset = f->offset;
    }
    if (fresh->cnt)
        ecom_log(ECOM_INFO, "replaying", "from=%s partitions=%d", l->opts->from, fresh->cnt);
    rd_kafka_topic_partition_list_destroy(fresh);
}

/* Partitions revoked: the open batch is written once, without retrying (their next owner
 * re-reads what is not committed), and committed if that succeeded, else dropped. */
static void revoked_flush(loop *l)
{
    ecom_error err;
    ecom_stage_result written = l->batch_msgs ? batch_write(l, &err) : ECOM_STAGE_RETRY;
    if (written == ECOM_STAGE_REWIND)
        ecom_fail(&err, "the store's position had moved on");
    if (written == ECOM_STAGE_FATAL) {
        l->failed = true;
        l->failure = err;
    }
    if (written == ECOM_STAGE_WRITTEN) {
        batch_finish(l);
    } else if (l->batch_msgs) {
        ecom_log(ECOM_WARN, "partitions revoked with an unwritten batch; it will be re-read",
                 "error=\"%s\" batch=%d", err.msg, l->batch_msgs);
        stage_reset(l);
        batch_clear(l);
    }
}

/* The same for a stage that writes while the loop consumes: the write in flight is waited for
 * and committed if it succeeded, then the open batch is written once; after a failure neither
 * it nor anything later is committed. */
static void revoked_hand_off(loop *l)
{
    ecom_error err;
    int written = handoff_settle_once(l, &err);
    if (written == 0 && l->batch_msgs) {
        batch_hand_off(l); /* nothing in flight now: starts at once */
        written = handoff_settle_once(l, &err);
    }
    if (written == 0)
        return;
    ecom_log(ECOM_WARN, "partitions revoked with an unwritten batch; it will be re-read",
             "error=\"%s\" batch=%d", err.msg, l->handoff.msgs + l->batch_msgs);
    if (l->handoff.batch)
        handoff_release(l);
    if (l->batch_msgs) {
        stage_reset(l);
        batch_clear(l);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    loop *l = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (l->opts->from)
            apply_from(l, parts);
        if (stage_positions(l, parts))
            parts = NULL; /* cannot tell where to start: take nothing, the loop stops */
        l->assigned_once = true;
        ecom_log(ECOM_INFO, "partitions assigned", "service=\"%s\" count=%d", l->opts->service,
                 parts ? parts->cnt : 0);
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(l->assigned);
        l->assigned = parts ? rd_kafka_topic_partition_list_copy(parts)
                            : rd_kafka_topic_partition_list_new(0);
        return;
    }
    /* revoked (or an error): finish what we hold if we can, then let go */
    raw_handle(l);
    if (l->writer)
        revoked_hand_off(l);
    else
        revoked_flush(l);
    lag_commit(l, true); /* (while the partitions are still this member's) */
    ecom_log(ECOM_INFO, "partitions revoked", "service=\"%s\" count=%d", l->opts->service,
             parts->cnt);
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(l->assigned);
    l->assigned = rd_kafka_topic_partition_list_new(0);
}

/* ---- the loop ------------------------------------------------------------------------------- */

static int64_t current_lag(loop *l)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(l->rk, &assigned) || !assigned)
        return -1;
    rd_kafka_position(l->rk, assigned);
    int64_t lag = 0;
    for (int i = 0; i < assigned->cnt; i++) {
        int64_t lo, hi;
        const rd_kafka_topic_partition_t *p = &assigned->elems[i];
        if (rd_kafka_get_watermark_offsets(l->rk, p->topic, p->partition, &lo, &hi) == 0 &&
            p->offset >= 0 && hi > p->offset)
            lag += hi - p->offset;
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    return lag;
}

static void log_progress(loop *l, bool final)
{
    double now = ecom_monotonic();
    if (!final && now - l->last_progress < PROGRESS_EVERY_S)
        return;
    double window = now - l->last_progress;
    ecom_log(ECOM_INFO, final ? "finished" : "progress",
             "service=\"%s\" consumed=%lld stored=%lld dead_letters=%lld batches=%lld "
             "rewinds=%lld seconds=%.1f rate_per_s=%.0f lag=%lld",
             l->opts->service, (long long)l->stats->consumed, (long long)l->stats->stored,
             (long long)l->stats->dead_letters, (long long)l->stats->batches,
             (long long)l->stats->rewinds, now - l->started,
             final ? (double)l->stats->consumed / (now - l->started + 1e-9)
                   : (double)(l->stats->consumed - l->consumed_at_last_progress) / window,
             (long long)current_lag(l));
    l->last_progress = now;
    l->consumed_at_last_progress = l->stats->consumed;
}

/* Subscribing to a topic that does not exist waits forever without a word; say so instead.
 * With --until-end, also takes every partition's end offset (and, with --from, the group's
 * commits) before joining the group. */
static int check_topics(loop *l, rd_kafka_t *rk, ecom_error *err)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    if (e)
        return ecom_fail(err, "no metadata from Kafka at %s: %s", l->cfg->brokers,
                         rd_kafka_err2str(e));
    int rc = 0;
    for (int i = 0; i < l->opts->n_kinds && rc == 0; i++) {
        char name[256];
        const rd_kafka_metadata_topic_t *found = NULL;
        ecom_topic_name(l->cfg, ecom_kind_topic(l->opts->kinds[i]), name, sizeof name);
        for (int t = 0; t < md->topic_cnt && !found; t++)
            if (strcmp(md->topics[t].topic, name) == 0 && md->topics[t].err == 0)
                found = &md->topics[t];
        if (!found)
            rc = ecom_fail(err,
                           "topic %s does not exist; create the topics with `ecom init` "
                           "(and check --topic-prefix)",
                           name);
        else if (l->opts->until_end)
            rc = ends_add_topic(l, rk, found, err);
    }
    if (rc == 0 && l->opts->until_end && l->opts->from && !l->stage->positions)
        rc = ends_note_commits_at_start(l, rk, err);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static rd_kafka_t *open_consumer(loop *l, ecom_error *err)
{
    /* what is fetched ahead; one fetch may overshoot it, so a fetch is at most half of it */
    int queue_kb = l->opts->prefetch_kbytes > 0 ? l->opts->prefetch_kbytes : ECOM_PREFETCH_KBYTES;
    long long fetch_bytes = (long long)queue_kb * 1024 / 2;
    char queue[24], fetch[24];
    snprintf(queue, sizeof queue, "%d", queue_kb);
    snprintf(fetch, sizeof fetch, "%lld", fetch_bytes < 52428800 ? fetch_bytes : 52428800);
    const char *defaults[24] = {
        "group.id",
        l->opts->group,
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "auto.offset.reset",
        "earliest",
        "enable.partition.eof",
        l->opts->until_end ? "true" : "false",
        "fetch.max.bytes",
        fetch,
        "queued.max.messages.kbytes",
        queue,
        /* a member that died is replaced after 10 s instead of librdkafka's 45 */
        "session.timeout.ms",
        "10000",
        "heartbeat.interval.ms",
        "3000",
    };
    int n = 0;
    while (defaults[n])
        n++;
    if (l->opts->latency_first) {
        defaults[n++] = "fetch.wait.max.ms";
        defaults[n++] = FRESH_FETCH_WAIT_MS;
    }
    if (l->opts->instance_id) {
        defaults[n++] = "group.instance.id";
        defaults[n++] = l->opts->instance_id;
    }
    rd_kafka_conf_t *conf = ecom_kafka_conf(l->cfg, defaults, err);
    if (!conf)
        return NULL;
    char value[32];
    size_t value_size = sizeof value;
    l->queue_bytes = rd_kafka_conf_get(conf, "queued.max.messages.kbytes", value, &value_size) ==
                             RD_KAFKA_CONF_OK
                         ? strtoll(value, NULL, 10) * 1000 /* librdkafka's kilobyte */
                         : (int64_t)queue_kb * 1000;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, l);
    rd_kafka_t *rk = ecom_kafka_new(RD_KAFKA_CONSUMER, conf, err);
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    if (check_topics(l, rk, err)) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(l->opts->n_kinds);
    for (int i = 0; i < l->opts->n_kinds; i++) {
        char name[256];
        ecom_topic_name(l->cfg, ecom_kind_topic(l->opts->kinds[i]), name, sizeof name);
        rd_kafka_topic_partition_list_add(topics, name, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        rd_kafka_destroy(rk);
        ecom_fail(err, "cannot subscribe: %s", rd_kafka_err2str(e));
        return NULL;
    }
    return rk;
}

/* Whether to close the open batch now: it is full or old enough, or an --until-end run has
 * read everything. While a batch is being written an old one keeps filling instead, and is
 * handed over once the writer is free or it is full. An idle writer takes a batch as soon as it
 * holds a decoded chunk, so a backfill's first write starts early and later batches grow to
 * what the store takes while the loop consumes. Latency first, it takes the batch as soon as
 * the loop has read all there is (`got` is false: the last poll found nothing); while more
 * is waiting the batch grows to its size or age, as few large batches cost the store far less
 * than many small ones. */
static bool batch_due(loop *l, bool got)
{
    if (l->batch_msgs == 0 || l->fill->n)
        return false;
    if (l->batch_msgs >= l->opts->batch_max || l->batch_full)
        return true;
    if (l->handoff.batch && !ecom_background_finished(l->writer))
        return false;
    if (l->writer && (l->opts->latency_first ? !got : l->batch_msgs >= l->chunk))
        return true;
    if (ecom_monotonic() - l->batch_started >= l->opts->batch_ms / 1000.0)
        return true;
    return l->opts->until_end && !got && ends_all_reached(l);
}

/* Messages waiting to be decoded: take what is ready. A batch being written: look again soon,
 * to commit it and hand over the next once it is done. */
static int poll_timeout(const loop *l)
{
    if (raw_pending(l))
        return 0;
    return l->handoff.batch ? POLL_WRITING_MS : POLL_MS;
}

static void stage_idle(loop *l, bool got)
{
    /* (never beside a write: the idle work may use the store) */
    if (got || l->batch_msgs || l->handoff.batch || !l->stage->idle ||
        ecom_monotonic() - l->last_idle < l->opts->batch_ms / 1000.0)
        return;
    l->last_idle = ecom_monotonic();
    ecom_error err;
    if (l->stage->idle(l->stage->ctx, &err)) {
        l->failed = true;
        ecom_fail(&l->failure, "%s: %s", l->opts->service, err.msg);
    }
}

void ecom_consume_stats_add(ecom_consume_stats *total, const ecom_consume_stats *more)
{
    total->consumed += more->consumed;
    total->stored += more->stored;
    total->dead_letters += more->dead_letters;
    total->batches += more->batches;
    total->retries += more->retries;
    total->rewinds += more->rewinds;
    total->seconds += more->seconds;
}

int ecom_consume(const ecom_config *cfg, const ecom_consume_opts *opts, ecom_stage *stage,
                 ecom_consume_stats *stats, ecom_error *err)
{
    /* a stage writes on the loop's thread (flush, reset) or while it consumes (detach, write,
     * release) */
    assert(stage->write ? stage->detach && stage->release : stage->flush && stage->reset);
    loop l;
    memset(&l, 0, sizeof l);
    memset(stats, 0, sizeof *stats);
    l.cfg = cfg;
    l.opts = opts;
    l.stage = stage;
    l.stats = stats;
    if (opts->from && ecom_parse_from(opts->from, &l.earliest, &l.from_ms, err))
        return -1;
    ecom_topic_name(cfg, ECOM_TOPIC_DLQ, l.dlq_topic, sizeof l.dlq_topic);
    l.pending = rd_kafka_topic_partition_list_new(16);
    l.ends = rd_kafka_topic_partition_list_new(16);
    l.read_to = rd_kafka_topic_partition_list_new(16);
    l.from_done = rd_kafka_topic_partition_list_new(16);
    l.assigned = rd_kafka_topic_partition_list_new(0);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(l.run_id, sizeof l.run_id, "%s on %s pid %ld at %lld", opts->service, host,
             (long)getpid(), (long long)ecom_now());
    json_object_seed(0); /* before any thread builds JSON objects */
    l.workers = ecom_workers_new(opts->decode_threads > 0 ? opts->decode_threads
                                                          : ecom_workers_default_threads());
    l.chunk = opts->batch_max < DECODE_CHUNK ? opts->batch_max : DECODE_CHUNK;
    for (int i = 0; i < 2; i++)
        chunk_init(&l.chunks[i], l.chunk);
    l.ahead = &l.chunks[0];
    l.fill = &l.chunks[1];
    if (stage->write)
        l.writer = ecom_background_new();
    l.started = l.last_progress = ecom_monotonic();
    l.rk = open_consumer(&l, err);
    int rc = l.rk ? 0 : -1;
    if (l.rk && stage->positions) {
        l.lag_offsets = rd_kafka_topic_partition_list_new(8);
        l.lag_results = rd_kafka_queue_new(l.rk);
    }
    if (l.rk)
        l.waker = ecom_fetch_waker_new(l.rk, l.queue_bytes);
    while (rc == 0 && !l.failed && !ecom_stop_requested()) {
        /* collect what is ready, up to a chunk; decode the chunk once the queue is empty */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l.rk, poll_timeout(&l));
        bool got = m != NULL;
        if (m) {
            l.fill->raw[l.fill->n++] = m;
            ecom_fetch_waker_read(l.waker, (int64_t)(m->len + m->key_len));
        } else {
            ecom_fetch_waker_empty(l.waker, l.assigned);
        }
        if (l.fill->n == l.chunk)
            raw_advance(&l);
        else if (!m && raw_pending(&l))
            raw_handle(&l);
        if (l.dlq.rk)
            ecom_producer_poll(&l.dlq);
        if (l.handoff.batch && ecom_background_finished(l.writer)) {
            int64_t rewinds = stats->rewinds;
            handoff_settle(&l); /* commit a written batch at once */
            if (stats->rewinds != rewinds)
                raw_drop(&l); /* read before the seek: read again from the store's position */
        }
        if (batch_due(&l, got))
            batch_close(&l);
        /* (not while a write is in flight: its outcome may be a rewind to read again) */
        if (opts->until_end && l.batch_msgs == 0 && !l.handoff.batch && ends_all_reached(&l))
            break;
        stage_idle(&l, got);
        if (!raw_pending(&l)) /* (not for every message collected: it reads the clock) */
            log_progress(&l, false);
    }
    if (rc == 0 && !l.failed)
        raw_handle(&l);
    if (rc == 0 && !l.failed)
        batch_close(&l); /* what was consumed before the stop is written and committed */
    if (rc == 0 && !l.failed)
        handoff_settle(&l);
    if (l.handoff.batch)
        handoff_release(&l); /* unwritten after a failure, and uncommitted */
    stats->seconds = ecom_monotonic() - l.started;
    ecom_fetch_waker_free(l.waker);
    if (l.rk) {
        lag_commit(&l, true);
        log_progress(&l, true);
        rd_kafka_consumer_close(l.rk);
        if (l.lag_results)
            rd_kafka_queue_destroy(l.lag_results);
        if (l.lag_offsets)
            rd_kafka_topic_partition_list_destroy(l.lag_offsets);
        rd_kafka_destroy(l.rk);
    }
    ecom_producer_close(&l.dlq);
    rd_kafka_topic_partition_list_destroy(l.pending);
    rd_kafka_topic_partition_list_destroy(l.ends);
    rd_kafka_topic_partition_list_destroy(l.read_to);
    rd_kafka_topic_partition_list_destroy(l.from_done);
    rd_kafka_topic_partition_list_destroy(l.assigned);
    if (l.at_start)
        rd_kafka_topic_partition_list_destroy(l.at_start);
    raw_drop(&l);
    ecom_background_free(l.writer);
    ecom_workers_free(l.workers);
    for (int i = 0; i < 2; i++)
        chunk_free(&l.chunks[i]);
    if (l.failed) {
        *err = l.failure;
        return -1;
    }
    return rc;
}
