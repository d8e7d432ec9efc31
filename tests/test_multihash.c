/*
 * Tests for multihash (include/ggen/multihash.h): the multiformats/multihash test_cases.csv
 * suite (every row decoded; the sha2-256 and sha2-512 rows also recomputed, truncation
 * included), agreement of our function table with the multicodec table, framing errors and
 * allocation failure.
 */
#include "gg_test.h"
#include "gg_test_csv.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/multihash.h"

static void test_spec_cases(void **state) {
  (void)state;
  char *path = gg_test_require_data("vectors/multiformats/multihash-test_cases.csv");
  char *text = gg_test_read_file(path, NULL);
  assert_non_null(text);
  char *cur = text, *f[4];
  int n, rows = 0, computed = 0;
  n = gg_test_csv_next(&cur, f, 4); /* header: algorithm,bits,input,multihash */
  assert_int_equal(n, 4);
  assert_string_equal(f[0], "algorithm");
  while ((n = gg_test_csv_next(&cur, f, 4)) >= 0) {
    if (n == 0) continue;
    assert_int_equal(n, 4);
    /* the suite calls sha3-512 "sha3" */
    const char *name = strcmp(f[0], "sha3") == 0 ? "sha3-512" : f[0];
    uint64_t code;
    assert_int_equal(gg_mh_code(name, &code), GG_OK);
    size_t dlen = (size_t)atoi(f[1]) / 8;
    size_t len;
    uint8_t *mhb = gg_test_unhex(f[3], &len);
    assert_non_null(mhb);
    gg_mh mh;
    assert_int_equal(gg_mh_decode(mhb, len, &mh), GG_OK);
    assert_true(mh.code == code);
    assert_int_equal(mh.dlen, dlen);
    assert_int_equal(mh.size, len);
    assert_ptr_equal(mh.digest, mhb + len - dlen);
    /* One byte more or less is no longer exactly one multihash. */
    assert_int_equal(gg_mh_decode(mhb, len - 1, &mh), GG_EPARSE);
    /* Re-encoding gives the same bytes. */
    gg_buf b;
    gg_buf_init(&b, NULL, 256);
    assert_int_equal(gg_mh_encode(code, mhb + len - dlen, dlen, &b), GG_OK);
    assert_memory_equal(gg_buf_ptr(&b), mhb, len);
    gg_buf_reset(&b);
    /* The input column is hashed as text, as the suite's generator does. */
    int rc = gg_mh_sum(code, (const uint8_t *)f[2], strlen(f[2]), (int)dlen, &b);
    if (code == GG_MH_SHA2_256 || code == GG_MH_SHA2_512) {
      assert_int_equal(rc, GG_OK);
      assert_int_equal(gg_buf_len(&b), len);
      assert_memory_equal(gg_buf_ptr(&b), mhb, len);
      computed++;
    } else {
      assert_int_equal(rc, GG_EUNSUPPORTED); /* sha1, sha3: decoded only */
    }
    gg_buf_free(&b);
    free(mhb);
    rows++;
  }
  assert_int_equal(rows, 260);
  assert_int_equal(computed, 140); /* 60 sha2-256 + 80 sha2-512 rows */
  free(text);
  free(path);
}

/* Every function we name has the name and code the multicodec table gives it. */
static void test_names_match_multicodec_table(void **state) {
  (void)state;
  char *path = gg_test_require_data("vectors/multiformats/multicodec-table.csv");
  char *text = gg_test_read_file(path, NULL);
  assert_non_null(text);
  char *cur = text, *f[3];
  int n, matched = 0;
  while ((n = gg_test_csv_next(&cur, f, 3)) >= 0) {
    if (n < 3 || strcmp(f[1], "multihash") != 0) continue;
    uint64_t code = strtoull(f[2], NULL, 16), c2;
    const char *ours = gg_mh_name(code);
    if (ours) {
      assert_string_equal(ours, f[0]);
      matched++;
    }
    if (gg_mh_code(f[0], &c2) == GG_OK) assert_true(c2 == code);
  }
  assert_int_equal(matched, 24); /* the whole table of multihash.c */
  free(text);
  free(path);
}

