/*
 * Semantic versions (semver.org 2.0.0) and npm's range language (node-semver 7.x), for the
 * marketplace: gpack versions, dependency ranges, ggen_compat.
 *
 * Versions: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]. Precedence follows semver 2.0 section 11:
 * numeric fields, then prerelease identifiers (numeric < alphanumeric, a version without a
 * prerelease ranks above one with), build metadata ignored. Components are at most
 * 2^53-1 (JavaScript's safe integers, as node-semver) and a version is at most 256 characters.
 *
 * Ranges: comparators (<, <=, >, >=, =), ^, ~ (and ~>), x-ranges (1.x, 1.2.*, *), hyphen
 * ranges (1.2 - 3), || and whitespace, exactly as node-semver parses them, including its
 * canonical form (ggm_semver_range_format gives the string node-semver's `range.range`
 * returns). A prerelease version only satisfies a range whose comparator set names a
 * prerelease of the same MAJOR.MINOR.PATCH, unless GGM_SEMVER_INCLUDE_PRERELEASE was given.
 *
 * GGM_SEMVER_LOOSE accepts what node-semver's loose mode accepts ("v 1.2.3", "=1.2.3",
 * "1.2.3beta", leading zeros); strict mode is semver.org's grammar (plus a leading "v").
 *
 * Everything here is pure: no I/O, allocation only through the `const gg_mem *` given.
 * See docs/semver.md.
 */
#ifndef GGEN_SEMVER_H
#define GGEN_SEMVER_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"

enum {
  GGM_SEMVER_LOOSE = 1u,              /* node-semver {loose: true} */
  GGM_SEMVER_INCLUDE_PRERELEASE = 2u, /* node-semver {includePrerelease: true} */
};

#define GGM_SEMVER_MAX_LEN 256                  /* longest version string accepted */
#define GGM_SEMVER_MAX_SAFE 9007199254740991ull /* largest MAJOR/MINOR/PATCH (2^53-1) */
#define GGM_SEMVER_RANGE_MAX_LEN 16384          /* longest range string accepted */
#define GGM_SEMVER_RANGE_MAX_COMPARATORS 1024   /* comparators in one parsed range */

/* A parsed version. `pre` and `build` are the dot-separated identifier lists without the
 * leading '-' / '+', "" when absent; numeric prerelease identifiers are normalised (no
 * leading zeros, as node-semver prints them). Owns its strings: release with
 * ggm_semver_free. A zeroed struct is a valid empty value for ggm_semver_free. */
typedef struct ggm_semver {
  uint64_t major, minor, patch;
  const char *pre;
  const char *build;
  char *buf_;         /* private: storage of pre and build (NULL when both are empty) */
  const gg_mem *mem_; /* private */
} ggm_semver;

/* Parses a version (surrounding whitespace ignored). flags: GGM_SEMVER_LOOSE.
 * GG_OK, GG_EPARSE (not a version, too long, a component over 2^53-1), GG_ENOMEM.
 * On failure *v is left untouched. */
int ggm_semver_parse(ggm_semver *v, const char *s, size_t len, unsigned flags, const gg_mem *mem);

/* Deep copy. GG_OK or GG_ENOMEM (dst untouched). */
int ggm_semver_copy(ggm_semver *dst, const ggm_semver *src, const gg_mem *mem);

/* Frees the strings of v and zeroes it. Safe on a zeroed struct. */
void ggm_semver_free(ggm_semver *v);

/* Precedence: <0, 0, >0 (semver 2.0 section 11; build metadata ignored). */
int ggm_semver_cmp(const ggm_semver *a, const ggm_semver *b);

/* Precedence, then build metadata as node-semver's compareBuild (a total order for sorting). */
int ggm_semver_cmp_build(const ggm_semver *a, const ggm_semver *b);

/* 1 when v has a prerelease part. */
static inline int ggm_semver_is_prerelease(const ggm_semver *v) { return v->pre[0] != 0; }

/* Writes "MAJOR.MINOR.PATCH[-PRE]" (with_build: also "+BUILD") NUL-terminated into out
 * (truncated to cap-1 bytes). Returns the full length, like snprintf. */
size_t ggm_semver_format(const ggm_semver *v, int with_build, char *out, size_t cap);

/* ---- increments (node-semver inc / truncate) --------------------------------------- */
typedef enum ggm_semver_release {
  GGM_SEMVER_MAJOR,
  GGM_SEMVER_PREMAJOR,
  GGM_SEMVER_MINOR,
  GGM_SEMVER_PREMINOR,
  GGM_SEMVER_PATCH,
  GGM_SEMVER_PREPATCH,
  GGM_SEMVER_PRERELEASE,
  GGM_SEMVER_RELEASE, /* drop the prerelease part (error when there is none) */
  GGM_SEMVER_PRE,     /* node-semver's internal "pre" step */
} ggm_semver_release;

/* "major", "premajor", ..., "release", "pre" -> the enum value; -1 when unknown. */
int ggm_semver_release_from_str(const char *s);

