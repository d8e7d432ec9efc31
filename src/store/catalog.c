/*
 * The package catalog: schema and migrations, the statement cache, ingest (packages,
 * versions, ownership, popularity), bulk transactions and reads. Search lives in
 * catalog_search.c, ggen index import in catalog_import.c, the design in docs/catalog.md.
 *
 * Tables (schema version 1):
 *   packages      one row per id (UNIQUE, NOCASE): metadata shown by `info`; name is NULL
 *                 when it equals the id (ggen's marketplace packages), so the name index
 *                 holds only real display names
 *   search_doc    one row per package: the searchable text and popularity. Its rowid is the
 *                 package's popularity rank and is the FTS5 rowid: FTS5 returns matches in
 *                 rowid order, so "the K most popular matches" is an index walk that stops
 *                 after K rows however common the words are.
 *   fts           FTS5 index (detail=none) of field-tagged words and facet tokens derived
 *                 from search_doc (fts_text), external content through the fts_src view
 *   versions, dependencies, tags, keywords, authors, categories, publishers
 *   terms, term_keys  vocabulary with document frequencies and its deletion neighbourhoods
 *                 (typo correction, catalog_search.c)
 *
 * Invariants:
 *   - every package has exactly one search_doc row and (outside a deferred bulk
 *     transaction) exactly one FTS row with the same text;
 *   - ranks are unique; after a deferred bulk commit or ggs_catalog_optimize() they follow
 *     popularity order (pop desc, downloads desc, stars desc, id); packages added one by one
 *     are appended, popularity updates keep their rank (docs/catalog.md: drift);
 *   - versions are immutable (id, version, archive CID);
 *   - publishers: the first key that claimed an id owns it, for ever.
 * Every write outside a bulk transaction is its own transaction (BEGIN IMMEDIATE); inside
 * one, a put refused for bad input leaves the batch intact, any other failure makes the
 * commit roll everything back (op_begin).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "store/catalog_int.h"

/* ---- arena ------------------------------------------------------------------------------ */

struct ggs__chunk {
  ggs__chunk *next;
  size_t used, cap;
  _Alignas(8) unsigned char data[];
};

void *ggs__arena_alloc(ggs__arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (n == 0) n = 8;
  ggs__chunk *c = a->head;
  if (c == NULL || c->cap - c->used < n) {
    size_t cap = n > 8192 ? n : 8192;
    c = gg_malloc(a->mem, sizeof(*c) + cap);
    if (c == NULL) return NULL;
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

uint64_t ggs__id_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    h = (h ^ c) * 1099511628211ull;
  }
  return h ^ (h >> 31);
}

char *ggs__arena_strndup(ggs__arena *a, const char *s, size_t n) {
  char *p = ggs__arena_alloc(a, n + 1);
  if (p == NULL) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *ggs__arena_strdup(ggs__arena *a, const char *s) {
  return s ? ggs__arena_strndup(a, s, strlen(s)) : NULL;
}

void ggs__arena_free(ggs__arena *a) {
  ggs__chunk *c = a->head;
  while (c) {
    ggs__chunk *n = c->next;
    gg_free(a->mem, c);
    c = n;
  }
  a->head = NULL;
}

void *ggs__arena_detach(ggs__arena *a) {
  ggs__arena *h = gg_malloc(a->mem, sizeof(*h));
  if (h == NULL) return NULL;
  *h = *a;
  a->head = NULL;
  return h;
}

void ggs__arena_free_detached(const gg_mem *mem, void *detached) {
  ggs__arena *h = detached;
  if (h == NULL) return;
  ggs__arena_free(h);
  gg_free(mem, h);
}

/* ---- statements and errors ---------------------------------------------------------------- */

#define DOC_COLS "id, name, description, tags, keywords, authors, facets, downloads, stars"
/* A package's latest version: the highest non-yanked release, else prerelease (semver_pre
 * and the semver collation are registered at open). Computed when read: a package has a
 * handful of versions, and ingest then never has to maintain it. */
#define LATEST                                                                                   \
  "(SELECT version FROM versions v WHERE v.pid = p.pid AND v.yanked = 0 "                        \
  "ORDER BY semver_pre(v.version), v.version COLLATE semver DESC LIMIT 1)"

static const char *const sql_text[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PKG_FIND] = "SELECT pid, rank FROM packages WHERE id = ?1",
    [ST_PKG_INSERT] = "INSERT INTO packages(id, name, author, category, license, homepage, "
                      "repository, documentation, production_ready, rank) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_PKG_UPDATE] = "UPDATE packages SET id = ?1, name = ?2, author = ?3, category = ?4, "
                      "license = ?5, homepage = ?6, repository = ?7, documentation = ?8, "
                      "production_ready = ?9 WHERE pid = ?10",
    [ST_DOC_READ] = "SELECT rank, " DOC_COLS " FROM search_doc WHERE rank = ?1",
    [ST_DOC_INSERT] = "INSERT INTO search_doc(rank, pid, " DOC_COLS ") "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_DOC_UPDATE] = "UPDATE search_doc SET id = ?3, name = ?4, description = ?5, tags = ?6, "
                      "keywords = ?7, authors = ?8, facets = ?9, downloads = ?10, stars = ?11 "
                      "WHERE rank = ?1 AND pid = ?2",
    [ST_DOC_MAXRANK] = "SELECT coalesce(max(rank), 0) FROM search_doc",
    [ST_DOC_LAST] = "SELECT rank, id, downloads, stars FROM search_doc ORDER BY rank DESC LIMIT 1",
    [ST_FTS_INSERT] = "INSERT INTO fts(rowid, t) VALUES(?1, ?2)",
    [ST_FTS_DELETE] = "INSERT INTO fts(fts, rowid, t) VALUES('delete', ?1, ?2)",
    [ST_VER_FIND] = "SELECT cid, sha256 FROM versions WHERE pid = ?1 AND version = ?2",
    [ST_VER_INSERT] = "INSERT INTO versions(pid, version, cid, size, published, publisher, "
                      "record, sha256, source, yanked) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_VER_FILL] = "UPDATE versions SET cid = coalesce(cid, ?3), sha256 = coalesce(sha256, ?4), "
                    "source = coalesce(source, ?5) WHERE pid = ?1 AND version = ?2",
    [ST_DEP_INSERT] = "INSERT OR REPLACE INTO dependencies(pid, version, dep, range) "
                      "VALUES(?1, ?2, ?3, ?4)",
    [ST_VER_YANK] = "UPDATE versions SET yanked = ?3 WHERE pid = ?1 AND version = ?2",
    [ST_VER_LATEST] = "SELECT version FROM versions WHERE pid = ?1 AND yanked = 0 "
                      "ORDER BY semver_pre(version), version COLLATE semver DESC LIMIT 1",
    [ST_OWNER_CLAIM] = "INSERT OR IGNORE INTO publishers(id, key, claimed) VALUES(?1, ?2, ?3)",
    [ST_OWNER_GET] = "SELECT key FROM publishers WHERE id = ?1",
    [ST_TERM_GET] = "SELECT df FROM terms WHERE term = ?1",
    [ST_TERM_ADD] = "INSERT INTO terms(term, df) VALUES(?1, max(?2, 0)) "
                    "ON CONFLICT(term) DO UPDATE SET df = max(0, df + ?2)",
    [ST_TERM_SET] = "INSERT INTO terms(term, df) VALUES(?1, ?2) "
                    "ON CONFLICT(term) DO UPDATE SET df = excluded.df",
    [ST_KEYS_GET] = "SELECT data FROM term_keys WHERE bucket = ?1",
    [ST_KEYS_PUT] = "INSERT OR REPLACE INTO term_keys(bucket, data) VALUES(?1, ?2)",
    [ST_TERM_BY_ID] = "SELECT term, df FROM terms WHERE tid = ?1 AND df > 0",
    [ST_TERM_PREFIX] = "SELECT term, df FROM terms WHERE term > ?1 AND term < ?2 AND df > 0 "
                       "LIMIT 256",
    [ST_TERM_UNKEYED] = "SELECT tid, term FROM terms WHERE keyed = 0",
    [ST_TERM_MARK_KEYED] = "UPDATE terms SET keyed = 1 WHERE keyed = 0",
    [ST_COUNT_PKGS] = "SELECT count(*) FROM packages",
    [ST_COUNT_VERS] = "SELECT count(*) FROM versions",
    [ST_COUNT_TERMS] = "SELECT count(*) FROM terms WHERE df > 0",
    [ST_PKG_GET] = "SELECT p.pid, p.id, coalesce(p.name, p.id), d.description, p.license, p.category, "
                   "p.homepage, p.repository, p.documentation, " LATEST ", d.authors, d.tags, "
                   "d.keywords, d.downloads, d.stars, p.production_ready "
                   "FROM packages p JOIN search_doc d ON d.rank = p.rank WHERE p.id = ?1",
    [ST_VER_LIST] = "SELECT version, cid, size, published, publisher, record, sha256, source, "
                    "yanked FROM versions WHERE pid = ?1 AND (?2 IS NULL OR version = ?2) "
                    "ORDER BY version COLLATE semver DESC",
    [ST_DEP_LIST] = "SELECT dep, range FROM dependencies WHERE pid = ?1 AND version = ?2 "
                    "ORDER BY dep",
    [ST_FTS_MATCH] = "SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rowid LIMIT ?2",
    [ST_EXACT_ID] = "SELECT rank FROM packages WHERE id = ?1",
    [ST_EXACT_NAME] = "SELECT rank FROM packages WHERE name = ?1 COLLATE NOCASE LIMIT 16",
    [ST_DOC_BY_RANK] = "SELECT pid, " DOC_COLS " FROM search_doc WHERE rank = ?1",
    [ST_TOP_BY_RANK] = "SELECT rank FROM search_doc ORDER BY rank LIMIT ?1",
    [ST_HIT_DETAILS] = "SELECT " LATEST ", author, category, license FROM packages p WHERE pid = ?1",
    /* a staged bulk batch (catalog_stage.c): one statement per table */
    [ST_STAGE_PKG] = "INSERT INTO packages(pid, id, name, author, category, license, homepage, "
                     "repository, documentation, production_ready, rank) SELECT pid, id, name, "
                     "author, category, license, homepage, repository, documentation, "
                     "production_ready, rank FROM ggs_stage_pkg",
    [ST_STAGE_DOC] = "INSERT INTO search_doc(rank, pid, " DOC_COLS ") SELECT rank, pid, " DOC_COLS
                     " FROM ggs_stage_doc",
    [ST_STAGE_VER] = "INSERT INTO versions(pid, version, cid, size, published, publisher, record, "
                     "sha256, source, yanked) SELECT pid, version, cid, size, published, "
                     "publisher, record, sha256, source, yanked FROM ggs_stage_ver",
    [ST_STAGE_DEP] = "INSERT OR REPLACE INTO dependencies(pid, version, dep, range) "
                     "SELECT pid, version, dep, range FROM ggs_stage_dep",
    [ST_STAGE_FTS] = "INSERT INTO fts(rowid, t) SELECT rank, t FROM ggs_stage_fts",
    [ST_STAGE_TERMS] = "INSERT INTO terms(term, df, keyed) SELECT term, df, 1 FROM ggs_stage_terms",
};

