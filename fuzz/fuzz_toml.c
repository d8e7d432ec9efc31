/*
 * Fuzz target: the TOML parser and writer (src/market/toml.c).
 *
 * Input layout: byte 0 picks the parse flags (bit 0: TOML 1.1, bit 1: legacy lists) and
 * whether allocations fail (bit 2); when they do, byte 1 is the number of allocations that
 * succeed first. The rest is the document.
 * Checks: no crash or sanitizer report; a failed parse leaves the out-pointer untouched and
 * gives a positioned message for malformed input; nothing leaks; a parsed document written
 * back parses (strict TOML 1.0) to an equal document, and writing that again gives the same
 * bytes; a clone is equal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cmem {
  gg_mem mem;
  long left; /* allocations that may still succeed; -1 = unlimited */
  long live;
} cmem;

static int take(cmem *m) {
  if (m->left == 0) return 0;
  if (m->left > 0) m->left--;
  return 1;
}
static void *c_malloc(size_t n, void *ud) {
  cmem *m = ud;
  if (!take(m)) return NULL;
  void *p = malloc(n);
  if (p) m->live++;
  return p;
}
static void c_free(void *p, void *ud) {
  cmem *m = ud;
  if (p) m->live--;
  free(p);
}
static void *c_calloc(size_t n, size_t s, void *ud) {
  cmem *m = ud;
  if (!take(m)) return NULL;
  void *p = calloc(n, s);
  if (p) m->live++;
  return p;
}
static void *c_realloc(void *p, size_t n, void *ud) {
  cmem *m = ud;
  if (!take(m)) return NULL;
  void *q = realloc(p, n);
  if (q && !p) m->live++;
  return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned flags = data[0] & 3;
  cmem m = {{NULL, c_malloc, c_free, c_calloc, c_realloc}, -1, 0};
  m.mem.ud = &m;
  if (data[0] & 4) m.left = data[1];
  data += 2;
  size -= 2;

  ggm_toml_opts opts = {1 << 20, 64, flags};
  ggm_toml_val *doc = (ggm_toml_val *)&m; /* sentinel: must stay untouched on failure */
  ggm_toml_error err;
  int rc = ggm_toml_parse(&doc, "f.toml", data, size, &opts, &m.mem, &err);
  if (rc != GG_OK) {
    if (doc != (ggm_toml_val *)&m) abort();
    if (rc == GG_EPARSE && (err.line == 0 || strncmp(err.msg, "f.toml:", 7))) abort();
    if (rc != GG_EPARSE && rc != GG_ENOMEM && rc != GG_ELIMIT) abort();
    if (m.live != 0) abort();
    return 0;
  }
  m.left = -1;

  gg_buf out, out2;
  gg_buf_init(&out, NULL, 16 << 20);
  gg_buf_init(&out2, NULL, 16 << 20);
  if (ggm_toml_write(&out, doc) != GG_OK) abort();
  ggm_toml_opts back_opts = {16 << 20, 64, 0};
  ggm_toml_val *back = NULL;
  if (ggm_toml_parse(&back, "w.toml", gg_buf_ptr(&out), gg_buf_len(&out), &back_opts, NULL, &err) !=
      GG_OK)
    abort();
  if (!ggm_toml_equal(doc, back)) abort();
  if (ggm_toml_write(&out2, back) != GG_OK) abort();
  if (gg_buf_len(&out) != gg_buf_len(&out2) ||
      (gg_buf_len(&out) && memcmp(gg_buf_ptr(&out), gg_buf_ptr(&out2), gg_buf_len(&out))))
    abort();
  ggm_toml_val *c = ggm_toml_clone(doc, NULL);
  if (!c || !ggm_toml_equal(c, doc)) abort();
  ggm_toml_free(c);
  ggm_toml_free(back);
  gg_buf_free(&out);
  gg_buf_free(&out2);
  ggm_toml_free(doc);
  if (m.live != 0) abort();
  return 0;
}
