/*
 * Tests for ggen.lock reading and writing (include/ggen/lockfile.h): a lock as ggen writes
 * it, round trips with our keys, every validation rule with the position it reports,
 * consistency checks, determinism of the writer and allocation failures.
 */
#include <string.h>

#include "gg_test.h"
#include "ggen/err.h"
#include "ggen/lockfile.h"
#include "ggen/pack.h"

/* A lockfile in the shape ggen's own writer produces (toml::to_string_pretty of its
 * Lockfile struct: generated as a string, dependencies absent for a pack without any). */
static const char ggen_lock[] =
    "version = \"1.0\"\n"
    "generated = \"2025-10-11T08:15:02.123456Z\"\n"
    "\n"
    "[[packs]]\n"
    "id = \"io.ggen.rust.cli-subcommand\"\n"
    "version = \"0.1.0\"\n"
    "sha256 = \"ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12\"\n"
    "source = \"https://github.com/seanchatmangpt/ggen.git\"\n"
    "dependencies = [\"io.ggen.macros.std@0.1.3\"]\n"
    "pqc_signature = \"ignored\"\n"
    "\n"
    "[[packs]]\n"
    "id = \"io.ggen.macros.std\"\n"
    "version = \"0.1.3\"\n"
    "sha256 = \"CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34\"\n"
    "source = \"https://example.com\"\n";

static void test_ggen_shape(void **state) {
  (void)state;
  ggm_lock l;
  ggm_toml_error e;
  assert_int_equal(ggm_lock_parse(&l, NULL, ggen_lock, strlen(ggen_lock), NULL, &e), GG_OK);
  assert_string_equal(l.version, "1.0");
  assert_string_equal(l.generated, "2025-10-11T08:15:02.123456Z");
  assert_int_equal(l.n_packs, 2);
  /* sorted by id */
  assert_string_equal(l.packs[0].id, "io.ggen.macros.std");
  assert_int_equal(l.packs[0].n_deps, 0);
  assert_null(l.packs[0].cid);
  assert_null(l.packs[0].requested);
  const ggm_lock_pack *p = ggm_lock_find(&l, "io.ggen.rust.cli-subcommand");
  assert_non_null(p);
  assert_int_equal(p->n_deps, 1);
  assert_string_equal(p->deps[0], "io.ggen.macros.std@0.1.3");
  assert_null(ggm_lock_find(&l, "io.ggen.nope"));
  assert_int_equal(ggm_lock_check(&l, NULL, 0), GG_OK);
  ggm_lock_free(&l);
  ggm_lock_free(&l); /* zeroed: safe */
}

static void make_cid(const char *content, char text[GGM_CID_TEXT_MAX], char hex[65]) {
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_of((const uint8_t *)content, strlen(content), cid);
  assert_int_equal(ggm_pack_cid_text(cid, text), GG_OK);
  for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", cid[4 + i]);
}

static void test_roundtrip(void **state) {
  (void)state;
  char c1[GGM_CID_TEXT_MAX], h1[65], c2[GGM_CID_TEXT_MAX], h2[65];
  make_cid("archive one", c1, h1);
  make_cid("archive two", c2, h2);
  const char *d1[] = {"b.dep@2.0.0-rc.1", "a.dep@1.0.0"};
  ggm_lock_pack packs[] = {
      {.id = "z.root",
       .version = "1.2.3",
       .sha256 = h1,
       .source = "local",
       .cid = c1,
       .requested = "^1.2",
       .deps = d1,
       .n_deps = 2},
      {.id = "a.dep", .version = "1.0.0", .cid = c2},
      {.id = "b.dep",
       .version = "2.0.0-rc.1",
       .sha256 = h2,
       .source = "local",
       .requested = ">=2.0.0-rc.1"},
  };
  ggm_lock in = {
      .version = "1.0", .generated = "2026-01-01T00:00:00Z", .packs = packs, .n_packs = 3};
  gg_buf b, b2;
  gg_buf_init(&b, NULL, 1 << 20);
  gg_buf_init(&b2, NULL, 1 << 20);
  assert_int_equal(ggm_lock_write(&in, &b), GG_OK);
  ggm_lock l;
  ggm_toml_error e;
  int rv = ggm_lock_parse(&l, "t.lock", gg_buf_ptr(&b), gg_buf_len(&b), NULL, &e);
  if (rv) fail_msg("%s\n%.*s", e.msg, (int)gg_buf_len(&b), (char *)gg_buf_ptr(&b));
  assert_int_equal(l.n_packs, 3);
  assert_string_equal(l.packs[0].id, "a.dep");
  assert_string_equal(l.packs[0].cid, c2);
  assert_null(l.packs[0].sha256);
  assert_string_equal(l.packs[2].id, "z.root");
  assert_string_equal(l.packs[2].requested, "^1.2");
  assert_string_equal(l.packs[2].sha256, h1);
  assert_string_equal(l.packs[2].deps[0], "a.dep@1.0.0"); /* sorted */
  assert_int_equal(ggm_lock_check(&l, NULL, 0), GG_OK);
  /* writing the parsed lock gives the same bytes (deterministic, order-independent) */
  assert_int_equal(ggm_lock_write(&l, &b2), GG_OK);
  assert_int_equal(gg_buf_len(&b), gg_buf_len(&b2));
  assert_memory_equal(gg_buf_ptr(&b), gg_buf_ptr(&b2), gg_buf_len(&b));
  ggm_lock_free(&l);
  /* the text starts with the header comment and the keys ggen reads */
  assert_non_null(
      strstr((char *)gg_buf_ptr(&b), "version = \"1.0\"\ngenerated = \"2026-01-01T00:00:00Z\""));
  assert_non_null(
      strstr((char *)gg_buf_ptr(&b), "[[packs]]\nid = \"a.dep\"\nversion = \"1.0.0\"\ncid = "));
  gg_buf_free(&b);
  gg_buf_free(&b2);
}

