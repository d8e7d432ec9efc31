/*
 * Kademlia interoperability with js-libp2p kad-dht 15.1.11 (libp2p 2.10, Node 20; pinned in
 * interop/js/package-lock.json). Our nodes are hosts with the Kademlia service on this
 * process's loop; the js nodes run in one Node process (interop/js/kad-peer.mjs), driven over
 * its stdin/stdout, all on loopback, on /ggen/kad/1.0.0.
 *   - pairwise: put on ours and get on js, put on js and get on ours (a /test record and a
 *     signed /ggen-pkg/ release record, which js verifies; a tampered one is refused on both
 *     sides), provide and find-providers both ways, find-peer both ways; the gets are made by
 *     nodes that joined after the record was stored, so the answer travels over the wire;
 *   - a mixed network of 10 of our nodes and 10 js nodes (k = 8 on both sides, so a record
 *     lives on fewer than half of the nodes): every node puts a record, four nodes (two of
 *     each) provide a CID, and every node gets every record and finds every provider.
 * Skipped (not failed) when node or interop/js/node_modules is missing; CI runs
 * scripts/setup.sh, which installs them.
 */
#include "gg_test.h"
#include "host_test.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ggen/cid.h"
#include "ggen/err.h"
#include "ggen/kad_service.h"
#include "ggen/multihash.h"
#include "ggen/pack.h"
#include "ggen/pkgrec.h"
#include "ggen/release.h"

#define JS_DIR GGEN_SOURCE_DIR "/interop/js"
#define MAXJS 16

/* ---- the js process -------------------------------------------------------------------------- */

typedef struct kjs {
  uv_process_t proc;
  uv_pipe_t in, out;
  char *buf;
  size_t len, cap;
  int exited, closed, n;
  unsigned next_tag;
  gg_peerid id[MAXJS];
  char addr[MAXJS][256]; /* /ip4/127.0.0.1/tcp/N/p2p/ID */
  char line[1 << 16];
} kjs;

static int have_js(void) {
  struct stat st;
  return stat(JS_DIR "/node_modules/@libp2p/kad-dht", &st) == 0;
}

static void kjs_exit(uv_process_t *p, int64_t status, int sig) {
  (void)status, (void)sig;
  ((kjs *)p->data)->exited = 1;
}

static void kjs_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)sz;
  kjs *js = h->data;
  if (js->cap - js->len < 65536) {
    js->cap = js->cap * 2 + 65536;
    js->buf = realloc(js->buf, js->cap);
  }
  *b = uv_buf_init(js->buf + js->len, (unsigned)(js->cap - js->len - 1));
}

static void kjs_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  kjs *js = st->data;
  if (n <= 0) return;
  if (getenv("GGEN_TEST_LOG")) fprintf(stderr, "js> %.*s", (int)n, js->buf + js->len);
  js->len += (size_t)n;
  js->buf[js->len] = 0;
}

static void kjs_closed(uv_handle_t *h) { ((kjs *)h->data)->closed++; }

/* Finds (and consumes) the first unconsumed line starting with prefix; NULL on timeout. */
static const char *kjs_wait(uv_loop_t *loop, kjs *js, const char *prefix, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  size_t pl = strlen(prefix);
  for (;;) {
    size_t pos = 0;
    while (js->buf && pos < js->len) {
      char *nl = memchr(js->buf + pos, '\n', js->len - pos);
      if (!nl) break;
      char *l = js->buf + pos;
      size_t ll = (size_t)(nl - l);
      pos += ll + 1;
      if (ll >= pl && !memcmp(l, prefix, pl)) {
        size_t n = ll < sizeof(js->line) - 1 ? ll : sizeof(js->line) - 1;
        memcpy(js->line, l, n);
        js->line[n] = 0;
        l[0] = '#';
        return js->line;
      }
    }
    if (uv_hrtime() >= end || js->exited) return NULL;
    ht_run_once(loop);
  }
}

/* Sends "<tag> fmt..." and returns the tag. */
static unsigned kjs_cmd(kjs *js, const char *fmt, ...) {
  char cmd[200000];
  unsigned tag = ++js->next_tag;
  int n = snprintf(cmd, sizeof(cmd), "t%u ", tag);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  cmd[n++] = '\n';
  uv_buf_t b = uv_buf_init(cmd, (unsigned)n);
  size_t off = 0;
  while (off < (size_t)n) { /* the pipe may take a long line in pieces */
    b = uv_buf_init(cmd + off, (unsigned)((size_t)n - off));
    int w = uv_try_write((uv_stream_t *)&js->in, &b, 1);
    if (w > 0)
      off += (size_t)w;
    else
      ht_run_once(js->proc.loop);
  }
  return tag;
}

