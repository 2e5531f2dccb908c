/*
 * log.h - structured log lines on stderr.
 *
 * Every line is `ts=... level=... msg="..." key=value ...`, so logs can be grepped and parsed.
 * Callers pass the key=value tail pre-formatted: ecom_log(ECOM_INFO, "flushed", "topic=%s n=%d",
 * topic, n). The level threshold comes from ECOM_LOG_LEVEL (debug|info|warn|error).
 */
#ifndef ECOM_LOG_H
#define ECOM_LOG_H

typedef enum { ECOM_DEBUG, ECOM_INFO, ECOM_WARN, ECOM_ERROR } ecom_log_level;

void ecom_log(ecom_log_level level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
