/*
 * Tests for the marketplace service on real hosts (src/net/market_*.c): several nodes on one
 * uv loop over loopback TCP, each with its own home (catalog, blob store, reputation), the
 * Kademlia service and the market service.
 *
 * Fetch: an archive published on one node is fetched by another through a provider record
 * (verified, ingested, then provided by the fetcher), and by a third after the publisher is
 * gone (from the node that cached it). Misbehaving providers - wrong bytes for the CID, more
 * bytes than announced, a header announcing another size, silence, "not found" - are each
 * skipped for the next provider, penalised in the reputation, and leave nothing in the store;
 * the reputation then puts the good provider first. The server's caps: transfers per peer
 * (BUSY), the request rate (RATE_LIMITED), malformed requests. Every test ends with
 * uv_loop_close() == 0.
 */
#include "gg_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/announce.h"
#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/gossip_service.h"
#include "ggen/home.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "ggen/market_service.h"
#include "ggen/psearch.h"
#include "ggen/publish.h"
#include "ggen/rand.h"
#include "ggen/release.h"

#define NOW 1767225600

/* ---- loop helpers --------------------------------------------------------------------------- */

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

static int log_level(void) { return getenv("GGEN_TEST_LOG") ? GGN_LOG_DEBUG : GGN_LOG_ERROR; }

/* ---- nodes ---------------------------------------------------------------------------------- */

typedef struct node {
  char *home;
  ggs_catalog *cat;
  ggs_blob_store *store;
  ggs_peerrep *rep;
  ggn_host *h;
  ggn_kad *k;
  ggn_market *m;
  gg_keypair kp;
  gg_maddr addr;  /* listen address with /p2p/<id> */
  ggn_gossip *gs; /* with_gossip set before node_start */
  int ann_ok, ann_refused, ann_owner, ann_badsig, ann_by_peers; /* announcements seen */
  int host_closed, kad_closed, market_closed, gossip_closed;
} node;

static int with_gossip;                      /* node_start also runs Gossipsub */
static const ggp_gossip_settings *gs_router; /* its router settings (NULL: defaults) */

static char *root;

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...) {
  char *p = malloc(4096);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, 4096, fmt, ap);
  va_end(ap);
  return p;
}

static void host_closed(void *ud) { ((node *)ud)->host_closed = 1; }
static void kad_closed(void *ud) { ((node *)ud)->kad_closed = 1; }
static void market_closed(void *ud) { ((node *)ud)->market_closed = 1; }
static void gossip_closed(void *ud) { ((node *)ud)->gossip_closed = 1; }

/* A node with its own home. With market 0 only the host and the DHT run (a raw peer). */
static void node_start(node *n, uv_loop_t *loop, int idx, int market,
                       const ggn_market_settings *ms) {
  memset(n, 0, sizeof(*n));
  n->home = pathf("%s/node%d", root, idx);
  mkdir(n->home, 0700);
  char *cat = gg_home_path(n->home, "catalog.db"), *store = gg_home_path(n->home, "store"),
       *rep = gg_home_path(n->home, "peers.db"), *db = gg_home_path(n->home, "dht.db");
  assert_int_equal(ggs_catalog_open(&n->cat, cat, GGS_CATALOG_CREATE, NULL), GG_OK);
  assert_int_equal(ggs_blob_open(&n->store, store, NULL, NULL), GG_OK);
  assert_int_equal(ggs_peerrep_open(&n->rep, rep), GG_OK);
  uint8_t s[32] = {0};
  s[0] = (uint8_t)idx;
  s[31] = 0x4d;
  gg_keypair_from_seed(&n->kp, s);
  ggn_log lg;
  ggn_log_init(&lg, log_level(), "");
  ggn_host_settings st = {.identity = &n->kp, .log = &lg};
  assert_int_equal(ggn_host_new(&n->h, loop, &st, NULL, NULL), GG_OK);
  ggn_kad_settings ks = {.db_path = db};
  assert_int_equal(ggn_kad_new(&n->k, n->h, &ks), GG_OK);
  if (with_gossip) {
    ggn_gossip_settings gst = {.router = gs_router};
    assert_int_equal(ggn_gossip_new(&n->gs, n->h, &gst), GG_OK);
  }
  if (market) {
    ggn_market_settings mst = ms ? *ms : (ggn_market_settings){0};
    mst.gossip = n->gs;
    if (mst.on_announce) mst.announce_ud = n;
    mst.home = n->home;
    mst.catalog = n->cat;
    mst.store = n->store;
    mst.rep = n->rep;
    mst.kad = n->k;
    assert_int_equal(ggn_market_new(&n->m, n->h, &mst), GG_OK);
  }
  gg_maddr la;
  assert_int_equal(gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20), GG_OK);
  assert_int_equal(ggn_host_listen(n->h, &la), GG_OK);
  assert_int_equal(ggn_host_listen_addrs(n->h, &n->addr, 1), 1);
  assert_int_equal(gg_maddr_push_peer(&n->addr, ggn_host_peer_id(n->h)), GG_OK);
  free(cat);
  free(store);
  free(rep);
  free(db);
}

/* Closes the node's services and host in one loop iteration (the documented order). */
static void node_stop(node *n) {
  if (!n->h) return;
  if (n->m) ggn_market_close(n->m, market_closed, n);
  ggn_kad_close(n->k, kad_closed, n);
  if (n->gs) ggn_gossip_close(n->gs, gossip_closed, n);
  ggn_host_close(n->h, host_closed, n);
}

static void node_free(node *n) {
  ggs_catalog_close(n->cat);
  ggs_blob_close(n->store);
  ggs_peerrep_close(n->rep);
  free(n->home);
  n->cat = NULL;
  n->store = NULL;
  n->rep = NULL;
  n->home = NULL;
}

