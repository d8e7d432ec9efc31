/*
 * Deterministic packing: the same tree gives the same bytes whatever the creation order,
 * mtimes and permission bits beyond the executable bit; the archive content is what the
 * format promises (sorted ustar entries, fixed metadata, one zstd frame with a checksum);
 * ignore rules, refusals (links, special files, bad names), limits, CIDs, failing allocator.
 */
#include "gg_test.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/pack.h"

/* ---- helpers ------------------------------------------------------------------------- */

static char *path_join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

static void put_file(const char *root, const char *rel, const char *content, mode_t mode) {
  char *p = path_join(root, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  assert_int_equal(chmod(p, mode), 0);
  free(p);
}

static void put_dir(const char *root, const char *rel, mode_t mode) {
  char *p = path_join(root, rel);
  assert_int_equal(mkdir(p, mode), 0);
  free(p);
}

static void set_mtime(const char *root, const char *rel, time_t t) {
  char *p = path_join(root, rel);
  struct timeval tv[2] = {{t, 0}, {t, 0}};
  assert_int_equal(utimes(p, tv), 0);
  free(p);
}

static int buf_write(void *ud, const uint8_t *p, size_t n) { return gg_buf_append(ud, p, n); }

/* Packs dir into b (reset first); returns the code, res filled. */
static int pack(const char *dir, const ggm_pack_opts *o, gg_buf *b, ggm_pack_result *res) {
  gg_buf_reset(b);
  return ggm_pack_dir(dir, o, buf_write, b, res, NULL);
}

/* A small package tree, created in one of two orders with different metadata. */
static char *make_tree(int variant) {
  char *d = gg_test_mkdtemp();
  if (variant == 0) {
    put_file(d, "gpack.toml", "[gpack]\nid = \"io.ggen.x\"\nversion = \"1.0.0\"\n", 0644);
    put_dir(d, "templates", 0755);
    put_file(d, "templates/a.tmpl", "hello {{ name }}\n", 0644);
    put_file(d, "templates/b.tmpl", "bye\n", 0644);
    put_dir(d, "templates/sub", 0755);
    put_file(d, "templates/sub/run.sh", "#!/bin/sh\necho hi\n", 0755);
    put_dir(d, "empty", 0755);
    put_file(d, "README.md", "# x\n", 0644);
  } else {
    put_file(d, "README.md", "# x\n", 0600);
    put_dir(d, "empty", 0700);
    put_dir(d, "templates", 0700);
    put_dir(d, "templates/sub", 0711);
    put_file(d, "templates/sub/run.sh", "#!/bin/sh\necho hi\n", 0700);
    put_file(d, "templates/b.tmpl", "bye\n", 0664);
    put_file(d, "templates/a.tmpl", "hello {{ name }}\n", 0444);
    put_file(d, "gpack.toml", "[gpack]\nid = \"io.ggen.x\"\nversion = \"1.0.0\"\n", 0640);
    set_mtime(d, "README.md", 12345);
    set_mtime(d, "templates/a.tmpl", 2000000000);
    set_mtime(d, "templates", 99);
  }
  return d;
}

/* ---- determinism ------------------------------------------------------------------------ */

static void test_same_tree_same_bytes(void **s) {
  (void)s;
  char *d = make_tree(0);
  gg_buf a, b;
  gg_buf_init(&a, NULL, 1 << 24);
  gg_buf_init(&b, NULL, 1 << 24);
  ggm_pack_result ra, rb;
  assert_int_equal(pack(d, NULL, &a, &ra), GG_OK);
  assert_int_equal(pack(d, NULL, &b, &rb), GG_OK);
  assert_int_equal(gg_buf_len(&a), gg_buf_len(&b));
  assert_memory_equal(gg_buf_ptr(&a), gg_buf_ptr(&b), gg_buf_len(&a));
  assert_memory_equal(ra.cid, rb.cid, GGM_CID_LEN);
  assert_string_equal(ra.err, "");
  /* the CID is the CID of the bytes emitted */
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_of(gg_buf_ptr(&a), gg_buf_len(&a), cid);
  assert_memory_equal(cid, ra.cid, GGM_CID_LEN);
  assert_int_equal(ra.size, gg_buf_len(&a));
  assert_int_equal(ra.files, 5);
  assert_int_equal(ra.dirs, 3);
  assert_int_equal(strncmp(ra.cid_text, "bafkrei", 7), 0); /* v1 raw sha2-256 */
  assert_int_equal(strlen(ra.cid_text), 59);
  gg_buf_free(&a);
  gg_buf_free(&b);
  gg_test_rmtree(d);
  free(d);
}

static void test_order_mtime_perm_independent(void **s) {
  (void)s;
  char *d0 = make_tree(0), *d1 = make_tree(1);
  gg_buf a, b;
  gg_buf_init(&a, NULL, 1 << 24);
  gg_buf_init(&b, NULL, 1 << 24);
  ggm_pack_result ra, rb;
  assert_int_equal(pack(d0, NULL, &a, &ra), GG_OK);
  assert_int_equal(pack(d1, NULL, &b, &rb), GG_OK);
  assert_int_equal(gg_buf_len(&a), gg_buf_len(&b));
  assert_memory_equal(gg_buf_ptr(&a), gg_buf_ptr(&b), gg_buf_len(&a));
  assert_string_equal(ra.cid_text, rb.cid_text);

  /* what does count: content, names and the executable bit */
  put_file(d1, "README.md", "# y\n", 0644);
  assert_int_equal(pack(d1, NULL, &b, &rb), GG_OK);
  assert_string_not_equal(ra.cid_text, rb.cid_text);
  put_file(d1, "README.md", "# x\n", 0644);
  assert_int_equal(pack(d1, NULL, &b, &rb), GG_OK);
  assert_string_equal(ra.cid_text, rb.cid_text);
  put_file(d1, "README.md", "# x\n", 0744);
  assert_int_equal(pack(d1, NULL, &b, &rb), GG_OK);
  assert_string_not_equal(ra.cid_text, rb.cid_text);
  gg_buf_free(&a);
  gg_buf_free(&b);
  gg_test_rmtree(d0);
  gg_test_rmtree(d1);
  free(d0);
  free(d1);
}

/* Reads the archive back with libarchive and checks the normalised headers and the order. */
static void test_archive_content(void **s) {
  (void)s;
  char *d = make_tree(1);
  gg_buf a;
  gg_buf_init(&a, NULL, 1 << 24);
  ggm_pack_result r;
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);

  /* one zstd frame (RFC 8878 3.1.1): magic, then the frame header descriptor with no
   * content size (FCS flag 0, not single-segment), checksum flag set, no dictionary id */
  const uint8_t *z = gg_buf_ptr(&a);
  static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
  assert_memory_equal(z, magic, 4);
  assert_int_equal(z[4] >> 6, 0);       /* Frame_Content_Size_flag */
  assert_int_equal((z[4] >> 5) & 1, 0); /* Single_Segment_flag */
  assert_int_equal((z[4] >> 2) & 1, 1); /* Content_Checksum_flag */
  assert_int_equal(z[4] & 3, 0);        /* Dictionary_ID_flag */
  assert_int_equal(ZSTD_findFrameCompressedSize(z, gg_buf_len(&a)), gg_buf_len(&a));

  static const struct {
    const char *name;
    int dir;
    int perm;
  } want[] = {
      {"README.md", 0, 0644},        {"empty/", 1, 0755},
      {"gpack.toml", 0, 0644},       {"templates/", 1, 0755},
      {"templates/a.tmpl", 0, 0644}, {"templates/b.tmpl", 0, 0644},
      {"templates/sub/", 1, 0755},   {"templates/sub/run.sh", 0, 0755},
  };
  struct archive *ar = archive_read_new();
  archive_read_support_format_tar(ar);
  archive_read_support_filter_zstd(ar);
  assert_int_equal(archive_read_open_memory(ar, gg_buf_ptr(&a), gg_buf_len(&a)), ARCHIVE_OK);
  struct archive_entry *e;
  size_t i = 0;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    assert_true(i < sizeof(want) / sizeof(want[0]));
    assert_string_equal(archive_entry_pathname(e), want[i].name);
    assert_int_equal(archive_entry_filetype(e), want[i].dir ? AE_IFDIR : AE_IFREG);
    assert_int_equal(archive_entry_perm(e), want[i].perm);
    assert_int_equal(archive_entry_mtime(e), GGM_PACK_MTIME);
    assert_int_equal(archive_entry_uid(e), 0);
    assert_int_equal(archive_entry_gid(e), 0);
    const char *un = archive_entry_uname(e), *gn = archive_entry_gname(e);
    assert_true(un == NULL || *un == '\0');
    assert_true(gn == NULL || *gn == '\0');
    i++;
  }
  assert_int_equal(i, sizeof(want) / sizeof(want[0]));
  assert_int_equal(archive_format(ar), ARCHIVE_FORMAT_TAR_USTAR);
  archive_read_free(ar);
  gg_buf_free(&a);
  gg_test_rmtree(d);
  free(d);
}

