/*
 * Tests for the length-prefixed message reader (include/ggen/lpm.h): whole and split input,
 * prefixes split across reads, empty messages, the cap checked on the prefix, malformed
 * prefixes, sticky errors, allocation failure, memory release after large messages, and a
 * randomised comparison of arbitrary chunkings against the one-piece reading.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/lpm.h"
#include "ggen/rand.h"

static void test_one_piece_is_zero_copy(void **state) {
  (void)state;
  gg_lpm r;
  gg_lpm_init(&r, NULL, 100);
  static const uint8_t in[] = {3, 'a', 'b', 'c', 0, 2, 'x', 'y', 1};
  size_t used, mlen;
  const uint8_t *msg;
  assert_true(gg_lpm_idle(&r));
  assert_int_equal(gg_lpm_read(&r, in, sizeof(in), &used, &msg, &mlen), GG_OK);
  assert_int_equal(used, 4);
  assert_ptr_equal(msg, in + 1); /* in place */
  assert_int_equal(mlen, 3);
  assert_true(gg_lpm_idle(&r));
  /* the empty message */
  assert_int_equal(gg_lpm_read(&r, in + 4, sizeof(in) - 4, &used, &msg, &mlen), GG_OK);
  assert_int_equal(used, 1);
  assert_int_equal(mlen, 0);
  assert_int_equal(gg_lpm_read(&r, in + 5, sizeof(in) - 5, &used, &msg, &mlen), GG_OK);
  assert_int_equal(used, 3);
  assert_memory_equal(msg, "xy", 2);
  /* the last byte starts a message that does not finish */
  assert_int_equal(gg_lpm_read(&r, in + 8, 1, &used, &msg, &mlen), GG_EAGAIN);
  assert_int_equal(used, 1);
  assert_false(gg_lpm_idle(&r));     /* a stream ending here ended mid-message */
  assert_int_equal(r.body.alloc, 0); /* nothing was copied so far */
  gg_lpm_free(&r);
}

static void test_split_prefix_and_body(void **state) {
  (void)state;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  gg_lpm r;
  gg_lpm_init(&r, &fm.mem, 1000);
  uint8_t in[2 + 300];
  in[0] = 0xac; /* 300 = ac 02 */
  in[1] = 0x02;
  for (int i = 0; i < 300; i++) in[2 + i] = (uint8_t)i;
  size_t used, mlen;
  const uint8_t *msg;
  for (size_t i = 0; i < sizeof(in); i++) {
    int rc = gg_lpm_read(&r, in + i, 1, &used, &msg, &mlen);
    assert_int_equal(used, 1);
    if (i + 1 < sizeof(in)) {
      assert_int_equal(rc, GG_EAGAIN);
      assert_false(gg_lpm_idle(&r));
    } else {
      assert_int_equal(rc, GG_OK);
      assert_int_equal(mlen, 300);
      assert_memory_equal(msg, in + 2, 300);
    }
  }
  /* the next call releases nothing small, and reading nothing is fine */
  assert_int_equal(gg_lpm_read(&r, in, 0, &used, &msg, &mlen), GG_EAGAIN);
  assert_int_equal(used, 0);
  assert_true(gg_lpm_idle(&r));
  gg_lpm_free(&r);
  assert_int_equal(fm.live, 0);
}

static void test_cap_and_bad_prefix(void **state) {
  (void)state;
  gg_lpm r;
  size_t used, mlen;
  const uint8_t *msg;
  /* 101 > max: refused on the prefix, before any body byte */
  gg_lpm_init(&r, NULL, 100);
  static const uint8_t big[] = {101, 'a'};
  assert_int_equal(gg_lpm_read(&r, big, 2, &used, &msg, &mlen), GG_ETOOBIG);
  assert_int_equal(used, 1);
  assert_int_equal(gg_lpm_read(&r, big + 1, 1, &used, &msg, &mlen), GG_ETOOBIG); /* sticky */
  assert_int_equal(used, 0);
  gg_lpm_free(&r);
  /* exactly max is fine */
  gg_lpm_init(&r, NULL, 1);
  static const uint8_t one[] = {1, 'z'};
  assert_int_equal(gg_lpm_read(&r, one, 2, &used, &msg, &mlen), GG_OK);
  gg_lpm_free(&r);
  /* a non-minimal prefix */
  gg_lpm_init(&r, NULL, 100);
  static const uint8_t nonmin[] = {0x81, 0x00};
  assert_int_equal(gg_lpm_read(&r, nonmin, 2, &used, &msg, &mlen), GG_EPROTO);
  gg_lpm_free(&r);
  /* a prefix that would need a tenth byte, fed one byte at a time */
  gg_lpm_init(&r, NULL, SIZE_MAX);
  static const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  int rc = GG_EAGAIN;
  size_t k = 0;
  while (rc == GG_EAGAIN && k < sizeof(ten)) rc = gg_lpm_read(&r, ten + k++, 1, &used, &msg, &mlen);
  assert_int_equal(rc, GG_EPROTO);
  assert_int_equal(k, 9);
  gg_lpm_free(&r);
  /* a 2^62 announcement with a huge cap: no allocation happens up front */
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_lpm_init(&r, &fm.mem, SIZE_MAX);
  static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40};
  assert_int_equal(gg_lpm_read(&r, huge, sizeof(huge), &used, &msg, &mlen), GG_EAGAIN);
  assert_int_equal(fm.nallocs, 0);
  /* the first body byte needs memory, and the allocator fails: ENOMEM, sticky */
  assert_int_equal(gg_lpm_read(&r, (const uint8_t *)"q", 1, &used, &msg, &mlen), GG_ENOMEM);
  assert_int_equal(gg_lpm_read(&r, (const uint8_t *)"q", 1, &used, &msg, &mlen), GG_ENOMEM);
  gg_lpm_free(&r);
  assert_int_equal(fm.live, 0);
}

