/*
 * Tests for Noise: the plain XX machinery (src/proto/noise_xx.c) against the published
 * Noise_XX_25519_ChaChaPoly_SHA256 vectors and the Wycheproof X25519 / ChaCha20-Poly1305
 * suites, and the libp2p layer (src/proto/noise.c): handshakes between two cores with and
 * without muxer lists, every split of the input, tampering, bad payloads, wrong expected
 * peers, frame size limits, output limits and allocation failures.
 */
#include "gg_test.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/noise.h"
#include "noise.pb-c.h"
#include "proto/noise_int.h"

#define YAMUX "/yamux/1.0.0"

static uint8_t *hexfield(json_t *o, const char *key, size_t *len) {
  const char *h = json_string_value(json_object_get(o, key));
  assert_non_null(h);
  uint8_t *b = gg_test_unhex(h, len);
  assert_non_null(b);
  return b;
}

static json_t *load_json(const char *rel) {
  char *path = gg_test_require_data(rel);
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  free(path);
  assert_non_null(j);
  return j;
}

/* ---- plain Noise XX against the test vectors ------------------------------------------- */

static void run_vector(json_t *v) {
  size_t n, plen[2], slen, elen;
  uint8_t *pro[2], *st[2], *eph[2];
  const char *who[2] = {"init", "resp"};
  char key[32];
  ggp__noise_hs hs[2];
  for (int i = 0; i < 2; i++) {
    snprintf(key, sizeof(key), "%s_prologue", who[i]);
    pro[i] = hexfield(v, key, &plen[i]);
    snprintf(key, sizeof(key), "%s_static", who[i]);
    st[i] = hexfield(v, key, &slen);
    snprintf(key, sizeof(key), "%s_ephemeral", who[i]);
    eph[i] = hexfield(v, key, &elen);
    assert_int_equal(slen, 32);
    assert_int_equal(elen, 32);
    ggp__noise_hs_init(&hs[i], i == 0, pro[i], plen[i], st[i], NULL, eph[i]);
  }
  json_t *msgs = json_object_get(v, "messages");
  assert_true(json_array_size(msgs) >= 3);
  ggp__noise_cs cs[2][2]; /* [side][0 = send, 1 = recv] */
  for (size_t i = 0; i < json_array_size(msgs); i++) {
    json_t *m = json_array_get(msgs, i);
    size_t pl, cl;
    uint8_t *payload = hexfield(m, "payload", &pl), *ct = hexfield(m, "ciphertext", &cl);
    uint8_t *buf = malloc(cl + 64), *back = malloc(cl + 64);
    /* messages alternate, the initiator first, also after the handshake */
    int from = (int)(i % 2), to = 1 - from;
    if (i < 3) {
      assert_int_equal(ggp__noise_hs_overhead(&hs[from]) + pl, cl);
      assert_int_equal(ggp__noise_hs_write(&hs[from], payload, pl, buf, &n), GG_OK);
      assert_int_equal(n, cl);
      assert_memory_equal(buf, ct, cl);
      assert_int_equal(ggp__noise_hs_read(&hs[to], ct, cl, back, &n), GG_OK);
      assert_int_equal(n, pl);
      if (pl) assert_memory_equal(back, payload, pl);
      if (i == 2) {
        assert_true(ggp__noise_hs_done(&hs[0]) && ggp__noise_hs_done(&hs[1]));
        assert_memory_equal(hs[0].h, hs[1].h, 32);
        json_t *hh = json_object_get(v, "handshake_hash");
        if (hh) {
          size_t hl;
          uint8_t *h = hexfield(v, "handshake_hash", &hl);
          assert_int_equal(hl, 32);
          assert_memory_equal(hs[0].h, h, 32);
          free(h);
        }
        ggp__noise_hs_split(&hs[0], &cs[0][0], &cs[0][1]); /* initiator sends with c1 */
        ggp__noise_hs_split(&hs[1], &cs[1][1], &cs[1][0]); /* responder receives with c1 */
      }
    } else {
      assert_int_equal(pl + GGP__NOISE_MAC, cl);
      assert_int_equal(ggp__noise_cs_encrypt(&cs[from][0], payload, pl, buf), GG_OK);
      assert_memory_equal(buf, ct, cl);
      assert_int_equal(ggp__noise_cs_decrypt(&cs[to][1], ct, cl, back), GG_OK);
      if (pl) assert_memory_equal(back, payload, pl);
    }
    free(payload);
    free(ct);
    free(buf);
    free(back);
  }
  for (int i = 0; i < 2; i++) {
    free(pro[i]);
    free(st[i]);
    free(eph[i]);
  }
}

static void test_vectors(void **state) {
  (void)state;
  json_t *j = load_json("vectors/noise-XX-25519-ChaChaPoly-SHA256.json");
  json_t *sources = json_object_get(j, "sources");
  size_t count = 0, src, k;
  json_t *s, *v;
  json_array_foreach(sources, src, s) {
    json_array_foreach(json_object_get(s, "vectors"), k, v) {
      const char *name = json_string_value(json_object_get(v, "protocol_name"));
      if (!name) name = json_string_value(json_object_get(v, "name"));
      assert_string_equal(name, "Noise_XX_25519_ChaChaPoly_SHA256");
      json_t *psk = json_object_get(v, "init_psks");
      assert_true(!psk || json_array_size(psk) == 0);
      run_vector(v);
      count++;
    }
  }
  assert_int_equal(count, 4);
  json_decref(j);
}

/* Every Wycheproof X25519 case: our DH gives the expected secret, and refuses exactly the
 * cases whose secret is zero (low-order public keys). */
