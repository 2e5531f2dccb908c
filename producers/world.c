/*
 * world.c - builds the reference data of a generator run (see world.h).
 *
 * Each entity kind draws from its own random stream, so e.g. changing how users are made never
 * changes the products. Vocabularies are small fixed tables: names only need to look plausible
 * and be stable.
 */
#include "world.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/buf.h"

enum { STREAM_CATEGORIES = 1, STREAM_PRODUCTS, STREAM_USERS };

static const char *const category_names[GEN_CATEGORIES] = {
    "Electronics",  "Computers", "Phones",     "Home & Kitchen", "Furniture",
    "Garden",       "Tools",     "Automotive", "Sports",         "Outdoors",
    "Toys",         "Baby",      "Beauty",     "Health",         "Grocery",
    "Pet Supplies", "Books",     "Music",      "Movies",         "Video Games",
    "Clothing",     "Shoes",     "Jewelry",    "Office",         "Arts & Crafts",
};

static const char *const sub_words[] = {"Essentials", "Premium", "Accessories", "Classics",
                                        "Outlet",     "New In",  "Bestsellers", "Eco",
                                        "Pro",        "Starter"};

static const char *const adjectives[] = {
    "Ergonomic", "Rustic", "Sleek", "Compact", "Durable", "Smart",   "Classic", "Modern",
    "Portable",  "Deluxe", "Handy", "Quiet",   "Bright",  "Vintage", "Rugged",  "Elegant",
    "Wireless",  "Eco",    "Ultra", "Mini",    "Grand",   "Soft",    "Heavy",   "Light",
};
static const char *const materials[] = {
    "Steel", "Wooden", "Cotton", "Leather", "Glass", "Bamboo", "Ceramic", "Aluminum",
    "Wool",  "Rubber", "Linen",  "Granite", "Silk",  "Copper", "Plastic", "Carbon",
};
static const char *const nouns[] = {
    "Lamp",  "Chair",   "Kettle", "Backpack", "Speaker", "Watch",  "Blender", "Jacket",
    "Mug",   "Desk",    "Camera", "Bottle",   "Drill",   "Helmet", "Pillow",  "Router",
    "Mouse", "Monitor", "Tent",   "Sneakers", "Wallet",  "Puzzle", "Brush",   "Notebook",
};

typedef struct place {
    const char *city, *state, *country;
} place;

