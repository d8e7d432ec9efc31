/*
 * Kademlia core tests. Two cores wired by hand check the wire handling of each message type;
 * the discrete-event simulator (src/sim/kadsim.c) runs hundreds of cores with a fake clock:
 * lookups, put/get, providers, churn, unresponsive peers, expiry and republishing, bucket
 * replacement, caps.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/kad.h"
#include "ggen/kadsim.h"
#include "ggen/multihash.h"
#include "kad.pb-c.h"

/* ---- a test namespace: values are accepted up to the size cap; the larger value wins ---- */

static int tv_validate(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  (void)ud, (void)k, (void)kl;
  return vl > 0 && v[0] == '!' ? GG_EBADSIG : GG_OK; /* "!..." plays an invalid signature */
}

static size_t tv_select(void *ud, const uint8_t *k, size_t kl, const gg_slice *v, size_t n) {
  (void)ud, (void)k, (void)kl;
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    size_t m = v[i].len < v[best].len ? v[i].len : v[best].len;
    int c = memcmp(v[i].p, v[best].p, m);
    if (c > 0 || (c == 0 && v[i].len > v[best].len)) best = i;
  }
  return best;
}

static const ggp_kad_validator test_ns = {"test", tv_validate, tv_select, NULL};

/* ---- two cores by hand -------------------------------------------------------------------- */

typedef struct pair_ctx {
  gg_buf last_msg;
  uint64_t last_req;
  int sends;
  int done;
  ggp_kad_result res;
  uint8_t val[256];
} pair_ctx;

static int p_send(ggp_kad *k, uint64_t reqid, const ggp_kad_peerinfo *p, const uint8_t *msg,
                  size_t len, int expect, void *ud) {
  (void)k, (void)p, (void)expect;
  pair_ctx *c = ud;
  gg_buf_reset(&c->last_msg);
  gg_buf_append(&c->last_msg, msg, len);
  c->last_req = reqid;
  c->sends++;
  return 0;
}

static void p_done(ggp_kad *k, uint64_t qid, const ggp_kad_result *r, void *ud) {
  (void)k, (void)qid;
  pair_ctx *c = ud;
  c->done++;
  c->res = *r;
  if (r->val && r->vlen <= sizeof(c->val)) memcpy(c->val, r->val, r->vlen);
}

static const ggp_kad_callbacks pair_cb = {.send_request = p_send, .query_done = p_done};

static void make_core(ggp_kad **k, pair_ctx *c, uint8_t seed, gg_peerid *id, const gg_mem *mem) {
  uint8_t s[32] = {seed};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, s);
  gg_peerid_from_ed25519(id, kp.pub);
  memset(c, 0, sizeof(*c));
  gg_buf_init(&c->last_msg, NULL, 1 << 20);
  assert_int_equal(ggp_kad_new(k, &pair_cb, NULL, id, gg_rand_system(), mem, c), GG_OK);
  assert_int_equal(ggp_kad_add_validator(*k, &test_ns), GG_OK);
  const uint8_t addr[8] = {0x04, 127, 0, 0, seed, 0x06, 0x0f, 0xa1};
  gg_slice a = {addr, sizeof(addr)};
  assert_int_equal(ggp_kad_set_self_addrs(*k, &a, 1), GG_OK);
}

/* Delivers a's last request to b and b's reply back to a. Returns b's handler result. */
static int exchange(ggp_kad *a, pair_ctx *ca, const gg_peerid *ida, ggp_kad *b, gg_ts ts) {
  gg_buf reply;
  gg_buf_init(&reply, NULL, 1 << 20);
  int rv = ggp_kad_handle_request(b, ida, gg_buf_ptr(&ca->last_msg), gg_buf_len(&ca->last_msg), ts, &reply);
  if (rv == GG_OK) ggp_kad_on_reply(a, ca->last_req, gg_buf_ptr(&reply), gg_buf_len(&reply), ts);
  else ggp_kad_on_fail(a, ca->last_req, rv, ts);
  gg_buf_free(&reply);
  return rv;
}

