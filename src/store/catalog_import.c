/*
 * Import of ggen's registry indexes (../shared/GGEN.md "Registry indexes") into the catalog,
 * with jansson:
 *
 *   marketplace index  {version, registry_url, updated_at, package_count, categories,
 *                       packages: [{name, version, category, description, tags, keywords,
 *                       author, license, downloads, stars, production_ready,
 *                       dependencies: [names], path?, download_url?, checksum?}],
 *                       search_index: {term: [names]}}
 *   core index         {updated, packs: {id: {id, name, description, tags, keywords,
 *                       category, author, latest_version, downloads, license, homepage,
 *                       repository, documentation, versions: {ver: {version, git_url,
 *                       git_rev, sha256}}}}}
 *
 * A marketplace package's id is its name; its dependencies have no ranges ("*"); its
 * checksum is the version's sha256 and download_url its source. ggen's precomputed
 * search_index (and the HEAD file's o_crates ontology list) are ignored: the catalog builds
 * its own index. The file is hostile input: every entry goes through the catalog's limits
 * and an entry that breaks them (or has no name) is skipped and counted, never half-written.
 * Entries are put in popularity order so that a fresh catalog needs no re-ranking; of two
 * entries with the same id (case-insensitively) the later one wins and the other is skipped.
 * The whole import is one transaction.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ggen/err.h"
#include "store/catalog_int.h"

typedef struct entry {
  const char *id; /* key (core) or name (marketplace) */
  json_t *obj;
  uint64_t downloads, stars;
  size_t pos; /* position in the file */
} entry;

static int id_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcasecmp(x->id, y->id);
  return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Keeps the last entry of each id (ids are case-insensitive), as a JSON object keeps its last
 * duplicate key, so a batch never updates a package it has just added. Returns the count. */
static size_t dedupe(entry *es, size_t n, size_t *skipped) {
  if (n < 2) return n;
  qsort(es, n, sizeof(*es), id_cmp);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (i + 1 < n && !strcasecmp(es[i].id, es[i + 1].id)) {
      (*skipped)++;
      continue;
    }
    es[o++] = es[i];
  }
  return o;
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint64_t jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (json_is_integer(v)) return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
  if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1.8e19)
    return (uint64_t)json_real_value(v);
  return 0;
}

/* The strings of an array (non-strings ignored). Returns the count, or SIZE_MAX when there
 * are more than the catalog accepts (the entry is then skipped). */
static size_t jlist(json_t *o, const char *k, const char **out) {
  json_t *a = json_object_get(o, k);
  if (!json_is_array(a)) return 0;
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (!json_is_string(v)) continue;
    if (n == GGS_CATALOG_MAX_LIST) return SIZE_MAX;
    out[n++] = json_string_value(v);
  }
  return n;
}

static int entry_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  double px = ggs__popularity(x->downloads, x->stars), py = ggs__popularity(y->downloads, y->stars);
  if (px != py) return px < py ? 1 : -1;
  if (x->downloads != y->downloads) return x->downloads < y->downloads ? 1 : -1;
  if (x->stars != y->stars) return x->stars < y->stars ? 1 : -1;
  return strcmp(x->id, y->id);
}

/* Puts one package; GG_EINVAL means "skip this entry". */
static int put_pkg(ggs_catalog *cat, const entry *e, const char *name) {
  const char *tags[GGS_CATALOG_MAX_LIST], *kws[GGS_CATALOG_MAX_LIST];
  const char *author = jstr(e->obj, "author");
  size_t nt = jlist(e->obj, "tags", tags), nk = jlist(e->obj, "keywords", kws);
  if (nt == SIZE_MAX || nk == SIZE_MAX) return GG_EINVAL;
  ggs_catalog_pkg p = {
      .id = e->id,
      .name = name,
      .description = jstr(e->obj, "description"),
      .license = jstr(e->obj, "license"),
      .category = jstr(e->obj, "category"),
      .homepage = jstr(e->obj, "homepage"),
      .repository = jstr(e->obj, "repository"),
      .documentation = jstr(e->obj, "documentation"),
      .authors = author ? &author : NULL,
      .n_authors = author ? 1 : 0,
      .tags = tags,
      .n_tags = nt,
      .keywords = kws,
      .n_keywords = nk,
      .downloads = e->downloads,
      .stars = e->stars,
      .production_ready = json_is_true(json_object_get(e->obj, "production_ready")),
  };
  return ggs_catalog_put_package(cat, &p);
}

