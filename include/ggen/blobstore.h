/*
 * Content-addressed blob store (docs/blobstore.md): package archives kept by CID in
 * <home>/store/, with a size budget and least-recently-used eviction.
 *
 * Layout: <dir>/blobs/<xy>/<cid text> (xy = the last two characters of the CID text, so the
 * 32 shards fill evenly), <dir>/tmp/ for writes in progress, <dir>/index.db (SQLite, WAL) with
 * one row per blob (size, last use) and the counters. The file system is the truth about
 * which blobs exist; the index orders them for eviction and is reconciled by gc.
 *
 * Writes are atomic: a temp file in <dir>/tmp (same file system), written, fsync'd, renamed
 * into place, and the shard directory fsync'd; a reader sees a complete blob or none. Every
 * put hashes the bytes and refuses a mismatch with the CID (GG_EINTEGRITY). A read returns an
 * open descriptor without hashing (the fast path, <= 50 us); GGS_BLOB_VERIFY or
 * ggs_blob_verify() hashes on demand, and a corrupt entry is then reported and removed.
 * Use times and hit/miss counters of reads are batched in memory and written to the index
 * every 256 reads and on stats/gc/close: a crash can lose a few touches, which only makes
 * eviction slightly less exact.
 *
 * Several processes may share a store (SQLite locking; renames are atomic); one
 * ggs_blob_store handle must not be used by two threads at once.
 */
#ifndef GGEN_BLOBSTORE_H
#define GGEN_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"

#define GGS_BLOB_CID_LEN 36 /* binary CIDv1 raw sha2-256 (same as GGM_CID_LEN) */
#define GGS_BLOB_DEF_BUDGET (1ull << 30)

typedef struct ggs_blob_store ggs_blob_store;

typedef struct ggs_blob_settings {
  /* Size budget in bytes. 0: keep the budget stored in the index (default 1 GiB). A non-zero
   * value is stored and applies from now on. */
  uint64_t budget;
} ggs_blob_settings;

/* Opens (creating if needed, mode 0700) the store in dir. GG_EIO / GG_ESTORAGE / GG_ENOMEM;
 * *out untouched on failure. s may be NULL. */
int ggs_blob_open(ggs_blob_store **out, const char *dir, const ggs_blob_settings *s,
                  const gg_mem *mem);

/* Writes pending use times and counters to the index and closes. NULL is a no-op. */
void ggs_blob_close(ggs_blob_store *st);

/* Stores data under cid after checking sha2-256(data) against it. Storing a blob already
 * present only marks it used. Evicts least-recently-used blobs if the budget is exceeded.
 * GG_EINVAL (cid not CIDv1 raw sha2-256), GG_EINTEGRITY (data does not match cid), GG_ELIMIT
 * (larger than the budget), GG_EIO, GG_ESTORAGE. */
int ggs_blob_put(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], const void *data,
                 size_t len);

/* Stores everything read from fd (to EOF). expect (may be NULL) is the CID it must have;
 * cid_out (may be NULL) gets the CID computed. Errors as ggs_blob_put. */
int ggs_blob_put_fd(ggs_blob_store *st, int fd, const uint8_t *expect, uint8_t *cid_out);

/* ggs_blob_put_fd on a file path; GG_ENOTFOUND if path does not exist. */
int ggs_blob_put_file(ggs_blob_store *st, const char *path, const uint8_t *expect,
                      uint8_t *cid_out);

enum { GGS_BLOB_VERIFY = 1u << 0 };

/* Opens the blob cid for reading: *fd gets a descriptor the caller closes, *size (may be NULL)
 * its length. Counts a hit or a miss and marks the blob used. With GGS_BLOB_VERIFY the content
 * is hashed first (fd positioned at 0). GG_ENOTFOUND (miss), GG_EINTEGRITY (corrupt: the
 * entry was removed), GG_EINVAL, GG_EIO. */
int ggs_blob_get(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], unsigned flags, int *fd,
                 uint64_t *size);

/* GG_OK when present, GG_ENOTFOUND otherwise (no counters, no use mark). */
int ggs_blob_has(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]);

/* Writes the path the blob has (or would have) into buf. GG_EINVAL, GG_ETOOBIG (cap). */
int ggs_blob_path(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], char *buf, size_t cap);

/* Hashes the stored blob. GG_OK, GG_ENOTFOUND, GG_EINTEGRITY (corrupt: removed), GG_EIO. */
int ggs_blob_verify(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]);

/* Calls fn(ud, cid, size) for every blob present (index rows whose file exists), most recently
 * used first, without touching use times or counters; fn may call the store. A non-zero
 * return from fn stops the walk and is returned. GG_ESTORAGE, GG_ENOMEM. */
int ggs_blob_each(ggs_blob_store *st,
                  int (*fn)(void *ud, const uint8_t cid[GGS_BLOB_CID_LEN], uint64_t size),
                  void *ud);

/* Removes one blob. GG_OK or GG_ENOTFOUND. */
int ggs_blob_remove(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]);

typedef struct ggs_blob_stats {
  uint64_t entries, bytes, budget;
  uint64_t hits, misses;
  double hit_rate; /* hits / (hits + misses), 0 when there was no read */
} ggs_blob_stats;

/* Current figures (after flushing pending counters). GG_ESTORAGE. */
int ggs_blob_stats_get(ggs_blob_store *st, ggs_blob_stats *out);

enum { GGS_BLOB_GC_VERIFY = 1u << 0 };

typedef struct ggs_blob_gc_result {
  uint64_t evicted, evicted_bytes; /* blobs removed to meet the budget */
  uint64_t temps;                  /* abandoned temp files removed */
  uint64_t corrupt;                /* corrupt blobs removed (GGS_BLOB_GC_VERIFY) */
  uint64_t reconciled;             /* index rows added or dropped to match the files */
} ggs_blob_gc_result;

/* Garbage collection: reconciles the index with the files, removes temp files no live
 * writer holds (writers keep an flock on theirs), optionally verifies every blob, then
 * evicts least-recently-used blobs until bytes <= budget. res may be NULL. */
int ggs_blob_gc(ggs_blob_store *st, unsigned flags, ggs_blob_gc_result *res);

/* Removes every blob, temp file and counter. */
int ggs_blob_clean(ggs_blob_store *st);

#endif