int ggs__sqlerr(ggs_catalog *cat, int rc) {
  if (cat && cat->db) snprintf(cat->errmsg, sizeof(cat->errmsg), "%s", sqlite3_errmsg(cat->db));
  switch (rc & 0xff) {
  case SQLITE_NOMEM: return GG_ENOMEM;
  case SQLITE_IOERR:
  case SQLITE_FULL: return GG_EIO;
  default: return GG_ESTORAGE;
  }
}

sqlite3_stmt *ggs__st(ggs_catalog *cat, int i) {
  sqlite3_stmt *s = cat->st[i];
  if (s != NULL) {
    sqlite3_reset(s);
    return s;
  }
  int rc = sqlite3_prepare_v3(cat->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
  if (rc != SQLITE_OK) {
    ggs__sqlerr(cat, rc);
    return NULL;
  }
  cat->st[i] = s;
  return s;
}

int ggs__exec(ggs_catalog *cat, const char *sql) {
  int rc = sqlite3_exec(cat->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? GG_OK : ggs__sqlerr(cat, rc);
}

/* Steps a statement expected to finish without rows; resets it. */
static int run(ggs_catalog *cat, sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  int err = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? GG_OK : ggs__sqlerr(cat, rc);
  sqlite3_reset(s);
  return err;
}

static int run_id(ggs_catalog *cat, int i) {
  sqlite3_stmt *s = ggs__st(cat, i);
  return s ? run(cat, s) : GG_ESTORAGE;
}

const char *ggs_catalog_errmsg(const ggs_catalog *cat) {
  return cat && cat->errmsg[0] ? cat->errmsg : "no error";
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static void bind_blob(sqlite3_stmt *s, int i, const uint8_t *p, size_t n) {
  if (p)
    sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static int64_t clamp64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* ---- semver precedence (collation "semver") ---------------------------------------------- */

/* Parses MAJOR.MINOR.PATCH[-pre][+build]; returns 1 when valid, with the prerelease span. */
static int semver_parse(const char *s, size_t n, uint64_t num[3], const char **pre,
                        size_t *prelen) {
  size_t i = 0;
  if (i < n && (s[i] == 'v' || s[i] == 'V')) i++; /* tolerate ggen's occasional "v1.2.3" */
  for (int k = 0; k < 3; k++) {
    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
    uint64_t v = 0;
    size_t st = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (v > (UINT64_MAX - 9) / 10) return 0;
      v = v * 10 + (uint64_t)(s[i] - '0');
      i++;
    }
    if (i - st > 1 && s[st] == '0') return 0;
    num[k] = v;
    if (k < 2) {
      if (i >= n || s[i] != '.') return 0;
      i++;
    }
  }
  *pre = NULL;
  *prelen = 0;
  if (i < n && s[i] == '-') {
    size_t st = ++i;
    while (i < n && s[i] != '+') i++;
    if (i == st) return 0;
    *pre = s + st;
    *prelen = i - st;
  }
  if (i < n && s[i] != '+') return 0;
  return 1;
}

static int ident_numeric(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

int ggs__semver_cmp(const char *a, size_t an, const char *b, size_t bn) {
  uint64_t x[3], y[3];
  const char *pa, *pb;
  size_t la, lb;
  int va = semver_parse(a, an, x, &pa, &la), vb = semver_parse(b, bn, y, &pb, &lb);
  if (!va || !vb) {
    if (va != vb) return va ? 1 : -1;
    size_t m = an < bn ? an : bn;
    int c = memcmp(a, b, m);
    return c ? c : cmp_u64(an, bn);
  }
  for (int k = 0; k < 3; k++)
    if (x[k] != y[k]) return cmp_u64(x[k], y[k]);
  if (!pa || !pb) return pa ? -1 : (pb ? 1 : 0); /* a release outranks its prereleases */
  /* dot-separated identifiers: numeric < alphanumeric, numeric compared as numbers */
  size_t i = 0, j = 0;
  for (;;) {
    if (i >= la || j >= lb) return i >= la ? (j >= lb ? 0 : -1) : 1;
    size_t ie = i, je = j;
    while (ie < la && pa[ie] != '.') ie++;
    while (je < lb && pb[je] != '.') je++;
    int na = ident_numeric(pa + i, ie - i), nb = ident_numeric(pb + j, je - j);
    int c;
    if (na && nb) {
      /* no leading zeros in valid identifiers: longer means larger */
      c = ie - i != je - j ? cmp_u64(ie - i, je - j) : memcmp(pa + i, pb + j, ie - i);
    } else if (na != nb) {
      c = na ? -1 : 1;
    } else {
      size_t m = ie - i < je - j ? ie - i : je - j;
      c = memcmp(pa + i, pb + j, m);
      if (c == 0) c = cmp_u64(ie - i, je - j);
    }
    if (c) return c < 0 ? -1 : 1;
    i = ie + (ie < la);
    j = je + (je < lb);
    if (ie == la && je == lb) return 0;
    if (ie == la) return -1;
    if (je == lb) return 1;
  }
}

static int semver_collate(void *ud, int an, const void *a, int bn, const void *b) {
  (void)ud;
  return ggs__semver_cmp(a, (size_t)an, b, (size_t)bn);
}

static int semver_is_pre(const char *v) {
  uint64_t num[3];
  const char *pre;
  size_t n;
  return semver_parse(v, strlen(v), num, &pre, &n) && pre != NULL;
}

/* SQL semver_pre(v): 1 for a prerelease version, else 0. */
static void semver_pre_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const char *v = (const char *)sqlite3_value_text(argv[0]);
  sqlite3_result_int(ctx, v ? semver_is_pre(v) : 0);
}

/* ---- schema ---------------------------------------------------------------------------- */

/* Migration i takes the schema from version i to i+1. */
static const char *const migrations[GGS_CATALOG_SCHEMA_VERSION] = {
    "CREATE TABLE packages("
    "  pid INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  name TEXT,"
    "  author TEXT,"
    "  category TEXT,"
    "  license TEXT,"
    "  homepage TEXT,"
    "  repository TEXT,"
    "  documentation TEXT,"
    "  production_ready INTEGER NOT NULL DEFAULT 0,"
    "  rank INTEGER NOT NULL);" /* its search_doc row (no index: looked up by id) */
    "CREATE INDEX packages_name ON packages(name COLLATE NOCASE);"
    "CREATE TABLE search_doc("
    "  rank INTEGER PRIMARY KEY,"
    "  pid INTEGER NOT NULL,"
    "  id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,"
    "  tags TEXT NOT NULL, keywords TEXT NOT NULL, authors TEXT NOT NULL,"
    "  facets TEXT NOT NULL, downloads INTEGER NOT NULL, stars INTEGER NOT NULL);"
    /* the indexed text is derived from search_doc by ggs_fts_text() (catalog.c fts_text),
     * registered on every connection; FTS5 reads it through this view when it rebuilds */
    "CREATE VIEW fts_src(rank, t) AS SELECT rank,"
    "  ggs_fts_text(id, name, description, tags, keywords, facets) FROM search_doc;"
    "CREATE VIRTUAL TABLE fts USING fts5(t, content='fts_src', content_rowid='rank',"
    "  detail='none', columnsize=0, tokenize='ascii');"
    "INSERT INTO fts(fts, rank) VALUES('hashsize', 16777216);"
    "CREATE TABLE versions("
    "  pid INTEGER NOT NULL, version TEXT NOT NULL, cid TEXT,"
    "  size INTEGER NOT NULL DEFAULT 0, published INTEGER NOT NULL DEFAULT 0,"
    "  publisher BLOB, record BLOB, sha256 TEXT, source TEXT,"
    "  yanked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(pid, version)) WITHOUT ROWID;"
    "CREATE TABLE dependencies(pid INTEGER NOT NULL, version TEXT NOT NULL,"
    "  dep TEXT NOT NULL, range TEXT NOT NULL, PRIMARY KEY(pid, version, dep)) WITHOUT ROWID;"
    /* the value lists live once, in the package's row; these views give them relational
     * shape, and lookups by value go through the FTS facet tokens (docs/catalog.md) */
    "CREATE VIEW tags(tag, pid) AS SELECT j.value, d.pid FROM search_doc d, json_each(d.tags) j;"
    "CREATE VIEW keywords(keyword, pid) AS"
    "  SELECT j.value, d.pid FROM search_doc d, json_each(d.keywords) j;"
    "CREATE VIEW authors(author, pid) AS"
    "  SELECT j.value, d.pid FROM search_doc d, json_each(d.authors) j;"
    "CREATE VIEW categories(category, pid) AS"
    "  SELECT category, pid FROM packages WHERE category IS NOT NULL;"
    "CREATE TABLE publishers(id TEXT PRIMARY KEY COLLATE NOCASE, key BLOB NOT NULL,"
    "  claimed INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE terms(tid INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE,"
    "  df INTEGER NOT NULL, keyed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX terms_unkeyed ON terms(tid) WHERE keyed = 0;"
    "CREATE TABLE term_keys(bucket INTEGER PRIMARY KEY, data BLOB NOT NULL);",
};

static int user_version(ggs_catalog *cat, int *v) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &s, NULL);
  if (rc != SQLITE_OK) return ggs__sqlerr(cat, rc);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *v = sqlite3_column_int(s, 0);
  int err = rc == SQLITE_ROW ? GG_OK : ggs__sqlerr(cat, rc);
  sqlite3_finalize(s);
  return err;
}

static int has_tables(ggs_catalog *cat, int *yes) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(cat->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
  if (rc != SQLITE_OK) return ggs__sqlerr(cat, rc);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *yes = sqlite3_column_int(s, 0) > 0;
  int err = rc == SQLITE_ROW ? GG_OK : ggs__sqlerr(cat, rc);
  sqlite3_finalize(s);
  return err;
}

static int migrate(ggs_catalog *cat, int from) {
  int err = GG_OK, v = from;
  if (from == 0) {
    /* WAL is a property of the file and cannot be set inside a transaction */
    err = ggs__exec(cat, "PRAGMA journal_mode=WAL");
    if (err) return err;
  }
  err = ggs__exec(cat, "BEGIN IMMEDIATE");
  if (err) return err;
  /* another process may have migrated between our check and our lock */
  err = user_version(cat, &v);
  if (err == GG_OK && v == 0) {
    int yes = 0;
    err = has_tables(cat, &yes);
    if (err == GG_OK && yes) {
      snprintf(cat->errmsg, sizeof(cat->errmsg), "not a ggen catalog (unknown tables)");
      err = GG_EUNSUPPORTED;
    }
  }
  for (; err == GG_OK && v < GGS_CATALOG_SCHEMA_VERSION; v++) err = ggs__exec(cat, migrations[v]);
  if (err == GG_OK) {
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", GGS_CATALOG_SCHEMA_VERSION);
    err = ggs__exec(cat, sql);
  }
  if (err == GG_OK) err = ggs__exec(cat, "COMMIT");
  if (err) sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
  return err;
}

static void fts_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv);

