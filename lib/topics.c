/*
 * topics.c - the table of the project's topics and the names built from it (see topics.h).
 *
 * The table is indexed by record kind (each row names its kind), so a kind's suffix is one array
 * read, and creating, deleting and reading the topics all walk the same rows.
 */
#include "ecom/topics.h"

#include <stdio.h>
#include <string.h>

const ecom_topic ecom_topics[ECOM_TOPIC_COUNT] = {
    [ECOM_KIND_CATEGORY] = {"categories", "compact"},
    [ECOM_KIND_PRODUCT] = {"products", "compact"},
    [ECOM_KIND_USER] = {"users", "compact"},
    [ECOM_KIND_TRANSACTION] = {"transactions", "delete"},
    [ECOM_KIND_SESSION_EVENT] = {"session_events", "delete"},
    [ECOM_KIND_COUNT] = {ECOM_TOPIC_DLQ, "delete"},
};

void ecom_topic_name(const ecom_config *cfg, const char *suffix, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s%s", cfg->topic_prefix ? cfg->topic_prefix : "", suffix);
}

const char *ecom_kind_topic(ecom_kind kind)
{
    return kind < ECOM_KIND_COUNT ? ecom_topics[kind].suffix : "unknown";
}

int ecom_kind_of_topic(const ecom_config *cfg, const char *topic)
{
    size_t plen = strlen(cfg->topic_prefix);
    if (strncmp(topic, cfg->topic_prefix, plen) != 0)
        return -1;
    for (int k = 0; k < ECOM_KIND_COUNT; k++)
        if (strcmp(topic + plen, ecom_topics[k].suffix) == 0)
            return k;
    return -1;
}
