/*
 * model.c - the names of the model's values and the ids a record is known by (see model.h).
 *
 * The JSON spelling of each enumeration lives here once: the codec writes and reads it, the
 * validator quotes it in its messages and the HBase store writes it into cells, all through
 * these functions. A name that is not in a list is refused (-1), never mapped to a default.
 */
#include "ecom/model.h"

#include <string.h>

static const char *const event_type_names[] = {"session_start", "page_view", "cart_add",
                                               "session_end"};
static const char *const page_type_names[ECOM_PAGE_COUNT] = {
    "home", "search", "category_listing", "product_detail", "cart", "checkout", "confirmation"};
static const char *const conversion_names[] = {"converted", "abandoned", "browsed"};

const char *ecom_key(ecom_kind kind, const void *rec)
{
    switch (kind) {
    case ECOM_KIND_CATEGORY:
        return ((const ecom_category *)rec)->category_id;
    case ECOM_KIND_PRODUCT:
        return ((const ecom_product *)rec)->product_id;
    case ECOM_KIND_USER:
        return ((const ecom_user *)rec)->user_id;
    case ECOM_KIND_TRANSACTION:
        return ((const ecom_transaction *)rec)->user_id;
    case ECOM_KIND_SESSION_EVENT:
        return ((const ecom_session_event *)rec)->user_id;
    default:
        return "";
    }
}

const char *ecom_record_id(const ecom_record *r)
{
    switch (r->kind) {
    case ECOM_KIND_CATEGORY:
        return r->u.category.category_id;
    case ECOM_KIND_PRODUCT:
        return r->u.product.product_id;
    case ECOM_KIND_USER:
        return r->u.user.user_id;
    case ECOM_KIND_TRANSACTION:
        return r->u.transaction.transaction_id;
    case ECOM_KIND_SESSION_EVENT:
        return r->u.event.event_id;
    default:
        return "";
    }
}

static int name_lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++) /* the first byte first: this runs for every event */
        if (names[i][0] == s[0] && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

size_t ecom_event_part_size(ecom_event_type t)
{
    switch (t) {
    case ECOM_EV_SESSION_START:
        return sizeof(ecom_session_start);
    case ECOM_EV_PAGE_VIEW:
        return sizeof(ecom_page_view);
    case ECOM_EV_CART_ADD:
        return sizeof(ecom_cart_add);
    case ECOM_EV_SESSION_END:
        return sizeof(ecom_session_end);
    }
    return sizeof(((ecom_session_event *)0)->u);
}

const char *ecom_event_type_name(ecom_event_type t)
{
    return event_type_names[t];
}

int ecom_event_type_from_name(const char *s, ecom_event_type *out)
{
    int i = name_lookup(event_type_names, 4, s);
    if (i < 0)
        return -1;
    *out = (ecom_event_type)i;
    return 0;
}

const char *ecom_page_type_name(ecom_page_type t)
{
    return page_type_names[t];
}

int ecom_page_type_from_name(const char *s, ecom_page_type *out)
{
    int i = name_lookup(page_type_names, ECOM_PAGE_COUNT, s);
    if (i < 0)
        return -1;
    *out = (ecom_page_type)i;
    return 0;
}

const char *ecom_conversion_name(ecom_conversion c)
{
    return conversion_names[c];
}

int ecom_conversion_from_name(const char *s, ecom_conversion *out)
{
    int i = name_lookup(conversion_names, 3, s);
    if (i < 0)
        return -1;
    *out = (ecom_conversion)i;
    return 0;
}