static void test_wycheproof_x25519(void **state) {
  (void)state;
  json_t *j = load_json("vectors/wycheproof/x25519_test.json");
  size_t gi, ti, count = 0, refused = 0;
  json_t *g, *t;
  json_array_foreach(json_object_get(j, "testGroups"), gi, g) {
    json_array_foreach(json_object_get(g, "tests"), ti, t) {
      size_t pl, kl, sl;
      uint8_t *pub = hexfield(t, "public", &pl), *priv = hexfield(t, "private", &kl);
      uint8_t *shared = hexfield(t, "shared", &sl), out[32], zero[32] = {0};
      const char *result = json_string_value(json_object_get(t, "result"));
      if (pl == 32 && kl == 32 && strcmp(result, "invalid") != 0) {
        int rv = ggp__noise_dh(out, priv, pub);
        if (memcmp(shared, zero, 32) == 0) {
          assert_int_equal(rv, GG_EBADKEY);
          refused++;
        } else {
          assert_int_equal(rv, GG_OK);
          assert_memory_equal(out, shared, 32);
        }
        count++;
      }
      free(pub);
      free(priv);
      free(shared);
    }
  }
  assert_true(count > 500);
  assert_true(refused > 20);
  json_decref(j);
}

/* The Wycheproof ChaCha20-Poly1305 cases whose nonce has Noise's form (4 zero bytes, then a
 * little-endian counter): checks our nonce encoding and tag handling. */
static void test_wycheproof_chachapoly(void **state) {
  (void)state;
  json_t *j = load_json("vectors/wycheproof/chacha20_poly1305_test.json");
  size_t gi, ti, count = 0;
  json_t *g, *t;
  json_array_foreach(json_object_get(j, "testGroups"), gi, g) {
    json_array_foreach(json_object_get(g, "tests"), ti, t) {
      size_t kl, il, al, ml, cl, tl;
      uint8_t *key = hexfield(t, "key", &kl), *iv = hexfield(t, "iv", &il);
      uint8_t *aad = hexfield(t, "aad", &al), *msg = hexfield(t, "msg", &ml);
      uint8_t *ct = hexfield(t, "ct", &cl), *tag = hexfield(t, "tag", &tl);
      static const uint8_t z4[4] = {0};
      if (kl == 32 && il == 12 && tl == 16 && memcmp(iv, z4, 4) == 0) {
        int valid = strcmp(json_string_value(json_object_get(t, "result")), "valid") == 0;
        ggp__noise_cs cs = {.has_k = 1};
        memcpy(cs.k, key, 32);
        for (int b = 0; b < 8; b++) cs.n |= (uint64_t)iv[4 + b] << (8 * b);
        uint64_t n0 = cs.n;
        uint8_t *full = malloc(cl + 16), *out = malloc(cl + 16);
        memcpy(full, ct, cl);
        memcpy(full + cl, tag, 16);
        int rv = ggp__noise_cs_decrypt_ad(&cs, aad, al, full, cl + 16, out);
        if (valid) {
          assert_int_equal(rv, GG_OK);
          if (ml) assert_memory_equal(out, msg, ml);
          cs.n = n0;
          assert_int_equal(ggp__noise_cs_encrypt_ad(&cs, aad, al, msg, ml, out), GG_OK);
          assert_memory_equal(out, full, cl + 16);
        } else {
          assert_int_equal(rv, GG_EDECRYPT);
        }
        free(full);
        free(out);
        count++;
      }
      free(key);
      free(iv);
      free(aad);
      free(msg);
      free(ct);
      free(tag);
    }
  }
  assert_true(count >= 5);
  json_decref(j);
}

/* ---- libp2p layer --------------------------------------------------------------------------- */

typedef struct peer {
  gg_keypair id;
  gg_peerid pid;
  ggp_noise *s;
  gg_buf plain, wire; /* what it decrypted; what it must send */
} peer;

static void peer_init(peer *p, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  gg_keypair_from_seed(&p->id, seed);
  gg_peerid_from_ed25519(&p->pid, p->id.pub);
  p->s = NULL;
  gg_buf_init(&p->plain, NULL, 1 << 24);
  gg_buf_init(&p->wire, NULL, 1 << 24);
}

static void peer_free(peer *p) {
  ggp_noise_del(p->s);
  gg_buf_free(&p->plain);
  gg_buf_free(&p->wire);
}

static int peer_new(peer *p, int initiator, const char *const *mux, size_t nmux,
                    const gg_peerid *expect, const gg_rand *r, const gg_mem *mem) {
  ggp_noise_settings st = {
      .identity = &p->id, .expected_peer = expect, .muxers = mux, .nmuxers = nmux};
  return ggp_noise_new(&p->s, initiator, &st, r, mem);
}

/* Moves src's wire bytes into dst in chunks of `step`; returns the first error. */
static int deliver(peer *src, peer *dst, size_t step) {
  while (gg_buf_len(&src->wire)) {
    size_t n = gg_buf_len(&src->wire) < step ? gg_buf_len(&src->wire) : step, used;
    int rv = ggp_noise_recv(dst->s, gg_buf_ptr(&src->wire), n, &used, &dst->plain, &dst->wire);
    gg_buf_consume(&src->wire, used);
    if (rv) return rv;
    assert_int_equal(used, n);
  }
  return GG_OK;
}

/* Runs a handshake; returns GG_OK or the first error, with *who = 'i' or 'r' for the side
 * that reported it. */
static int handshake(peer *i, peer *r, size_t step, char *who) {
  int rv = ggp_noise_start(i->s, &i->wire);
  if (rv) return rv;
  assert_int_equal(ggp_noise_start(r->s, &r->wire), GG_OK);
  assert_int_equal(gg_buf_len(&r->wire), 0);
  for (int round = 0; round < 4; round++) {
    *who = 'r';
    if ((rv = deliver(i, r, step))) return rv;
    *who = 'i';
    if ((rv = deliver(r, i, step))) return rv;
  }
  return GG_OK;
}