static void test_wire_put_get_provide(void **s) {
  (void)s;
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  ggp_kad *a, *b;
  pair_ctx ca, cb;
  gg_peerid ida, idb;
  make_core(&a, &ca, 1, &ida, &fm.mem);
  make_core(&b, &cb, 2, &idb, &fm.mem);
  gg_ts t = GG_SEC(1700000000);
  const uint8_t baddr[8] = {0x04, 127, 0, 0, 2, 0x06, 0x0f, 0xa1};
  gg_slice ba = {baddr, 8};
  ggp_kad_peerinfo pb = {idb, &ba, 1};
  assert_int_equal(ggp_kad_peer_seen(a, &pb, t), GG_OK);

  /* put: a looks up the closest (b), then stores at b */
  uint64_t q;
  assert_int_equal(ggp_kad_put_value(a, (const uint8_t *)"/test/x", 7, (const uint8_t *)"v1", 2, t, &q), GG_OK);
  assert_int_equal(ca.sends, 1); /* FIND_NODE to b */
  assert_int_equal(exchange(a, &ca, &ida, b, t), GG_OK);
  assert_int_equal(ca.sends, 2); /* PUT_VALUE to b */
  KadPb__Message *m = kad_pb__message__unpack(NULL, gg_buf_len(&ca.last_msg), gg_buf_ptr(&ca.last_msg));
  assert_non_null(m);
  assert_int_equal(m->type, KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE);
  assert_non_null(m->record);
  assert_non_null(m->record->timereceived);
  assert_int_equal(strlen(m->record->timereceived), 24); /* 2023-11-14T22:13:20.000Z */
  kad_pb__message__free_unpacked(m, NULL);
  assert_int_equal(exchange(a, &ca, &ida, b, t), GG_OK);
  assert_int_equal(ca.done, 1);
  assert_int_equal(ca.res.err, GG_OK);
  assert_int_equal(ca.res.stored, 1);
  gg_buf v;
  gg_buf_init(&v, NULL, 1024);
  assert_int_equal(ggp_kad_get_local(b, (const uint8_t *)"/test/x", 7, t, &v), GG_OK);
  assert_memory_equal(gg_buf_ptr(&v), "v1", 2);

  /* a worse value from someone else does not replace the better one at b */
  gg_buf req, reply;
  gg_buf_init(&req, NULL, 1 << 16);
  gg_buf_init(&reply, NULL, 1 << 16);
  {
    KadPb__Message pm = KAD_PB__MESSAGE__INIT;
    KadPb__Record rec = KAD_PB__RECORD__INIT;
    pm.has_type = 1;
    pm.type = KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
    pm.has_key = 1;
    pm.key.data = (uint8_t *)"/test/x";
    pm.key.len = 7;
    rec.has_key = 1;
    rec.key = pm.key;
    rec.has_value = 1;
    rec.value.data = (uint8_t *)"v0";
    rec.value.len = 2;
    pm.record = &rec;
    uint8_t buf[128];
    size_t n = kad_pb__message__pack(&pm, buf);
    assert_int_equal(ggp_kad_handle_request(b, &ida, buf, n, t, &reply), GG_OK);
    assert_int_equal(gg_buf_len(&reply), n); /* echoed */
    gg_buf_reset(&v);
    ggp_kad_get_local(b, (const uint8_t *)"/test/x", 7, t, &v);
    assert_memory_equal(gg_buf_ptr(&v), "v1", 2);
    /* an invalid value, an unknown namespace and a key mismatch are refused */
    rec.value.data = (uint8_t *)"!bad";
    rec.value.len = 4;
    n = kad_pb__message__pack(&pm, buf);
    assert_int_equal(ggp_kad_handle_request(b, &ida, buf, n, t, &reply), GG_EBADSIG);
    rec.value.data = (uint8_t *)"v9";
    rec.value.len = 2;
    pm.key.data = rec.key.data = (uint8_t *)"/nons/x";
    n = kad_pb__message__pack(&pm, buf);
    assert_int_equal(ggp_kad_handle_request(b, &ida, buf, n, t, &reply), GG_EPROTO);
    rec.key.data = (uint8_t *)"/test/y";
    pm.key.data = (uint8_t *)"/test/x";
    n = kad_pb__message__pack(&pm, buf);
    assert_int_equal(ggp_kad_handle_request(b, &ida, buf, n, t, &reply), GG_EPROTO);
  }

  /* get from a fresh core c that knows only b */
  ggp_kad *c;
  pair_ctx cc;
  gg_peerid idc;
  make_core(&c, &cc, 3, &idc, &fm.mem);
  ggp_kad_peer_seen(c, &pb, t);
  assert_int_equal(ggp_kad_get_value(c, (const uint8_t *)"/test/x", 7, 0, t, &q), GG_OK);
  assert_int_equal(exchange(c, &cc, &idc, b, t), GG_OK);
  assert_int_equal(cc.done, 1);
  assert_int_equal(cc.res.err, GG_OK);
  assert_int_equal(cc.res.vlen, 2);
  assert_memory_equal(cc.val, "v1", 2);
  assert_int_equal(ggp_kad_get_value(c, (const uint8_t *)"/none/x", 7, 0, t, &q), GG_EINVAL);

  /* provide: only the sender may announce itself */
  const uint8_t mh[34] = {0x12, 0x20, 1, 2, 3};
  assert_int_equal(ggp_kad_provide(a, mh, sizeof(mh), t, &q), GG_OK);
  assert_int_equal(exchange(a, &ca, &ida, b, t), GG_OK);          /* FIND_NODE */
  /* the ADD_PROVIDER arrives claiming to come from c: refused silently (no reply, not stored) */
  gg_buf_reset(&reply);
  assert_int_equal(ggp_kad_handle_request(b, &idc, gg_buf_ptr(&ca.last_msg), gg_buf_len(&ca.last_msg), t, &reply), GG_OK);
  assert_int_equal(gg_buf_len(&reply), 0);
  ggp_kad_stats st;
  ggp_kad_get_stats(b, &st);
  assert_int_equal(st.providers, 0);
  assert_int_equal(ggp_kad_handle_request(b, &ida, gg_buf_ptr(&ca.last_msg), gg_buf_len(&ca.last_msg), t, &reply), GG_OK);
  ggp_kad_get_stats(b, &st);
  assert_int_equal(st.providers, 1);
  ggp_kad_on_reply(a, ca.last_req, NULL, 0, t); /* "sent" */
  assert_int_equal(ca.done, 2);
  assert_int_equal(ca.res.stored, 1);
  /* c finds a as provider through b */
  assert_int_equal(ggp_kad_get_providers(c, mh, sizeof(mh), 0, t, &q), GG_OK);
  assert_int_equal(exchange(c, &cc, &idc, b, t), GG_OK);
  assert_int_equal(cc.res.type, GGP_KAD_Q_GET_PROVIDERS);
  assert_int_equal(cc.res.err, GG_OK);
  assert_int_equal(cc.res.nproviders, 1);

  gg_buf_free(&v);
  gg_buf_free(&req);
  gg_buf_free(&reply);
  ggp_kad_del(a);
  ggp_kad_del(b);
  ggp_kad_del(c);
  gg_buf_free(&ca.last_msg);
  gg_buf_free(&cb.last_msg);
  gg_buf_free(&cc.last_msg);
  assert_int_equal(fm.live, 0);
}

/* A node's own provider entries, reloaded after a restart with the previous run's addresses,
 * are announced with its current ones (GET_PROVIDERS replies and local lookups). */