/* ---- ignore rules and exclusions ---------------------------------------------------------- */

static void test_ignore_rules(void **s) {
  (void)s;
  char *d = make_tree(0);
  gg_buf a;
  gg_buf_init(&a, NULL, 1 << 24);
  ggm_pack_result base, r;
  assert_int_equal(pack(d, NULL, &a, &base), GG_OK);

  /* built-in rules: VCS dirs anywhere, node_modules anywhere, target/ and .ggen/ at the top */
  put_dir(d, ".git", 0755);
  put_file(d, ".git/HEAD", "ref\n", 0644);
  put_file(d, "templates/.git", "gitdir: x\n", 0644);
  put_dir(d, "node_modules", 0755);
  put_dir(d, "templates/node_modules", 0755);
  put_file(d, "templates/node_modules/m.js", "x", 0644);
  put_dir(d, "target", 0755);
  put_file(d, "target/out", "x", 0644);
  put_dir(d, ".ggen", 0755);
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);
  assert_string_equal(base.cid_text, r.cid_text);

  /* target/ below the top is package content */
  put_dir(d, "templates/target", 0755);
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);
  assert_string_not_equal(base.cid_text, r.cid_text);

  /* .ggenignore: basename globs anywhere, anchored paths, directory-only rules, comments */
  put_file(d, ".ggenignore",
           "# comment\n\n*.bak\n/templates/target/\nbuild/\n/only-top.txt\ntemplates/sub/*.log\n",
           0644);
  assert_int_equal(pack(d, NULL, &a, &base), GG_OK); /* .ggenignore itself is content */
  put_file(d, "x.bak", "x", 0644);
  put_file(d, "templates/y.bak", "x", 0644);
  put_dir(d, "templates/build", 0755);
  put_file(d, "templates/build/z", "x", 0644);
  put_file(d, "only-top.txt", "x", 0644);
  put_file(d, "templates/sub/t.log", "x", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);
  assert_string_equal(base.cid_text, r.cid_text);
  /* ... but a file named like a dir-only rule, or an anchored name below the top, is kept */
  put_file(d, "templates/only-top.txt", "x", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);
  assert_string_not_equal(base.cid_text, r.cid_text);
  char *p = path_join(d, "templates/only-top.txt");
  unlink(p);
  free(p);
  put_file(d, "build", "file, not dir", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);
  assert_string_not_equal(base.cid_text, r.cid_text);
  p = path_join(d, "build");
  unlink(p);
  free(p);

  /* exclusions given by the caller (the output file inside the package directory) */
  put_file(d, "out.tar.zst", "previous archive", 0644);
  const char *excl[] = {"out.tar.zst", NULL};
  ggm_pack_opts o = {.exclude = excl};
  assert_int_equal(pack(d, &o, &a, &r), GG_OK);
  assert_string_equal(base.cid_text, r.cid_text);

  /* negation is refused rather than silently ignored */
  put_file(d, ".ggenignore", "*.bak\n!keep.bak\n", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EPARSE);
  assert_non_null(strstr(r.err, ".ggenignore:2"));
  assert_int_equal(gg_buf_len(&a), 0); /* nothing written on refusal */
  gg_buf_free(&a);
  gg_test_rmtree(d);
  free(d);
}

