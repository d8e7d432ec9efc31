/*
 * Benchmark of dependency resolution (src/market/resolve.c): the marketplace's resolution
 * suite - a shallow tree, a 10-level deep tree, 50 flat dependencies, and a 1000-package graph
 * whose newest versions conflict so the solver has to backtrack. Synthetic universes from a
 * fixed seed; the universe is built once per scenario (as the catalog would fill it) and
 * solved repeatedly. Prints the median solve time (target: <= 20 ms for 1000 packages) and
 * the median time to build the universe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/resolve.h"
#include "ggen/time.h"
#include "report.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64*: a fixed, reproducible sequence */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

typedef struct scenario {
  const char *name;
  ggm_resolve_universe *(*build)(ggm_resolve_req *reqs, size_t *nreqs);
} scenario;

static char names[2000][32];

static void must(int rc, const char *what) {
  if (rc != GG_OK) {
    fprintf(stderr, "bench_resolve: %s: %s\n", what, gg_strerror(rc));
    exit(1);
  }
}

static ggm_resolve_universe *new_universe(void) {
  ggm_resolve_universe *u;
  must(ggm_resolve_universe_new(&u, NULL, NULL), "universe");
  return u;
}

/* root -> 5 packages (10 versions each) -> 10 leaf packages (10 versions each) */
static ggm_resolve_universe *build_shallow(ggm_resolve_req *reqs, size_t *nreqs) {
  ggm_resolve_universe *u = new_universe();
  char v[32], r[32];
  for (int p = 0; p < 15; p++) snprintf(names[p], sizeof names[p], "io.ggen.shallow%d", p);
  for (int p = 0; p < 15; p++)
    for (int k = 0; k < 10; k++) {
      uint32_t vid;
      snprintf(v, sizeof v, "%d.%d.0", 1 + k / 5, k % 5);
      must(ggm_resolve_add_version(u, names[p], v, 0, &vid), "version");
      if (p < 5)
        for (int d = 0; d < 2; d++) {
          snprintf(r, sizeof r, "^%d.%d", 1 + k / 5, (k % 5) / 2);
          must(ggm_resolve_add_dep(u, vid, names[5 + (p * 2 + d) % 10], r), "dep");
        }
    }
  for (int p = 0; p < 5; p++) reqs[p] = (ggm_resolve_req){names[p], "*"};
  *nreqs = 5;
  return u;
}

/* 10 levels of 3 packages; every version depends on all 3 packages of the next level */
static ggm_resolve_universe *build_deep(ggm_resolve_req *reqs, size_t *nreqs) {
  ggm_resolve_universe *u = new_universe();
  char v[32], r[32];
  for (int p = 0; p < 33; p++) snprintf(names[p], sizeof names[p], "io.ggen.deep%d", p);
  for (int level = 0; level <= 10; level++)
    for (int i = 0; i < 3; i++) {
      int p = level * 3 + i;
      for (int k = 0; k < 6; k++) {
        uint32_t vid;
        snprintf(v, sizeof v, "%d.%d.0", 1 + k / 3, k % 3);
        must(ggm_resolve_add_version(u, names[p], v, 0, &vid), "version");
        if (level < 10)
          for (int d = 0; d < 3; d++) {
            snprintf(r, sizeof r, ">=%d.0.0 <%d.0.0", 1 + k / 3, 2 + k / 3);
            must(ggm_resolve_add_dep(u, vid, names[(level + 1) * 3 + d], r), "dep");
          }
      }
    }
  for (int i = 0; i < 3; i++) reqs[i] = (ggm_resolve_req){names[i], "*"};
  *nreqs = 3;
  return u;
}

/* 50 direct dependencies, 10 versions each */
static ggm_resolve_universe *build_flat(ggm_resolve_req *reqs, size_t *nreqs) {
  ggm_resolve_universe *u = new_universe();
  char v[32];
  for (int p = 0; p < 50; p++) {
    snprintf(names[p], sizeof names[p], "io.ggen.flat%d", p);
    for (int k = 0; k < 10; k++) {
      snprintf(v, sizeof v, "1.%d.%d", k / 3, k % 3);
      must(ggm_resolve_add_version(u, names[p], v, 0, NULL), "version");
    }
    reqs[p] = (ggm_resolve_req){names[p], "^1.0.0"};
  }
  *nreqs = 50;
  return u;
}

/* 1000 packages, versions 1.0.0 1.1.0 1.2.0 2.0.0 2.1.0 3.0.0; each version depends on three
 * packages further down (and, now and then, one further up: cycles). 1.x versions ask for
 * ^1 (so a solution always exists); newer versions ask for a random major of each
 * dependency, so the newest choices conflict and the solver backtracks. */
