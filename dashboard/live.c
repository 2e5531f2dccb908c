/*
 * live.c - the dashboard's current metrics (see live.h).
 *
 * State shared by the threads sits behind one mutex: the published JSON (never modified once
 * published; readers take a reference), its version, the "a change was announced" flag and the
 * health of the last refresh, and the last pipeline sample. The subscriber blocks in Redis with no
 * timeout; stopping closes its socket from outside to wake it.
 *
 * Kafka's pipeline figures are sampled on a thread of their own: a sample can take seconds while
 * the broker is slow (its group coordinators still loading, say), and the counters' updates must
 * not wait for it. A figure that cannot be read is published as unknown, never as a stale or
 * made-up number.
 */
#include "live.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "ecom/buf.h"
#include "ecom/counters.h"
#include "ecom/log.h"
#include "ecom/pipeline.h"
#include "ecom/redis.h"
#include "ecom/retry.h"
#include "ecom/timeutil.h"

#define REDIS_TIMEOUT_MS 10000
#define RECONNECT_MS 1000

struct live {
    const ecom_config *cfg;
    ecom_counters_store counters; /* snapshot reads, refresher thread only */
    ecom_redis *subscriber;       /* pub/sub, subscriber thread only */
    ecom_pipeline *pipeline;      /* sampler thread only */
    pthread_t refresher_id, subscriber_id, sampler_id;
    bool refresher_started, subscriber_started, sampler_started;

    pthread_mutex_t lock;
    pthread_cond_t changed;  /* a new version was published, or stopping */
    pthread_cond_t announce; /* a change notice arrived, or stopping */
    json_t *current;
    char *current_text; /* to tell whether a refresh changed anything */
    int64_t version;
    char why[ECOM_ERROR_MAX + 64]; /* why there is no current metrics */
    bool notice, stop;
    bool redis_ok, kafka_ok;
    char health_error[ECOM_ERROR_MAX + 64];
    int subscriber_fd; /* -1 while not connected */
    json_t *sample;    /* the last pipeline sample, NULL when it failed */
    char kafka_error[ECOM_ERROR_MAX + 16]; /* why there is no sample; empty when there is */
};

