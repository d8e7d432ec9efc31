/*
 * Import of ggen's registry indexes (../shared/GGEN.md "Registry indexes") into the catalog:
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
 *
 * Reading. The file is read with the in-situ JSON reader (include/ggen/json.h) in one pass
 * that keeps only the fields used here, as pointers to strings decoded inside the file's
 * buffer: no tree, no copies (jansson's tree of a 42 MB index took 0.6 s and 270 MB).
 * Nothing is written before the whole file has been read and found to be JSON. Where an
 * object repeats a key, the last occurrence counts (as jansson, and most readers, do); a
 * repeated "packages" or "packs" member replaces the earlier one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ggen/err.h"
#include "ggen/json.h"
#include "store/catalog_int.h"

/* ---- what is kept of the file ------------------------------------------------------------- */

/* A list of strings or dependencies: a run of a pool. over = more than the catalog accepts. */
typedef struct span {
  uint32_t at, n;
  int over;
} span;

typedef struct iversion { /* a core index version */
  const char *key, *version, *git_url, *git_rev, *sha256;
  span deps;
  int is_object;
} iversion;

typedef struct ientry {
  const char *id; /* key (core) or name (marketplace) */
  const char *name, *description, *license, *category, *homepage, *repository, *documentation,
      *author, *version, *checksum, *download_url;
  uint64_t downloads, stars;
  span tags, keywords, deps, versions;
  int production_ready;
  int dup; /* a later entry has the same id */
} ientry;

typedef struct elist {
  ientry *e;
  size_t n, cap;
  size_t skipped; /* not an object, no name */
  int present;    /* the member is there with the right type */
} elist;

typedef struct reader {
  gg_json j;
  const gg_mem *mem;
  elist market, core;
  const char **strs; /* tags, keywords, dependency names of array form */
  size_t nstrs, capstrs;
  ggs_catalog_dep *deps;
  size_t ndeps, capdeps;
  iversion *vers;
  size_t nvers, capvers;
} reader;

/* Makes room for one more item in a pool (doubling). GG_ENOMEM. */
static int grow(const gg_mem *mem, void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return GG_OK;
  size_t nc = *cap ? 2 * *cap : 64;
  if (nc > UINT32_MAX) return GG_ELIMIT;
  void *np = gg_realloc(mem, *p, nc * size);
  if (np == NULL) return GG_ENOMEM;
  *p = np;
  *cap = nc;
  return GG_OK;
}

static void reader_free(reader *r) {
  gg_free(r->mem, r->market.e);
  gg_free(r->mem, r->core.e);
  gg_free(r->mem, r->strs);
  gg_free(r->mem, r->deps);
  gg_free(r->mem, r->vers);
}

/* ---- reading values ------------------------------------------------------------------------- */

/* The value of a member kept as a string (NULL when it is not one, like jansson's
 * json_string_value on a non-string). */
static int str_value(reader *r, const char **out) {
  int t = gg_json_next(&r->j);
  *out = t == GG_JSON_STRING ? r->j.str : NULL;
  return t < 0 ? t : gg_json_skip(&r->j, t);
}

/* downloads / stars: a number, else 0. */
static int count_value(reader *r, uint64_t *out) {
  int t = gg_json_next(&r->j);
  *out = t == GG_JSON_NUMBER ? gg_json_number_u64(r->j.str, r->j.len) : 0;
  return t < 0 ? t : gg_json_skip(&r->j, t);
}

static int bool_value(reader *r, int *out) {
  int t = gg_json_next(&r->j);
  *out = t == GG_JSON_TRUE;
  return t < 0 ? t : gg_json_skip(&r->j, t);
}

/* An array of strings (other items ignored); anything else is an empty list. */
static int str_list(reader *r, span *out) {
  *out = (span){(uint32_t)r->nstrs, 0, 0};
  int t = gg_json_next(&r->j);
  if (t != GG_JSON_ARRAY) return t < 0 ? t : gg_json_skip(&r->j, t);
  while ((t = gg_json_next(&r->j)) != GG_JSON_END) {
    if (t < 0) return t;
    if (t != GG_JSON_STRING) {
      int err = gg_json_skip(&r->j, t);
      if (err) return err;
      continue;
    }
    if (out->n == GGS_CATALOG_MAX_LIST) {
      out->over = 1;
      continue;
    }
    int err = grow(r->mem, (void **)&r->strs, &r->capstrs, r->nstrs, sizeof(*r->strs));
    if (err) return err;
    r->strs[r->nstrs++] = r->j.str;
    out->n++;
  }
  return GG_OK;
}

