/*
 * dashboard_cmd.c - `ecom dashboard`: the live page and its HTTP API, on libmicrohttpd.
 *
 *   GET /                          the page (embedded in the binary, see assets.h)
 *   GET /api/metrics.json          every metric: the snapshot of `ecom aggregate --snapshot` with
 *                                  Kafka's pipeline figures merged in (503 while there is none)
 *   GET /api/stream                server-sent events: the same JSON as `event: metrics`, pushed
 *                                  when the aggregator announces a change, and every 2 s when
 *                                  the pipeline figures move; a comment every 15 s keeps it open
 *   GET /api/users/<id>/sessions   one user's sessions from HBase (400 for a bad id)
 *   GET /api/export/<name>.csv     a report as a file (export.h); also .json
 *   GET /metrics                   Prometheus text format
 *   GET /healthz                   200 when Redis answers, else 503, with what failed
 *
 * One thread per connection (an event stream blocks its thread while waiting for news); the
 * metrics come from live.c, so requests never touch Redis or Kafka themselves, except the user
 * search, which scans HBase with a client of its own. Every response carries a content type and
 * the security headers of add_security_headers().
 */
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "assets.h"
#include "commands.h"
#include "ecom/buf.h"
#include "ecom/codec.h"
#include "ecom/hbase_store.h"
#include "ecom/log.h"
#include "ecom/pipeline.h"
#include "ecom/retry.h"
#include "ecom/signals.h"
#include "export.h"
#include "live.h"
#include "prometheus.h"

#define STREAM_KEEPALIVE_MS 15000
#define MAX_CONNECTIONS 256

static const ecom_option dashboard_options[] = {
    ECOM_STRING_OPTION("listen", 'l', "ECOM_LISTEN", listen, "127.0.0.1:8080", "HOST:PORT",
                       "address to serve on (0.0.0.0:8080 serves every interface, e.g. in a "
                       "container)"),
    ECOM_STRING_OPTION("groups", 0, "ECOM_GROUPS", groups, ECOM_PIPELINE_GROUPS, "GROUP[,...]",
                       "consumer groups whose lag the pipeline panel shows"),
    ECOM_OPTIONS_END,
};

typedef struct app {
    const ecom_config *cfg;
    live *live;
} app;

/* ---- responses ------------------------------------------------------------------------------ */

static const char CSP[] = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                          "script-src 'self'; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'";

static void add_security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

/* A response; with a file name, one the browser saves as that file. */
static enum MHD_Result send_file(struct MHD_Connection *c, unsigned status, const char *type,
                                 const void *data, size_t len, enum MHD_ResponseMemoryMode mode,
                                 bool cacheable, const char *file_name)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", cacheable ? "no-cache" : "no-store");
    if (file_name && *file_name) {
        char disposition[256];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", file_name);
        MHD_add_response_header(r, "Content-Disposition", disposition);
    }
    add_security_headers(r);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, unsigned status, const char *type,
                                   const void *data, size_t len, enum MHD_ResponseMemoryMode mode,
                                   bool cacheable)
{
    return send_file(c, status, type, data, len, mode, cacheable, NULL);
}

/* A JSON document (taken over). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text)
        return MHD_NO;
    enum MHD_Result ok = send_buffer(c, status, "application/json", text, strlen(text),
                                     MHD_RESPMEM_MUST_COPY, false);
    free(text);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *why)
{
    return send_json(c, status, json_pack("{s:s}", "error", why));
}

/* ---- routes --------------------------------------------------------------------------------- */

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *path)
{
    for (const web_asset *a = web_assets; a->path; a++)
        if (strcmp(a->path, path) == 0)
            return send_buffer(c, MHD_HTTP_OK, a->type, a->data, a->size, MHD_RESPMEM_PERSISTENT,
                               true);
    char why[300];
    snprintf(why, sizeof why, "not found: %.200s", path);
    return send_error(c, MHD_HTTP_NOT_FOUND, why);
}