static void close_nodes(uv_loop_t *loop, node *ns, int n) {
  for (int i = 0; i < n; i++) node_stop(&ns[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  for (int i = 0; i < n; i++) {
    if (!ns[i].h) continue;
    assert_true(ns[i].host_closed);
    assert_true(ns[i].kad_closed);
    if (ns[i].m) assert_true(ns[i].market_closed);
    if (ns[i].gs) assert_true(ns[i].gossip_closed);
    node_free(&ns[i]);
  }
  assert_int_equal(uv_loop_close(loop), 0);
}

typedef struct ht_dial_res {
  int done, err;
} ht_dial_res;

static void dial_cb(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h, (void)c;
  ht_dial_res *d = ud;
  d->done = 1;
  d->err = err;
}

static void run_for(uv_loop_t *loop, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  while (uv_hrtime() < end) run_once(loop);
}

typedef struct qres {
  int done, err;
  size_t stored;
} qres;

static void q_done(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  qres *q = ud;
  q->done = 1;
  q->err = res->err;
  q->stored = res->stored;
}

/* Every node joins through node 0. */
static void join_all(uv_loop_t *loop, node *ns, int n) {
  for (int i = 1; i < n; i++) {
    qres q = {0};
    assert_int_equal(ggn_kad_bootstrap(ns[i].k, &ns[0].addr, 1, q_done, &q), GG_OK);
    RUN_UNTIL(loop, q.done, 5000);
    assert_true(q.done);
  }
}

/* ---- packages ---------------------------------------------------------------------------------
 */

static void write_file(const char *path, const char *text) {
  char *dir = strdup(path);
  for (char *s = dir + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(dir, 0755);
      *s = '/';
    }
  free(dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static gg_keypair publisher_key(int which) {
  uint8_t s[32] = {0};
  s[0] = (uint8_t)which;
  s[1] = 0x9b;
  gg_keypair kp;
  gg_keypair_from_seed(&kp, s);
  return kp;
}

/* Publishes id@ver on node n with publisher key `who`; returns its record (malloc'd). */
static size_t bulk = 200000; /* bytes of random text in each package (zstd halves them) */

static uint8_t *publish_on(node *n, int who, const char *id, const char *ver, size_t *len,
                           uint8_t cid[GGM_CID_LEN]) {
  char *dir = pathf("%s/src-%s-%s", root, id, ver), *man = pathf("%s/gpack.toml", dir),
       *tmpl = pathf("%s/templates/main.tmpl", dir);
  char text[1024];
  snprintf(text, sizeof text,
           "[gpack]\nid = \"%s\"\nname = \"%s\"\nversion = \"%s\"\ndescription = \"pack %s\"\n"
           "license = \"MIT\"\ntags = [\"test\"]\n",
           id, id, ver, id);
  write_file(man, text);
  /* some bulk, so that a transfer takes several pieces */
  size_t big = bulk;
  char *body = malloc(big + 1);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, (uint64_t)who * 1000 + strlen(id));
  for (size_t i = 0; i < big; i++) body[i] = (char)('a' + gg_rand_below(&rs.r, 26));
  body[big] = 0;
  write_file(tmpl, body);
  free(body);
  ggm_publish_env e = {n->home, n->cat, n->store};
  ggm_publish_result res;
  gg_keypair kp = publisher_key(who);
  int rv = ggm_publish_dir(dir, &e, &kp, NOW, 0, &res);
  if (rv) fail_msg("publish: %s", res.msg);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(n->cat, id, ver, &info), GG_OK);
  *len = info->versions[0].record_len;
  uint8_t *rec = malloc(*len);
  memcpy(rec, info->versions[0].record, *len);
  assert_int_equal(ggm_pack_cid_parse(info->versions[0].cid, cid), GG_OK);
  ggs_catalog_info_free(info);
  free(dir);
  free(man);
  free(tmpl);
  return rec;
}

static uint8_t *blob_bytes(node *n, const uint8_t cid[GGM_CID_LEN], size_t *len) {
  int fd;
  uint64_t size;
  assert_int_equal(ggs_blob_get(n->store, cid, 0, &fd, &size), GG_OK);
  uint8_t *b = malloc(size + 1);
  assert_int_equal(pread(fd, b, size, 0), (ssize_t)size);
  close(fd);
  *len = (size_t)size;
  return b;
}

static int count_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* ---- fetch results -------------------------------------------------------------------------- */

typedef struct fres {
  int done, err, existed;
  gg_peerid peer;
  uint64_t bytes;
  size_t provided, providers, nattempts;
  ggn_market_attempt att[GGN_MARKET_MAX_ATTEMPTS];
  char msg[768];
} fres;

static void f_done(ggn_market *m, const ggn_market_fetch_result *r, void *ud) {
  (void)m;
  fres *f = ud;
  f->done = 1;
  f->err = r->err;
  f->existed = r->existed;
  f->peer = r->peer;
  f->bytes = r->bytes;
  f->provided = r->provided;
  f->providers = r->providers;
  f->nattempts = r->nattempts;
  memcpy(f->att, r->attempts, r->nattempts * sizeof(*r->attempts));
  snprintf(f->msg, sizeof f->msg, "%s", r->msg);
}

static void provide(uv_loop_t *loop, node *n, const uint8_t cid[GGM_CID_LEN]) {
  qres q = {0};
  assert_int_equal(ggn_kad_provide(n->k, cid + 2, GGM_CID_LEN - 2, q_done, &q), GG_OK);
  RUN_UNTIL(loop, q.done, 5000);
  assert_true(q.done);
  assert_true(q.stored > 0);
}

static int setup(void **state) {
  (void)state;
  root = gg_test_mkdtemp();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  gg_test_rmtree(root);
  free(root);
  return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* A publishes and provides; B fetches through the DHT and provides in turn; A leaves; C
 * fetches from B. */
static void test_fetch_through_providers(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  node ns[5];
  for (int i = 0; i < 5; i++) node_start(&ns[i], &loop, i, 1, NULL);
  join_all(&loop, ns, 5);
  node *a = &ns[1], *b = &ns[2], *c = &ns[3];
  size_t len;
  uint8_t cid[GGM_CID_LEN];
  uint8_t *rec = publish_on(a, 1, "io.t.fetched", "1.0.0", &len, cid);
  provide(&loop, a, cid);

  fres f = {0};
  assert_int_equal(ggn_market_fetch(b->m, rec, len, NULL, 0, f_done, &f), GG_OK);
  assert_false(f.done); /* never from inside the call */
  RUN_UNTIL(&loop, f.done, 10000);
  assert_true(f.done);
  if (f.err) fail_msg("fetch: %s (%s)", f.msg, gg_strerror(f.err));
  assert_true(gg_peerid_eq(&f.peer, ggn_host_peer_id(a->h)));
  assert_true(f.bytes > 10000);
  assert_true(f.provided > 0);
  assert_int_equal(ggs_blob_has(b->store, cid), GG_OK);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(b->cat, "io.t.fetched", "1.0.0", &info), GG_OK);
  assert_string_equal(info->versions[0].source, "p2p");
  ggs_catalog_info_free(info);
  /* the reputation saw one good transfer from a */
  ggs_peerrep_stats rs;
  char aid[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(a->h), aid, sizeof aid);
  assert_int_equal(ggs_peerrep_get(b->rep, aid, &rs), GG_OK);
  assert_int_equal(rs.successes, 1);
  assert_int_equal(rs.provided, 1);
  assert_int_equal(rs.bytes, f.bytes);
  assert_true(rs.avg_ms >= 0);
  /* fetched again: already here, nothing transferred */
  fres f2 = {0};
  assert_int_equal(ggn_market_fetch(b->m, rec, len, NULL, 0, f_done, &f2), GG_OK);
  RUN_UNTIL(&loop, f2.done, 5000);
  assert_int_equal(f2.err, GG_OK);
  assert_int_equal(f2.existed, 1);
  assert_int_equal(f2.nattempts, 0);

  /* the publisher goes away: c gets it from b */
  ggn_market_close(a->m, market_closed, a);
  ggn_kad_close(a->k, kad_closed, a);
  ggn_host_close(a->h, host_closed, a);
  RUN_UNTIL(&loop, a->host_closed && a->market_closed, 5000);
  assert_true(a->market_closed);
  fres f3 = {0};
  assert_int_equal(ggn_market_fetch(c->m, rec, len, NULL, 0, f_done, &f3), GG_OK);
  RUN_UNTIL(&loop, f3.done, 15000);
  if (f3.err) fail_msg("fetch after the publisher left: %s (%s)", f3.msg, gg_strerror(f3.err));
  assert_true(gg_peerid_eq(&f3.peer, ggn_host_peer_id(b->h)));
  assert_true(f3.providers >= 2); /* a's provider record is still there */
  assert_int_equal(ggs_blob_has(c->store, cid), GG_OK);
  ggn_market_stats st;
  ggn_market_get_stats(b->m, &st);
  assert_int_equal(st.served, 1);
  assert_int_equal(st.transfers, 0);
  a->h = NULL; /* closed above */
  node_free(a);
  free(rec);
  close_nodes(&loop, ns, 5);
}

/* ---- publishing and looking up ----------------------------------------------------------- */

typedef struct pres {
  int done, err, put_err, provide_err, announce_err;
  size_t stored, provided, recipients;
} pres;

static void p_done(ggn_market *m, const ggn_market_publish_result *r, void *ud) {
  (void)m;
  pres *p = ud;
  p->done = 1;
  p->err = r->err;
  p->put_err = r->put_err;
  p->provide_err = r->provide_err;
  p->stored = r->stored;
  p->provided = r->provided;
  p->announce_err = r->announce_err;
  p->recipients = r->recipients;
}

typedef struct lres {
  int done, err;
  size_t nfound, refused;
  char versions[8][32], froms[8][96];
} lres;

static void l_done(ggn_market *m, const ggn_market_lookup_result *r, void *ud) {
  (void)m;
  lres *l = ud;
  l->done = 1;
  l->err = r->err;
  l->nfound = r->nfound;
  l->refused = r->refused;
  for (size_t i = 0; i < r->nfound && i < 8; i++) {
    snprintf(l->versions[i], sizeof l->versions[i], "%s", r->found[i].version);
    snprintf(l->froms[i], sizeof l->froms[i], "%s", r->found[i].from);
  }
}

static void publish_net(uv_loop_t *loop, node *n, const uint8_t *rec, size_t len, pres *p) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(ggn_market_publish(n->m, rec, len, p_done, p), GG_OK);
  RUN_UNTIL(loop, p->done, 10000);
  assert_true(p->done);
}

static void lookup(uv_loop_t *loop, node *n, const char *id, const char *ver, lres *l) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(ggn_market_lookup(n->m, id, ver, l_done, l), GG_OK);
  assert_false(l->done);
  RUN_UNTIL(loop, l->done, 10000);
  assert_true(l->done);
}

