/*
 * init_cmd.c - `ecom init`: creates what the services expect to exist, idempotently.
 *
 * The Kafka topics, the HBase table with its families and the MongoDB indexes. The sinks create
 * the table and the indexes too when they start, so init is what a fresh deployment runs once
 * (a container's init step) to have everything in place before any service starts. Running it
 * twice is harmless. With --wait it keeps trying a store that is not reachable yet.
 */
#include <string.h>
#include "commands.h"
#include "ecom/hbase_store.h"
#include "ecom/kafka.h"
#include "ecom/log.h"
#include "ecom/mongo_store.h"
#include "ecom/retry.h"
#include "ecom/signals.h"
#include "ecom/timeutil.h"

static const ecom_option init_options[] = {
    ECOM_INT_OPTION("partitions", 0, "ECOM_PARTITIONS", partitions, "3", 1, 10000, "N",
                    "partitions of each new topic"),
    ECOM_INT_OPTION("replication", 0, "ECOM_REPLICATION", replication, "1", 1, 100, "N",
                    "replication factor of each new topic"),
    ECOM_FLAG_OPTION("topics-only", 0, NULL, topics_only,
                     "create the topics only, not the HBase table and the MongoDB indexes"),
    ECOM_INT_OPTION("wait", 0, "ECOM_WAIT", wait_s, "0", 0, 86400, "SECONDS",
                    "keep trying for up to SECONDS while a service is not reachable yet"),
    ECOM_FLAG_OPTION("delete", 0, NULL, delete_topics,
                     "delete the topics under --topic-prefix instead (their data is gone)"),
    ECOM_OPTIONS_END,
};

typedef int (*init_step)(const ecom_config *cfg, ecom_error *err);

static int create_topics(const ecom_config *cfg, ecom_error *err)
{
    int created = 0;
    if (ecom_kafka_create_topics(cfg, (int)cfg->partitions, (int)cfg->replication, &created, err))
        return -1;
    ecom_log(ECOM_INFO, "topics ready", "prefix=%s created=%d", cfg->topic_prefix, created);
    return 0;
}

static int create_table(const ecom_config *cfg, ecom_error *err)
{
    ecom_hbase *h = ecom_hbase_new(cfg->hbase, cfg->hbase_table, err);
    int rc = h ? ecom_hbase_ensure_table(h, err) : -1;
    ecom_hbase_free(h);
    if (rc == 0)
        ecom_log(ECOM_INFO, "HBase table ready", "table=%s", cfg->hbase_table);
    return rc;
}

static int create_indexes(const ecom_config *cfg, ecom_error *err)
{
    mongoc_client_t *client = ecom_mongo_connect(cfg, "ecom-init", err);
    int rc = client ? ecom_mongo_create_indexes(client, cfg->mongo_db, err) : -1;
    mongoc_client_destroy(client);
    if (rc == 0)
        ecom_log(ECOM_INFO, "MongoDB indexes ready", "db=%s", cfg->mongo_db);
    return rc;
}

/* Runs a step, again every 2 s until it works or --wait runs out. */
static int run_step(const ecom_config *cfg, const char *what, init_step step, ecom_error *err)
{
    double deadline = ecom_monotonic() + (double)cfg->wait_s;
    for (;;) {
        if (step(cfg, err) == 0)
            return 0;
        if (ecom_monotonic() + 2 > deadline || ecom_stop_requested())
            return ecom_fail_prefix(err, "%s", what);
        ecom_log(ECOM_INFO, "not reachable yet, waiting", "what=\"%s\" error=\"%s\"", what,
                 err->msg);
        ecom_sleep_ms(2000);
    }
}

static int init_run(ecom_config *cfg)
{
    ecom_error err;
    if (cfg->delete_topics) {
        if (ecom_kafka_delete_topics(cfg, &err)) {
            ecom_log(ECOM_ERROR, "deleting topics failed", "error=\"%s\"", err.msg);
            return 1;
        }
        ecom_log(ECOM_INFO, "topics deleted", "prefix=%s", cfg->topic_prefix);
        return 0;
    }
    ecom_signals_install();
    ecom_mongo_init();
    int rc = run_step(cfg, "Kafka topics", create_topics, &err);
    if (rc == 0 && !cfg->topics_only)
        rc = run_step(cfg, "HBase table", create_table, &err);
    if (rc == 0 && !cfg->topics_only)
        rc = run_step(cfg, "MongoDB indexes", create_indexes, &err);
    mongoc_cleanup();
    if (rc)
        ecom_log(ECOM_ERROR, "init failed", "error=\"%s\"", err.msg);
    return rc ? 1 : 0;
}

const ecom_command ecom_cmd_init = {
    .name = "init",
    .synopsis = "[options]",
    .summary = "Create the Kafka topics (reference topics compacted, facts kept for replay), the "
               "HBase table and the MongoDB indexes; safe to repeat.",
    .options = init_options,
    .min_args = 0,
    .max_args = 0,
    .run = init_run,
};