/* ---- open / close ----------------------------------------------------------------------- */

int ggs_catalog_open(ggs_catalog **out, const char *path, unsigned flags, const gg_mem *mem) {
  if (out == NULL || path == NULL) return GG_EINVAL;
  ggs_catalog *cat = gg_calloc(mem, 1, sizeof(*cat));
  if (cat == NULL) return GG_ENOMEM;
  cat->mem = mem;
  ggs__termset_init(&cat->terms, mem);
  for (int i = 0; i < 4; i++) gg_buf_init(&cat->docbuf[i], mem, SIZE_MAX);
  gg_buf_init(&cat->ftsbuf, mem, SIZE_MAX);
  int oflags = (flags & GGS_CATALOG_READONLY)
                   ? SQLITE_OPEN_READONLY
                   : SQLITE_OPEN_READWRITE | ((flags & GGS_CATALOG_CREATE) ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path, &cat->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
  int err = GG_OK;
  if (rc != SQLITE_OK) {
    err = (rc & 0xff) == SQLITE_CANTOPEN ? GG_ENOTFOUND : ggs__sqlerr(cat, rc);
    if (err == GG_ENOTFOUND) snprintf(cat->errmsg, sizeof(cat->errmsg), "no catalog at %s", path);
    goto fail;
  }
  sqlite3_extended_result_codes(cat->db, 1);
  sqlite3_busy_timeout(cat->db, 5000);
  rc = sqlite3_create_collation(cat->db, "semver", SQLITE_UTF8, NULL, semver_collate);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(cat->db, "semver_pre", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 NULL, semver_pre_fn, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(cat->db, "ggs_fts_text", 6,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, cat,
                                 fts_text_fn, NULL, NULL);
  if (rc != SQLITE_OK) {
    err = ggs__sqlerr(cat, rc);
    goto fail;
  }
  if ((err = ggs__stage_register(cat)) != GG_OK) goto fail;
  int v = 0;
  err = user_version(cat, &v);
  if (err) goto fail;
  if (v > GGS_CATALOG_SCHEMA_VERSION) {
    snprintf(cat->errmsg, sizeof(cat->errmsg),
             "catalog schema version %d is newer than this program's (%d)", v,
             GGS_CATALOG_SCHEMA_VERSION);
    err = GG_EUNSUPPORTED;
    goto fail;
  }
  if (v < GGS_CATALOG_SCHEMA_VERSION) {
    if (flags & GGS_CATALOG_READONLY) {
      snprintf(cat->errmsg, sizeof(cat->errmsg), "%s", v == 0 ? "not a catalog" : "catalog needs migration");
      err = v == 0 ? GG_ENOTFOUND : GG_EUNSUPPORTED;
      goto fail;
    }
    err = migrate(cat, v);
    if (err) goto fail;
  }
  /* NORMAL in WAL mode: a power loss may lose the last transactions, never corrupt the file;
   * a catalog can always be re-synced, so the fsync per commit is not worth it. */
  err = ggs__exec(cat, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144");
  if (err) goto fail;
  *out = cat;
  return GG_OK;
fail:
  ggs_catalog_close(cat);
  return err;
}

void ggs_catalog_close(ggs_catalog *cat) {
  if (cat == NULL) return;
  if (cat->in_bulk) ggs_catalog_rollback(cat);
  if (cat->tok) {
    fts5_tokenizer *api = cat->tok_api;
    api->xDelete(cat->tok);
  }
  gg_free(cat->mem, cat->tok_api);
  for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(cat->st[i]);
  sqlite3_close(cat->db);
  ggs__termset_free(&cat->terms);
  for (int i = 0; i < 4; i++) gg_buf_free(&cat->docbuf[i]);
  gg_buf_free(&cat->ftsbuf);
  gg_free(cat->mem, cat->ftoks.off);
  gg_free(cat->mem, cat->ftoks.len);
  gg_free(cat->mem, cat->ftoks.hash);
  gg_free(cat->mem, cat);
}

/* ---- tokenizer ------------------------------------------------------------------------- */

static int tok_init(ggs_catalog *cat) {
  fts5_api *api = NULL;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(cat->db, "SELECT fts5(?1)", -1, &s, NULL);
  if (rc != SQLITE_OK) return ggs__sqlerr(cat, rc);
  sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
  sqlite3_step(s);
  sqlite3_finalize(s);
  if (api == NULL || api->iVersion < 2) return GG_EUNSUPPORTED;
  fts5_tokenizer *t = gg_malloc(cat->mem, sizeof(*t));
  if (t == NULL) return GG_ENOMEM;
  void *ud = NULL;
  if (api->xFindTokenizer(api, "unicode61", &ud, t) != SQLITE_OK) {
    gg_free(cat->mem, t);
    return GG_EUNSUPPORTED;
  }
  const char *args[] = {"remove_diacritics", "2"};
  Fts5Tokenizer *tok = NULL;
  rc = t->xCreate(ud, args, 2, &tok);
  if (rc != SQLITE_OK) {
    gg_free(cat->mem, t);
    return ggs__sqlerr(cat, rc);
  }
  cat->tok_api = t;
  cat->tok = tok;
  return GG_OK;
}

typedef struct tok_ctx {
  int (*fn)(void *ud, const char *tok, size_t n, size_t start, size_t end);
  void *ud;
  int stop;
} tok_ctx;

static int tok_cb(void *p, int tflags, const char *tok, int n, int start, int end) {
  tok_ctx *c = p;
  if (tflags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;
  c->stop = c->fn(c->ud, tok, (size_t)n, (size_t)start, (size_t)end);
  return c->stop ? SQLITE_DONE : SQLITE_OK;
}

/* The unicode61 rules for ASCII text: letters and digits form tokens, lower-cased; every
 * other character separates. Most package text is ASCII, and doing it here is several
 * times faster than the general tokenizer. Returns 1 (not done) when the text is not ASCII
 * or has a token too long for the buffer, so the caller uses unicode61 instead. */
/* 1 when text[0..len) is all ASCII (eight bytes at a time). */
static int all_ascii(const char *text, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, text + i, 8);
    if (w & 0x8080808080808080ull) return 0;
  }
  for (; i < len; i++)
    if ((unsigned char)text[i] >= 0x80) return 0;
  return 1;
}

/* An ASCII byte as a token character: letters lower-cased, digits as they are, 0 for a
 * separator (locale-independent, unlike isalnum/tolower). */
static unsigned char ascii_tokchar(unsigned char c) {
  unsigned char l = (unsigned char)(c | 0x20);
  if ((unsigned)(l - 'a') < 26u) return l;
  return (unsigned)(c - '0') < 10u ? c : 0;
}

static int tokenize_ascii(const char *text, size_t len,
                          int (*fn)(void *ud, const char *tok, size_t n, size_t start, size_t end),
                          void *ud, int *err) {
  char buf[1024];
  if (!all_ascii(text, len)) return 1;
  if (len > sizeof(buf)) { /* a token too long for the buffer: unicode61 does it all */
    for (size_t i = 0, run = 0; i < len; i++)
      if ((run = ascii_tokchar((unsigned char)text[i]) ? run + 1 : 0) > sizeof(buf)) return 1;
  }
  size_t i = 0;
  while (i < len) {
    while (i < len && !ascii_tokchar((unsigned char)text[i])) i++;
    size_t st = i, n = 0;
    unsigned char c;
    while (i < len && (c = ascii_tokchar((unsigned char)text[i])) != 0) {
      buf[n++] = (char)c;
      i++;
    }
    if (n == 0) break;
    int rc = fn(ud, buf, n, st, i);
    if (rc) {
      *err = rc < 0 ? rc : GG_OK;
      return 0;
    }
  }
  *err = GG_OK;
  return 0;
}

int ggs__tokenize(ggs_catalog *cat, const char *text, size_t len, int query,
                  int (*fn)(void *ud, const char *tok, size_t n, size_t start, size_t end),
                  void *ud) {
  int aerr;
  if (tokenize_ascii(text, len, fn, ud, &aerr) == 0) return aerr;
  if (cat->tok == NULL) {
    int err = tok_init(cat);
    if (err) return err;
  }
  if (len == 0) return GG_OK;
  fts5_tokenizer *api = cat->tok_api;
  tok_ctx c = {fn, ud, 0};
  int rc = api->xTokenize(cat->tok, &c, query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT,
                          text, (int)len, tok_cb);
  if (c.stop) return c.stop < 0 ? c.stop : GG_OK;
  return rc == SQLITE_OK ? GG_OK : GG_ESTORAGE;
}

/* ---- validation and document text --------------------------------------------------------- */

/* 1 when s is valid UTF-8 of at most max bytes without control characters (tabs and newlines
 * allowed when multiline). */
/* The length of s when it is valid UTF-8 of at most max bytes without control characters
 * (tabs and newlines allowed when multiline), else -1. Runs of printable ASCII, nearly all
 * package text, are checked eight bytes at a time. */
static ptrdiff_t text_len(const char *s, size_t max, int multiline) {
  size_t n = strnlen(s, max + 1);
  if (n > max) return -1;
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
      uint64_t del = w ^ (0x7f * ones);
      /* a byte >= 0x80, < 0x20 or == 0x7f (exact when there is none) */
      if ((w | ((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & high) break;
    }
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x20 || c == 0x7f) {
      if (!(multiline && (c == '\n' || c == '\t' || c == '\r'))) return -1;
      i++;
      continue;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
    if (k == 0 || c > 0xf4 || i + k >= n) return -1;
    for (size_t j = 1; j <= k; j++)
      if ((p[i + j] & 0xc0) != 0x80) return -1;
    i += k + 1;
  }
  return (ptrdiff_t)n;
}

static int text_ok(const char *s, size_t max, int multiline) {
  return text_len(s, max, multiline) >= 0;
}

static int opt_ok(const char *s, size_t max, int multiline) {
  return s == NULL || text_ok(s, max, multiline);
}

static int list_ok(const char *const *l, size_t n) {
  if (n > GGS_CATALOG_MAX_LIST || (n && l == NULL)) return 0;
  for (size_t i = 0; i < n; i++)
    if (l[i] == NULL || !text_ok(l[i], GGS_CATALOG_MAX_ID, 0)) return 0;
  return 1;
}

static int id_ok(const char *id) {
  ptrdiff_t n = id ? text_len(id, GGS_CATALOG_MAX_ID, 0) : -1;
  return n > 0 && memchr(id, ' ', (size_t)n) == NULL;
}

static int pkg_ok(const ggs_catalog_pkg *p) {
  return id_ok(p->id) && opt_ok(p->name, GGS_CATALOG_MAX_ID, 0) &&
         opt_ok(p->description, GGS_CATALOG_MAX_TEXT, 1) &&
         opt_ok(p->license, GGS_CATALOG_MAX_ID, 0) && opt_ok(p->category, GGS_CATALOG_MAX_ID, 0) &&
         opt_ok(p->homepage, GGS_CATALOG_MAX_TEXT, 0) &&
         opt_ok(p->repository, GGS_CATALOG_MAX_TEXT, 0) &&
         opt_ok(p->documentation, GGS_CATALOG_MAX_TEXT, 0) && list_ok(p->authors, p->n_authors) &&
         list_ok(p->tags, p->n_tags) && list_ok(p->keywords, p->n_keywords);
}

/* Lists (tags, keywords, authors) are stored in search_doc as JSON arrays of strings: the
 * tokenizer sees the same words, and the tags/keywords/authors views read them with
 * json_each(). */
static int jlist_write(gg_buf *b, const char *const *l, size_t n) {
  size_t worst = 3; /* [ ] NUL */
  for (size_t i = 0; i < n; i++) worst += 3 + 2 * strlen(l[i]); /* , " " and escapes */
  int err = gg_buf_reserve(b, worst);
  if (err) return err;
  uint8_t *w = gg_buf_tail(b, worst), *o = w;
  *o++ = '[';
  for (size_t i = 0; i < n; i++) {
    if (i) *o++ = ',';
    *o++ = '"';
    for (const char *p = l[i]; *p; p++) {
      if (*p == '"' || *p == '\\') *o++ = '\\';
      *o++ = (uint8_t)*p;
    }
    *o++ = '"';
  }
  *o++ = ']';
  *o++ = '\0';
  gg_buf_commit(b, (size_t)(o - w));
  return GG_OK;
}

size_t ggs__jlist_lines(const char *json, size_t len, char *out, int lower) {
  size_t o = 0, i = 0, items = 0;
  while (i < len) {
    while (i < len && json[i] != '"') i++;
    if (i++ >= len) break;
    if (items++) out[o++] = '\n';
    while (i < len && json[i] != '"') {
      char c = json[i++];
      if (c == '\\' && i < len) c = json[i++];
      out[o++] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    i++;
  }
  out[o] = '\0';
  return o;
}

/* Facet token: "00" + kind + the value lower-cased, [a-y0-9] kept and any other byte written
 * as 'z' + two hex digits, so every value is one token of the unicode61 tokenizer and no
 * two values collide. The "00" prefix keeps facets out of the vocabulary. */
static int facet(gg_buf *b, char kind, const char *v) {
  static const char hex[] = "0123456789abcdef";
  size_t n = (gg_buf_len(b) ? 1 : 0) + 3;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
    n += (c >= 'a' && c <= 'y') || (c >= '0' && c <= '9') ? 1 : 3;
  }
  int err = gg_buf_reserve(b, n);
  if (err) return err;
  uint8_t *w = gg_buf_tail(b, n), *o = w;
  if (gg_buf_len(b)) *o++ = ' ';
  *o++ = '0';
  *o++ = '0';
  *o++ = (uint8_t)kind;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
    if ((c >= 'a' && c <= 'y') || (c >= '0' && c <= '9')) {
      *o++ = c;
    } else {
      *o++ = 'z';
      *o++ = (uint8_t)hex[c >> 4];
      *o++ = (uint8_t)hex[c & 15];
    }
  }
  gg_buf_commit(b, (size_t)(o - w));
  return GG_OK;
}

int ggs__facet_token(char kind, const char *v, char *out, size_t cap) {
  gg_buf b;
  gg_buf_init(&b, NULL, cap);
  int err = facet(&b, kind, v);
  if (!err) err = gg_buf_append_byte(&b, '\0');
  if (!err) memcpy(out, gg_buf_ptr(&b), gg_buf_len(&b));
  gg_buf_free(&b);
  return err;
}

/* Popularity bucket tokens: "00d<k>" for every k with downloads >= 10^k (k <= 12), the same
 * with "00s" for stars. A minimum-downloads filter is then one token (the bucket at or below
 * the minimum), and the exact number is checked on the candidates. Counts are heavy-tailed,
 * so a package has about one such token on average. */
static int buckets(gg_buf *b, uint64_t downloads, uint64_t stars) {
  size_t worst = 2 * (GGS__BUCKET_MAX + 1) * 6; /* " 00d12" */
  int err = gg_buf_reserve(b, worst);
  if (err) return err;
  uint8_t *w = gg_buf_tail(b, worst), *o = w;
  for (int m = 0; m < 2; m++) {
    uint64_t v = m ? stars : downloads, p = 1;
    for (int k = 0; k <= GGS__BUCKET_MAX && v >= p; k++, p *= 10) {
      *o++ = ' ';
      *o++ = '0';
      *o++ = '0';
      *o++ = m ? 's' : 'd';
      if (k >= 10) *o++ = (uint8_t)('0' + k / 10);
      *o++ = (uint8_t)('0' + k % 10);
    }
  }
  gg_buf_commit(b, (size_t)(o - w));
  return GG_OK;
}

/* The searchable text of one package. facets ends with "\n" + the popularity buckets so a
 * popularity update can replace just those. */
typedef struct doc {
  gg_buf tags, keywords, authors, facets;
  const char *id, *name, *description;
  uint64_t downloads, stars;
} doc;

static void doc_free(doc *d) {
  gg_buf_free(&d->tags);
  gg_buf_free(&d->keywords);
  gg_buf_free(&d->authors);
  gg_buf_free(&d->facets);
}

/* The buffers of a doc are borrowed from the catalog and given back, so that a bulk import
 * does not allocate them for every package. */
static void doc_borrow(ggs_catalog *cat, doc *d) {
  d->tags = cat->docbuf[0];
  d->keywords = cat->docbuf[1];
  d->authors = cat->docbuf[2];
  d->facets = cat->docbuf[3];
  gg_buf_reset(&d->tags);
  gg_buf_reset(&d->keywords);
  gg_buf_reset(&d->authors);
  gg_buf_reset(&d->facets);
}

static void doc_return(ggs_catalog *cat, doc *d) {
  cat->docbuf[0] = d->tags;
  cat->docbuf[1] = d->keywords;
  cat->docbuf[2] = d->authors;
  cat->docbuf[3] = d->facets;
}

static int doc_build(ggs_catalog *cat, const ggs_catalog_pkg *p, doc *d) {
  doc_borrow(cat, d);
  d->id = p->id;
  d->name = p->name && strcmp(p->name, p->id) ? p->name : ""; /* "" = same as the id */
  d->description = p->description ? p->description : "";
  d->downloads = p->downloads;
  d->stars = p->stars;
  int err = jlist_write(&d->tags, p->tags, p->n_tags);
  if (!err) err = jlist_write(&d->keywords, p->keywords, p->n_keywords);
  if (!err) err = jlist_write(&d->authors, p->authors, p->n_authors);
  for (size_t i = 0; i < p->n_tags && !err; i++) err = facet(&d->facets, 't', p->tags[i]);
  for (size_t i = 0; i < p->n_authors && !err; i++) err = facet(&d->facets, 'a', p->authors[i]);
  if (!err && p->category) err = facet(&d->facets, 'c', p->category);
  if (!err && p->license) err = facet(&d->facets, 'l', p->license);
  if (!err) err = gg_buf_append_byte(&d->facets, '\n');
  if (!err) err = buckets(&d->facets, p->downloads, p->stars);
  if (!err) err = gg_buf_append_byte(&d->facets, '\0');
  return err;
}

static const char *bufstr(gg_buf *b) { return (const char *)gg_buf_ptr(b); }

/* The indexed text of a document. FTS5 only ever sees words tagged with their field: "n" +
 * word for the id and name, "d" + word for the description, "g" + word for tags and
 * keywords (words as the unicode61 tokenizer makes them), plus the facet tokens. A search
 * for a word in one field is then one term with a doclist of just the packages that have
 * it there: restricting a common word to a field by FTS5 column filters meant decoding its
 * whole doclist, which was the dominant cost of filtered searches on a million packages.
 * f = {id, name, description, tags, keywords, facets} (lists as stored JSON: the tokenizer
 * skips the punctuation). */
typedef struct ftxt_ctx {
  ggs_catalog *cat;
  gg_buf *b;
  char field;
} ftxt_ctx;

/* Appends " " + the field letter (0: none) + tok, noting the token while counting. */
static int ftxt_emit(ggs_catalog *cat, gg_buf *b, char field, const char *tok, size_t n) {
  size_t k = field ? 1 : 0;
  uint8_t *w = gg_buf_tail(b, 1 + k + n);
  if (w == NULL) return GG_ENOMEM;
  w[0] = ' ';
  if (k) w[1] = (uint8_t)field;
  memcpy(w + 1 + k, tok, n);
  if (cat->counting) {
    ggs__ftoks *t = &cat->ftoks;
    if (t->n == t->cap) {
      size_t nc = t->cap ? 2 * t->cap : 256;
      uint32_t *off = gg_realloc(cat->mem, t->off, nc * sizeof(*off));
      if (off) t->off = off;
      uint32_t *len = off ? gg_realloc(cat->mem, t->len, nc * sizeof(*len)) : NULL;
      if (len) t->len = len;
      uint64_t *hash = len ? gg_realloc(cat->mem, t->hash, nc * sizeof(*hash)) : NULL;
      if (hash == NULL) return GG_ENOMEM;
      t->hash = hash;
      t->cap = nc;
    }
    if (gg_buf_len(b) + 1 > UINT32_MAX) return GG_ELIMIT;
    t->off[t->n] = (uint32_t)gg_buf_len(b) + 1;
    t->len[t->n++] = (uint32_t)(k + n);
  }
  gg_buf_commit(b, 1 + k + n);
  return GG_OK;
}

static int ftxt_tok(void *ud, const char *tok, size_t n, size_t start, size_t end) {
  (void)start;
  (void)end;
  ftxt_ctx *c = ud;
  return ftxt_emit(c->cat, c->b, c->field, tok, n);
}

/* While a deferred commit rebuilds the index: counts the document's tokens into the
 * vocabulary and drops its repeated tokens from the text (with detail=none a repeat adds
 * nothing to the index, and FTS5 spends its time per token). The vocabulary outgrows the
 * CPU caches, so the slots of all the document's tokens are requested before the first is
 * looked at: their memory latencies overlap instead of adding up. */
static int ftxt_count(ggs_catalog *cat, gg_buf *b) {
  ggs__ftoks *t = &cat->ftoks;
  ggs__vocab *v = cat->counting;
  int err = ggs__vocab_doc(v);
  if (!err) err = ggs__vocab_reserve(v, t->n);
  if (err) return err;
  char *text = (char *)gg_buf_ptr(b);
  for (size_t i = 0; i < t->n; i++) {
    if (t->len[i] > GGS__VOCAB_TOKEN_MAX) continue;
    t->hash[i] = ggs__vocab_hash(text + t->off[i], t->len[i]);
    ggs__vocab_prefetch(v, t->hash[i]);
  }
  size_t w = 0;
  for (size_t i = 0; i < t->n; i++) {
    size_t o = t->off[i], n = t->len[i];
    if (n <= GGS__VOCAB_TOKEN_MAX) {
      int r = ggs__vocab_add(v, text + o, n, t->hash[i]);
      if (r < 0) return r;
      if (r == 0) continue; /* the document has it already */
    }
    memmove(text + w, text + o - 1, n + 1); /* with its space */
    w += n + 1;
  }
  gg_buf_truncate(b, w);
  return GG_OK;
}

int ggs__fts_text(ggs_catalog *cat, const char *const f[6], gg_buf *out) {
  static const char field[5] = {'n', 'n', 'd', 'g', 'g'};
  gg_buf_reset(out);
  cat->ftoks.n = 0;
  int err = GG_OK;
  for (int i = 0; i < 5 && !err; i++) {
    ftxt_ctx c = {cat, out, field[i]};
    err = ggs__tokenize(cat, f[i], strlen(f[i]), 0, ftxt_tok, &c);
  }
  /* facet tokens ([0-9a-z] only), separated by spaces and one newline */
  for (const char *p = f[5]; *p && !err;) {
    while (*p == ' ' || *p == '\n') p++;
    const char *t = p;
    while (*p && *p != ' ' && *p != '\n') p++;
    if (p > t) err = ftxt_emit(cat, out, 0, t, (size_t)(p - t));
  }
  if (!err && cat->counting) err = ftxt_count(cat, out);
  return err ? err : gg_buf_append_byte(out, '\0');
}

static int fts_op(ggs_catalog *cat, int which, int64_t rank, const char *const f[6]) {
  int err = ggs__fts_text(cat, f, &cat->ftsbuf);
  if (err) return err;
  sqlite3_stmt *s = ggs__st(cat, which);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, rank);
  sqlite3_bind_text(s, 2, (const char *)gg_buf_ptr(&cat->ftsbuf), -1, SQLITE_STATIC);
  return run(cat, s);
}

/* SQL ggs_fts_text(id, name, description, tags, keywords, facets): the indexed text of a
 * document, for the fts_src view through which FTS5 rebuilds its index. */
static void fts_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  ggs_catalog *cat = sqlite3_user_data(ctx);
  const char *f[6];
  for (int i = 0; i < 6 && i < argc; i++) {
    f[i] = (const char *)sqlite3_value_text(argv[i]);
    if (f[i] == NULL) f[i] = "";
  }
  int err = ggs__fts_text(cat, f, &cat->ftsbuf);
  if (err == GG_ENOMEM)
    sqlite3_result_error_nomem(ctx);
  else if (err)
    sqlite3_result_error(ctx, "ggs_fts_text failed", -1);
  else
    sqlite3_result_text(ctx, (const char *)gg_buf_ptr(&cat->ftsbuf),
                        (int)gg_buf_len(&cat->ftsbuf) - 1, SQLITE_TRANSIENT);
}

