/*
 * The package catalog: a SQLite (WAL) database of packages, versions, dependencies, tags,
 * keywords, authors, categories, publishers (package id -> owner key) and popularity, with an
 * FTS5 index for search. One catalog lives at <home>/catalog.db. Design and limits:
 * docs/catalog.md.
 *
 * Model. A package is identified by its id (compared case-insensitively, so "Foo" and "foo"
 * are the same package); it has one row of metadata (the newest put wins) and any number of
 * versions. Versions are immutable: putting an existing id@version again with a different
 * archive CID is refused. The package's "latest" version is the highest non-yanked release
 * by semver precedence (a prerelease only when there is no release).
 *
 * Search returns one row per package id (its latest version), ranked by ggen's rules
 * (../shared/GGEN.md "Search ranking") with exact id/name matches always first, tolerates 1-2
 * typos per word and bounds the work per query (a few hundred candidates, whatever the size
 * of the catalog).
 *
 * Threads: a ggs_catalog is one SQLite connection; use it from one thread at a time. Several
 * processes may open the same file (WAL: readers never block the writer).
 *
 * All functions return GG_OK or a negative GG_E* code (include/ggen/err.h):
 *   GG_EINVAL   bad argument (empty id, a field over its limit, limit out of range);
 *   GG_ENOTFOUND no such package / version;
 *   GG_EEXIST   a version exists with other content;
 *   GG_EOWNER   the package id is owned by another publisher key;
 *   GG_EPARSE   an import file is not one of ggen's index formats;
 *   GG_EUNSUPPORTED the file was written by a newer schema version;
 *   GG_ESTORAGE SQLite failed (ggs_catalog_errmsg() says why); GG_EIO file I/O; GG_ENOMEM.
 */
#ifndef GGEN_CATALOG_H
#define GGEN_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"

/* The schema version this code writes (PRAGMA user_version). */
#define GGS_CATALOG_SCHEMA_VERSION 1

/* Limits applied to every package put into the catalog (a hostile index file or record
 * cannot grow a row beyond them; ingest fails with GG_EINVAL). */
#define GGS_CATALOG_MAX_ID 256          /* bytes in an id, a version, a tag, an author... */
#define GGS_CATALOG_MAX_TEXT 65536      /* bytes in a description or URL */
#define GGS_CATALOG_MAX_LIST 64         /* tags, keywords, authors, dependencies per item */
#define GGS_CATALOG_MAX_RECORD (1 << 20) /* bytes in a release record blob */
#define GGS_CATALOG_MAX_IMPORT (1u << 30) /* bytes in an index file to import */
/* Search limits: results per query, words per query (more are ignored). */
#define GGS_CATALOG_MAX_LIMIT 1000
#define GGS_CATALOG_DEFAULT_LIMIT 20
#define GGS_CATALOG_MAX_WORDS 8

typedef struct ggs_catalog ggs_catalog;

/* ---- open / close --------------------------------------------------------------------- */

enum {
  GGS_CATALOG_CREATE = 1,   /* create the file (and schema) when missing */
  GGS_CATALOG_READONLY = 2, /* open read-only (searches, info); writes fail GG_ESTORAGE */
};

/* Opens (and with GGS_CATALOG_CREATE creates or migrates) the catalog at path. mem may be
 * NULL. On success *out owns the connection; on failure *out is untouched.
 * GG_ENOTFOUND (missing and no CREATE), GG_EUNSUPPORTED (newer schema), GG_ESTORAGE,
 * GG_ENOMEM. Opening does no work proportional to the catalog size. */
int ggs_catalog_open(ggs_catalog **out, const char *path, unsigned flags, const gg_mem *mem);

/* Closes the connection (rolling back an open bulk transaction). NULL is a no-op. */
void ggs_catalog_close(ggs_catalog *cat);

/* The last SQLite error message of this connection (static or owned by cat; never NULL). */
const char *ggs_catalog_errmsg(const ggs_catalog *cat);

/* ---- ingest --------------------------------------------------------------------------- */

/* Package metadata (all strings borrowed for the call; NULL = absent). */
typedef struct ggs_catalog_pkg {
  const char *id;          /* required; no control characters */
  const char *name;        /* display name; NULL = id */
  const char *description; /* NULL = "" */
  const char *license;
  const char *category;
  const char *homepage;
  const char *repository;
  const char *documentation;
  const char *const *authors; /* the first one is shown in search results */
  size_t n_authors;
  const char *const *tags;
  size_t n_tags;
  const char *const *keywords;
  size_t n_keywords;
  uint64_t downloads;
  uint64_t stars;
  int production_ready;
} ggs_catalog_pkg;

typedef struct ggs_catalog_dep {
  const char *id;    /* dependency package id */
  const char *range; /* semver range ("*" when the index gives none) */
} ggs_catalog_dep;

