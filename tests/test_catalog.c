/*
 * Tests for the package catalog (src/store/catalog*.c): schema and migrations, ingest,
 * versions, deduplication, every search filter, typo tolerance, ranking by ggen's rules,
 * ownership claims, import of each ggen registry index, persistence across reopen, the
 * bounded search against an exhaustive one on a synthetic catalog, a killed writer and
 * injected I/O errors followed by integrity checks, and allocation failures.
 */
#include "gg_test.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggen/buf.h"
#include "ggen/catalog.h"
#include "ggen/err.h"
#include "ggen/synth.h"
#include "store/catalog_int.h"
#include "store/catalog_score.h"
#include "store/faultvfs.h"

typedef struct fx {
  char *dir;
  char path[512];
  ggs_catalog *cat;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  f->dir = gg_test_mkdtemp();
  snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
  if (ggs_catalog_open(&f->cat, f->path, GGS_CATALOG_CREATE, NULL) != GG_OK) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ggs_catalog_close(f->cat);
  gg_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* Splits "a,b,c" into at most 8 static slots. */
static size_t csv(const char *s, const char **out, char *buf, size_t cap) {
  size_t n = 0;
  if (s == NULL || *s == '\0') return 0;
  snprintf(buf, cap, "%s", s);
  for (char *p = buf; p && n < 8;) {
    out[n++] = p;
    p = strchr(p, ',');
    if (p) *p++ = '\0';
  }
  return n;
}

static void put(ggs_catalog *cat, const char *id, const char *desc, const char *tags,
                const char *kws, const char *author, const char *category, const char *license,
                uint64_t dl, uint64_t stars, const char *version) {
  const char *t[8], *k[8];
  char tb[256], kb[256];
  ggs_catalog_pkg p = {.id = id,
                       .description = desc,
                       .tags = t,
                       .n_tags = csv(tags, t, tb, sizeof(tb)),
                       .keywords = k,
                       .n_keywords = csv(kws, k, kb, sizeof(kb)),
                       .authors = author ? &author : NULL,
                       .n_authors = author ? 1 : 0,
                       .category = category,
                       .license = license,
                       .downloads = dl,
                       .stars = stars};
  assert_int_equal(ggs_catalog_put_package(cat, &p), GG_OK);
  if (version) {
    ggs_catalog_version v = {.version = version};
    assert_int_equal(ggs_catalog_put_version(cat, id, &v), GG_OK);
  }
}

static ggs_catalog_results *search(ggs_catalog *cat, const char *text) {
  ggs_catalog_query q = {.text = text};
  ggs_catalog_results *r = NULL;
  assert_int_equal(ggs_catalog_search(cat, &q, &r), GG_OK);
  return r;
}

/* Comma-separated ids of the results, for compact assertions. */
static const char *ids(const ggs_catalog_results *r) {
  static char buf[2048];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < r->n && o < sizeof(buf) - 300; i++)
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "", r->hits[i].id);
  if (getenv("GG_TEST_SCORES"))
    for (size_t i = 0; i < r->n && o < sizeof(buf) - 30; i++)
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %.2f", r->hits[i].score);
  return buf;
}

static void expect(ggs_catalog *cat, const ggs_catalog_query *q, const char *want) {
  ggs_catalog_results *r = NULL;
  assert_int_equal(ggs_catalog_search(cat, q, &r), GG_OK);
  assert_string_equal(ids(r), want);
  ggs_catalog_results_free(r);
}

static void expect_text(ggs_catalog *cat, const char *text, const char *want) {
  ggs_catalog_query q = {.text = text};
  expect(cat, &q, want);
}

static uint32_t header_u32(const char *path, long off) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char b[4];
  fseek(f, off, SEEK_SET);
  assert_int_equal(fread(b, 1, 4, f), 4);
  fclose(f);
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void header_set_u32(const char *path, long off, uint32_t v) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  fseek(f, off, SEEK_SET);
  assert_int_equal(fwrite(b, 1, 4, f), 4);
  fclose(f);
}

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

/* ---- schema ------------------------------------------------------------------------------ */

static void test_schema(void **state) {
  fx *f = *state;
  char wal[600];
  snprintf(wal, sizeof(wal), "%s-wal", f->path);
  put(f->cat, "a.b", "x", NULL, NULL, NULL, NULL, NULL, 0, 0, "1.0.0");
  assert_true(file_exists(wal)); /* WAL mode */
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  /* header: user_version at offset 60 is the schema version; WAL is file format 2 */
  assert_int_equal(header_u32(f->path, 60), GGS_CATALOG_SCHEMA_VERSION);
  FILE *fp = fopen(f->path, "rb");
  unsigned char hdr[20];
  assert_int_equal(fread(hdr, 1, 20, fp), 20);
  fclose(fp);
  assert_int_equal(hdr[18], 2);
  assert_int_equal(hdr[19], 2);

  /* read-only reopen sees the data; a missing file without CREATE is not found */
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, GGS_CATALOG_READONLY, NULL), GG_OK);
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
  assert_int_equal(st.packages, 1);
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  char missing[600];
  snprintf(missing, sizeof(missing), "%s/none.db", f->dir);
  ggs_catalog *c = (ggs_catalog *)0x1;
  assert_int_equal(ggs_catalog_open(&c, missing, 0, NULL), GG_ENOTFOUND);
  assert_ptr_equal(c, (ggs_catalog *)0x1); /* failed constructor leaves the out-pointer */

  /* a catalog from a newer program is refused, not migrated */
  header_set_u32(f->path, 60, GGS_CATALOG_SCHEMA_VERSION + 1);
  assert_int_equal(ggs_catalog_open(&c, f->path, GGS_CATALOG_CREATE, NULL), GG_EUNSUPPORTED);
  /* version 0 with tables in it is some other database: refused, untouched */
  header_set_u32(f->path, 60, 0);
  assert_int_equal(ggs_catalog_open(&c, f->path, GGS_CATALOG_CREATE, NULL), GG_EUNSUPPORTED);
  assert_int_equal(header_u32(f->path, 60), 0);
  header_set_u32(f->path, 60, GGS_CATALOG_SCHEMA_VERSION);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);

  /* not a database at all */
  char junk[600];
  snprintf(junk, sizeof(junk), "%s/junk.db", f->dir);
  fp = fopen(junk, "wb");
  for (int i = 0; i < 4096; i++) fputc(i * 7, fp);
  fclose(fp);
  assert_int_equal(ggs_catalog_open(&c, junk, GGS_CATALOG_CREATE, NULL), GG_ESTORAGE);
}

/* ---- ingest and versions ------------------------------------------------------------------ */

struct seen {
  int n;
  char first[32];
};

static int cb(void *ud, const ggs_catalog_vinfo *vi) {
  struct seen *s = ud;
  if (s->n++ == 0) snprintf(s->first, sizeof(s->first), "%s", vi->version);
  return s->n == 2 ? 7 : 0;
}

