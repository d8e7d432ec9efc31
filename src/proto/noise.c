/*
 * Noise for libp2p (include/ggen/noise.h; libp2p/specs noise/README.md "Wire Format",
 * "The libp2p Handshake Payload"; connections/inlined-muxer-negotiation.md).
 *
 * Layers: the plain XX handshake and cipher states are in noise_xx.c; this file adds the
 * 2-byte length framing, the signed payload and the session states
 *
 *   initiator: NEW -start-> WAIT2 -msg2 (verify), write msg3-> OPEN
 *   responder: NEW -start-> WAIT1 -msg1, write msg2-> WAIT3 -msg3 (verify)-> OPEN
 *   any error -> FAILED (keys wiped, every later call refused)
 *
 * Framing invariant: rx holds at most one partial frame (2-byte length + up to 65535 bytes)
 * and only bytes of that frame, and stays empty with caller_keeps_partial; whole frames found in
 * the caller's input are decrypted in place of the input into plain's tail, so bulk data is touched
 * once by the cipher and copied only when a frame straddles two reads.
 *
 * Our static key and signed payload live in a ggp_noise_local: one per node shared by all its
 * sessions (js-libp2p also keeps one static key per node), or one per session when the host
 * gives none. Either way the identity key is used at creation only and never stored. The
 * remote's payload is checked before anything of it is exposed.
 */
#include "ggen/noise.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "noise.pb-c.h"
#include "proto/noise_int.h"

#define SIG_PREFIX "noise-libp2p-static-key:"
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define FRAME_HDR 2

enum state { ST_NEW, ST_WAIT1, ST_WAIT2, ST_WAIT3, ST_OPEN, ST_FAILED };

struct ggp_noise {
  const gg_mem *mem;
  enum state state;
  int initiator;
  ggp__noise_hs hs;
  ggp__noise_cs tx, rx_cs;
  gg_buf rx;                    /* partial frame */
  const ggp_noise_local *local; /* our static key, payload and muxers */
  ggp_noise_local *own;         /* == local when this session made it */
  int has_expected, caller_keeps_partial;
  gg_peerid expected, remote;
  char **theirs; /* the remote's muxers (one allocation: pointers, then the strings) */
  size_t ntheirs;
  const char *muxer; /* points into theirs */
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* Copies n names into one allocation: an array of n pointers followed by the strings. */
static int copy_names(const gg_mem *mem, char *const *names, size_t n, char ***out) {
  size_t total = n * sizeof(char *);
  for (size_t i = 0; i < n; i++) total += strlen(names[i]) + 1;
  char **arr = gg_malloc(mem, total ? total : 1);
  if (!arr) return GG_ENOMEM;
  char *p = (char *)(arr + n);
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(names[i]) + 1;
    memcpy(p, names[i], l);
    arr[i] = p;
    p += l;
  }
  *out = arr;
  return GG_OK;
}

static void fail(ggp_noise *s) {
  s->state = ST_FAILED;
  sodium_memzero(&s->hs, sizeof(s->hs));
  sodium_memzero(&s->tx, sizeof(s->tx));
  sodium_memzero(&s->rx_cs, sizeof(s->rx_cs));
  gg_buf_free(&s->rx);
}

/* protobuf-c allocator that remembers a failed allocation, so that a NULL from unpack can be
 * told apart: out of memory (ours) or malformed (theirs). */
typedef struct pb_ctx {
  const gg_mem *mem;
  int nomem;
} pb_ctx;

static void *pb_alloc(void *ud, size_t n) {
  pb_ctx *c = ud;
  void *p = gg_malloc(c->mem, n);
  if (!p) c->nomem = 1;
  return p;
}

static void pb_free(void *ud, void *p) { gg_free(((pb_ctx *)ud)->mem, p); }

/* ---- creation ------------------------------------------------------------------------------ */

/* Per-node data: computed once, shared read-only by every session that points to it. */
struct ggp_noise_local {
  const gg_mem *mem;
  uint8_t s[32], s_pub[32]; /* static X25519 key pair */
  uint8_t *payload;         /* our signed handshake payload */
  size_t payload_len;
  char **muxers; /* copy_names() layout */
  size_t nmuxers;
};

