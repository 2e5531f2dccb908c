/*
 * validate.h - the rules a record must keep beyond its JSON shape (validate.c).
 *
 * The decoder (codec.h) runs them on every message it accepts and the generator on every record
 * it makes, so what is stored and what is generated obey the same rules. They read only the
 * model, never JSON, which is why they sit below the codec.
 */
#ifndef ECOM_VALIDATE_H
#define ECOM_VALIDATE_H

#include "ecom/error.h"
#include "ecom/model.h"

/* Checks a record's own invariants (ranges, id shapes, money arithmetic). The decoder calls it;
 * the generator checks what it makes with it too. */
int ecom_validate(ecom_kind kind, const void *rec, ecom_error *err);

/* Checks that s is a user id (user_ and at least six digits): before it reaches a store, e.g. as
 * the prefix of a scan, which must be exactly one user's. */
int ecom_user_id_check(const char *s, ecom_error *err);

#endif
