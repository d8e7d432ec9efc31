/*
 * Fuzz target: the multistream-select core (src/proto/mss.c) fed arbitrary bytes.
 *
 * Input layout: byte 0 picks the role and options (bit 0 dialer, bit 1 lazy, bit 2 answer
 * "ls", bits 3-7 the chunk size the input is cut into), byte 1 the allocation after which
 * every allocation fails (0xff = never); the rest is what the remote sends. Checks: recv never
 * consumes more than it was given, reports agreement consistently, and nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/mss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  gg_mem mem;
  long left, live;
} failmem;

static void *fm_malloc(size_t n, void *ud) {
  failmem *f = ud;
  if (f->left == 0) return NULL;
  if (f->left > 0) f->left--;
  void *p = malloc(n ? n : 1);
  if (p) f->live++;
  return p;
}
static void fm_free(void *p, void *ud) {
  failmem *f = ud;
  if (p) f->live--;
  free(p);
}
static void *fm_calloc(size_t n, size_t m, void *ud) {
  void *p = fm_malloc(n * m, ud);
  if (p) memset(p, 0, n * m);
  return p;
}
static void *fm_realloc(void *p, size_t n, void *ud) {
  failmem *f = ud;
  if (!p) return fm_malloc(n, ud);
  if (f->left == 0) return NULL;
  return realloc(p, n);
}

static int match(const char *name, size_t len, void *ud) {
  (void)ud;
  return len >= 5 && memcmp(name, "/ggen", 5) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  static const char *const protos[] = {"/noise", "/yamux/1.0.0", "/ipfs/id/1.0.0"};
  failmem fm = {
      {NULL, fm_malloc, fm_free, fm_calloc, fm_realloc}, data[1] == 0xff ? -1 : data[1], 0};
  fm.mem.ud = &fm;
  ggp_mss_settings st = {.dialer = data[0] & 1,
                         .lazy = (data[0] & 3) == 3,
                         .answer_ls = (data[0] >> 2) & 1,
                         .protocols = protos,
                         .nprotocols = (data[0] & 3) == 3 ? 1 : 3};
  ggp_mss_callbacks cb = {.match = (data[0] & 0x08) ? match : NULL};
  size_t chunk = (size_t)(data[0] >> 3) + 1;
  data += 2;
  size -= 2;
  ggp_mss *s;
  if (ggp_mss_new(&s, &cb, &st, &fm.mem, NULL) != GG_OK) goto out;
  gg_buf out;
  gg_buf_init(&out, &fm.mem, 1 << 16);
  int rv = ggp_mss_start(s, &out);
  size_t pos = 0;
  while (rv == GG_OK || rv == GG_EAGAIN) {
    if (ggp_mss_done(s) || pos == size) break;
    size_t n = size - pos < chunk ? size - pos : chunk, used = (size_t)-1;
    rv = ggp_mss_recv(s, data + pos, n, &used, &out);
    if (used > n) abort();
    if (rv == GG_EAGAIN && used != n) abort();
    if (rv == GG_OK && (!ggp_mss_done(s) || !ggp_mss_protocol(s, NULL))) abort();
    pos += used;
    gg_buf_reset(&out);
  }
  if (!ggp_mss_done(s) && ggp_mss_protocol(s, NULL)) abort();
  gg_buf_free(&out);
  ggp_mss_del(s);
out:
  if (fm.live != 0) abort();
  return 0;
}