static int has_local_record(node *n, const char *key) {
  return ggp_kad_get_local(ggn_kad_core(n->k), (const uint8_t *)key, strlen(key), ggn_kad_now(n->k),
                           NULL) == GG_OK;
}

typedef struct rres {
  int done;
  size_t total, ok;
} rres;

static void r_done(ggn_market *m, size_t total, size_t ok, void *ud) {
  (void)m;
  rres *r = ud;
  r->done = 1;
  r->total = total;
  r->ok = ok;
}

typedef struct provs {
  int done;
  size_t n;
  gg_peerid ids[20];
} provs;

static void provs_done(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  provs *p = ud;
  p->done = 1;
  for (size_t i = 0; i < res->nproviders && p->n < 20; i++) p->ids[p->n++] = res->providers[i].id;
}

static void test_publish_lookup(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  node ns[6];
  for (int i = 0; i < 6; i++) node_start(&ns[i], &loop, i, 1, NULL);
  join_all(&loop, ns, 6);
  node *a = &ns[1], *b = &ns[2], *c = &ns[3], *d = &ns[4], *e = &ns[5];
  size_t len1, len2;
  uint8_t cid1[GGM_CID_LEN], cid2[GGM_CID_LEN];
  uint8_t *rec1 = publish_on(a, 1, "io.t.pub", "1.0.0", &len1, cid1);
  pres p;
  publish_net(&loop, a, rec1, len1, &p);
  assert_int_equal(p.err, GG_OK);
  assert_int_equal(p.put_err, GG_OK);
  assert_int_equal(p.provide_err, GG_OK);
  assert_true(p.stored > 0 && p.provided > 0);
  /* b does not know the package: the DHT does */
  lres l;
  lookup(&loop, b, "io.t.pub", "1.0.0", &l);
  assert_int_equal(l.err, GG_OK);
  assert_int_equal(l.nfound, 1);
  assert_string_equal(l.froms[0], "dht");
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(b->cat, "io.t.pub", "1.0.0", &info), GG_OK);
  assert_string_equal(info->versions[0].source, "p2p");
  ggs_catalog_info_free(info);
  assert_int_equal(ggs_blob_has(b->store, cid1), GG_ENOTFOUND); /* the archive comes later */
  fres f = {0};
  assert_int_equal(ggn_market_fetch(b->m, rec1, len1, NULL, 0, f_done, &f), GG_OK);
  RUN_UNTIL(&loop, f.done, 10000);
  assert_int_equal(f.err, GG_OK);
  /* a new version has its own key: the old one is still there */
  uint8_t *rec2 = publish_on(a, 1, "io.t.pub", "1.1.0", &len2, cid2);
  publish_net(&loop, a, rec2, len2, &p);
  assert_int_equal(p.err, GG_OK);
  lookup(&loop, c, "io.t.pub", "1.0.0", &l);
  assert_int_equal(l.err, GG_OK);
  assert_string_equal(l.versions[0], "1.0.0");
  lookup(&loop, c, "io.t.pub", "1.1.0", &l);
  assert_int_equal(l.err, GG_OK);
  assert_string_equal(l.versions[0], "1.1.0");
  lookup(&loop, c, "io.t.pub", "9.9.9", &l);
  assert_int_equal(l.err, GG_ENOTFOUND);
  assert_int_equal(l.nfound, 0);
  assert_int_equal(ggn_market_lookup(c->m, "no such id", "1.0.0", l_done, &l), GG_EINVAL);

  /* d has never heard of io.t.pub and publishes it with another key: the nodes that know the
   * owner refuse to store it, and c refuses it from anyone */
  size_t len3;
  uint8_t cid3[GGM_CID_LEN];
  uint8_t *rec3 = publish_on(d, 2, "io.t.pub", "2.0.0", &len3, cid3);
  publish_net(&loop, d, rec3, len3, &p);
  const char *k3 = "/ggen-pkg/io.t.pub@2.0.0";
  assert_false(has_local_record(a, k3));
  assert_false(has_local_record(b, k3));
  assert_false(has_local_record(c, k3));
  lookup(&loop, c, "io.t.pub", "2.0.0", &l);
  assert_int_equal(l.err, GG_ENOTFOUND);
  assert_int_equal(ggs_catalog_get(c->cat, "io.t.pub", "2.0.0", &info), GG_ENOTFOUND);

  /* e got an archive while offline (a plain ingest): re-providing makes it fetchable from e */
  int fd;
  assert_int_equal(ggs_blob_get(a->store, cid2, 0, &fd, NULL), GG_OK);
  ggm_publish_env env = {e->home, e->cat, e->store};
  ggm_publish_result pr;
  assert_int_equal(ggm_publish_ingest(&env, rec2, len2, fd, "p2p", 0, &pr), GG_OK);
  close(fd);
  rres r = {0};
  assert_int_equal(ggn_market_reprovide(e->m, r_done, &r), GG_OK);
  RUN_UNTIL(&loop, r.done, 10000);
  assert_int_equal(r.total, 1);
  assert_int_equal(r.ok, 1);
  provs pv = {0};
  assert_int_equal(ggn_kad_find_providers(c->k, cid2 + 2, GGM_CID_LEN - 2, 20, provs_done, &pv),
                   GG_OK);
  RUN_UNTIL(&loop, pv.done, 10000);
  int has_e = 0;
  for (size_t i = 0; i < pv.n; i++) has_e |= gg_peerid_eq(&pv.ids[i], ggn_host_peer_id(e->h));
  assert_true(has_e);
  free(rec1);
  free(rec2);
  free(rec3);
  close_nodes(&loop, ns, 6);
}

