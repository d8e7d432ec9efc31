/*
 * Discrete-event simulator for the Kademlia core (include/ggen/kadsim.h).
 *
 * Events live in a binary min-heap ordered by (time, sequence number), so equal times are
 * processed in the order they were scheduled and runs are reproducible. Cores are only
 * called from the event loop; their callbacks only schedule events, so no core is ever
 * re-entered. Each node has at most one live timer event (timer_at); stale timer events are
 * skipped when popped.
 */
#include "ggen/kadsim.h"

#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/key.h"
#include "ggen/map.h"

enum { EV_REQ, EV_REPLY, EV_FAIL, EV_TIMER, EV_CHECK };

typedef struct ev {
  gg_ts t;
  uint64_t seq;
  uint8_t type;
  uint8_t alive;     /* EV_CHECK */
  uint8_t expect;    /* EV_REQ: reply expected */
  uint32_t from, to; /* EV_REQ: from -> to; EV_REPLY/EV_FAIL/EV_CHECK/EV_TIMER: to = the node */
  uint64_t reqid;
  uint8_t *msg;
  size_t len;
} ev;

typedef struct qrec {
  uint32_t node;
  uint64_t qid;
  ggsim_kad_res res;
} qrec;

typedef struct node {
  struct ggsim_kad *sim;
  uint32_t index;
  ggp_kad *kad;
  gg_peerid id;
  uint8_t addr[8];
  int state;
  gg_ts timer_at;
} node;

struct ggsim_kad {
  ggsim_kad_settings s;
  gg_rand_seeded rng;
  node *nodes;
  size_t n;
  ev *heap;
  size_t nheap, capheap;
  uint64_t seq;
  gg_ts now;
  gg_map ids;   /* peer id -> node index + 1 */
  gg_map links; /* (a, b) pairs that talked, when setup > 0 */
  qrec *q;
  size_t nq, capq;
  uint64_t messages;
};

void ggsim_kad_settings_default(ggsim_kad_settings *s) {
  memset(s, 0, sizeof(*s));
  s->nodes = 100;
  s->seed = 1;
  s->latency = GG_MS(25);
  s->join_gap = GG_MS(10);
  ggp_kad_settings_default(&s->kad);
}

/* ---- heap ---------------------------------------------------------------------------------- */

static int ev_less(const ev *a, const ev *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static int push(ggsim_kad *sim, ev e) {
  if (sim->nheap == sim->capheap) {
    size_t nc = sim->capheap ? sim->capheap * 2 : 1024;
    ev *nh = realloc(sim->heap, nc * sizeof(ev));
    if (!nh) return GG_ENOMEM;
    sim->heap = nh;
    sim->capheap = nc;
  }
  e.seq = sim->seq++;
  size_t i = sim->nheap++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&e, &sim->heap[p])) break;
    sim->heap[i] = sim->heap[p];
    i = p;
  }
  sim->heap[i] = e;
  return GG_OK;
}

static ev pop(ggsim_kad *sim) {
  ev top = sim->heap[0];
  ev last = sim->heap[--sim->nheap];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const ev *cur = &last;
    if (l < sim->nheap && ev_less(&sim->heap[l], cur)) {
      m = l;
      cur = &sim->heap[l];
    }
    if (r < sim->nheap && ev_less(&sim->heap[r], cur)) m = r;
    if (m == i) break;
    sim->heap[i] = sim->heap[m];
    i = m;
  }
  if (sim->nheap) sim->heap[i] = last;
  return top;
}

/* ---- network model ------------------------------------------------------------------------- */

/* The links map's key for the pair (a, b), in either order. */
static void link_key(uint32_t a, uint32_t b, uint32_t key[2]) {
  key[0] = a < b ? a : b;
  key[1] = a < b ? b : a;
}

static gg_ts delay(ggsim_kad *sim, uint32_t a, uint32_t b, int count_setup) {
  gg_ts d = sim->s.latency;
  if (sim->s.jitter) d += gg_rand_below(&sim->rng.r, sim->s.jitter);
  if (sim->s.setup && count_setup) {
    uint32_t key[2];
    link_key(a, b, key);
    if (!gg_map_get(&sim->links, key, sizeof(key))) {
      gg_map_put(&sim->links, key, sizeof(key), (void *)1, NULL);
      d += sim->s.setup;
    }
  }
  return d;
}

static long index_of(const ggsim_kad *sim, const gg_peerid *id) {
  uintptr_t v = (uintptr_t)gg_map_get(&sim->ids, id->b, id->len);
  return v ? (long)v - 1 : -1;
}

