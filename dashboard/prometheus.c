/*
 * prometheus.c - the metrics of /api/metrics.json in Prometheus' text exposition format (0.0.4),
 * for /metrics: business totals, per-category revenue, the funnel by segment, the last complete
 * minute, and the pipeline's health.
 */
#include "prometheus.h"

#include <stdio.h>
#include <string.h>
#include "ecom/snapshot.h"
#include "ecom/timeutil.h"

/* Label values escape backslash, double quote and newline. */
static void label_value(ecom_buf *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            ecom_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            ecom_buf_puts(out, "\\n");
        else
            ecom_buf_append(out, s, 1);
    }
}

static void family(ecom_buf *out, const char *name, const char *type, const char *help)
{
    ecom_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int64_t get_int(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A sample with one label. */
static void labelled(ecom_buf *out, const char *name, const char *label, const char *value,
                     const json_t *number)
{
    ecom_buf_printf(out, "%s{%s=\"", name, label);
    label_value(out, value);
    if (json_is_real(number))
        ecom_buf_printf(out, "\"} %.3f\n", json_real_value(number));
    else
        ecom_buf_printf(out, "\"} %lld\n", (long long)json_integer_value(number));
}

/* A family with a sample per row of a list: the label from row[label_key], the value from
 * row[value_key]; rows without a number there (a rate not known yet) are left out. */
static void labelled_rows(ecom_buf *out, const char *name, const char *help, const json_t *rows,
                          const char *label, const char *label_key, const char *value_key)
{
    family(out, name, "gauge", help);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const json_t *v = json_object_get(row, value_key);
        if (json_is_number(v))
            labelled(out, name, label, json_string_value(json_object_get(row, label_key)), v);
    }
}

/* The funnel, orders and revenue of every segment: one sample per (dimension, segment). */
static void segments(const json_t *m, ecom_buf *out)
{
    static const char *const steps[] = {"sessions", "viewed", "carted", "converted"};
    static const struct {
        const char *name, *help, *field;
    } sums[] = {
        {"ecom_segment_orders", "Transactions of sessions, by the session's segment.", "orders"},
        {"ecom_segment_revenue_cents", "Revenue of sessions' transactions in cents, by segment.",
         "revenue_cents"},
    };
    const json_t *all = json_object_get(m, "segments");
    family(out, "ecom_segment_funnel_sessions", "gauge",
           "Distinct sessions that reached a funnel step, by segment (device, referrer, country).");
    for (int pass = -1; pass < (int)(sizeof sums / sizeof sums[0]); pass++) {
        if (pass >= 0)
            family(out, sums[pass].name, "gauge", sums[pass].help);
        for (int d = 0; d < ECOM_DIMENSIONS; d++) {
            size_t i;
            json_t *row;
            json_array_foreach(json_object_get(all, ecom_dimension_names[d]), i, row)
            {
                const char *key = json_string_value(json_object_get(row, "key"));
                for (size_t k = 0; k < (pass < 0 ? sizeof steps / sizeof steps[0] : 1); k++) {
                    ecom_buf_printf(out, "%s{dimension=\"%s\",segment=\"",
                                    pass < 0 ? "ecom_segment_funnel_sessions" : sums[pass].name,
                                    ecom_dimension_names[d]);
                    label_value(out, key);
                    if (pass < 0)
                        ecom_buf_printf(out, "\",step=\"%s\"} %lld\n", steps[k],
                                        (long long)get_int(row, steps[k]));
                    else
                        ecom_buf_printf(out, "\"} %lld\n",
                                        (long long)get_int(row, sums[pass].field));
                }
            }
        }
    }
}

/* The minute before the newest one of the series: the newest is still filling. Its counts (0
 * where it has no row) and when it started. */
static void last_complete_minute(const json_t *m, ecom_buf *out)
{
    static const char *const series[] = {"orders", "revenue_cents", "sessions", "page_views",
                                         "converted"};
    const json_t *minutes = json_object_get(m, "minutes");
    size_t n = json_array_size(minutes);
    const json_t *row = NULL;
    ecom_time start = 0;
    if (n > 0) {
        const char *newest =
            json_string_value(json_object_get(json_array_get(minutes, n - 1), "minute"));
        char text[ECOM_TIME_TEXT];
        snprintf(text, sizeof text, "%.16s:00Z", newest ? newest : "");
        if (ecom_time_parse(text, &start, NULL) == 0) {
            start -= 60;
            char want[ECOM_MINUTE_TEXT];
            ecom_minute_format(start / 60, want);
            const json_t *prev = n > 1 ? json_array_get(minutes, n - 2) : NULL;
            const char *at = prev ? json_string_value(json_object_get(prev, "minute")) : NULL;
            row = at && strcmp(at, want) == 0 ? prev : NULL;
        } else {
            start = 0;
        }
    }
    family(out, "ecom_last_minute", "gauge",
           "Counts of the last complete minute of event time (the one before the newest).");
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++)
        ecom_buf_printf(out, "ecom_last_minute{series=\"%s\"} %lld\n", series[k],
                        (long long)get_int(row, series[k]));
    family(out, "ecom_last_minute_start_seconds", "gauge",
           "Start of that minute, seconds since the epoch (0 before any event).");
    ecom_buf_printf(out, "ecom_last_minute_start_seconds %lld\n", (long long)start);
}