static void test_put_get_versions(void **state) {
  fx *f = *state;
  const char *authors[] = {"Alice", "Bob"}, *tags[] = {"rust", "cli"}, *kws[] = {"terminal"};
  ggs_catalog_pkg p = {.id = "io.ggen.rust.cli",
                       .name = "Rust CLI",
                       .description = "Generate clap\nsubcommands",
                       .license = "MIT",
                       .category = "rust",
                       .homepage = "https://example.org",
                       .authors = authors,
                       .n_authors = 2,
                       .tags = tags,
                       .n_tags = 2,
                       .keywords = kws,
                       .n_keywords = 1,
                       .downloads = 1234,
                       .stars = 5,
                       .production_ready = 1};
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_OK);
  ggs_catalog_dep deps[] = {{"io.ggen.macros.std", "^0.1"}, {"io.ggen.base", NULL}};
  const uint8_t key[32] = {1, 2, 3}, rec[5] = {9, 8, 7, 6, 5};
  ggs_catalog_version v = {.version = "1.9.0",
                           .cid = "bafkA",
                           .size = 100,
                           .published = 1700000000,
                           .publisher = key,
                           .publisher_len = 32,
                           .record = rec,
                           .record_len = 5,
                           .deps = deps,
                           .n_deps = 2};
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_OK);
  v.version = "1.10.0", v.cid = "bafkB";
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_OK);
  v.version = "2.0.0-beta.1", v.cid = "bafkC";
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_OK);
  v.version = "1.2.0", v.cid = "bafkD";
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_OK);

  /* versions are immutable: same CID again is a no-op, another CID is refused */
  v.version = "1.10.0", v.cid = "bafkB";
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_OK);
  v.cid = "bafkOTHER";
  assert_int_equal(ggs_catalog_put_version(f->cat, p.id, &v), GG_EEXIST);
  assert_int_equal(ggs_catalog_put_version(f->cat, "no.such", &v), GG_ENOTFOUND);

  ggs_catalog_info *info = NULL;
  assert_int_equal(ggs_catalog_get(f->cat, "IO.GGEN.RUST.CLI", NULL, &info), GG_OK); /* NOCASE */
  assert_string_equal(info->id, "io.ggen.rust.cli");
  assert_string_equal(info->name, "Rust CLI");
  assert_string_equal(info->description, "Generate clap\nsubcommands");
  assert_string_equal(info->license, "MIT");
  assert_string_equal(info->homepage, "https://example.org");
  assert_null(info->repository);
  assert_int_equal(info->n_authors, 2);
  assert_string_equal(info->authors[1], "Bob");
  assert_int_equal(info->n_tags, 2);
  assert_string_equal(info->tags[0], "rust");
  assert_int_equal(info->n_keywords, 1);
  assert_int_equal(info->downloads, 1234);
  assert_int_equal(info->production_ready, 1);
  /* a release beats a newer prerelease as "latest"; 1.10.0 > 1.9.0 numerically */
  assert_string_equal(info->latest, "1.10.0");
  assert_int_equal(info->n_versions, 4);
  assert_string_equal(info->versions[0].version, "2.0.0-beta.1");
  assert_string_equal(info->versions[1].version, "1.10.0");
  assert_string_equal(info->versions[2].version, "1.9.0");
  assert_string_equal(info->versions[3].version, "1.2.0");
  assert_int_equal(info->versions[2].n_deps, 2);
  assert_string_equal(info->versions[2].deps[0].id, "io.ggen.base");
  assert_string_equal(info->versions[2].deps[0].range, "*");
  assert_string_equal(info->versions[2].deps[1].range, "^0.1");
  assert_int_equal(info->versions[2].publisher_len, 32);
  assert_memory_equal(info->versions[2].publisher, key, 32);
  assert_int_equal(info->versions[2].record_len, 5);
  assert_memory_equal(info->versions[2].record, rec, 5);
  assert_int_equal(info->versions[2].published, 1700000000);
  ggs_catalog_info_free(info);

  /* one version by exact string; a missing one is not found */
  assert_int_equal(ggs_catalog_get(f->cat, p.id, "1.9.0", &info), GG_OK);
  assert_int_equal(info->n_versions, 1);
  assert_string_equal(info->versions[0].cid, "bafkA");
  ggs_catalog_info_free(info);
  assert_int_equal(ggs_catalog_get(f->cat, p.id, "9.9.9", &info), GG_ENOTFOUND);
  assert_int_equal(ggs_catalog_get(f->cat, "nope", NULL, &info), GG_ENOTFOUND);

  /* yanking moves "latest" down and back */
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "1.10.0", 1), GG_OK);
  assert_int_equal(ggs_catalog_get(f->cat, p.id, NULL, &info), GG_OK);
  assert_string_equal(info->latest, "1.9.0");
  assert_int_equal(info->versions[1].yanked, 1);
  ggs_catalog_info_free(info);
  ggs_catalog_results *r = search(f->cat, "rust");
  assert_int_equal(r->n, 1);
  assert_string_equal(r->hits[0].version, "1.9.0");
  ggs_catalog_results_free(r);
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "1.10.0", 0), GG_OK);
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "7.7.7", 1), GG_ENOTFOUND);
  /* only prereleases left unyanked: one of them is latest */
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "1.10.0", 1), GG_OK);
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "1.9.0", 1), GG_OK);
  assert_int_equal(ggs_catalog_yank(f->cat, p.id, "1.2.0", 1), GG_OK);
  assert_int_equal(ggs_catalog_get(f->cat, p.id, NULL, &info), GG_OK);
  assert_string_equal(info->latest, "2.0.0-beta.1");
  ggs_catalog_info_free(info);

  /* the resolver's view: every version, newest first, until the callback stops */
  struct seen seen = {0, ""};
  assert_int_equal(ggs_catalog_each_version(f->cat, p.id, cb, &seen), 7);
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.first, "2.0.0-beta.1");

  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
  assert_int_equal(st.packages, 1);
  assert_int_equal(st.versions, 4);
  assert_true(st.terms >= 5);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
}

static void test_limits_rejected(void **state) {
  fx *f = *state;
  ggs_catalog_pkg p = {.id = "bad id"};
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL); /* space */
  p.id = "";
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  p.id = NULL;
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  p.id = "ok.id";
  p.description = "bell\x07";
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  p.description = "bad utf8 \xc3\x28";
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  p.description = "fine: caf\xc3\xa9\n";
  const char *many[GGS_CATALOG_MAX_LIST + 1];
  for (size_t i = 0; i <= GGS_CATALOG_MAX_LIST; i++) many[i] = "t";
  p.tags = many;
  p.n_tags = GGS_CATALOG_MAX_LIST + 1;
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  const char *nl[] = {"two\nlines"};
  p.tags = nl;
  p.n_tags = 1;
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  char longid[GGS_CATALOG_MAX_ID + 2];
  memset(longid, 'a', sizeof(longid) - 1);
  longid[sizeof(longid) - 1] = '\0';
  p.tags = NULL;
  p.n_tags = 0;
  p.id = longid;
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  /* the limit counts bytes: a character that starts inside it and ends past it is over */
  memcpy(longid + GGS_CATALOG_MAX_ID - 1, "\xc3\xa9", 3);
  assert_int_equal(strlen(longid), GGS_CATALOG_MAX_ID + 1);
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  const char *bad_text[] = {"ctl \x01 inside a long run of plain text", "del \x7f also",
                            "long enough text, then a bad lead byte \xf8\x88\x80\x80",
                            "text that ends inside a character \xe2\x82"};
  p.id = "ok.id";
  for (size_t i = 0; i < 4; i++) {
    p.description = bad_text[i];
    assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_EINVAL);
  }
  p.description = "fine: caf\xc3\xa9\n";
  p.id = longid;
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
  assert_int_equal(st.packages, 0); /* nothing half-written */
  longid[GGS_CATALOG_MAX_ID] = '\0'; /* exactly the limit (the last character complete) */
  longid[GGS_CATALOG_MAX_ID - 1] = 'a';
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_OK);
  p.id = "ok.id";
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_OK);
  ggs_catalog_version v = {.version = "1.0 .0"};
  assert_int_equal(ggs_catalog_put_version(f->cat, "ok.id", &v), GG_EINVAL);
  ggs_catalog_query q = {.text = "x", .limit = GGS_CATALOG_MAX_LIMIT + 1};
  ggs_catalog_results *r = NULL;
  assert_int_equal(ggs_catalog_search(f->cat, &q, &r), GG_EINVAL);
  assert_null(r);
}

/* ---- search ------------------------------------------------------------------------------ */

