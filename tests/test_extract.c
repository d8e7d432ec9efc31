/*
 * Safe extraction. One test per hostile archive of test-data/archives-hostile (the 14
 * generated cases of cases.json and the 6 libarchive reference archives of its MANIFEST):
 * each is refused with the expected reason at the expected entry, raw and zstd-compressed,
 * and afterwards the sandbox around the target holds exactly what it held before (no target,
 * no temporary directory, nothing in the parents) and no absolute path named by the case
 * exists. Then: round trip with ggm_pack, policy cases built here (duplicates, devices, fifos,
 * names), every limit, corrupt/truncated/trailing zstd data, foreign formats, allocation
 * failures.
 */
#include "gg_test.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/extract.h"
#include "ggen/pack.h"

/* ---- sandbox --------------------------------------------------------------------------------
 * sb/outer/inner/pkg is the target: an escape by one or two ".." lands in inner/ or outer/,
 * which must stay empty. */

typedef struct sandbox {
  char *root;
  char target[512];
} sandbox;

static void sb_init(sandbox *sb) {
  sb->root = gg_test_mkdtemp();
  char p[512];
  snprintf(p, sizeof(p), "%s/outer", sb->root);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof(p), "%s/outer/inner", sb->root);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(sb->target, sizeof(sb->target), "%s/outer/inner/pkg", sb->root);
}

/* Counts entries under dir (recursively, not following links). */
static int count_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    n++;
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) n += count_tree(p);
  }
  closedir(d);
  return n;
}

/* After a refusal: only outer/ and outer/inner/ remain. */
static void sb_check_untouched(sandbox *sb) {
  assert_int_equal(count_tree(sb->root), 2);
  struct stat st;
  assert_int_equal(lstat(sb->target, &st), -1);
}

static void sb_free(sandbox *sb) {
  gg_test_rmtree(sb->root);
  free(sb->root);
}

static uint8_t *zstd_of(const uint8_t *p, size_t n, size_t *zn) {
  size_t cap = ZSTD_compressBound(n);
  uint8_t *z = malloc(cap);
  size_t r = ZSTD_compress(z, cap, p, n, 3);
  assert_false(ZSTD_isError(r));
  *zn = r;
  return z;
}

/* ---- the hostile suite ----------------------------------------------------------------------- */

typedef struct hostile {
  const char *file;  /* under archives-hostile/ */
  const char *id;    /* case id in cases.json, NULL for the libarchive set */
  int reason;        /* expected GGM_XR_* */
  const char *entry; /* expected offending entry (as printed in res.path) */
  int zip;           /* needs GGM_EXTRACT_ANY_FORMAT */
} hostile;

static const hostile hostiles[] = {
    {"generated/symlink-in-tree-then-write-through.tar", "symlink-in-tree-then-write-through",
     GGM_XR_LINK, "link_to_dir", 0},
    {"generated/absolute-symlink-then-write-through.tar", "absolute-symlink-then-write-through",
     GGM_XR_LINK, "abs_link", 0},
    {"generated/nested-dotdot-symlink-then-write-through.tar",
     "nested-dotdot-symlink-then-write-through", GGM_XR_LINK, "dir/nested_link_to_dir", 0},
    {"generated/dir-entry-over-symlink.tar", "dir-entry-over-symlink", GGM_XR_LINK, "link_to_dir3",
     0},
    {"generated/absolute-path.tar", "absolute-path", GGM_XR_PATH,
     "/tmp/libarchive_test-absolute_path.tmp", 0},
    {"generated/dotdot-path.tar", "dotdot-path", GGM_XR_PATH, "a/b/c/../d", 0},
    {"generated/hardlink-target-dotdot.tar", "hardlink-target-dotdot", GGM_XR_LINK, "bar", 0},
    {"generated/hardlink-through-symlink.tar", "hardlink-through-symlink", GGM_XR_LINK, "sym", 0},
    {"generated/symlink-escapes-vs-valid-relative.tar", "symlink-escapes-vs-valid-relative",
     GGM_XR_LINK, "bar/link.txt", 0},
    {"generated/symlink-chain-escape.tar", "symlink-chain-escape", GGM_XR_LINK, "a/b/up", 0},
    {"generated/symlink-dotdot-targets.tar", "symlink-dotdot-targets", GGM_XR_LINK, "dotdot", 0},
    {"generated/windows-drive-relative.tar", "windows-drive-relative", GGM_XR_PATH, "C:../x/y/z",
     0},
    {"generated/self-referential-hardlink.tar", "self-referential-hardlink", GGM_XR_LINK,
     "autolink", 0},
    {"generated/duplicate-entry-type-change.tar", "duplicate-entry-type-change", GGM_XR_LINK, "x",
     0},
    {"libarchive/test_leading_slash.tar", NULL, GGM_XR_PATH, "/foo/file", 0},
    {"libarchive/test_patterns_2.tar", NULL, GGM_XR_PATH, "/tmp/foo/", 0},
    {"libarchive/test_patterns_3.tar", NULL, GGM_XR_PATH, "/tmp/foo/bar/", 0},
    {"libarchive/test_patterns_4.tar", NULL, GGM_XR_PATH, "/file01", 0},
    {"libarchive/test_symlink_1.zip", NULL, GGM_XR_LINK, "dlink", 1},
    {"libarchive/test_symlink_dotdot.zip", NULL, GGM_XR_LINK, "dotdot", 1},
};
#define NHOSTILE (sizeof(hostiles) / sizeof(hostiles[0]))