static int build_payload(ggp_noise_local *l, const gg_keypair *identity, const char *const *muxers,
                         size_t nmuxers) {
  uint8_t keypb[GG_PUBKEY_PB_ED25519], msg[SIG_PREFIX_LEN + 32], sig[GG_ED25519_SIG];
  gg_pubkey_encode_ed25519(identity->pub, keypb);
  memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
  memcpy(msg + SIG_PREFIX_LEN, l->s_pub, 32);
  gg_sign(identity, msg, sizeof(msg), sig);

  NoisePb__NoiseHandshakePayload p = NOISE_PB__NOISE_HANDSHAKE_PAYLOAD__INIT;
  NoisePb__NoiseExtensions ext = NOISE_PB__NOISE_EXTENSIONS__INIT;
  p.has_identity_key = 1;
  p.identity_key.data = keypb;
  p.identity_key.len = sizeof(keypb);
  p.has_identity_sig = 1;
  p.identity_sig.data = sig;
  p.identity_sig.len = sizeof(sig);
  if (nmuxers) {
    ext.n_stream_muxers = nmuxers;
    ext.stream_muxers = (char **)muxers;
    p.extensions = &ext;
  }
  size_t n = noise_pb__noise_handshake_payload__get_packed_size(&p);
  l->payload = gg_malloc(l->mem, n);
  if (!l->payload) return GG_ENOMEM;
  l->payload_len = noise_pb__noise_handshake_payload__pack(&p, l->payload);
  return GG_OK;
}

int ggp_noise_local_new(ggp_noise_local **pl, const gg_keypair *identity, const char *const *muxers,
                        size_t nmuxers, const uint8_t *static_key, const gg_rand *rand,
                        const gg_mem *mem) {
  if (!pl || !identity || (!static_key && !rand)) return GG_EINVAL;
  if (nmuxers > GGP_NOISE_MUXERS_MAX || (nmuxers && !muxers)) return GG_EINVAL;
  for (size_t i = 0; i < nmuxers; i++) {
    size_t l = muxers[i] ? strlen(muxers[i]) : 0;
    if (l == 0 || l > GGP_NOISE_MUXER_NAME_MAX) return GG_EINVAL;
  }
  /* Picks libsodium's SIMD implementations (ChaCha20 3x faster here); idempotent. */
  if (sodium_init() < 0) return GG_ECRYPTO;
  ggp_noise_local *l = gg_calloc(mem, 1, sizeof(*l));
  if (!l) return GG_ENOMEM;
  l->mem = mem;
  if (static_key)
    memcpy(l->s, static_key, 32);
  else
    rand->fill(rand->ud, l->s, 32);
  crypto_scalarmult_curve25519_base(l->s_pub, l->s);
  int rv = build_payload(l, identity, muxers, nmuxers);
  if (!rv && nmuxers) {
    rv = copy_names(mem, (char *const *)muxers, nmuxers, &l->muxers);
    l->nmuxers = nmuxers;
  }
  if (rv) {
    ggp_noise_local_del(l);
    return rv;
  }
  *pl = l;
  return GG_OK;
}

void ggp_noise_local_del(ggp_noise_local *l) {
  if (!l) return;
  sodium_memzero(l->s, sizeof(l->s));
  gg_free(l->mem, l->payload);
  gg_free(l->mem, l->muxers);
  gg_free(l->mem, l);
}

int ggp_noise_new(ggp_noise **ps, int initiator, const ggp_noise_settings *st, const gg_rand *rand,
                  const gg_mem *mem) {
  if (!ps || !st || (!st->local && !st->identity)) return GG_EINVAL;
  if (!rand && !st->ephemeral_key) return GG_EINVAL;
  ggp_noise_local *own = NULL;
  if (!st->local) {
    int rv =
        ggp_noise_local_new(&own, st->identity, st->muxers, st->nmuxers, st->static_key, rand, mem);
    if (rv) return rv;
  } else if (sodium_init() < 0) {
    return GG_ECRYPTO;
  }
  ggp_noise *s = gg_calloc(mem, 1, sizeof(*s));
  if (!s) {
    ggp_noise_local_del(own);
    return GG_ENOMEM;
  }
  s->mem = mem;
  s->initiator = initiator != 0;
  s->own = own;
  s->local = own ? own : st->local;
  s->caller_keeps_partial = st->caller_keeps_partial != 0;
  gg_buf_init(&s->rx, mem, FRAME_HDR + GGP_NOISE_MSG_MAX);
  if (st->expected_peer) {
    s->has_expected = 1;
    s->expected = *st->expected_peer;
  }
  uint8_t ek[32];
  if (st->ephemeral_key)
    memcpy(ek, st->ephemeral_key, 32);
  else
    rand->fill(rand->ud, ek, 32);
  ggp__noise_hs_init(&s->hs, s->initiator, NULL, 0, s->local->s, s->local->s_pub, ek);
  sodium_memzero(ek, sizeof(ek));
  *ps = s;
  return GG_OK;
}

