/*
 * timeutil.h - UTC times as integer seconds and their ISO-8601 text.
 *
 * All times in the data model are whole seconds since the epoch, UTC, written as
 * "YYYY-MM-DDTHH:MM:SSZ". Parsing is strict: that exact shape, a real calendar date, the Z.
 * Days and months are used as metric keys, so their text forms live here too.
 */
#ifndef ECOM_TIMEUTIL_H
#define ECOM_TIMEUTIL_H

#include <stdint.h>
#include "ecom/error.h"

typedef int64_t ecom_time;

#define ECOM_TIME_TEXT 21 /* "2025-03-01T12:34:56Z" + NUL */
#define ECOM_DAY_TEXT 11  /* "2025-03-01" + NUL */
#define ECOM_MONTH_TEXT 8 /* "2025-03" + NUL */
#define ECOM_SECONDS_PER_DAY 86400

void ecom_time_format(ecom_time t, char out[ECOM_TIME_TEXT]);
/* Strict "YYYY-MM-DDTHH:MM:SSZ". */
int ecom_time_parse(const char *s, ecom_time *out, ecom_error *err);
/* "YYYY-MM-DD" as midnight UTC. */
int ecom_date_parse(const char *s, ecom_time *out, ecom_error *err);
/* Either of the two forms above. */
int ecom_time_or_date_parse(const char *s, ecom_time *out, ecom_error *err);

/* Days since the epoch (floor), and the day's text. */
int64_t ecom_time_day(ecom_time t);
void ecom_day_format(int64_t day, char out[ECOM_DAY_TEXT]);
/* Months since year 0 (year*12 + month-1), and its "YYYY-MM" text. */
int32_t ecom_time_month(ecom_time t);
void ecom_month_format(int32_t month, char out[ECOM_MONTH_TEXT]);
int32_t ecom_time_year(ecom_time t);

ecom_time ecom_time_from_civil(int32_t year, int32_t month, int32_t day, int32_t hour,
                               int32_t minute, int32_t second);
ecom_time ecom_now(void);
/* Monotonic seconds, for rates and pacing. */
double ecom_monotonic(void);

#endif
