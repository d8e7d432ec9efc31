/*
 * gg_buf: a growable byte buffer with a hard size cap set at creation
 * (curl's curlx_dyn_init(s, toobig)), used wherever bytes queue up: network input and
 * output, message assembly. It is also a FIFO: gg_buf_consume() drops bytes from the
 * front in O(1) and the space is reclaimed on the next growth.
 *
 * Invariant: data[off .. off+len) are the live bytes; off + len <= alloc; len <= limit.
 */
#ifndef GGEN_BUF_H
#define GGEN_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"

/* A borrowed byte range (pointer + length), for passing lists of byte strings. */
typedef struct gg_slice {
  const uint8_t *p;
  size_t len;
} gg_slice;

typedef struct gg_buf {
  uint8_t *data;
  size_t off;   /* start of live bytes */
  size_t len;   /* number of live bytes */
  size_t alloc; /* bytes allocated at data */
  size_t limit; /* live bytes may never exceed this */
  const gg_mem *mem;
} gg_buf;

/* Initialises an empty buffer that may hold at most limit bytes. Allocates nothing. */
void gg_buf_init(gg_buf *b, const gg_mem *mem, size_t limit);

/* Frees the storage; the buffer is empty and reusable afterwards. */
void gg_buf_free(gg_buf *b);

/* Pointer to the first live byte (may be NULL when empty) and the live length. */
static inline uint8_t *gg_buf_ptr(const gg_buf *b) { return b->data ? b->data + b->off : NULL; }
static inline size_t gg_buf_len(const gg_buf *b) { return b->len; }

/* Makes room for n more bytes. GG_ETOOBIG if len + n > limit, GG_ENOMEM. */
int gg_buf_reserve(gg_buf *b, size_t n);

/* Appends n bytes. GG_ETOOBIG (nothing appended) or GG_ENOMEM. */
int gg_buf_append(gg_buf *b, const void *p, size_t n);

/* Appends one byte / an unsigned varint / a NUL-terminated string (without the NUL). */
int gg_buf_append_byte(gg_buf *b, uint8_t c);
int gg_buf_append_varint(gg_buf *b, uint64_t v);
int gg_buf_append_str(gg_buf *b, const char *s);

/* Returns a pointer where n bytes may be written, then gg_buf_commit(b, n) makes them live. */
uint8_t *gg_buf_tail(gg_buf *b, size_t n);
void gg_buf_commit(gg_buf *b, size_t n);

/* Drops n bytes from the front (n <= len). */
void gg_buf_consume(gg_buf *b, size_t n);

/* Drops all live bytes, keeps the allocation. */
void gg_buf_reset(gg_buf *b);

/* Keeps only the first n live bytes (n <= len), keeps the allocation. */
void gg_buf_truncate(gg_buf *b, size_t n);

/* Hands the live bytes to the caller as one allocation from b->mem (free with gg_free);
 * the buffer becomes empty. *len gets the length. NULL with GG_ENOMEM semantics on failure. */
uint8_t *gg_buf_detach(gg_buf *b, size_t *len);

#endif
