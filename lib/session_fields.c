/*
 * session_fields.c - a counters writer's copy of its sessions' first-seen fields (see
 * session_fields.h for why a copy may be stale and still never count wrong).
 *
 * Blocks are kept by key in a hash table, each one byte array that grows (zero-filled) to the
 * highest slot seen. Staged changes are a list of (block, slot, value); turning them into ranges
 * sorts them by block and slot, so a batch's sessions, which the generator numbers in order,
 * become few long ranges instead of one per session.
 */
#include "ecom/session_fields.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"

struct ecom_session_block {
    char *key;
    uint8_t *bytes;
    size_t len;    /* zero-filled up to here */
    uint64_t used; /* the batch that last used it */
};

typedef struct staged {
    ecom_session_block *block;
    int64_t slot;
    uint32_t value;
} staged;

struct ecom_session_fields {
    GHashTable *blocks; /* key (in the block) -> ecom_session_block */
    GArray *staged;     /* staged */
    size_t bytes, max_bytes;
    uint64_t batch;
    ecom_buf scratch; /* a range's expected and new bytes */
};

static void block_free(gpointer p)
{
    ecom_session_block *b = p;
    free(b->key);
    free(b->bytes);
    free(b);
}

ecom_session_fields *ecom_session_fields_new(size_t max_bytes)
{
    ecom_session_fields *f = ecom_xcalloc(1, sizeof *f);
    f->blocks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, block_free);
    f->staged = g_array_new(FALSE, FALSE, sizeof(staged));
    f->max_bytes = max_bytes;
    ecom_buf_init(&f->scratch);
    return f;
}

void ecom_session_fields_free(ecom_session_fields *f)
{
    if (!f)
        return;
    g_hash_table_destroy(f->blocks);
    g_array_free(f->staged, TRUE);
    ecom_buf_free(&f->scratch);
    free(f);
}

ecom_session_block *ecom_session_fields_find(ecom_session_fields *f, const char *key)
{
    ecom_session_block *b = g_hash_table_lookup(f->blocks, key);
    if (b)
        b->used = f->batch;
    return b;
}

/* Grows b (zero-filled) to hold `len` bytes. */
static void block_reserve(ecom_session_fields *f, ecom_session_block *b, size_t len)
{
    if (len <= b->len)
        return;
    b->bytes = ecom_xrealloc(b->bytes, len);
    memset(b->bytes + b->len, 0, len - b->len);
    f->bytes += len - b->len;
    b->len = len;
}

ecom_session_block *ecom_session_fields_keep(ecom_session_fields *f, const char *key,
                                             const void *bytes, size_t len)
{
    g_assert(!g_hash_table_contains(f->blocks, key)); /* (staged changes may point at it) */
    ecom_session_block *b = ecom_xcalloc(1, sizeof *b);
    b->key = ecom_xstrdup(key);
    block_reserve(f, b, len);
    if (len)
        memcpy(b->bytes, bytes, len);
    b->used = f->batch;
    g_hash_table_insert(f->blocks, b->key, b);
    return b;
}

