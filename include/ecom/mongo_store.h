/*
 * mongo_store.h - the MongoDB side of the data model: documents, collections, indexes.
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

#endif