static void check_transport(peer *a, peer *b, size_t len, size_t step) {
  uint8_t *data = malloc(len);
  for (size_t k = 0; k < len; k++) data[k] = (uint8_t)(k * 31 + 7);
  gg_buf_reset(&b->plain);
  assert_int_equal(ggp_noise_encrypt(a->s, data, len, &a->wire), GG_OK);
  assert_int_equal(gg_buf_len(&a->wire), ggp_noise_wire_len(len));
  assert_int_equal(deliver(a, b, step), GG_OK);
  assert_int_equal(gg_buf_len(&b->plain), len);
  if (len) assert_memory_equal(gg_buf_ptr(&b->plain), data, len);
  free(data);
}

static void test_libp2p_handshake(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 1);
  const char *both[] = {YAMUX};
  struct {
    size_t ni, nr;
    int chosen;
  } cases[] = {{1, 1, 1}, {0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
  for (size_t c = 0; c < 4; c++) {
    peer i, r;
    peer_init(&i, 1);
    peer_init(&r, 2);
    assert_int_equal(peer_new(&i, 1, both, cases[c].ni, &r.pid, &rs.r, NULL), GG_OK);
    assert_int_equal(peer_new(&r, 0, both, cases[c].nr, NULL, &rs.r, NULL), GG_OK);
    assert_null(ggp_noise_remote_peer(i.s));
    assert_int_equal(ggp_noise_encrypt(i.s, (const uint8_t *)"x", 1, &i.wire), GG_ESTATE);
    char who;
    assert_int_equal(handshake(&i, &r, 100000, &who), GG_OK);
    assert_true(ggp_noise_established(i.s));
    assert_true(ggp_noise_established(r.s));
    assert_true(gg_peerid_eq(ggp_noise_remote_peer(i.s), &r.pid));
    assert_true(gg_peerid_eq(ggp_noise_remote_peer(r.s), &i.pid));
    uint8_t hi[32], hr[32];
    assert_int_equal(ggp_noise_handshake_hash(i.s, hi), GG_OK);
    assert_int_equal(ggp_noise_handshake_hash(r.s, hr), GG_OK);
    assert_memory_equal(hi, hr, 32);
    const char *const *list;
    assert_int_equal(ggp_noise_remote_muxers(i.s, &list), cases[c].nr);
    if (cases[c].nr) assert_string_equal(list[0], YAMUX);
    assert_int_equal(ggp_noise_remote_muxers(r.s, &list), cases[c].ni);
    if (cases[c].chosen) {
      assert_string_equal(ggp_noise_muxer(i.s), YAMUX);
      assert_string_equal(ggp_noise_muxer(r.s), YAMUX);
    } else {
      assert_null(ggp_noise_muxer(i.s));
      assert_null(ggp_noise_muxer(r.s));
    }
    assert_int_equal(gg_buf_len(&i.plain) + gg_buf_len(&r.plain), 0);
    check_transport(&i, &r, 1000, 1000000);
    check_transport(&r, &i, 3 * GGP_NOISE_PLAIN_MAX + 17, 4096); /* several frames, split */
    check_transport(&i, &r, 0, 1);
    peer_free(&i);
    peer_free(&r);
  }
}

/* Both sides list several muxers in different orders: the initiator's order decides. */
static void test_muxer_preference(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 2);
  const char *il[] = {"/mplex/6.7.0", YAMUX}, *rl[] = {YAMUX, "/x/1", "/mplex/6.7.0"};
  const char *disjoint[] = {"/x/1"};
  peer i, r;
  peer_init(&i, 1);
  peer_init(&r, 2);
  assert_int_equal(peer_new(&i, 1, il, 2, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(peer_new(&r, 0, rl, 3, NULL, &rs.r, NULL), GG_OK);
  char who;
  assert_int_equal(handshake(&i, &r, 7, &who), GG_OK);
  assert_string_equal(ggp_noise_muxer(i.s), "/mplex/6.7.0");
  assert_string_equal(ggp_noise_muxer(r.s), "/mplex/6.7.0");
  peer_free(&i);
  peer_free(&r);
  peer_init(&i, 1);
  peer_init(&r, 2);
  assert_int_equal(peer_new(&i, 1, il, 2, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(peer_new(&r, 0, disjoint, 1, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(handshake(&i, &r, 1000, &who), GG_OK);
  assert_null(ggp_noise_muxer(i.s));
  assert_null(ggp_noise_muxer(r.s));
  peer_free(&i);
  peer_free(&r);
}

/* Every split of the whole conversation, including msg3 and transport data in one read. */
static void test_splits(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 3);
  for (size_t step = 1; step < 300; step += (step < 20 ? 1 : 37)) {
    peer i, r;
    peer_init(&i, 1);
    peer_init(&r, 2);
    const char *m[] = {YAMUX};
    assert_int_equal(peer_new(&i, 1, m, 1, NULL, &rs.r, NULL), GG_OK);
    assert_int_equal(peer_new(&r, 0, m, 1, NULL, &rs.r, NULL), GG_OK);
    assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_OK);
    assert_int_equal(ggp_noise_start(r.s, &r.wire), GG_OK);
    assert_int_equal(deliver(&i, &r, step), GG_OK);
    assert_int_equal(deliver(&r, &i, step), GG_OK);
    assert_true(ggp_noise_established(i.s));
    /* the initiator speaks at once: msg3 and data leave together */
    assert_int_equal(ggp_noise_encrypt(i.s, (const uint8_t *)"hello", 5, &i.wire), GG_OK);
    assert_int_equal(deliver(&i, &r, step), GG_OK);
    assert_true(ggp_noise_established(r.s));
    assert_int_equal(gg_buf_len(&r.plain), 5);
    assert_memory_equal(gg_buf_ptr(&r.plain), "hello", 5);
    peer_free(&i);
    peer_free(&r);
  }
}

/* Flipping any bit of message 2 or 3, or of a transport message, fails the receiver at once;
 * flipping a bit of message 1 fails the handshake at the initiator (the responder cannot
 * tell). Length-prefix bits are left out: a longer frame just waits for more bytes. */
static void test_tamper(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 4);
  for (int msg = 1; msg <= 4; msg++) {
    size_t total = 0;
    for (size_t bit = 16;; bit += 5) {
      peer i, r;
      peer_init(&i, 1);
      peer_init(&r, 2);
      assert_int_equal(peer_new(&i, 1, NULL, 0, NULL, &rs.r, NULL), GG_OK);
      assert_int_equal(peer_new(&r, 0, NULL, 0, NULL, &rs.r, NULL), GG_OK);
      assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_OK);
      assert_int_equal(ggp_noise_start(r.s, &r.wire), GG_OK);
      peer *from = &i, *to = &r;
      int rv = GG_OK;
      for (int k = 1; k <= msg && rv == GG_OK; k++) {
        if (k == 4)
          assert_int_equal(ggp_noise_encrypt(i.s, (const uint8_t *)"data!", 5, &i.wire), GG_OK);
        from = (k % 2 == 1 || k == 4) ? &i : &r;
        to = from == &i ? &r : &i;
        if (k == msg) {
          total = gg_buf_len(&from->wire) * 8;
          gg_buf_ptr(&from->wire)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        rv = deliver(from, to, 1 << 20);
      }
      if (msg == 1) { /* the responder accepted a wrong key; the initiator notices */
        assert_int_equal(rv, GG_OK);
        rv = deliver(&r, &i, 1 << 20);
        assert_true(rv == GG_EDECRYPT || rv == GG_EBADKEY);
      } else {
        assert_int_equal(rv, GG_EDECRYPT);
      }
      peer *failed = msg == 1 ? &i : to;
      assert_false(ggp_noise_established(failed->s) && msg < 4);
      /* a failed session refuses everything afterwards */
      size_t used;
      assert_int_equal(ggp_noise_recv(failed->s, (const uint8_t *)"\0\0", 2, &used, &failed->plain,
                                      &failed->wire),
                       GG_ESTATE);
      peer_free(&i);
      peer_free(&r);
      if (bit + 5 >= total) break;
    }
  }
}

static void test_expected_peer(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 5);
  peer i, r, other;
  peer_init(&other, 9);
  /* the dialer expected someone else */
  peer_init(&i, 1);
  peer_init(&r, 2);
  assert_int_equal(peer_new(&i, 1, NULL, 0, &other.pid, &rs.r, NULL), GG_OK);
  assert_int_equal(peer_new(&r, 0, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  char who;
  assert_int_equal(handshake(&i, &r, 1000, &who), GG_EPEERID);
  assert_int_equal(who, 'i');
  assert_false(ggp_noise_established(i.s));
  assert_int_equal(gg_buf_len(&i.wire), 0); /* message 3 was never sent */
  peer_free(&i);
  peer_free(&r);
  /* the responder expected someone else */
  peer_init(&i, 1);
  peer_init(&r, 2);
  assert_int_equal(peer_new(&i, 1, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(peer_new(&r, 0, NULL, 0, &other.pid, &rs.r, NULL), GG_OK);
  assert_int_equal(handshake(&i, &r, 1000, &who), GG_EPEERID);
  assert_int_equal(who, 'r');
  assert_null(ggp_noise_remote_peer(r.s));
  peer_free(&i);
  peer_free(&r);
  peer_free(&other);
}

/* A hand-driven responder that sends a crafted payload in message 2. */
static int fake_responder(const uint8_t *payload, size_t plen) {
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 6);
  peer i;
  peer_init(&i, 1);
  assert_int_equal(peer_new(&i, 1, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_OK);
  uint8_t sk[32], ek[32], buf[GGP__NOISE_MSG_MAX + 2], pl[64];
  memset(sk, 0x55, 32);
  memset(ek, 0x66, 32);
  ggp__noise_hs hs;
  ggp__noise_hs_init(&hs, 0, NULL, 0, sk, NULL, ek);
  size_t n;
  assert_int_equal(
      ggp__noise_hs_read(&hs, gg_buf_ptr(&i.wire) + 2, gg_buf_len(&i.wire) - 2, pl, &n), GG_OK);
  assert_int_equal(ggp__noise_hs_write(&hs, payload, plen, buf + 2, &n), GG_OK);
  buf[0] = (uint8_t)(n >> 8);
  buf[1] = (uint8_t)n;
  size_t used;
  int rv = ggp_noise_recv(i.s, buf, n + 2, &used, &i.plain, &i.wire);
  peer_free(&i);
  return rv;
}

/* Packs a payload: identity key of `signer` (or raw key bytes), a signature over `signed_key`
 * made by signer, and n muxers. */
static size_t make_payload(uint8_t *out, const gg_keypair *signer, const uint8_t *keypb,
                           size_t keylen, const uint8_t signed_key[32], int with_sig, size_t nmux,
                           const char *mux) {
  uint8_t kp[GG_PUBKEY_PB_ED25519], msg[24 + 32], sig[64];
  gg_pubkey_encode_ed25519(signer->pub, kp);
  memcpy(msg, "noise-libp2p-static-key:", 24);
  memcpy(msg + 24, signed_key, 32);
  gg_sign(signer, msg, sizeof(msg), sig);
  NoisePb__NoiseHandshakePayload p = NOISE_PB__NOISE_HANDSHAKE_PAYLOAD__INIT;
  NoisePb__NoiseExtensions e = NOISE_PB__NOISE_EXTENSIONS__INIT;
  p.has_identity_key = 1;
  p.identity_key.data = keypb ? (uint8_t *)keypb : kp;
  p.identity_key.len = keypb ? keylen : sizeof(kp);
  p.has_identity_sig = with_sig;
  p.identity_sig.data = sig;
  p.identity_sig.len = sizeof(sig);
  char *names[32];
  for (size_t k = 0; k < nmux; k++) names[k] = (char *)mux;
  if (nmux) {
    e.n_stream_muxers = nmux;
    e.stream_muxers = names;
    p.extensions = &e;
  }
  return noise_pb__noise_handshake_payload__pack(&p, out);
}

static void test_bad_payloads(void **state) {
  (void)state;
  gg_keypair kp;
  uint8_t seed[32], resp_pub[32], sk[32], wrong[32], buf[8192];
  memset(seed, 7, 32);
  gg_keypair_from_seed(&kp, seed);
  memset(sk, 0x55, 32); /* fake_responder's static key */
  crypto_scalarmult_curve25519_base(resp_pub, sk);
  memset(wrong, 0x99, 32);
  /* sanity: a well-formed payload passes */
  size_t n = make_payload(buf, &kp, NULL, 0, resp_pub, 1, 1, YAMUX);
  assert_int_equal(fake_responder(buf, n), GG_OK);
  /* signature over another static key */
  n = make_payload(buf, &kp, NULL, 0, wrong, 1, 0, NULL);
  assert_int_equal(fake_responder(buf, n), GG_EBADSIG);
  /* no signature */
  n = make_payload(buf, &kp, NULL, 0, resp_pub, 0, 0, NULL);
  assert_int_equal(fake_responder(buf, n), GG_EPROTO);
  /* not a protobuf */
  assert_int_equal(fake_responder((const uint8_t *)"\xff\xff\xff", 3), GG_EPROTO);
  /* empty payload */
  assert_int_equal(fake_responder((const uint8_t *)"", 0), GG_EPROTO);
  /* an RSA key we cannot verify */
  const uint8_t rsa[] = {0x08, 0x00, 0x12, 0x04, 1, 2, 3, 4};
  n = make_payload(buf, &kp, rsa, sizeof(rsa), resp_pub, 1, 0, NULL);
  assert_int_equal(fake_responder(buf, n), GG_EBADKEY);
  /* a malformed key */
  n = make_payload(buf, &kp, (const uint8_t *)"\x08\x01\x12\x05xx", 6, resp_pub, 1, 0, NULL);
  assert_int_equal(fake_responder(buf, n), GG_EBADKEY);
  /* too many muxers, or one too long */
  n = make_payload(buf, &kp, NULL, 0, resp_pub, 1, GGP_NOISE_MUXERS_MAX + 1, YAMUX);
  assert_int_equal(fake_responder(buf, n), GG_ETOOBIG);
  n = make_payload(buf, &kp, NULL, 0, resp_pub, 1, GGP_NOISE_MUXERS_MAX, YAMUX);
  assert_int_equal(fake_responder(buf, n), GG_OK);
  char longname[GGP_NOISE_MUXER_NAME_MAX + 2];
  memset(longname, 'm', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  n = make_payload(buf, &kp, NULL, 0, resp_pub, 1, 1, longname);
  assert_int_equal(fake_responder(buf, n), GG_ETOOBIG);
}

static void test_frames(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 7);
  peer i, r;
  peer_init(&i, 1);
  peer_init(&r, 2);
  assert_int_equal(peer_new(&i, 1, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(peer_new(&r, 0, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  size_t used;
  /* the initiator must start first */
  assert_int_equal(ggp_noise_recv(i.s, (const uint8_t *)"\0", 1, &used, &i.plain, &i.wire),
                   GG_ESTATE);
  char who;
  assert_int_equal(handshake(&i, &r, 1 << 20, &who), GG_OK);
  assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_ESTATE);
  /* exactly the largest plaintext per frame: one frame of 65535 bytes */
  uint8_t *big = calloc(1, 2 * GGP_NOISE_PLAIN_MAX + 1);
  assert_int_equal(ggp_noise_encrypt(i.s, big, GGP_NOISE_PLAIN_MAX, &i.wire), GG_OK);
  assert_int_equal(gg_buf_len(&i.wire), 2 + 65535);
  assert_int_equal(gg_buf_ptr(&i.wire)[0], 0xff);
  assert_int_equal(gg_buf_ptr(&i.wire)[1], 0xff);
  assert_int_equal(deliver(&i, &r, 1 << 20), GG_OK);
  assert_int_equal(gg_buf_len(&r.plain), GGP_NOISE_PLAIN_MAX);
  assert_int_equal(ggp_noise_encrypt(i.s, big, GGP_NOISE_PLAIN_MAX + 1, &i.wire), GG_OK);
  assert_int_equal(gg_buf_len(&i.wire), ggp_noise_wire_len(GGP_NOISE_PLAIN_MAX + 1));
  assert_int_equal(ggp_noise_wire_len(GGP_NOISE_PLAIN_MAX + 1), GGP_NOISE_PLAIN_MAX + 1 + 36);
  assert_int_equal(deliver(&i, &r, 1 << 20), GG_OK); /* keeps the nonces in step */
  /* wire too small: nothing appended, the session still works */
  gg_buf small;
  gg_buf_init(&small, NULL, 100);
  assert_int_equal(ggp_noise_encrypt(i.s, big, 200, &small), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&small), 0);
  gg_buf_free(&small);
  free(big);
  /* the receiver's plaintext buffer is full: GG_ELIMIT, then it resumes */
  gg_buf_reset(&r.plain);
  r.plain.limit = 1000;
  uint8_t data[1500];
  for (size_t k = 0; k < sizeof(data); k++) data[k] = (uint8_t)k;
  assert_int_equal(ggp_noise_encrypt(i.s, data, 600, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_encrypt(i.s, data + 600, 600, &i.wire), GG_OK);
  size_t total = gg_buf_len(&i.wire);
  assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), total, &used, &r.plain, &r.wire),
                   GG_ELIMIT);
  assert_int_equal(used, 2 + 616); /* the second frame is handed back */
  assert_int_equal(gg_buf_len(&r.plain), 600);
  gg_buf_consume(&i.wire, used);
  gg_buf_reset(&r.plain);
  assert_int_equal(deliver(&i, &r, 1 << 20), GG_OK);
  assert_memory_equal(gg_buf_ptr(&r.plain), data + 600, 600);
  /* the same with a frame held inside (split input) */
  gg_buf_reset(&r.plain);
  assert_int_equal(ggp_noise_encrypt(i.s, data, 600, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_encrypt(i.s, data, 600, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), 700, &used, &r.plain, &r.wire), GG_OK);
  assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire) + 700, gg_buf_len(&i.wire) - 700, &used,
                                  &r.plain, &r.wire),
                   GG_ELIMIT);
  assert_int_equal(used, gg_buf_len(&i.wire) - 700); /* consumed into the inner buffer */
  gg_buf_reset(&i.wire);
  gg_buf_reset(&r.plain);
  assert_int_equal(ggp_noise_recv(r.s, NULL, 0, &used, &r.plain, &r.wire), GG_OK);
  assert_int_equal(gg_buf_len(&r.plain), 600);
  r.plain.limit = 1 << 24;
  /* a transport frame shorter than a MAC */
  assert_int_equal(
      ggp_noise_recv(r.s, (const uint8_t *)"\x00\x05hello", 7, &used, &r.plain, &r.wire),
      GG_EPROTO);
  peer_free(&i);
  peer_free(&r);

  /* a handshake message shorter than its fixed part */
  peer_init(&i, 1);
  assert_int_equal(peer_new(&i, 1, NULL, 0, NULL, &rs.r, NULL), GG_OK);
  assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_OK);
  uint8_t shortmsg[2 + 40] = {0, 40};
  assert_int_equal(ggp_noise_recv(i.s, shortmsg, sizeof(shortmsg), &used, &i.plain, &i.wire),
                   GG_EPROTO);
  peer_free(&i);
}

/* ggp_noise_encrypt_to: the same bytes as ggp_noise_encrypt (same nonces), a block too small
 * refused without effect, one message in place, and refused before the handshake. */
static void test_encrypt_to(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 11);
  peer i, r, i2, r2;
  peer_init(&i, 1);
  peer_init(&r, 2);
  peer_init(&i2, 1);
  peer_init(&r2, 2);
  uint8_t ek_i[32], ek_r[32];
  memset(ek_i, 5, 32);
  memset(ek_r, 6, 32);
  /* two identical pairs (same keys, ephemeral keys): their transport keys are equal */
  peer *ps[4] = {&i, &r, &i2, &r2};
  for (int k = 0; k < 4; k++) {
    ggp_noise_settings st = {.identity = &ps[k]->id, .ephemeral_key = k % 2 ? ek_r : ek_i};
    uint8_t sk[32];
    memset(sk, 9 + k % 2, 32);
    st.static_key = sk;
    assert_int_equal(ggp_noise_new(&ps[k]->s, k % 2 == 0, &st, NULL, NULL), GG_OK);
  }
  size_t n = 3 * GGP_NOISE_PLAIN_MAX + 100, w = 123;
  uint8_t *blk = malloc(ggp_noise_wire_len(n) + GGP_NOISE_OVERHEAD);
  uint8_t *data = malloc(n);
  for (size_t k = 0; k < n; k++) data[k] = (uint8_t)(k * 13 + 1);
  assert_int_equal(ggp_noise_encrypt_to(i.s, data, 10, blk, 100, &w), GG_ESTATE);
  assert_int_equal(w, 0);
  char who;
  assert_int_equal(handshake(&i, &r, 1 << 20, &who), GG_OK);
  assert_int_equal(handshake(&i2, &r2, 1 << 20, &who), GG_OK);

  /* too small by one byte: nothing written, nonce unchanged */
  assert_int_equal(ggp_noise_encrypt_to(i.s, data, n, blk, ggp_noise_wire_len(n) - 1, &w),
                   GG_ETOOBIG);
  assert_int_equal(w, 0);
  /* several frames: equal to what ggp_noise_encrypt appends */
  assert_int_equal(ggp_noise_encrypt_to(i.s, data, n, blk, ggp_noise_wire_len(n) + 5, &w), GG_OK);
  assert_int_equal(w, ggp_noise_wire_len(n));
  assert_int_equal(ggp_noise_encrypt(i2.s, data, n, &i2.wire), GG_OK);
  assert_int_equal(gg_buf_len(&i2.wire), w);
  assert_memory_equal(gg_buf_ptr(&i2.wire), blk, w);
  assert_int_equal(deliver(&i2, &r2, 70000), GG_OK);
  assert_int_equal(gg_buf_len(&r2.plain), n);
  assert_memory_equal(gg_buf_ptr(&r2.plain), data, n);
  size_t used;
  assert_int_equal(ggp_noise_recv(r.s, blk, w, &used, &r.plain, &r.wire), GG_OK);
  assert_int_equal(gg_buf_len(&r.plain), n);
  /* len 0 writes nothing */
  assert_int_equal(ggp_noise_encrypt_to(i.s, data, 0, blk, 0, &w), GG_OK);
  assert_int_equal(w, 0);

  /* in place: the plaintext laid out behind the length prefix, the MAC after it */
  size_t m = GGP_NOISE_PLAIN_MAX;
  memcpy(blk + GGP_NOISE_FRAME_HDR, data, m);
  assert_int_equal(ggp_noise_encrypt_to(i.s, blk + GGP_NOISE_FRAME_HDR, m, blk, m + 18, &w), GG_OK);
  assert_int_equal(w, m + GGP_NOISE_OVERHEAD);
  assert_int_equal(ggp_noise_encrypt(i2.s, data, m, &i2.wire), GG_OK);
  assert_memory_equal(gg_buf_ptr(&i2.wire), blk, w);
  gg_buf_reset(&r.plain);
  assert_int_equal(ggp_noise_recv(r.s, blk, w, &used, &r.plain, &r.wire), GG_OK);
  assert_int_equal(used, w);
  assert_int_equal(gg_buf_len(&r.plain), m);
  assert_memory_equal(gg_buf_ptr(&r.plain), data, m);
  free(blk);
  free(data);
  for (int k = 0; k < 4; k++) peer_free(ps[k]);
}

static void test_settings(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 8);
  peer p;
  peer_init(&p, 1);
  ggp_noise *s = (ggp_noise *)0x1;
  ggp_noise_settings st = {0};
  assert_int_equal(ggp_noise_new(&s, 1, &st, &rs.r, NULL), GG_EINVAL); /* no identity */
  st.identity = &p.id;
  assert_int_equal(ggp_noise_new(&s, 1, &st, NULL, NULL), GG_EINVAL); /* no rand */
  const char *many[GGP_NOISE_MUXERS_MAX + 1];
  for (size_t k = 0; k <= GGP_NOISE_MUXERS_MAX; k++) many[k] = YAMUX;
  st.muxers = many;
  st.nmuxers = GGP_NOISE_MUXERS_MAX + 1;
  assert_int_equal(ggp_noise_new(&s, 1, &st, &rs.r, NULL), GG_EINVAL);
  const char *empty[] = {""};
  st.muxers = empty;
  st.nmuxers = 1;
  assert_int_equal(ggp_noise_new(&s, 1, &st, &rs.r, NULL), GG_EINVAL);
  assert_ptr_equal(s, (ggp_noise *)0x1);
  /* injected keys: no rand needed, and the same keys give the same first message */
  uint8_t k1[32], k2[32];
  memset(k1, 1, 32);
  memset(k2, 2, 32);
  st.muxers = NULL;
  st.nmuxers = 0;
  st.static_key = k1;
  st.ephemeral_key = k2;
  gg_buf a, b;
  gg_buf_init(&a, NULL, 1024);
  gg_buf_init(&b, NULL, 1024);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(ggp_noise_new(&s, 1, &st, NULL, NULL), GG_OK);
    assert_int_equal(ggp_noise_start(s, k ? &b : &a), GG_OK);
    ggp_noise_del(s);
  }
  uint8_t epub[32];
  crypto_scalarmult_curve25519_base(epub, k2);
  assert_int_equal(gg_buf_len(&a), 34);
  assert_memory_equal(gg_buf_ptr(&a), "\x00\x20", 2);
  assert_memory_equal(gg_buf_ptr(&a) + 2, epub, 32);
  assert_memory_equal(gg_buf_ptr(&a), gg_buf_ptr(&b), 34);
  gg_buf_free(&a);
  gg_buf_free(&b);
  peer_free(&p);
}

