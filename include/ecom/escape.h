/*
 * escape.h - untrusted text made safe to show in error texts, log fields and message headers.
 *
 * Error texts quote the input they refuse ("field 'user_id': 'x' is not an id ..."), and those
 * texts travel on: to log lines, to the dead-letter `error` header, to HTTP bodies. An input
 * value can hold anything a JSON string can: a newline that would forge a log line, a quote
 * that would end a field early, terminal escapes, bytes that are not UTF-8. So a value is
 * escaped once, where an error quotes it, and the log writer escapes every value it writes as a
 * last line of defence. What comes out is printable UTF-8 whose quotes cannot be taken for the
 * text's own:
 *
 *   \\  \'  \"     a backslash or a quote of the value (the quotes asked for)
 *   \n  \r  \t     those control characters
 *   \xNN           any other C0 control or DEL, and every byte that is not valid UTF-8
 *   \uNNNN         C1 controls, the line and paragraph separators, bidirectional overrides
 *
 * Ordinary values (printable, no quotes, no backslashes) come out unchanged, so error texts
 * about them read exactly as they always did.
 */
#ifndef ECOM_ESCAPE_H
#define ECOM_ESCAPE_H

#include <stddef.h>

#define ECOM_SHOW_LIMIT 40 /* input bytes an error text quotes */
#define ECOM_SHOW_MAX 260  /* room for 64 input bytes, each escaped to at most 4 */

/* `value`, escaped for quoting between single quotes in an error text: at most `limit` (<= 64)
 * of its bytes, cut before a character rather than inside one. Returns out, so it can be an
 * argument of the ecom_fail() that quotes it. */
const char *ecom_show(char out[ECOM_SHOW_MAX], const char *value, size_t limit);

/* Appends s[0..len) escaped to out, which holds `used` bytes and has room for n (NUL included).
 * `quotes` lists the ASCII characters to escape with a backslash, besides the backslash itself.
 * With quotes NULL, backslashes and quotes stay as they are and only what is not printable is
 * escaped: that is for texts already escaped, which it leaves unchanged. An escape or character
 * that does not fit is left out with everything after it. Returns the new length. */
size_t ecom_escape_append(char *out, size_t n, size_t used, const char *s, size_t len,
                          const char *quotes);

/* The first control character in s (C0, DEL, or C1 as UTF-8), or NULL when it has none. */
const char *ecom_find_control(const char *s);

#endif