/* Absolute paths a case names (entry names and link targets): none may exist afterwards
 * unless it existed before. */
static json_t *case_json(const char *id) {
  char *path = gg_test_require_data("archives-hostile/cases.json");
  json_error_t je;
  json_t *all = json_load_file(path, 0, &je);
  free(path);
  assert_non_null(all);
  json_t *cases = json_object_get(all, "cases"), *c;
  size_t i;
  json_array_foreach(cases, i, c) {
    if (!strcmp(json_string_value(json_object_get(c, "id")), id)) {
      json_incref(c);
      json_decref(all);
      return c;
    }
  }
  json_decref(all);
  fail_msg("case %s not in cases.json", id);
  return NULL;
}

static void absolute_paths(const hostile *h, char out[8][256], int *n) {
  *n = 0;
  if (h->id == NULL) return;
  json_t *c = case_json(h->id), *e;
  size_t i;
  json_array_foreach(json_object_get(c, "entries"), i, e) {
    for (size_t k = 1; k < json_array_size(e) && *n < 8; k++) {
      const char *s = json_string_value(json_array_get(e, k));
      if (s && s[0] == '/') {
        const char *t = s;
        while (t[1] == '/') t++; /* "////tmp/x" is "/tmp/x" */
        snprintf(out[(*n)++], 256, "%s", t);
      }
    }
  }
  json_decref(c);
}

static void run_hostile(const hostile *h, int compress) {
  char rel[256];
  snprintf(rel, sizeof(rel), "archives-hostile/%s", h->file);
  char *path = gg_test_require_data(rel);
  size_t n;
  uint8_t *data = (uint8_t *)gg_test_read_file(path, &n);
  free(path);
  assert_non_null(data);
  if (compress) {
    size_t zn;
    uint8_t *z = zstd_of(data, n, &zn);
    free(data);
    data = z;
    n = zn;
  }
  char abs[8][256];
  int nabs;
  absolute_paths(h, abs, &nabs);
  int existed[8];
  for (int i = 0; i < nabs; i++) existed[i] = access(abs[i], F_OK) == 0;

  sandbox sb;
  sb_init(&sb);
  ggm_extract_opts o = {.flags = h->zip ? GGM_EXTRACT_ANY_FORMAT : 0};
  ggm_extract_result r;
  int rv = ggm_extract_mem(data, n, sb.target, &o, &r, NULL);
  if (rv != GG_EUNSAFE) fail_msg("%s: got %s (%s)", h->file, gg_errname(rv), r.err);
  if (r.reason != h->reason || strcmp(r.path, h->entry) != 0)
    fail_msg("%s: refused for %s at '%s', expected %s at '%s' (%s)", h->file,
             ggm_extract_reason_name(r.reason), r.path, ggm_extract_reason_name(h->reason),
             h->entry, r.err);
  assert_non_null(strstr(r.err, h->entry));
  sb_check_untouched(&sb);
  for (int i = 0; i < nabs; i++)
    if (!existed[i] && access(abs[i], F_OK) == 0) fail_msg("%s: %s was created", h->file, abs[i]);

  /* the default mode refuses zip as a format, before any entry */
  if (h->zip) {
    rv = ggm_extract_mem(data, n, sb.target, NULL, &r, NULL);
    assert_int_equal(rv, GG_EPARSE);
    assert_int_equal(r.reason, GGM_XR_FORMAT);
    sb_check_untouched(&sb);
  }
  sb_free(&sb);
  free(data);
}

