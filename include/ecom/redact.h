/*
 * redact.h - keeping secrets out of error texts and log lines.
 *
 * Credentials reach this program inside settings: the MongoDB connection string, librdkafka
 * properties (-X sasl.password=..., --kafka-config files), the Redis URL. Our own messages never
 * quote a secret (redis.c and options.c say what is wrong instead), but the client libraries'
 * messages may: libmongoc quotes a malformed password back, librdkafka a refused property value.
 * So before such a message is passed on, every secret the setting holds is replaced by "***".
 *
 * A secret is collected in every form a library may quote it in: as written, percent-decoded,
 * and, for a value a parser may have split at a delimiter it holds unencoded ('/', '@', ':',
 * ...), each piece of four bytes or more.
 */
#ifndef ECOM_REDACT_H
#define ECOM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define ECOM_SECRETS_MAX 48

typedef struct ecom_secrets {
    int n;
    char *text[ECOM_SECRETS_MAX]; /* owned; beyond the capacity, further secrets are dropped */
} ecom_secrets;

/* Whether a property or option of this name holds a secret: a password, a secret, a token, a
 * private key, or a config string that carries them (sasl.oauthbearer.config,
 * authMechanismProperties). Case does not matter. */
bool ecom_secret_name(const char *name);

/* Adds s[0..len) as written (nothing when it is empty). */
void ecom_secrets_add(ecom_secrets *s, const char *text, size_t len);
/* Adds text in every form described above. */
void ecom_secrets_add_value(ecom_secrets *s, const char *text, size_t len);
/* Adds the secrets of a scheme://user:password@host/...?option=value URI: the password, read
 * both up to the first and up to the last '@', and the value of every option whose name
 * ecom_secret_name() calls secret. */
void ecom_secrets_from_uri(ecom_secrets *s, const char *uri);

/* Replaces every occurrence of every secret in text (capacity n) by "***", longest first. */
void ecom_secrets_redact(const ecom_secrets *s, char *text, size_t n);
void ecom_secrets_free(ecom_secrets *s);

#endif
