/*
 * Discrete-event simulator for the Gossipsub core (include/ggen/gossipsim.h).
 *
 * Events live in a binary min-heap ordered by (time, sequence number), so equal times are
 * processed in scheduling order and runs are reproducible. Routers are only called from the event
 * loop (or the sim's public functions); their callbacks only schedule events or record
 * measurements, so no router is re-entered. Each node has at most one live timer event
 * (timer_at); stale timer events are skipped when popped.
 *
 * Per directed link the arrival times never decrease (last[]), modelling an ordered stream even
 * with jitter. Measurements: the first 8 bytes of every message the sim publishes hold its index,
 * so deliveries and received copies can be attributed by looking into the RPCs.
 */
#include "ggen/gossipsim.h"

#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/map.h"
#include "ggen/varint.h"

enum { EV_RPC, EV_TIMER };

typedef struct ev {
  gg_ts t;
  uint64_t seq;
  uint8_t type;
  uint32_t from, to;
  uint8_t *buf;
  size_t len;
} ev;

typedef struct link {
  uint32_t peer;
  gg_ts last; /* latest arrival scheduled on the link towards peer */
} link;

typedef struct node {
  struct ggsim_gossip *sim;
  uint32_t index;
  ggp_gossip *g;
  gg_keypair kp;
  gg_peerid id;
  gg_rand_seeded rng;
  int raw;
  gg_ts timer_at;
  link *links;
  size_t nlinks, caplinks;
} node;

typedef struct msgrec {
  gg_ts published;
  uint32_t publisher;
  gg_ts *delivered; /* per node, GG_TS_UNSET when not (yet) */
  uint16_t *copies; /* per node: copies received */
} msgrec;

struct ggsim_gossip {
  ggsim_gossip_settings s;
  gg_rand_seeded rng;
  node *nodes;
  size_t n;
  ev *heap;
  size_t nheap, capheap;
  uint64_t seq;
  gg_ts now;
  gg_map ids; /* peer id -> index + 1 */
  msgrec *msgs;
  size_t nmsgs, capmsgs;
  uint64_t rpcs, bytes;
  int (*filter)(void *, size_t, size_t, const uint8_t *, size_t);
  void *filter_arg;
  void (*raw_hook)(void *, size_t, size_t, const uint8_t *, size_t);
  void *raw_arg;
};

void ggsim_gossip_settings_default(ggsim_gossip_settings *s) {
  memset(s, 0, sizeof(*s));
  s->nodes = 100;
  s->seed = 1;
  s->latency = GG_MS(25);
  s->dial = 10;
  s->version = GGP_GOSSIP_V12;
  s->topic = GGP_GOSSIP_TOPIC_PACKAGES;
  ggp_gossip_settings_default(&s->gossip);
}

/* ---- heap ---------------------------------------------------------------------------------- */