static void test_own_provider_current_addrs(void **s) {
  (void)s;
  ggp_kad *a, *b;
  pair_ctx ca, cb;
  gg_peerid ida, idb;
  make_core(&a, &ca, 1, &ida, NULL);
  make_core(&b, &cb, 2, &idb, NULL);
  gg_ts t = GG_SEC(1700000000);
  uint8_t key[GG_MH_SHA256_LEN];
  gg_mh_sha256((const uint8_t *)"content", 7, key);
  const uint8_t old_addr[8] = {0x04, 10, 9, 9, 9, 0x06, 0x00, 0x50};
  gg_slice oa = {old_addr, 8};
  ggp_kad_peerinfo self_old = {ida, &oa, 1};
  assert_int_equal(ggp_kad_load_provider(a, key, sizeof(key), &self_old, t + GG_SEC(3600), t), GG_OK);
  /* make_core set a's current address: 127.0.0.1 ending in the seed byte */
  const uint8_t cur_addr[8] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  /* b asks a */
  gg_buf req, reply;
  gg_buf_init(&req, NULL, 1024);
  gg_buf_init(&reply, NULL, 1 << 16);
  KadPb__Message m;
  kad_pb__message__init(&m);
  m.has_type = 1;
  m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS;
  m.has_key = 1;
  m.key.data = key;
  m.key.len = sizeof(key);
  uint8_t *enc = gg_buf_tail(&req, kad_pb__message__get_packed_size(&m));
  gg_buf_commit(&req, kad_pb__message__pack(&m, enc));
  assert_int_equal(ggp_kad_handle_request(a, &idb, gg_buf_ptr(&req), gg_buf_len(&req), t, &reply), GG_OK);
  KadPb__Message *r = kad_pb__message__unpack(NULL, gg_buf_len(&reply), gg_buf_ptr(&reply));
  assert_non_null(r);
  assert_int_equal(r->n_providerpeers, 1);
  assert_int_equal(r->providerpeers[0]->n_addrs, 1);
  assert_int_equal(r->providerpeers[0]->addrs[0].len, 8);
  assert_memory_equal(r->providerpeers[0]->addrs[0].data, cur_addr, 8);
  kad_pb__message__free_unpacked(r, NULL);
  /* the local lookup reports the same */
  uint64_t q;
  assert_int_equal(ggp_kad_get_providers(a, key, sizeof(key), 1, t, &q), GG_OK);
  ggp_kad_handle_expiry(a, t);
  assert_int_equal(ca.done, 1);
  assert_int_equal(ca.res.err, GG_OK);
  assert_int_equal(ca.res.nproviders, 1);
  gg_buf_free(&req);
  gg_buf_free(&reply);
  gg_buf_free(&ca.last_msg);
  gg_buf_free(&cb.last_msg);
  ggp_kad_del(a);
  ggp_kad_del(b);
}

static void test_bad_messages_and_rate_limit(void **s) {
  (void)s;
  ggp_kad *b;
  pair_ctx cb;
  gg_peerid idb, ida;
  make_core(&b, &cb, 2, &idb, NULL);
  uint8_t sa[32] = {9};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, sa);
  gg_peerid_from_ed25519(&ida, kp.pub);
  gg_ts t = GG_SEC(1700000000);
  gg_buf reply;
  gg_buf_init(&reply, NULL, 1 << 20);
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01};
  assert_int_equal(ggp_kad_handle_request(b, &ida, garbage, sizeof(garbage), t, &reply), GG_EPROTO);
  const uint8_t badtype[] = {0x08, 0x09};
  assert_int_equal(ggp_kad_handle_request(b, &ida, badtype, sizeof(badtype), t, &reply), GG_EPROTO);
  uint8_t *big = calloc(1, 200000);
  assert_int_equal(ggp_kad_handle_request(b, &ida, big, 200000, t, &reply), GG_ETOOBIG);
  free(big);
  /* PING is answered */
  const uint8_t ping[] = {0x08, 0x05};
  gg_buf_reset(&reply);
  assert_int_equal(ggp_kad_handle_request(b, &ida, ping, sizeof(ping), t, &reply), GG_OK);
  assert_true(gg_buf_len(&reply) > 0);
  /* burst of 100, then refused until tokens come back */
  int ok = 0, refused = 0;
  for (int i = 0; i < 300; i++) {
    gg_buf_reset(&reply);
    int rv = ggp_kad_handle_request(b, &ida, ping, sizeof(ping), t, &reply);
    if (rv == GG_OK) ok++;
    else if (rv == GG_ERATE) refused++;
  }
  assert_true(ok < 100 && refused > 190);
  gg_buf_reset(&reply);
  assert_int_equal(ggp_kad_handle_request(b, &ida, ping, sizeof(ping), t + GG_SEC(1), &reply), GG_OK);
  gg_buf_free(&reply);
  ggp_kad_del(b);
  gg_buf_free(&cb.last_msg);
}

/* ---- simulated networks -------------------------------------------------------------------- */

static ggsim_kad *make_sim_ttl(size_t n, uint64_t seed, gg_ts ttl) {
  ggsim_kad_settings ss;
  ggsim_kad_settings_default(&ss);
  if (ttl) { /* shorter lifetimes so that days become hours of simulation */
    ss.kad.record_ttl = ss.kad.provider_ttl = ttl;
    ss.kad.republish_interval = ss.kad.reprovide_interval = ttl / 2;
    ss.kad.refresh_interval = ttl / 4;
  }
  ss.nodes = n;
  ss.seed = seed;
  ss.latency = GG_MS(25);
  ss.jitter = GG_MS(10);
  ss.kad.request_timeout = GG_SEC(2);
  ggsim_kad *sim;
  assert_int_equal(ggsim_kad_new(&sim, &ss), GG_OK);
  for (size_t i = 0; i < n; i++) assert_int_equal(ggp_kad_add_validator(ggsim_kad_node(sim, i), &test_ns), GG_OK);
  assert_int_equal(ggsim_kad_build(sim), GG_OK);
  return sim;
}

static ggsim_kad *make_sim(size_t n, uint64_t seed) { return make_sim_ttl(n, seed, 0); }

static uint64_t rnd(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

static size_t online_node(ggsim_kad *sim, uint64_t *x) {
  for (;;) {
    size_t i = rnd(x) % ggsim_kad_count(sim);
    if (ggsim_kad_state(sim, i) == GGSIM_ONLINE) return i;
  }
}

static void put_and_get(ggsim_kad *sim, int records, uint64_t *x, int *found, unsigned *maxrounds) {
  char keys[64][32];
  for (int r = 0; r < records; r++) {
    snprintf(keys[r], sizeof(keys[r]), "/test/rec-%d-%llu", r, (unsigned long long)rnd(x));
    size_t p = online_node(sim, x);
    uint64_t q;
    assert_int_equal(ggp_kad_put_value(ggsim_kad_node(sim, p), (const uint8_t *)keys[r], strlen(keys[r]),
                                       (const uint8_t *)keys[r], strlen(keys[r]), ggsim_kad_now(sim), &q), GG_OK);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, p, q, GG_TS_UNSET);
    assert_non_null(res);
    assert_int_equal(res->err, GG_OK);
    assert_true(res->stored >= 10);
  }
  *found = 0;
  *maxrounds = 0;
  for (int r = 0; r < records; r++) {
    size_t g = online_node(sim, x);
    uint64_t q;
    assert_int_equal(ggp_kad_get_value(ggsim_kad_node(sim, g), (const uint8_t *)keys[r], strlen(keys[r]), 0,
                                       ggsim_kad_now(sim), &q), GG_OK);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, g, q, GG_TS_UNSET);
    assert_non_null(res);
    if (res->err == GG_OK && res->vlen == strlen(keys[r]) && !memcmp(res->val, keys[r], res->vlen)) (*found)++;
    if (res->rounds > *maxrounds) *maxrounds = res->rounds;
  }
}

