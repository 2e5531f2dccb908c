/*
 * topic_census - counts what is on the project's topics, for tests and benchmarks.
 *
 * For each topic: messages, distinct keys, distinct natural ids (category, product, user,
 * transaction or session id; for session events also distinct event ids), messages that fail to
 * decode, and an order-independent digest (the wrapping sum of a 64-bit hash of each key and
 * value). The same census can be taken of an NDJSON file written by `ecom generate --output`,
 * so "Kafka holds exactly what the generator meant to publish" is one comparison of two JSON
 * documents.
 *
 * usage: topic_census [--brokers B] [--topic-prefix P] [--ndjson FILE]
 * Reads every partition from the beginning to the end offset it has when the census starts.
 */
#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/kafka.h"

enum { N_TOPICS = ECOM_KIND_COUNT + 1 }; /* the five record kinds, then the DLQ */

typedef struct census {
    char name[256];
    int kind; /* ecom_kind, or -1 for the DLQ */
    int64_t messages, invalid;
    uint64_t digest;
    GHashTable *keys, *ids, *event_ids;
} census;

static void add_to_set(GHashTable *set, const char *s, size_t len)
{
    /* the set owns its keys and frees a duplicate on insertion */
    g_hash_table_add(set, g_strndup(s, len));
}

/* The id a topic is counted by: the record's own id, but the session for session events. */
static const char *natural_id(const ecom_record *r)
{
    return r->kind == ECOM_KIND_SESSION_EVENT ? r->u.event.session_id : ecom_record_id(r);
}

static void count_message(census *c, ecom_record *scratch, const char *key, size_t key_len,
                          const char *value, size_t value_len)
{
    c->messages++;
    uint64_t h = ecom_fnv1a(ECOM_FNV_OFFSET, key ? key : "", key ? key_len : 0);
    h = ecom_fnv1a(ecom_fnv1a(h, "\0", 1), value ? value : "", value ? value_len : 0);
    c->digest += h;
    add_to_set(c->keys, key ? key : "", key ? key_len : 0);
    if (c->kind < 0)
        return;
    ecom_error err;
    if (ecom_record_decode((ecom_kind)c->kind, value, value_len, scratch, &err)) {
        if (c->invalid++ < 3)
            fprintf(stderr, "topic_census: %s: invalid message: %s\n", c->name, err.msg);
        return;
    }
    const char *id = natural_id(scratch);
    add_to_set(c->ids, id, strlen(id));
    if (c->kind == ECOM_KIND_SESSION_EVENT)
        add_to_set(c->event_ids, scratch->u.event.event_id, strlen(scratch->u.event.event_id));
}

