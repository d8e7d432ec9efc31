/*
 * Tests for package manifests (src/market/manifest.c): all of ggen's real package.toml and
 * gpack.toml files load with the expected fields; the canonical write-back re-reads to an
 * equal manifest and is a fixed point; every validation error names file, line and column;
 * allocation failures leak nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "gg_test.h"
#include "ggen/err.h"
#include "ggen/manifest.h"

static int str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int list_eq(const char *const *a, size_t na, const char *const *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i])) return 0;
  return 1;
}

/* Same manifest data: every mapped field, dependencies as a set, and every top-level entry
 * other than the header and (gpack) [dependencies]. */
static int manifest_eq(const ggm_manifest *a, const ggm_manifest *b) {
  if (a->format != b->format || !str_eq(a->id, b->id) || !str_eq(a->name, b->name) ||
      !str_eq(a->version, b->version) || !str_eq(a->description, b->description) ||
      !str_eq(a->license, b->license) || !str_eq(a->category, b->category) ||
      !str_eq(a->homepage, b->homepage) || !str_eq(a->repository, b->repository) ||
      !str_eq(a->readme, b->readme) || !str_eq(a->ggen_compat, b->ggen_compat) ||
      !list_eq(a->authors, a->n_authors, b->authors, b->n_authors) ||
      !list_eq(a->tags, a->n_tags, b->tags, b->n_tags) ||
      !list_eq(a->keywords, a->n_keywords, b->keywords, b->n_keywords) || a->n_deps != b->n_deps)
    return 0;
  for (size_t i = 0; i < a->n_deps; i++) {
    size_t j = 0;
    while (j < b->n_deps && strcmp(a->deps[i].id, b->deps[j].id)) j++;
    if (j == b->n_deps || strcmp(a->deps[i].range, b->deps[j].range)) return 0;
  }
  const char *hname = a->format == GGM_MANIFEST_GPACK ? "gpack" : "package";
  size_t na = 0, nb = 0;
  for (size_t i = 0; i < ggm_toml_len(a->doc); i++) {
    size_t kl;
    const char *k = ggm_toml_key_at(a->doc, i, &kl);
    if (!strcmp(k, hname) || (a->format == GGM_MANIFEST_GPACK && !strcmp(k, "dependencies")))
      continue;
    na++;
    if (!ggm_toml_equal(ggm_toml_value_at(a->doc, i), ggm_toml_getn(b->doc, k, kl))) return 0;
  }
  for (size_t i = 0; i < ggm_toml_len(b->doc); i++) {
    const char *k = ggm_toml_key_at(b->doc, i, NULL);
    if (!strcmp(k, hname) || (b->format == GGM_MANIFEST_GPACK && !strcmp(k, "dependencies")))
      continue;
    nb++;
  }
  return na == nb;
}

/* Loads one file, checks the canonical write-back; returns the manifest (caller frees). */
static void load_and_roundtrip(const char *path, const char *name, ggm_manifest *m,
                               ggm_toml_error *err) {
  size_t len;
  char *src = gg_test_read_file(path, &len);
  assert_non_null(src);
  int rc = ggm_manifest_parse(m, name, src, len, 0, NULL, err);
  if (rc) print_message("%s\n", err->msg);
  assert_int_equal(rc, GG_OK);
  free(src);
  gg_buf out, out2;
  gg_buf_init(&out, NULL, 1 << 20);
  gg_buf_init(&out2, NULL, 1 << 20);
  assert_int_equal(ggm_manifest_write(m, &out), GG_OK);
  ggm_manifest back;
  ggm_toml_error e2;
  rc = ggm_manifest_parse(&back, "canonical", gg_buf_ptr(&out), gg_buf_len(&out),
                          GGM_MANIFEST_STRICT, NULL, &e2);
  if (rc) print_message("%s: canonical form does not load: %s\n", name, e2.msg);
  assert_int_equal(rc, GG_OK);
  assert_int_equal(e2.nwarnings, 0);
  if (!manifest_eq(m, &back)) print_message("%s: canonical form differs\n", name);
  assert_true(manifest_eq(m, &back));
  assert_int_equal(ggm_manifest_write(&back, &out2), GG_OK);
  assert_int_equal(gg_buf_len(&out), gg_buf_len(&out2));
  assert_memory_equal(gg_buf_ptr(&out), gg_buf_ptr(&out2), gg_buf_len(&out));
  ggm_manifest_free(&back);
  gg_buf_free(&out);
  gg_buf_free(&out2);
}

