/*
 * Write-behind staging for a deferred bulk transaction into an empty catalog (docs/catalog.md
 * "Ingest"): the rows of new packages, their search documents, versions and dependencies
 * are kept in memory and written with one INSERT ... SELECT per table from virtual tables
 * over the staged arrays (ggs_stage_pkg, _doc, _ver, _dep; _fts and _terms index a batch
 * staged whole and insert its vocabulary, catalog.c index_staged).
 *
 * Why: a prepared INSERT per row cost 8,000-17,000 instructions (statement start, cursors,
 * reset) for rows whose b-tree work is a fraction of that; one statement per table and
 * flush writes the same rows for a fifth of the cost, and the tables grow in key order.
 *
 * Invariants:
 *   - every package put by the batch is in the id map (ids compared as the packages table's
 *     NOCASE does, sqlite3_stricmp); its rows are staged (gen == the current generation) or
 *     were flushed into the tables (an older generation), never both;
 *   - a staged version is found by (pid, version) in a hash table; a flushed package's
 *     versions live in the tables only (catalog.c takes the SQL path for it);
 *   - nothing staged is visible to SQL: catalog.c flushes before any other statement reads
 *     or writes those tables within the batch, and at commit;
 *   - the catalog was empty when the batch began, so no staged id or (pid, version) can
 *     conflict with a row of the tables.
 * Memory: strings are copied into chunked arenas; a flush empties the row arena (flushes
 * happen when it passes ggs__stage_flush_bytes), the id arena and map last for the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "store/catalog_int.h"

size_t ggs__stage_flush_bytes = 64u << 20; /* staged row bytes that trigger a flush */
#define CHUNK (1u << 20)

/* ---- arenas ------------------------------------------------------------------------------ */

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  _Alignas(8) char data[];
} chunk;

typedef struct arena {
  chunk *head;
  size_t bytes; /* handed out */
} arena;

