/*
 * config.h - the settings of every command, in one struct filled by the option table.
 *
 * Each command reads the fields it documents; options.c owns parsing, defaults, environment
 * variables and help for all of them, so a setting is declared exactly once (its row in an
 * option table) and has one spelling everywhere: `--brokers`, `ECOM_BROKERS`, the help line.
 */
#ifndef ECOM_CONFIG_H
#define ECOM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* key=value pairs passed through to a client library (-X for librdkafka). */
typedef struct ecom_props {
    int n;
    char **keys;
    char **values;
} ecom_props;

typedef struct ecom_config {
    /* common: where the services are */
    char *brokers;
    char *topic_prefix;
    ecom_props kafka;   /* -X key=value, then --kafka-config FILE lines */
    char *kafka_config; /* properties file, read into `kafka` after parsing */
    char *mongo_uri;
    char *mongo_db;
    char *hbase;
    char *hbase_table;
    char *redis;
    char *redis_prefix; /* empty: the topic prefix */
    bool help;

    /* ecom generate */
    uint64_t seed;
    double scale;
    char *end;           /* YYYY-MM-DD, empty: today */
    char *mode;          /* backfill | live */
    double rate;         /* live: events per second */
    char *manifest;      /* the ground-truth metrics: written by generate, read by verify */
    char *output;        /* NDJSON file or "-" instead of Kafka, empty: Kafka */
    int64_t limit;       /* live: stop after this many session events, 0: run until signalled */
    int64_t concurrency; /* live: sessions open at once */
    bool progress;       /* force the progress line even when stderr is not a terminal */
    bool once;           /* backfill only if the fact topics are empty */

    /* consumers: sinks and aggregators */
    char *group; /* consumer group, empty: the command's own */
    char *from;  /* earliest | ISO time, empty: committed offsets */
    bool until_end;
    int64_t batch_size;
    int64_t batch_ms;
    int64_t decode_threads;

    /* ecom sink mongo */
    int64_t mongo_connections; /* connections a batch is written over */

    /* ecom aggregate */
    bool rebuild;
    bool snapshot;

    /* ecom dashboard */
    char *listen; /* HOST:PORT */
    char *groups; /* consumer groups whose lag is shown, comma-separated */

    /* readers */
    bool json;
    char *format; /* ecom report: csv | json | table, empty: table on a terminal, else csv */

    /* ecom init */
    int64_t partitions;
    int64_t replication;
    bool delete_topics;
    bool topics_only;
    int64_t wait_s;

    /* positional arguments after the options */
    int n_args;
    char **args;

    /* the option tables the config was parsed with: they say which fields it owns */
    const struct ecom_option *const *tables;
} ecom_config;

/* Frees what parsing stored: every string and key=value field of the rows of cfg->tables (each
 * set to NULL, so a field two rows share is freed once) and the positional arguments. */
void ecom_config_free(ecom_config *cfg);

/* The prefix of every Redis key: --redis-prefix, or the topic prefix when that is empty. */
const char *ecom_config_redis_prefix(const ecom_config *cfg);

#endif
