/*
 * session_fields.h - a counters writer's copy of its sessions' first-seen fields.
 *
 * A session's first-seen bits are one field of ECOM_SESSION_FIELD_BYTES bytes at byte
 * 3 * slot of the bitmap "seen:session:<block>" (counters.h), most significant bit first. The
 * writer keeps a copy of the blocks its batches touch, decides in memory which bits a batch
 * newly sets, and sends apply.lua only the byte ranges that change, each with the bytes it
 * expects to find there. The script writes none of a batch unless every range still holds what
 * was expected; otherwise it answers "stale", the writer forgets its copy and plans the batch
 * again. So the copy can be out of date (another group member wrote a neighbouring session, a
 * rebalance moved a partition here, an earlier reply was lost) and no counter is ever wrong:
 * the price of a stale copy is one more round.
 *
 * A batch's changes are staged, then committed when the script applied them or discarded when
 * it did not. The copy holds at most max_bytes of blocks between batches, dropping the ones
 * used longest ago (reading them again costs a GET).
 */
#ifndef ECOM_SESSION_FIELDS_H
#define ECOM_SESSION_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include "ecom/redis.h"

enum { ECOM_SESSION_FIELD_BYTES = 3 };

typedef struct ecom_session_fields ecom_session_fields;
typedef struct ecom_session_block ecom_session_block;

ecom_session_fields *ecom_session_fields_new(size_t max_bytes);
void ecom_session_fields_free(ecom_session_fields *f);

/* The copy of block `key`, or NULL when there is none. */
ecom_session_block *ecom_session_fields_find(ecom_session_fields *f, const char *key);
/* Keeps a copy of block `key`, which has none yet, as stored: `len` bytes (0 when the key does
 * not exist). */
ecom_session_block *ecom_session_fields_keep(ecom_session_fields *f, const char *key,
                                             const void *bytes, size_t len);

/* A session's field as the copy has it (staged changes not included). */
uint32_t ecom_session_field(const ecom_session_block *b, int64_t slot);
/* Stages a new value of a session's field; each slot at most once per batch. */
void ecom_session_fields_stage(ecom_session_fields *f, ecom_session_block *b, int64_t slot,
                               uint32_t value);

/* Appends the staged changes to `out` as (key, byte offset, expected bytes, new bytes), one
 * range per run of changed slots of a block that are at most max_gap slots apart (the slots
 * between them go out unchanged, and are checked like the rest); returns how many ranges. */
int ecom_session_fields_ranges(ecom_session_fields *f, int max_gap, ecom_redis_args *out);

/* The staged changes are stored: the copy takes them. */
void ecom_session_fields_commit(ecom_session_fields *f);
/* The staged changes were not stored. */
void ecom_session_fields_discard(ecom_session_fields *f);
/* Drops every copy (and what is staged). */
void ecom_session_fields_forget(ecom_session_fields *f);
/* The bytes of blocks held. */
size_t ecom_session_fields_bytes(const ecom_session_fields *f);

#endif
