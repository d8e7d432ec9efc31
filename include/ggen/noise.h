/*
 * Noise for libp2p (`/noise`; libp2p/specs noise/README.md) as a core without I/O:
 * Noise_XX_25519_ChaChaPoly_SHA256 with an empty prologue, every message framed by a 2-byte
 * big-endian length (at most 65535 bytes), the libp2p handshake payload (proto/noise.proto) in
 * messages 2 and 3, then transport messages with one cipher state per direction.
 *
 * The payload proves that the sender's libp2p identity key (Ed25519 here) owns the static
 * X25519 key: identity_sig = sign("noise-libp2p-static-key:" || static public key). The
 * receiver checks it, derives the remote peer id from identity_key and, when the caller
 * expects a particular peer (a dialer knows it from /p2p/ in the multiaddr), compares.
 * The stream-muxer extension goes both ways: ours is a setting, the remote's list is kept
 * and ggp_noise_muxer() applies the spec's choice rule (see that function).
 *
 * Usage:
 *   once per node: ggp_noise_local_new(&local, &identity, muxers, n, NULL, rand, mem);
 *   per connection: ggp_noise_new(&s, initiator, &(ggp_noise_settings){.local = local,
 *                                 .expected_peer = dialed_peer_or_NULL}, rand, mem);
 *   ggp_noise_start(s, wire);            // initiator: message 1; responder: nothing
 *   on every read: ggp_noise_recv(s, in, len, &used, plain, wire);
 *       handshake replies go to wire (send them), transport data to plain;
 *       ggp_noise_established(s) turns 1 when the handshake is complete and verified;
 *   to send: ggp_noise_encrypt(s, data, len, wire);   // once established
 *        or: ggp_noise_encrypt_to(s, data, len, block, cap, &n);  // into the caller's block
 *   ggp_noise_del(s);
 *
 * Randomness (the static key unless injected, the ephemeral key) comes only from the
 * injected gg_rand, at ggp_noise_local_new() and ggp_noise_new(). No timers: the handshake timeout
 * belongs to the host. Performance: transport frames are decrypted from the caller's input straight
 * into plain's tail and encrypted from the caller's data straight into wire's tail; only a frame
 * split across reads is copied once into an internal buffer (freed again when a read ends on a
 * frame boundary, so an idle session holds no 64 KiB buffer), or, with
 * settings.caller_keeps_partial, left in the caller's buffer.
 */
#ifndef GGEN_NOISE_H
#define GGEN_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/key.h"
#include "ggen/mem.h"
#include "ggen/peerid.h"
#include "ggen/rand.h"

#define GGP_NOISE_PROTOCOL_ID "/noise"
#define GGP_NOISE_MSG_MAX 65535                      /* a Noise message, framed by 2 bytes */
#define GGP_NOISE_PLAIN_MAX (GGP_NOISE_MSG_MAX - 16) /* plaintext per transport message */
#define GGP_NOISE_FRAME_HDR 2                        /* the length prefix of every message */
#define GGP_NOISE_OVERHEAD (GGP_NOISE_FRAME_HDR + 16) /* prefix + MAC per transport message */
#define GGP_NOISE_MUXERS_MAX 16                      /* stream_muxers entries, each way */
#define GGP_NOISE_MUXER_NAME_MAX 1024                /* bytes per entry (mss's name cap) */
#define GGP_NOISE_KEY 32

typedef struct ggp_noise ggp_noise;

/*
 * What a node brings to every handshake, computed once: its static X25519 key pair and its
 * signed payload (identity key, signature over the static key, muxer list). Sharing one
 * between all of a node's sessions saves a signature and a scalar multiplication per
 * connection; js-libp2p likewise keeps one static key per node (forward secrecy comes from the
 * ephemeral keys). Read-only once made: sessions on any thread may share it.
 */
typedef struct ggp_noise_local ggp_noise_local;

/*
 * Makes a node's local data. identity is used here only (not kept). muxers: our
 * stream_muxers extension in preference order (e.g. {"/yamux/1.0.0"}), at most
 * GGP_NOISE_MUXERS_MAX names of 1..GGP_NOISE_MUXER_NAME_MAX bytes, copied; none when nmuxers
 * is 0. static_key: a 32-byte X25519 private key, copied; when NULL it is drawn from rand.
 * Returns GG_OK, GG_EINVAL, GG_ENOMEM, GG_ECRYPTO (libsodium failed to initialise); on failure
 * *pl is untouched.
 */
int ggp_noise_local_new(ggp_noise_local **pl, const gg_keypair *identity, const char *const *muxers,
                        size_t nmuxers, const uint8_t *static_key, const gg_rand *rand,
                        const gg_mem *mem);

/* Wipes and frees local data (NULL is fine); no session may still use it. */
void ggp_noise_local_del(ggp_noise_local *l);

typedef struct ggp_noise_settings {
  /* Our node's data, borrowed: must outlive the session. When NULL the session makes its own
   * from identity, muxers and static_key below (a fresh static key per connection). */
  const ggp_noise_local *local;
  /* Without local: our identity key (required; used inside ggp_noise_new() only), our muxer
   * list and optional static key, as for ggp_noise_local_new(). Ignored with local. */
  const gg_keypair *identity;
  const char *const *muxers;
  size_t nmuxers;
  const uint8_t *static_key;
  /* Optional: the peer we expect; a different verified peer fails with GG_EPEERID. Copied. */
  const gg_peerid *expected_peer;
  /* Optional 32-byte X25519 ephemeral private key, for test vectors only; when NULL it is
   * drawn from rand. Copied. */
  const uint8_t *ephemeral_key;
  /* 0 (default): a frame split across reads is assembled inside the session (one copy).
   * 1: recv() never copies; it stops before an incomplete trailing frame (*consumed < len
   * with GG_OK) and the caller presents those bytes again with the next ones, so its buffer
   * must hold a whole frame (2 + GGP_NOISE_MSG_MAX bytes). Saves the copy for a host whose
   * read buffer keeps unconsumed bytes in place anyway. */
  int caller_keeps_partial;
} ggp_noise_settings;