/* An FTS write, unless a deferred bulk transaction rebuilds the index at commit. */
static int fts_write(ggs_catalog *cat, int del, int64_t rank, const char *const f[6]) {
  if (cat->deferred) return GG_OK;
  return fts_op(cat, del ? ST_FTS_DELETE : ST_FTS_INSERT, rank, f);
}

/* ---- transactions ------------------------------------------------------------------------ */

/* Outside a bulk transaction every write is its own transaction. Inside one there is no
 * savepoint per put (a savepoint journals every page a put touches, which made bulk imports
 * I/O-bound): the errors a caller expects (GG_EINVAL, GG_EEXIST, GG_ENOTFOUND) are all
 * detected before the put writes anything, and any other failure poisons the transaction,
 * so that ggs_catalog_commit() rolls everything back. */
static int op_begin(ggs_catalog *cat) {
  if (cat->in_bulk) return cat->bulk_failed;
  return run_id(cat, ST_BEGIN);
}

/* op_begin for an operation that reads or changes rows a staged batch may still hold in
 * memory: they are written first. */
static int op_begin_synced(ggs_catalog *cat) {
  int err = cat->stage ? ggs__stage_sync(cat) : GG_OK;
  return err ? err : op_begin(cat);
}

static int expected_failure(int err) {
  return err == GG_EINVAL || err == GG_EEXIST || err == GG_ENOTFOUND;
}