#define HOSTILE_TEST(i)                                                                            \
  static void test_hostile_##i(void **s) {                                                         \
    (void)s;                                                                                       \
    run_hostile(&hostiles[i], 0);                                                                  \
    if (!hostiles[i].zip) run_hostile(&hostiles[i], 1);                                            \
  }
HOSTILE_TEST(0)
HOSTILE_TEST(1)
HOSTILE_TEST(2)
HOSTILE_TEST(3)
HOSTILE_TEST(4)
HOSTILE_TEST(5)
HOSTILE_TEST(6)
HOSTILE_TEST(7)
HOSTILE_TEST(8)
HOSTILE_TEST(9)
HOSTILE_TEST(10)
HOSTILE_TEST(11)
HOSTILE_TEST(12)
HOSTILE_TEST(13)
HOSTILE_TEST(14)
HOSTILE_TEST(15)
HOSTILE_TEST(16)
HOSTILE_TEST(17)
HOSTILE_TEST(18)
HOSTILE_TEST(19)

/* Every case of cases.json and every archive of the MANIFEST has a test above. */
static void test_hostile_suite_covered(void **s) {
  (void)s;
  char *path = gg_test_require_data("archives-hostile/cases.json");
  json_error_t je;
  json_t *all = json_load_file(path, 0, &je), *c;
  free(path);
  assert_non_null(all);
  size_t i, ncases = 0;
  json_array_foreach(json_object_get(all, "cases"), i, c) {
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *tar = json_string_value(json_object_get(c, "tar"));
    int found = 0;
    for (size_t k = 0; k < NHOSTILE; k++)
      if (hostiles[k].id && !strcmp(hostiles[k].id, id) && !strcmp(hostiles[k].file, tar))
        found = 1;
    if (!found) fail_msg("case %s has no test", id);
    ncases++;
  }
  assert_int_equal(ncases, json_integer_value(json_object_get(all, "count")));
  json_decref(all);
  path = gg_test_require_data("archives-hostile/libarchive/MANIFEST.json");
  all = json_load_file(path, 0, &je);
  free(path);
  assert_non_null(all);
  size_t nman = 0;
  json_array_foreach(json_object_get(all, "archives"), i, c) {
    const char *f = json_string_value(json_object_get(c, "file"));
    int found = 0;
    for (size_t k = 0; k < NHOSTILE; k++)
      if (!strcmp(hostiles[k].file, f)) found = 1;
    if (!found) fail_msg("archive %s has no test", f);
    nman++;
  }
  assert_int_equal(ncases + nman, NHOSTILE);
  json_decref(all);
}

/* ---- archives built here ------------------------------------------------------------------- */

typedef struct tent {
  mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO; 0 = hardlink */
  const char *path;
  const char *data; /* content, or link target */
  mode_t perm;
} tent;

static int gbuf_write_cb(struct archive *a, void *ud, const void *p, size_t n) {
  (void)a;
  return gg_buf_append(ud, p, n) == GG_OK ? (int)n : -1;
}

static la_ssize_t abuf_write(struct archive *a, void *ud, const void *p, size_t n) {
  return gbuf_write_cb(a, ud, p, n) < 0 ? -1 : (la_ssize_t)n;
}