/* ---- searching ---------------------------------------------------------------------------- */

typedef struct sres {
  int done, err;
  size_t n;
  double ms;
  struct {
    gg_peerid peer;
    int err;
    size_t nrec, invalid;
  } a[16];
  gg_buf recs[16][8]; /* copies of the records */
} sres;

static void s_done(ggn_market *m, const ggn_market_search_result *r, void *ud) {
  (void)m;
  sres *s = ud;
  s->done = 1;
  s->err = r->err;
  s->n = r->nanswers;
  s->ms = r->ms;
  for (size_t i = 0; i < r->nanswers && i < 16; i++) {
    s->a[i].peer = r->answers[i].peer;
    s->a[i].err = r->answers[i].err;
    s->a[i].nrec = r->answers[i].n;
    s->a[i].invalid = r->answers[i].invalid;
    for (size_t k = 0; k < r->answers[i].n && k < 8; k++) {
      gg_buf_init(&s->recs[i][k], NULL, GGM_RELEASE_MAX);
      gg_buf_append(&s->recs[i][k], r->answers[i].records[k].p, r->answers[i].records[k].len);
    }
  }
}

static void sres_free(sres *s) {
  for (size_t i = 0; i < s->n && i < 16; i++)
    for (size_t k = 0; k < s->a[i].nrec && k < 8; k++) gg_buf_free(&s->recs[i][k]);
}

static int answer_of(const sres *s, const node *n) {
  for (size_t i = 0; i < s->n; i++)
    if (gg_peerid_eq(&s->a[i].peer, ggn_host_peer_id(n->h))) return (int)i;
  return -1;
}

/* A search server that lies (a tampered record) or says nothing. */
typedef struct badsearch {
  int mode; /* 1: tampered record, 2: silent */
  gg_buf rec;
} badsearch;

static void bs_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  badsearch *b = ud;
  ggm_psearch_req q;
  assert_int_equal(ggm_psearch_req_decode(m, n, &q), GG_OK);
  ggm_psearch_req_free(&q);
  if (b->mode == 2) return;
  gg_slice r = {gg_buf_ptr(&b->rec), gg_buf_len(&b->rec)};
  gg_buf o;
  gg_buf_init(&o, NULL, 1 << 20);
  assert_int_equal(ggm_psearch_resp_encode(GGM_ST_OK, &r, 1, NULL, NULL, &o), GG_OK);
  ggn_stream_write(s, gg_buf_ptr(&o), gg_buf_len(&o));
  ggn_stream_close_write(s);
  gg_buf_free(&o);
}

static const ggn_stream_callbacks bs_cbs = {.on_msg = bs_msg};

static void bs_stream(ggn_stream *s, void *ud) {
  ggn_stream_set_callbacks(s, &bs_cbs, ud);
  ggn_stream_read_msgs(s, GGM_SEARCH_REQ_MAX);
}

