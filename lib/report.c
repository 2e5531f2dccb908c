/*
 * report.c - the list of reports, where their rows come from, and the three formats (see
 * report.h).
 *
 * Rows are kept as the JSON objects their source gives (the snapshot's lists, the session
 * listing) so a report cannot drift from what /api/metrics.json says: a report only chooses
 * which list and which fields, in which order. Formatting walks the columns of the report's
 * row, so the CSV header, the JSON keys and the table's headings are the same names.
 */
#include "ecom/report.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/codec.h"
#include "ecom/counters.h"
#include "ecom/csv.h"
#include "ecom/escape.h"
#include "ecom/hbase_store.h"


#define REDIS_TIMEOUT_MS 10000
#define ID_PLACEHOLDER "<user_id>"

const ecom_report ecom_reports[] = {
    {"daily_sales", ECOM_REPORT_FROM_SNAPSHOT, "daily_sales", "day,revenue_cents,orders,units",
     "revenue, orders and units per day"},
    {"funnel_by_day", ECOM_REPORT_FROM_SNAPSHOT, "funnel.by_day", "day,viewed,carted,converted",
     "sessions that viewed a product, carted, converted, per day of session start"},
    {"category_revenue", ECOM_REPORT_FROM_SNAPSHOT, "category_revenue",
     "category_id,name,lines,revenue_cents", "item lines and revenue per category"},
    {"spend_by_registration_year", ECOM_REPORT_FROM_SNAPSHOT, "spend_by_registration_year",
     "year,orders,total_cents,mean_cents", "orders, total and mean spend by registration year"},
    {"cohorts", ECOM_REPORT_FROM_SNAPSHOT, "cohorts", "registration_month,transaction_month,users",
     "buying users by registration and purchase month"},
    {"counts", ECOM_REPORT_FROM_SNAPSHOT, "counts",
     "users,categories,products,transactions,sessions",
     "the dataset summary: distinct users, categories, products, transactions, sessions"},
    {"minutes", ECOM_REPORT_FROM_SNAPSHOT, "minutes",
     "minute,orders,revenue_cents,sessions,page_views,converted",
     "the last 1,440 minutes of event time: orders, revenue, sessions, page views, converted"},
    {"segments_device", ECOM_REPORT_FROM_SNAPSHOT, "segments.device",
     "key,sessions,viewed,carted,converted,orders,revenue_cents",
     "the funnel, orders and revenue per device type"},
    {"segments_referrer", ECOM_REPORT_FROM_SNAPSHOT, "segments.referrer",
     "key,sessions,viewed,carted,converted,orders,revenue_cents",
     "the funnel, orders and revenue per referrer"},
    {"segments_country", ECOM_REPORT_FROM_SNAPSHOT, "segments.country",
     "key,sessions,viewed,carted,converted,orders,revenue_cents",
     "the funnel, orders and revenue per country"},
    {"products", ECOM_REPORT_FROM_PRODUCTS, NULL,
     "product_id,name,category_id,category_name,units,revenue_cents",
     "every product with its category, units and revenue, by revenue"},
    {"users/" ID_PLACEHOLDER "/sessions", ECOM_REPORT_FROM_USER_SESSIONS, "sessions",
     "session_id,start_time,end_time,duration_seconds,conversion,referrer,device,page_views,"
     "cart_lines",
     "one user's sessions from HBase, in time order"},
    {NULL, 0, NULL, NULL, NULL},
};

/* ---- names ---------------------------------------------------------------------------------- */

void ecom_report_names(ecom_buf *out)
{
    for (const ecom_report *r = ecom_reports; r->name; r++)
        ecom_buf_printf(out, "%s%s", r == ecom_reports ? "" : ", ", r->name);
}

/* Whether name is the report's pattern with an id in place of its placeholder; sets *id_at and
 * *id_len to where the id is in name. */
static bool matches_pattern(const char *pattern, const char *name, const char **id_at,
                            size_t *id_len)
{
    const char *hole = strstr(pattern, ID_PLACEHOLDER);
    if (!hole)
        return false;
    size_t lead = (size_t)(hole - pattern);
    const char *tail = hole + strlen(ID_PLACEHOLDER);
    size_t n = strlen(name), tail_len = strlen(tail);
    if (n < lead + tail_len || strncmp(name, pattern, lead) != 0 ||
        strcmp(name + n - tail_len, tail) != 0)
        return false;
    *id_at = name + lead;
    *id_len = n - lead - tail_len;
    return true;
}

