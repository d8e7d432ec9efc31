/*
 * Installing packs into a project (docs/install.md).
 *
 * A project is a directory with a ggen.lock (include/ggen/lockfile.h) and the installed packs
 * in .ggen/packs/<id>/. Install and update resolve the requested packs and their dependencies
 * against the local catalog (include/ggen/catalog.h) with the resolver
 * (include/ggen/resolve.h), take each archive from the blob store (include/ggen/blobstore.h)
 * after checking its signed release record and its CID, extract it safely and write the new
 * lockfile. Remove drops packs and the dependencies nothing else needs; list compares the
 * lockfile with the disk.
 *
 * Every change is one transaction: new trees are staged in .ggen/.staging-<txid>/, the new
 * lockfile is written beside ggen.lock, everything is made durable, and only then a journal
 * (.ggen/journal) commits the transaction; the staged trees are then renamed into place and
 * the lockfile last. A process killed at any point leaves the previous installation or, once
 * the journal exists, one that the next ggen command on the project finishes (every entry
 * point below recovers first). One process at a time works on a project (an flock on the
 * project directory, taken before anything is read); others wait.
 *
 * Trees come from an unpacked cache in <home>/unpacked/<cid>/ by hard link when the project
 * and the home are on one file system (cached files are read-only and checked unchanged
 * before each use), else the archive is extracted straight into the staging directory; see
 * docs/install.md "Hard links" for why that is safe.
 *
 * This is glue: it does file I/O and reads the clock (for `generated`), not a pure core.
 * All functions return GG_OK or a negative GG_E* code, and put a message for the user in the
 * result's msg when they fail.
 */
#ifndef GGEN_INSTALL_H
#define GGEN_INSTALL_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/blobstore.h"
#include "ggen/catalog.h"
#include "ggen/mem.h"

#define GGM_INSTALL_LOCKFILE "ggen.lock"
#define GGM_INSTALL_DIR ".ggen"
#define GGM_INSTALL_PACKS ".ggen/packs"
#define GGM_INSTALL_MAX_REQS 256 /* packs named in one command */

/* Where packs come from: all borrowed for the call. */
typedef struct ggm_install_env {
  const char *home;      /* node home; the unpacked cache is <home>/unpacked */
  ggs_catalog *catalog;  /* versions, dependencies and release records */
  ggs_blob_store *store; /* archives by CID */
} ggm_install_env;

/* A requested pack: id and npm range (NULL: keep the range already requested, else "^V" of
 * the version chosen, as npm saves it). */
typedef struct ggm_install_req {
  const char *id;
  const char *range;
} ggm_install_req;

enum {
  GGM_INSTALL_DRY_RUN = 1u << 0, /* compute and report the changes, touch nothing */
  GGM_INSTALL_FROZEN = 1u << 1,  /* install exactly the lockfile; drift is an error */
  GGM_INSTALL_FORCE = 1u << 2,   /* re-extract every pack, even unchanged ones */
  GGM_INSTALL_NO_DEPS = 1u << 3, /* the named packs' own dependencies are not installed */
  GGM_INSTALL_COPY = 1u << 4,    /* never hard-link from the unpacked cache */
};

/* Progress (for a terminal): phase, packs done of total, the pack being worked on. */
enum {
  GGM_INSTALL_PHASE_RESOLVE = 1,
  GGM_INSTALL_PHASE_FETCH,  /* checking records and archives */
  GGM_INSTALL_PHASE_UNPACK, /* extracting or linking */
  GGM_INSTALL_PHASE_COMMIT,
};
typedef void (*ggm_install_progress_fn)(void *ud, int phase, size_t done, size_t total,
                                        const char *id);

typedef struct ggm_install_opts {
  unsigned flags;                   /* GGM_INSTALL_* */
  int64_t now;                      /* Unix seconds written as `generated`; 0 = the clock */
  ggm_install_progress_fn progress; /* may be NULL */
  void *progress_ud;
} ggm_install_opts;

/* What happened to one pack. */
enum {
  GGM_INSTALL_KEEP = 0,  /* unchanged */
  GGM_INSTALL_ADD,       /* newly installed */
  GGM_INSTALL_UPGRADE,   /* to a higher version */
  GGM_INSTALL_DOWNGRADE, /* to a lower version */
  GGM_INSTALL_REINSTALL, /* same version, extracted again (--force, or missing on disk) */
  GGM_INSTALL_REMOVE,    /* removed */
};

typedef struct ggm_install_change {
  const char *id;
  const char *old_version; /* NULL when it was not installed */
  const char *new_version; /* NULL when removed */
  const char *cid;         /* of the new version (NULL when removed) */
  const char *requested;   /* the root range, NULL for a dependency */
  int action;              /* GGM_INSTALL_KEEP ... */
} ggm_install_change;

/* Outcome of install / update / remove. Owned by the caller: ggm_install_result_free. */
typedef struct ggm_install_result {
  ggm_install_change *changes; /* every pack of the old and the new state, sorted by id */
  size_t n_changes;
  size_t n_changed;      /* changes whose action is not KEEP */
  uint64_t files_linked; /* files hard-linked from the unpacked cache */
  uint64_t files_copied; /* files extracted or copied */
  int recovered;         /* an interrupted transaction was found: 1 finished, -1 undone */
  char *explain;         /* GG_EUNSAT: the resolver's explanation (several lines), else NULL */
  char msg[640];         /* on failure: what went wrong, naming the pack ("" on success) */
  void *priv_;
} ggm_install_result;

