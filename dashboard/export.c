/*
 * export.c - the dashboard's report downloads (see export.h).
 */
#include "export.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/report.h"

typedef struct export_format {
    const char *ext;
    ecom_report_format format;
    const char *type;
} export_format;

static const export_format formats[] = {
    {"csv", ECOM_REPORT_CSV, "text/csv; charset=utf-8; header=present"},
    {"json", ECOM_REPORT_JSON, "application/json"},
    {NULL, 0, NULL},
};

static void fail(export_reply *out, unsigned status, const char *why)
{
    out->status = status;
    out->type = "application/json";
    out->file_name[0] = '\0';
    ecom_buf_reset(&out->body);
    json_t *doc = json_pack("{s:s}", "error", why);
    char *text = json_dumps(doc, JSON_COMPACT);
    ecom_buf_puts(&out->body, text ? text : "{}");
    free(text);
    json_decref(doc);
}

void export_render(const ecom_config *cfg, live *l, const char *path, export_reply *out)
{
    ecom_buf_init(&out->body);
    const char *dot = strrchr(path, '.');
    const export_format *f = formats;
    while (f->ext && (!dot || strcmp(dot + 1, f->ext) != 0))
        f++;
    if (!f->ext) {
        fail(out, MHD_HTTP_NOT_FOUND, "expected /api/export/<name>.csv or /api/export/<name>.json");
        return;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(dot - path), path);
    const ecom_report *rep;
    char id[ECOM_ID_MAX];
    ecom_error err;
    switch (ecom_report_find(name, &rep, id, &err)) {
    case ECOM_REPORT_UNKNOWN:
        fail(out, MHD_HTTP_NOT_FOUND, err.msg);
        return;
    case ECOM_REPORT_BAD_ID:
        fail(out, MHD_HTTP_BAD_REQUEST, err.msg);
        return;
    case ECOM_REPORT_FOUND:
        break;
    }
    json_t *snapshot = NULL;
    if (rep->source == ECOM_REPORT_FROM_SNAPSHOT) {
        int64_t version;
        char why[ECOM_ERROR_MAX + 64];
        snapshot = live_latest(l, 0, 0, &version, why, sizeof why);
        if (!snapshot) {
            fail(out, MHD_HTTP_SERVICE_UNAVAILABLE, why);
            return;
        }
    }
    json_t *rows;
    int rc = ecom_report_rows(rep, id, cfg, snapshot, &rows, &err);
    json_decref(snapshot);
    if (rc) {
        fail(out, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
        return;
    }
    ecom_report_render(rep, rows, f->format, &out->body);
    json_decref(rows);
    out->status = MHD_HTTP_OK;
    out->type = f->type;
    ecom_report_file_name(name, ecom_now(), f->ext, out->file_name, sizeof out->file_name);
}

void export_reply_free(export_reply *x)
{
    ecom_buf_free(&x->body);
}
