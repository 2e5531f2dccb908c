/*
 * init_cmd.c - `ecom init`: creates what the services expect to exist, idempotently.
 *
 * Today that is the Kafka topics; the stores' own set-up (HBase table, MongoDB indexes) is done
 * by their sinks at start-up. Running it twice is harmless, which is what a container init step
 * or a CI script needs.
 */
#include <string.h>
#include "commands.h"
#include "ecom/kafka.h"
#include "ecom/log.h"

static const ecom_option init_options[] = {
    {"partitions", 0, "ECOM_PARTITIONS", ECOM_OPT_INT, "3", "N", NULL, 1, 10000,
     offsetof(ecom_config, partitions), "partitions of each new topic"},
    {"replication", 0, "ECOM_REPLICATION", ECOM_OPT_INT, "1", "N", NULL, 1, 100,
     offsetof(ecom_config, replication), "replication factor of each new topic"},
    {"delete", 0, NULL, ECOM_OPT_FLAG, NULL, NULL, NULL, 0, 0, offsetof(ecom_config, delete_topics),
     "delete the topics under --topic-prefix instead (their data is gone)"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL},
};

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
    int created = 0;
    if (ecom_kafka_create_topics(cfg, (int)cfg->partitions, (int)cfg->replication, &created,
                                 &err)) {
        ecom_log(ECOM_ERROR, "init failed", "error=\"%s\"", err.msg);
        return 1;
    }
    ecom_log(ECOM_INFO, "topics ready", "prefix=%s created=%d", cfg->topic_prefix, created);
    return 0;
}

const ecom_command ecom_cmd_init = {
    .name = "init",
    .synopsis = "[options]",
    .summary = "Create the Kafka topics (reference topics compacted, facts kept for replay); "
               "safe to repeat.",
    .options = init_options,
    .min_args = 0,
    .max_args = 0,
    .run = init_run,
};
