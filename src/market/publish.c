/*
 * Publishing and ingesting releases (include/ggen/publish.h, docs/publish.md).
 *
 * Order of the checks in ingest: cheap and decisive first (signature, size and CID), then
 * the catalog's view (owner, existing version), then the expensive one (a full safe
 * extraction into a temporary directory, which also proves the archive installs with the
 * default limits). Only then is anything written: the blob first (content-addressed, so an
 * interrupted publish leaves at worst an unreferenced blob that gc evicts), then the catalog
 * rows in one SQLite transaction (claim, package metadata, version), so a reader sees the
 * release completely or not at all.
 *
 * Package metadata (description, tags...) follows the highest version published: publishing
 * a backport 1.4.2 after 2.0.0 adds the version without rolling the description back. The
 * popularity counters a catalog may hold from an imported index are kept.
 */
#include "ggen/publish.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/extract.h"
#include "ggen/manifest.h"
#include "ggen/release.h"
#include "ggen/semver.h"
#include "install_int.h"

__attribute__((format(printf, 2, 3))) static void say(ggm_publish_result *res, const char *fmt,
                                                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->msg, sizeof res->msg, fmt, ap);
  va_end(ap);
}

static void key_hex(const uint8_t *k, char out[65]) {
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", k[i]);
}

/* <home>/tmp, created 0700; returns a malloc'd path. */
static char *tmp_dir(const char *home) {
  size_t n = strlen(home) + 8;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/tmp", home);
  if (mkdir(p, 0700) != 0 && errno != EEXIST) {
    free(p);
    return NULL;
  }
  return p;
}

/* Reads the manifest of an extracted tree (gpack.toml, else package.toml). */
static int tree_manifest(const char *dir, ggm_manifest *m, char *msg, size_t cap) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return GG_EIO;
  static const char *names[] = {"gpack.toml", "package.toml"};
  int rv = GG_ENOTFOUND;
  for (int i = 0; i < 2 && rv == GG_ENOTFOUND; i++) {
    gg_buf b;
    gg_buf_init(&b, NULL, 1u << 24);
    rv = ggm__read_file_at(fd, names[i], &b, 1u << 23);
    if (rv == GG_OK) {
      ggm_toml_error e;
      rv = ggm_manifest_parse(m, names[i], gg_buf_ptr(&b), gg_buf_len(&b), 0, NULL, &e);
      if (rv) snprintf(msg, cap, "%s", e.msg);
    }
    gg_buf_free(&b);
  }
  close(fd);
  if (rv == GG_ENOTFOUND) snprintf(msg, cap, "the archive has no gpack.toml at its top");
  return rv;
}

static int range_eq(const char *a, const char *b) {
  if (!a || !*a) a = "*";
  if (!b || !*b) b = "*";
  return !strcmp(a, b);
}

/* The archive's own manifest must say what the record says. */
static int manifest_matches(const ggm_manifest *m, const ggm_release *r, ggm_publish_result *res) {
  if (strcmp(m->id, r->id) || strcmp(m->version, r->version)) {
    say(res, "the archive's manifest is %s@%s but the record says %s@%s", m->id, m->version, r->id,
        r->version);
    return GG_EINTEGRITY;
  }
  if (m->n_deps != r->n_deps) {
    say(res, "the archive's manifest lists %zu dependencies, the record %zu", m->n_deps, r->n_deps);
    return GG_EINTEGRITY;
  }
  for (size_t i = 0; i < m->n_deps; i++) {
    size_t k = 0;
    while (k < r->n_deps && strcmp(r->deps[k].id, m->deps[i].id)) k++;
    if (k == r->n_deps || !range_eq(r->deps[k].range, m->deps[i].range)) {
      say(res, "dependency %s \"%s\" of the archive's manifest is not in the record", m->deps[i].id,
          m->deps[i].range);
      return GG_EINTEGRITY;
    }
  }
  return GG_OK;
}