static void test_dedup_and_update(void **state) {
  fx *f = *state;
  put(f->cat, "web.server", "an http server", "web,http", NULL, "ann", "web", "MIT", 10, 0,
      "0.1.0");
  ggs_catalog_version v = {.version = "0.3.0"};
  assert_int_equal(ggs_catalog_put_version(f->cat, "web.server", &v), GG_OK);
  v.version = "0.2.5";
  assert_int_equal(ggs_catalog_put_version(f->cat, "web.server", &v), GG_OK);
  ggs_catalog_results *r = search(f->cat, "server");
  assert_int_equal(r->n, 1); /* one row per id */
  assert_string_equal(r->hits[0].version, "0.3.0");
  assert_string_equal(r->hits[0].author, "ann");
  assert_string_equal(r->hits[0].category, "web");
  assert_string_equal(r->hits[0].license, "MIT");
  ggs_catalog_results_free(r);

  /* re-putting the metadata replaces tags and text everywhere, keeps the versions */
  put(f->cat, "Web.Server", "a gopher daemon", "gopher", NULL, "ann", "net", "MIT", 10, 0, NULL);
  expect_text(f->cat, "http", "");
  expect_text(f->cat, "gopher", "Web.Server");
  ggs_catalog_query q = {.text = "", .tags = (const char *[]){"web"}, .n_tags = 1};
  expect(f->cat, &q, "");
  q.category = "net";
  q.n_tags = 0;
  expect(f->cat, &q, "Web.Server");
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
  assert_int_equal(st.packages, 1);
  assert_int_equal(st.versions, 3);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
}

static void filter_set(ggs_catalog *cat) {
  put(cat, "alpha-search", "find things fast", "search,cli", NULL, "alice", "tools", "MIT", 5000,
      10, "1.0.0");
  put(cat, "beta-search", "web search engine", "search,web", NULL, "bob", "web", "Apache-2.0",
      100, 200, "1.0.0");
  put(cat, "gamma-tool", "a search tool for the terminal", "cli", NULL, "Alice", "tools", "MIT",
      50, 0, "1.0.0");
  put(cat, "delta-db", "database driver", "database", NULL, "carol", "database", "BSD-3-Clause",
      900000, 3000, "1.0.0");
}

static void test_filters(void **state) {
  fx *f = *state;
  filter_set(f->cat);
  /* beta: name 50 + description 20 + tag 10 + popularity 5.1; alpha: 50 + 10 + 6 */
  ggs_catalog_query q = {.text = "search"};
  expect(f->cat, &q, "beta-search,alpha-search,gamma-tool");
  q.tags = (const char *[]){"CLI", "search"};
  q.n_tags = 1;
  expect(f->cat, &q, "alpha-search,gamma-tool");
  q.n_tags = 2; /* repeatable: every tag must be present */
  expect(f->cat, &q, "alpha-search");
  q.n_tags = 0;
  q.author = "ALICE";
  expect(f->cat, &q, "alpha-search,gamma-tool");
  q.author = "ali"; /* equality, not substring */
  expect(f->cat, &q, "");
  q.author = NULL;
  q.category = "web";
  expect(f->cat, &q, "beta-search");
  q.category = NULL;
  q.license = "apache-2.0";
  expect(f->cat, &q, "beta-search");
  q.license = NULL;
  q.min_stars = 100;
  expect(f->cat, &q, "beta-search");
  q.min_stars = 0;
  q.min_downloads = 1000;
  expect(f->cat, &q, "alpha-search");
  q.min_downloads = 50;
  q.min_stars = 10;
  q.license = "MIT";
  expect(f->cat, &q, "alpha-search");

  /* no words: the filtered packages by popularity */
  ggs_catalog_query l = {.text = "", .tags = (const char *[]){"cli"}, .n_tags = 1};
  expect(f->cat, &l, "alpha-search,gamma-tool");
  ggs_catalog_query all = {.text = NULL, .limit = 2};
  expect(f->cat, &all, "delta-db,alpha-search");
  all.limit = 1;
  expect(f->cat, &all, "delta-db");
}

static void test_typos(void **state) {
  fx *f = *state;
  filter_set(f->cat);
  put(f->cat, "tmpl-kit", "template engine for generators", "templates", NULL, NULL, NULL, NULL,
      0, 0, NULL);
  ggs_catalog_results *r = search(f->cat, "serach"); /* transposition */
  assert_string_equal(ids(r), "beta-search,alpha-search,gamma-tool");
  assert_non_null(r->corrected);
  assert_string_equal(r->corrected, "search");
  ggs_catalog_results_free(r);
  expect_text(f->cat, "serch", "beta-search,alpha-search,gamma-tool");   /* deletion */
  expect_text(f->cat, "seaarch", "beta-search,alpha-search,gamma-tool"); /* insertion */
  expect_text(f->cat, "databse", "delta-db");
  expect_text(f->cat, "dtabaze", "delta-db");   /* two edits in a 7-letter word */
  expect_text(f->cat, "datbasse", "delta-db");  /* deletion + insertion */
  expect_text(f->cat, "dbtabasw", "delta-db");  /* two substitutions */
  expect_text(f->cat, "dzzabasw", "");          /* three edits: too far */
  expect_text(f->cat, "templat", "tmpl-kit");   /* completion */
  expect_text(f->cat, "ngine", "beta-search,tmpl-kit");
  r = search(f->cat, "web serach");
  assert_string_equal(r->corrected, "web search");
  assert_string_equal(r->hits[0].id, "beta-search");
  ggs_catalog_results_free(r);
  r = search(f->cat, "search");
  assert_null(r->corrected); /* nothing to correct */
  ggs_catalog_results_free(r);
  expect_text(f->cat, "zq", ""); /* too short to correct */
}

