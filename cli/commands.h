/*
 * commands.h - the subcommands of `ecom`, each a name, its help and its option table.
 *
 * main.c parses the common options plus the command's own table into one ecom_config, handles
 * --help and usage errors (exit 2), and calls run(); run() returns the exit status.
 */
#ifndef ECOM_CLI_COMMANDS_H
#define ECOM_CLI_COMMANDS_H

#include "ecom/config.h"
#include "ecom/options.h"

typedef struct ecom_command {
    const char *name; /* may be two words: "sink mongo" */
    const char *synopsis;
    const char *summary;
    const ecom_option *options;
    const ecom_option *more_options; /* a second table (the consumer options), or NULL */
    int min_args, max_args; /* positional arguments accepted */
    int (*run)(ecom_config *cfg);
} ecom_command;

extern const ecom_command ecom_cmd_generate;
extern const ecom_command ecom_cmd_init;
extern const ecom_command ecom_cmd_sink_mongo;
extern const ecom_command ecom_cmd_sink_hbase;
extern const ecom_command ecom_cmd_sessions;
extern const ecom_command ecom_cmd_aggregate;
extern const ecom_command ecom_cmd_verify;
extern const ecom_command ecom_cmd_dashboard;
extern const ecom_command ecom_cmd_report;

#endif
