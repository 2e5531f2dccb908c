/*
 * reference.h - the reference tables a stream-table join needs, in memory.
 *
 * Category revenue needs each product's category, spend by registration year and cohorts need
 * each user's registration date, and the rankings show product names. The aggregator keeps the
 * latest version of every category, product and user here, read from the compacted reference
 * topics (to their end before any fact is applied, then as they change), and joins each fact
 * with the version current when the fact is applied.
 *
 * Memory: one entry per id, about 200 bytes per product and 80 per user with the hash tables'
 * own overhead (seed scale: 5,000 products and 10,000 users, under 2 MB).
 */
#ifndef ECOM_REFERENCE_H
#define ECOM_REFERENCE_H

#include <stdbool.h>
#include "ecom/model.h"

typedef struct ecom_reference ecom_reference;

typedef struct ecom_ref_product {
    char product_id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];
    char category_id[ECOM_ID_MAX];
} ecom_ref_product;

typedef struct ecom_ref_user {
    char user_id[ECOM_ID_MAX];
    ecom_time registration_date;
} ecom_ref_user;

typedef struct ecom_ref_category {
    char category_id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];
} ecom_ref_category;

ecom_reference *ecom_reference_new(void);
void ecom_reference_free(ecom_reference *ref);

/* Keeps a category, product or user (other kinds are ignored). Returns true when the record is
 * a new id or changes what is kept for it (a new price or stock level changes nothing here). */
bool ecom_reference_apply(ecom_reference *ref, const ecom_record *r);

const ecom_ref_product *ecom_reference_product(const ecom_reference *ref, const char *product_id);
const ecom_ref_user *ecom_reference_user(const ecom_reference *ref, const char *user_id);
const ecom_ref_category *ecom_reference_category(const ecom_reference *ref,
                                                 const char *category_id);

/* Calls fn with every kept entry as a record of its kind (only the fields kept are set). */
void ecom_reference_foreach(const ecom_reference *ref, void (*fn)(void *arg, const ecom_record *r),
                            void *arg);

/* Entries kept: categories, products, users. */
void ecom_reference_sizes(const ecom_reference *ref, int64_t *categories, int64_t *products,
                          int64_t *users);

#endif
