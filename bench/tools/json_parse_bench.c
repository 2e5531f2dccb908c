/*
 * json_parse_bench.c - what reading one of our messages costs, parser by parser: the figures
 * bench/decode prints and the decoder's choice of parser rests on.
 *
 *   json_parse_bench NDJSON [--runs N]
 *
 * NDJSON is `ecom generate --output` of a backfill. The session events and the transactions in
 * it are taken as their published bytes (the "value" of each line, as it is) and held in memory;
 * then each parser reads every message of a kind once per run, N runs (default 5), and the
 * median run gives the time per message. Every parser must accept every message, or the tool
 * fails. The parsers, each as a consumer would call it:
 *   - jansson   json_loadb(JSON_REJECT_DUPLICATES), the tree freed (what the decoder used to do);
 *   - cjson     cJSON_ParseWithLength, the tree freed;
 *   - jsmn      jsmn_parse into a token array (default, non-strict mode);
 *   - jsonr     jsonr_parse into a token array (lib/jsonr.c, the decoder's reader);
 *   - decode    ecom_record_decode: jsonr, the typed walk and ecom_validate - the whole decode.
 * Prints one tab-separated line per kind and parser: kind, parser, messages, mean bytes per
 * message, median nanoseconds per message.
 */
#define _GNU_SOURCE
#include <cJSON.h>
#include <jansson.h>
#include <jsmn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ecom/codec.h"
#include "ecom/jsonr.h"

#define MAX_RUNS 99

/* The messages of one kind, their bytes back to back. */
typedef struct messages {
    const char *kind_name;
    ecom_kind kind;
    char *bytes;
    size_t used, cap;
    size_t *start, *len;
    size_t n, n_cap, longest;
} messages;

static void add_message(messages *m, const char *value, size_t len)
{
    if (m->used + len > m->cap) {
        m->cap = (m->used + len) * 2;
        m->bytes = realloc(m->bytes, m->cap);
    }
    if (m->n == m->n_cap) {
        m->n_cap = m->n_cap ? m->n_cap * 2 : 4096;
        m->start = realloc(m->start, m->n_cap * sizeof *m->start);
        m->len = realloc(m->len, m->n_cap * sizeof *m->len);
    }
    if (!m->bytes || !m->start || !m->len) {
        fprintf(stderr, "json_parse_bench: out of memory\n");
        exit(1);
    }
    memcpy(m->bytes + m->used, value, len);
    m->start[m->n] = m->used;
    m->len[m->n++] = len;
    m->used += len;
    if (len > m->longest)
        m->longest = len;
}

/* Each line is {"topic":"<prefix>.<kind>","key":...,"value":<the message>}: the value is
 * everything after "value": up to the line's closing brace. */
static int read_ndjson(const char *path, messages *kinds, size_t n_kinds)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "json_parse_bench: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *topic = strstr(line, "\"topic\":\"");
        const char *value = strstr(line, ",\"value\":");
        const char *end = line + n;
        while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
            end--;
        if (!topic || !value || end <= value || end[-1] != '}') {
            fprintf(stderr, "json_parse_bench: %s: not a line of ecom generate --output\n", path);
            free(line);
            fclose(f);
            return -1;
        }
        topic += 9;
        const char *topic_end = strchr(topic, '"');
        value += 9;
        for (size_t k = 0; k < n_kinds; k++) {
            size_t kl = strlen(kinds[k].kind_name), tl = (size_t)(topic_end - topic);
            if (tl > kl && topic[tl - kl - 1] == '.' &&
                !memcmp(topic_end - kl, kinds[k].kind_name, kl))
                add_message(&kinds[k], value, (size_t)(end - 1 - value));
        }
    }
    free(line);
    fclose(f);
    return 0;
}

/* One parser: reads message i of m, returns a number drawn from the result (so that nothing is
 * optimised away) or -1 when it refuses the message. */
typedef long (*parse_fn)(void *scratch, const messages *m, size_t i);

static long parse_jansson(void *scratch, const messages *m, size_t i)
{
    (void)scratch;
    json_error_t err;
    json_t *j = json_loadb(m->bytes + m->start[i], m->len[i], JSON_REJECT_DUPLICATES, &err);
    if (!j)
        return -1;
    long r = (long)json_object_size(j);
    json_decref(j);
    return r;
}

