/*
 * test_secrets.c - no error or log line shows a secret, and settings are read strictly
 * (lib/redis.c's URL, lib/options.c's --kafka-config files, lib/kafka.c's -X properties,
 * lib/mongo_store.c's connection string, lib/redact.c).
 *
 * Redis URLs: every malformed URL fails with an exact text that quotes no part of it (a
 * password holding an unencoded '/' would otherwise show in the host or port), %00 in a
 * credential is refused, port and database take digits only, the host no blanks or control
 * bytes; the redacted form keeps IPv6 brackets and re-encodes the user name, and parses back to
 * the same server. A connection error names the server with the password as ***.
 * --kafka-config: lines of any length are read whole, and errors name file, line and key only.
 * -X: a refused secret property shows as ***. MongoDB: libmongoc's errors about a malformed
 * string reach us with the password and secret options redacted, and nothing the driver logs
 * meanwhile shows them either.
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
#include "ecom/kafka.h"
#include "ecom/mongo_store.h"
#include "ecom/options.h"
#include "ecom/redact.h"
#include "ecom/redis.h"
#include "capture.h"

/* ---- Redis URLs --------------------------------------------------------------------------- */

#define AT_AFTER_HOST                                                                              \
    "--redis: '@' after the host; percent-encode '/', '?', '#' and '@' in the user name and "     \
    "password (%2F, %3F, %23, %40)"
#define BAD_PORT "--redis: the port must be a number 1..65535"
#define BAD_DB "--redis: the database must be a number 0..1000000"
#define BAD_HOST                                                                                   \
    "--redis: the host contains a blank, a control character or a byte that is not ASCII"

static void test_redis_url_errors_quote_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *url, *expected;
    } cases[] = {
        {"redis://default:s3cr/et@cache:6379", AT_AFTER_HOST},
        {"redis://default:s3cr?et@cache", AT_AFTER_HOST},
        {"redis://default:s3cr#et@cache", AT_AFTER_HOST},
        {"redis://s3cr/et@cache", AT_AFTER_HOST},
        {"redis://default:s3cret@cache:63x9", BAD_PORT},
        {"redis://s3cret@cache:s3cret", BAD_PORT},
        {"redis://h: 80", BAD_PORT},
        {"redis://h:+80", BAD_PORT},
        {"redis://h:-1", BAD_PORT},
        {"redis://h:80 ", BAD_PORT},
        {"redis://h:", BAD_PORT},
        {"redis://h:0", BAD_PORT},
        {"redis://h:65536", BAD_PORT},
        {"redis://h:0000000000080", BAD_PORT},
        {"redis://h/-0", BAD_DB},
        {"redis://h/+1", BAD_DB},
        {"redis://h/ 1", BAD_DB},
        {"redis://h/1x", BAD_DB},
        {"redis://h/1000001", BAD_DB},
        {"redis://h/0/", BAD_DB},
        {"redis://h\x01st:6379", BAD_HOST},
        {"redis://h\tst", BAD_HOST},
        {"redis://h st", BAD_HOST},
        {"redis://u:s3cret@h\x7f", BAD_HOST},
        {"redis://[::1\n]:6379", BAD_HOST},
        {"redis://127.0.0\xdf" "1:6379", BAD_HOST}, /* found by fuzz_redis_url */
        {"redis://caf\xc3\xa9:6379", BAD_HOST},
        {"redis://[[8]", "--redis: the host in brackets is not an IPv6 address"}, /* fuzzing */
        {"redis://[cache]:6379", "--redis: the host in brackets is not an IPv6 address"},
        {"redis://[::1%eth0]", "--redis: the host in brackets is not an IPv6 address"},
        {"redis://ca]che", "--redis: '[' or ']' in a host name"},
        {"redis://[]:6379", "--redis: no host in redis://[user:pass@]host:port[/db]"},
        {"redis://u:pa%00ss@h",
         "--redis: the password contains %00, a NUL byte, which AUTH cannot send"},
        {"redis://pa%00ss@h",
         "--redis: the password contains %00, a NUL byte, which AUTH cannot send"},
        {"redis://us%00er:s3cret@h",
         "--redis: the user name contains %00, a NUL byte, which AUTH cannot send"},
        {"redis://u:s3cr%zz@h", "--redis: the password is not valid percent-encoded text"},
        {"redis://u:s3cr%4@h", "--redis: the password is not valid percent-encoded text"},
        {"redis://u%4:s3cret@h", "--redis: the user name is not valid percent-encoded text"},
        {"redis://u:s3cret@", "--redis: no host in redis://[user:pass@]host:port[/db]"},
        {"redis://[::1", "--redis: unclosed '[' in the host"},
        {"redis://[::1]x", "--redis: unexpected text after the host"},
        {"redis://u:s3cret@h?timeout=1", "--redis: query options are not supported"},
        {"http://u:s3cret@h", "--redis: expected redis://[user:pass@]host:port[/db]"},
        {"rediss://u:s3cret@h", "--redis: TLS (rediss://) is not supported by this build; reach "
                                "a TLS Redis through a local TLS tunnel and use redis://"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecom_redis_url u;
        ecom_error err = {""};
        if (ecom_redis_url_parse(cases[i].url, &u, &err) != -1)
            fail_msg("'%s' was accepted", cases[i].url);
        if (strcmp(err.msg, cases[i].expected) != 0)
            fail_msg("'%s': error\n  %s\nexpected\n  %s", cases[i].url, err.msg,
                     cases[i].expected);
        assert_null(strstr(err.msg, "s3cr"));
    }
}

