/*
 * Multibase tests: the multiformats/multibase test vectors (basic, leading zeros, case
 * insensitivity), round trips, and malformed input.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multibase.h"

/* The CSV's encoding names map to multibase prefixes. */
static const struct { const char *name; char prefix; } names[] = {
    {"base2", '0'},          {"base8", '7'},          {"base10", '9'},
    {"base16", 'f'},         {"base16upper", 'F'},    {"base32", 'b'},
    {"base32upper", 'B'},    {"base32hex", 'v'},      {"base32hexupper", 'V'},
    {"base32pad", 'c'},      {"base32padupper", 'C'}, {"base32hexpad", 't'},
    {"base32hexpadupper", 'T'}, {"base32z", 'h'},     {"base36", 'k'},
    {"base36upper", 'K'},    {"base58flickr", 'Z'},   {"base58btc", 'z'},
    {"base64", 'm'},         {"base64pad", 'M'},      {"base64url", 'u'},
    {"base64urlpad", 'U'},
};

static char prefix_of(const char *name) {
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (!strcmp(names[i].name, name)) return names[i].prefix;
  return 0;
}

/* Unescapes the header's "\x00" sequences. */
static size_t unescape(const char *s, uint8_t *out) {
  size_t n = 0;
  while (*s) {
    if (s[0] == '\\' && s[1] == 'x') {
      unsigned v;
      sscanf(s + 2, "%2x", &v);
      out[n++] = (uint8_t)v;
      s += 4;
    } else {
      out[n++] = (uint8_t)*s++;
    }
  }
  return n;
}

/* Runs one CSV: first line `encoding, "<input>"`, then `name, "<encoded>"`. When canonical,
 * encoding must reproduce the text exactly; decoding must always give the input. Returns the
 * number of cases checked. */
static int run_csv(const char *rel, int canonical) {
  char *path = gg_test_require_data(rel);
  char *text = gg_test_read_file(path, NULL);
  assert_non_null(text);
  uint8_t input[256];
  size_t inlen = 0;
  int checked = 0, first = 1;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *q1 = strchr(line, '"'), *q2 = q1 ? strrchr(line, '"') : NULL;
    if (!q1 || q2 == q1) continue;
    *q2 = 0;
    char *comma = strchr(line, ',');
    *comma = 0;
    if (first) {
      inlen = unescape(q1 + 1, input);
      first = 0;
      continue;
    }
    char p = prefix_of(line);
    if (!p) continue; /* base256emoji: not supported */
    const char *enc = q1 + 1;
    gg_buf b;
    gg_buf_init(&b, NULL, 4096);
    char got_prefix;
    int rv = gg_multibase_decode(enc, strlen(enc), &b, &got_prefix);
    if (rv != GG_OK) fail_msg("%s: decoding %s failed: %s", rel, line, gg_strerror(rv));
    assert_int_equal(got_prefix, p);
    assert_int_equal(gg_buf_len(&b), inlen);
    assert_memory_equal(gg_buf_ptr(&b), input, inlen);
    if (canonical) {
      gg_buf_reset(&b);
      assert_int_equal(gg_multibase_encode(p, input, inlen, &b), GG_OK);
      if (gg_buf_len(&b) != strlen(enc) || memcmp(gg_buf_ptr(&b), enc, strlen(enc)))
        fail_msg("%s: encoding %s: got %.*s want %s", rel, line, (int)gg_buf_len(&b),
                 (char *)gg_buf_ptr(&b), enc);
    }
    gg_buf_free(&b);
    checked++;
  }
  free(text);
  free(path);
  return checked;
}

static void test_vectors_basic(void **s) {
  (void)s;
  assert_int_equal(run_csv("vectors/multiformats/multibase-basic.csv", 1), 22);
}
static void test_vectors_leading_zero(void **s) {
  (void)s;
  assert_int_equal(run_csv("vectors/multiformats/multibase-leading_zero.csv", 1), 22);
  assert_int_equal(run_csv("vectors/multiformats/multibase-two_leading_zeros.csv", 1), 22);
}
static void test_vectors_case_insensitive(void **s) {
  (void)s;
  assert_int_equal(run_csv("vectors/multiformats/multibase-case_insensitivity.csv", 0), 12);
}

static void test_roundtrip_all_bases(void **s) {
  (void)s;
  uint8_t data[64];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)(i * 37 + (i < 3 ? 0 : 1)) * (i >= 2);
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    for (size_t len = 0; len <= sizeof(data); len++) {
      gg_buf e, d;
      gg_buf_init(&e, NULL, 1 << 16);
      gg_buf_init(&d, NULL, 1 << 16);
      assert_int_equal(gg_multibase_encode(names[k].prefix, data, len, &e), GG_OK);
      assert_int_equal(gg_multibase_decode((char *)gg_buf_ptr(&e), gg_buf_len(&e), &d, NULL), GG_OK);
      assert_int_equal(gg_buf_len(&d), len);
      if (len) assert_memory_equal(gg_buf_ptr(&d), data, len);
      gg_buf_free(&e);
      gg_buf_free(&d);
    }
  }
}

static void test_malformed(void **s) {
  (void)s;
  const char *bad[] = {
      "",          /* empty */
      "zO0Il",     /* characters outside base58btc */
      "b!!",       /* outside base32 */
      "mYQ==",     /* padding on an unpadded base */
      "f0",        /* half a byte */
      "mYR",       /* non-zero leftover bits */
      "mA",        /* one base64 char: a dangling 6 bits */
      ("\x7f" "abc"), /* unknown prefix */
      "🚀🚀",       /* base256emoji: unsupported */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gg_buf b;
    gg_buf_init(&b, NULL, 1024);
    int rv = gg_multibase_decode(bad[i], strlen(bad[i]), &b, NULL);
    if (rv != GG_EPARSE && rv != GG_EUNSUPPORTED) fail_msg("case %zu accepted", i);
    assert_int_equal(gg_buf_len(&b), 0); /* nothing appended on failure */
    gg_buf_free(&b);
  }
  /* big-number bases are capped: quadratic decoding of megabytes is refused */
  size_t n = 10000;
  char *big = malloc(n);
  memset(big, '2', n);
  big[0] = 'z';
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 20);
  assert_int_equal(gg_multibase_decode(big, n, &b, NULL), GG_EPARSE);
  gg_buf_free(&b);
  free(big);
}

static void test_output_cap(void **s) {
  (void)s;
  gg_buf b;
  gg_buf_init(&b, NULL, 8);
  const uint8_t data[16] = {1};
  assert_int_equal(gg_multibase_encode('f', data, sizeof(data), &b), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&b), 0);
  gg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors_basic),         cmocka_unit_test(test_vectors_leading_zero),
      cmocka_unit_test(test_vectors_case_insensitive), cmocka_unit_test(test_roundtrip_all_bases),
      cmocka_unit_test(test_malformed),             cmocka_unit_test(test_output_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