static void test_sim_lookups_200(void **s) {
  (void)s;
  ggsim_kad *sim = make_sim(200, 7);
  /* every node has a useful routing table */
  for (size_t i = 0; i < 200; i++) {
    ggp_kad_stats st;
    ggp_kad_get_stats(ggsim_kad_node(sim, i), &st);
    assert_true(st.routing_peers >= 20);
  }
  uint64_t x = 42;
  int found;
  unsigned maxrounds;
  put_and_get(sim, 30, &x, &found, &maxrounds);
  assert_int_equal(found, 30);
  assert_true(maxrounds <= 6);
  /* find every peer from a few random nodes */
  for (int i = 0; i < 40; i++) {
    size_t from = online_node(sim, &x), want = online_node(sim, &x);
    if (from == want) continue;
    uint64_t q;
    assert_int_equal(ggp_kad_find_peer(ggsim_kad_node(sim, from), ggsim_kad_id(sim, want), ggsim_kad_now(sim), &q), GG_OK);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, from, q, GG_TS_UNSET);
    assert_int_equal(res->err, GG_OK);
    assert_true(gg_peerid_eq(&res->first_peer, ggsim_kad_id(sim, want)));
  }
  /* providers: 3 nodes provide one key, everyone finds them */
  uint8_t mh[34] = {0x12, 0x20, 0xaa, 0xbb};
  size_t provs[3] = {5, 77, 150};
  for (int i = 0; i < 3; i++) {
    uint64_t q;
    assert_int_equal(ggp_kad_provide(ggsim_kad_node(sim, provs[i]), mh, sizeof(mh), ggsim_kad_now(sim), &q), GG_OK);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, provs[i], q, GG_TS_UNSET);
    assert_int_equal(res->err, GG_OK);
    assert_true(res->stored >= 10);
  }
  for (int i = 0; i < 20; i++) {
    size_t g = online_node(sim, &x);
    uint64_t q;
    assert_int_equal(ggp_kad_get_providers(ggsim_kad_node(sim, g), mh, sizeof(mh), 3, ggsim_kad_now(sim), &q), GG_OK);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, g, q, GG_TS_UNSET);
    assert_int_equal(res->err, GG_OK);
    assert_int_equal(res->nproviders, 3);
  }
  ggsim_kad_del(sim);
}

static void test_sim_churn_and_unresponsive(void **s) {
  (void)s;
  ggsim_kad *sim = make_sim(300, 11);
  uint64_t x = 7;
  int found;
  unsigned maxrounds;
  put_and_get(sim, 20, &x, &found, &maxrounds);
  assert_int_equal(found, 20);
  /* 20% leave, 10% stop answering */
  for (size_t i = 1; i < 300; i++) {
    uint64_t r = rnd(&x) % 10;
    if (r < 2) ggsim_kad_set_state(sim, i, GGSIM_OFFLINE);
    else if (r == 2) ggsim_kad_set_state(sim, i, GGSIM_UNRESPONSIVE);
  }
  /* lookups still find records written before the churn (k = 20 replicas) */
  put_and_get(sim, 20, &x, &found, &maxrounds);
  assert_int_equal(found, 20);
  /* the departed come back as new joins and everything still works */
  for (size_t i = 1; i < 300; i++) {
    if (ggsim_kad_state(sim, i) != GGSIM_OFFLINE || rnd(&x) % 2) continue;
    uint64_t q;
    assert_int_equal(ggsim_kad_join(sim, i, &q), GG_OK);
    assert_non_null(ggsim_kad_wait(sim, i, q, GG_TS_UNSET));
  }
  put_and_get(sim, 20, &x, &found, &maxrounds);
  assert_int_equal(found, 20);
  /* failing peers were evicted from routing tables over time: nobody keeps many dead ones */
  ggsim_kad_del(sim);
}

static void test_sim_expiry_and_republish(void **s) {
  (void)s;
  const gg_ts ttl = GG_SEC(2 * 3600);
  ggsim_kad *sim = make_sim_ttl(60, 3, ttl);
  gg_ts t0 = ggsim_kad_now(sim);
  uint64_t q;
  /* node 1 publishes and republishes; a record whose publisher leaves expires after the TTL */
  assert_int_equal(ggp_kad_put_value(ggsim_kad_node(sim, 1), (const uint8_t *)"/test/pub", 9,
                                     (const uint8_t *)"P", 1, t0, &q), GG_OK);
  assert_int_equal(ggsim_kad_wait(sim, 1, q, GG_TS_UNSET)->err, GG_OK);
  /* a record stored by a peer that then disappears (no republish) */
  size_t orphan_pub = 2;
  assert_int_equal(ggp_kad_put_value(ggsim_kad_node(sim, orphan_pub), (const uint8_t *)"/test/orphan", 12,
                                     (const uint8_t *)"O", 1, ggsim_kad_now(sim), &q), GG_OK);
  assert_int_equal(ggsim_kad_wait(sim, orphan_pub, q, GG_TS_UNSET)->err, GG_OK);
  ggsim_kad_set_state(sim, orphan_pub, GGSIM_OFFLINE);
  /* 1.5 TTL later (the simulation runs refreshes and republishes meanwhile) */
  ggsim_kad_run_until(sim, t0 + ttl + ttl / 2);
  size_t g = 30;
  assert_int_equal(ggp_kad_get_value(ggsim_kad_node(sim, g), (const uint8_t *)"/test/pub", 9, 0, ggsim_kad_now(sim), &q), GG_OK);
  const ggsim_kad_res *res = ggsim_kad_wait(sim, g, q, GG_TS_UNSET);
  assert_int_equal(res->err, GG_OK);
  assert_int_equal(ggp_kad_get_value(ggsim_kad_node(sim, g), (const uint8_t *)"/test/orphan", 12, 0, ggsim_kad_now(sim), &q), GG_OK);
  res = ggsim_kad_wait(sim, g, q, GG_TS_UNSET);
  assert_int_equal(res->err, GG_ENOTFOUND);
  ggsim_kad_del(sim);
}