/*
 * Creates a session. rand may be NULL only when no key needs drawing (ephemeral_key given,
 * and local or static_key given). mem NULL = default.
 * Returns GG_OK, GG_EINVAL (neither local nor identity, bad muxer list, no rand), GG_ENOMEM,
 * GG_ECRYPTO (libsodium failed to initialise). On failure *ps is untouched.
 */
int ggp_noise_new(ggp_noise **ps, int initiator, const ggp_noise_settings *st, const gg_rand *rand,
                  const gg_mem *mem);

/*
 * Begins the handshake: the initiator appends message 1 (its ephemeral key) to wire; the
 * responder appends nothing. Call once. GG_OK, GG_ESTATE (called twice), wire's append
 * errors (GG_ETOOBIG, GG_ENOMEM).
 */
int ggp_noise_start(ggp_noise *s, gg_buf *wire);

/*
 * Feeds received bytes (any split). Handshake messages are answered into wire; transport
 * messages are decrypted into plain. *consumed gets how much of in was used: all of it,
 * except after GG_ELIMIT and, with settings.caller_keeps_partial, an incomplete last frame.
 * Returns:
 *   GG_OK        all input processed (check ggp_noise_established());
 *   GG_ELIMIT    plain reached its limit: drain plain and call again with in[*consumed..len)
 *                (possibly empty: a complete frame may be held inside); not fatal;
 *   GG_EDECRYPT  a message failed authentication (tampered, or not Noise);
 *   GG_EBADSIG   the remote's identity signature does not verify;
 *   GG_EBADKEY   the remote's identity key is malformed or not Ed25519, or a low-order
 *                X25519 point;
 *   GG_EPEERID   the remote is not settings.expected_peer;
 *   GG_EPROTO    malformed handshake payload or message (missing fields, too short);
 *   GG_ETOOBIG   the remote's muxer list is over the caps;
 *   GG_ESTATE    initiator not started, or the session failed before;
 *   GG_ENOMEM, wire's append errors.
 * Every code but GG_OK and GG_ELIMIT is fatal: the session refuses further use.
 */
int ggp_noise_recv(ggp_noise *s, const uint8_t *in, size_t len, size_t *consumed, gg_buf *plain,
                   gg_buf *wire);

/*
 * Encrypts len bytes into transport messages appended to wire, splitting at
 * GGP_NOISE_PLAIN_MAX; ggp_noise_wire_len(len) bytes are appended, or nothing on failure.
 * data must not lie inside wire's storage. GG_OK, GG_ESTATE (not established or failed),
 * wire's append errors, GG_ECRYPTO (nonce exhausted after 2^64-1 messages).
 */
int ggp_noise_encrypt(ggp_noise *s, const uint8_t *data, size_t len, gg_buf *wire);

/*
 * The same into a block the caller owns (a socket write block): writes ggp_noise_wire_len(len)
 * bytes at out and stores that count in *written. Saves the copy of going through a gg_buf for a
 * host that hands its own blocks to the socket. data must not overlap out, with one exception:
 * data == out + GGP_NOISE_FRAME_HDR and len <= GGP_NOISE_PLAIN_MAX encrypts one message in place
 * (the caller laid the plaintext out where the ciphertext goes; the MAC follows it).
 * Returns GG_OK, GG_ESTATE (not established or failed), GG_ETOOBIG (cap is less than
 * ggp_noise_wire_len(len): nothing written, not fatal), GG_ECRYPTO (nonce exhausted; fatal).
 */
int ggp_noise_encrypt_to(ggp_noise *s, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                         size_t *written);

/* Bytes ggp_noise_encrypt() and ggp_noise_encrypt_to() produce for len bytes of data:
 * len + GGP_NOISE_OVERHEAD per started GGP_NOISE_PLAIN_MAX bytes (0 for len 0). */
size_t ggp_noise_wire_len(size_t len);

/* 1 once the handshake completed and the remote's payload verified. */
int ggp_noise_established(const ggp_noise *s);

/* The verified remote peer id, NULL before. Valid until ggp_noise_del(). */
const gg_peerid *ggp_noise_remote_peer(const ggp_noise *s);

/* The remote's stream_muxers extension once established: *list gets the names (NUL-
 * terminated, valid until ggp_noise_del()), the count is returned; 0 when it sent none. */
size_t ggp_noise_remote_muxers(const ggp_noise *s, const char *const **list);

/*
 * The muxer chosen through the Noise extension (libp2p/specs
 * connections/inlined-muxer-negotiation.md), or NULL when it must be negotiated with
 * multistream-select. Non-NULL only when both lists are non-empty and share a name: then it
 * is the first name of the initiator's list that the responder lists too, so both sides pick
 * the same one. js-libp2p picks the first name of its remote's list that it supports and
 * uses multistream-select when that list is empty; with one common muxer (yamux) that is
 * the same choice. Valid until ggp_noise_del().
 */
const char *ggp_noise_muxer(const ggp_noise *s);

/* Copies the handshake hash h (32 bytes; for channel binding and tests). GG_ESTATE before
 * the handshake is complete. */
int ggp_noise_handshake_hash(const ggp_noise *s, uint8_t out[32]);

/* Wipes and frees the session (NULL is fine). */
void ggp_noise_del(ggp_noise *s);

#endif