static void *arena_alloc(const gg_mem *mem, arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  chunk *c = a->head;
  if (c == NULL || c->cap - c->used < n) {
    size_t cap = n > CHUNK ? n : CHUNK;
    c = gg_malloc(mem, sizeof(*c) + cap);
    if (c == NULL) return NULL;
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  a->bytes += n;
  return p;
}

static void arena_free(const gg_mem *mem, arena *a) {
  for (chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    gg_free(mem, c);
  }
  a->head = NULL;
  a->bytes = 0;
}

/* ---- rows ---------------------------------------------------------------------------------- */

/* A staged string with its length (SQLite is told the length: no strlen per column). */
typedef struct sstr {
  const char *p; /* NULL = SQL NULL */
  int n;
} sstr;

typedef struct spkg {
  int64_t pid, rank;
  /* packages: id name author category license homepage repository documentation */
  sstr pt[8];
  int production_ready;
  /* search_doc: id name description tags keywords authors facets */
  sstr dt[7];
  uint64_t downloads, stars;
} spkg;

typedef struct sver {
  int64_t pid;
  sstr version, cid, sha256, source;
  uint64_t size;
  int64_t published;
  const uint8_t *publisher, *record;
  size_t publisher_len, record_len;
  int yanked;
} sver;

typedef struct sdep {
  int64_t pid;
  sstr version, dep, range;
} sdep;

typedef struct ment { /* id map entry */
  uint64_t hash;
  const char *id; /* in the id arena */
  int64_t pid;
  uint32_t gen; /* the generation whose flush wrote it (staged while == stage gen) */
  uint32_t row; /* its staged row while staged */
} ment;

struct ggs__stage {
  const gg_mem *mem;
  arena rows, ids;
  spkg *pkg;
  size_t npkg, cappkg;
  sver *ver;
  size_t nver, capver;
  sdep *dep;
  size_t ndep, capdep;
  ment *map;
  size_t nmap, capmap; /* capmap a power of two, at most half full */
  uint32_t *vmap;      /* staged versions by (pid, version): index + 1, 0 = empty */
  size_t capvmap;      /* a power of two, at most half full */
  uint32_t gen;
  int64_t last; /* the row of the last package staged (put_version follows), -1 = none */
};

static int grow(const gg_mem *mem, void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return GG_OK;
  size_t nc = *cap ? 2 * *cap : 1024;
  void *np = gg_realloc(mem, *p, nc * size);
  if (np == NULL) return GG_ENOMEM;
  *p = np;
  *cap = nc;
  return GG_OK;
}

/* A copy of s in the row arena (NULL stays NULL); *err = GG_ENOMEM on failure. Strings are
 * limited by the catalog (1 MiB), so the length fits an int. */
static sstr sdup(ggs__stage *s, const char *v, int *err) {
  if (v == NULL) return (sstr){NULL, 0};
  size_t n = strlen(v);
  char *p = arena_alloc(s->mem, &s->rows, n + 1);
  if (p == NULL) {
    *err = GG_ENOMEM;
    return (sstr){NULL, 0};
  }
  memcpy(p, v, n + 1);
  return (sstr){p, (int)n};
}

static const uint8_t *bdup(ggs__stage *s, const uint8_t *v, size_t n, int *err) {
  if (v == NULL) return NULL;
  uint8_t *p = arena_alloc(s->mem, &s->rows, n ? n : 1);
  if (p == NULL) {
    *err = GG_ENOMEM;
    return NULL;
  }
  if (n) memcpy(p, v, n);
  return p;
}

/* ---- the id map ------------------------------------------------------------------------- */

static ment *map_find(ggs__stage *s, const char *id, uint64_t h) {
  if (s->capmap == 0) return NULL;
  for (size_t j = h & (s->capmap - 1);; j = (j + 1) & (s->capmap - 1)) {
    ment *m = &s->map[j];
    if (m->id == NULL) return NULL;
    if (m->hash == h && sqlite3_stricmp(m->id, id) == 0) return m;
  }
}

static int map_grow(ggs__stage *s) {
  size_t nc = s->capmap ? 2 * s->capmap : 4096;
  ment *nm = gg_calloc(s->mem, nc, sizeof(*nm));
  if (nm == NULL) return GG_ENOMEM;
  for (size_t i = 0; i < s->capmap; i++) {
    if (s->map[i].id == NULL) continue;
    size_t j = s->map[i].hash & (nc - 1);
    while (nm[j].id) j = (j + 1) & (nc - 1);
    nm[j] = s->map[i];
  }
  gg_free(s->mem, s->map);
  s->map = nm;
  s->capmap = nc;
  return GG_OK;
}

/* ---- staging ------------------------------------------------------------------------------ */

int ggs__stage_begin(ggs_catalog *cat) {
  ggs__stage *s = gg_calloc(cat->mem, 1, sizeof(*s));
  if (s == NULL) return GG_ENOMEM;
  s->mem = cat->mem;
  s->gen = 1;
  s->last = -1;
  cat->stage = s;
  return GG_OK;
}

void ggs__stage_end(ggs_catalog *cat) {
  ggs__stage *s = cat->stage;
  if (s == NULL) return;
  arena_free(s->mem, &s->rows);
  arena_free(s->mem, &s->ids);
  gg_free(s->mem, s->pkg);
  gg_free(s->mem, s->ver);
  gg_free(s->mem, s->dep);
  gg_free(s->mem, s->map);
  gg_free(s->mem, s->vmap);
  gg_free(s->mem, s);
  cat->stage = NULL;
}

/* Fills a package's rows (strings copied), as catalog.c write_pkg and write_doc would. */
static int fill_pkg(ggs__stage *s, spkg *r, const ggs_catalog_pkg *p, const ggs__stage_doc *d) {
  int err = GG_OK;
  sstr *pt = r->pt, *dt = r->dt;
  pt[0] = sdup(s, p->id, &err);
  pt[1] = sdup(s, p->name && strcmp(p->name, p->id) ? p->name : NULL, &err); /* NULL = the id */
  pt[2] = sdup(s, p->n_authors ? p->authors[0] : NULL, &err);
  pt[3] = sdup(s, p->category, &err);
  pt[4] = sdup(s, p->license, &err);
  pt[5] = sdup(s, p->homepage, &err);
  pt[6] = sdup(s, p->repository, &err);
  pt[7] = sdup(s, p->documentation, &err);
  r->production_ready = p->production_ready ? 1 : 0;
  dt[0] = pt[0];
  dt[1] = pt[1].p ? pt[1] : (sstr){"", 0};
  dt[2] = sdup(s, d->description, &err);
  dt[3] = sdup(s, d->tags, &err);
  dt[4] = sdup(s, d->keywords, &err);
  dt[5] = sdup(s, d->authors, &err);
  dt[6] = sdup(s, d->facets, &err);
  r->downloads = d->downloads;
  r->stars = d->stars;
  return err;
}

int ggs__stage_put_package(ggs_catalog *cat, const ggs_catalog_pkg *p, const ggs__stage_doc *d,
                           int64_t pid, int64_t rank, int64_t *out_pid, int *changed) {
  ggs__stage *s = cat->stage;
  uint64_t h = ggs__id_hash(p->id);
  ment *m = map_find(s, p->id, h);
  int err = GG_OK;
  *changed = 0;
  if (m != NULL) {
    *out_pid = m->pid;
    if (m->gen != s->gen) return GG_EEXIST; /* flushed: the tables have it */
    /* a staged package again: new rows in place, same pid, rank and versions */
    spkg *r = &s->pkg[m->row];
    *changed = r->downloads != d->downloads || r->stars != d->stars;
    err = fill_pkg(s, r, p, d);
    s->last = m->row;
    return err;
  }
  *out_pid = pid;
  if ((s->nmap + 1) * 2 > s->capmap && (err = map_grow(s)) != GG_OK) return err;
  if ((err = grow(s->mem, (void **)&s->pkg, &s->cappkg, s->npkg, sizeof(*s->pkg)))) return err;
  size_t idn = strlen(p->id) + 1;
  char *idc = arena_alloc(s->mem, &s->ids, idn);
  if (idc == NULL) return GG_ENOMEM;
  memcpy(idc, p->id, idn);
  spkg *r = &s->pkg[s->npkg];
  memset(r, 0, sizeof(*r));
  r->pid = pid;
  r->rank = rank;
  if ((err = fill_pkg(s, r, p, d)) != GG_OK) return err;
  size_t j = h & (s->capmap - 1);
  while (s->map[j].id) j = (j + 1) & (s->capmap - 1);
  s->map[j] = (ment){h, idc, pid, s->gen, (uint32_t)s->npkg};
  s->nmap++;
  s->last = (int64_t)s->npkg++;
  return GG_OK;
}

/* Two digests conflict only when both are known and differ. */
static int conflict(sstr a, const char *b) { return a.p && b && strcmp(a.p, b) != 0; }

/* The staged versions are found by (pid, version) in a hash table, not by walking the
 * package's list: a hostile index may give one package millions of versions. */
static uint64_t ver_hash(int64_t pid, const char *v) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)pid * 0x9e3779b97f4a7c15ull;
  for (; *v; v++) h = (h ^ (unsigned char)*v) * 1099511628211ull;
  return h ^ (h >> 31);
}

