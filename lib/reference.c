/*
 * reference.c - the in-memory reference tables (see reference.h): three hash tables keyed by the
 * id stored inside each entry, so an entry is one allocation.
 */
#include "ecom/reference.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ecom/buf.h"

struct ecom_reference {
    GHashTable *categories; /* category_id (in entry) -> ecom_ref_category */
    GHashTable *products;   /* product_id (in entry) -> ecom_ref_product */
    GHashTable *users;      /* user_id (in entry) -> ecom_ref_user */
    ecom_record *scratch;   /* foreach hands out entries as records */
};

ecom_reference *ecom_reference_new(void)
{
    ecom_reference *ref = ecom_xcalloc(1, sizeof *ref);
    ref->categories = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    ref->products = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    ref->users = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    ref->scratch = ecom_xmalloc(sizeof *ref->scratch);
    return ref;
}

void ecom_reference_free(ecom_reference *ref)
{
    if (!ref)
        return;
    g_hash_table_destroy(ref->categories);
    g_hash_table_destroy(ref->products);
    g_hash_table_destroy(ref->users);
    free(ref->scratch);
    free(ref);
}

/* The entry of id in t, created zeroed (with its id) when missing; *created tells which. */
static void *entry_at(GHashTable *t, const char *id, size_t size, bool *created)
{
    char *e = g_hash_table_lookup(t, id);
    *created = e == NULL;
    if (!e) {
        e = ecom_xcalloc(1, size);
        g_strlcpy(e, id, ECOM_ID_MAX); /* every entry starts with its id */
        g_hash_table_insert(t, e, e);
    }
    return e;
}

static bool set_text(char *field, size_t n, const char *value)
{
    if (strcmp(field, value) == 0)
        return false;
    g_strlcpy(field, value, n);
    return true;
}

bool ecom_reference_apply(ecom_reference *ref, const ecom_record *r)
{
    bool created, changed = false;
    switch (r->kind) {
    case ECOM_KIND_CATEGORY: {
        ecom_ref_category *c =
            entry_at(ref->categories, r->u.category.category_id, sizeof *c, &created);
        changed = set_text(c->name, sizeof c->name, r->u.category.name);
        break;
    }
    case ECOM_KIND_PRODUCT: {
        ecom_ref_product *p = entry_at(ref->products, r->u.product.product_id, sizeof *p, &created);
        changed = set_text(p->name, sizeof p->name, r->u.product.name);
        changed |= set_text(p->category_id, sizeof p->category_id, r->u.product.category_id);
        break;
    }
    case ECOM_KIND_USER: {
        ecom_ref_user *u = entry_at(ref->users, r->u.user.user_id, sizeof *u, &created);
        changed = u->registration_date != r->u.user.registration_date;
        u->registration_date = r->u.user.registration_date;
        break;
    }
    default:
        return false;
    }
    return created || changed;
}

const ecom_ref_product *ecom_reference_product(const ecom_reference *ref, const char *product_id)
{
    return g_hash_table_lookup(ref->products, product_id);
}

const ecom_ref_user *ecom_reference_user(const ecom_reference *ref, const char *user_id)
{
    return g_hash_table_lookup(ref->users, user_id);
}

const ecom_ref_category *ecom_reference_category(const ecom_reference *ref, const char *category_id)
{
    return g_hash_table_lookup(ref->categories, category_id);
}

void ecom_reference_foreach(const ecom_reference *ref, void (*fn)(void *arg, const ecom_record *r),
                            void *arg)
{
    GHashTableIter it;
    gpointer key, value;
    ecom_record *rec = ref->scratch;
    g_hash_table_iter_init(&it, ref->categories);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const ecom_ref_category *c = value;
        memset(rec, 0, sizeof *rec);
        rec->kind = ECOM_KIND_CATEGORY;
        g_strlcpy(rec->u.category.category_id, c->category_id, ECOM_ID_MAX);
        g_strlcpy(rec->u.category.name, c->name, ECOM_NAME_MAX);
        fn(arg, rec);
    }
    g_hash_table_iter_init(&it, ref->products);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const ecom_ref_product *p = value;
        memset(rec, 0, sizeof *rec);
        rec->kind = ECOM_KIND_PRODUCT;
        g_strlcpy(rec->u.product.product_id, p->product_id, ECOM_ID_MAX);
        g_strlcpy(rec->u.product.name, p->name, ECOM_NAME_MAX);
        g_strlcpy(rec->u.product.category_id, p->category_id, ECOM_ID_MAX);
        fn(arg, rec);
    }
    g_hash_table_iter_init(&it, ref->users);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const ecom_ref_user *u = value;
        memset(rec, 0, sizeof *rec);
        rec->kind = ECOM_KIND_USER;
        g_strlcpy(rec->u.user.user_id, u->user_id, ECOM_ID_MAX);
        rec->u.user.registration_date = u->registration_date;
        fn(arg, rec);
    }
}

void ecom_reference_sizes(const ecom_reference *ref, int64_t *categories, int64_t *products,
                          int64_t *users)
{
    *categories = g_hash_table_size(ref->categories);
    *products = g_hash_table_size(ref->products);
    *users = g_hash_table_size(ref->users);
}