/* One ggp_noise_local per node, shared by several sessions in both roles. */
static void test_local_shared(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 10);
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  const char *m[] = {YAMUX};
  peer a, b;
  peer_init(&a, 1);
  peer_init(&b, 2);
  ggp_noise_local *la = NULL, *lb = NULL;
  assert_int_equal(ggp_noise_local_new(&la, &a.id, m, 1, NULL, &rs.r, &fm.mem), GG_OK);
  assert_int_equal(ggp_noise_local_new(&lb, &b.id, NULL, 0, NULL, &rs.r, &fm.mem), GG_OK);
  uint8_t first_hash[32];
  for (int k = 0; k < 4; k++) {
    int a_init = k % 2;
    peer *i = a_init ? &a : &b, *r = a_init ? &b : &a;
    ggp_noise_settings si = {.local = a_init ? la : lb}, sr = {.local = a_init ? lb : la};
    assert_int_equal(ggp_noise_new(&i->s, 1, &si, &rs.r, &fm.mem), GG_OK);
    assert_int_equal(ggp_noise_new(&r->s, 0, &sr, &rs.r, &fm.mem), GG_OK);
    char who;
    assert_int_equal(handshake(i, r, 333, &who), GG_OK);
    assert_true(gg_peerid_eq(ggp_noise_remote_peer(i->s), &r->pid));
    assert_true(gg_peerid_eq(ggp_noise_remote_peer(r->s), &i->pid));
    assert_null(ggp_noise_muxer(i->s)); /* b lists no muxer */
    const char *const *list;
    assert_int_equal(ggp_noise_remote_muxers(b.s, &list), 1); /* b sees a's list */
    assert_string_equal(list[0], YAMUX);
    uint8_t h[32];
    assert_int_equal(ggp_noise_handshake_hash(i->s, h), GG_OK);
    if (k == 0)
      memcpy(first_hash, h, 32);
    else
      assert_memory_not_equal(h, first_hash, 32); /* fresh ephemeral keys each time */
    check_transport(i, r, 5000, 999);
    ggp_noise_del(a.s);
    ggp_noise_del(b.s);
    a.s = b.s = NULL;
  }
  ggp_noise_local_del(la);
  ggp_noise_local_del(lb);
  peer_free(&a);
  peer_free(&b);
  assert_int_equal(fm.live, 0);
  /* allocation failures inside local_new leave nothing behind */
  for (long fail = 0; fail < 5; fail++) {
    gg_failmem_init(&fm, fail);
    ggp_noise_local *l = (ggp_noise_local *)0x1;
    int rv = ggp_noise_local_new(&l, &a.id, m, 1, NULL, &rs.r, &fm.mem);
    if (rv == GG_OK) {
      ggp_noise_local_del(l);
    } else {
      assert_int_equal(rv, GG_ENOMEM);
      assert_ptr_equal(l, (ggp_noise_local *)0x1);
    }
    assert_int_equal(fm.live, 0);
  }
}

