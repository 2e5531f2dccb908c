/*
 * pipeline.c - the pipeline health sampler (see pipeline.h).
 *
 * Watermarks come from two ListOffsets requests per sample (earliest and latest of every
 * partition at once), so a sample costs a handful of round trips whatever the number of
 * partitions.
 *
 * A group's committed offsets are read the way its own members read them: through a consumer
 * handle of that group (group.id set, never subscribed, so it never joins or disturbs the
 * group) and rd_kafka_committed(). Not through the admin API's ListConsumerGroupOffsets: in
 * librdkafka 2.0.x (Debian bookworm's) an OffsetFetch answered with a coordinator error
 * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE: what a broker says while it is still loading
 * its group coordinators, the first seconds of a fresh stack) makes the library's own main
 * thread queue a coordinator query on the handle's consumer group, which an admin client does
 * not have: a NULL dereference in thread rdk:main that kills the whole process. A consumer
 * handle has that group, and the same answer only makes it look for the coordinator again.
 */
#include "ecom/pipeline.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/buf.h"
#include "ecom/kafka.h"
#include "ecom/model.h"
#include "ecom/timeutil.h"

#define REQUEST_TIMEOUT_MS 5000
#define COMMITTED_TIMEOUT_MS 3000 /* per group: a group whose coordinator is not ready is unknown */
#define N_TOPICS (ECOM_KIND_COUNT + 1) /* every record kind's topic and the dead letters */

/* A watched group and the handle its committed offsets are read with. */
typedef struct watched_group {
    char *name;
    rd_kafka_t *rk;
} watched_group;

struct ecom_pipeline {
    const ecom_config *cfg;
    rd_kafka_t *rk;
    char topics[N_TOPICS][256];
    watched_group *groups;
    int n_groups;
    bool sampled;
    double last_at;
    int64_t last_high[N_TOPICS]; /* sum of the high watermarks at the last sample */
};

static void free_groups(ecom_pipeline *p)
{
    for (int i = 0; i < p->n_groups; i++) {
        if (p->groups[i].rk)
            rd_kafka_destroy(p->groups[i].rk);
        free(p->groups[i].name);
    }
    free(p->groups);
}

/* A consumer handle of the group that only ever asks for its committed offsets. */
static rd_kafka_t *group_reader(const ecom_config *cfg, const char *group, ecom_error *err)
{
    const char *defaults[] = {
        "group.id", group, "enable.auto.commit", "false", "enable.auto.offset.store", "false",
        NULL,
    };
    return ecom_kafka_new(RD_KAFKA_CONSUMER, ecom_kafka_conf(cfg, defaults, err), err);
}

void ecom_pipeline_free(ecom_pipeline *p)
{
    if (!p)
        return;
    if (p->rk)
        rd_kafka_destroy(p->rk);
    free_groups(p);
    free(p);
}

ecom_pipeline *ecom_pipeline_new(const ecom_config *cfg, const char *groups, ecom_error *err)
{
    ecom_pipeline *p = ecom_xcalloc(1, sizeof *p);
    p->cfg = cfg;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        ecom_topic_name(cfg, ecom_kind_topic((ecom_kind)k), p->topics[k], sizeof p->topics[k]);
    ecom_topic_name(cfg, ECOM_TOPIC_DLQ, p->topics[ECOM_KIND_COUNT],
                    sizeof p->topics[ECOM_KIND_COUNT]);
    char *list = ecom_xstrdup(groups && *groups ? groups : ECOM_PIPELINE_GROUPS);
    for (char *save = NULL, *g = strtok_r(list, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
        p->groups = ecom_xrealloc(p->groups, sizeof *p->groups * (size_t)(p->n_groups + 1));
        p->groups[p->n_groups++] = (watched_group){.name = ecom_xstrdup(g)};
    }
    free(list);
    bool ok = (p->rk = ecom_kafka_admin_client(cfg, err)) != NULL;
    for (int i = 0; ok && i < p->n_groups; i++)
        ok = (p->groups[i].rk = group_reader(cfg, p->groups[i].name, err)) != NULL;
    if (!ok) {
        ecom_pipeline_free(p);
        return NULL;
    }
    return p;
}

/* Every partition of the watched topics that exist. */
static rd_kafka_topic_partition_list_t *partitions(ecom_pipeline *p, ecom_error *err)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 1, NULL, &md, REQUEST_TIMEOUT_MS);
    if (e) {
        ecom_fail(err, "no metadata from Kafka at %s: %s", p->cfg->brokers, rd_kafka_err2str(e));
        return NULL;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(32);
    for (int t = 0; t < md->topic_cnt; t++)
        for (int k = 0; k < N_TOPICS; k++)
            if (!md->topics[t].err && strcmp(md->topics[t].topic, p->topics[k]) == 0)
                for (int i = 0; i < md->topics[t].partition_cnt; i++)
                    rd_kafka_topic_partition_list_add(parts, p->topics[k],
                                                      md->topics[t].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return parts;
}

/* Offsets of every partition at once: -1 asks for the latest, -2 for the earliest. */
static rd_kafka_topic_partition_list_t *watermarks(ecom_pipeline *p,
                                                   const rd_kafka_topic_partition_list_t *parts,
                                                   int64_t which, ecom_error *err)
{
    rd_kafka_topic_partition_list_t *w = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < w->cnt; i++)
        w->elems[i].offset = which;
    rd_kafka_resp_err_t e = w->cnt ? rd_kafka_offsets_for_times(p->rk, w, REQUEST_TIMEOUT_MS) : 0;
    if (e) {
        ecom_fail(err, "cannot read the topics' offsets: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(w);
        return NULL;
    }
    return w;
}

/* The committed offsets of a group for the given partitions (INVALID where it has none). */
static rd_kafka_topic_partition_list_t *committed(const watched_group *g,
                                                  const rd_kafka_topic_partition_list_t *parts,
                                                  ecom_error *err)
{
    rd_kafka_topic_partition_list_t *out = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t e = rd_kafka_committed(g->rk, out, COMMITTED_TIMEOUT_MS);
    for (int i = 0; !e && i < out->cnt; i++)
        e = out->elems[i].err;
    if (e) {
        ecom_fail(err, "offsets of group %s: %s", g->name, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(out);
        return NULL;
    }
    return out;
}

static int64_t offset_of(const rd_kafka_topic_partition_list_t *l, const char *topic, int32_t part)
{
    const rd_kafka_topic_partition_t *e =
        rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)l, topic, part);
    return e ? e->offset : RD_KAFKA_OFFSET_INVALID;
}