static void test_search(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_market_settings ms = {.search_deadline = GG_MS(600)};
  node ns[7];
  for (int i = 0; i < 5; i++) node_start(&ns[i], &loop, i, 1, &ms);
  join_all(&loop, ns, 5);
  node *a = &ns[1], *b = &ns[2], *asker = &ns[4];
  size_t l1, l2, l3;
  uint8_t c1[GGM_CID_LEN], c2[GGM_CID_LEN], c3[GGM_CID_LEN];
  uint8_t *r1 = publish_on(a, 1, "io.s.json-parser", "1.0.0", &l1, c1);
  uint8_t *r3 = publish_on(a, 1, "io.s.json-parser", "1.2.0", &l3, c3);
  uint8_t *r2 = publish_on(b, 2, "io.s.yaml-parser", "2.0.0", &l2, c2);
  /* two liars, connected to the asker */
  badsearch bad[2] = {{.mode = 1}, {.mode = 2}};
  gg_buf_init(&bad[0].rec, NULL, GGM_RELEASE_MAX);
  gg_buf_append(&bad[0].rec, r2, l2);
  gg_buf_ptr(&bad[0].rec)[l2 - 4] ^= 1;
  for (int i = 0; i < 2; i++) {
    node_start(&ns[5 + i], &loop, 5 + i, 0, NULL);
    assert_int_equal(ggn_host_handle(ns[5 + i].h, GGM_SEARCH_PROTOCOL, bs_stream, &bad[i]), GG_OK);
    ht_dial_res d = {0};
    assert_int_equal(ggn_host_dial(asker->h, &ns[5 + i].addr, dial_cb, &d), GG_OK);
    RUN_UNTIL(&loop, d.done, 5000);
    assert_int_equal(d.err, GG_OK);
  }
  run_for(&loop, 100); /* identify answers arrive */

  ggm_psearch_req q = {.text = "parser"};
  sres s = {0};
  gg_ts t0 = uv_hrtime();
  assert_int_equal(ggn_market_search(asker->m, &q, s_done, &s), GG_OK);
  RUN_UNTIL(&loop, s.done, 5000);
  double took = (double)(uv_hrtime() - t0) / 1e6;
  assert_true(s.done);
  assert_int_equal(s.err, GG_OK);
  /* the silent one keeps the search to its deadline, not beyond */
  assert_true(took >= 550 && took < 1500);
  int ia = answer_of(&s, a), ib = answer_of(&s, b), i5 = answer_of(&s, &ns[5]),
      i6 = answer_of(&s, &ns[6]);
  assert_true(ia >= 0 && ib >= 0 && i5 >= 0 && i6 >= 0);
  assert_int_equal(s.a[ia].err, GG_OK);
  assert_int_equal(s.a[ia].nrec, 1); /* the latest version of its package */
  assert_int_equal(s.a[ib].nrec, 1);
  assert_int_equal(s.a[i5].nrec, 0);
  assert_int_equal(s.a[i5].invalid, 1);
  assert_int_equal(s.a[i6].err, GG_ETIMEDOUT);
  /* merged the way the CLI does: both packages, newest versions */
  ggm_psearch_answer ans[16];
  gg_slice sl[16][8];
  char ids[16][GG_PEERID_TEXT_MAX];
  for (size_t i = 0; i < s.n; i++) {
    for (size_t k = 0; k < s.a[i].nrec; k++)
      sl[i][k] = (gg_slice){gg_buf_ptr(&s.recs[i][k]), gg_buf_len(&s.recs[i][k])};
    gg_peerid_to_b58(&s.a[i].peer, ids[i], sizeof ids[i]);
    ans[i] = (ggm_psearch_answer){ids[i], sl[i], s.a[i].nrec, NULL};
  }
  ggm_psearch_merged *mg;
  assert_int_equal(ggm_psearch_merge(&q, NULL, ans, s.n, NULL, NULL, &mg), GG_OK);
  assert_int_equal(mg->n, 2);
  for (size_t i = 0; i < mg->n; i++)
    assert_string_equal(mg->v[i].version,
                        !strcmp(mg->v[i].id, "io.s.json-parser") ? "1.2.0" : "2.0.0");
  ggm_psearch_merged_free(mg);
  sres_free(&s);
  /* the liar is known as one now */
  char id[GG_PEERID_TEXT_MAX];
  ggs_peerrep_stats rs;
  gg_peerid_to_b58(ggn_host_peer_id(ns[5].h), id, sizeof id);
  assert_int_equal(ggs_peerrep_get(asker->rep, id, &rs), GG_OK);
  assert_int_equal(rs.failures, GGS_PEERREP_BAD_WEIGHT);
  assert_int_equal(rs.searches, 1);

  /* every version of an id, from peers, cataloged: a lookup without a version */
  lres l;
  lookup(&loop, asker, "io.s.json-parser", NULL, &l);
  assert_int_equal(l.err, GG_OK);
  assert_int_equal(l.nfound, 2);
  ggs_catalog_info *info;
  assert_int_equal(ggs_catalog_get(asker->cat, "io.s.json-parser", NULL, &info), GG_OK);
  assert_int_equal(info->n_versions, 2);
  ggs_catalog_info_free(info);
  /* a version the DHT does not have (never put there) comes from peers too */
  lookup(&loop, &ns[3], "io.s.yaml-parser", "2.0.0", &l);
  assert_int_equal(l.err, GG_OK);
  assert_int_equal(l.nfound, 1);
  ggn_market_stats st;
  ggn_market_get_stats(a->m, &st);
  assert_true(st.searches_served >= 2);

  /* a query over the caps is refused at once */
  char big[GGM_SEARCH_TEXT_MAX + 10];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ggm_psearch_req bq = {.text = big};
  assert_int_equal(ggn_market_search(asker->m, &bq, s_done, &s), GG_EINVAL);
  gg_buf_free(&bad[0].rec);
  free(r1);
  free(r2);
  free(r3);
  close_nodes(&loop, ns, 7);
}

/* ---- announcements ------------------------------------------------------------------------ */

static void on_ann(ggn_market *m, const ggn_market_announcement *a, void *ud) {
  (void)m;
  node *n = ud;
  if (a->v->action == GGM_ANNOUNCE_ACCEPT && a->ingest_err == GG_OK)
    n->ann_ok++;
  else if (a->v->action == GGM_ANNOUNCE_REJECT) {
    n->ann_refused++;
    n->ann_owner += a->v->err == GG_EOWNER;
    n->ann_by_peers += a->by_peers;
    n->ann_badsig += a->v->err == GG_EBADSIG;
  }
}

static int all_have(node *ns, int from, int to, const char *id, const char *ver) {
  for (int i = from; i < to; i++) {
    ggs_catalog_info *info = NULL;
    if (ggs_catalog_get(ns[i].cat, id, ver, &info) != GG_OK) return 0;
    ggs_catalog_info_free(info);
  }
  return 1;
}

