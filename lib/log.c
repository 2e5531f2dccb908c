/*
 * log.c - structured log lines (see log.h). The level threshold is read once from
 * ECOM_LOG_LEVEL; that cached value is the only process-wide state here and it never changes
 * after the first call.
 *
 * A value on a log line can come from anywhere: an id of a refused message inside an error text,
 * a library's own message, a server's reply. Every string a line carries (msg and each %s of the
 * key=value tail) is escaped as it is written (backslash, double quote, control characters,
 * invalid UTF-8; see escape.h), so a field holds exactly one value and a line stays one line
 * whatever the value holds. That is why the tail's format is walked here conversion by
 * conversion rather than handed to vsnprintf whole: numbers still go through the C library,
 * strings through the escaper.
 */
#include "ecom/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "ecom/escape.h"
#include "ecom/timeutil.h"

#define LOG_LINE_BYTES 2048

typedef struct log_line {
    char text[LOG_LINE_BYTES];
    size_t len;
} log_line;

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

/* Our own text (the format's literal parts, formatted numbers): copied as it is. */
static void put_raw(log_line *l, const char *s, size_t n)
{
    size_t room = sizeof l->text - 1 - l->len;
    if (n > room)
        n = room;
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = '\0';
}

static void put_value(log_line *l, const char *s, size_t n)
{
    l->len = ecom_escape_append(l->text, sizeof l->text, l->len, s, n, "\"");
}

/* Copies a width or precision (digits, or '*' taken from the arguments) into spec. */
static size_t take_number(char *spec, const char **f, va_list *ap, int *value)
{
    if (**f == '*') {
        (*f)++;
        int v = va_arg(*ap, int);
        if (value)
            *value = v;
        return (size_t)snprintf(spec, 16, "%d", v);
    }
    size_t k = 0;
    int v = 0;
    while (**f >= '0' && **f <= '9' && k < 6) {
        v = v * 10 + (**f - '0');
        spec[k++] = *(*f)++;
    }
    if (value)
        *value = v;
    return k;
}

static int format_signed(char *out, size_t n, const char *spec, const char *length, va_list *ap)
{
    if (strncmp(length, "ll", 2) == 0)
        return snprintf(out, n, spec, va_arg(*ap, long long));
    switch (*length) {
    case 'l':
        return snprintf(out, n, spec, va_arg(*ap, long));
    case 'j':
        return snprintf(out, n, spec, va_arg(*ap, intmax_t));
    case 'z':
        return snprintf(out, n, spec, va_arg(*ap, ssize_t));
    case 't':
        return snprintf(out, n, spec, va_arg(*ap, ptrdiff_t));
    default: /* none, h, hh: promoted to int */
        return snprintf(out, n, spec, va_arg(*ap, int));
    }
}

static int format_unsigned(char *out, size_t n, const char *spec, const char *length, va_list *ap)
{
    if (strncmp(length, "ll", 2) == 0)
        return snprintf(out, n, spec, va_arg(*ap, unsigned long long));
    switch (*length) {
    case 'l':
        return snprintf(out, n, spec, va_arg(*ap, unsigned long));
    case 'j':
        return snprintf(out, n, spec, va_arg(*ap, uintmax_t));
    case 'z':
        return snprintf(out, n, spec, va_arg(*ap, size_t));
    case 't':
        return snprintf(out, n, spec, va_arg(*ap, ptrdiff_t));
    default:
        return snprintf(out, n, spec, va_arg(*ap, unsigned int));
    }
}

/* Writes the conversion at f (just past its '%') with its argument; returns the rest of the
 * format. A string's width is not applied (no line uses one); %n writes nothing. */
static const char *put_conversion(log_line *l, const char *f, va_list *ap)
{
    char spec[48] = "%";
    size_t k = 1;
    while (*f && strchr("-+ #0", *f) && k < 8)
        spec[k++] = *f++;
    k += take_number(spec + k, &f, ap, NULL);
    int precision = -1;
    if (*f == '.') {
        spec[k++] = *f++;
        k += take_number(spec + k, &f, ap, &precision);
    }
    size_t length_at = k;
    while (*f && strchr("hlLjzt", *f) && k < length_at + 2)
        spec[k++] = *f++;
    char conv = *f ? *f++ : '\0';
    spec[k++] = conv;
    spec[k] = '\0';
    const char *length = spec + length_at;
    char tmp[128];
    int n = 0;
    switch (conv) {
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (!s)
            s = "(null)";
        put_value(l, s, precision >= 0 ? strnlen(s, (size_t)precision) : strlen(s));
        return f;
    }
    case 'c': {
        char c = (char)va_arg(*ap, int);
        put_value(l, &c, 1);
        return f;
    }
    case '%':
        put_raw(l, "%", 1);
        return f;
    case 'd':
    case 'i':
        n = format_signed(tmp, sizeof tmp, spec, length, ap);
        break;
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        n = format_unsigned(tmp, sizeof tmp, spec, length, ap);
        break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        n = *length == 'L' ? snprintf(tmp, sizeof tmp, spec, va_arg(*ap, long double))
                           : snprintf(tmp, sizeof tmp, spec, va_arg(*ap, double));
        break;
    case 'p':
        n = snprintf(tmp, sizeof tmp, spec, va_arg(*ap, void *));
        break;
    default:
        return f;
    }
    if (n > 0)
        put_raw(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    return f;
}

static void put_formatted(log_line *l, const char *fmt, va_list *ap)
{
    while (*fmt) {
        const char *pct = strchr(fmt, '%');
        size_t run = pct ? (size_t)(pct - fmt) : strlen(fmt);
        put_raw(l, fmt, run);
        if (!pct)
            return;
        fmt = put_conversion(l, pct + 1, ap);
    }
}

void ecom_log(ecom_log_level level, const char *msg, const char *kv_fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < threshold())
        return;
    char ts[ECOM_TIME_TEXT];
    ecom_time_format(ecom_now(), ts);
    log_line l = {.len = 0};
    put_raw(&l, "ts=", 3);
    put_raw(&l, ts, strlen(ts));
    put_raw(&l, " level=", 7);
    put_raw(&l, names[level], strlen(names[level]));
    put_raw(&l, " msg=\"", 6);
    put_value(&l, msg, strlen(msg));
    put_raw(&l, "\"", 1);
    if (kv_fmt && *kv_fmt) {
        put_raw(&l, " ", 1);
        va_list ap;
        va_start(ap, kv_fmt);
        put_formatted(&l, kv_fmt, &ap);
        va_end(ap);
    }
    fprintf(stderr, "%s\n", l.text);
}
