/*
 * Tests for peer reputation (include/ggen/peerrep.h): ggen's formula term by term, the
 * response-time EMA, weighted failures, persistence across reopening, ordering, and the cap
 * on rows.
 */
#include "gg_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/peerrep.h"

#define T0 1767225600

static void test_formula(void **state) {
  (void)state;
  ggs_peerrep_stats s = {.avg_ms = -1};
  ggs_peerrep_parts p;
  /* never asked: success rate 0.5 (Laplace), unknown speed and recency count 0 */
  assert_float_equal(ggs_peerrep_score(&s, T0, &p), 0.25, 1e-9);
  assert_float_equal(p.success_rate, 0.5, 1e-9);
  /* 8 successes, no failure, 99 ms average, 5 packages, seen an hour ago */
  s = (ggs_peerrep_stats){.successes = 8, .avg_ms = 99, .provided = 5, .last_seen = T0 - 3600};
  double want = 0.5 * (9.0 / 10.0) + 0.25 * (1000.0 / 100.0 > 1 ? 1 : 0) + 0.15 * 0.5 + 0.10 * 0.5;
  assert_float_equal(ggs_peerrep_score(&s, T0, &p), want, 1e-9);
  assert_float_equal(p.speed, 1.0, 1e-9);
  assert_float_equal(p.provided, 0.5, 1e-9);
  assert_float_equal(p.recency, 0.5, 1e-9);
  /* slow: 1999 ms gives half the speed term; never above 1 in total */
  s.avg_ms = 1999;
  ggs_peerrep_score(&s, T0, &p);
  assert_float_equal(p.speed, 0.5, 1e-9);
  s = (ggs_peerrep_stats){.successes = 1000000, .avg_ms = 0, .provided = 1000, .last_seen = T0};
  assert_true(ggs_peerrep_score(&s, T0, NULL) <= 1.0);
  assert_true(ggs_peerrep_score(&s, T0, NULL) > 0.99);
}

static void test_record_and_persist(void **state) {
  (void)state;
  char *dir = gg_test_mkdtemp();
  char *path = gg_home_path(dir, "peers.db");
  ggs_peerrep *r;
  assert_int_equal(ggs_peerrep_open(&r, path), GG_OK);
  ggs_peerrep_stats s;
  assert_int_equal(ggs_peerrep_get(r, "12D3KooWA", &s), GG_ENOTFOUND);
  assert_true(s.avg_ms < 0);
  ggs_peerrep_event ok = {.ok = 1, .ms = 100, .provided = 1, .bytes = 500, .now = T0};
  assert_int_equal(ggs_peerrep_record(r, "12D3KooWA", &ok), GG_OK);
  ok.ms = 200;
  ok.now = T0 + 10;
  assert_int_equal(ggs_peerrep_record(r, "12D3KooWA", &ok), GG_OK);
  ggs_peerrep_event bad = {.ok = 0, .weight = GGS_PEERREP_BAD_WEIGHT, .ms = -1, .now = T0 + 20};
  assert_int_equal(ggs_peerrep_record(r, "12D3KooWB", &bad), GG_OK);
  ggs_peerrep_event search = {.ok = 1, .ms = 10, .search = 1, .now = T0 + 30};
  assert_int_equal(ggs_peerrep_record(r, "12D3KooWC", &search), GG_OK);
  ggs_peerrep_close(r);

  assert_int_equal(ggs_peerrep_open(&r, path), GG_OK);
  assert_int_equal(ggs_peerrep_get(r, "12D3KooWA", &s), GG_OK);
  assert_int_equal(s.successes, 2);
  assert_int_equal(s.failures, 0);
  assert_int_equal(s.provided, 2);
  assert_int_equal(s.bytes, 1000);
  assert_float_equal(s.avg_ms, 0.3 * 200 + 0.7 * 100, 1e-9); /* EMA, alpha 0.3 */
  assert_int_equal(s.first_seen, T0);
  assert_int_equal(s.last_seen, T0 + 10);
  assert_int_equal(ggs_peerrep_get(r, "12D3KooWB", &s), GG_OK);
  assert_int_equal(s.failures, GGS_PEERREP_BAD_WEIGHT);
  assert_int_equal(s.last_seen, 0);
  assert_true(s.avg_ms < 0);
  assert_int_equal(ggs_peerrep_get(r, "12D3KooWC", &s), GG_OK);
  assert_int_equal(s.searches, 1);

  /* listing and ordering: A (good), C (one answer), unknown D (new), B (bad) */
  ggs_peerrep_stats *all;
  size_t n;
  assert_int_equal(ggs_peerrep_list(r, T0 + 60, &all, &n), GG_OK);
  assert_int_equal(n, 3);
  assert_string_equal(all[0].peer, "12D3KooWA");
  assert_string_equal(all[2].peer, "12D3KooWB");
  free(all);
  const char *peers[] = {"12D3KooWB", "12D3KooWD", "12D3KooWC", "12D3KooWA"};
  assert_int_equal(ggs_peerrep_order(r, T0 + 60, peers, 4), GG_OK);
  assert_string_equal(peers[0], "12D3KooWA");
  assert_string_equal(peers[1], "12D3KooWC");
  assert_string_equal(peers[2], "12D3KooWD");
  assert_string_equal(peers[3], "12D3KooWB");
  assert_int_equal(ggs_peerrep_record(r, NULL, &ok), GG_EINVAL);
  ggs_peerrep_close(r);
  free(path);
  gg_test_rmtree(dir);
  free(dir);
}

/* Rows beyond the cap go, least recently updated first. */
static void test_cap(void **state) {
  (void)state;
  char *dir = gg_test_mkdtemp();
  char *path = gg_home_path(dir, "peers.db");
  ggs_peerrep *r;
  assert_int_equal(ggs_peerrep_open(&r, path), GG_OK);
  char id[32];
  for (int i = 0; i < GGS_PEERREP_MAX_PEERS + 200; i++) {
    snprintf(id, sizeof id, "peer%d", i);
    ggs_peerrep_event ev = {.ok = 1, .ms = 1, .now = T0 + i};
    assert_int_equal(ggs_peerrep_record(r, id, &ev), GG_OK);
  }
  ggs_peerrep_stats *all, s;
  size_t n;
  assert_int_equal(ggs_peerrep_list(r, T0, &all, &n), GG_OK);
  assert_true(n <= GGS_PEERREP_MAX_PEERS + 64);
  free(all);
  assert_int_equal(ggs_peerrep_get(r, "peer0", &s), GG_ENOTFOUND);
  snprintf(id, sizeof id, "peer%d", GGS_PEERREP_MAX_PEERS + 199);
  assert_int_equal(ggs_peerrep_get(r, id, &s), GG_OK);
  ggs_peerrep_close(r);
  free(path);
  gg_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formula),
      cmocka_unit_test(test_record_and_persist),
      cmocka_unit_test(test_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
