/*
 * Tests for the in-situ JSON reader (src/base/json.c).
 *
 * Conformance is differential: every JSON file of the shared test data (toml-test's expected
 * outputs, the semver, resolver and ggen suites) must read to the same content as jansson
 * gives, and every TOML file of toml-test, read as JSON, must be accepted or refused as
 * jansson does (fuzz/json_diff.h, also the fuzz target's oracle). The rest covers error
 * positions, string decoding and UTF-8 validation, nesting, skipping, the in-situ contract
 * and the number conversion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/json_diff.h"
#include "gg_test.h"
#include "ggen/err.h"
#include "ggen/json.h"

/* ---- differential conformance -------------------------------------------------------------- */

typedef struct tally {
  int files, accepted, fails;
} tally;

static void diff_file(const char *rel, tally *t) {
  char *path = gg_test_data_path(rel);
  if (path == NULL) return;
  size_t len;
  char *txt = gg_test_read_file(path, &len);
  assert_non_null(txt);
  char why[256];
  if (!jd_compare(txt, len, why, sizeof(why))) {
    print_message("FAIL %s: %s\n", rel, why);
    t->fails++;
  }
  json_error_t e;
  json_t *v = json_loadb(txt, len, JSON_DECODE_ANY, &e);
  t->accepted += v != NULL;
  json_decref(v);
  t->files++;
  free(txt);
  free(path);
}

static void diff_list(const char *list, tally *t) {
  char rel[512];
  snprintf(rel, sizeof(rel), "toml-test/tests/%s", list);
  char *lp = gg_test_require_data(rel);
  char *lst = gg_test_read_file(lp, NULL);
  assert_non_null(lst);
  for (char *line = strtok(lst, "\n"); line; line = strtok(NULL, "\n")) {
    size_t ll = strlen(line);
    if (ll < 5 || strcmp(line + ll - 5, ".toml")) continue;
    snprintf(rel, sizeof(rel), "toml-test/tests/%s", line);
    diff_file(rel, t); /* TOML read as JSON: mostly refused, by both */
    if (!strncmp(line, "valid/", 6)) {
      snprintf(rel, sizeof(rel), "toml-test/tests/%.*s.json", (int)(ll - 5), line);
      diff_file(rel, t);
    }
  }
  free(lst);
  free(lp);
}

static void test_differential(void **state) {
  (void)state;
  tally t = {0, 0, 0};
  diff_list("files-toml-1.0.0", &t);
  diff_list("files-toml-1.1.0", &t);
  static const char *const more[] = {"ggen/marketplace_registry_index.json",
                                     "ggen/marketplace_registry_index_HEAD.json",
                                     "ggen/registry_index.json",
                                     "ggen/docs_registry_index.json",
                                     "ggen/cases.json",
                                     "resolver/dart-pub-version-solver.json",
                                     "resolver/packse-portable.json",
                                     "resolver/cocoapods-resolver-integration-specs.json",
                                     "semver/range-include.json",
                                     "semver/range-exclude.json",
                                     "semver/comparisons.json",
                                     "semver/invalid-versions.json"};
  for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) diff_file(more[i], &t);
  print_message("json: %d files compared with jansson, %d of them JSON\n", t.files, t.accepted);
  assert_int_equal(t.fails, 0);
  assert_true(t.accepted > 300);
  assert_true(t.files - t.accepted > 300);
}

/* ---- errors and positions ------------------------------------------------------------------ */

/* Reads text to the end; returns the first error's line and column. */
static const char *read_all(const char *text, size_t len, size_t *line, size_t *col) {
  char *copy = malloc(len + 1);
  memcpy(copy, text, len);
  gg_json r;
  gg_json_init(&r, copy, len);
  int t;
  while ((t = gg_json_next(&r)) > 0) {
  }
  static char msg[128];
  const char *m = gg_json_error(&r, line, col);
  snprintf(msg, sizeof(msg), "%s", m ? m : "");
  if (t == GG_JSON_EOF) assert_null(m);
  /* sticky: once failed, always failed */
  if (t < 0) assert_int_equal(gg_json_next(&r), GG_EPARSE);
  free(copy);
  return msg;
}