/* ---- routing table replacement --------------------------------------------------------------- */

typedef struct rt_ctx {
  gg_peerid checked;
  int nchecks;
} rt_ctx;

static int rt_send(ggp_kad *k, uint64_t r, const ggp_kad_peerinfo *p, const uint8_t *m, size_t l, int e, void *ud) {
  (void)k, (void)r, (void)p, (void)m, (void)l, (void)e, (void)ud;
  return 0;
}
static void rt_done(ggp_kad *k, uint64_t q, const ggp_kad_result *r, void *ud) { (void)k, (void)q, (void)r, (void)ud; }
static void rt_check(ggp_kad *k, const ggp_kad_peerinfo *p, void *ud) {
  (void)k;
  rt_ctx *c = ud;
  c->checked = p->id;
  c->nchecks++;
}
static void count_peer(const ggp_kad_peerinfo *p, gg_ts last, void *arg) {
  (void)p, (void)last;
  (*(int *)arg)++;
}

static void test_bucket_replacement(void **s) {
  (void)s;
  ggp_kad_callbacks cb = {.send_request = rt_send, .query_done = rt_done, .check_peer = rt_check};
  ggp_kad_settings st;
  ggp_kad_settings_default(&st);
  st.k = 4;
  st.replacement_cache = 2;
  rt_ctx ctx = {0};
  gg_peerid self;
  uint8_t seed[32] = {1};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_peerid_from_ed25519(&self, kp.pub);
  ggp_kad *k;
  assert_int_equal(ggp_kad_new(&k, &cb, &st, &self, gg_rand_system(), NULL, &ctx), GG_OK);
  uint8_t selfh[32];
  ggp_kad_hash(self.b, self.len, selfh);
  /* generate peers that all land in bucket 0 (first bit differs) */
  gg_peerid peers[8];
  int n = 0;
  gg_ts t = GG_SEC(1000);
  const uint8_t addr[8] = {0x04, 1, 2, 3, 4, 0x06, 0, 1};
  gg_slice a = {addr, 8};
  for (uint8_t i = 2; n < 8; i++) {
    uint8_t sd[32] = {i, 0x55};
    gg_keypair_from_seed(&kp, sd);
    gg_peerid id;
    gg_peerid_from_ed25519(&id, kp.pub);
    uint8_t h[32];
    ggp_kad_hash(id.b, id.len, h);
    if (ggp_kad_cpl(h, selfh) != 0) continue;
    peers[n++] = id;
  }
  for (int i = 0; i < 4; i++) {
    ggp_kad_peerinfo pi = {peers[i], &a, 1};
    ggp_kad_peer_seen(k, &pi, t + (gg_ts)i);
  }
  int count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 4);
  /* a newcomer soon after: the oldest was seen recently, no check, newcomer waits */
  ggp_kad_peerinfo p4 = {peers[4], &a, 1};
  ggp_kad_peer_seen(k, &p4, t + GG_SEC(1));
  assert_int_equal(ctx.nchecks, 0);
  /* later: the oldest is probed; it is dead, so the newcomer takes its place */
  ggp_kad_peer_seen(k, &p4, t + GG_SEC(120));
  assert_int_equal(ctx.nchecks, 1);
  assert_true(gg_peerid_eq(&ctx.checked, &peers[0]));
  ggp_kad_check_result(k, &peers[0], 0, t + GG_SEC(121));
  count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 4);
  /* peer 1 is now the oldest; it answers the probe and stays */
  ggp_kad_peerinfo p5 = {peers[5], &a, 1};
  ggp_kad_peer_seen(k, &p5, t + GG_SEC(300));
  assert_int_equal(ctx.nchecks, 2);
  assert_true(gg_peerid_eq(&ctx.checked, &peers[1]));
  ggp_kad_check_result(k, &peers[1], 1, t + GG_SEC(301));
  /* an unanswered probe times out as dead */
  ggp_kad_peer_seen(k, &p5, t + GG_SEC(500));
  assert_int_equal(ctx.nchecks, 3);
  ggp_kad_handle_expiry(k, t + GG_SEC(520));
  count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 4);
  ggp_kad_del(k);
}

typedef struct find_arg {
  const gg_peerid *id;
  int found;
} find_arg;

static void find_peer_cb(const ggp_kad_peerinfo *p, gg_ts last, void *arg) {
  (void)last;
  find_arg *f = arg;
  f->found |= gg_peerid_eq(&p->id, f->id);
}

static int in_table(const ggp_kad *k, const gg_peerid *id) {
  find_arg f = {id, 0};
  ggp_kad_foreach_peer(k, find_peer_cb, &f);
  return f.found;
}

/* ggp_kad_remove_peer: a peer that turned out not to be a kad server leaves the table, and a
 * waiting replacement takes its slot; a peer waiting in the replacement cache is dropped. */
static void test_remove_peer(void **s) {
  (void)s;
  ggp_kad_callbacks cb = {.send_request = rt_send, .query_done = rt_done};
  ggp_kad_settings st;
  ggp_kad_settings_default(&st);
  st.k = 4;
  st.replacement_cache = 2;
  rt_ctx ctx = {0};
  gg_peerid self;
  uint8_t seed[32] = {1};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_peerid_from_ed25519(&self, kp.pub);
  ggp_kad *k;
  assert_int_equal(ggp_kad_new(&k, &cb, &st, &self, gg_rand_system(), NULL, &ctx), GG_OK);
  uint8_t selfh[32];
  ggp_kad_hash(self.b, self.len, selfh);
  gg_peerid peers[6];
  int n = 0;
  for (uint8_t i = 2; n < 6; i++) { /* all in bucket 0 */
    uint8_t sd[32] = {i, 0x55};
    gg_keypair_from_seed(&kp, sd);
    gg_peerid id;
    gg_peerid_from_ed25519(&id, kp.pub);
    uint8_t h[32];
    ggp_kad_hash(id.b, id.len, h);
    if (ggp_kad_cpl(h, selfh) == 0) peers[n++] = id;
  }
  const uint8_t addr[8] = {0x04, 1, 2, 3, 4, 0x06, 0, 1};
  gg_slice a = {addr, 8};
  gg_ts t = GG_SEC(1000);
  for (int i = 0; i < 6; i++) { /* 0..3 in the table, 4 and 5 in the replacement cache */
    ggp_kad_peerinfo pi = {peers[i], &a, 1};
    ggp_kad_peer_seen(k, &pi, t);
  }
  int count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 4);
  assert_false(in_table(k, &peers[5]));
  ggp_kad_remove_peer(k, &peers[1]);
  assert_false(in_table(k, &peers[1]));
  assert_true(in_table(k, &peers[5])); /* the newest replacement moved up */
  count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 4);
  ggp_kad_remove_peer(k, &peers[4]); /* from the cache: it never comes back */
  ggp_kad_remove_peer(k, &peers[0]);
  assert_false(in_table(k, &peers[4]));
  count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 3);
  ggp_kad_remove_peer(k, &self); /* unknown: nothing happens */
  count = 0;
  ggp_kad_foreach_peer(k, count_peer, &count);
  assert_int_equal(count, 3);
  ggp_kad_del(k);
}

