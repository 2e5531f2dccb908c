/*
 * mongo_store.h - the MongoDB side of the data model: documents, collections, indexes, and the
 * batches the sink writes.
 *
 * Database `ecommerce_db` (--mongo-db), one collection per reference kind and one for transactions;
 * `_id` is the natural id and the natural id field is kept too. Times are BSON dates, money int64
 * cents. Only features both MongoDB and FerretDB v1 support are used, so the same code runs against
 * the containers' MongoDB and the local stack's FerretDB.
 */
#ifndef ECOM_MONGO_STORE_H
#define ECOM_MONGO_STORE_H

#include <mongoc/mongoc.h>
#include "ecom/config.h"
#include "ecom/error.h"
#include "ecom/model.h"

/* Collection of a record kind ("users", ...); NULL for session events (they go to HBase). */
const char *ecom_mongo_collection(ecom_kind kind);

/* mongoc_init() plus routing the driver's own log lines into ours (structured, on stderr). */
void ecom_mongo_init(void);

/* A client for --mongo-uri, with a short server-selection timeout unless the URI sets one, so a
 * store outage is noticed and retried quickly. Call ecom_mongo_init() first. */
mongoc_client_t *ecom_mongo_connect(const ecom_config *cfg, const char *appname, ecom_error *err);
/* Round trip to the server ("ping"). */
int ecom_mongo_ping(mongoc_client_t *client, ecom_error *err);

/* The document of a record (kinds with a collection only), with _id = natural id. */
void ecom_mongo_document(const ecom_record *r, bson_t *doc);

/* Calls fn with every document of a cursor, then destroys the cursor; fn returns non-zero to
 * stop early. `what` names the query in errors ("users of ecommerce_db"). */
int ecom_mongo_each(mongoc_cursor_t *cursor, const char *what,
                    int (*fn)(void *arg, const bson_t *doc), void *arg, ecom_error *err);

/* A top-level field of a document: its text (NULL unless UTF-8), integer (any numeric type,
 * else 0) or time (a BSON date, else 0). */
const char *ecom_bson_text(const bson_t *doc, const char *key);
int64_t ecom_bson_int(const bson_t *doc, const char *key);
ecom_time ecom_bson_time(const bson_t *doc, const char *key);

/* Creates the indexes readers use (idempotent). */
int ecom_mongo_create_indexes(mongoc_client_t *client, const char *db, ecom_error *err);

/* The sink's writer: one or a few connections to --mongo-uri and --mongo-db. A batch is
 * written over all of them at once, a share of every collection each, each on a thread of its
 * own. A MongoDB server writes documents of one collection in parallel; FerretDB v1 on SQLite
 * runs each connection's commands on one thread and lets one transaction write at a time, so
 * there a second connection costs more CPU than it saves (measured). Connections open lazily
 * and reconnect after a failure. Used by one thread at a time. */
typedef struct ecom_mongo ecom_mongo;
ecom_mongo *ecom_mongo_new(const ecom_config *cfg, const char *appname, int connections,
                           ecom_error *err);
void ecom_mongo_free(ecom_mongo *m);
/* ecom_mongo_create_indexes on the writer's database. */
int ecom_mongo_ensure_indexes(ecom_mongo *m, ecom_error *err);

/* Pending documents of a batch, per collection, keyed by _id: a later version of an id replaces
 * the one pending (an unordered insert may apply its documents in any order).
 *
 * Writing is idempotent. Each collection's documents go in unordered inserts; an _id already
 * stored is the same transaction again (facts are immutable: nothing to do) or a version of a
 * user, category or product, which is rewritten only when it differs from the stored one. So
 * writing a batch twice, after a crash, a replay or a duplicate published upstream, leaves the
 * documents exactly as once, and a replay costs reads, not writes.
 *
 * Why not a replace-with-upsert for everything: on the SQLite-backed FerretDB of the local stack
 * an upsert scans the collection, so its cost grows with the collection, and long runs of
 * replacements stall; inserts are checked by the unique _id index and stay fast everywhere. */
typedef struct ecom_mongo_batch ecom_mongo_batch;
ecom_mongo_batch *ecom_mongo_batch_new(void);
void ecom_mongo_batch_free(ecom_mongo_batch *b);
/* Adds the document of a record of a kind with a collection (ecom_mongo_collection). */
void ecom_mongo_batch_add(ecom_mongo_batch *b, const ecom_record *r);
int64_t ecom_mongo_batch_documents(const ecom_mongo_batch *b);
void ecom_mongo_batch_clear(ecom_mongo_batch *b);
/* Writes every pending document; on success the batch is empty. On failure it keeps every
 * collection not written in full (a collection written in full leaves it), so a retry sends only
 * those. Touches only m and b: safe on a thread other than the one filling the next batch, as
 * long as no other thread uses m meanwhile. */
int ecom_mongo_batch_write(ecom_mongo *m, ecom_mongo_batch *b, ecom_error *err);

#endif
