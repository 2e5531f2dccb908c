/*
 * test_options.c - the option table: defaults, environment, command line, help (lib/options.c).
 *
 * Parses against ecom_common_options plus a small local table that has one row of every
 * ecom_opt_type (string with choices, bounded int, uint64, bounded double, flag; props come from
 * the common -X row). Covers the precedence default < environment < flag, every accepted
 * spelling (--name=value, --name value, -Xk=v, -X k=v), props accumulating and replacing,
 * positional arguments and "--", each error (bad number, out of range, not a choice, unknown
 * option, missing value) with its text, --kafka-config files (comments, trimming, -X wins,
 * "file:line" errors that never quote the line), and that the usage text documents every row.
 *
 * Each test gets a zeroed config and a clean environment from setup(); teardown() frees the
 * config with ecom_config_free, so LeakSanitizer checks the parser's ownership too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ecom/options.h"

static const ecom_option local_options[] = {
    ECOM_UINT64_OPTION("seed", 0, "ECOMTEST_SEED", seed, "42", "N", "random seed"),
    ECOM_DOUBLE_OPTION("scale", 's', "ECOMTEST_SCALE", scale, "1.0", 0.001, 100, "F",
                       "size multiplier"),
    ECOM_CHOICE_OPTION("mode", 'm', "ECOMTEST_MODE", mode, "backfill", "backfill|live", "MODE",
                       "how to run"),
    ECOM_INT_OPTION("concurrency", 0, "ECOMTEST_CONCURRENCY", concurrency, "8", 1, 100, "N",
                    "sessions open at once"),
    ECOM_FLAG_OPTION("progress", 'p', "ECOMTEST_PROGRESS", progress, "force the progress line"),
    ECOM_OPTIONS_END,
};

static const ecom_option *const tables[] = {ecom_common_options, local_options, NULL};

/* Every variable a row reads, cleared around each test so the caller's shell cannot leak in. */
static void clear_env(void)
{
    for (const ecom_option *const *t = tables; *t; t++)
        for (const ecom_option *o = *t; o->name; o++)
            if (o->env)
                unsetenv(o->env);
}

static int setup(void **state)
{
    clear_env();
    *state = calloc(1, sizeof(ecom_config));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    ecom_config_free(*state);
    free(*state);
    clear_env();
    return 0;
}

