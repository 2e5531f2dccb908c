/*
 * pipeline.h - pipeline health from Kafka: messages and events/s per topic, consumer lag per
 * group, dead letters.
 *
 * A sampler keeps one Kafka client for metadata and watermarks, plus one consumer handle per
 * watched group that only reads the group's committed offsets (it never subscribes, so it never
 * joins the group). On each sample it reads every partition's low and high watermark of the
 * project's topics and the committed offsets of the consumer groups it watches. Messages per topic are the sum of (high - low); events/s the
 * growth of the high watermarks since the previous sample (null on the first); a group's lag the
 * sum of (high - committed) over the partitions of the topics it has committed offsets on; dead
 * letters the messages in the dead-letter topic (every group's).
 */
#ifndef ECOM_PIPELINE_H
#define ECOM_PIPELINE_H

#include <jansson.h>
#include "ecom/config.h"
#include "ecom/error.h"

/* The groups watched when none are named: the sinks' and the aggregator's defaults. */
#define ECOM_PIPELINE_GROUPS "ecom-sink-mongo,ecom-sink-hbase,ecom-aggregate"

typedef struct ecom_pipeline ecom_pipeline;

/* A sampler of the topics under --topic-prefix and the comma-separated consumer groups. */
ecom_pipeline *ecom_pipeline_new(const ecom_config *cfg, const char *groups, ecom_error *err);
void ecom_pipeline_free(ecom_pipeline *p);

/* One sample: {"topics": [{"topic", "messages", "events_per_s"}], "groups": [{"group", "lag"}],
 * "dead_letters": N} (new reference). Fails when Kafka does not answer. A group whose offsets
 * cannot be read (its coordinator not ready yet, say) has "lag": null and an "error". Blocks
 * for up to a few seconds per group while Kafka is slow to answer: call it off any thread
 * that must stay responsive. */
int ecom_pipeline_sample(ecom_pipeline *p, json_t **out, ecom_error *err);

/* Merges a sample into a snapshot's "pipeline" object (creating it if missing); with a NULL
 * sample, records why Kafka's figures are missing ("kafka_error"). */
void ecom_pipeline_merge(json_t *snapshot, json_t *sample, const char *error);

#endif
