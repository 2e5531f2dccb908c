/*
 * table_reader.h - reads compacted topics as tables: every partition, from the beginning, then
 * follows them.
 *
 * The reference topics (categories, products, users) are tables: the latest message per key is
 * the current version. Every aggregator instance needs the whole table, not a share of the
 * partitions, so this reader assigns all partitions itself instead of joining a consumer group,
 * and never commits: it starts from the beginning on every start, which on a compacted topic
 * reads about one message per id.
 *
 * A message that fails to decode is logged and skipped here; the group that owns the topic's
 * dead letters (`ecom sink mongo`) sends it to the dead-letter topic.
 */
#ifndef ECOM_TABLE_READER_H
#define ECOM_TABLE_READER_H

#include <stdint.h>
#include "ecom/config.h"
#include "ecom/error.h"
#include "ecom/model.h"

typedef struct ecom_table_reader ecom_table_reader;

/* Called with every valid record, in each partition's order; non-zero stops the read. */
typedef int (*ecom_table_fn)(void *arg, const ecom_record *r);

/* Opens a reader of the topics of the given kinds (under --topic-prefix), positioned at the
 * beginning of every partition. Fails when a topic does not exist. */
ecom_table_reader *ecom_table_reader_open(const ecom_config *cfg, const ecom_kind *kinds,
                                          int n_kinds, ecom_error *err);
void ecom_table_reader_close(ecom_table_reader *t);

/* Reads until every partition reached the end offset it has now (a table loaded to its end
 * before facts are joined with it). */
int ecom_table_reader_catch_up(ecom_table_reader *t, ecom_table_fn fn, void *arg, ecom_error *err);

/* Applies what has arrived since, without waiting. */
int ecom_table_reader_poll(ecom_table_reader *t, ecom_table_fn fn, void *arg, ecom_error *err);

/* Records applied and messages skipped as invalid so far. */
void ecom_table_reader_stats(const ecom_table_reader *t, int64_t *records, int64_t *invalid);

#endif
