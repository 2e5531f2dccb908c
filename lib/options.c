/*
 * options.c - the option table machinery (see options.h) and the options common to every
 * command.
 *
 * Precedence is default < environment < command line, applied per row. Values are validated as
 * they are stored (numbers, bounds, choices), and every message names where the bad value came
 * from (`--scale` or `ECOM_SCALE`) so the user knows what to fix.
 *
 * A --kafka-config file holds secrets (sasl.password, ssl.key.password, ...): its lines are read
 * whole, however long, and an error about one names the file, the line number and at most the
 * key, never a value or the text of the line.
 */
#include "ecom/options.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/escape.h"

#define FIELD(cfg, opt, type) ((type *)((char *)(cfg) + (opt)->offset))

const ecom_option ecom_common_options[] = {
    {"brokers", 'b', "ECOM_BROKERS", ECOM_OPT_STRING, "127.0.0.1:9092", "HOST:PORT[,...]", NULL, 0,
     0, offsetof(ecom_config, brokers), "Kafka bootstrap servers"},
    {"topic-prefix", 0, "ECOM_TOPIC_PREFIX", ECOM_OPT_STRING, "ecom.", "PREFIX", NULL, 0, 0,
     offsetof(ecom_config, topic_prefix), "prefix of every topic name"},
    {"X", 'X', NULL, ECOM_OPT_PROPS, NULL, "KEY=VALUE", NULL, 0, 0, offsetof(ecom_config, kafka),
     "librdkafka property (repeatable): security.protocol, sasl.*, ssl.*, tuning"},
    {"kafka-config", 0, "ECOM_KAFKA_CONFIG", ECOM_OPT_STRING, NULL, "FILE", NULL, 0, 0,
     offsetof(ecom_config, kafka_config),
     "file of librdkafka KEY=VALUE lines (keeps secrets off the command line); -X wins"},
    {"mongo-uri", 0, "ECOM_MONGO_URI", ECOM_OPT_STRING, "mongodb://127.0.0.1:27017", "URI", NULL, 0,
     0, offsetof(ecom_config, mongo_uri),
     "MongoDB connection string (credentials and TLS options go in it)"},
    {"mongo-db", 0, "ECOM_MONGO_DB", ECOM_OPT_STRING, "ecommerce_db", "NAME", NULL, 0, 0,
     offsetof(ecom_config, mongo_db), "MongoDB database"},
    {"hbase", 0, "ECOM_HBASE", ECOM_OPT_STRING, "127.0.0.1:9091", "HOST:PORT", NULL, 0, 0,
     offsetof(ecom_config, hbase), "HBase Thrift2 server"},
    {"hbase-table", 0, "ECOM_HBASE_TABLE", ECOM_OPT_STRING, "user_sessions", "NAME", NULL, 0, 0,
     offsetof(ecom_config, hbase_table), "HBase table of the sessions"},
    {"redis", 0, "ECOM_REDIS", ECOM_OPT_STRING, "redis://127.0.0.1:6379", "URL", NULL, 0, 0,
     offsetof(ecom_config, redis), "Redis, redis://[user:pass@]host:port[/db]"},
    {"redis-prefix", 0, "ECOM_REDIS_PREFIX", ECOM_OPT_STRING, NULL, "PREFIX", NULL, 0, 0,
     offsetof(ecom_config, redis_prefix), "prefix of every Redis key [default: the topic prefix]"},
    {"help", 'h', NULL, ECOM_OPT_FLAG, NULL, NULL, NULL, 0, 0, offsetof(ecom_config, help),
     "show this help and exit"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL},
};

void ecom_props_set(ecom_props *p, const char *key, const char *value)
{
    for (int i = 0; i < p->n; i++) {
        if (strcmp(p->keys[i], key) == 0) {
            free(p->values[i]);
            p->values[i] = ecom_xstrdup(value);
            return;
        }
    }
    p->keys = ecom_xrealloc(p->keys, sizeof *p->keys * (size_t)(p->n + 1));
    p->values = ecom_xrealloc(p->values, sizeof *p->values * (size_t)(p->n + 1));
    p->keys[p->n] = ecom_xstrdup(key);
    p->values[p->n] = ecom_xstrdup(value);
    p->n++;
}