/* Builds a pax tar of the entries; zstd-compressed when z. */
static void build_tar(const tent *v, size_t n, int z, gg_buf *out) {
  gg_buf_init(out, NULL, 1u << 30);
  gg_buf raw;
  gg_buf_init(&raw, NULL, 1u << 30);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  assert_int_equal(archive_write_open(a, &raw, NULL, abuf_write, NULL), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, v[i].path);
    if (v[i].type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_copy_hardlink(e, v[i].data);
    } else {
      archive_entry_set_filetype(e, v[i].type);
      if (v[i].type == AE_IFLNK) archive_entry_copy_symlink(e, v[i].data);
    }
    archive_entry_set_perm(e, v[i].perm ? v[i].perm : 0644);
    size_t len = v[i].type == AE_IFREG && v[i].data ? strlen(v[i].data) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
    if (len) assert_int_equal(archive_write_data(a, v[i].data, len), (la_ssize_t)len);
    archive_entry_free(e);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  if (z) {
    size_t zn;
    uint8_t *zb = zstd_of(gg_buf_ptr(&raw), gg_buf_len(&raw), &zn);
    gg_buf_append(out, zb, zn);
    free(zb);
  } else {
    gg_buf_append(out, gg_buf_ptr(&raw), gg_buf_len(&raw));
  }
  gg_buf_free(&raw);
}

static void expect_refused(const tent *v, size_t n, const ggm_pack_limits *lim, int reason,
                           const char *entry) {
  for (int z = 0; z < 2; z++) {
    gg_buf b;
    build_tar(v, n, z, &b);
    sandbox sb;
    sb_init(&sb);
    ggm_extract_opts o = {.limits = lim};
    ggm_extract_result r;
    int rv = ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, &o, &r, NULL);
    if (rv != GG_EUNSAFE || r.reason != reason || (entry && strcmp(r.path, entry) != 0))
      fail_msg("got %s reason %s at '%s' (%s); expected %s at '%s'", gg_errname(rv),
               ggm_extract_reason_name(r.reason), r.path, r.err, ggm_extract_reason_name(reason),
               entry ? entry : "?");
    sb_check_untouched(&sb);
    sb_free(&sb);
    gg_buf_free(&b);
  }
}

static void test_policy(void **s) {
  (void)s;
  const tent dup_file[] = {{AE_IFREG, "a", "1", 0}, {AE_IFREG, "a", "2", 0}};
  expect_refused(dup_file, 2, NULL, GGM_XR_DUPLICATE, "a");
  const tent dup_dir[] = {{AE_IFDIR, "d", NULL, 0755}, {AE_IFDIR, "d/", NULL, 0755}};
  expect_refused(dup_dir, 2, NULL, GGM_XR_DUPLICATE, "d/");
  const tent file_then_dir[] = {{AE_IFREG, "x", "1", 0}, {AE_IFDIR, "x", NULL, 0755}};
  expect_refused(file_then_dir, 2, NULL, GGM_XR_DUPLICATE, "x/");
  const tent implicit_then_file[] = {{AE_IFREG, "a/b", "1", 0}, {AE_IFREG, "a", "2", 0}};
  expect_refused(implicit_then_file, 2, NULL, GGM_XR_DUPLICATE, "a");
  const tent file_as_parent[] = {{AE_IFREG, "a", "1", 0}, {AE_IFREG, "a/b", "2", 0}};
  expect_refused(file_as_parent, 2, NULL, GGM_XR_DUPLICATE, "a/b");
  const tent chr[] = {{AE_IFREG, "ok", "1", 0}, {AE_IFCHR, "dev/null", NULL, 0666}};
  expect_refused(chr, 2, NULL, GGM_XR_TYPE, "dev/null");
  const tent fifo[] = {{AE_IFIFO, "p", NULL, 0644}};
  expect_refused(fifo, 1, NULL, GGM_XR_TYPE, "p");
  const tent hl_inside[] = {{AE_IFREG, "a", "1", 0}, {0, "b", "a", 0}};
  expect_refused(hl_inside, 2, NULL, GGM_XR_LINK, "b");
  const tent sl_inside[] = {{AE_IFREG, "a", "1", 0}, {AE_IFLNK, "b", "a", 0}};
  expect_refused(sl_inside, 2, NULL, GGM_XR_LINK, "b");
  const tent dot[] = {{AE_IFREG, "./a", "1", 0}};
  expect_refused(dot, 1, NULL, GGM_XR_PATH, "./a");
  const tent ctl[] = {{AE_IFREG, "a\nb", "1", 0}};
  expect_refused(ctl, 1, NULL, GGM_XR_PATH, "a\\x0ab");
  const tent bad_utf8[] = {{AE_IFREG, "caf\xe9", "1", 0}};
  expect_refused(bad_utf8, 1, NULL, GGM_XR_PATH, "caf\\xe9");
  const tent slash_file[] = {{AE_IFREG, "a/", "1", 0}};
  expect_refused(slash_file, 1, NULL, GGM_XR_PATH, NULL);
}