static void test_redis_credential_lengths(void **state)
{
    (void)state;
    char url[600], password[300];
    memset(password, 'p', 255);
    password[255] = '\0';
    snprintf(url, sizeof url, "redis://u:%s@h", password);
    ecom_redis_url u;
    ecom_error err;
    assert_int_equal(ecom_redis_url_parse(url, &u, &err), 0);
    assert_int_equal(strlen(u.password), 255);
    snprintf(url, sizeof url, "redis://u:%sp@h", password);
    assert_int_equal(ecom_redis_url_parse(url, &u, &err), -1);
    assert_string_equal(err.msg, "--redis: the password is longer than 255 bytes");
    /* a raw '@' in the password: the last one ends it, as before */
    assert_int_equal(ecom_redis_url_parse("redis://u:p@ss@h:1/2", &u, &err), 0);
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "h");
    /* leading zeros are still digits */
    assert_int_equal(ecom_redis_url_parse("redis://h:080/007", &u, &err), 0);
    assert_int_equal(u.port, 80);
    assert_int_equal(u.db, 7);
}

static void assert_redacted(const char *url, const char *expected)
{
    ecom_redis_url u, back;
    ecom_error err;
    char shown[400];
    if (ecom_redis_url_parse(url, &u, &err))
        fail_msg("'%s': %s", url, err.msg);
    ecom_redis_url_redacted(&u, shown, sizeof shown);
    assert_string_equal(shown, expected);
    /* the redacted form is a URL of the same server and user */
    if (ecom_redis_url_parse(shown, &back, &err))
        fail_msg("redacted '%s' does not parse: %s", shown, err.msg);
    assert_string_equal(back.host, u.host);
    assert_int_equal(back.port, u.port);
    assert_int_equal(back.db, u.db);
    assert_string_equal(back.user, u.user);
    assert_string_equal(back.password, u.password[0] ? "***" : "");
}

static void test_redis_redacted_form(void **state)
{
    (void)state;
    assert_redacted("redis://[::1]", "redis://[::1]:6379/0");
    assert_redacted("redis://u:s3cret@[fe80::1]:7000/2", "redis://u:***@[fe80::1]:7000/2");
    assert_redacted("redis://s3cret@h", "redis://:***@h:6379/0");
    assert_redacted("redis://e%E1o:@c", "redis://e%E1o:@c:6379/0"); /* found by fuzz_redis_url */
    assert_redacted("redis://a%0Ab%20c:s3cret@h", "redis://a%0Ab%20c:***@h:6379/0");
    assert_redacted("redis://my.user_1-x~:s3cret@10.0.0.1:1/",
                    "redis://my.user_1-x~:***@10.0.0.1:1/0");
}

/* A failed connection names the server; the password shows as ***. Port 1 refuses at once. */
static void test_redis_connect_error_hides_password(void **state)
{
    (void)state;
    ecom_error err;
    ecom_redis *r = ecom_redis_new("redis://ecom:s3cr%2Fet@127.0.0.1:1/3", 1000, &err);
    assert_non_null(r);
    assert_int_equal(ecom_redis_ping(r, &err), -1);
    assert_non_null(strstr(err.msg, "redis://ecom:***@127.0.0.1:1/3"));
    assert_null(strstr(err.msg, "s3cr"));
    ecom_redis_free(r);
}

/* ---- --kafka-config files ----------------------------------------------------------------- */