static void test_write_refuses(void **state) {
  (void)state;
  char c1[GGM_CID_TEXT_MAX], h1[65], c2[GGM_CID_TEXT_MAX], h2[65];
  make_cid("x", c1, h1);
  make_cid("y", c2, h2);
  const char *bad_dep[] = {"nodep"};
  const char *dup_dep[] = {"a@1.0.0", "a@1.0.0"};
  ggm_lock_pack cases[][2] = {
      {{.id = "../evil", .version = "1.0.0"}, {0}},
      {{.id = "a", .version = "1.0"}, {0}},
      {{.id = "a", .version = "1.0.0", .sha256 = "zz"}, {0}},
      {{.id = "a", .version = "1.0.0", .sha256 = h1, .cid = c2}, {0}}, /* they disagree */
      {{.id = "a", .version = "1.0.0", .requested = "not a range !"}, {0}},
      {{.id = "a", .version = "1.0.0", .deps = bad_dep, .n_deps = 1}, {0}},
      {{.id = "a", .version = "1.0.0", .deps = dup_dep, .n_deps = 2}, {0}},
      {{.id = "a", .version = "1.0.0"}, {.id = "a", .version = "2.0.0"}}, /* duplicate id */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ggm_lock l = {.packs = cases[i], .n_packs = cases[i][1].id ? 2 : 1};
    gg_buf b;
    gg_buf_init(&b, NULL, 1 << 20);
    if (ggm_lock_write(&l, &b) != GG_EINVAL) fail_msg("case %zu accepted", i);
    gg_buf_free(&b);
  }
}

static void expect_err(const char *text, int code, const char *where, const char *what) {
  ggm_lock l;
  ggm_toml_error e;
  int rv = ggm_lock_parse(&l, "ggen.lock", text, strlen(text), NULL, &e);
  if (rv != code) fail_msg("want %d got %d (%s) for:\n%s", code, rv, e.msg, text);
  if (where && strncmp(e.msg, where, strlen(where)) != 0)
    fail_msg("message '%s' does not start with '%s'", e.msg, where);
  if (what && !strstr(e.msg, what)) fail_msg("message '%s' lacks '%s'", e.msg, what);
  assert_null(l.packs);
  assert_int_equal(l.n_packs, 0);
}

static void test_parse_errors(void **state) {
  (void)state;
  char c1[GGM_CID_TEXT_MAX], h1[65], c2[GGM_CID_TEXT_MAX], h2[65];
  make_cid("x", c1, h1);
  make_cid("y", c2, h2);
  char buf[1024];
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"../x\"\nversion = \"1.0.0\"\n", GG_EPARSE,
             "ggen.lock:3:6:", "not a valid package id");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\n", GG_EPARSE,
             "ggen.lock:", "has no version");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"01.0.0\"\n", GG_EPARSE,
             "ggen.lock:4:11:", "not a semantic version");
  expect_err("version = \"2.0\"\n", GG_EPARSE, "ggen.lock:1:11:", "not supported");
  expect_err("packs = []\n", GG_EPARSE, NULL, "no version key");
  expect_err("version = \"1.0\"\npacks = 3\n", GG_EPARSE, "ggen.lock:2:9:", "array of tables");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\n[[packs]]\nid = "
             "\"a\"\nversion = \"1.0.1\"\n",
             GG_EPARSE, NULL, "appears twice");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\\u0000b\"\nversion = \"1.0.0\"\n", GG_EPARSE,
             "ggen.lock:3:6:", "NUL");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\nsha256 = \"xyz\"\n",
             GG_EPARSE, "ggen.lock:5:10:", "64 hexadecimal");
  snprintf(buf, sizeof buf,
           "version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\nsha256 = \"%s\"\ncid = "
           "\"%s\"\n",
           h1, c2);
  expect_err(buf, GG_EPARSE, "ggen.lock:6:7:", "different archives");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ncid = \"bafy\"\n",
             GG_EPARSE, "ggen.lock:5:7:", "not a CIDv1");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\nrequested = \">>1\"\n",
             GG_EPARSE, "ggen.lock:5:13:", "not a valid range");
  expect_err(
      "version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n",
      GG_EPARSE, "ggen.lock:5:17:", "not \"id@version\"");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ndependencies = "
             "[\"b@1.0.0\", \"b@1.0.1\"]\n",
             GG_EPARSE, NULL, "depends on b twice");
  expect_err(
      "version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ndependencies = \"b@1.0.0\"\n",
      GG_EPARSE, "ggen.lock:5:16:", "must be an array");
  expect_err("version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = 1\n", GG_EPARSE,
             "ggen.lock:4:11:", "must be a string, not integer");
  expect_err("version = \"1.0\"\nversion = \"1.0\"\n", GG_EPARSE, "ggen.lock:2:", NULL);
  /* a date-time `generated` (hand-written TOML) is accepted and given back as text */
  ggm_lock l;
  const char *dt = "version = \"1\"\ngenerated = 2026-02-03T04:05:06+01:30\n";
  assert_int_equal(ggm_lock_parse(&l, NULL, dt, strlen(dt), NULL, NULL), GG_OK);
  assert_string_equal(l.generated, "2026-02-03T04:05:06+01:30");
  assert_int_equal(l.n_packs, 0);
  ggm_lock_free(&l);
}

