/*
 * Tests for semver.c: every case of node-semver 7.8.5's fixtures (tests/data/semver, converted
 * to JSON; see tests/data/NOTICE.md) - ranges, comparisons, validity, min/max satisfying,
 * minVersion, gtr/ltr, intersections, subset, increments, truncation - plus hand-written
 * checks of the API contract (failing allocator, caps, formatting).
 *
 * Each suite counts its failures and prints the first ones, then asserts none failed, so one
 * run shows everything that is wrong.
 */
#include "gg_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/semver.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *load_cases(const char *kind) {
  char rel[128];
  snprintf(rel, sizeof rel, "semver/%s.json", kind);
  char *path = gg_test_require_data(rel);
  json_error_t e;
  json_t *root = json_load_file(path, 0, &e);
  free(path);
  assert_non_null(root);
  json_t *cases = json_object_get(root, "cases");
  assert_true(json_is_array(cases));
  json_incref(cases);
  json_decref(root);
  return cases;
}

static unsigned case_flags(json_t *c) {
  unsigned f = 0;
  if (json_is_true(json_object_get(c, "loose"))) f |= GGM_SEMVER_LOOSE;
  if (json_is_true(json_object_get(c, "includePrerelease"))) f |= GGM_SEMVER_INCLUDE_PRERELEASE;
  return f;
}

static const char *str(json_t *c, const char *k) {
  return json_string_value(json_object_get(c, k));
}

static int nfail;
static void fail_case(const char *kind, json_t *c, const char *fmt, ...) {
  if (nfail++ < 15) {
    char *dump = json_dumps(c, JSON_COMPACT);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_message("%s: %s: %s\n", kind, dump, msg);
    free(dump);
  }
}

static int parse_v(ggm_semver *v, const char *s, unsigned f) {
  return ggm_semver_parse(v, s, strlen(s), f & GGM_SEMVER_LOOSE, NULL);
}
static int parse_r(ggm_semver_range **r, const char *s, unsigned f) {
  return ggm_semver_range_parse(r, s, strlen(s), f, NULL);
}

static char *fmt_v(const ggm_semver *v) {
  static char b[512];
  ggm_semver_format(v, 0, b, sizeof b);
  return b;
}

/* satisfies(version, range, opts) with node-semver's "invalid means false". */
static int satisfies(const char *version, const char *range, unsigned f) {
  ggm_semver v;
  ggm_semver_range *r;
  if (parse_r(&r, range, f)) return 0;
  if (parse_v(&v, version, f)) {
    ggm_semver_range_free(r);
    return 0;
  }
  int ok = ggm_semver_range_test(r, &v);
  ggm_semver_free(&v);
  ggm_semver_range_free(r);
  return ok;
}

/* ---- suites ------------------------------------------------------------------------------ */