/* Dependencies as [names] (range "*") or {id: range}. SIZE_MAX when over the limit. */
static size_t jdeps(json_t *o, ggs_catalog_dep *deps) {
  json_t *d = json_object_get(o, "dependencies");
  size_t n = 0;
  if (json_is_array(d)) {
    size_t i;
    json_t *v;
    json_array_foreach(d, i, v) {
      if (!json_is_string(v)) continue;
      if (n == GGS_CATALOG_MAX_LIST) return SIZE_MAX;
      deps[n].id = json_string_value(v);
      deps[n++].range = "*";
    }
  } else if (json_is_object(d)) {
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v) {
      if (n == GGS_CATALOG_MAX_LIST) return SIZE_MAX;
      deps[n].id = k;
      deps[n++].range = json_is_string(v) ? json_string_value(v) : "*";
    }
  }
  return n;
}

/* Counts a put's outcome: skip (limits, immutable conflict) or fail the import. */
static int tally(int err, size_t *ok, size_t *skipped) {
  if (err == GG_OK) {
    (*ok)++;
    return GG_OK;
  }
  if (err == GG_EINVAL || err == GG_EEXIST) {
    (*skipped)++;
    return GG_OK;
  }
  return err;
}

static int import_marketplace(ggs_catalog *cat, json_t *pkgs, ggs_catalog_import_stats *st) {
  size_t n = json_array_size(pkgs), cnt = 0, i;
  entry *es = gg_malloc(cat->mem, (n ? n : 1) * sizeof(*es));
  if (es == NULL) return GG_ENOMEM;
  json_t *v;
  json_array_foreach(pkgs, i, v) {
    const char *name = json_is_object(v) ? jstr(v, "name") : NULL;
    if (name == NULL) {
      st->skipped++;
      continue;
    }
    es[cnt] = (entry){name, v, jnum(v, "downloads"), jnum(v, "stars"), cnt};
    cnt++;
  }
  cnt = dedupe(es, cnt, &st->skipped);
  qsort(es, cnt, sizeof(*es), entry_cmp);
  int err = ggs_catalog_begin(cat, cnt);
  for (i = 0; i < cnt && !err; i++) {
    int e = put_pkg(cat, &es[i], es[i].id);
    if (e == GG_EINVAL) {
      st->skipped++;
      continue;
    }
    if ((err = tally(e, &st->packages, &st->skipped)) != GG_OK) break;
    const char *ver = jstr(es[i].obj, "version");
    if (ver == NULL) continue;
    ggs_catalog_dep deps[GGS_CATALOG_MAX_LIST];
    size_t nd = jdeps(es[i].obj, deps);
    ggs_catalog_version vv = {
        .version = ver,
        .sha256 = jstr(es[i].obj, "checksum"),
        .source = jstr(es[i].obj, "download_url"),
        .deps = deps,
        .n_deps = nd == SIZE_MAX ? 0 : nd,
    };
    e = nd == SIZE_MAX ? GG_EINVAL : ggs_catalog_put_version(cat, es[i].id, &vv);
    err = tally(e, &st->versions, &st->skipped);
  }
  gg_free(cat->mem, es);
  if (!err) return ggs_catalog_commit(cat);
  ggs_catalog_rollback(cat);
  return err;
}