static void test_caps(void **s) {
  (void)s;
  ggp_kad *b;
  pair_ctx cb;
  gg_peerid idb, ida;
  ggp_kad_settings st;
  ggp_kad_settings_default(&st);
  st.max_records_per_peer = 5;
  st.max_records = 8;
  st.max_providers_per_key = 2;
  uint8_t s1[32] = {2};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, s1);
  gg_peerid_from_ed25519(&idb, kp.pub);
  memset(&cb, 0, sizeof(cb));
  assert_int_equal(ggp_kad_new(&b, &pair_cb, &st, &idb, gg_rand_system(), NULL, &cb), GG_OK);
  ggp_kad_add_validator(b, &test_ns);
  gg_ts t = GG_SEC(1700000000);
  gg_buf reply;
  gg_buf_init(&reply, NULL, 1 << 20);
  int stored = 0;
  for (int p = 0; p < 3; p++) {
    uint8_t sp[32] = {(uint8_t)(50 + p)};
    gg_keypair_from_seed(&kp, sp);
    gg_peerid_from_ed25519(&ida, kp.pub);
    for (int i = 0; i < 8; i++) {
      KadPb__Message pm = KAD_PB__MESSAGE__INIT;
      KadPb__Record rec = KAD_PB__RECORD__INIT;
      char key[32];
      snprintf(key, sizeof(key), "/test/%d-%d", p, i);
      pm.has_type = pm.has_key = rec.has_value = 1;
      pm.type = KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
      pm.key.data = (uint8_t *)key;
      pm.key.len = strlen(key);
      rec.value.data = (uint8_t *)"v";
      rec.value.len = 1;
      pm.record = &rec;
      uint8_t buf[128];
      size_t n = kad_pb__message__pack(&pm, buf);
      gg_buf_reset(&reply);
      int rv = ggp_kad_handle_request(b, &ida, buf, n, t, &reply);
      if (rv == GG_OK) stored++;
      else assert_int_equal(rv, GG_ELIMIT);
    }
  }
  ggp_kad_stats ks;
  ggp_kad_get_stats(b, &ks);
  assert_int_equal(stored, 8); /* 5 from the first peer, 3 from the second, then the total cap */
  assert_int_equal(ks.records, 8);
  /* an oversized record is refused */
  KadPb__Message pm = KAD_PB__MESSAGE__INIT;
  KadPb__Record rec = KAD_PB__RECORD__INIT;
  pm.has_type = pm.has_key = rec.has_value = 1;
  pm.type = KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
  pm.key.data = (uint8_t *)"/test/big";
  pm.key.len = 9;
  rec.value.len = 70000;
  rec.value.data = calloc(1, 70000);
  pm.record = &rec;
  uint8_t *buf = malloc(80000);
  size_t n = kad_pb__message__pack(&pm, buf);
  assert_int_equal(ggp_kad_handle_request(b, &ida, buf, n, t, &reply), GG_ETOOBIG);
  free(rec.value.data);
  free(buf);
  gg_buf_free(&reply);
  ggp_kad_del(b);
}

typedef struct allpeers {
  gg_peerid id[4096];
  size_t n;
} allpeers;

static void collect(const ggp_kad_peerinfo *p, gg_ts last, void *arg) {
  (void)last;
  allpeers *a = arg;
  a->id[a->n++] = p->id;
}

static uint8_t cmp_target[32];
static int cmp_by_dist(const void *x, const void *y) {
  uint8_t hx[32], hy[32];
  ggp_kad_hash(((const gg_peerid *)x)->b, ((const gg_peerid *)x)->len, hx);
  ggp_kad_hash(((const gg_peerid *)y)->b, ((const gg_peerid *)y)->len, hy);
  for (int i = 0; i < 32; i++) {
    int a = hx[i] ^ cmp_target[i], b = hy[i] ^ cmp_target[i];
    if (a != b) return a - b;
  }
  return 0;
}

/* FIND_NODE answers are exactly the k closest routing-table peers (checked by brute force). */
/* prepare_peer: while alpha requests are in flight, waiting candidates are announced (closest
 * first, each once: alpha of them for lookups that may end early, the rest of the k window for
 * those that must hear from all k), and the next request goes to one of them. */
typedef struct prep_ctx {
  gg_peerid sent[256], prepared[256];
  int nsent, nprepared;
  uint64_t reqs[256];
  int ndone, done_type, sent_at_done;
  int use_conn; /* 0: every peer counts as connected */
  gg_peerid conn[8];
  int nconn;
} prep_ctx;