static int op_end(ggs_catalog *cat, int err) {
  if (cat->in_bulk) {
    if (err && !expected_failure(err) && !cat->bulk_failed) cat->bulk_failed = err;
    return err;
  }
  if (err) {
    run_id(cat, ST_ROLLBACK);
    ggs__termset_free(&cat->terms);
    ggs__termset_init(&cat->terms, cat->mem);
    return err;
  }
  err = ggs__terms_flush(cat);
  if (!err) err = ggs__terms_keys(cat);
  if (!err) err = run_id(cat, ST_COMMIT);
  if (err) run_id(cat, ST_ROLLBACK);
  return err;
}

/* Looks up a package's pid and rank (rank may be NULL). GG_ENOTFOUND. */
static int find_pkg_rank(ggs_catalog *cat, const char *id, int64_t *pid, int64_t *rank) {
  sqlite3_stmt *s = ggs__st(cat, ST_PKG_FIND);
  if (s == NULL) return GG_ESTORAGE;
  bind_text(s, 1, id);
  int rc = sqlite3_step(s);
  int err = GG_OK;
  if (rc == SQLITE_ROW) {
    *pid = sqlite3_column_int64(s, 0);
    if (rank) *rank = sqlite3_column_int64(s, 1);
  } else
    err = rc == SQLITE_DONE ? GG_ENOTFOUND : ggs__sqlerr(cat, rc);
  sqlite3_reset(s);
  return err;
}

static int find_pkg(ggs_catalog *cat, const char *id, int64_t *pid) {
  return find_pkg_rank(cat, id, pid, NULL);
}

/* Popularity order key comparison: > 0 when (d1, s1, id1) ranks before (d2, s2, id2). */
static int pop_before(uint64_t d1, uint64_t s1, const char *id1, uint64_t d2, uint64_t s2,
                      const char *id2) {
  double p1 = ggs__popularity(d1, s1), p2 = ggs__popularity(d2, s2);
  if (p1 != p2) return p1 > p2;
  if (d1 != d2) return d1 > d2;
  if (s1 != s2) return s1 > s2;
  return strcmp(id1, id2) < 0;
}

/* The old document of pid, copied (strings in one allocation). */
typedef struct old_doc {
  int64_t rank;
  char *text[7]; /* id name description tags keywords authors facets */
  uint64_t downloads, stars;
  char *mem;
} old_doc;

static int read_doc(ggs_catalog *cat, int64_t rank, old_doc *o) {
  sqlite3_stmt *s = ggs__st(cat, ST_DOC_READ);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, rank);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    int err = rc == SQLITE_DONE ? GG_EINTERNAL : ggs__sqlerr(cat, rc);
    sqlite3_reset(s);
    return err;
  }
  size_t total = 0;
  for (int i = 0; i < 7; i++) total += (size_t)sqlite3_column_bytes(s, i + 1) + 1;
  o->mem = gg_malloc(cat->mem, total);
  if (o->mem == NULL) {
    sqlite3_reset(s);
    return GG_ENOMEM;
  }
  char *p = o->mem;
  for (int i = 0; i < 7; i++) {
    const unsigned char *t = sqlite3_column_text(s, i + 1);
    size_t n = (size_t)sqlite3_column_bytes(s, i + 1);
    if (n) memcpy(p, t, n);
    p[n] = '\0';
    o->text[i] = p;
    p += n + 1;
  }
  o->rank = sqlite3_column_int64(s, 0);
  o->downloads = (uint64_t)sqlite3_column_int64(s, 8);
  o->stars = (uint64_t)sqlite3_column_int64(s, 9);
  sqlite3_reset(s);
  return GG_OK;
}

/* Removes a document's FTS row and vocabulary counts (a deferred bulk transaction rebuilds
 * both at commit instead). */
static int unindex(ggs_catalog *cat, const old_doc *o) {
  const char *f[6] = {o->text[0], o->text[1], o->text[2], o->text[3], o->text[4], o->text[6]};
  int err = fts_write(cat, 1, o->rank, f);
  if (!err && !cat->deferred) err = ggs__terms_doc(cat, f, 6, -1);
  return err;
}

static int index_doc(ggs_catalog *cat, int64_t rank, const char *const f[6]) {
  int err = fts_write(cat, 0, rank, f);
  if (!err && !cat->deferred) err = ggs__terms_doc(cat, f, 6, +1);
  return err;
}

static int write_doc(ggs_catalog *cat, int which, int64_t rank, int64_t pid, doc *d) {
  sqlite3_stmt *s = ggs__st(cat, which);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, rank);
  sqlite3_bind_int64(s, 2, pid);
  bind_text(s, 3, d->id);
  bind_text(s, 4, d->name);
  bind_text(s, 5, d->description);
  bind_text(s, 6, bufstr(&d->tags));
  bind_text(s, 7, bufstr(&d->keywords));
  bind_text(s, 8, bufstr(&d->authors));
  bind_text(s, 9, bufstr(&d->facets));
  sqlite3_bind_int64(s, 10, clamp64(d->downloads));
  sqlite3_bind_int64(s, 11, clamp64(d->stars));
  return run(cat, s);
}

/* In a bulk transaction put_version usually follows put_package for the same id: remember
 * the package so that it needs no lookup. Always returns GG_OK. */
static int cache_put(ggs_catalog *cat, const char *id, int64_t pid) {
  cat->cache_pid = 0;
  if (cat->in_bulk) {
    cat->cache_pid = pid;
    cat->cache_new = pid > cat->bulk_max_pid;
    memcpy(cat->cache_id, id, strlen(id) + 1); /* ids are at most GGS_CATALOG_MAX_ID bytes */
  }
  return GG_OK;
}

/* Inserts with rank (GG_EEXIST when the id exists: nothing written) or updates (pid) a
 * package row. */
static int write_pkg(ggs_catalog *cat, int which, const ggs_catalog_pkg *p, int64_t pid,
                     int64_t rank) {
  sqlite3_stmt *s = ggs__st(cat, which);
  if (s == NULL) return GG_ESTORAGE;
  bind_text(s, 1, p->id);
  bind_text(s, 2, p->name && strcmp(p->name, p->id) ? p->name : NULL);
  bind_text(s, 3, p->n_authors ? p->authors[0] : NULL);
  bind_text(s, 4, p->category);
  bind_text(s, 5, p->license);
  bind_text(s, 6, p->homepage);
  bind_text(s, 7, p->repository);
  bind_text(s, 8, p->documentation);
  sqlite3_bind_int(s, 9, p->production_ready ? 1 : 0);
  sqlite3_bind_int64(s, 10, which == ST_PKG_UPDATE ? pid : rank);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_CONSTRAINT_UNIQUE) return GG_EEXIST;
  return rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(cat, rc);
}

static int update_package(ggs_catalog *cat, const ggs_catalog_pkg *p, doc *d, int64_t *pidp) {
  int64_t rank = 0;
  int err = find_pkg_rank(cat, p->id, pidp, &rank);
  if (err) return err == GG_ENOTFOUND ? GG_EINTERNAL : err;
  int64_t pid = *pidp;
  const char *f[6] = {d->id, d->name, d->description, bufstr(&d->tags), bufstr(&d->keywords),
                      bufstr(&d->facets)};
  old_doc o = {0};
  err = read_doc(cat, rank, &o);
  if (!err) err = unindex(cat, &o);
  if (!err) err = write_pkg(cat, ST_PKG_UPDATE, p, pid, 0);
  if (!err) err = write_doc(cat, ST_DOC_UPDATE, o.rank, pid, d);
  if (!err) err = index_doc(cat, o.rank, f);
  if (!err && cat->in_bulk && (o.downloads != d->downloads || o.stars != d->stars))
    cat->need_rerank = 1;
  gg_free(cat->mem, o.mem);
  return err;
}

