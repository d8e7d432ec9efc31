/*
 * Tests for the base utilities: errors, allocator, gg_buf, varints, random sources.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/rand.h"
#include "ggen/varint.h"

static void test_err_classes(void **state) {
  (void)state;
  assert_string_equal(gg_errname(GG_EPROTO), "GG_EPROTO");
  assert_string_equal(gg_strerror(GG_ENOMEM), "out of memory");
  assert_true(gg_err_is_peer(GG_EPROTO));
  assert_true(gg_err_is_peer(GG_ETOOBIG));
  assert_false(gg_err_is_peer(GG_ENOMEM));
  assert_true(gg_err_is_fatal(GG_ENOMEM));
  assert_false(gg_err_is_fatal(GG_EAGAIN));
  assert_false(gg_err_is_fatal(GG_OK));
  assert_string_equal(gg_strerror(-9999), "unknown error");
}

static void test_buf_limit_and_fifo(void **state) {
  (void)state;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  gg_buf b;
  gg_buf_init(&b, &fm.mem, 100);
  uint8_t data[60];
  for (int i = 0; i < 60; i++) data[i] = (uint8_t)i;
  assert_int_equal(gg_buf_append(&b, data, 60), GG_OK);
  assert_int_equal(gg_buf_append(&b, data, 60), GG_ETOOBIG); /* over the cap: nothing added */
  assert_int_equal(gg_buf_len(&b), 60);
  gg_buf_consume(&b, 50);
  assert_int_equal(gg_buf_len(&b), 10);
  assert_int_equal(gg_buf_ptr(&b)[0], 50);
  assert_int_equal(gg_buf_append(&b, data, 60), GG_OK); /* room again after consuming */
  assert_int_equal(gg_buf_len(&b), 70);
  assert_int_equal(gg_buf_ptr(&b)[10], 0);
  gg_buf_truncate(&b, 80); /* longer than the buffer: nothing */
  assert_int_equal(gg_buf_len(&b), 70);
  gg_buf_truncate(&b, 12); /* keeps the front, after a consume too */
  assert_int_equal(gg_buf_len(&b), 12);
  assert_int_equal(gg_buf_ptr(&b)[11], 1);
  assert_int_equal(gg_buf_append(&b, data, 58), GG_OK);
  assert_int_equal(gg_buf_ptr(&b)[12], 0);
  size_t n;
  uint8_t *p = gg_buf_detach(&b, &n);
  assert_int_equal(n, 70);
  assert_int_equal(p[0], 50);
  gg_free(&fm.mem, p);
  gg_buf_free(&b);
  assert_int_equal(fm.live, 0);
}

static void test_buf_nomem(void **state) {
  (void)state;
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_buf b;
  gg_buf_init(&b, &fm.mem, SIZE_MAX);
  assert_int_equal(gg_buf_append(&b, "x", 1), GG_ENOMEM);
  assert_int_equal(gg_buf_len(&b), 0);
  gg_buf_free(&b);
  assert_int_equal(fm.live, 0);
}

static void test_varint_roundtrip(void **state) {
  (void)state;
  const uint64_t vals[] = {0, 1, 127, 128, 255, 300, 16384, 0xffffffffull, (1ull << 63) - 1};
  for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    uint8_t b[GG_VARINT_MAX];
    size_t n = gg_varint_encode(vals[i], b);
    assert_int_equal(n, gg_varint_len(vals[i]));
    uint64_t v;
    assert_int_equal(gg_varint_decode(b, n, &v), (int)n);
    assert_true(v == vals[i]);
    assert_int_equal(gg_varint_decode(b, n - 1, &v), n > 1 ? GG_EAGAIN : GG_EAGAIN);
  }
}

static void test_varint_spec_vectors(void **state) {
  (void)state;
  /* multiformats/unsigned-varint README examples */
  struct { uint64_t v; const char *hex; } ex[] = {
      {1, "01"}, {127, "7f"}, {128, "8001"}, {255, "ff01"}, {300, "ac02"}, {16384, "808001"}};
  for (unsigned i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
    size_t n;
    uint8_t *b = gg_test_unhex(ex[i].hex, &n);
    uint64_t v;
    assert_int_equal(gg_varint_decode(b, n, &v), (int)n);
    assert_true(v == ex[i].v);
    free(b);
  }
  uint64_t v;
  const uint8_t nonminimal[] = {0x81, 0x00};
  assert_int_equal(gg_varint_decode(nonminimal, 2, &v), GG_EPARSE);
  assert_int_equal(gg_varint_decode_u64(nonminimal, 2, &v), 2);
  const uint8_t toolong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  assert_int_equal(gg_varint_decode(toolong, 10, &v), GG_EPARSE);
  const uint8_t u64max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(gg_varint_decode_u64(u64max, 10, &v), 10);
  assert_true(v == UINT64_MAX);
  const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  assert_int_equal(gg_varint_decode_u64(overflow, 10, &v), GG_EPARSE);
}

static void test_rand_seeded_is_deterministic(void **state) {
  (void)state;
  gg_rand_seeded a, b;
  gg_rand_seeded_init(&a, 42);
  gg_rand_seeded_init(&b, 42);
  for (int i = 0; i < 100; i++) assert_true(gg_rand_u64(&a.r) == gg_rand_u64(&b.r));
  for (int i = 0; i < 1000; i++) assert_true(gg_rand_below(&a.r, 7) < 7);
  uint8_t x[33], y[33];
  gg_rand_system()->fill(NULL, x, sizeof(x));
  gg_rand_system()->fill(NULL, y, sizeof(y));
  assert_memory_not_equal(x, y, sizeof(x));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_classes),
      cmocka_unit_test(test_buf_limit_and_fifo),
      cmocka_unit_test(test_buf_nomem),
      cmocka_unit_test(test_varint_roundtrip),
      cmocka_unit_test(test_varint_spec_vectors),
      cmocka_unit_test(test_rand_seeded_is_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
