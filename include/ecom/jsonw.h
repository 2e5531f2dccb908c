/*
 * jsonw.h - a streaming JSON writer into an ecom_buf.
 *
 * Encoding is the generator's hot path (tens of millions of messages per backfill), and a
 * document model that allocates a node per field costs several times more than the text itself.
 * This writer appends compact JSON directly, in the order fields are written, so the output is
 * deterministic by construction. Parsing stays with jansson (codec.c), which checks everything a
 * writer can take for granted.
 *
 * Usage: jw_begin_object(&w); jw_key(&w, "id"); jw_string(&w, "x"); jw_end_object(&w);
 * Commas are inserted automatically; nesting depth is limited to JW_MAX_DEPTH.
 */
#ifndef ECOM_JSONW_H
#define ECOM_JSONW_H

#include <stdbool.h>
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

/* key + value in one call, for flat fields */
void jw_kv_string(jw *w, const char *key, const char *s);
void jw_kv_int(jw *w, const char *key, int64_t v);
/* a string, or null when it is empty */
void jw_kv_opt_string(jw *w, const char *key, const char *s);
void jw_kv_time(jw *w, const char *key, int64_t t);

#endif
