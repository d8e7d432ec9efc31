/*
 * Tests for publishing (include/ggen/publish.h) and installing (include/ggen/install.h) on a
 * real home (catalog, blob store, unpacked cache) and project directories in a temp dir:
 * every ingest check, installs with dependencies, hard links vs copies, no-op reinstalls,
 * update, remove, --frozen and drift, unsatisfiable requests, corrupt and hostile archives,
 * tampered cache entries, ggen-written lockfiles and list's drift flags.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gg_test.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/install.h"
#include "ggen/lockfile.h"
#include "ggen/publish.h"
#include "ggen/rand.h"
#include "ggen/release.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

typedef struct fx {
  char *root, *home;
  ggs_catalog *cat;
  ggs_blob_store *st;
  gg_keypair kp, kp2;
  int nproj;
} fx;

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...) {
  char *p = malloc(4096);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, 4096, fmt, ap);
  va_end(ap);
  return p;
}

static void write_file(const char *path, const char *text) {
  char *dir = strdup(path);
  for (char *s = dir + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(dir, 0755);
      *s = '/';
    }
  free(dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *read_text(const char *path) { return gg_test_read_file(path, NULL); }

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  f->root = gg_test_mkdtemp();
  f->home = pathf("%s/home", f->root);
  mkdir(f->home, 0700);
  char *cat = pathf("%s/catalog.db", f->home), *store = pathf("%s/store", f->home);
  assert_int_equal(ggs_catalog_open(&f->cat, cat, GGS_CATALOG_CREATE, NULL), GG_OK);
  assert_int_equal(ggs_blob_open(&f->st, store, NULL, NULL), GG_OK);
  free(cat);
  free(store);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 42);
  char *k1 = pathf("%s/k1", f->root), *k2 = pathf("%s/k2", f->root);
  assert_int_equal(ggm_release_key_create(k1, &rs.r, &f->kp), GG_OK);
  assert_int_equal(ggm_release_key_create(k2, &rs.r, &f->kp2), GG_OK);
  free(k1);
  free(k2);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ggs_catalog_close(f->cat);
  ggs_blob_close(f->st);
  char *cmd = pathf("chmod -R u+w '%s'", f->root);
  if (system(cmd)) {
  }
  free(cmd);
  gg_test_rmtree(f->root);
  free(f->root);
  free(f->home);
  free(f);
  return 0;
}

static ggm_publish_env penv(fx *f) { return (ggm_publish_env){f->home, f->cat, f->st}; }
static ggm_install_env ienv(fx *f) { return (ggm_install_env){f->home, f->cat, f->st}; }

/* Writes a package source directory; deps is TOML lines for [dependencies] (may be NULL). */
static char *pkg_dir(fx *f, const char *id, const char *ver, const char *deps, const char *body) {
  char *dir = pathf("%s/src/%s-%s", f->root, id, ver);
  char *man = pathf("%s/gpack.toml", dir);
  char text[2048];
  snprintf(text, sizeof text,
           "[gpack]\nid = \"%s\"\nname = \"%s\"\nversion = \"%s\"\ndescription = \"test pack %s\"\n"
           "license = \"MIT\"\ntags = [\"test\"]\n%s%s",
           id, id, ver, id, deps ? "\n[dependencies]\n" : "", deps ? deps : "");
  write_file(man, text);
  char *tmpl = pathf("%s/templates/main.tmpl", dir);
  snprintf(text, sizeof text, "%s %s: %s\n", id, ver, body ? body : "hello {{ name }}");
  write_file(tmpl, text);
  free(man);
  free(tmpl);
  return dir;
}

static int publish(fx *f, const gg_keypair *kp, const char *id, const char *ver, const char *deps,
                   const char *body, ggm_publish_result *res) {
  char *dir = pkg_dir(f, id, ver, deps, body);
  ggm_publish_env e = penv(f);
  int rv = ggm_publish_dir(dir, &e, kp, NOW, 0, res);
  free(dir);
  return rv;
}

static void pub_ok(fx *f, const char *id, const char *ver, const char *deps) {
  ggm_publish_result res;
  int rv = publish(f, &f->kp, id, ver, deps, NULL, &res);
  if (rv) fail_msg("publish %s@%s: %s", id, ver, res.msg);
}

static char *new_project(fx *f) {
  char *p = pathf("%s/proj%d", f->root, f->nproj++);
  mkdir(p, 0755);
  return p;
}

static int install(fx *f, const char *proj, const char *spec, unsigned flags,
                   ggm_install_result **r) {
  ggm_install_req reqs[8];
  char buf[512];
  size_t n = 0;
  if (spec) {
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
      char *at = strchr(tok, '@');
      if (at) *at++ = 0;
      reqs[n++] = (ggm_install_req){tok, at};
    }
  }
  ggm_install_env e = ienv(f);
  ggm_install_opts o = {flags, NOW, NULL, NULL};
  return ggm_install_run(proj, &e, reqs, n, &o, r);
}

static void install_ok(fx *f, const char *proj, const char *spec, unsigned flags) {
  ggm_install_result *r = NULL;
  int rv = install(f, proj, spec, flags, &r);
  if (rv)
    fail_msg("install %s: %s (%s)%s", spec ? spec : "", r->msg, gg_strerror(rv),
             r->explain ? r->explain : "");
  ggm_install_result_free(r);
}

static int exists(const char *fmt, const char *a, const char *b) {
  char *p = pathf(fmt, a, b);
  struct stat st;
  int r = lstat(p, &st) == 0;
  free(p);
  return r;
}

static ggm_lock *load_lock(const char *proj) {
  char *p = pathf("%s/ggen.lock", proj);
  size_t len;
  char *t = gg_test_read_file(p, &len);
  free(p);
  if (!t) return NULL;
  ggm_lock *l = calloc(1, sizeof(*l));
  ggm_toml_error e;
  if (ggm_lock_parse(l, NULL, t, len, NULL, &e)) fail_msg("%s", e.msg);
  free(t);
  return l;
}