/* Parses the NULL-terminated arguments after the command name; err gets the message. */
static int parse(ecom_config *cfg, ecom_error *err, ...)
{
    char *argv[32] = {"test"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(argc < 31);
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    err->msg[0] = '\0';
    return ecom_options_parse(tables, argc, argv, cfg, err);
}

#define PARSE_OK(cfg, ...)                                                                         \
    do {                                                                                           \
        ecom_error e_;                                                                             \
        if (parse((cfg), &e_, __VA_ARGS__, NULL) != 0)                                             \
            fail_msg("parse failed: %s", e_.msg);                                                  \
    } while (0)

/* Expects the parse to fail with exactly this message. */
#define PARSE_FAILS(cfg, expected, ...)                                                            \
    do {                                                                                           \
        ecom_error e_;                                                                             \
        assert_int_equal(parse((cfg), &e_, __VA_ARGS__, NULL), -1);                                \
        assert_string_equal(e_.msg, (expected));                                                   \
    } while (0)

static const char *prop(const ecom_props *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    return NULL;
}

/* Writes text to a new temporary file; the caller unlinks path. */
static void write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/ecom-test-options-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void test_defaults_apply(void **state)
{
    ecom_config *cfg = *state;
    ecom_error err;
    assert_int_equal(parse(cfg, &err, NULL), 0);
    assert_string_equal(cfg->brokers, "127.0.0.1:9092");
    assert_string_equal(cfg->topic_prefix, "ecom.");
    assert_string_equal(cfg->mongo_uri, "mongodb://127.0.0.1:27017");
    assert_string_equal(cfg->hbase, "127.0.0.1:9091");
    assert_string_equal(cfg->redis, "redis://127.0.0.1:6379");
    assert_null(cfg->kafka_config);
    assert_int_equal(cfg->kafka.n, 0);
    assert_false(cfg->help);
    assert_int_equal(cfg->seed, 42);
    assert_true(cfg->scale == 1.0);
    assert_string_equal(cfg->mode, "backfill");
    assert_int_equal(cfg->concurrency, 8);
    assert_false(cfg->progress);
    assert_int_equal(cfg->n_args, 0);
}

static void test_env_overrides_default(void **state)
{
    ecom_config *cfg = *state;
    setenv("ECOM_BROKERS", "envhost:9093", 1);
    setenv("ECOMTEST_SEED", "7", 1);
    setenv("ECOMTEST_SCALE", "0.25", 1);
    setenv("ECOMTEST_MODE", "live", 1);
    setenv("ECOMTEST_CONCURRENCY", "64", 1);
    setenv("ECOMTEST_PROGRESS", "yes", 1);
    setenv("ECOM_TOPIC_PREFIX", "", 1); /* empty means unset: the default stays */
    PARSE_OK(cfg, "positional");
    assert_string_equal(cfg->brokers, "envhost:9093");
    assert_int_equal(cfg->seed, 7);
    assert_true(cfg->scale == 0.25);
    assert_string_equal(cfg->mode, "live");
    assert_int_equal(cfg->concurrency, 64);
    assert_true(cfg->progress);
    assert_string_equal(cfg->topic_prefix, "ecom.");
}

static void test_env_value_is_validated_and_named(void **state)
{
    ecom_config *cfg = *state;
    setenv("ECOMTEST_SCALE", "lots", 1);
    PARSE_FAILS(cfg, "ECOMTEST_SCALE: 'lots' is not a number", "--scale", "2");
}

static void test_flag_overrides_env(void **state)
{
    ecom_config *cfg = *state;
    setenv("ECOM_BROKERS", "envhost:9093", 1);
    setenv("ECOMTEST_SEED", "7", 1);
    setenv("ECOMTEST_PROGRESS", "true", 1);
    PARSE_OK(cfg, "--brokers", "flaghost:1", "--seed=99", "--progress=false");
    assert_string_equal(cfg->brokers, "flaghost:1");
    assert_int_equal(cfg->seed, 99);
    assert_false(cfg->progress);
}

static void test_value_spellings(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "--scale=2.5", "--seed", "18446744073709551615", "-bhost:2", "-m", "live",
             "--concurrency=100", "-p", "-Xa=1", "-X", "b=2", "--X=c=3");
    assert_true(cfg->scale == 2.5);
    assert_int_equal(cfg->seed, UINT64_MAX);
    assert_string_equal(cfg->brokers, "host:2");
    assert_string_equal(cfg->mode, "live");
    assert_int_equal(cfg->concurrency, 100);
    assert_true(cfg->progress);
    assert_int_equal(cfg->kafka.n, 3);
    assert_string_equal(prop(&cfg->kafka, "a"), "1");
    assert_string_equal(prop(&cfg->kafka, "b"), "2");
    assert_string_equal(prop(&cfg->kafka, "c"), "3");
}

static void test_later_flag_wins(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "--mode", "live", "--mode=backfill", "-s", "3", "--scale", "4");
    assert_string_equal(cfg->mode, "backfill");
    assert_true(cfg->scale == 4.0);
}

static void test_props_accumulate_and_replace(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "-X", "acks=all", "-X", "sasl.jaas.config=user=a pass=b", "-X", "acks=1",
             "-Xlinger.ms=");
    assert_int_equal(cfg->kafka.n, 3);
    /* insertion order kept, the repeated key replaced in place */
    assert_string_equal(cfg->kafka.keys[0], "acks");
    assert_string_equal(cfg->kafka.values[0], "1");
    assert_string_equal(cfg->kafka.keys[1], "sasl.jaas.config");
    assert_string_equal(cfg->kafka.values[1], "user=a pass=b"); /* split at the first '=' */
    assert_string_equal(cfg->kafka.keys[2], "linger.ms");
    assert_string_equal(cfg->kafka.values[2], "");
}

static void test_props_need_key_and_equals(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "-X: expected KEY=VALUE, got 'acks'", "-X", "acks");
}

static void test_props_need_key(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "-X: expected KEY=VALUE, got '=1'", "-X=1");
}

static void test_bad_number(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "--scale: 'abc' is not a number", "--scale", "abc");
}