static enum MHD_Result serve_metrics_json(app *a, struct MHD_Connection *c)
{
    int64_t version;
    char why[ECOM_ERROR_MAX + 64];
    json_t *m = live_latest(a->live, 0, 0, &version, why, sizeof why);
    if (!m)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    return send_json(c, MHD_HTTP_OK, m);
}

static enum MHD_Result serve_prometheus(app *a, struct MHD_Connection *c)
{
    int64_t version;
    char why[ECOM_ERROR_MAX + 64];
    json_t *m = live_latest(a->live, 0, 0, &version, why, sizeof why);
    if (!m)
        return send_buffer(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", why,
                           strlen(why), MHD_RESPMEM_MUST_COPY, false);
    ecom_buf out;
    ecom_buf_init(&out);
    prometheus_render(m, &out);
    json_decref(m);
    enum MHD_Result ok = send_buffer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                     out.data, out.len, MHD_RESPMEM_MUST_COPY, false);
    ecom_buf_free(&out);
    return ok;
}

static enum MHD_Result serve_health(app *a, struct MHD_Connection *c)
{
    bool redis_ok, kafka_ok;
    char error[ECOM_ERROR_MAX + 64];
    live_health(a->live, &redis_ok, &kafka_ok, error, sizeof error);
    json_t *doc = json_pack("{s:s, s:b, s:b}", "status", redis_ok && kafka_ok ? "ok" : "degraded",
                            "redis", redis_ok, "kafka", kafka_ok);
    if (*error)
        json_object_set_new(doc, "error", json_string(error));
    return send_json(c, redis_ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, doc);
}

/* /api/users/<user_id>/sessions: the id is checked before it reaches HBase. */
static enum MHD_Result serve_user_sessions(app *a, struct MHD_Connection *c, const char *rest)
{
    const char *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/sessions") != 0)
        return send_error(c, MHD_HTTP_NOT_FOUND, "expected /api/users/<user_id>/sessions");
    char user[ECOM_ID_MAX];
    size_t n = (size_t)(slash - rest);
    ecom_error err;
    if (n >= sizeof user)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "the user id is too long");
    memcpy(user, rest, n);
    user[n] = '\0';
    if (ecom_user_id_check(user, &err))
        return send_error(c, MHD_HTTP_BAD_REQUEST, err.msg);
    ecom_hbase *h = ecom_hbase_new(a->cfg->hbase, a->cfg->hbase_table, &err);
    json_t *listing = h ? ecom_hbase_user_sessions(h, user, &err) : NULL;
    ecom_hbase_free(h);
    if (!listing)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
    return send_json(c, MHD_HTTP_OK, listing);
}

/* /api/export/<name>.csv|.json: a report to download (export.h). */
static enum MHD_Result serve_export(app *a, struct MHD_Connection *c, const char *path)
{
    export_reply x;
    export_render(a->cfg, a->live, path, &x);
    enum MHD_Result ok = send_file(c, x.status, x.type, x.body.data, x.body.len,
                                   MHD_RESPMEM_MUST_COPY, false, x.file_name);
    export_reply_free(&x);
    return ok;
}

/* ---- server-sent events --------------------------------------------------------------------- */

typedef struct stream {
    app *app;
    int64_t version; /* of the metrics last sent */
    ecom_buf pending;
    size_t sent; /* bytes of pending already handed out */
} stream;

/* Fills `pending` with the next event: new metrics, or a keep-alive comment after a quiet spell. */
static void next_event(stream *s)
{
    ecom_buf_reset(&s->pending);
    s->sent = 0;
    int64_t version;
    json_t *m = live_latest(s->app->live, s->version, STREAM_KEEPALIVE_MS, &version, NULL, 0);
    if (m && version > s->version) {
        char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ecom_buf_printf(&s->pending, "event: metrics\ndata: %s\n\n", text ? text : "{}");
        free(text);
        s->version = version;
    } else {
        ecom_buf_puts(&s->pending, ": keep-alive\n\n");
    }
    json_decref(m);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *s = cls;
    if (s->sent == s->pending.len) {
        if (live_stopping(s->app->live))
            return MHD_CONTENT_READER_END_OF_STREAM;
        next_event(s);
    }
    size_t n = s->pending.len - s->sent < max ? s->pending.len - s->sent : max;
    memcpy(buf, s->pending.data + s->sent, n);
    s->sent += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    ecom_buf_free(&s->pending);
    free(s);
}