static void test_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t line, col;
    const char *msg;
  } cases[] = {
      {"", 1, 1, "premature end of input"},
      {"   ", 1, 4, "premature end of input"},
      {"{\n  \"a\": tru\n}", 2, 8, "invalid token"},
      {"[1,\n 2,\n ]", 3, 2, "invalid token"},
      {"{\"a\" 1}", 1, 6, "':' expected"},
      {"{\"a\":1,}", 1, 8, "string expected as an object key"},
      {"{1:2}", 1, 2, "string expected as an object key"},
      {"[1 2]", 1, 4, "',' or ']' expected"},
      {"{\"a\":1 \"b\":2}", 1, 8, "',' or '}' expected"},
      {"[1]]", 1, 4, "end of input expected"},
      {"{} {}", 1, 4, "end of input expected"},
      {"01", 1, 2, "end of input expected"},
      {"-", 1, 2, "premature end of input"},
      {"-x", 1, 2, "invalid number"},
      {"1.", 1, 3, "premature end of input"},
      {"1.e5", 1, 3, "invalid number"},
      {"1e+", 1, 4, "premature end of input"},
      {"[\"a\nb\"]", 1, 4, "control character in a string"},
      {"\"\\x\"", 1, 2, "invalid escape in a string"},
      {"\"\\u12\"", 1, 2, "invalid escape in a string"},
      {"\"\\u0000\"", 1, 2, "invalid escape in a string"},
      {"\"\\ud800\"", 1, 2, "invalid escape in a string"},
      {"\"\\ud800\\u0041\"", 1, 2, "invalid escape in a string"},
      {"\"\\udc00\"", 1, 2, "invalid escape in a string"},
      {"\"ab\xc0\x80\"", 1, 4, "invalid UTF-8 in a string"},
      {"\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8 in a string"},
      {"\"\xf4\x90\x80\x80\"", 1, 2, "invalid UTF-8 in a string"},
      {"\"\xe2\x82\"", 1, 2, "invalid UTF-8 in a string"},
      {"\"abc", 1, 5, "premature end of input"},
      {"\xef\xbb\xbf{}", 1, 1, "invalid token"},
      {"[nul]", 1, 2, "invalid token"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t line = 0, col = 0;
    const char *msg = read_all(cases[i].text, strlen(cases[i].text), &line, &col);
    if (strcmp(msg, cases[i].msg) || line != cases[i].line || col != cases[i].col)
      fail_msg("case %zu '%s': got '%s' at %zu:%zu, want '%s' at %zu:%zu", i, cases[i].text, msg,
               line, col, cases[i].msg, cases[i].line, cases[i].col);
  }
  /* a NUL byte is not whitespace */
  size_t line, col;
  assert_string_equal(read_all("[1]\0", 4, &line, &col), "end of input expected");
}

/* ---- tokens, strings, the in-situ contract ----------------------------------------------------
 */

static void test_tokens_and_strings(void **state) {
  (void)state;
  char text[] = "{\"k\\u00e9y\": [\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\", \"\\ud83d\\ude00\xc3\xa9\","
                " -12.5e+3, true, false, null, {}, []], \"z\": \"\"} ";
  size_t len = strlen(text);
  gg_json r;
  gg_json_init(&r, text, len);
  assert_int_equal(gg_json_next(&r), GG_JSON_OBJECT);
  assert_int_equal(gg_json_depth(&r), 1);
  assert_int_equal(gg_json_next(&r), GG_JSON_KEY);
  const char *key = r.str;
  assert_string_equal(key, "k\xc3\xa9y");
  assert_int_equal(r.len, 4);
  assert_int_equal(gg_json_next(&r), GG_JSON_ARRAY);
  assert_int_equal(gg_json_next(&r), GG_JSON_STRING);
  assert_int_equal(r.len, 11);
  assert_memory_equal(r.str, "a\"b\\c/\b\f\n\r\t", 12);
  assert_int_equal(gg_json_next(&r), GG_JSON_STRING);
  assert_string_equal(r.str, "\xf0\x9f\x98\x80\xc3\xa9");
  assert_int_equal(gg_json_next(&r), GG_JSON_NUMBER);
  assert_int_equal(r.len, 8);
  assert_memory_equal(r.str, "-12.5e+3", 8);
  assert_int_equal(gg_json_next(&r), GG_JSON_TRUE);
  assert_int_equal(gg_json_next(&r), GG_JSON_FALSE);
  assert_int_equal(gg_json_next(&r), GG_JSON_NULL);
  assert_int_equal(gg_json_next(&r), GG_JSON_OBJECT);
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_next(&r), GG_JSON_ARRAY);
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  /* the bytes still to read are untouched, the key read before stays valid */
  assert_string_equal(text + len - 9, "\"z\": \"\"} ");
  assert_int_equal(gg_json_next(&r), GG_JSON_KEY);
  assert_string_equal(r.str, "z");
  assert_int_equal(gg_json_next(&r), GG_JSON_STRING);
  assert_int_equal(r.len, 0);
  assert_string_equal(r.str, "");
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_depth(&r), 0);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
  assert_string_equal(key, "k\xc3\xa9y");
  assert_null(gg_json_error(&r, NULL, NULL));
  /* long plain runs after an escape are moved down whole (eight bytes at a time) */
  char moved[] = "[\"\\n0123456789abcdefghij\\tABCDEFGHIJKLMNOPQ\\u00e9 end of it all\"]";
  gg_json_init(&r, moved, strlen(moved));
  assert_int_equal(gg_json_next(&r), GG_JSON_ARRAY);
  assert_int_equal(gg_json_next(&r), GG_JSON_STRING);
  assert_string_equal(r.str, "\n0123456789abcdefghij\tABCDEFGHIJKLMNOPQ\xc3\xa9 end of it all");
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
  /* scalars at the root */
  char s[] = " \"x\" ";
  gg_json_init(&r, s, strlen(s));
  assert_int_equal(gg_json_next(&r), GG_JSON_STRING);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
  char n[] = "7";
  gg_json_init(&r, n, 1);
  assert_int_equal(gg_json_next(&r), GG_JSON_NUMBER);
  assert_int_equal(r.len, 1);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
}