void ggm_install_result_free(ggm_install_result *r);

/*
 * Installs the packs reqs[0..n) (n may be 0: install what the project asks for) into the
 * project directory, which must exist. The roots are the packs requested before (the lock's
 * `requested` entries), the [dependencies] of <project>/gpack.toml when there is one, and
 * reqs. Versions already locked are kept when they still fit.
 * With GGM_INSTALL_FROZEN nothing is resolved: the lockfile is installed as it is, and it is
 * an error (GG_ECONFLICT, "drift") when it is missing, inconsistent, or does not satisfy reqs
 * or the project's gpack.toml.
 * Errors: GG_EINVAL (bad id or range in reqs, malformed ggen.lock or gpack.toml: msg has
 * file:line:col), GG_ENOTFOUND (unknown package, no such version, archive not in the store),
 * GG_EUNSAT (no solution: explain), GG_ECONFLICT (frozen drift), GG_EBADSIG / GG_EINTEGRITY
 * (bad record, corrupt archive: the cache entry is removed), GG_EOWNER, GG_EUNSAFE (hostile
 * archive), GG_EIO, GG_ESTORAGE, GG_ENOMEM. On any error the project is unchanged.
 * *out is set in every case (free it).
 */
int ggm_install_run(const char *project, const ggm_install_env *env, const ggm_install_req *reqs,
                    size_t n, const ggm_install_opts *opts, ggm_install_result **out);

/* Re-resolves to the newest versions the requested ranges allow: of ids[0..n), or of every
 * pack when n is 0. The same errors as ggm_install_run; GG_ENOTFOUND when an id is not
 * installed. GGM_INSTALL_FROZEN is refused (GG_EINVAL). */
int ggm_install_update(const char *project, const ggm_install_env *env, const char *const *ids,
                       size_t n, const ggm_install_opts *opts, ggm_install_result **out);

/* Removes the requested packs ids[0..n) and every dependency no remaining pack needs. Needs
 * neither catalog nor store (env may be NULL). GG_ENOTFOUND (not installed), GG_ECONFLICT (the
 * id is installed only as a dependency of another pack: msg names it), GG_EIO. */
int ggm_install_remove(const char *project, const ggm_install_env *env, const char *const *ids,
                       size_t n, const ggm_install_opts *opts, ggm_install_result **out);

/* Installed state: the lockfile against the disk. */
enum {
  GGM_INSTALL_OK = 0,
  GGM_INSTALL_MISSING = 1u << 0,     /* locked but .ggen/packs/<id> is absent */
  GGM_INSTALL_MISMATCH = 1u << 1,    /* its manifest names another id or version */
  GGM_INSTALL_UNTRACKED = 1u << 2,   /* on disk, not in the lockfile */
  GGM_INSTALL_DEP_MISSING = 1u << 3, /* a dependency in the lockfile is not locked */
  GGM_INSTALL_BROKEN = 1u << 4,      /* no readable manifest in the installed tree */
};

typedef struct ggm_install_entry {
  const char *id;
  const char *version;      /* locked version, NULL for untracked */
  const char *disk_version; /* version its manifest says, NULL when unknown */
  const char *cid, *requested, *source;
  const char *const *deps;
  size_t n_deps;
  unsigned status; /* GGM_INSTALL_OK or a set of the flags above */
} ggm_install_entry;

typedef struct ggm_install_listing {
  ggm_install_entry *entries; /* sorted by id */
  size_t n;
  int has_lock;   /* ggen.lock exists */
  int recovered;  /* as in ggm_install_result */
  unsigned drift; /* union of every entry's status */
  char msg[640];
  void *priv_;
} ggm_install_listing;

/* Lists the project's packs. GG_OK also when there is no lockfile (n = 0, has_lock = 0);
 * GG_EINVAL for a malformed ggen.lock (msg), GG_EIO. *out is set in every case. */
int ggm_install_list(const char *project, ggm_install_listing **out);
void ggm_install_listing_free(ggm_install_listing *l);

/* Finishes or undoes an interrupted transaction of the project (the other entry points do
 * it first anyway). *what (may be NULL) gets 1 finished, -1 undone, 0 nothing to do. */
int ggm_install_recover(const char *project, int *what, char *msg, size_t cap);

/* ---- the unpacked cache (<home>/unpacked) ------------------------------------------------ */

typedef struct ggm_install_cache_stats {
  uint64_t entries, files, bytes; /* bytes of file content */
  uint64_t removed;               /* entries removed by gc/clean */
} ggm_install_cache_stats;

/* Removes unpacked trees whose archive is no longer in the store (store may be NULL: keep
 * all), abandoned temporary directories, and trees found modified; then counts what is
 * left. st may be NULL. */
int ggm_install_cache_gc(const char *home, ggs_blob_store *store, ggm_install_cache_stats *st);

/* Removes every unpacked tree. Installed projects keep their files (hard links). */
int ggm_install_cache_clean(const char *home, ggm_install_cache_stats *st);

/* Counts the intact unpacked trees (entries, files, bytes), removing nothing. */
int ggm_install_cache_stats_get(const char *home, ggm_install_cache_stats *st);

#endif
