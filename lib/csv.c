/*
 * csv.c - the CSV writer and money text (see csv.h).
 */
#include "ecom/csv.h"

#include <stdio.h>
#include <string.h>

void ecom_money_format(int64_t cents, char out[ECOM_MONEY_TEXT])
{
    /* the magnitude as unsigned, so INT64_MIN has one too */
    uint64_t abs = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(out, ECOM_MONEY_TEXT, "%s%llu.%02llu", cents < 0 ? "-" : "",
             (unsigned long long)(abs / 100), (unsigned long long)(abs % 100));
}

void ecom_csv_init(ecom_csv *w, ecom_buf *out)
{
    w->out = out;
    w->record_open = false;
}

static void separate(ecom_csv *w)
{
    if (w->record_open)
        ecom_buf_append(w->out, ",", 1);
    w->record_open = true;
}

void ecom_csv_text(ecom_csv *w, const char *s)
{
    separate(w);
    if (!s[strcspn(s, ",\"\r\n")]) {
        ecom_buf_puts(w->out, s);
        return;
    }
    ecom_buf_append(w->out, "\"", 1);
    for (const char *q; (q = strchr(s, '"')); s = q + 1) {
        ecom_buf_append(w->out, s, (size_t)(q - s) + 1);
        ecom_buf_append(w->out, "\"", 1); /* the quote, doubled */
    }
    ecom_buf_puts(w->out, s);
    ecom_buf_append(w->out, "\"", 1);
}

void ecom_csv_int(ecom_csv *w, int64_t v)
{
    separate(w);
    ecom_buf_printf(w->out, "%lld", (long long)v);
}

void ecom_csv_money(ecom_csv *w, int64_t cents)
{
    char text[ECOM_MONEY_TEXT];
    ecom_money_format(cents, text);
    separate(w);
    ecom_buf_puts(w->out, text);
}

void ecom_csv_end_record(ecom_csv *w)
{
    ecom_buf_append(w->out, "\r\n", 2);
    w->record_open = false;
}
