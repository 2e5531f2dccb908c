/*
 * codec.h - JSON encoding and strict decoding of every record.
 *
 * Encoding is deterministic: fields are written in a fixed order with no whitespace, so the same
 * record always gives the same bytes (the generator's reproducibility depends on it). Every
 * message carries "schema_version".
 *
 * Decoding never trusts its input: it checks the size limit, UTF-8 and JSON syntax (the reader,
 * jsonr.h, accepts exactly what jansson does), the schema version, every required field's
 * presence and type, ranges, id shapes and the arithmetic that ties money fields together; the
 * first problem found becomes the error text, naming the field ("field 'items[1].quantity':
 * must be 1..1000, got 0"). Unknown extra fields are ignored so producers can add fields without
 * breaking older consumers.
 */
#ifndef ECOM_CODEC_H
#define ECOM_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include "ecom/buf.h"
#include "ecom/error.h"
#include "ecom/model.h"
#include "ecom/validate.h"

/* Encoding and validation take the kind and a pointer to that kind's struct (ecom_category,
 * ..., ecom_session_event), so records held in their own arrays need no copying into an
 * ecom_record first. */

/* Builds the JSON object of a record (new reference). */
json_t *ecom_to_json(ecom_kind kind, const void *rec);
/* Appends the record's compact JSON text to out (no newline). */
void ecom_encode(ecom_kind kind, const void *rec, ecom_buf *out);

/* Decodes and validates a message of the given kind. */
int ecom_record_decode(ecom_kind kind, const char *data, size_t len, ecom_record *out,
                       ecom_error *err);
/* Validates an already-parsed JSON object of the given kind: its compact text goes through
 * ecom_record_decode(), so the rules (the size limit included) are the same. */
int ecom_record_from_json(ecom_kind kind, const json_t *obj, ecom_record *out, ecom_error *err);

#endif