static int ev_less(const ev *a, const ev *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int push(ggsim_gossip *sim, ev e) {
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

static ev pop(ggsim_gossip *sim) {
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

/* ---- network ----------------------------------------------------------------------------- */

static link *link_get(node *a, uint32_t b) {
  for (size_t i = 0; i < a->nlinks; i++)
    if (a->links[i].peer == b) return &a->links[i];
  return NULL;
}

long ggsim_gossip_index(const ggsim_gossip *sim, const gg_peerid *id) {
  uintptr_t v = (uintptr_t)gg_map_get(&sim->ids, id->b, id->len);
  return v ? (long)v - 1 : -1;
}

static void schedule_timer(ggsim_gossip *sim, uint32_t i) {
  node *nd = &sim->nodes[i];
  if (nd->raw) return;
  gg_ts t = ggp_gossip_expiry(nd->g);
  if (t == GG_TS_UNSET) return;
  if (t < sim->now) t = sim->now;
  if (t >= nd->timer_at) return;
  nd->timer_at = t;
  ev e = {.t = t, .type = EV_TIMER, .to = i};
  push(sim, e);
}

static int send(ggsim_gossip *sim, uint32_t from, uint32_t to, const uint8_t *rpc, size_t len) {
  link *l = link_get(&sim->nodes[from], to);
  if (!l) return GG_ENOTFOUND;
  sim->rpcs++;
  sim->bytes += len + gg_varint_len(len);
  if (sim->filter && !sim->filter(sim->filter_arg, from, to, rpc, len)) return GG_OK;
  gg_ts d = sim->s.latency;
  if (sim->s.jitter) d += gg_rand_below(&sim->rng.r, sim->s.jitter);
  gg_ts at = sim->now + d;
  if (at < l->last) at = l->last;
  l->last = at;
  ev e = {.t = at, .type = EV_RPC, .from = from, .to = to, .len = len};
  e.buf = malloc(len ? len : 1);
  if (!e.buf) return GG_ENOMEM;
  memcpy(e.buf, rpc, len);
  if (push(sim, e)) {
    free(e.buf);
    return GG_ENOMEM;
  }
  return GG_OK;
}

/* Counts the copies of sim-published messages in an RPC received by node `to`. */
static void count_copies(ggsim_gossip *sim, uint32_t to, const uint8_t *p, size_t len) {
  const uint8_t *end = p + len;
  while (p < end) {
    uint64_t key, l = 0;
    int n = gg_varint_decode_u64(p, (size_t)(end - p), &key);
    if (n <= 0) return;
    p += n;
    if ((key & 7) == 0) {
      n = gg_varint_decode_u64(p, (size_t)(end - p), &l);
      if (n <= 0) return;
      p += n;
      continue;
    }
    if ((key & 7) != 2) return;
    n = gg_varint_decode_u64(p, (size_t)(end - p), &l);
    if (n <= 0 || l > (uint64_t)(end - p - n)) return;
    p += n;
    if ((key >> 3) == 2) { /* a Message: find its data field */
      const uint8_t *q = p, *qe = p + l;
      while (q < qe) {
        uint64_t k2, l2 = 0;
        n = gg_varint_decode_u64(q, (size_t)(qe - q), &k2);
        if (n <= 0) break;
        q += n;
        if ((k2 & 7) != 2) break;
        n = gg_varint_decode_u64(q, (size_t)(qe - q), &l2);
        if (n <= 0 || l2 > (uint64_t)(qe - q - n)) break;
        q += n;
        if ((k2 >> 3) == 2 && l2 >= 8) {
          uint64_t idx = 0;
          for (int i = 0; i < 8; i++) idx = (idx << 8) | q[i];
          if (idx < sim->nmsgs && sim->msgs[idx].copies[to] < UINT16_MAX)
            sim->msgs[idx].copies[to]++;
        }
        q += l2;
      }
    }
    p += l;
  }
}

/* ---- router callbacks ------------------------------------------------------------------- */

static int cb_send(ggp_gossip *g, const gg_peerid *peer, const uint8_t *rpc, size_t len, void *ud) {
  (void)g;
  node *self = ud;
  long to = ggsim_gossip_index(self->sim, peer);
  if (to < 0) return -1;
  return send(self->sim, self->index, (uint32_t)to, rpc, len) == GG_OK ? 0 : -1;
}

static void cb_deliver(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g;
  node *self = ud;
  ggsim_gossip *sim = self->sim;
  if (m->len < 8) return;
  uint64_t idx = 0;
  for (int i = 0; i < 8; i++) idx = (idx << 8) | m->data[i];
  if (idx >= sim->nmsgs) return;
  gg_ts *d = &sim->msgs[idx].delivered[self->index];
  if (*d == GG_TS_UNSET) *d = sim->now;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int ggsim_gossip_new(ggsim_gossip **out, const ggsim_gossip_settings *s) {
  if (!out || !s || !s->nodes || s->nodes > 1000000) return GG_EINVAL;
  ggsim_gossip *sim = calloc(1, sizeof(*sim));
  if (!sim) return GG_ENOMEM;
  sim->s = *s;
  if (!sim->s.topic) sim->s.topic = GGP_GOSSIP_TOPIC_PACKAGES;
  if (!sim->s.version) sim->s.version = GGP_GOSSIP_V12;
  if (!sim->s.gossip.d) ggp_gossip_settings_default(&sim->s.gossip);
  gg_rand_seeded_init(&sim->rng, s->seed);
  gg_map_init(&sim->ids, NULL, &sim->rng.r);
  sim->nodes = calloc(s->nodes, sizeof(node));
  if (!sim->nodes) {
    free(sim);
    return GG_ENOMEM;
  }
  sim->n = s->nodes;
  ggp_gossip_callbacks cb = {.send_rpc = cb_send, .deliver = cb_deliver};
  for (size_t i = 0; i < sim->n; i++) {
    node *nd = &sim->nodes[i];
    nd->sim = sim;
    nd->index = (uint32_t)i;
    nd->timer_at = GG_TS_UNSET;
    uint8_t seed[32] = {0};
    uint64_t x = s->seed * 0x9e3779b97f4a7c15ull + i;
    for (int k = 0; k < 8; k++) seed[k] = (uint8_t)(x >> (8 * k));
    seed[31] = 0x9a;
    gg_keypair_from_seed(&nd->kp, seed);
    gg_peerid_from_ed25519(&nd->id, nd->kp.pub);
    gg_rand_seeded_init(&nd->rng, x ^ 0x5bd1e995ull);
    int rc = ggp_gossip_new(&nd->g, &cb, &sim->s.gossip, &nd->kp, &nd->rng.r, NULL, nd);
    if (rc == GG_OK &&
        gg_map_put(&sim->ids, nd->id.b, nd->id.len, (void *)(uintptr_t)(i + 1), NULL) != GG_OK)
      rc = GG_ENOMEM;
    if (rc) {
      ggsim_gossip_del(sim);
      return rc;
    }
    ggp_gossip_handle_expiry(nd->g, 0); /* starts the heartbeat schedule at time 0 */
    schedule_timer(sim, (uint32_t)i);
  }
  *out = sim;
  return GG_OK;
}

void ggsim_gossip_del(ggsim_gossip *sim) {
  if (!sim) return;
  for (size_t i = 0; i < sim->nheap; i++) free(sim->heap[i].buf);
  free(sim->heap);
  for (size_t i = 0; i < sim->n; i++) {
    ggp_gossip_del(sim->nodes[i].g);
    free(sim->nodes[i].links);
  }
  free(sim->nodes);
  ggsim_gossip_reset(sim);
  free(sim->msgs);
  gg_map_free(&sim->ids);
  free(sim);
}

size_t ggsim_gossip_count(const ggsim_gossip *sim) { return sim->n; }
ggp_gossip *ggsim_gossip_node(ggsim_gossip *sim, size_t i) { return sim->nodes[i].g; }
const gg_peerid *ggsim_gossip_id(const ggsim_gossip *sim, size_t i) { return &sim->nodes[i].id; }
const gg_keypair *ggsim_gossip_key(const ggsim_gossip *sim, size_t i) { return &sim->nodes[i].kp; }
gg_ts ggsim_gossip_now(const ggsim_gossip *sim) { return sim->now; }

void ggsim_gossip_set_raw(ggsim_gossip *sim, size_t i, int raw) { sim->nodes[i].raw = raw; }

void ggsim_gossip_set_raw_hook(ggsim_gossip *sim,
                               void (*fn)(void *, size_t, size_t, const uint8_t *, size_t),
                               void *arg) {
  sim->raw_hook = fn;
  sim->raw_arg = arg;
}

void ggsim_gossip_set_filter(ggsim_gossip *sim,
                             int (*fn)(void *, size_t, size_t, const uint8_t *, size_t),
                             void *arg) {
  sim->filter = fn;
  sim->filter_arg = arg;
}

static int add_link(node *a, uint32_t b) {
  if (a->nlinks == a->caplinks) {
    size_t nc = a->caplinks ? a->caplinks * 2 : 16;
    link *nl = realloc(a->links, nc * sizeof(link));
    if (!nl) return GG_ENOMEM;
    a->links = nl;
    a->caplinks = nc;
  }
  a->links[a->nlinks++] = (link){b, 0};
  return GG_OK;
}

static void ip_of(size_t i, uint8_t ip[4]) {
  ip[0] = 10;
  ip[1] = (uint8_t)(i >> 16);
  ip[2] = (uint8_t)(i >> 8);
  ip[3] = (uint8_t)i;
}

int ggsim_gossip_connect(ggsim_gossip *sim, size_t a, size_t b) {
  if (a == b || a >= sim->n || b >= sim->n) return GG_EINVAL;
  node *na = &sim->nodes[a], *nb = &sim->nodes[b];
  if (link_get(na, (uint32_t)b)) return GG_EEXIST;
  if (add_link(na, (uint32_t)b) || add_link(nb, (uint32_t)a)) return GG_ENOMEM;
  uint8_t ip[4];
  int rc = ggp_gossip_add_peer(na->g, &nb->id, sim->s.version, GGP_GOSSIP_OUTBOUND, sim->now);
  ip_of(b, ip);
  if (!rc) ggp_gossip_set_peer_ip(na->g, &nb->id, ip, 4);
  if (!rc) rc = ggp_gossip_add_peer(nb->g, &na->id, sim->s.version, 0, sim->now);
  ip_of(a, ip);
  if (!rc) ggp_gossip_set_peer_ip(nb->g, &na->id, ip, 4);
  schedule_timer(sim, (uint32_t)a);
  schedule_timer(sim, (uint32_t)b);
  return rc;
}

static void del_link(node *a, uint32_t b) {
  for (size_t i = 0; i < a->nlinks; i++) {
    if (a->links[i].peer == b) {
      a->links[i] = a->links[--a->nlinks];
      return;
    }
  }
}

void ggsim_gossip_disconnect(ggsim_gossip *sim, size_t a, size_t b) {
  node *na = &sim->nodes[a], *nb = &sim->nodes[b];
  if (!link_get(na, (uint32_t)b)) return;
  del_link(na, (uint32_t)b);
  del_link(nb, (uint32_t)a);
  ggp_gossip_remove_peer(na->g, &nb->id, sim->now);
  ggp_gossip_remove_peer(nb->g, &na->id, sim->now);
}

int ggsim_gossip_build(ggsim_gossip *sim, gg_ts warmup) {
  size_t dial = sim->s.dial < sim->n - 1 ? sim->s.dial : sim->n - 1;
  for (size_t i = 0; i < sim->n; i++) {
    size_t made = 0, tries = 0;
    while (made < dial && tries++ < 20 * dial + 20) {
      size_t j = (size_t)gg_rand_below(&sim->rng.r, sim->n);
      int rc = ggsim_gossip_connect(sim, i, j);
      if (rc == GG_OK)
        made++;
      else if (rc == GG_ENOMEM)
        return rc;
    }
  }
  for (size_t i = 0; i < sim->n; i++) {
    if (sim->nodes[i].raw) continue;
    int rc = ggp_gossip_subscribe(sim->nodes[i].g, sim->s.topic, sim->now);
    if (rc) return rc;
    schedule_timer(sim, (uint32_t)i);
  }
  ggsim_gossip_run_until(sim, sim->now + warmup);
  return GG_OK;
}

/* ---- event loop ----------------------------------------------------------------------------- */

void ggsim_gossip_run_until(ggsim_gossip *sim, gg_ts t) {
  while (sim->nheap && sim->heap[0].t <= t) {
    ev e = pop(sim);
    sim->now = e.t;
    node *nd = &sim->nodes[e.to];
    if (e.type == EV_TIMER) {
      if (e.t != nd->timer_at) continue; /* stale */
      nd->timer_at = GG_TS_UNSET;
      if (!nd->raw) ggp_gossip_handle_expiry(nd->g, sim->now);
    } else {
      if (link_get(nd, e.from)) { /* else the connection closed in flight */
        count_copies(sim, e.to, e.buf, e.len);
        if (nd->raw) {
          if (sim->raw_hook) sim->raw_hook(sim->raw_arg, e.from, e.to, e.buf, e.len);
        } else {
          ggp_gossip_recv_rpc(nd->g, &sim->nodes[e.from].id, e.buf, e.len, sim->now);
        }
      }
      free(e.buf);
    }
    schedule_timer(sim, e.to);
  }
  if (t > sim->now) sim->now = t;
}

int ggsim_gossip_inject(ggsim_gossip *sim, size_t from, size_t to, const uint8_t *rpc, size_t len) {
  if (from >= sim->n || to >= sim->n) return GG_EINVAL;
  return send(sim, (uint32_t)from, (uint32_t)to, rpc, len);
}

/* ---- publishing and measurements --------------------------------------------------------- */

int ggsim_gossip_publish(ggsim_gossip *sim, size_t i, size_t size, size_t *index) {
  if (i >= sim->n || size < 8) return GG_EINVAL;
  if (sim->nmsgs == sim->capmsgs) {
    size_t nc = sim->capmsgs ? sim->capmsgs * 2 : 64;
    msgrec *nm = realloc(sim->msgs, nc * sizeof(msgrec));
    if (!nm) return GG_ENOMEM;
    sim->msgs = nm;
    sim->capmsgs = nc;
  }
  msgrec *m = &sim->msgs[sim->nmsgs];
  m->delivered = malloc(sim->n * sizeof(gg_ts));
  m->copies = calloc(sim->n, sizeof(uint16_t));
  uint8_t *data = malloc(size);
  if (!m->delivered || !m->copies || !data) {
    free(m->delivered);
    free(m->copies);
    free(data);
    return GG_ENOMEM;
  }
  for (size_t k = 0; k < sim->n; k++) m->delivered[k] = GG_TS_UNSET;
  m->published = sim->now;
  m->publisher = (uint32_t)i;
  uint64_t idx = sim->nmsgs++;
  for (int k = 0; k < 8; k++) data[k] = (uint8_t)(idx >> (56 - 8 * k));
  for (size_t k = 8; k < size; k++) data[k] = (uint8_t)(k * 31 + idx);
  int rc =
      ggp_gossip_publish(sim->nodes[i].g, sim->s.topic, data, size, sim->now, NULL, NULL, NULL);
  free(data);
  schedule_timer(sim, (uint32_t)i);
  if (rc) return rc;
  if (index) *index = (size_t)idx;
  return GG_OK;
}

void ggsim_gossip_reset(ggsim_gossip *sim) {
  for (size_t i = 0; i < sim->nmsgs; i++) {
    free(sim->msgs[i].delivered);
    free(sim->msgs[i].copies);
  }
  sim->nmsgs = 0;
  sim->rpcs = sim->bytes = 0;
}

int ggsim_gossip_delivered(const ggsim_gossip *sim, size_t index, size_t i) {
  return index < sim->nmsgs && sim->msgs[index].delivered[i] != GG_TS_UNSET;
}

static int cmp_ts(const void *a, const void *b) {
  gg_ts x = *(const gg_ts *)a, y = *(const gg_ts *)b;
  return x < y ? -1 : x > y;
}

void ggsim_gossip_report_get(ggsim_gossip *sim, ggsim_gossip_report *r) {
  memset(r, 0, sizeof(*r));
  size_t subs = 0;
  for (size_t i = 0; i < sim->n; i++)
    subs += !sim->nodes[i].raw && ggp_gossip_subscribed(sim->nodes[i].g, sim->s.topic);
  r->messages = sim->nmsgs;
  r->subscribers = subs;
  r->rpcs = sim->rpcs;
  r->bytes = sim->bytes;
  if (!sim->nmsgs) return;
  gg_ts *d = malloc(sim->nmsgs * sim->n * sizeof(gg_ts) + 1);
  if (!d) return;
  size_t nd = 0, expected = 0;
  uint64_t dups = 0, dupn = 0;
  for (size_t k = 0; k < sim->nmsgs; k++) {
    const msgrec *m = &sim->msgs[k];
    for (size_t i = 0; i < sim->n; i++) {
      if (sim->nodes[i].raw || !ggp_gossip_subscribed(sim->nodes[i].g, sim->s.topic)) continue;
      if (i == m->publisher) continue;
      expected++;
      if (m->delivered[i] != GG_TS_UNSET) d[nd++] = m->delivered[i] - m->published;
      unsigned extra = m->copies[i] > 1 ? m->copies[i] - 1u : 0;
      dups += extra;
      dupn++;
      if (extra > r->dup_max) r->dup_max = extra;
    }
  }
  r->delivery = expected ? (double)nd / (double)expected : 0;
  r->dup_avg = dupn ? (double)dups / (double)dupn : 0;
  r->bytes_per_node_msg = (double)sim->bytes / ((double)sim->n * (double)sim->nmsgs);
  if (nd) {
    qsort(d, nd, sizeof(gg_ts), cmp_ts);
    size_t i50 = (nd * 50 + 99) / 100, i99 = (nd * 99 + 99) / 100;
    r->p50 = d[i50 ? i50 - 1 : 0];
    r->p99 = d[i99 ? i99 - 1 : 0];
    r->max = d[nd - 1];
  }
  free(d);
}