static void free_lock(ggm_lock *l) {
  ggm_lock_free(l);
  free(l);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* ---- publish / ingest ----------------------------------------------------------------------- */

static void test_publish_rules(void **state) {
  fx *f = *state;
  ggm_publish_result res;
  assert_int_equal(publish(f, &f->kp, "io.t.a", "1.0.0", NULL, NULL, &res), GG_OK);
  assert_int_equal(res.existed, 0);
  assert_string_equal(res.id, "io.t.a");
  assert_true(res.files == 2);
  char cid1[GGM_CID_TEXT_MAX];
  strcpy(cid1, res.cid);
  /* the same release again: nothing changes */
  assert_int_equal(publish(f, &f->kp, "io.t.a", "1.0.0", NULL, NULL, &res), GG_OK);
  assert_int_equal(res.existed, 1);
  assert_string_equal(res.cid, cid1);
  /* the same version with other content: versions are immutable */
  assert_int_equal(publish(f, &f->kp, "io.t.a", "1.0.0", NULL, "changed", &res), GG_EEXIST);
  assert_non_null(strstr(res.msg, "already published with another archive"));
  /* another key: refused, whatever the version */
  assert_int_equal(publish(f, &f->kp2, "io.t.a", "2.0.0", NULL, NULL, &res), GG_EOWNER);
  assert_non_null(strstr(res.msg, "belongs to publisher key"));
  ggs_catalog_info *info = NULL;
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.a", NULL, &info), GG_OK);
  assert_int_equal(info->n_versions, 1);
  assert_non_null(info->versions[0].record);
  assert_string_equal(info->versions[0].cid, cid1);
  assert_string_equal(info->versions[0].source, "local");
  ggs_catalog_info_free(info);
  /* a dry run checks and stores nothing */
  char *dir = pkg_dir(f, "io.t.a", "1.1.0", NULL, NULL);
  ggm_publish_env e = penv(f);
  assert_int_equal(ggm_publish_dir(dir, &e, &f->kp, NOW, GGM_PUBLISH_DRY_RUN, &res), GG_OK);
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.a", "1.1.0", &info), GG_ENOTFOUND);
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_parse(res.cid, cid);
  assert_int_equal(ggs_blob_has(f->st, cid), GG_ENOTFOUND);
  free(dir);
  /* metadata follows the newest version: an older one published later does not roll back */
  assert_int_equal(publish(f, &f->kp, "io.t.a", "3.0.0", NULL, NULL, &res), GG_OK);
  assert_int_equal(publish(f, &f->kp, "io.t.a", "2.5.0", NULL, NULL, &res), GG_OK);
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.a", NULL, &info), GG_OK);
  assert_string_equal(info->description, "test pack io.t.a");
  assert_string_equal(info->latest, "3.0.0");
  ggs_catalog_info_free(info);
}

static void test_publish_bad_dirs(void **state) {
  fx *f = *state;
  ggm_publish_result res;
  ggm_publish_env e = penv(f);
  char *dir = pathf("%s/src/bad", f->root), *man = pathf("%s/gpack.toml", dir);
  write_file(man, "[gpack]\nid = \"io.t.bad\"\nversion = \"1.0\"\n");
  assert_int_equal(ggm_publish_dir(dir, &e, &f->kp, NOW, 0, &res), GG_EINVAL);
  assert_non_null(strstr(res.msg, "gpack.toml:3:11:"));
  unlink(man);
  assert_int_equal(ggm_publish_dir(dir, &e, &f->kp, NOW, 0, &res), GG_EINVAL);
  assert_non_null(strstr(res.msg, "has no gpack.toml"));
  free(man);
  free(dir);
  /* a symlink in the package is never packed */
  dir = pkg_dir(f, "io.t.link", "1.0.0", NULL, NULL);
  char *ln = pathf("%s/templates/escape", dir);
  assert_int_equal(symlink("/etc/passwd", ln), 0);
  assert_int_equal(ggm_publish_dir(dir, &e, &f->kp, NOW, 0, &res), GG_EINVAL);
  assert_non_null(strstr(res.msg, "cannot pack"));
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.link", NULL, &(ggs_catalog_info *){0}),
                   GG_ENOTFOUND);
  free(ln);
  free(dir);
}

/* Signs a record for (id, version, deps) over the archive bytes given. */
static void sign_record(fx *f, const gg_keypair *kp, const char *id, const char *ver,
                        const uint8_t *arch, size_t alen, gg_buf *out) {
  ggm_release r = {.id = id, .version = ver, .name = id, .archive_size = alen, .publish_time = NOW};
  ggm_pack_cid_of(arch, alen, r.archive_cid);
  gg_buf_init(out, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, kp, out, NULL), GG_OK);
  (void)f;
}