static int vmap_grow(ggs__stage *s) {
  size_t nc = s->capvmap ? 2 * s->capvmap : 4096;
  uint32_t *nm = gg_calloc(s->mem, nc, sizeof(*nm));
  if (nm == NULL) return GG_ENOMEM;
  for (size_t i = 0; i < s->nver; i++) {
    size_t j = ver_hash(s->ver[i].pid, s->ver[i].version.p) & (nc - 1);
    while (nm[j]) j = (j + 1) & (nc - 1);
    nm[j] = (uint32_t)i + 1;
  }
  gg_free(s->mem, s->vmap);
  s->vmap = nm;
  s->capvmap = nc;
  return GG_OK;
}

int ggs__stage_put_version(ggs_catalog *cat, const char *id, const ggs_catalog_version *v) {
  ggs__stage *s = cat->stage;
  spkg *r = NULL;
  if (s->last >= 0 && sqlite3_stricmp(s->pkg[s->last].pt[0].p, id) == 0) {
    r = &s->pkg[s->last]; /* the package just put, as in an import */
  } else {
    ment *m = map_find(s, id, ggs__id_hash(id));
    if (m == NULL || m->gen != s->gen) return GG_ENOTFOUND; /* not staged: the SQL path */
    r = &s->pkg[m->row];
  }
  int err = (s->nver + 1) * 2 > s->capvmap ? vmap_grow(s) : GG_OK;
  if (err) return err;
  size_t j = ver_hash(r->pid, v->version) & (s->capvmap - 1);
  for (; s->vmap[j]; j = (j + 1) & (s->capvmap - 1)) {
    sver *x = &s->ver[s->vmap[j] - 1];
    if (x->pid != r->pid || strcmp(x->version.p, v->version) != 0) continue;
    /* the same version again: as catalog.c put_version does with stored rows */
    if (conflict(x->cid, v->cid) || conflict(x->sha256, v->sha256)) {
      snprintf(cat->errmsg, sizeof(cat->errmsg), "%s@%s exists with other content", id, v->version);
      return GG_EEXIST;
    }
    if ((x->cid.p || !v->cid) && (x->sha256.p || !v->sha256)) return GG_OK; /* nothing new */
    if (!x->cid.p) x->cid = sdup(s, v->cid, &err);
    if (!x->sha256.p) x->sha256 = sdup(s, v->sha256, &err);
    if (!x->source.p) x->source = sdup(s, v->source, &err);
    return err;
  }
  if ((err = grow(s->mem, (void **)&s->ver, &s->capver, s->nver, sizeof(*s->ver)))) return err;
  if (v->n_deps &&
      (err = grow(s->mem, (void **)&s->dep, &s->capdep, s->ndep + v->n_deps - 1, sizeof(*s->dep))))
    return err;
  sver *x = &s->ver[s->nver];
  *x = (sver){.pid = r->pid,
              .size = v->size,
              .published = v->published,
              .publisher_len = v->publisher_len,
              .record_len = v->record_len,
              .yanked = v->yanked ? 1 : 0};
  x->version = sdup(s, v->version, &err);
  x->cid = sdup(s, v->cid, &err);
  x->sha256 = sdup(s, v->sha256, &err);
  x->source = sdup(s, v->source, &err);
  x->publisher = bdup(s, v->publisher, v->publisher_len, &err);
  x->record = bdup(s, v->record, v->record_len, &err);
  for (size_t i = 0; i < v->n_deps && !err; i++)
    s->dep[s->ndep + i] = (sdep){r->pid, x->version, sdup(s, v->deps[i].id, &err),
                                 sdup(s, v->deps[i].range ? v->deps[i].range : "*", &err)};
  if (err) return err;
  s->vmap[j] = (uint32_t)++s->nver;
  s->ndep += v->n_deps;
  return GG_OK;
}