static ggm_resolve_universe *build_conflicts(ggm_resolve_req *reqs, size_t *nreqs) {
  ggm_resolve_universe *u = new_universe();
  static const char *const vers[] = {"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0", "3.0.0"};
  static const int major[] = {1, 1, 1, 2, 2, 3};
  rng_state = 0x9e3779b97f4a7c15ull;
  for (int p = 0; p < 1000; p++) snprintf(names[p], sizeof names[p], "io.ggen.pkg%03d", p);
  for (int p = 0; p < 1000; p++)
    for (int k = 0; k < 6; k++) {
      uint32_t vid;
      must(ggm_resolve_add_version(u, names[p], vers[k], 0, &vid), "version");
      for (int d = 0; d < 3 && p < 999; d++) {
        int span = 999 - p < 60 ? 999 - p : 60;
        int t = p + 1 + (int)(rnd() % (uint64_t)span);
        char r[16];
        int m = major[k] == 1 ? 1 : 1 + (int)(rnd() % 3);
        snprintf(r, sizeof r, "^%d", m);
        must(ggm_resolve_add_dep(u, vid, names[t], r), "dep");
      }
      if (p > 10 && rnd() % 50 == 0) /* a cycle back up the graph */
        must(ggm_resolve_add_dep(u, vid, names[rnd() % (uint64_t)p], "*"), "dep");
    }
  for (int i = 0; i < 20; i++) reqs[i] = (ggm_resolve_req){names[i * 7], "*"};
  *nreqs = 20;
  return u;
}

static const bench_usage usage = {"Dependency resolution (libsolv): shallow, 10-deep, 50 flat and "
                                  "a conflicting 1000-package graph.",
                                  NULL, "Median of 31 solves per scenario (--quick: 3)."};

int main(int argc, char **argv) {
  bench_report *rep = bench_report_new("resolve", &usage, argc, argv);
  int runs = bench_quick(rep) ? 3 : 31;
  const scenario sc[] = {
      {"shallow tree (15 packages)", build_shallow},
      {"deep tree (10 levels, 33 packages)", build_deep},
      {"50 flat dependencies", build_flat},
      {"1000-package graph with conflicts", build_conflicts},
  };
  double *t_solve = calloc((size_t)runs, sizeof *t_solve);
  double *t_build = calloc((size_t)runs, sizeof *t_build);
  double conflict_ms = 0;
  for (size_t s = 0; s < sizeof sc / sizeof *sc; s++) {
    ggm_resolve_req reqs[64];
    size_t nreqs = 0, picked = 0, nvers = 0, learned = 0;
    for (int k = 0; k < runs; k++) {
      gg_ts t0 = gg_clock_now();
      ggm_resolve_universe *u = sc[s].build(reqs, &nreqs);
      gg_ts t1 = gg_clock_now();
      ggm_resolve_result *res = NULL;
      int rc = ggm_resolve_solve(u, reqs, nreqs, NULL, &res);
      gg_ts t2 = gg_clock_now();
      if (rc != GG_OK) {
        fprintf(stderr, "bench_resolve: %s: %s\n%s", sc[s].name, gg_strerror(rc),
                res ? ggm_resolve_result_explain(res) : "");
        return 1;
      }
      picked = ggm_resolve_result_count(res);
      learned = ggm_resolve_result_conflicts_learned(res);
      nvers = ggm_resolve_universe_nversions(u);
      ggm_resolve_result_free(res);
      ggm_resolve_universe_del(u);
      t_build[k] = (double)(t1 - t0) / 1e6;
      t_solve[k] = (double)(t2 - t1) / 1e6;
    }
    bench_row *row = bench_row_add(rep, sc[s].name);
    bench_row_num(row, "versions", (double)nvers);
    bench_row_num(row, "chosen", (double)picked);
    bench_row_num(row, "conflicts", (double)learned);
    double med = bench_median(t_solve, (size_t)runs);
    bench_row_num(row, "solve ms (median)", med);
    bench_row_num(row, "solve ms (p90)", bench_percentile(t_solve, (size_t)runs, 90));
    bench_row_num(row, "build ms (median)", bench_median(t_build, (size_t)runs));
    if (s == 3) conflict_ms = med;
  }
  bench_note(rep, "target: 1000-package resolution <= 20 ms; measured median %.2f ms (%s)",
             conflict_ms, conflict_ms <= 20.0 ? "met" : "MISSED");
  bench_note(rep, "solve = libsolv pool + rules + SAT solve + result, from a built universe");
  free(t_solve);
  free(t_build);
  return bench_report_finish(rep);
}
