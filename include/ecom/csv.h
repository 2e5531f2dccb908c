/*
 * csv.h - CSV as RFC 4180 has it, and money as a spreadsheet reads it.
 *
 * Every CSV this product writes (the dashboard's /api/export/<name>.csv, `ecom report --format
 * csv`) goes through this one writer, so quoting is done in one place: a field holding a comma,
 * a double quote, CR or LF is enclosed in double quotes, with each of its double quotes doubled;
 * any other field is written as it is. Records end with CRLF. Names come from the data and may
 * hold any of those characters, so nothing else may assemble CSV by hand.
 *
 * Money is integer cents everywhere; a spreadsheet sums currency units, so a money column is
 * written twice: the exact cents, and beside them the same amount as a decimal with two places
 * ("-0.05", "0.00", "1234.50"), made by integer arithmetic (no rounding, any int64 value).
 */
#ifndef ECOM_CSV_H
#define ECOM_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include "ecom/buf.h"

/* "-92233720368547758.08" + NUL */
#define ECOM_MONEY_TEXT 24

/* cents as a decimal of currency units with two places: 1234 -> "12.34", -5 -> "-0.05". */
void ecom_money_format(int64_t cents, char out[ECOM_MONEY_TEXT]);

/* A writer appending records to a buffer the caller owns. */
typedef struct ecom_csv {
    ecom_buf *out;
    bool record_open; /* a field of the current record was written */
} ecom_csv;

void ecom_csv_init(ecom_csv *w, ecom_buf *out);
/* One field: text (quoted when it needs it), a number, or cents as a decimal. */
void ecom_csv_text(ecom_csv *w, const char *s);
void ecom_csv_int(ecom_csv *w, int64_t v);
void ecom_csv_money(ecom_csv *w, int64_t cents);
/* Ends the current record (CRLF). */
void ecom_csv_end_record(ecom_csv *w);

#endif
