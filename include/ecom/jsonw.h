/*
 * jsonw.h - a streaming JSON writer into an ecom_buf.
 *
 * Encoding is the generator's hot path (tens of millions of messages per backfill), and a
 * document model that allocates a node per field costs several times more than the text itself.
 * This writer appends compact JSON directly, in the order fields are written, so the output is
 * deterministic by construction. Parsing is the strict reader's (jsonr.h, through codec.c), which
 * checks everything a writer can take for granted.
 *
 * Usage: jw_begin_object(&w); jw_key(&w, "id"); jw_string(&w, "x"); jw_end_object(&w);
 * Commas are inserted automatically; nesting depth is limited to JW_MAX_DEPTH.
 */
#ifndef ECOM_JSONW_H
#define ECOM_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecom/buf.h"

#define JW_MAX_DEPTH 16

typedef struct jw {
    ecom_buf *out;
    int depth;
    bool first[JW_MAX_DEPTH]; /* no element written yet at this level */
    bool after_key;
} jw;

void jw_init(jw *w, ecom_buf *out);
void jw_begin_object(jw *w);
void jw_end_object(jw *w);
void jw_begin_array(jw *w);
void jw_end_array(jw *w);
void jw_key(jw *w, const char *key);
void jw_string(jw *w, const char *s);
void jw_int(jw *w, int64_t v);
void jw_real(jw *w, double v); /* up to 6 significant digits, always with a '.' or exponent */
void jw_bool(jw *w, bool v);
void jw_null(jw *w);

/* A key and its value in one call, for flat fields. The key is a string literal, a field name
 * that needs no escaping: its length is counted when compiling and its bytes are copied as they
 * are (a key known only at run time, such as an id, goes through jw_key). */
#define jw_kv_string(w, name, s) jw_field_string(w, JW_NAME(name), s)
#define jw_kv_int(w, name, v) jw_field_int(w, JW_NAME(name), v)
/* a string, or null when it is empty */
#define jw_kv_opt_string(w, name, s) jw_field_opt_string(w, JW_NAME(name), s)
#define jw_kv_time(w, name, t) jw_field_time(w, JW_NAME(name), t)

/* A literal and its length; anything but a string literal does not compile. */
#define JW_NAME(name) "" name "", sizeof(name) - 1

/* What the jw_kv_ macros call: a field name of n bytes that need no escaping. */
void jw_field_string(jw *w, const char *name, size_t n, const char *s);
void jw_field_int(jw *w, const char *name, size_t n, int64_t v);
void jw_field_opt_string(jw *w, const char *name, size_t n, const char *s);
void jw_field_time(jw *w, const char *name, size_t n, int64_t t);

#endif
