/*
 * fetch_waker.h - keeps a consumer's fetcher awake while its prefetch queue is small.
 *
 * librdkafka 2.0 stops fetching a partition while the consumer's local queue holds
 * queued.max.messages.kbytes or more, and looks again only when its broker thread next wakes
 * up: on a reply, an operation for that broker, or after a second at most. A queue that holds
 * less than a second of work therefore leaves the consumer idle for the rest of that second
 * each time it fills, and the only way around it, a large queue, costs its size in memory
 * (messages are kept decompressed). (Later librdkafka releases have fetch.queue.backoff.ms.)
 *
 * The waker wakes those broker threads instead: once the loop has drained its queue after
 * reading enough to have filled it, it asks the waker's thread to send each assigned
 * partition's leader a small request (the partitions' latest offsets, which it ignores); the
 * broker thread that sends it re-decides, sees the queue empty and fetches at once. Asking
 * costs the loop nothing (the request is on the waker's own thread) and at most one request
 * per leader is in flight.
 */
#ifndef ECOM_FETCH_WAKER_H
#define ECOM_FETCH_WAKER_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct ecom_fetch_waker ecom_fetch_waker;

/* A waker for consumer rk whose queue holds queue_bytes; NULL if no thread could be started
 * (the consumer then works as librdkafka alone makes it). */
ecom_fetch_waker *ecom_fetch_waker_new(rd_kafka_t *rk, int64_t queue_bytes);
/* Stops the thread (after the request in flight); before rk is destroyed. */
void ecom_fetch_waker_free(ecom_fetch_waker *w);

/* The loop read `bytes` more of messages. */
void ecom_fetch_waker_read(ecom_fetch_waker *w, int64_t bytes);
/* The loop found its queue empty, holding `assigned`: wakes the fetchers of those partitions if
 * the queue may have filled since the last time (it read a queue's worth since). */
void ecom_fetch_waker_empty(ecom_fetch_waker *w, const rd_kafka_topic_partition_list_t *assigned);

#endif
