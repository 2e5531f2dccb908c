/*
 * capture.h - what a piece of code writes to stderr, for unit tests that check log lines.
 * Header-only: each test program includes it once.
 */
#ifndef ECOM_TEST_CAPTURE_H
#define ECOM_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What one call of emit() writes to stderr (through a scratch file). The caller frees it. */
static char *captured_stderr(void (*emit)(void))
{
    fflush(stderr);
    char path[] = "/tmp/ecom-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    emit();
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    return text;
}

#endif
