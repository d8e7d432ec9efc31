/*
 * Noise_XX_25519_ChaChaPoly_SHA256 (src/proto/noise_int.h), after the Noise Protocol
 * Framework rev. 34: CipherState (5.1), SymmetricState (5.2), HandshakeState (5.3) reduced to
 * the one pattern libp2p uses,
 *
 *   XX:  -> e
 *        <- e, ee, s, es
 *        -> s, se
 *
 * with X25519 (crypto_scalarmult), ChaCha20-Poly1305 IETF (96-bit nonce = 4 zero bytes ||
 * little-endian 64-bit counter) and SHA-256 / HMAC-SHA-256 for HASH and HKDF, all libsodium.
 *
 * Invariants: hs->step counts messages done; even steps are written by the initiator. The
 * handshake cipher has a key from the first "ee" on. A DH that yields zero (libsodium refuses
 * low-order points) fails the handshake instead of continuing with a predictable key.
 */
#include "proto/noise_int.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"

static const char PROTOCOL_NAME[] = "Noise_XX_25519_ChaChaPoly_SHA256";

/* ---- CipherState ------------------------------------------------------------------------ */

static void nonce96(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++) out[4 + i] = (uint8_t)(n >> (8 * i));
}

int ggp__noise_cs_encrypt_ad(ggp__noise_cs *cs, const uint8_t *ad, size_t adlen, const uint8_t *in,
                             size_t len, uint8_t *out) {
  if (cs->n == UINT64_MAX) return GG_ECRYPTO; /* 2^64-1 is reserved (spec 5.1) */
  uint8_t nonce[12];
  nonce96(nonce, cs->n);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + len, NULL, in, len, ad, adlen, NULL,
                                                     nonce, cs->k);
  cs->n++;
  return GG_OK;
}

int ggp__noise_cs_decrypt_ad(ggp__noise_cs *cs, const uint8_t *ad, size_t adlen, const uint8_t *in,
                             size_t len, uint8_t *out) {
  if (len < GGP__NOISE_MAC) return GG_EDECRYPT;
  if (cs->n == UINT64_MAX) return GG_ECRYPTO;
  uint8_t nonce[12];
  nonce96(nonce, cs->n);
  size_t plen = len - GGP__NOISE_MAC;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, in, plen, in + plen, ad, adlen,
                                                         nonce, cs->k) != 0)
    return GG_EDECRYPT;
  cs->n++;
  return GG_OK;
}

int ggp__noise_cs_encrypt(ggp__noise_cs *cs, const uint8_t *in, size_t len, uint8_t *out) {
  return ggp__noise_cs_encrypt_ad(cs, NULL, 0, in, len, out);
}

int ggp__noise_cs_decrypt(ggp__noise_cs *cs, const uint8_t *in, size_t len, uint8_t *out) {
  return ggp__noise_cs_decrypt_ad(cs, NULL, 0, in, len, out);
}

/* ---- SymmetricState --------------------------------------------------------------------- */

static void hmac(const uint8_t key[32], const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, 32);
  crypto_auth_hmacsha256_update(&st, a, alen);
  if (blen) crypto_auth_hmacsha256_update(&st, b, blen);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof(st));
}

/* HKDF with two outputs (spec 4.3). */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen, uint8_t o1[32],
                  uint8_t o2[32]) {
  uint8_t temp[32], one = 0x01, two = 0x02;
  hmac(ck, ikm, ikmlen, NULL, 0, temp);
  hmac(temp, &one, 1, NULL, 0, o1);
  hmac(temp, o1, 32, &two, 1, o2);
  sodium_memzero(temp, sizeof(temp));
}

static void mix_hash(ggp__noise_hs *hs, const uint8_t *data, size_t len) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, hs->h, 32);
  crypto_hash_sha256_update(&st, data, len);
  crypto_hash_sha256_final(&st, hs->h);
}

