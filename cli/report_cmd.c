/*
 * report_cmd.c - `ecom report NAME [--format csv|json|table]`: an analysis as a table.
 *
 * The same reports, rows and columns as the dashboard's /api/export/<name>.csv (report.h): a
 * snapshot list read from Redis in one atomic step, every product, or one user's sessions. A
 * terminal gets an aligned table by default, anything else (a pipe, a file) CSV, so
 * `ecom report products > products.csv` does what it says.
 *
 * Exit status: 0 printed; 1 Redis or HBase could not be read, or there are no counters yet;
 * 2 an unknown report or a malformed user id (with the list of reports).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "ecom/report.h"

static const ecom_option report_options[] = {
    ECOM_CHOICE_OPTION("format", 'f', NULL, format, NULL, "csv|json|table", "FORMAT",
                       "csv (a header row, RFC 4180), json (an array of rows) or table (aligned) "
                       "[default: table on a terminal, else csv]"),
    ECOM_OPTIONS_END,
};

static ecom_report_format format_of(const char *name)
{
    if (!name || !*name)
        return isatty(STDOUT_FILENO) ? ECOM_REPORT_TABLE : ECOM_REPORT_CSV;
    if (strcmp(name, "json") == 0)
        return ECOM_REPORT_JSON;
    return strcmp(name, "table") == 0 ? ECOM_REPORT_TABLE : ECOM_REPORT_CSV;
}

static int report_run(ecom_config *cfg)
{
    const ecom_report *rep;
    char id[ECOM_ID_MAX];
    ecom_error err;
    if (ecom_report_find(cfg->args[0], &rep, id, &err) != ECOM_REPORT_FOUND) {
        fprintf(stderr, "ecom report: %s\n", err.msg);
        return 2;
    }
    json_t *rows;
    if (ecom_report_rows(rep, id, cfg, NULL, &rows, &err)) {
        fprintf(stderr, "ecom report %s: %s\n", cfg->args[0], err.msg);
        return 1;
    }
    ecom_buf out;
    ecom_buf_init(&out);
    ecom_report_render(rep, rows, format_of(cfg->format), &out);
    fwrite(out.data, 1, out.len, stdout);
    ecom_buf_free(&out);
    json_decref(rows);
    return fflush(stdout) == 0 ? 0 : 1;
}

const ecom_command ecom_cmd_report = {
    .name = "report",
    .synopsis = "NAME [options]",
    .summary = "Print one analysis the dashboard exports (daily_sales, products, "
               "users/<user_id>/sessions, ...; an unknown NAME lists them all) as an aligned "
               "table, CSV or JSON.",
    .options = report_options,
    .min_args = 1,
    .max_args = 1,
    .run = report_run,
};