void ecom_props_free(ecom_props *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    free(p->keys);
    free(p->values);
    memset(p, 0, sizeof *p);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* One line of a properties file (len bytes as read, NUL bytes included): a comment, a blank
 * line or KEY=VALUE. */
static int props_load_line(ecom_props *p, char *line, size_t len, const char *path, long lineno,
                           ecom_error *err)
{
    bool has_nul = strlen(line) < len; /* the text after it would be dropped unseen */
    char *s = trim(line);
    if (*s == '#' || (*s == '\0' && !has_nul))
        return 0;
    char *eq = strchr(s, '=');
    if (eq)
        *eq = '\0';
    char *key = trim(s);
    if (has_nul && (!eq || !*key))
        return ecom_fail(err, "%s:%ld: the line contains a NUL byte", path, lineno);
    if (!eq)
        return ecom_fail(err, "%s:%ld: expected KEY=VALUE, the line has no '='", path, lineno);
    if (!*key)
        return ecom_fail(err, "%s:%ld: expected KEY=VALUE, the line has no key before '='", path,
                         lineno);
    char shown[ECOM_SHOW_MAX];
    if (has_nul)
        return ecom_fail(err, "%s:%ld: key '%s': the line contains a NUL byte", path, lineno,
                         ecom_show(shown, key, 64));
    ecom_props_set(p, key, trim(eq + 1)); /* a later line wins, as in any .properties */
    return 0;
}

int ecom_props_load_file(ecom_props *p, const char *path, ecom_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ecom_fail(err, "cannot read Kafka config file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0)
        rc = props_load_line(p, line, (size_t)len, path, ++lineno, err);
    if (rc == 0 && ferror(f))
        rc = ecom_fail(err, "cannot read Kafka config file '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

const char *ecom_config_redis_prefix(const ecom_config *cfg)
{
    if (cfg->redis_prefix && *cfg->redis_prefix)
        return cfg->redis_prefix;
    return cfg->topic_prefix ? cfg->topic_prefix : "";
}

void ecom_config_free(ecom_config *cfg)
{
    char **strings[] = {&cfg->brokers,      &cfg->topic_prefix, &cfg->kafka_config, &cfg->mongo_uri,
                        &cfg->mongo_db,     &cfg->hbase,        &cfg->hbase_table,  &cfg->redis,
                        &cfg->redis_prefix, &cfg->end,          &cfg->mode,         &cfg->manifest,
                        &cfg->output,       &cfg->group,        &cfg->from,         &cfg->listen,
                        &cfg->groups,       &cfg->format};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
    ecom_props_free(&cfg->kafka);
    for (int i = 0; i < cfg->n_args; i++)
        free(cfg->args[i]);
    free(cfg->args);
    cfg->args = NULL;
    cfg->n_args = 0;
}

static bool in_choices(const char *choices, const char *value)
{
    size_t n = strlen(value);
    const char *c = choices;
    while (*c) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, value, n) == 0)
            return true;
        if (!bar)
            break;
        c = bar + 1;
    }
    return false;
}

static int check_bounds(const ecom_option *o, const char *src, double v, const char *text,
                        ecom_error *err)
{
    if (o->min < o->max && (v < o->min || v > o->max))
        return ecom_fail(err, "%s: %s is out of range %g..%g", src, text, o->min, o->max);
    return 0;
}

/* Stores one textual value into the row's field; `src` names where it came from. */
static int store(const ecom_option *o, const char *src, const char *value, ecom_config *cfg,
                 ecom_error *err)
{
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case ECOM_OPT_STRING: {
        if (o->choices && !in_choices(o->choices, value))
            return ecom_fail(err, "%s: '%s' is not one of %s", src, value, o->choices);
        char **f = FIELD(cfg, o, char *);
        free(*f);
        *f = ecom_xstrdup(value);
        return 0;
    }
    case ECOM_OPT_INT: {
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return ecom_fail(err, "%s: '%s' is not an integer", src, value);
        if (check_bounds(o, src, (double)v, value, err))
            return -1;
        *FIELD(cfg, o, int64_t) = v;
        return 0;
    }
    case ECOM_OPT_UINT64: {
        if (strchr(value, '-')) /* strtoull skips blanks and negates: ' -1' would wrap */
            return ecom_fail(err, "%s: '%s' is not a non-negative integer", src, value);
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end)
            return ecom_fail(err, "%s: '%s' is not a non-negative integer", src, value);
        *FIELD(cfg, o, uint64_t) = v;
        return 0;
    }
    case ECOM_OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return ecom_fail(err, "%s: '%s' is not a number", src, value);
        if (check_bounds(o, src, v, value, err))
            return -1;
        *FIELD(cfg, o, double) = v;
        return 0;
    }
    case ECOM_OPT_FLAG: {
        bool v;
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
            v = true;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
            v = false;
        else
            return ecom_fail(err, "%s: '%s' is not a boolean (true|false)", src, value);
        *FIELD(cfg, o, bool) = v;
        return 0;
    }
    case ECOM_OPT_PROPS: {
        const char *eq = strchr(value, '=');
        if (!eq || eq == value)
            return ecom_fail(err, "%s: expected KEY=VALUE, got '%s'", src, value);
        char key[256];
        size_t klen = (size_t)(eq - value);
        if (klen >= sizeof key)
            return ecom_fail(err, "%s: key too long in '%.40s...'", src, value);
        memcpy(key, value, klen);
        key[klen] = '\0';
        ecom_props_set(FIELD(cfg, o, ecom_props), key, eq + 1);
        return 0;
    }
    }
    return ecom_fail(err, "%s: unsupported option type", src);
}