static int tmpfd_with(const uint8_t *p, size_t n) {
  FILE *t = tmpfile();
  fwrite(p, 1, n, t);
  fflush(t);
  int fd = dup(fileno(t));
  fclose(t);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* A valid archive of a package directory, in memory. */
static uint8_t *pack_mem(fx *f, const char *id, const char *ver, size_t *len) {
  char *dir = pkg_dir(f, id, ver, NULL, NULL);
  int fd = tmpfd_with((const uint8_t *)"", 0);
  ggm_pack_result pr;
  assert_int_equal(ggm_pack_dir_to_fd(dir, NULL, fd, &pr, NULL), GG_OK);
  *len = (size_t)pr.size;
  uint8_t *b = malloc(*len);
  assert_int_equal(pread(fd, b, *len, 0), (ssize_t)*len);
  close(fd);
  free(dir);
  return b;
}

static void test_ingest_checks(void **state) {
  fx *f = *state;
  ggm_publish_env e = penv(f);
  ggm_publish_result res;
  size_t alen;
  uint8_t *arch = pack_mem(f, "io.t.ing", "1.0.0", &alen);
  gg_buf rec;
  sign_record(f, &f->kp, "io.t.ing", "1.0.0", arch, alen, &rec);
  /* a flipped byte anywhere in the record: refused */
  for (size_t i = 0; i < gg_buf_len(&rec); i += 7) {
    uint8_t *t = malloc(gg_buf_len(&rec));
    memcpy(t, gg_buf_ptr(&rec), gg_buf_len(&rec));
    t[i] ^= 0x20;
    int fd = tmpfd_with(arch, alen);
    int rv = ggm_publish_ingest(&e, t, gg_buf_len(&rec), fd, NULL, 0, &res);
    assert_true(rv == GG_EBADSIG || rv == GG_EPARSE || rv == GG_EBADKEY || rv == GG_ETOOBIG);
    close(fd);
    free(t);
  }
  /* an archive that is not the one signed */
  arch[alen / 2] ^= 1;
  int fd = tmpfd_with(arch, alen);
  assert_int_equal(ggm_publish_ingest(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), fd, NULL, 0, &res),
                   GG_EINTEGRITY);
  close(fd);
  arch[alen / 2] ^= 1;
  /* a record naming another package than the archive's manifest */
  gg_buf other;
  sign_record(f, &f->kp, "io.t.other", "1.0.0", arch, alen, &other);
  fd = tmpfd_with(arch, alen);
  assert_int_equal(
      ggm_publish_ingest(&e, gg_buf_ptr(&other), gg_buf_len(&other), fd, NULL, 0, &res),
      GG_EINTEGRITY);
  assert_non_null(strstr(res.msg, "manifest is io.t.ing@1.0.0"));
  close(fd);
  gg_buf_free(&other);
  /* the real thing, from "elsewhere", with its source */
  fd = tmpfd_with(arch, alen);
  assert_int_equal(ggm_publish_ingest(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), fd, "p2p", 0, &res),
                   GG_OK);
  close(fd);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.ing", "1.0.0", &info), GG_OK);
  assert_string_equal(info->versions[0].source, "p2p");
  ggs_catalog_info_free(info);
  /* hostile archives, correctly signed: refused, nothing stored */
  const char *cases[] = {"generated/dotdot-path.tar", "generated/absolute-path.tar",
                         "generated/symlink-chain-escape.tar"};
  for (size_t i = 0; i < 3; i++) {
    char rel[128];
    snprintf(rel, sizeof rel, "archives-hostile/%s", cases[i]);
    char *path = gg_test_require_data(rel);
    size_t hl;
    uint8_t *h = (uint8_t *)gg_test_read_file(path, &hl);
    gg_buf hr;
    sign_record(f, &f->kp, "io.t.hostile", "1.0.0", h, hl, &hr);
    fd = tmpfd_with(h, hl);
    assert_int_equal(ggm_publish_ingest(&e, gg_buf_ptr(&hr), gg_buf_len(&hr), fd, NULL, 0, &res),
                     GG_EUNSAFE);
    close(fd);
    uint8_t cid[GGM_CID_LEN];
    ggm_pack_cid_of(h, hl, cid);
    assert_int_equal(ggs_blob_has(f->st, cid), GG_ENOTFOUND);
    assert_int_equal(ggs_catalog_get(f->cat, "io.t.hostile", NULL, &info), GG_ENOTFOUND);
    gg_buf_free(&hr);
    free(h);
    free(path);
  }
  char *tmp = pathf("%s/tmp", f->home);
  assert_int_equal(count_entries(tmp), 0); /* no temporary extraction left behind */
  free(tmp);
  gg_buf_free(&rec);
  free(arch);
}

/* A record without its archive: cataloged (search and the resolver see it), the install needs
 * the archive, which a later full ingest of the same record adds; ownership and immutability
 * are checked as for a full ingest. */
static void test_ingest_record_only(void **state) {
  fx *f = *state;
  ggm_publish_env e = penv(f);
  ggm_publish_result res;
  size_t alen;
  uint8_t *arch = pack_mem(f, "io.t.rec", "1.0.0", &alen);
  gg_buf rec, other, foreign;
  sign_record(f, &f->kp, "io.t.rec", "1.0.0", arch, alen, &rec);
  /* tampered: refused, nothing cataloged */
  uint8_t *t = malloc(gg_buf_len(&rec));
  memcpy(t, gg_buf_ptr(&rec), gg_buf_len(&rec));
  t[gg_buf_len(&rec) - 3] ^= 1;
  assert_int_equal(ggm_publish_ingest_record(&e, t, gg_buf_len(&rec), "p2p", 0, &res), GG_EBADSIG);
  free(t);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.rec", NULL, &info), GG_ENOTFOUND);
  /* dry run: checked, nothing stored */
  assert_int_equal(ggm_publish_ingest_record(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), "p2p",
                                             GGM_PUBLISH_DRY_RUN, &res),
                   GG_OK);
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.rec", NULL, &info), GG_ENOTFOUND);
  assert_int_equal(
      ggm_publish_ingest_record(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), "gossip", 0, &res), GG_OK);
  assert_int_equal(res.existed, 0);
  assert_int_equal(ggs_catalog_get(f->cat, "io.t.rec", "1.0.0", &info), GG_OK);
  assert_string_equal(info->versions[0].source, "gossip");
  assert_non_null(info->versions[0].record);
  ggs_catalog_info_free(info);
  assert_int_equal(
      ggm_publish_ingest_record(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), "p2p", 0, &res), GG_OK);
  assert_int_equal(res.existed, 1);
  /* the archive is not here yet: install says so and changes nothing */
  char *proj = new_project(f);
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, "io.t.rec", 0, &r), GG_ENOTFOUND);
  assert_non_null(strstr(r->msg, "not in the local store"));
  ggm_install_result_free(r);
  /* the same version with another archive, and another key's version: refused */
  arch[alen / 2] ^= 1;
  sign_record(f, &f->kp, "io.t.rec", "1.0.0", arch, alen, &other);
  arch[alen / 2] ^= 1;
  assert_int_equal(
      ggm_publish_ingest_record(&e, gg_buf_ptr(&other), gg_buf_len(&other), "p2p", 0, &res),
      GG_EEXIST);
  sign_record(f, &f->kp2, "io.t.rec", "2.0.0", arch, alen, &foreign);
  assert_int_equal(
      ggm_publish_ingest_record(&e, gg_buf_ptr(&foreign), gg_buf_len(&foreign), "p2p", 0, &res),
      GG_EOWNER);
  /* the archive arrives: stored, the version keeps its record and source, install works */
  int fd = tmpfd_with(arch, alen);
  assert_int_equal(ggm_publish_ingest(&e, gg_buf_ptr(&rec), gg_buf_len(&rec), fd, "p2p", 0, &res),
                   GG_OK);
  close(fd);
  assert_int_equal(res.existed, 1);
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_of(arch, alen, cid);
  assert_int_equal(ggs_blob_has(f->st, cid), GG_OK);
  install_ok(f, proj, "io.t.rec", 0);
  free(proj);
  gg_buf_free(&rec);
  gg_buf_free(&other);
  gg_buf_free(&foreign);
  free(arch);
}