static void test_limits(void **s) {
  (void)s;
  const tent three[] = {{AE_IFREG, "a", "1", 0}, {AE_IFREG, "b", "2", 0}, {AE_IFREG, "c", "3", 0}};
  ggm_pack_limits l = {.max_entries = 2};
  expect_refused(three, 3, &l, GGM_XR_LIMIT, "c");
  /* implicit directories count as inodes too */
  const tent deep[] = {{AE_IFREG, "a/b/c/d", "1", 0}};
  l = (ggm_pack_limits){.max_entries = 3};
  expect_refused(deep, 1, &l, GGM_XR_LIMIT, "a/b/c/d");
  l = (ggm_pack_limits){.max_file = 4};
  const tent big[] = {{AE_IFREG, "small", "1234", 0}, {AE_IFREG, "big", "12345", 0}};
  expect_refused(big, 2, &l, GGM_XR_LIMIT, "big");
  l = (ggm_pack_limits){.max_total = 8};
  expect_refused(big, 2, &l, GGM_XR_LIMIT, "big");
  l = (ggm_pack_limits){.max_path = 5};
  const tent longp[] = {{AE_IFREG, "abcde", "1", 0}, {AE_IFREG, "abcdef", "1", 0}};
  expect_refused(longp, 2, &l, GGM_XR_LIMIT, "abcdef");
  char comp[300];
  memset(comp, 'x', 256);
  comp[256] = '\0';
  const tent longcomp[] = {{AE_IFREG, comp, "1", 0}};
  l = (ggm_pack_limits){.max_path = 1000};
  expect_refused(longcomp, 1, &l, GGM_XR_LIMIT, NULL);
  /* within the limits: accepted */
  l = (ggm_pack_limits){.max_entries = 2, .max_file = 4, .max_total = 5};
  gg_buf b;
  const tent ok[] = {{AE_IFREG, "a", "1234", 0}, {AE_IFREG, "b", "5", 0}};
  build_tar(ok, 2, 1, &b);
  sandbox sb;
  sb_init(&sb);
  ggm_extract_opts o = {.limits = &l};
  ggm_extract_result r;
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, &o, &r, NULL), GG_OK);
  assert_int_equal(r.files, 2);
  assert_int_equal(r.bytes, 5);
  sb_free(&sb);
  gg_buf_free(&b);
}

/* A zstd bomb: 48 MiB of one byte compresses ~10000:1; refused by the ratio long before the
 * end, and by the total size when the ratio is allowed. */
static void test_bomb(void **s) {
  (void)s;
  size_t n = 48u << 20;
  char *zeros = calloc(1, n + 1);
  memset(zeros, 'a', n);
  const tent bomb[] = {{AE_IFREG, "bomb", zeros, 0}};
  ggm_pack_limits l = {.max_file = 1ull << 30, .max_total = 1ull << 30};
  gg_buf b;
  build_tar(bomb, 1, 1, &b);
  sandbox sb;
  sb_init(&sb);
  ggm_extract_opts o = {.limits = &l};
  ggm_extract_result r;
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, &o, &r, NULL),
                   GG_EUNSAFE);
  assert_non_null(strstr(r.err, "ratio"));
  assert_true(r.bytes < (4u << 20)); /* stopped early */
  l = (ggm_pack_limits){.max_file = 1ull << 30, .max_total = 16u << 20, .max_ratio = 1u << 30};
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, &o, &r, NULL),
                   GG_EUNSAFE);
  assert_non_null(strstr(r.err, "content larger"));
  sb_check_untouched(&sb);
  sb_free(&sb);
  gg_buf_free(&b);
  free(zeros);
}

/* ---- round trip and corrupt input ------------------------------------------------------------ */

static int gbuf_write(void *ud, const uint8_t *p, size_t n) { return gg_buf_append(ud, p, n); }

