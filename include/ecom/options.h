/*
 * options.h - one table drives flags, environment variables, defaults and --help.
 *
 * A command declares its options as rows of ecom_option; parsing applies, in order, the row's
 * default, its environment variable, then the command line, and stores the typed value into the
 * ecom_config field at `offset`. The same rows print the help text, so a flag cannot exist
 * without being documented. Errors name the flag and the offending value, for a usage message
 * and exit status 2.
 *
 * A row is written with the macro of its type, which reads as a sentence and fills in only what
 * that type uses, as Redis' config.c does with createIntConfig():
 *
 *     ECOM_INT_OPTION("batch-size", 0, "ECOM_BATCH_SIZE", batch_size, "5000", 1, 1000000, "N",
 *                     "messages per batch written to the store"),
 *
 * is flag, short flag (0: none), environment variable (NULL: none), ecom_config field, default
 * (text, as a user would type it; NULL: none), bounds, metavar and help. A row whose field does
 * not have its type's C type does not compile. ECOM_OPTIONS_END closes a table.
 *
 * The tables also say what a config owns: ecom_config_free frees the string and key=value
 * fields of the rows it was parsed with, so a new string option needs no other change.
 */
#ifndef ECOM_OPTIONS_H
#define ECOM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* The offset of `field` in ecom_config, which must be of C type `ctype`. */
#define ECOM_OPTION_FIELD(field, ctype)                                                            \
    (offsetof(ecom_config, field) + 0 * sizeof(_Generic(((ecom_config *)0)->field, ctype : 1)))

/* A string; default_text NULL leaves the field NULL. */
#define ECOM_STRING_OPTION(flag, letter, env_var, field, default_text, meta, help_text)            \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_STRING,         \
        .def = (default_text), .metavar = (meta), .offset = ECOM_OPTION_FIELD(field, char *),      \
        .help = (help_text)                                                                        \
    }
/* A string that must be one of "a|b|c" (shown in the help). */
#define ECOM_CHOICE_OPTION(flag, letter, env_var, field, default_text, choice_list, meta,          \
                           help_text)                                                              \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_STRING,         \
        .def = (default_text), .metavar = (meta), .choices = (choice_list),                        \
        .offset = ECOM_OPTION_FIELD(field, char *), .help = (help_text)                            \
    }
/* An int64_t within lo..hi (inclusive). */
#define ECOM_INT_OPTION(flag, letter, env_var, field, default_text, lo, hi, meta, help_text)       \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_INT,            \
        .def = (default_text), .metavar = (meta), .min = (lo), .max = (hi),                        \
        .offset = ECOM_OPTION_FIELD(field, int64_t), .help = (help_text)                           \
    }
/* A uint64_t, any value. */
#define ECOM_UINT64_OPTION(flag, letter, env_var, field, default_text, meta, help_text)            \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_UINT64,         \
        .def = (default_text), .metavar = (meta), .offset = ECOM_OPTION_FIELD(field, uint64_t),    \
        .help = (help_text)                                                                        \
    }
/* A finite double within lo..hi (inclusive). */
#define ECOM_DOUBLE_OPTION(flag, letter, env_var, field, default_text, lo, hi, meta, help_text)    \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_DOUBLE,         \
        .def = (default_text), .metavar = (meta), .min = (lo), .max = (hi),                        \
        .offset = ECOM_OPTION_FIELD(field, double), .help = (help_text)                            \
    }
/* A bool that takes no value on the command line (--flag, --flag=false); false by default. */
#define ECOM_FLAG_OPTION(flag, letter, env_var, field, help_text)                                  \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .env = (env_var), .type = ECOM_OPT_FLAG,           \
        .offset = ECOM_OPTION_FIELD(field, bool), .help = (help_text)                              \
    }
/* Repeatable KEY=VALUE pairs collected into an ecom_props. */
#define ECOM_PROPS_OPTION(flag, letter, field, meta, help_text)                                    \
    {                                                                                              \
        .name = (flag), .short_name = (letter), .type = ECOM_OPT_PROPS, .metavar = (meta),         \
        .offset = ECOM_OPTION_FIELD(field, ecom_props), .help = (help_text)                        \
    }
#define ECOM_OPTIONS_END                                                                           \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* The text of a number written as a macro, for a default kept as a constant:
 * ECOM_TEXT(ECOM_BATCH_MS_STORE) is "500". */
#define ECOM_TEXT(x) ECOM_TEXT_(x)
#define ECOM_TEXT_(x) #x

/* Options every command accepts: service addresses, Kafka pass-through, --help. */
extern const ecom_option ecom_common_options[];

/* Parses argv (argv[0] is the command name) against a NULL-terminated list of tables. Fills
 * cfg (which must be zeroed) and its positional args, and keeps `tables` in it for
 * ecom_config_free: they must outlive cfg. */
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