static void test_ranking(void **state) {
  fx *f = *state;
  put(f->cat, "other", "unrelated but famous", "misc", NULL, NULL, NULL, NULL, 50000000, 100000,
      NULL);
  put(f->cat, "finder", "a search library", NULL, NULL, NULL, NULL, NULL, 1000000, 1000, NULL);
  put(f->cat, "search-engine", "an engine", NULL, NULL, NULL, NULL, NULL, 1000000, 1000, NULL);
  put(f->cat, "search", "the exact one", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  /* outscores "search" on ggen's additive score (50+20+40+20+15), but exact comes first */
  put(f->cat, "search-search", "search everything", "search,search-cli,searchable,research",
      "search,searching", NULL, NULL, NULL, 90000, 500, NULL);
  ggs_catalog_results *r = search(f->cat, "Search");
  assert_string_equal(ids(r), "search,search-search,search-engine,finder");
  assert_int_equal(r->hits[0].exact, 1);
  assert_true(r->hits[0].score == 100.0); /* no popularity, no other match */
  assert_true(r->hits[1].score > r->hits[0].score);
  assert_true(r->hits[2].score == 50.0 + 10.0 + 5.0); /* contains + popularity caps */
  assert_true(r->hits[3].score == 20.0 + 15.0);
  ggs_catalog_results_free(r);

  /* equal text score: popularity decides, then downloads, then id */
  put(f->cat, "x-parser-b", "parser", NULL, NULL, NULL, NULL, NULL, 3000, 0, NULL);
  put(f->cat, "x-parser-a", "parser", NULL, NULL, NULL, NULL, NULL, 3000, 0, NULL);
  put(f->cat, "x-parser-c", "parser", NULL, NULL, NULL, NULL, NULL, 7000, 0, NULL);
  put(f->cat, "x-parser-d", "parser", NULL, NULL, NULL, NULL, NULL, 20000, 0, NULL);
  put(f->cat, "x-parser-e", "parser", NULL, NULL, NULL, NULL, NULL, 90000, 0, NULL);
  expect_text(f->cat, "parser", "x-parser-e,x-parser-d,x-parser-c,x-parser-a,x-parser-b");

  /* popularity changes the order; the index needs no rebuild for that */
  assert_int_equal(ggs_catalog_set_popularity(f->cat, "x-parser-b", 9000, 0), GG_OK);
  expect_text(f->cat, "parser", "x-parser-e,x-parser-d,x-parser-b,x-parser-c,x-parser-a");
  assert_int_equal(ggs_catalog_set_popularity(f->cat, "nope", 1, 1), GG_ENOTFOUND);
  /* bucket facets follow the new numbers */
  ggs_catalog_query q = {.text = "parser", .min_downloads = 8000};
  expect(f->cat, &q, "x-parser-e,x-parser-d,x-parser-b");
  assert_int_equal(ggs_catalog_optimize(f->cat), GG_OK);
  expect_text(f->cat, "parser", "x-parser-e,x-parser-d,x-parser-b,x-parser-c,x-parser-a");
  expect(f->cat, &q, "x-parser-e,x-parser-d,x-parser-b");
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);

  /* multi-word: ggen's phrase rules plus per-word credit */
  put(f->cat, "rust-web-kit", "tools for the web", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  put(f->cat, "web-rust-kit", "tools", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  put(f->cat, "rust-only", "tools", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  expect_text(f->cat, "rust web", "rust-web-kit,web-rust-kit,rust-only");
}

/* ggs_catalog_score gives what the search gives, from the fields alone (also for a corrected
 * query and several words). */
static void test_score_outside(void **state) {
  fx *f = *state;
  put(f->cat, "search-search", "search everything", "search,search-cli,Searchable,research",
      "search,searching", NULL, NULL, NULL, 90000, 500, NULL);
  put(f->cat, "finder", "a Search library", NULL, NULL, NULL, NULL, NULL, 1000000, 1000, NULL);
  put(f->cat, "Search", "the exact one", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  put(f->cat, "rust-web-kit", "tools for the web", "rust", NULL, NULL, NULL, NULL, 0, 3, NULL);
  const char *queries[] = {"search", "  SEARCH ", "serach", "rust web", "web"};
  for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
    ggs_catalog_results *r = search(f->cat, queries[qi]);
    assert_true(r->n > 0);
    const char *as = r->corrected ? r->corrected : queries[qi];
    for (size_t i = 0; i < r->n; i++) {
      ggs_catalog_info *info;
      assert_int_equal(ggs_catalog_get(f->cat, r->hits[i].id, NULL, &info), GG_OK);
      ggs_catalog_pkg p = {.id = info->id,
                           .name = info->name,
                           .description = info->description,
                           .tags = info->tags,
                           .n_tags = info->n_tags,
                           .keywords = info->keywords,
                           .n_keywords = info->n_keywords,
                           .downloads = info->downloads,
                           .stars = info->stars};
      int exact = -1;
      double sc = ggs_catalog_score(as, &p, &exact);
      if (sc != r->hits[i].score || exact != r->hits[i].exact)
        fail_msg("%s for \"%s\": %f/%d, search said %f/%d", r->hits[i].id, as, sc, exact,
                 r->hits[i].score, r->hits[i].exact);
      ggs_catalog_info_free(info);
    }
    ggs_catalog_results_free(r);
  }
  ggs_catalog_pkg none = {.id = "x"};
  assert_true(ggs_catalog_score("", &none, NULL) == 0.0);
  assert_true(ggs_catalog_score("zzz", &none, NULL) == 0.0);
}

static void test_owner(void **state) {
  fx *f = *state;
  const uint8_t k1[32] = {1}, k2[32] = {2};
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.x.pkg", k1, 32, 100), GG_OK);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.x.pkg", k1, 32, 200), GG_OK);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "IO.X.PKG", k2, 32, 300), GG_EOWNER);
  assert_string_equal(ggs_catalog_errmsg(f->cat), "package id IO.X.PKG is owned by another publisher key");
  uint8_t got[64];
  size_t n = 0;
  assert_int_equal(ggs_catalog_owner(f->cat, "io.x.PKG", got, sizeof(got), &n), GG_OK);
  assert_int_equal(n, 32);
  assert_memory_equal(got, k1, 32);
  assert_int_equal(ggs_catalog_owner(f->cat, "io.x.pkg", got, 8, &n), GG_EINVAL);
  assert_int_equal(ggs_catalog_owner(f->cat, "io.y", got, sizeof(got), &n), GG_ENOTFOUND);
  /* inside a bulk transaction a refused claim does not abort the batch */
  assert_int_equal(ggs_catalog_begin(f->cat, 2), GG_OK);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.y", k2, 32, 1), GG_OK);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.x.pkg", k2, 32, 1), GG_EOWNER);
  put(f->cat, "io.y", "y", NULL, NULL, NULL, NULL, NULL, 0, 0, "1.0.0");
  assert_int_equal(ggs_catalog_commit(f->cat), GG_OK);
  assert_int_equal(ggs_catalog_owner(f->cat, "io.y", got, sizeof(got), &n), GG_OK);
  assert_memory_equal(got, k2, 32);
  /* a rolled-back claim is gone */
  assert_int_equal(ggs_catalog_begin(f->cat, 1), GG_OK);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.z", k2, 32, 1), GG_OK);
  ggs_catalog_rollback(f->cat);
  assert_int_equal(ggs_catalog_owner(f->cat, "io.z", got, sizeof(got), &n), GG_ENOTFOUND);
  assert_int_equal(ggs_catalog_claim_owner(f->cat, "io.z", k1, 0, 1), GG_EINVAL);
}

/* ---- import ------------------------------------------------------------------------------- */

static void import_file(ggs_catalog *cat, const char *rel, int format, size_t pkgs, size_t vers) {
  char *path = gg_test_data_path(rel);
  assert_non_null(path);
  ggs_catalog_import_stats st;
  int err = ggs_catalog_import_json(cat, path, &st);
  if (err) fprintf(stderr, "%s: %s\n", rel, ggs_catalog_errmsg(cat));
  assert_int_equal(err, GG_OK);
  assert_int_equal(st.format, format);
  assert_int_equal(st.packages, pkgs);
  assert_int_equal(st.versions, vers);
  assert_int_equal(st.skipped, 0);
  free(path);
}

static void test_import_ggen(void **state) {
  fx *f = *state;
  static const struct {
    const char *file;
    int format;
    size_t n;
  } files[] = {
      {"ggen/marketplace_registry_index.json", GGS_INDEX_MARKETPLACE, 48},
      {"ggen/marketplace_registry_index_HEAD.json", GGS_INDEX_MARKETPLACE, 77},
      {"ggen/registry_index.json", GGS_INDEX_CORE, 2},
      {"ggen/docs_registry_index.json", GGS_INDEX_CORE, 1},
  };
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/f%zu.db", f->dir, i);
    ggs_catalog *c;
    assert_int_equal(ggs_catalog_open(&c, dir, GGS_CATALOG_CREATE, NULL), GG_OK);
    import_file(c, files[i].file, files[i].format, files[i].n, files[i].n);
    ggs_catalog_stats st;
    assert_int_equal(ggs_catalog_stats_get(c, &st), GG_OK);
    assert_int_equal(st.packages, files[i].n);
    assert_int_equal(st.versions, files[i].n);
    assert_int_equal(ggs_catalog_check(c), GG_OK);
    ggs_catalog_close(c);
  }
  /* everything into one catalog: the same id from two core indexes gets both versions */
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    import_file(f->cat, files[i].file, files[i].format, files[i].n, files[i].n);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(f->cat, "io.ggen.rust.cli-subcommand", NULL, &info), GG_OK);
  assert_int_equal(info->n_versions, 2);
  assert_string_equal(info->latest, "1.2.0");
  assert_string_equal(info->name, "Rust CLI Subcommand"); /* the last import's metadata */
  assert_string_equal(info->versions[1].source,
                      "https://github.com/seanchatmangpt/ggen.git#11ea0739a579165c33fde5fb4d5a347bed6f5c58");
  ggs_catalog_info_free(info);
  assert_int_equal(ggs_catalog_get(f->cat, "agent-context-crafter", NULL, &info), GG_OK);
  assert_string_equal(info->versions[0].deps[0].id, "agent-memory-forge");
  assert_string_equal(info->versions[0].deps[0].range, "*");
  ggs_catalog_info_free(info);
  assert_int_equal(ggs_catalog_get(f->cat, "wvda-soundness-dod", "1.0.0", &info), GG_OK);
  assert_string_equal(info->versions[0].sha256,
                      "9dd5fee6a6af8e2a2df313fba68ab7b1cf593480d1a78ca498dadcb734c6f6df");
  ggs_catalog_info_free(info);
  ggs_catalog_results *r = search(f->cat, "python web api");
  assert_true(r->n >= 1);
  assert_string_equal(r->hits[0].id, "io.ggen.python.web-api");
  ggs_catalog_results_free(r);
  r = search(f->cat, "agent-editor");
  assert_string_equal(r->hits[0].id, "agent-editor");
  assert_int_equal(r->hits[0].exact, 1);
  ggs_catalog_results_free(r);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
}