#define GGM_SEMVER_INC_NO_BASE (-1) /* identifierBase === false: no numeric suffix */

/* Increments v in place as node-semver's inc(v, release, identifier, identifierBase).
 * identifier: prerelease identifier(s) such as "beta" or "dev.1", NULL or "" for none.
 * base: 0 or 1 (the first number appended), or GGM_SEMVER_INC_NO_BASE.
 * flags: GGM_SEMVER_LOOSE (how identifier is validated). The build metadata is dropped.
 * GG_OK, GG_EINVAL (invalid identifier or increment; v unchanged), GG_ENOMEM. */
int ggm_semver_inc(ggm_semver *v, ggm_semver_release release, const char *identifier, int base,
                   unsigned flags);

/* node-semver truncate: PRE* keeps v, PATCH drops the prerelease, MINOR also zeroes the
 * patch, MAJOR zeroes minor and patch; the build metadata is dropped. GG_EINVAL when release
 * is RELEASE or PRE (not node-semver RELEASE_TYPES). */
int ggm_semver_truncate(ggm_semver *v, ggm_semver_release release);

/* ---- ranges --------------------------------------------------------------------------- */
typedef struct ggm_semver_range ggm_semver_range;

/* Parses an npm range. flags: GGM_SEMVER_LOOSE, GGM_SEMVER_INCLUDE_PRERELEASE (kept in the
 * range and used by every test). "" and "*" match any release.
 * GG_OK, GG_EPARSE (invalid, as node-semver throws), GG_ELIMIT (longer than
 * GGM_SEMVER_RANGE_MAX_LEN or more than GGM_SEMVER_RANGE_MAX_COMPARATORS), GG_ENOMEM.
 * *out untouched on failure. */
int ggm_semver_range_parse(ggm_semver_range **out, const char *s, size_t len, unsigned flags,
                           const gg_mem *mem);

void ggm_semver_range_free(ggm_semver_range *r);

/* The flags the range was parsed with. */
unsigned ggm_semver_range_flags(const ggm_semver_range *r);

/* 1 when v satisfies r (node-semver satisfies / Range.test), else 0. */
int ggm_semver_range_test(const ggm_semver_range *r, const ggm_semver *v);

/* Appends node-semver's canonical form ("" for any version, as `range.range`) to out.
 * GG_OK, GG_ENOMEM, GG_ETOOBIG (out's cap). */
int ggm_semver_range_format(const ggm_semver_range *r, gg_buf *out);

/* Index of the highest / lowest of vs[0..n) satisfying r (first one on ties), -1 if none. */
long ggm_semver_max_satisfying(const ggm_semver *vs, size_t n, const ggm_semver_range *r);
long ggm_semver_min_satisfying(const ggm_semver *vs, size_t n, const ggm_semver_range *r);

/* Lowest version that can satisfy r (node-semver minVersion) into *out.
 * GG_OK, GG_ENOTFOUND (r matches nothing), GG_ENOMEM. */
int ggm_semver_range_min_version(const ggm_semver_range *r, ggm_semver *out, const gg_mem *mem);

/* node-semver gtr (hilo '>') / ltr (hilo '<'): 1 when v is above / below every version r could
 * match, 0 otherwise; GG_EINVAL for another hilo, GG_ENOMEM. */
int ggm_semver_range_outside(const ggm_semver_range *r, const ggm_semver *v, char hilo);

/* node-semver intersects(a, b, {includePrerelease from a's flags}): 1 when some version could
 * satisfy both, 0 when not, GG_ENOMEM. */
int ggm_semver_range_intersects(const ggm_semver_range *a, const ggm_semver_range *b);

/* node-semver subset(sub, dom): 1 when every version sub matches is matched by dom, else 0;
 * GG_ENOMEM. Uses sub's flags. */
int ggm_semver_range_subset(const ggm_semver_range *sub, const ggm_semver_range *dom);

/* Comparator.intersects for two single comparators ("", ">=1.2.3", "1.2.3", ...):
 * 1 / 0 into *result. GG_OK, GG_EPARSE (not a comparator), GG_ENOMEM. */
int ggm_semver_comparator_intersects(const char *c0, size_t l0, const char *c1, size_t l1,
                                     unsigned flags, int *result, const gg_mem *mem);

/* Number of ||-alternatives; whether any comparator names a prerelease (the "-0" bounds
 * that ^, ~ and x-ranges add do not count): resolvers use it to see if a requirement opts
 * into prereleases. */
size_t ggm_semver_range_nsets(const ggm_semver_range *r);
int ggm_semver_range_mentions_prerelease(const ggm_semver_range *r);

/* When r is exactly one version ("1.2.3", "=1.2.3": one set of one "=" comparator), returns
 * that version (owned by r); else NULL. */
const ggm_semver *ggm_semver_range_exact(const ggm_semver_range *r);

/* Convenience for one-off checks: 1 when the version string satisfies the range string,
 * 0 when not or when either does not parse (node-semver satisfies). */
int ggm_semver_satisfies(const char *version, const char *range, unsigned flags);

#endif