/* ---- install -------------------------------------------------------------------------------- */

static void publish_graph(fx *f) {
  pub_ok(f, "io.t.base", "1.0.0", NULL);
  pub_ok(f, "io.t.util", "1.0.0", "\"io.t.base\" = \"^1\"\n");
  pub_ok(f, "io.t.app", "1.0.0", "\"io.t.util\" = \"^1\"\n\"io.t.base\" = \"^1.0\"\n");
}

static void test_install_basic(void **state) {
  fx *f = *state;
  publish_graph(f);
  char *proj = new_project(f);
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, "io.t.app", 0, &r), GG_OK);
  assert_int_equal(r->n_changes, 3);
  assert_int_equal(r->n_changed, 3);
  assert_int_equal(r->files_copied, 0);
  assert_int_equal(r->files_linked, 6);
  for (size_t i = 0; i < 3; i++) assert_int_equal(r->changes[i].action, GGM_INSTALL_ADD);
  ggm_install_result_free(r);
  ggm_lock *l = load_lock(proj);
  assert_int_equal(l->n_packs, 3);
  assert_string_equal(l->generated, "2026-01-01T00:00:00Z");
  const ggm_lock_pack *app = ggm_lock_find(l, "io.t.app");
  assert_string_equal(app->requested, "^1.0.0");
  assert_int_equal(app->n_deps, 2);
  assert_string_equal(app->deps[0], "io.t.base@1.0.0");
  assert_null(ggm_lock_find(l, "io.t.base")->requested);
  assert_string_equal(ggm_lock_find(l, "io.t.base")->source, "local");
  assert_int_equal(ggm_lock_check(l, NULL, 0), GG_OK);
  /* the tree is the package, hard-linked read-only from the unpacked cache */
  char *t = pathf("%s/.ggen/packs/io.t.app/templates/main.tmpl", proj);
  char *txt = read_text(t);
  assert_string_equal(txt, "io.t.app 1.0.0: hello {{ name }}\n");
  free(txt);
  struct stat a, b;
  assert_int_equal(stat(t, &a), 0);
  assert_true(a.st_nlink >= 2);
  assert_int_equal(a.st_mode & 0777, 0444);
  char *c = pathf("%s/unpacked/%s/tree/templates/main.tmpl", f->home, app->cid);
  assert_int_equal(stat(c, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  free(c);
  free_lock(l);
  /* nothing left over */
  char *gg = pathf("%s/.ggen", proj);
  assert_int_equal(count_entries(gg), 1); /* packs only: no temporary left */
  free(gg);
  /* again: nothing to do, nothing written */
  char *lp = pathf("%s/ggen.lock", proj);
  struct stat s1, s2;
  stat(lp, &s1);
  usleep(20000);
  assert_int_equal(install(f, proj, "io.t.app", 0, &r), GG_OK);
  assert_int_equal(r->n_changed, 0);
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, NULL, 0, &r), GG_OK);
  assert_int_equal(r->n_changed, 0);
  ggm_install_result_free(r);
  stat(lp, &s2);
  assert_int_equal(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
  assert_int_equal(s1.st_ino, s2.st_ino);
  /* a pack deleted by hand is put back */
  char *cmd = pathf("rm -rf '%s/.ggen/packs/io.t.util'", proj);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  assert_int_equal(install(f, proj, NULL, 0, &r), GG_OK);
  assert_int_equal(r->n_changed, 1);
  assert_int_equal(r->changes[2].action, GGM_INSTALL_REINSTALL);
  ggm_install_result_free(r);
  assert_true(exists("%s/.ggen/packs/%s/gpack.toml", proj, "io.t.util"));
  /* --force re-extracts everything (the lockfile, unchanged, keeps its bytes and
   * timestamp); --copy makes independent writable copies */
  char *lock_before = read_text(lp);
  ggm_install_env e = ienv(f);
  ggm_install_opts o = {GGM_INSTALL_FORCE | GGM_INSTALL_COPY, NOW + 3600, NULL, NULL};
  assert_int_equal(ggm_install_run(proj, &e, NULL, 0, &o, &r), GG_OK);
  char *lock_after = read_text(lp);
  assert_string_equal(lock_before, lock_after);
  free(lock_before);
  free(lock_after);
  assert_int_equal(r->n_changed, 3);
  assert_int_equal(r->files_linked, 0);
  assert_int_equal(r->files_copied, 6);
  ggm_install_result_free(r);
  assert_int_equal(stat(t, &a), 0);
  assert_int_equal(a.st_nlink, 1);
  assert_int_equal(a.st_mode & 0777, 0644);
  free(t);
  free(lp);
  free(proj);
}