static int pr_send(ggp_kad *k, uint64_t r, const ggp_kad_peerinfo *p, const uint8_t *m, size_t l,
                   int e, void *ud) {
  (void)k, (void)m, (void)l, (void)e;
  prep_ctx *c = ud;
  assert_true(c->nsent < 256);
  c->reqs[c->nsent] = r;
  c->sent[c->nsent++] = p->id;
  return 0;
}
static void pr_done(ggp_kad *k, uint64_t q, const ggp_kad_result *r, void *ud) {
  (void)k, (void)q;
  prep_ctx *c = ud;
  c->ndone++;
  c->done_type = r->type;
  c->sent_at_done = c->nsent;
}
static void pr_prepare(ggp_kad *k, const ggp_kad_peerinfo *p, void *ud) {
  (void)k;
  prep_ctx *c = ud;
  assert_true(p->naddrs >= 1);
  assert_true(c->nprepared < 256);
  c->prepared[c->nprepared++] = p->id;
}
static int pr_has(const gg_peerid *set, int n, const gg_peerid *id) {
  for (int i = 0; i < n; i++)
    if (gg_peerid_eq(&set[i], id)) return 1;
  return 0;
}
static int pr_connected(ggp_kad *k, const gg_peerid *p, void *ud) {
  (void)k;
  prep_ctx *c = ud;
  return !c->use_conn || pr_has(c->conn, c->nconn, p);
}

/* A core with 40 routing-table peers and the given prepare_ahead (and bootstrap_alpha unless
 * 0), callbacks into c. */
static ggp_kad *prep_core2(prep_ctx *c, size_t ahead, size_t boot_alpha) {
  memset(c, 0, sizeof(*c));
  ggp_kad_callbacks cb = {.send_request = pr_send, .query_done = pr_done,
                          .prepare_peer = pr_prepare, .peer_connected = pr_connected};
  ggp_kad_settings st;
  ggp_kad_settings_default(&st);
  st.prepare_ahead = ahead;
  if (boot_alpha) st.bootstrap_alpha = boot_alpha;
  uint8_t seed[32] = {5};
  gg_keypair self_kp;
  gg_keypair_from_seed(&self_kp, seed);
  gg_peerid self;
  gg_peerid_from_ed25519(&self, self_kp.pub);
  static gg_rand_seeded r; /* the core keeps using it */
  gg_rand_seeded_init(&r, 5);
  ggp_kad *k;
  assert_int_equal(ggp_kad_new(&k, &cb, &st, &self, &r.r, NULL, c), GG_OK);
  const uint8_t addr[8] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  gg_slice a = {addr, 8};
  for (int i = 0; i < 40; i++) {
    gg_keypair kp;
    gg_keypair_generate(&kp, &r.r);
    ggp_kad_peerinfo pi = {{0}, &a, 1};
    gg_peerid_from_ed25519(&pi.id, kp.pub);
    ggp_kad_peer_seen(k, &pi, GG_SEC(1000));
  }
  return k;
}

static ggp_kad *prep_core(prep_ctx *c, size_t ahead) { return prep_core2(c, ahead, 0); }

/* The bootstrap's self-lookup asks bootstrap_alpha peers at once (default: the whole k
 * window), and the bucket refreshes start only when it has ended. */
static void test_bootstrap_alpha(void **s) {
  (void)s;
  static prep_ctx c;
  gg_ts t = GG_SEC(1000);
  for (int variant = 0; variant < 2; variant++) {
    ggp_kad *k = prep_core2(&c, 0, variant ? 3 : 0);
    size_t want = variant ? 3 : 20;
    assert_int_equal(ggp_kad_bootstrap(k, t, NULL), GG_OK);
    ggp_kad_handle_expiry(k, t);
    assert_int_equal(c.nsent, (int)want); /* the self-lookup's requests only */
    /* every request fails: the window moves on until no candidate is left */
    int answered = 0;
    while (answered < c.nsent && c.ndone == 0) {
      int upto = c.nsent;
      for (; answered < upto && c.ndone == 0; answered++) {
        ggp_kad_on_fail(k, c.reqs[answered], GG_ETIMEDOUT, t + 1);
        if (c.ndone == 0) assert_true(c.nsent - answered - 1 <= (int)want);
      }
    }
    assert_int_equal(c.ndone, 1);
    assert_int_equal(c.done_type, GGP_KAD_Q_BOOTSTRAP);
    assert_int_equal(c.sent_at_done, 20); /* the k closest it was seeded with, once each */
    /* the refreshes began once the self-lookup had been reported */
    ggp_kad_handle_expiry(k, t + 2);
    assert_true(c.nsent > c.sent_at_done);
    ggp_kad_del(k);
  }
}

/* peer_connected: a free slot whose closest waiting candidate is not connected goes to the
 * closest connected one in the k window; the skipped one is dialed ahead and asked next. */
static void test_connected_first(void **s) {
  (void)s;
  static prep_ctx c;
  static const uint8_t pk[] = "/pk/connected-first";
  gg_ts t = GG_SEC(1000);
  /* the window's order, closest first: a FIND_NODE whose requests all fail asks them in turn */
  ggp_kad *k = prep_core(&c, 0);
  assert_int_equal(ggp_kad_find_node(k, pk, sizeof pk - 1, t, NULL), GG_OK);
  ggp_kad_handle_expiry(k, t);
  for (int i = 0; i < c.nsent && c.ndone == 0; i++) ggp_kad_on_fail(k, c.reqs[i], GG_ETIMEDOUT, t);
  assert_int_equal(c.sent_at_done, 20);
  gg_peerid order[20];
  memcpy(order, c.sent, sizeof order);
  ggp_kad_del(k);

  k = prep_core(&c, 0);
  c.use_conn = 1;
  c.conn[0] = order[5];
  c.conn[1] = order[10];
  c.nconn = 2;
  assert_int_equal(ggp_kad_get_value(k, pk, sizeof pk - 1, 0, t, NULL), GG_OK);
  ggp_kad_handle_expiry(k, t);
  assert_int_equal(c.nsent, 3);
  assert_true(gg_peerid_eq(&c.sent[0], &order[5]));
  assert_true(gg_peerid_eq(&c.sent[1], &order[10]));
  /* the pass went on: order[1] was skipped too, then nothing connected was left */
  assert_true(gg_peerid_eq(&c.sent[2], &order[2]));
  assert_true(c.nprepared >= 2); /* the skipped ones are dialed meanwhile */
  assert_true(gg_peerid_eq(&c.prepared[0], &order[0]));
  assert_true(gg_peerid_eq(&c.prepared[1], &order[1]));
  /* the next slot goes to the closest waiting one, connected or not */
  ggp_kad_on_fail(k, c.reqs[0], GG_ETIMEDOUT, t + 1);
  assert_int_equal(c.nsent, 4);
  assert_true(gg_peerid_eq(&c.sent[3], &order[0]));
  ggp_kad_del(k);
}

