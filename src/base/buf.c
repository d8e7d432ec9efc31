/*
 * Growable, capped byte buffer (include/ggen/buf.h).
 * Growth doubles the allocation; consumed space at the front is reclaimed by moving the
 * live bytes down when that avoids a reallocation.
 */
#include "ggen/buf.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/varint.h"

void gg_buf_init(gg_buf *b, const gg_mem *mem, size_t limit) {
  memset(b, 0, sizeof(*b));
  b->mem = mem;
  b->limit = limit;
}

void gg_buf_free(gg_buf *b) {
  gg_free(b->mem, b->data);
  b->data = NULL;
  b->off = b->len = b->alloc = 0;
}

int gg_buf_reserve(gg_buf *b, size_t n) {
  if (n > b->limit || b->len > b->limit - n) return GG_ETOOBIG;
  size_t need = b->len + n;
  if (b->off + need <= b->alloc) return GG_OK;
  if (need <= b->alloc && b->off >= b->len) { /* cheap compaction */
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
    return GG_OK;
  }
  size_t na = b->alloc ? b->alloc : 64;
  while (na < need) na = na > SIZE_MAX / 2 ? need : na * 2;
  if (na > b->limit) na = b->limit; /* need <= limit, so na still >= need */
  uint8_t *nd = gg_malloc(b->mem, na);
  if (!nd) return GG_ENOMEM;
  if (b->len) memcpy(nd, b->data + b->off, b->len);
  gg_free(b->mem, b->data);
  b->data = nd;
  b->alloc = na;
  b->off = 0;
  return GG_OK;
}

int gg_buf_append(gg_buf *b, const void *p, size_t n) {
  if (n == 0) return GG_OK;
  int rv = gg_buf_reserve(b, n);
  if (rv) return rv;
  memcpy(b->data + b->off + b->len, p, n);
  b->len += n;
  return GG_OK;
}

int gg_buf_append_byte(gg_buf *b, uint8_t c) { return gg_buf_append(b, &c, 1); }

int gg_buf_append_varint(gg_buf *b, uint64_t v) {
  uint8_t tmp[GG_VARINT_MAX];
  return gg_buf_append(b, tmp, gg_varint_encode(v, tmp));
}

int gg_buf_append_str(gg_buf *b, const char *s) { return gg_buf_append(b, s, strlen(s)); }

uint8_t *gg_buf_tail(gg_buf *b, size_t n) {
  if (gg_buf_reserve(b, n)) return NULL;
  return b->data + b->off + b->len;
}

void gg_buf_commit(gg_buf *b, size_t n) { b->len += n; }

void gg_buf_consume(gg_buf *b, size_t n) {
  if (n >= b->len) {
    b->off = b->len = 0;
    return;
  }
  b->off += n;
  b->len -= n;
}

void gg_buf_reset(gg_buf *b) { b->off = b->len = 0; }

void gg_buf_truncate(gg_buf *b, size_t n) {
  if (n < b->len) b->len = n;
}

uint8_t *gg_buf_detach(gg_buf *b, size_t *len) {
  uint8_t *p;
  if (b->off == 0 && b->data) {
    p = b->data;
  } else {
    p = gg_memdup(b->mem, gg_buf_ptr(b), b->len);
    if (!p) return NULL;
    gg_free(b->mem, b->data);
  }
  *len = b->len;
  b->data = NULL;
  b->off = b->len = b->alloc = 0;
  return p;
}