static int read_ndjson(census *cs, ecom_record *scratch, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        /* lines are exactly {"topic":"T","key":"K","value":V}\n as the generator writes them */
        char *t = strstr(line, "{\"topic\":\""), *k = strstr(line, "\",\"key\":\""),
             *v = strstr(line, "\",\"value\":");
        if (!t || !k || !v || n < 2 || line[n - 2] != '}') {
            fprintf(stderr, "topic_census: %s: malformed line\n", path);
            rc = -1;
            break;
        }
        *k = '\0';
        const char *topic = t + 10, *key = k + 9, *value = v + 10;
        census *c = NULL;
        for (int i = 0; i < N_TOPICS; i++)
            if (strcmp(cs[i].name, topic) == 0)
                c = &cs[i];
        if (!c) {
            fprintf(stderr, "topic_census: %s: unknown topic %s\n", path, topic);
            rc = -1;
            break;
        }
        count_message(c, scratch, key, (size_t)(v - key), value, (size_t)(line + n - 2 - value));
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int read_kafka(census *cs, ecom_record *scratch, const char *brokers)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[64];
    snprintf(group, sizeof group, "topic-census-%d", (int)getpid());
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
        fprintf(stderr, "topic_census: %s\n", errstr);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "topic_census: %s\n", errstr);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 30000)) {
        fprintf(stderr, "topic_census: no metadata from %s\n", brokers);
        rd_kafka_destroy(rk);
        return -1;
    }
    int remaining = 0;
    for (int i = 0; i < md->topic_cnt; i++) {
        for (int c = 0; c < N_TOPICS; c++) {
            if (strcmp(md->topics[i].topic, cs[c].name) != 0)
                continue;
            for (int p = 0; p < md->topics[i].partition_cnt; p++) {
                int64_t lo, hi;
                int32_t id = md->topics[i].partitions[p].id;
                if (rd_kafka_query_watermark_offsets(rk, cs[c].name, id, &lo, &hi, 30000))
                    continue;
                if (hi <= lo)
                    continue; /* empty: nothing to wait for */
                rd_kafka_topic_partition_t *tp =
                    rd_kafka_topic_partition_list_add(parts, cs[c].name, id);
                tp->offset = RD_KAFKA_OFFSET_BEGINNING;
                tp->opaque = (void *)(intptr_t)hi; /* stop when this offset is reached */
                remaining++;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(rk, parts);
    while (remaining > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "topic_census: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(parts, topic, m->partition);
        int64_t end = tp ? (int64_t)(intptr_t)tp->opaque : 0;
        if (!m->err && tp && m->offset < end) {
            for (int c = 0; c < N_TOPICS; c++)
                if (strcmp(cs[c].name, topic) == 0)
                    count_message(&cs[c], scratch, m->key, m->key_len, m->payload, m->len);
        }
        int64_t next = m->err ? m->offset : m->offset + 1;
        if (tp && tp->offset != -1000 && next >= end) {
            tp->offset = -1000; /* marks the partition done */
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = "127.0.0.1:9092", *prefix = "ecom.", *ndjson = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--brokers"))
            brokers = argv[i + 1];
        else if (!strcmp(argv[i], "--topic-prefix"))
            prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--ndjson"))
            ndjson = argv[i + 1];
        else {
            fprintf(stderr, "usage: topic_census [--brokers B] [--topic-prefix P] [--ndjson F]\n");
            return 2;
        }
    }
    census cs[N_TOPICS];
    memset(cs, 0, sizeof cs);
    for (int i = 0; i < N_TOPICS; i++) {
        cs[i].kind = i < ECOM_KIND_COUNT ? i : -1;
        snprintf(cs[i].name, sizeof cs[i].name, "%s%s", prefix,
                 i < ECOM_KIND_COUNT ? ecom_kind_topic((ecom_kind)i) : ECOM_TOPIC_DLQ);
        cs[i].keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        cs[i].ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        cs[i].event_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    ecom_record *scratch = malloc(sizeof *scratch);
    int rc = ndjson ? read_ndjson(cs, scratch, ndjson) : read_kafka(cs, scratch, brokers);
    free(scratch);
    if (rc == 0) {
        json_t *out = json_object();
        for (int i = 0; i < N_TOPICS; i++) {
            char digest[17];
            snprintf(digest, sizeof digest, "%016llx", (unsigned long long)cs[i].digest);
            json_object_set_new(
                out, i < ECOM_KIND_COUNT ? ecom_kind_topic((ecom_kind)i) : ECOM_TOPIC_DLQ,
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "messages", (json_int_t)cs[i].messages,
                          "distinct_keys", (json_int_t)g_hash_table_size(cs[i].keys),
                          "distinct_ids", (json_int_t)g_hash_table_size(cs[i].ids),
                          "distinct_event_ids", (json_int_t)g_hash_table_size(cs[i].event_ids),
                          "invalid", (json_int_t)cs[i].invalid, "digest", digest));
        }
        json_dumpf(out, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(out);
    }
    for (int i = 0; i < N_TOPICS; i++) {
        g_hash_table_destroy(cs[i].keys);
        g_hash_table_destroy(cs[i].ids);
        g_hash_table_destroy(cs[i].event_ids);
    }
    return rc == 0 ? 0 : 1;
}
