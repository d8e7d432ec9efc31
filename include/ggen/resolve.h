/*
 * Dependency resolution: pick one version per package id so that every dependency range
 * (npm semver ranges, include/ggen/semver.h) holds, preferring the highest versions; when no
 * such choice exists, explain which packages and ranges conflict.
 *
 * Input is a plain in-memory "universe" - package ids, their versions, and for each version
 * a list of (dependency id, range) - so any source (the SQLite catalog, a lockfile, a test
 * suite) can fill it. Solving is real constraint solving: the universe is encoded for
 * libsolv's SAT solver (CDCL with backtracking), so cycles, diamonds and conflicts deep in the
 * graph are handled; see docs/resolve.md for the encoding.
 *
 * A universe is built once and solved any number of times (solving caches parsed ranges in
 * it, so one universe must not be solved from two threads at once). Nothing here does I/O.
 */
#ifndef GGEN_RESOLVE_H
#define GGEN_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"

typedef struct ggm_resolve_universe ggm_resolve_universe;
typedef struct ggm_resolve_result ggm_resolve_result;

/* Caps on what a universe may hold (a catalog filled from the network is hostile input).
 * Zero fields take the defaults below. */
typedef struct ggm_resolve_limits {
  size_t max_packages; /* default 1,000,000 */
  size_t max_versions; /* default 4,000,000 */
  size_t max_deps;     /* default 32,000,000 */
} ggm_resolve_limits;

/* Version flags. */
enum {
  /* A yanked version is only chosen when a root requirement pins exactly it or it is the
   * locked version (Cargo's and PEP 592's rule). */
  GGM_RESOLVE_YANKED = 1u,
};

/* Package flags (ggm_resolve_set_package_flags). */
enum {
  /* Ranges on this package match prereleases inside their bounds (npm includePrerelease)
   * instead of npm's rule (only prereleases of a MAJOR.MINOR.PATCH the range names). */
  GGM_RESOLVE_PKG_INCLUDE_PRERELEASE = 1u,
};

/* Creates an empty universe. limits may be NULL (defaults). GG_OK, GG_ENOMEM. */
int ggm_resolve_universe_new(ggm_resolve_universe **out, const ggm_resolve_limits *limits,
                             const gg_mem *mem);

void ggm_resolve_universe_del(ggm_resolve_universe *u);

/* Adds version `version` (a strict semver string, build metadata allowed) of package `id`
 * (any non-empty string without whitespace or control characters). flags: GGM_RESOLVE_YANKED.
 * *vid (may be NULL) gets the version's handle for ggm_resolve_add_dep.
 * GG_OK, GG_EINVAL (bad id), GG_EPARSE (bad version), GG_EEXIST (that exact version string is
 * already there), GG_ELIMIT, GG_ENOMEM. */
int ggm_resolve_add_version(ggm_resolve_universe *u, const char *id, const char *version,
                            unsigned flags, uint32_t *vid);

/* Declares that version vid depends on package dep_id with an npm range ("" = any). The
 * range is parsed now (strict npm syntax). A dependency on an id without versions is allowed
 * (it makes every version that needs it unusable).
 * GG_OK, GG_EINVAL (bad vid or id), GG_EPARSE (bad range), GG_ELIMIT, GG_ENOMEM. */
int ggm_resolve_add_dep(ggm_resolve_universe *u, uint32_t vid, const char *dep_id,
                        const char *range);

/* Sets GGM_RESOLVE_PKG_* flags on a package (created if absent). GG_OK, GG_EINVAL, GG_ENOMEM. */
int ggm_resolve_set_package_flags(ggm_resolve_universe *u, const char *id, unsigned flags);

size_t ggm_resolve_universe_npackages(const ggm_resolve_universe *u);
size_t ggm_resolve_universe_nversions(const ggm_resolve_universe *u);

/* A requirement: package id and npm range ("" or NULL = any). */
typedef struct ggm_resolve_req {
  const char *id;
  const char *range;
} ggm_resolve_req;