static char *make_pkg(void) {
  char *d = gg_test_mkdtemp();
  char p[512];
  snprintf(p, sizeof(p), "%s/templates", d);
  mkdir(p, 0700);
  snprintf(p, sizeof(p), "%s/templates/empty", d);
  mkdir(p, 0700);
  const struct {
    const char *rel, *body;
    mode_t mode;
  } files[] = {{"gpack.toml", "[gpack]\nid = \"x\"\n", 0600},
               {"templates/a.tmpl", "A", 0644},
               {"templates/run.sh", "#!/bin/sh\n", 0700}};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", d, files[i].rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, files[i].mode);
    assert_true(write(fd, files[i].body, strlen(files[i].body)) > 0);
    close(fd);
  }
  return d;
}

static void pack_pkg(gg_buf *b) {
  char *d = make_pkg();
  gg_buf_init(b, NULL, 1 << 24);
  ggm_pack_result pr;
  assert_int_equal(ggm_pack_dir(d, NULL, gbuf_write, b, &pr, NULL), GG_OK);
  gg_test_rmtree(d);
  free(d);
}

static void test_round_trip(void **s) {
  (void)s;
  gg_buf b;
  pack_pkg(&b);
  sandbox sb;
  sb_init(&sb);
  ggm_extract_opts o = {.flags = GGM_EXTRACT_FSYNC};
  ggm_extract_result r;
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, &o, &r, NULL), GG_OK);
  assert_int_equal(r.files, 3);
  assert_int_equal(r.dirs, 2);
  assert_int_equal(r.reason, GGM_XR_NONE);
  char p[600];
  struct stat st;
  snprintf(p, sizeof(p), "%s/templates/run.sh", sb.target);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755);
  snprintf(p, sizeof(p), "%s/gpack.toml", sb.target);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  char *body = gg_test_read_file(p, NULL);
  assert_string_equal(body, "[gpack]\nid = \"x\"\n");
  free(body);
  snprintf(p, sizeof(p), "%s/templates/empty", sb.target);
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0755);
  assert_int_equal(stat(sb.target, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755);
  assert_int_equal(count_tree(sb.root), 2 + 1 + 5);

  /* re-packing the extracted tree gives the same archive */
  gg_buf b2;
  gg_buf_init(&b2, NULL, 1 << 24);
  ggm_pack_result pr;
  assert_int_equal(ggm_pack_dir(sb.target, NULL, gbuf_write, &b2, &pr, NULL), GG_OK);
  assert_int_equal(gg_buf_len(&b2), gg_buf_len(&b));
  assert_memory_equal(gg_buf_ptr(&b2), gg_buf_ptr(&b), gg_buf_len(&b));

  /* the target exists now: refused, nothing changed; the same through a file descriptor */
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, NULL, &r, NULL),
                   GG_EEXIST);
  assert_int_equal(count_tree(sb.root), 2 + 1 + 5);
  char arch[600];
  snprintf(arch, sizeof(arch), "%s/pkg.tar.zst", sb.root);
  int fd = open(arch, O_WRONLY | O_CREAT, 0644);
  assert_int_equal(write(fd, gg_buf_ptr(&b), gg_buf_len(&b)), (ssize_t)gg_buf_len(&b));
  close(fd);
  snprintf(p, sizeof(p), "%s/outer/second", sb.root);
  assert_int_equal(ggm_extract_file(arch, p, NULL, &r, NULL), GG_OK);
  assert_int_equal(ggm_extract_file("/nonexistent.tar.zst", p, NULL, &r, NULL), GG_ENOTFOUND);
  snprintf(p, sizeof(p), "%s/no/such/dir/x", sb.root);
  assert_int_equal(ggm_extract_file(arch, p, NULL, &r, NULL), GG_ENOTFOUND);
  sb_free(&sb);
  gg_buf_free(&b);
  gg_buf_free(&b2);
}

static void expect_parse_error(const uint8_t *p, size_t n, const char *what) {
  sandbox sb;
  sb_init(&sb);
  ggm_extract_result r;
  int rv = ggm_extract_mem(p, n, sb.target, NULL, &r, NULL);
  if (rv != GG_EPARSE || r.reason != GGM_XR_FORMAT)
    fail_msg("%s: got %s (%s)", what, gg_errname(rv), r.err);
  sb_check_untouched(&sb);
  sb_free(&sb);
}

