/*
 * Injected allocator (nghttp2_mem's shape). Every module that allocates takes a
 * `const gg_mem *` at creation and allocates only through it, so tests can fail the
 * N-th allocation (tests/support/failmalloc.h) and check that nothing leaks.
 * A NULL `const gg_mem *` everywhere means gg_mem_default().
 */
#ifndef GGEN_MEM_H
#define GGEN_MEM_H

#include <stddef.h>

typedef struct gg_mem {
  void *ud;
  void *(*malloc)(size_t size, void *ud);
  void (*free)(void *ptr, void *ud);
  void *(*calloc)(size_t nmemb, size_t size, void *ud);
  void *(*realloc)(void *ptr, size_t size, void *ud);
} gg_mem;

/* Returns the process-wide allocator backed by libc. Never NULL. */
const gg_mem *gg_mem_default(void);

/* Helpers that accept a NULL mem (meaning the default). */
void *gg_malloc(const gg_mem *mem, size_t size);
void *gg_calloc(const gg_mem *mem, size_t nmemb, size_t size);
void *gg_realloc(const gg_mem *mem, void *ptr, size_t size);
void gg_free(const gg_mem *mem, void *ptr);

/* Copies len bytes into a new allocation (len 0 gives a 1-byte allocation). NULL on failure. */
void *gg_memdup(const gg_mem *mem, const void *p, size_t len);

/* Copies a NUL-terminated string / the first len bytes of s plus a NUL. NULL on failure. */
char *gg_strdup(const gg_mem *mem, const char *s);
char *gg_strndup(const gg_mem *mem, const char *s, size_t len);

#endif
