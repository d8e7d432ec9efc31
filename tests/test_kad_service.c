/*
 * Tests for the Kademlia service on real hosts (src/net/kad_service.c): many hosts on one uv
 * loop over loopback TCP bootstrap into one network, then put/get (a test namespace and signed
 * /ggen-pkg/ records), provide/find-providers and find-peer from every node; a node restarted
 * with the same database gets its records and provider records back; a peer that sends
 * garbage or oversized messages, or idles, on the kad protocol has its stream reset while the
 * node keeps serving; a client-mode node queries but does not serve. Every test ends with
 * uv_loop_close() == 0: nothing leaks a handle.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ggen/cid.h"
#include "ggen/err.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "ggen/multihash.h"
#include "ggen/pack.h"
#include "ggen/pkgrec.h"
#include "ggen/release.h"
#include "ggen/varint.h"
#include "net/host_int.h"

/* ---- loop helpers ---------------------------------------------------------------------------- */

static void wake_cb(uv_timer_t *t) { (void)t; }

static void run_once(uv_loop_t *loop) {
  uv_timer_t wake;
  uv_timer_init(loop, &wake);
  uv_timer_start(&wake, wake_cb, 10, 0);
  uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

#define RUN_UNTIL(loop, cond, ms)                                                                  \
  do {                                                                                             \
    gg_ts end_ = uv_hrtime() + GG_MS(ms);                                                          \
    while (!(cond) && uv_hrtime() < end_) run_once(loop);                                          \
  } while (0)

static void run_for(uv_loop_t *loop, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  while (uv_hrtime() < end) run_once(loop);
}

/* ---- nodes ----------------------------------------------------------------------------------- */

typedef struct node {
  ggn_host *h;
  ggn_kad *k;
  gg_keypair kp;
  gg_maddr addr; /* listen address with /p2p/<id> */
  int host_closed, kad_closed;
  char *db;
} node;

static int log_level(void) { return getenv("GGEN_TEST_LOG") ? GGN_LOG_DEBUG : GGN_LOG_ERROR; }

/* The /test namespace: any value; the bytewise larger one wins. */
static int test_validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen) {
  (void)vud, (void)key, (void)klen, (void)val;
  return vlen > 0 ? GG_OK : GG_EINVAL;
}
static size_t test_select(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals,
                          size_t n) {
  (void)vud, (void)key, (void)klen;
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    size_t m = vals[i].len < vals[best].len ? vals[i].len : vals[best].len;
    int c = memcmp(vals[i].p, vals[best].p, m);
    if (c > 0 || (c == 0 && vals[i].len > vals[best].len)) best = i;
  }
  return best;
}
static const ggp_kad_validator test_ns = {"test", test_validate, test_select, NULL};

static void node_start(node *n, uv_loop_t *loop, uint64_t seed, const ggn_kad_settings *ks) {
  char *db = n->db;
  memset(n, 0, sizeof(*n));
  n->db = db;
  uint8_t s[32] = {0};
  memcpy(s, &seed, sizeof(seed));
  s[31] = 0x6b;
  gg_keypair_from_seed(&n->kp, s);
  ggn_log lg;
  ggn_log_init(&lg, log_level(), "");
  ggn_host_settings st = {.identity = &n->kp, .log = &lg};
  assert_int_equal(ggn_host_new(&n->h, loop, &st, NULL, NULL), GG_OK);
  ggn_kad_settings kst = ks ? *ks : (ggn_kad_settings){0};
  kst.db_path = n->db;
  kst.validators = &test_ns;
  kst.nvalidators = 1;
  assert_int_equal(ggn_kad_new(&n->k, n->h, &kst), GG_OK);
  gg_maddr la;
  assert_int_equal(gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20), GG_OK);
  assert_int_equal(ggn_host_listen(n->h, &la), GG_OK);
  assert_int_equal(ggn_host_listen_addrs(n->h, &n->addr, 1), 1);
  assert_int_equal(gg_maddr_push_peer(&n->addr, ggn_host_peer_id(n->h)), GG_OK);
}