/* A project on another file system than the home: links are impossible, files are copies. */
static void test_cross_fs(void **state) {
  fx *f = *state;
  struct stat a, b;
  if (stat("/dev/shm", &a) != 0 || stat(f->root, &b) != 0 || a.st_dev == b.st_dev ||
      access("/dev/shm", W_OK) != 0)
    skip();
  publish_graph(f);
  char *proj = strdup("/dev/shm/ggen-test-proj-XXXXXX");
  assert_non_null(mkdtemp(proj));
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, "io.t.app", 0, &r), GG_OK);
  assert_int_equal(r->files_linked, 0);
  assert_int_equal(r->files_copied, 6);
  ggm_install_result_free(r);
  char *t = pathf("%s/.ggen/packs/io.t.app/templates/main.tmpl", proj);
  assert_int_equal(stat(t, &a), 0);
  assert_int_equal(a.st_nlink, 1);
  assert_int_equal(a.st_mode & 0777, 0644);
  free(t);
  gg_test_rmtree(proj);
  free(proj);
}

static void test_update_remove(void **state) {
  fx *f = *state;
  publish_graph(f);
  char *proj = new_project(f);
  install_ok(f, proj, "io.t.app", 0);
  pub_ok(f, "io.t.base", "1.2.0", NULL);
  pub_ok(f, "io.t.base", "2.0.0", NULL);
  ggm_install_result *r = NULL;
  /* a new install keeps locked versions */
  install_ok(f, proj, NULL, 0);
  ggm_lock *l = load_lock(proj);
  assert_string_equal(ggm_lock_find(l, "io.t.base")->version, "1.0.0");
  free_lock(l);
  /* update of an id that is not installed */
  ggm_install_env e = ienv(f);
  ggm_install_opts o = {0, NOW, NULL, NULL};
  const char *bad[] = {"io.t.nope"};
  assert_int_equal(ggm_install_update(proj, &e, bad, 1, &o, &r), GG_ENOTFOUND);
  ggm_install_result_free(r);
  /* update: newest allowed (^1), not 2.0.0 */
  o.flags = GGM_INSTALL_DRY_RUN;
  assert_int_equal(ggm_install_update(proj, &e, NULL, 0, &o, &r), GG_OK);
  assert_int_equal(r->n_changed, 1);
  ggm_install_result_free(r);
  l = load_lock(proj);
  assert_string_equal(ggm_lock_find(l, "io.t.base")->version, "1.0.0"); /* dry run */
  free_lock(l);
  o.flags = 0;
  assert_int_equal(ggm_install_update(proj, &e, NULL, 0, &o, &r), GG_OK);
  assert_int_equal(r->n_changed, 1);
  assert_string_equal(r->changes[1].id, "io.t.base");
  assert_int_equal(r->changes[1].action, GGM_INSTALL_UPGRADE);
  assert_string_equal(r->changes[1].old_version, "1.0.0");
  assert_string_equal(r->changes[1].new_version, "1.2.0");
  ggm_install_result_free(r);
  char *t = pathf("%s/.ggen/packs/io.t.base/templates/main.tmpl", proj);
  char *txt = read_text(t);
  assert_string_equal(txt, "io.t.base 1.2.0: hello {{ name }}\n");
  free(txt);
  /* an explicit range moves it down again */
  assert_int_equal(install(f, proj, "io.t.base@=1.0.0", 0, &r), GG_OK);
  ggm_install_result_free(r);
  l = load_lock(proj);
  assert_string_equal(ggm_lock_find(l, "io.t.base")->version, "1.0.0");
  assert_string_equal(ggm_lock_find(l, "io.t.base")->requested, "=1.0.0");
  free_lock(l);
  /* remove: a dependency only, unknown, then the root with what only it needed */
  const char *util[] = {"io.t.util"}, *nope[] = {"io.t.nope"}, *app[] = {"io.t.app"};
  assert_int_equal(ggm_install_remove(proj, NULL, util, 1, &o, &r), GG_ECONFLICT);
  assert_non_null(strstr(r->msg, "dependency of io.t.app"));
  ggm_install_result_free(r);
  assert_int_equal(ggm_install_remove(proj, NULL, nope, 1, &o, &r), GG_ENOTFOUND);
  ggm_install_result_free(r);
  /* base is requested (=1.0.0) and needed by app: removing it keeps it, unrequested */
  const char *base[] = {"io.t.base"};
  assert_int_equal(ggm_install_remove(proj, NULL, base, 1, &o, &r), GG_OK);
  assert_int_equal(r->n_changed, 0);
  ggm_install_result_free(r);
  l = load_lock(proj);
  assert_null(ggm_lock_find(l, "io.t.base")->requested);
  free_lock(l);
  install_ok(f, proj, "io.t.base@=1.0.0", 0);
  assert_int_equal(ggm_install_remove(proj, NULL, app, 1, &o, &r), GG_OK);
  assert_int_equal(r->n_changed, 2); /* app and util; base stays (requested) */
  ggm_install_result_free(r);
  l = load_lock(proj);
  assert_int_equal(l->n_packs, 1);
  assert_string_equal(l->packs[0].id, "io.t.base");
  free_lock(l);
  assert_false(exists("%s/.ggen/packs/%s", proj, "io.t.app"));
  assert_false(exists("%s/.ggen/packs/%s", proj, "io.t.util"));
  assert_true(exists("%s/.ggen/packs/%s", proj, "io.t.base"));
  free(t);
  free(proj);
}

