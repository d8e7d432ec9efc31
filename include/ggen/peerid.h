/*
 * libp2p peer ids (libp2p/specs peer-ids/peer-ids.md).
 *
 * A peer id is the multihash of the PublicKey protobuf: the identity multihash when the
 * protobuf is at most 42 bytes (every Ed25519 key: 00 24 08 01 12 20 <key>), else sha2-256.
 * Text forms: base58btc of the multihash ("12D3KooW…", "Qm…"), and CIDv1 with the libp2p-key
 * codec (0x72) in multibase base32 ("bafzaa…"). Parsing accepts both.
 */
#ifndef GGEN_PEERID_H
#define GGEN_PEERID_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/key.h"

#define GG_PEERID_MAX 48     /* identity multihash of <= 42 bytes, plus 2-byte header, rounded */
#define GG_PEERID_TEXT_MAX 96 /* longest text form, with NUL */

typedef struct gg_peerid {
  uint8_t len;
  uint8_t b[GG_PEERID_MAX];
} gg_peerid;

/* Peer id of an encoded PublicKey protobuf (any key type). GG_EBADKEY when malformed. */
int gg_peerid_from_pubkey_pb(gg_peerid *id, const uint8_t *pb, size_t len);

/* Peer id of an Ed25519 public key. */
void gg_peerid_from_ed25519(gg_peerid *id, const uint8_t pub[GG_ED25519_PUB]);

/* Validates and copies a binary peer id (a multihash: identity <= 42 bytes or sha2-256).
 * GG_EPARSE when it is not one. */
int gg_peerid_from_bytes(gg_peerid *id, const uint8_t *b, size_t len);

/* For identity-multihash ids, the embedded PublicKey protobuf (pointer into id) and its
 * length; GG_ENOTFOUND for hashed ids. */
int gg_peerid_pubkey_pb(const gg_peerid *id, const uint8_t **pb, size_t *len);

/* Text forms, NUL-terminated into out (cap >= GG_PEERID_TEXT_MAX is always enough).
 * Return the length, or GG_EINVAL when cap is too small. */
int gg_peerid_to_b58(const gg_peerid *id, char *out, size_t cap);
int gg_peerid_to_cid(const gg_peerid *id, char *out, size_t cap);

/* Parses base58btc or CIDv1 (libp2p-key, any multibase) text. GG_EPARSE on anything else. */
int gg_peerid_parse(gg_peerid *id, const char *s, size_t len);

int gg_peerid_eq(const gg_peerid *a, const gg_peerid *b);
int gg_peerid_cmp(const gg_peerid *a, const gg_peerid *b);

/* A short printable form for logs ("12D3Koo…YdBfeSB"), into a static thread-local buffer. */
const char *gg_peerid_short(const gg_peerid *id);

#endif