static void test_import_bad(void **state) {
  fx *f = *state;
  put(f->cat, "keep.me", "x", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL);
  ggs_catalog_import_stats st;
  const char *bad[] = {"", "not json", "[1,2]", "{}", "{\"packages\": 3}", "{\"packs\": []}",
                       "{\"packages\": [}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(ggs_catalog_import_json_buf(f->cat, bad[i], strlen(bad[i]), &st), GG_EPARSE);
  /* hostile entries are skipped and counted, good ones kept */
  gg_buf b;
  gg_buf_init(&b, NULL, SIZE_MAX);
  gg_buf_append_str(&b, "{\"packages\":[{\"name\":\"ok-one\",\"version\":\"1.0.0\"},"
                        "{\"version\":\"1.0.0\"},7,{\"name\":\"bad name\"},"
                        "{\"name\":\"ctl\\u0001\"},{\"name\":\"many-tags\",\"tags\":[");
  for (int i = 0; i < 100; i++) gg_buf_append_str(&b, i ? ",\"t\"" : "\"t\"");
  gg_buf_append_str(&b, "]},{\"name\":\"bad-ver\",\"version\":\"1 0\"}]}");
  assert_int_equal(ggs_catalog_import_json_buf(f->cat, (const char *)gg_buf_ptr(&b), gg_buf_len(&b), &st),
                   GG_OK);
  assert_int_equal(st.packages, 2); /* ok-one, bad-ver (its version skipped) */
  assert_int_equal(st.versions, 1);
  assert_int_equal(st.skipped, 6);
  gg_buf_free(&b);
  char missing[600];
  snprintf(missing, sizeof(missing), "%s/none.json", f->dir);
  assert_int_equal(ggs_catalog_import_json(f->cat, missing, &st), GG_ENOTFOUND);
  assert_int_equal(ggs_catalog_import_json(f->cat, f->dir, &st), GG_EIO);
  ggs_catalog_stats s;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &s), GG_OK);
  assert_int_equal(s.packages, 3);
  assert_int_equal(ggs_catalog_begin(f->cat, 1), GG_OK);
  assert_int_equal(ggs_catalog_import_json_buf(f->cat, "{}", 2, &st), GG_ESTATE);
  ggs_catalog_rollback(f->cat);
}

static void test_reopen(void **state) {
  fx *f = *state;
  char *path = gg_test_data_path("ggen/marketplace_registry_index_HEAD.json");
  assert_int_equal(ggs_catalog_import_json(f->cat, path, NULL), GG_OK);
  free(path);
  ggs_catalog_results *r = search(f->cat, "rust");
  char before[2048];
  snprintf(before, sizeof(before), "%s", ids(r));
  assert_true(r->n > 3);
  ggs_catalog_results_free(r);
  ggs_catalog_close(f->cat);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, GGS_CATALOG_READONLY, NULL), GG_OK);
  expect_text(f->cat, "rust", before);
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
  assert_int_equal(st.packages, 77);
  /* read-only: writes fail cleanly */
  ggs_catalog_pkg p = {.id = "new.one"};
  assert_int_equal(ggs_catalog_put_package(f->cat, &p), GG_ESTORAGE);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
}

/* ---- tokenizer ---------------------------------------------------------------------------- */

static int count_tok(void *ud, const char *tok, size_t n, size_t start, size_t end) {
  (void)start;
  (void)end;
  gg_buf *b = ud;
  gg_buf_append(b, tok, n > 8 ? 8 : n);
  gg_buf_append_byte(b, n > 8 ? '+' : ' ');
  return 0;
}

/* ASCII text takes a fast path and falls back to unicode61 for a token too long for its
 * buffer: every token once either way (the fast path once emitted the tokens before the
 * long one, and the fallback all of them again). */
static void test_tokenizer(void **state) {
  fx *f = *state;
  static const char *const texts[] = {"Alpha beta-GAMMA 42x", "caf\xc3\xa9 Alpha", NULL};
  static const char *const want[] = {"alpha beta gamma 42x ", "cafe alpha ", "alpha beta xxxxxxxx+z "};
  char *long_text = malloc(2000);
  snprintf(long_text, 2000, "Alpha beta %01500d z", 0);
  memset(long_text + 11, 'x', 1500);
  for (int i = 0; i < 3; i++) {
    const char *t = texts[i] ? texts[i] : long_text;
    gg_buf b;
    gg_buf_init(&b, NULL, SIZE_MAX);
    assert_int_equal(ggs__tokenize(f->cat, t, strlen(t), 0, count_tok, &b), GG_OK);
    gg_buf_append_byte(&b, 0);
    assert_string_equal((const char *)gg_buf_ptr(&b), want[i]);
    gg_buf_free(&b);
  }
  free(long_text);
}

/* ---- bulk transactions: staged rows equal row-by-row writes -------------------------------- */

/* One batch of puts with every case a staged batch must get right: new packages, a package
 * again (staged, and after its rows were flushed, with another case), versions again (no-op,
 * digests filled in, conflict), an unknown package, and operations that must see the staged
 * rows (stats, yank, popularity). Every return code goes into codes[]. */
static size_t run_batch(ggs_catalog *cat, size_t expected, int plain, int *codes) {
  size_t nc = 0;
  codes[nc++] = ggs_catalog_begin(cat, expected);
  char id[64], name[64], desc[128], tag[32], author[32], dep[64], ver[32];
  for (int i = 0; i < 600; i++) {
    snprintf(id, sizeof(id), i % 7 ? "pkg-%03d" : "Pkg-%03d", i);
    snprintf(name, sizeof(name), "Name %d", i);
    snprintf(desc, sizeof(desc), "word%d common text \"quoted\" %s", i % 37, i % 2 ? "odd" : "even");
    snprintf(tag, sizeof(tag), "t%d", i % 11);
    snprintf(author, sizeof(author), "auth%d", i % 13);
    const char *tags[2] = {tag, "all"}, *kws[1] = {"kw"}, *authors[1] = {author};
    ggs_catalog_pkg p = {.id = id,
                         .name = i % 3 ? NULL : name,
                         .description = i % 9 ? desc : NULL,
                         .license = i % 4 ? "MIT" : NULL,
                         .category = "cat",
                         .homepage = i % 5 ? NULL : "https://example.org/h",
                         .repository = "https://example.org/r",
                         .authors = authors,
                         .n_authors = 1,
                         .tags = tags,
                         .n_tags = 2,
                         .keywords = kws,
                         .n_keywords = (size_t)(i % 2),
                         /* plain: in popularity order (nothing to re-rank) */
                         .downloads = plain ? (uint64_t)(20000 - 30 * i)
                                            : (uint64_t)((i * 7919) % 20000),
                         .stars = plain ? 0 : (uint64_t)(i % 60),
                         .production_ready = i % 2};
    codes[nc++] = ggs_catalog_put_package(cat, &p);
    snprintf(ver, sizeof(ver), "1.0.%d", i);
    snprintf(dep, sizeof(dep), "pkg-%03d", (i + 1) % 600);
    ggs_catalog_dep deps[2] = {{dep, "^1"}, {"other", NULL}};
    ggs_catalog_version v = {.version = ver, .deps = deps, .n_deps = (size_t)(i % 3)};
    codes[nc++] = ggs_catalog_put_version(cat, id, &v);
    if (i % 5 == 0) {
      uint8_t key[4] = {1, 2, 3, (uint8_t)i};
      ggs_catalog_version v2 = {.version = "2.0.0-rc.1", .cid = "bafy", .size = 42,
                                .published = 1700000000, .publisher = key, .publisher_len = 4,
                                .record = key, .record_len = 3, .sha256 = "ab",
                                .source = "git#rev", .yanked = i % 10 == 0};
      codes[nc++] = ggs_catalog_put_version(cat, id, &v2);
    }
    if (plain) continue; /* only new packages and their versions */
    if (i == 300) {
      ggs_catalog_stats st = {0};
      codes[nc++] = ggs_catalog_stats_get(cat, &st);
      codes[nc++] = (int)st.packages; /* sees the staged packages */
    }
    if (i == 350) { /* flushed before (by the stats), another case, new popularity */
      ggs_catalog_pkg q = p;
      q.id = "PKG-010";
      q.downloads = 123456;
      codes[nc++] = ggs_catalog_put_package(cat, &q);
      ggs_catalog_version a = {.version = "1.0.10"}, b = {.version = "1.0.10", .sha256 = "cc"},
                          c = {.version = "1.0.10", .sha256 = "dd"};
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-010", &a);
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-010", &b);
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-010", &c);
    }
    if (i == 360) { /* staged since the flush: put again, versions again */
      ggs_catalog_pkg q = p;
      q.id = "PKG-320";
      q.name = "Renamed";
      q.downloads = 99999;
      codes[nc++] = ggs_catalog_put_package(cat, &q);
      ggs_catalog_version a = {.version = "1.0.320"}, b = {.version = "1.0.320", .sha256 = "ee"},
                          c = {.version = "1.0.320", .sha256 = "ff", .cid = "x"},
                          d = {.version = "1.0.320", .cid = "bafy2", .source = "s"};
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-320", &a);
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-320", &b);
      codes[nc++] = ggs_catalog_put_version(cat, "Pkg-320", &c);
      codes[nc++] = ggs_catalog_put_version(cat, "pkg-320", &d);
      codes[nc++] = ggs_catalog_put_version(cat, "nope", &a);
    }
    if (i == 500) { /* many versions, each put twice (the second time a no-op) */
      char many[32];
      for (int k = 0; k < 600; k++) {
        snprintf(many, sizeof(many), "0.%d.%d", k % 7, k);
        ggs_catalog_version mv = {.version = many, .sha256 = k % 2 ? "5a" : NULL};
        codes[nc++] = ggs_catalog_put_version(cat, id, &mv);
        codes[nc++] = ggs_catalog_put_version(cat, id, &mv);
      }
    }
    if (i == 400) {
      codes[nc++] = ggs_catalog_yank(cat, "pkg-399", "1.0.399", 1);
      codes[nc++] = ggs_catalog_set_popularity(cat, "pkg-398", 5000, 3);
    }
  }
  codes[nc++] = ggs_catalog_commit(cat);
  return nc;
}

