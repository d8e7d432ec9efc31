/*
 * Publishing packages on this node (docs/publish.md): `ggen marketplace publish --local`, and
 * the ingest path the P2P layer uses for releases that arrive from other nodes.
 *
 * ggm_publish_dir() reads a package directory's manifest, packs it deterministically
 * (include/ggen/pack.h), signs a release record with the publisher key
 * (include/ggen/release.h) and hands record and archive to ggm_publish_ingest(), the one path
 * by which anything enters the local store and catalog. Ingest trusts nothing it is given:
 *   1. the record decodes canonically and its signature verifies;
 *   2. the archive has the size and CID the record names;
 *   3. the package id is unowned or owned by the record's key (the first key that publishes
 *      an id owns it; GG_EOWNER otherwise);
 *   4. an id@version already in the catalog must have the same archive (versions are
 *      immutable; GG_EEXIST otherwise) - the same one again is a no-op;
 *   5. the archive extracts safely (include/ggen/extract.h) and its top-level gpack.toml (or
 *      package.toml) names the record's id, version and dependencies;
 * then the archive goes into the blob store and record, metadata, dependencies and owner
 * into the catalog in one transaction. Nothing is stored when any check fails.
 *
 * This is glue (files, SQLite through the catalog API); it reads no clock: the publish time
 * is a parameter.
 */
#ifndef GGEN_PUBLISH_H
#define GGEN_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/blobstore.h"
#include "ggen/catalog.h"
#include "ggen/key.h"
#include "ggen/pack.h"

typedef struct ggm_publish_env {
  const char *home;      /* node home: temporary files go to <home>/tmp */
  ggs_catalog *catalog;  /* borrowed */
  ggs_blob_store *store; /* borrowed */
} ggm_publish_env;

enum {
  GGM_PUBLISH_DRY_RUN = 1u << 0, /* every check, nothing stored */
};

typedef struct ggm_publish_result {
  char id[129];
  char version[65];
  char cid[GGM_CID_TEXT_MAX];
  uint64_t size;  /* archive bytes */
  uint64_t files; /* regular files in the archive */
  uint8_t publisher[32];
  int existed;   /* this exact release was already here: nothing changed */
  char msg[640]; /* on failure: what and why ("" on success) */
} ggm_publish_result;

/* Packs, signs and ingests the package in dir with key kp; now is the publish time (Unix
 * seconds). Errors: GG_EINVAL (no or malformed manifest: msg has file:line:col; or the
 * directory cannot be packed: a symlink, a name or size over a limit), GG_EOWNER, GG_EEXIST
 * (this version exists with another archive), GG_EIO, GG_ESTORAGE, GG_ENOMEM; and those of
 * ggm_publish_ingest. res is filled in every case. */
int ggm_publish_dir(const char *dir, const ggm_publish_env *env, const gg_keypair *kp, int64_t now,
                    unsigned flags, ggm_publish_result *res);

/* Verifies and stores a signed release record (rec[0..len)) and its archive (read from fd,
 * from its current offset to EOF), recording `source` (NULL: "local") as where it came from.
 * Errors: GG_EPARSE / GG_ETOOBIG / GG_EBADKEY / GG_EBADSIG (bad record), GG_EINTEGRITY
 * (archive size or CID differs from the record, or its manifest disagrees with it),
 * GG_EUNSAFE (hostile archive), GG_EOWNER, GG_EEXIST, GG_EIO, GG_ESTORAGE, GG_ENOMEM. */
int ggm_publish_ingest(const ggm_publish_env *env, const uint8_t *rec, size_t len, int fd,
                       const char *source, unsigned flags, ggm_publish_result *res);

/* Verifies and catalogs a signed release record without its archive (a record announced by a
 * peer, found in the DHT or by a search: the archive is fetched when something installs it).
 * Checks 1, 3 and 4 above; the catalog then has the version with its CID and record, so search,
 * info and the resolver see it, and install needs the archive in the store (ggm_publish_ingest
 * of the same record with the archive adds it; res->existed is then 1). The same record again
 * is a no-op (res->existed). Errors: GG_EPARSE / GG_ETOOBIG / GG_EBADKEY / GG_EBADSIG,
 * GG_EOWNER, GG_EEXIST (this version is known with another archive), GG_ESTORAGE, GG_ENOMEM. */
int ggm_publish_ingest_record(const ggm_publish_env *env, const uint8_t *rec, size_t len,
                              const char *source, unsigned flags, ggm_publish_result *res);

#endif
