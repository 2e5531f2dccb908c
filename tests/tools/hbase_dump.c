/*
 * hbase_dump - every cell of an HBase table as text, for tests that compare contents exactly.
 *
 * One line per cell, in the order HBase returns them (row, then family, then qualifier):
 *
 *     <row> TAB <family:qualifier> TAB <timestamp in ms> TAB <value>
 *
 * Bytes below 0x20, 0x7f and backslash are written as \xHH, so a line is always one cell and
 * two tables hold the same cells, values and timestamps exactly when their dumps are the same
 * bytes. It reads through ecom's own HBase client, i.e. what `ecom sessions` and `ecom verify`
 * read. `--drop` deletes the table instead (the tests' clean-up).
 *
 * usage: hbase_dump [--hbase HOST:PORT] --hbase-table T [--drop]
 */
#include <stdio.h>
#include <string.h>
#include "ecom/hbase_store.h"

static void put_escaped(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static int dump_row(void *arg, const char *row, size_t row_len, const ecom_hbase_cell *cells,
                    size_t n)
{
    FILE *out = arg;
    for (size_t i = 0; i < n; i++) {
        put_escaped(out, row, row_len);
        fputc('\t', out);
        put_escaped(out, cells[i].column, cells[i].column_len);
        fprintf(out, "\t%lld\t", (long long)cells[i].timestamp);
        put_escaped(out, cells[i].value, cells[i].value_len);
        fputc('\n', out);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *hbase = "127.0.0.1:9091", *table = NULL;
    int drop = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hbase") && i + 1 < argc)
            hbase = argv[++i];
        else if (!strcmp(argv[i], "--hbase-table") && i + 1 < argc)
            table = argv[++i];
        else if (!strcmp(argv[i], "--drop"))
            drop = 1;
        else {
            fprintf(stderr, "hbase_dump: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!table) {
        fprintf(stderr, "hbase_dump: --hbase-table is required\n");
        return 2;
    }
    ecom_error err;
    ecom_hbase *h = ecom_hbase_new(hbase, table, &err);
    int rc = h ? 0 : -1;
    if (h && drop)
        rc = ecom_hbase_drop_table(h, &err);
    else if (h)
        rc = ecom_hbase_scan_cells(h, "", dump_row, stdout, &err);
    ecom_hbase_free(h);
    if (rc) {
        fprintf(stderr, "hbase_dump: %s\n", err.msg);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