static void test_announcements(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  with_gossip = 1;
  /* a short message cache (300 ms), so a node started later cannot get the announcements
   * through IHAVE/IWANT: it must not know the package */
  ggp_gossip_settings rs;
  ggp_gossip_settings_default(&rs);
  rs.heartbeat_interval = GG_MS(100);
  rs.history_length = 3;
  rs.history_gossip = 2;
  gs_router = &rs;
  ggn_market_settings ms = {.on_announce = on_ann};
  node ns[8];
  for (int i = 0; i < 6; i++) node_start(&ns[i], &loop, i, 1, &ms);
  node_start(&ns[6], &loop, 6, 0, NULL); /* mallory: Gossipsub without a market */
  join_all(&loop, ns, 7);
  run_for(&loop, 1500); /* subscriptions travel, meshes form */
  node *a = &ns[1], *mal = &ns[6];
  size_t len;
  uint8_t cid[GGM_CID_LEN];
  uint8_t *rec = publish_on(a, 1, "io.g.announced", "1.0.0", &len, cid);
  pres p;
  publish_net(&loop, a, rec, len, &p);
  assert_int_equal(p.err, GG_OK);
  assert_true(p.recipients > 0);
  RUN_UNTIL(&loop, all_have(ns, 0, 6, "io.g.announced", "1.0.0"), 5000);
  assert_true(all_have(ns, 0, 6, "io.g.announced", "1.0.0"));
  for (int i = 0; i < 6; i++)
    if (i != 1) assert_true(ns[i].ann_ok >= 1);
  /* the archive comes from the announcer (a hint) or the DHT */
  fres f = {0};
  assert_int_equal(ggn_market_fetch(ns[4].m, rec, len, NULL, 0, f_done, &f), GG_OK);
  RUN_UNTIL(&loop, f.done, 10000);
  assert_int_equal(f.err, GG_OK);
  assert_true(gg_peerid_eq(&f.peer, ggn_host_peer_id(a->h)));
  /* a late node: it never saw the id, so it will ask its peers who owns it */
  run_for(&loop, 600); /* the message cache forgets the announcement */
  node *late = &ns[7];
  node_start(late, &loop, 7, 1, &ms);
  with_gossip = 0;
  gs_router = NULL;
  qres jq = {0};
  assert_int_equal(ggn_kad_bootstrap(late->k, &ns[0].addr, 1, q_done, &jq), GG_OK);
  RUN_UNTIL(&loop, jq.done, 5000);
  run_for(&loop, 1500);
  assert_int_equal(ggs_catalog_get(late->cat, "io.g.announced", NULL, &(ggs_catalog_info *){0}),
                   GG_ENOTFOUND);

  /* mallory announces a version of the same id under its own key, a tampered record and
   * garbage: every market node refuses them, nothing is cataloged */
  gg_keypair mk = publisher_key(7);
  ggm_release r = {.id = "io.g.announced",
                   .version = "2.0.0",
                   .name = "evil",
                   .archive_size = 10,
                   .publish_time = NOW + 10};
  ggm_pack_cid_of((const uint8_t *)"evil", 4, r.archive_cid);
  gg_buf evil;
  gg_buf_init(&evil, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, &mk, &evil, NULL), GG_OK);
  size_t n = 0;
  assert_int_equal(ggn_gossip_publish(mal->gs, GGM_ANNOUNCE_TOPIC, gg_buf_ptr(&evil),
                                      gg_buf_len(&evil), &n, NULL, NULL),
                   GG_OK);
  assert_true(n > 0);
  uint8_t *t = malloc(len);
  memcpy(t, rec, len);
  t[len - 2] ^= 1;
  assert_int_equal(ggn_gossip_publish(mal->gs, GGM_ANNOUNCE_TOPIC, t, len, &n, NULL, NULL), GG_OK);
  assert_int_equal(
      ggn_gossip_publish(mal->gs, GGM_ANNOUNCE_TOPIC, (const uint8_t *)"junk", 4, &n, NULL, NULL),
      GG_OK);
  int refused = 0;
  for (int k = 0; k < 300 && refused < 3; k++) {
    run_once(&loop);
    refused = 0;
    for (int i = 0; i < 6; i++) refused += ns[i].ann_refused;
  }
  assert_true(refused >= 3);
  run_for(&loop, 300);
  for (int i = 0; i < 6; i++) {
    ggs_catalog_info *info = NULL;
    assert_int_equal(ggs_catalog_get(ns[i].cat, "io.g.announced", "2.0.0", &info), GG_ENOTFOUND);
    ggn_market_stats st;
    ggn_market_get_stats(ns[i].m, &st);
    assert_int_equal(st.announcements_accepted, i == 1 ? 0 : 1);
  }
  /* the late node asked its peers: they vouch for the real owner, so it refused too */
  RUN_UNTIL(&loop, late->ann_by_peers > 0, 5000);
  assert_true(late->ann_by_peers > 0);
  assert_int_equal(ggs_catalog_get(late->cat, "io.g.announced", "2.0.0", &(ggs_catalog_info *){0}),
                   GG_ENOTFOUND);
  /* each refused for its reason: a foreign owner, a bad signature */
  int owner = 0, badsig = 0;
  for (int i = 0; i < 6; i++) {
    owner += ns[i].ann_owner;
    badsig += ns[i].ann_badsig;
  }
  assert_true(owner >= 1);
  assert_true(badsig >= 1);
  /* mallory's score fell at the nodes it sent invalid messages to */
  double worst = 0;
  for (int i = 0; i < 6; i++) {
    double sc = ggn_gossip_peer_score(ns[i].gs, ggn_host_peer_id(mal->h));
    if (sc < worst) worst = sc;
  }
  assert_true(worst < 0);
  gg_buf_free(&evil);
  free(t);
  free(rec);
  close_nodes(&loop, ns, 8);
}

/* ---- misbehaving providers ------------------------------------------------------------------- */

enum { BAD_WRONG = 1, BAD_EXTRA, BAD_SIZE, BAD_SILENT, BAD_NOTFOUND };

typedef struct bad {
  int mode;
  const uint8_t *arch;
  size_t alen;
  int requests;
} bad;

static void bad_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  bad *b = ud;
  uint8_t cid[GGM_CID_LEN];
  assert_int_equal(ggm_fetch_req_decode(m, n, cid), GG_OK);
  b->requests++;
  gg_buf o;
  gg_buf_init(&o, NULL, 1 << 24);
  switch (b->mode) {
  case BAD_WRONG: { /* the right size, one byte flipped */
    ggm_fetch_hdr_encode(GGM_ST_OK, b->alen, NULL, &o);
    size_t at = gg_buf_len(&o);
    gg_buf_append(&o, b->arch, b->alen);
    gg_buf_ptr(&o)[at + b->alen / 2] ^= 1;
    break;
  }
  case BAD_EXTRA: /* the archive and then some */
    ggm_fetch_hdr_encode(GGM_ST_OK, b->alen, NULL, &o);
    gg_buf_append(&o, b->arch, b->alen);
    gg_buf_append(&o, "garbage", 7);
    break;
  case BAD_SIZE: /* a header announcing more than the record's size */
    ggm_fetch_hdr_encode(GGM_ST_OK, b->alen + 1000, NULL, &o);
    gg_buf_append(&o, b->arch, b->alen);
    break;
  case BAD_NOTFOUND: ggm_fetch_hdr_encode(GGM_ST_NOT_FOUND, 0, "nope", &o); break;
  default: gg_buf_free(&o); return; /* silent */
  }
  ggn_stream_write(s, gg_buf_ptr(&o), gg_buf_len(&o));
  ggn_stream_close_write(s);
  gg_buf_free(&o);
}

static const ggn_stream_callbacks bad_cbs = {.on_msg = bad_msg};