static void schedule_timer(ggsim_kad *sim, uint32_t i) {
  node *nd = &sim->nodes[i];
  gg_ts t = ggp_kad_expiry(nd->kad);
  if (t == GG_TS_UNSET) return;
  if (t < sim->now) t = sim->now;
  if (t >= nd->timer_at) return;
  nd->timer_at = t;
  ev e = {.t = t, .type = EV_TIMER, .to = i};
  push(sim, e);
}

/* ---- core callbacks ---------------------------------------------------------------------------- */

static int cb_send(ggp_kad *kad, uint64_t reqid, const ggp_kad_peerinfo *peer, const uint8_t *msg,
                   size_t len, int expect_reply, void *ud) {
  (void)kad;
  node *self = ud;
  ggsim_kad *sim = self->sim;
  long to = index_of(sim, &peer->id);
  if (to < 0) return -1;
  uint32_t from = self->index;
  ev e = {.type = EV_REQ, .from = from, .to = (uint32_t)to, .reqid = reqid, .expect = (uint8_t)expect_reply};
  e.msg = malloc(len ? len : 1);
  if (!e.msg) return -1;
  memcpy(e.msg, msg, len);
  e.len = len;
  e.t = sim->now + delay(sim, from, (uint32_t)to, 1);
  if (push(sim, e)) {
    free(e.msg);
    return -1;
  }
  if (!expect_reply) { /* "written": acknowledged locally right away */
    ev ack = {.t = sim->now, .type = EV_REPLY, .to = from, .reqid = reqid};
    push(sim, ack);
  }
  return 0;
}

/* With a connection-setup cost, a pair that has talked before is "connected" (links are never
 * closed in the simulator); without one every peer costs the same. */
static int cb_connected(ggp_kad *kad, const gg_peerid *peer, void *ud) {
  (void)kad;
  node *self = ud;
  ggsim_kad *sim = self->sim;
  if (!sim->s.setup) return 1;
  long to = index_of(sim, peer);
  if (to < 0) return 0;
  uint32_t key[2];
  link_key(self->index, (uint32_t)to, key);
  return gg_map_get(&sim->links, key, sizeof(key)) != NULL;
}

static void cb_done(ggp_kad *kad, uint64_t qid, const ggp_kad_result *r, void *ud) {
  (void)kad;
  node *self = ud;
  ggsim_kad *sim = self->sim;
  if (sim->nq == sim->capq) {
    size_t nc = sim->capq ? sim->capq * 2 : 64;
    qrec *nq = realloc(sim->q, nc * sizeof(*nq));
    if (!nq) return;
    sim->q = nq;
    sim->capq = nc;
  }
  qrec *q = &sim->q[sim->nq++];
  memset(q, 0, sizeof(*q));
  q->node = self->index;
  q->qid = qid;
  ggsim_kad_res *res = &q->res;
  res->done = 1;
  res->err = r->err;
  res->type = r->type;
  res->duration = r->duration;
  res->rounds = r->rounds;
  res->requests = r->requests;
  res->replies = r->replies;
  res->failures = r->failures;
  res->npeers = r->npeers;
  res->nproviders = r->nproviders;
  res->stored = r->stored;
  if (r->npeers) res->first_peer = r->peers[0].id;
  if (r->val) {
    res->val = malloc(r->vlen ? r->vlen : 1);
    if (res->val) memcpy(res->val, r->val, r->vlen);
    res->vlen = r->vlen;
  }
  if (r->nproviders) {
    res->providers = malloc(r->nproviders * sizeof(gg_peerid));
    for (size_t i = 0; res->providers && i < r->nproviders; i++) res->providers[i] = r->providers[i].id;
  }
}

static void cb_check(ggp_kad *kad, const ggp_kad_peerinfo *peer, void *ud) {
  (void)kad;
  node *self = ud;
  ggsim_kad *sim = self->sim;
  long to = index_of(sim, &peer->id);
  int st = to >= 0 ? sim->nodes[to].state : GGSIM_OFFLINE;
  if (st == GGSIM_UNRESPONSIVE) return; /* the core's deadline decides */
  ev e = {.type = EV_CHECK, .to = self->index, .alive = st == GGSIM_ONLINE};
  e.msg = malloc(sizeof(gg_peerid));
  if (!e.msg) return;
  memcpy(e.msg, &peer->id, sizeof(gg_peerid));
  e.t = sim->now + 2 * sim->s.latency;
  push(sim, e);
}

/* ---- construction ------------------------------------------------------------------------------ */