static void host_closed(void *ud) { ((node *)ud)->host_closed = 1; }
static void kad_closed(void *ud) { ((node *)ud)->kad_closed = 1; }

static void node_stop(node *n) {
  ggn_kad_close(n->k, kad_closed, n);
  ggn_host_close(n->h, host_closed, n);
}

static void close_nodes(uv_loop_t *loop, node *ns, int n) {
  for (int i = 0; i < n; i++)
    if (ns[i].h) node_stop(&ns[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  for (int i = 0; i < n; i++) {
    if (!ns[i].h) continue;
    assert_true(ns[i].host_closed);
    assert_true(ns[i].kad_closed);
  }
  assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- query results --------------------------------------------------------------------------- */

typedef struct qres {
  int done, err;
  size_t npeers, nproviders, stored;
  uint8_t val[256];
  size_t vlen;
  gg_peerid first_peer, providers[8];
  gg_maddr prov_addr; /* the first provider's first address */
  size_t first_naddrs;
} qres;

static void qdone(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  qres *q = ud;
  q->done++;
  q->err = res->err;
  q->npeers = res->npeers;
  q->nproviders = res->nproviders;
  q->stored = res->stored;
  q->vlen = res->vlen < sizeof(q->val) ? res->vlen : sizeof(q->val);
  if (res->val) memcpy(q->val, res->val, q->vlen);
  if (res->npeers) {
    q->first_peer = res->peers[0].id;
    q->first_naddrs = res->peers[0].naddrs;
  }
  for (size_t i = 0; i < res->nproviders && i < 8; i++) q->providers[i] = res->providers[i].id;
  if (res->nproviders && res->providers[0].naddrs)
    gg_maddr_from_bytes(&q->prov_addr, res->providers[0].addrs[0].p,
                        res->providers[0].addrs[0].len);
}

static int has_provider(const qres *q, const gg_peerid *p) {
  for (size_t i = 0; i < q->nproviders && i < 8; i++)
    if (gg_peerid_eq(&q->providers[i], p)) return 1;
  return 0;
}

static void bootstrap_all(uv_loop_t *loop, node *ns, int n) {
  qres *b = calloc((size_t)n, sizeof(*b));
  /* each node joins through node 0 and the node before it, as a network grows */
  for (int i = 1; i < n; i++) {
    gg_maddr peers[2] = {ns[0].addr, ns[i - 1].addr};
    assert_int_equal(ggn_kad_bootstrap(ns[i].k, peers, i > 1 ? 2 : 1, qdone, &b[i]), GG_OK);
    RUN_UNTIL(loop, b[i].done, 20000);
    assert_int_equal(b[i].done, 1);
  }
  /* a second round once everybody is there fills the tables (as the periodic refresh would) */
  int left = 0;
  for (int i = 0; i < n; i++) {
    b[i].done = 0;
    assert_int_equal(ggn_kad_bootstrap(ns[i].k, NULL, 0, qdone, &b[i]), GG_OK);
    left++;
  }
  int all;
  gg_ts end = uv_hrtime() + GG_SEC(30);
  do {
    run_once(loop);
    all = 1;
    for (int i = 0; i < n; i++) all &= b[i].done == 1;
  } while (!all && uv_hrtime() < end);
  assert_true(all);
  for (int i = 0; i < n; i++)
    assert_true(ggn_kad_routing_size(ns[i].k) >= (size_t)(n - 1 < 5 ? n - 1 : 5));
  free(b);
}

static void wait_all(uv_loop_t *loop, qres *q, size_t n, int secs) {
  gg_ts end = uv_hrtime() + GG_SEC(secs);
  int all;
  do {
    run_once(loop);
    all = 1;
    for (size_t i = 0; i < n; i++) all &= q[i].done == 1;
  } while (!all && uv_hrtime() < end);
  for (size_t i = 0; i < n; i++) assert_int_equal(q[i].done, 1);
}

/* a sha2-256 multihash of a string, as a CID's */
static void mh_of(const char *s, uint8_t mh[34]) {
  gg_mh_sha256((const uint8_t *)s, strlen(s), mh);
}

static void signed_release(const char *id, const char *version, gg_buf *out) {
  ggm_release r = {0};
  r.id = id;
  r.version = version;
  ggm_pack_cid_of((const uint8_t *)id, strlen(id), r.archive_cid);
  r.archive_size = strlen(id);
  r.publish_time = 1767225600;
  uint8_t seed[32];
  memset(seed, 7, sizeof(seed));
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_buf_init(out, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, &kp, out, NULL), GG_OK);
}

typedef struct prot_check {
  ggn_host *h;
  int connected, unprotected;
} prot_check;

static void check_protected(const ggp_kad_peerinfo *p, gg_ts last_seen, void *arg) {
  (void)last_seen;
  prot_check *pc = arg;
  ggn_conn *c = ggn_host_conn_to(pc->h, &p->id);
  if (!c) return;
  pc->connected++;
  if (!c->protected_) pc->unprotected++;
}

typedef struct find_peer_arg {
  const gg_peerid *id;
  int found;
} find_peer_arg;

static void find_in_rt(const ggp_kad_peerinfo *p, gg_ts last_seen, void *arg) {
  (void)last_seen;
  find_peer_arg *a = arg;
  if (gg_peerid_eq(&p->id, a->id)) a->found = 1;
}

/* ---- a network of hosts ---------------------------------------------------------------------- */

#define NNODES 24

static void test_network(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  node *ns = calloc(NNODES, sizeof(*ns));
  /* k = 6: records live on a quarter of the nodes, so most lookups cross the network */
  ggn_kad_settings ks = {0};
  ggp_kad_settings_default(&ks.kad);
  ks.kad.k = 6;
  for (int i = 0; i < NNODES; i++) node_start(&ns[i], &loop, 100 + (uint64_t)i, &ks);
  bootstrap_all(&loop, ns, NNODES);

  /* every node puts one record; every node gets every record */
  qres *q = calloc(NNODES * NNODES, sizeof(*q));
  char key[64], val[64];
  for (int i = 0; i < NNODES; i++) {
    snprintf(key, sizeof(key), "/test/key-%d", i);
    snprintf(val, sizeof(val), "value of %d", i);
    assert_int_equal(ggn_kad_put(ns[i].k, (const uint8_t *)key, strlen(key), (const uint8_t *)val,
                                 strlen(val), qdone, &q[i]),
                     GG_OK);
  }
  wait_all(&loop, q, NNODES, 30);
  for (int i = 0; i < NNODES; i++) {
    assert_int_equal(q[i].err, GG_OK);
    assert_int_equal(q[i].stored, 6);
  }
  memset(q, 0, NNODES * NNODES * sizeof(*q));
  for (int i = 0; i < NNODES; i++)
    for (int j = 0; j < NNODES; j++) {
      snprintf(key, sizeof(key), "/test/key-%d", j);
      assert_int_equal(
          ggn_kad_get(ns[i].k, (const uint8_t *)key, strlen(key), 0, qdone, &q[i * NNODES + j]),
          GG_OK);
    }
  wait_all(&loop, q, NNODES * NNODES, 60);
  size_t remote = 0;
  for (int i = 0; i < NNODES; i++)
    for (int j = 0; j < NNODES; j++) {
      snprintf(key, sizeof(key), "/test/key-%d", j);
      remote += ggp_kad_get_local(ggn_kad_core(ns[i].k), (const uint8_t *)key, strlen(key),
                                  ggn_kad_now(ns[i].k), NULL) != GG_OK;
    }
  assert_true(remote >= NNODES * NNODES / 2); /* at least half had to come from elsewhere */
  for (int i = 0; i < NNODES; i++)
    for (int j = 0; j < NNODES; j++) {
      qres *r = &q[i * NNODES + j];
      snprintf(val, sizeof(val), "value of %d", j);
      assert_int_equal(r->err, GG_OK);
      assert_int_equal(r->vlen, strlen(val));
      assert_memory_equal(r->val, val, r->vlen);
    }

  /* a signed release record under /ggen-pkg/, and a forged one refused locally */
  gg_buf pk, rec;
  gg_buf_init(&pk, NULL, 1024);
  assert_int_equal(ggm_pkgrec_key("io.ggen.demo", "1.2.0", &pk), GG_OK);
  signed_release("io.ggen.demo", "1.2.0", &rec);
  qres pr = {0}, pg = {0};
  assert_int_equal(ggn_kad_put(ns[3].k, gg_buf_ptr(&pk), gg_buf_len(&pk), gg_buf_ptr(&rec),
                               gg_buf_len(&rec), qdone, &pr),
                   GG_OK);
  RUN_UNTIL(&loop, pr.done, 20000);
  assert_int_equal(pr.err, GG_OK);
  assert_int_equal(ggn_kad_get(ns[17].k, gg_buf_ptr(&pk), gg_buf_len(&pk), 0, qdone, &pg), GG_OK);
  RUN_UNTIL(&loop, pg.done, 20000);
  assert_int_equal(pg.err, GG_OK);
  assert_int_equal(pg.vlen, gg_buf_len(&rec) < sizeof(pg.val) ? gg_buf_len(&rec) : sizeof(pg.val));
  assert_memory_equal(pg.val, gg_buf_ptr(&rec), pg.vlen);
  gg_buf_ptr(&rec)[gg_buf_len(&rec) - 2] ^= 1;
  assert_int_not_equal(ggn_kad_put(ns[3].k, gg_buf_ptr(&pk), gg_buf_len(&pk), gg_buf_ptr(&rec),
                                   gg_buf_len(&rec), qdone, &pr),
                       GG_OK);
  gg_buf_free(&pk);
  gg_buf_free(&rec);

  /* an unknown key is not found */
  qres nf = {0};
  assert_int_equal(ggn_kad_get(ns[5].k, (const uint8_t *)"/test/nothing", 13, 0, qdone, &nf),
                   GG_OK);
  RUN_UNTIL(&loop, nf.done, 30000);
  assert_int_equal(nf.err, GG_ENOTFOUND);

  /* four providers of four CIDs; every node finds every one */
  enum { NPROV = 4 };
  uint8_t mh[NPROV][34];
  qres pv[NPROV];
  memset(pv, 0, sizeof(pv));
  for (int p = 0; p < NPROV; p++) {
    char name[32];
    snprintf(name, sizeof(name), "content %d", p);
    mh_of(name, mh[p]);
    assert_int_equal(ggn_kad_provide(ns[p * 5 + 1].k, mh[p], 34, qdone, &pv[p]), GG_OK);
  }
  wait_all(&loop, pv, NPROV, 30);
  for (int p = 0; p < NPROV; p++) assert_int_equal(pv[p].stored, 6);
  memset(q, 0, NNODES * NPROV * sizeof(*q));
  for (int i = 0; i < NNODES; i++)
    for (int p = 0; p < NPROV; p++)
      assert_int_equal(ggn_kad_find_providers(ns[i].k, mh[p], 34, 0, qdone, &q[i * NPROV + p]),
                       GG_OK);
  wait_all(&loop, q, NNODES * NPROV, 60);
  for (int i = 0; i < NNODES; i++)
    for (int p = 0; p < NPROV; p++) {
      qres *r = &q[i * NPROV + p];
      assert_int_equal(r->err, GG_OK);
      assert_true(has_provider(r, ggn_host_peer_id(ns[p * 5 + 1].h)));
    }

  /* every node finds a peer it may not know, with an address */
  memset(q, 0, NNODES * sizeof(*q));
  for (int i = 0; i < NNODES; i++)
    assert_int_equal(
        ggn_kad_find_peer(ns[i].k, ggn_host_peer_id(ns[(i + 11) % NNODES].h), qdone, &q[i]), GG_OK);
  wait_all(&loop, q, NNODES, 30);
  for (int i = 0; i < NNODES; i++) {
    assert_int_equal(q[i].err, GG_OK);
    assert_true(gg_peerid_eq(&q[i].first_peer, ggn_host_peer_id(ns[(i + 11) % NNODES].h)));
    assert_true(q[i].first_naddrs >= 1);
  }

  /* the connections to routing-table peers are protected from trimming */
  for (int i = 0; i < NNODES; i++) {
    const ggp_kad *core = ggn_kad_core(ns[i].k);
    ggp_kad_stats st;
    ggp_kad_get_stats(core, &st);
    assert_true(st.requests_served > 0);
    prot_check pc = {ns[i].h, 0, 0};
    ggp_kad_foreach_peer(core, check_protected, &pc);
    assert_true(pc.connected > 0);
    assert_int_equal(pc.unprotected, 0);
  }
  free(q);
  close_nodes(&loop, ns, NNODES);
  free(ns);
}

/* ---- restart with the same database
 * -------------------------------------------------------------- */

static void test_restart(void **state) {
  (void)state;
  char *dir = gg_test_mkdtemp();
  uv_loop_t loop;
  uv_loop_init(&loop);
  node ns[3];
  memset(ns, 0, sizeof(ns));
  char db[3][512];
  for (int i = 0; i < 3; i++) {
    snprintf(db[i], sizeof(db[i]), "%s/dht-%d.db", dir, i);
    ns[i].db = db[i];
    node_start(&ns[i], &loop, 300 + (uint64_t)i, NULL);
  }
  bootstrap_all(&loop, ns, 3);
  /* node 1 publishes a record and provides a CID; node 2 publishes another record: node 0 holds
   * both as a remote store, and is itself a publisher and provider of its own */
  uint8_t mh1[34], mh0[34];
  mh_of("restart content 1", mh1);
  mh_of("restart content 0", mh0);
  qres r[4];
  memset(r, 0, sizeof(r));
  assert_int_equal(
      ggn_kad_put(ns[1].k, (const uint8_t *)"/test/r1", 8, (const uint8_t *)"one", 3, qdone, &r[0]),
      GG_OK);
  assert_int_equal(ggn_kad_provide(ns[1].k, mh1, 34, qdone, &r[1]), GG_OK);
  assert_int_equal(ggn_kad_put(ns[0].k, (const uint8_t *)"/test/r0", 8, (const uint8_t *)"zero", 4,
                               qdone, &r[2]),
                   GG_OK);
  assert_int_equal(ggn_kad_provide(ns[0].k, mh0, 34, qdone, &r[3]), GG_OK);
  wait_all(&loop, r, 4, 20);
  for (int i = 0; i < 4; i++) assert_int_equal(r[i].err, GG_OK);
  gg_ts now = ggn_kad_now(ns[0].k);
  assert_int_equal(
      ggp_kad_get_local(ggn_kad_core(ns[0].k), (const uint8_t *)"/test/r1", 8, now, NULL), GG_OK);

  /* restart node 0 alone (same key, same database, a new port), in a network of its own */
  gg_peerid id1 = *ggn_host_peer_id(ns[1].h);
  node_stop(&ns[0]);
  node_stop(&ns[1]);
  node_stop(&ns[2]);
  uv_run(&loop, UV_RUN_DEFAULT);
  node_start(&ns[0], &loop, 300, NULL);
  const ggp_kad *core = ggn_kad_core(ns[0].k);
  ggp_kad_stats st;
  ggp_kad_get_stats(core, &st);
  assert_int_equal(st.records, 2);
  assert_int_equal(st.provider_keys, 2);
  gg_buf v;
  gg_buf_init(&v, NULL, 64);
  now = ggn_kad_now(ns[0].k);
  assert_int_equal(ggp_kad_get_local(core, (const uint8_t *)"/test/r1", 8, now, &v), GG_OK);
  assert_int_equal(gg_buf_len(&v), 3);
  assert_memory_equal(gg_buf_ptr(&v), "one", 3);
  gg_buf_reset(&v);
  assert_int_equal(ggp_kad_get_local(core, (const uint8_t *)"/test/r0", 8, now, &v), GG_OK);
  assert_memory_equal(gg_buf_ptr(&v), "zero", 4);
  gg_buf_free(&v);
  /* both provider records answer, its own with the new address */
  qres f[2];
  memset(f, 0, sizeof(f));
  assert_int_equal(ggn_kad_find_providers(ns[0].k, mh1, 34, 0, qdone, &f[0]), GG_OK);
  assert_int_equal(ggn_kad_find_providers(ns[0].k, mh0, 34, 0, qdone, &f[1]), GG_OK);
  wait_all(&loop, f, 2, 20);
  assert_int_equal(f[0].nproviders, 1);
  assert_true(has_provider(&f[0], &id1));
  assert_int_equal(f[1].nproviders, 1);
  assert_true(has_provider(&f[1], ggn_host_peer_id(ns[0].h)));
  gg_maddr now_addr;
  assert_int_equal(ggn_host_listen_addrs(ns[0].h, &now_addr, 1), 1);
  assert_true(gg_maddr_eq(&f[1].prov_addr, &now_addr));
  ns[1].h = ns[2].h = NULL;
  close_nodes(&loop, ns, 1);
  gg_test_rmtree(dir);
  free(dir);
}

/* ---- misbehaving peers ----------------------------------------------------------------------- */

typedef struct raw {
  ggn_stream *s;
  int opened, open_err, closed, close_err, msgs;
} raw;

static void raw_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  (void)s, (void)m, (void)n;
  ((raw *)ud)->msgs++;
}
static void raw_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  raw *r = ud;
  r->closed = 1;
  r->close_err = err;
}
static const ggn_stream_callbacks raw_cbs = {.on_msg = raw_msg, .on_close = raw_close};

