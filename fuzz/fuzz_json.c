/*
 * Fuzz target: the in-situ JSON reader (src/base/json.c) against jansson (fuzz/json_diff.h):
 * both accept the same texts with the same content and refuse the same texts; skipping the
 * root value ends exactly where reading it does; number conversion stays close to strtod's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/json.h"
#include "json_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[256];
  if (!jd_compare((const char *)data, size, why, sizeof(why))) {
    fprintf(stderr, "fuzz_json: %s\n", why);
    abort();
  }
  /* read everything once for the verdict and the numbers, then skip the root value */
  char *copy = malloc(size + 1);
  if (size) memcpy(copy, data, size);
  gg_json r;
  gg_json_init(&r, copy, size);
  int t, ok;
  while ((t = gg_json_next(&r)) > 0) {
    if (t != GG_JSON_NUMBER || r.len >= 64) continue;
    char num[64];
    memcpy(num, r.str, r.len);
    num[r.len] = '\0';
    double d = strtod(num, NULL);
    uint64_t v = gg_json_number_u64(r.str, r.len);
    if (d < 1.0 && v > 1) abort();
    if (d >= 1.0 && d < 1e18) {
      double diff = (double)v - d, tol = d * 1e-12 + 1.0;
      if (diff > tol || diff < -tol) abort();
    }
    if (d >= 2e19 && v != UINT64_MAX) abort();
  }
  ok = t == GG_JSON_EOF;
  if (size) memcpy(copy, data, size);
  gg_json_init(&r, copy, size);
  t = gg_json_next(&r);
  int skipped = t >= 0 && gg_json_skip(&r, t) == 0 && gg_json_next(&r) == GG_JSON_EOF;
  if (skipped != ok) abort();
  free(copy);
  return 0;
}
