/*
 * Gossipsub core tests. A harness drives one router with hand-made peers: their RPCs are built
 * and the router's RPCs decoded with the protobuf-c code generated from proto/gossipsub.proto,
 * an encoder/decoder independent of the router's own. The discrete-event simulator
 * (src/sim/gossipsim.c) runs networks of 100+ routers with a fake clock: propagation, gossip
 * recovery, attackers. Everything is deterministic (seeded randomness, virtual time).
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/gossipsim.h"
#include "ggen/gossipsub.h"
#include "gossipsub.pb-c.h"

#define T "/ggen/packages/v1"
#define T2 "other"
#define NPEERS 40

/* ---- keys --------------------------------------------------------------------------------- */

static void kp_of(int n, gg_keypair *kp) {
  uint8_t seed[32] = {0};
  seed[0] = (uint8_t)n;
  seed[1] = (uint8_t)(n >> 8);
  seed[31] = 0x77;
  gg_keypair_from_seed(kp, seed);
}

static gg_peerid id_of(int n) {
  gg_keypair kp;
  gg_peerid id;
  kp_of(n, &kp);
  gg_peerid_from_ed25519(&id, kp.pub);
  return id;
}

/* ---- harness: one router (key 0) and fake peers 1..NPEERS ------------------------------ */

typedef struct sent {
  int peer;
  uint8_t *b;
  size_t len;
} sent;

typedef struct harness {
  ggp_gossip *g;
  gg_rand_seeded rng;
  gg_ts now;
  gg_peerid ids[NPEERS + 1];
  sent *out;
  size_t nout, capout;
  int ndeliv;
  uint8_t last_data[256];
  size_t last_len;
  int validate; /* -1: no answer from the validator (accept), else its answer */
  int nvalidate;
  uint8_t pend_id[GGP_GOSSIP_MSGID_MAX];
  size_t pend_len;
  int npx;
  double app; /* P5 of every peer */
  int meshchg;
} harness;

static int peer_index(harness *h, const gg_peerid *id) {
  for (int i = 1; i <= NPEERS; i++)
    if (gg_peerid_eq(&h->ids[i], id)) return i;
  return -1;
}

static int h_send(ggp_gossip *g, const gg_peerid *peer, const uint8_t *rpc, size_t len, void *ud) {
  (void)g;
  harness *h = ud;
  if (h->nout == h->capout) {
    h->capout = h->capout ? h->capout * 2 : 64;
    h->out = realloc(h->out, h->capout * sizeof(sent));
  }
  sent *s = &h->out[h->nout++];
  s->peer = peer_index(h, peer);
  s->b = malloc(len ? len : 1);
  memcpy(s->b, rpc, len);
  s->len = len;
  return 0;
}

static void h_deliver(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g;
  harness *h = ud;
  h->ndeliv++;
  h->last_len = m->len < sizeof(h->last_data) ? m->len : sizeof(h->last_data);
  memcpy(h->last_data, m->data, h->last_len);
}

static int h_validate(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g;
  harness *h = ud;
  h->nvalidate++;
  memcpy(h->pend_id, m->msgid, m->msgid_len);
  h->pend_len = m->msgid_len;
  return h->validate < 0 ? GGP_GOSSIP_ACCEPT : h->validate;
}

static double h_app(ggp_gossip *g, const gg_peerid *p, void *ud) {
  (void)g, (void)p;
  return ((harness *)ud)->app;
}

static void h_px(ggp_gossip *g, const char *topic, const ggp_gossip_px *px, size_t n, void *ud) {
  (void)g, (void)topic, (void)px;
  ((harness *)ud)->npx += (int)n;
}

static void h_mesh(ggp_gossip *g, const char *t, const gg_peerid *p, int joined, void *ud) {
  (void)g, (void)t, (void)p, (void)joined;
  ((harness *)ud)->meshchg++;
}

static const ggp_gossip_callbacks h_cb = {.send_rpc = h_send,
                                          .deliver = h_deliver,
                                          .validate = h_validate,
                                          .app_score = h_app,
                                          .px_peers = h_px,
                                          .mesh_changed = h_mesh};

static void h_clear(harness *h) {
  for (size_t i = 0; i < h->nout; i++) free(h->out[i].b);
  h->nout = 0;
}

static int h_init(harness *h, const ggp_gossip_settings *s, const gg_mem *mem) {
  memset(h, 0, sizeof(*h));
  h->validate = -1;
  h->now = GG_SEC(1000);
  gg_rand_seeded_init(&h->rng, 42);
  for (int i = 0; i <= NPEERS; i++) h->ids[i] = id_of(i);
  gg_keypair kp;
  kp_of(0, &kp);
  int rc = ggp_gossip_new(&h->g, &h_cb, s, &kp, &h->rng.r, mem, h);
  if (rc == GG_OK) ggp_gossip_handle_expiry(h->g, h->now);
  return rc;
}

static void h_free(harness *h) {
  ggp_gossip_del(h->g);
  h_clear(h);
  free(h->out);
}

/* Advances the fake clock by dt, running the router's timers on the way. */
static void h_advance(harness *h, gg_ts dt) {
  gg_ts end = h->now + dt;
  for (;;) {
    gg_ts e = ggp_gossip_expiry(h->g);
    if (e > end) break;
    if (e > h->now) h->now = e;
    ggp_gossip_handle_expiry(h->g, h->now);
  }
  h->now = end;
}

static int h_add(harness *h, int n, int version, unsigned flags) {
  return ggp_gossip_add_peer(h->g, &h->ids[n], version, flags, h->now);
}

static int h_recv(harness *h, int n, const GossipsubPb__RPC *rpc) {
  size_t len = gossipsub_pb__rpc__get_packed_size(rpc);
  uint8_t *b = malloc(len + 1);
  gossipsub_pb__rpc__pack(rpc, b);
  int rc = ggp_gossip_recv_rpc(h->g, &h->ids[n], b, len, h->now);
  free(b);
  return rc;
}

/* What the router sent to peer n since the last h_clear, decoded by protobuf-c. */
typedef struct got {
  int rpcs, subs, unsubs, grafts, prunes, ihave_ids, iwant_ids, idontwant_ids, msgs, px;
  int has_backoff;
  uint64_t backoff;
  uint8_t first_ihave[GGP_GOSSIP_MSGID_MAX], first_iwant[GGP_GOSSIP_MSGID_MAX];
  size_t first_ihave_len, first_iwant_len;
} got;

static got h_got(harness *h, int n) {
  got r;
  memset(&r, 0, sizeof(r));
  for (size_t i = 0; i < h->nout; i++) {
    if (h->out[i].peer != n) continue;
    GossipsubPb__RPC *rpc = gossipsub_pb__rpc__unpack(NULL, h->out[i].len, h->out[i].b);
    assert_non_null(rpc);
    r.rpcs++;
    for (size_t k = 0; k < rpc->n_subscriptions; k++) {
      if (rpc->subscriptions[k]->subscribe)
        r.subs++;
      else
        r.unsubs++;
    }
    r.msgs += (int)rpc->n_publish;
    GossipsubPb__ControlMessage *c = rpc->control;
    if (c) {
      r.grafts += (int)c->n_graft;
      r.prunes += (int)c->n_prune;
      for (size_t k = 0; k < c->n_prune; k++) {
        r.has_backoff = c->prune[k]->has_backoff;
        r.backoff = c->prune[k]->backoff;
        r.px += (int)c->prune[k]->n_peers;
      }
      for (size_t k = 0; k < c->n_ihave; k++) {
        if (!r.ihave_ids && c->ihave[k]->n_messageids) {
          r.first_ihave_len = c->ihave[k]->messageids[0].len;
          memcpy(r.first_ihave, c->ihave[k]->messageids[0].data, r.first_ihave_len);
        }
        r.ihave_ids += (int)c->ihave[k]->n_messageids;
      }
      for (size_t k = 0; k < c->n_iwant; k++) {
        if (!r.iwant_ids && c->iwant[k]->n_messageids) {
          r.first_iwant_len = c->iwant[k]->messageids[0].len;
          memcpy(r.first_iwant, c->iwant[k]->messageids[0].data, r.first_iwant_len);
        }
        r.iwant_ids += (int)c->iwant[k]->n_messageids;
      }
      for (size_t k = 0; k < c->n_idontwant; k++)
        r.idontwant_ids += (int)c->idontwant[k]->n_messageids;
    }
    gossipsub_pb__rpc__free_unpacked(rpc, NULL);
  }
  return r;
}

/* ---- RPC builders (protobuf-c) ---------------------------------------------------------- */

static int send_sub(harness *h, int n, const char *topic, int sub) {
  GossipsubPb__RPC__SubOpts so = GOSSIPSUB_PB__RPC__SUB_OPTS__INIT, *sop = &so;
  so.has_subscribe = 1;
  so.subscribe = sub;
  so.topic = (char *)topic;
  GossipsubPb__RPC rpc = GOSSIPSUB_PB__RPC__INIT;
  rpc.n_subscriptions = 1;
  rpc.subscriptions = &sop;
  return h_recv(h, n, &rpc);
}

