/*
 * prometheus.h - /metrics: the dashboard's metrics in Prometheus' text format.
 */
#ifndef ECOM_DASHBOARD_PROMETHEUS_H
#define ECOM_DASHBOARD_PROMETHEUS_H

#include <jansson.h>
#include "ecom/buf.h"

/* Appends the exposition of one /api/metrics.json document. */
void prometheus_render(const json_t *metrics, ecom_buf *out);

#endif