typedef struct ggs_catalog_version {
  const char *version;      /* required */
  const char *cid;          /* archive CID (string form), NULL when unknown (imports) */
  uint64_t size;            /* archive size in bytes, 0 when unknown */
  int64_t published;        /* publish time, Unix seconds (0 = unknown) */
  const uint8_t *publisher; /* publisher public key, NULL when unknown */
  size_t publisher_len;
  const uint8_t *record; /* the signed release record as received, NULL when none */
  size_t record_len;
  const char *sha256; /* hex archive digest from ggen's indexes, NULL when none */
  const char *source; /* where ggen fetched it (git URL, download URL), NULL when none */
  const ggs_catalog_dep *deps;
  size_t n_deps;
  int yanked;
} ggs_catalog_version;

/* Starts a bulk transaction for about `expected` packages: every put until
 * ggs_catalog_commit() is one atomic transaction. For large batches the full-text index is
 * built once at commit (much faster than row by row). GG_ESTATE when one is already open. */
int ggs_catalog_begin(ggs_catalog *cat, size_t expected);

/* Commits the bulk transaction (finishing deferred index work). On failure everything since
 * ggs_catalog_begin() is rolled back. A put refused inside the transaction for bad input
 * (GG_EINVAL, GG_EEXIST, GG_ENOTFOUND) wrote nothing and does not stop the batch; any
 * other failure of a put (storage, memory) makes the commit fail and roll back. */
int ggs_catalog_commit(ggs_catalog *cat);

/* Abandons the bulk transaction: the catalog is as it was before ggs_catalog_begin(). */
void ggs_catalog_rollback(ggs_catalog *cat);

/* Inserts or replaces a package's metadata (its versions are kept). Outside a bulk
 * transaction the put is atomic on its own. GG_EINVAL on a missing id or a field over its
 * limit (nothing written). */
int ggs_catalog_put_package(ggs_catalog *cat, const ggs_catalog_pkg *pkg);

/* Adds a version to an existing package. Versions are immutable: putting the same id@version
 * again is a no-op when its archive CID and sha256 agree with the stored ones, fills them in
 * when the stored version had none (an index without digests), and is refused with
 * GG_EEXIST when a known one differs. GG_ENOTFOUND when the package was never put. */
int ggs_catalog_put_version(ggs_catalog *cat, const char *id, const ggs_catalog_version *v);

/* Marks a version yanked (1) or not (0); the latest version is recomputed. GG_ENOTFOUND. */
int ggs_catalog_yank(ggs_catalog *cat, const char *id, const char *version, int yanked);

/* Updates a package's download and star counts (its search ranking follows). GG_ENOTFOUND. */
int ggs_catalog_set_popularity(ggs_catalog *cat, const char *id, uint64_t downloads,
                               uint64_t stars);

/* Claims a package id for a publisher key, or verifies the claim, in one atomic step: the
 * first key that claims an id owns it. GG_OK when key owns id (now or already), GG_EOWNER
 * when another key does (nothing changed; inside a bulk transaction the batch goes on). `now` (Unix seconds) is recorded with a new claim. Checking a
 * release record's signature is the caller's job; this only keeps the ownership table. */
int ggs_catalog_claim_owner(ggs_catalog *cat, const char *id, const uint8_t *key, size_t keylen,
                            int64_t now);

/* Copies the owner key of id into key (capacity cap) and its length into *keylen.
 * GG_ENOTFOUND when unclaimed, GG_EINVAL when cap is too small. */
int ggs_catalog_owner(ggs_catalog *cat, const char *id, uint8_t *key, size_t cap,
                      size_t *keylen);

/* Re-sorts the search index by current popularity (after many popularity updates or small
 * imports) and merges its segments. Time proportional to the catalog size. */
int ggs_catalog_optimize(ggs_catalog *cat);

/* Checks the database (PRAGMA integrity_check) and the full-text index against its content
 * (FTS5 integrity-check; not on a read-only connection). GG_OK, or GG_ESTORAGE with the first problem in
 * ggs_catalog_errmsg(). Time proportional to the catalog size. */
int ggs_catalog_check(ggs_catalog *cat);

/* ---- reading --------------------------------------------------------------------------- */

typedef struct ggs_catalog_stats {
  uint64_t packages;
  uint64_t versions;
  uint64_t terms; /* distinct indexed words and facet tokens (the vocabulary) */
} ggs_catalog_stats;

int ggs_catalog_stats_get(ggs_catalog *cat, ggs_catalog_stats *st);

typedef struct ggs_catalog_vinfo {
  const char *version;
  const char *cid;       /* NULL when unknown */
  uint64_t size;
  int64_t published;
  const uint8_t *publisher; /* NULL when unknown */
  size_t publisher_len;
  const uint8_t *record; /* NULL when none */
  size_t record_len;
  const char *sha256; /* NULL when none */
  const char *source; /* NULL when none */
  int yanked;
  ggs_catalog_dep *deps;
  size_t n_deps;
} ggs_catalog_vinfo;