static int send_ctl(harness *h, int n, GossipsubPb__ControlMessage *c) {
  GossipsubPb__RPC rpc = GOSSIPSUB_PB__RPC__INIT;
  rpc.control = c;
  return h_recv(h, n, &rpc);
}

static int send_graft(harness *h, int n, const char *topic) {
  GossipsubPb__ControlGraft gr = GOSSIPSUB_PB__CONTROL_GRAFT__INIT, *grp = &gr;
  gr.topicid = (char *)topic;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_graft = 1;
  c.graft = &grp;
  return send_ctl(h, n, &c);
}

static int send_prune(harness *h, int n, const char *topic, uint64_t backoff, int npx) {
  GossipsubPb__ControlPrune pr = GOSSIPSUB_PB__CONTROL_PRUNE__INIT, *prp = &pr;
  pr.topicid = (char *)topic;
  pr.has_backoff = backoff > 0;
  pr.backoff = backoff;
  GossipsubPb__PeerInfo pi[8], *pip[8];
  gg_peerid pids[8];
  for (int i = 0; i < npx && i < 8; i++) {
    gossipsub_pb__peer_info__init(&pi[i]);
    pids[i] = id_of(100 + i);
    pi[i].has_peerid = 1;
    pi[i].peerid.data = pids[i].b;
    pi[i].peerid.len = pids[i].len;
    pip[i] = &pi[i];
  }
  pr.n_peers = (size_t)npx;
  pr.peers = pip;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_prune = 1;
  c.prune = &prp;
  return send_ctl(h, n, &c);
}

static int send_ihave(harness *h, int n, const char *topic, const uint8_t *const *ids,
                      const size_t *lens, size_t nids) {
  GossipsubPb__ControlIHave ih = GOSSIPSUB_PB__CONTROL_IHAVE__INIT, *ihp = &ih;
  ih.topicid = (char *)topic;
  ProtobufCBinaryData *d = calloc(nids + 1, sizeof(*d));
  for (size_t i = 0; i < nids; i++) d[i] = (ProtobufCBinaryData){lens[i], (uint8_t *)ids[i]};
  ih.n_messageids = nids;
  ih.messageids = d;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_ihave = 1;
  c.ihave = &ihp;
  int rc = send_ctl(h, n, &c);
  free(d);
  return rc;
}

static int send_iwant(harness *h, int n, const uint8_t *id, size_t len, size_t times) {
  GossipsubPb__ControlIWant iw = GOSSIPSUB_PB__CONTROL_IWANT__INIT, *iwp = &iw;
  ProtobufCBinaryData *d = calloc(times + 1, sizeof(*d));
  for (size_t i = 0; i < times; i++) d[i] = (ProtobufCBinaryData){len, (uint8_t *)id};
  iw.n_messageids = times;
  iw.messageids = d;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_iwant = 1;
  c.iwant = &iwp;
  int rc = send_ctl(h, n, &c);
  free(d);
  return rc;
}

static int send_idontwant(harness *h, int n, const uint8_t *id, size_t len) {
  GossipsubPb__ControlIDontWant iw = GOSSIPSUB_PB__CONTROL_IDONT_WANT__INIT, *iwp = &iw;
  ProtobufCBinaryData d = {len, (uint8_t *)id};
  iw.n_messageids = 1;
  iw.messageids = &d;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_idontwant = 1;
  c.idontwant = &iwp;
  return send_ctl(h, n, &c);
}

/* A Message signed by `author` (encoded by the router's helper; test_sign checks it). */
static void make_msg(int author, const char *topic, const char *data, uint64_t seqno, gg_buf *out) {
  gg_keypair kp;
  kp_of(author, &kp);
  gg_buf_init(out, NULL, 1u << 22);
  assert_int_equal(
      ggp_gossip_sign_message(&kp, topic, (const uint8_t *)data, strlen(data), seqno, 0, out),
      GG_OK);
}

/* Sends raw encoded Messages in one RPC from peer n. */
static int send_msgs(harness *h, int n, gg_buf *msgs, size_t count) {
  GossipsubPb__Message **pm = calloc(count + 1, sizeof(*pm));
  for (size_t i = 0; i < count; i++)
    pm[i] = gossipsub_pb__message__unpack(NULL, gg_buf_len(&msgs[i]), gg_buf_ptr(&msgs[i]));
  GossipsubPb__RPC rpc = GOSSIPSUB_PB__RPC__INIT;
  rpc.n_publish = count;
  rpc.publish = pm;
  int rc = h_recv(h, n, &rpc);
  for (size_t i = 0; i < count; i++) gossipsub_pb__message__free_unpacked(pm[i], NULL);
  free(pm);
  return rc;
}

static int send_msg(harness *h, int n, int author, const char *topic, const char *data,
                    uint64_t seqno) {
  gg_buf b;
  make_msg(author, topic, data, seqno, &b);
  int rc = send_msgs(h, n, &b, 1);
  gg_buf_free(&b);
  return rc;
}

static int in_mesh(harness *h, const char *topic, int n) {
  gg_peerid m[64];
  size_t k = ggp_gossip_mesh_peers(h->g, topic, 0, m, 64);
  for (size_t i = 0; i < k && i < 64; i++)
    if (gg_peerid_eq(&m[i], &h->ids[n])) return 1;
  return 0;
}

static double score_of(harness *h, int n) { return ggp_gossip_peer_score(h->g, &h->ids[n]); }

static ggp_gossip_stats stats(harness *h) {
  ggp_gossip_stats st;
  ggp_gossip_get_stats(h->g, &st);
  return st;
}

/* ======================================================================================== */
/* wire format and signing                                                                 */
/* ======================================================================================== */

/* A message signed with a known key: the exact bytes signed, the encoding, the message ids. */
static void test_sign_known_key(void **state) {
  (void)state;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  char *hex = gg_test_hex(kp.pub, 32);
  assert_string_equal(hex, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  free(hex);
  gg_buf m;
  gg_buf_init(&m, NULL, 4096);
  assert_int_equal(ggp_gossip_sign_message(&kp, "t", (const uint8_t *)"hello", 5, 1, 0, &m), GG_OK);

  /* "libp2p-pubsub:" || Message{from=1, data=2, seqno=3, topic=4}, built by hand */
  uint8_t tbs[128];
  size_t n = 0;
  memcpy(tbs, "libp2p-pubsub:", 14);
  n = 14;
  const uint8_t from_hdr[] = {0x0a, 38, 0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  memcpy(tbs + n, from_hdr, sizeof(from_hdr));
  n += sizeof(from_hdr);
  memcpy(tbs + n, kp.pub, 32);
  n += 32;
  const uint8_t rest[] = {0x12, 5, 'h', 'e', 'l', 'l', 'o', 0x1a, 8, 0,
                          0,    0, 0,   0,   0,   0,   1,   0x22, 1, 't'};
  memcpy(tbs + n, rest, sizeof(rest));
  n += sizeof(rest);

  GossipsubPb__Message *pm = gossipsub_pb__message__unpack(NULL, gg_buf_len(&m), gg_buf_ptr(&m));
  assert_non_null(pm);
  assert_true(pm->has_signature && pm->signature.len == 64);
  assert_false(pm->has_key); /* the key is inlined in the Ed25519 peer id */
  assert_int_equal(gg_verify(kp.pub, tbs, n, pm->signature.data, 64), GG_OK);
  tbs[n - 1] = 'u';
  assert_int_equal(gg_verify(kp.pub, tbs, n, pm->signature.data, 64), GG_EBADSIG);
  /* field order and presence as protobuf-c packs them */
  uint8_t re[256];
  size_t rl = gossipsub_pb__message__pack(pm, re);
  assert_int_equal(rl, gg_buf_len(&m));
  assert_memory_equal(re, gg_buf_ptr(&m), rl);
  gossipsub_pb__message__free_unpacked(pm, NULL);

  /* message ids: js = PublicKey protobuf || seqno; go = from || seqno */
  uint8_t id[GGP_GOSSIP_MSGID_MAX], want[64];
  int il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_JS, gg_buf_ptr(&m), gg_buf_len(&m), id);
  assert_int_equal(il, 36 + 8);
  const uint8_t pkhdr[] = {0x08, 0x01, 0x12, 0x20};
  memcpy(want, pkhdr, 4);
  memcpy(want + 4, kp.pub, 32);
  memcpy(want + 36, "\0\0\0\0\0\0\0\1", 8);
  assert_memory_equal(id, want, 44);
  il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_GO, gg_buf_ptr(&m), gg_buf_len(&m), id);
  assert_int_equal(il, 38 + 8);
  assert_memory_equal(id, from_hdr + 2, 6);
  assert_memory_equal(id + 6, kp.pub, 32);
  assert_memory_equal(id + 38, "\0\0\0\0\0\0\0\1", 8);

  /* with the key field (as js sends it): same signature, key = PublicKey protobuf */
  gg_buf k;
  gg_buf_init(&k, NULL, 4096);
  assert_int_equal(ggp_gossip_sign_message(&kp, "t", (const uint8_t *)"hello", 5, 1, 1, &k), GG_OK);
  pm = gossipsub_pb__message__unpack(NULL, gg_buf_len(&k), gg_buf_ptr(&k));
  assert_true(pm->has_key && pm->key.len == 36);
  assert_memory_equal(pm->key.data, want, 36);
  gossipsub_pb__message__free_unpacked(pm, NULL);
  gg_buf_free(&k);
  gg_buf_free(&m);

  assert_int_equal(ggp_gossip_version("/meshsub/1.1.0", 14), GGP_GOSSIP_V11);
  assert_int_equal(ggp_gossip_version("/meshsub/1.3.0", 14), 0);
  assert_string_equal(ggp_gossip_protocols[0], "/meshsub/1.2.0");
}

