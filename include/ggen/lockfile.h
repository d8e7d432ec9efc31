/*
 * ggen.lock: the project lockfile (docs/install.md "Lockfile").
 *
 * ggen's TOML lockfile (../shared/GGEN.md "Lockfile") with two keys of ours per pack, which
 * ggen's reader ignores (its serde structs accept unknown keys):
 *
 *   version = "1.0"
 *   generated = "2026-01-01T00:00:00Z"
 *
 *   [[packs]]
 *   id = "io.ggen.rust.cli-subcommand"
 *   version = "0.1.0"
 *   sha256 = "<64 hex: sha2-256 of the archive>"
 *   source = "local"
 *   cid = "bafkrei..."            # ours: CIDv1 raw sha2-256 of the same archive
 *   requested = "^0.1.0"          # ours: present on packs the user asked for (the roots)
 *   dependencies = ["io.ggen.macros.std@0.1.3"]
 *
 * sha256 and cid name the same digest: when both are present they must agree. Packs are
 * written sorted by id and dependencies sorted, so the same set of packs gives the same bytes
 * (apart from `generated`).
 *
 * Parsing is pure (bytes in, struct out, allocation through gg_mem); every error names file,
 * line and column. A lockfile is input a user (or a merge conflict) may have mangled, so ids
 * are checked with the manifest id rule (they become directory names) and caps apply.
 */
#ifndef GGEN_LOCKFILE_H
#define GGEN_LOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/toml.h"

#define GGM_LOCK_FORMAT "1.0"    /* the version we write; we read 1.x */
#define GGM_LOCK_MAX_PACKS 10000 /* packs in one lockfile */
#define GGM_LOCK_MAX_DEPS 256    /* dependencies of one pack */
#define GGM_LOCK_MAX_SIZE (8u << 20)

typedef struct ggm_lock_pack {
  const char *id;          /* valid package id (ggm_manifest_check_id) */
  const char *version;     /* strict semver */
  const char *sha256;      /* 64 lower-case hex digits, or NULL when absent */
  const char *source;      /* where it came from ("local", a URL...), or NULL */
  const char *cid;         /* CID text, or NULL (a lock written by ggen has none) */
  const char *requested;   /* the range the user asked for, NULL for a dependency-only pack */
  const char *const *deps; /* "id@version", sorted */
  size_t n_deps;
} ggm_lock_pack;

/* A lockfile. Parsed: everything is owned by the struct (ggm_lock_free). Built by hand for
 * ggm_lock_write(): fill the fields with borrowed pointers and leave priv_ NULL. */
typedef struct ggm_lock {
  const char *version;   /* lockfile format, "1.0" */
  const char *generated; /* RFC 3339 UTC time of writing, or NULL */
  ggm_lock_pack *packs;  /* sorted by id after a parse; any order when built */
  size_t n_packs;
  void *priv_;
  const gg_mem *mem_;
} ggm_lock;

/* Parses a ggen.lock held in src[0..len). name is used in messages (NULL: "ggen.lock").
 * On GG_OK *l owns its storage (packs sorted by id). On failure *l is zeroed and err->msg
 * says "name:line:col: what": GG_EPARSE (malformed TOML, a missing or invalid field, a
 * duplicate id, sha256 and cid that disagree), GG_ELIMIT (over a cap), GG_ENOMEM.
 * err may be NULL. */
int ggm_lock_parse(ggm_lock *l, const char *name, const void *src, size_t len, const gg_mem *mem,
                   ggm_toml_error *err);

/* Frees what a parsed lock owns and zeroes it. Safe on a zeroed or hand-built struct. */
void ggm_lock_free(ggm_lock *l);

/* Appends the lockfile text of l to out: the fixed header comment, version, generated,
 * then one [[packs]] table per pack in id order with the keys in the order shown above and
 * dependencies sorted. Absent optional fields are left out; dependencies is always written.
 * GG_EINVAL (a field that would not parse back: bad id or version, duplicate id, bad hex),
 * GG_ETOOBIG (out's limit), GG_ENOMEM. */
int ggm_lock_write(const ggm_lock *l, gg_buf *out);

/* The pack with this id, or NULL. Binary search on a parsed lock; linear on a built one. */
const ggm_lock_pack *ggm_lock_find(const ggm_lock *l, const char *id);

/* Consistency of a lock as a whole: every dependency "id@version" names a pack of the lock
 * with exactly that version. GG_OK, or GG_ENOTFOUND with a message in why[0..cap) naming
 * the pack and the missing dependency. */
int ggm_lock_check(const ggm_lock *l, char *why, size_t cap);

/* Splits "id@version" at its last '@': *idlen gets the id's length and the version starts at
 * s + *idlen + 1. GG_OK or GG_EINVAL when there is no '@' with text on both sides. */
int ggm_lock_split_dep(const char *s, size_t *idlen);

#endif