static enum MHD_Result serve_stream(app *a, struct MHD_Connection *c)
{
    stream *s = ecom_xcalloc(1, sizeof *s);
    s->app = a;
    ecom_buf_init(&s->pending);
    ecom_buf_puts(&s->pending, "retry: 2000\n\n"); /* reconnect quickly after a restart */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!r) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    add_security_headers(r);
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    app *a = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Allow", "GET, HEAD");
        add_security_headers(r);
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strcmp(url, "/") == 0)
        return serve_asset(c, "/index.html");
    if (strcmp(url, "/api/metrics.json") == 0)
        return serve_metrics_json(a, c);
    if (strcmp(url, "/api/stream") == 0)
        return serve_stream(a, c);
    if (strncmp(url, "/api/export/", 12) == 0)
        return serve_export(a, c, url + 12);
    if (strncmp(url, "/api/users/", 11) == 0)
        return serve_user_sessions(a, c, url + 11);
    if (strcmp(url, "/metrics") == 0)
        return serve_prometheus(a, c);
    if (strcmp(url, "/healthz") == 0)
        return serve_health(a, c);
    return serve_asset(c, url);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* HOST:PORT (or [v6]:PORT) to a socket address, for the server to bind. */
static int listen_address(const char *listen, struct sockaddr_storage *addr, ecom_error *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return ecom_fail(err, "--listen '%s': expected HOST:PORT, e.g. 127.0.0.1:8080", listen);
    char host[256];
    size_t n = (size_t)(colon - listen);
    if (listen[0] == '[' && n > 2 && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= sizeof host)
        return ecom_fail(err, "--listen '%s': host name too long", listen);
    memcpy(host, listen, n);
    host[n] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return ecom_fail(err, "--listen '%s': the port must be a number 1..65535", listen);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0)
        return ecom_fail(err, "--listen '%s': %s", listen, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int dashboard_run(ecom_config *cfg)
{
    ecom_error err;
    struct sockaddr_storage addr;
    if (listen_address(cfg->listen, &addr, &err)) {
        fprintf(stderr, "ecom dashboard: %s\n", err.msg);
        return 2;
    }
    ecom_signals_install();
    app a = {.cfg = cfg};
    a.live = live_start(cfg, cfg->groups, &err);
    if (!a.live) {
        fprintf(stderr, "ecom dashboard: %s\n", err.msg);
        return 2;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &a, MHD_OPTION_SOCK_ADDR,
                                            (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
                                            (unsigned)MAX_CONNECTIONS,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d) {
        live_request_stop(a.live);
        live_stop(a.live);
        fprintf(stderr,
                "ecom dashboard: cannot serve on %s (in use, or not an address of this "
                "host?)\n",
                cfg->listen);
        return 1;
    }
    ecom_log(ECOM_INFO, "dashboard serving", "url=http://%s/ redis_prefix=%s", cfg->listen,
             ecom_config_redis_prefix(cfg));
    while (!ecom_stop_requested())
        ecom_sleep_ms(200);
    ecom_log(ECOM_INFO, "dashboard stopping", "listen=%s", cfg->listen);
    live_request_stop(a.live); /* event streams end, so their threads can be joined */
    MHD_stop_daemon(d);
    live_stop(a.live);
    return 0;
}

const ecom_command ecom_cmd_dashboard = {
    .name = "dashboard",
    .synopsis = "[options]",
    .summary = "Serve the live dashboard: the page, /api/metrics.json, /api/stream (server-sent "
               "events), /api/users/<id>/sessions, /api/export/<name>.csv, /metrics, /healthz.",
    .options = dashboard_options,
    .min_args = 0,
    .max_args = 0,
    .run = dashboard_run,
};