static void raw_opened(ggn_stream *s, int err, void *ud) {
  raw *r = ud;
  r->opened = 1;
  r->open_err = err;
  r->s = s;
  if (s) {
    ggn_stream_set_callbacks(s, &raw_cbs, r);
    ggn_stream_read_msgs(s, 1 << 20);
  }
}

static void open_raw(uv_loop_t *loop, node *from, node *to, raw *r) {
  memset(r, 0, sizeof(*r));
  const char *p[1] = {GGP_KAD_PROTOCOL};
  assert_int_equal(ggn_host_open_stream(from->h, ggn_host_peer_id(to->h), p, 1, raw_opened, r),
                   GG_OK);
  RUN_UNTIL(loop, r->opened, 5000);
  assert_true(r->opened);
}

static void test_garbage_and_client_mode(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  node ns[4];
  memset(ns, 0, sizeof(ns));
  ggn_kad_settings quick = {.idle_timeout = GG_MS(300)};
  node_start(&ns[0], &loop, 400, &quick);
  node_start(&ns[1], &loop, 401, NULL);
  node_start(&ns[2], &loop, 402, NULL);
  bootstrap_all(&loop, ns, 3);
  qres put = {0};
  assert_int_equal(
      ggn_kad_put(ns[2].k, (const uint8_t *)"/test/g", 7, (const uint8_t *)"gv", 2, qdone, &put),
      GG_OK);
  RUN_UNTIL(&loop, put.done, 10000);
  assert_int_equal(put.err, GG_OK);

  /* garbage (not a protobuf Message), an oversized message, idling: each is reset */
  raw r;
  open_raw(&loop, &ns[1], &ns[0], &r);
  assert_int_equal(r.open_err, GG_OK);
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
  assert_true(ggn_stream_write_msg(r.s, junk, sizeof(junk)) >= 0);
  RUN_UNTIL(&loop, r.closed, 5000);
  assert_true(r.closed);
  assert_int_equal(r.close_err, GG_ERESET);
  assert_int_equal(r.msgs, 0);

  open_raw(&loop, &ns[1], &ns[0], &r);
  uint8_t prefix[10];
  size_t pl = gg_varint_encode(1 << 20, prefix);
  assert_true(ggn_stream_write(r.s, prefix, pl) >= 0);
  RUN_UNTIL(&loop, r.closed, 5000);
  assert_int_equal(r.close_err, GG_ERESET);

  open_raw(&loop, &ns[1], &ns[0], &r);
  gg_ts t0 = uv_hrtime();
  RUN_UNTIL(&loop, r.closed, 5000);
  assert_int_equal(r.close_err, GG_ERESET);
  assert_true(uv_hrtime() - t0 >= GG_MS(250));

  /* node 0 still serves node 1 */
  qres g = {0};
  assert_int_equal(ggn_kad_get(ns[1].k, (const uint8_t *)"/test/g", 7, 0, qdone, &g), GG_OK);
  RUN_UNTIL(&loop, g.done, 10000);
  assert_int_equal(g.err, GG_OK);
  ggp_kad_stats st;
  ggp_kad_get_stats(ggn_kad_core(ns[0].k), &st);
  assert_true(st.requests_refused >= 1);

  /* a client-mode node joined with ggn_kad_connect (no lookups): queries work, nobody can
   * open the protocol on it, nobody adds it */
  ggn_kad_settings client = {.client_mode = 1};
  node_start(&ns[3], &loop, 403, &client);
  qres cb = {0}, cg = {0};
  gg_maddr boot = ns[0].addr;
  assert_int_equal(ggn_kad_connect(ns[3].k, &boot, 1, qdone, &cb), GG_OK);
  RUN_UNTIL(&loop, cb.done, 10000);
  assert_int_equal(cb.err, GG_OK);
  assert_int_equal(ggn_kad_get(ns[3].k, (const uint8_t *)"/test/g", 7, 0, qdone, &cg), GG_OK);
  RUN_UNTIL(&loop, cg.done, 10000);
  assert_int_equal(cg.err, GG_OK);
  assert_memory_equal(cg.val, "gv", 2);
  open_raw(&loop, &ns[0], &ns[3], &r);
  assert_int_equal(r.open_err, GG_ENOPROTO);
  run_for(&loop, 200);
  /* the client is in no server's routing table, though all of them talked to it */
  for (int i = 0; i < 3; i++) {
    find_peer_arg a = {ggn_host_peer_id(ns[3].h), 0};
    ggp_kad_foreach_peer(ggn_kad_core(ns[i].k), find_in_rt, &a);
    assert_false(a.found);
  }
  /* named as a bootstrap peer, the client enters node 1's table at the dial, and leaves it
   * when its identify answer shows it does not serve the protocol */
  qres bb = {0};
  gg_maddr caddr = ns[3].addr;
  assert_int_equal(ggn_kad_bootstrap(ns[1].k, &caddr, 1, qdone, &bb), GG_OK);
  RUN_UNTIL(&loop, bb.done, 10000);
  find_peer_arg ca = {ggn_host_peer_id(ns[3].h), 1};
  gg_ts end = uv_hrtime() + GG_SEC(5);
  while (ca.found && uv_hrtime() < end) {
    run_once(&loop);
    ca.found = 0;
    ggp_kad_foreach_peer(ggn_kad_core(ns[1].k), find_in_rt, &ca);
  }
  assert_false(ca.found);
  close_nodes(&loop, ns, 4);
}

