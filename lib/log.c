/*
 * log.c - structured log lines (see log.h). The level threshold is read once from
 * ECOM_LOG_LEVEL; that cached value is the only process-wide state here and it never changes
 * after the first call.
 */
#include "ecom/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/timeutil.h"

static ecom_log_level threshold(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *s = getenv("ECOM_LOG_LEVEL");
        cached = ECOM_INFO;
        if (s && strcmp(s, "debug") == 0)
            cached = ECOM_DEBUG;
        else if (s && strcmp(s, "warn") == 0)
            cached = ECOM_WARN;
        else if (s && strcmp(s, "error") == 0)
            cached = ECOM_ERROR;
    }
    return (ecom_log_level)cached;
}

void ecom_log(ecom_log_level level, const char *msg, const char *kv_fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < threshold())
        return;
    char ts[ECOM_TIME_TEXT];
    ecom_time_format(ecom_now(), ts);
    char line[2048];
    int n = snprintf(line, sizeof line, "ts=%s level=%s msg=\"%s\"", ts, names[level], msg);
    if (kv_fmt && *kv_fmt && n > 0 && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, kv_fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, kv_fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "%s\n", line);
}