static void test_prepare_peer(void **s) {
  (void)s;
  static prep_ctx c;
  uint8_t key[] = "prepare";
  gg_ts t = GG_SEC(1000);
  /* a get may end at its first answer: only the next alpha wait for a dial ahead */
  ggp_kad *k = prep_core(&c, 0);
  static const uint8_t pk[] = "/pk/prepare"; /* a namespace the core knows */
  assert_int_equal(ggp_kad_get_value(k, pk, sizeof pk - 1, 0, t, NULL), GG_OK);
  ggp_kad_handle_expiry(k, t);
  assert_int_equal(c.nsent, 3);     /* alpha */
  assert_int_equal(c.nprepared, 3); /* the next alpha */
  for (int i = 0; i < 3; i++) assert_false(pr_has(c.sent, c.nsent, &c.prepared[i]));
  /* a request fails: the next request goes to a prepared peer, and one more is prepared */
  ggp_kad_on_fail(k, c.reqs[0], GG_ETIMEDOUT, t + 1);
  assert_int_equal(c.nsent, 4);
  assert_true(pr_has(c.prepared, 3, &c.sent[3]));
  assert_int_equal(c.nprepared, 4);
  assert_false(pr_has(c.prepared, 3, &c.prepared[3])); /* each announced once */
  assert_false(pr_has(c.sent, c.nsent, &c.prepared[3]));
  ggp_kad_del(k);

  /* FIND_NODE must hear from all k closest: the whole window waiting is announced */
  k = prep_core(&c, 0);
  assert_int_equal(ggp_kad_find_node(k, key, sizeof key, t, NULL), GG_OK);
  ggp_kad_handle_expiry(k, t);
  assert_int_equal(c.nsent, 3);
  assert_int_equal(c.nprepared, 17); /* k - alpha */
  for (int i = 0; i < c.nprepared; i++) {
    assert_false(pr_has(c.sent, c.nsent, &c.prepared[i]));
    assert_false(pr_has(c.prepared, i, &c.prepared[i]));
  }
  ggp_kad_del(k);

  /* an explicit prepare_ahead caps it */
  k = prep_core(&c, 5);
  assert_int_equal(ggp_kad_find_node(k, key, sizeof key, t, NULL), GG_OK);
  ggp_kad_handle_expiry(k, t);
  assert_int_equal(c.nsent, 3);
  assert_int_equal(c.nprepared, 5);
  ggp_kad_del(k);
}

static void test_find_node_is_k_closest(void **s) {
  (void)s;
  ggp_kad *k;
  pair_ctx c;
  gg_peerid self;
  make_core(&k, &c, 1, &self, NULL);
  gg_ts t = GG_SEC(1000);
  const uint8_t addr[8] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  gg_slice a = {addr, 8};
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, 99);
  for (int i = 0; i < 2000; i++) {
    gg_keypair kp;
    gg_keypair_generate(&kp, &r.r);
    ggp_kad_peerinfo pi = {{0}, &a, 1};
    gg_peerid_from_ed25519(&pi.id, kp.pub);
    ggp_kad_peer_seen(k, &pi, t);
  }
  static allpeers all;
  all.n = 0;
  ggp_kad_foreach_peer(k, collect, &all);
  assert_true(all.n > 100);
  gg_peerid from;
  uint8_t fs[32] = {77};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, fs);
  gg_peerid_from_ed25519(&from, kp.pub);
  for (int q = 0; q < 200; q++) {
    uint8_t key[16];
    r.r.fill(r.r.ud, key, sizeof(key));
    KadPb__Message m = KAD_PB__MESSAGE__INIT;
    m.has_type = m.has_key = 1;
    m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    m.key.data = key;
    m.key.len = sizeof(key);
    uint8_t buf[64];
    size_t n = kad_pb__message__pack(&m, buf);
    gg_buf reply;
    gg_buf_init(&reply, NULL, 1 << 20);
    assert_int_equal(ggp_kad_handle_request(k, &from, buf, n, t + (gg_ts)q * GG_SEC(1), &reply), GG_OK);
    KadPb__Message *rm = kad_pb__message__unpack(NULL, gg_buf_len(&reply), gg_buf_ptr(&reply));
    assert_non_null(rm);
    assert_int_equal(rm->n_closerpeers, 20);
    ggp_kad_hash(key, sizeof(key), cmp_target);
    qsort(all.id, all.n, sizeof(gg_peerid), cmp_by_dist);
    for (size_t i = 0; i < 20; i++) {
      assert_int_equal(rm->closerpeers[i]->id.len, all.id[i].len);
      assert_memory_equal(rm->closerpeers[i]->id.data, all.id[i].b, all.id[i].len);
    }
    kad_pb__message__free_unpacked(rm, NULL);
    gg_buf_free(&reply);
  }
  ggp_kad_del(k);
  gg_buf_free(&c.last_msg);
}

static void test_refresh_keys(void **s) {
  (void)s;
  ggp_kad *k;
  pair_ctx c;
  gg_peerid id;
  make_core(&k, &c, 5, &id, NULL);
  uint8_t self[32];
  ggp_kad_hash(id.b, id.len, self);
  for (unsigned cpl = 0; cpl < 16; cpl++) { /* brute force below 10, the table above */
    for (int rep = 0; rep < 3; rep++) {
      uint8_t key[34], h[32];
      ggp_kad_refresh_key(k, cpl, key);
      assert_int_equal(key[0], 0x12);
      assert_int_equal(key[1], 0x20);
      ggp_kad_hash(key, 34, h);
      assert_int_equal(ggp_kad_cpl(h, self), cpl);
    }
  }
  ggp_kad_del(k);
  gg_buf_free(&c.last_msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_put_get_provide),
      cmocka_unit_test(test_bad_messages_and_rate_limit),
      cmocka_unit_test(test_own_provider_current_addrs),
      cmocka_unit_test(test_bucket_replacement),
      cmocka_unit_test(test_remove_peer),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_refresh_keys),
      cmocka_unit_test(test_find_node_is_k_closest),
      cmocka_unit_test(test_prepare_peer),
      cmocka_unit_test(test_bootstrap_alpha),
      cmocka_unit_test(test_connected_first),
      cmocka_unit_test(test_sim_lookups_200),
      cmocka_unit_test(test_sim_churn_and_unresponsive),
      cmocka_unit_test(test_sim_expiry_and_republish),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