/* ---- refusals ---------------------------------------------------------------------------- */

static void test_refuses_links_and_specials(void **s) {
  (void)s;
  gg_buf a;
  gg_buf_init(&a, NULL, 1 << 24);
  ggm_pack_result r;

  char *d = make_tree(0);
  char *p = path_join(d, "templates/link");
  assert_int_equal(symlink("a.tmpl", p), 0);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EUNSAFE);
  assert_non_null(strstr(r.err, "templates/link"));
  assert_non_null(strstr(r.err, "symbolic link"));
  assert_int_equal(gg_buf_len(&a), 0);
  unlink(p);
  free(p);

  p = path_join(d, "fifo");
  assert_int_equal(mkfifo(p, 0644), 0);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EUNSAFE);
  assert_non_null(strstr(r.err, "fifo"));
  unlink(p);
  free(p);

  /* names the extractor would refuse are refused at pack time */
  put_file(d, "c:drive", "x", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EUNSAFE);
  assert_non_null(strstr(r.err, "c:drive"));
  p = path_join(d, "c:drive");
  unlink(p);
  free(p);
  put_file(d, "back\\slash", "x", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EUNSAFE);
  p = path_join(d, "back\\slash");
  unlink(p);
  free(p);
  put_file(d, "bad\xff.txt", "x", 0644);
  assert_int_equal(pack(d, NULL, &a, &r), GG_EUNSAFE);
  p = path_join(d, "bad\xff.txt");
  unlink(p);
  free(p);
  put_file(d, "caf\xc3\xa9.txt", "x", 0644); /* valid UTF-8 is fine */
  assert_int_equal(pack(d, NULL, &a, &r), GG_OK);

  assert_int_equal(pack("/nonexistent/ggen-pack-test", NULL, &a, &r), GG_ENOTFOUND);
  gg_buf_free(&a);
  gg_test_rmtree(d);
  free(d);
}

