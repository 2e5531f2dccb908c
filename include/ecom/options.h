/*
 * options.h - one table drives flags, environment variables, defaults and --help.
 *
 * A command declares its options as rows of ecom_option; parsing applies, in order, the row's
 * default, its environment variable, then the command line, and stores the typed value into the
 * ecom_config field at `offset`. The same rows print the help text, so a flag cannot exist
 * without being documented. Errors name the flag and the offending value, for a usage message
 * and exit status 2.
 */
#ifndef ECOM_OPTIONS_H
#define ECOM_OPTIONS_H

#include <stddef.h>
#include "ecom/buf.h"
#include "ecom/config.h"
#include "ecom/error.h"

typedef enum ecom_opt_type {
    ECOM_OPT_STRING,
    ECOM_OPT_INT,    /* int64_t */
    ECOM_OPT_UINT64, /* uint64_t */
    ECOM_OPT_DOUBLE,
    ECOM_OPT_FLAG,  /* bool, no value */
    ECOM_OPT_PROPS, /* repeatable key=value into ecom_props */
} ecom_opt_type;

typedef struct ecom_option {
    const char *name; /* long flag without dashes; NULL ends a table */
    char short_name;  /* 0 when none */
    const char *env;  /* environment variable, NULL when none */
    ecom_opt_type type;
    const char *def;     /* default as text, NULL when none */
    const char *metavar; /* shown in help after the flag */
    const char *choices; /* "a|b|c" restricts a string option, NULL when free */
    double min, max;     /* numeric bounds, used when min < max */
    size_t offset;       /* of the field in ecom_config */
    const char *help;
} ecom_option;

/* Options every command accepts: service addresses, Kafka pass-through, --help. */
extern const ecom_option ecom_common_options[];

/* Parses argv (argv[0] is the command name) against a NULL-terminated list of tables. Fills
 * cfg (which must be zeroed) and its positional args. */
int ecom_options_parse(const ecom_option *const *tables, int argc, char **argv, ecom_config *cfg,
                       ecom_error *err);

/* Appends the help text of a command: synopsis, summary, then one entry per option. */
void ecom_options_usage(ecom_buf *out, const char *command, const char *synopsis,
                        const char *summary, const ecom_option *const *tables);

/* Adds key=value (or replaces the value of an existing key). */
void ecom_props_set(ecom_props *p, const char *key, const char *value);
/* Reads "key=value" lines (# comments, blank lines allowed) from a properties file. */
int ecom_props_load_file(ecom_props *p, const char *path, ecom_error *err);
void ecom_props_free(ecom_props *p);

#endif
