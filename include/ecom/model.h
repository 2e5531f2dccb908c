/*
 * model.h - the event model: every entity and session event as a plain C struct.
 *
 * These structs are what flows between the codec, the generator, the sinks and the aggregators.
 * They own no heap memory: strings live in fixed arrays sized by the limits below, and the codec
 * rejects any input that would not fit, so a decoded record can be copied, stored in arrays and
 * freed with nothing but its container. Money is integer cents and times are ecom_time seconds,
 * so every sum computed from them is exact.
 *
 * Identifier shapes (checked by validate.c):
 *   category  cat_000          subcategory sub_000_00      product  prod_00000
 *   user      user_000000      session     sess_00000000   transaction txn_00000000
 *   event     <session_id>-<n>
 * with at least that many digits (more digits are allowed as scales grow).
 */
#ifndef ECOM_MODEL_H
#define ECOM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/timeutil.h"

/* Version 2 adds "segment" to session events and to transactions of a session; version 1 is
 * still decoded (its records simply carry no segment). */
#define ECOM_SCHEMA_VERSION 2

#define ECOM_ID_MAX 32   /* any id, including NUL */
#define ECOM_NAME_MAX 96 /* product, category and subcategory names */
#define ECOM_GEO_MAX 64  /* city, state, country */
#define ECOM_IP_MAX 46   /* textual IPv4 or IPv6 */
#define ECOM_WORD_MAX 24 /* enumerated words: payment method, status, referrer, ... */
#define ECOM_MAX_SUBCATEGORIES 8
#define ECOM_MAX_PRICES 8
#define ECOM_MAX_ITEMS 32  /* lines in one transaction or one cart */
#define ECOM_MAX_VIEWED 64 /* distinct products viewed in one session */
#define ECOM_MAX_QUANTITY 1000
#define ECOM_MAX_MESSAGE 65536 /* bytes of one encoded message */

typedef int64_t ecom_cents;

typedef struct ecom_subcategory {
    char subcategory_id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];
    double profit_margin; /* 0.10 - 0.40 */
} ecom_subcategory;

typedef struct ecom_category {
    char category_id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];
    int n_subcategories;
    ecom_subcategory subcategories[ECOM_MAX_SUBCATEGORIES];
} ecom_category;

typedef struct ecom_price_point {
    ecom_cents price_cents;
    ecom_time date;
} ecom_price_point;

typedef struct ecom_product {
    char product_id[ECOM_ID_MAX];
    char name[ECOM_NAME_MAX];
    char category_id[ECOM_ID_MAX];
    ecom_cents base_price_cents; /* the current price: the last of price_history */
    int n_prices;
    ecom_price_point price_history[ECOM_MAX_PRICES]; /* sorted by date */
    int32_t current_stock;
    bool is_active;
    ecom_time creation_date;
} ecom_product;

typedef struct ecom_geo {
    char city[ECOM_GEO_MAX];
    char state[ECOM_GEO_MAX];
    char country[ECOM_GEO_MAX];
    char ip_address[ECOM_IP_MAX]; /* sessions only; empty for users */
} ecom_geo;

typedef struct ecom_user {
    char user_id[ECOM_ID_MAX];
    ecom_geo geo_data;
    ecom_time registration_date;
    ecom_time last_active;
} ecom_user;

typedef struct ecom_item {
    char product_id[ECOM_ID_MAX];
    int32_t quantity;
    ecom_cents unit_price_cents;
    ecom_cents subtotal_cents; /* quantity * unit_price_cents */
} ecom_item;

/* The session's segment fields, carried by every event of a session and by a transaction that
 * belongs to one, so any of them can be counted by segment on its own. Empty strings when the
 * message did not carry them (schema version 1, a standalone transaction). */
typedef struct ecom_segment {
    char device[ECOM_WORD_MAX];   /* device_profile.type */
    char referrer[ECOM_WORD_MAX]; /* referrer */
    char country[ECOM_GEO_MAX];   /* geo_data.country */
} ecom_segment;

typedef struct ecom_transaction {
    char transaction_id[ECOM_ID_MAX];
    char session_id[ECOM_ID_MAX]; /* empty: a standalone transaction (JSON null) */
    char user_id[ECOM_ID_MAX];
    ecom_time timestamp;
    int n_items;
    ecom_item items[ECOM_MAX_ITEMS];
    ecom_cents subtotal_cents; /* sum of item subtotals */
    ecom_cents discount_cents;
    ecom_cents total_cents; /* subtotal - discount */
    char payment_method[ECOM_WORD_MAX];
    char status[ECOM_WORD_MAX];
    ecom_segment segment; /* of its session; empty for a standalone one */
} ecom_transaction;

