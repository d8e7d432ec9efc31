/*
 * Fuzz target: semver versions and npm ranges (src/market/semver.c).
 * Input: byte 0 = flags (bit 0 loose, bit 1 includePrerelease), then "VERSION\nRANGE".
 * Checks beyond "no crash, no leak":
 *  - a parsed version prints to a string that parses (loosely) to an equal version;
 *  - a parsed range's canonical form parses again, and its second print is a fixed point;
 *  - minVersion, when found, satisfies the range; a range is a subset of itself and, when it
 *    admits its minimum, intersects itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/semver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_range(const char *s, size_t n, unsigned flags, const ggm_semver *v) {
  ggm_semver_range *r;
  if (ggm_semver_range_parse(&r, s, n, flags, NULL) != GG_OK) return;
  /* The canonical form must parse again. It is not always a fixed point (node-semver's own
   * ">=00" loose prints ">=0.0.0-0", which then reads as "any"), but the second print is. */
  gg_buf f[3];
  for (int i = 0; i < 3; i++) gg_buf_init(&f[i], NULL, 1 << 22);
  if (ggm_semver_range_format(r, &f[0]) != GG_OK) abort();
  int ok = 1;
  for (int i = 1; i < 3 && ok; i++) {
    ggm_semver_range *r2;
    int rc = ggm_semver_range_parse(&r2, (const char *)gg_buf_ptr(&f[i - 1]), gg_buf_len(&f[i - 1]),
                                    flags, NULL);
    if (rc == GG_ELIMIT) {
      ok = 0;
      break;
    }
    if (rc != GG_OK) abort();
    if (ggm_semver_range_format(r2, &f[i]) != GG_OK) abort();
    ggm_semver_range_free(r2);
  }
  if (ok &&
      (gg_buf_len(&f[1]) != gg_buf_len(&f[2]) ||
       (gg_buf_len(&f[1]) && memcmp(gg_buf_ptr(&f[1]), gg_buf_ptr(&f[2]), gg_buf_len(&f[1])))))
    abort();
  for (int i = 0; i < 3; i++) gg_buf_free(&f[i]);
  ggm_semver m;
  if (ggm_semver_range_min_version(r, &m, NULL) == GG_OK) {
    if (!ggm_semver_range_test(r, &m)) abort();
    ggm_semver_free(&m);
  }
  if (ggm_semver_range_subset(r, r) != 1) abort();
  (void)ggm_semver_range_intersects(r, r);
  if (v) {
    (void)ggm_semver_range_test(r, v);
    (void)ggm_semver_range_outside(r, v, '<');
    (void)ggm_semver_range_outside(r, v, '>');
  }
  ggm_semver_range_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0] & 3u;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  const char *nl = memchr(s, '\n', n);
  size_t vlen = nl ? (size_t)(nl - s) : n;
  ggm_semver v;
  int have_v = ggm_semver_parse(&v, s, vlen, flags, NULL) == GG_OK;
  if (have_v) {
    char buf[GGM_SEMVER_MAX_LEN * 2 + 64];
    size_t k = ggm_semver_format(&v, 1, buf, sizeof buf);
    if (k >= sizeof buf) abort();
    ggm_semver w;
    if (k <= GGM_SEMVER_MAX_LEN) {
      if (ggm_semver_parse(&w, buf, k, GGM_SEMVER_LOOSE, NULL) != GG_OK) abort();
      if (ggm_semver_cmp(&v, &w) != 0 || ggm_semver_cmp_build(&v, &w) != 0) abort();
      ggm_semver_free(&w);
    }
    ggm_semver c;
    if (ggm_semver_copy(&c, &v, NULL) == GG_OK) {
      int rc = ggm_semver_inc(&c, GGM_SEMVER_PRERELEASE, "beta", 0, flags);
      if (rc == GG_OK && !ggm_semver_is_prerelease(&v) && ggm_semver_cmp(&c, &v) <= 0) abort();
      ggm_semver_free(&c);
    }
  }
  if (nl)
    check_range(nl + 1, n - vlen - 1, flags, have_v ? &v : NULL);
  else
    check_range(s, n, flags, NULL);
  if (have_v) ggm_semver_free(&v);
  return 0;
}