/* Step 5: extract into <home>/tmp and compare the manifest. Counts files into res. */
static int check_content(const ggm_publish_env *env, int fd, off_t start, const ggm_release *r,
                         ggm_publish_result *res) {
  char *tmp = tmp_dir(env->home);
  if (!tmp) {
    say(res, "cannot create %s/tmp: %s", env->home, strerror(errno));
    return GG_EIO;
  }
  size_t n = strlen(tmp) + 32;
  char *work = malloc(n), *tree = malloc(n + 8);
  int rv = GG_ENOMEM;
  if (!work || !tree) goto out;
  snprintf(work, n, "%s/ingest-XXXXXX", tmp);
  if (!mkdtemp(work)) {
    rv = GG_EIO;
    say(res, "cannot create a temporary directory in %s: %s", tmp, strerror(errno));
    goto out;
  }
  snprintf(tree, n + 8, "%s/tree", work);
  if (lseek(fd, start, SEEK_SET) != start) {
    rv = GG_EIO;
    goto rm;
  }
  ggm_extract_result xr;
  memset(&xr, 0, sizeof xr);
  rv = ggm_extract_fd(fd, tree, NULL, &xr, NULL);
  if (rv) {
    say(res, "the archive of %s@%s is refused: %s%s%s", r->id, r->version,
        xr.err[0] ? xr.err : gg_strerror(rv), xr.path[0] ? ": " : "", xr.path);
    if (rv == GG_EPARSE) rv = GG_EINTEGRITY;
    goto rm;
  }
  res->files = xr.files;
  ggm_manifest m;
  char why[400];
  rv = tree_manifest(tree, &m, why, sizeof why);
  if (rv) {
    say(res, "the archive of %s@%s has no usable manifest: %s", r->id, r->version, why);
    rv = GG_EINTEGRITY;
    goto rm;
  }
  rv = manifest_matches(&m, r, res);
  ggm_manifest_free(&m);
rm:;
  int wfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (wfd >= 0) {
    ggm__rmtree_at(wfd, strrchr(work, '/') + 1);
    close(wfd);
  }
out:
  free(work);
  free(tree);
  free(tmp);
  return rv;
}

/* Step 7: the catalog rows, in one transaction. */
static int catalog_put(const ggm_publish_env *env, const ggm_release *r, const uint8_t *rec,
                       size_t len, const char *source, ggm_publish_result *res) {
  ggs_catalog *cat = env->catalog;
  ggs_catalog_info *old = NULL;
  int have = ggs_catalog_get(cat, r->id, NULL, &old) == GG_OK;
  /* metadata follows the highest version */
  int newest = !have || !old->n_versions;
  if (have && old->n_versions) {
    ggm_semver a = {0}, b = {0};
    if (ggm_semver_parse(&a, r->version, strlen(r->version), 0, NULL) == GG_OK &&
        ggm_semver_parse(&b, old->versions[0].version, strlen(old->versions[0].version), 0, NULL) ==
            GG_OK)
      newest = ggm_semver_cmp(&a, &b) >= 0;
    ggm_semver_free(&a);
    ggm_semver_free(&b);
  }
  int rv = ggs_catalog_begin(cat, 1);
  if (rv) goto out;
  rv = ggs_catalog_claim_owner(cat, r->id, r->publisher, GG_ED25519_PUB, (int64_t)r->publish_time);
  if (rv == GG_EOWNER || rv == GG_EEXIST) {
    say(res, "%s is owned by another publisher key (claimed meanwhile)", r->id);
    rv = GG_EOWNER;
  }
  if (!rv && (newest || !have)) {
    ggs_catalog_pkg p = {
        .id = r->id,
        .name = r->name,
        .description = r->description,
        .license = r->license,
        .category = r->category,
        .homepage = r->homepage,
        .repository = r->repository,
        .authors = r->authors,
        .n_authors = r->n_authors,
        .tags = r->tags,
        .n_tags = r->n_tags,
        .keywords = r->keywords,
        .n_keywords = r->n_keywords,
        .downloads = have ? old->downloads : 0,
        .stars = have ? old->stars : 0,
        .production_ready = have ? old->production_ready : 0,
    };
    if (have) p.documentation = old->documentation;
    rv = ggs_catalog_put_package(cat, &p);
  }
  ggs_catalog_dep deps[GGM_RELEASE_DEPS_MAX];
  for (size_t i = 0; i < r->n_deps && i < GGM_RELEASE_DEPS_MAX; i++)
    deps[i] = (ggs_catalog_dep){r->deps[i].id,
                                r->deps[i].range && *r->deps[i].range ? r->deps[i].range : "*"};
  char sha[65];
  for (int i = 0; i < 32; i++) snprintf(sha + 2 * i, 3, "%02x", r->archive_cid[4 + i]);
  if (!rv) {
    ggs_catalog_version v = {
        .version = r->version,
        .cid = res->cid,
        .size = r->archive_size,
        .published = (int64_t)r->publish_time,
        .publisher = r->publisher,
        .publisher_len = GG_ED25519_PUB,
        .record = rec,
        .record_len = len,
        .sha256 = sha,
        .source = source ? source : "local",
        .deps = deps,
        .n_deps = r->n_deps,
    };
    rv = ggs_catalog_put_version(cat, r->id, &v);
    if (rv == GG_EEXIST)
      say(res, "%s@%s is already published with another archive", r->id, r->version);
  }
  if (rv) {
    ggs_catalog_rollback(cat);
    if (!res->msg[0]) say(res, "catalog: %s", ggs_catalog_errmsg(cat));
  } else if ((rv = ggs_catalog_commit(cat)) != GG_OK) {
    say(res, "catalog commit failed: %s", ggs_catalog_errmsg(cat));
  }
out:
  ggs_catalog_info_free(old);
  return rv;
}