/* Messages with every StrictSign defect are rejected and cost the sender; a valid one is
 * delivered once; a duplicate is recognised. */
static void test_recv_validation(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  assert_int_equal(h_add(&h, 1, GGP_GOSSIP_V11, 0), GG_OK);
  assert_int_equal(h_add(&h, 2, GGP_GOSSIP_V11, 0), GG_OK);
  /* hello: our subscription */
  got r = h_got(&h, 1);
  assert_int_equal(r.subs, 1);
  assert_int_equal(send_sub(&h, 1, T, 1), GG_OK);
  assert_int_equal(send_sub(&h, 2, T, 1), GG_OK);
  assert_int_equal(ggp_gossip_topic_peers(h.g, T), 2);

  gg_buf m;
  make_msg(5, T, "good", 1, &m);
  GossipsubPb__Message *pm = gossipsub_pb__message__unpack(NULL, gg_buf_len(&m), gg_buf_ptr(&m));
  uint8_t buf[1024];
  gg_buf bad;
  gg_buf_init(&bad, NULL, 4096);
  /* 1. a flipped signature bit */
  pm->signature.data[3] ^= 1;
  gg_buf_append(&bad, buf, gossipsub_pb__message__pack(pm, buf));
  assert_int_equal(send_msgs(&h, 1, &bad, 1), GG_OK);
  pm->signature.data[3] ^= 1;
  /* 2. a 7-byte seqno */
  gg_buf_reset(&bad);
  pm->seqno.len = 7;
  gg_buf_append(&bad, buf, gossipsub_pb__message__pack(pm, buf));
  assert_int_equal(send_msgs(&h, 1, &bad, 1), GG_OK);
  pm->seqno.len = 8;
  /* 3. a key field that is not the author's */
  gg_keypair other;
  kp_of(6, &other);
  uint8_t opk[36];
  gg_pubkey_encode_ed25519(other.pub, opk);
  pm->has_key = 1;
  pm->key.data = opk;
  pm->key.len = 36;
  gg_buf_reset(&bad);
  gg_buf_append(&bad, buf, gossipsub_pb__message__pack(pm, buf));
  assert_int_equal(send_msgs(&h, 1, &bad, 1), GG_OK);
  pm->has_key = 0;
  pm->key.data = NULL;
  pm->key.len = 0;
  /* 4. no signature */
  pm->has_signature = 0;
  gg_buf_reset(&bad);
  gg_buf_append(&bad, buf, gossipsub_pb__message__pack(pm, buf));
  assert_int_equal(send_msgs(&h, 1, &bad, 1), GG_OK);
  pm->has_signature = 1;
  gossipsub_pb__message__free_unpacked(pm, NULL);
  assert_int_equal(h.ndeliv, 0);
  ggp_gossip_stats st = stats(&h);
  assert_int_equal(st.msgs_invalid, 4);
  assert_true(score_of(&h, 1) < 0); /* P4 in the scored topic */

  /* the valid message: delivered once, forwarded to the other topic peer */
  h_clear(&h);
  assert_int_equal(send_msgs(&h, 2, &m, 1), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  assert_int_equal(h.last_len, 4);
  assert_memory_equal(h.last_data, "good", 4);
  assert_int_equal(send_msgs(&h, 1, &m, 1), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  st = stats(&h);
  assert_int_equal(st.msgs_first, 1);
  assert_int_equal(st.msgs_dup, 1);
  /* a message on a topic we are not subscribed to is not ours to route */
  assert_int_equal(send_msg(&h, 2, 5, T2, "x", 9), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  /* the key field of the author itself is accepted (js always sends it) */
  gg_buf k;
  gg_keypair a7;
  kp_of(7, &a7);
  gg_buf_init(&k, NULL, 4096);
  ggp_gossip_sign_message(&a7, T, (const uint8_t *)"withkey", 7, 3, 1, &k);
  assert_int_equal(send_msgs(&h, 2, &k, 1), GG_OK);
  assert_int_equal(h.ndeliv, 2);
  gg_buf_free(&k);
  gg_buf_free(&bad);
  gg_buf_free(&m);
  h_free(&h);
}

/* Malformed RPCs are dropped whole and penalised; the router state is unchanged. */
static void test_malformed(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  assert_int_equal(h_add(&h, 1, GGP_GOSSIP_V11, 0), GG_OK);
  /* unknown fields are skipped, not errors */
  uint8_t unk[] = {0x48, 0x05, 0x52, 0x01, 0x00};
  assert_int_equal(ggp_gossip_recv_rpc(h.g, &h.ids[1], unk, sizeof(unk), h.now), GG_OK);
  /* a valid subscription followed by a truncated field: nothing of it is applied */
  uint8_t rpc[] = {0x0a, 0x07, 0x08, 0x01, 0x12, 0x03, 'a', 'b', 'c', 0x12, 0x10, 0x0a};
  assert_int_equal(ggp_gossip_recv_rpc(h.g, &h.ids[1], rpc, sizeof(rpc), h.now), GG_EPROTO);
  assert_int_equal(ggp_gossip_topic_peers(h.g, "abc"), 0);
  /* a known field with the wrong wire type */
  uint8_t wt[] = {0x0a, 0x02, 0x10, 0x01};
  assert_int_equal(ggp_gossip_recv_rpc(h.g, &h.ids[1], wt, sizeof(wt), h.now), GG_EPROTO);
  /* a group */
  uint8_t grp[] = {0x0b, 0x0c};
  assert_int_equal(ggp_gossip_recv_rpc(h.g, &h.ids[1], grp, sizeof(grp), h.now), GG_EPROTO);
  ggp_gossip_stats st = stats(&h);
  assert_int_equal(st.rpcs_malformed, 3);
  assert_int_equal(st.penalties, 3);
  /* P7 = 3: 9 * -10 = -90, below the graylist threshold: further RPCs are ignored */
  assert_true(score_of(&h, 1) < -80);
  assert_int_equal(send_sub(&h, 1, T, 1), GG_OK);
  assert_int_equal(ggp_gossip_topic_peers(h.g, T), 0);
  assert_int_equal(stats(&h).rpcs_graylisted, 1);
  h_free(&h);
}

/* ======================================================================================== */
/* mesh: GRAFT, PRUNE, backoff                                                              */
/* ======================================================================================== */

static void setup_peers(harness *h, int from, int to, int version, const char *topic) {
  for (int i = from; i <= to; i++) {
    assert_int_equal(h_add(h, i, version, GGP_GOSSIP_OUTBOUND), GG_OK);
    assert_int_equal(send_sub(h, i, topic, 1), GG_OK);
  }
}

static void test_graft_prune_backoff(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 5, GGP_GOSSIP_V11, T);
  h_clear(&h);
  h_advance(&h, GG_MS(1200)); /* first heartbeat: fewer than D_lo in the mesh -> graft all 5 */
  for (int i = 1; i <= 5; i++) {
    assert_true(in_mesh(&h, T, i));
    assert_int_equal(h_got(&h, i).grafts, 1);
  }
  /* peer 1 prunes us with a 30 s backoff, peer 2 without a backoff (default 60 s) */
  assert_int_equal(send_prune(&h, 1, T, 30, 0), GG_OK);
  assert_int_equal(send_prune(&h, 2, T, 0, 0), GG_OK);
  assert_false(in_mesh(&h, T, 1));
  assert_false(in_mesh(&h, T, 2));
  h_clear(&h);
  /* the mesh (3) is below D_lo, but both are backed off: no GRAFT to them for 30 s */
  h_advance(&h, GG_SEC(25));
  assert_int_equal(h_got(&h, 1).grafts, 0);
  assert_int_equal(h_got(&h, 2).grafts, 0);
  h_advance(&h, GG_SEC(8)); /* 30 s + one heartbeat of slack have passed for peer 1 */
  assert_int_equal(h_got(&h, 1).grafts, 1);
  assert_int_equal(h_got(&h, 2).grafts, 0);
  /* peer 1 leaves again for long: the mesh is below D_lo, and once its 60 s are over (and the
   * slack), peer 2 is grafted */
  assert_int_equal(send_prune(&h, 1, T, 1000, 0), GG_OK);
  h_advance(&h, GG_SEC(20));
  assert_int_equal(h_got(&h, 2).grafts, 0);
  h_advance(&h, GG_SEC(10));
  assert_int_equal(h_got(&h, 2).grafts, 1);
  assert_true(in_mesh(&h, T, 2));

  /* a GRAFT within the backoff is refused with a PRUNE and penalised (twice when it comes
   * within graft_flood_threshold of the PRUNE) */
  assert_int_equal(send_prune(&h, 3, T, 0, 0), GG_OK);
  h_clear(&h);
  assert_true(score_of(&h, 3) >= 0);
  assert_int_equal(send_graft(&h, 3, T), GG_OK);
  got r = h_got(&h, 3);
  assert_int_equal(r.prunes, 1);
  assert_true(r.has_backoff);
  assert_int_equal(r.backoff, 60);
  assert_int_equal(r.px, 0);
  assert_false(in_mesh(&h, T, 3));
  assert_true(score_of(&h, 3) <= -40); /* P7 = 2 */
  /* GRAFTs for topics we do not have are ignored: no PRUNE, no penalty */
  h_clear(&h);
  assert_int_equal(send_graft(&h, 4, "nope"), GG_OK);
  assert_int_equal(h_got(&h, 4).prunes, 0);
  assert_true(score_of(&h, 4) >= 0);

  /* a v1.0 peer gets PRUNEs without backoff; leaving PRUNEs the mesh with 10 s */
  assert_int_equal(h_add(&h, 9, GGP_GOSSIP_V10, 0), GG_OK);
  assert_int_equal(send_sub(&h, 9, T, 1), GG_OK);
  assert_int_equal(send_graft(&h, 9, T), GG_OK);
  assert_true(in_mesh(&h, T, 9));
  h_clear(&h);
  assert_int_equal(ggp_gossip_unsubscribe(h.g, T, h.now), GG_OK);
  r = h_got(&h, 9);
  assert_int_equal(r.prunes, 1);
  assert_false(r.has_backoff);
  assert_int_equal(r.unsubs, 1);
  r = h_got(&h, 2);
  assert_int_equal(r.prunes, 1);
  assert_int_equal(r.backoff, 10);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T, 0, NULL, 0), 0);
  h_free(&h);
}