static void mix_key(ggp__noise_hs *hs, const uint8_t ikm[32]) {
  uint8_t ck[32];
  hkdf2(hs->ck, ikm, 32, ck, hs->cs.k); /* HASHLEN 32 = key size: no truncation */
  memcpy(hs->ck, ck, 32);
  sodium_memzero(ck, sizeof(ck));
  hs->cs.n = 0;
  hs->cs.has_k = 1;
}

int ggp__noise_dh(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]) {
  /* libsodium returns -1 when the result is all zero (a low-order point) */
  return crypto_scalarmult_curve25519(out, priv, pub) == 0 ? GG_OK : GG_EBADKEY;
}

/* MixKey(DH(priv, pub)). */
static int mix_dh(ggp__noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32]) {
  uint8_t shared[32];
  if (ggp__noise_dh(shared, priv, pub)) return GG_EBADKEY;
  mix_key(hs, shared);
  sodium_memzero(shared, sizeof(shared));
  return GG_OK;
}

/* EncryptAndHash: out gets len (+16 once there is a key) bytes. */
static int encrypt_and_hash(ggp__noise_hs *hs, const uint8_t *in, size_t len, uint8_t *out,
                            size_t *outlen) {
  if (!hs->cs.has_k) {
    if (len) memmove(out, in, len);
    *outlen = len;
  } else {
    int rv = ggp__noise_cs_encrypt_ad(&hs->cs, hs->h, 32, in, len, out);
    if (rv) return rv;
    *outlen = len + GGP__NOISE_MAC;
  }
  mix_hash(hs, out, *outlen);
  return GG_OK;
}

/* DecryptAndHash: in is len bytes of ciphertext, out gets the plaintext. The AD is h before
 * absorbing the ciphertext, and the ciphertext is absorbed before decryption could overwrite
 * it (out == in is then safe). */
static int decrypt_and_hash(ggp__noise_hs *hs, const uint8_t *in, size_t len, uint8_t *out,
                            size_t *outlen) {
  uint8_t h_old[32];
  memcpy(h_old, hs->h, 32);
  mix_hash(hs, in, len);
  if (!hs->cs.has_k) {
    if (len) memmove(out, in, len);
    *outlen = len;
    return GG_OK;
  }
  int rv = ggp__noise_cs_decrypt_ad(&hs->cs, h_old, 32, in, len, out);
  if (rv) return rv;
  *outlen = len - GGP__NOISE_MAC;
  return GG_OK;
}

/* ---- HandshakeState (XX only) ------------------------------------------------------------- */

void ggp__noise_hs_init(ggp__noise_hs *hs, int initiator, const uint8_t *prologue, size_t plen,
                        const uint8_t s[32], const uint8_t s_pub[32], const uint8_t e[32]) {
  memset(hs, 0, sizeof(*hs));
  hs->initiator = initiator != 0;
  /* the name is exactly HASHLEN bytes, so h = name (spec 5.2 InitializeSymmetric) */
  memcpy(hs->h, PROTOCOL_NAME, 32);
  memcpy(hs->ck, hs->h, 32);
  mix_hash(hs, prologue, plen);
  memcpy(hs->s, s, 32);
  memcpy(hs->e, e, 32);
  if (s_pub)
    memcpy(hs->s_pub, s_pub, 32);
  else
    crypto_scalarmult_curve25519_base(hs->s_pub, hs->s);
  crypto_scalarmult_curve25519_base(hs->e_pub, hs->e);
}

size_t ggp__noise_hs_overhead(const ggp__noise_hs *hs) {
  switch (hs->step) {
  case 0: return 32;                           /* e, payload in clear */
  case 1: return 32 + 32 + 2 * GGP__NOISE_MAC; /* e, enc(s), payload MAC */
  case 2: return 32 + 2 * GGP__NOISE_MAC;      /* enc(s), payload MAC */
  default: return 0;
  }
}

int ggp__noise_hs_our_turn(const ggp__noise_hs *hs) {
  return hs->step < 3 && ((hs->step % 2 == 0) == (hs->initiator != 0));
}

