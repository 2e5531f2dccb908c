/*
 * main.c - `ecom`: dispatches to a subcommand and owns the exit status.
 *
 * Exit status: 0 success, 1 the command failed (its log says why), 2 a usage error (bad flag or
 * value, missing argument) with the usage text on stderr.
 */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "ecom/buf.h"
#include "ecom/error.h"

static const ecom_command *const commands[] = {
    &ecom_cmd_init,       &ecom_cmd_generate,  &ecom_cmd_sink_mongo,
    &ecom_cmd_sink_hbase, &ecom_cmd_aggregate, &ecom_cmd_verify,
    &ecom_cmd_sessions,   &ecom_cmd_dashboard, &ecom_cmd_report,
    NULL,
};

static void print_overview(FILE *f)
{
    fprintf(f, "usage: ecom <command> [options]\n\n"
               "Streaming ingestion and live analytics for e-commerce data.\n\ncommands:\n");
    for (int i = 0; commands[i]; i++)
        fprintf(f, "  %-16s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "  %-16s %s\n", "help", "this list; `ecom <command> --help` for its options");
    fprintf(f, "\nEvery option can also be set by the environment variable shown in its help.\n");
}

/* Finds the command named by argv[1] (and argv[2] for two-word names); sets *words. */
static const ecom_command *find_command(int argc, char **argv, int *words)
{
    for (int i = 0; commands[i]; i++) {
        const char *name = commands[i]->name;
        const char *space = strchr(name, ' ');
        if (!space && strcmp(argv[1], name) == 0) {
            *words = 1;
            return commands[i];
        }
        if (space && argc > 2 && strlen(argv[1]) == (size_t)(space - name) &&
            strncmp(argv[1], name, (size_t)(space - name)) == 0 &&
            strcmp(argv[2], space + 1) == 0) {
            *words = 2;
            return commands[i];
        }
    }
    return NULL;
}

/* The option tables of a command: its own, a shared second one, the common ones. */
static void command_tables(const ecom_command *cmd, const ecom_option *tables[4])
{
    int n = 0;
    tables[n++] = cmd->options;
    if (cmd->more_options)
        tables[n++] = cmd->more_options;
    tables[n++] = ecom_common_options;
    tables[n] = NULL;
}

static void usage_text(const ecom_command *cmd, ecom_buf *out)
{
    const ecom_option *tables[4];
    command_tables(cmd, tables);
    ecom_options_usage(out, cmd->name, cmd->synopsis, cmd->summary, tables);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        print_overview(stdout);
        return 0;
    }
    int words = 0;
    const ecom_command *cmd = find_command(argc, argv, &words);
    if (!cmd) {
        fprintf(stderr, "ecom: unknown command '%s'\n\n", argv[1]);
        print_overview(stderr);
        return 2;
    }
    const ecom_option *tables[4];
    command_tables(cmd, tables);
    ecom_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ecom_error err;
    ecom_buf usage;
    ecom_buf_init(&usage);
    int rc = ecom_options_parse(tables, argc - words, argv + words, &cfg, &err);
    if (rc == 0 && !cfg.help && cfg.n_args < cmd->min_args)
        rc = ecom_fail(&err, "missing argument: %s", cmd->synopsis);
    if (rc == 0 && !cfg.help && cfg.n_args > cmd->max_args)
        rc = ecom_fail(&err, "unexpected argument '%s'", cfg.args[cmd->max_args]);
    if (rc == 0 && cfg.help) {
        usage_text(cmd, &usage);
        fputs(usage.data, stdout);
    } else if (rc == 0) {
        rc = cmd->run(&cfg);
    } else {
        usage_text(cmd, &usage);
        fprintf(stderr, "ecom %s: %s\n\n%s", cmd->name, err.msg, usage.data);
        rc = 2;
    }
    ecom_buf_free(&usage);
    ecom_config_free(&cfg);
    return rc;
}
