/*
 * session_sim.c - the clickstream model of SPEC section 1 (see session_sim.h).
 *
 * The transition table below is the page flow exactly as specified; the first page is drawn
 * uniformly from home, search and category_listing. A product_detail page that finds no
 * sellable product (everything sold out or not yet created) degrades to a category listing so
 * the page count stays as drawn.
 *
 * gen_session_simulate runs the steps of a session in order: sim_begin (user, duration, page
 * times), the profile of session_start, page_flow (each page_view, and cart_consider on every
 * product page), conversion (and buy), session_end. All of them draw from the session's own
 * stream in that order: moving, adding or skipping a draw changes the data of every session
 * from there on, so a refactoring here must leave `ecom generate --output -` byte-identical.
 */
#include "session_sim.h"

#include <glib.h>
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
    /* Clears the header and only the union member the type uses (session_end is ten times the
     * size of the others, and a page view a quarter of a session_start). */
    _Static_assert(GEN_MAX_EVENTS <= 100, "event numbers are written with two digits at most");
    memset(ev, 0, offsetof(ecom_session_event, u));
    memset(&ev->u, 0, ecom_event_part_size(type));
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
    g_strlcpy(t->payment_method, payment_methods[ecom_rng_below(r, 6)], sizeof t->payment_method);
    g_strlcpy(t->status, statuses[ecom_rng_weighted(r, status_weights, 4)], sizeof t->status);
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
        g_strlcpy(end->viewed_products[end->n_viewed++], product_id, ECOM_ID_MAX);
}

/* One session being simulated: what its steps read and fill, in the order they run. */
typedef struct sim {
    gen_world *w;
    gen_session *s;
    ecom_rng r; /* the session's own stream: every draw below comes from it, in a fixed order */
    char session_id[ECOM_ID_MAX];
    const ecom_user *user;
    int32_t duration;               /* seconds from start to session_end */
    int n_pages;                    /* page views, as drawn */
    int32_t page_at[GEN_MAX_PAGES]; /* offset of each page view from the start, ascending */
    ecom_session_end end;           /* filled as the session goes, emitted last */
    cart c;
    bool reached_checkout; /* a checkout or confirmation page was viewed */
} sim;

static ecom_session_event *sim_event(sim *m, ecom_event_type type, int32_t offset)
{
    return next_event(m->s, m->session_id, m->user->user_id, type, offset);
}

/* Draws who the session belongs to, how long it lasts and when each of its pages is viewed. */
static void sim_begin(sim *m, gen_world *w, int64_t index, ecom_time start, gen_session *s)
{
    memset(m, 0, sizeof *m);
    m->w = w;
    m->s = s;
    ecom_rng_seed(&m->r, w->seed, STREAM_SESSIONS + (uint64_t)index);
    snprintf(m->session_id, sizeof m->session_id, "sess_%08lld", (long long)index);
    m->user = &w->users[ecom_rng_below(&m->r, (uint64_t)w->n_users)];
    s->start = start;
    s->n_events = 0;
    s->viewed = s->carted = s->converted = s->has_transaction = false;
    m->duration = (int32_t)ecom_rng_range(&m->r, 30, 3600);
    m->n_pages = (int)ecom_rng_range(&m->r, GEN_MIN_PAGES, GEN_MAX_PAGES);
    for (int i = 0; i < m->n_pages; i++)
        m->page_at[i] = (int32_t)ecom_rng_below(&m->r, (uint64_t)m->duration);
    qsort(m->page_at, (size_t)m->n_pages, sizeof m->page_at[0], cmp_i32);
}

/* The cart: with p=0.3 a viewed product is added, 1-3 of it, as far as its stock goes beyond
 * what the cart already holds; a full cart takes no new product. */
static void cart_consider(sim *m, int product, int i)
{
    if (!ecom_rng_chance(&m->r, 0.3))
        return;
    const ecom_product *p = &m->w->products[product];
    cart *c = &m->c;
    int32_t want = (int32_t)ecom_rng_range(&m->r, 1, 3);
    int line = cart_find(c, product);
    int32_t in_cart = line >= 0 ? c->quantity[line] : 0;
    int32_t qty = want < p->current_stock - in_cart ? want : p->current_stock - in_cart;
    if (qty <= 0 || (line < 0 && c->n == ECOM_MAX_ITEMS))
        return;
    if (line < 0) {
        line = c->n++;
        c->product[line] = product;
        c->quantity[line] = 0;
        c->unit_price[line] = gen_price_at(p, m->s->start + m->page_at[i]);
    }
    c->quantity[line] += qty;
    ecom_session_event *ev = sim_event(m, ECOM_EV_CART_ADD, m->page_at[i]);
    copy_id(ev->u.cart_add.product_id, p->product_id);
    ev->u.cart_add.quantity = qty;
    ev->u.cart_add.unit_price_cents = c->unit_price[line];
    m->s->carted = true;
}