/* The answer to tag without the tag ("GOT 6869", "ERR ..."); NULL on timeout. */
static const char *kjs_answer(uv_loop_t *loop, kjs *js, unsigned tag, uint64_t ms) {
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "t%u ", tag);
  const char *l = kjs_wait(loop, js, prefix, ms);
  return l ? l + strlen(prefix) : NULL;
}

static int kjs_start(uv_loop_t *loop, kjs *js, int count, int k, const char *proto) {
  memset(js, 0, sizeof(*js));
  char cnt[16], kk[16];
  snprintf(cnt, sizeof(cnt), "%d", count);
  snprintf(kk, sizeof(kk), "%d", k);
  char *args[] = {"node", "kad-peer.mjs",   "--count",     cnt, "--k",
                  kk,     "--kad-protocol", (char *)proto, NULL};
  uv_pipe_init(loop, &js->in, 0);
  uv_pipe_init(loop, &js->out, 0);
  js->in.data = js->out.data = js->proc.data = js;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&js->in},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&js->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = kjs_exit,
                            .file = "node",
                            .args = args,
                            .cwd = JS_DIR,
                            .stdio_count = 3,
                            .stdio = stdio};
  if (uv_spawn(loop, &js->proc, &o) != 0) {
    uv_close((uv_handle_t *)&js->in, NULL);
    uv_close((uv_handle_t *)&js->out, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return -1;
  }
  uv_read_start((uv_stream_t *)&js->out, kjs_alloc, kjs_read);
  assert_non_null(kjs_wait(loop, js, "ALLREADY", 60000));
  for (int i = 0; i < count; i++) {
    char prefix[32], id[128];
    snprintf(prefix, sizeof(prefix), "READY %d ", i);
    const char *l = kjs_wait(loop, js, prefix, 1000);
    assert_non_null(l);
    int idx;
    assert_int_equal(sscanf(l, "READY %d %127s %255s", &idx, id, js->addr[i]), 3);
    assert_int_equal(gg_peerid_parse(&js->id[i], id, strlen(id)), GG_OK);
  }
  js->n = count;
  return 0;
}

static void kjs_stop(uv_loop_t *loop, kjs *js) {
  if (!js->exited) {
    uv_buf_t b = uv_buf_init("quit\n", 5);
    uv_try_write((uv_stream_t *)&js->in, &b, 1);
  }
  gg_ts end = uv_hrtime() + GG_SEC(15);
  while (!js->exited && uv_hrtime() < end) ht_run_once(loop);
  if (!js->exited) uv_process_kill(&js->proc, SIGKILL);
  while (!js->exited) ht_run_once(loop);
  uv_close((uv_handle_t *)&js->in, kjs_closed);
  uv_close((uv_handle_t *)&js->out, kjs_closed);
  uv_close((uv_handle_t *)&js->proc, kjs_closed);
  while (js->closed < 3) ht_run_once(loop);
  free(js->buf);
}

/* ---- our nodes ------------------------------------------------------------------------------- */

typedef struct onode {
  ggn_host *h;
  ggn_kad *k;
  gg_keypair kp;
  char addr[256];
} onode;

static int test_validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen) {
  (void)vud, (void)key, (void)klen, (void)val;
  return vlen > 0 ? GG_OK : GG_EINVAL;
}
static size_t test_select(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals,
                          size_t n) {
  (void)vud, (void)key, (void)klen;
  size_t best = 0; /* the bytewise larger value, as kad-peer.mjs */
  for (size_t i = 1; i < n; i++) {
    size_t m = vals[i].len < vals[best].len ? vals[i].len : vals[best].len;
    int c = memcmp(vals[i].p, vals[best].p, m);
    if (c > 0 || (c == 0 && vals[i].len > vals[best].len)) best = i;
  }
  return best;
}
static const ggp_kad_validator test_ns = {"test", test_validate, test_select, NULL};

