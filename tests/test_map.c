/*
 * gg_map tests: against a simple reference (an array) under random inserts, replacements and
 * deletions, iteration visiting every entry once, and allocation failure.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/map.h"

#define N 5000

static void test_random_ops_match_reference(void **s) {
  (void)s;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, 1);
  gg_map m;
  gg_map_init(&m, &fm.mem, &r.r);
  static intptr_t ref[N]; /* 0 = absent, else value */
  memset(ref, 0, sizeof(ref));
  size_t live = 0;
  for (int step = 0; step < 200000; step++) {
    uint32_t k = (uint32_t)gg_rand_below(&r.r, N);
    char key[16];
    int kl = snprintf(key, sizeof(key), "k%u", k);
    switch (gg_rand_below(&r.r, 3)) {
    case 0:
    case 1: {
      intptr_t v = (intptr_t)gg_rand_below(&r.r, 1000000) + 1;
      void *old;
      assert_int_equal(gg_map_put(&m, key, (size_t)kl, (void *)v, &old), GG_OK);
      assert_true((intptr_t)old == ref[k]);
      if (!ref[k]) live++;
      ref[k] = v;
      break;
    }
    case 2: {
      void *v = gg_map_del(&m, key, (size_t)kl);
      assert_true((intptr_t)v == ref[k]);
      if (ref[k]) live--;
      ref[k] = 0;
      break;
    }
    }
    assert_int_equal(gg_map_count(&m), live);
  }
  for (uint32_t k = 0; k < N; k++) {
    char key[16];
    int kl = snprintf(key, sizeof(key), "k%u", k);
    assert_true((intptr_t)gg_map_get(&m, key, (size_t)kl) == ref[k]);
  }
  size_t it = 0, seen = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&m, &it))) {
    unsigned k;
    char tmp[16] = {0};
    memcpy(tmp, e->key, e->klen < 15 ? e->klen : 15);
    assert_int_equal(sscanf(tmp, "k%u", &k), 1);
    assert_true((intptr_t)e->val == ref[k]);
    seen++;
  }
  assert_int_equal(seen, live);
  /* delete everything: the table shrinks back */
  for (uint32_t k = 0; k < N; k++) {
    char key[16];
    int kl = snprintf(key, sizeof(key), "k%u", k);
    gg_map_del(&m, key, (size_t)kl);
  }
  assert_int_equal(gg_map_count(&m), 0);
  assert_true(m.cap <= 16);
  gg_map_free(&m);
  assert_int_equal(fm.live, 0);
}

static void test_nomem(void **s) {
  (void)s;
  for (long fail = 0; fail < 8; fail++) {
    gg_failmem fm;
    gg_failmem_init(&fm, fail);
    gg_map m;
    gg_map_init(&m, &fm.mem, gg_rand_system());
    int i, rv = GG_OK;
    for (i = 0; i < 100 && rv == GG_OK; i++) rv = gg_map_put(&m, &i, sizeof(i), &m, NULL);
    assert_int_equal(rv, GG_ENOMEM);
    /* everything inserted before the failure is still there */
    for (int j = 0; j < i - 1; j++) assert_ptr_equal(gg_map_get(&m, &j, sizeof(j)), &m);
    gg_map_free(&m);
    assert_int_equal(fm.live, 0);
  }
}

static void test_binary_keys(void **s) {
  (void)s;
  gg_map m;
  gg_map_init(&m, NULL, gg_rand_system());
  uint8_t a[3] = {0, 1, 2}, b[2] = {0, 1}, c[0];
  assert_int_equal(gg_map_put(&m, a, 3, a, NULL), GG_OK);
  assert_int_equal(gg_map_put(&m, b, 2, b, NULL), GG_OK);
  assert_int_equal(gg_map_put(&m, c, 0, c, NULL), GG_OK);
  assert_ptr_equal(gg_map_get(&m, a, 3), a);
  assert_ptr_equal(gg_map_get(&m, a, 2), b); /* prefix is a different key */
  assert_ptr_equal(gg_map_get(&m, c, 0), c);
  assert_null(gg_map_get(&m, a, 1));
  gg_map_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_ops_match_reference),
      cmocka_unit_test(test_nomem),
      cmocka_unit_test(test_binary_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