uint32_t ecom_session_field(const ecom_session_block *b, int64_t slot)
{
    size_t at = (size_t)slot * ECOM_SESSION_FIELD_BYTES;
    if (slot < 0 || at + ECOM_SESSION_FIELD_BYTES > b->len)
        return 0;
    const uint8_t *p = b->bytes + at;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void field_write(uint8_t *p, uint32_t value)
{
    p[0] = (uint8_t)(value >> 16);
    p[1] = (uint8_t)(value >> 8);
    p[2] = (uint8_t)value;
}

void ecom_session_fields_stage(ecom_session_fields *f, ecom_session_block *b, int64_t slot,
                               uint32_t value)
{
    g_assert(slot >= 0);
    block_reserve(f, b, (size_t)(slot + 1) * ECOM_SESSION_FIELD_BYTES);
    staged s = {.block = b, .slot = slot, .value = value};
    g_array_append_val(f->staged, s);
}

static int staged_order(gconstpointer pa, gconstpointer pb)
{
    const staged *a = pa, *b = pb;
    if (a->block != b->block)
        return strcmp(a->block->key, b->block->key);
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* Appends the range of staged[from..to) (one block, in slot order). */
static void append_range(ecom_session_fields *f, guint from, guint to, ecom_redis_args *out)
{
    const staged *first = &g_array_index(f->staged, staged, from);
    const staged *last = &g_array_index(f->staged, staged, to - 1);
    size_t at = (size_t)first->slot * ECOM_SESSION_FIELD_BYTES;
    size_t len = (size_t)(last->slot - first->slot + 1) * ECOM_SESSION_FIELD_BYTES;
    ecom_buf_reset(&f->scratch);
    ecom_buf_append(&f->scratch, first->block->bytes + at, len);
    uint8_t *now = (uint8_t *)f->scratch.data;
    for (guint i = from; i < to; i++) {
        const staged *s = &g_array_index(f->staged, staged, i);
        field_write(now + (size_t)(s->slot - first->slot) * ECOM_SESSION_FIELD_BYTES, s->value);
    }
    ecom_redis_args_add(out, first->block->key);
    ecom_redis_args_add_int(out, (int64_t)at);
    ecom_redis_args_add_len(out, (const char *)first->block->bytes + at, len);
    ecom_redis_args_add_len(out, f->scratch.data, len);
}

int ecom_session_fields_ranges(ecom_session_fields *f, int max_gap, ecom_redis_args *out)
{
    g_array_sort(f->staged, staged_order);
    int n = 0;
    guint from = 0;
    for (guint i = 1; i <= f->staged->len; i++) {
        const staged *prev = &g_array_index(f->staged, staged, i - 1);
        const staged *s = i < f->staged->len ? &g_array_index(f->staged, staged, i) : NULL;
        if (s && s->block == prev->block && s->slot - prev->slot <= max_gap + 1)
            continue;
        if (i > from) {
            append_range(f, from, i, out);
            n++;
        }
        from = i;
    }
    return n;
}

/* Between batches: drops the blocks used longest ago while the copy holds more than max_bytes. */
static void end_batch(ecom_session_fields *f)
{
    g_array_set_size(f->staged, 0);
    f->batch++;
    if (f->bytes <= f->max_bytes)
        return;
    guint n = g_hash_table_size(f->blocks);
    ecom_session_block **all = ecom_xmalloc(n * sizeof *all);
    GHashTableIter it;
    gpointer key, value;
    guint k = 0;
    g_hash_table_iter_init(&it, f->blocks);
    while (g_hash_table_iter_next(&it, &key, &value))
        all[k++] = value;
    for (guint i = 1; i < n; i++) { /* oldest first (few blocks: insertion sort) */
        ecom_session_block *b = all[i];
        guint j = i;
        for (; j > 0 && all[j - 1]->used > b->used; j--)
            all[j] = all[j - 1];
        all[j] = b;
    }
    for (guint i = 0; i < n && f->bytes > f->max_bytes; i++) {
        f->bytes -= all[i]->len;
        g_hash_table_remove(f->blocks, all[i]->key);
    }
    free(all);
}

void ecom_session_fields_commit(ecom_session_fields *f)
{
    for (guint i = 0; i < f->staged->len; i++) {
        const staged *s = &g_array_index(f->staged, staged, i);
        field_write(s->block->bytes + (size_t)s->slot * ECOM_SESSION_FIELD_BYTES, s->value);
    }
    end_batch(f);
}

void ecom_session_fields_discard(ecom_session_fields *f)
{
    end_batch(f);
}

void ecom_session_fields_forget(ecom_session_fields *f)
{
    g_array_set_size(f->staged, 0);
    g_hash_table_remove_all(f->blocks);
    f->bytes = 0;
}

size_t ecom_session_fields_bytes(const ecom_session_fields *f)
{
    return f->bytes;
}
