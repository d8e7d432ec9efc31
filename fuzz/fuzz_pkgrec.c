/*
 * Fuzz target: /ggen-pkg/ DHT records. The first byte splits the input into a key and one or
 * two values. Checked: a key that parses rebuilds to the same bytes with ggm_pkgrec_key; the
 * validator never accepts a value the release decoder refuses or one naming another package
 * or version; the selector's answer is in range and does not depend on the order.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/pkgrec.h"
#include "ggen/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t klen = data[0] % (size - 1);
  const uint8_t *key = data + 1, *val = data + 1 + klen;
  size_t vlen = size - 1 - klen;
  gg_slice id, ver;
  if (ggm_pkgrec_parse_key(key, klen, &id, &ver) == GG_OK) {
    char is[GGM_RELEASE_ID_MAX + 1], vs[GGM_RELEASE_VERSION_MAX + 1];
    memcpy(is, id.p, id.len);
    is[id.len] = 0;
    memcpy(vs, ver.p, ver.len);
    vs[ver.len] = 0;
    gg_buf b;
    gg_buf_init(&b, NULL, 1024);
    if (ggm_pkgrec_key(is, vs, &b) != GG_OK) abort();
    if (gg_buf_len(&b) != klen || memcmp(gg_buf_ptr(&b), key, klen) != 0) abort();
    gg_buf_free(&b);
  }
  if (ggm_pkgrec_validate(key, klen, val, vlen) == GG_OK) {
    ggm_release r;
    if (ggm_release_decode(val, vlen, &r, NULL) != GG_OK) abort();
    if (strlen(r.id) != id.len || memcmp(r.id, id.p, id.len) != 0) abort();
    ggm_release_free(&r);
  }
  size_t half = vlen / 2;
  gg_slice two[2] = {{val, half}, {val + half, vlen - half}};
  gg_slice rev[2] = {two[1], two[0]};
  size_t a = ggm_pkgrec_select(key, klen, two, 2), b = ggm_pkgrec_select(key, klen, rev, 2);
  if (a > 1 || b > 1) abort();
  /* order independence whenever at least one decodes (else index 0 by definition) */
  ggm_release r;
  int d0 = ggm_release_decode(two[0].p, two[0].len, &r, NULL) == GG_OK;
  ggm_release_free(&r);
  int d1 = ggm_release_decode(two[1].p, two[1].len, &r, NULL) == GG_OK;
  ggm_release_free(&r);
  if ((d0 || d1) &&
      (two[a].len != rev[b].len || (two[a].len && memcmp(two[a].p, rev[b].p, two[a].len) != 0)))
    abort();
  return 0;
}
