/*
 * Catalog benchmark (issue 3, "Benchmarks"): registry loading and search on a synthetic
 * catalog (src/market/synth.c, Zipf vocabulary with very common terms), against the original
 * design's method in the same run (bench/support/catalog_baseline.c: JSON index in memory,
 * lower-case substring scan of every package per query).
 *
 *   import/N          import of a ggen marketplace index of N packages (packages/s)
 *   open/N            opening an existing N-package catalog
 *   search/N/class    p50/p99 over many queries: keyword, tag filter, fuzzy (1-2 typos),
 *                     combined filters, two words, very common term (in ~1/3 of packages)
 *                     with the baseline's p50 on the same queries and the speed-up
 *
 * Full run: import 10..100,000, search at 1,000, 100,000 and 1,000,000 (the 1M catalog is
 * built through the bulk API, popularity-sorted). --quick (CI): import up to 10,000, search
 * at 1,000 and 10,000, fewer queries.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/catalog_baseline.h"
#include "ggen/buf.h"
#include "ggen/catalog.h"
#include "ggen/err.h"
#include "ggen/rand.h"
#include "ggen/synth.h"
#include "ggen/time.h"
#include "report.h"

#define SEED 20260101u

static double ms_since(gg_ts t0) { return (double)(gg_clock_now() - t0) / 1e6; }

static void die(const char *what, int err) {
  fprintf(stderr, "bench_catalog: %s: %s\n", what, gg_strerror(err));
  exit(1);
}

static void rm_db(const char *path) {
  char p[700];
  remove(path);
  snprintf(p, sizeof(p), "%s-wal", path);
  remove(p);
  snprintf(p, sizeof(p), "%s-shm", path);
  remove(p);
}

/* ---- queries ------------------------------------------------------------------------------ */

enum { Q_KEYWORD, Q_TAG, Q_FUZZY, Q_COMBINED, Q_TWO, Q_COMMON, Q__N };
static const char *const class_name[Q__N] = {"keyword", "tag", "fuzzy", "combined", "two-words",
                                             "common-term"};

typedef struct query {
  char text[96];
  const char *tag;
  ggs_catalog_query q;
} query;

static const char *pick_word(ggm_synth *g, const gg_rand *r, size_t lo, size_t hi, size_t minlen) {
  for (;;) {
    const char *w = ggm_synth_word(g, lo + gg_rand_below(r, hi - lo));
    if (strlen(w) >= minlen) return w;
  }
}

/* One or two typos: an adjacent transposition, then maybe a substitution. */
static void typo(char *w, const gg_rand *r) {
  size_t n = strlen(w);
  size_t i = 1 + gg_rand_below(r, n - 2);
  char c = w[i];
  w[i] = w[i + 1];
  w[i + 1] = c;
  if (gg_rand_below(r, 2)) {
    size_t j = gg_rand_below(r, n);
    w[j] = (char)('a' + (w[j] - 'a' + 1 + gg_rand_below(r, 24)) % 26);
  }
}

static void make_queries(ggm_synth *g, size_t npk, query *qs, size_t n, int cls, uint64_t seed) {
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, seed * 131 + (uint64_t)cls);
  const gg_rand *r = &rs.r;
  /* the "very common" words: in 25-45% of descriptions */
  size_t common[8], nc = 0;
  for (size_t k = 0; k < 200 && nc < 8; k++) {
    double s = ggm_synth_word_share(g, k);
    if (s >= 0.25 && s <= 0.45) common[nc++] = k;
  }
  for (size_t i = 0; i < n; i++) {
    query *x = &qs[i];
    memset(x, 0, sizeof(*x));
    ggm_synth_pkg p;
    ggm_synth_package(g, gg_rand_below(r, npk), &p);
    x->tag = p.tags[0]; /* a tag that exists */
    switch (cls) {
    case Q_KEYWORD:
    case Q_TAG:
    case Q_COMBINED: snprintf(x->text, sizeof(x->text), "%s", pick_word(g, r, 5, 2000, 3)); break;
    case Q_FUZZY:
      snprintf(x->text, sizeof(x->text), "%s", pick_word(g, r, 5, 3000, 7));
      typo(x->text, r);
      break;
    case Q_TWO:
      snprintf(x->text, sizeof(x->text), "%s %s", pick_word(g, r, 5, 2000, 3),
               pick_word(g, r, 5, 2000, 3));
      break;
    case Q_COMMON: snprintf(x->text, sizeof(x->text), "%s", ggm_synth_word(g, common[i % nc])); break;
    }
    x->q.text = x->text;
    x->q.limit = 20;
    if (cls == Q_TAG || cls == Q_COMBINED) {
      x->q.tags = &x->tag;
      x->q.n_tags = 1;
    }
    if (cls == Q_COMBINED) {
      x->q.license = "MIT";
      x->q.min_stars = 1;
    }
  }
}