/* Everything get() says about a package, as text. */
static void describe(ggs_catalog *cat, const char *id, gg_buf *out) {
  ggs_catalog_info *in = NULL;
  char line[512];
  int err = ggs_catalog_get(cat, id, NULL, &in);
  snprintf(line, sizeof(line), "%s: %d\n", id, err);
  gg_buf_append_str(out, line);
  if (err) return;
  snprintf(line, sizeof(line), "%s|%s|%s|%s|%s|%s|%s|%s|%s|%llu|%llu|%d|", in->id, in->name,
           in->description ? in->description : "-", in->license ? in->license : "-",
           in->category ? in->category : "-", in->homepage ? in->homepage : "-",
           in->repository ? in->repository : "-", in->documentation ? in->documentation : "-",
           in->latest ? in->latest : "-", (unsigned long long)in->downloads,
           (unsigned long long)in->stars, in->production_ready);
  gg_buf_append_str(out, line);
  for (size_t i = 0; i < in->n_tags; i++) gg_buf_append_str(out, in->tags[i]);
  for (size_t i = 0; i < in->n_keywords; i++) gg_buf_append_str(out, in->keywords[i]);
  for (size_t i = 0; i < in->n_authors; i++) gg_buf_append_str(out, in->authors[i]);
  for (size_t i = 0; i < in->n_versions; i++) {
    const ggs_catalog_vinfo *v = &in->versions[i];
    snprintf(line, sizeof(line), "\n  %s %s %llu %lld %zu %zu %s %s %d:", v->version,
             v->cid ? v->cid : "-", (unsigned long long)v->size, (long long)v->published,
             v->publisher_len, v->record_len, v->sha256 ? v->sha256 : "-",
             v->source ? v->source : "-", v->yanked);
    gg_buf_append_str(out, line);
    for (size_t d = 0; d < v->n_deps; d++) {
      snprintf(line, sizeof(line), " %s=%s", v->deps[d].id, v->deps[d].range);
      gg_buf_append_str(out, line);
    }
  }
  gg_buf_append_str(out, "\n");
  ggs_catalog_info_free(in);
}

static void describe_all(ggs_catalog *cat, gg_buf *out) {
  char id[32];
  for (int i = 0; i < 600; i++) {
    snprintf(id, sizeof(id), "pkg-%03d", i);
    describe(cat, id, out);
  }
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(cat, &st), GG_OK);
  char line[64];
  snprintf(line, sizeof(line), "%llu packages %llu versions\n", (unsigned long long)st.packages,
           (unsigned long long)st.versions);
  gg_buf_append_str(out, line);
  assert_int_equal(ggs_catalog_check(cat), GG_OK);
}

static void test_bulk_staged(void **state) {
  fx *f = *state;
  /* the reference: small expected count, so rows are written one by one */
  int ref[4000], got[4000];
  size_t nref = run_batch(f->cat, 10, 0, ref);
  assert_int_equal(ref[0], GG_OK);
  assert_int_equal(ref[nref - 1], GG_OK);
  gg_buf want, have;
  gg_buf_init(&want, NULL, SIZE_MAX);
  gg_buf_init(&have, NULL, SIZE_MAX);
  describe_all(f->cat, &want);
  /* staged into an empty catalog: once with the normal flush size, once flushing every few
   * packages */
  size_t flush_bytes = ggs__stage_flush_bytes;
  for (int round = 0; round < 2; round++) {
    char path[600];
    snprintf(path, sizeof(path), "%s/staged%d.db", f->dir, round);
    ggs_catalog *c;
    assert_int_equal(ggs_catalog_open(&c, path, GGS_CATALOG_CREATE, NULL), GG_OK);
    ggs__stage_flush_bytes = round ? 2000 : flush_bytes;
    size_t n = run_batch(c, 1000, 0, got);
    ggs__stage_flush_bytes = flush_bytes;
    assert_int_equal(n, nref);
    for (size_t i = 0; i < n; i++)
      if (got[i] != ref[i]) fail_msg("round %d: operation %zu returned %d, row by row %d", round, i, got[i], ref[i]);
    gg_buf_reset(&have);
    describe_all(c, &have);
    assert_int_equal(gg_buf_len(&have), gg_buf_len(&want));
    assert_memory_equal(gg_buf_ptr(&have), gg_buf_ptr(&want), gg_buf_len(&want));
    /* the index was built from the staged rows */
    ggs_catalog_results *r = search(c, "Renamed");
    assert_true(r->n >= 1);
    assert_string_equal(r->hits[0].id, "PKG-320");
    ggs_catalog_results_free(r);
    ggs_catalog_close(c);
  }
  /* only new packages, in popularity order: staged whole and indexed as they are written at
   * commit, or flushed every few packages and indexed by a rebuild: the same rows, index and
   * vocabulary */
  ggs_catalog_stats vs[2];
  char found[2][2048];
  for (int round = 0; round < 2; round++) {
    char path[600];
    snprintf(path, sizeof(path), "%s/plain%d.db", f->dir, round);
    ggs_catalog *c;
    assert_int_equal(ggs_catalog_open(&c, path, GGS_CATALOG_CREATE, NULL), GG_OK);
    ggs__stage_flush_bytes = round ? 2000 : flush_bytes;
    size_t n = run_batch(c, 1000, 1, got);
    ggs__stage_flush_bytes = flush_bytes;
    for (size_t i = 0; i < n; i++) assert_int_equal(got[i], GG_OK);
    gg_buf *b = round ? &have : &want;
    gg_buf_reset(b);
    describe_all(c, b); /* checks the index against the rows too */
    assert_int_equal(ggs_catalog_stats_get(c, &vs[round]), GG_OK);
    ggs_catalog_results *r = search(c, "word7 odd");
    snprintf(found[round], sizeof(found[round]), "%s", ids(r));
    ggs_catalog_results_free(r);
    ggs_catalog_close(c);
  }
  assert_int_equal(gg_buf_len(&have), gg_buf_len(&want));
  assert_memory_equal(gg_buf_ptr(&have), gg_buf_ptr(&want), gg_buf_len(&want));
  assert_int_equal(vs[1].terms, vs[0].terms);
  assert_true(vs[0].terms > 100);
  assert_true(strlen(found[0]) > 0);
  assert_string_equal(found[1], found[0]);
  /* a failed batch leaves nothing behind: rollback, and a staged batch abandoned by close */
  char path[600];
  snprintf(path, sizeof(path), "%s/abandoned.db", f->dir);
  ggs_catalog *c;
  assert_int_equal(ggs_catalog_open(&c, path, GGS_CATALOG_CREATE, NULL), GG_OK);
  assert_int_equal(ggs_catalog_begin(c, 1000), GG_OK);
  put(c, "gone.one", "x", NULL, NULL, NULL, NULL, NULL, 1, 1, "1.0.0");
  ggs_catalog_rollback(c);
  assert_int_equal(ggs_catalog_begin(c, 1000), GG_OK);
  put(c, "gone.two", "x", NULL, NULL, NULL, NULL, NULL, 1, 1, "1.0.0");
  ggs_catalog_close(c);
  assert_int_equal(ggs_catalog_open(&c, path, 0, NULL), GG_OK);
  ggs_catalog_stats st;
  assert_int_equal(ggs_catalog_stats_get(c, &st), GG_OK);
  assert_int_equal(st.packages, 0);
  ggs_catalog_close(c);
  gg_buf_free(&want);
  gg_buf_free(&have);
}