typedef enum ecom_event_type {
    ECOM_EV_SESSION_START,
    ECOM_EV_PAGE_VIEW,
    ECOM_EV_CART_ADD,
    ECOM_EV_SESSION_END,
} ecom_event_type;

typedef enum ecom_page_type {
    ECOM_PAGE_HOME,
    ECOM_PAGE_SEARCH,
    ECOM_PAGE_CATEGORY_LISTING,
    ECOM_PAGE_PRODUCT_DETAIL,
    ECOM_PAGE_CART,
    ECOM_PAGE_CHECKOUT,
    ECOM_PAGE_CONFIRMATION,
    ECOM_PAGE_COUNT
} ecom_page_type;

typedef enum ecom_conversion {
    ECOM_CONV_CONVERTED,
    ECOM_CONV_ABANDONED,
    ECOM_CONV_BROWSED,
} ecom_conversion;

typedef struct ecom_device {
    char type[ECOM_WORD_MAX];    /* mobile | desktop | tablet */
    char os[ECOM_WORD_MAX];      /* iOS | Android | Windows | macOS */
    char browser[ECOM_WORD_MAX]; /* Chrome | Safari | Firefox | Edge */
} ecom_device;

typedef struct ecom_cart_line {
    char product_id[ECOM_ID_MAX];
    int32_t quantity;
} ecom_cart_line;

typedef struct ecom_session_start {
    ecom_device device_profile;
    ecom_geo geo_data;
    char referrer[ECOM_WORD_MAX]; /* direct | email | social | search_engine | affiliate */
} ecom_session_start;

typedef struct ecom_page_view {
    int32_t seq; /* 1-based position among the session's page views */
    ecom_page_type page_type;
    char product_id[ECOM_ID_MAX];  /* product_detail only, else empty */
    char category_id[ECOM_ID_MAX]; /* product_detail and category_listing, else empty */
    int32_t view_duration;         /* seconds */
} ecom_page_view;

typedef struct ecom_cart_add {
    char product_id[ECOM_ID_MAX];
    int32_t quantity;
    ecom_cents unit_price_cents;
} ecom_cart_add;

typedef struct ecom_session_end {
    int32_t duration_seconds;
    ecom_conversion conversion_status;
    char transaction_id[ECOM_ID_MAX]; /* converted only, else empty */
    int n_viewed;
    char viewed_products[ECOM_MAX_VIEWED][ECOM_ID_MAX]; /* distinct, in first-view order */
    int n_cart;
    ecom_cart_line cart_contents[ECOM_MAX_ITEMS]; /* product -> quantity, in first-add order */
} ecom_session_end;

typedef struct ecom_session_event {
    char event_id[ECOM_ID_MAX];
    ecom_event_type type;
    char session_id[ECOM_ID_MAX];
    char user_id[ECOM_ID_MAX];
    ecom_time ts;
    /* When the session started, on every event: a consumer can place any event (HBase row
     * key, funnel day) without having seen the session's first event. */
    ecom_time start_time;
    /* The session's segment, on every event (a session_start's is its own device, referrer and
     * country). */
    ecom_segment segment;
    union {
        ecom_session_start start;
        ecom_page_view page_view;
        ecom_cart_add cart_add;
        ecom_session_end end;
    } u;
} ecom_session_event;

/* The kinds of record that travel on topics; each has its own topic. */
typedef enum ecom_kind {
    ECOM_KIND_CATEGORY,
    ECOM_KIND_PRODUCT,
    ECOM_KIND_USER,
    ECOM_KIND_TRANSACTION,
    ECOM_KIND_SESSION_EVENT,
    ECOM_KIND_COUNT
} ecom_kind;

typedef struct ecom_record {
    ecom_kind kind;
    union {
        ecom_category category;
        ecom_product product;
        ecom_user user;
        ecom_transaction transaction;
        ecom_session_event event;
    } u;
} ecom_record;

/* Names and ids of records (model.c); the topic each kind travels on is in topics.h. */

/* The message key of a record of that kind: its natural id, or the user id for facts. */
const char *ecom_key(ecom_kind kind, const void *rec);
/* The record's own business id: category, product, user, transaction or event id. Stores are
 * idempotent by it. */
const char *ecom_record_id(const ecom_record *r);

/* The bytes of a session event's union (ecom_session_event.u) that its type uses: what a writer
 * of an event clears, rather than the whole union, most of which only a session_end needs. */
size_t ecom_event_part_size(ecom_event_type t);
const char *ecom_event_type_name(ecom_event_type t);
int ecom_event_type_from_name(const char *s, ecom_event_type *out);
const char *ecom_page_type_name(ecom_page_type t);
int ecom_page_type_from_name(const char *s, ecom_page_type *out);
const char *ecom_conversion_name(ecom_conversion c);
int ecom_conversion_from_name(const char *s, ecom_conversion *out);

#endif