/* A package appended at the end of the ranks in a bulk transaction: notes whether it broke
 * popularity order (then the commit re-ranks). */
static void bulk_appended(ggs_catalog *cat, const doc *d, int64_t rank) {
  if (cat->have_prev && pop_before(d->downloads, d->stars, d->id, cat->prev_downloads,
                                   cat->prev_stars, cat->prev_id))
    cat->need_rerank = 1;
  cat->bulk_last_rank = rank;
  cat->have_prev = 1;
  cat->prev_downloads = d->downloads;
  cat->prev_stars = d->stars;
  size_t n = strlen(d->id);
  memcpy(cat->prev_id, d->id, n + 1); /* ids are at most GGS_CATALOG_MAX_ID bytes */
}

/* A package of a staged batch: staged as a new package, or its staged rows replaced.
 * GG_ENOTFOUND when the batch put the package before and it was flushed (the SQL path). */
static int stage_package(ggs_catalog *cat, const ggs_catalog_pkg *p, doc *d) {
  int err = ggs__stage_full(cat) ? ggs__stage_flush(cat) : GG_OK;
  if (err) return err;
  int64_t pid = cat->stage_last_pid + 1, rank = cat->bulk_last_rank + 1, got = 0;
  int changed = 0;
  ggs__stage_doc sd = {d->description, bufstr(&d->tags), bufstr(&d->keywords),
                       bufstr(&d->authors), bufstr(&d->facets), d->downloads, d->stars};
  err = ggs__stage_put_package(cat, p, &sd, pid, rank, &got, &changed);
  if (err == GG_EEXIST) return GG_ENOTFOUND;
  if (err) return err;
  if (got == pid) { /* a new package */
    cat->stage_last_pid = pid;
    bulk_appended(cat, d, rank);
  } else if (changed) {
    cat->need_rerank = 1; /* as update_package: the rank stays, popularity moved */
  }
  return cache_put(cat, p->id, got);
}

/* Inserts first: in an import nearly every package is new, and the unique index finds the
 * others at no extra cost. */
static int put_package(ggs_catalog *cat, const ggs_catalog_pkg *p, doc *d) {
  if (cat->stage) {
    int err = stage_package(cat, p, d);
    if (err != GG_ENOTFOUND) return err;
  }
  int64_t pid = 0, rank = 0;
  if (cat->in_bulk) {
    rank = cat->bulk_last_rank + 1;
  } else {
    sqlite3_stmt *s = ggs__st(cat, ST_DOC_MAXRANK);
    if (s == NULL) return GG_ESTORAGE;
    if (sqlite3_step(s) == SQLITE_ROW) rank = sqlite3_column_int64(s, 0) + 1;
    sqlite3_reset(s);
    if (rank == 0) return ggs__sqlerr(cat, sqlite3_errcode(cat->db));
  }
  int err = write_pkg(cat, ST_PKG_INSERT, p, 0, rank);
  if (err == GG_EEXIST) {
    err = update_package(cat, p, d, &pid);
    return err ? err : cache_put(cat, p->id, pid);
  }
  if (err) return err;
  pid = sqlite3_last_insert_rowid(cat->db);
  const char *f[6] = {d->id, d->name, d->description, bufstr(&d->tags), bufstr(&d->keywords),
                      bufstr(&d->facets)};
  err = write_doc(cat, ST_DOC_INSERT, rank, pid, d);
  if (!err) err = index_doc(cat, rank, f);
  if (!err && cat->in_bulk) bulk_appended(cat, d, rank);
  return err ? err : cache_put(cat, p->id, pid);
}

int ggs_catalog_put_package(ggs_catalog *cat, const ggs_catalog_pkg *p) {
  if (cat == NULL || p == NULL || !pkg_ok(p)) return GG_EINVAL;
  doc d;
  int err = doc_build(cat, p, &d);
  if (!err) err = op_begin(cat);
  if (!err) err = op_end(cat, put_package(cat, p, &d));
  doc_return(cat, &d);
  return err;
}

/* ---- versions ---------------------------------------------------------------------------- */

static int version_ok(const ggs_catalog_version *v) {
  if (!id_ok(v->version) || !opt_ok(v->cid, GGS_CATALOG_MAX_ID, 0) ||
      !opt_ok(v->sha256, GGS_CATALOG_MAX_ID, 0) || !opt_ok(v->source, GGS_CATALOG_MAX_TEXT, 0) ||
      v->publisher_len > GGS_CATALOG_MAX_ID || v->record_len > GGS_CATALOG_MAX_RECORD ||
      v->n_deps > GGS_CATALOG_MAX_LIST || (v->n_deps && v->deps == NULL))
    return 0;
  for (size_t i = 0; i < v->n_deps; i++)
    if (!id_ok(v->deps[i].id) || !opt_ok(v->deps[i].range, GGS_CATALOG_MAX_ID, 0)) return 0;
  return 1;
}

/* Two digests conflict only when both are known and differ. */
static int conflict(const unsigned char *a, const char *b) {
  return a != NULL && b != NULL && strcmp((const char *)a, b) != 0;
}

/* Inserts a version row and its dependencies. GG_EEXIST (nothing written) when it exists. */
static int insert_version(ggs_catalog *cat, int64_t pid, const ggs_catalog_version *v) {
  sqlite3_stmt *s = ggs__st(cat, ST_VER_INSERT);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, pid);
  bind_text(s, 2, v->version);
  bind_text(s, 3, v->cid);
  sqlite3_bind_int64(s, 4, clamp64(v->size));
  sqlite3_bind_int64(s, 5, v->published);
  bind_blob(s, 6, v->publisher, v->publisher_len);
  bind_blob(s, 7, v->record, v->record_len);
  bind_text(s, 8, v->sha256);
  bind_text(s, 9, v->source);
  sqlite3_bind_int(s, 10, v->yanked ? 1 : 0);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) return GG_EEXIST;
  int err = rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(cat, rc);
  for (size_t i = 0; i < v->n_deps && !err; i++) {
    s = ggs__st(cat, ST_DEP_INSERT);
    if (s == NULL) return GG_ESTORAGE;
    sqlite3_bind_int64(s, 1, pid);
    bind_text(s, 2, v->version);
    bind_text(s, 3, v->deps[i].id);
    bind_text(s, 4, v->deps[i].range ? v->deps[i].range : "*");
    err = run(cat, s);
  }
  return err;
}

static int put_version(ggs_catalog *cat, const char *id, const ggs_catalog_version *v) {
  if (cat->stage) {
    int err = ggs__stage_put_version(cat, id, v);
    if (err != GG_ENOTFOUND) return err; /* else not staged: the tables have it, or nobody */
  }
  int64_t pid;
  int err = GG_OK, cached = cat->cache_pid && !strcasecmp(cat->cache_id, id);
  if (cached)
    pid = cat->cache_pid;
  else
    err = find_pkg(cat, id, &pid);
  if (err) return err;
  /* a package added by this bulk transaction has only the versions put since: try the
   * insert first, and look only when the version turns out to exist */
  if (cached && cat->cache_new) {
    err = insert_version(cat, pid, v);
    if (err != GG_EEXIST) return err;
  }
  sqlite3_stmt *s = ggs__st(cat, ST_VER_FIND);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, pid);
  bind_text(s, 2, v->version);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    /* the same version again: identical content is a no-op, a version known only by name
     * (an index without digests) gets the digests now learned, anything else conflicts */
    const unsigned char *cid = sqlite3_column_text(s, 0), *sha = sqlite3_column_text(s, 1);
    int bad = conflict(cid, v->cid) || conflict(sha, v->sha256);
    int fill = (!cid && v->cid) || (!sha && v->sha256);
    sqlite3_reset(s);
    if (bad) {
      snprintf(cat->errmsg, sizeof(cat->errmsg), "%s@%s exists with other content", id,
               v->version);
      return GG_EEXIST;
    }
    if (!fill) return GG_OK;
    s = ggs__st(cat, ST_VER_FILL);
    if (s == NULL) return GG_ESTORAGE;
    sqlite3_bind_int64(s, 1, pid);
    bind_text(s, 2, v->version);
    bind_text(s, 3, v->cid);
    bind_text(s, 4, v->sha256);
    bind_text(s, 5, v->source);
    return run(cat, s);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return ggs__sqlerr(cat, rc);
  return insert_version(cat, pid, v);
}

int ggs_catalog_put_version(ggs_catalog *cat, const char *id, const ggs_catalog_version *v) {
  if (cat == NULL || id == NULL || v == NULL || !version_ok(v)) return GG_EINVAL;
  int err = op_begin(cat);
  return err ? err : op_end(cat, put_version(cat, id, v));
}

static int yank(ggs_catalog *cat, const char *id, const char *version, int yanked) {
  int64_t pid;
  int err = find_pkg(cat, id, &pid);
  if (err) return err;
  sqlite3_stmt *s = ggs__st(cat, ST_VER_YANK);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, pid);
  bind_text(s, 2, version);
  sqlite3_bind_int(s, 3, yanked ? 1 : 0);
  err = run(cat, s);
  if (!err && sqlite3_changes(cat->db) == 0) err = GG_ENOTFOUND;
  return err;
}

int ggs_catalog_yank(ggs_catalog *cat, const char *id, const char *version, int yanked) {
  if (cat == NULL || id == NULL || version == NULL) return GG_EINVAL;
  int err = op_begin_synced(cat);
  return err ? err : op_end(cat, yank(cat, id, version, yanked));
}

/* ---- popularity and ownership ----------------------------------------------------------------- */

static int set_popularity(ggs_catalog *cat, const char *id, uint64_t downloads, uint64_t stars) {
  int64_t pid, rank;
  int err = find_pkg_rank(cat, id, &pid, &rank);
  if (err) return err;
  old_doc o = {0};
  err = read_doc(cat, rank, &o);
  if (err) return err;
  if (o.downloads == downloads && o.stars == stars) goto out;
  err = unindex(cat, &o);
  doc d = {0};
  gg_buf_init(&d.tags, cat->mem, SIZE_MAX);
  gg_buf_init(&d.keywords, cat->mem, SIZE_MAX);
  gg_buf_init(&d.authors, cat->mem, SIZE_MAX);
  gg_buf_init(&d.facets, cat->mem, SIZE_MAX);
  d.id = o.text[0];
  d.name = o.text[1];
  d.description = o.text[2];
  d.downloads = downloads;
  d.stars = stars;
  char *nl = strchr(o.text[6], '\n');
  if (nl) *nl = '\0';
  /* the lists are stored JSON text already: copy them as they are */
  if (!err) err = gg_buf_append_str(&d.tags, o.text[3]);
  if (!err) err = gg_buf_append_byte(&d.tags, '\0');
  if (!err) err = gg_buf_append_str(&d.keywords, o.text[4]);
  if (!err) err = gg_buf_append_byte(&d.keywords, '\0');
  if (!err) err = gg_buf_append_str(&d.authors, o.text[5]);
  if (!err) err = gg_buf_append_byte(&d.authors, '\0');
  if (!err) err = gg_buf_append_str(&d.facets, o.text[6]);
  if (!err) err = gg_buf_append_byte(&d.facets, '\n');
  if (!err) err = buckets(&d.facets, downloads, stars);
  if (!err) err = gg_buf_append_byte(&d.facets, '\0');
  if (!err) err = write_doc(cat, ST_DOC_UPDATE, o.rank, pid, &d);
  const char *f[6] = {d.id, d.name, d.description, bufstr(&d.tags), bufstr(&d.keywords),
                      bufstr(&d.facets)};
  if (!err) err = index_doc(cat, o.rank, f);
  if (!err && cat->in_bulk) cat->need_rerank = 1;
  doc_free(&d);
out:
  gg_free(cat->mem, o.mem);
  return err;
}