static int dep_add(reader *r, span *out, const char *id, const char *range) {
  if (out->n == GGS_CATALOG_MAX_LIST) {
    out->over = 1;
    return GG_OK;
  }
  int err = grow(r->mem, (void **)&r->deps, &r->capdeps, r->ndeps, sizeof(*r->deps));
  if (err) return err;
  r->deps[r->ndeps++] = (ggs_catalog_dep){id, range};
  out->n++;
  return GG_OK;
}

/* Dependencies as [names] (range "*") or {id: range} (a range that is not a string is "*"). */
static int dep_list(reader *r, span *out) {
  *out = (span){(uint32_t)r->ndeps, 0, 0};
  int t = gg_json_next(&r->j), err = GG_OK;
  if (t == GG_JSON_ARRAY) {
    while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) {
      if (t < 0) return t;
      err = t == GG_JSON_STRING ? dep_add(r, out, r->j.str, "*") : gg_json_skip(&r->j, t);
    }
  } else if (t == GG_JSON_OBJECT) {
    while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) {
      if (t < 0) return t;
      const char *id = r->j.str, *range;
      err = str_value(r, &range);
      if (!err) err = dep_add(r, out, id, range ? range : "*");
    }
  } else {
    err = t < 0 ? t : gg_json_skip(&r->j, t);
  }
  return err;
}

/* One version of a core index entry (its key already read). */
static int version_value(reader *r, const char *key) {
  int err = grow(r->mem, (void **)&r->vers, &r->capvers, r->nvers, sizeof(*r->vers));
  if (err) return err;
  iversion *v = &r->vers[r->nvers++];
  memset(v, 0, sizeof(*v));
  v->key = key;
  int t = gg_json_next(&r->j);
  if (t != GG_JSON_OBJECT) return t < 0 ? t : gg_json_skip(&r->j, t);
  v->is_object = 1;
  /* v stays valid: nothing below adds versions */
  while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) {
    if (t < 0) return t;
    const char *k = r->j.str;
    if (!strcmp(k, "version"))
      err = str_value(r, &v->version);
    else if (!strcmp(k, "git_url"))
      err = str_value(r, &v->git_url);
    else if (!strcmp(k, "git_rev"))
      err = str_value(r, &v->git_rev);
    else if (!strcmp(k, "sha256"))
      err = str_value(r, &v->sha256);
    else if (!strcmp(k, "dependencies"))
      err = dep_list(r, &v->deps);
    else
      err = gg_json_skip(&r->j, gg_json_next(&r->j));
  }
  return err;
}

static int version_map(reader *r, span *out) {
  int t = gg_json_next(&r->j), err = GG_OK;
  if (t != GG_JSON_OBJECT) {
    *out = (span){0, 0, 0};
    return t < 0 ? t : gg_json_skip(&r->j, t);
  }
  *out = (span){(uint32_t)r->nvers, 0, 0};
  while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) {
    if (t < 0) return t;
    err = version_value(r, r->j.str);
    out->n++;
  }
  return err;
}

/* The members of one entry object (its '{' already read). */
static int entry_members(reader *r, ientry *e) {
  int t, err = GG_OK;
  while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) {
    if (t < 0) return t;
    const char *k = r->j.str;
    /* the keys of both formats; the put decides which ones it uses */
    switch (k[0]) {
    case 'a':
      if (!strcmp(k, "author")) {
        err = str_value(r, &e->author);
        continue;
      }
      break;
    case 'c':
      if (!strcmp(k, "category")) {
        err = str_value(r, &e->category);
        continue;
      }
      if (!strcmp(k, "checksum")) {
        err = str_value(r, &e->checksum);
        continue;
      }
      break;
    case 'd':
      if (!strcmp(k, "description")) {
        err = str_value(r, &e->description);
        continue;
      }
      if (!strcmp(k, "downloads")) {
        err = count_value(r, &e->downloads);
        continue;
      }
      if (!strcmp(k, "dependencies")) {
        err = dep_list(r, &e->deps);
        continue;
      }
      if (!strcmp(k, "documentation")) {
        err = str_value(r, &e->documentation);
        continue;
      }
      if (!strcmp(k, "download_url")) {
        err = str_value(r, &e->download_url);
        continue;
      }
      break;
    case 'h':
      if (!strcmp(k, "homepage")) {
        err = str_value(r, &e->homepage);
        continue;
      }
      break;
    case 'k':
      if (!strcmp(k, "keywords")) {
        err = str_list(r, &e->keywords);
        continue;
      }
      break;
    case 'l':
      if (!strcmp(k, "license")) {
        err = str_value(r, &e->license);
        continue;
      }
      break;
    case 'n':
      if (!strcmp(k, "name")) {
        err = str_value(r, &e->name);
        continue;
      }
      break;
    case 'p':
      if (!strcmp(k, "production_ready")) {
        err = bool_value(r, &e->production_ready);
        continue;
      }
      break;
    case 'r':
      if (!strcmp(k, "repository")) {
        err = str_value(r, &e->repository);
        continue;
      }
      break;
    case 's':
      if (!strcmp(k, "stars")) {
        err = count_value(r, &e->stars);
        continue;
      }
      break;
    case 't':
      if (!strcmp(k, "tags")) {
        err = str_list(r, &e->tags);
        continue;
      }
      break;
    case 'v':
      if (!strcmp(k, "version")) {
        err = str_value(r, &e->version);
        continue;
      }
      if (!strcmp(k, "versions")) {
        err = version_map(r, &e->versions);
        continue;
      }
      break;
    }
    err = gg_json_skip(&r->j, gg_json_next(&r->j));
  }
  return err;
}