void ggp_noise_del(ggp_noise *s) {
  if (!s) return;
  fail(s); /* wipes the keys */
  ggp_noise_local_del(s->own);
  gg_free(s->mem, s->theirs);
  gg_free(s->mem, s);
}

/* ---- handshake ------------------------------------------------------------------------------ */

/* Writes our next handshake message, framed, into wire; the payload goes in messages 2 and 3
 * (message 1's payload stays empty, as the spec and js have it). */
static int write_hs(ggp_noise *s, gg_buf *wire) {
  int with_payload = s->hs.step > 0;
  size_t plen = with_payload ? s->local->payload_len : 0;
  size_t n = ggp__noise_hs_overhead(&s->hs) + plen;
  if (n > GGP_NOISE_MSG_MAX) return GG_EINVAL; /* cannot happen: payload is small and capped */
  int rv = gg_buf_reserve(wire, FRAME_HDR + n);
  if (rv) return rv;
  static const uint8_t none[1];
  uint8_t *out = gg_buf_ptr(wire) + gg_buf_len(wire);
  size_t wrote;
  rv = ggp__noise_hs_write(&s->hs, with_payload ? s->local->payload : none, plen, out + FRAME_HDR,
                           &wrote);
  if (rv) return rv;
  out[0] = (uint8_t)(wrote >> 8);
  out[1] = (uint8_t)wrote;
  gg_buf_commit(wire, FRAME_HDR + wrote);
  return GG_OK;
}

/* Checks the remote's payload against the static key it just proved (hs.rs), derives its peer
 * id, keeps its muxer list and picks the muxer. */
static int verify_payload(ggp_noise *s, const uint8_t *p, size_t len) {
  pb_ctx ctx = {s->mem, 0};
  ProtobufCAllocator alloc = {pb_alloc, pb_free, &ctx};
  NoisePb__NoiseHandshakePayload *m = noise_pb__noise_handshake_payload__unpack(&alloc, len, p);
  if (!m) return ctx.nomem ? GG_ENOMEM : GG_EPROTO;
  int rv = GG_OK;
  if (!m->has_identity_key || !m->has_identity_sig) {
    rv = GG_EPROTO;
    goto out;
  }
  gg_pubkey key;
  if ((rv = gg_pubkey_decode(m->identity_key.data, m->identity_key.len, &key))) goto out;
  uint8_t msg[SIG_PREFIX_LEN + 32];
  memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
  memcpy(msg + SIG_PREFIX_LEN, s->hs.rs, 32);
  rv = gg_pubkey_verify(&key, msg, sizeof(msg), m->identity_sig.data, m->identity_sig.len);
  if (rv == GG_EUNSUPPORTED) rv = GG_EBADKEY; /* a key type we cannot verify: refuse */
  if (rv) goto out;
  if ((rv = gg_peerid_from_pubkey_pb(&s->remote, m->identity_key.data, m->identity_key.len)))
    goto out;
  if (s->has_expected && !gg_peerid_eq(&s->remote, &s->expected)) {
    rv = GG_EPEERID;
    goto out;
  }
  if (m->extensions && m->extensions->n_stream_muxers) {
    NoisePb__NoiseExtensions *e = m->extensions;
    if (e->n_stream_muxers > GGP_NOISE_MUXERS_MAX) {
      rv = GG_ETOOBIG;
      goto out;
    }
    for (size_t i = 0; i < e->n_stream_muxers; i++) {
      if (strlen(e->stream_muxers[i]) > GGP_NOISE_MUXER_NAME_MAX) {
        rv = GG_ETOOBIG;
        goto out;
      }
    }
    if ((rv = copy_names(s->mem, e->stream_muxers, e->n_stream_muxers, &s->theirs))) goto out;
    s->ntheirs = e->n_stream_muxers;
  }
  /* the first name of the initiator's list that the responder lists too */
  char **ours = s->local->muxers;
  size_t nours = s->local->nmuxers;
  char **pref = s->initiator ? ours : s->theirs, **other = s->initiator ? s->theirs : ours;
  size_t npref = s->initiator ? nours : s->ntheirs, nother = s->initiator ? s->ntheirs : nours;
  for (size_t i = 0; i < npref && !s->muxer; i++) {
    for (size_t j = 0; j < nother; j++) {
      if (strcmp(pref[i], other[j]) == 0) {
        s->muxer = s->initiator ? other[j] : pref[i]; /* always a pointer into theirs */
        break;
      }
    }
  }
out:
  noise_pb__noise_handshake_payload__free_unpacked(m, &alloc);
  return rv;
}