ecom_report_lookup ecom_report_find(const char *name, const ecom_report **out, char id[ECOM_ID_MAX],
                                    ecom_error *err)
{
    id[0] = '\0';
    for (const ecom_report *r = ecom_reports; r->name; r++) {
        if (strcmp(r->name, name) == 0 && !strstr(r->name, ID_PLACEHOLDER)) {
            *out = r;
            return ECOM_REPORT_FOUND;
        }
        const char *at;
        size_t len;
        if (!matches_pattern(r->name, name, &at, &len))
            continue;
        char shown[ECOM_SHOW_MAX];
        char candidate[ECOM_ID_MAX];
        if (len >= sizeof candidate || memchr(at, '/', len)) {
            ecom_fail(err, "'%s' is not a user id of the form user_000000",
                      ecom_show(shown, at, len < ECOM_SHOW_LIMIT ? len : ECOM_SHOW_LIMIT));
            return ECOM_REPORT_BAD_ID;
        }
        memcpy(candidate, at, len);
        candidate[len] = '\0';
        if (ecom_user_id_check(candidate, err))
            return ECOM_REPORT_BAD_ID;
        memcpy(id, candidate, len + 1);
        *out = r;
        return ECOM_REPORT_FOUND;
    }
    char shown[ECOM_SHOW_MAX];
    ecom_buf names;
    ecom_buf_init(&names);
    ecom_report_names(&names);
    ecom_fail(err, "no report named '%s'; reports: %s", ecom_show(shown, name, ECOM_SHOW_LIMIT),
              names.data);
    ecom_buf_free(&names);
    return ECOM_REPORT_UNKNOWN;
}

void ecom_report_file_name(const char *name, ecom_time t, const char *ext, char *out, size_t n)
{
    char when[ECOM_TIME_TEXT]; /* 2026-12-01T12:00:00Z -> 2026-12-01T1200Z */
    ecom_time_format(t, when);
    char stamp[ECOM_TIME_TEXT];
    snprintf(stamp, sizeof stamp, "%.13s%.2sZ", when, when + 14);
    char what[128];
    g_strlcpy(what, name, sizeof what);
    for (char *c = what; *c; c++)
        if (*c == '/')
            *c = '-';
    snprintf(out, n, "ecom-%s-%s.%s", what, stamp, ext);
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* The rows at a dotted path of doc: a list as it is, an object as a list of one. */
static json_t *rows_at(const json_t *doc, const char *path)
{
    char key[64];
    const json_t *v = doc;
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n + (p[n] == '.');
    }
    if (json_is_array(v))
        return json_incref((json_t *)v);
    if (json_is_object(v))
        return json_pack("[O]", v);
    return json_array();
}

static int no_counters(const ecom_config *cfg, ecom_error *err)
{
    return ecom_fail(err,
                     "no counters in Redis under prefix '%s' yet; run `ecom aggregate` first "
                     "(and check --redis-prefix)",
                     ecom_config_redis_prefix(cfg));
}

int ecom_report_rows(const ecom_report *rep, const char *id, const ecom_config *cfg,
                     const json_t *snapshot, json_t **rows, ecom_error *err)
{
    *rows = NULL;
    if (rep->source == ECOM_REPORT_FROM_USER_SESSIONS) {
        ecom_hbase *h = ecom_hbase_new(cfg->hbase, cfg->hbase_table, err);
        json_t *listing = h ? ecom_hbase_user_sessions(h, id, err) : NULL;
        ecom_hbase_free(h);
        if (!listing)
            return -1;
        *rows = rows_at(listing, rep->path);
        json_decref(listing);
        return 0;
    }
    if (rep->source == ECOM_REPORT_FROM_SNAPSHOT && snapshot) {
        *rows = rows_at(snapshot, rep->path);
        return 0;
    }
    ecom_redis *r = ecom_redis_new(cfg->redis, REDIS_TIMEOUT_MS, err);
    if (!r)
        return -1;
    const ecom_counters_store store = {r, ecom_config_redis_prefix(cfg)};
    json_t *read = NULL;
    int rc = rep->source == ECOM_REPORT_FROM_PRODUCTS ? ecom_counters_products(&store, &read, err)
                                                      : ecom_counters_snapshot(&store, &read, err);
    ecom_redis_free(r);
    if (rc)
        return -1;
    if (!read)
        return no_counters(cfg, err);
    if (rep->source == ECOM_REPORT_FROM_PRODUCTS) {
        *rows = read;
    } else {
        *rows = rows_at(read, rep->path);
        json_decref(read);
    }
    return 0;
}

/* ---- formats -------------------------------------------------------------------------------- */

#define MAX_COLUMNS 24

typedef enum column_kind {
    COLUMN_PLAIN, /* the field's value as it is */
    COLUMN_MONEY, /* the decimal amount of the `_cents` field before it */
} column_kind;

typedef struct column {
    char field[48];  /* in the row */
    char header[48]; /* in the output */
    column_kind kind;
} column;

/* The output columns of a report: its fields, each money field followed by its decimal. */
static int columns_of(const ecom_report *rep, column cols[MAX_COLUMNS])
{
    int n = 0;
    for (const char *p = rep->columns; *p && n < MAX_COLUMNS;) {
        size_t len = strcspn(p, ",");
        column *c = &cols[n++];
        snprintf(c->field, sizeof c->field, "%.*s", (int)len, p);
        snprintf(c->header, sizeof c->header, "%s", c->field);
        c->kind = COLUMN_PLAIN;
        size_t flen = strlen(c->field);
        if (flen > 6 && strcmp(c->field + flen - 6, "_cents") == 0 && n < MAX_COLUMNS) {
            column *money = &cols[n++];
            *money = *c;
            money->header[flen - 6] = '\0';
            money->kind = COLUMN_MONEY;
        }
        p += len + (p[len] == ',');
    }
    return n;
}