static const place places[] = {
    {"New York", "NY", "USA"},
    {"Los Angeles", "CA", "USA"},
    {"Chicago", "IL", "USA"},
    {"Houston", "TX", "USA"},
    {"Phoenix", "AZ", "USA"},
    {"Seattle", "WA", "USA"},
    {"Denver", "CO", "USA"},
    {"Boston", "MA", "USA"},
    {"Miami", "FL", "USA"},
    {"Atlanta", "GA", "USA"},
    {"Toronto", "ON", "Canada"},
    {"Vancouver", "BC", "Canada"},
    {"Montreal", "QC", "Canada"},
    {"London", "England", "UK"},
    {"Manchester", "England", "UK"},
    {"Edinburgh", "Scotland", "UK"},
    {"Berlin", "Berlin", "Germany"},
    {"Munich", "Bavaria", "Germany"},
    {"Paris", "Ile-de-France", "France"},
    {"Lyon", "Auvergne-Rhone-Alpes", "France"},
    {"Madrid", "Madrid", "Spain"},
    {"Barcelona", "Catalonia", "Spain"},
    {"Sydney", "NSW", "Australia"},
    {"Melbourne", "VIC", "Australia"},
    {"Tokyo", "Tokyo", "Japan"},
    {"Osaka", "Osaka", "Japan"},
    {"Sao Paulo", "SP", "Brazil"},
    {"Mexico City", "CDMX", "Mexico"},
    {"Mumbai", "Maharashtra", "India"},
    {"Bengaluru", "Karnataka", "India"},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define PICK(r, a) ((a)[ecom_rng_below((r), COUNT(a))])

static int64_t scaled(double base, double scale)
{
    double v = base * scale + 0.5;
    return v < 1 ? 1 : (int64_t)v;
}

static void build_categories(gen_world *w)
{
    ecom_rng r;
    ecom_rng_seed(&r, w->seed, STREAM_CATEGORIES);
    for (int c = 0; c < GEN_CATEGORIES; c++) {
        ecom_category *cat = &w->categories[c];
        snprintf(cat->category_id, sizeof cat->category_id, "cat_%03d", c);
        snprintf(cat->name, sizeof cat->name, "%s", category_names[c]);
        cat->n_subcategories = (int)ecom_rng_range(&r, 3, 5);
        int first_word = (int)ecom_rng_below(&r, COUNT(sub_words));
        for (int s = 0; s < cat->n_subcategories; s++) {
            ecom_subcategory *sub = &cat->subcategories[s];
            snprintf(sub->subcategory_id, sizeof sub->subcategory_id, "sub_%03d_%02d", c, s);
            snprintf(sub->name, sizeof sub->name, "%s %s", category_names[c],
                     sub_words[(first_word + s) % COUNT(sub_words)]);
            /* whole basis points, so the JSON number is short and exact to read back */
            sub->profit_margin = (double)ecom_rng_range(&r, 1000, 4000) / 10000.0;
        }
    }
}

static void build_product(gen_world *w, ecom_rng *r, int i)
{
    ecom_product *p = &w->products[i];
    snprintf(p->product_id, sizeof p->product_id, "prod_%05d", i);
    snprintf(p->name, sizeof p->name, "%s %s %s", PICK(r, adjectives), PICK(r, materials),
             PICK(r, nouns));
    snprintf(p->category_id, sizeof p->category_id, "cat_%03d",
             (int)ecom_rng_below(r, GEN_CATEGORIES));
    ecom_time created = w->end - (ecom_time)ecom_rng_range(r, 0, 180 * ECOM_SECONDS_PER_DAY - 1);
    ecom_cents first = ecom_rng_range(r, 500, 50000);
    p->n_prices = (int)ecom_rng_range(r, 1, 3);
    p->price_history[0].price_cents = first;
    p->price_history[0].date = created;
    ecom_time changes[2];
    for (int k = 1; k < p->n_prices; k++)
        changes[k - 1] = created + (ecom_time)ecom_rng_below(r, (uint64_t)(w->end - created));
    if (p->n_prices == 3 && changes[1] < changes[0]) {
        ecom_time t = changes[0];
        changes[0] = changes[1];
        changes[1] = t;
    }
    for (int k = 1; k < p->n_prices; k++) {
        int64_t pct = ecom_rng_range(r, -20, 20);
        p->price_history[k].price_cents = first + first * pct / 100;
        p->price_history[k].date = changes[k - 1];
    }
    p->base_price_cents = p->price_history[p->n_prices - 1].price_cents;
    p->current_stock = (int32_t)ecom_rng_range(r, 10, 1000);
    p->is_active = ecom_rng_chance(r, 0.95);
    p->creation_date = created;
}

static void build_user(gen_world *w, ecom_rng *r, int i)
{
    ecom_user *u = &w->users[i];
    snprintf(u->user_id, sizeof u->user_id, "user_%06d", i);
    const place *pl = &places[ecom_rng_below(r, COUNT(places))];
    snprintf(u->geo_data.city, sizeof u->geo_data.city, "%s", pl->city);
    snprintf(u->geo_data.state, sizeof u->geo_data.state, "%s", pl->state);
    snprintf(u->geo_data.country, sizeof u->geo_data.country, "%s", pl->country);
    u->registration_date = w->end - (ecom_time)ecom_rng_range(r, 90 * ECOM_SECONDS_PER_DAY,
                                                              270 * ECOM_SECONDS_PER_DAY - 1);
    u->last_active = u->registration_date +
                     (ecom_time)ecom_rng_below(r, (uint64_t)(w->end - u->registration_date));
}

void gen_world_build(gen_world *w, uint64_t seed, double scale, ecom_time end)
{
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->scale = scale;
    w->end = end;
    w->window_start = end - (ecom_time)GEN_WINDOW_DAYS * ECOM_SECONDS_PER_DAY;
    w->n_products = (int)scaled(5000, scale);
    w->n_users = (int)scaled(10000, scale);
    w->n_sessions = scaled(2000000, scale);
    w->n_transactions = scaled(500000, scale);
    build_categories(w);

    ecom_rng r;
    ecom_rng_seed(&r, seed, STREAM_PRODUCTS);
    w->products = ecom_xcalloc((size_t)w->n_products, sizeof *w->products);
    w->stock_changed = ecom_xcalloc((size_t)w->n_products, sizeof *w->stock_changed);
    w->sellable = ecom_xcalloc((size_t)w->n_products, sizeof *w->sellable);
    for (int i = 0; i < w->n_products; i++) {
        build_product(w, &r, i);
        if (w->products[i].is_active)
            w->sellable[w->n_sellable++] = i;
    }
    ecom_rng_seed(&r, seed, STREAM_USERS);
    w->users = ecom_xcalloc((size_t)w->n_users, sizeof *w->users);
    for (int i = 0; i < w->n_users; i++)
        build_user(w, &r, i);
}

void gen_world_free(gen_world *w)
{
    free(w->products);
    free(w->users);
    free(w->sellable);
    free(w->stock_changed);
    memset(w, 0, sizeof *w);
}

int gen_pick_product(gen_world *w, ecom_rng *r, ecom_time t)
{
    for (int tries = 0; tries < 64 && w->n_sellable > 0; tries++) {
        int slot = (int)ecom_rng_below(r, (uint64_t)w->n_sellable);
        int i = w->sellable[slot];
        if (w->products[i].current_stock <= 0) {
            /* sold out for good: drop it from the list so later picks stay cheap */
            w->sellable[slot] = w->sellable[--w->n_sellable];
            continue;
        }
        if (w->products[i].creation_date <= t)
            return i;
    }
    return -1;
}

ecom_cents gen_price_at(const ecom_product *p, ecom_time t)
{
    ecom_cents price = p->price_history[0].price_cents;
    for (int k = 1; k < p->n_prices && p->price_history[k].date <= t; k++)
        price = p->price_history[k].price_cents;
    return price;
}

void gen_take_stock(gen_world *w, int product, int32_t quantity)
{
    w->products[product].current_stock -= quantity;
    w->stock_changed[product] = true;
}

void gen_session_profile(ecom_rng *r, const ecom_user *u, ecom_session_start *out)
{
    static const char *const types[] = {"mobile", "desktop", "tablet"};
    static const char *const oses[] = {"iOS", "Android", "Windows", "macOS"};
    static const char *const browsers[] = {"Chrome", "Safari", "Firefox", "Edge"};
    static const char *const referrers[] = {"direct", "email", "social", "search_engine",
                                            "affiliate"};
    memset(out, 0, sizeof *out);
    g_strlcpy(out->device_profile.type, PICK(r, types), sizeof out->device_profile.type);
    g_strlcpy(out->device_profile.os, PICK(r, oses), sizeof out->device_profile.os);
    g_strlcpy(out->device_profile.browser, PICK(r, browsers), sizeof out->device_profile.browser);
    out->geo_data = u->geo_data;
    uint64_t ip = ecom_rng_next(r);
    snprintf(out->geo_data.ip_address, sizeof out->geo_data.ip_address, "%d.%d.%d.%d",
             (int)(ip % 223) + 1, (int)(ip >> 8 & 255), (int)(ip >> 16 & 255),
             (int)(ip >> 24 & 253) + 1);
    g_strlcpy(out->referrer, PICK(r, referrers), sizeof out->referrer);
}