int ggs_catalog_set_popularity(ggs_catalog *cat, const char *id, uint64_t downloads,
                               uint64_t stars) {
  if (cat == NULL || id == NULL) return GG_EINVAL;
  int err = op_begin_synced(cat);
  return err ? err : op_end(cat, set_popularity(cat, id, downloads, stars));
}

static int owner_get(ggs_catalog *cat, const char *id, uint8_t *key, size_t cap, size_t *len) {
  sqlite3_stmt *s = ggs__st(cat, ST_OWNER_GET);
  if (s == NULL) return GG_ESTORAGE;
  bind_text(s, 1, id);
  int rc = sqlite3_step(s), err = GG_OK;
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    *len = n;
    if (n > cap)
      err = GG_EINVAL;
    else if (n)
      memcpy(key, sqlite3_column_blob(s, 0), n);
  } else {
    err = rc == SQLITE_DONE ? GG_ENOTFOUND : ggs__sqlerr(cat, rc);
  }
  sqlite3_reset(s);
  return err;
}

static int claim(ggs_catalog *cat, const char *id, const uint8_t *key, size_t keylen,
                 int64_t now) {
  /* write first: the insert takes the write lock, so the read below sees the final owner */
  sqlite3_stmt *s = ggs__st(cat, ST_OWNER_CLAIM);
  if (s == NULL) return GG_ESTORAGE;
  bind_text(s, 1, id);
  sqlite3_bind_blob(s, 2, key, (int)keylen, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, now);
  int err = run(cat, s);
  if (err) return err;
  uint8_t owner[GGS_CATALOG_MAX_ID];
  size_t olen = 0;
  err = owner_get(cat, id, owner, sizeof(owner), &olen);
  if (err) return err;
  if (olen != keylen || memcmp(owner, key, keylen) != 0) {
    snprintf(cat->errmsg, sizeof(cat->errmsg),
             "package id %s is owned by another publisher key", id);
    return GG_EOWNER;
  }
  return GG_OK;
}

int ggs_catalog_claim_owner(ggs_catalog *cat, const char *id, const uint8_t *key, size_t keylen,
                            int64_t now) {
  if (cat == NULL || !id_ok(id) || key == NULL || keylen == 0 || keylen > GGS_CATALOG_MAX_ID)
    return GG_EINVAL;
  int err = op_begin(cat);
  if (err) return err;
  err = claim(cat, id, key, keylen, now);
  /* a refused claim changed nothing: end it like a success so a bulk batch goes on */
  int e2 = op_end(cat, err == GG_EOWNER ? GG_OK : err);
  return e2 ? e2 : err;
}

int ggs_catalog_owner(ggs_catalog *cat, const char *id, uint8_t *key, size_t cap,
                      size_t *keylen) {
  if (cat == NULL || id == NULL || keylen == NULL || (cap && key == NULL)) return GG_EINVAL;
  return owner_get(cat, id, key, cap, keylen);
}

/* ---- bulk transactions and re-ranking ------------------------------------------------------ */

static int load_last(ggs_catalog *cat) {
  sqlite3_stmt *s = ggs__st(cat, ST_DOC_LAST);
  if (s == NULL) return GG_ESTORAGE;
  int rc = sqlite3_step(s);
  cat->have_prev = 0;
  cat->bulk_last_rank = 0;
  if (rc == SQLITE_ROW) {
    cat->bulk_last_rank = sqlite3_column_int64(s, 0);
    snprintf(cat->prev_id, sizeof(cat->prev_id), "%s", (const char *)sqlite3_column_text(s, 1));
    cat->prev_downloads = (uint64_t)sqlite3_column_int64(s, 2);
    cat->prev_stars = (uint64_t)sqlite3_column_int64(s, 3);
    cat->have_prev = 1;
  }
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(cat, rc);
}

int ggs_catalog_begin(ggs_catalog *cat, size_t expected) {
  if (cat == NULL) return GG_EINVAL;
  if (cat->in_bulk) return GG_ESTATE;
  int err = run_id(cat, ST_BEGIN);
  if (err) return err;
  err = load_last(cat);
  if (err) {
    run_id(cat, ST_ROLLBACK);
    return err;
  }
  cat->in_bulk = 1;
  cat->bulk_failed = GG_OK;
  cat->need_rerank = 0;
  cat->bulk_had_docs = cat->bulk_last_rank > 0;
  /* A large batch rebuilds the full-text index at commit (rebuild()): worth it when the batch
   * is at least a tenth of what is already there. */
  cat->deferred = expected >= 256 && (uint64_t)expected * 10 >= (uint64_t)cat->bulk_last_rank;
  cat->cache_pid = 0;
  sqlite3_stmt *mx;
  int rc = sqlite3_prepare_v2(cat->db, "SELECT coalesce(max(pid), 0) FROM packages", -1, &mx, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(mx)) == SQLITE_ROW) {
    cat->bulk_max_pid = sqlite3_column_int64(mx, 0);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) err = ggs__sqlerr(cat, rc);
  sqlite3_finalize(mx);
  /* into an empty catalog, the name index is built once at commit, by sorting, and the
   * rows are staged in memory and written table by table (catalog_stage.c) */
  cat->name_index_dropped = cat->deferred && !cat->bulk_had_docs;
  if (!err && cat->name_index_dropped)
    err = ggs__exec(cat, "DROP INDEX IF EXISTS packages_name");
  if (!err && cat->deferred && !cat->bulk_had_docs) {
    err = ggs__stage_begin(cat);
    cat->stage_last_pid = cat->bulk_max_pid;
  }
  if (err) {
    run_id(cat, ST_ROLLBACK);
    cat->in_bulk = 0;
    cat->deferred = 0;
  }
  return err;
}

/* Renumbers search_doc in popularity order (a copy in order, then a swap). */
static int rerank(ggs_catalog *cat) {
  /* the cached statements on search_doc must not hold the old table */
  for (int i = 0; i < ST__COUNT; i++)
    if (cat->st[i]) sqlite3_reset(cat->st[i]);
  return ggs__exec(cat,
                   "DROP TABLE IF EXISTS search_doc_new;"
                   "CREATE TABLE search_doc_new("
                   "  rank INTEGER PRIMARY KEY,"
                   "  pid INTEGER NOT NULL,"
                   "  id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,"
                   "  tags TEXT NOT NULL, keywords TEXT NOT NULL, authors TEXT NOT NULL,"
                   "  facets TEXT NOT NULL, downloads INTEGER NOT NULL, stars INTEGER NOT NULL);"
                   "INSERT INTO search_doc_new(pid, " DOC_COLS ") SELECT pid, " DOC_COLS
                   " FROM search_doc ORDER BY min(10.0, downloads / 1000.0) + "
                   "min(5.0, stars / 10.0) DESC, downloads DESC, stars DESC, id;"
                   "DROP TABLE search_doc;"
                   /* the views name search_doc: the modern rename would check them while the
                    * table is missing and fail; the legacy one just renames */
                   "PRAGMA legacy_alter_table=ON;"
                   "ALTER TABLE search_doc_new RENAME TO search_doc;"
                   "PRAGMA legacy_alter_table=OFF;"
                   "UPDATE packages SET rank = n.rank FROM search_doc AS n "
                   "WHERE n.pid = packages.pid;");
}

/* The deferred work of a bulk commit or of optimize: popularity order, FTS, vocabulary.
 * SQLite 3.40's FTS5 flushes its in-memory index at every statement boundary inside a
 * transaction (its savepoint method), so one INSERT per package wrote one tiny segment per
 * package; a large batch instead rebuilds the index in one statement, reading the view in
 * rank order, which is also the order FTS5 appends fastest. The view calls fts_text() for
 * every document, which counts the vocabulary on the way (cat->counting). */
static int rebuild(ggs_catalog *cat, int do_rerank, int had_docs) {
  int err = do_rerank ? rerank(cat) : GG_OK;
  ggs__vocab v;
  ggs__vocab_init(&v, cat->mem);
  cat->counting = &v;
  if (!err) err = ggs__exec(cat, "INSERT INTO fts(fts) VALUES('rebuild')");
  cat->counting = NULL;
  if (!err) err = ggs__terms_from_vocab(cat, &v, had_docs);
  ggs__vocab_free(&v);
  ggs__termset_free(&cat->terms);
  return err;
}

/* Writes a whole staged batch, indexes its documents and counts the vocabulary on the way
 * (the catalog was empty). */
static int index_staged(ggs_catalog *cat) {
  ggs__vocab v;
  ggs__vocab_init(&v, cat->mem);
  cat->counting = &v;
  int err = ggs__stage_flush_indexed(cat);
  cat->counting = NULL;
  if (!err) err = ggs__terms_from_vocab(cat, &v, 0);
  ggs__vocab_free(&v);
  return err;
}

int ggs_catalog_commit(ggs_catalog *cat) {
  if (cat == NULL) return GG_EINVAL;
  if (!cat->in_bulk) return GG_ESTATE;
  int err = cat->bulk_failed;
  /* a batch staged whole, in popularity order, is indexed as its rows are written: the
   * index was empty, so there is nothing to rebuild (and no table to read back) */
  int direct = !err && cat->stage && ggs__stage_whole(cat) && !cat->need_rerank;
  if (!err) err = direct ? index_staged(cat) : ggs__stage_flush(cat);
  ggs__stage_end(cat);
  if (!err && cat->name_index_dropped)
    err = ggs__exec(cat, "CREATE INDEX packages_name ON packages(name COLLATE NOCASE)");
  if (!err && !direct)
    err = cat->deferred ? rebuild(cat, cat->need_rerank, cat->bulk_had_docs)
                        : ggs__terms_flush(cat);
  if (!err) err = ggs__terms_keys(cat);
  if (!err) err = run_id(cat, ST_COMMIT);
  cat->in_bulk = 0;
  cat->deferred = 0;
  cat->cache_pid = 0;
  if (err) {
    run_id(cat, ST_ROLLBACK);
    ggs__termset_free(&cat->terms);
    ggs__termset_init(&cat->terms, cat->mem);
  }
  return err;
}