/* ---- the bounded search equals the exhaustive one ----------------------------------------------- */

static void synth_import(ggs_catalog *cat, ggm_synth *g, size_t first, size_t n) {
  gg_buf b;
  gg_buf_init(&b, NULL, SIZE_MAX);
  assert_int_equal(ggm_synth_json(g, first, n, &b), GG_OK);
  ggs_catalog_import_stats st;
  assert_int_equal(ggs_catalog_import_json_buf(cat, (const char *)gg_buf_ptr(&b), gg_buf_len(&b), &st),
                   GG_OK);
  assert_true(st.packages >= n - 2); /* a rare id collision merges two packages */
  gg_buf_free(&b);
}

static void test_bounded_equals_exhaustive(void **state) {
  fx *f = *state;
  ggm_synth *g;
  ggm_synth_settings ss = {.seed = 42, .packages = 4000, .vocab = 3000};
  assert_int_equal(ggm_synth_new(&g, &ss, NULL), GG_OK);
  /* two imports: the second is appended out of popularity order (no re-rank) */
  synth_import(f->cat, g, 0, 3000);
  synth_import(f->cat, g, 3000, 1000);
  const char *tags[] = {"data", "web", "cli"};
  size_t queries = 0, same = 0, found = 0, wanted = 0;
  for (size_t r = 0; r < 120; r++) {
    char text[128];
    size_t w = r < 40 ? r : (r < 80 ? 40 + (r - 40) * 30 : (r - 80) * 7);
    if (r < 80)
      snprintf(text, sizeof(text), "%s", ggm_synth_word(g, w));
    else
      snprintf(text, sizeof(text), "%s %s", ggm_synth_word(g, w), ggm_synth_word(g, w * 3 + 1));
    ggs_catalog_query q = {.text = text, .limit = 10};
    if (r % 4 == 3) {
      q.tags = &tags[r % 3];
      q.n_tags = 1;
    }
    ggs_catalog_results *a = NULL, *b = NULL;
    assert_int_equal(ggs__search(f->cat, &q, 0, &a), GG_OK);
    assert_int_equal(ggs__search(f->cat, &q, 1000000, &b), GG_OK);
    assert_true(a->candidates <= 9 * (10 + 32) + 32);
    char ia[2048];
    snprintf(ia, sizeof(ia), "%s", ids(a));
    queries++;
    for (size_t i = 0; i < b->n; i++) {
      wanted++;
      for (size_t j = 0; j < a->n; j++)
        if (!strcmp(a->hits[j].id, b->hits[i].id)) {
          found++;
          break;
        }
    }
    if (!strcmp(ia, ids(b)))
      same++;
    else if (getenv("GG_TEST_VERBOSE"))
      fprintf(stderr, "differs for '%s':\n  bounded    %s\n  exhaustive %s\n", text, ia, ids(b));
    ggs_catalog_results_free(a);
    ggs_catalog_results_free(b);
  }
  /* Differences come only from repeated hits of one word within the tags or keywords and
   * from substring-only matches (docs/catalog.md); they are rare and in the tail. */
  fprintf(stderr, "bounded == exhaustive for %zu of %zu queries, recall %zu/%zu\n", same, queries,
          found, wanted);
  assert_true(same * 100 >= queries * 85);
  assert_true(found * 100 >= wanted * 97);
  ggm_synth_del(g);
}

/* ---- crashes and I/O errors ---------------------------------------------------------------------- */

static void test_killed_writer(void **state) {
  fx *f = *state;
  ggm_synth *g;
  ggm_synth_settings ss = {.seed = 7, .packages = 6000};
  assert_int_equal(ggm_synth_new(&g, &ss, NULL), GG_OK);
  synth_import(f->cat, g, 0, 500);
  ggs_catalog_stats base;
  assert_int_equal(ggs_catalog_stats_get(f->cat, &base), GG_OK);
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  gg_buf b;
  gg_buf_init(&b, NULL, SIZE_MAX);
  assert_int_equal(ggm_synth_json(g, 500, 5000, &b), GG_OK);
  uint64_t expect_n = base.packages;
  int old_seen = 0, new_seen = 0;
  /* kill the importer at different moments: before, during and after its transaction */
  for (int round = 0; round < 8; round++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      ggs_catalog *c;
      if (ggs_catalog_open(&c, f->path, 0, NULL) != GG_OK) _exit(3);
      if (round == 0) { /* an explicit interrupted transaction */
        ggs_catalog_begin(c, 10);
        ggs_catalog_pkg p = {.id = "half.done"};
        ggs_catalog_put_package(c, &p);
        kill(getpid(), SIGKILL);
      }
      ggs_catalog_import_json_buf(c, (const char *)gg_buf_ptr(&b), gg_buf_len(&b), NULL);
      _exit(0); /* no close: like a crash right after */
    }
    usleep((useconds_t)(round * 150000));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ggs_catalog *c;
    assert_int_equal(ggs_catalog_open(&c, f->path, 0, NULL), GG_OK);
    assert_int_equal(ggs_catalog_check(c), GG_OK);
    ggs_catalog_stats st;
    assert_int_equal(ggs_catalog_stats_get(c, &st), GG_OK);
    if (st.packages == base.packages) {
      old_seen++;
    } else {
      new_seen++;
      assert_true(st.packages >= base.packages + 4990);
      expect_n = st.packages;
    }
    ggs_catalog_info *info;
    assert_int_equal(ggs_catalog_get(c, "half.done", NULL, &info), GG_ENOTFOUND);
    ggs_catalog_results *r = search(c, ggm_synth_word(g, 5));
    assert_true(r->n > 0);
    ggs_catalog_results_free(r);
    ggs_catalog_close(c);
  }
  fprintf(stderr, "killed writer: old state %d times, new state %d times (%llu packages)\n",
          old_seen, new_seen, (unsigned long long)expect_n);
  assert_true(old_seen > 0);
  gg_buf_free(&b);
  ggm_synth_del(g);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
}