/* Over D_hi the mesh is cut back to D, keeping at least D_out outbound peers; an inbound GRAFT
 * at D_hi is refused. */
static void test_mesh_bounds(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  for (int i = 1; i <= 14; i++) {
    assert_int_equal(h_add(&h, i, GGP_GOSSIP_V11, i <= 2 ? GGP_GOSSIP_OUTBOUND : 0), GG_OK);
    assert_int_equal(send_sub(&h, i, T, 1), GG_OK);
  }
  for (int i = 3; i <= 14; i++) assert_int_equal(send_graft(&h, i, T), GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T, 0, NULL, 0), 12);
  h_clear(&h);
  /* 1 and 2 are outbound: GRAFT at D_hi from an inbound peer is refused, outbound accepted */
  assert_int_equal(h_add(&h, 15, GGP_GOSSIP_V11, 0), GG_OK);
  assert_int_equal(send_sub(&h, 15, T, 1), GG_OK);
  assert_int_equal(send_graft(&h, 15, T), GG_OK);
  assert_int_equal(h_got(&h, 15).prunes, 1);
  assert_int_equal(send_graft(&h, 1, T), GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T, 0, NULL, 0), 13);
  h_advance(&h, GG_MS(1200));
  gg_peerid m[16];
  size_t n = ggp_gossip_mesh_peers(h.g, T, 0, m, 16);
  /* cut to D, then the outbound quota (D_out = 2) grafts peer 2 back if it was cut */
  assert_true(n >= 6 && n <= 7);
  int out = 0;
  for (size_t i = 0; i < n; i++)
    out += gg_peerid_eq(&m[i], &h.ids[1]) || gg_peerid_eq(&m[i], &h.ids[2]);
  assert_int_equal(out, 2);
  h_free(&h);
}

/* ======================================================================================== */
/* gossip: IHAVE / IWANT                                                                   */
/* ======================================================================================== */

static void test_ihave_iwant(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 10, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  int x = 0, y = 0;
  for (int i = 1; i <= 10; i++) {
    if (in_mesh(&h, T, i)) continue;
    if (!x)
      x = i;
    else if (!y)
      y = i;
  }
  assert_true(x && y);
  /* x advertises a message we lack: we ask for it, it delivers, no penalty */
  gg_buf m;
  make_msg(30, T, "gossiped", 5, &m);
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  int il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_JS, gg_buf_ptr(&m), gg_buf_len(&m), id);
  const uint8_t *ids[1] = {id};
  size_t lens[1] = {(size_t)il};
  h_clear(&h);
  assert_int_equal(send_ihave(&h, x, T, ids, lens, 1), GG_OK);
  got r = h_got(&h, x);
  assert_int_equal(r.iwant_ids, 1);
  assert_memory_equal(r.first_iwant, id, (size_t)il);
  assert_int_equal(send_msgs(&h, x, &m, 1), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  /* known ids are not asked again */
  h_clear(&h);
  assert_int_equal(send_ihave(&h, y, T, ids, lens, 1), GG_OK);
  assert_int_equal(h_got(&h, y).iwant_ids, 0);
  /* IWANT: served from the cache at most gossip_retransmission (3) times, once per RPC */
  h_clear(&h);
  assert_int_equal(send_iwant(&h, x, id, (size_t)il, 5), GG_OK);
  assert_int_equal(h_got(&h, x).msgs, 1);
  assert_int_equal(send_iwant(&h, x, id, (size_t)il, 1), GG_OK);
  assert_int_equal(send_iwant(&h, x, id, (size_t)il, 1), GG_OK);
  assert_int_equal(send_iwant(&h, x, id, (size_t)il, 1), GG_OK);
  assert_int_equal(h_got(&h, x).msgs, 3);

  /* y advertises a bogus id and never follows up: a broken promise (P7) */
  uint8_t bogus[44];
  memset(bogus, 0xb0, sizeof(bogus));
  const uint8_t *bids[1] = {bogus};
  size_t blens[1] = {44};
  assert_int_equal(send_ihave(&h, y, T, bids, blens, 1), GG_OK);
  assert_int_equal(h_got(&h, y).iwant_ids, 1);
  h_advance(&h, GG_SEC(5));
  assert_true(score_of(&h, y) < 0);
  assert_true(score_of(&h, x) >= 0);

  /* IHAVE flood protection: at most max_ihave_messages (10) IHAVEs per heartbeat */
  h_clear(&h);
  for (int k = 0; k < 12; k++) {
    uint8_t fresh[44];
    memset(fresh, k + 1, sizeof(fresh));
    const uint8_t *fids[1] = {fresh};
    assert_int_equal(send_ihave(&h, x, T, fids, blens, 1), GG_OK);
  }
  assert_int_equal(h_got(&h, x).iwant_ids, 10);
  gg_buf_free(&m);
  h_free(&h);
}

/* A message goes as IHAVE to the topic peers outside the mesh at the next heartbeat. */
static void test_gossip_emission(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 12, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T, 0, NULL, 0), 6);
  int src = 0;
  for (int i = 1; i <= 12 && !src; i++)
    if (in_mesh(&h, T, i)) src = i;
  assert_int_equal(send_msg(&h, src, 31, T, "to gossip", 1), GG_OK);
  h_clear(&h);
  h_advance(&h, GG_SEC(1));
  int gossiped = 0;
  for (int i = 1; i <= 12; i++) {
    got r = h_got(&h, i);
    if (in_mesh(&h, T, i))
      assert_int_equal(r.ihave_ids, 0);
    else
      gossiped += r.ihave_ids == 1;
  }
  assert_int_equal(gossiped, 6); /* max(D_lazy, 0.25 * 6) of the 6 non-mesh peers */
  /* the message stays advertised for history_gossip (3) heartbeats, cached for 5 */
  h_advance(&h, GG_SEC(2));
  h_clear(&h);
  h_advance(&h, GG_SEC(1));
  for (int i = 1; i <= 12; i++) assert_int_equal(h_got(&h, i).ihave_ids, 0);
  assert_int_equal(stats(&h).mcache_msgs, 1);
  h_advance(&h, GG_SEC(2));
  assert_int_equal(stats(&h).mcache_msgs, 0);
  h_free(&h);
}

/* ======================================================================================== */
/* publishing: flood and fanout                                                            */
/* ======================================================================================== */