int ggs__stage_full(const ggs_catalog *cat) {
  return cat->stage && cat->stage->rows.bytes >= ggs__stage_flush_bytes;
}

static int flush(ggs_catalog *cat, int indexed);

int ggs__stage_sync(ggs_catalog *cat) {
  int err = ggs__stage_flush(cat);
  if (err && !cat->bulk_failed) cat->bulk_failed = err;
  return err;
}

int ggs__stage_whole(const ggs_catalog *cat) { return cat->stage && cat->stage->gen == 1; }

int ggs__stage_flush(ggs_catalog *cat) { return flush(cat, 0); }

int ggs__stage_flush_indexed(ggs_catalog *cat) { return flush(cat, 1); }

static int flush(ggs_catalog *cat, int indexed) {
  ggs__stage *s = cat->stage;
  if (s == NULL || (s->npkg == 0 && s->nver == 0)) return GG_OK;
  int err = GG_OK;
  static const int which[5] = {ST_STAGE_PKG, ST_STAGE_DOC, ST_STAGE_VER, ST_STAGE_DEP,
                               ST_STAGE_FTS};
  for (int i = 0; i < (indexed ? 5 : 4) && !err; i++) {
    sqlite3_stmt *st = ggs__st(cat, which[i]);
    if (st == NULL) return GG_ESTORAGE;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
    sqlite3_reset(st);
  }
  if (err) return err;
  /* the flushed packages now live in the tables: a later put takes the SQL path */
  s->gen++;
  s->npkg = s->nver = s->ndep = 0;
  s->last = -1;
  if (s->vmap) memset(s->vmap, 0, s->capvmap * sizeof(*s->vmap));
  arena_free(s->mem, &s->rows);
  return GG_OK;
}