static int run_dir(const char *rel, int *nwarn) {
  char *dir = gg_test_require_data(rel);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l < 5 || strcmp(de->d_name + l - 5, ".toml")) continue;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    ggm_manifest m;
    ggm_toml_error err;
    load_and_roundtrip(path, de->d_name, &m, &err);
    assert_non_null(m.id);
    assert_non_null(m.version);
    assert_non_null(m.name);
    if (err.nwarnings) (*nwarn)++;
    ggm_manifest_free(&m);
    n++;
  }
  closedir(d);
  free(dir);
  return n;
}

static void test_all_ggen_files_load(void **state) {
  (void)state;
  int warned = 0;
  int np = run_dir("ggen/package-toml", &warned);
  int ng = run_dir("ggen/gpack-toml", &warned);
  print_message("loaded %d package.toml and %d gpack.toml files (%d with warnings)\n", np, ng,
                warned);
  assert_int_equal(np, 54);
  assert_int_equal(ng, 3);
  assert_int_equal(warned, 5); /* the five YAML-style "- item" lists */
}

static ggm_manifest load_rel(const char *rel, ggm_toml_error *err) {
  char *p = gg_test_require_data(rel);
  ggm_manifest m;
  const char *base = strrchr(rel, '/') + 1;
  load_and_roundtrip(p, base, &m, err);
  free(p);
  return m;
}

static void test_gpack_fields(void **state) {
  (void)state;
  ggm_toml_error err;
  ggm_manifest m = load_rel("ggen/gpack-toml/templates_cli_subcommand_gpack.toml", &err);
  assert_int_equal(m.format, GGM_MANIFEST_GPACK);
  assert_string_equal(m.id, "io.ggen.rust.cli-subcommand");
  assert_string_equal(m.name, "Rust CLI Subcommand");
  assert_string_equal(m.version, "0.1.0");
  assert_string_equal(m.license, "MIT");
  assert_string_equal(m.ggen_compat, ">=0.1.0");
  assert_int_equal(m.n_deps, 0);
  assert_int_equal(m.n_authors, 0);
  const ggm_toml_val *t = ggm_manifest_table(&m, "templates");
  assert_non_null(t);
  assert_string_equal(ggm_toml_str(ggm_toml_at(ggm_toml_get(t, "patterns"), 0), NULL), "*.tmpl");
  assert_non_null(ggm_manifest_table(&m, "rdf"));
  ggm_manifest_free(&m);

  /* the noun-verb file uses [package] with authors, categories and a [metadata] table */
  m = load_rel("ggen/gpack-toml/templates_cli_noun-verb-cli_gpack.toml", &err);
  assert_int_equal(m.format, GGM_MANIFEST_PACKAGE);
  assert_string_equal(m.id, "noun-verb-cli-generator");
  assert_int_equal(m.n_authors, 1);
  assert_string_equal(m.authors[0], "ggen-ai <noreply@ggen.io>");
  assert_string_equal(m.category, "development-tools");
  assert_string_equal(m.readme, "README.md");
  assert_string_equal(m.homepage,
                      "https://github.com/seanchatmangpt/ggen/tree/master/templates/cli");
  assert_int_equal(m.n_keywords, 5);
  ggm_manifest_free(&m);
}

