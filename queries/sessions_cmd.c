/*
 * sessions_cmd.c - `ecom sessions USER_ID`: one user's sessions from HBase and their summary.
 *
 * A prefix scan of `<user_id>_` (the row key puts a user's sessions together, in time order),
 * shared with the dashboard's /api/users/<id>/sessions (ecom_hbase_user_sessions). Prints a
 * table, or with --json the listing itself: {"user_id", "sessions": [...], "summary": {"count",
 * "total_duration_seconds"}}.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "ecom/codec.h"
#include "ecom/hbase_store.h"

static const ecom_option sessions_options[] = {
    ECOM_FLAG_OPTION("json", 0, NULL, json, "print JSON instead of a table"),
    ECOM_OPTIONS_END,
};

static const char *text(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

static long long number(const json_t *row, const char *key)
{
    return (long long)json_integer_value(json_object_get(row, key));
}

static void print_table(const json_t *listing)
{
    printf("%-22s %-16s %9s %-10s %-14s %-8s %5s %5s\n", "start", "session", "duration",
           "conversion", "referrer", "device", "pages", "cart");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(listing, "sessions"), i, s)
    {
        printf("%-22s %-16s %9lld %-10s %-14s %-8s %5lld %5lld\n", text(s, "start_time"),
               text(s, "session_id"), number(s, "duration_seconds"), text(s, "conversion"),
               text(s, "referrer"), text(s, "device"), number(s, "page_views"),
               number(s, "cart_lines"));
    }
    const json_t *summary = json_object_get(listing, "summary");
    printf("\n%s: %lld session(s), total duration %lld s\n", text(listing, "user_id"),
           number(summary, "count"), number(summary, "total_duration_seconds"));
}

static int sessions_run(ecom_config *cfg)
{
    const char *user = cfg->args[0];
    ecom_error err;
    if (ecom_user_id_check(user, &err)) {
        fprintf(stderr, "ecom sessions: %s\n", err.msg);
        return 2;
    }
    ecom_hbase *h = ecom_hbase_new(cfg->hbase, cfg->hbase_table, &err);
    json_t *listing = h ? ecom_hbase_user_sessions(h, user, &err) : NULL;
    if (!listing) {
        fprintf(stderr, "ecom sessions: %s\n", err.msg);
    } else if (cfg->json) {
        json_dumpf(listing, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        print_table(listing);
    }
    json_decref(listing);
    ecom_hbase_free(h);
    return listing ? 0 : 2;
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