/* With caller_keeps_partial the session copies nothing: it stops before an incomplete frame
 * and the caller presents those bytes again. */
static void test_caller_keeps_partial(void **state) {
  (void)state;
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 11);
  peer i, r;
  peer_init(&i, 1);
  peer_init(&r, 2);
  ggp_noise_settings si = {.identity = &i.id, .caller_keeps_partial = 1};
  ggp_noise_settings sr = {.identity = &r.id, .caller_keeps_partial = 1};
  assert_int_equal(ggp_noise_new(&i.s, 1, &si, &rs.r, NULL), GG_OK);
  assert_int_equal(ggp_noise_new(&r.s, 0, &sr, &rs.r, NULL), GG_OK);
  assert_int_equal(ggp_noise_start(i.s, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_start(r.s, &r.wire), GG_OK);
  /* message 1 one byte at a time: nothing is taken until it is whole */
  size_t used, msg1 = gg_buf_len(&i.wire);
  for (size_t n = 0; n < msg1; n++) {
    assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), n, &used, &r.plain, &r.wire), GG_OK);
    assert_int_equal(used, 0);
  }
  assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), msg1, &used, &r.plain, &r.wire), GG_OK);
  assert_int_equal(used, msg1);
  gg_buf_reset(&i.wire);
  assert_int_equal(deliver(&r, &i, 1 << 20), GG_OK);
  assert_int_equal(deliver(&i, &r, 1 << 20), GG_OK);
  assert_true(ggp_noise_established(r.s));
  /* two frames and a half: the half stays with the caller */
  uint8_t data[3000];
  for (size_t k = 0; k < sizeof(data); k++) data[k] = (uint8_t)(k * 7);
  assert_int_equal(ggp_noise_encrypt(i.s, data, 1000, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_encrypt(i.s, data + 1000, 1000, &i.wire), GG_OK);
  assert_int_equal(ggp_noise_encrypt(i.s, data + 2000, 1000, &i.wire), GG_OK);
  size_t two = 2 * (2 + 1016);
  assert_int_equal(ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), two + 500, &used, &r.plain, &r.wire),
                   GG_OK);
  assert_int_equal(used, two);
  gg_buf_consume(&i.wire, used);
  assert_int_equal(
      ggp_noise_recv(r.s, gg_buf_ptr(&i.wire), gg_buf_len(&i.wire), &used, &r.plain, &r.wire),
      GG_OK);
  assert_int_equal(used, gg_buf_len(&i.wire));
  assert_int_equal(gg_buf_len(&r.plain), 3000);
  assert_memory_equal(gg_buf_ptr(&r.plain), data, 3000);
  peer_free(&i);
  peer_free(&r);
}

