/*
 * Fuzz target: dependency resolution (src/market/resolve.c) on small universes the fuzzer
 * describes - up to 5 packages of up to 4 versions, dependencies and roots drawn from fixed
 * lists of versions and npm ranges, solve flags and package prerelease flags.
 * Checks, beyond "no crash, no leak":
 *  - soundness: every solution passes ggm_resolve_check against the universe;
 *  - completeness: when the solver says "unsatisfiable" (and no version is yanked), a brute
 *    force over every assignment finds none that passes ggm_resolve_check either, and the
 *    explanation names at least one package.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PKG[] = {"p0", "p1", "p2", "p3", "p4"};
static const char *const VER[] = {"1.0.0",      "1.1.0", "2.0.0",   "2.0.0-rc.1",
                                  "0.1.0",      "1.0.0+b", "1.2.0-beta", "3.0.0"};
static const char *const RNG[] = {"*",     "^1",         "~1.1",   ">=2.0.0-0", "1.0.0",
                                  "<1.0.0 || >=2", "2.x", ">=9", "^0.1", ">1.0.0 <2.0.0-rc.2",
                                  "^1.2.0-alpha", ""};
#define N(a) (sizeof(a) / sizeof *(a))

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;
static unsigned take(rd *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd in = {data, size};
  ggm_resolve_universe *u;
  if (ggm_resolve_universe_new(&u, NULL, NULL)) return 0;
  unsigned flags = take(&in) & 3u;
  int npk = 1 + (int)(take(&in) % N(PKG));
  const char *vers[N(PKG)][4];
  int nv[N(PKG)] = {0};
  int yanked = 0;
  for (int p = 0; p < npk; p++) {
    unsigned b = take(&in);
    if (b & 0x80) ggm_resolve_set_package_flags(u, PKG[p], GGM_RESOLVE_PKG_INCLUDE_PRERELEASE);
    int want = (int)(b % 5); /* 0..4 versions */
    for (int k = 0; k < want; k++) {
      unsigned vb = take(&in);
      const char *v = VER[vb % N(VER)];
      unsigned vf = (vb & 0x80) ? GGM_RESOLVE_YANKED : 0;
      uint32_t vid;
      if (ggm_resolve_add_version(u, PKG[p], v, vf, &vid) != GG_OK) continue;
      yanked |= vf != 0;
      vers[p][nv[p]++] = v;
      unsigned nd = take(&in) % 3;
      for (unsigned d = 0; d < nd; d++) {
        unsigned db = take(&in);
        ggm_resolve_add_dep(u, vid, PKG[db % N(PKG)], RNG[(db >> 3) % N(RNG)]);
      }
    }
  }
  ggm_resolve_req roots[3];
  size_t nroots = 1 + take(&in) % 3;
  for (size_t i = 0; i < nroots; i++) {
    unsigned rb = take(&in);
    roots[i].id = PKG[rb % N(PKG)];
    roots[i].range = RNG[(rb >> 3) % N(RNG)];
  }
  ggm_resolve_lock lock = {PKG[take(&in) % N(PKG)], VER[take(&in) % N(VER)]};
  ggm_resolve_opts o = {flags, &lock, 1};
  ggm_resolve_result *r = NULL;
  int rc = ggm_resolve_solve(u, roots, nroots, &o, &r);
  if (rc == GG_OK) {
    ggm_resolve_lock picks[N(PKG)];
    size_t n = ggm_resolve_result_count(r);
    if (n > N(PKG)) abort();
    for (size_t i = 0; i < n; i++)
      ggm_resolve_result_get(r, i, &picks[i].id, &picks[i].version, NULL);
    if (ggm_resolve_check(u, roots, nroots, picks, n, &o, NULL, 0) != GG_OK) abort();
  } else if (rc == GG_EUNSAT) {
    if (!ggm_resolve_result_explain(r) || !ggm_resolve_result_nconflicts(r)) abort();
    if (!yanked) {
      /* every assignment: each package absent or one of its versions */
      int idx[N(PKG)] = {0};
      for (;;) {
        ggm_resolve_lock a[N(PKG)];
        size_t na = 0;
        for (int p = 0; p < npk; p++)
          if (idx[p] < nv[p]) a[na++] = (ggm_resolve_lock){PKG[p], vers[p][idx[p]]};
        if (ggm_resolve_check(u, roots, nroots, a, na, &o, NULL, 0) == GG_OK) abort();
        int p = 0;
        while (p < npk && ++idx[p] > nv[p]) idx[p++] = 0;
        if (p == npk) break;
      }
    }
  } else if (rc != GG_ENOMEM) {
    abort();
  }
  ggm_resolve_result_free(r);
  ggm_resolve_universe_del(u);
  return 0;
}