static void test_limits(void **s) {
  (void)s;
  char *d = make_tree(0);
  gg_buf a;
  gg_buf_init(&a, NULL, 1 << 24);
  ggm_pack_result r;
  ggm_pack_limits l = {.max_entries = 7}; /* the tree has 8 */
  ggm_pack_opts o = {.limits = &l};
  assert_int_equal(pack(d, &o, &a, &r), GG_ELIMIT);
  l.max_entries = 8;
  assert_int_equal(pack(d, &o, &a, &r), GG_OK);
  l = (ggm_pack_limits){.max_file = 17}; /* a.tmpl and run.sh are 18 bytes */
  assert_int_equal(pack(d, &o, &a, &r), GG_ELIMIT);
  assert_non_null(strstr(r.err, "larger than 17"));
  l = (ggm_pack_limits){.max_total = 60};
  assert_int_equal(pack(d, &o, &a, &r), GG_ELIMIT);
  l = (ggm_pack_limits){.max_path = 16}; /* "templates/a.tmpl" is 16, "templates/sub/run.sh" 20 */
  assert_int_equal(pack(d, &o, &a, &r), GG_ELIMIT);
  assert_non_null(strstr(r.err, "templates/sub"));
  assert_int_equal(gg_buf_len(&a), 0);
  gg_buf_free(&a);
  gg_test_rmtree(d);
  free(d);
}

static int failing_write(void *ud, const uint8_t *p, size_t n) {
  (void)p;
  (void)n;
  int *calls = ud;
  return ++*calls >= 1 ? GG_EIO : GG_OK;
}

static void test_write_error_and_nomem(void **s) {
  (void)s;
  char *d = make_tree(0);
  int calls = 0;
  ggm_pack_result r;
  assert_int_equal(ggm_pack_dir(d, NULL, failing_write, &calls, &r, NULL), GG_EIO);
  assert_true(calls >= 1);

  /* every allocation failure is reported and leaks nothing */
  int ok = 0;
  for (long n = 0; n < 400 && !ok; n++) {
    gg_failmem fm;
    gg_failmem_init(&fm, n);
    gg_buf a;
    gg_buf_init(&a, NULL, 1 << 24);
    int rv = ggm_pack_dir(d, NULL, buf_write, &a, &r, &fm.mem);
    if (rv == GG_OK)
      ok = 1;
    else
      assert_int_equal(rv, GG_ENOMEM);
    assert_int_equal(fm.live, 0);
    gg_buf_free(&a);
  }
  assert_true(ok);
  gg_test_rmtree(d);
  free(d);
}