static void test_failing_allocator(void **state) {
  (void)state;
  int completed = 0;
  const char *m[] = {YAMUX};
  for (long fail = 0; fail < 200 && !completed; fail++) {
    gg_rand_seeded rs;
    gg_rand_seeded_init(&rs, 9);
    gg_failmem fm;
    gg_failmem_init(&fm, fail);
    peer i, r;
    peer_init(&i, 1);
    peer_init(&r, 2);
    int rv = peer_new(&i, 1, m, 1, NULL, &rs.r, &fm.mem);
    if (rv == GG_OK) rv = peer_new(&r, 0, m, 1, NULL, &rs.r, &fm.mem);
    char who;
    if (rv == GG_OK) rv = handshake(&i, &r, 50, &who); /* split: the frame buffer is used */
    if (rv == GG_OK) {
      uint8_t d[3000] = {0};
      rv = ggp_noise_encrypt(i.s, d, sizeof(d), &i.wire);
      assert_int_equal(rv, GG_OK);
      rv = deliver(&i, &r, 1000);
    }
    if (rv == GG_OK)
      completed = 1;
    else
      assert_int_equal(rv, GG_ENOMEM);
    peer_free(&i);
    peer_free(&r);
    assert_int_equal(fm.live, 0);
  }
  assert_true(completed);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_wycheproof_x25519),
      cmocka_unit_test(test_wycheproof_chachapoly),
      cmocka_unit_test(test_libp2p_handshake),
      cmocka_unit_test(test_muxer_preference),
      cmocka_unit_test(test_splits),
      cmocka_unit_test(test_tamper),
      cmocka_unit_test(test_expected_peer),
      cmocka_unit_test(test_bad_payloads),
      cmocka_unit_test(test_frames),
      cmocka_unit_test(test_encrypt_to),
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_local_shared),
      cmocka_unit_test(test_caller_keeps_partial),
      cmocka_unit_test(test_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