static void onode_start_proto(onode *n, uv_loop_t *loop, uint64_t seed, size_t k,
                              const char *proto) {
  memset(n, 0, sizeof(*n));
  uint8_t s[32] = {0};
  memcpy(s, &seed, sizeof(seed));
  s[31] = 0x4a;
  gg_keypair_from_seed(&n->kp, s);
  ggn_log lg;
  ggn_log_init(&lg, getenv("GGEN_TEST_LOG") ? GGN_LOG_DEBUG : GGN_LOG_ERROR, "");
  ggn_host_settings st = {.identity = &n->kp, .log = &lg};
  assert_int_equal(ggn_host_new(&n->h, loop, &st, NULL, NULL), GG_OK);
  ggn_kad_settings ks = {.protocol = proto, .validators = &test_ns, .nvalidators = 1};
  ggp_kad_settings_default(&ks.kad);
  if (k) ks.kad.k = k;
  assert_int_equal(ggn_kad_new(&n->k, n->h, &ks), GG_OK);
  gg_maddr la, bound;
  assert_int_equal(gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20), GG_OK);
  assert_int_equal(ggn_host_listen(n->h, &la), GG_OK);
  assert_int_equal(ggn_host_listen_addrs(n->h, &bound, 1), 1);
  assert_int_equal(gg_maddr_push_peer(&bound, ggn_host_peer_id(n->h)), GG_OK);
  assert_true(gg_maddr_to_str(&bound, n->addr, sizeof(n->addr)) > 0);
}

static void onode_start(onode *n, uv_loop_t *loop, uint64_t seed, size_t k) {
  onode_start_proto(n, loop, seed, k, NULL);
}

static void onodes_close(uv_loop_t *loop, onode *ns, int n) {
  for (int i = 0; i < n; i++) {
    ggn_kad_close(ns[i].k, NULL, NULL);
    ggn_host_close(ns[i].h, NULL, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
}

typedef struct qres {
  int done, err;
  size_t stored, nproviders, npeers;
  uint8_t val[GGM_RELEASE_MAX];
  size_t vlen;
  gg_peerid providers[16], first_peer;
  size_t first_peer_naddrs;
} qres;

static void qdone(ggn_kad *k, const ggp_kad_result *r, void *ud) {
  (void)k;
  qres *q = ud;
  q->done++;
  q->err = r->err;
  q->stored = r->stored;
  q->vlen = r->vlen < sizeof(q->val) ? r->vlen : sizeof(q->val);
  if (r->val) memcpy(q->val, r->val, q->vlen);
  q->nproviders = r->nproviders;
  for (size_t i = 0; i < r->nproviders && i < 16; i++) q->providers[i] = r->providers[i].id;
  q->npeers = r->npeers;
  if (r->npeers) {
    q->first_peer = r->peers[0].id;
    q->first_peer_naddrs = r->peers[0].naddrs;
  }
}

static int has_provider(const qres *q, const gg_peerid *p) {
  for (size_t i = 0; i < q->nproviders && i < 16; i++)
    if (gg_peerid_eq(&q->providers[i], p)) return 1;
  return 0;
}

static void wait_q(uv_loop_t *loop, qres *q, size_t n, int secs) {
  gg_ts end = uv_hrtime() + GG_SEC(secs);
  int all;
  do {
    ht_run_once(loop);
    all = 1;
    for (size_t i = 0; i < n; i++) all &= q[i].done == 1;
  } while (!all && uv_hrtime() < end);
  for (size_t i = 0; i < n; i++) assert_int_equal(q[i].done, 1);
}

static void bootstrap(uv_loop_t *loop, onode *n, const char *addr) {
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, addr, strlen(addr)), GG_OK);
  qres q = {0};
  assert_int_equal(ggn_kad_bootstrap(n->k, &ma, 1, qdone, &q), GG_OK);
  wait_q(loop, &q, 1, 30);
  assert_int_equal(q.err, GG_OK);
}

/* Waits until js node i has peer in its routing table (js admits a peer only after identify
 * listed the kad protocol and a ping succeeded). */
static void js_wait_rt(uv_loop_t *loop, kjs *js, int i, const gg_peerid *peer) {
  char id[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(peer, id, sizeof(id));
  gg_ts end = uv_hrtime() + GG_SEC(20);
  while (uv_hrtime() < end) {
    const char *a = kjs_answer(loop, js, kjs_cmd(js, "rt %d", i), 10000);
    assert_non_null(a);
    if (strstr(a, id)) return;
    ht_run_for(loop, 50);
  }
  fail_msg("js node %d never added %s to its routing table", i, id);
}

static char *hex_of(const uint8_t *p, size_t n) {
  char *s = malloc(2 * n + 1);
  for (size_t i = 0; i < n; i++) sprintf(s + 2 * i, "%02x", p[i]);
  s[2 * n] = 0;
  return s;
}

static void cid_of(const char *content, char *out, size_t cap, uint8_t mh[GG_MH_SHA256_LEN]) {
  gg_mh_sha256((const uint8_t *)content, strlen(content), mh);
  gg_cid cid;
  assert_int_equal(gg_cid_new(&cid, 1, 0x55, mh, GG_MH_SHA256_LEN), GG_OK);
  assert_true(gg_cid_to_str(&cid, out, cap) > 0);
}

static void signed_release(const char *id, const char *version, uint64_t t, gg_buf *out) {
  ggm_release r = {0};
  r.id = id;
  r.version = version;
  r.name = "Interop demo";
  ggm_pack_cid_of((const uint8_t *)version, strlen(version), r.archive_cid);
  r.archive_size = strlen(version);
  r.publish_time = t;
  uint8_t seed[32];
  memset(seed, 0x33, sizeof(seed));
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_buf_init(out, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, &kp, out, NULL), GG_OK);
}

