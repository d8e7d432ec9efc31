/*
 * Signed release records (docs/release.md).
 *
 * A release record says "publisher key K released version V of package P, whose archive has
 * CID C and size S", with the manifest fields the catalog needs. It travels in the DHT and in
 * gossip, so it has one canonical encoding (proto/release.proto, at most GGM_RELEASE_MAX
 * bytes): a SignedRelease envelope holding the ReleaseBody bytes and an Ed25519 signature over
 * GGM_RELEASE_DOMAIN || body. Canonical means: fields in field-number order, proto3 defaults
 * omitted, tags and keywords sorted bytewise without duplicates, dependencies sorted by id
 * (ids unique), authors in the publisher's order, minimal varints, no unknown fields. A
 * decoder re-encodes what it parsed and refuses any body whose bytes differ, so one release
 * has exactly one byte string and one signature input.
 *
 * Every decode verifies the signature (there is no unverified decode); the archive is then
 * checked against the record with ggm_release_check_archive_*() and ownership of the package
 * id with ggm_release_check_owner(). This file is a parser: no I/O, no clock (publish time is
 * a field the caller sets), no randomness.
 */
#ifndef GGEN_RELEASE_H
#define GGEN_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/key.h"
#include "ggen/mem.h"
#include "ggen/pack.h"

#define GGM_RELEASE_MAX 65536                 /* bytes of an encoded SignedRelease */
#define GGM_RELEASE_DOMAIN "ggen-release-v1:" /* signature domain separation prefix */

/* Field caps (bytes / counts); a record over any of them is refused (GG_EINVAL when
 * encoding, GG_EPARSE when decoding). */
#define GGM_RELEASE_ID_MAX 128
#define GGM_RELEASE_VERSION_MAX 64
#define GGM_RELEASE_TEXT_MAX 256  /* name, license, category, ggen_compat, author, range */
#define GGM_RELEASE_URL_MAX 512   /* homepage, repository */
#define GGM_RELEASE_DESC_MAX 4096 /* description */
#define GGM_RELEASE_WORD_MAX 64   /* one tag or keyword */
#define GGM_RELEASE_LIST_MAX 32   /* authors, tags, keywords */
#define GGM_RELEASE_DEPS_MAX 256  /* dependencies */

typedef struct ggm_release_dep {
  const char *id;
  const char *range; /* semver range; "" means any */
} ggm_release_dep;

/* A release. To build one, fill the fields with borrowed strings (NULL = absent), then call
 * ggm_release_sign(). A decoded record points into storage it owns: free it with
 * ggm_release_free(). */
typedef struct ggm_release {
  const char *id;      /* package id: dot-separated [a-z0-9][a-z0-9_-]* segments (required) */
  const char *version; /* semver (required; printable ASCII, no spaces) */
  const char *name, *description, *license;
  const char *const *authors;
  size_t n_authors;
  const char *const *tags;
  size_t n_tags;
  const char *const *keywords;
  size_t n_keywords;
  const char *category, *homepage, *repository;
  const ggm_release_dep *deps;
  size_t n_deps;
  const char *ggen_compat;
  uint8_t archive_cid[GGM_CID_LEN];  /* CIDv1 raw sha2-256 of the archive (required) */
  uint64_t archive_size;             /* archive bytes */
  uint64_t publish_time;             /* seconds since the Unix epoch, UTC */
  uint8_t publisher[GG_ED25519_PUB]; /* Ed25519 public key (set by ggm_release_sign) */
  uint8_t signature[GG_ED25519_SIG]; /* set by ggm_release_sign / ggm_release_decode */
  /* private: storage of a decoded record */
  void *priv_;
  const gg_mem *mem_;
} ggm_release;

/* Validates every field of r against the rules and caps above. GG_OK or GG_EINVAL; *why (may
 * be NULL) gets a static description of the first problem ("" when valid). */
int ggm_release_check(const ggm_release *r, const char **why);

/* Appends the canonical ReleaseBody bytes of r to out (exactly what is signed, without the
 * domain prefix). Validates every field. GG_EINVAL (missing or malformed field, over a cap,
 * duplicate dependency id), GG_ETOOBIG / GG_ENOMEM from out. */
int ggm_release_encode_body(const ggm_release *r, gg_buf *out, const gg_mem *mem);

/* Sets r->publisher to kp's public key, signs GGM_RELEASE_DOMAIN || body with kp, stores the
 * signature in r->signature and appends the SignedRelease envelope to out (at most
 * GGM_RELEASE_MAX bytes). Errors as ggm_release_encode_body, GG_ETOOBIG over the maximum. */
int ggm_release_sign(ggm_release *r, const gg_keypair *kp, gg_buf *out, const gg_mem *mem);

/* Appends the SignedRelease envelope of an already signed r (re-encoding the body). */
int ggm_release_encode(const ggm_release *r, gg_buf *out, const gg_mem *mem);

/* Decodes a SignedRelease and verifies it: envelope and body well formed and canonical,
 * every field within its cap, signature valid for the embedded publisher key. On GG_OK, *r
 * owns its storage (ggm_release_free). Returns GG_ETOOBIG (over GGM_RELEASE_MAX), GG_EPARSE
 * (malformed, non-canonical, field invalid or over a cap), GG_EBADKEY (publisher key not an
 * Ed25519 PublicKey), GG_EBADSIG (signature does not verify: the record was tampered with),
 * GG_ENOMEM. On error *r is left zeroed. */
int ggm_release_decode(const uint8_t *in, size_t len, ggm_release *r, const gg_mem *mem);

/* Re-checks the signature of a record (decoded or built and signed): GG_OK or GG_EBADSIG
 * (GG_EINVAL if a field is invalid). */
int ggm_release_verify(const ggm_release *r, const gg_mem *mem);

/* Frees the storage of a decoded record and zeroes it. Safe on a built record (no-op beyond
 * zeroing) and on a zeroed one. */
void ggm_release_free(ggm_release *r);

/* Checks archive bytes against the record: size then CID. GG_OK or GG_EINTEGRITY. */
int ggm_release_check_archive_mem(const ggm_release *r, const uint8_t *data, size_t len);

/* Same, hashing the rest of fd from its current offset. GG_EINTEGRITY or GG_EIO. */
int ggm_release_check_archive_fd(const ggm_release *r, int fd);

/* Ownership rule: a package id belongs to the key that first published it. owner is the key
 * recorded for r->id (NULL when the id is new). GG_OK when owner is NULL or equal to
 * r->publisher, GG_EOWNER otherwise. The owner table itself lives in the catalog. */
int ggm_release_check_owner(const ggm_release *r, const uint8_t owner[GG_ED25519_PUB]);

/* Publisher key files (glue, src/market/release_key.c): the 68-byte libp2p PrivateKey
 * protobuf of an Ed25519 key, mode 0600 (default path <home>/publisher.key). */

/* Generates a key pair from r and writes it to path (created with O_EXCL, mode 0600).
 * GG_EEXIST if the file exists, GG_EIO. */
int ggm_release_key_create(const char *path, const gg_rand *r, gg_keypair *kp);

/* Reads a key file. GG_ENOTFOUND (no file), GG_EBADKEY (malformed or wrong length),
 * GG_EINVAL (readable by group or others: refused like ssh does), GG_EIO. */
int ggm_release_key_load(const char *path, gg_keypair *kp);

#endif