/* One package with some or all of its versions. Everything is owned by the info. */
typedef struct ggs_catalog_info {
  const char *id, *name, *description, *license, *category, *homepage, *repository,
      *documentation;
  const char *latest; /* NULL when every version is yanked or there is none */
  const char **authors;
  size_t n_authors;
  const char **tags;
  size_t n_tags;
  const char **keywords;
  size_t n_keywords;
  uint64_t downloads, stars;
  int production_ready;
  ggs_catalog_vinfo *versions; /* newest first (semver precedence) */
  size_t n_versions;
  const gg_mem *mem_; /* private */
  void *arena_;       /* private */
} ggs_catalog_info;

/* Looks up a package; with version != NULL only that version is returned (exact string
 * match), else all. GG_ENOTFOUND when the package or the version does not exist. */
int ggs_catalog_get(ggs_catalog *cat, const char *id, const char *version,
                    ggs_catalog_info **out);
void ggs_catalog_info_free(ggs_catalog_info *info);

/* Calls fn for every version of id (newest first) with data borrowed for the call; a
 * non-zero return from fn stops and is returned. For the resolver. GG_ENOTFOUND. */
int ggs_catalog_each_version(ggs_catalog *cat, const char *id,
                             int (*fn)(void *ud, const ggs_catalog_vinfo *v), void *ud);

/* ---- search ---------------------------------------------------------------------------- */

typedef struct ggs_catalog_query {
  const char *text; /* words; NULL or "" lists by popularity (filters still apply) */
  const char *const *tags; /* every tag must be present (case-insensitive) */
  size_t n_tags;
  const char *author;   /* case-insensitive equality with one of the authors */
  const char *category; /* case-insensitive equality */
  const char *license;  /* case-insensitive equality */
  uint64_t min_stars;
  uint64_t min_downloads;
  size_t limit; /* 0 = GGS_CATALOG_DEFAULT_LIMIT; at most GGS_CATALOG_MAX_LIMIT */
} ggs_catalog_query;

typedef struct ggs_catalog_hit {
  const char *id, *name, *version, *description, *author, *category, *license;
  uint64_t downloads, stars;
  double score; /* ggen's relevance score (GGEN.md); 0 for a query without words */
  int exact;    /* 1 when id or name equals the query (these come first) */
} ggs_catalog_hit;

typedef struct ggs_catalog_results {
  ggs_catalog_hit *hits; /* best first, one per package id */
  size_t n;
  const char *corrected; /* the query as searched after typo correction; NULL if unchanged */
  size_t candidates;     /* packages scored (a bound on the work done) */
  const gg_mem *mem_;    /* private */
  void *arena_;          /* private */
} ggs_catalog_results;

/* Searches the catalog. *out owns the results (free with ggs_catalog_results_free()).
 * GG_EINVAL (limit over GGS_CATALOG_MAX_LIMIT), GG_ESTORAGE, GG_ENOMEM. */
int ggs_catalog_search(ggs_catalog *cat, const ggs_catalog_query *q,
                       ggs_catalog_results **out);
void ggs_catalog_results_free(ggs_catalog_results *r);

/* ggen's relevance of one package for a query text: the score ggs_catalog_search gives a
 * package (the query as searched, i.e. after typo correction), computed from the fields alone,
 * without the catalog - so packages that are not in it (search answers from peers) rank by the
 * same rules. Case-insensitive; whitespace in text is collapsed. *exact (may be NULL) gets 1
 * on an exact id or name match. 0 for an empty text; -1 when out of memory. */
double ggs_catalog_score(const char *text, const ggs_catalog_pkg *pkg, int *exact);

/* ---- import of ggen's registry indexes ------------------------------------------------- */

enum {
  GGS_INDEX_MARKETPLACE = 1, /* {version, packages[], search_index, ...} */
  GGS_INDEX_CORE = 2,        /* {updated, packs: {id: {..., versions: {}}}} */
};

typedef struct ggs_catalog_import_stats {
  int format;        /* GGS_INDEX_* */
  size_t packages;   /* packages put */
  size_t versions;   /* versions put */
  size_t skipped;    /* entries skipped: not an object, no name/id, over a limit */
} ggs_catalog_import_stats;

/* Loads one of ggen's registry index files into the catalog in a single transaction (the
 * catalog is unchanged on failure). Packages already present are updated; versions already
 * present are kept. GG_EIO (unreadable), GG_EPARSE (not JSON / not an index), GG_ELIMIT
 * (file over GGS_CATALOG_MAX_IMPORT), GG_ESTATE
 * (inside ggs_catalog_begin), GG_ESTORAGE, GG_ENOMEM. st may be NULL. */
int ggs_catalog_import_json(ggs_catalog *cat, const char *path, ggs_catalog_import_stats *st);

/* The same from a buffer (not necessarily NUL-terminated). */
int ggs_catalog_import_json_buf(ggs_catalog *cat, const char *buf, size_t len,
                                ggs_catalog_import_stats *st);

#endif