static void test_limits(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 64u << 20);
  gg_buf_append_str(&b, "version = \"1.0\"\n");
  for (int i = 0; i <= GGM_LOCK_MAX_PACKS; i++) {
    char t[96];
    snprintf(t, sizeof t, "[[packs]]\nid = \"p%d\"\nversion = \"1.0.0\"\n", i);
    gg_buf_append_str(&b, t);
  }
  ggm_lock l;
  ggm_toml_error e;
  assert_int_equal(ggm_lock_parse(&l, NULL, gg_buf_ptr(&b), gg_buf_len(&b), NULL, &e), GG_ELIMIT);
  gg_buf_reset(&b);
  gg_buf_append_str(
      &b, "version = \"1.0\"\n[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ndependencies = [");
  for (int i = 0; i <= GGM_LOCK_MAX_DEPS; i++) {
    char t[32];
    snprintf(t, sizeof t, "\"d%d@1.0.0\",", i);
    gg_buf_append_str(&b, t);
  }
  gg_buf_append_str(&b, "]\n");
  assert_int_equal(ggm_lock_parse(&l, NULL, gg_buf_ptr(&b), gg_buf_len(&b), NULL, &e), GG_EPARSE);
  assert_non_null(strstr(e.msg, "more than 256 dependencies"));
  gg_buf_free(&b);
}

static void test_check(void **state) {
  (void)state;
  const char *text = "version = \"1.0\"\n"
                     "[[packs]]\nid = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b@2.0.0\"]\n"
                     "[[packs]]\nid = \"b\"\nversion = \"2.1.0\"\n"
                     "[[packs]]\nid = \"c\"\nversion = \"1.0.0\"\ndependencies = [\"d@1.0.0\"]\n";
  ggm_lock l;
  assert_int_equal(ggm_lock_parse(&l, NULL, text, strlen(text), NULL, NULL), GG_OK);
  char why[256];
  assert_int_equal(ggm_lock_check(&l, why, sizeof why), GG_ENOTFOUND);
  assert_string_equal(why, "a@1.0.0 depends on b@2.0.0, which the lockfile does not hold (it has "
                           "version 2.1.0)");
  ggm_lock_free(&l);
  size_t il;
  assert_int_equal(ggm_lock_split_dep("a.b@1.0.0", &il), GG_OK);
  assert_int_equal(il, 3);
  assert_int_equal(ggm_lock_split_dep("@1.0.0", &il), GG_EINVAL);
  assert_int_equal(ggm_lock_split_dep("a@", &il), GG_EINVAL);
}

static void test_alloc_failures(void **state) {
  (void)state;
  for (long n = 0;; n++) {
    gg_failmem fm;
    gg_failmem_init(&fm, n);
    ggm_lock l;
    int rv = ggm_lock_parse(&l, NULL, ggen_lock, strlen(ggen_lock), &fm.mem, NULL);
    if (rv == GG_OK) {
      gg_buf b;
      gg_buf_init(&b, &fm.mem, 1 << 20);
      int wr = ggm_lock_write(&l, &b);
      gg_buf_free(&b);
      ggm_lock_free(&l);
      assert_int_equal(fm.live, 0);
      if (wr == GG_OK) break;
      assert_int_equal(wr, GG_ENOMEM);
      continue;
    }
    assert_int_equal(rv, GG_ENOMEM);
    assert_int_equal(fm.live, 0);
    assert_true(n < 10000);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ggen_shape),     cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_write_refuses),  cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_limits),         cmocka_unit_test(test_check),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