static void establish(ggp_noise *s) {
  ggp__noise_cs c1, c2;
  ggp__noise_hs_split(&s->hs, &c1, &c2);
  s->tx = s->initiator ? c1 : c2;
  s->rx_cs = s->initiator ? c2 : c1;
  sodium_memzero(&c1, sizeof(c1));
  sodium_memzero(&c2, sizeof(c2));
  s->state = ST_OPEN;
}

static int on_handshake(ggp_noise *s, const uint8_t *frame, size_t flen, gg_buf *wire) {
  if (flen < ggp__noise_hs_overhead(&s->hs)) return GG_EPROTO;
  size_t cap = flen - ggp__noise_hs_overhead(&s->hs), plen;
  uint8_t *payload = gg_malloc(s->mem, cap ? cap : 1);
  if (!payload) return GG_ENOMEM;
  int rv = ggp__noise_hs_read(&s->hs, frame, flen, payload, &plen);
  if (rv) goto out;
  switch (s->state) {
  case ST_WAIT1: /* message 1's payload carries nothing for us: ignored (spec) */
    if (!(rv = write_hs(s, wire))) s->state = ST_WAIT3;
    break;
  case ST_WAIT2:
    if ((rv = verify_payload(s, payload, plen))) break;
    if ((rv = write_hs(s, wire))) break;
    establish(s);
    break;
  case ST_WAIT3:
    if ((rv = verify_payload(s, payload, plen))) break;
    establish(s);
    break;
  default: rv = GG_ESTATE;
  }
out:
  sodium_memzero(payload, cap ? cap : 1);
  gg_free(s->mem, payload);
  return rv;
}

int ggp_noise_start(ggp_noise *s, gg_buf *wire) {
  if (s->state != ST_NEW) return GG_ESTATE;
  if (s->initiator) {
    int rv = write_hs(s, wire);
    if (rv) return rv; /* nothing written, hs untouched: may be retried */
    s->state = ST_WAIT2;
  } else {
    s->state = ST_WAIT1;
  }
  return GG_OK;
}

/* ---- transport ------------------------------------------------------------------------------- */

static int on_transport(ggp_noise *s, const uint8_t *frame, size_t flen, gg_buf *plain) {
  if (flen < GGP__NOISE_MAC) return GG_EPROTO;
  size_t n = flen - GGP__NOISE_MAC;
  uint8_t empty[1], *out = empty; /* an empty message still advances the nonce */
  if (n) {
    int rv = gg_buf_reserve(plain, n);
    if (rv == GG_ETOOBIG) return GG_ELIMIT;
    if (rv) return rv;
    out = gg_buf_ptr(plain) + gg_buf_len(plain);
  }
  int rv;
  if ((rv = ggp__noise_cs_decrypt(&s->rx_cs, frame, flen, out))) return rv;
  gg_buf_commit(plain, n);
  return GG_OK;
}

static int on_frame(ggp_noise *s, const uint8_t *frame, size_t flen, gg_buf *plain, gg_buf *wire) {
  return s->state == ST_OPEN ? on_transport(s, frame, flen, plain)
                             : on_handshake(s, frame, flen, wire);
}

