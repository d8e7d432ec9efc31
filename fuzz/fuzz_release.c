/*
 * Fuzz target: release record decoding (include/ggen/release.h). Any input must be refused
 * cleanly or decode into a record that verifies and re-encodes to exactly the input bytes
 * (the canonical-encoding invariant). The fuzzer's first byte also picks an allocation to
 * fail, so out-of-memory paths are explored; a failed decode must leave the record zeroed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct failmem {
  gg_mem mem;
  long left; /* allocations before failing; < 0 never */
} failmem;

static void *fm_malloc(size_t n, void *ud) {
  failmem *f = ud;
  if (f->left == 0) return NULL;
  if (f->left > 0) f->left--;
  return malloc(n);
}
static void fm_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *fm_calloc(size_t a, size_t b, void *ud) {
  failmem *f = ud;
  if (f->left == 0) return NULL;
  if (f->left > 0) f->left--;
  return calloc(a, b);
}
static void *fm_realloc(void *p, size_t n, void *ud) {
  failmem *f = ud;
  if (f->left == 0) return NULL;
  if (f->left > 0) f->left--;
  return realloc(p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  failmem fm = {{NULL, fm_malloc, fm_free, fm_calloc, fm_realloc}, -1};
  fm.mem.ud = &fm;
  /* 0..239: never fail; 240..255: fail the (b-240)th allocation */
  if (data[0] >= 240) fm.left = data[0] - 240;
  data++;
  size--;
  ggm_release r;
  int rv = ggm_release_decode(data, size, &r, &fm.mem);
  if (rv != GG_OK) {
    static const ggm_release zero;
    if (memcmp(&r, &zero, sizeof(r)) != 0) abort();
    if (rv != GG_EPARSE && rv != GG_ETOOBIG && rv != GG_EBADSIG && rv != GG_EBADKEY &&
        rv != GG_ENOMEM)
      abort();
    return 0;
  }
  fm.left = -1;
  if (ggm_release_verify(&r, &fm.mem) != GG_OK) abort();
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  if (ggm_release_encode(&r, &b, NULL) != GG_OK) abort();
  if (gg_buf_len(&b) != size || memcmp(gg_buf_ptr(&b), data, size) != 0) abort();
  gg_buf_free(&b);
  ggm_release_free(&r);
  return 0;
}