static char *write_temp(const char *text, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ecom-test-secrets-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Loads text as a properties file: 0, or -1 with err.msg reduced to what follows "path:". */
static int load(const char *text, size_t len, ecom_props *p, ecom_error *err)
{
    const char *path = write_temp(text, len);
    int rc = ecom_props_load_file(p, path, err);
    unlink(path);
    size_t n = strlen(path);
    if (rc)
        assert_int_equal(strncmp(err->msg, path, n), 0);
    if (rc)
        memmove(err->msg, err->msg + n, strlen(err->msg + n) + 1);
    return rc;
}

static void test_kafka_config_long_lines_read_whole(void **state)
{
    (void)state;
    size_t secret_len = 10000;
    char *text = malloc(secret_len + 100);
    assert_non_null(text);
    int n = sprintf(text, "acks=all\nsasl.password=");
    memset(text + n, 's', secret_len);
    n += (int)secret_len;
    n += sprintf(text + n, "END\nlinger.ms=5\n");
    ecom_props p = {0};
    ecom_error err;
    assert_int_equal(load(text, (size_t)n, &p, &err), 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.keys[1], "sasl.password");
    assert_int_equal(strlen(p.values[1]), secret_len + 3);
    assert_string_equal(p.values[1] + secret_len, "END");
    assert_string_equal(p.values[2], "5"); /* no piece of the long line became a line */
    ecom_props_free(&p);
    free(text);
}

static void test_kafka_config_errors_name_line_and_key_only(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
        const char *expected;
    } cases[] = {
        {"acks=all\nsasl.password s3cret\n", 0, ":2: expected KEY=VALUE, the line has no '='"},
        {"sasl.password: s3cret\n", 0, ":1: expected KEY=VALUE, the line has no '='"},
        {"=s3cret\n", 0, ":1: expected KEY=VALUE, the line has no key before '='"},
        {"  \t=s3cret", 0, ":1: expected KEY=VALUE, the line has no key before '='"},
        {"sasl.password=s3c\0ret\n", 22, ":1: key 'sasl.password': the line contains a NUL byte"},
        {"\0s3cret\n", 8, ":1: the line contains a NUL byte"},
        {"sasl.pass\nword=s3cret\n", 0, ":1: expected KEY=VALUE, the line has no '='"},
        {"# s3cret\nsasl\x1b[2J=s3cret\0x\n", 27,
         ":2: key 'sasl\\x1b[2J': the line contains a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecom_props p = {0};
        ecom_error err;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        assert_int_equal(load(cases[i].text, len, &p, &err), -1);
        assert_string_equal(err.msg, cases[i].expected);
        ecom_props_free(&p);
    }
    /* a line over the old 4,095-byte buffer without '=' echoes none of it */
    char *text = malloc(9000);
    assert_non_null(text);
    memset(text, 'k', 8999);
    text[8999] = '\n';
    ecom_props p = {0};
    ecom_error err;
    assert_int_equal(load(text, 9000, &p, &err), -1);
    assert_string_equal(err.msg, ":1: expected KEY=VALUE, the line has no '='");
    free(text);
}

/* ---- -X properties ------------------------------------------------------------------------ */

static int kafka_conf_error(const char *key, const char *value, ecom_error *err)
{
    ecom_config cfg = {0};
    cfg.brokers = "127.0.0.1:9092";
    ecom_props_set(&cfg.kafka, key, value);
    rd_kafka_conf_t *conf = ecom_kafka_conf(&cfg, NULL, err);
    ecom_props_free(&cfg.kafka);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return conf ? 0 : -1;
}

static void test_kafka_secret_property_never_shown(void **state)
{
    (void)state;
    ecom_error err;
    assert_int_equal(kafka_conf_error("my.password", "hunter2", &err), -1);
    assert_string_equal(err.msg, "-X my.password=***: No such configuration property: "
                                 "\"my.password\"");
    assert_int_equal(kafka_conf_error("sasl.oauthbearer.client.Secret", "hunter2", &err), -1);
    assert_null(strstr(err.msg, "hunter2"));
    /* an ordinary property keeps its value in the error: it is what to fix */
    assert_int_equal(kafka_conf_error("linger.ms", "soon", &err), -1);
    assert_non_null(strstr(err.msg, "-X linger.ms=soon: "));
    assert_int_equal(kafka_conf_error("sasl.password", "hunter2", &err), 0);
}

/* ---- secrets and their redaction ---------------------------------------------------------- */

static void test_secret_names(void **state)
{
    (void)state;
    static const char *const secret[] = {"sasl.password", "ssl.key.password", "ssl.key.pem",
                                         "ssl_key", "ssl.keystore.password",
                                         "sasl.oauthbearer.client.secret",
                                         "sasl.oauthbearer.config", "tlsCertificateKeyFilePassword",
                                         "authMechanismProperties", "AWS_SESSION_TOKEN"};
    static const char *const plain[] = {"sasl.username", "ssl.key.location", "security.protocol",
                                        "bootstrap.servers", "authSource", "tls"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (!ecom_secret_name(secret[i]))
            fail_msg("%s is a secret", secret[i]);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (ecom_secret_name(plain[i]))
            fail_msg("%s is not a secret", plain[i]);
}

static void test_uri_secrets_redacted_in_every_form(void **state)
{
    (void)state;
    ecom_secrets s = {0};
    ecom_secrets_from_uri(&s, "mongodb://ecom:p%40ss%2Fw0rd:x@db:27017/?w=1&"
                              "tlsCertificateKeyFilePassword=k3yp4ss&appname=shop");
    char text[256];
    snprintf(text, sizeof text, "a p%%40ss%%2Fw0rd:x b p@ss/w0rd:x c w0rd d k3yp4ss e shop f db");
    ecom_secrets_redact(&s, text, sizeof text);
    assert_string_equal(text, "a *** b *** c *** d *** e shop f db");
    ecom_secrets_free(&s);

    /* a password with raw '@': read up to the first and up to the last '@' */
    ecom_secrets_from_uri(&s, "mongodb://u:s3cr@t@db/");
    snprintf(text, sizeof text, "Password \"s3cr\" ... 's3cr@t'");
    ecom_secrets_redact(&s, text, sizeof text);
    assert_string_equal(text, "Password \"***\" ... '***'");
    ecom_secrets_free(&s);

    /* a short secret grows the text: it is cut at its capacity, never overrun */
    ecom_secrets_add(&s, "x", 1);
    char small[8] = "axbxcxd";
    ecom_secrets_redact(&s, small, sizeof small);
    assert_string_equal(small, "a***b"); /* no room for the second mark: the text ends there */
    ecom_secrets_free(&s);
}

/* ---- MongoDB connection strings ----------------------------------------------------------- */

static const char *mongo_uri;
static ecom_error mongo_err;
static int mongo_rc;

static void connect_mongo(void)
{
    ecom_config cfg = {0};
    cfg.mongo_uri = (char *)mongo_uri;
    mongoc_client_t *client = ecom_mongo_connect(&cfg, "test", &mongo_err);
    mongo_rc = client ? 0 : -1;
    if (client)
        mongoc_client_destroy(client);
}

/* What connect_mongo() writes to stderr (the driver's log). */
static char *connect_capturing_stderr(const char *uri)
{
    mongo_uri = uri;
    return captured_stderr(connect_mongo);
}

static void test_mongo_uri_errors_redacted(void **state)
{
    (void)state;
    static const struct {
        const char *uri, *secret, *expected;
    } cases[] = {
        {"mongodb://u:s3cr:et@h", "s3cr",
         "--mongo-uri: Password \"***\" must not have unescaped chars. Percent-encode username "
         "and password according to RFC 3986"},
        {"mongodb://us:er:s3cret@h", "s3cret",
         "--mongo-uri: Password \"***\" must not have unescaped chars. Percent-encode username "
         "and password according to RFC 3986"},
        {"mongodb://u:p@sswd@h", "sswd",
         "--mongo-uri: an unencoded '@' in the user name or password; write it as %40"},
        {"mongodb://u:pw@h/?sslclientcertificatekeypassword=0ldk3y&"
         "tlsCertificateKeyFilePassword=n3wk3y",
         "k3y",
         "--mongo-uri: Deprecated option 'sslclientcertificatekeypassword=***' conflicts with "
         "canonical name 'tlscertificatekeyfilepassword=***'"},
        {"mongodb://u:s3cr/et@h:27017", "s3cr", "--mongo-uri: Invalid host string in URI"},
        {"mongodb://u:pw@h,h2:99999/?appname=a@b@c", "pw", "--mongo-uri: Invalid host string in URI"},
    };
    ecom_mongo_init();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *log = connect_capturing_stderr(cases[i].uri);
        assert_int_equal(mongo_rc, -1);
        if (strcmp(mongo_err.msg, cases[i].expected) != 0)
            fail_msg("%s: error\n  %s\nexpected\n  %s", cases[i].uri, mongo_err.msg,
                     cases[i].expected);
        if (strstr(log, cases[i].secret))
            fail_msg("%s: the driver's log shows the secret:\n%s", cases[i].uri, log);
        free(log);
    }
    mongoc_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_url_errors_quote_nothing),
        cmocka_unit_test(test_redis_credential_lengths),
        cmocka_unit_test(test_redis_redacted_form),
        cmocka_unit_test(test_redis_connect_error_hides_password),
        cmocka_unit_test(test_kafka_config_long_lines_read_whole),
        cmocka_unit_test(test_kafka_config_errors_name_line_and_key_only),
        cmocka_unit_test(test_kafka_secret_property_never_shown),
        cmocka_unit_test(test_secret_names),
        cmocka_unit_test(test_uri_secrets_redacted_in_every_form),
        cmocka_unit_test(test_mongo_uri_errors_redacted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
