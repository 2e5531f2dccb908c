/*
 * fetch_waker.c - waking librdkafka 2.0's fetchers when the consumer's queue runs dry (see
 * fetch_waker.h).
 */
#include "ecom/fetch_waker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include "ecom/buf.h"

#define REQUEST_TIMEOUT_MS 5000

struct ecom_fetch_waker {
    rd_kafka_t *rk;
    int64_t queue_bytes;
    int64_t read_since; /* bytes the loop read since the last wake-up (the loop's alone) */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t asked;
    rd_kafka_topic_partition_list_t *wake; /* partitions to wake, NULL when none asked */
    bool stopping;
};

static void *waker_main(void *arg)
{
    ecom_fetch_waker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->wake && !w->stopping)
            pthread_cond_wait(&w->asked, &w->lock);
        if (w->stopping)
            break;
        rd_kafka_topic_partition_list_t *parts = w->wake;
        w->wake = NULL;
        pthread_mutex_unlock(&w->lock);
        /* one ListOffsets request per leader; the answer does not matter */
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_END;
        rd_kafka_offsets_for_times(w->rk, parts, REQUEST_TIMEOUT_MS);
        rd_kafka_topic_partition_list_destroy(parts);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

ecom_fetch_waker *ecom_fetch_waker_new(rd_kafka_t *rk, int64_t queue_bytes)
{
    ecom_fetch_waker *w = ecom_xcalloc(1, sizeof *w);
    w->rk = rk;
    w->queue_bytes = queue_bytes;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->asked, NULL);
    if (pthread_create(&w->thread, NULL, waker_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->asked);
        free(w);
        return NULL;
    }
    return w;
}

void ecom_fetch_waker_free(ecom_fetch_waker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->asked);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->wake)
        rd_kafka_topic_partition_list_destroy(w->wake);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->asked);
    free(w);
}

void ecom_fetch_waker_read(ecom_fetch_waker *w, int64_t bytes)
{
    if (w)
        w->read_since += bytes;
}

void ecom_fetch_waker_empty(ecom_fetch_waker *w, const rd_kafka_topic_partition_list_t *assigned)
{
    /* the fetchers stop only once the queue reached its size: half of it read since the last
     * wake-up is enough to have got there (a fetch can bring half of it at once) */
    if (!w || assigned->cnt == 0 || w->read_since < w->queue_bytes / 2)
        return;
    w->read_since = 0;
    pthread_mutex_lock(&w->lock);
    if (!w->wake) /* else a request is asked for and not sent yet: it will do */
        w->wake = rd_kafka_topic_partition_list_copy(assigned);
    pthread_cond_signal(&w->asked);
    pthread_mutex_unlock(&w->lock);
}