/* A group's lag over the topics it has committed offsets on. */
static int64_t group_lag(const rd_kafka_topic_partition_list_t *parts,
                         const rd_kafka_topic_partition_list_t *low,
                         const rd_kafka_topic_partition_list_t *high,
                         const rd_kafka_topic_partition_list_t *done)
{
    int64_t lag = 0;
    for (int i = 0; i < parts->cnt; i++) {
        const char *topic = parts->elems[i].topic;
        bool consumes = false;
        for (int k = 0; k < done->cnt && !consumes; k++)
            consumes = done->elems[k].offset >= 0 && strcmp(done->elems[k].topic, topic) == 0;
        if (!consumes)
            continue;
        int32_t part = parts->elems[i].partition;
        int64_t hi = offset_of(high, topic, part), at = offset_of(done, topic, part);
        if (at < 0)
            at = offset_of(low, topic, part); /* nothing committed yet: all of it is lag */
        if (hi > at && at >= 0)
            lag += hi - at;
    }
    return lag;
}

int ecom_pipeline_sample(ecom_pipeline *p, json_t **out, ecom_error *err)
{
    *out = NULL;
    rd_kafka_topic_partition_list_t *parts = partitions(p, err);
    if (!parts)
        return -1;
    rd_kafka_topic_partition_list_t *low = watermarks(p, parts, RD_KAFKA_OFFSET_BEGINNING, err);
    rd_kafka_topic_partition_list_t *high =
        low ? watermarks(p, parts, RD_KAFKA_OFFSET_END, err) : NULL;
    if (!high) {
        if (low)
            rd_kafka_topic_partition_list_destroy(low);
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    double now = ecom_monotonic();
    json_t *topics = json_array();
    int64_t dead_letters = 0;
    for (int k = 0; k < N_TOPICS; k++) {
        int64_t messages = 0, high_sum = 0;
        for (int i = 0; i < parts->cnt; i++) {
            if (strcmp(parts->elems[i].topic, p->topics[k]) != 0)
                continue;
            int64_t lo = low->elems[i].offset, hi = high->elems[i].offset;
            if (hi >= 0)
                high_sum += hi;
            if (hi > lo && lo >= 0)
                messages += hi - lo;
        }
        json_t *rate = p->sampled && now > p->last_at
                           ? json_real((double)(high_sum - p->last_high[k]) / (now - p->last_at))
                           : json_null();
        p->last_high[k] = high_sum;
        if (k == ECOM_KIND_COUNT) {
            dead_letters = messages;
            json_decref(rate);
            continue;
        }
        json_array_append_new(topics,
                              json_pack("{s:s, s:I, s:o}", "topic", p->topics[k], "messages",
                                        (json_int_t)messages, "events_per_s", rate));
    }
    p->sampled = true;
    p->last_at = now;
    json_t *groups = json_array();
    for (int g = 0; g < p->n_groups; g++) {
        ecom_error gerr;
        rd_kafka_topic_partition_list_t *done = committed(&p->groups[g], parts, &gerr);
        json_t *row = json_pack("{s:s}", "group", p->groups[g].name);
        if (done) {
            json_object_set_new(row, "lag", json_integer(group_lag(parts, low, high, done)));
            rd_kafka_topic_partition_list_destroy(done);
        } else {
            json_object_set_new(row, "lag", json_null());
            json_object_set_new(row, "error", json_string(gerr.msg));
        }
        json_array_append_new(groups, row);
    }
    *out = json_pack("{s:o, s:o, s:I}", "topics", topics, "groups", groups, "dead_letters",
                     (json_int_t)dead_letters);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_partition_list_destroy(low);
    rd_kafka_topic_partition_list_destroy(high);
    return 0;
}

void ecom_pipeline_merge(json_t *snapshot, json_t *sample, const char *error)
{
    json_t *pipeline = json_object_get(snapshot, "pipeline");
    if (!pipeline) {
        pipeline = json_object();
        json_object_set_new(snapshot, "pipeline", pipeline);
    }
    if (sample)
        json_object_update(pipeline, sample);
    else
        json_object_set_new(pipeline, "kafka_error", json_string(error ? error : "unknown"));
}