void prometheus_render(const json_t *m, ecom_buf *out)
{
    int64_t revenue = 0, orders = 0, units = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(m, "daily_sales"), i, row)
    {
        revenue += get_int(row, "revenue_cents");
        orders += get_int(row, "orders");
        units += get_int(row, "units");
    }
    family(out, "ecom_revenue_cents_total", "counter", "Revenue of every transaction, in cents.");
    ecom_buf_printf(out, "ecom_revenue_cents_total %lld\n", (long long)revenue);
    family(out, "ecom_orders_total", "counter", "Transactions counted.");
    ecom_buf_printf(out, "ecom_orders_total %lld\n", (long long)orders);
    family(out, "ecom_units_total", "counter", "Units sold.");
    ecom_buf_printf(out, "ecom_units_total %lld\n", (long long)units);

    const json_t *counts = json_object_get(m, "counts");
    family(out, "ecom_entities", "gauge", "Distinct ids counted, by kind.");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)counts, key, value)
    {
        labelled(out, "ecom_entities", "kind", key, value);
    }

    const json_t *funnel = json_object_get(json_object_get(m, "funnel"), "total");
    family(out, "ecom_funnel_sessions", "gauge", "Distinct sessions that reached a funnel step.");
    json_object_foreach((json_t *)funnel, key, value)
    {
        labelled(out, "ecom_funnel_sessions", "step", key, value);
    }

    labelled_rows(out, "ecom_category_revenue_cents", "Revenue of item lines, by category.",
                  json_object_get(m, "category_revenue"), "category", "category_id",
                  "revenue_cents");

    segments(m, out);
    last_complete_minute(m, out);
    family(out, "ecom_active_sessions", "gauge", "Sessions started and not ended yet.");
    ecom_buf_printf(out, "ecom_active_sessions %lld\n", (long long)get_int(m, "active_sessions"));

    const json_t *pipeline = json_object_get(m, "pipeline");
    family(out, "ecom_counters_generation", "gauge", "Generation of counters readers use.");
    ecom_buf_printf(out, "ecom_counters_generation %lld\n",
                    (long long)get_int(pipeline, "generation"));
    const json_t *latency = json_object_get(pipeline, "latency_ms");
    family(out, "ecom_aggregator_latency_ms", "gauge",
           "Produce-to-Redis latency of the aggregator over its last second of traffic.");
    ecom_buf_printf(out, "ecom_aggregator_latency_ms{quantile=\"0.5\"} %lld\n",
                    (long long)get_int(latency, "p50"));
    ecom_buf_printf(out, "ecom_aggregator_latency_ms{quantile=\"0.99\"} %lld\n",
                    (long long)get_int(latency, "p99"));
    const json_t *topics = json_object_get(pipeline, "topics");
    labelled_rows(out, "ecom_topic_messages", "Messages held by each topic.", topics, "topic",
                  "topic", "messages");
    labelled_rows(out, "ecom_topic_events_per_second", "Messages per second into each topic.",
                  topics, "topic", "topic", "events_per_s");
    labelled_rows(out, "ecom_consumer_lag", "Messages not yet consumed, by consumer group.",
                  json_object_get(pipeline, "groups"), "group", "group", "lag");
    family(out, "ecom_dead_letters", "gauge", "Messages in the dead-letter topic.");
    ecom_buf_printf(out, "ecom_dead_letters %lld\n", (long long)get_int(pipeline, "dead_letters"));
}