int ggp_noise_recv(ggp_noise *s, const uint8_t *in, size_t len, size_t *consumed, gg_buf *plain,
                   gg_buf *wire) {
  *consumed = 0;
  if (s->state == ST_NEW || s->state == ST_FAILED) return GG_ESTATE;
  size_t pos = 0;
  int rv = GG_OK;
  for (;;) {
    const uint8_t *frame;
    size_t flen, rl = gg_buf_len(&s->rx);
    int from_rx = 0;
    if (rl == 0) {
      if (len - pos < FRAME_HDR) {
        if (pos < len && !s->caller_keeps_partial &&
            (rv = gg_buf_append(&s->rx, in + pos, 1)) == GG_OK)
          pos++;
        break;
      }
      flen = (size_t)in[pos] << 8 | in[pos + 1];
      if (len - pos - FRAME_HDR >= flen) { /* whole frame in the input: no copy */
        frame = in + pos + FRAME_HDR;
        pos += FRAME_HDR + flen;
      } else {
        if (s->caller_keeps_partial) break; /* left in the caller's buffer */
        if ((rv = gg_buf_reserve(&s->rx, FRAME_HDR + flen))) break;
        gg_buf_append(&s->rx, in + pos, len - pos);
        pos = len;
        break;
      }
    } else {
      if (rl < FRAME_HDR) {
        if (pos == len) break;
        if ((rv = gg_buf_append(&s->rx, in + pos, 1))) break;
        pos++;
        continue;
      }
      const uint8_t *r = gg_buf_ptr(&s->rx);
      flen = (size_t)r[0] << 8 | r[1];
      size_t need = FRAME_HDR + flen - rl;
      if (need) {
        size_t take = need < len - pos ? need : len - pos;
        if ((rv = gg_buf_reserve(&s->rx, need))) break;
        gg_buf_append(&s->rx, in + pos, take);
        pos += take;
        if (take < need) break;
      }
      frame = gg_buf_ptr(&s->rx) + FRAME_HDR;
      from_rx = 1;
    }
    rv = on_frame(s, frame, flen, plain, wire);
    if (rv == GG_ELIMIT) {
      if (!from_rx) pos -= FRAME_HDR + flen; /* hand the frame back */
      break;
    }
    if (from_rx) gg_buf_reset(&s->rx);
    if (rv) break;
  }
  *consumed = pos;
  if (rv && rv != GG_ELIMIT) {
    fail(s);
    return rv;
  }
  /* an idle session keeps no frame buffer */
  if (gg_buf_len(&s->rx) == 0) gg_buf_free(&s->rx);
  return rv;
}

size_t ggp_noise_wire_len(size_t len) {
  size_t frames = (len + GGP_NOISE_PLAIN_MAX - 1) / GGP_NOISE_PLAIN_MAX;
  return len + frames * (FRAME_HDR + GGP__NOISE_MAC);
}

int ggp_noise_encrypt_to(ggp_noise *s, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                         size_t *written) {
  *written = 0;
  if (s->state != ST_OPEN) return GG_ESTATE;
  size_t total = ggp_noise_wire_len(len);
  if (cap < total) return GG_ETOOBIG;
  size_t done = 0;
  while (done < len) {
    size_t n = len - done < GGP_NOISE_PLAIN_MAX ? len - done : GGP_NOISE_PLAIN_MAX;
    size_t fl = n + GGP__NOISE_MAC;
    out[0] = (uint8_t)(fl >> 8);
    out[1] = (uint8_t)fl;
    /* libsodium allows the ciphertext exactly on the plaintext (the in-place case) */
    int rv = ggp__noise_cs_encrypt(&s->tx, data + done, n, out + FRAME_HDR);
    if (rv) {
      fail(s); /* the frames before this one were written but the caller may not send them */
      return rv;
    }
    out += FRAME_HDR + fl;
    done += n;
  }
  *written = total;
  return GG_OK;
}

int ggp_noise_encrypt(ggp_noise *s, const uint8_t *data, size_t len, gg_buf *wire) {
  if (s->state != ST_OPEN) return GG_ESTATE;
  if (len == 0) return GG_OK;
  size_t total = ggp_noise_wire_len(len), n;
  int rv = gg_buf_reserve(wire, total);
  if (rv) return rv;
  if ((rv = ggp_noise_encrypt_to(s, data, len, gg_buf_tail(wire, total), total, &n))) return rv;
  gg_buf_commit(wire, n);
  return GG_OK;
}

/* ---- queries --------------------------------------------------------------------------------- */

int ggp_noise_established(const ggp_noise *s) { return s->state == ST_OPEN; }

const gg_peerid *ggp_noise_remote_peer(const ggp_noise *s) {
  return s->state == ST_OPEN ? &s->remote : NULL;
}

size_t ggp_noise_remote_muxers(const ggp_noise *s, const char *const **list) {
  if (s->state != ST_OPEN) {
    if (list) *list = NULL;
    return 0;
  }
  if (list) *list = (const char *const *)s->theirs;
  return s->ntheirs;
}

const char *ggp_noise_muxer(const ggp_noise *s) { return s->state == ST_OPEN ? s->muxer : NULL; }

int ggp_noise_handshake_hash(const ggp_noise *s, uint8_t out[32]) {
  if (s->state != ST_OPEN) return GG_ESTATE;
  memcpy(out, s->hs.h, 32);
  return GG_OK;
}
