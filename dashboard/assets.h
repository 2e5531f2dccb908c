/*
 * assets.h - the files of the dashboard's page, built from dashboard/web by npm and embedded in
 * the binary at build time (cmake/embed_web.cmake).
 */
#ifndef ECOM_DASHBOARD_ASSETS_H
#define ECOM_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *path; /* "/index.html"; NULL ends the table */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t size;
} web_asset;

extern const web_asset web_assets[];

#endif