/* ---- catalogs -------------------------------------------------------------------------------- */

typedef struct popkey {
  size_t i;
  uint64_t d, s;
} popkey;

static int popcmp(const void *a, const void *b) {
  const popkey *x = a, *y = b;
  double px = fmin(10.0, (double)x->d / 1000.0) + fmin(5.0, (double)x->s / 10.0);
  double py = fmin(10.0, (double)y->d / 1000.0) + fmin(5.0, (double)y->s / 10.0);
  if (px != py) return px < py ? 1 : -1;
  if (x->d != y->d) return x->d < y->d ? 1 : -1;
  return (x->i > y->i) - (x->i < y->i);
}

/* Builds an n-package catalog through the bulk API, in popularity order (as the importer
 * does), for sizes whose JSON index would not fit comfortably in memory. */
static double build_bulk(const char *path, ggm_synth *g, size_t n) {
  rm_db(path);
  ggs_catalog *cat;
  int err = ggs_catalog_open(&cat, path, GGS_CATALOG_CREATE, NULL);
  if (err) die("open", err);
  gg_ts t0 = gg_clock_now();
  popkey *k = malloc(n * sizeof(*k));
  for (size_t i = 0; i < n; i++) {
    ggm_synth_pkg p;
    ggm_synth_package(g, i, &p);
    k[i] = (popkey){i, p.downloads, p.stars};
  }
  qsort(k, n, sizeof(*k), popcmp);
  if ((err = ggs_catalog_begin(cat, n))) die("begin", err);
  for (size_t j = 0; j < n; j++) {
    ggm_synth_pkg p;
    ggm_synth_package(g, k[j].i, &p);
    ggs_catalog_pkg pk = {.id = p.id,
                          .description = p.description,
                          .license = p.license,
                          .category = p.category,
                          .authors = &p.author,
                          .n_authors = 1,
                          .tags = p.tags,
                          .n_tags = p.n_tags,
                          .keywords = p.keywords,
                          .n_keywords = p.n_keywords,
                          .downloads = p.downloads,
                          .stars = p.stars};
    if ((err = ggs_catalog_put_package(cat, &pk))) die("put", err);
    ggs_catalog_dep deps[4];
    for (size_t d = 0; d < p.n_deps; d++) deps[d] = (ggs_catalog_dep){p.deps[d], "*"};
    ggs_catalog_version v = {.version = p.version, .deps = deps, .n_deps = p.n_deps};
    if ((err = ggs_catalog_put_version(cat, p.id, &v))) die("put version", err);
  }
  if ((err = ggs_catalog_commit(cat))) die(ggs_catalog_errmsg(cat), err);
  double ms = ms_since(t0);
  free(k);
  ggs_catalog_close(cat);
  return ms;
}

/* ---- main -------------------------------------------------------------------------------------- */

static const bench_usage usage = {
    "Catalog import, open and search on a synthetic catalog, against the original design's JSON "
    "scan.",
    NULL,
    "Full run: import 10..100,000 packages, search at 1,000, 100,000 and 1,000,000 (minutes).\n"
    "--quick: import up to 10,000, search at 1,000 and 10,000. Work files under $TMPDIR."};