bool live_stopping(live *l)
{
    pthread_mutex_lock(&l->lock);
    bool stop = l->stop;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

/* The time ms from now, as pthread_cond_timedwait wants it. */
static struct timespec deadline_in(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* ---- subscriber ----------------------------------------------------------------------------- */

static void announce(live *l)
{
    pthread_mutex_lock(&l->lock);
    l->notice = true;
    pthread_cond_signal(&l->announce);
    pthread_mutex_unlock(&l->lock);
}

static void sleep_unless_stopping(live *l, int ms)
{
    struct timespec until = deadline_in(ms);
    pthread_mutex_lock(&l->lock);
    while (!l->stop && pthread_cond_timedwait(&l->changed, &l->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&l->lock);
}

/* Subscribes and waits for notices until the connection drops; each notice wakes the refresher. */
static void subscribe_once(live *l)
{
    ecom_error err;
    redisContext *c = ecom_redis_context(l->subscriber, &err);
    if (!c) {
        ecom_log(ECOM_WARN, "dashboard: cannot subscribe to change notices; retrying",
                 "error=\"%s\"", err.msg);
        return;
    }
    redisReply *reply = redisCommand(c, "SUBSCRIBE %schanges", l->counters.prefix);
    if (!reply) {
        ecom_redis_disconnect(l->subscriber);
        return;
    }
    freeReplyObject(reply);
    pthread_mutex_lock(&l->lock);
    l->subscriber_fd = c->fd;
    bool stop = l->stop;
    pthread_mutex_unlock(&l->lock);
    announce(l); /* whatever happened while not subscribed */
    while (!stop) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK) {
            if (!live_stopping(l))
                ecom_log(ECOM_WARN, "dashboard: change notices interrupted; resubscribing",
                         "error=\"%s\"", c->errstr);
            break;
        }
        freeReplyObject(r);
        announce(l);
        stop = live_stopping(l);
    }
    pthread_mutex_lock(&l->lock);
    l->subscriber_fd = -1;
    pthread_mutex_unlock(&l->lock);
    ecom_redis_disconnect(l->subscriber);
}

static void *subscriber_main(void *arg)
{
    live *l = arg;
    while (!live_stopping(l)) {
        subscribe_once(l);
        sleep_unless_stopping(l, RECONNECT_MS);
    }
    return NULL;
}

/* ---- refresher ------------------------------------------------------------------------------ */

/* Reads the counters and merges the last pipeline sample; publishes a new version if changed. */
static void refresh(live *l, json_t *sample, const char *kafka_error)
{
    ecom_error err;
    json_t *snap = NULL;
    bool redis_ok = ecom_counters_snapshot(&l->counters, &snap, &err) == 0;
    char why[ECOM_ERROR_MAX + 64] = "";
    if (!redis_ok)
        snprintf(why, sizeof why, "Redis: %s", err.msg);
    else if (!snap)
        snprintf(why, sizeof why,
                 "no counters in Redis under prefix '%s' yet: is `ecom aggregate` running?",
                 l->counters.prefix);
    if (snap)
        ecom_pipeline_merge(snap, sample, kafka_error);
    char *text = snap ? json_dumps(snap, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    pthread_mutex_lock(&l->lock);
    l->redis_ok = redis_ok;
    l->kafka_ok = kafka_error == NULL;
    snprintf(l->health_error, sizeof l->health_error, "%s",
             !redis_ok     ? why
             : kafka_error ? kafka_error
                           : "");
    snprintf(l->why, sizeof l->why, "%s", why);
    bool same = text && l->current_text && strcmp(text, l->current_text) == 0;
    if (!same && (snap || l->current)) {
        json_decref(l->current);
        free(l->current_text);
        l->current = snap;
        l->current_text = text;
        snap = NULL;
        text = NULL;
        l->version++;
        pthread_cond_broadcast(&l->changed);
    }
    pthread_mutex_unlock(&l->lock);
    json_decref(snap);
    free(text);
}

static void *refresher_main(void *arg)
{
    live *l = arg;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        json_t *sample = json_incref(l->sample);
        char kafka_error[sizeof l->kafka_error];
        memcpy(kafka_error, l->kafka_error, sizeof kafka_error);
        pthread_mutex_unlock(&l->lock);
        refresh(l, kafka_error[0] ? NULL : sample, kafka_error[0] ? kafka_error : NULL);
        json_decref(sample);
        /* wait for a notice (a change in Redis, a new pipeline sample) or the stop */
        pthread_mutex_lock(&l->lock);
        while (!l->stop && !l->notice) {
            struct timespec until = deadline_in(100);
            pthread_cond_timedwait(&l->announce, &l->lock, &until);
        }
        bool stop = l->stop;
        l->notice = false;
        pthread_mutex_unlock(&l->lock);
        if (stop)
            break;
        ecom_sleep_ms(LIVE_MIN_INTERVAL_MS); /* notices in a burst make one refresh */
    }
    return NULL;
}

/* ---- pipeline sampler ----------------------------------------------------------------------- */

static void *sampler_main(void *arg)
{
    live *l = arg;
    while (!live_stopping(l)) {
        double started = ecom_monotonic();
        ecom_error err;
        json_t *fresh = NULL;
        bool ok = ecom_pipeline_sample(l->pipeline, &fresh, &err) == 0;
        pthread_mutex_lock(&l->lock);
        json_decref(l->sample);
        l->sample = ok ? fresh : NULL;
        if (ok)
            l->kafka_error[0] = '\0';
        else
            snprintf(l->kafka_error, sizeof l->kafka_error, "Kafka: %s", err.msg);
        l->notice = true;
        pthread_cond_signal(&l->announce);
        pthread_mutex_unlock(&l->lock);
        int rest = LIVE_PIPELINE_MS - (int)((ecom_monotonic() - started) * 1000);
        if (rest > 0)
            sleep_unless_stopping(l, rest);
    }
    return NULL;
}

/* ---- lifecycle and readers ------------------------------------------------------------------ */

live *live_start(const ecom_config *cfg, const char *groups, ecom_error *err)
{
    live *l = ecom_xcalloc(1, sizeof *l);
    l->cfg = cfg;
    l->counters.prefix = ecom_config_redis_prefix(cfg);
    l->subscriber_fd = -1;
    snprintf(l->why, sizeof l->why, "starting");
    snprintf(l->kafka_error, sizeof l->kafka_error, "Kafka: not sampled yet");
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    pthread_cond_init(&l->announce, NULL);
    l->counters.redis = ecom_redis_new(cfg->redis, REDIS_TIMEOUT_MS, err);
    l->subscriber = l->counters.redis ? ecom_redis_new(cfg->redis, 0, err) : NULL;
    l->pipeline = l->subscriber ? ecom_pipeline_new(cfg, groups, err) : NULL;
    if (!l->pipeline) {
        live_stop(l);
        return NULL;
    }
    l->subscriber_started = pthread_create(&l->subscriber_id, NULL, subscriber_main, l) == 0;
    l->refresher_started = pthread_create(&l->refresher_id, NULL, refresher_main, l) == 0;
    l->sampler_started = pthread_create(&l->sampler_id, NULL, sampler_main, l) == 0;
    if (!l->subscriber_started || !l->refresher_started || !l->sampler_started) {
        ecom_fail(err, "cannot start the dashboard's threads");
        live_stop(l);
        return NULL;
    }
    return l;
}

void live_request_stop(live *l)
{
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    if (l->subscriber_fd >= 0)
        shutdown(l->subscriber_fd, SHUT_RDWR); /* wakes the blocking read */
    pthread_cond_broadcast(&l->changed);
    pthread_cond_broadcast(&l->announce);
    pthread_mutex_unlock(&l->lock);
}

void live_stop(live *l)
{
    if (!l)
        return;
    live_request_stop(l);
    if (l->subscriber_started)
        pthread_join(l->subscriber_id, NULL);
    if (l->refresher_started)
        pthread_join(l->refresher_id, NULL);
    if (l->sampler_started)
        pthread_join(l->sampler_id, NULL);
    json_decref(l->sample);
    ecom_redis_free(l->counters.redis);
    ecom_redis_free(l->subscriber);
    ecom_pipeline_free(l->pipeline);
    json_decref(l->current);
    free(l->current_text);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->changed);
    pthread_cond_destroy(&l->announce);
    free(l);
}

json_t *live_latest(live *l, int64_t after, int timeout_ms, int64_t *version, char *why,
                    size_t why_size)
{
    struct timespec until = deadline_in(timeout_ms);
    pthread_mutex_lock(&l->lock);
    while (timeout_ms > 0 && !l->stop && l->version <= after)
        if (pthread_cond_timedwait(&l->changed, &l->lock, &until) != 0)
            break;
    json_t *j = json_incref(l->current);
    *version = l->version;
    if (why)
        snprintf(why, why_size, "%s", l->why);
    pthread_mutex_unlock(&l->lock);
    return j;
}

void live_health(live *l, bool *redis_ok, bool *kafka_ok, char *error, size_t error_size)
{
    pthread_mutex_lock(&l->lock);
    *redis_ok = l->redis_ok;
    *kafka_ok = l->kafka_ok;
    snprintf(error, error_size, "%s", l->health_error);
    pthread_mutex_unlock(&l->lock);
}