static void test_package_fields(void **state) {
  (void)state;
  ggm_toml_error err;
  ggm_manifest m = load_rel("ggen/package-toml/agent-reasoning-mcp.toml", &err);
  assert_int_equal(m.format, GGM_MANIFEST_PACKAGE);
  assert_string_equal(m.id, "agent-reasoning-mcp");
  assert_string_equal(m.name, "agent-reasoning-mcp");
  assert_int_equal(m.n_deps, 2);
  assert_string_equal(m.deps[0].id, "agent-memory-forge");
  assert_string_equal(m.deps[0].range, "*");
  assert_true(m.deps[0].line > 0);
  assert_true(m.n_tags > 0); /* [package.tags] tags = [...] */
  assert_true(m.n_keywords > 0);
  assert_string_equal(m.authors[0], "ggen-team");
  assert_non_null(ggm_toml_get_path(m.doc, "package.metadata"));
  ggm_manifest_free(&m);

  /* a YAML-style list is read as an array, with a warning naming the line */
  m = load_rel("ggen/package-toml/customer-loyalty-rewards.toml", &err);
  assert_int_equal(err.nwarnings, 1);
  assert_non_null(strstr(err.warning, "customer-loyalty-rewards.toml:60:1: warning:"));
  const ggm_toml_val *f = ggm_manifest_table(&m, "features");
  assert_int_equal(ggm_toml_type_of(f), GGM_TOML_ARRAY);
  assert_true(ggm_toml_len(f) > 3);
  ggm_manifest_free(&m);

  /* the same file is refused in strict mode, with the position */
  char *p = gg_test_require_data("ggen/package-toml/customer-loyalty-rewards.toml");
  size_t len;
  char *src = gg_test_read_file(p, &len);
  assert_int_equal(ggm_manifest_parse(&m, "clr.toml", src, len, GGM_MANIFEST_STRICT, NULL, &err),
                   GG_EPARSE);
  assert_string_equal(err.msg, "clr.toml:60:3: expected '=' after key, found '\"'");
  assert_null(m.doc);
  free(src);
  free(p);
}

static void expect_bad(const char *src, const char *msg) {
  ggm_manifest m;
  ggm_toml_error err;
  int rc = ggm_manifest_parse(&m, "gpack.toml", src, strlen(src), 0, NULL, &err);
  if (rc != GG_EPARSE || strcmp(err.msg, msg))
    print_message("source:\n%s\ngot  '%s'\nwant '%s'\n", src, err.msg, msg);
  assert_int_equal(rc, GG_EPARSE);
  assert_string_equal(err.msg, msg);
  assert_null(m.id);
}

static void test_validation_errors(void **state) {
  (void)state;
  expect_bad("title = 1\n",
             "gpack.toml:1:1: not a package manifest: no [gpack] or [package] table");
  expect_bad("[gpack]\nname = \"x\"\nversion = \"1.0.0\"\n",
             "gpack.toml:1:1: [gpack] needs 'id' (the package id)");
  expect_bad("[gpack]\nid = \"io.x\"\n", "gpack.toml:1:1: [gpack] needs 'version' (a semantic "
                                         "version such as \"0.1.0\")");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0\"\n",
             "gpack.toml:3:11: version \"1.0\" is not a semantic version "
             "(MAJOR.MINOR.PATCH[-PRE][+BUILD])");
  expect_bad("[gpack]\nid = \"Io.X\"\nversion = \"1.0.0\"\n",
             "gpack.toml:2:6: package id \"Io.X\" is invalid: use dot-separated segments of "
             "[a-z0-9][a-z0-9_-]*, at most 128 bytes (e.g. \"io.ggen.rust.cli\")");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = 1\n",
             "gpack.toml:3:11: 'version' must be a string, not an integer");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\n[dependencies]\n\"io.y\" = \"\"\n",
             "gpack.toml:5:10: dependency 'io.y' needs a version range (a non-empty string such "
             "as \"^1.2\")");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\n[dependencies]\n\"../etc\" = \"1\"\n",
             "gpack.toml:5:12: dependency id '../etc' is not a package id (dot-separated "
             "[a-z0-9][a-z0-9_-]*, at most 128 bytes)");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\n[dependencies]\n\"io.x\" = \"1\"\n",
             "gpack.toml:5:10: package 'io.x' depends on itself");
  expect_bad("[package]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\", \"b\"]\n",
             "gpack.toml:4:22: dependency 'b' is listed twice");
  expect_bad("[package]\nname = \"a\"\nversion = \"1.0.0\"\ntags = [\"x\", \"\"]\n",
             "gpack.toml:4:14: item 2 of 'tags' is empty");
  expect_bad("[package]\nname = \"a\"\nversion = \"1.0.0\"\ntags = \"x\"\n",
             "gpack.toml:4:8: 'tags' must be an array of strings, not a string");
  expect_bad("[package]\nname = \"a\"\nversion = \"1.0.0\"\nlicense = \"M\\u0000T\"\n",
             "gpack.toml:4:11: 'license' contains a NUL character");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\nggen_compat = \"\\t\"\n",
             "gpack.toml:4:15: 'ggen_compat' must be a version range such as \">=0.1.0\"");
  expect_bad("[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\n[dependencies]\n\"io.y\" = 1\n",
             "gpack.toml:5:10: the range of dependency 'io.y' must be a string, not an integer");
  expect_bad(
      "[gpack]\nid = \"io.x\"\nversion = \"1.0.0\"\n[dependencies]\n\"io.y\" = \"^1.2 ||| x\"\n",
      "gpack.toml:5:10: dependency 'io.y' has an invalid version range \"^1.2 ||| x\" (npm "
      "syntax, e.g. \"^1.2\")");
  expect_bad("gpack = 1\n", "gpack.toml:1:9: 'gpack' must be a table");
}