int main(int argc, char **argv) {
  bench_report *r = bench_report_new("catalog", &usage, argc, argv);
  int quick = bench_quick(r);
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/ggbench-catalog-XXXXXX", tmp);
  if (mkdtemp(dir) == NULL) die("mkdtemp", GG_EIO);

  size_t big = quick ? 10000 : 100000, huge = 1000000;
  ggm_synth *g;
  ggm_synth_settings ss = {.seed = SEED, .packages = quick ? big : huge};
  int err = ggm_synth_new(&g, &ss, NULL);
  if (err) die("synth", err);

  /* ---- registry loading ---- */
  const size_t import_sizes[] = {10, 100, 1000, big};
  char path[600], bigpath[600] = "", smallpath[600] = "";
  gg_buf json;
  gg_buf_init(&json, NULL, SIZE_MAX);
  for (size_t s = 0; s < 4; s++) {
    size_t n = import_sizes[s], reps = n <= 1000 ? (quick ? 3 : 9) : 1;
    gg_buf_reset(&json);
    if ((err = ggm_synth_json(g, 0, n, &json))) die("json", err);
    double t[9];
    size_t imported = 0;
    for (size_t k = 0; k < reps; k++) {
      snprintf(path, sizeof(path), "%s/import-%zu.db", dir, n);
      rm_db(path);
      ggs_catalog *cat;
      if ((err = ggs_catalog_open(&cat, path, GGS_CATALOG_CREATE, NULL))) die("open", err);
      ggs_catalog_import_stats st;
      gg_ts t0 = gg_clock_now();
      err = ggs_catalog_import_json_buf(cat, (const char *)gg_buf_ptr(&json), gg_buf_len(&json), &st);
      t[k] = ms_since(t0);
      if (err) die(ggs_catalog_errmsg(cat), err);
      imported = st.packages;
      ggs_catalog_close(cat);
    }
    double ms = bench_median(t, reps);
    char name[64];
    snprintf(name, sizeof(name), "import/%zu", n);
    bench_row *row = bench_row_add(r, name);
    bench_row_num(row, "packages", (double)imported);
    bench_row_num(row, "ms", ms);
    bench_row_num(row, "packages/s", (double)imported / (ms / 1000.0));
    bench_row_num(row, "MB json", (double)gg_buf_len(&json) / 1e6);
    if (n == big) bench_row_num(row, "target packages/s", 50000);
    if (n == big) snprintf(bigpath, sizeof(bigpath), "%s", path);
    if (n == 1000) snprintf(smallpath, sizeof(smallpath), "%s", path);
  }

  /* ---- opening an existing catalog ---- */
  {
    double t[21];
    for (int k = 0; k < 21; k++) {
      ggs_catalog *cat;
      gg_ts t0 = gg_clock_now();
      if ((err = ggs_catalog_open(&cat, bigpath, 0, NULL))) die("open", err);
      t[k] = ms_since(t0);
      ggs_catalog_close(cat);
    }
    char name[64];
    snprintf(name, sizeof(name), "open/%zu", big);
    bench_row *row = bench_row_add(r, name);
    bench_row_num(row, "p50 ms", bench_median(t, 21));
    bench_row_num(row, "max ms", bench_percentile(t, 21, 100));
    bench_row_num(row, "target ms", 10);
  }

  /* ---- search ---- */
  size_t search_sizes[3] = {1000, big, huge};
  size_t nsizes = quick ? 2 : 3;
  size_t nq = quick ? 40 : 300;
  for (size_t si = 0; si < nsizes; si++) {
    size_t n = search_sizes[si];
    const char *cpath = n == 1000 ? smallpath : bigpath;
    if (n == huge) {
      snprintf(path, sizeof(path), "%s/bulk-%zu.db", dir, n);
      double ms = build_bulk(path, g, n);
      bench_note(r, "the %zu-package catalog was built through the bulk API in %.1f s", n, ms / 1000);
      cpath = path;
    }
    baseline bl = {0};
    double load_ms = NAN;
    if (n <= big) {
      gg_buf_reset(&json);
      if ((err = ggm_synth_json(g, 0, n, &json))) die("json", err);
      gg_ts t0 = gg_clock_now();
      baseline_load_json(&bl, (const char *)gg_buf_ptr(&json), gg_buf_len(&json));
      load_ms = ms_since(t0);
    } else {
      baseline_from_synth(&bl, g, n);
    }
    ggs_catalog *cat;
    if ((err = ggs_catalog_open(&cat, cpath, GGS_CATALOG_READONLY, NULL))) die("open", err);
    size_t nbl = n >= huge ? 5 : (quick ? 10 : 40);
    for (int cls = 0; cls < Q__N; cls++) {
      query *qs = malloc(nq * sizeof(*qs));
      make_queries(g, n, qs, nq, cls, SEED + n);
      double *t = malloc(nq * sizeof(*t)), hits = 0, cands = 0;
      for (size_t i = 0; i < nq; i++) { /* warm-up pass over the same queries */
        ggs_catalog_results *res;
        if ((err = ggs_catalog_search(cat, &qs[i].q, &res))) die("search", err);
        ggs_catalog_results_free(res);
      }
      for (size_t i = 0; i < nq; i++) {
        ggs_catalog_results *res;
        gg_ts t0 = gg_clock_now();
        if ((err = ggs_catalog_search(cat, &qs[i].q, &res))) die("search", err);
        t[i] = ms_since(t0);
        hits += (double)res->n;
        cands += (double)res->candidates;
        ggs_catalog_results_free(res);
      }
      /* baseline on the first queries, and how often both agree on the top results */
      double *bt = malloc(nbl * sizeof(*bt)), agree = 0, total = 0;
      for (size_t i = 0; i < nbl; i++) {
        const char *ids[20];
        gg_ts t0 = gg_clock_now();
        long nb = baseline_search(&bl, &qs[i].q, ids, 20);
        bt[i] = ms_since(t0);
        ggs_catalog_results *res;
        if ((err = ggs_catalog_search(cat, &qs[i].q, &res))) die("search", err);
        for (long b = 0; b < nb && b < 10; b++) {
          total++;
          for (size_t c = 0; c < res->n && c < 10; c++)
            if (!strcmp(res->hits[c].id, ids[b])) {
              agree++;
              break;
            }
        }
        ggs_catalog_results_free(res);
      }
      char name[64];
      snprintf(name, sizeof(name), "search/%zu/%s", n, class_name[cls]);
      bench_row *row = bench_row_add(r, name);
      double p50 = bench_median(t, nq), p99 = bench_percentile(t, nq, 99);
      double bp50 = bench_median(bt, nbl);
      bench_row_num(row, "p50 ms", p50);
      bench_row_num(row, "p99 ms", p99);
      bench_row_num(row, "target p99 ms", n >= huge ? 20 : (n >= 100000 ? 5 : NAN));
      bench_row_num(row, "results", hits / (double)nq);
      bench_row_num(row, "candidates", cands / (double)nq);
      bench_row_num(row, "baseline p50 ms", bp50);
      bench_row_num(row, "speedup", bp50 / p50);
      bench_row_num(row, "top10 shared w/ baseline", total > 0 ? agree / total : NAN);
      free(qs);
      free(t);
      free(bt);
    }
    if (!isnan(load_ms)) {
      char name[64];
      snprintf(name, sizeof(name), "baseline-load/%zu", n);
      bench_row_num(bench_row_add(r, name), "ms", load_ms);
    }
    ggs_catalog_close(cat);
    baseline_free(&bl);
  }
  bench_note(r, "search: %zu queries per class (after one warm-up pass), limit 20; baseline: "
                "ggen's full scan on the first %s of them",
             nq, quick ? "10" : "40 (5 at 1M)");
  bench_note(r, "top10 shared: share of the baseline's top 10 also in the catalog's top 10 "
                "(they differ where ggen matches substrings inside words, docs/catalog.md)");
  gg_buf_free(&json);
  ggm_synth_del(g);
  char cmd[700];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "bench_catalog: could not remove %s\n", dir);
  return bench_report_finish(r);
}