void ggs_catalog_rollback(ggs_catalog *cat) {
  if (cat == NULL || !cat->in_bulk) return;
  ggs__stage_end(cat);
  run_id(cat, ST_ROLLBACK);
  cat->in_bulk = 0;
  cat->deferred = 0;
  cat->cache_pid = 0;
  ggs__termset_free(&cat->terms);
  ggs__termset_init(&cat->terms, cat->mem);
}

int ggs_catalog_optimize(ggs_catalog *cat) {
  if (cat == NULL) return GG_EINVAL;
  if (cat->in_bulk) return GG_ESTATE;
  int err = run_id(cat, ST_BEGIN);
  if (err) return err;
  err = rebuild(cat, 1, 1);
  if (!err) err = ggs__terms_keys(cat);
  if (!err) err = ggs__exec(cat, "INSERT INTO fts(fts) VALUES('optimize')");
  if (!err) err = run_id(cat, ST_COMMIT);
  if (err) run_id(cat, ST_ROLLBACK);
  return err;
}

int ggs_catalog_check(ggs_catalog *cat) {
  if (cat == NULL) return GG_EINVAL;
  if (cat->stage && ggs__stage_sync(cat) != GG_OK) return cat->bulk_failed;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(cat->db, "PRAGMA integrity_check", -1, &s, NULL);
  if (rc != SQLITE_OK) return ggs__sqlerr(cat, rc);
  int err = GG_OK;
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    err = ggs__sqlerr(cat, rc);
  } else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
    snprintf(cat->errmsg, sizeof(cat->errmsg), "%s", (const char *)sqlite3_column_text(s, 0));
    err = GG_ESTORAGE;
  }
  sqlite3_finalize(s);
  /* the FTS5 check is an INSERT command, so a read-only connection cannot run it */
  if (!err && !cat->deferred && sqlite3_db_readonly(cat->db, "main") == 0)
    err = ggs__exec(cat, "INSERT INTO fts(fts) VALUES('integrity-check')");
  return err;
}

/* ---- reads --------------------------------------------------------------------------------- */

static int count(ggs_catalog *cat, int which, uint64_t *out) {
  sqlite3_stmt *s = ggs__st(cat, which);
  if (s == NULL) return GG_ESTORAGE;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? GG_OK : ggs__sqlerr(cat, rc);
}

int ggs_catalog_stats_get(ggs_catalog *cat, ggs_catalog_stats *st) {
  if (cat == NULL || st == NULL) return GG_EINVAL;
  int err = cat->stage ? ggs__stage_sync(cat) : GG_OK;
  if (!err) err = count(cat, ST_COUNT_PKGS, &st->packages);
  if (!err) err = count(cat, ST_COUNT_VERS, &st->versions);
  if (!err) err = count(cat, ST_COUNT_TERMS, &st->terms);
  return err;
}

/* Splits a stored JSON list into an arena array. */
static int split_list(ggs__arena *a, const char *json, const char ***out, size_t *n) {
  size_t jn = json ? strlen(json) : 0;
  char *list = ggs__arena_alloc(a, jn + 1);
  if (list == NULL) return GG_ENOMEM;
  ggs__jlist_lines(json ? json : "", jn, list, 0);
  size_t cnt = 0;
  for (const char *p = list; p && *p;) {
    cnt++;
    p = strchr(p, '\n');
    if (p) p++;
  }
  *n = cnt;
  *out = ggs__arena_alloc(a, (cnt ? cnt : 1) * sizeof(char *));
  if (*out == NULL) return GG_ENOMEM;
  size_t i = 0;
  for (const char *p = list; p && *p && i < cnt; i++) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (((*out)[i] = ggs__arena_strndup(a, p, len)) == NULL) return GG_ENOMEM;
    p = e ? e + 1 : NULL;
  }
  return GG_OK;
}

static const char *col_dup(ggs__arena *a, sqlite3_stmt *s, int i, int *err) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return NULL;
  const char *t = (const char *)sqlite3_column_text(s, i);
  char *r = ggs__arena_strndup(a, t ? t : "", (size_t)sqlite3_column_bytes(s, i));
  if (r == NULL) *err = GG_ENOMEM;
  return r;
}

static const uint8_t *blob_dup(ggs__arena *a, sqlite3_stmt *s, int i, size_t *len, int *err) {
  *len = 0;
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return NULL;
  size_t n = (size_t)sqlite3_column_bytes(s, i);
  uint8_t *r = ggs__arena_alloc(a, n ? n : 1);
  if (r == NULL) {
    *err = GG_ENOMEM;
    return NULL;
  }
  if (n) memcpy(r, sqlite3_column_blob(s, i), n);
  *len = n;
  return r;
}

/* Reads the versions of pid (all, or one) with their dependencies into the arena. */
static int read_versions(ggs_catalog *cat, ggs__arena *a, int64_t pid, const char *version,
                         ggs_catalog_vinfo **out, size_t *n) {
  size_t cap = 8, cnt = 0;
  ggs_catalog_vinfo *v = gg_malloc(cat->mem, cap * sizeof(*v));
  if (v == NULL) return GG_ENOMEM;
  sqlite3_stmt *s = ggs__st(cat, ST_VER_LIST);
  int err = s ? GG_OK : GG_ESTORAGE, rc = SQLITE_DONE;
  if (s) {
    sqlite3_bind_int64(s, 1, pid);
    bind_text(s, 2, version);
  }
  while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (cnt == cap) {
      ggs_catalog_vinfo *nv = gg_realloc(cat->mem, v, 2 * cap * sizeof(*v));
      if (nv == NULL) {
        err = GG_ENOMEM;
        break;
      }
      v = nv;
      cap *= 2;
    }
    ggs_catalog_vinfo *x = &v[cnt++];
    memset(x, 0, sizeof(*x));
    x->version = col_dup(a, s, 0, &err);
    x->cid = col_dup(a, s, 1, &err);
    x->size = (uint64_t)sqlite3_column_int64(s, 2);
    x->published = sqlite3_column_int64(s, 3);
    x->publisher = blob_dup(a, s, 4, &x->publisher_len, &err);
    x->record = blob_dup(a, s, 5, &x->record_len, &err);
    x->sha256 = col_dup(a, s, 6, &err);
    x->source = col_dup(a, s, 7, &err);
    x->yanked = sqlite3_column_int(s, 8);
  }
  if (s) sqlite3_reset(s);
  if (!err && rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
  for (size_t i = 0; i < cnt && !err; i++) {
    sqlite3_stmt *d = ggs__st(cat, ST_DEP_LIST);
    if (d == NULL) {
      err = GG_ESTORAGE;
      break;
    }
    sqlite3_bind_int64(d, 1, pid);
    bind_text(d, 2, v[i].version);
    size_t dn = 0;
    ggs_catalog_dep *deps = ggs__arena_alloc(a, GGS_CATALOG_MAX_LIST * sizeof(*deps));
    if (deps == NULL) err = GG_ENOMEM;
    while (!err && dn < GGS_CATALOG_MAX_LIST && (rc = sqlite3_step(d)) == SQLITE_ROW) {
      deps[dn].id = col_dup(a, d, 0, &err);
      deps[dn].range = col_dup(a, d, 1, &err);
      dn++;
    }
    sqlite3_reset(d);
    v[i].deps = deps;
    v[i].n_deps = dn;
  }
  if (!err && cnt) {
    *out = ggs__arena_alloc(a, cnt * sizeof(**out));
    if (*out == NULL)
      err = GG_ENOMEM;
    else
      memcpy(*out, v, cnt * sizeof(*v));
  }
  *n = err ? 0 : cnt;
  gg_free(cat->mem, v);
  return err;
}

int ggs_catalog_get(ggs_catalog *cat, const char *id, const char *version,
                    ggs_catalog_info **out) {
  if (cat == NULL || id == NULL || out == NULL) return GG_EINVAL;
  if (cat->stage && ggs__stage_sync(cat) != GG_OK) return cat->bulk_failed;
  ggs__arena a = {cat->mem, NULL};
  ggs_catalog_info *info = ggs__arena_alloc(&a, sizeof(*info));
  if (info == NULL) return GG_ENOMEM;
  sqlite3_stmt *s = ggs__st(cat, ST_PKG_GET);
  int err = s ? GG_OK : GG_ESTORAGE;
  int64_t pid = 0;
  if (!err) {
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      pid = sqlite3_column_int64(s, 0);
      info->id = col_dup(&a, s, 1, &err);
      info->name = col_dup(&a, s, 2, &err);
      info->description = col_dup(&a, s, 3, &err);
      info->license = col_dup(&a, s, 4, &err);
      info->category = col_dup(&a, s, 5, &err);
      info->homepage = col_dup(&a, s, 6, &err);
      info->repository = col_dup(&a, s, 7, &err);
      info->documentation = col_dup(&a, s, 8, &err);
      info->latest = col_dup(&a, s, 9, &err);
      if (!err) err = split_list(&a, (const char *)sqlite3_column_text(s, 10), &info->authors, &info->n_authors);
      if (!err) err = split_list(&a, (const char *)sqlite3_column_text(s, 11), &info->tags, &info->n_tags);
      if (!err)
        err = split_list(&a, (const char *)sqlite3_column_text(s, 12), &info->keywords, &info->n_keywords);
      info->downloads = (uint64_t)sqlite3_column_int64(s, 13);
      info->stars = (uint64_t)sqlite3_column_int64(s, 14);
      info->production_ready = sqlite3_column_int(s, 15);
    } else {
      err = rc == SQLITE_DONE ? GG_ENOTFOUND : ggs__sqlerr(cat, rc);
    }
    sqlite3_reset(s);
  }
  if (!err) err = read_versions(cat, &a, pid, version, &info->versions, &info->n_versions);
  if (!err && version && info->n_versions == 0) err = GG_ENOTFOUND;
  if (!err) {
    info->mem_ = cat->mem;
    info->arena_ = ggs__arena_detach(&a);
    if (info->arena_ == NULL) err = GG_ENOMEM;
  }
  if (err) {
    ggs__arena_free(&a);
    return err;
  }
  *out = info;
  return GG_OK;
}

void ggs_catalog_info_free(ggs_catalog_info *info) {
  if (info) ggs__arena_free_detached(info->mem_, info->arena_);
}

int ggs_catalog_each_version(ggs_catalog *cat, const char *id,
                             int (*fn)(void *ud, const ggs_catalog_vinfo *v), void *ud) {
  if (cat == NULL || id == NULL || fn == NULL) return GG_EINVAL;
  int64_t pid;
  int err = cat->stage ? ggs__stage_sync(cat) : GG_OK;
  if (!err) err = find_pkg(cat, id, &pid);
  if (err) return err;
  ggs__arena a = {cat->mem, NULL};
  ggs_catalog_vinfo *v = NULL;
  size_t n = 0;
  err = read_versions(cat, &a, pid, NULL, &v, &n);
  for (size_t i = 0; i < n && !err; i++) err = fn(ud, &v[i]);
  ggs__arena_free(&a);
  return err;
}