int ggp__noise_hs_done(const ggp__noise_hs *hs) { return hs->step >= 3; }

int ggp__noise_hs_write(ggp__noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
                        size_t *outlen) {
  if (!ggp__noise_hs_our_turn(hs)) return GG_ESTATE;
  if (plen > GGP__NOISE_MSG_MAX - ggp__noise_hs_overhead(hs)) return GG_ETOOBIG;
  size_t pos = 0, n;
  int rv = GG_OK;
  switch (hs->step) {
  case 0: /* -> e */
    memcpy(out, hs->e_pub, 32);
    mix_hash(hs, hs->e_pub, 32);
    pos = 32;
    break;
  case 1: /* <- e, ee, s, es */
    memcpy(out, hs->e_pub, 32);
    mix_hash(hs, hs->e_pub, 32);
    pos = 32;
    if ((rv = mix_dh(hs, hs->e, hs->re))) return rv;
    if ((rv = encrypt_and_hash(hs, hs->s_pub, 32, out + pos, &n))) return rv;
    pos += n;
    if ((rv = mix_dh(hs, hs->s, hs->re))) return rv;
    break;
  case 2: /* -> s, se */
    if ((rv = encrypt_and_hash(hs, hs->s_pub, 32, out, &n))) return rv;
    pos = n;
    if ((rv = mix_dh(hs, hs->s, hs->re))) return rv;
    break;
  }
  if ((rv = encrypt_and_hash(hs, payload, plen, out + pos, &n))) return rv;
  *outlen = pos + n;
  hs->step++;
  return GG_OK;
}

int ggp__noise_hs_read(ggp__noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                       size_t *plen) {
  if (hs->step >= 3 || ggp__noise_hs_our_turn(hs)) return GG_ESTATE;
  if (len < ggp__noise_hs_overhead(hs) || len > GGP__NOISE_MSG_MAX) return GG_EPROTO;
  size_t pos = 0, n;
  int rv;
  uint8_t tmp[32];
  switch (hs->step) {
  case 0: /* -> e */
    memcpy(hs->re, msg, 32);
    mix_hash(hs, hs->re, 32);
    pos = 32;
    break;
  case 1: /* <- e, ee, s, es */
    memcpy(hs->re, msg, 32);
    mix_hash(hs, hs->re, 32);
    pos = 32;
    if ((rv = mix_dh(hs, hs->e, hs->re))) return rv;
    if ((rv = decrypt_and_hash(hs, msg + pos, 32 + GGP__NOISE_MAC, tmp, &n))) return rv;
    memcpy(hs->rs, tmp, 32);
    pos += 32 + GGP__NOISE_MAC;
    if ((rv = mix_dh(hs, hs->e, hs->rs))) return rv;
    break;
  case 2: /* -> s, se */
    if ((rv = decrypt_and_hash(hs, msg, 32 + GGP__NOISE_MAC, tmp, &n))) return rv;
    memcpy(hs->rs, tmp, 32);
    pos = 32 + GGP__NOISE_MAC;
    if ((rv = mix_dh(hs, hs->e, hs->rs))) return rv;
    break;
  }
  if ((rv = decrypt_and_hash(hs, msg + pos, len - pos, payload, plen))) return rv;
  hs->step++;
  return GG_OK;
}

void ggp__noise_hs_split(ggp__noise_hs *hs, ggp__noise_cs *c1, ggp__noise_cs *c2) {
  memset(c1, 0, sizeof(*c1));
  memset(c2, 0, sizeof(*c2));
  hkdf2(hs->ck, NULL, 0, c1->k, c2->k);
  c1->has_k = c2->has_k = 1;
  sodium_memzero(hs->ck, sizeof(hs->ck));
  sodium_memzero(&hs->cs, sizeof(hs->cs));
  sodium_memzero(hs->s, sizeof(hs->s));
  sodium_memzero(hs->e, sizeof(hs->e));
}
