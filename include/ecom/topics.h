/*
 * topics.h - the project's topics: one per record kind, then the dead letters, all named
 * `<--topic-prefix><suffix>`.
 *
 * Everything that names a topic or reads a kind back from a topic's name goes through here, so
 * the list of topics, their suffixes and how Kafka keeps them (SPEC section 2) are written
 * once. Reference topics are compacted (the latest version of each id is what matters); facts
 * and dead letters are kept forever so a full backfill can be replayed.
 */
#ifndef ECOM_TOPICS_H
#define ECOM_TOPICS_H

#include <stddef.h>
#include "ecom/config.h"
#include "ecom/model.h"

#define ECOM_TOPIC_DLQ "dlq" /* the dead-letter topic's suffix */

typedef struct ecom_topic {
    const char *suffix;         /* "categories", ..., "session_events", "dlq" */
    const char *cleanup_policy; /* "compact" or "delete" (then kept forever) */
} ecom_topic;

/* Every topic: index k < ECOM_KIND_COUNT is kind k's, the last one the dead letters'. */
enum { ECOM_TOPIC_COUNT = ECOM_KIND_COUNT + 1 };
extern const ecom_topic ecom_topics[ECOM_TOPIC_COUNT];

/* Full topic name: prefix + suffix ("ecom." + "users"). */
void ecom_topic_name(const ecom_config *cfg, const char *suffix, char *out, size_t out_size);

/* The topic suffix of a kind ("categories", ..., "session_events"); "unknown" out of range. */
const char *ecom_kind_topic(ecom_kind kind);

/* The record kind a full topic name holds, by its suffix after the prefix; -1 when none (the
 * dead letters hold no kind). */
int ecom_kind_of_topic(const ecom_config *cfg, const char *topic);

#endif
