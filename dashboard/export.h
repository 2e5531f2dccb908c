/*
 * export.h - /api/export/<name>.csv (and .json): a report (report.h) as a file to download.
 *
 * Snapshot reports are cut from the dashboard's latest metrics, the very JSON /api/metrics.json
 * serves, so an export and the page agree; `products` and a user's sessions are read when asked
 * for (Redis' products.lua, one atomic read; HBase's prefix scan), with clients of their own.
 * A file carries Content-Disposition with a name that says what and when
 * (ecom-products-2026-12-01T1200Z.csv). 404 for an unknown report or extension, 400 for a
 * malformed user id, 503 while a store cannot be read or there are no counters yet; errors are
 * {"error": why}.
 */
#ifndef ECOM_DASHBOARD_EXPORT_H
#define ECOM_DASHBOARD_EXPORT_H

#include "ecom/buf.h"
#include "ecom/config.h"
#include "live.h"

typedef struct export_reply {
    unsigned status;
    const char *type; /* content type */
    ecom_buf body;
    char file_name[160]; /* empty for an error */
} export_reply;

/* The reply to /api/export/<path>, path being what follows /api/export/. */
void export_render(const ecom_config *cfg, live *l, const char *path, export_reply *out);
void export_reply_free(export_reply *x);

#endif
