/*
 * sessions_cmd.c - `ecom sessions USER_ID`: one user's sessions from HBase and their summary.
 *
 * A prefix scan of `<user_id>_` (the row key puts a user's sessions together, in time order).
 * Prints a table on a terminal, or JSON with --json: {"user_id", "sessions": [...],
 * "summary": {"count", "total_duration_seconds"}}.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "ecom/hbase_store.h"
#include "ecom/log.h"

static const ecom_option sessions_options[] = {
    {"json", 0, NULL, ECOM_OPT_FLAG, NULL, NULL, NULL, 0, 0, offsetof(ecom_config, json),
     "print JSON instead of a table"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL},
};

typedef struct listing {
    json_t *sessions;
    int64_t count, total_duration;
} listing;

static int collect(void *arg, const ecom_session_row *row)
{
    listing *l = arg;
    char start[ECOM_TIME_TEXT] = "", end[ECOM_TIME_TEXT] = "";
    if (row->start_time)
        ecom_time_format(row->start_time, start);
    if (row->end_time)
        ecom_time_format(row->end_time, end);
    json_array_append_new(
        l->sessions, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:i, s:i}", "session_id",
                               row->session_id, "start_time", start, "end_time", end,
                               "duration_seconds", (json_int_t)row->duration, "conversion",
                               row->conversion, "referrer", row->referrer, "device", row->device,
                               "page_views", row->page_views, "cart_lines", row->cart_lines));
    l->count++;
    l->total_duration += row->duration;
    return 0;
}

/* user ids are checked before they reach HBase: the prefix must be exactly one user's */
static bool valid_user_id(const char *s)
{
    if (strncmp(s, "user_", 5) != 0 || strlen(s) < 11 || strlen(s) >= ECOM_ID_MAX)
        return false;
    for (s += 5; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static void print_table(const char *user, const listing *l)
{
    printf("%-22s %-16s %9s %-10s %-14s %-8s %5s %5s\n", "start", "session", "duration",
           "conversion", "referrer", "device", "pages", "cart");
    size_t i;
    json_t *s;
    json_array_foreach(l->sessions, i, s)
    {
        printf("%-22s %-16s %9lld %-10s %-14s %-8s %5lld %5lld\n",
               json_string_value(json_object_get(s, "start_time")),
               json_string_value(json_object_get(s, "session_id")),
               (long long)json_integer_value(json_object_get(s, "duration_seconds")),
               json_string_value(json_object_get(s, "conversion")),
               json_string_value(json_object_get(s, "referrer")),
               json_string_value(json_object_get(s, "device")),
               (long long)json_integer_value(json_object_get(s, "page_views")),
               (long long)json_integer_value(json_object_get(s, "cart_lines")));
    }
    printf("\n%s: %lld session(s), total duration %lld s\n", user, (long long)l->count,
           (long long)l->total_duration);
}

static int sessions_run(ecom_config *cfg)
{
    const char *user = cfg->args[0];
    if (!valid_user_id(user)) {
        fprintf(stderr, "ecom sessions: '%s' is not a user id of the form user_000000\n", user);
        return 2;
    }
    ecom_error err;
    ecom_hbase *h = ecom_hbase_new(cfg->hbase, cfg->hbase_table, &err);
    if (!h) {
        fprintf(stderr, "ecom sessions: %s\n", err.msg);
        return 2;
    }
    char prefix[ECOM_ID_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s_", user);
    listing l = {.sessions = json_array()};
    int rc = ecom_hbase_scan_sessions(h, prefix, collect, &l, &err);
    if (rc) {
        fprintf(stderr, "ecom sessions: %s\n", err.msg);
    } else if (cfg->json) {
        json_t *out = json_pack("{s:s, s:O, s:{s:I, s:I}}", "user_id", user, "sessions", l.sessions,
                                "summary", "count", (json_int_t)l.count, "total_duration_seconds",
                                (json_int_t)l.total_duration);
        json_dumpf(out, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(out);
    } else {
        print_table(user, &l);
    }
    json_decref(l.sessions);
    ecom_hbase_free(h);
    return rc ? 2 : 0;
}

const ecom_command ecom_cmd_sessions = {
    .name = "sessions",
    .synopsis = "USER_ID [options]",
    .summary = "Show a user's sessions from HBase and their summary (count, total duration).",
    .options = sessions_options,
    .min_args = 1,
    .max_args = 1,
    .run = sessions_run,
};