static void bad_stream(ggn_stream *s, void *ud) {
  ggn_stream_set_callbacks(s, &bad_cbs, ud);
  ggn_stream_read_msgs(s, GGM_FETCH_REQ_MAX);
}

static int attempt_err(const fres *f, const node *n) {
  for (size_t i = 0; i < f->nattempts; i++)
    if (gg_peerid_eq(&f->att[i].peer, ggn_host_peer_id(n->h))) return f->att[i].err;
  return 1;
}

static void test_bad_providers(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_market_settings ms = {.fetch_timeout = GG_MS(400)};
  node ns[8];
  node_start(&ns[0], &loop, 0, 1, &ms);  /* the fetcher */
  node_start(&ns[1], &loop, 1, 1, NULL); /* the publisher, honest */
  bad bads[5];
  int modes[5] = {BAD_WRONG, BAD_EXTRA, BAD_SIZE, BAD_SILENT, BAD_NOTFOUND};
  size_t len;
  uint8_t cid[GGM_CID_LEN];
  uint8_t *rec = publish_on(&ns[1], 1, "io.t.bad", "1.0.0", &len, cid);
  size_t alen;
  uint8_t *arch = blob_bytes(&ns[1], cid, &alen);
  for (int i = 0; i < 5; i++) {
    node_start(&ns[2 + i], &loop, 2 + i, 0, NULL);
    bads[i] = (bad){modes[i], arch, alen, 0};
    assert_int_equal(ggn_host_handle(ns[2 + i].h, GGM_FETCH_PROTOCOL, bad_stream, &bads[i]), GG_OK);
  }
  node_start(&ns[7], &loop, 7, 0, NULL); /* a peer that does not speak the protocol at all */
  /* the fetcher knows every peer's address; the honest one comes last */
  gg_peerid hints[7];
  int order[7] = {2, 3, 4, 5, 6, 7, 1};
  for (int i = 0; i < 7; i++) {
    node *n = &ns[order[i]];
    hints[i] = *ggn_host_peer_id(n->h);
    gg_maddr t = n->addr;
    assert_int_equal(ggn_host_add_addr(ns[0].h, &hints[i], &t), GG_OK);
  }
  fres f = {0};
  assert_int_equal(ggn_market_fetch(ns[0].m, rec, len, hints, 7, f_done, &f), GG_OK);
  RUN_UNTIL(&loop, f.done, 15000);
  assert_true(f.done);
  if (f.err) fail_msg("fetch: %s (%s)", f.msg, gg_strerror(f.err));
  /* default max_providers is 8: all seven were tried, in the order given (none known yet) */
  assert_int_equal(f.nattempts, 7);
  assert_true(gg_peerid_eq(&f.peer, ggn_host_peer_id(ns[1].h)));
  assert_int_equal(attempt_err(&f, &ns[2]), GG_EINTEGRITY);
  assert_int_equal(attempt_err(&f, &ns[3]), GG_ETOOBIG);
  assert_int_equal(attempt_err(&f, &ns[4]), GG_EINTEGRITY);
  assert_int_equal(attempt_err(&f, &ns[5]), GG_ETIMEDOUT);
  assert_int_equal(attempt_err(&f, &ns[6]), GG_ENOTFOUND);
  assert_int_equal(attempt_err(&f, &ns[7]), GG_ENOPROTO);
  assert_int_equal(attempt_err(&f, &ns[1]), GG_OK);
  for (int i = 0; i < 5; i++) assert_int_equal(bads[i].requests, 1);
  /* only the verified archive is in the store, nothing is left in tmp */
  assert_int_equal(ggs_blob_has(ns[0].store, cid), GG_OK);
  ggs_blob_stats bst;
  assert_int_equal(ggs_blob_stats_get(ns[0].store, &bst), GG_OK);
  assert_int_equal(bst.entries, 1);
  char *tmp = gg_home_path(ns[0].home, "tmp");
  assert_int_equal(count_dir(tmp), 0);
  free(tmp);
  /* reputation: bytes that do not match are punished harder than silence */
  char id[GG_PEERID_TEXT_MAX];
  ggs_peerrep_stats wrong, silent, good;
  gg_peerid_to_b58(ggn_host_peer_id(ns[2].h), id, sizeof id);
  assert_int_equal(ggs_peerrep_get(ns[0].rep, id, &wrong), GG_OK);
  gg_peerid_to_b58(ggn_host_peer_id(ns[5].h), id, sizeof id);
  assert_int_equal(ggs_peerrep_get(ns[0].rep, id, &silent), GG_OK);
  gg_peerid_to_b58(ggn_host_peer_id(ns[1].h), id, sizeof id);
  assert_int_equal(ggs_peerrep_get(ns[0].rep, id, &good), GG_OK);
  assert_int_equal(wrong.failures, GGS_PEERREP_BAD_WEIGHT);
  assert_int_equal(silent.failures, 1);
  int64_t now = (int64_t)time(NULL);
  assert_true(ggs_peerrep_score(&good, now, NULL) > ggs_peerrep_score(&silent, now, NULL));
  assert_true(ggs_peerrep_score(&silent, now, NULL) > ggs_peerrep_score(&wrong, now, NULL));

  /* a second package, served by the same peers: the good one is now tried first */
  size_t len2;
  uint8_t cid2[GGM_CID_LEN];
  uint8_t *rec2 = publish_on(&ns[1], 1, "io.t.bad2", "1.0.0", &len2, cid2);
  fres g = {0};
  assert_int_equal(ggn_market_fetch(ns[0].m, rec2, len2, hints, 7, f_done, &g), GG_OK);
  RUN_UNTIL(&loop, g.done, 10000);
  assert_int_equal(g.err, GG_OK);
  assert_int_equal(g.nattempts, 1);
  assert_true(gg_peerid_eq(&g.att[0].peer, ggn_host_peer_id(ns[1].h)));

  /* nobody has it: every candidate fails, the last error is reported, nothing stored */
  uint8_t nocid[GGM_CID_LEN];
  ggm_pack_cid_of((const uint8_t *)"nothing", 7, nocid);
  fres h = {0};
  assert_int_equal(ggn_market_fetch_cid(ns[0].m, nocid, 0, &hints[4], 1, f_done, &h), GG_OK);
  RUN_UNTIL(&loop, h.done, 10000);
  assert_int_equal(h.err, GG_ENOTFOUND);
  assert_int_equal(ggs_blob_has(ns[0].store, nocid), GG_ENOTFOUND);
  /* and with no candidate at all */
  fres none = {0};
  assert_int_equal(ggn_market_fetch_cid(ns[0].m, nocid, 0, NULL, 0, f_done, &none), GG_OK);
  RUN_UNTIL(&loop, none.done, 10000);
  assert_int_equal(none.err, GG_ENOTFOUND);
  assert_int_equal(none.nattempts, 0);
  assert_non_null(strstr(none.msg, "no provider"));
  free(rec);
  free(rec2);
  free(arch);
  close_nodes(&loop, ns, 8);
}