static void test_frozen(void **state) {
  fx *f = *state;
  publish_graph(f);
  char *proj = new_project(f);
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, NULL, GGM_INSTALL_FROZEN, &r), GG_ECONFLICT);
  assert_non_null(strstr(r->msg, "no ggen.lock"));
  ggm_install_result_free(r);
  install_ok(f, proj, "io.t.app", 0);
  char *lp = pathf("%s/ggen.lock", proj);
  char *before = read_text(lp);
  /* a new version appears: frozen ignores it and installs the lock after a wipe */
  pub_ok(f, "io.t.base", "1.5.0", NULL);
  char *cmd = pathf("rm -rf '%s/.ggen'", proj);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  assert_int_equal(install(f, proj, NULL, GGM_INSTALL_FROZEN, &r), GG_OK);
  assert_int_equal(r->n_changed, 3);
  ggm_install_result_free(r);
  char *after = read_text(lp);
  assert_string_equal(before, after);
  free(after);
  assert_true(exists("%s/.ggen/packs/%s/gpack.toml", proj, "io.t.base"));
  /* drift: a request the lock does not satisfy, an unknown pack, the project manifest */
  assert_int_equal(install(f, proj, "io.t.base@^1.5", GGM_INSTALL_FROZEN, &r), GG_ECONFLICT);
  assert_non_null(strstr(r->msg, "does not satisfy ^1.5"));
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "io.t.other", GGM_INSTALL_FROZEN, &r), GG_ECONFLICT);
  ggm_install_result_free(r);
  char *pm = pathf("%s/gpack.toml", proj);
  write_file(pm, "[gpack]\nid = \"my.project\"\nversion = \"0.1.0\"\n[dependencies]\n\"io.t.util\" "
                 "= \"^2\"\n");
  assert_int_equal(install(f, proj, NULL, GGM_INSTALL_FROZEN, &r), GG_ECONFLICT);
  assert_non_null(strstr(r->msg, "gpack.toml"));
  ggm_install_result_free(r);
  /* the project's manifest is a root of normal installs too: ^2 does not exist */
  assert_int_equal(install(f, proj, NULL, 0, &r), GG_EUNSAT);
  ggm_install_result_free(r);
  unlink(pm);
  /* a lock whose dependency is not locked */
  char *edited = read_text(lp);
  char *dep = strstr(edited, "\"io.t.base@1.0.0\"");
  assert_non_null(dep);
  memcpy(dep, "\"io.t.base@1.0.9\"", 17);
  write_file(lp, edited);
  assert_int_equal(install(f, proj, NULL, GGM_INSTALL_FROZEN, &r), GG_ECONFLICT);
  assert_non_null(strstr(r->msg, "which the lockfile does not hold"));
  ggm_install_result_free(r);
  free(edited);
  free(pm);
  free(before);
  free(lp);
  free(proj);
}

static void test_bad_requests(void **state) {
  fx *f = *state;
  publish_graph(f);
  pub_ok(f, "io.t.new", "1.0.0", "\"io.t.base\" = \"^2\"\n");
  pub_ok(f, "io.t.needs-ghost", "1.0.0", "\"io.t.ghost\" = \"*\"\n");
  char *proj = new_project(f);
  install_ok(f, proj, "io.t.app", 0);
  char *lp = pathf("%s/ggen.lock", proj);
  char *before = read_text(lp);
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, "io.t.unknown", 0, &r), GG_ENOTFOUND);
  assert_non_null(strstr(r->msg, "unknown package io.t.unknown"));
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "io.t.base@>>1", 0, &r), GG_EINVAL);
  assert_non_null(strstr(r->msg, "bad version range"));
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "../etc", 0, &r), GG_EINVAL);
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "io.t.base@^9", 0, &r), GG_EUNSAT);
  ggm_install_result_free(r);
  /* io.t.new needs base ^2, io.t.app needs base ^1 */
  assert_int_equal(install(f, proj, "io.t.new", 0, &r), GG_EUNSAT);
  assert_non_null(r->explain);
  assert_non_null(strstr(r->explain, "io.t.base"));
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "io.t.needs-ghost", 0, &r), GG_EUNSAT);
  assert_non_null(strstr(r->explain, "io.t.ghost"));
  ggm_install_result_free(r);
  /* none of it changed anything */
  char *after = read_text(lp);
  assert_string_equal(before, after);
  free(after);
  assert_false(exists("%s/.ggen/packs/%s", proj, "io.t.new"));
  /* a malformed lockfile is reported with its position and left alone */
  write_file(lp, "version = \"1.0\"\n[[packs]]\nid = \"io.t.app\"\nversion = \"x\"\n");
  assert_int_equal(install(f, proj, NULL, 0, &r), GG_EINVAL);
  assert_non_null(strstr(r->msg, "ggen.lock:4:11:"));
  ggm_install_result_free(r);
  ggm_install_listing *li = NULL;
  assert_int_equal(ggm_install_list(proj, &li), GG_EINVAL);
  ggm_install_listing_free(li);
  write_file(lp, before);
  /* --no-dependencies installs the named pack alone */
  char *p2 = new_project(f);
  install_ok(f, p2, "io.t.app", GGM_INSTALL_NO_DEPS);
  ggm_lock *l = load_lock(p2);
  assert_int_equal(l->n_packs, 1);
  assert_int_equal(l->packs[0].n_deps, 0);
  free_lock(l);
  free(p2);
  free(before);
  free(lp);
  free(proj);
}

