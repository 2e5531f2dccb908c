/*
 * fuzz_redis_url.c - the Redis URL parser (lib/redis.c) against any text.
 *
 * A refused URL gets a printable "--redis: ..." error. An accepted one has a host of printable
 * ASCII, a port 1..65535 and a database 0..1000000, and its redacted form (what logs show) is
 * itself a URL of the same host, port, database and user, whose password is "***": so the
 * redacted form never carries the password, and no IPv6 address loses its brackets.
 */
#include <stddef.h>
#include <stdint.h>
#include "ecom/redis.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const char *s, const ecom_redis_url *u)
{
    if (!u->host[0])
        fuzz_fail("'%s': accepted without a host", s);
    for (const char *c = u->host; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            fuzz_fail("'%s': a blank, control or non-ASCII byte in the host", s);
    if (u->port < 1 || u->port > 65535 || u->db < 0 || u->db > 1000000)
        fuzz_fail("'%s': port %d, db %d", s, u->port, u->db);
    char shown[1024];
    ecom_redis_url_redacted(u, shown, sizeof shown);
    fuzz_check_printable("the redacted URL", shown);
    ecom_redis_url back;
    ecom_error err;
    if (ecom_redis_url_parse(shown, &back, &err))
        fuzz_fail("'%s': its redacted form '%s' does not parse: %s", s, shown, err.msg);
    if (strcmp(back.host, u->host) != 0 || back.port != u->port || back.db != u->db ||
        strcmp(back.user, u->user) != 0 || strcmp(back.password, u->password[0] ? "***" : ""))
        fuzz_fail("'%s': its redacted form '%s' names another server or user", s, shown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    ecom_redis_url u;
    ecom_error err;
    if (ecom_redis_url_parse(s, &u, &err) == 0) {
        check_accepted(s, &u);
    } else {
        fuzz_check_printable("the error text", err.msg);
        if (strncmp(err.msg, "--redis: ", 9) != 0)
            fuzz_fail("the error text does not name --redis: %s", err.msg);
    }
    free(s);
    return 0;
}