/* Page view i of `page`; returns the product it shows, or -1. */
static int page_view(sim *m, int i, ecom_page_type page)
{
    ecom_time ts = m->s->start + m->page_at[i];
    int product = -1;
    if (page == ECOM_PAGE_PRODUCT_DETAIL) {
        product = gen_pick_product(m->w, &m->r, ts);
        if (product < 0)
            page = ECOM_PAGE_CATEGORY_LISTING;
    }
    ecom_session_event *ev = sim_event(m, ECOM_EV_PAGE_VIEW, m->page_at[i]);
    ecom_page_view *pv = &ev->u.page_view;
    pv->seq = i + 1;
    pv->page_type = page;
    pv->view_duration = (i + 1 < m->n_pages ? m->page_at[i + 1] : m->duration) - m->page_at[i];
    if (page == ECOM_PAGE_CATEGORY_LISTING)
        copy_id(pv->category_id,
                m->w->categories[ecom_rng_below(&m->r, GEN_CATEGORIES)].category_id);
    if (page == ECOM_PAGE_CHECKOUT || page == ECOM_PAGE_CONFIRMATION)
        m->reached_checkout = true;
    if (product >= 0) {
        const ecom_product *p = &m->w->products[product];
        copy_id(pv->product_id, p->product_id);
        copy_id(pv->category_id, p->category_id);
        m->s->viewed = true;
        add_viewed(&m->end, p->product_id);
    }
    return product;
}

/* The page flow: the first page uniformly from home, search and category_listing, each next one
 * by the transition table from the page drawn before (a degraded product page included), every
 * product page a chance for the cart. */
static void page_flow(sim *m)
{
    ecom_page_type page = (ecom_page_type)ecom_rng_below(&m->r, 3);
    for (int i = 0; i < m->n_pages; i++) {
        if (i > 0)
            page = (ecom_page_type)ecom_rng_weighted(&m->r, flow[page], ECOM_PAGE_COUNT);
        int product = page_view(m, i, page);
        if (product >= 0)
            cart_consider(m, product, i);
    }
}

/* The purchase of the whole cart at the session's end: its stock is taken and the transaction
 * priced. */
static void buy(sim *m, int64_t *next_txn)
{
    const cart *c = &m->c;
    ecom_transaction *t = &m->s->transaction;
    memset(t, 0, sizeof *t);
    snprintf(t->transaction_id, sizeof t->transaction_id, "txn_%08lld", (long long)(*next_txn)++);
    g_strlcpy(t->session_id, m->session_id, sizeof t->session_id);
    g_strlcpy(t->user_id, m->user->user_id, sizeof t->user_id);
    t->timestamp = m->s->start + m->duration;
    t->n_items = c->n;
    for (int i = 0; i < c->n; i++) {
        gen_take_stock(m->w, c->product[i], c->quantity[i]);
        g_strlcpy(t->items[i].product_id, m->w->products[c->product[i]].product_id,
                  sizeof t->items[i].product_id);
        t->items[i].quantity = c->quantity[i];
        t->items[i].unit_price_cents = c->unit_price[i];
    }
    price_transaction(&m->r, t);
    g_strlcpy(m->end.transaction_id, t->transaction_id, sizeof m->end.transaction_id);
    m->end.conversion_status = ECOM_CONV_CONVERTED;
    m->s->converted = m->s->has_transaction = true;
}

/* The conversion: a cart that reached checkout buys with p=0.7 if stock still covers all of it;
 * any other cart is abandoned, and a session without one only browsed. */
static void conversion(sim *m, int64_t *next_txn)
{
    const cart *c = &m->c;
    m->end.conversion_status = c->n ? ECOM_CONV_ABANDONED : ECOM_CONV_BROWSED;
    if (!c->n || !m->reached_checkout || !ecom_rng_chance(&m->r, 0.7))
        return;
    for (int i = 0; i < c->n; i++)
        if (m->w->products[c->product[i]].current_stock < c->quantity[i])
            return;
    buy(m, next_txn);
}

/* session_end: the duration, the conversion and the final cart. */
static void session_end(sim *m)
{
    m->end.duration_seconds = m->duration;
    m->end.n_cart = m->c.n;
    for (int i = 0; i < m->c.n; i++) {
        g_strlcpy(m->end.cart_contents[i].product_id, m->w->products[m->c.product[i]].product_id,
                  ECOM_ID_MAX);
        m->end.cart_contents[i].quantity = m->c.quantity[i];
    }
    sim_event(m, ECOM_EV_SESSION_END, m->duration)->u.end = m->end;
}

/* Every event and the transaction carry the session's segment (schema version 2), so each can
 * be counted by device, referrer and country without the session_start at hand. */
static void carry_segment(gen_session *s)
{
    const ecom_session_start *st = &s->events[0].u.start;
    ecom_segment seg;
    memset(&seg, 0, sizeof seg);
    g_strlcpy(seg.device, st->device_profile.type, sizeof seg.device);
    g_strlcpy(seg.referrer, st->referrer, sizeof seg.referrer);
    g_strlcpy(seg.country, st->geo_data.country, sizeof seg.country);
    for (int i = 0; i < s->n_events; i++)
        s->events[i].segment = seg;
    if (s->has_transaction)
        s->transaction.segment = seg;
}

void gen_session_simulate(gen_world *w, int64_t index, ecom_time start, int64_t *next_txn,
                          gen_session *s)
{
    sim m;
    sim_begin(&m, w, index, start, s);
    gen_session_profile(&m.r, m.user, &sim_event(&m, ECOM_EV_SESSION_START, 0)->u.start);
    page_flow(&m);
    conversion(&m, next_txn);
    session_end(&m);
    carry_segment(s);
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
        g_strlcpy(it->product_id, p->product_id, sizeof it->product_id);
        it->quantity = qty;
        it->unit_price_cents = gen_price_at(p, ts);
        gen_take_stock(w, product, qty);
    }
    if (t->n_items == 0)
        return false;
    snprintf(t->transaction_id, sizeof t->transaction_id, "txn_%08lld", (long long)txn_number);
    g_strlcpy(t->user_id, w->users[ecom_rng_below(r, (uint64_t)w->n_users)].user_id,
              sizeof t->user_id);
    t->timestamp = ts;
    price_transaction(r, t);
    return true;
}