static void test_corrupt_and_hostile(void **state) {
  fx *f = *state;
  ggm_publish_result res;
  assert_int_equal(publish(f, &f->kp, "io.t.c", "1.0.0", NULL, NULL, &res), GG_OK);
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_parse(res.cid, cid);
  char path[1024];
  assert_int_equal(ggs_blob_path(f->st, cid, path, sizeof path), GG_OK);
  chmod(path, 0644);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, "X", 1, 40), 1);
  close(fd);
  char *proj = new_project(f);
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, "io.t.c", 0, &r), GG_EINTEGRITY);
  assert_non_null(strstr(r->msg, "corrupt"));
  ggm_install_result_free(r);
  assert_false(exists("%s/%s", proj, "ggen.lock"));
  char *packs = pathf("%s/.ggen/packs", proj);
  assert_true(count_entries(packs) <= 0);
  assert_int_equal(ggs_blob_has(f->st, cid), GG_ENOTFOUND); /* removed from the store */
  /* the archive is back (published again): installs */
  assert_int_equal(publish(f, &f->kp, "io.t.c", "1.0.0", NULL, NULL, &res), GG_OK);
  install_ok(f, proj, "io.t.c", 0);
  /* a hostile archive that got into the store and catalog behind ingest's back */
  char *hp = gg_test_require_data("archives-hostile/generated/dotdot-path.tar");
  size_t hl;
  uint8_t *h = (uint8_t *)gg_test_read_file(hp, &hl);
  gg_buf rec;
  sign_record(f, &f->kp, "io.t.evil", "1.0.0", h, hl, &rec);
  uint8_t hcid[GGM_CID_LEN];
  ggm_pack_cid_of(h, hl, hcid);
  char htext[GGM_CID_TEXT_MAX];
  ggm_pack_cid_text(hcid, htext);
  assert_int_equal(ggs_blob_put(f->st, hcid, h, hl), GG_OK);
  ggs_catalog_pkg pk = {.id = "io.t.evil"};
  assert_int_equal(ggs_catalog_put_package(f->cat, &pk), GG_OK);
  ggs_catalog_version v = {.version = "1.0.0",
                           .cid = htext,
                           .size = hl,
                           .record = gg_buf_ptr(&rec),
                           .record_len = gg_buf_len(&rec)};
  assert_int_equal(ggs_catalog_put_version(f->cat, "io.t.evil", &v), GG_OK);
  char *lp = pathf("%s/ggen.lock", proj);
  char *before = read_text(lp);
  assert_int_equal(install(f, proj, "io.t.evil", 0, &r), GG_EUNSAFE);
  assert_non_null(strstr(r->msg, "refused"));
  ggm_install_result_free(r);
  assert_int_equal(install(f, proj, "io.t.evil", GGM_INSTALL_COPY, &r), GG_EUNSAFE);
  ggm_install_result_free(r);
  char *after = read_text(lp);
  assert_string_equal(before, after);
  assert_int_equal(count_entries(packs), 1);
  /* the same through the command: exit 6, the reason, nothing installed */
  const char *bin = getenv("GGEN_BIN");
  if (bin) {
    ggs_catalog_close(f->cat);
    ggs_blob_close(f->st);
    char *err = pathf("%s/cli.err", f->root);
    char *cmd = pathf("'%s' --home '%s' marketplace install --dir '%s' io.t.evil >/dev/null 2>'%s'",
                      bin, f->home, proj, err);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 6);
    char *msg = read_text(err);
    assert_non_null(strstr(msg, "the archive of io.t.evil@1.0.0 is refused"));
    assert_non_null(strstr(msg, "nothing was installed"));
    free(msg);
    free(cmd);
    free(err);
    char *again = read_text(lp);
    assert_string_equal(before, again);
    free(again);
    assert_int_equal(count_entries(packs), 1);
    char *cat = pathf("%s/catalog.db", f->home), *store = pathf("%s/store", f->home);
    assert_int_equal(ggs_catalog_open(&f->cat, cat, 0, NULL), GG_OK);
    assert_int_equal(ggs_blob_open(&f->st, store, NULL, NULL), GG_OK);
    free(cat);
    free(store);
  }
  char *gg = pathf("%s/.ggen", proj);
  assert_int_equal(count_entries(gg), 1);
  char *esc = pathf("%s/escaped.txt", f->root);
  struct stat st;
  assert_int_not_equal(stat(esc, &st), 0);
  free(esc);
  free(gg);
  free(after);
  free(before);
  free(lp);
  gg_buf_free(&rec);
  free(h);
  free(hp);
  free(packs);
  free(proj);
}

static void test_cache_tamper(void **state) {
  fx *f = *state;
  ggm_publish_result res;
  assert_int_equal(publish(f, &f->kp, "io.t.tc", "1.0.0", NULL, NULL, &res), GG_OK);
  char *p1 = new_project(f);
  install_ok(f, p1, "io.t.tc", 0);
  char *cached = pathf("%s/unpacked/%s/tree/templates/main.tmpl", f->home, res.cid);
  assert_int_equal(chmod(cached, 0644), 0);
  write_file(cached, "tampered\n");
  chmod(cached, 0444);
  /* a second project gets the original content: the entry is rebuilt from the archive */
  char *p2 = new_project(f);
  install_ok(f, p2, "io.t.tc", 0);
  char *inst = pathf("%s/.ggen/packs/io.t.tc/templates/main.tmpl", p2);
  char *txt = read_text(inst);
  assert_string_equal(txt, "io.t.tc 1.0.0: hello {{ name }}\n");
  free(txt);
  /* a list cut short (power loss before it reached the disk) is seen and the entry rebuilt */
  char *list = pathf("%s/unpacked/%s/files", f->home, res.cid);
  size_t ll;
  char *lt = gg_test_read_file(list, &ll);
  assert_non_null(strstr(lt, "\nend 3\n")); /* templates dir, its file, the manifest */
  assert_int_equal(truncate(list, (off_t)(strstr(lt, "\nend") - lt) + 1), 0);
  char *p3 = new_project(f);
  install_ok(f, p3, "io.t.tc", 0);
  free(lt);
  lt = gg_test_read_file(list, &ll);
  assert_non_null(strstr(lt, "\nend 3\n"));
  free(lt);
  free(list);
  free(p3);
  /* gc keeps entries whose archive is stored, clean removes all */
  ggm_install_cache_stats cs;
  assert_int_equal(ggm_install_cache_gc(f->home, f->st, &cs), GG_OK);
  assert_int_equal(cs.entries, 1);
  assert_int_equal(cs.files, 2);
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_parse(res.cid, cid);
  assert_int_equal(ggs_blob_remove(f->st, cid), GG_OK);
  assert_int_equal(ggm_install_cache_gc(f->home, f->st, &cs), GG_OK);
  assert_int_equal(cs.entries, 0);
  assert_int_equal(cs.removed, 1);
  assert_int_equal(ggm_install_cache_clean(f->home, &cs), GG_OK);
  /* installed files survive the cache */
  txt = read_text(inst);
  assert_non_null(txt);
  free(txt);
  free(inst);
  free(cached);
  free(p1);
  free(p2);
}