/* ---- paths and CIDs -------------------------------------------------------------------------- */

static void test_path_check(void **s) {
  (void)s;
  static const char *good[] = {"a",           "a/b",         "templates/x.tmpl",
                               "caf\xc3\xa9", "a.b/..c/d..", "...",
                               ".hidden",     "a b",         "\xf0\x9f\x98\x80"};
  static const char *bad[] = {"",
                              "/a",
                              "a/",
                              "a//b",
                              ".",
                              "..",
                              "a/../b",
                              "./a",
                              "a/.",
                              "../x",
                              "C:../x",
                              "x:..\\y",
                              "Y:foo",
                              "a\\b",
                              "\\file",
                              "a\nb",
                              "a\x7f",
                              "\xff",
                              "\xc0\xaf", /* overlong '/' */
                              "\xed\xa0\x80",
                              /* surrogate */ "\xf4\x90\x80\x80",
                              "a\x01"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (ggm_pack_path_check(good[i], strlen(good[i]), 255) != GG_OK)
      fail_msg("refused %s", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (ggm_pack_path_check(bad[i], strlen(bad[i]), 255) != GG_EUNSAFE)
      fail_msg("accepted bad path %zu", i);
  assert_int_equal(ggm_pack_path_check("abcd", 4, 3), GG_EUNSAFE);
  assert_int_equal(ggm_pack_path_check("a\0b", 3, 255), GG_EUNSAFE); /* embedded NUL */
}

static void test_cid(void **s) {
  (void)s;
  /* CIDv1 raw sha2-256 of "" and of "hello world", cross-checked with `ipfs add --raw-leaves
   * --cid-version 1` style encodings (sha256 of the bytes, base32 lower-case) */
  uint8_t cid[GGM_CID_LEN], back[GGM_CID_LEN];
  char text[GGM_CID_TEXT_MAX];
  ggm_pack_cid_of((const uint8_t *)"", 0, cid);
  assert_int_equal(ggm_pack_cid_text(cid, text), GG_OK);
  assert_string_equal(text, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  ggm_pack_cid_of((const uint8_t *)"hello world", 11, cid);
  assert_int_equal(ggm_pack_cid_text(cid, text), GG_OK);
  assert_string_equal(text, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  assert_int_equal(ggm_pack_cid_parse(text, back), GG_OK);
  assert_memory_equal(cid, back, GGM_CID_LEN);
  /* upper-case base32 is the same CID */
  char upper[GGM_CID_TEXT_MAX];
  for (size_t i = 0; i <= strlen(text); i++)
    upper[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
  assert_int_equal(ggm_pack_cid_parse(upper, back), GG_OK);
  assert_memory_equal(cid, back, GGM_CID_LEN);
  /* a dag-pb CID, a CIDv0 and junk are not archive CIDs */
  assert_int_equal(
      ggm_pack_cid_parse("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", back),
      GG_EPARSE);
  assert_int_equal(ggm_pack_cid_parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", back),
                   GG_EPARSE);
  assert_int_equal(ggm_pack_cid_parse("", back), GG_EPARSE);
  assert_int_equal(ggm_pack_cid_parse("b!!!", back), GG_EPARSE);
  cid[1] = 0x70;
  assert_int_equal(ggm_pack_cid_text(cid, text), GG_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_tree_same_bytes),
      cmocka_unit_test(test_order_mtime_perm_independent),
      cmocka_unit_test(test_archive_content),
      cmocka_unit_test(test_ignore_rules),
      cmocka_unit_test(test_refuses_links_and_specials),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_write_error_and_nomem),
      cmocka_unit_test(test_path_check),
      cmocka_unit_test(test_cid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