static void test_bad_numbers_of_each_type(void **state)
{
    (void)state;
    // clang-format off
    static const struct {
        const char *flag, *value, *expected;
    } cases[] = {
        {"--scale", "1.5x", "--scale: '1.5x' is not a number"},
        {"--scale", "nan", "--scale: 'nan' is not a number"},
        {"--scale", "", "--scale: '' is not a number"},
        {"--concurrency", "1.5", "--concurrency: '1.5' is not an integer"},
        {"--concurrency", "99999999999999999999", "--concurrency: '99999999999999999999' is not "
                                                  "an integer"},
        {"--seed", "-1", "--seed: '-1' is not a non-negative integer"},
        {"--seed", " -1", "--seed: ' -1' is not a non-negative integer"}, /* no wrap-around */
        {"--seed", "18446744073709551616", "--seed: '18446744073709551616' is not a "
                                           "non-negative integer"},
        {"--seed", "0x10", "--seed: '0x10' is not a non-negative integer"},
        {"--progress=maybe", NULL, "--progress: 'maybe' is not a boolean (true|false)"},
    };
    // clang-format on
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecom_config cfg = {0};
        ecom_error err;
        int rc = cases[i].value ? parse(&cfg, &err, cases[i].flag, cases[i].value, NULL)
                                : parse(&cfg, &err, cases[i].flag, NULL);
        ecom_config_free(&cfg);
        if (rc != -1)
            fail_msg("%s %s was accepted", cases[i].flag, cases[i].value ? cases[i].value : "");
        assert_string_equal(err.msg, cases[i].expected);
    }
}

static void test_out_of_range(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "--scale: 1000 is out of range 0.001..100", "--scale", "1000");
}

static void test_out_of_range_int_and_bounds_inclusive(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "--concurrency", "1", "--scale", "0.001");
    assert_int_equal(cfg->concurrency, 1);
    PARSE_FAILS(cfg, "--concurrency: 0 is out of range 1..100", "--concurrency", "0");
    PARSE_FAILS(cfg, "--concurrency: 101 is out of range 1..100", "--concurrency=101");
}

static void test_choices(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "--mode: 'turbo' is not one of backfill|live", "--mode", "turbo");
    /* a prefix of a choice is not a choice */
    PARSE_FAILS(cfg, "-m: 'back' is not one of backfill|live", "-mback");
}

static void test_unknown_option(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "unknown option '--nope'", "--nope");
    PARSE_FAILS(cfg, "unknown option '--nope'", "--nope=1");
    PARSE_FAILS(cfg, "unknown option '--scal'", "--scal", "1"); /* no prefix matching */
    PARSE_FAILS(cfg, "unknown option '-Q'", "-Q");
}

static void test_missing_value(void **state)
{
    ecom_config *cfg = *state;
    PARSE_FAILS(cfg, "--seed needs a value (N)", "--seed");
    PARSE_FAILS(cfg, "-X needs a value (KEY=VALUE)", "-X");
}

static void test_flags_take_no_separate_value(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "-h", "--progress", "true");
    assert_true(cfg->help);
    assert_true(cfg->progress);
    assert_int_equal(cfg->n_args, 1); /* "true" is positional */
    assert_string_equal(cfg->args[0], "true");
}

static void test_positional_args_collected(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "first", "--seed", "3", "second", "-", "-X", "k=v", "third");
    assert_int_equal(cfg->seed, 3);
    assert_int_equal(cfg->n_args, 4);
    assert_string_equal(cfg->args[0], "first");
    assert_string_equal(cfg->args[1], "second");
    assert_string_equal(cfg->args[2], "-"); /* a lone dash is an argument (stdin/stdout) */
    assert_string_equal(cfg->args[3], "third");
}

static void test_double_dash_stops_options(void **state)
{
    ecom_config *cfg = *state;
    PARSE_OK(cfg, "--seed", "5", "--", "--seed", "9", "--nope", "--");
    assert_int_equal(cfg->seed, 5);
    assert_int_equal(cfg->n_args, 4);
    assert_string_equal(cfg->args[0], "--seed");
    assert_string_equal(cfg->args[1], "9");
    assert_string_equal(cfg->args[2], "--nope");
    assert_string_equal(cfg->args[3], "--");
}

static void test_kafka_config_file(void **state)
{
    ecom_config *cfg = *state;
    char path[64];
    write_temp(path, "# credentials for the test cluster\n"
                     "\n"
                     "  security.protocol = SASL_SSL  \n"
                     "sasl.password=s3cr=t\r\n"
                     "\t# indented comment\n"
                     "client.id=from-file\n"
                     "acks=all"); /* no final newline */
    ecom_error err;
    int rc = parse(cfg, &err, "-X", "client.id=from-cli", "--kafka-config", path, NULL);
    unlink(path);
    if (rc)
        fail_msg("parse failed: %s", err.msg);
    assert_string_equal(cfg->kafka_config, path);
    assert_int_equal(cfg->kafka.n, 4);
    assert_string_equal(prop(&cfg->kafka, "security.protocol"), "SASL_SSL");
    assert_string_equal(prop(&cfg->kafka, "sasl.password"), "s3cr=t");
    assert_string_equal(prop(&cfg->kafka, "client.id"), "from-cli"); /* -X wins */
    assert_string_equal(prop(&cfg->kafka, "acks"), "all");
}