static void test_ggen_lock_and_list(void **state) {
  fx *f = *state;
  publish_graph(f);
  char *proj = new_project(f);
  install_ok(f, proj, "io.t.app", 0);
  /* rewrite the lock as ggen would have: no cid, no requested */
  ggm_lock *l = load_lock(proj);
  char text[4096] = "version = \"1.0\"\ngenerated = \"2025-01-01T00:00:00Z\"\n";
  for (size_t i = 0; i < l->n_packs; i++) {
    const ggm_lock_pack *p = &l->packs[i];
    char one[1024];
    snprintf(one, sizeof one,
             "\n[[packs]]\nid = \"%s\"\nversion = \"%s\"\nsha256 = \"%s\"\nsource = \"x\"\n", p->id,
             p->version, p->sha256);
    strcat(text, one);
    if (p->n_deps) {
      strcat(text, "dependencies = [");
      for (size_t k = 0; k < p->n_deps; k++) {
        strcat(text, k ? ", \"" : "\"");
        strcat(text, p->deps[k]);
        strcat(text, "\"");
      }
      strcat(text, "]\n");
    }
  }
  free_lock(l);
  char *lp = pathf("%s/ggen.lock", proj);
  write_file(lp, text);
  char *cmd = pathf("rm -rf '%s/.ggen'", proj);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  ggm_install_listing *li = NULL;
  assert_int_equal(ggm_install_list(proj, &li), GG_OK);
  assert_int_equal(li->n, 3);
  assert_int_equal(li->drift, GGM_INSTALL_MISSING);
  ggm_install_listing_free(li);
  /* frozen works from sha256 alone */
  ggm_install_result *r = NULL;
  assert_int_equal(install(f, proj, NULL, GGM_INSTALL_FROZEN, &r), GG_OK);
  assert_int_equal(r->n_changed, 3);
  ggm_install_result_free(r);
  /* a normal install adopts it: the top-level pack becomes requested ^1.0.0 */
  install_ok(f, proj, NULL, 0);
  l = load_lock(proj);
  assert_string_equal(ggm_lock_find(l, "io.t.app")->requested, "^1.0.0");
  assert_null(ggm_lock_find(l, "io.t.util")->requested);
  assert_non_null(ggm_lock_find(l, "io.t.util")->cid);
  free_lock(l);
  /* drift flags */
  char *m = pathf("%s/.ggen/packs/io.t.util/gpack.toml", proj);
  chmod(m, 0644);
  unlink(m);
  write_file(m, "[gpack]\nid = \"io.t.util\"\nversion = \"9.9.9\"\n");
  char *extra = pathf("%s/.ggen/packs/io.t.extra/gpack.toml", proj);
  write_file(extra, "[gpack]\nid = \"io.t.extra\"\nversion = \"0.0.1\"\n");
  cmd = pathf("rm -rf '%s/.ggen/packs/io.t.base'", proj);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  assert_int_equal(ggm_install_list(proj, &li), GG_OK);
  assert_int_equal(li->n, 4);
  assert_string_equal(li->entries[0].id, "io.t.app");
  assert_int_equal(li->entries[0].status, GGM_INSTALL_OK);
  assert_string_equal(li->entries[1].id, "io.t.base");
  assert_int_equal(li->entries[1].status, GGM_INSTALL_MISSING);
  assert_string_equal(li->entries[2].id, "io.t.extra");
  assert_int_equal(li->entries[2].status, GGM_INSTALL_UNTRACKED);
  assert_string_equal(li->entries[2].disk_version, "0.0.1");
  assert_string_equal(li->entries[3].id, "io.t.util");
  assert_int_equal(li->entries[3].status, GGM_INSTALL_MISMATCH);
  assert_string_equal(li->entries[3].disk_version, "9.9.9");
  ggm_install_listing_free(li);
  /* install repairs what it owns and leaves the untracked tree alone */
  assert_int_equal(install(f, proj, NULL, 0, &r), GG_OK);
  assert_int_equal(r->n_changed, 2);
  ggm_install_result_free(r);
  assert_int_equal(ggm_install_list(proj, &li), GG_OK);
  assert_int_equal(li->drift, GGM_INSTALL_UNTRACKED);
  ggm_install_listing_free(li);
  /* no project dir */
  char *none = pathf("%s/nope", f->root);
  assert_int_equal(ggm_install_list(none, &li), GG_ENOTFOUND);
  ggm_install_listing_free(li);
  free(none);
  free(extra);
  free(m);
  free(lp);
  free(proj);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_publish_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_publish_bad_dirs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ingest_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ingest_record_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_install_basic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cross_fs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_remove, setup, teardown),
      cmocka_unit_test_setup_teardown(test_frozen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_and_hostile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_tamper, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ggen_lock_and_list, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