/* ---- pairwise: each direction, over the wire ------------------------------------------------- */

static void test_pairwise(void **state) {
  (void)state;
  if (!have_js()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  kjs js;
  if (kjs_start(&loop, &js, 2, 20, GGP_KAD_PROTOCOL) != 0) {
    uv_loop_close(&loop);
    skip();
  }
  onode a, b;
  onode_start(&a, &loop, 1, 0);
  onode_start(&b, &loop, 2, 0);
  /* A joins through js0; js0 admits A */
  bootstrap(&loop, &a, js.addr[0]);
  js_wait_rt(&loop, &js, 0, ggn_host_peer_id(a.h));

  /* put on ours (A), get on js1, which joins afterwards */
  qres q = {0};
  assert_int_equal(ggn_kad_put(a.k, (const uint8_t *)"/test/from-ours", 15,
                               (const uint8_t *)"value from ggen", 15, qdone, &q),
                   GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.err, GG_OK);
  assert_int_equal(q.stored, 1); /* js0 took it */
  const char *ans = kjs_answer(&loop, &js, kjs_cmd(&js, "dial 1 %s", a.addr), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "DIALED", 6));
  js_wait_rt(&loop, &js, 1, ggn_host_peer_id(a.h));
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "get 1 /test/from-ours"), 20000);
  assert_non_null(ans);
  assert_string_equal(ans, "GOT 76616c75652066726f6d206767656e"); /* "value from ggen" */

  /* a signed release record: js verifies its signature, then returns it */
  gg_buf pk, rec;
  gg_buf_init(&pk, NULL, 256);
  assert_int_equal(ggm_pkgrec_key("io.ggen.interop", "1.0.0", &pk), GG_OK);
  signed_release("io.ggen.interop", "1.0.0", 1767225600, &rec);
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_put(a.k, gg_buf_ptr(&pk), gg_buf_len(&pk), gg_buf_ptr(&rec),
                               gg_buf_len(&rec), qdone, &q),
                   GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.stored, 2); /* js0 and js1 validated and took it */
  char *rhex = hex_of(gg_buf_ptr(&rec), gg_buf_len(&rec));
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "get 0 /ggen-pkg/io.ggen.interop@1.0.0"), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "GOT ", 4));
  assert_string_equal(ans + 4, rhex);
  free(rhex);

  /* put on js (js0), get on ours (B, which joins afterwards through js1) */
  ans =
      kjs_answer(&loop, &js, kjs_cmd(&js, "put 0 /test/from-js 76616c75652066726f6d206a73"), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "PUT ", 4) && atoi(ans + 4) >= 2); /* A and js1 */
  gg_buf pk2, rec2;
  gg_buf_init(&pk2, NULL, 256);
  assert_int_equal(ggm_pkgrec_key("io.ggen.interop", "2.0.0", &pk2), GG_OK);
  signed_release("io.ggen.interop", "2.0.0", 1767225700, &rec2);
  rhex = hex_of(gg_buf_ptr(&rec2), gg_buf_len(&rec2));
  ans =
      kjs_answer(&loop, &js, kjs_cmd(&js, "put 1 /ggen-pkg/io.ggen.interop@2.0.0 %s", rhex), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "PUT ", 4) && atoi(ans + 4) >= 1);
  free(rhex);
  /* a tampered record: our node refuses it (resets the stream: no acknowledgement from A),
   * js0 refuses to store it (kad-dht 15 still echoes the PUT), both keep the valid one */
  gg_buf_ptr(&rec2)[gg_buf_len(&rec2) - 1] ^= 1;
  rhex = hex_of(gg_buf_ptr(&rec2), gg_buf_len(&rec2));
  ans =
      kjs_answer(&loop, &js, kjs_cmd(&js, "put 1 /ggen-pkg/io.ggen.interop@2.0.0 %s", rhex), 20000);
  free(rhex);
  gg_buf_ptr(&rec2)[gg_buf_len(&rec2) - 1] ^= 1;
  assert_non_null(ans);
  assert_true(!strncmp(ans, "PUT ", 4));
  char aid0[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(a.h), aid0, sizeof(aid0));
  if (strstr(ans, aid0)) fail_msg("ggen acknowledged a tampered record: %s", ans);
  gg_buf held;
  gg_buf_init(&held, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggp_kad_get_local(ggn_kad_core(a.k), gg_buf_ptr(&pk2), gg_buf_len(&pk2),
                                     ggn_kad_now(a.k), &held),
                   GG_OK);
  assert_int_equal(gg_buf_len(&held), gg_buf_len(&rec2));
  assert_memory_equal(gg_buf_ptr(&held), gg_buf_ptr(&rec2), gg_buf_len(&rec2));
  gg_buf_free(&held);
  rhex = hex_of(gg_buf_ptr(&rec2), gg_buf_len(&rec2));
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "get 0 /ggen-pkg/io.ggen.interop@2.0.0"), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "GOT ", 4));
  assert_string_equal(ans + 4, rhex);
  free(rhex);

  bootstrap(&loop, &b, js.addr[1]);
  assert_int_not_equal(ggp_kad_get_local(ggn_kad_core(b.k), (const uint8_t *)"/test/from-js", 13,
                                         ggn_kad_now(b.k), NULL),
                       GG_OK); /* B did not take the PUT: the get below crosses the wire */
  qres g[2];
  memset(g, 0, sizeof(g));
  assert_int_equal(ggn_kad_get(b.k, (const uint8_t *)"/test/from-js", 13, 0, qdone, &g[0]), GG_OK);
  assert_int_equal(ggn_kad_get(b.k, gg_buf_ptr(&pk2), gg_buf_len(&pk2), 0, qdone, &g[1]), GG_OK);
  wait_q(&loop, g, 2, 20);
  assert_int_equal(g[0].err, GG_OK);
  assert_int_equal(g[0].vlen, 13);
  assert_memory_equal(g[0].val, "value from js", 13);
  assert_int_equal(g[1].err, GG_OK);
  assert_int_equal(g[1].vlen, gg_buf_len(&rec2));
  assert_memory_equal(g[1].val, gg_buf_ptr(&rec2), g[1].vlen);

  /* provide on ours (A), find on js1; provide on js (js0), find on ours (B) */
  char cid1[GG_CID_STR_MAX], cid2[GG_CID_STR_MAX];
  uint8_t mh1[GG_MH_SHA256_LEN], mh2[GG_MH_SHA256_LEN];
  cid_of("provided by ggen", cid1, sizeof(cid1), mh1);
  cid_of("provided by js", cid2, sizeof(cid2), mh2);
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_provide(a.k, mh1, sizeof(mh1), qdone, &q), GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_true(q.stored >= 2);
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "findprov 1 %s", cid1), 30000);
  assert_non_null(ans);
  char want[512];
  char aid[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(a.h), aid, sizeof(aid));
  snprintf(want, sizeof(want), "%s=/ip4/127.0.0.1/tcp/", aid);
  if (!strstr(ans, want)) fail_msg("js did not find ggen's provider record: %s", ans);
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "provide 0 %s", cid2), 30000);
  assert_non_null(ans);
  assert_string_equal(ans, "PROVIDED");
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_find_providers(b.k, mh2, sizeof(mh2), 0, qdone, &q), GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.err, GG_OK);
  assert_true(has_provider(&q, &js.id[0]));

  /* find-peer both ways */
  char bid[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(b.h), bid, sizeof(bid));
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "findpeer 0 %s", bid), 30000);
  assert_non_null(ans);
  if (strncmp(ans, "PEER /ip4/127.0.0.1/tcp/", 24)) fail_msg("js find-peer: %s", ans);
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_find_peer(a.k, &js.id[1], qdone, &q), GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.err, GG_OK);
  assert_true(gg_peerid_eq(&q.first_peer, &js.id[1]));
  assert_true(q.first_peer_naddrs >= 1);

  gg_buf_free(&pk);
  gg_buf_free(&rec);
  gg_buf_free(&pk2);
  gg_buf_free(&rec2);
  kjs_stop(&loop, &js);
  onode ns[2] = {a, b};
  onodes_close(&loop, ns, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- /ipfs/kad/1.0.0 ------------------------------------------------------------------------- */

/* The public DHT's protocol id works the same way: records both ways with js on
 * /ipfs/kad/1.0.0; an ours node on /ggen/kad/1.0.0 does not see that DHT at all. */
static void test_ipfs_protocol(void **state) {
  (void)state;
  if (!have_js()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  kjs js;
  if (kjs_start(&loop, &js, 1, 20, GGP_KAD_PROTOCOL_IPFS) != 0) {
    uv_loop_close(&loop);
    skip();
  }
  onode a, other;
  onode_start_proto(&a, &loop, 7, 0, GGP_KAD_PROTOCOL_IPFS);
  onode_start(&other, &loop, 8, 0);
  assert_string_equal(ggn_kad_protocol(a.k), "/ipfs/kad/1.0.0");
  bootstrap(&loop, &a, js.addr[0]);
  js_wait_rt(&loop, &js, 0, ggn_host_peer_id(a.h));
  qres q = {0};
  assert_int_equal(ggn_kad_put(a.k, (const uint8_t *)"/test/ipfs", 10, (const uint8_t *)"via ipfs",
                               8, qdone, &q),
                   GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.stored, 1);
  const char *ans = kjs_answer(&loop, &js, kjs_cmd(&js, "get 0 /test/ipfs"), 20000);
  assert_non_null(ans);
  assert_string_equal(ans, "GOT 7669612069706673");
  ans = kjs_answer(&loop, &js, kjs_cmd(&js, "put 0 /test/ipfs-js 6a73"), 20000);
  assert_non_null(ans);
  assert_true(!strncmp(ans, "PUT 1 ", 6));
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_get(a.k, (const uint8_t *)"/test/ipfs-js", 13, 0, qdone, &q), GG_OK);
  wait_q(&loop, &q, 1, 20);
  assert_int_equal(q.err, GG_OK);
  assert_memory_equal(q.val, "js", 2);
  /* a node on /ggen/kad/1.0.0: js answers na to its protocol, the bootstrap finds nobody */
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, js.addr[0], strlen(js.addr[0])), GG_OK);
  memset(&q, 0, sizeof(q));
  assert_int_equal(ggn_kad_bootstrap(other.k, &ma, 1, qdone, &q), GG_OK);
  wait_q(&loop, &q, 1, 30);
  /* js was added as a bootstrap peer; its identify answer (no /ggen/kad/1.0.0) removes it */
  HT_RUN_UNTIL(&loop, ggn_kad_routing_size(other.k) == 0, 10000);
  assert_int_equal(ggn_kad_routing_size(other.k), 0);
  kjs_stop(&loop, &js);
  onode ns[2] = {a, other};
  onodes_close(&loop, ns, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a mixed network ------------------------------------------------------------------------- */

#define NOURS 10
#define NJS 10
#define NALL (NOURS + NJS)
#define KMIX 8

static void test_mixed_network(void **state) {
  (void)state;
  if (!have_js()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  kjs *js = calloc(1, sizeof(*js));
  if (kjs_start(&loop, js, NJS, KMIX, GGP_KAD_PROTOCOL) != 0) {
    free(js);
    uv_loop_close(&loop);
    skip();
  }
  onode *ours = calloc(NOURS, sizeof(*ours));
  for (int i = 0; i < NOURS; i++) onode_start(&ours[i], &loop, 100 + (uint64_t)i, KMIX);
  gg_ts t0 = uv_hrtime();
  /* ours join through ours[0] and js0; each js node dials ours[0] and one of ours, then looks
   * itself up; a second round on our side once everybody is there */
  for (int i = 1; i < NOURS; i++) bootstrap(&loop, &ours[i], ours[0].addr);
  bootstrap(&loop, &ours[0], js->addr[0]);
  unsigned tags[NJS];
  for (int j = 0; j < NJS; j++) tags[j] = kjs_cmd(js, "dial %d %s", j, ours[0].addr);
  for (int j = 0; j < NJS; j++) assert_non_null(kjs_answer(&loop, js, tags[j], 20000));
  for (int j = 0; j < NJS; j++)
    tags[j] = kjs_cmd(js, "dial %d %s", j, ours[1 + j % (NOURS - 1)].addr);
  for (int j = 0; j < NJS; j++) assert_non_null(kjs_answer(&loop, js, tags[j], 20000));
  for (int j = 0; j < NJS; j++) js_wait_rt(&loop, js, j, ggn_host_peer_id(ours[0].h));
  for (int j = 0; j < NJS; j++) tags[j] = kjs_cmd(js, "boot %d", j);
  for (int j = 0; j < NJS; j++) {
    const char *a = kjs_answer(&loop, js, tags[j], 30000);
    assert_non_null(a);
    assert_true(!strncmp(a, "BOOTED ", 7));
  }
  qres *q = calloc(NALL * NALL, sizeof(*q));
  for (int i = 0; i < NOURS; i++)
    assert_int_equal(ggn_kad_bootstrap(ours[i].k, NULL, 0, qdone, &q[i]), GG_OK);
  wait_q(&loop, q, NOURS, 30);
  for (int i = 0; i < NOURS; i++) assert_int_equal(q[i].err, GG_OK);
  double join_ms = (double)(uv_hrtime() - t0) / 1e6;

  /* every node puts one record */
  char key[64], val[64];
  memset(q, 0, NOURS * sizeof(*q));
  for (int i = 0; i < NOURS; i++) {
    snprintf(key, sizeof(key), "/test/mixed-%d", i);
    snprintf(val, sizeof(val), "record %d from ggen", i);
    assert_int_equal(ggn_kad_put(ours[i].k, (const uint8_t *)key, strlen(key), (const uint8_t *)val,
                                 strlen(val), qdone, &q[i]),
                     GG_OK);
  }
  for (int j = 0; j < NJS; j++) {
    snprintf(key, sizeof(key), "/test/mixed-%d", NOURS + j);
    snprintf(val, sizeof(val), "record %d from js", NOURS + j);
    char *h = hex_of((const uint8_t *)val, strlen(val));
    tags[j] = kjs_cmd(js, "put %d %s %s", j, key, h);
    free(h);
  }
  wait_q(&loop, q, NOURS, 30);
  for (int i = 0; i < NOURS; i++) assert_true(q[i].stored >= KMIX / 2);
  for (int j = 0; j < NJS; j++) {
    const char *a = kjs_answer(&loop, js, tags[j], 30000);
    assert_non_null(a);
    if (strncmp(a, "PUT ", 4) || atoi(a + 4) < KMIX / 2) fail_msg("js put %d: %s", j, a);
  }
  /* two providers of each kind */
  const int prov_ours[2] = {2, 7}, prov_js[2] = {3, 8};
  char cids[4][GG_CID_STR_MAX];
  uint8_t mhs[4][GG_MH_SHA256_LEN];
  gg_peerid prov_id[4];
  memset(q, 0, 2 * sizeof(*q));
  for (int p = 0; p < 4; p++) {
    char content[64];
    snprintf(content, sizeof(content), "mixed content %d", p);
    cid_of(content, cids[p], sizeof(cids[p]), mhs[p]);
  }
  for (int p = 0; p < 2; p++) {
    prov_id[p] = *ggn_host_peer_id(ours[prov_ours[p]].h);
    assert_int_equal(ggn_kad_provide(ours[prov_ours[p]].k, mhs[p], GG_MH_SHA256_LEN, qdone, &q[p]),
                     GG_OK);
    prov_id[2 + p] = js->id[prov_js[p]];
    tags[p] = kjs_cmd(js, "provide %d %s", prov_js[p], cids[2 + p]);
  }
  wait_q(&loop, q, 2, 30);
  for (int p = 0; p < 2; p++) {
    const char *a = kjs_answer(&loop, js, tags[p], 30000);
    assert_non_null(a);
    assert_string_equal(a, "PROVIDED");
  }

  /* every node gets every record and finds every provider */
  gg_ts tq = uv_hrtime();
  memset(q, 0, NALL * NALL * sizeof(*q));
  unsigned *jt = calloc(NJS * (NALL + 4), sizeof(*jt));
  for (int i = 0; i < NOURS; i++)
    for (int r = 0; r < NALL; r++) {
      snprintf(key, sizeof(key), "/test/mixed-%d", r);
      assert_int_equal(
          ggn_kad_get(ours[i].k, (const uint8_t *)key, strlen(key), 0, qdone, &q[i * NALL + r]),
          GG_OK);
    }
  for (int j = 0; j < NJS; j++) {
    for (int r = 0; r < NALL; r++)
      jt[j * (NALL + 4) + r] = kjs_cmd(js, "get %d /test/mixed-%d", j, r);
    for (int p = 0; p < 4; p++)
      jt[j * (NALL + 4) + NALL + p] = kjs_cmd(js, "findprov %d %s", j, cids[p]);
  }
  wait_q(&loop, q, NOURS * NALL, 60);
  int ok_ours = 0, ok_js = 0, remote = 0;
  for (int i = 0; i < NOURS; i++)
    for (int r = 0; r < NALL; r++) {
      qres *x = &q[i * NALL + r];
      snprintf(val, sizeof(val), "record %d from %s", r, r < NOURS ? "ggen" : "js");
      if (x->err == GG_OK && x->vlen == strlen(val) && !memcmp(x->val, val, x->vlen))
        ok_ours++;
      else
        fprintf(stderr, "ours %d get /test/mixed-%d: %s\n", i, r, gg_strerror(x->err));
    }
  for (int j = 0; j < NJS; j++)
    for (int r = 0; r < NALL; r++) {
      const char *a = kjs_answer(&loop, js, jt[j * (NALL + 4) + r], 60000);
      snprintf(val, sizeof(val), "record %d from %s", r, r < NOURS ? "ggen" : "js");
      char *h = hex_of((const uint8_t *)val, strlen(val));
      if (a && !strncmp(a, "GOT ", 4) && !strcmp(a + 4, h))
        ok_js++;
      else
        fprintf(stderr, "js %d get /test/mixed-%d: %s\n", j, r, a ? a : "(timeout)");
      free(h);
    }
  /* providers: ours */
  memset(q, 0, NOURS * 4 * sizeof(*q));
  for (int i = 0; i < NOURS; i++)
    for (int p = 0; p < 4; p++)
      assert_int_equal(
          ggn_kad_find_providers(ours[i].k, mhs[p], GG_MH_SHA256_LEN, 0, qdone, &q[i * 4 + p]),
          GG_OK);
  wait_q(&loop, q, NOURS * 4, 60);
  int prov_ok_ours = 0, prov_ok_js = 0;
  for (int i = 0; i < NOURS; i++)
    for (int p = 0; p < 4; p++) {
      if (has_provider(&q[i * 4 + p], &prov_id[p]))
        prov_ok_ours++;
      else
        fprintf(stderr, "ours %d: provider %d not found\n", i, p);
    }
  for (int j = 0; j < NJS; j++)
    for (int p = 0; p < 4; p++) {
      const char *a = kjs_answer(&loop, js, jt[j * (NALL + 4) + NALL + p], 60000);
      char id[GG_PEERID_TEXT_MAX], want[256];
      gg_peerid_to_b58(&prov_id[p], id, sizeof(id));
      snprintf(want, sizeof(want), "%s=/ip4/", id);
      if (a && strstr(a, want))
        prov_ok_js++;
      else
        fprintf(stderr, "js %d: provider %d not found: %s\n", j, p, a ? a : "(timeout)");
    }
  double query_ms = (double)(uv_hrtime() - tq) / 1e6;
  /* how many of our gets were answered from elsewhere (k = 8 of 20 nodes hold a record) */
  for (int i = 0; i < NOURS; i++)
    for (int r = 0; r < NALL; r++) {
      snprintf(key, sizeof(key), "/test/mixed-%d", r);
      remote += ggp_kad_get_local(ggn_kad_core(ours[i].k), (const uint8_t *)key, strlen(key),
                                  ggn_kad_now(ours[i].k), NULL) != GG_OK;
    }
  fprintf(
      stderr,
      "mixed network %d ggen + %d js: joined in %.0f ms; records %d/%d (ggen) %d/%d (js), "
      "%d of ggen's gets not held locally; providers %d/%d (ggen) %d/%d (js); queries %.0f ms\n",
      NOURS, NJS, join_ms, ok_ours, NOURS * NALL, ok_js, NJS * NALL, remote, prov_ok_ours,
      NOURS * 4, prov_ok_js, NJS * 4, query_ms);
  assert_int_equal(ok_ours, NOURS * NALL);
  assert_int_equal(ok_js, NJS * NALL);
  assert_int_equal(prov_ok_ours, NOURS * 4);
  assert_int_equal(prov_ok_js, NJS * 4);
  assert_true(remote > 0);
  free(jt);
  free(q);
  kjs_stop(&loop, js);
  free(js);
  onodes_close(&loop, ours, NOURS);
  free(ours);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as every libuv program must: a peer may close mid-write */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pairwise),
      cmocka_unit_test(test_ipfs_protocol),
      cmocka_unit_test(test_mixed_network),
  };
  if (!have_js())
    fprintf(stderr, "interop: %s/node_modules missing (run scripts/setup.sh): tests skipped\n",
            JS_DIR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