static void test_flood_publish(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 10, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  /* peer 10 misbehaves until its score is below the publish threshold */
  uint8_t junk[] = {0x0b};
  for (int i = 0; i < 3; i++) ggp_gossip_recv_rpc(h.g, &h.ids[10], junk, 1, h.now);
  assert_true(score_of(&h, 10) < -50);
  h_clear(&h);
  size_t n = 0, il = 0;
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  assert_int_equal(ggp_gossip_publish(h.g, T, (const uint8_t *)"hi", 2, h.now, &n, id, &il), GG_OK);
  assert_int_equal(n, 9); /* every topic peer above publish_threshold, not only the mesh */
  for (int i = 1; i <= 9; i++) assert_int_equal(h_got(&h, i).msgs, 1);
  assert_int_equal(h_got(&h, 10).msgs, 0);
  assert_int_equal(il, 44);
  /* the same content again is a new message (new seqno); a replay of the id is refused */
  assert_int_equal(ggp_gossip_publish(h.g, T, (const uint8_t *)"hi", 2, h.now, &n, NULL, NULL),
                   GG_OK);
  assert_int_equal(stats(&h).msgs_published, 2);
  uint8_t big[2048];
  memset(big, 1, sizeof(big));
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  h_free(&h);
  s.max_message_size = 1024;
  s.max_rpc_size = 4096;
  assert_int_equal(h_init(&h, &s, NULL), GG_OK);
  assert_int_equal(ggp_gossip_publish(h.g, T, big, sizeof(big), h.now, &n, NULL, NULL), GG_ETOOBIG);
  h_free(&h);
}

static void test_fanout(void **state) {
  (void)state;
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  s.flood_publish = 0;
  harness h;
  assert_int_equal(h_init(&h, &s, NULL), GG_OK);
  setup_peers(&h, 1, 10, GGP_GOSSIP_V11, T2); /* we are not subscribed to T2 */
  size_t n = 0;
  assert_int_equal(ggp_gossip_publish(h.g, T2, (const uint8_t *)"a", 1, h.now, &n, NULL, NULL),
                   GG_OK);
  assert_int_equal(n, 6); /* D fanout peers */
  gg_peerid f1[8], f2[8];
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 1, f1, 8), 6);
  int nsent = 0;
  for (int i = 1; i <= 10; i++) nsent += h_got(&h, i).msgs;
  assert_int_equal(nsent, 6);
  /* the next publication uses the same fanout */
  h_advance(&h, GG_SEC(2));
  h_clear(&h);
  assert_int_equal(ggp_gossip_publish(h.g, T2, (const uint8_t *)"b", 1, h.now, &n, NULL, NULL),
                   GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 1, f2, 8), 6);
  for (int i = 0; i < 6; i++) {
    int found = 0;
    for (int j = 0; j < 6; j++) found |= gg_peerid_eq(&f1[i], &f2[j]);
    assert_true(found);
    assert_int_equal(h_got(&h, peer_index(&h, &f1[i])).msgs, 1);
  }
  /* gossip about fanout topics goes to the other topic peers */
  h_clear(&h);
  h_advance(&h, GG_SEC(1));
  int ihave = 0;
  for (int i = 1; i <= 10; i++) ihave += h_got(&h, i).ihave_ids > 0;
  assert_int_equal(ihave, 4);
  /* no publication for fanout_ttl: the fanout is forgotten */
  h_advance(&h, GG_SEC(62));
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 1, NULL, 0), 0);
  /* joining the topic takes the fanout peers into the mesh first */
  assert_int_equal(ggp_gossip_publish(h.g, T2, (const uint8_t *)"c", 1, h.now, &n, NULL, NULL),
                   GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 1, f1, 8), 6);
  assert_int_equal(ggp_gossip_subscribe(h.g, T2, h.now), GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 0, f2, 8), 6);
  for (int i = 0; i < 6; i++) assert_true(in_mesh(&h, T2, peer_index(&h, &f1[i])));
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T2, 1, NULL, 0), 0);
  h_free(&h);
}

/* ======================================================================================== */
/* validation, IDONTWANT, PX, scoring                                                      */
/* ======================================================================================== */

static void test_async_validation(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 6, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  h.validate = GGP_GOSSIP_PENDING;
  h_clear(&h);
  /* pending: neither delivered nor forwarded; duplicates from others are remembered */
  gg_buf m;
  make_msg(40, T, "record", 1, &m);
  assert_int_equal(send_msgs(&h, 1, &m, 1), GG_OK);
  assert_int_equal(send_msgs(&h, 2, &m, 1), GG_OK);
  assert_int_equal(h.nvalidate, 1);
  assert_int_equal(h.ndeliv, 0);
  for (int i = 1; i <= 6; i++) assert_int_equal(h_got(&h, i).msgs, 0);
  assert_int_equal(stats(&h).pending, 1);
  assert_int_equal(
      ggp_gossip_validation_result(h.g, h.pend_id, h.pend_len, GGP_GOSSIP_ACCEPT, h.now), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  /* forwarded to the mesh except the source and the peer that sent it too */
  assert_int_equal(h_got(&h, 1).msgs, 0);
  assert_int_equal(h_got(&h, 2).msgs, 0);
  for (int i = 3; i <= 6; i++) assert_int_equal(h_got(&h, i).msgs, 1);
  assert_int_equal(
      ggp_gossip_validation_result(h.g, h.pend_id, h.pend_len, GGP_GOSSIP_ACCEPT, h.now),
      GG_ENOTFOUND);
  gg_buf_free(&m);
  /* REJECT: the source and the duplicate senders pay P4 */
  make_msg(40, T, "forged record", 2, &m);
  assert_int_equal(send_msgs(&h, 3, &m, 1), GG_OK);
  assert_int_equal(send_msgs(&h, 4, &m, 1), GG_OK);
  double s3 = score_of(&h, 3), s4 = score_of(&h, 4);
  assert_int_equal(
      ggp_gossip_validation_result(h.g, h.pend_id, h.pend_len, GGP_GOSSIP_REJECT, h.now), GG_OK);
  assert_true(score_of(&h, 3) < s3);
  assert_true(score_of(&h, 4) < s4);
  assert_int_equal(h.ndeliv, 1);
  /* later copies of a rejected message are invalid deliveries too */
  double s5 = score_of(&h, 5);
  assert_int_equal(send_msgs(&h, 5, &m, 1), GG_OK);
  assert_true(score_of(&h, 5) < s5);
  gg_buf_free(&m);
  /* no answer within validation_timeout: ignored, without penalty */
  make_msg(40, T, "slow", 3, &m);
  double s6 = score_of(&h, 6);
  assert_int_equal(send_msgs(&h, 6, &m, 1), GG_OK);
  h_advance(&h, GG_SEC(12));
  assert_int_equal(stats(&h).pending, 0);
  assert_int_equal(
      ggp_gossip_validation_result(h.g, h.pend_id, h.pend_len, GGP_GOSSIP_ACCEPT, h.now),
      GG_ENOTFOUND);
  assert_true(score_of(&h, 6) >= s6);
  assert_int_equal(h.ndeliv, 1);
  gg_buf_free(&m);
  /* synchronous IGNORE: dropped, not forwarded, no penalty */
  h.validate = GGP_GOSSIP_IGNORE;
  h_clear(&h);
  assert_int_equal(send_msg(&h, 1, 41, T, "stale", 1), GG_OK);
  assert_int_equal(h.ndeliv, 1);
  for (int i = 2; i <= 6; i++) assert_int_equal(h_got(&h, i).msgs, 0);
  h_free(&h);
}

static void test_idontwant(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 6, GGP_GOSSIP_V12, T);
  setup_peers(&h, 7, 7, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  assert_int_equal(send_graft(&h, 7, T), GG_OK);
  assert_int_equal(ggp_gossip_mesh_peers(h.g, T, 0, NULL, 0), 7);
  char big[700];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  h_clear(&h);
  /* a large first delivery: IDONTWANT at once to the v1.2 mesh peers but the source */
  assert_int_equal(send_msg(&h, 1, 50, T, big, 1), GG_OK);
  assert_int_equal(h_got(&h, 1).idontwant_ids, 0);
  for (int i = 2; i <= 6; i++) assert_int_equal(h_got(&h, i).idontwant_ids, 1);
  assert_int_equal(h_got(&h, 7).idontwant_ids, 0);
  /* small messages get none */
  h_clear(&h);
  assert_int_equal(send_msg(&h, 1, 50, T, "small", 2), GG_OK);
  for (int i = 2; i <= 7; i++) assert_int_equal(h_got(&h, i).idontwant_ids, 0);
  /* a peer that said IDONTWANT does not get the message forwarded */
  gg_buf m;
  make_msg(51, T, "wanted by few", 1, &m);
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  int il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_JS, gg_buf_ptr(&m), gg_buf_len(&m), id);
  assert_int_equal(send_idontwant(&h, 2, id, (size_t)il), GG_OK);
  h_clear(&h);
  assert_int_equal(send_msgs(&h, 3, &m, 1), GG_OK);
  assert_int_equal(h_got(&h, 2).msgs, 0);
  assert_int_equal(h_got(&h, 4).msgs, 1);
  assert_int_equal(stats(&h).idontwant_in, 1);
  gg_buf_free(&m);
  h_free(&h);
}