static void test_kafka_config_from_env(void **state)
{
    ecom_config *cfg = *state;
    char path[64];
    write_temp(path, "bootstrap.servers=a:1\n");
    setenv("ECOM_KAFKA_CONFIG", path, 1);
    ecom_error err;
    int rc = parse(cfg, &err, NULL);
    unlink(path);
    if (rc)
        fail_msg("parse failed: %s", err.msg);
    assert_string_equal(prop(&cfg->kafka, "bootstrap.servers"), "a:1");
}

static void test_kafka_config_bad_line(void **state)
{
    ecom_config *cfg = *state;
    char path[64], expected[160];
    write_temp(path, "acks=all\n# fine\nthis is not a pair\nlinger.ms=5\n");
    snprintf(expected, sizeof expected, "%s:3: expected KEY=VALUE, the line has no '='", path);
    ecom_error err;
    int rc = parse(cfg, &err, "--kafka-config", path, NULL);
    unlink(path);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, expected);
}

static void test_kafka_config_missing_file(void **state)
{
    ecom_config *cfg = *state;
    ecom_error err;
    assert_int_equal(parse(cfg, &err, "--kafka-config=/nonexistent/ecom.properties", NULL), -1);
    assert_string_equal(err.msg, "cannot read Kafka config file '/nonexistent/ecom.properties': "
                                 "No such file or directory");
}

static void test_usage_documents_every_row(void **state)
{
    (void)state;
    ecom_buf out;
    ecom_buf_init(&out);
    ecom_options_usage(&out, "gen", "[options]", "Makes test data.", tables);
    const char *text = out.data;
    assert_non_null(strstr(text, "usage: ecom gen [options]\n\nMakes test data.\n\noptions:\n"));
    for (const ecom_option *const *t = tables; *t; t++) {
        for (const ecom_option *o = *t; o->name; o++) {
            char flag[64], item[128];
            if (strlen(o->name) > 1)
                snprintf(flag, sizeof flag, "--%s", o->name);
            else
                snprintf(flag, sizeof flag, "-%c", o->short_name);
            if (!strstr(text, flag))
                fail_msg("usage does not mention %s:\n%s", flag, text);
            if (!strstr(text, o->help))
                fail_msg("usage lacks the help of %s", flag);
            if (o->def) {
                snprintf(item, sizeof item, "[default: %s]", o->def);
                if (!strstr(text, item))
                    fail_msg("usage lacks %s for %s", item, flag);
            }
            if (o->env) {
                snprintf(item, sizeof item, "[env: %s]", o->env);
                if (!strstr(text, item))
                    fail_msg("usage lacks %s for %s", item, flag);
            }
        }
    }
    /* one full line, to pin the layout: short and long flag, metavar, help, default, env */
    assert_non_null(strstr(text, "  -b, --brokers HOST:PORT[,...]      Kafka bootstrap servers "
                                 "[default: 127.0.0.1:9092] [env: ECOM_BROKERS]\n"));
    assert_non_null(strstr(text, "-m, --mode MODE"));
    assert_non_null(strstr(text, "how to run (backfill|live) [default: backfill]"));
    assert_non_null(strstr(text, "  -X KEY=VALUE "));
    ecom_buf_free(&out);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_apply),
        T(test_env_overrides_default),
        T(test_env_value_is_validated_and_named),
        T(test_flag_overrides_env),
        T(test_value_spellings),
        T(test_later_flag_wins),
        T(test_props_accumulate_and_replace),
        T(test_props_need_key_and_equals),
        T(test_props_need_key),
        T(test_bad_number),
        T(test_bad_numbers_of_each_type),
        T(test_out_of_range),
        T(test_out_of_range_int_and_bounds_inclusive),
        T(test_choices),
        T(test_unknown_option),
        T(test_missing_value),
        T(test_flags_take_no_separate_value),
        T(test_positional_args_collected),
        T(test_double_dash_stops_options),
        T(test_kafka_config_file),
        T(test_kafka_config_from_env),
        T(test_kafka_config_bad_line),
        T(test_kafka_config_missing_file),
        T(test_usage_documents_every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