static void test_nesting_and_skip(void **state) {
  (void)state;
  size_t n = GG_JSON_MAX_DEPTH;
  char *deep = malloc(2 * n + 2);
  memset(deep, '[', n);
  memset(deep + n, ']', n);
  size_t line, col;
  assert_string_equal(read_all(deep, 2 * n, &line, &col), "");
  deep[n] = '[';
  deep[n + 1] = ']';
  memset(deep + n + 2, ']', n);
  deep[0] = '['; /* n + 1 levels */
  assert_string_equal(read_all(deep, 2 * n + 2, &line, &col), "nesting too deep");
  assert_int_equal(col, n + 1);
  free(deep);

  char text[] = "{\"skip\": {\"a\": [1, {\"b\": \"}\"}], \"c\": {}}, \"keep\": [true], \"s\": 1}";
  gg_json r;
  gg_json_init(&r, text, strlen(text));
  assert_int_equal(gg_json_next(&r), GG_JSON_OBJECT);
  assert_int_equal(gg_json_next(&r), GG_JSON_KEY);
  int t = gg_json_next(&r);
  assert_int_equal(t, GG_JSON_OBJECT);
  assert_int_equal(gg_json_skip(&r, t), GG_OK);
  assert_int_equal(gg_json_depth(&r), 1);
  assert_int_equal(gg_json_next(&r), GG_JSON_KEY);
  assert_string_equal(r.str, "keep");
  assert_int_equal(gg_json_next(&r), GG_JSON_ARRAY);
  assert_int_equal(gg_json_next(&r), GG_JSON_TRUE);
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_next(&r), GG_JSON_KEY);
  t = gg_json_next(&r);
  assert_int_equal(t, GG_JSON_NUMBER);
  assert_int_equal(gg_json_skip(&r, t), GG_OK); /* a scalar: nothing to skip */
  assert_int_equal(gg_json_next(&r), GG_JSON_END);
  assert_int_equal(gg_json_next(&r), GG_JSON_EOF);
  /* skipping into an error reports it */
  char bad[] = "[{\"a\": [1, 2}]";
  gg_json_init(&r, bad, strlen(bad));
  assert_int_equal(gg_json_next(&r), GG_JSON_ARRAY);
  t = gg_json_next(&r);
  assert_int_equal(gg_json_skip(&r, t), GG_EPARSE);
  assert_string_equal(gg_json_error(&r, &line, &col), "',' or ']' expected");
  assert_int_equal(col, 13);
}

/* ---- numbers ------------------------------------------------------------------------------- */

static void test_number_u64(void **state) {
  (void)state;
  static const struct {
    const char *lit;
    uint64_t v;
  } cases[] = {
      {"0", 0},
      {"-0", 0},
      {"-5", 0},
      {"-1e30", 0},
      {"42", 42},
      {"42.999", 42},
      {"0.5", 0},
      {"1.5e3", 1500},
      {"1.23456e2", 123},
      {"12e-1", 1},
      {"12E-2", 0},
      {"1e0", 1},
      {"0e500", 0},
      {"0.0000000000000000000000000000001e31", 1},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551616", UINT64_MAX},
      {"99999999999999999999999", UINT64_MAX},
      {"1.8446744073709551615e19", UINT64_MAX},
      {"1.8446744073709551614e19", UINT64_MAX - 1},
      {"1e19", 10000000000000000000ull},
      {"1e20", UINT64_MAX},
      {"1e99999999999999999999", UINT64_MAX},
      {"5e-99999999999999999999", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint64_t v = gg_json_number_u64(cases[i].lit, strlen(cases[i].lit));
    if (v != cases[i].v) fail_msg("%s: got %llu", cases[i].lit, (unsigned long long)v);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_differential),       cmocka_unit_test(test_errors),
      cmocka_unit_test(test_tokens_and_strings), cmocka_unit_test(test_nesting_and_skip),
      cmocka_unit_test(test_number_u64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
