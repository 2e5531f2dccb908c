/*
 * session_sim.c - the clickstream model of SPEC section 1 (see session_sim.h).
 *
 * The transition table below is the page flow exactly as specified; the first page is drawn
 * uniformly from home, search and category_listing. A product_detail page that finds no
 * sellable product (everything sold out or not yet created) degrades to a category listing so
 * the page count stays as drawn.
 */
#include "session_sim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_SESSIONS 0x5e55000000000000ULL

/* next-page probabilities, rows by current page, columns in ecom_page_type order:
 * home, search, category_listing, product_detail, cart, checkout, confirmation */
static const double flow[ECOM_PAGE_COUNT][ECOM_PAGE_COUNT] = {
    [ECOM_PAGE_HOME] = {0, .3, .5, .2, 0, 0, 0},
    [ECOM_PAGE_CATEGORY_LISTING] = {.1, .1, .1, .7, 0, 0, 0},
    [ECOM_PAGE_SEARCH] = {.1, .2, .1, .6, 0, 0, 0},
    [ECOM_PAGE_PRODUCT_DETAIL] = {.1, .1, .2, .3, .3, 0, 0},
    [ECOM_PAGE_CART] = {.1, 0, .1, .2, 0, .6, 0},
    [ECOM_PAGE_CHECKOUT] = {.1, 0, 0, 0, .1, 0, .8},
    [ECOM_PAGE_CONFIRMATION] = {.6, 0, .2, .2, 0, 0, 0},
};

static const char *const payment_methods[] = {"credit_card", "debit_card", "paypal",
                                              "apple_pay",   "google_pay", "bank_transfer"};
