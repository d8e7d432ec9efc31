/*
 * Identity keys: Ed25519 (libsodium) and the libp2p key protobuf
 * (libp2p/specs peer-ids/peer-ids.md "Keys": message PublicKey { KeyType Type = 1; bytes Data = 2; }).
 *
 * Only Ed25519 keys can be created, used to sign and used to verify. Public keys of the other
 * types (RSA, secp256k1, ECDSA) can still be decoded and turned into peer ids.
 */
#ifndef GGEN_KEY_H
#define GGEN_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/rand.h"

enum { GG_KEY_RSA = 0, GG_KEY_ED25519 = 1, GG_KEY_SECP256K1 = 2, GG_KEY_ECDSA = 3 };

#define GG_ED25519_PUB 32
#define GG_ED25519_SEED 32
#define GG_ED25519_SK 64 /* libsodium / libp2p private form: seed || public key */
#define GG_ED25519_SIG 64
#define GG_PUBKEY_PB_ED25519 36 /* 08 01 12 20 <32 bytes> */
#define GG_PUBKEY_PB_MAX 1024   /* cap on an encoded public key accepted from a peer */

typedef struct gg_keypair {
  uint8_t pub[GG_ED25519_PUB];
  uint8_t sk[GG_ED25519_SK];
} gg_keypair;

/* Derives a key pair from a 32-byte seed (deterministic). */
void gg_keypair_from_seed(gg_keypair *kp, const uint8_t seed[GG_ED25519_SEED]);

/* Generates a key pair with seed bytes from r. */
void gg_keypair_generate(gg_keypair *kp, const gg_rand *r);

/* Signs msg; sig gets 64 bytes. */
void gg_sign(const gg_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[GG_ED25519_SIG]);

/* Verifies an Ed25519 signature. GG_OK or GG_EBADSIG. */
int gg_verify(const uint8_t pub[GG_ED25519_PUB], const uint8_t *msg, size_t len,
              const uint8_t *sig, size_t siglen);

/* Writes the 36-byte PublicKey protobuf of an Ed25519 public key. */
void gg_pubkey_encode_ed25519(const uint8_t pub[GG_ED25519_PUB], uint8_t out[GG_PUBKEY_PB_ED25519]);

/* A decoded public key: type and a pointer into the caller's buffer. */
typedef struct gg_pubkey {
  int type;
  const uint8_t *data;
  size_t len;
} gg_pubkey;

/* Decodes a PublicKey protobuf. GG_EBADKEY when malformed, over GG_PUBKEY_PB_MAX, or an
 * Ed25519 key that is not 32 bytes. data points into in. */
int gg_pubkey_decode(const uint8_t *in, size_t len, gg_pubkey *out);

/* Verifies sig over msg with a decoded public key: GG_OK, GG_EBADSIG, or GG_EUNSUPPORTED for
 * key types other than Ed25519. */
int gg_pubkey_verify(const gg_pubkey *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                     size_t siglen);

/* PrivateKey protobuf of an Ed25519 key pair (68 bytes: 08 01 12 40 <seed||pub>), and back.
 * Decoding checks that the embedded public key matches the seed: GG_EBADKEY otherwise. */
#define GG_PRIVKEY_PB_ED25519 68
void gg_privkey_encode(const gg_keypair *kp, uint8_t out[GG_PRIVKEY_PB_ED25519]);
int gg_privkey_decode(const uint8_t *in, size_t len, gg_keypair *kp);

#endif