int ggsim_kad_new(ggsim_kad **out, const ggsim_kad_settings *s) {
  if (!s->nodes || s->nodes > (1u << 24)) return GG_EINVAL;
  ggsim_kad *sim = calloc(1, sizeof(*sim));
  if (!sim) return GG_ENOMEM;
  sim->s = *s;
  if (!sim->s.kad.k) ggp_kad_settings_default(&sim->s.kad);
  gg_rand_seeded_init(&sim->rng, s->seed);
  sim->nodes = calloc(s->nodes, sizeof(node));
  if (!sim->nodes) {
    free(sim);
    return GG_ENOMEM;
  }
  gg_map_init(&sim->ids, NULL, &sim->rng.r);
  gg_map_init(&sim->links, NULL, &sim->rng.r);
  sim->now = GG_SEC(1700000000); /* virtual time starts at a plausible epoch */
  ggp_kad_callbacks cb = {0};
  cb.send_request = cb_send;
  cb.query_done = cb_done;
  cb.check_peer = cb_check;
  cb.peer_connected = cb_connected;
  for (size_t i = 0; i < s->nodes; i++) {
    node *nd = &sim->nodes[i];
    gg_keypair kp;
    gg_keypair_generate(&kp, &sim->rng.r);
    gg_peerid_from_ed25519(&nd->id, kp.pub);
    /* binary multiaddr /ip4/10.a.b.c/tcp/4001: 04 <4 bytes> 06 <port 0x0fa1> */
    const uint8_t a[8] = {0x04, 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0x06, 0x0f, 0xa1};
    memcpy(nd->addr, a, sizeof(a));
    nd->state = GGSIM_OFFLINE;
    nd->timer_at = GG_TS_UNSET;
    sim->n = i + 1;
    nd->sim = sim;
    nd->index = (uint32_t)i;
    int rv = ggp_kad_new(&nd->kad, &cb, &sim->s.kad, &nd->id, &sim->rng.r, NULL, nd);
    if (rv == GG_OK) {
      gg_slice self = {nd->addr, 8};
      rv = ggp_kad_set_self_addrs(nd->kad, &self, 1);
    }
    if (rv == GG_OK) rv = gg_map_put(&sim->ids, nd->id.b, nd->id.len, (void *)(uintptr_t)(i + 1), NULL);
    if (rv != GG_OK) {
      ggsim_kad_del(sim);
      return rv;
    }
  }
  *out = sim;
  return GG_OK;
}

void ggsim_kad_del(ggsim_kad *sim) {
  if (!sim) return;
  for (size_t i = 0; i < sim->n; i++) ggp_kad_del(sim->nodes[i].kad);
  for (size_t i = 0; i < sim->nheap; i++) free(sim->heap[i].msg);
  for (size_t i = 0; i < sim->nq; i++) {
    free(sim->q[i].res.val);
    free(sim->q[i].res.providers);
  }
  free(sim->q);
  free(sim->heap);
  free(sim->nodes);
  gg_map_free(&sim->ids);
  gg_map_free(&sim->links);
  free(sim);
}

size_t ggsim_kad_count(const ggsim_kad *sim) { return sim->n; }
ggp_kad *ggsim_kad_node(ggsim_kad *sim, size_t i) { return sim->nodes[i].kad; }
const gg_peerid *ggsim_kad_id(const ggsim_kad *sim, size_t i) { return &sim->nodes[i].id; }
gg_ts ggsim_kad_now(const ggsim_kad *sim) { return sim->now; }
uint64_t ggsim_kad_messages(const ggsim_kad *sim) { return sim->messages; }
void ggsim_kad_set_state(ggsim_kad *sim, size_t i, int state) { sim->nodes[i].state = state; }
int ggsim_kad_state(const ggsim_kad *sim, size_t i) { return sim->nodes[i].state; }

/* ---- the event loop ------------------------------------------------------------------------------ */