/* Keeping routing-table connections: protected from our trimming; with redial_interval, a
 * routing-table peer that closes the connection is dialed again, once per interval; without
 * it, nothing happens until the next request. The counters see it all. */
static void test_redial(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  node ns[3];
  memset(ns, 0, sizeof(ns));
  ggn_kad_settings redial = {.redial_interval = GG_SEC(60)};
  node_start(&ns[0], &loop, 700, &redial);
  node_start(&ns[1], &loop, 701, NULL);
  node_start(&ns[2], &loop, 702, NULL);
  bootstrap_all(&loop, ns, 3);
  run_for(&loop, 1000); /* the bucket refreshes that follow the bootstraps */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ggn_kad_routing_size(ns[i].k), 2);
    assert_int_equal(ggn_kad_routing_connected(ns[i].k), 2);
  }
  /* node 1 closes its connection to node 0 (as a trim would): node 0 dials it again */
  const gg_peerid *p0 = ggn_host_peer_id(ns[0].h), *p1 = ggn_host_peer_id(ns[1].h),
                  *p2 = ggn_host_peer_id(ns[2].h);
  ggn_conn_close(ggn_host_conn_to(ns[1].h, p0));
  RUN_UNTIL(&loop, ggn_host_conn_to(ns[0].h, p1) == NULL, 5000);
  RUN_UNTIL(&loop, ggn_host_conn_to(ns[0].h, p1) != NULL, 5000);
  assert_non_null(ggn_host_conn_to(ns[0].h, p1));
  ggn_kad_counters c;
  ggn_kad_get_counters(ns[0].k, &c);
  assert_int_equal(c.redials, 1);
  ggn_host_closes cl;
  ggn_host_get_closes(ns[0].h, &cl);
  assert_true(cl.peer >= 1);
  ggn_host_get_closes(ns[1].h, &cl);
  assert_true(cl.local >= 1);
  /* a second close within the interval: no second redial */
  ggn_conn_close(ggn_host_conn_to(ns[1].h, p0));
  RUN_UNTIL(&loop, ggn_host_conn_to(ns[0].h, p1) == NULL, 5000);
  run_for(&loop, 300);
  assert_null(ggn_host_conn_to(ns[0].h, p1));
  assert_int_equal(ggn_kad_routing_connected(ns[0].k), 1);
  ggn_kad_get_counters(ns[0].k, &c);
  assert_int_equal(c.redials, 1);
  /* node 1 has no redial: when node 2 closes, it stays closed; a request then pays the dial
   * (counted cold, to a routing-table peer) */
  ggn_conn_close(ggn_host_conn_to(ns[2].h, p1));
  RUN_UNTIL(&loop, ggn_host_conn_to(ns[1].h, p2) == NULL, 5000);
  run_for(&loop, 300);
  assert_null(ggn_host_conn_to(ns[1].h, p2));
  ggn_kad_counters c1;
  ggn_kad_get_counters(ns[1].k, &c1);
  assert_int_equal(c1.redials, 0);
  qres g = {0};
  assert_int_equal(ggn_kad_find_node(ns[1].k, (const uint8_t *)"x", 1, qdone, &g), GG_OK);
  RUN_UNTIL(&loop, g.done, 10000);
  ggn_kad_counters c2;
  ggn_kad_get_counters(ns[1].k, &c2);
  assert_true(c2.requests > c1.requests);
  assert_true(c2.cold_rt >= c1.cold_rt + 1);
  close_nodes(&loop, ns, 3);
}