/* ---- the server's caps -------------------------------------------------------------------- */

typedef struct raw {
  ggn_stream *s;
  int opened, closed, eof;
  gg_buf in;
} raw;

static void raw_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  (void)s;
  raw *r = ud;
  gg_buf_append(&r->in, p, n);
}
static void raw_eof(ggn_stream *s, void *ud) {
  (void)s;
  ((raw *)ud)->eof = 1;
}
static void raw_close(ggn_stream *s, int err, void *ud) {
  (void)s, (void)err;
  ((raw *)ud)->closed = 1;
}
static const ggn_stream_callbacks raw_cbs = {
    .on_data = raw_data, .on_eof = raw_eof, .on_close = raw_close};

static void raw_opened(ggn_stream *s, int err, void *ud) {
  raw *r = ud;
  assert_int_equal(err, GG_OK);
  r->s = s;
  r->opened = 1;
  ggn_stream_set_callbacks(s, &raw_cbs, r);
}

/* Opens a raw fetch stream from n to peer and writes body (framed) on it. */
static void raw_request(uv_loop_t *loop, node *n, const gg_peerid *peer, raw *r,
                        const uint8_t *body, size_t blen, int pause) {
  memset(r, 0, sizeof(*r));
  gg_buf_init(&r->in, NULL, 1 << 24);
  static const char *const protos[] = {GGM_FETCH_PROTOCOL};
  assert_int_equal(ggn_host_open_stream(n->h, peer, protos, 1, raw_opened, r), GG_OK);
  RUN_UNTIL(loop, r->opened, 5000);
  assert_true(r->opened);
  if (pause) ggn_stream_pause(r->s, 1);
  gg_buf o;
  gg_buf_init(&o, NULL, 4096);
  gg_lpm_write(&o, body, blen);
  assert_true(ggn_stream_write(r->s, gg_buf_ptr(&o), gg_buf_len(&o)) >= 0);
  gg_buf_free(&o);
}

/* The response status in what r received, -1 when no header came. */
static int raw_status(raw *r) {
  gg_lpm l;
  gg_lpm_init(&l, NULL, GGM_FETCH_HDR_MAX);
  size_t used;
  const uint8_t *m;
  size_t mlen;
  int st = -1;
  if (gg_lpm_read(&l, gg_buf_ptr(&r->in), gg_buf_len(&r->in), &used, &m, &mlen) == GG_OK) {
    ggm_fetch_hdr h;
    if (ggm_fetch_hdr_decode(m, mlen, &h) == GG_OK) st = h.status;
  }
  gg_lpm_free(&l);
  return st;
}

static void test_server_caps(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  bulk = 1500000; /* more than a Yamux window: a transfer to a paused reader stays open */
  ggn_market_settings ms = {.max_transfers_per_peer = 1, .rate_per_sec = 0.01, .rate_burst = 4};
  node ns[2];
  node_start(&ns[0], &loop, 0, 1, &ms); /* the server */
  node_start(&ns[1], &loop, 1, 0, NULL);
  gg_maddr t = ns[0].addr;
  assert_int_equal(ggn_host_add_addr(ns[1].h, ggn_host_peer_id(ns[0].h), &t), GG_OK);
  size_t len;
  uint8_t cid[GGM_CID_LEN];
  uint8_t *rec = publish_on(&ns[0], 1, "io.t.caps", "1.0.0", &len, cid);
  gg_buf req;
  gg_buf_init(&req, NULL, 256);
  assert_int_equal(ggm_fetch_req_encode(cid, &req), GG_OK);
  /* the body without its one-byte length prefix */
  const uint8_t *body = gg_buf_ptr(&req) + 1;
  size_t blen = gg_buf_len(&req) - 1;
  const gg_peerid *srv = ggn_host_peer_id(ns[0].h);
  /* 1: a reader that does not read keeps its transfer open */
  raw r1, r2, r3, r4, r5;
  raw_request(&loop, &ns[1], srv, &r1, body, blen, 1);
  ggn_market_stats st;
  for (int i = 0; i < 100; i++) {
    ggn_market_get_stats(ns[0].m, &st);
    if (st.transfers == 1) break;
    run_once(&loop);
  }
  assert_int_equal(st.transfers, 1);
  /* 2: the same peer again: busy */
  raw_request(&loop, &ns[1], srv, &r2, body, blen, 0);
  RUN_UNTIL(&loop, r2.eof, 5000);
  assert_int_equal(raw_status(&r2), GGM_ST_BUSY);
  /* 3: a malformed request */
  raw_request(&loop, &ns[1], srv, &r3, (const uint8_t *)"\x0a\x03xyz", 5, 0);
  RUN_UNTIL(&loop, r3.eof, 5000);
  assert_int_equal(raw_status(&r3), GGM_ST_BAD_REQUEST);
  /* 4: the burst of 4 is spent (r1, r2, r3, r4): the fifth is rate limited */
  ggn_stream_pause(r1.s, 0);
  RUN_UNTIL(&loop, r1.eof, 5000);
  assert_int_equal(raw_status(&r1), GGM_ST_OK);
  raw_request(&loop, &ns[1], srv, &r4, body, blen, 0);
  RUN_UNTIL(&loop, r4.eof, 5000);
  assert_int_equal(raw_status(&r4), GGM_ST_OK);
  raw_request(&loop, &ns[1], srv, &r5, body, blen, 0);
  RUN_UNTIL(&loop, r5.eof, 5000);
  assert_int_equal(raw_status(&r5), GGM_ST_RATE_LIMITED);
  ggn_market_get_stats(ns[0].m, &st);
  assert_int_equal(st.served, 2);
  assert_int_equal(st.refused_busy, 1);
  assert_int_equal(st.refused_rate, 1);
  assert_int_equal(st.transfers, 0);
  raw *rs[] = {&r1, &r2, &r3, &r4, &r5};
  for (int i = 0; i < 5; i++) {
    if (!rs[i]->closed) ggn_stream_close_write(rs[i]->s);
  }
  RUN_UNTIL(&loop, r1.closed && r2.closed && r3.closed && r4.closed && r5.closed, 5000);
  for (int i = 0; i < 5; i++) gg_buf_free(&rs[i]->in);
  gg_buf_free(&req);
  free(rec);
  bulk = 200000;
  close_nodes(&loop, ns, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fetch_through_providers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_publish_lookup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_announcements, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_providers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_caps, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
