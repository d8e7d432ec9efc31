/*
 * Shared helpers for the cmocka test programs: cmocka itself, a failing allocator, test-data
 * lookup, hex, temporary directories.
 *
 * Test data: gg_test_data_path("semver/range-include.json") looks in tests/data/ first
 * (files copied into the project travel with it), then in ../shared/test-data/.
 */
#ifndef GG_TEST_H
#define GG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ggen/mem.h"

/* ---- failing allocator (nghttp2 tests/failmalloc_test.c) ---------------------------- */
typedef struct gg_failmem {
  gg_mem mem;        /* pass &fm.mem */
  long fail_after;   /* allocations that succeed before every later one fails; -1 = never */
  long nallocs;      /* allocations made */
  long live;         /* allocations not yet freed */
} gg_failmem;

void gg_failmem_init(gg_failmem *fm, long fail_after);

/* ---- data files ----------------------------------------------------------------------- */
/* Returns a malloc'd absolute path to a test-data file, or NULL when it exists nowhere. */
char *gg_test_data_path(const char *rel);
/* Reads a whole file (malloc'd, NUL-terminated); NULL when missing. *len may be NULL. */
char *gg_test_read_file(const char *path, size_t *len);
/* Skips the current test when the file is missing (shared data absent), else returns path. */
char *gg_test_require_data(const char *rel);

/* ---- hex ------------------------------------------------------------------------------ */
/* Decodes hex into a malloc'd buffer, *len gets the byte count; NULL on bad hex. */
uint8_t *gg_test_unhex(const char *hex, size_t *len);
/* Encodes to a malloc'd lowercase hex string. */
char *gg_test_hex(const uint8_t *p, size_t len);

/* ---- temporary directories -------------------------------------------------------------- */
/* Creates a fresh directory under $TMPDIR (malloc'd path). */
char *gg_test_mkdtemp(void);
/* Removes a directory tree (best effort). */
void gg_test_rmtree(const char *path);

#endif