/* Steps 3-4: the id is unowned or owned by the record's key, and an existing id@version has
 * the same archive (then res->existed says whether its record is already stored too). */
static int check_catalog(const ggm_publish_env *env, const ggm_release *r,
                         ggm_publish_result *res) {
  int rv;
  /* 3: ownership */
  uint8_t owner[64];
  size_t olen = 0;
  rv = ggs_catalog_owner(env->catalog, r->id, owner, sizeof owner, &olen);
  if (rv == GG_OK) {
    if (olen != GG_ED25519_PUB || ggm_release_check_owner(r, owner) != GG_OK) {
      char a[65] = "?", b[65];
      if (olen == GG_ED25519_PUB) key_hex(owner, a);
      key_hex(r->publisher, b);
      say(res,
          "%s belongs to publisher key %.16s..., not to this key %.16s...: another key's "
          "version is refused",
          r->id, a, b);
      return GG_EOWNER;
    }
  } else if (rv != GG_ENOTFOUND) {
    say(res, "catalog: %s", ggs_catalog_errmsg(env->catalog));
    return rv;
  }
  /* 4: versions are immutable */
  ggs_catalog_info *info = NULL;
  rv = ggs_catalog_get(env->catalog, r->id, r->version, &info);
  if (rv == GG_OK) {
    char have[GGM_CID_TEXT_MAX + 64] = "";
    if (info->versions[0].cid) snprintf(have, sizeof have, "%s", info->versions[0].cid);
    uint8_t hc[GGM_CID_LEN];
    int same =
        have[0] && ggm_pack_cid_parse(have, hc) == GG_OK && !memcmp(hc, r->archive_cid, sizeof hc);
    int has_record = info->versions[0].record != NULL;
    ggs_catalog_info_free(info);
    if (!same && have[0]) {
      say(res, "%s@%s is already published with another archive (%s): publish a new version", r->id,
          r->version, have);
      return GG_EEXIST;
    }
    res->existed = same && has_record;
  } else if (rv != GG_ENOTFOUND) {
    say(res, "catalog: %s", ggs_catalog_errmsg(env->catalog));
    return rv;
  }
  return GG_OK;
}

int ggm_publish_ingest(const ggm_publish_env *env, const uint8_t *rec, size_t len, int fd,
                       const char *source, unsigned flags, ggm_publish_result *res) {
  memset(res, 0, sizeof(*res));
  ggm_release r;
  int rv = ggm_release_decode(rec, len, &r, NULL);
  if (rv) {
    say(res, "the release record is refused: %s", gg_strerror(rv));
    return rv;
  }
  snprintf(res->id, sizeof res->id, "%s", r.id);
  snprintf(res->version, sizeof res->version, "%s", r.version);
  ggm_pack_cid_text(r.archive_cid, res->cid);
  res->size = r.archive_size;
  memcpy(res->publisher, r.publisher, 32);
  off_t start = lseek(fd, 0, SEEK_CUR);
  if (start < 0) {
    rv = GG_EIO;
    say(res, "cannot read the archive: %s", strerror(errno));
    goto out;
  }
  /* 1-2: signature (decode) and archive against the record */
  if ((rv = ggm_release_check_archive_fd(&r, fd)) != GG_OK) {
    say(res, "the archive does not match the record of %s@%s (size or CID differs)", r.id,
        r.version);
    goto out;
  }
  if ((rv = check_catalog(env, &r, res))) goto out;
  /* 5: content */
  if ((rv = check_content(env, fd, start, &r, res))) goto out;
  if (flags & GGM_PUBLISH_DRY_RUN) goto out;
  /* 6: the archive */
  if (lseek(fd, start, SEEK_SET) != start) {
    rv = GG_EIO;
    goto out;
  }
  if ((rv = ggs_blob_put_fd(env->store, fd, r.archive_cid, NULL)) != GG_OK) {
    say(res, "cannot store the archive: %s", gg_strerror(rv));
    goto out;
  }
  /* 7: the catalog */
  if (!res->existed) rv = catalog_put(env, &r, rec, len, source, res);
out:
  ggm_release_free(&r);
  return rv;
}