/* ---- the virtual tables over the staged rows -------------------------------------------- */

enum { V_PKG, V_DOC, V_VER, V_DEP, V_FTS, V_TERMS };

static const char *const vt_schema[] = {
    [V_PKG] = "CREATE TABLE x(pid, id, name, author, category, license, homepage, repository, "
              "documentation, production_ready, rank)",
    [V_DOC] = "CREATE TABLE x(rank, pid, id, name, description, tags, keywords, authors, facets, "
              "downloads, stars)",
    [V_VER] = "CREATE TABLE x(pid, version, cid, size, published, publisher, record, sha256, "
              "source, yanked)",
    [V_DEP] = "CREATE TABLE x(pid, version, dep, range)",
    [V_FTS] = "CREATE TABLE x(rank, t)",
    [V_TERMS] = "CREATE TABLE x(term, df)",
};

typedef struct vtab {
  sqlite3_vtab base;
  const ggs__stage_aux *aux;
} vtab;

typedef struct vcur {
  sqlite3_vtab_cursor base;
  size_t i;
} vcur;

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **errp) {
  (void)argc;
  (void)argv;
  (void)errp;
  const ggs__stage_aux *a = aux;
  int rc = sqlite3_declare_vtab(db, vt_schema[a->kind]);
  if (rc != SQLITE_OK) return rc;
  vtab *t = sqlite3_malloc(sizeof(*t));
  if (t == NULL) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->aux = a;
  *out = &t->base;
  return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *t) {
  sqlite3_free(t);
  return SQLITE_OK;
}

static int vt_best_index(sqlite3_vtab *t, sqlite3_index_info *info) {
  (void)t;
  info->estimatedCost = 1e6;
  info->orderByConsumed = 0;
  return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out) {
  (void)t;
  vcur *c = sqlite3_malloc(sizeof(*c));
  if (c == NULL) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *out = &c->base;
  return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *c) {
  sqlite3_free(c);
  return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *c, int idx, const char *idxs, int argc,
                     sqlite3_value **argv) {
  (void)idx;
  (void)idxs;
  (void)argc;
  (void)argv;
  ((vcur *)c)->i = 0;
  return SQLITE_OK;
}

static int vt_next(sqlite3_vtab_cursor *c) {
  ((vcur *)c)->i++;
  return SQLITE_OK;
}

static size_t vt_rows(const ggs__stage_aux *a) {
  const ggs__stage *s = a->cat->stage;
  if (a->kind == V_TERMS) return a->cat->nvterms;
  if (s == NULL) return 0;
  switch (a->kind) {
  case V_PKG:
  case V_DOC:
  case V_FTS: return s->npkg;
  case V_VER: return s->nver;
  default: return s->ndep;
  }
}

static int vt_eof(sqlite3_vtab_cursor *c) {
  const vtab *t = (const vtab *)c->pVtab;
  return ((vcur *)c)->i >= vt_rows(t->aux);
}

static void text(sqlite3_context *ctx, sstr v) {
  if (v.p)
    sqlite3_result_text(ctx, v.p, v.n, SQLITE_STATIC);
  else
    sqlite3_result_null(ctx);
}

static void blob(sqlite3_context *ctx, const uint8_t *v, size_t n) {
  if (v)
    sqlite3_result_blob(ctx, v, (int)n, SQLITE_STATIC);
  else
    sqlite3_result_null(ctx);
}