static const ecom_option *find_long(const ecom_option *const *tables, const char *name, size_t len)
{
    for (; *tables; tables++)
        for (const ecom_option *o = *tables; o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
    return NULL;
}

static const ecom_option *find_short(const ecom_option *const *tables, char c)
{
    for (; *tables; tables++)
        for (const ecom_option *o = *tables; o->name; o++)
            if (o->short_name == c)
                return o;
    return NULL;
}

static void add_arg(ecom_config *cfg, const char *arg)
{
    cfg->args = ecom_xrealloc(cfg->args, sizeof *cfg->args * (size_t)(cfg->n_args + 1));
    cfg->args[cfg->n_args++] = ecom_xstrdup(arg);
}

static int apply_defaults_and_env(const ecom_option *const *tables, ecom_config *cfg,
                                  ecom_error *err)
{
    for (const ecom_option *const *t = tables; *t; t++) {
        for (const ecom_option *o = *t; o->name; o++) {
            char src[96];
            if (o->def) {
                snprintf(src, sizeof src, "default of --%s", o->name);
                if (store(o, src, o->def, cfg, err))
                    return -1;
            }
            const char *env = o->env ? getenv(o->env) : NULL;
            if (env && *env && store(o, o->env, env, cfg, err))
                return -1;
        }
    }
    return 0;
}

int ecom_options_parse(const ecom_option *const *tables, int argc, char **argv, ecom_config *cfg,
                       ecom_error *err)
{
    if (apply_defaults_and_env(tables, cfg, err))
        return -1;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            add_arg(cfg, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        const ecom_option *o;
        const char *value = NULL;
        char src[96];
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(tables, name, len);
            if (!o)
                return ecom_fail(err, "unknown option '--%.*s'", (int)len, name);
            snprintf(src, sizeof src, "--%s", o->name);
            if (eq)
                value = eq + 1;
        } else {
            o = find_short(tables, a[1]);
            if (!o)
                return ecom_fail(err, "unknown option '-%c'", a[1]);
            snprintf(src, sizeof src, "-%c", o->short_name);
            if (a[2])
                value = a + 2;
        }
        if (o->type == ECOM_OPT_FLAG) {
            if (store(o, src, value ? value : "true", cfg, err))
                return -1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return ecom_fail(err, "%s needs a value (%s)", src, o->metavar ? o->metavar : "");
            value = argv[++i];
        }
        if (store(o, src, value, cfg, err))
            return -1;
    }
    if (cfg->kafka_config && *cfg->kafka_config) {
        /* the file first, then -X over it: the command line wins */
        ecom_props merged = {0};
        if (ecom_props_load_file(&merged, cfg->kafka_config, err)) {
            ecom_props_free(&merged);
            return -1;
        }
        for (int i = 0; i < cfg->kafka.n; i++)
            ecom_props_set(&merged, cfg->kafka.keys[i], cfg->kafka.values[i]);
        ecom_props_free(&cfg->kafka);
        cfg->kafka = merged;
    }
    return 0;
}

void ecom_options_usage(ecom_buf *out, const char *command, const char *synopsis,
                        const char *summary, const ecom_option *const *tables)
{
    ecom_buf_printf(out, "usage: ecom %s %s\n\n%s\n\noptions:\n", command, synopsis, summary);
    for (const ecom_option *const *t = tables; *t; t++) {
        for (const ecom_option *o = *t; o->name; o++) {
            char flag[80];
            int n;
            if (o->short_name && strlen(o->name) > 1)
                n = snprintf(flag, sizeof flag, "-%c, --%s", o->short_name, o->name);
            else if (o->short_name)
                n = snprintf(flag, sizeof flag, "-%c", o->short_name);
            else
                n = snprintf(flag, sizeof flag, "    --%s", o->name);
            if (o->metavar && n > 0 && (size_t)n < sizeof flag)
                snprintf(flag + n, sizeof flag - (size_t)n, " %s", o->metavar);
            ecom_buf_printf(out, "  %-34s %s", flag, o->help);
            if (o->choices)
                ecom_buf_printf(out, " (%s)", o->choices);
            if (o->def && *o->def)
                ecom_buf_printf(out, " [default: %s]", o->def);
            if (o->env)
                ecom_buf_printf(out, " [env: %s]", o->env);
            ecom_buf_puts(out, "\n");
        }
    }
}
