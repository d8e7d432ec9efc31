/*
 * Internal: the plain Noise_XX_25519_ChaChaPoly_SHA256 machinery (src/proto/noise_xx.c) under
 * the libp2p layer (src/proto/noise.c). Exposed here, not in include/, so the tests can
 * drive it with the published test vectors (any prologue, any payloads, fixed keys).
 *
 * Noise spec rev. 34 sections 5.1 (CipherState), 5.2 (SymmetricState), 5.3 (HandshakeState),
 * 7.5 (XX), 12 (25519, ChaChaPoly, SHA256). No I/O, no allocation, no randomness: keys come
 * in from the caller. After any error a handshake state is unusable (the spec's "abort").
 */
#ifndef GGEN_PROTO_NOISE_INT_H
#define GGEN_PROTO_NOISE_INT_H

#include <stddef.h>
#include <stdint.h>

#define GGP__NOISE_KEY 32
#define GGP__NOISE_HASH 32
#define GGP__NOISE_MAC 16
#define GGP__NOISE_MSG_MAX 65535

/* A CipherState: a key and a 64-bit nonce. */
typedef struct ggp__noise_cs {
  uint8_t k[GGP__NOISE_KEY];
  uint64_t n;
  int has_k;
} ggp__noise_cs;

/* A HandshakeState for XX: the SymmetricState (ck, h, cs) and the four key pairs. */
typedef struct ggp__noise_hs {
  uint8_t ck[GGP__NOISE_HASH];
  uint8_t h[GGP__NOISE_HASH];
  ggp__noise_cs cs;
  int initiator;
  int step; /* handshake messages written or read so far, 0..3 */
  uint8_t s[32], s_pub[32], e[32], e_pub[32], rs[32], re[32];
} ggp__noise_hs;

/* Initialises the handshake with our static and ephemeral private keys and the prologue
 * (libp2p: empty). The ephemeral public key is derived, the static one too unless given
 * (s_pub NULL), which saves a scalar multiplication per connection for a per-node key. */
void ggp__noise_hs_init(ggp__noise_hs *hs, int initiator, const uint8_t *prologue, size_t plen,
                        const uint8_t s[32], const uint8_t s_pub[32], const uint8_t e[32]);

/* Bytes the next handshake message adds to its payload (tokens, static key, MAC). */
size_t ggp__noise_hs_overhead(const ggp__noise_hs *hs);

/* 1 when the next handshake message is ours to write. */
int ggp__noise_hs_our_turn(const ggp__noise_hs *hs);

/*
 * Writes the next handshake message with payload into out, which has room for
 * ggp__noise_hs_overhead(hs) + plen bytes; *outlen gets the length. payload and out must not
 * overlap. GG_OK, GG_ESTATE (not our turn or the handshake is over), GG_ETOOBIG (over 65535
 * bytes), GG_EBADKEY (a DH result of zero: the remote sent a low-order point).
 */
int ggp__noise_hs_write(ggp__noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
                        size_t *outlen);

/*
 * Reads the next handshake message; the payload (len - overhead bytes) is decrypted into
 * payload (must not overlap msg) and *plen gets its length. GG_OK, GG_ESTATE, GG_EPROTO (too
 * short), GG_EDECRYPT (bad MAC), GG_EBADKEY (low-order point).
 */
int ggp__noise_hs_read(ggp__noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                       size_t *plen);

/* 1 after the third message. */
int ggp__noise_hs_done(const ggp__noise_hs *hs);

/* Split(): c1 encrypts initiator->responder, c2 responder->initiator. Wipes ck and the
 * private keys of hs; h (the handshake hash) stays. */
void ggp__noise_hs_split(ggp__noise_hs *hs, ggp__noise_cs *c1, ggp__noise_cs *c2);

/* X25519: out = DH(priv, pub). GG_OK, or GG_EBADKEY when the result is zero (pub has low
 * order): the Noise spec allows either, rejecting keeps a peer from forcing a known key. */
int ggp__noise_dh(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]);

/* ENCRYPT(k, n++, ad, in) / DECRYPT(k, n++, ad, in) of spec 5.1, as below but with
 * associated data (the handshake uses h). */
int ggp__noise_cs_encrypt_ad(ggp__noise_cs *cs, const uint8_t *ad, size_t adlen, const uint8_t *in,
                             size_t len, uint8_t *out);
int ggp__noise_cs_decrypt_ad(ggp__noise_cs *cs, const uint8_t *ad, size_t adlen, const uint8_t *in,
                             size_t len, uint8_t *out);

/* Transport encryption with empty associated data: out gets len + 16 bytes (out == in is
 * allowed). GG_OK, or GG_ECRYPTO when the nonce is exhausted (after 2^64-1 messages). */
int ggp__noise_cs_encrypt(ggp__noise_cs *cs, const uint8_t *in, size_t len, uint8_t *out);

/* Transport decryption: len >= 16, out gets len - 16 bytes (out == in is allowed).
 * GG_OK, GG_EDECRYPT (bad MAC or len < 16; out is then unspecified), GG_ECRYPTO. */
int ggp__noise_cs_decrypt(ggp__noise_cs *cs, const uint8_t *in, size_t len, uint8_t *out);

#endif