/* One entry: a packages item or a packs member's value (key = its id), first token t. */
static int entry_value(reader *r, elist *l, int t, const char *key) {
  if (t != GG_JSON_OBJECT) {
    l->skipped++;
    return gg_json_skip(&r->j, t);
  }
  int err = grow(r->mem, (void **)&l->e, &l->cap, l->n, sizeof(*l->e));
  if (err) return err;
  ientry *e = &l->e[l->n];
  memset(e, 0, sizeof(*e));
  err = entry_members(r, e);
  if (err) return err;
  e->id = key ? key : e->name;
  if (e->id == NULL)
    l->skipped++;
  else
    l->n++;
  return GG_OK;
}

/* A member of the document: "packages" (an array of entries), "packs" (an object of them)
 * or something ignored. A repeated member replaces the earlier one. */
static int member(reader *r, const char *k) {
  elist *l = !strcmp(k, "packages") ? &r->market : !strcmp(k, "packs") ? &r->core : NULL;
  if (l == NULL) return gg_json_skip(&r->j, gg_json_next(&r->j));
  l->n = l->skipped = 0;
  l->present = 0;
  int want = l == &r->market ? GG_JSON_ARRAY : GG_JSON_OBJECT;
  int t = gg_json_next(&r->j);
  if (t != want) return t < 0 ? t : gg_json_skip(&r->j, t);
  l->present = 1;
  while ((t = gg_json_next(&r->j)) != GG_JSON_END) {
    const char *key = NULL;
    if (t >= 0 && want == GG_JSON_OBJECT) {
      key = r->j.str;
      t = gg_json_next(&r->j);
    }
    if (t < 0) return t;
    int err = entry_value(r, l, t, key);
    if (err) return err;
  }
  return GG_OK;
}

/* The whole document, to its end. */
static int document(reader *r) {
  int t = gg_json_next(&r->j), err = GG_OK;
  if (t == GG_JSON_OBJECT) {
    while (!err && (t = gg_json_next(&r->j)) != GG_JSON_END) err = t < 0 ? t : member(r, r->j.str);
  } else {
    err = t < 0 ? t : gg_json_skip(&r->j, t);
  }
  if (!err && (t = gg_json_next(&r->j)) != GG_JSON_EOF) err = t < 0 ? t : GG_EPARSE;
  return err;
}

/* ---- putting ------------------------------------------------------------------------------ */

/* Marks every entry whose id comes again later in the file (the later one wins, as a JSON
 * object's repeated key does), so a batch never updates a package it has just added. */
static int dedupe(const gg_mem *mem, ientry *es, size_t n, size_t *skipped) {
  if (n < 2) return GG_OK;
  size_t cap = 1;
  while (cap < 2 * n) cap <<= 1;
  uint32_t *slot = gg_calloc(mem, cap, sizeof(*slot)); /* entry index + 1 */
  if (slot == NULL) return GG_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    for (size_t h = ggs__id_hash(es[i].id) & (cap - 1);; h = (h + 1) & (cap - 1)) {
      uint32_t s = slot[h];
      if (s != 0 && sqlite3_stricmp(es[s - 1].id, es[i].id) != 0) continue;
      if (s != 0) {
        es[s - 1].dup = 1;
        (*skipped)++;
      }
      slot[h] = (uint32_t)i + 1;
      break;
    }
  }
  gg_free(mem, slot);
  return GG_OK;
}

