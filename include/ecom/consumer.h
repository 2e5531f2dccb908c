/*
 * consumer.h - the one consume loop every service runs: sinks and aggregators plug into it.
 *
 * The loop owns everything Kafka: the consumer group, replay (`--from earliest|<time>`),
 * batches that close on size or time, decoding and validation, dead letters, commits, retries
 * while a store is down, `--until-end`, and a clean stop on SIGTERM. A service supplies a stage:
 * `add` folds one valid record into its pending batch, `flush` writes the batch to its store.
 *
 * The guarantee is at-least-once delivery into the store with offsets committed only after the
 * batch that contains them was written (and its dead letters acknowledged). Stores make that
 * exactly-once in effect by writing idempotently, keyed by business id; a crash re-delivers at
 * most the batches since the last commit, and re-writing them changes nothing.
 *
 * Decoding and validating JSON is the loop's own main cost, and each message decodes on its own:
 * what a poll returns is decoded in chunks on --decode-threads threads (workers.h), then handed
 * to the stage strictly in order on the loop's thread.
 *
 * A message that fails to decode goes to the dead-letter topic with headers naming its source
 * topic, partition, offset, the consumer group that refused it and the error; it never stops
 * the partition. (Each group that reads a topic reports its own dead letters.)
 *
 * Writing while consuming. A stage whose store is the slower side may let the loop write a
 * closed batch while it keeps consuming into the next one: it supplies `detach`, `write` and
 * `release` instead of `flush` and `reset`. The loop then promises:
 *   - at most one batch is being written at a time, on the loop's writer thread, and batches are
 *     written in the order they were consumed: batch N+1 is handed over only after batch N was
 *     written and its offsets (and dead letters) committed;
 *   - a batch's offsets are committed only after its write returned 0;
 *   - a write that fails is retried on the loop's thread with every partition paused, exactly
 *     as a failed flush, while the next batch waits unwritten;
 *   - a rebalance, a stop and the end of an --until-end run wait for the write in flight first;
 *     --until-end returns only once everything consumed is written and committed;
 *   - a write answered with "rewind" drops that batch and the open one (which continues it),
 *     and every partition seeks to the stage's `positions`, as after a flush's rewind;
 *   - nothing else of the stage runs while a batch is being written but `add`, `detach` and
 *     `release`: `idle` and `positions` wait for the write, so they may share the store's
 *     connection and state with `write`.
 * The stage promises that `write` touches only the batch it is given and its store, never what
 * `add`, `detach` or `release` touch (those run on the loop's thread, meanwhile).
 */
#ifndef ECOM_CONSUMER_H
#define ECOM_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include "ecom/config.h"
#include "ecom/error.h"
#include "ecom/model.h"
#include "ecom/options.h"
#include "ecom/topics.h"

/* What a stage's flush or write came to. */
typedef enum ecom_stage_result {
    ECOM_STAGE_RETRY = -1,  /* not written (err says why): the loop tries again later */
    ECOM_STAGE_WRITTEN = 0, /* written */
    ECOM_STAGE_REWIND,      /* the store's positions moved on: drop the batch, re-seek */
    ECOM_STAGE_FATAL,       /* cannot ever be written (err says why): the service stops */
} ecom_stage_result;

typedef struct ecom_stage {
    void *ctx;
    /* Folds one valid record into the pending batch; must not touch the store. Returns 0, 1
     * when the batch is full by the stage's own measure (the loop closes it then, whatever
     * --batch-size says), or -1: an error here is a bug or resource failure and stops the
     * service. */
    int (*add)(void *ctx, const ecom_record *r, const rd_kafka_message_t *m, ecom_error *err);
    /* Writes the pending batch and empties it. `next_offsets` holds, per partition the batch
     * touched, the offset after its last message (dead letters included), for stages that keep
     * their position in the store itself. Returns ECOM_STAGE_WRITTEN, ECOM_STAGE_RETRY on a
     * failure to retry later (the batch must be left intact), or ECOM_STAGE_REWIND when the
     * store's position is not the one this batch continues from (another writer, a new
     * generation): the loop then drops the batch and seeks every partition to `positions`;
     * ECOM_STAGE_FATAL stops the service with the batch uncommitted. */
    ecom_stage_result (*flush)(void *ctx, const rd_kafka_topic_partition_list_t *next_offsets,
                               ecom_error *err);
    /* Drops the pending batch unwritten: its partitions were taken away in a rebalance, and
     * their next owner re-reads it from the last commit. */
    void (*reset)(void *ctx);
    /* Optional: where to start reading the given partitions, for a stage that keeps its own
     * positions in its store. Called on every assignment and rewind with the offsets the loop
     * chose (--from, or RD_KAFKA_OFFSET_INVALID for the group's committed offset); the stage
     * overwrites what it knows better. With until_end, also asked about partitions other
     * members hold, to tell whether they reached their end. Returns -1 when it cannot tell
     * (stop requested). */
    int (*positions)(void *ctx, rd_kafka_topic_partition_list_t *parts, ecom_error *err);
    /* Optional: told of each message the loop sent to the dead-letter topic instead of `add`. */
    void (*dead_letter)(void *ctx, const rd_kafka_message_t *m);
    /* Optional: called about every --batch-ms while no batch is open, for work that does not
     * wait for the next message (the aggregator applies changed reference data). An error
     * stops the service. */
    int (*idle)(void *ctx, ecom_error *err);
    /* Instead of flush and reset, for writing while consuming (see above). `detach` takes the
     * pending batch out of the stage and returns it; `add` goes on into a new one. `write`
     * writes a detached batch, whose next offsets are as flush's, on the writer thread (or,
     * retrying, on the loop's):
     * ECOM_STAGE_WRITTEN (the batch is then empty), ECOM_STAGE_RETRY on a failure to retry
     * later (the batch keeps at least what is not written yet), ECOM_STAGE_REWIND (a stage with
     * `positions`, as from flush) or ECOM_STAGE_FATAL. `release`
     * hands a detached batch back, written or dropped unwritten (its partitions were revoked),
     * for the stage to free or to fill again. */
    void *(*detach)(void *ctx);
    ecom_stage_result (*write)(void *ctx, void *batch,
                               const rd_kafka_topic_partition_list_t *next_offsets,
                               ecom_error *err);
    void (*release)(void *ctx, void *batch);
} ecom_stage;

