/*
 * kafka.h - librdkafka set-up and the producer every publisher uses.
 *
 * Client configuration is built in one place: bootstrap servers, then every -X key=value the
 * user passed (TLS, SASL, tuning, as kcat does), each checked by librdkafka with its error text.
 * The producer is idempotent and compressed by default; delivery reports are counted and a
 * failed delivery is an error the caller sees at flush, never a silent loss.
 */
#ifndef ECOM_KAFKA_H
#define ECOM_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/config.h"
#include "ecom/error.h"
#include "ecom/model.h"
#include "ecom/topics.h"

/* A librdkafka configuration with bootstrap servers and the user's -X pairs applied over the
 * given defaults (defaults first, so the user can override any of them). */
rd_kafka_conf_t *ecom_kafka_conf(const ecom_config *cfg, const char *const *defaults,
                                 ecom_error *err);

/* A client made from `conf`, which it takes over (destroyed when no client can be made; NULL
 * conf: NULL, err already set by ecom_kafka_conf). */
rd_kafka_t *ecom_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, ecom_error *err);

/* A client for metadata and admin requests: the connection settings and -X pairs only. */
rd_kafka_t *ecom_kafka_admin_client(const ecom_config *cfg, ecom_error *err);

#define ECOM_PRODUCER_TOPICS 8 /* topic handles one producer keeps (ecom_producer_topic) */

typedef struct ecom_producer {
    rd_kafka_t *rk;
    int64_t sent;      /* produce calls accepted */
    int64_t delivered; /* acknowledged by the broker */
    int64_t failed;    /* delivery reports with an error */
    int64_t bytes;     /* value bytes accepted */
    int unpolled;      /* sends since delivery reports were last served */
    int n_topics;
    rd_kafka_topic_t *topics[ECOM_PRODUCER_TOPICS];
    char first_error[256];
} ecom_producer;

/* How long a producer waits to fill a batch (linger.ms): a bulk producer's batches are large
 * and few; a live one's messages should reach consumers within a few milliseconds. */
#define ECOM_LINGER_MS_BULK 20
#define ECOM_LINGER_MS_LIVE 5

/* An idempotent lz4 producer that waits up to linger_ms to fill a batch (-X overrides it). */
int ecom_producer_open(ecom_producer *p, const ecom_config *cfg, int linger_ms, ecom_error *err);
/* The producer's handle on a topic, for ecom_producer_send: made on first use, kept until
 * ecom_producer_close (NULL, with err set, if librdkafka refuses the name or the producer
 * already holds ECOM_PRODUCER_TOPICS). */
rd_kafka_topic_t *ecom_producer_topic(ecom_producer *p, const char *topic, ecom_error *err);
/* Queues one message, partitioned by its key; waits (serving delivery reports) while the local
 * queue is full. Delivery reports are served every few hundred sends, so a failed delivery
 * shows here a little later than it happened, and at the latest at ecom_producer_flush. */
int ecom_producer_send(ecom_producer *p, rd_kafka_topic_t *topic, const void *key, size_t key_len,
                       const void *value, size_t value_len, ecom_error *err);
/* Queues messages[0..n) to one topic in their order, each partitioned by its key and its value
 * copied, as n ecom_producer_send calls would, in one produce call (librdkafka takes the topic's
 * lock and reads the clock once for all of them). Waits while the local queue is full, then
 * queues the rest. */
int ecom_producer_send_batch(ecom_producer *p, rd_kafka_topic_t *topic,
                             rd_kafka_message_t *messages, int n, ecom_error *err);
/* One message with headers, which it takes over once queued (they are destroyed here if it
 * cannot be); delivery reports are served on every call. */
int ecom_producer_send_with_headers(ecom_producer *p, const char *topic, const void *key,
                                    size_t key_len, const void *value, size_t value_len,
                                    rd_kafka_headers_t *headers, ecom_error *err);
/* Serves delivery reports without blocking. */
void ecom_producer_poll(ecom_producer *p);
/* Waits until everything queued is delivered; fails if any delivery failed. */
int ecom_producer_flush(ecom_producer *p, int timeout_ms, ecom_error *err);
void ecom_producer_close(ecom_producer *p);

/* The project's topics (SPEC section 2) under the configured prefix: reference topics compacted,
 * facts and dead letters kept forever so a full backfill can be replayed. Topics that already
 * exist are left as they are. `created` (optional) receives how many were new. */
int ecom_kafka_create_topics(const ecom_config *cfg, int partitions, int replication, int *created,
                             ecom_error *err);
/* Messages held by the topics of the given kinds (sum over partitions of high - low
 * watermark); a missing topic holds none. */
int ecom_kafka_messages(const ecom_config *cfg, const ecom_kind *kinds, int n_kinds,
                        int64_t *messages, ecom_error *err);

/* Deletes the project's topics under the configured prefix (missing ones are fine). */
int ecom_kafka_delete_topics(const ecom_config *cfg, ecom_error *err);

#endif