int ggm_publish_ingest_record(const ggm_publish_env *env, const uint8_t *rec, size_t len,
                              const char *source, unsigned flags, ggm_publish_result *res) {
  memset(res, 0, sizeof(*res));
  ggm_release r;
  int rv = ggm_release_decode(rec, len, &r, NULL);
  if (rv) {
    say(res, "the release record is refused: %s", gg_strerror(rv));
    return rv;
  }
  snprintf(res->id, sizeof res->id, "%s", r.id);
  snprintf(res->version, sizeof res->version, "%s", r.version);
  ggm_pack_cid_text(r.archive_cid, res->cid);
  res->size = r.archive_size;
  memcpy(res->publisher, r.publisher, 32);
  if ((rv = check_catalog(env, &r, res)) == GG_OK && !res->existed &&
      !(flags & GGM_PUBLISH_DRY_RUN))
    rv = catalog_put(env, &r, rec, len, source, res);
  ggm_release_free(&r);
  return rv;
}

/* Writes the release fields of a manifest into r (borrowed pointers). */
static void release_from_manifest(ggm_release *r, const ggm_manifest *m, ggm_release_dep *deps) {
  memset(r, 0, sizeof(*r));
  r->id = m->id;
  r->version = m->version;
  r->name = m->name;
  r->description = m->description;
  r->license = m->license;
  r->authors = m->authors;
  r->n_authors = m->n_authors;
  r->tags = m->tags;
  r->n_tags = m->n_tags;
  r->keywords = m->keywords;
  r->n_keywords = m->n_keywords;
  r->category = m->category;
  r->homepage = m->homepage;
  r->repository = m->repository;
  r->ggen_compat = m->ggen_compat;
  for (size_t i = 0; i < m->n_deps; i++)
    deps[i] = (ggm_release_dep){m->deps[i].id, m->deps[i].range};
  r->deps = deps;
  r->n_deps = m->n_deps;
}

int ggm_publish_dir(const char *dir, const ggm_publish_env *env, const gg_keypair *kp, int64_t now,
                    unsigned flags, ggm_publish_result *res) {
  memset(res, 0, sizeof(*res));
  ggm_manifest m;
  char why[400];
  int rv = tree_manifest(dir, &m, why, sizeof why);
  if (rv) {
    if (rv == GG_ENOTFOUND)
      say(res, "%s has no gpack.toml (or package.toml)", dir);
    else if (rv == GG_EIO)
      say(res, "cannot read %s: %s", dir, strerror(errno));
    else
      say(res, "%s/%s", dir, why);
    return rv == GG_EIO ? GG_EIO : rv == GG_ENOMEM ? GG_ENOMEM : GG_EINVAL;
  }
  snprintf(res->id, sizeof res->id, "%s", m.id);
  snprintf(res->version, sizeof res->version, "%s", m.version);
  char *tmp = tmp_dir(env->home);
  int fd = -1;
  if (tmp) fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (tmp && fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    /* no O_TMPFILE on this file system: a named temp file, unlinked at once */
    size_t n = strlen(tmp) + 24;
    char *t = malloc(n);
    if (t) {
      snprintf(t, n, "%s/pack-XXXXXX", tmp);
      fd = mkstemp(t);
      if (fd >= 0) unlink(t);
      free(t);
    }
  }
  free(tmp);
  if (fd < 0) {
    say(res, "cannot create a temporary file in %s/tmp: %s", env->home, strerror(errno));
    ggm_manifest_free(&m);
    return GG_EIO;
  }
  ggm_pack_result pr;
  rv = ggm_pack_dir_to_fd(dir, NULL, fd, &pr, NULL);
  if (rv) {
    say(res, "cannot pack %s: %s", dir, pr.err[0] ? pr.err : gg_strerror(rv));
    /* the user's own directory is bad input (as for `pack`), not a hostile archive */
    if (rv == GG_EUNSAFE || rv == GG_ELIMIT || rv == GG_EPARSE) rv = GG_EINVAL;
    goto out;
  }
  ggm_release r;
  ggm_release_dep deps[GGM_MANIFEST_DEPS_MAX];
  release_from_manifest(&r, &m, deps);
  memcpy(r.archive_cid, pr.cid, GGM_CID_LEN);
  r.archive_size = pr.size;
  r.publish_time = (uint64_t)now;
  gg_buf rec;
  gg_buf_init(&rec, NULL, GGM_RELEASE_MAX);
  const char *rwhy = NULL;
  if (ggm_release_check(&r, &rwhy) != GG_OK) {
    say(res, "%s: the manifest cannot be published: %s", dir, rwhy ? rwhy : "invalid field");
    rv = GG_EINVAL;
  } else if ((rv = ggm_release_sign(&r, kp, &rec, NULL)) != GG_OK) {
    say(res, "cannot sign the release: %s", gg_strerror(rv));
  } else if (lseek(fd, 0, SEEK_SET) != 0) {
    rv = GG_EIO;
  } else {
    rv = ggm_publish_ingest(env, gg_buf_ptr(&rec), gg_buf_len(&rec), fd, "local", flags, res);
  }
  gg_buf_free(&rec);
out:
  close(fd);
  ggm_manifest_free(&m);
  return rv;
}