/* ---- allocation failures --------------------------------------------------------------------- */

/* ggn_kad_new fails cleanly at every allocation (nothing left registered or leaked), and a
 * service created at the limit still closes cleanly. */
static void test_nomem(void **state) {
  (void)state;
  char *dir = gg_test_mkdtemp();
  char db[512];
  snprintf(db, sizeof(db), "%s/dht.db", dir);
  int ok = 0;
  for (long i = 0; i < 400 && !ok; i++) {
    gg_failmem fm;
    gg_failmem_init(&fm, -1);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t seed[32] = {9};
    gg_keypair kp;
    gg_keypair_from_seed(&kp, seed);
    ggn_log lg;
    ggn_log_init(&lg, GGN_LOG_OFF, "");
    ggn_host_settings st = {.identity = &kp, .log = &lg, .mem = &fm.mem};
    ggn_host *h;
    assert_int_equal(ggn_host_new(&h, &loop, &st, NULL, NULL), GG_OK);
    ggn_kad_settings ks = {.db_path = db, .validators = &test_ns, .nvalidators = 1};
    fm.fail_after = fm.nallocs + i;
    ggn_kad *k = NULL;
    int rv = ggn_kad_new(&k, h, &ks);
    fm.fail_after = -1;
    if (rv == GG_OK) {
      ok = 1;
      ggn_kad_close(k, NULL, NULL);
    } else {
      assert_int_equal(rv, GG_ENOMEM);
      assert_null(k);
      const char *protos[8];
      size_t np = ggn_host_protocols(h, protos, 8);
      for (size_t j = 0; j < np && j < 8; j++) assert_string_not_equal(protos[j], GGP_KAD_PROTOCOL);
    }
    ggn_host_close(h, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(fm.live, 0);
  }
  assert_true(ok);
  gg_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_network),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_garbage_and_client_mode),
      cmocka_unit_test(test_redial),
      cmocka_unit_test(test_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