static const char *const statuses[] = {"completed", "processing", "shipped", "delivered"};
static const double status_weights[] = {.4, .1, .2, .3};

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Copies an id that is known to fit (ids are made here, at most ECOM_ID_MAX - 1 bytes). */
static void copy_id(char dst[ECOM_ID_MAX], const char *src)
{
    size_t n = strnlen(src, ECOM_ID_MAX - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static ecom_session_event *next_event(gen_session *s, const char *session_id, const char *user_id,
                                      ecom_event_type type, int32_t offset)
{
    int i = s->n_events++;
    ecom_session_event *ev = &s->events[i];
    /* Clears the header and only as much of the union as the type uses: session_end is large
     * and the other members all fit in the size of session_start. */
    _Static_assert(sizeof(ecom_page_view) <= sizeof(ecom_session_start) &&
                       sizeof(ecom_cart_add) <= sizeof(ecom_session_start),
                   "session_start must be the largest union member but session_end");
    _Static_assert(GEN_MAX_EVENTS <= 100, "event numbers are written with two digits at most");
    memset(ev, 0, offsetof(ecom_session_event, u));
    memset(&ev->u, 0, type == ECOM_EV_SESSION_END ? sizeof ev->u : sizeof ev->u.start);
    size_t n = strlen(session_id);
    memcpy(ev->event_id, session_id, n);
    ev->event_id[n++] = '-';
    if (i >= 10)
        ev->event_id[n++] = (char)('0' + i / 10);
    ev->event_id[n++] = (char)('0' + i % 10);
    ev->event_id[n] = '\0';
    ev->type = type;
    copy_id(ev->session_id, session_id);
    copy_id(ev->user_id, user_id);
    s->offsets[i] = offset;
    ev->start_time = s->start;
    ev->ts = s->start + offset;
    return ev;
}

/* Fills the money fields of a transaction from its items and a drawn discount. */
static void price_transaction(ecom_rng *r, ecom_transaction *t)
{
    t->subtotal_cents = 0;
    for (int i = 0; i < t->n_items; i++) {
        ecom_item *it = &t->items[i];
        it->subtotal_cents = it->unit_price_cents * it->quantity;
        t->subtotal_cents += it->subtotal_cents;
    }
    t->discount_cents = 0;
    if (ecom_rng_chance(r, 0.2))
        t->discount_cents = t->subtotal_cents * (5 * ecom_rng_range(r, 1, 4)) / 100;
    t->total_cents = t->subtotal_cents - t->discount_cents;
    snprintf(t->payment_method, sizeof t->payment_method, "%s",
             payment_methods[ecom_rng_below(r, 6)]);
    snprintf(t->status, sizeof t->status, "%s", statuses[ecom_rng_weighted(r, status_weights, 4)]);
}

typedef struct cart {
    int n;
    int product[ECOM_MAX_ITEMS];
    int32_t quantity[ECOM_MAX_ITEMS];
    ecom_cents unit_price[ECOM_MAX_ITEMS];
} cart;

static int cart_find(const cart *c, int product)
{
    for (int i = 0; i < c->n; i++)
        if (c->product[i] == product)
            return i;
    return -1;
}

static void add_viewed(ecom_session_end *end, const char *product_id)
{
    for (int i = 0; i < end->n_viewed; i++)
        if (strcmp(end->viewed_products[i], product_id) == 0)
            return;
    if (end->n_viewed < ECOM_MAX_VIEWED)
        snprintf(end->viewed_products[end->n_viewed++], ECOM_ID_MAX, "%s", product_id);
}

void gen_session_simulate(gen_world *w, int64_t index, ecom_time start, int64_t *next_txn,
                          gen_session *s)
{
    ecom_rng r;
    ecom_rng_seed(&r, w->seed, STREAM_SESSIONS + (uint64_t)index);
    char session_id[ECOM_ID_MAX];
    snprintf(session_id, sizeof session_id, "sess_%08lld", (long long)index);
    const ecom_user *user = &w->users[ecom_rng_below(&r, (uint64_t)w->n_users)];
    s->start = start;
    s->n_events = 0;
    s->viewed = s->carted = s->converted = s->has_transaction = false;

    int32_t duration = (int32_t)ecom_rng_range(&r, 30, 3600);
    int n_pages = (int)ecom_rng_range(&r, GEN_MIN_PAGES, GEN_MAX_PAGES);
    int32_t page_at[GEN_MAX_PAGES];
    for (int i = 0; i < n_pages; i++)
        page_at[i] = (int32_t)ecom_rng_below(&r, (uint64_t)duration);
    qsort(page_at, (size_t)n_pages, sizeof page_at[0], cmp_i32);

    ecom_session_event *ev = next_event(s, session_id, user->user_id, ECOM_EV_SESSION_START, 0);
    gen_session_profile(&r, user, &ev->u.start);

    ecom_session_end end;
    memset(&end, 0, sizeof end);
    cart c = {0};
    bool reached_checkout = false;
    ecom_page_type page = (ecom_page_type)ecom_rng_below(&r, 3); /* home|search|listing */
    for (int i = 0; i < n_pages; i++) {
        if (i > 0)
            page = (ecom_page_type)ecom_rng_weighted(&r, flow[page], ECOM_PAGE_COUNT);
        ecom_time ts = start + page_at[i];
        int product = -1;
        if (page == ECOM_PAGE_PRODUCT_DETAIL) {
            product = gen_pick_product(w, &r, ts);
            if (product < 0)
                page = ECOM_PAGE_CATEGORY_LISTING;
        }
        ev = next_event(s, session_id, user->user_id, ECOM_EV_PAGE_VIEW, page_at[i]);
        ecom_page_view *pv = &ev->u.page_view;
        pv->seq = i + 1;
        pv->page_type = page;
        pv->view_duration = (i + 1 < n_pages ? page_at[i + 1] : duration) - page_at[i];
        if (page == ECOM_PAGE_CATEGORY_LISTING)
            snprintf(pv->category_id, sizeof pv->category_id, "cat_%03d",
                     (int)ecom_rng_below(&r, GEN_CATEGORIES));
        if (page == ECOM_PAGE_CHECKOUT || page == ECOM_PAGE_CONFIRMATION)
            reached_checkout = true;
        if (product < 0)
            continue;

        const ecom_product *p = &w->products[product];
        copy_id(pv->product_id, p->product_id);
        copy_id(pv->category_id, p->category_id);
        s->viewed = true;
        add_viewed(&end, p->product_id);
        if (!ecom_rng_chance(&r, 0.3))
            continue;
        int32_t want = (int32_t)ecom_rng_range(&r, 1, 3);
        int line = cart_find(&c, product);
        int32_t in_cart = line >= 0 ? c.quantity[line] : 0;
        int32_t qty = want < p->current_stock - in_cart ? want : p->current_stock - in_cart;
        if (qty <= 0 || (line < 0 && c.n == ECOM_MAX_ITEMS))
            continue;
        ecom_cents price = gen_price_at(p, ts);
        if (line < 0) {
            line = c.n++;
            c.product[line] = product;
            c.quantity[line] = 0;
            c.unit_price[line] = price;
        }
        c.quantity[line] += qty;
        ev = next_event(s, session_id, user->user_id, ECOM_EV_CART_ADD, page_at[i]);
        copy_id(ev->u.cart_add.product_id, p->product_id);
        ev->u.cart_add.quantity = qty;
        ev->u.cart_add.unit_price_cents = c.unit_price[line];
        s->carted = true;
    }

    /* Conversion: a cart that reached checkout buys with p=0.7 if stock still covers it. */
    end.conversion_status = c.n ? ECOM_CONV_ABANDONED : ECOM_CONV_BROWSED;
    if (c.n && reached_checkout && ecom_rng_chance(&r, 0.7)) {
        bool in_stock = true;
        for (int i = 0; i < c.n; i++)
            in_stock &= w->products[c.product[i]].current_stock >= c.quantity[i];
        if (in_stock) {
            end.conversion_status = ECOM_CONV_CONVERTED;
            s->converted = s->has_transaction = true;
            ecom_transaction *t = &s->transaction;
            memset(t, 0, sizeof *t);
            snprintf(t->transaction_id, sizeof t->transaction_id, "txn_%08lld",
                     (long long)(*next_txn)++);
            snprintf(t->session_id, sizeof t->session_id, "%s", session_id);
            snprintf(t->user_id, sizeof t->user_id, "%s", user->user_id);
            t->timestamp = start + duration;
            t->n_items = c.n;
            for (int i = 0; i < c.n; i++) {
                gen_take_stock(w, c.product[i], c.quantity[i]);
                snprintf(t->items[i].product_id, sizeof t->items[i].product_id, "%s",
                         w->products[c.product[i]].product_id);
                t->items[i].quantity = c.quantity[i];
                t->items[i].unit_price_cents = c.unit_price[i];
            }
            price_transaction(&r, t);
            snprintf(end.transaction_id, sizeof end.transaction_id, "%s", t->transaction_id);
        }
    }
    end.duration_seconds = duration;
    end.n_cart = c.n;
    for (int i = 0; i < c.n; i++) {
        snprintf(end.cart_contents[i].product_id, ECOM_ID_MAX, "%s",
                 w->products[c.product[i]].product_id);
        end.cart_contents[i].quantity = c.quantity[i];
    }
    ev = next_event(s, session_id, user->user_id, ECOM_EV_SESSION_END, duration);
    ev->u.end = end;
}

bool gen_standalone_transaction(gen_world *w, ecom_rng *r, ecom_time ts, int64_t txn_number,
                                ecom_transaction *t)
{
    memset(t, 0, sizeof *t);
    int want = (int)ecom_rng_range(r, 1, 3);
    for (int k = 0; k < want; k++) {
        int product = gen_pick_product(w, r, ts);
        if (product < 0)
            break;
        bool repeat = false;
        for (int i = 0; i < t->n_items; i++)
            repeat |= strcmp(t->items[i].product_id, w->products[product].product_id) == 0;
        if (repeat)
            continue;
        const ecom_product *p = &w->products[product];
        int32_t qty = (int32_t)ecom_rng_range(r, 1, 3);
        if (qty > p->current_stock)
            qty = p->current_stock;
        ecom_item *it = &t->items[t->n_items++];
        snprintf(it->product_id, sizeof it->product_id, "%s", p->product_id);
        it->quantity = qty;
        it->unit_price_cents = gen_price_at(p, ts);
        gen_take_stock(w, product, qty);
    }
    if (t->n_items == 0)
        return false;
    snprintf(t->transaction_id, sizeof t->transaction_id, "txn_%08lld", (long long)txn_number);
    snprintf(t->user_id, sizeof t->user_id, "%s",
             w->users[ecom_rng_below(r, (uint64_t)w->n_users)].user_id);
    t->timestamp = ts;
    price_transaction(r, t);
    return true;
}