static void test_large_body_released(void **state) {
  (void)state;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  gg_lpm r;
  gg_lpm_init(&r, &fm.mem, 1 << 20);
  size_t n = 10000, used, mlen;
  uint8_t *in = malloc(n + 3);
  size_t h = gg_varint_encode(n, in);
  memset(in + h, 7, n);
  const uint8_t *msg;
  /* two pieces, so the body is copied */
  assert_int_equal(gg_lpm_read(&r, in, 100, &used, &msg, &mlen), GG_EAGAIN);
  assert_int_equal(gg_lpm_read(&r, in + 100, n + h - 100, &used, &msg, &mlen), GG_OK);
  assert_int_equal(mlen, n);
  assert_true(fm.live > 0);
  /* the next call starts a new message and gives the big buffer back */
  assert_int_equal(gg_lpm_read(&r, (const uint8_t *)"\x05", 1, &used, &msg, &mlen), GG_EAGAIN);
  assert_int_equal(fm.live, 0);
  gg_lpm_free(&r);
  free(in);
}

/* Any chunking of a stream of messages gives the same messages as reading it in one piece. */
static void test_random_chunking(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 42);
  const gg_rand *rnd = &rs.r;
  for (int round = 0; round < 200; round++) {
    gg_buf stream;
    gg_buf_init(&stream, NULL, SIZE_MAX);
    size_t nmsg = 1 + gg_rand_below(rnd, 8), sizes[8];
    for (size_t m = 0; m < nmsg; m++) {
      sizes[m] = (size_t)gg_rand_below(rnd, 3) == 0 ? 0 : (size_t)gg_rand_below(rnd, 700);
      uint8_t body[700];
      for (size_t i = 0; i < sizes[m]; i++) body[i] = (uint8_t)(m * 31 + i);
      assert_int_equal(gg_lpm_write(&stream, body, sizes[m]), GG_OK);
    }
    gg_lpm r;
    gg_lpm_init(&r, NULL, 700);
    const uint8_t *p = gg_buf_ptr(&stream);
    size_t left = gg_buf_len(&stream), got = 0;
    while (left > 0) {
      size_t chunk = 1 + (size_t)gg_rand_below(rnd, 300);
      if (chunk > left) chunk = left;
      const uint8_t *c = p;
      size_t clen = chunk;
      while (clen > 0) {
        size_t used, mlen;
        const uint8_t *msg;
        int rc = gg_lpm_read(&r, c, clen, &used, &msg, &mlen);
        assert_true(used <= clen);
        c += used;
        clen -= used;
        if (rc == GG_EAGAIN) {
          assert_int_equal(clen, 0);
          break;
        }
        assert_int_equal(rc, GG_OK);
        assert_true(got < nmsg);
        assert_int_equal(mlen, sizes[got]);
        for (size_t i = 0; i < mlen; i++) assert_int_equal(msg[i], (uint8_t)(got * 31 + i));
        got++;
      }
      p += chunk;
      left -= chunk;
    }
    assert_int_equal(got, nmsg);
    assert_true(gg_lpm_idle(&r));
    gg_lpm_free(&r);
    gg_buf_free(&stream);
  }
}

static void test_write(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 5);
  assert_int_equal(gg_lpm_write(&b, (const uint8_t *)"abcd", 4), GG_OK);
  assert_memory_equal(gg_buf_ptr(&b),
                      "\x04"
                      "abcd",
                      5);
  assert_int_equal(gg_lpm_write(&b, (const uint8_t *)"", 0), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&b), 5);
  gg_buf_free(&b);
  gg_buf_init(&b, NULL, 1000);
  uint8_t body[200] = {0};
  assert_int_equal(gg_lpm_write(&b, body, 200), GG_OK);
  assert_int_equal(gg_buf_len(&b), 202); /* 200 = c8 01 */
  assert_int_equal(gg_buf_ptr(&b)[0], 0xc8);
  assert_int_equal(gg_buf_ptr(&b)[1], 0x01);
  gg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_piece_is_zero_copy), cmocka_unit_test(test_split_prefix_and_body),
      cmocka_unit_test(test_cap_and_bad_prefix),     cmocka_unit_test(test_large_body_released),
      cmocka_unit_test(test_random_chunking),        cmocka_unit_test(test_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