static void run_satisfies(const char *kind) {
  json_t *cases = load_cases(kind);
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    int want = json_is_true(json_object_get(c, "expected"));
    /* a non-string version (one row passes `false`) is never satisfied */
    int got = str(c, "version") ? satisfies(str(c, "version"), str(c, "range"), case_flags(c)) : 0;
    if (got != want) fail_case(kind, c, "got %d", got);
  }
  print_message("%s: %zu cases, %d failed\n", kind, json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_range_include(void **state) {
  (void)state;
  run_satisfies("range-include");
}
static void test_range_exclude(void **state) {
  (void)state;
  run_satisfies("range-exclude");
}

static void test_range_parse(void **state) {
  (void)state;
  json_t *cases = load_cases("range-parse");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    const char *want = str(c, "canonical");
    ggm_semver_range *r;
    int rc = parse_r(&r, str(c, "range"), case_flags(c));
    if (!want) {
      if (rc == GG_OK) {
        fail_case("range-parse", c, "accepted an invalid range");
        ggm_semver_range_free(r);
      } else if (rc != GG_EPARSE) {
        fail_case("range-parse", c, "error %s", gg_errname(rc));
      }
      continue;
    }
    if (rc) {
      fail_case("range-parse", c, "rejected: %s", gg_errname(rc));
      continue;
    }
    gg_buf b;
    gg_buf_init(&b, NULL, 1 << 20);
    assert_int_equal(ggm_semver_range_format(r, &b), GG_OK);
    assert_int_equal(gg_buf_append_byte(&b, 0), GG_OK);
    const char *got = (const char *)gg_buf_ptr(&b);
    if (!*got) got = "*";
    if (strcmp(got, want)) fail_case("range-parse", c, "got \"%s\"", got);
    gg_buf_free(&b);
    ggm_semver_range_free(r);
  }
  print_message("range-parse: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void run_compare(const char *kind, int want) {
  json_t *cases = load_cases(kind);
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    unsigned f = case_flags(c);
    ggm_semver a, b;
    if (parse_v(&a, str(c, "v0"), f)) {
      fail_case(kind, c, "v0 does not parse");
      continue;
    }
    if (parse_v(&b, str(c, "v1"), f)) {
      fail_case(kind, c, "v1 does not parse");
      ggm_semver_free(&a);
      continue;
    }
    int ab = ggm_semver_cmp(&a, &b), ba = ggm_semver_cmp(&b, &a);
    if (ab != want || ba != -want) fail_case(kind, c, "cmp %d / %d", ab, ba);
    ggm_semver_free(&a);
    ggm_semver_free(&b);
  }
  print_message("%s: %zu cases, %d failed\n", kind, json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_comparisons(void **state) {
  (void)state;
  run_compare("comparisons", 1);
}
static void test_equality(void **state) {
  (void)state;
  run_compare("equality", 0);
}

/* Joins a JSON array of identifiers (strings or numbers) with '.'. */
static void join_ids(json_t *a, char *out, size_t cap) {
  size_t i, n = 0;
  json_t *x;
  out[0] = 0;
  json_array_foreach(a, i, x) {
    char t[300];
    if (json_is_integer(x))
      snprintf(t, sizeof t, "%lld", (long long)json_integer_value(x));
    else
      snprintf(t, sizeof t, "%s", json_string_value(x));
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "." : "", t);
  }
}

static void test_valid_versions(void **state) {
  (void)state;
  json_t *cases = load_cases("valid-versions");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    ggm_semver v;
    if (parse_v(&v, str(c, "version"), 0)) {
      fail_case("valid-versions", c, "rejected");
      continue;
    }
    char pre[512], build[512];
    join_ids(json_object_get(c, "prerelease"), pre, sizeof pre);
    join_ids(json_object_get(c, "build"), build, sizeof build);
    if (v.major != (uint64_t)json_integer_value(json_object_get(c, "major")) ||
        v.minor != (uint64_t)json_integer_value(json_object_get(c, "minor")) ||
        v.patch != (uint64_t)json_integer_value(json_object_get(c, "patch")) ||
        strcmp(v.pre, pre) || strcmp(v.build, build))
      fail_case("valid-versions", c, "got %s +%s", fmt_v(&v), v.build);
    ggm_semver_free(&v);
  }
  print_message("valid-versions: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_invalid_versions(void **state) {
  (void)state;
  json_t *cases = load_cases("invalid-versions");
  size_t i, skipped = 0;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    /* rows for JavaScript's non-string inputs (regexes, objects) do not apply to C */
    if (strcmp(str(c, "input_type"), "string")) {
      skipped++;
      continue;
    }
    ggm_semver v;
    int rc = parse_v(&v, str(c, "value"), case_flags(c));
    if (rc == GG_OK) {
      fail_case("invalid-versions", c, "accepted as %s", fmt_v(&v));
      ggm_semver_free(&v);
    } else if (rc != GG_EPARSE) {
      fail_case("invalid-versions", c, "error %s", gg_errname(rc));
    }
  }
  print_message("invalid-versions: %zu cases (%zu non-string skipped), %d failed\n",
                json_array_size(cases), skipped, nfail);
  assert_true(json_array_size(cases) - skipped >= 7);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void run_satisfying(const char *kind, int max) {
  json_t *cases = load_cases(kind);
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    unsigned f = case_flags(c);
    json_t *vs = json_object_get(c, "versions");
    ggm_semver *v = calloc(json_array_size(vs) + 1, sizeof *v);
    const char **raw = calloc(json_array_size(vs) + 1, sizeof *raw);
    size_t n = 0, k;
    json_t *x;
    json_array_foreach(vs, k, x) {
      if (parse_v(&v[n], json_string_value(x), f) == GG_OK) raw[n++] = json_string_value(x);
    }
    ggm_semver_range *r;
    const char *got = NULL;
    if (parse_r(&r, str(c, "range"), f) == GG_OK) {
      long idx = max ? ggm_semver_max_satisfying(v, n, r) : ggm_semver_min_satisfying(v, n, r);
      if (idx >= 0) got = raw[idx];
      ggm_semver_range_free(r);
    }
    const char *want = str(c, "expected");
    if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
      fail_case(kind, c, "got %s", got ? got : "null");
    for (k = 0; k < n; k++) ggm_semver_free(&v[k]);
    free(v);
    free(raw);
  }
  print_message("%s: %zu cases, %d failed\n", kind, json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_max_satisfying(void **state) {
  (void)state;
  run_satisfying("range-max-satisfying", 1);
}
static void test_min_satisfying(void **state) {
  (void)state;
  run_satisfying("range-min-satisfying", 0);
}

static void test_min_version(void **state) {
  (void)state;
  json_t *cases = load_cases("range-min-version");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    unsigned f = case_flags(c);
    const char *want = str(c, "minimum");
    ggm_semver_range *r;
    if (parse_r(&r, str(c, "range"), f)) {
      fail_case("range-min-version", c, "range rejected");
      continue;
    }
    ggm_semver m;
    int rc = ggm_semver_range_min_version(r, &m, NULL);
    if (rc == GG_OK) {
      if (!want || strcmp(fmt_v(&m), want)) fail_case("range-min-version", c, "got %s", fmt_v(&m));
      ggm_semver_free(&m);
    } else if (want || rc != GG_ENOTFOUND) {
      fail_case("range-min-version", c, "got %s", gg_errname(rc));
    }
    ggm_semver_range_free(r);
  }
  print_message("range-min-version: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void run_outside(const char *kind, char hilo) {
  json_t *cases = load_cases(kind);
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    unsigned f = case_flags(c);
    int want = json_is_true(json_object_get(c, "expected"));
    ggm_semver_range *r;
    ggm_semver v;
    if (parse_r(&r, str(c, "range"), f)) {
      fail_case(kind, c, "range rejected");
      continue;
    }
    if (parse_v(&v, str(c, "version"), f)) {
      fail_case(kind, c, "version rejected");
      ggm_semver_range_free(r);
      continue;
    }
    int got = ggm_semver_range_outside(r, &v, hilo);
    if (got != want) fail_case(kind, c, "got %d", got);
    ggm_semver_free(&v);
    ggm_semver_range_free(r);
  }
  print_message("%s: %zu cases, %d failed\n", kind, json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_gtr(void **state) {
  (void)state;
  run_outside("version-gt-range", '>');
  run_outside("version-not-gt-range", '>');
}
static void test_ltr(void **state) {
  (void)state;
  run_outside("version-lt-range", '<');
  run_outside("version-not-lt-range", '<');
}

static void test_range_intersection(void **state) {
  (void)state;
  json_t *cases = load_cases("range-intersection");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    int want = json_is_true(json_object_get(c, "expected"));
    for (unsigned f = 0; f <= GGM_SEMVER_LOOSE; f += GGM_SEMVER_LOOSE) { /* upstream: both */
      ggm_semver_range *a, *b;
      if (parse_r(&a, str(c, "r0"), f) || parse_r(&b, str(c, "r1"), f)) {
        fail_case("range-intersection", c, "range rejected");
        break;
      }
      int ab = ggm_semver_range_intersects(a, b), ba = ggm_semver_range_intersects(b, a);
      if (ab != want || ba != want) fail_case("range-intersection", c, "got %d/%d", ab, ba);
      ggm_semver_range_free(a);
      ggm_semver_range_free(b);
    }
  }
  print_message("range-intersection: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_comparator_intersection(void **state) {
  (void)state;
  json_t *cases = load_cases("comparator-intersection");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    int want = json_is_true(json_object_get(c, "expected"));
    unsigned f = case_flags(c);
    const char *c0 = str(c, "c0"), *c1 = str(c, "c1");
    int ab = -1, ba = -1;
    assert_int_equal(ggm_semver_comparator_intersects(c0, strlen(c0), c1, strlen(c1), f, &ab, NULL),
                     GG_OK);
    assert_int_equal(ggm_semver_comparator_intersects(c1, strlen(c1), c0, strlen(c0), f, &ba, NULL),
                     GG_OK);
    if (ab != want || ba != want) fail_case("comparator-intersection", c, "got %d/%d", ab, ba);
  }
  print_message("comparator-intersection: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_subset(void **state) {
  (void)state;
  json_t *cases = load_cases("range-subset");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    int want = json_is_true(json_object_get(c, "expected"));
    unsigned f = case_flags(c);
    ggm_semver_range *a, *b;
    if (parse_r(&a, str(c, "sub"), f) || parse_r(&b, str(c, "dom"), f)) {
      fail_case("range-subset", c, "range rejected");
      continue;
    }
    int got = ggm_semver_range_subset(a, b);
    if (got != want) fail_case("range-subset", c, "got %d", got);
    ggm_semver_range_free(a);
    ggm_semver_range_free(b);
  }
  print_message("range-subset: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_increments(void **state) {
  (void)state;
  json_t *cases = load_cases("increments");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    unsigned f = case_flags(c);
    const char *want = str(c, "expected");
    json_t *jid = json_object_get(c, "identifier"), *jb = json_object_get(c, "identifier_base");
    const char *ident = json_is_string(jid) ? json_string_value(jid) : NULL;
    int base = 0; /* null / undefined: Number(null) is 0 */
    if (json_is_false(jb))
      base = GGM_SEMVER_INC_NO_BASE;
    else if (json_is_string(jb))
      base = atoi(json_string_value(jb)) ? 1 : 0;
    else if (json_is_integer(jb))
      base = json_integer_value(jb) ? 1 : 0;
    const char *got = NULL;
    ggm_semver v;
    int rel = ggm_semver_release_from_str(str(c, "release"));
    if (parse_v(&v, str(c, "version"), f) == GG_OK) {
      if (rel >= 0 && ggm_semver_inc(&v, (ggm_semver_release)rel, ident, base, f) == GG_OK)
        got = fmt_v(&v);
      if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
        fail_case("increments", c, "got %s", got ? got : "null");
      ggm_semver_free(&v);
    } else if (want) {
      fail_case("increments", c, "version rejected");
    }
  }
  print_message("increments: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

static void test_truncations(void **state) {
  (void)state;
  json_t *cases = load_cases("truncations");
  size_t i;
  json_t *c;
  nfail = 0;
  json_array_foreach(cases, i, c) {
    const char *want = str(c, "expected");
    const char *got = NULL;
    ggm_semver v;
    int rel = ggm_semver_release_from_str(str(c, "release"));
    if (parse_v(&v, str(c, "version"), 0) == GG_OK) {
      if (rel >= 0 && ggm_semver_truncate(&v, (ggm_semver_release)rel) == GG_OK) got = fmt_v(&v);
      ggm_semver_free(&v);
    }
    if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
      fail_case("truncations", c, "got %s", got ? got : "null");
  }
  print_message("truncations: %zu cases, %d failed\n", json_array_size(cases), nfail);
  json_decref(cases);
  assert_int_equal(nfail, 0);
}

/* ---- API contract -------------------------------------------------------------------------- */

static void test_precedence_chain(void **state) {
  (void)state;
  /* semver.org section 11's example chain, plus build metadata being ignored */
  const char *chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                         "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                         "1.0.0-rc.1",  "1.0.0",         "2.0.0",
                         "2.1.0",       "2.1.1"};
  size_t n = sizeof chain / sizeof *chain;
  for (size_t i = 0; i + 1 < n; i++) {
    ggm_semver a, b;
    assert_int_equal(parse_v(&a, chain[i], 0), GG_OK);
    assert_int_equal(parse_v(&b, chain[i + 1], 0), GG_OK);
    assert_true(ggm_semver_cmp(&a, &b) < 0);
    assert_true(ggm_semver_cmp(&b, &a) > 0);
    ggm_semver_free(&a);
    ggm_semver_free(&b);
  }
  ggm_semver a, b;
  assert_int_equal(parse_v(&a, "1.0.0+build.1", 0), GG_OK);
  assert_int_equal(parse_v(&b, "1.0.0+build.2", 0), GG_OK);
  assert_int_equal(ggm_semver_cmp(&a, &b), 0);
  assert_true(ggm_semver_cmp_build(&a, &b) < 0);
  char out[64];
  assert_int_equal(ggm_semver_format(&b, 1, out, sizeof out), strlen("1.0.0+build.2"));
  assert_string_equal(out, "1.0.0+build.2");
  assert_int_equal(ggm_semver_format(&b, 1, out, 4), strlen("1.0.0+build.2")); /* truncated */
  assert_string_equal(out, "1.0");
  ggm_semver_free(&a);
  ggm_semver_free(&b);
}

static void test_caps_and_errors(void **state) {
  (void)state;
  ggm_semver v;
  ggm_semver_range *r = NULL;
  char *big = malloc(GGM_SEMVER_RANGE_MAX_LEN + 2);
  memset(big, '1', GGM_SEMVER_RANGE_MAX_LEN + 1);
  big[GGM_SEMVER_RANGE_MAX_LEN + 1] = 0;
  assert_int_equal(ggm_semver_range_parse(&r, big, strlen(big), 0, NULL), GG_ELIMIT);
  assert_null(r);
  /* more comparators than the cap */
  size_t k = 0;
  for (int i = 0; i < GGM_SEMVER_RANGE_MAX_COMPARATORS + 1; i++)
    k += (size_t)sprintf(big + k, ">%d ", i % 10);
  assert_int_equal(ggm_semver_range_parse(&r, big, k, 0, NULL), GG_ELIMIT);
  free(big);
  assert_int_equal(parse_v(&v, "1.2", 0), GG_EPARSE);
  assert_int_equal(parse_v(&v, "9007199254740992.0.0", 0), GG_EPARSE);
  assert_int_equal(parse_v(&v, "9007199254740991.0.0", 0), GG_OK);
  ggm_semver_free(&v);
  assert_int_equal(parse_r(&r, ">=1.2.3 <1.x.5", 0), GG_EPARSE);
  assert_int_equal(ggm_semver_satisfies("1.2.3", "^1.2", 0), 1);
  assert_int_equal(ggm_semver_satisfies("1.3.0-beta", "^1.2", 0), 0);
  assert_int_equal(ggm_semver_satisfies("1.3.0-beta", "^1.2", GGM_SEMVER_INCLUDE_PRERELEASE), 1);
  assert_int_equal(ggm_semver_satisfies("1.2.4-beta", "^1.2.4-alpha", 0), 1);
  assert_int_equal(ggm_semver_satisfies("nope", "*", 0), 0);
}

/* Every allocation failure is reported as GG_ENOMEM and leaks nothing. */
static void test_failing_allocator(void **state) {
  (void)state;
  const char *ranges[] = {"1.2.3 - 2.3.4 || ^0.0.1-beta.2 || ~1.x >=1.0.0-rc.1",
                          "^1.2.3-a.b.c+meta"};
  for (size_t k = 0; k < sizeof ranges / sizeof *ranges; k++) {
    int ok = 0;
    for (long n = 0; n < 500 && !ok; n++) {
      gg_failmem fm;
      gg_failmem_init(&fm, n);
      ggm_semver_range *r;
      int rc = ggm_semver_range_parse(&r, ranges[k], strlen(ranges[k]), 0, &fm.mem);
      if (rc == GG_OK) {
        ggm_semver v;
        rc = ggm_semver_parse(&v, "1.2.4-a.b.d", 11, 0, &fm.mem);
        if (rc == GG_OK) {
          ggm_semver m;
          rc = ggm_semver_range_min_version(r, &m, &fm.mem);
          if (rc == GG_OK) {
            ggm_semver_free(&m);
            ok = 1;
          }
          ggm_semver_free(&v);
        }
        ggm_semver_range_free(r);
      }
      if (!ok && rc != GG_ENOMEM) print_message("fail_after %ld: %s\n", n, gg_errname(rc));
      if (!ok) assert_int_equal(rc, GG_ENOMEM);
      assert_int_equal(fm.live, 0);
    }
    assert_true(ok);
  }
}

static void test_mentions_prerelease(void **state) {
  (void)state;
  ggm_semver_range *r;
  assert_int_equal(parse_r(&r, ">=1.0.0-alpha.1", 0), GG_OK);
  assert_true(ggm_semver_range_mentions_prerelease(r));
  ggm_semver_range_free(r);
  assert_int_equal(parse_r(&r, "^1.0.0 || 2.x", 0), GG_OK);
  assert_false(ggm_semver_range_mentions_prerelease(r)); /* "<2.0.0-0" bounds do not count */
  assert_int_equal(ggm_semver_range_nsets(r), 2);
  assert_null(ggm_semver_range_exact(r));
  ggm_semver_range_free(r);
  assert_int_equal(parse_r(&r, "=v1.2.3+build", 0), GG_OK);
  const ggm_semver *x = ggm_semver_range_exact(r);
  assert_non_null(x);
  assert_string_equal(fmt_v(x), "1.2.3");
  ggm_semver_range_free(r);
  assert_int_equal(parse_r(&r, "1.2", 0), GG_OK); /* an x-range, not one version */
  assert_null(ggm_semver_range_exact(r));
  ggm_semver_range_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_range_include),
      cmocka_unit_test(test_range_exclude),
      cmocka_unit_test(test_range_parse),
      cmocka_unit_test(test_comparisons),
      cmocka_unit_test(test_equality),
      cmocka_unit_test(test_valid_versions),
      cmocka_unit_test(test_invalid_versions),
      cmocka_unit_test(test_max_satisfying),
      cmocka_unit_test(test_min_satisfying),
      cmocka_unit_test(test_min_version),
      cmocka_unit_test(test_gtr),
      cmocka_unit_test(test_ltr),
      cmocka_unit_test(test_range_intersection),
      cmocka_unit_test(test_comparator_intersection),
      cmocka_unit_test(test_subset),
      cmocka_unit_test(test_increments),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_precedence_chain),
      cmocka_unit_test(test_caps_and_errors),
      cmocka_unit_test(test_failing_allocator),
      cmocka_unit_test(test_mentions_prerelease),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