static void test_id_and_version_rules(void **state) {
  (void)state;
  static const char *ids_ok[] = {"a", "io.ggen.rust.cli-subcommand", "hello-world",
                                 "workflow_engine", "0x.1-2_3"};
  static const char *ids_bad[] = {"",  ".a",  "a.",  "a..b", "-a", "a.-b",
                                  "A", "a b", "a/b", "é",    "_a", "a.b."};
  for (size_t i = 0; i < sizeof(ids_ok) / sizeof(*ids_ok); i++)
    assert_int_equal(ggm_manifest_check_id(ids_ok[i], strlen(ids_ok[i])), GG_OK);
  for (size_t i = 0; i < sizeof(ids_bad) / sizeof(*ids_bad); i++)
    assert_int_equal(ggm_manifest_check_id(ids_bad[i], strlen(ids_bad[i])), GG_EINVAL);
  char longid[GGM_MANIFEST_ID_MAX + 2];
  memset(longid, 'a', sizeof(longid));
  assert_int_equal(ggm_manifest_check_id(longid, GGM_MANIFEST_ID_MAX), GG_OK);
  assert_int_equal(ggm_manifest_check_id(longid, GGM_MANIFEST_ID_MAX + 1), GG_EINVAL);

  static const char *v_ok[] = {"0.0.0",
                               "1.2.3",
                               "10.20.30",
                               "1.0.0-alpha",
                               "1.0.0-alpha.1",
                               "1.0.0-0.3.7",
                               "1.0.0-x.7.z.92",
                               "1.0.0+20130313144700",
                               "1.0.0-beta+exp.sha.5114f85",
                               "1.0.0-rc.1+build.1",
                               "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
                               "1.0.0+0.build.1-rc.10000aaa-kk-0.1"};
  static const char *v_bad[] = {"1",          "1.2",       "1.2.3.4",   "01.1.1",   "1.01.1",
                                "1.1.01",     "v1.2.3",    "1.2.3-",    "1.2.3-01", "1.2.3+",
                                "1.2.3-a..b", "1.2.3+a+b", "1.2.3-a_b", " 1.2.3",   "1.2.3 ",
                                "1.2",        "-1.2.3",    ""};
  for (size_t i = 0; i < sizeof(v_ok) / sizeof(*v_ok); i++) {
    if (ggm_manifest_check_version(v_ok[i], strlen(v_ok[i])) != GG_OK)
      print_message("%s\n", v_ok[i]);
    assert_int_equal(ggm_manifest_check_version(v_ok[i], strlen(v_ok[i])), GG_OK);
  }
  for (size_t i = 0; i < sizeof(v_bad) / sizeof(*v_bad); i++) {
    if (ggm_manifest_check_version(v_bad[i], strlen(v_bad[i])) == GG_OK)
      print_message("%s\n", v_bad[i]);
    assert_int_equal(ggm_manifest_check_version(v_bad[i], strlen(v_bad[i])), GG_EINVAL);
  }
}