/* Popularity order (catalog.c pop_before): the rank order of a fresh catalog. */
typedef struct order {
  double pop;
  uint64_t downloads, stars;
  const char *id;
  const ientry *e;
} order;

static int order_cmp(const void *a, const void *b) {
  const order *x = a, *y = b;
  if (x->pop != y->pop) return x->pop < y->pop ? 1 : -1;
  if (x->downloads != y->downloads) return x->downloads < y->downloads ? 1 : -1;
  if (x->stars != y->stars) return x->stars < y->stars ? 1 : -1;
  return strcmp(x->id, y->id);
}

static const char *const *strs_at(const reader *r, span s) { return s.n ? r->strs + s.at : NULL; }

/* Puts one package; GG_EINVAL means "skip this entry". */
static int put_pkg(ggs_catalog *cat, const reader *r, const ientry *e, const char *name) {
  if (e->tags.over || e->keywords.over) return GG_EINVAL;
  ggs_catalog_pkg p = {
      .id = e->id,
      .name = name,
      .description = e->description,
      .license = e->license,
      .category = e->category,
      .homepage = e->homepage,
      .repository = e->repository,
      .documentation = e->documentation,
      .authors = e->author ? &e->author : NULL,
      .n_authors = e->author ? 1 : 0,
      .tags = strs_at(r, e->tags),
      .n_tags = e->tags.n,
      .keywords = strs_at(r, e->keywords),
      .n_keywords = e->keywords.n,
      .downloads = e->downloads,
      .stars = e->stars,
      .production_ready = e->production_ready,
  };
  return ggs_catalog_put_package(cat, &p);
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

static int put_version(ggs_catalog *cat, const reader *r, const ientry *e, ggs_catalog_version *v,
                       span deps, ggs_catalog_import_stats *st) {
  v->deps = deps.n ? r->deps + deps.at : NULL;
  v->n_deps = deps.n;
  int err = deps.over ? GG_EINVAL : ggs_catalog_put_version(cat, e->id, v);
  return tally(err, &st->versions, &st->skipped);
}

static int put_market(ggs_catalog *cat, const reader *r, const ientry *e,
                      ggs_catalog_import_stats *st) {
  int err = put_pkg(cat, r, e, e->id);
  if (err == GG_EINVAL) {
    st->skipped++;
    return GG_OK;
  }
  if ((err = tally(err, &st->packages, &st->skipped)) != GG_OK || e->version == NULL) return err;
  ggs_catalog_version v = {.version = e->version, .sha256 = e->checksum, .source = e->download_url};
  return put_version(cat, r, e, &v, e->deps, st);
}

static int put_core(ggs_catalog *cat, const reader *r, const ientry *e, gg_buf *src,
                    ggs_catalog_import_stats *st) {
  int err = put_pkg(cat, r, e, e->name);
  if (err == GG_EINVAL) {
    st->skipped++;
    return GG_OK;
  }
  if ((err = tally(err, &st->packages, &st->skipped)) != GG_OK) return err;
  for (size_t i = 0; i < e->versions.n && !err; i++) {
    const iversion *iv = &r->vers[e->versions.at + i];
    if (!iv->is_object) {
      st->skipped++;
      continue;
    }
    /* the source is git_url#git_rev when both are known and fit */
    const char *source = iv->git_url;
    if (iv->git_url && iv->git_rev &&
        strlen(iv->git_url) + 1 + strlen(iv->git_rev) <= GGS_CATALOG_MAX_TEXT) {
      gg_buf_reset(src);
      err = gg_buf_append_str(src, iv->git_url);
      if (!err) err = gg_buf_append_byte(src, '#');
      if (!err) err = gg_buf_append_str(src, iv->git_rev);
      if (!err) err = gg_buf_append_byte(src, '\0');
      if (err) break;
      source = (const char *)gg_buf_ptr(src);
    }
    ggs_catalog_version v = {
        .version = iv->version ? iv->version : iv->key, .sha256 = iv->sha256, .source = source};
    /* a version without its own dependencies has the package's */
    err = put_version(cat, r, e, &v, iv->deps.n ? iv->deps : e->deps, st);
  }
  return err;
}

/* Popularity order visits the file's entries in random order: bringing an entry and its
 * text into the cache some entries ahead hides most of the memory latency of reading them. */
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

static void prefetch_entry(const reader *r, const ientry *e) {
  PREFETCH(e->id);
  if (e->description) PREFETCH(e->description);
  if (e->tags.n) PREFETCH(r->strs[e->tags.at]);
  if (e->keywords.n) PREFETCH(r->strs[e->keywords.at]);
}

/* Puts the entries of l, de-duplicated and in popularity order, in one transaction. */
static int put_all(ggs_catalog *cat, const reader *r, elist *l, int core,
                   ggs_catalog_import_stats *st) {
  int err = dedupe(cat->mem, l->e, l->n, &st->skipped);
  if (err) return err;
  order *o = gg_malloc(cat->mem, (l->n ? l->n : 1) * sizeof(*o));
  if (o == NULL) return GG_ENOMEM;
  size_t cnt = 0;
  for (size_t i = 0; i < l->n; i++) {
    const ientry *e = &l->e[i];
    if (!e->dup)
      o[cnt++] = (order){ggs__popularity(e->downloads, e->stars), e->downloads, e->stars, e->id, e};
  }
  qsort(o, cnt, sizeof(*o), order_cmp);
  gg_buf src;
  gg_buf_init(&src, cat->mem, GGS_CATALOG_MAX_TEXT + 1);
  err = ggs_catalog_begin(cat, cnt);
  for (size_t i = 0; i < cnt && !err; i++) {
    /* two steps ahead: the entry itself, then what it points to */
    if (i + 16 < cnt) PREFETCH(o[i + 16].e);
    if (i + 8 < cnt) prefetch_entry(r, o[i + 8].e);
    err = core ? put_core(cat, r, o[i].e, &src, st) : put_market(cat, r, o[i].e, st);
  }
  gg_buf_free(&src);
  gg_free(cat->mem, o);
  if (!err) return ggs_catalog_commit(cat);
  ggs_catalog_rollback(cat);
  return err;
}

/* Imports the index in buf[0..len), which it decodes in place. */
static int import(ggs_catalog *cat, char *buf, size_t len, ggs_catalog_import_stats *st) {
  reader r;
  memset(&r, 0, sizeof(r));
  r.mem = cat->mem;
  gg_json_init(&r.j, buf, len);
  int err = document(&r);
  if (err == GG_EPARSE) {
    size_t line, col;
    const char *msg = gg_json_error(&r.j, &line, &col);
    snprintf(cat->errmsg, sizeof(cat->errmsg), "line %zu column %zu: %s", line, col,
             msg ? msg : "malformed JSON");
  } else if (err == GG_OK) {
    elist *l = r.market.present ? &r.market : r.core.present ? &r.core : NULL;
    if (l == NULL) {
      snprintf(cat->errmsg, sizeof(cat->errmsg),
               "not a ggen registry index (no \"packages\" array or \"packs\" object)");
      err = GG_EPARSE;
    } else {
      st->format = l == &r.market ? GGS_INDEX_MARKETPLACE : GGS_INDEX_CORE;
      st->skipped = l->skipped;
      err = put_all(cat, &r, l, l == &r.core, st);
    }
  }
  reader_free(&r);
  return err;
}

static int import_check(ggs_catalog *cat, ggs_catalog_import_stats *st) {
  if (cat->in_bulk) return GG_ESTATE;
  memset(st, 0, sizeof(*st));
  return GG_OK;
}

int ggs_catalog_import_json_buf(ggs_catalog *cat, const char *buf, size_t len,
                                ggs_catalog_import_stats *st) {
  if (cat == NULL || (buf == NULL && len)) return GG_EINVAL;
  ggs_catalog_import_stats dummy;
  if (st == NULL) st = &dummy;
  int err = import_check(cat, st);
  if (err) return err;
  if (len > GGS_CATALOG_MAX_IMPORT) return GG_ELIMIT;
  /* the reader decodes strings in place: work on a copy */
  char *copy = gg_malloc(cat->mem, len ? len : 1);
  if (copy == NULL) return GG_ENOMEM;
  if (len) memcpy(copy, buf, len);
  err = import(cat, copy, len, st);
  gg_free(cat->mem, copy);
  return err;
}

int ggs_catalog_import_json(ggs_catalog *cat, const char *path, ggs_catalog_import_stats *st) {
  if (cat == NULL || path == NULL) return GG_EINVAL;
  ggs_catalog_import_stats dummy;
  if (st == NULL) st = &dummy;
  int err = import_check(cat, st);
  if (err) return err;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s: %s", path, strerror(errno));
    return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  }
  struct stat sb;
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
  if (!err) err = import(cat, buf, len, st); /* the buffer is ours: decoded in place */
  gg_free(cat->mem, buf);
  return err;
}
