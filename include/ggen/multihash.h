/*
 * Multihash (multiformats/multihash): <hash function code varint><digest length varint><digest>.
 *
 * Decoding is generic: any function code is accepted as long as the framing is exact, and a
 * digest longer than a known function's output is rejected (a 33-byte "sha2-256" is not one).
 * Shorter digests are truncated hashes and are valid. Hashing is provided for identity,
 * sha2-256 and sha2-512 (libsodium); other functions can be named, decoded and encoded.
 * Function names and codes agree with the multicodec table (tests/test_multihash.c checks it).
 */
#ifndef GGEN_MULTIHASH_H
#define GGEN_MULTIHASH_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"

enum {
  GG_MH_IDENTITY = 0x00,
  GG_MH_SHA1 = 0x11,
  GG_MH_SHA2_256 = 0x12,
  GG_MH_SHA2_512 = 0x13,
  GG_MH_SHA3_512 = 0x14,
  GG_MH_SHA3_384 = 0x15,
  GG_MH_SHA3_256 = 0x16,
  GG_MH_SHA3_224 = 0x17,
  GG_MH_SHA2_384 = 0x20,
  GG_MH_BLAKE2B_256 = 0xb220,
};

#define GG_MH_SHA256_LEN 34 /* 12 20 <32-byte digest> */

/* A decoded multihash: a view into the caller's bytes. */
typedef struct gg_mh {
  uint64_t code;         /* hash function code */
  const uint8_t *digest; /* dlen bytes, inside the decoded input */
  size_t dlen;
  size_t size; /* bytes of the whole multihash (header + digest) */
} gg_mh;

/*
 * Decodes in[0..len) as exactly one multihash (no trailing bytes). Varints follow the
 * multiformats rules (minimal, at most 9 bytes). mh->digest points into in.
 * GG_EPARSE when malformed, truncated, followed by extra bytes, or when the digest is longer
 * than the named function produces.
 */
int gg_mh_decode(const uint8_t *in, size_t len, gg_mh *mh);

/* Appends code || dlen || digest to out. GG_EINVAL when dlen exceeds the output size of a
 * known fixed-size function; gg_buf errors (GG_ETOOBIG, GG_ENOMEM). */
int gg_mh_encode(uint64_t code, const uint8_t *digest, size_t dlen, gg_buf *out);

/*
 * Hashes data with the function code and appends the multihash to out. trunc < 0 keeps the
 * whole digest; 0 <= trunc <= digest size keeps the first trunc bytes (multihash truncation).
 * Identity takes no truncation (trunc must be < 0 or equal to len). GG_EUNSUPPORTED for a
 * function we cannot compute, GG_EINVAL for a bad trunc, gg_buf errors.
 */
int gg_mh_sum(uint64_t code, const uint8_t *data, size_t len, int trunc, gg_buf *out);

/* The sha2-256 multihash of data into a fixed 34-byte array (the common case: provider keys,
 * CIDs, hashed peer ids). Cannot fail. */
void gg_mh_sha256(const uint8_t *data, size_t len, uint8_t out[GG_MH_SHA256_LEN]);

/* The multicodec name of a hash function ("sha2-256"), or NULL when not in our table. */
const char *gg_mh_name(uint64_t code);

/* The code of a named hash function: GG_OK, or GG_ENOTFOUND. */
int gg_mh_code(const char *name, uint64_t *code);

/* The digest size of a known fixed-size function in bytes, 0 for variable-size functions
 * (identity, shake, blake3), GG_ENOTFOUND for codes not in our table. */
int gg_mh_digest_size(uint64_t code);

#endif
