/*
 * Default allocator and NULL-tolerant helpers (include/ggen/mem.h).
 */
#include "ggen/mem.h"

#include <stdlib.h>
#include <string.h>

static void *d_malloc(size_t n, void *ud) { (void)ud; return malloc(n); }
static void d_free(void *p, void *ud) { (void)ud; free(p); }
static void *d_calloc(size_t n, size_t s, void *ud) { (void)ud; return calloc(n, s); }
static void *d_realloc(void *p, size_t n, void *ud) { (void)ud; return realloc(p, n); }

static const gg_mem default_mem = {NULL, d_malloc, d_free, d_calloc, d_realloc};

const gg_mem *gg_mem_default(void) { return &default_mem; }

void *gg_malloc(const gg_mem *mem, size_t size) {
  if (!mem) mem = &default_mem;
  return mem->malloc(size ? size : 1, mem->ud);
}

void *gg_calloc(const gg_mem *mem, size_t nmemb, size_t size) {
  if (!mem) mem = &default_mem;
  if (nmemb == 0 || size == 0) nmemb = size = 1;
  return mem->calloc(nmemb, size, mem->ud);
}

void *gg_realloc(const gg_mem *mem, void *ptr, size_t size) {
  if (!mem) mem = &default_mem;
  return mem->realloc(ptr, size ? size : 1, mem->ud);
}

void gg_free(const gg_mem *mem, void *ptr) {
  if (!ptr) return;
  if (!mem) mem = &default_mem;
  mem->free(ptr, mem->ud);
}

void *gg_memdup(const gg_mem *mem, const void *p, size_t len) {
  void *q = gg_malloc(mem, len);
  if (q && len) memcpy(q, p, len);
  return q;
}

char *gg_strndup(const gg_mem *mem, const char *s, size_t len) {
  char *q = gg_malloc(mem, len + 1);
  if (!q) return NULL;
  memcpy(q, s, len);
  q[len] = 0;
  return q;
}

char *gg_strdup(const gg_mem *mem, const char *s) { return gg_strndup(mem, s, strlen(s)); }