/* A cell as text: a string as it is, a number in decimal, null as nothing. */
static const char *cell_text(const json_t *row, const column *c, char buf[ECOM_MONEY_TEXT])
{
    const json_t *v = json_object_get(row, c->field);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        if (c->kind == COLUMN_MONEY)
            ecom_money_format(json_integer_value(v), buf);
        else
            snprintf(buf, ECOM_MONEY_TEXT, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "";
}

static void render_csv(const column *cols, int n, const json_t *rows, ecom_buf *out)
{
    ecom_csv w;
    ecom_csv_init(&w, out);
    for (int i = 0; i < n; i++)
        ecom_csv_text(&w, cols[i].header);
    ecom_csv_end_record(&w);
    size_t r;
    const json_t *row;
    json_array_foreach(rows, r, row)
    {
        for (int i = 0; i < n; i++) {
            const json_t *v = json_object_get(row, cols[i].field);
            if (json_is_integer(v) && cols[i].kind == COLUMN_MONEY)
                ecom_csv_money(&w, json_integer_value(v));
            else if (json_is_integer(v))
                ecom_csv_int(&w, json_integer_value(v));
            else {
                char buf[ECOM_MONEY_TEXT];
                ecom_csv_text(&w, cell_text(row, &cols[i], buf));
            }
        }
        ecom_csv_end_record(&w);
    }
}

/* One object per line, so a listing of thousands of rows stays readable and greppable. */
static void render_json(const column *cols, int n, const json_t *rows, ecom_buf *out)
{
    ecom_buf_puts(out, "[");
    size_t r;
    const json_t *row;
    json_array_foreach(rows, r, row)
    {
        json_t *o = json_object();
        for (int i = 0; i < n; i++) {
            json_t *v = json_object_get(row, cols[i].field);
            char buf[ECOM_MONEY_TEXT];
            if (cols[i].kind == COLUMN_MONEY)
                json_object_set_new(o, cols[i].header,
                                    json_is_integer(v) ? json_string(cell_text(row, &cols[i], buf))
                                                       : json_null());
            else
                json_object_set(o, cols[i].header, v ? v : json_null());
        }
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ecom_buf_printf(out, "%s\n%s", r ? "," : "", text ? text : "{}");
        free(text);
        json_decref(o);
    }
    ecom_buf_puts(out, json_array_size(rows) ? "\n]\n" : "]\n");
}

/* Characters a terminal shows for UTF-8 text (one per code point: no wide glyphs here). */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A cell made safe for a terminal: escapes and control characters of the data shown escaped. */
static const char *table_cell(const json_t *row, const column *c, char *out, size_t n)
{
    char buf[ECOM_MONEY_TEXT];
    const char *text = cell_text(row, c, buf);
    out[ecom_escape_append(out, n, 0, text, strlen(text), NULL)] = '\0';
    return out;
}

static void render_table(const column *cols, int n, const json_t *rows, ecom_buf *out)
{
    size_t width[MAX_COLUMNS];
    bool right[MAX_COLUMNS];
    char cell[512];
    for (int i = 0; i < n; i++) {
        width[i] = display_width(cols[i].header);
        right[i] = cols[i].kind == COLUMN_MONEY;
    }
    size_t r;
    const json_t *row;
    json_array_foreach(rows, r, row)
    {
        for (int i = 0; i < n; i++) {
            size_t w = display_width(table_cell(row, &cols[i], cell, sizeof cell));
            width[i] = w > width[i] ? w : width[i];
            if (json_is_integer(json_object_get(row, cols[i].field)))
                right[i] = true;
        }
    }
    for (size_t line = 0; line <= json_array_size(rows); line++) {
        row = line ? json_array_get(rows, line - 1) : NULL;
        for (int i = 0; i < n; i++) {
            const char *text = row ? table_cell(row, &cols[i], cell, sizeof cell) : cols[i].header;
            size_t pad = width[i] - display_width(text);
            bool last = i == n - 1;
            ecom_buf_printf(out, "%*s%s%*s%s", right[i] ? (int)pad : 0, "", text,
                            right[i] || last ? 0 : (int)pad, "", last ? "\n" : "  ");
        }
    }
    ecom_buf_printf(out, "(%zu row%s)\n", json_array_size(rows),
                    json_array_size(rows) == 1 ? "" : "s");
}

void ecom_report_render(const ecom_report *rep, const json_t *rows, ecom_report_format format,
                        ecom_buf *out)
{
    column cols[MAX_COLUMNS];
    int n = columns_of(rep, cols);
    if (format == ECOM_REPORT_CSV)
        render_csv(cols, n, rows, out);
    else if (format == ECOM_REPORT_JSON)
        render_json(cols, n, rows, out);
    else
        render_table(cols, n, rows, out);
}