static void process(ggsim_kad *sim, ev *e) {
  node *to = &sim->nodes[e->to];
  switch (e->type) {
  case EV_REQ: {
    sim->messages++;
    node *from = &sim->nodes[e->from];
    if (to->state == GGSIM_UNRESPONSIVE) break;
    if (to->state == GGSIM_OFFLINE) { /* connection refused, one delay later */
      ev f = {.t = sim->now + delay(sim, e->to, e->from, 0), .type = EV_FAIL, .to = e->from, .reqid = e->reqid};
      push(sim, f);
      break;
    }
    ggp_kad_peerinfo pi = {from->id, NULL, 0};
    gg_slice a = {from->addr, 8};
    pi.addrs = &a;
    pi.naddrs = 1;
    ggp_kad_peer_seen(to->kad, &pi, sim->now); /* identify told us it is a kad server */
    gg_buf reply;
    gg_buf_init(&reply, NULL, 1 << 20);
    int rv = ggp_kad_handle_request(to->kad, &from->id, e->msg, e->len, sim->now, &reply);
    schedule_timer(sim, e->to);
    if (!e->expect) {
      gg_buf_free(&reply);
      break;
    }
    ev r = {.t = sim->now + delay(sim, e->to, e->from, 0), .to = e->from, .reqid = e->reqid};
    if (rv == GG_OK) {
      r.type = EV_REPLY;
      size_t n;
      r.msg = gg_buf_detach(&reply, &n);
      r.len = n;
    } else {
      r.type = EV_FAIL;
    }
    gg_buf_free(&reply);
    push(sim, r);
    break;
  }
  case EV_REPLY:
    if (e->msg) sim->messages++;
    if (to->state != GGSIM_ONLINE) break;
    ggp_kad_on_reply(to->kad, e->reqid, e->msg, e->msg ? e->len : 0, sim->now);
    schedule_timer(sim, e->to);
    break;
  case EV_FAIL:
    if (to->state != GGSIM_ONLINE) break;
    ggp_kad_on_fail(to->kad, e->reqid, GG_ECLOSED, sim->now);
    schedule_timer(sim, e->to);
    break;
  case EV_CHECK:
    if (to->state != GGSIM_ONLINE) break;
    ggp_kad_check_result(to->kad, (const gg_peerid *)e->msg, e->alive, sim->now);
    schedule_timer(sim, e->to);
    break;
  case EV_TIMER:
    if (e->t != to->timer_at) break; /* superseded */
    to->timer_at = GG_TS_UNSET;
    if (to->state == GGSIM_OFFLINE) break;
    ggp_kad_handle_expiry(to->kad, sim->now);
    schedule_timer(sim, e->to);
    break;
  }
}

void ggsim_kad_run_until(ggsim_kad *sim, gg_ts t) {
  while (sim->nheap && sim->heap[0].t <= t) {
    ev e = pop(sim);
    if (e.t > sim->now) sim->now = e.t;
    process(sim, &e);
    free(e.msg);
  }
  if (t > sim->now && t != GG_TS_UNSET) sim->now = t;
}

static const ggsim_kad_res *find_res(ggsim_kad *sim, size_t i, uint64_t qid) {
  for (size_t k = sim->nq; k-- > 0;)
    if (sim->q[k].node == i && sim->q[k].qid == qid) return &sim->q[k].res;
  return NULL;
}

const ggsim_kad_res *ggsim_kad_wait(ggsim_kad *sim, size_t i, uint64_t qid, gg_ts deadline) {
  const ggsim_kad_res *r;
  schedule_timer(sim, (uint32_t)i); /* the query was started from outside the event loop */
  while (!(r = find_res(sim, i, qid))) {
    if (!sim->nheap || sim->heap[0].t > deadline) return NULL;
    ev e = pop(sim);
    if (e.t > sim->now) sim->now = e.t;
    process(sim, &e);
    free(e.msg);
  }
  return r;
}

int ggsim_kad_join(ggsim_kad *sim, size_t i, uint64_t *qid) {
  node *nd = &sim->nodes[i];
  nd->state = GGSIM_ONLINE;
  /* learn one random online node (the bootstrap peer) */
  for (int tries = 0; tries < 1000; tries++) {
    size_t j = (size_t)gg_rand_below(&sim->rng.r, sim->n);
    if (j == i || sim->nodes[j].state != GGSIM_ONLINE) continue;
    gg_slice a = {sim->nodes[j].addr, 8};
    ggp_kad_peerinfo pi = {sim->nodes[j].id, &a, 1};
    ggp_kad_peer_seen(nd->kad, &pi, sim->now);
    break;
  }
  int rv = ggp_kad_bootstrap(nd->kad, sim->now, qid);
  schedule_timer(sim, (uint32_t)i);
  return rv;
}

int ggsim_kad_build(ggsim_kad *sim) {
  sim->nodes[0].state = GGSIM_ONLINE;
  uint64_t *qids = calloc(sim->n, sizeof(*qids));
  if (!qids) return GG_ENOMEM;
  for (size_t i = 1; i < sim->n; i++) {
    ggsim_kad_run_until(sim, sim->now + sim->s.join_gap);
    /* new nodes bootstrap from node 0, as a network with one well-known bootstrap node */
    node *nd = &sim->nodes[i];
    nd->state = GGSIM_ONLINE;
    gg_slice a = {sim->nodes[0].addr, 8};
    ggp_kad_peerinfo pi = {sim->nodes[0].id, &a, 1};
    ggp_kad_peer_seen(nd->kad, &pi, sim->now);
    ggp_kad_bootstrap(nd->kad, sim->now, &qids[i]);
    schedule_timer(sim, (uint32_t)i);
  }
  for (size_t i = 1; i < sim->n; i++) ggsim_kad_wait(sim, i, qids[i], GG_TS_UNSET);
  free(qids);
  if (sim->s.settle) ggsim_kad_run_until(sim, sim->now + sim->s.settle);
  return GG_OK;
}