typedef struct ecom_consume_opts {
    const char *group;      /* consumer group id */
    const ecom_kind *kinds; /* topics to read, by record kind */
    int n_kinds;
    int batch_max;       /* messages per batch */
    int batch_ms;        /* the longest a batch stays open */
    const char *from;    /* NULL: committed offsets; "earliest"; or an ISO-8601 time */
    bool until_end;      /* return once every partition of the topics reached its end offset
                          * at start: read here, or stored by the member that holds it */
    const char *service; /* for log lines: "sink mongo" */
    /* Static group membership (group.instance.id), or NULL: a restarted member with the same id
     * takes its partitions back at once instead of waiting for the old session to expire. Only
     * for a member that never runs twice at a time. */
    const char *instance_id;
    int decode_threads; /* threads decoding messages, the caller's included; 0: one per CPU */
    /* Kilobytes of messages fetched ahead of the stage; 0: ECOM_PREFETCH_KBYTES. Every byte
     * fetched ahead is memory (kept decompressed), and the loop keeps librdkafka fetching
     * while its queue runs dry (fetch_waker.h), so a small queue costs no speed. -X
     * queued.max.messages.kbytes overrides it. */
    int prefetch_kbytes;
    /* Latency first (the aggregator, whose counters should be fresh): a free writer takes the
     * open batch as soon as the loop has read all there is, and the broker answers a fetch
     * within a few milliseconds even when it has nothing new for some partitions; while more
     * is waiting (a backfill, a burst), the batch grows to --batch-size or --batch-ms.
     * Otherwise a free writer waits for a decoded chunk, or --batch-ms, and fetches wait
     * librdkafka's default. Under load the writer is rarely free, and batches grow to what
     * arrives during a write either way. */
    bool latency_first;
} ecom_consume_opts;

typedef struct ecom_consume_stats {
    int64_t consumed;     /* messages read */
    int64_t stored;       /* valid records handed to the stage and flushed */
    int64_t dead_letters; /* messages sent to the DLQ */
    int64_t batches;
    int64_t retries; /* failed flush attempts */
    int64_t rewinds; /* batches dropped because the store's position had moved */
    double seconds;
} ecom_consume_stats;

/* Adds every count and the seconds of another run (a later pass of the same work) to total. */
void ecom_consume_stats_add(ecom_consume_stats *total, const ecom_consume_stats *more);

/* Options of every consuming command: --group, --from, --until-end, --batch-size, --batch-ms,
 * --decode-threads. */
extern const ecom_option ecom_consumer_options[];

/* --batch-size and --batch-ms when not given: a sink's, and the aggregator's. The aggregator's
 * batches are larger: its store's cost is mostly per batch (a script call, and one counter
 * change per counter the batch touches, however many records touched it), so a backfill in
 * batches of 20,000 costs Redis about half the CPU it does in batches of 5,000; a transaction
 * bound keeps them small in memory (ECOM_COUNTERS_BATCH_TXNS). --batch-ms bounds how fresh
 * the counters are. The options' help quotes these. */
#define ECOM_BATCH_SIZE_STORE 5000
#define ECOM_BATCH_SIZE_AGGREGATE 20000
#define ECOM_BATCH_MS_STORE 500
#define ECOM_BATCH_MS_AGGREGATE 100

/* Messages fetched ahead of a stage that does not say (the aggregator): a few hundredths of a
 * second of its work at full speed (4 MiB took its seed-scale peak RSS past 64 MB, with no
 * more speed). */
#define ECOM_PREFETCH_KBYTES 2048

/* The options of a service's consume loop from its configuration (--group, --from,
 * --until-end, --batch-size, --batch-ms, --decode-threads), with the service's own default group,
 * batch size and batch time. */
ecom_consume_opts ecom_consume_opts_for(const ecom_config *cfg, const char *service,
                                        const char *default_group, int default_batch_size,
                                        int default_batch_ms, const ecom_kind *kinds, int n_kinds);

/* Runs the loop until a stop signal, or the end with until_end. Returns 0 after a clean stop
 * (everything consumed is written and committed). */
int ecom_consume(const ecom_config *cfg, const ecom_consume_opts *opts, ecom_stage *stage,
                 ecom_consume_stats *stats, ecom_error *err);

/* Parses --from: "earliest", or a time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) to milliseconds. */
int ecom_parse_from(const char *from, bool *earliest, int64_t *ms, ecom_error *err);

#endif