static void test_corrupt_input(void **s) {
  (void)s;
  gg_buf b;
  pack_pkg(&b);
  size_t n = gg_buf_len(&b);
  uint8_t *c = malloc(n + 16);
  /* the content checksum (last 4 bytes of the frame) */
  memcpy(c, gg_buf_ptr(&b), n);
  c[n - 1] ^= 1;
  expect_parse_error(c, n, "checksum");
  /* truncated frame, at several points */
  for (size_t cut = 1; cut < n; cut += n / 7 + 1) expect_parse_error(gg_buf_ptr(&b), cut, "cut");
  expect_parse_error(gg_buf_ptr(&b), n - 1, "cut-1");
  /* bytes after the frame (a second frame or junk) */
  memcpy(c, gg_buf_ptr(&b), n);
  memcpy(c + n, "\x28\xb5\x2f\xfd junk", 9);
  expect_parse_error(c, n + 9, "trailing");
  /* a flipped bit in the compressed data */
  memcpy(c, gg_buf_ptr(&b), n);
  c[n / 2] ^= 0x40;
  expect_parse_error(c, n, "flipped");
  /* empty input, text, gzip-compressed tar (only zstd is accepted) */
  expect_parse_error((const uint8_t *)"", 0, "empty");
  expect_parse_error((const uint8_t *)"hello, not an archive", 21, "text");
  static const uint8_t gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
                               0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  expect_parse_error(gz, sizeof(gz), "gzip");
  /* a zstd frame asking for a 1 GiB window */
  static const uint8_t bigwin[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, (30 - 10) << 3, 0x01, 0x00, 0x00};
  expect_parse_error(bigwin, sizeof(bigwin), "window");
  free(c);
  gg_buf_free(&b);
}

static void test_bad_target(void **s) {
  (void)s;
  gg_buf b;
  pack_pkg(&b);
  ggm_extract_result r;
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), "..", NULL, &r, NULL),
                   GG_EINVAL);
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), "/", NULL, &r, NULL), GG_EINVAL);
  assert_int_equal(ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), NULL, NULL, &r, NULL),
                   GG_EINVAL);
  gg_buf_free(&b);
}

static void test_nomem(void **s) {
  (void)s;
  gg_buf b;
  pack_pkg(&b);
  int ok = 0;
  for (long k = 0; k < 200 && !ok; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    sandbox sb;
    sb_init(&sb);
    ggm_extract_result r;
    int rv = ggm_extract_mem(gg_buf_ptr(&b), gg_buf_len(&b), sb.target, NULL, &r, &fm.mem);
    if (rv == GG_OK)
      ok = 1;
    else {
      assert_int_equal(rv, GG_ENOMEM);
      sb_check_untouched(&sb);
    }
    assert_int_equal(fm.live, 0);
    sb_free(&sb);
  }
  assert_true(ok);
  gg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hostile_0),
      cmocka_unit_test(test_hostile_1),
      cmocka_unit_test(test_hostile_2),
      cmocka_unit_test(test_hostile_3),
      cmocka_unit_test(test_hostile_4),
      cmocka_unit_test(test_hostile_5),
      cmocka_unit_test(test_hostile_6),
      cmocka_unit_test(test_hostile_7),
      cmocka_unit_test(test_hostile_8),
      cmocka_unit_test(test_hostile_9),
      cmocka_unit_test(test_hostile_10),
      cmocka_unit_test(test_hostile_11),
      cmocka_unit_test(test_hostile_12),
      cmocka_unit_test(test_hostile_13),
      cmocka_unit_test(test_hostile_14),
      cmocka_unit_test(test_hostile_15),
      cmocka_unit_test(test_hostile_16),
      cmocka_unit_test(test_hostile_17),
      cmocka_unit_test(test_hostile_18),
      cmocka_unit_test(test_hostile_19),
      cmocka_unit_test(test_hostile_suite_covered),
      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_bomb),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_corrupt_input),
      cmocka_unit_test(test_bad_target),
      cmocka_unit_test(test_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