static long parse_cjson(void *scratch, const messages *m, size_t i)
{
    (void)scratch;
    cJSON *j = cJSON_ParseWithLength(m->bytes + m->start[i], m->len[i]);
    if (!j)
        return -1;
    long r = (long)cJSON_GetArraySize(j);
    cJSON_Delete(j);
    return r;
}

static long parse_jsmn(void *scratch, const messages *m, size_t i)
{
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, m->bytes + m->start[i], m->len[i], scratch,
                       (unsigned)JSONR_TOKENS_FOR(m->longest));
    return n < 0 ? -1 : n;
}

static long parse_jsonr(void *scratch, const messages *m, size_t i)
{
    jsonr_doc doc;
    jsonr_error err;
    if (jsonr_parse(&doc, m->bytes + m->start[i], m->len[i], scratch, JSONR_TOKENS_FOR(m->longest),
                    &err))
        return -1;
    return doc.count;
}

static long parse_decode(void *scratch, const messages *m, size_t i)
{
    ecom_record *rec = scratch;
    ecom_error err;
    if (ecom_record_decode(m->kind, m->bytes + m->start[i], m->len[i], rec, &err)) {
        fprintf(stderr, "json_parse_bench: %s message %zu: %s\n", m->kind_name, i, err.msg);
        return -1;
    }
    return rec->kind;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median over runs of one parser's nanoseconds per message, or -1 if it refused one. */
static double time_parser(parse_fn parse, void *scratch, const messages *m, int runs)
{
    double per_run[MAX_RUNS];
    long checksum = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        for (size_t i = 0; i < m->n; i++) {
            long v = parse(scratch, m, i);
            if (v < 0)
                return -1;
            checksum += v;
        }
        per_run[r] = (now_ns() - t0) / (double)m->n;
    }
    if (checksum == 0) /* every parser draws at least a member count from a message */
        return -1;
    qsort(per_run, (size_t)runs, sizeof per_run[0], compare_doubles);
    return per_run[runs / 2];
}

int main(int argc, char **argv)
{
    int runs = 5;
    if (argc == 4 && !strcmp(argv[2], "--runs"))
        runs = atoi(argv[3]);
    if ((argc != 2 && argc != 4) || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: json_parse_bench NDJSON [--runs N]   (N: 1..%d)\n", MAX_RUNS);
        return 2;
    }
    messages kinds[] = {
        {.kind_name = "session_events", .kind = ECOM_KIND_SESSION_EVENT},
        {.kind_name = "transactions", .kind = ECOM_KIND_TRANSACTION},
    };
    enum { N_KINDS = sizeof kinds / sizeof kinds[0] };
    if (read_ndjson(argv[1], kinds, N_KINDS))
        return 1;
    static const struct {
        const char *name;
        parse_fn parse;
    } parsers[] = {
        {"jansson", parse_jansson}, {"cjson", parse_cjson},   {"jsmn", parse_jsmn},
        {"jsonr", parse_jsonr},     {"decode", parse_decode},
    };
    int rc = 0;
    for (size_t k = 0; k < N_KINDS; k++) {
        const messages *m = &kinds[k];
        if (m->n == 0) {
            fprintf(stderr, "json_parse_bench: no %s in %s\n", m->kind_name, argv[1]);
            return 1;
        }
        size_t tokens = JSONR_TOKENS_FOR(m->longest);
        size_t scratch_bytes =
            tokens *
            (sizeof(jsmntok_t) > sizeof(jsonr_token) ? sizeof(jsmntok_t) : sizeof(jsonr_token));
        if (scratch_bytes < sizeof(ecom_record))
            scratch_bytes = sizeof(ecom_record);
        void *scratch = malloc(scratch_bytes);
        if (!scratch)
            return 1;
        for (size_t p = 0; p < sizeof parsers / sizeof parsers[0]; p++) {
            double ns = time_parser(parsers[p].parse, scratch, m, runs);
            if (ns < 0) {
                fprintf(stderr, "json_parse_bench: %s refuses a message of %s\n", parsers[p].name,
                        m->kind_name);
                rc = 1;
                continue;
            }
            printf("%s\t%s\t%zu\t%.0f\t%.1f\n", m->kind_name, parsers[p].name, m->n,
                   (double)m->used / (double)m->n, ns);
            fflush(stdout);
        }
        free(scratch);
    }
    for (size_t k = 0; k < N_KINDS; k++) {
        free(kinds[k].bytes);
        free(kinds[k].start);
        free(kinds[k].len);
    }
    return rc;
}