static int import_core(ggs_catalog *cat, json_t *packs, ggs_catalog_import_stats *st) {
  size_t n = json_object_size(packs), cnt = 0;
  entry *es = gg_malloc(cat->mem, (n ? n : 1) * sizeof(*es));
  if (es == NULL) return GG_ENOMEM;
  const char *k;
  json_t *v;
  json_object_foreach(packs, k, v) {
    if (!json_is_object(v)) {
      st->skipped++;
      continue;
    }
    es[cnt] = (entry){k, v, jnum(v, "downloads"), jnum(v, "stars"), cnt};
    cnt++;
  }
  cnt = dedupe(es, cnt, &st->skipped);
  qsort(es, cnt, sizeof(*es), entry_cmp);
  int err = ggs_catalog_begin(cat, cnt);
  char source[GGS_CATALOG_MAX_TEXT + 1];
  for (size_t i = 0; i < cnt && !err; i++) {
    int e = put_pkg(cat, &es[i], jstr(es[i].obj, "name"));
    if (e == GG_EINVAL) {
      st->skipped++;
      continue;
    }
    if ((err = tally(e, &st->packages, &st->skipped)) != GG_OK) break;
    json_t *vers = json_object_get(es[i].obj, "versions"), *vo;
    const char *vk;
    ggs_catalog_dep deps[GGS_CATALOG_MAX_LIST];
    size_t nd = jdeps(es[i].obj, deps);
    json_object_foreach(vers, vk, vo) {
      if (err) break;
      if (!json_is_object(vo)) {
        st->skipped++;
        continue;
      }
      const char *ver = jstr(vo, "version");
      const char *url = jstr(vo, "git_url"), *rev = jstr(vo, "git_rev");
      const char *src = url;
      if (url && rev) {
        int w = snprintf(source, sizeof(source), "%s#%s", url, rev);
        src = w > 0 && (size_t)w < sizeof(source) ? source : url;
      }
      size_t vnd = jdeps(vo, deps);
      if (vnd == 0) vnd = nd;
      ggs_catalog_version vv = {
          .version = ver ? ver : vk,
          .sha256 = jstr(vo, "sha256"),
          .source = src,
          .deps = deps,
          .n_deps = vnd == SIZE_MAX ? 0 : vnd,
      };
      e = vnd == SIZE_MAX ? GG_EINVAL : ggs_catalog_put_version(cat, es[i].id, &vv);
      err = tally(e, &st->versions, &st->skipped);
    }
  }
  gg_free(cat->mem, es);
  if (!err) return ggs_catalog_commit(cat);
  ggs_catalog_rollback(cat);
  return err;
}

int ggs_catalog_import_json_buf(ggs_catalog *cat, const char *buf, size_t len,
                                ggs_catalog_import_stats *st) {
  if (cat == NULL || (buf == NULL && len)) return GG_EINVAL;
  if (cat->in_bulk) return GG_ESTATE;
  if (len > GGS_CATALOG_MAX_IMPORT) return GG_ELIMIT;
  ggs_catalog_import_stats dummy;
  if (st == NULL) st = &dummy;
  memset(st, 0, sizeof(*st));
  json_error_t jerr;
  json_t *root = json_loadb(buf ? buf : "", len, 0, &jerr);
  if (root == NULL) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
    return GG_EPARSE;
  }
  int err;
  json_t *pkgs = json_object_get(root, "packages"), *packs = json_object_get(root, "packs");
  if (json_is_array(pkgs)) {
    st->format = GGS_INDEX_MARKETPLACE;
    err = import_marketplace(cat, pkgs, st);
  } else if (json_is_object(packs)) {
    st->format = GGS_INDEX_CORE;
    err = import_core(cat, packs, st);
  } else {
    snprintf(cat->errmsg, sizeof(cat->errmsg),
             "not a ggen registry index (no \"packages\" array or \"packs\" object)");
    err = GG_EPARSE;
  }
  json_decref(root);
  return err;
}

int ggs_catalog_import_json(ggs_catalog *cat, const char *path, ggs_catalog_import_stats *st) {
  if (cat == NULL || path == NULL) return GG_EINVAL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s: %s", path, strerror(errno));
    return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  }
  struct stat sb;
  int err = GG_OK;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s: not a regular file", path);
    err = GG_EIO;
  } else if ((uint64_t)sb.st_size > GGS_CATALOG_MAX_IMPORT) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s: larger than %u bytes", path,
             GGS_CATALOG_MAX_IMPORT);
    err = GG_ELIMIT;
  }
  char *buf = NULL;
  size_t len = err ? 0 : (size_t)sb.st_size;
  if (!err && (buf = gg_malloc(cat->mem, len ? len : 1)) == NULL) err = GG_ENOMEM;
  if (!err && len && fread(buf, 1, len, f) != len) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s: read error", path);
    err = GG_EIO;
  }
  fclose(f);
  if (!err) err = ggs_catalog_import_json_buf(cat, buf, len, st);
  gg_free(cat->mem, buf);
  return err;
}
