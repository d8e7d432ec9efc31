/*
 * Ed25519 identity keys and the libp2p key protobuf (include/ggen/key.h;
 * libp2p/specs peer-ids/peer-ids.md "Keys").
 *
 * Encoding is done by hand because the layout is fixed (08 01 12 <len> <data>) and peer ids
 * depend on it byte for byte (the spec requires this deterministic form). Decoding accepts
 * any valid protobuf encoding of the two-field message (fields in either order, unknown
 * fields skipped).
 */
#include "ggen/key.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/varint.h"

void gg_keypair_from_seed(gg_keypair *kp, const uint8_t seed[GG_ED25519_SEED]) {
  crypto_sign_seed_keypair(kp->pub, kp->sk, seed);
}

void gg_keypair_generate(gg_keypair *kp, const gg_rand *r) {
  uint8_t seed[GG_ED25519_SEED];
  r->fill(r->ud, seed, sizeof(seed));
  gg_keypair_from_seed(kp, seed);
  sodium_memzero(seed, sizeof(seed));
}

void gg_sign(const gg_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[GG_ED25519_SIG]) {
  crypto_sign_detached(sig, NULL, msg, len, kp->sk);
}

int gg_verify(const uint8_t pub[GG_ED25519_PUB], const uint8_t *msg, size_t len,
              const uint8_t *sig, size_t siglen) {
  if (siglen != GG_ED25519_SIG) return GG_EBADSIG;
  return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? GG_OK : GG_EBADSIG;
}

void gg_pubkey_encode_ed25519(const uint8_t pub[GG_ED25519_PUB],
                              uint8_t out[GG_PUBKEY_PB_ED25519]) {
  out[0] = 0x08; /* field 1 (Type), varint */
  out[1] = GG_KEY_ED25519;
  out[2] = 0x12; /* field 2 (Data), length-delimited */
  out[3] = GG_ED25519_PUB;
  memcpy(out + 4, pub, GG_ED25519_PUB);
}

/*
 * Decodes a {Type = 1 (varint), Data = 2 (bytes)} message into type and a pointer into in.
 * Done by hand (not protobuf-c) because the caller wants a pointer into its own buffer and the
 * message has two fields. Unknown fields are skipped as protobuf requires; a repeated field
 * keeps its last value; both fields are required.
 */
static int decode_typed(const uint8_t *in, size_t len, int *type, const uint8_t **data,
                        size_t *dlen) {
  if (len > GG_PUBKEY_PB_MAX) return GG_EBADKEY;
  int have_type = 0, have_data = 0;
  size_t i = 0;
  while (i < len) {
    uint64_t tag, v;
    int n = gg_varint_decode_u64(in + i, len - i, &tag);
    if (n < 0) return GG_EBADKEY;
    i += (size_t)n;
    switch (tag & 7) {
    case 0: /* varint */
      n = gg_varint_decode_u64(in + i, len - i, &v);
      if (n < 0) return GG_EBADKEY;
      i += (size_t)n;
      if (tag >> 3 == 1) {
        if (v > GG_KEY_ECDSA) return GG_EBADKEY;
        *type = (int)v;
        have_type = 1;
      }
      break;
    case 2: /* length-delimited */
      n = gg_varint_decode_u64(in + i, len - i, &v);
      if (n < 0 || v > len - i - (size_t)n) return GG_EBADKEY;
      i += (size_t)n;
      if (tag >> 3 == 2) {
        *data = in + i;
        *dlen = (size_t)v;
        have_data = 1;
      }
      i += (size_t)v;
      break;
    case 1: /* 64-bit */
      if (len - i < 8) return GG_EBADKEY;
      i += 8;
      break;
    case 5: /* 32-bit */
      if (len - i < 4) return GG_EBADKEY;
      i += 4;
      break;
    default:
      return GG_EBADKEY;
    }
    if ((tag >> 3) == 0) return GG_EBADKEY;
  }
  return have_type && have_data ? GG_OK : GG_EBADKEY;
}

int gg_pubkey_decode(const uint8_t *in, size_t len, gg_pubkey *out) {
  int type;
  const uint8_t *data;
  size_t n;
  int rv = decode_typed(in, len, &type, &data, &n);
  if (rv) return rv;
  if (type == GG_KEY_ED25519 && n != GG_ED25519_PUB) return GG_EBADKEY;
  out->type = type;
  out->data = data;
  out->len = n;
  return GG_OK;
}

int gg_pubkey_verify(const gg_pubkey *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                     size_t siglen) {
  if (k->type != GG_KEY_ED25519) return GG_EUNSUPPORTED;
  return gg_verify(k->data, msg, len, sig, siglen);
}

void gg_privkey_encode(const gg_keypair *kp, uint8_t out[GG_PRIVKEY_PB_ED25519]) {
  out[0] = 0x08;
  out[1] = GG_KEY_ED25519;
  out[2] = 0x12;
  out[3] = GG_ED25519_SK;
  memcpy(out + 4, kp->sk, GG_ED25519_SK);
}

int gg_privkey_decode(const uint8_t *in, size_t len, gg_keypair *kp) {
  int type;
  const uint8_t *data;
  size_t n;
  int rv = decode_typed(in, len, &type, &data, &n);
  if (rv) return rv;
  if (type != GG_KEY_ED25519 || n != GG_ED25519_SK) return GG_EBADKEY;
  gg_keypair k;
  gg_keypair_from_seed(&k, data); /* the first 32 bytes are the seed */
  if (sodium_memcmp(k.pub, data + GG_ED25519_SEED, GG_ED25519_PUB) != 0) {
    sodium_memzero(&k, sizeof(k));
    return GG_EBADKEY;
  }
  *kp = k;
  sodium_memzero(&k, sizeof(k));
  return GG_OK;
}