static void test_io_errors(void **state) {
  fx *f = *state;
  assert_int_equal(ggs__faultvfs_install(), GG_OK);
  ggs_catalog_close(f->cat); /* reopen through the fault VFS (now the default) */
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
  char *path = gg_test_data_path("ggen/marketplace_registry_index.json");
  assert_int_equal(ggs_catalog_import_json(f->cat, path, NULL), GG_OK);
  free(path);
  path = gg_test_data_path("ggen/marketplace_registry_index_HEAD.json");
  int failures = 0;
  for (long n = 0;; n++) {
    ggs__faultvfs_arm(n);
    int err = ggs_catalog_import_json(f->cat, path, NULL);
    long inj = ggs__faultvfs_injected();
    ggs__faultvfs_arm(-1);
    ggs_catalog_close(f->cat);
    assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
    assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
    ggs_catalog_stats st;
    assert_int_equal(ggs_catalog_stats_get(f->cat, &st), GG_OK);
    if (err) {
      failures++;
      assert_true(inj > 0);
      assert_int_equal(st.packages, 48); /* all or nothing */
    } else {
      assert_int_equal(st.packages, 78); /* the two indexes share 47 names */
      if (inj == 0) break;
    }
    if (n > 5000) fail_msg("the import never completed");
  }
  free(path);
  fprintf(stderr, "I/O error injected at %d points\n", failures);
  assert_true(failures > 3);
  ggs_catalog_results *r = search(f->cat, "healthcare");
  assert_true(r->n > 0);
  ggs_catalog_results_free(r);
}

/* The same for an import into an empty catalog, whose rows are staged in memory and written
 * table by table at commit: an I/O error at any write leaves the catalog empty and intact. */
static void test_io_errors_staged(void **state) {
  fx *f = *state;
  assert_int_equal(ggs__faultvfs_install(), GG_OK);
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  ggm_synth *g;
  ggm_synth_settings ss = {.seed = 7, .packages = 300};
  assert_int_equal(ggm_synth_new(&g, &ss, NULL), GG_OK);
  gg_buf b;
  gg_buf_init(&b, NULL, SIZE_MAX);
  assert_int_equal(ggm_synth_json(g, 0, 300, &b), GG_OK);
  int failures = 0;
  char path[600], side[620];
  snprintf(path, sizeof(path), "%s/staged-io.db", f->dir);
  /* every write at first, then more and more sparsely (a few hundred writes in all) */
  for (long n = 0;; n += 1 + n / 6) {
    remove(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    remove(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    remove(side);
    ggs_catalog *c;
    assert_int_equal(ggs_catalog_open(&c, path, GGS_CATALOG_CREATE, NULL), GG_OK);
    ggs__faultvfs_arm(n);
    ggs_catalog_import_stats st;
    int err = ggs_catalog_import_json_buf(c, (const char *)gg_buf_ptr(&b), gg_buf_len(&b), &st);
    long inj = ggs__faultvfs_injected();
    ggs__faultvfs_arm(-1);
    ggs_catalog_close(c);
    assert_int_equal(ggs_catalog_open(&c, path, 0, NULL), GG_OK);
    assert_int_equal(ggs_catalog_check(c), GG_OK);
    ggs_catalog_stats cs;
    assert_int_equal(ggs_catalog_stats_get(c, &cs), GG_OK);
    if (err) {
      failures++;
      assert_true(inj > 0);
      assert_int_equal(cs.packages, 0); /* all or nothing */
    } else {
      assert_true(st.packages >= 290);
      assert_int_equal(cs.packages, st.packages);
    }
    ggs_catalog_close(c);
    if (!err && inj == 0) break;
    if (n > 100000) fail_msg("the import never completed");
  }
  fprintf(stderr, "staged import: I/O error injected at %d points\n", failures);
  assert_true(failures > 10);
  gg_buf_free(&b);
  ggm_synth_del(g);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
}

/* ---- allocation failures -------------------------------------------------------------------- */

static void test_failing_allocator(void **state) {
  fx *f = *state;
  char *path = gg_test_data_path("ggen/marketplace_registry_index.json");
  assert_int_equal(ggs_catalog_import_json(f->cat, path, NULL), GG_OK);
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  int completed = 0;
  for (long n = 0; n < 400 && !completed; n++) {
    gg_failmem fm;
    gg_failmem_init(&fm, n);
    ggs_catalog *c = NULL;
    int err = ggs_catalog_open(&c, f->path, 0, &fm.mem);
    if (err == GG_OK) {
      ggs_catalog_results *r = NULL;
      ggs_catalog_query q = {.text = "integraton", .tags = (const char *[]){"fhir"}, .n_tags = 1};
      err = ggs_catalog_search(c, &q, &r);
      if (err == GG_OK) {
        assert_true(r->n >= 1);
        ggs_catalog_results_free(r);
        ggs_catalog_info *info = NULL;
        err = ggs_catalog_get(c, "agent-editor", NULL, &info);
        if (err == GG_OK) {
          ggs_catalog_info_free(info);
          ggs_catalog_pkg p = {.id = "fm.pkg", .description = "failing allocator"};
          err = ggs_catalog_put_package(c, &p);
          completed = err == GG_OK;
        }
      }
      ggs_catalog_close(c);
    }
    if (!completed) assert_true(err == GG_ENOMEM || err == GG_ESTORAGE);
    assert_int_equal(fm.live, 0); /* nothing leaked on any path */
  }
  assert_true(completed);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
  free(path);
}

/* An import into an empty catalog (read in place, staged, index and vocabulary built at
 * commit) with the n-th allocation failing: refused as a whole, nothing leaked, catalog
 * still empty and intact. */
static void test_failing_allocator_import(void **state) {
  fx *f = *state;
  ggs_catalog_close(f->cat);
  f->cat = NULL;
  ggm_synth *g;
  ggm_synth_settings ss = {.seed = 9, .packages = 300};
  assert_int_equal(ggm_synth_new(&g, &ss, NULL), GG_OK);
  gg_buf b;
  gg_buf_init(&b, NULL, SIZE_MAX);
  assert_int_equal(ggm_synth_json(g, 0, 300, &b), GG_OK);
  int completed = 0, failed = 0;
  for (long n = 0; !completed; n += 1 + n / 10) {
    gg_failmem fm;
    gg_failmem_init(&fm, n);
    ggs_catalog *c = NULL;
    int err = ggs_catalog_open(&c, f->path, 0, &fm.mem);
    if (err == GG_OK) {
      err = ggs_catalog_import_json_buf(c, (const char *)gg_buf_ptr(&b), gg_buf_len(&b), NULL);
      completed = err == GG_OK;
      ggs_catalog_close(c);
    }
    if (!completed) {
      failed++;
      assert_true(err == GG_ENOMEM || err == GG_ESTORAGE);
      assert_int_equal(ggs_catalog_open(&c, f->path, 0, NULL), GG_OK);
      ggs_catalog_stats st;
      assert_int_equal(ggs_catalog_stats_get(c, &st), GG_OK);
      assert_int_equal(st.packages, 0);
      ggs_catalog_close(c);
    }
    assert_int_equal(fm.live, 0); /* nothing leaked on any path */
    if (n > 100000) fail_msg("the import never completed");
  }
  assert_true(failed > 10);
  assert_int_equal(ggs_catalog_open(&f->cat, f->path, 0, NULL), GG_OK);
  assert_int_equal(ggs_catalog_check(f->cat), GG_OK);
  gg_buf_free(&b);
  ggm_synth_del(g);
}

static void test_semver_order(void **state) {
  (void)state;
  const char *order[] = {"not-semver", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                         "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
                         "1.0.1", "1.2.0", "1.10.0", "10.0.0"};
  size_t n = sizeof(order) / sizeof(order[0]);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      int c = ggs__semver_cmp(order[i], strlen(order[i]), order[j], strlen(order[j]));
      int want = i < j ? -1 : i > j;
      assert_int_equal(c < 0 ? -1 : c > 0, want);
    }
  assert_int_equal(ggs__semver_cmp("1.0.0+build.5", 13, "1.0.0", 5), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_get_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_limits_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedup_and_update, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_typos, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ranking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_score_outside, setup, teardown),
      cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_ggen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_bad, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tokenizer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bulk_staged, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bounded_equals_exhaustive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_allocator, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_allocator_import, setup, teardown),
      cmocka_unit_test(test_semver_order),
      /* last: it makes the fault VFS the default for the rest of the process */
      cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_errors_staged, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