static void test_px(void **state) {
  (void)state;
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  s.do_px = 1;
  harness h;
  assert_int_equal(h_init(&h, &s, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 8, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  /* PX is taken only from peers scoring at least accept_px_threshold (10) */
  assert_int_equal(send_prune(&h, 1, T, 60, 3), GG_OK);
  assert_int_equal(h.npx, 0);
  h.app = 1; /* P5 = 1 * 10 */
  ggp_gossip_rescore(h.g);
  assert_int_equal(send_prune(&h, 2, T, 60, 3), GG_OK);
  assert_int_equal(h.npx, 3);
  /* we emit PX (peer ids only) when pruning */
  h_clear(&h);
  assert_int_equal(ggp_gossip_unsubscribe(h.g, T, h.now), GG_OK);
  int with_px = 0;
  for (int i = 1; i <= 8; i++) {
    got r = h_got(&h, i);
    if (r.prunes) with_px += r.px > 0;
  }
  assert_true(with_px > 0);
  h_free(&h);
}

static void test_scoring(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  ggp_gossip_topic_score tp;
  ggp_gossip_topic_score_default(&tp);
  tp.mesh_message_deliveries_weight = -1;
  tp.mesh_message_deliveries_threshold = 5;
  tp.mesh_message_deliveries_activation = GG_SEC(2);
  tp.mesh_failure_penalty_weight = -1;
  assert_int_equal(ggp_gossip_set_topic_score(h.g, T, &tp), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 4, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  assert_true(in_mesh(&h, T, 1));
  /* peer 1 delivers 5 first messages in the mesh: P2 and P3 credit, no deficit */
  for (int k = 0; k < 5; k++) send_msg(&h, 1, 60, T, "m", (uint64_t)k + 1);
  h_advance(&h, GG_SEC(3)); /* P3 active after 2 s in the mesh */
  assert_true(score_of(&h, 1) > 0);
  /* peers 2..4 delivered nothing: deficit 5, squared, weight -1: pruned at the heartbeat */
  assert_true(score_of(&h, 2) <= -20);
  h_advance(&h, GG_SEC(1));
  assert_false(in_mesh(&h, T, 2));
  /* P3b: the deficit at the prune is sticky even out of the mesh */
  assert_true(score_of(&h, 2) < 0);
  /* P7 decays (0.9 per decay interval) and a non-positive score is retained on disconnect */
  uint8_t junk[] = {0x0b};
  ggp_gossip_recv_rpc(h.g, &h.ids[3], junk, 1, h.now);
  double s3 = score_of(&h, 3);
  ggp_gossip_remove_peer(h.g, &h.ids[3], h.now);
  assert_int_equal(stats(&h).retained, 1);
  assert_true(score_of(&h, 3) <= s3 + 0.001);
  h_advance(&h, GG_SEC(10));
  assert_true(score_of(&h, 3) > s3);
  assert_int_equal(h_add(&h, 3, GGP_GOSSIP_V11, 0), GG_OK);
  assert_int_equal(stats(&h).retained, 0);
  assert_true(score_of(&h, 3) < 0);
  /* P6: more than 10 peers on one IP (13: surplus 3, 9 * -5); retained peers still count */
  const uint8_t ip[4] = {192, 0, 2, 1};
  for (int i = 10; i <= 22; i++) {
    assert_int_equal(h_add(&h, i, GGP_GOSSIP_V11, 0), GG_OK);
    assert_int_equal(ggp_gossip_set_peer_ip(h.g, &h.ids[i], ip, 4), GG_OK);
  }
  assert_true(score_of(&h, 10) > -45.001 && score_of(&h, 10) < -44.999);
  ggp_gossip_remove_peer(h.g, &h.ids[22], h.now);
  assert_true(score_of(&h, 10) > -45.001 && score_of(&h, 10) < -44.999);
  const uint8_t ip2[4] = {192, 0, 2, 2};
  assert_int_equal(ggp_gossip_set_peer_ip(h.g, &h.ids[21], ip2, 4), GG_OK);
  assert_true(score_of(&h, 10) > -20.001 && score_of(&h, 10) < -19.999);
  /* topic parameters can be removed */
  assert_int_equal(ggp_gossip_set_topic_score(h.g, T, NULL), GG_OK);
  assert_true(score_of(&h, 2) >= 0);
  tp.time_in_mesh_quantum = 0;
  assert_int_equal(ggp_gossip_set_topic_score(h.g, T, &tp), GG_EINVAL);
  h_free(&h);
}

static void test_go_msgid(void **state) {
  (void)state;
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  s.msgid_fn = GGP_GOSSIP_MSGID_GO;
  harness h;
  assert_int_equal(h_init(&h, &s, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 2, GGP_GOSSIP_V11, T);
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  size_t il = 0;
  h_clear(&h);
  assert_int_equal(ggp_gossip_publish(h.g, T, (const uint8_t *)"go", 2, h.now, NULL, id, &il),
                   GG_OK);
  assert_int_equal(il, 38 + 8);
  assert_memory_equal(id, h.ids[0].b, 38);
  /* and the id the router uses for received messages is the same function */
  gg_buf m;
  make_msg(70, T, "x", 9, &m);
  uint8_t want[GGP_GOSSIP_MSGID_MAX];
  int wl = ggp_gossip_message_id(GGP_GOSSIP_MSGID_GO, gg_buf_ptr(&m), gg_buf_len(&m), want);
  h.validate = GGP_GOSSIP_ACCEPT;
  assert_int_equal(send_msgs(&h, 1, &m, 1), GG_OK);
  assert_int_equal((int)h.pend_len, wl);
  assert_memory_equal(h.pend_id, want, (size_t)wl);
  gg_buf_free(&m);
  h_free(&h);
}

/* ======================================================================================== */
/* misbehaving peers and memory bounds (one router)                                        */
/* ======================================================================================== */

/* A peer flooding valid messages runs out of its message budget; the excess is dropped and
 * penalised until the peer is graylisted. The caches stay within their caps. */
static void test_flood_rate_and_memory(void **state) {
  (void)state;
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  s.msg_rate = 50;
  s.msg_burst = 200;
  s.seen_cap = 300;
  s.mcache_cap = 50;
  s.mcache_bytes = 16 * 1024;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  harness h;
  assert_int_equal(h_init(&h, &s, &fm.mem), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 6, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  long base = fm.live;
  gg_buf *msgs = calloc(150, sizeof(gg_buf));
  uint64_t seq = 1;
  int rc[6];
  for (int r = 0; r < 6; r++) {
    for (int i = 0; i < 150; i++) make_msg(1, T, "flood", seq++, &msgs[i]);
    rc[r] = send_msgs(&h, 1, msgs, 150);
    for (int i = 0; i < 150; i++) gg_buf_free(&msgs[i]);
  }
  free(msgs);
  assert_int_equal(rc[0], GG_OK);
  assert_int_equal(rc[1], GG_ERATE);
  assert_int_equal(rc[3], GG_ERATE);
  assert_int_equal(rc[5], GG_OK); /* graylisted: silently ignored */
  ggp_gossip_stats st = stats(&h);
  assert_int_equal(st.msgs_first, 200);
  assert_true(st.rpcs_graylisted >= 1);
  assert_true(score_of(&h, 1) < -80);
  assert_true(st.seen <= 300);
  assert_true(st.mcache_msgs <= 50 && st.mcache_bytes <= 16 * 1024);
  /* honest peers are still heard */
  assert_int_equal(send_msg(&h, 2, 2, T, "honest", 1), GG_OK);
  assert_int_equal(h.ndeliv, 201);
  /* a peer relaying someone else's flood runs out of budget too, but is not penalised: it may
   * be an honest neighbour of the flooder */
  assert_int_equal(h_add(&h, 7, GGP_GOSSIP_V11, GGP_GOSSIP_OUTBOUND), GG_OK);
  assert_int_equal(send_sub(&h, 7, T, 1), GG_OK);
  uint64_t limited = stats(&h).rpcs_rate_limited;
  int relay_rc = GG_OK;
  for (int r = 0; r < 3; r++) {
    gg_buf b[100];
    for (int i = 0; i < 100; i++) make_msg(30, T, "relayed", seq++, &b[i]);
    relay_rc = send_msgs(&h, 7, b, 100);
    for (int i = 0; i < 100; i++) gg_buf_free(&b[i]);
  }
  assert_int_equal(relay_rc, GG_ERATE);
  assert_int_equal(stats(&h).rpcs_rate_limited, limited + 1);
  assert_true(score_of(&h, 7) >= 0);
  assert_int_equal(h.ndeliv, 401);
  /* many honest authors: the caches stay capped, memory follows the caps */
  for (int p = 2; p <= 6; p++) {
    gg_buf b[60];
    for (int i = 0; i < 60; i++) make_msg(p + 10, T, "many", (uint64_t)i + 100, &b[i]);
    assert_int_equal(send_msgs(&h, p, b, 60), GG_OK);
    for (int i = 0; i < 60; i++) gg_buf_free(&b[i]);
  }
  st = stats(&h);
  assert_true(st.seen <= 300);
  assert_true(st.mcache_msgs <= 50);
  /* a seen entry is 2 allocations (record, map key), a cached message 3 (entry, key, bytes) */
  assert_true(fm.live - base <= 2 * 300 + 3 * 50 + 50);
  /* after seen_ttl and the history, the caches are empty again */
  h_advance(&h, GG_SEC(130));
  st = stats(&h);
  assert_int_equal(st.seen, 0);
  assert_int_equal(st.mcache_msgs, 0);
  assert_true(fm.live - base < 50);
  h_free(&h);
  assert_int_equal(fm.live, 0);
}

/* IWANT spam and GRAFT spam end below the graylist threshold; IHAVE spam is bounded. */
static void test_control_spam(void **state) {
  (void)state;
  harness h;
  assert_int_equal(h_init(&h, NULL, NULL), GG_OK);
  assert_int_equal(ggp_gossip_subscribe(h.g, T, h.now), GG_OK);
  setup_peers(&h, 1, 8, GGP_GOSSIP_V11, T);
  h_advance(&h, GG_MS(1200));
  /* IWANT: 3 RPCs asking for 3000 ids each (budget: 5000 per heartbeat) */
  uint8_t id[44];
  memset(id, 7, sizeof(id));
  for (int i = 0; i < 3; i++) send_iwant(&h, 1, id, sizeof(id), 3000);
  assert_true(score_of(&h, 1) < -10);
  send_iwant(&h, 1, id, sizeof(id), 3000);
  assert_true(score_of(&h, 1) < -80);
  /* GRAFT spam: after a PRUNE, repeated GRAFTs within the backoff */
  for (int i = 0; i < 3; i++) {
    send_prune(&h, 2, T, 0, 0);
    send_graft(&h, 2, T);
  }
  assert_true(score_of(&h, 2) < -80);
  uint64_t gray = stats(&h).rpcs_graylisted;
  send_graft(&h, 2, T);
  assert_int_equal(stats(&h).rpcs_graylisted, gray + 1);
  /* IHAVE spam: at most max_ihave_length ids asked per heartbeat, promises capped */
  h_clear(&h);
  size_t n = 3000;
  uint8_t *many = malloc(n * 44);
  const uint8_t **ids = malloc(n * sizeof(*ids));
  size_t *lens = malloc(n * sizeof(*lens));
  for (int r = 0; r < 4; r++) {
    for (size_t i = 0; i < n; i++) {
      memset(many + i * 44, 0, 44);
      memcpy(many + i * 44, &i, sizeof(i));
      many[i * 44 + 40] = (uint8_t)r;
      ids[i] = many + i * 44;
      lens[i] = 44;
    }
    send_ihave(&h, 3, T, ids, lens, n);
  }
  assert_int_equal(h_got(&h, 3).iwant_ids, 5000);
  assert_true(stats(&h).promises <= 4);
  free(many);
  free((void *)ids);
  free(lens);
  /* the promises are broken: peer 3 pays */
  h_advance(&h, GG_SEC(4));
  assert_true(score_of(&h, 3) < 0);
  h_free(&h);
}

/* Every allocation failure is survived without leaks or crashes. */
static int scenario(const gg_mem *mem) {
  harness h;
  if (h_init(&h, NULL, mem) != GG_OK) return 0;
  ggp_gossip_subscribe(h.g, T, h.now);
  ggp_gossip_topic_score tp;
  ggp_gossip_topic_score_default(&tp);
  ggp_gossip_set_topic_score(h.g, T2, &tp);
  for (int i = 1; i <= 8; i++) {
    h_add(&h, i,
          i <= 4   ? GGP_GOSSIP_V12
          : i <= 6 ? GGP_GOSSIP_V11
                   : GGP_GOSSIP_V10,
          i & 1 ? GGP_GOSSIP_OUTBOUND : 0);
    send_sub(&h, i, T, 1);
    const uint8_t ip[4] = {10, 0, 0, (uint8_t)(i & 3)};
    ggp_gossip_set_peer_ip(h.g, &h.ids[i], ip, 4);
  }
  send_sub(&h, 8, T2, 1);
  h_advance(&h, GG_MS(1200));
  char big[600];
  memset(big, 'b', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  send_msg(&h, 1, 20, T, big, 1);
  send_msg(&h, 2, 20, T, big, 1);
  send_msg(&h, 3, 21, T, "small", 1);
  uint8_t id[44];
  memset(id, 9, sizeof(id));
  const uint8_t *ids[1] = {id};
  size_t lens[1] = {44};
  send_ihave(&h, 4, T, ids, lens, 1);
  send_idontwant(&h, 1, id, 44);
  size_t il;
  uint8_t pid[GGP_GOSSIP_MSGID_MAX];
  ggp_gossip_publish(h.g, T, (const uint8_t *)"pub", 3, h.now, NULL, pid, &il);
  ggp_gossip_publish(h.g, T2, (const uint8_t *)"fan", 3, h.now, NULL, NULL, NULL);
  send_iwant(&h, 5, pid, 44, 2);
  send_graft(&h, 7, T);
  send_prune(&h, 6, T, 5, 2);
  h_advance(&h, GG_SEC(4));
  ggp_gossip_remove_peer(h.g, &h.ids[2], h.now);
  ggp_gossip_unsubscribe(h.g, T, h.now);
  h_advance(&h, GG_SEC(2));
  h_free(&h);
  return 1;
}

static void test_failing_allocator(void **state) {
  (void)state;
  for (long n = 0;; n++) {
    gg_failmem fm;
    gg_failmem_init(&fm, n);
    scenario(&fm.mem);
    assert_int_equal(fm.live, 0);
    if (fm.nallocs < n) break; /* the whole scenario ran without a failure */
    assert_true(n < 100000);
  }
}

/* ======================================================================================== */
/* simulated networks                                                                      */
/* ======================================================================================== */

static ggsim_gossip *sim_make(size_t n, gg_ts latency, gg_ts jitter, uint64_t seed) {
  ggsim_gossip_settings s;
  ggsim_gossip_settings_default(&s);
  s.nodes = n;
  s.latency = latency;
  s.jitter = jitter;
  s.seed = seed;
  s.dial = 8;
  ggsim_gossip *sim;
  assert_int_equal(ggsim_gossip_new(&sim, &s), GG_OK);
  return sim;
}

/* Meshes reach D_lo..D_hi within a few heartbeats, and mesh links are mutual. */
static void test_sim_mesh_formation(void **state) {
  (void)state;
  ggsim_gossip *sim = sim_make(60, GG_MS(20), GG_MS(5), 3);
  assert_int_equal(ggsim_gossip_build(sim, GG_SEC(3)), GG_OK);
  size_t total = 0;
  for (size_t i = 0; i < 60; i++) {
    gg_peerid m[32];
    size_t k = ggp_gossip_mesh_peers(ggsim_gossip_node(sim, i), T, 0, m, 32);
    assert_true(k >= 4 && k <= 12);
    total += k;
    for (size_t j = 0; j < k; j++) { /* mutual: i is in the mesh of each of its mesh peers */
      long o = ggsim_gossip_index(sim, &m[j]);
      assert_true(o >= 0);
      gg_peerid om[32];
      size_t ok = ggp_gossip_mesh_peers(ggsim_gossip_node(sim, (size_t)o), T, 0, om, 32);
      int found = 0;
      for (size_t q = 0; q < ok; q++) found |= gg_peerid_eq(&om[q], ggsim_gossip_id(sim, i));
      assert_true(found);
    }
  }
  assert_true(total / 60 >= 6 && total / 60 <= 9);
  ggsim_gossip_del(sim);
}

/* 120 nodes, 25 ms +- jitter: every message reaches every subscriber, with at most D + 2
 * duplicates per node per message on average. */
static void test_sim_network(void **state) {
  (void)state;
  ggsim_gossip *sim = sim_make(120, GG_MS(25), GG_MS(10), 5);
  assert_int_equal(ggsim_gossip_build(sim, GG_SEC(4)), GG_OK);
  ggsim_gossip_reset(sim);
  for (size_t k = 0; k < 30; k++) {
    assert_int_equal(ggsim_gossip_publish(sim, (k * 37) % 120, 2048, NULL), GG_OK);
    ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_MS(300));
  }
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_SEC(3));
  ggsim_gossip_report r;
  ggsim_gossip_report_get(sim, &r);
  assert_int_equal(r.messages, 30);
  assert_int_equal(r.subscribers, 120);
  assert_true(r.delivery == 1.0);
  assert_true(r.dup_avg <= 6 + 2);
  assert_true(r.p99 <= GG_MS(250));
  ggsim_gossip_del(sim);
}

typedef struct blocker {
  ggsim_gossip *sim;
  size_t victim;
  int on;
  int dropped;
} blocker;

static int has_messages(const uint8_t *rpc, size_t len) {
  GossipsubPb__RPC *r = gossipsub_pb__rpc__unpack(NULL, len, rpc);
  int n = r ? (int)r->n_publish : 0;
  if (r) gossipsub_pb__rpc__free_unpacked(r, NULL);
  return n;
}

static int block_filter(void *arg, size_t from, size_t to, const uint8_t *rpc, size_t len) {
  (void)from;
  blocker *b = arg;
  if (b->on && to == b->victim && has_messages(rpc, len)) {
    b->dropped++;
    return 0;
  }
  return 1;
}

/* A node that misses a message on the mesh gets it through IHAVE/IWANT. */
static void test_sim_gossip_recovery(void **state) {
  (void)state;
  ggsim_gossip *sim = sim_make(60, GG_MS(20), 0, 7);
  assert_int_equal(ggsim_gossip_build(sim, GG_SEC(3)), GG_OK);
  blocker b = {sim, 17, 1, 0};
  ggsim_gossip_set_filter(sim, block_filter, &b);
  ggsim_gossip_reset(sim);
  size_t idx;
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_MS(50)); /* off the heartbeat */
  assert_int_equal(ggsim_gossip_publish(sim, 3, 100, &idx), GG_OK);
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_MS(300));
  assert_true(b.dropped > 0);
  assert_false(ggsim_gossip_delivered(sim, idx, 17));
  b.on = 0;
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_SEC(3));
  assert_true(ggsim_gossip_delivered(sim, idx, 17));
  ggp_gossip_stats st;
  ggp_gossip_get_stats(ggsim_gossip_node(sim, 17), &st);
  assert_true(st.iwant_out >= 1);
  ggsim_gossip_report r;
  ggsim_gossip_report_get(sim, &r);
  assert_true(r.delivery == 1.0);
  ggsim_gossip_del(sim);
}

static gg_buf pack(const GossipsubPb__RPC *rpc) {
  gg_buf b;
  gg_buf_init(&b, NULL, 1u << 24);
  size_t n = gossipsub_pb__rpc__get_packed_size(rpc);
  uint8_t *t = gg_buf_tail(&b, n);
  gossipsub_pb__rpc__pack(rpc, t);
  gg_buf_commit(&b, n);
  return b;
}

/* 100 honest nodes and 4 attackers (invalid signatures, garbage, IWANT spam, GRAFT spam):
 * every neighbour of an attacker graylists it and the honest nodes deliver everything. */
static void test_sim_attackers(void **state) {
  (void)state;
  const size_t honest = 100, na = 4;
  ggsim_gossip *sim = sim_make(honest + na, GG_MS(20), GG_MS(5), 11);
  for (size_t a = honest; a < honest + na; a++) ggsim_gossip_set_raw(sim, a, 1);
  assert_int_equal(ggsim_gossip_build(sim, 0), GG_OK);
  /* the attackers announce the topic to everyone they are connected to */
  GossipsubPb__RPC__SubOpts so = GOSSIPSUB_PB__RPC__SUB_OPTS__INIT, *sop = &so;
  so.has_subscribe = so.subscribe = 1;
  so.topic = (char *)T;
  GossipsubPb__RPC sub = GOSSIPSUB_PB__RPC__INIT;
  sub.n_subscriptions = 1;
  sub.subscriptions = &sop;
  gg_buf subb = pack(&sub);
  int victim[4][128] = {{0}};
  for (size_t a = honest; a < honest + na; a++)
    for (size_t v = 0; v < honest; v++)
      victim[a - honest][v] =
          ggsim_gossip_inject(sim, a, v, gg_buf_ptr(&subb), gg_buf_len(&subb)) == GG_OK;
  gg_buf_free(&subb);
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_SEC(3));
  ggsim_gossip_reset(sim);

  /* the attack payloads */
  gg_buf badsig;
  gg_buf_init(&badsig, NULL, 1u << 20);
  {
    GossipsubPb__Message *pm[6];
    for (int i = 0; i < 6; i++) {
      gg_buf m;
      gg_buf_init(&m, NULL, 4096);
      ggp_gossip_sign_message(ggsim_gossip_key(sim, honest), T, (const uint8_t *)"evil", 4,
                              (uint64_t)i, 0, &m);
      pm[i] = gossipsub_pb__message__unpack(NULL, gg_buf_len(&m), gg_buf_ptr(&m));
      pm[i]->signature.data[0] ^= 0x55;
      gg_buf_free(&m);
    }
    GossipsubPb__RPC r = GOSSIPSUB_PB__RPC__INIT;
    r.n_publish = 6;
    r.publish = pm;
    badsig = pack(&r);
    for (int i = 0; i < 6; i++) gossipsub_pb__message__free_unpacked(pm[i], NULL);
  }
  const uint8_t garbage[] = {0x12, 0x7f, 0x00};
  gg_buf iwant;
  {
    static uint8_t id[44];
    ProtobufCBinaryData *d = calloc(6000, sizeof(*d));
    for (int i = 0; i < 6000; i++) d[i] = (ProtobufCBinaryData){44, id};
    GossipsubPb__ControlIWant iw = GOSSIPSUB_PB__CONTROL_IWANT__INIT, *iwp = &iw;
    iw.n_messageids = 6000;
    iw.messageids = d;
    GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
    c.n_iwant = 1;
    c.iwant = &iwp;
    GossipsubPb__RPC r = GOSSIPSUB_PB__RPC__INIT;
    r.control = &c;
    iwant = pack(&r);
    free(d);
  }
  gg_buf graft, prune;
  {
    GossipsubPb__ControlGraft gr = GOSSIPSUB_PB__CONTROL_GRAFT__INIT, *grp = &gr;
    gr.topicid = (char *)T;
    GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
    c.n_graft = 1;
    c.graft = &grp;
    GossipsubPb__RPC r = GOSSIPSUB_PB__RPC__INIT;
    r.control = &c;
    graft = pack(&r);
    GossipsubPb__ControlPrune pr = GOSSIPSUB_PB__CONTROL_PRUNE__INIT, *prp = &pr;
    pr.topicid = (char *)T;
    GossipsubPb__ControlMessage c2 = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
    c2.n_prune = 1;
    c2.prune = &prp;
    r.control = &c2;
    prune = pack(&r);
  }
  /* attacks interleaved with honest publications */
  for (int round = 0; round < 4; round++) {
    for (size_t v = 0; v < honest; v++) {
      if (victim[0][v])
        ggsim_gossip_inject(sim, honest, v, gg_buf_ptr(&badsig), gg_buf_len(&badsig));
      for (int k = 0; k < 3; k++) {
        if (victim[1][v]) ggsim_gossip_inject(sim, honest + 1, v, garbage, sizeof(garbage));
        if (victim[2][v])
          ggsim_gossip_inject(sim, honest + 2, v, gg_buf_ptr(&iwant), gg_buf_len(&iwant));
      }
      if (victim[3][v]) {
        ggsim_gossip_inject(sim, honest + 3, v, gg_buf_ptr(&graft), gg_buf_len(&graft));
        ggsim_gossip_inject(sim, honest + 3, v, gg_buf_ptr(&prune), gg_buf_len(&prune));
        ggsim_gossip_inject(sim, honest + 3, v, gg_buf_ptr(&graft), gg_buf_len(&graft));
      }
    }
    if (round == 3) {
      /* (scores decay: a peer that stops misbehaving is forgiven in time, so look now) */
      ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_MS(60));
      for (size_t a = 0; a < na; a++) {
        int victims = 0;
        for (size_t v = 0; v < honest; v++) {
          if (!victim[a][v]) continue;
          victims++;
          double sc =
              ggp_gossip_peer_score(ggsim_gossip_node(sim, v), ggsim_gossip_id(sim, honest + a));
          if (sc >= -80) print_message("attacker %zu at node %zu: score %f\n", a, v, sc);
          assert_true(sc < -80);
        }
        assert_true(victims > 0);
      }
    }
    for (int k = 0; k < 5; k++) {
      assert_int_equal(ggsim_gossip_publish(sim, (size_t)(round * 29 + k * 13) % honest, 512, NULL),
                       GG_OK);
      ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_MS(200));
    }
  }
  ggsim_gossip_run_until(sim, ggsim_gossip_now(sim) + GG_SEC(3));
  ggsim_gossip_report r;
  ggsim_gossip_report_get(sim, &r);
  assert_int_equal(r.messages, 20);
  assert_true(r.delivery == 1.0);
  uint64_t gray = 0;
  for (size_t v = 0; v < honest; v++) {
    ggp_gossip_stats st;
    ggp_gossip_get_stats(ggsim_gossip_node(sim, v), &st);
    gray += st.rpcs_graylisted;
  }
  assert_true(gray > 0);
  gg_buf_free(&badsig);
  gg_buf_free(&iwant);
  gg_buf_free(&graft);
  gg_buf_free(&prune);
  ggsim_gossip_del(sim);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sign_known_key),
      cmocka_unit_test(test_recv_validation),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_graft_prune_backoff),
      cmocka_unit_test(test_mesh_bounds),
      cmocka_unit_test(test_ihave_iwant),
      cmocka_unit_test(test_gossip_emission),
      cmocka_unit_test(test_flood_publish),
      cmocka_unit_test(test_fanout),
      cmocka_unit_test(test_async_validation),
      cmocka_unit_test(test_idontwant),
      cmocka_unit_test(test_px),
      cmocka_unit_test(test_scoring),
      cmocka_unit_test(test_go_msgid),
      cmocka_unit_test(test_flood_rate_and_memory),
      cmocka_unit_test(test_control_spam),
      cmocka_unit_test(test_failing_allocator),
      cmocka_unit_test(test_sim_mesh_formation),
      cmocka_unit_test(test_sim_network),
      cmocka_unit_test(test_sim_gossip_recovery),
      cmocka_unit_test(test_sim_attackers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