static void test_framing_errors(void **state) {
  (void)state;
  gg_mh mh;
  static const uint8_t empty_id[] = {0x00, 0x00};
  assert_int_equal(gg_mh_decode(empty_id, 2, &mh), GG_OK);
  assert_int_equal(mh.dlen, 0);
  assert_int_equal(gg_mh_decode(empty_id, 0, &mh), GG_EPARSE);
  assert_int_equal(gg_mh_decode(empty_id, 1, &mh), GG_EPARSE);
  /* trailing byte */
  static const uint8_t trail[] = {0x00, 0x01, 0xaa, 0xbb};
  assert_int_equal(gg_mh_decode(trail, 4, &mh), GG_EPARSE);
  assert_int_equal(gg_mh_decode(trail, 3, &mh), GG_OK);
  /* non-minimal varint code (0x12 written in two bytes) */
  static const uint8_t nonmin[] = {0x92, 0x00, 0x01, 0xaa};
  assert_int_equal(gg_mh_decode(nonmin, 4, &mh), GG_EPARSE);
  /* a 33-byte sha2-256 digest is not a sha2-256 digest */
  uint8_t big[35] = {0x12, 33};
  assert_int_equal(gg_mh_decode(big, 35, &mh), GG_EPARSE);
  /* an unknown function decodes: we must not reject what we cannot compute */
  static const uint8_t unk[] = {0xff, 0x7f, 0x02, 0x01, 0x02};
  assert_int_equal(gg_mh_decode(unk, 5, &mh), GG_OK);
  assert_true(mh.code == 0x3fff);
  assert_null(gg_mh_name(0x3fff));
  assert_int_equal(gg_mh_digest_size(0x3fff), GG_ENOTFOUND);
  assert_int_equal(gg_mh_digest_size(GG_MH_SHA2_256), 32);
  assert_int_equal(gg_mh_digest_size(GG_MH_IDENTITY), 0);
  /* a length varint claiming 2^62 bytes must not overflow anything */
  static const uint8_t huge[] = {0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40};
  assert_int_equal(gg_mh_decode(huge, sizeof(huge), &mh), GG_EPARSE);
}

static void test_sum_and_encode(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 1024);
  /* identity of "abc" */
  assert_int_equal(gg_mh_sum(GG_MH_IDENTITY, (const uint8_t *)"abc", 3, -1, &b), GG_OK);
  assert_int_equal(gg_buf_len(&b), 5);
  assert_memory_equal(gg_buf_ptr(&b),
                      "\x00\x03"
                      "abc",
                      5);
  gg_buf_reset(&b);
  assert_int_equal(gg_mh_sum(GG_MH_IDENTITY, (const uint8_t *)"abc", 3, 2, &b), GG_EINVAL);
  /* sha2-256("abc") from FIPS 180-2 */
  assert_int_equal(gg_mh_sum(GG_MH_SHA2_256, (const uint8_t *)"abc", 3, -1, &b), GG_OK);
  size_t n;
  uint8_t *want =
      gg_test_unhex("1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &n);
  assert_int_equal(gg_buf_len(&b), n);
  assert_memory_equal(gg_buf_ptr(&b), want, n);
  uint8_t fixed[GG_MH_SHA256_LEN];
  gg_mh_sha256((const uint8_t *)"abc", 3, fixed);
  assert_memory_equal(fixed, want, n);
  free(want);
  gg_buf_reset(&b);
  assert_int_equal(gg_mh_sum(GG_MH_SHA2_256, (const uint8_t *)"abc", 3, 33, &b), GG_EINVAL);
  assert_int_equal(gg_mh_sum(GG_MH_SHA1, (const uint8_t *)"abc", 3, -1, &b), GG_EUNSUPPORTED);
  uint8_t d[33] = {0};
  assert_int_equal(gg_mh_encode(GG_MH_SHA2_256, d, 33, &b), GG_EINVAL);
  assert_int_equal(gg_buf_len(&b), 0);
  gg_buf_free(&b);
  /* the cap of the output buffer is honoured and nothing is half-written */
  gg_buf_init(&b, NULL, 10);
  assert_int_equal(gg_mh_sum(GG_MH_SHA2_256, (const uint8_t *)"abc", 3, -1, &b), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&b), 0);
  gg_buf_free(&b);
  /* allocation failure */
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_buf_init(&b, &fm.mem, 1024);
  assert_int_equal(gg_mh_sum(GG_MH_SHA2_512, (const uint8_t *)"abc", 3, -1, &b), GG_ENOMEM);
  gg_buf_free(&b);
  assert_int_equal(fm.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_cases),
      cmocka_unit_test(test_names_match_multicodec_table),
      cmocka_unit_test(test_framing_errors),
      cmocka_unit_test(test_sum_and_encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
