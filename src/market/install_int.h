/*
 * Internals of the installer shared by install.c (commands, resolution, verification) and
 * install_txn.c (project lock, transactions, recovery, trees, the unpacked cache).
 * docs/install.md describes the on-disk protocol these functions implement.
 */
#ifndef GGM_INSTALL_INT_H
#define GGM_INSTALL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"

/* ---- test hook: GGEN_TEST_CRASH_AT ------------------------------------------------------------
 * GGEN_TEST_CRASH_AT=<n> makes the process _exit(99) at the n-th crash point it passes;
 * GGEN_TEST_CRASH_AT=<name> at the first point of that name. GGEN_TEST_CRASH_TRACE=1 prints
 * every point passed ("crash-point <n> <name>") to stderr. */
#define GGM_CRASH_EXIT 99
void ggm__crash_point(const char *name);

/* ---- a project directory ------------------------------------------------------------------ */
typedef struct ggm__project {
  char *dir;     /* as given */
  int fd;        /* the project directory, with an exclusive flock held */
  int ggfd;      /* .ggen, or -1 when it does not exist (and was not created) */
  int recovered; /* 1 rolled forward, -1 rolled back, 0 nothing found */
} ggm__project;

/* Opens the project directory and takes the exclusive flock on it (waiting for another
 * process); with create, makes .ggen and .ggen/packs; when .ggen exists, recovers an
 * interrupted transaction. GG_ENOTFOUND (no such directory), GG_EIO, GG_EPARSE (unreadable
 * journal); msg gets the reason. */
int ggm__project_open(ggm__project *p, const char *dir, int create, char *msg, size_t cap);
/* Makes .ggen and .ggen/packs under the lock already held. GG_EIO. */
int ggm__project_ensure(ggm__project *p);
void ggm__project_close(ggm__project *p);

/* Reads ggen.lock into out (appending). GG_ENOTFOUND when absent, GG_EIO, GG_ELIMIT. */
int ggm__read_file_at(int dirfd, const char *name, gg_buf *out, size_t max);

/* ---- a transaction -------------------------------------------------------------------------- */
typedef struct ggm__txn {
  ggm__project *p;
  char txid[40];
  int stagefd;    /* .ggen/.staging-<txid> */
  char **replace; /* ids staged (owned) */
  size_t n_replace, cap_replace;
  char **remove; /* ids to remove */
  size_t n_remove, cap_remove;
} ggm__txn;

/* Creates the staging directory. GG_EIO. */
int ggm__txn_begin(ggm__txn *t, ggm__project *p);

/* Path of the staging directory (relative to the project: ".ggen/.staging-<txid>"). */
void ggm__txn_stage_rel(const ggm__txn *t, char *out, size_t cap);

/* Records that staging/<id> holds the new tree of id (the caller made it). GG_ENOMEM. */
int ggm__txn_add_replace(ggm__txn *t, const char *id);
/* Records that .ggen/packs/<id> goes away. GG_ENOMEM. */
int ggm__txn_add_remove(ggm__txn *t, const char *id);

/* Commits: writes the new lockfile (lock[0..len)) beside ggen.lock, makes everything durable,
 * writes the journal (the commit point), moves the trees into place, renames the lockfile,
 * removes the journal and the old trees. After GG_OK the transaction is done; on an error
 * before the commit point everything staged is removed; after it, the next open finishes it.
 * GG_EIO. */
int ggm__txn_commit(ggm__txn *t, const void *lock, size_t len, char *msg, size_t cap);

/* Abandons a transaction that was not committed: removes the staging directory. */
void ggm__txn_abort(ggm__txn *t);

/* ---- trees ---------------------------------------------------------------------------------- */

/* Removes name (a file or a whole tree) under dirfd; missing is fine. GG_OK or GG_EIO. */
int ggm__rmtree_at(int dirfd, const char *name);

typedef struct ggm__tree_stats {
  uint64_t linked, copied, bytes;
} ggm__tree_stats;

/* Places the tree of archive cid (text form) at dstdir/<name>: hard links from the unpacked
 * cache in <home>/unpacked when allowed and possible, else extraction of the archive read
 * from blobfd (which must be positioned at 0). link_ok: 0 forbids hard links. The blob's
 * CID must have been checked by the caller. GG_EUNSAFE / GG_EPARSE (hostile or corrupt
 * archive: msg says which entry), GG_EIO. */
int ggm__tree_place(const char *home, const char *cid, int blobfd, int dstdirfd,
                    const char *dstdir_path, const char *name, int link_ok, ggm__tree_stats *st,
                    char *msg, size_t cap);

/* Walks <home>/unpacked: removes every entry when all, else entries keep() refuses (keep may
 * be NULL), entries modified since they were unpacked, and abandoned temporary directories;
 * with count_only it removes nothing and counts the intact entries. st: entries, files,
 * bytes kept; entries removed (added to). GG_OK or GG_EIO. */
int ggm__cache_sweep(const char *home, int (*keep)(void *ud, const char *cid), void *ud, int all,
                     int count_only, uint64_t st[4]);

/* 1 when a and b are on the same file system. */
int ggm__same_fs(int fda, int fdb);

#endif