static void test_canonical_output(void **state) {
  (void)state;
  const char *src = "# comment\n[gpack]\nversion = \"0.1.0\"\nlicense = \"MIT\"\n"
                    "id = \"io.ggen.rust.cli\"\nextra = { a = 1 }\n\n"
                    "[dependencies]\n\"io.ggen.z\" = \"^1\"\n\"io.ggen.a\" = \">=0.2 <1\"\n"
                    "[templates]\npatterns = [\"*.tmpl\"]\n[preset]\nvars = { x = 'y' }\n";
  ggm_manifest m;
  ggm_toml_error err;
  assert_int_equal(ggm_manifest_parse(&m, "g.toml", src, strlen(src), 0, NULL, &err), GG_OK);
  assert_string_equal(m.name, "io.ggen.rust.cli"); /* defaults to the id */
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggm_manifest_write(&m, &out), GG_OK);
  const char *want = "[gpack]\nid = \"io.ggen.rust.cli\"\nname = \"io.ggen.rust.cli\"\n"
                     "version = \"0.1.0\"\nlicense = \"MIT\"\n"
                     "\n[gpack.extra]\na = 1\n"
                     "\n[dependencies]\n\"io.ggen.a\" = \">=0.2 <1\"\n\"io.ggen.z\" = \"^1\"\n"
                     "\n[templates]\npatterns = [\"*.tmpl\"]\n"
                     "\n[preset.vars]\nx = \"y\"\n";
  assert_int_equal(gg_buf_append_byte(&out, 0), GG_OK);
  assert_string_equal((const char *)gg_buf_ptr(&out), want);
  gg_buf_free(&out);
  ggm_manifest_free(&m);
  ggm_manifest_free(&m); /* safe twice */
}

static void test_package_dependency_forms(void **state) {
  (void)state;
  /* package.toml may also give ranges: [package.dependencies] id = "range" */
  const char *src = "[package]\nname = \"a\"\nversion = \"1.0.0\"\nauthor = \"me\"\n"
                    "[package.dependencies]\nzz = \"^1\"\nbb = \"*\"\n";
  ggm_manifest m;
  ggm_toml_error err;
  assert_int_equal(ggm_manifest_parse(&m, "p.toml", src, strlen(src), 0, NULL, &err), GG_OK);
  assert_int_equal(m.n_deps, 2);
  assert_string_equal(m.deps[0].range, "^1");
  assert_int_equal(m.deps[0].line, 6);
  assert_string_equal(m.authors[0], "me");
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggm_manifest_write(&m, &out), GG_OK);
  assert_int_equal(gg_buf_append_byte(&out, 0), GG_OK);
  assert_string_equal((const char *)gg_buf_ptr(&out),
                      "[package]\nname = \"a\"\nversion = \"1.0.0\"\nauthors = [\"me\"]\n"
                      "\n[package.dependencies]\nbb = \"*\"\nzz = \"^1\"\n");
  gg_buf_free(&out);
  ggm_manifest_free(&m);
}

static void test_alloc_failures(void **state) {
  (void)state;
  char *p = gg_test_require_data("ggen/package-toml/agent-reasoning-mcp.toml");
  size_t len;
  char *src = gg_test_read_file(p, &len);
  for (long k = 0;; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    ggm_manifest m;
    ggm_toml_error err;
    int rc = ggm_manifest_parse(&m, "a.toml", src, len, 0, &fm.mem, &err);
    if (rc == GG_OK) {
      /* and the writer, failing at each of its allocations */
      for (long j = 0;; j++) {
        fm.fail_after = fm.nallocs + j;
        long before = fm.live;
        gg_buf out;
        gg_buf_init(&out, NULL, 1 << 20);
        int wrc = ggm_manifest_write(&m, &out);
        gg_buf_free(&out);
        assert_int_equal(fm.live, before);
        if (wrc == GG_OK) break;
        assert_int_equal(wrc, GG_ENOMEM);
      }
      ggm_manifest_free(&m);
      assert_int_equal(fm.live, 0);
      break;
    }
    assert_int_equal(rc, GG_ENOMEM);
    assert_int_equal(fm.live, 0);
    assert_null(m.priv_);
  }
  free(src);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_ggen_files_load),      cmocka_unit_test(test_gpack_fields),
      cmocka_unit_test(test_package_fields),           cmocka_unit_test(test_validation_errors),
      cmocka_unit_test(test_id_and_version_rules),     cmocka_unit_test(test_canonical_output),
      cmocka_unit_test(test_package_dependency_forms), cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