/* A locked (preferred) version: kept when possible, like a lockfile entry. */
typedef struct ggm_resolve_lock {
  const char *id;
  const char *version;
} ggm_resolve_lock;

/* Solve options. */
enum {
  /* Releases are preferred over prereleases, whatever their order (pub's policy); without
   * it the highest version wins. */
  GGM_RESOLVE_PREFER_STABLE = 1u,
  /* Every package behaves as if it had GGM_RESOLVE_PKG_INCLUDE_PRERELEASE. */
  GGM_RESOLVE_INCLUDE_PRERELEASE = 2u,
};

typedef struct ggm_resolve_opts {
  unsigned flags;                /* GGM_RESOLVE_PREFER_STABLE, GGM_RESOLVE_INCLUDE_PRERELEASE */
  const ggm_resolve_lock *locks; /* preferred versions (may name unknown ids: ignored) */
  size_t nlocks;
} ggm_resolve_opts;

/* Resolves the root requirements against u. opts may be NULL.
 * On GG_OK, *out is the solution: one version for every package the requirements need,
 * transitively (and nothing else).
 * On GG_EUNSAT, *out holds the explanation (ggm_resolve_result_explain) and the ids of the
 * packages in conflict; no versions.
 * Other errors leave *out unset: GG_EINVAL (bad argument), GG_EPARSE (a requirement's range
 * does not parse), GG_ELIMIT (unknown root ids would pass the package cap), GG_ENOMEM.
 * Free *out with ggm_resolve_result_free in the first two cases. Root ids that are unknown
 * are added to u as packages without versions (so explanations can name them). */
int ggm_resolve_solve(ggm_resolve_universe *u, const ggm_resolve_req *reqs, size_t nreqs,
                      const ggm_resolve_opts *opts, ggm_resolve_result **out);

/* Solution access: number of chosen packages; the i-th (sorted by id) id, version string and
 * handle. Strings live as long as the result. */
size_t ggm_resolve_result_count(const ggm_resolve_result *r);
int ggm_resolve_result_get(const ggm_resolve_result *r, size_t i, const char **id,
                           const char **version, uint32_t *vid);
/* The chosen version of id, or NULL when id is not in the solution. */
const char *ggm_resolve_result_version_of(const ggm_resolve_result *r, const char *id);

/* How many conflicts the solver met and learnt from on the way (0 when the first choices
 * worked): a measure of backtracking. */
size_t ggm_resolve_result_conflicts_learned(const ggm_resolve_result *r);

/* Human-readable explanation of a failure (several lines, ending in a newline), NULL on
 * success. */
const char *ggm_resolve_result_explain(const ggm_resolve_result *r);

/* Ids of the packages named in the conflict (sorted, without duplicates); 0 on success. */
size_t ggm_resolve_result_nconflicts(const ggm_resolve_result *r);
const char *ggm_resolve_result_conflict(const ggm_resolve_result *r, size_t i);

void ggm_resolve_result_free(ggm_resolve_result *r);

/* Checks an assignment - one version per id, e.g. a lockfile's, or a solution - against u:
 * every root requirement and every dependency of every assigned version must be met by the
 * assigned version of its id (with the prerelease policy of opts and of the packages).
 * Assigned versions nothing needs are allowed. opts may be NULL (its locks are ignored).
 * GG_OK; GG_EUNSAT when a requirement is missing or not met, GG_EEXIST when an id is assigned
 * twice, GG_ENOTFOUND when an assigned id or version is not in u, GG_EPARSE (a requirement's
 * range), GG_EINVAL, GG_ENOMEM. On failure, why (if not NULL) gets a one-line reason. */
int ggm_resolve_check(ggm_resolve_universe *u, const ggm_resolve_req *reqs, size_t nreqs,
                      const ggm_resolve_lock *assigned, size_t nassigned,
                      const ggm_resolve_opts *opts, char *why, size_t whylen);

#endif
