/*
 * fuzz_decode.c - the decoder of one record kind against any bytes; FUZZ_KIND picks the kind,
 * one target per kind (fuzz_decode_categories, ..., fuzz_decode_session_events).
 *
 * Whatever the bytes, decoding must not crash, leak or touch memory it does not own, and a
 * refusal is a printable error text. A message that decodes must survive the round trip the whole
 * pipeline relies on: its record validates, its encoding decodes again, and encoding that second
 * record gives the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include "ecom/codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ecom_record first, second; /* large: kept off the stack */
    ecom_error err;
    if (ecom_record_decode(FUZZ_KIND, (const char *)data, size, &first, &err)) {
        fuzz_check_printable("the error text", err.msg);
        return 0;
    }
    if (ecom_validate(FUZZ_KIND, &first.u, &err))
        fuzz_fail("a decoded record does not validate: %s", err.msg);
    ecom_buf once, twice;
    ecom_buf_init(&once);
    ecom_buf_init(&twice);
    ecom_encode(FUZZ_KIND, &first.u, &once);
    if (ecom_record_decode(FUZZ_KIND, once.data, once.len, &second, &err))
        fuzz_fail("the re-encoding does not decode: %s\n%s", err.msg, once.data);
    ecom_encode(FUZZ_KIND, &second.u, &twice);
    if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
        fuzz_fail("two encodings differ:\n%s\n%s", once.data, twice.data);
    ecom_buf_free(&once);
    ecom_buf_free(&twice);
    return 0;
}