static int64_t clamp64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

static int vt_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col) {
  const vtab *t = (const vtab *)c->pVtab;
  const ggs__stage *s = t->aux->cat->stage;
  size_t i = ((vcur *)c)->i;
  switch (t->aux->kind) {
  case V_PKG: { /* pid, 8 texts, production_ready, rank */
    const spkg *r = &s->pkg[i];
    if (col == 0)
      sqlite3_result_int64(ctx, r->pid);
    else if (col <= 8)
      text(ctx, r->pt[col - 1]);
    else if (col == 9)
      sqlite3_result_int(ctx, r->production_ready);
    else
      sqlite3_result_int64(ctx, r->rank);
    break;
  }
  case V_DOC: { /* rank, pid, 7 texts, downloads, stars */
    const spkg *r = &s->pkg[i];
    if (col == 0)
      sqlite3_result_int64(ctx, r->rank);
    else if (col == 1)
      sqlite3_result_int64(ctx, r->pid);
    else if (col <= 8)
      text(ctx, r->dt[col - 2]);
    else
      sqlite3_result_int64(ctx, clamp64(col == 9 ? r->downloads : r->stars));
    break;
  }
  case V_VER: {
    const sver *r = &s->ver[i];
    switch (col) {
    case 0: sqlite3_result_int64(ctx, r->pid); break;
    case 1: text(ctx, r->version); break;
    case 2: text(ctx, r->cid); break;
    case 3: sqlite3_result_int64(ctx, clamp64(r->size)); break;
    case 4: sqlite3_result_int64(ctx, r->published); break;
    case 5: blob(ctx, r->publisher, r->publisher_len); break;
    case 6: blob(ctx, r->record, r->record_len); break;
    case 7: text(ctx, r->sha256); break;
    case 8: text(ctx, r->source); break;
    default: sqlite3_result_int(ctx, r->yanked); break;
    }
    break;
  }
  case V_FTS: {
    const spkg *r = &s->pkg[i];
    if (col == 0) {
      sqlite3_result_int64(ctx, r->rank);
      break;
    }
    const char *f[6] = {r->dt[0].p, r->dt[1].p, r->dt[2].p, r->dt[3].p, r->dt[4].p, r->dt[6].p};
    gg_buf *b = &t->aux->cat->ftsbuf;
    int err = ggs__fts_text(t->aux->cat, f, b);
    if (err == GG_ENOMEM) return SQLITE_NOMEM;
    if (err) return SQLITE_ERROR;
    sqlite3_result_text(ctx, (const char *)gg_buf_ptr(b), (int)gg_buf_len(b) - 1, SQLITE_TRANSIENT);
    break;
  }
  case V_TERMS: {
    const ggs__vterm *v = &t->aux->cat->vterms[i];
    if (col == 0)
      sqlite3_result_text(ctx, v->t, (int)v->n, SQLITE_STATIC);
    else
      sqlite3_result_int64(ctx, v->df);
    break;
  }
  default: {
    const sdep *r = &s->dep[i];
    if (col == 0)
      sqlite3_result_int64(ctx, r->pid);
    else
      text(ctx, col == 1 ? r->version : col == 2 ? r->dep : r->range);
    break;
  }
  }
  return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((vcur *)c)->i;
  return SQLITE_OK;
}

static const sqlite3_module vt_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: no CREATE VIRTUAL TABLE */
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

int ggs__stage_register(ggs_catalog *cat) {
  static const char *const names[6] = {"ggs_stage_pkg", "ggs_stage_doc", "ggs_stage_ver",
                                       "ggs_stage_dep", "ggs_stage_fts", "ggs_stage_terms"};
  for (int k = 0; k < 6; k++) {
    cat->stage_aux[k].cat = cat;
    cat->stage_aux[k].kind = k;
    int rc = sqlite3_create_module(cat->db, names[k], &vt_module, &cat->stage_aux[k]);
    if (rc != SQLITE_OK) return ggs__sqlerr(cat, rc);
  }
  return GG_OK;
}
