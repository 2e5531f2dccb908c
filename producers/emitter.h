/*
 * emitter.h - where generated records go: Kafka topics, or NDJSON lines on a file or stdout.
 *
 * Both destinations see the same records in the same order with the same keys and value bytes,
 * so `--output -` is a faithful, diffable picture of what would be published. Each record is
 * validated before it leaves: the generator must never publish what a consumer would reject.
 */
#ifndef ECOM_GEN_EMITTER_H
#define ECOM_GEN_EMITTER_H

#include <stdio.h>
#include "ecom/buf.h"
#include "ecom/config.h"
#include "ecom/error.h"
#include "ecom/kafka.h"
#include "ecom/model.h"

typedef struct gen_emitter {
    bool to_kafka;
    ecom_producer producer;
    FILE *out;
    bool close_out;
    char topics[ECOM_KIND_COUNT][128];
    rd_kafka_topic_t *handles[ECOM_KIND_COUNT]; /* Kafka: the producer's handle on each topic */
    ecom_buf value;                             /* Kafka: the message(s) being published */
    rd_kafka_message_t *run;                    /* Kafka: a run of records, as messages */
    int run_cap;                                /* ... and its room, in messages */
    ecom_buf line;                              /* NDJSON: the line being written */
    int64_t messages[ECOM_KIND_COUNT];
    int64_t bytes;
} gen_emitter;

int gen_emitter_open(gen_emitter *e, const ecom_config *cfg, ecom_error *err);
/* Validates one record of the given kind (a pointer to that kind's struct) as a consumer
 * would. */
int gen_check(ecom_kind kind, const void *rec, ecom_error *err);
/* Publishes one record that gen_check passed. */
int gen_publish(gen_emitter *e, ecom_kind kind, const void *rec, ecom_error *err);
/* Publishes n records of one kind, recs[0..n) of rec_size bytes each, that gen_check passed:
 * the same messages in the same order as n gen_publish calls, queued to Kafka together. */
int gen_publish_run(gen_emitter *e, ecom_kind kind, const void *recs, size_t rec_size, int n,
                    ecom_error *err);
/* gen_check, then gen_publish. */
int gen_emit(gen_emitter *e, ecom_kind kind, const void *rec, ecom_error *err);
int64_t gen_emitter_total(const gen_emitter *e);
/* Flushes everything (waiting for Kafka acknowledgements) and releases the destination. */
int gen_emitter_close(gen_emitter *e, ecom_error *err);

#endif
