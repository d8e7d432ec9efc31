/*
 * Kademlia DHT core (include/ggen/kad.h; libp2p/specs kad-dht/README.md).
 *
 * Parts, in file order:
 *   - small helpers: address sets, RFC 3339 time, protobuf encoding of messages;
 *   - the routing table: 256 buckets indexed by the common prefix length (cpl) of
 *     sha256(peer id) with sha256(self); each holds up to k entries ordered least recently
 *     seen first, plus a replacement cache; full buckets probe their oldest entry before a
 *     newcomer may replace it (Kademlia's liveness rule);
 *   - the stores: records (key -> value, received time, who stored it) and provider sets,
 *     each with caps; the persistence layer mirrors them through callbacks;
 *   - request bookkeeping: every request has an id, a deadline and an owner (a query, a
 *     liveness probe, or nothing for fire-and-forget corrections);
 *   - queries: the spec's iterative lookup (alpha in flight, ends when the k closest
 *     non-failed candidates have all answered) followed, for PUT_VALUE and PROVIDE, by a
 *     store phase at those k peers;
 *   - the inbound request handler;
 *   - timers: request and query deadlines, bucket refresh, republish/reprovide, expiry.
 *
 * Invariants: a query is in kad->queries until it is finished; finished queries wait in the
 * done list until deliver_done() reports them, which happens only at the end of a public
 * entry point (so query_done may start new queries). Candidate arrays stay sorted by XOR
 * distance to the target.
 */
#include "ggen/kad.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ggen/err.h"
#include "ggen/map.h"
#include "ggen/multihash.h"
#include "ggen/pb.h"
#include "ggen/varint.h"
#include "kad.pb-c.h"

#define MAX_VALIDATORS 16
#define MAX_ADDR_LEN 256          /* one binary multiaddr */
#define MAX_CLOSER_ACCEPTED 64    /* closerPeers read from one reply */
#define MAX_KEY_LEN 1024
#define REFRESH_MAX_CPL 15        /* deeper buckets are covered by the self-lookup (as go) */
#define MAINT_INTERVAL GG_SEC(60) /* record/provider expiry, republish checks */
#define RATE_MAP_MAX 4096

enum { C_FRESH, C_INFLIGHT, C_OK, C_FAILED };
enum { R_LOOKUP, R_STORE, R_CHECK, R_ORPHAN };

/* ---- address sets ------------------------------------------------------------------------ */

/* One allocation: the header, n slices, then the bytes they point at. */
typedef struct addrs {
  size_t n;
  gg_slice v[];
} addrs;

static addrs *addrs_dup(const gg_mem *mem, const gg_slice *in, size_t n, size_t max) {
  size_t keep = 0, bytes = 0;
  for (size_t i = 0; i < n && keep < max; i++) {
    if (in[i].len == 0 || in[i].len > MAX_ADDR_LEN) continue;
    keep++;
    bytes += in[i].len;
  }
  addrs *a = gg_malloc(mem, sizeof(addrs) + keep * sizeof(gg_slice) + bytes);
  if (!a) return NULL;
  uint8_t *p = (uint8_t *)(a->v + keep);
  a->n = 0;
  for (size_t i = 0; i < n && a->n < keep; i++) {
    if (in[i].len == 0 || in[i].len > MAX_ADDR_LEN) continue;
    memcpy(p, in[i].p, in[i].len);
    a->v[a->n].p = p;
    a->v[a->n].len = in[i].len;
    a->n++;
    p += in[i].len;
  }
  return a;
}

static void pinfo(ggp_kad_peerinfo *pi, const gg_peerid *id, const addrs *a) {
  pi->id = *id;
  pi->addrs = a ? a->v : NULL;
  pi->naddrs = a ? a->n : 0;
}

/* ---- structures ---------------------------------------------------------------------------- */

typedef struct rt_entry {
  gg_peerid id;
  uint8_t hash[32];
  addrs *addrs;
  gg_ts last_seen;
  unsigned fails;
  int checking;
} rt_entry;

typedef struct bucket {
  size_t n, nr;
  gg_ts last_refresh;
  rt_entry **e; /* k slots, least recently seen first */
  rt_entry **r; /* replacement_cache slots, newest last */
} bucket;

typedef struct record {
  uint8_t *key;
  size_t klen;
  uint8_t *val;
  size_t vlen;
  gg_ts received;
  gg_ts last_publish;
  int published;
  gg_peerid from;
} record;

typedef struct provider {
  gg_peerid id;
  addrs *addrs;
  gg_ts expires;
} provider;

typedef struct provset {
  size_t n;
  provider v[]; /* max_providers_per_key */
} provset;

typedef struct cand {
  gg_peerid id;
  uint8_t dist[32];
  uint8_t state;
  uint8_t depth;
  uint8_t prepared; /* announced through prepare_peer */
  addrs *addrs;
} cand;

typedef struct query {
  uint64_t id;
  int type;
  int internal; /* refresh, republish, reprovide, correction: no query_done */
  int phase;    /* 0 lookup, 1 store */
  int done;
  int err;
  uint8_t *key;
  size_t klen;
  uint8_t target[32];
  cand *c;
  size_t nc, capc;
  size_t inflight;
  gg_ts start, deadline;
  /* GET_VALUE */
  size_t quorum, nvals;
  uint8_t *best;
  size_t bestlen;
  gg_peerid *pb, *po; /* peers holding best / outdated values */
  size_t npb, npo;
  /* PUT_VALUE */
  uint8_t *val;
  size_t vlen;
  size_t pending_stores, stored;
  /* GET_PROVIDERS */
  provider *found;
  size_t nfound, maxfound;
  /* FIND_PEER */
  gg_peerid want;
  int have_want;
  addrs *want_addrs;
  /* stats */
  unsigned requests, replies, failures, rounds;
  struct query *next;
} query;

typedef struct req {
  uint64_t id;
  int kind;
  query *q;
  gg_peerid peer;
  gg_ts deadline;
} req;

typedef struct ratebucket {
  double tokens;
  gg_ts last;
} ratebucket;

struct ggp_kad {
  ggp_kad_callbacks cb;
  ggp_kad_settings s;
  const gg_rand *rand;
  const gg_mem *mem;
  void *ud;
  gg_peerid self;
  uint8_t self_hash[32];
  addrs *self_addrs;

  bucket *buckets[GGP_KAD_KEYBITS];
  size_t rt_count;

  ggp_kad_validator val[MAX_VALIDATORS];
  size_t nval;

  gg_map records; /* key -> record* */
  size_t record_bytes;
  gg_map peer_records; /* peer id bytes -> (uintptr_t) count */
  gg_map providers;    /* key -> provset* */
  size_t nproviders;
  gg_map provided;     /* our provided keys -> gg_ts* last announce */

  gg_map reqs; /* reqid (8 bytes) -> req* */
  uint64_t next_req;
  query *queries; /* running */
  query *done;    /* finished, not yet reported (FIFO through done_tail) */
  query *done_tail;
  size_t nqueries; /* user queries running */
  uint64_t next_qid;
  int delivering;
  gg_ts wake; /* earliest forced wakeup (deferred completion) */

  gg_ts next_refresh;
  gg_ts next_maint;

  gg_map rates; /* peer -> ratebucket* */
  uint64_t served, refused;
};

/* ---- small helpers ----------------------------------------------------------------------- */

void ggp_kad_hash(const uint8_t *key, size_t klen, uint8_t out[32]) {
  crypto_hash_sha256(out, key, klen);
}

unsigned ggp_kad_cpl(const uint8_t a[32], const uint8_t b[32]) {
  for (unsigned i = 0; i < 32; i++) {
    uint8_t x = a[i] ^ b[i];
    if (x) return i * 8 + (unsigned)__builtin_clz((unsigned)x) - 24;
  }
  return 256;
}

static void xor32(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]) {
  for (int i = 0; i < 32; i++) out[i] = a[i] ^ b[i];
}

static void peer_hash(const gg_peerid *id, uint8_t out[32]) { ggp_kad_hash(id->b, id->len, out); }

void ggp_kad_settings_default(ggp_kad_settings *s) {
  memset(s, 0, sizeof(*s));
  s->k = 20;
  s->alpha = 3;
  s->bootstrap_alpha = 20;
  s->request_timeout = GG_SEC(10);
  s->query_timeout = GG_SEC(60);
  s->refresh_interval = GG_SEC(600);
  s->record_ttl = GG_SEC(48 * 3600);
  s->republish_interval = GG_SEC(24 * 3600);
  s->provider_ttl = GG_SEC(48 * 3600);
  s->reprovide_interval = GG_SEC(22 * 3600);
  s->liveness_interval = GG_SEC(60);
  s->max_failures = 2;
  s->quorum = 1;
  s->max_record_size = 64 * 1024;
  s->max_records = 16384;
  s->max_record_bytes = 64u << 20;
  s->max_records_per_peer = 256;
  s->max_providers_per_key = 64;
  s->max_provider_keys = 65536;
  s->max_message_size = 128 * 1024;
  s->max_addrs = 8;
  s->max_queries = 256;
  s->replacement_cache = 8;
  s->req_rate = 50;
  s->req_burst = 100;
}

/* RFC 3339 UTC with milliseconds, as js writes timeReceived. */
static void rfc3339(gg_ts ts, char out[64]) {
  time_t secs = (time_t)(ts / 1000000000ull);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (unsigned)((ts / 1000000ull) % 1000));
}

/* Namespace of a record key "/ns/rest": NULL when the key has none. */
static const ggp_kad_validator *validator_for(const ggp_kad *kad, const uint8_t *key, size_t klen) {
  if (klen < 2 || key[0] != '/') return NULL;
  const uint8_t *end = memchr(key + 1, '/', klen - 1);
  if (!end) return NULL;
  size_t nlen = (size_t)(end - key - 1);
  for (size_t i = 0; i < kad->nval; i++)
    if (strlen(kad->val[i].ns) == nlen && memcmp(kad->val[i].ns, key + 1, nlen) == 0)
      return &kad->val[i];
  return NULL;
}

static int validate_record(const ggp_kad *kad, const uint8_t *key, size_t klen,
                           const uint8_t *val, size_t vlen) {
  if (klen == 0 || klen > MAX_KEY_LEN || klen + vlen > kad->s.max_record_size) return GG_ETOOBIG;
  const ggp_kad_validator *v = validator_for(kad, key, klen);
  if (!v) return GG_EPROTO; /* unknown namespaces are refused, as js does */
  return v->validate(v->vud, key, klen, val, vlen);
}

/* The built-in /pk/ namespace: the value is a public key whose peer id is the key's suffix. */
static int pk_validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen) {
  (void)vud;
  gg_peerid want, got;
  if (klen <= 4 || gg_peerid_from_bytes(&want, key + 4, klen - 4) != GG_OK) return GG_EPROTO;
  if (gg_peerid_from_pubkey_pb(&got, val, vlen) != GG_OK) return GG_EBADKEY;
  return gg_peerid_eq(&want, &got) ? GG_OK : GG_EPEERID;
}

static size_t pk_select(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals, size_t n) {
  (void)vud, (void)key, (void)klen, (void)vals, (void)n;
  return 0; /* all valid values for one id are the same key */
}

/* ---- protobuf encoding -------------------------------------------------------------------- */

/* Fills a protobuf Peer from a peer id and address set. pb_addrs needs a->n slots. */
static void pb_peer(KadPb__Message__Peer *p, ProtobufCBinaryData *pb_addrs, const gg_peerid *id,
                    const addrs *a) {
  kad_pb__message__peer__init(p);
  p->has_id = 1;
  p->id.data = (uint8_t *)id->b;
  p->id.len = id->len;
  size_t n = a ? a->n : 0;
  for (size_t i = 0; i < n; i++) {
    pb_addrs[i].data = (uint8_t *)a->v[i].p;
    pb_addrs[i].len = a->v[i].len;
  }
  p->n_addrs = n;
  p->addrs = n ? pb_addrs : NULL;
}

/* A list of peers to put in a message, with the storage protobuf-c needs. */
typedef struct pblist {
  KadPb__Message__Peer *peers;
  KadPb__Message__Peer **ptrs;
  ProtobufCBinaryData *addrs;
  size_t n, cap, naddrs, capaddrs;
} pblist;

static int pblist_init(const ggp_kad *kad, pblist *l, size_t cap) {
  memset(l, 0, sizeof(*l));
  l->cap = cap;
  l->capaddrs = cap * kad->s.max_addrs;
  l->peers = gg_calloc(kad->mem, cap, sizeof(*l->peers));
  l->ptrs = gg_calloc(kad->mem, cap, sizeof(*l->ptrs));
  l->addrs = gg_calloc(kad->mem, l->capaddrs, sizeof(*l->addrs));
  return l->peers && l->ptrs && l->addrs ? GG_OK : GG_ENOMEM;
}

static void pblist_add(pblist *l, const gg_peerid *id, const addrs *a) {
  size_t na = a ? a->n : 0;
  if (l->n == l->cap || l->naddrs + na > l->capaddrs) return;
  pb_peer(&l->peers[l->n], l->addrs + l->naddrs, id, a);
  l->ptrs[l->n] = &l->peers[l->n];
  l->n++;
  l->naddrs += na;
}

static void pblist_free(const ggp_kad *kad, pblist *l) {
  gg_free(kad->mem, l->peers);
  gg_free(kad->mem, l->ptrs);
  gg_free(kad->mem, l->addrs);
}

static int pack_msg(const KadPb__Message *m, gg_buf *out) {
  size_t n = kad_pb__message__get_packed_size(m);
  uint8_t *p = gg_buf_tail(out, n);
  if (!p) return GG_ENOMEM;
  kad_pb__message__pack(m, p);
  gg_buf_commit(out, n);
  return GG_OK;
}

static KadPb__Message *unpack_msg(const ggp_kad *kad, const uint8_t *msg, size_t len) {
  ProtobufCAllocator a;
  gg_pb_allocator(&a, kad->mem);
  return kad_pb__message__unpack(&a, len, msg);
}

static void free_msg(const ggp_kad *kad, KadPb__Message *m) {
  ProtobufCAllocator a;
  gg_pb_allocator(&a, kad->mem);
  kad_pb__message__free_unpacked(m, &a);
}

/* Decodes a protobuf Peer: GG_OK with id and up to max_addrs address slices (borrowed). */
static int peer_from_pb(const ggp_kad *kad, const KadPb__Message__Peer *p, gg_peerid *id,
                        gg_slice *sl, size_t *nsl) {
  if (!p->has_id || gg_peerid_from_bytes(id, p->id.data, p->id.len) != GG_OK) return GG_EPROTO;
  size_t n = 0;
  for (size_t i = 0; i < p->n_addrs && n < kad->s.max_addrs; i++) {
    if (p->addrs[i].len == 0 || p->addrs[i].len > MAX_ADDR_LEN) continue;
    sl[n].p = p->addrs[i].data;
    sl[n].len = p->addrs[i].len;
    n++;
  }
  *nsl = n;
  return GG_OK;
}

/* ---- routing table ------------------------------------------------------------------------ */

static bucket *bucket_get(ggp_kad *kad, unsigned cpl, int create) {
  if (cpl >= GGP_KAD_KEYBITS) return NULL;
  if (!kad->buckets[cpl] && create) {
    bucket *b = gg_calloc(kad->mem, 1, sizeof(*b));
    if (!b) return NULL;
    b->e = gg_calloc(kad->mem, kad->s.k, sizeof(*b->e));
    b->r = gg_calloc(kad->mem, kad->s.replacement_cache ? kad->s.replacement_cache : 1,
                     sizeof(*b->r));
    if (!b->e || !b->r) {
      gg_free(kad->mem, b->e);
      gg_free(kad->mem, b->r);
      gg_free(kad->mem, b);
      return NULL;
    }
    kad->buckets[cpl] = b;
  }
  return kad->buckets[cpl];
}

static void entry_free(ggp_kad *kad, rt_entry *e) {
  if (!e) return;
  gg_free(kad->mem, e->addrs);
  gg_free(kad->mem, e);
}

static rt_entry *entry_new(ggp_kad *kad, const ggp_kad_peerinfo *p, const uint8_t hash[32], gg_ts ts) {
  rt_entry *e = gg_calloc(kad->mem, 1, sizeof(*e));
  if (!e) return NULL;
  e->id = p->id;
  memcpy(e->hash, hash, 32);
  e->addrs = addrs_dup(kad->mem, p->addrs, p->naddrs, kad->s.max_addrs);
  if (!e->addrs) {
    gg_free(kad->mem, e);
    return NULL;
  }
  e->last_seen = ts;
  return e;
}

/* Replaces an entry's addresses when new ones are given. */
static void entry_set_addrs(ggp_kad *kad, rt_entry *e, const ggp_kad_peerinfo *p) {
  if (!p->naddrs) return;
  addrs *a = addrs_dup(kad->mem, p->addrs, p->naddrs, kad->s.max_addrs);
  if (!a) return;
  gg_free(kad->mem, e->addrs);
  e->addrs = a;
}

static int find_in(rt_entry **arr, size_t n, const gg_peerid *id) {
  for (size_t i = 0; i < n; i++)
    if (gg_peerid_eq(&arr[i]->id, id)) return (int)i;
  return -1;
}

static void remove_at(rt_entry **arr, size_t *n, size_t i) {
  memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof(*arr));
  (*n)--;
}

static rt_entry *rt_find(const ggp_kad *kad, const gg_peerid *id, bucket **bout, int *idx) {
  uint8_t h[32];
  peer_hash(id, h);
  bucket *b = kad->buckets[ggp_kad_cpl(kad->self_hash, h) & 255];
  if (!b) return NULL;
  int i = find_in(b->e, b->n, id);
  if (i < 0) return NULL;
  if (bout) *bout = b;
  if (idx) *idx = i;
  return b->e[i];
}

/* Removes the entry at index i of b and promotes the newest replacement. */
static void rt_evict(ggp_kad *kad, bucket *b, size_t i) {
  rt_entry *e = b->e[i];
  gg_peerid id = e->id;
  remove_at(b->e, &b->n, i);
  entry_free(kad, e);
  kad->rt_count--;
  if (kad->cb.peer_removed) kad->cb.peer_removed(kad, &id, kad->ud);
  if (b->nr > 0) {
    rt_entry *r = b->r[--b->nr];
    r->fails = 0;
    r->checking = 0;
    b->e[b->n++] = r;
    kad->rt_count++;
    if (kad->cb.peer_added) kad->cb.peer_added(kad, &r->id, kad->ud);
  }
}

static void start_check(ggp_kad *kad, rt_entry *e, gg_ts ts);

/* Adds or refreshes a responsive peer (Kademlia's update rule). */
static void rt_update(ggp_kad *kad, const ggp_kad_peerinfo *p, gg_ts ts) {
  if (gg_peerid_eq(&p->id, &kad->self)) return;
  uint8_t h[32];
  peer_hash(&p->id, h);
  unsigned cpl = ggp_kad_cpl(kad->self_hash, h);
  bucket *b = bucket_get(kad, cpl, 1);
  if (!b) return;
  int i = find_in(b->e, b->n, &p->id);
  if (i >= 0) { /* known: move to the most recently seen end */
    rt_entry *e = b->e[i];
    remove_at(b->e, &b->n, (size_t)i);
    b->e[b->n++] = e;
    e->last_seen = ts;
    e->fails = 0;
    entry_set_addrs(kad, e, p);
    return;
  }
  if (p->naddrs == 0) return; /* a peer we could never dial is useless to others */
  if (b->n < kad->s.k) {
    rt_entry *e = entry_new(kad, p, h, ts);
    if (!e) return;
    b->e[b->n++] = e;
    kad->rt_count++;
    if (kad->cb.peer_added) kad->cb.peer_added(kad, &e->id, kad->ud);
    return;
  }
  /* full: remember the newcomer as a replacement, probe the oldest entry */
  if (kad->s.replacement_cache) {
    int r = find_in(b->r, b->nr, &p->id);
    rt_entry *e;
    if (r >= 0) {
      e = b->r[r];
      remove_at(b->r, &b->nr, (size_t)r);
      e->last_seen = ts;
      entry_set_addrs(kad, e, p);
    } else {
      e = entry_new(kad, p, h, ts);
      if (!e) return;
      if (b->nr == kad->s.replacement_cache) { /* drop the oldest replacement */
        entry_free(kad, b->r[0]);
        remove_at(b->r, &b->nr, 0);
      }
    }
    b->r[b->nr++] = e;
  }
  rt_entry *old = b->e[0];
  if (!old->checking && ts >= old->last_seen + kad->s.liveness_interval) start_check(kad, old, ts);
}

/* A request to a routing-table peer failed. */
static void rt_failed(ggp_kad *kad, const gg_peerid *id) {
  bucket *b;
  int i;
  rt_entry *e = rt_find(kad, id, &b, &i);
  if (e && ++e->fails >= kad->s.max_failures) rt_evict(kad, b, (size_t)i);
}

typedef struct distent {
  uint8_t dist[32];
  const rt_entry *e;
} distent;

static int cmp_dist(const void *a, const void *b) {
  return memcmp(((const distent *)a)->dist, ((const distent *)b)->dist, 32);
}

/* Appends bucket b's entries to d (with their distance to target). */
static size_t gather(const bucket *b, const uint8_t target[32], distent *d, size_t n) {
  for (size_t i = 0; b && i < b->n; i++) {
    xor32(d[n].dist, b->e[i]->hash, target);
    d[n].e = b->e[i];
    n++;
  }
  return n;
}

/*
 * The up-to-max routing-table entries closest to target, nearest first; returns how many.
 * *out is allocated (free with gg_free) unless 0 is returned.
 *
 * Buckets give the order without looking at every entry. Let x = sha256(self) XOR target and
 * c = cpl(self, target). Bucket c holds the peers sharing at least c+1 bits with the target:
 * closest. A bucket i > c shares exactly c bits with it, and past bit c its entries match x up
 * to bit i-1 and differ at bit i: so bucket i precedes every deeper bucket when bit i of x is 1
 * and follows them all when it is 0. Buckets i < c share exactly i bits, deeper first. Each
 * bucket is one group; groups are taken in that order and only those needed are sorted.
 */
static size_t rt_closest(const ggp_kad *kad, const uint8_t target[32], size_t max, distent **out) {
  *out = NULL;
  if (!kad->rt_count || !max) return 0;
  distent *d = gg_malloc(kad->mem, kad->rt_count * sizeof(*d));
  if (!d) return 0;
  uint8_t x[32];
  xor32(x, kad->self_hash, target);
  unsigned c = ggp_kad_cpl(kad->self_hash, target);
  if (c > 255) c = 255;
  unsigned order[GGP_KAD_KEYBITS], no = 0;
  order[no++] = c;
  /* buckets above c: ones with bit i of x set ascending, then the others descending */
  unsigned zeros[GGP_KAD_KEYBITS], nz = 0;
  for (unsigned i = c + 1; i < GGP_KAD_KEYBITS; i++) {
    if (!kad->buckets[i] || !kad->buckets[i]->n) continue;
    if (x[i / 8] & (0x80 >> (i % 8))) order[no++] = i;
    else zeros[nz++] = i;
  }
  while (nz) order[no++] = zeros[--nz];
  for (unsigned i = c; i-- > 0;) order[no++] = i;
  size_t n = 0;
  for (unsigned g = 0; g < no && n < max; g++) {
    size_t before = n;
    n = gather(kad->buckets[order[g]], target, d, n);
    if (n - before > 1) qsort(d + before, n - before, sizeof(*d), cmp_dist);
  }
  *out = d;
  return n < max ? n : max;
}

/* ---- record and provider stores ------------------------------------------------------------- */

static void peer_count_add(ggp_kad *kad, const gg_peerid *id, long delta) {
  uintptr_t c = (uintptr_t)gg_map_get(&kad->peer_records, id->b, id->len);
  c = (uintptr_t)((long)c + delta);
  if (c == 0) gg_map_del(&kad->peer_records, id->b, id->len);
  else gg_map_put(&kad->peer_records, id->b, id->len, (void *)c, NULL);
}

static void record_free(ggp_kad *kad, record *r) {
  gg_free(kad->mem, r->key);
  gg_free(kad->mem, r->val);
  gg_free(kad->mem, r);
}

static void record_remove(ggp_kad *kad, const uint8_t *key, size_t klen, int notify) {
  record *r = gg_map_del(&kad->records, key, klen);
  if (!r) return;
  kad->record_bytes -= r->klen + r->vlen;
  if (!r->published) peer_count_add(kad, &r->from, -1);
  if (notify && kad->cb.record_removed) kad->cb.record_removed(kad, key, klen, kad->ud);
  record_free(kad, r);
}

static int record_live(const ggp_kad *kad, const record *r, gg_ts ts) {
  return r->published || ts < r->received + kad->s.record_ttl;
}

static void notify_record(ggp_kad *kad, const record *r) {
  if (!kad->cb.record_stored) return;
  ggp_kad_record rec = {r->key, r->klen, r->val, r->vlen, r->received, r->published};
  kad->cb.record_stored(kad, &rec, kad->ud);
}

/*
 * Stores a validated record. from is the peer that sent it (NULL: ourselves, published).
 * An existing record is replaced only when the namespace's selector prefers the new value.
 * GG_OK (stored or kept the better old one), GG_ELIMIT (a cap), GG_ENOMEM.
 */
static int store_record(ggp_kad *kad, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen, const gg_peerid *from, gg_ts received, int notify) {
  record *old = gg_map_get(&kad->records, key, klen);
  if (old) {
    if (old->vlen == vlen && memcmp(old->val, val, vlen) == 0) {
      if (from == NULL && !old->published) { /* we now publish what we held */
        peer_count_add(kad, &old->from, -1);
        old->published = 1;
        old->last_publish = received;
      }
      old->received = received;
      if (notify) notify_record(kad, old);
      return GG_OK;
    }
    const ggp_kad_validator *v = validator_for(kad, key, klen);
    gg_slice two[2] = {{old->val, old->vlen}, {val, vlen}};
    if (v && v->select(v->vud, key, klen, two, 2) == 0 && from != NULL) return GG_OK;
  }
  size_t oldsz = old ? old->klen + old->vlen : 0, newsz = klen + vlen;
  if (!old && gg_map_count(&kad->records) >= kad->s.max_records) return GG_ELIMIT;
  if (newsz > oldsz && kad->record_bytes - oldsz + newsz > kad->s.max_record_bytes) return GG_ELIMIT;
  if (from && (!old || old->published || !gg_peerid_eq(&old->from, from)) &&
      (uintptr_t)gg_map_get(&kad->peer_records, from->b, from->len) >= kad->s.max_records_per_peer)
    return GG_ELIMIT;
  record *r = gg_calloc(kad->mem, 1, sizeof(*r));
  if (!r) return GG_ENOMEM;
  r->key = gg_memdup(kad->mem, key, klen);
  r->val = gg_memdup(kad->mem, val, vlen);
  if (!r->key || !r->val) {
    record_free(kad, r);
    return GG_ENOMEM;
  }
  r->klen = klen;
  r->vlen = vlen;
  r->received = received;
  r->published = from == NULL;
  r->last_publish = received;
  if (from) r->from = *from;
  record_remove(kad, key, klen, 0);
  if (gg_map_put(&kad->records, r->key, klen, r, NULL) != GG_OK) {
    record_free(kad, r);
    return GG_ENOMEM;
  }
  kad->record_bytes += klen + vlen;
  if (from) peer_count_add(kad, from, 1);
  if (notify) notify_record(kad, r);
  return GG_OK;
}

/* Provider keys must be multihashes (js decodes them as CIDs). */
static int valid_multihash(const uint8_t *k, size_t klen) {
  gg_mh mh;
  return klen <= 128 && gg_mh_decode(k, klen, &mh) == GG_OK;
}

/* The addresses to announce for a provider entry: our own entries follow our current
 * addresses (entries reloaded after a restart carry the previous run's, e.g. another port). */
static const addrs *prov_addrs(const ggp_kad *kad, const provider *p) {
  if (kad->self_addrs->n > 0 && gg_peerid_eq(&p->id, &kad->self)) return kad->self_addrs;
  return p->addrs;
}

/* Adds or refreshes a provider of key. GG_OK, GG_ELIMIT, GG_ENOMEM. */
static int store_provider(ggp_kad *kad, const uint8_t *key, size_t klen,
                          const ggp_kad_peerinfo *p, gg_ts expires, int notify) {
  provset *ps = gg_map_get(&kad->providers, key, klen);
  if (!ps) {
    if (gg_map_count(&kad->providers) >= kad->s.max_provider_keys) return GG_ELIMIT;
    ps = gg_calloc(kad->mem, 1, sizeof(*ps) + kad->s.max_providers_per_key * sizeof(provider));
    if (!ps) return GG_ENOMEM;
    if (gg_map_put(&kad->providers, key, klen, ps, NULL) != GG_OK) {
      gg_free(kad->mem, ps);
      return GG_ENOMEM;
    }
  }
  addrs *a = addrs_dup(kad->mem, p->addrs, p->naddrs, kad->s.max_addrs);
  if (!a) return GG_ENOMEM;
  size_t i;
  for (i = 0; i < ps->n; i++)
    if (gg_peerid_eq(&ps->v[i].id, &p->id)) break;
  if (i == ps->n) {
    if (ps->n == kad->s.max_providers_per_key) { /* replace the one expiring first */
      size_t worst = 0;
      for (size_t j = 1; j < ps->n; j++)
        if (ps->v[j].expires < ps->v[worst].expires) worst = j;
      if (ps->v[worst].expires >= expires) {
        gg_free(kad->mem, a);
        return GG_ELIMIT;
      }
      i = worst;
      if (kad->cb.provider_removed) kad->cb.provider_removed(kad, key, klen, &ps->v[i].id, kad->ud);
      gg_free(kad->mem, ps->v[i].addrs);
    } else {
      ps->n++;
      kad->nproviders++;
    }
  } else {
    gg_free(kad->mem, ps->v[i].addrs);
  }
  ps->v[i].id = p->id;
  ps->v[i].addrs = a;
  ps->v[i].expires = expires;
  if (notify && kad->cb.provider_stored) {
    ggp_kad_peerinfo pi;
    pinfo(&pi, &p->id, a);
    kad->cb.provider_stored(kad, key, klen, &pi, expires, kad->ud);
  }
  return GG_OK;
}

static void provset_free(ggp_kad *kad, provset *ps) {
  for (size_t i = 0; i < ps->n; i++) gg_free(kad->mem, ps->v[i].addrs);
  gg_free(kad->mem, ps);
}

/* Drops expired records and providers. */
static void expire_stores(ggp_kad *kad, gg_ts ts) {
  size_t it = 0, n = 0;
  const gg_map_entry *e;
  record **dead = gg_malloc(kad->mem, (gg_map_count(&kad->records) + 1) * sizeof(*dead));
  if (dead) {
    while ((e = gg_map_next(&kad->records, &it)))
      if (!record_live(kad, e->val, ts)) dead[n++] = e->val;
    for (size_t i = 0; i < n; i++) record_remove(kad, dead[i]->key, dead[i]->klen, 1);
    gg_free(kad->mem, dead);
  }
  provset **empty = gg_malloc(kad->mem, (gg_map_count(&kad->providers) + 1) * sizeof(*empty));
  if (!empty) return;
  it = 0;
  n = 0;
  while ((e = gg_map_next(&kad->providers, &it))) {
    provset *ps = e->val;
    for (size_t i = 0; i < ps->n;) {
      if (ps->v[i].expires <= ts) {
        if (kad->cb.provider_removed)
          kad->cb.provider_removed(kad, e->key, e->klen, &ps->v[i].id, kad->ud);
        gg_free(kad->mem, ps->v[i].addrs);
        ps->v[i] = ps->v[--ps->n];
        kad->nproviders--;
      } else {
        i++;
      }
    }
    if (ps->n == 0) empty[n++] = ps;
  }
  /* delete empty sets by key: find their keys again (the map must not change while iterating) */
  for (size_t j = 0; j < n; j++) {
    it = 0;
    while ((e = gg_map_next(&kad->providers, &it))) {
      if (e->val == empty[j]) {
        uint8_t *k = gg_memdup(kad->mem, e->key, e->klen);
        size_t kl = e->klen;
        if (k) {
          gg_map_del(&kad->providers, k, kl);
          gg_free(kad->mem, k);
          provset_free(kad, empty[j]);
        }
        break;
      }
    }
  }
  gg_free(kad->mem, empty);
}

/* ---- requests ------------------------------------------------------------------------------ */

static req *req_get(ggp_kad *kad, uint64_t id) { return gg_map_get(&kad->reqs, &id, sizeof(id)); }

static void req_drop(ggp_kad *kad, req *r) {
  gg_map_del(&kad->reqs, &r->id, sizeof(r->id));
  gg_free(kad->mem, r);
}

/* Sends msg to a peer; returns the request or NULL when sending failed at once. */
static req *send_req(ggp_kad *kad, int kind, query *q, const gg_peerid *peer, const addrs *a,
                     const gg_buf *msg, int expect_reply, gg_ts ts) {
  req *r = gg_calloc(kad->mem, 1, sizeof(*r));
  if (!r) return NULL;
  r->id = ++kad->next_req;
  r->kind = kind;
  r->q = q;
  r->peer = *peer;
  r->deadline = ts + kad->s.request_timeout;
  if (gg_map_put(&kad->reqs, &r->id, sizeof(r->id), r, NULL) != GG_OK) {
    gg_free(kad->mem, r);
    return NULL;
  }
  ggp_kad_peerinfo pi;
  pinfo(&pi, peer, a);
  if (q) q->requests++;
  if (kad->cb.send_request(kad, r->id, &pi, gg_buf_ptr(msg), gg_buf_len(msg), expect_reply,
                           kad->ud) != 0) {
    req_drop(kad, r);
    return NULL;
  }
  return r;
}

/* ---- queries: candidates ------------------------------------------------------------------ */

static cand *cand_find(query *q, const gg_peerid *id) {
  for (size_t i = 0; i < q->nc; i++)
    if (gg_peerid_eq(&q->c[i].id, id)) return &q->c[i];
  return NULL;
}

/* Inserts a candidate in distance order; drops the farthest idle one when full. */
static void cand_add(ggp_kad *kad, query *q, const gg_peerid *id, const gg_slice *sl, size_t n,
                     unsigned depth) {
  if (gg_peerid_eq(id, &kad->self) || cand_find(q, id)) return;
  uint8_t h[32], d[32];
  peer_hash(id, h);
  xor32(d, h, q->target);
  size_t pos = q->nc;
  while (pos > 0 && memcmp(q->c[pos - 1].dist, d, 32) > 0) pos--;
  if (q->nc == q->capc) {
    /* full: the new one must beat the farthest entry that is not in flight */
    size_t victim = q->nc;
    while (victim > 0 && q->c[victim - 1].state == C_INFLIGHT) victim--;
    if (victim == 0 || pos >= victim) return;
    victim--;
    gg_free(kad->mem, q->c[victim].addrs);
    memmove(q->c + victim, q->c + victim + 1, (q->nc - victim - 1) * sizeof(cand));
    q->nc--;
  }
  addrs *a = addrs_dup(kad->mem, sl, n, kad->s.max_addrs);
  if (!a) return;
  memmove(q->c + pos + 1, q->c + pos, (q->nc - pos) * sizeof(cand));
  cand *c = &q->c[pos];
  c->id = *id;
  memcpy(c->dist, d, 32);
  c->state = C_FRESH;
  c->depth = (uint8_t)(depth > 255 ? 255 : depth);
  c->prepared = 0;
  c->addrs = a;
  q->nc++;
}

static void query_free(ggp_kad *kad, query *q) {
  for (size_t i = 0; i < q->nc; i++) gg_free(kad->mem, q->c[i].addrs);
  for (size_t i = 0; i < q->nfound; i++) gg_free(kad->mem, q->found[i].addrs);
  gg_free(kad->mem, q->c);
  gg_free(kad->mem, q->found);
  gg_free(kad->mem, q->key);
  gg_free(kad->mem, q->val);
  gg_free(kad->mem, q->best);
  gg_free(kad->mem, q->pb);
  gg_free(kad->mem, q->po);
  gg_free(kad->mem, q->want_addrs);
  gg_free(kad->mem, q);
}

static query *query_new(ggp_kad *kad, int type, int internal, const uint8_t *key, size_t klen,
                        gg_ts ts) {
  if (!internal && kad->nqueries >= kad->s.max_queries) return NULL;
  query *q = gg_calloc(kad->mem, 1, sizeof(*q));
  if (!q) return NULL;
  q->capc = kad->s.k * 4;
  q->c = gg_calloc(kad->mem, q->capc, sizeof(cand));
  q->key = gg_memdup(kad->mem, key, klen);
  if (type == GGP_KAD_Q_GET_VALUE) {
    q->pb = gg_calloc(kad->mem, kad->s.k * 4, sizeof(gg_peerid));
    q->po = gg_calloc(kad->mem, kad->s.k * 4, sizeof(gg_peerid));
  }
  if (!q->c || !q->key || (type == GGP_KAD_Q_GET_VALUE && (!q->pb || !q->po))) {
    query_free(kad, q);
    return NULL;
  }
  q->id = ++kad->next_qid;
  q->type = type;
  q->internal = internal;
  q->klen = klen;
  ggp_kad_hash(key, klen, q->target);
  q->start = ts;
  q->deadline = ts + kad->s.query_timeout;
  q->quorum = kad->s.quorum;
  /* seed with the k closest known peers */
  distent *d;
  size_t n = rt_closest(kad, q->target, kad->s.k, &d);
  for (size_t i = 0; i < n; i++)
    cand_add(kad, q, &d[i].e->id, d[i].e->addrs->v, d[i].e->addrs->n, 0);
  gg_free(kad->mem, d);
  q->next = kad->queries;
  kad->queries = q;
  if (!internal) kad->nqueries++;
  return q;
}

/* ---- queries: messages --------------------------------------------------------------------- */

static int build_request(ggp_kad *kad, query *q, int store, gg_buf *out) {
  KadPb__Message m;
  kad_pb__message__init(&m);
  m.has_type = 1;
  m.has_key = 1;
  m.key.data = q->key;
  m.key.len = q->klen;
  KadPb__Record rec;
  char tbuf[64];
  pblist self;
  int rv;
  memset(&self, 0, sizeof(self));
  switch (q->type) {
  case GGP_KAD_Q_GET_VALUE: m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__GET_VALUE; break;
  case GGP_KAD_Q_GET_PROVIDERS: m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS; break;
  case GGP_KAD_Q_PUT_VALUE:
    if (store) {
      m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
      kad_pb__record__init(&rec);
      rec.has_key = 1;
      rec.key.data = q->key;
      rec.key.len = q->klen;
      rec.has_value = 1;
      rec.value.data = q->val;
      rec.value.len = q->vlen;
      rfc3339(q->start, tbuf);
      rec.timereceived = tbuf;
      m.record = &rec;
      break;
    }
    m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    break;
  case GGP_KAD_Q_PROVIDE:
    if (store) {
      m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__ADD_PROVIDER;
      if ((rv = pblist_init(kad, &self, 1))) {
        pblist_free(kad, &self);
        return rv;
      }
      pblist_add(&self, &kad->self, kad->self_addrs);
      m.n_providerpeers = self.n;
      m.providerpeers = self.ptrs;
      break;
    }
    m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    break;
  default: m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__FIND_NODE; break;
  }
  rv = pack_msg(&m, out);
  if (self.peers) pblist_free(kad, &self);
  return rv;
}

static void query_finish(ggp_kad *kad, query *q, int err);
static void query_step(ggp_kad *kad, query *q, gg_ts ts);
static void refresh_buckets(ggp_kad *kad, gg_ts ts, int force);

static void cancel_query_reqs(ggp_kad *kad, query *q);

static void start_store_phase(ggp_kad *kad, query *q, gg_ts ts) {
  q->phase = 1;
  cancel_query_reqs(kad, q); /* lookups still in flight beyond the k closest */
  q->inflight = 0;
  gg_buf msg;
  gg_buf_init(&msg, kad->mem, kad->s.max_message_size);
  if (build_request(kad, q, 1, &msg) != GG_OK) {
    gg_buf_free(&msg);
    query_finish(kad, q, GG_ENOMEM);
    return;
  }
  size_t sent = 0;
  for (size_t i = 0; i < q->nc && sent < kad->s.k; i++) {
    if (q->c[i].state != C_OK) continue;
    sent++;
    int expect = q->type == GGP_KAD_Q_PUT_VALUE;
    if (send_req(kad, R_STORE, q, &q->c[i].id, q->c[i].addrs, &msg, expect, ts))
      q->pending_stores++;
    else
      q->failures++;
  }
  gg_buf_free(&msg);
  if (q->pending_stores == 0) query_finish(kad, q, GG_OK);
}

/* The lookup phase is over: decide what comes next. */
static void lookup_done(ggp_kad *kad, query *q, gg_ts ts) {
  switch (q->type) {
  case GGP_KAD_Q_PUT_VALUE:
  case GGP_KAD_Q_PROVIDE: start_store_phase(kad, q, ts); return;
  case GGP_KAD_Q_GET_VALUE: query_finish(kad, q, q->nvals ? GG_OK : GG_ENOTFOUND); return;
  case GGP_KAD_Q_GET_PROVIDERS: query_finish(kad, q, q->nfound ? GG_OK : GG_ENOTFOUND); return;
  case GGP_KAD_Q_FIND_PEER: query_finish(kad, q, q->have_want ? GG_OK : GG_ENOTFOUND); return;
  default: query_finish(kad, q, GG_OK); return;
  }
}

/* Early ends: enough values, providers, or the peer was found. */
static int query_satisfied(const query *q) {
  switch (q->type) {
  case GGP_KAD_Q_GET_VALUE: return q->nvals >= q->quorum;
  case GGP_KAD_Q_GET_PROVIDERS: return q->nfound >= q->maxfound;
  case GGP_KAD_Q_FIND_PEER: return q->have_want;
  default: return 0;
  }
}

/* 1 for the lookups that may end before every one of the k closest has answered. */
static int query_may_end_early(const query *q) {
  return q->type == GGP_KAD_Q_GET_VALUE || q->type == GGP_KAD_Q_GET_PROVIDERS ||
         q->type == GGP_KAD_Q_FIND_PEER;
}

/* Requests in flight: alpha, or bootstrap_alpha for the bootstrap's self-lookup. */
static size_t query_alpha(const ggp_kad *kad, const query *q) {
  if (q->type == GGP_KAD_Q_BOOTSTRAP && kad->s.bootstrap_alpha) return kad->s.bootstrap_alpha;
  return kad->s.alpha;
}

/* Announces c to prepare_peer (once per candidate). */
static void prepare_cand(ggp_kad *kad, cand *c) {
  if (c->prepared || !kad->cb.prepare_peer) return;
  ggp_kad_peerinfo pi;
  pinfo(&pi, &c->id, c->addrs);
  c->prepared = 1;
  kad->cb.prepare_peer(kad, &pi, kad->ud);
}

/* The candidate a free request slot goes to: q->c[i], the closest waiting one, unless the glue
 * says it is not connected and another waiting candidate in the k window is; then the closest
 * such one, and q->c[i] is announced to prepare_peer (connected by the time a slot frees
 * again, its request costs a round trip instead of a connection setup plus a round trip).
 * seen: the window position of q->c[i] (1-based). */
static cand *warm_pick(ggp_kad *kad, query *q, size_t i, size_t seen) {
  cand *c = &q->c[i];
  if (!kad->cb.peer_connected || kad->cb.peer_connected(kad, &c->id, kad->ud)) return c;
  for (size_t j = i + 1; j < q->nc && seen < kad->s.k; j++) {
    cand *d = &q->c[j];
    if (d->state == C_FAILED) continue;
    seen++;
    if (d->state != C_FRESH || !kad->cb.peer_connected(kad, &d->id, kad->ud)) continue;
    prepare_cand(kad, c);
    return d;
  }
  return c;
}

static void query_step(ggp_kad *kad, query *q, gg_ts ts) {
  if (q->done || q->phase != 0) return;
  if (query_satisfied(q)) {
    lookup_done(kad, q, ts);
    return;
  }
  gg_buf msg;
  gg_buf_init(&msg, kad->mem, kad->s.max_message_size);
  int have_msg = 0;
  for (;;) {
    size_t seen = 0, prepared = 0, ahead = kad->s.prepare_ahead, alpha = query_alpha(kad, q);
    if (!ahead) ahead = query_may_end_early(q) ? alpha : kad->s.k;
    int pending = 0, sent_fail = 0;
    for (size_t i = 0; i < q->nc && seen < kad->s.k; i++) {
      cand *c = &q->c[i];
      if (c->state == C_FAILED) continue;
      seen++;
      if (c->state == C_INFLIGHT) {
        pending = 1;
      } else if (c->state == C_FRESH) {
        pending = 1;
        if (q->inflight >= alpha) {
          /* The next waiting candidates (closest first; alpha of them, or all of the k
           * window when the lookup must hear from every one anyway) are announced, so the
           * glue can connect while the requests in flight are answered: the next waves then
           * cost a round trip, not a connection setup as well. */
          if (prepared < ahead) prepare_cand(kad, c);
          prepared += c->prepared;
          continue;
        }
        if (!have_msg) {
          if (build_request(kad, q, 0, &msg) != GG_OK) break;
          have_msg = 1;
        }
        c = warm_pick(kad, q, i, seen);
        gg_peerid id = c->id;
        if (send_req(kad, R_LOOKUP, q, &id, c->addrs, &msg, 1, ts)) {
          c = cand_find(q, &id); /* send_request cannot change candidates, but be exact */
          c->state = C_INFLIGHT;
          q->inflight++;
        } else {
          c->state = C_FAILED;
          q->failures++;
          sent_fail = 1;
          break; /* the k window moved: rescan */
        }
      }
    }
    if (sent_fail) continue;
    if (!pending) {
      gg_buf_free(&msg);
      lookup_done(kad, q, ts);
      return;
    }
    break;
  }
  gg_buf_free(&msg);
}

/* Cancels the requests a finished query still has in flight. */
static void cancel_query_reqs(ggp_kad *kad, query *q) {
  size_t it = 0, n = 0;
  const gg_map_entry *e;
  uint64_t *ids = gg_malloc(kad->mem, (gg_map_count(&kad->reqs) + 1) * sizeof(*ids));
  if (!ids) return;
  while ((e = gg_map_next(&kad->reqs, &it))) {
    req *r = e->val;
    if (r->q == q) ids[n++] = r->id;
  }
  for (size_t i = 0; i < n; i++) {
    req *r = req_get(kad, ids[i]);
    if (kad->cb.cancel_request) kad->cb.cancel_request(kad, r->id, kad->ud);
    req_drop(kad, r);
  }
  gg_free(kad->mem, ids);
}

static void send_corrections(ggp_kad *kad, query *q, gg_ts ts);

static void query_finish(ggp_kad *kad, query *q, int err) {
  if (q->done) return;
  q->done = 1;
  q->err = err;
  cancel_query_reqs(kad, q);
  /* unlink from running, append to done */
  for (query **pp = &kad->queries; *pp; pp = &(*pp)->next) {
    if (*pp == q) {
      *pp = q->next;
      break;
    }
  }
  q->next = NULL;
  if (kad->done_tail) kad->done_tail->next = q;
  else kad->done = q;
  kad->done_tail = q;
}

/* Reports finished queries. Runs at the end of public entry points only. */
static void deliver_done(ggp_kad *kad, gg_ts ts) {
  if (kad->delivering) return;
  kad->delivering = 1;
  while (kad->done) {
    query *q = kad->done;
    kad->done = q->next;
    if (!kad->done) kad->done_tail = NULL;
    if (q->type == GGP_KAD_Q_GET_VALUE && q->err == GG_OK) send_corrections(kad, q, ts);
    if (!q->internal) {
      kad->nqueries--;
      ggp_kad_result res;
      memset(&res, 0, sizeof(res));
      res.type = q->type;
      res.err = q->err;
      res.requests = q->requests;
      res.replies = q->replies;
      res.failures = q->failures;
      res.rounds = q->rounds;
      res.duration = ts > q->start ? ts - q->start : 0;
      res.stored = q->stored;
      ggp_kad_peerinfo *peers = gg_calloc(kad->mem, q->nc + 1, sizeof(*peers));
      ggp_kad_peerinfo *provs = gg_calloc(kad->mem, q->nfound + 1, sizeof(*provs));
      if (peers && provs) {
        if (q->type == GGP_KAD_Q_FIND_PEER) {
          if (q->have_want) {
            pinfo(&peers[0], &q->want, q->want_addrs);
            res.npeers = 1;
          }
        } else {
          for (size_t i = 0; i < q->nc && res.npeers < kad->s.k; i++)
            if (q->c[i].state == C_OK) pinfo(&peers[res.npeers++], &q->c[i].id, q->c[i].addrs);
        }
        for (size_t i = 0; i < q->nfound; i++) pinfo(&provs[i], &q->found[i].id, q->found[i].addrs);
        res.nproviders = q->nfound;
      } else if (res.err == GG_OK) {
        res.err = GG_ENOMEM;
      }
      res.peers = peers;
      res.providers = provs;
      res.val = q->best;
      res.vlen = q->bestlen;
      kad->cb.query_done(kad, q->id, &res, kad->ud);
      gg_free(kad->mem, peers);
      gg_free(kad->mem, provs);
    }
    /* The bootstrap's bucket refreshes start from the table its self-lookup filled (as go):
     * started together, they would seed from the bootstrap peers alone and compete with it. */
    if (q->type == GGP_KAD_Q_BOOTSTRAP && q->err != GG_ECANCELED) refresh_buckets(kad, ts, 1);
    query_free(kad, q);
  }
  kad->delivering = 0;
}

/* Entry correction (spec "Getting values"): peers that returned worse values get the best. */
static void send_corrections(ggp_kad *kad, query *q, gg_ts ts) {
  if (!q->npo || !q->best) return;
  KadPb__Message m;
  KadPb__Record rec;
  char tbuf[64];
  kad_pb__message__init(&m);
  kad_pb__record__init(&rec);
  m.has_type = 1;
  m.type = KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
  m.has_key = 1;
  m.key.data = q->key;
  m.key.len = q->klen;
  rec.has_key = 1;
  rec.key = m.key;
  rec.has_value = 1;
  rec.value.data = q->best;
  rec.value.len = q->bestlen;
  rfc3339(ts, tbuf);
  rec.timereceived = tbuf;
  m.record = &rec;
  gg_buf msg;
  gg_buf_init(&msg, kad->mem, kad->s.max_message_size);
  if (pack_msg(&m, &msg) == GG_OK) {
    for (size_t i = 0; i < q->npo; i++) {
      cand *c = cand_find(q, &q->po[i]);
      if (c) send_req(kad, R_ORPHAN, NULL, &c->id, c->addrs, &msg, 1, ts);
    }
  }
  gg_buf_free(&msg);
}

/* ---- queries: replies ---------------------------------------------------------------------- */

static void add_peer_list(gg_peerid *list, size_t *n, size_t cap, const gg_peerid *id) {
  for (size_t i = 0; i < *n; i++)
    if (gg_peerid_eq(&list[i], id)) return;
  if (*n < cap) list[(*n)++] = *id;
}

/* A GET_VALUE reply carried a record: validate it and keep the best (spec's algorithm). */
static void got_value(ggp_kad *kad, query *q, const gg_peerid *from, const KadPb__Record *rec) {
  if (!rec->has_value) return;
  if (rec->has_key && (rec->key.len != q->klen || memcmp(rec->key.data, q->key, q->klen)))
    return;
  if (validate_record(kad, q->key, q->klen, rec->value.data, rec->value.len) != GG_OK) return;
  size_t cap = kad->s.k * 4;
  q->nvals++;
  if (!q->best) {
    q->best = gg_memdup(kad->mem, rec->value.data, rec->value.len);
    if (!q->best) return;
    q->bestlen = rec->value.len;
    add_peer_list(q->pb, &q->npb, cap, from);
    return;
  }
  if (rec->value.len == q->bestlen && memcmp(rec->value.data, q->best, q->bestlen) == 0) {
    add_peer_list(q->pb, &q->npb, cap, from);
    return;
  }
  const ggp_kad_validator *v = validator_for(kad, q->key, q->klen);
  gg_slice two[2] = {{q->best, q->bestlen}, {rec->value.data, rec->value.len}};
  if (v->select(v->vud, q->key, q->klen, two, 2) == 1) {
    uint8_t *nb = gg_memdup(kad->mem, rec->value.data, rec->value.len);
    if (!nb) return;
    gg_free(kad->mem, q->best);
    q->best = nb;
    q->bestlen = rec->value.len;
    for (size_t i = 0; i < q->npb; i++) add_peer_list(q->po, &q->npo, cap, &q->pb[i]);
    q->npb = 0;
    add_peer_list(q->pb, &q->npb, cap, from);
  } else {
    add_peer_list(q->po, &q->npo, cap, from);
  }
}

static void got_provider(ggp_kad *kad, query *q, const gg_peerid *id, const gg_slice *sl, size_t n) {
  for (size_t i = 0; i < q->nfound; i++) {
    if (gg_peerid_eq(&q->found[i].id, id)) {
      if (!q->found[i].addrs->n && n) { /* learn addresses late */
        addrs *a = addrs_dup(kad->mem, sl, n, kad->s.max_addrs);
        if (a) {
          gg_free(kad->mem, q->found[i].addrs);
          q->found[i].addrs = a;
        }
      }
      return;
    }
  }
  if (q->nfound >= q->maxfound) return;
  addrs *a = addrs_dup(kad->mem, sl, n, kad->s.max_addrs);
  if (!a) return;
  q->found[q->nfound].id = *id;
  q->found[q->nfound].addrs = a;
  q->found[q->nfound].expires = 0;
  q->nfound++;
}

/* Processes a lookup reply from candidate c. Returns GG_OK or GG_EPROTO. */
static int lookup_reply(ggp_kad *kad, query *q, const gg_peerid *from, const uint8_t *msg,
                        size_t len, gg_ts ts) {
  if (len > kad->s.max_message_size) return GG_ETOOBIG;
  KadPb__Message *m = unpack_msg(kad, msg, len);
  if (!m) return GG_EPROTO;
  cand *c = cand_find(q, from);
  unsigned depth = c ? c->depth : 0;
  if (q->rounds < depth + 1) q->rounds = depth + 1;
  gg_slice *sl = gg_malloc(kad->mem, kad->s.max_addrs * sizeof(*sl));
  if (!sl) {
    free_msg(kad, m);
    return GG_ENOMEM;
  }
  if (q->type == GGP_KAD_Q_GET_VALUE && m->record) got_value(kad, q, from, m->record);
  if (q->type == GGP_KAD_Q_GET_PROVIDERS) {
    for (size_t i = 0; i < m->n_providerpeers && i < MAX_CLOSER_ACCEPTED; i++) {
      gg_peerid id;
      size_t n;
      if (peer_from_pb(kad, m->providerpeers[i], &id, sl, &n) == GG_OK)
        got_provider(kad, q, &id, sl, n);
    }
  }
  for (size_t i = 0; i < m->n_closerpeers && i < MAX_CLOSER_ACCEPTED; i++) {
    gg_peerid id;
    size_t n;
    if (peer_from_pb(kad, m->closerpeers[i], &id, sl, &n) != GG_OK) continue;
    if (q->type == GGP_KAD_Q_FIND_PEER && !q->have_want && gg_peerid_eq(&id, &q->want) && n) {
      q->want_addrs = addrs_dup(kad->mem, sl, n, kad->s.max_addrs);
      q->have_want = q->want_addrs != NULL;
    }
    cand_add(kad, q, &id, sl, n, depth + 1);
  }
  gg_free(kad->mem, sl);
  free_msg(kad, m);
  (void)ts;
  return GG_OK;
}

/* 1 when msg is a well-formed Message within the size cap (PUT_VALUE acknowledgements). */
static int unpack_ok(const ggp_kad *kad, const uint8_t *msg, size_t len) {
  if (len > kad->s.max_message_size) return 0;
  KadPb__Message *m = unpack_msg(kad, msg, len);
  if (!m) return 0;
  free_msg(kad, m);
  return 1;
}

int ggp_kad_on_reply(ggp_kad *kad, uint64_t reqid, const uint8_t *msg, size_t len, gg_ts ts) {
  req *r = req_get(kad, reqid);
  if (!r) return GG_OK;
  int rv = GG_OK;
  query *q = r->q;
  gg_peerid peer = r->peer;
  int kind = r->kind;
  req_drop(kad, r);
  switch (kind) {
  case R_LOOKUP: {
    cand *c = cand_find(q, &peer);
    if (c && c->state == C_INFLIGHT) q->inflight--;
    rv = msg ? lookup_reply(kad, q, &peer, msg, len, ts) : GG_EPROTO;
    c = cand_find(q, &peer);
    if (rv == GG_OK) {
      q->replies++;
      if (c) {
        c->state = C_OK;
        ggp_kad_peerinfo pi;
        pinfo(&pi, &peer, c->addrs);
        rt_update(kad, &pi, ts);
        if (q->type == GGP_KAD_Q_FIND_PEER && gg_peerid_eq(&peer, &q->want) && !q->have_want) {
          q->want_addrs = addrs_dup(kad->mem, c->addrs->v, c->addrs->n, kad->s.max_addrs);
          q->have_want = q->want_addrs != NULL;
        }
      }
    } else {
      q->failures++;
      if (c) c->state = C_FAILED;
      rt_failed(kad, &peer);
    }
    query_step(kad, q, ts);
    break;
  }
  case R_STORE:
    q->pending_stores--;
    if (msg == NULL || unpack_ok(kad, msg, len)) {
      q->stored++;
      q->replies++;
    } else {
      q->failures++;
      rv = GG_EPROTO;
    }
    if (q->pending_stores == 0) query_finish(kad, q, GG_OK);
    break;
  default:
    break;
  }
  deliver_done(kad, ts);
  return rv;
}

/* A request failed or timed out (r is still registered). */
static void req_failed(ggp_kad *kad, req *r, gg_ts ts) {
  query *q = r->q;
  gg_peerid peer = r->peer;
  int kind = r->kind;
  req_drop(kad, r);
  switch (kind) {
  case R_LOOKUP: {
    cand *c = cand_find(q, &peer);
    if (c && c->state == C_INFLIGHT) {
      q->inflight--;
      c->state = C_FAILED;
    }
    q->failures++;
    rt_failed(kad, &peer);
    query_step(kad, q, ts);
    break;
  }
  case R_STORE:
    q->failures++;
    if (--q->pending_stores == 0) query_finish(kad, q, GG_OK);
    break;
  default:
    rt_failed(kad, &peer);
    break;
  }
}

void ggp_kad_on_fail(ggp_kad *kad, uint64_t reqid, int err, gg_ts ts) {
  (void)err;
  req *r = req_get(kad, reqid);
  if (!r) return;
  req_failed(kad, r, ts);
  deliver_done(kad, ts);
}

/* ---- liveness checks ------------------------------------------------------------------------ */

static void start_check(ggp_kad *kad, rt_entry *e, gg_ts ts) {
  if (!kad->cb.check_peer) return;
  req *r = gg_calloc(kad->mem, 1, sizeof(*r));
  if (!r) return;
  r->id = ++kad->next_req;
  r->kind = R_CHECK;
  r->peer = e->id;
  r->deadline = ts + kad->s.request_timeout;
  if (gg_map_put(&kad->reqs, &r->id, sizeof(r->id), r, NULL) != GG_OK) {
    gg_free(kad->mem, r);
    return;
  }
  e->checking = 1;
  ggp_kad_peerinfo pi;
  pinfo(&pi, &e->id, e->addrs);
  kad->cb.check_peer(kad, &pi, kad->ud);
}

/* Finds the pending check request for peer. */
static req *find_check(ggp_kad *kad, const gg_peerid *peer) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&kad->reqs, &it))) {
    req *r = e->val;
    if (r->kind == R_CHECK && gg_peerid_eq(&r->peer, peer)) return r;
  }
  return NULL;
}

static void check_done(ggp_kad *kad, const gg_peerid *peer, int alive, gg_ts ts) {
  bucket *b;
  int i;
  rt_entry *e = rt_find(kad, peer, &b, &i);
  if (!e) return;
  e->checking = 0;
  if (alive) {
    remove_at(b->e, &b->n, (size_t)i);
    b->e[b->n++] = e;
    e->last_seen = ts;
    e->fails = 0;
  } else {
    rt_evict(kad, b, (size_t)i);
  }
}

void ggp_kad_check_result(ggp_kad *kad, const gg_peerid *peer, int alive, gg_ts ts) {
  req *r = find_check(kad, peer);
  if (!r) return;
  req_drop(kad, r);
  check_done(kad, peer, alive, ts);
  deliver_done(kad, ts);
}

void ggp_kad_remove_peer(ggp_kad *kad, const gg_peerid *peer) {
  bucket *b;
  int i;
  if (rt_find(kad, peer, &b, &i)) {
    rt_evict(kad, b, (size_t)i);
    return;
  }
  uint8_t h[32];
  peer_hash(peer, h);
  b = kad->buckets[ggp_kad_cpl(kad->self_hash, h) & 255];
  if (b && (i = find_in(b->r, b->nr, peer)) >= 0) { /* waiting in the replacement cache */
    rt_entry *e = b->r[i];
    remove_at(b->r, &b->nr, (size_t)i);
    entry_free(kad, e);
  }
}

int ggp_kad_peer_seen(ggp_kad *kad, const ggp_kad_peerinfo *peer, gg_ts ts) {
  rt_update(kad, peer, ts);
  deliver_done(kad, ts);
  return GG_OK;
}

/* ---- inbound requests ----------------------------------------------------------------------- */

static int rate_ok(ggp_kad *kad, const gg_peerid *from, gg_ts ts) {
  ratebucket *b = gg_map_get(&kad->rates, from->b, from->len);
  if (!b) {
    if (gg_map_count(&kad->rates) >= RATE_MAP_MAX) { /* forget everyone: bounded memory */
      size_t it = 0;
      const gg_map_entry *e;
      while ((e = gg_map_next(&kad->rates, &it))) gg_free(kad->mem, e->val);
      gg_map_free(&kad->rates);
      gg_map_init(&kad->rates, kad->mem, kad->rand);
    }
    b = gg_malloc(kad->mem, sizeof(*b));
    if (!b) return 0;
    b->tokens = kad->s.req_burst;
    b->last = ts;
    if (gg_map_put(&kad->rates, from->b, from->len, b, NULL) != GG_OK) {
      gg_free(kad->mem, b);
      return 0;
    }
  }
  if (ts > b->last) {
    b->tokens += (double)(ts - b->last) / 1e9 * kad->s.req_rate;
    if (b->tokens > kad->s.req_burst) b->tokens = kad->s.req_burst;
    b->last = ts;
  }
  if (b->tokens < 1) return 0;
  b->tokens -= 1;
  return 1;
}

/* Adds the k closest routing-table peers to target (with addresses) to l, skipping skip. An
 * exact match on a peer id gives that peer alone (spec, FIND_NODE). */
static void closer_peers(ggp_kad *kad, const uint8_t *key, size_t klen, const gg_peerid *skip,
                         pblist *l) {
  gg_peerid exact;
  /* (not when the requester looks itself up: that is how it finds its neighbours) */
  if (gg_peerid_from_bytes(&exact, key, klen) == GG_OK && !(skip && gg_peerid_eq(&exact, skip))) {
    const rt_entry *e = rt_find(kad, &exact, NULL, NULL);
    if (e) {
      pblist_add(l, &e->id, e->addrs);
      return;
    }
  }
  uint8_t target[32];
  ggp_kad_hash(key, klen, target);
  distent *d;
  size_t n = rt_closest(kad, target, kad->s.k + 1, &d);
  for (size_t i = 0; i < n && l->n < kad->s.k; i++) {
    if (skip && gg_peerid_eq(&d[i].e->id, skip)) continue;
    pblist_add(l, &d[i].e->id, d[i].e->addrs);
  }
  gg_free(kad->mem, d);
}

static int handle_msg(ggp_kad *kad, const gg_peerid *from, KadPb__Message *m, const uint8_t *raw,
                      size_t rawlen, gg_ts ts, gg_buf *reply) {
  KadPb__Message r;
  kad_pb__message__init(&r);
  r.has_type = 1;
  r.type = m->type;
  if (m->has_key) {
    r.has_key = 1;
    r.key = m->key;
  }
  const uint8_t *key = m->has_key ? m->key.data : NULL;
  size_t klen = m->has_key ? m->key.len : 0;
  if (klen > MAX_KEY_LEN) return GG_ETOOBIG;
  pblist closer, provs;
  memset(&provs, 0, sizeof(provs));
  int rv = pblist_init(kad, &closer, kad->s.k + 1);
  KadPb__Record rec;
  char tbuf[64];
  switch (m->type) {
  case KAD_PB__MESSAGE__MESSAGE_TYPE__PING:
    break;
  case KAD_PB__MESSAGE__MESSAGE_TYPE__FIND_NODE:
    if (!key) rv = GG_EPROTO;
    if (rv == GG_OK) closer_peers(kad, key, klen, from, &closer);
    break;
  case KAD_PB__MESSAGE__MESSAGE_TYPE__GET_VALUE: {
    if (!key || !klen) {
      rv = GG_EPROTO;
      break;
    }
    record *rc = gg_map_get(&kad->records, key, klen);
    if (rc && record_live(kad, rc, ts)) {
      kad_pb__record__init(&rec);
      rec.has_key = 1;
      rec.key.data = rc->key;
      rec.key.len = rc->klen;
      rec.has_value = 1;
      rec.value.data = rc->val;
      rec.value.len = rc->vlen;
      rfc3339(rc->received, tbuf);
      rec.timereceived = tbuf;
      r.record = &rec;
    }
    closer_peers(kad, key, klen, from, &closer);
    break;
  }
  case KAD_PB__MESSAGE__MESSAGE_TYPE__PUT_VALUE: {
    const KadPb__Record *in = m->record;
    if (!key || !in || !in->has_value) {
      rv = GG_EPROTO;
      break;
    }
    if (in->has_key && (in->key.len != klen || memcmp(in->key.data, key, klen))) {
      rv = GG_EPROTO;
      break;
    }
    rv = validate_record(kad, key, klen, in->value.data, in->value.len);
    if (rv == GG_OK) rv = store_record(kad, key, klen, in->value.data, in->value.len, from, ts, 1);
    if (rv == GG_OK) { /* the reply echoes the request, as go and js do */
      pblist_free(kad, &closer);
      return gg_buf_append(reply, raw, rawlen);
    }
    break;
  }
  case KAD_PB__MESSAGE__MESSAGE_TYPE__ADD_PROVIDER: {
    if (!key || !valid_multihash(key, klen)) {
      rv = GG_EPROTO;
      break;
    }
    gg_slice *sl = gg_malloc(kad->mem, kad->s.max_addrs * sizeof(*sl));
    if (!sl) {
      rv = GG_ENOMEM;
      break;
    }
    for (size_t i = 0; i < m->n_providerpeers; i++) {
      ggp_kad_peerinfo pi;
      size_t n;
      if (peer_from_pb(kad, m->providerpeers[i], &pi.id, sl, &n) != GG_OK) continue;
      /* only the sender may announce itself, and only with an address (as js) */
      if (!gg_peerid_eq(&pi.id, from) || n == 0) continue;
      pi.addrs = sl;
      pi.naddrs = n;
      rv = store_provider(kad, key, klen, &pi, ts + kad->s.provider_ttl, 1);
      break;
    }
    gg_free(kad->mem, sl);
    pblist_free(kad, &closer);
    return rv; /* no reply */
  }
  case KAD_PB__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS: {
    if (!key || !klen) {
      rv = GG_EPROTO;
      break;
    }
    provset *ps = gg_map_get(&kad->providers, key, klen);
    size_t np = ps ? ps->n : 0;
    if (rv == GG_OK) rv = pblist_init(kad, &provs, np + 1);
    if (rv == GG_OK && ps) {
      for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].expires > ts) pblist_add(&provs, &ps->v[i].id, prov_addrs(kad, &ps->v[i]));
    }
    r.n_providerpeers = provs.n;
    r.providerpeers = provs.ptrs;
    closer_peers(kad, key, klen, from, &closer);
    break;
  }
  default:
    rv = GG_EPROTO;
  }
  if (rv == GG_OK) {
    r.n_closerpeers = closer.n;
    r.closerpeers = closer.ptrs;
    rv = pack_msg(&r, reply);
  }
  pblist_free(kad, &closer);
  if (provs.peers) pblist_free(kad, &provs);
  return rv;
}

int ggp_kad_handle_request(ggp_kad *kad, const gg_peerid *from, const uint8_t *msg, size_t len,
                           gg_ts ts, gg_buf *reply) {
  if (kad->s.client_mode) return GG_ESTATE;
  if (len > kad->s.max_message_size) return GG_ETOOBIG;
  if (!rate_ok(kad, from, ts)) {
    kad->refused++;
    return GG_ERATE;
  }
  KadPb__Message *m = unpack_msg(kad, msg, len);
  if (!m) {
    kad->refused++;
    return GG_EPROTO;
  }
  int rv = handle_msg(kad, from, m, msg, len, ts, reply);
  free_msg(kad, m);
  if (rv == GG_OK) kad->served++;
  else kad->refused++;
  deliver_done(kad, ts);
  return rv;
}

/* ---- starting queries -------------------------------------------------------------------------- */

static int start_query(ggp_kad *kad, query *q, gg_ts ts, uint64_t *qid) {
  if (qid) *qid = q->id;
  query_step(kad, q, ts);
  if (q->done) kad->wake = ts; /* deliver at the next handle_expiry, never from here */
  return GG_OK;
}

int ggp_kad_find_node(ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, uint64_t *qid) {
  if (!key || !klen || klen > MAX_KEY_LEN) return GG_EINVAL;
  query *q = query_new(kad, GGP_KAD_Q_FIND_NODE, 0, key, klen, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  return start_query(kad, q, ts, qid);
}

int ggp_kad_find_peer(ggp_kad *kad, const gg_peerid *peer, gg_ts ts, uint64_t *qid) {
  query *q = query_new(kad, GGP_KAD_Q_FIND_PEER, 0, peer->b, peer->len, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  q->want = *peer;
  const rt_entry *e = rt_find(kad, peer, NULL, NULL); /* known locally: done at once */
  if (e) {
    q->want_addrs = addrs_dup(kad->mem, e->addrs->v, e->addrs->n, kad->s.max_addrs);
    q->have_want = q->want_addrs != NULL;
  }
  return start_query(kad, q, ts, qid);
}

int ggp_kad_get_value(ggp_kad *kad, const uint8_t *key, size_t klen, size_t quorum, gg_ts ts,
                      uint64_t *qid) {
  if (!key || !klen || klen > MAX_KEY_LEN) return GG_EINVAL;
  if (!validator_for(kad, key, klen)) return GG_EINVAL;
  query *q = query_new(kad, GGP_KAD_Q_GET_VALUE, 0, key, klen, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  if (quorum) q->quorum = quorum;
  record *r = gg_map_get(&kad->records, key, klen);
  if (r && record_live(kad, r, ts)) { /* the local store counts as one answer */
    q->best = gg_memdup(kad->mem, r->val, r->vlen);
    if (q->best) {
      q->bestlen = r->vlen;
      q->nvals = 1;
    }
  }
  return start_query(kad, q, ts, qid);
}

int ggp_kad_put_value(ggp_kad *kad, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen, gg_ts ts, uint64_t *qid) {
  if (!key || !klen) return GG_EINVAL;
  int rv = validate_record(kad, key, klen, val, vlen);
  if (rv) return rv == GG_ETOOBIG ? GG_EINVAL : rv;
  rv = store_record(kad, key, klen, val, vlen, NULL, ts, 1);
  if (rv) return rv;
  query *q = query_new(kad, GGP_KAD_Q_PUT_VALUE, 0, key, klen, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  q->val = gg_memdup(kad->mem, val, vlen);
  q->vlen = vlen;
  if (!q->val) {
    query_finish(kad, q, GG_ENOMEM);
    kad->wake = ts;
    return GG_ENOMEM;
  }
  return start_query(kad, q, ts, qid);
}

static int provide(ggp_kad *kad, const uint8_t *key, size_t klen, int internal, gg_ts ts,
                   uint64_t *qid) {
  if (!key || !valid_multihash(key, klen)) return GG_EINVAL;
  query *q = query_new(kad, GGP_KAD_Q_PROVIDE, internal, key, klen, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  gg_ts *last = gg_map_get(&kad->provided, key, klen);
  if (!last) {
    last = gg_malloc(kad->mem, sizeof(*last));
    if (last && gg_map_put(&kad->provided, key, klen, last, NULL) != GG_OK) {
      gg_free(kad->mem, last);
      last = NULL;
    }
  }
  if (last) *last = ts;
  /* we are a provider ourselves: answer GET_PROVIDERS with our own addresses */
  ggp_kad_peerinfo self;
  pinfo(&self, &kad->self, kad->self_addrs);
  store_provider(kad, key, klen, &self, ts + kad->s.provider_ttl, 1);
  return start_query(kad, q, ts, qid);
}

int ggp_kad_provide(ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, uint64_t *qid) {
  return provide(kad, key, klen, 0, ts, qid);
}

int ggp_kad_get_providers(ggp_kad *kad, const uint8_t *key, size_t klen, size_t max, gg_ts ts,
                          uint64_t *qid) {
  if (!key || !klen || klen > MAX_KEY_LEN) return GG_EINVAL;
  query *q = query_new(kad, GGP_KAD_Q_GET_PROVIDERS, 0, key, klen, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  q->maxfound = max ? max : kad->s.k;
  q->found = gg_calloc(kad->mem, q->maxfound, sizeof(provider));
  if (!q->found) {
    query_finish(kad, q, GG_ENOMEM);
    kad->wake = ts;
    return GG_ENOMEM;
  }
  provset *ps = gg_map_get(&kad->providers, key, klen); /* local providers first */
  for (size_t i = 0; ps && i < ps->n; i++)
    if (ps->v[i].expires > ts) {
      const addrs *a = prov_addrs(kad, &ps->v[i]);
      got_provider(kad, q, &ps->v[i].id, a->v, a->n);
    }
  return start_query(kad, q, ts, qid);
}

/*
 * Random refresh targets. A bucket refresh looks up a random sha2-256 peer id whose hash
 * shares exactly cpl leading bits with ours. For small cpl, brute force is cheap (about
 * 2^(cpl+1) hashes). For deep buckets (large networks, the simulator) a process-wide table
 * maps every 16-bit hash prefix to a counter value whose key hashes to that prefix, built once
 * on first use (about 770,000 hashes, as go-libp2p-kbucket's precomputed table); the key is then
 * adjusted to the wanted prefix. The table is pure data, the same in every process.
 */
#define BRUTE_MAX_CPL 9

static void counter_key(uint32_t ctr, uint8_t key[34]) {
  memset(key, 0, 34);
  key[0] = 0x12;
  key[1] = 0x20;
  memcpy(key + 2, "ggen-kad-refresh", 16);
  key[18] = (uint8_t)ctr;
  key[19] = (uint8_t)(ctr >> 8);
  key[20] = (uint8_t)(ctr >> 16);
  key[21] = (uint8_t)(ctr >> 24);
}

static const uint32_t *prefix_table(const gg_mem *mem) {
  static uint32_t *table;
  if (table) return table;
  uint32_t *t = gg_malloc(mem, 65536 * sizeof(uint32_t));
  if (!t) return NULL;
  memset(t, 0xff, 65536 * sizeof(uint32_t));
  size_t filled = 0;
  for (uint32_t ctr = 0; filled < 65536 && ctr < 0xfffffffeu; ctr++) {
    uint8_t key[34], h[32];
    counter_key(ctr, key);
    ggp_kad_hash(key, 34, h);
    uint32_t p = (uint32_t)h[0] << 8 | h[1];
    if (t[p] == 0xffffffffu) {
      t[p] = ctr;
      filled++;
    }
  }
  table = t; /* kept for the life of the process */
  return table;
}

void ggp_kad_refresh_key(ggp_kad *kad, unsigned cpl, uint8_t key[34]) {
  uint8_t h[32];
  if (cpl > BRUTE_MAX_CPL) {
    const uint32_t *t = prefix_table(kad->mem);
    if (t) {
      /* wanted 16-bit prefix: our first cpl bits, bit cpl flipped, random rest */
      uint32_t mine = (uint32_t)kad->self_hash[0] << 8 | kad->self_hash[1];
      uint32_t rnd = (uint32_t)gg_rand_u64(kad->rand) & 0xffff;
      uint32_t keep = cpl ? (0xffffu << (16 - cpl)) & 0xffffu : 0;
      uint32_t flip = 0x8000u >> cpl;
      uint32_t want = (mine & keep) | (rnd & ~keep & 0xffffu);
      want = (want & ~flip) | (~mine & flip);
      counter_key(t[want & 0xffff], key);
      return;
    }
  }
  key[0] = 0x12;
  key[1] = 0x20;
  for (unsigned tries = 0; tries < (1u << 20); tries++) {
    kad->rand->fill(kad->rand->ud, key + 2, 32);
    ggp_kad_hash(key, 34, h);
    if (ggp_kad_cpl(h, kad->self_hash) == cpl) return;
  }
}

static void refresh_buckets(ggp_kad *kad, gg_ts ts, int force) {
  int top = -1;
  for (int c = 0; c < GGP_KAD_KEYBITS; c++)
    if (kad->buckets[c] && kad->buckets[c]->n) top = c;
  int maxcpl = top + 1 < REFRESH_MAX_CPL ? top + 1 : REFRESH_MAX_CPL;
  for (int c = 0; c < maxcpl; c++) {
    bucket *b = bucket_get(kad, (unsigned)c, 1);
    if (!b || (!force && ts < b->last_refresh + kad->s.refresh_interval)) continue;
    b->last_refresh = ts;
    uint8_t key[34];
    ggp_kad_refresh_key(kad, (unsigned)c, key);
    query *q = query_new(kad, GGP_KAD_Q_FIND_NODE, 1, key, sizeof(key), ts);
    if (q) start_query(kad, q, ts, NULL);
  }
}

int ggp_kad_bootstrap(ggp_kad *kad, gg_ts ts, uint64_t *qid) {
  query *q = query_new(kad, GGP_KAD_Q_BOOTSTRAP, 0, kad->self.b, kad->self.len, ts);
  if (!q) return kad->nqueries >= kad->s.max_queries ? GG_ELIMIT : GG_ENOMEM;
  int rv = start_query(kad, q, ts, qid);
  kad->next_refresh = ts + kad->s.refresh_interval; /* buckets: when the self-lookup ends */
  return rv;
}

void ggp_kad_cancel(ggp_kad *kad, uint64_t qid) {
  for (query *q = kad->queries; q; q = q->next) {
    if (q->id == qid) {
      query_finish(kad, q, GG_ECANCELED);
      kad->wake = 0;
      return;
    }
  }
}

/* ---- timers ----------------------------------------------------------------------------------- */

gg_ts ggp_kad_expiry(const ggp_kad *kad) {
  gg_ts t = kad->wake;
  if (kad->done) t = 0;
  for (const query *q = kad->queries; q; q = q->next) t = gg_ts_min(t, q->deadline);
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&kad->reqs, &it))) t = gg_ts_min(t, ((const req *)e->val)->deadline);
  if (kad->rt_count) t = gg_ts_min(t, kad->next_refresh);
  t = gg_ts_min(t, kad->next_maint);
  return t;
}

static void republish(ggp_kad *kad, gg_ts ts) {
  size_t it = 0;
  const gg_map_entry *e;
  size_t n = 0;
  record **due = gg_malloc(kad->mem, (gg_map_count(&kad->records) + 1) * sizeof(*due));
  if (due) {
    while ((e = gg_map_next(&kad->records, &it))) {
      record *r = e->val;
      if (r->published && ts >= r->last_publish + kad->s.republish_interval) due[n++] = r;
    }
    for (size_t i = 0; i < n; i++) {
      record *r = due[i];
      r->last_publish = ts;
      r->received = ts;
      notify_record(kad, r);
      query *q = query_new(kad, GGP_KAD_Q_PUT_VALUE, 1, r->key, r->klen, ts);
      if (!q) continue;
      q->val = gg_memdup(kad->mem, r->val, r->vlen);
      q->vlen = r->vlen;
      if (q->val) start_query(kad, q, ts, NULL);
      else query_finish(kad, q, GG_ENOMEM);
    }
    gg_free(kad->mem, due);
  }
  it = 0;
  n = 0;
  uint8_t **keys = gg_malloc(kad->mem, (gg_map_count(&kad->provided) + 1) * sizeof(*keys));
  size_t *lens = gg_malloc(kad->mem, (gg_map_count(&kad->provided) + 1) * sizeof(*lens));
  if (keys && lens) {
    while ((e = gg_map_next(&kad->provided, &it))) {
      if (ts >= *(gg_ts *)e->val + kad->s.reprovide_interval) {
        keys[n] = gg_memdup(kad->mem, e->key, e->klen);
        lens[n] = e->klen;
        if (keys[n]) n++;
      }
    }
    for (size_t i = 0; i < n; i++) {
      provide(kad, keys[i], lens[i], 1, ts, NULL);
      gg_free(kad->mem, keys[i]);
    }
  }
  gg_free(kad->mem, keys);
  gg_free(kad->mem, lens);
}

void ggp_kad_handle_expiry(ggp_kad *kad, gg_ts ts) {
  kad->wake = GG_TS_UNSET;
  /* request deadlines */
  for (;;) {
    size_t it = 0;
    const gg_map_entry *e;
    req *late = NULL;
    while ((e = gg_map_next(&kad->reqs, &it))) {
      req *r = e->val;
      if (r->deadline <= ts) {
        late = r;
        break;
      }
    }
    if (!late) break;
    if (late->kind == R_CHECK) {
      gg_peerid peer = late->peer;
      req_drop(kad, late);
      check_done(kad, &peer, 0, ts);
    } else {
      if (kad->cb.cancel_request) kad->cb.cancel_request(kad, late->id, kad->ud);
      req_failed(kad, late, ts);
    }
  }
  /* query deadlines */
  for (query *q = kad->queries, *next; q; q = next) {
    next = q->next;
    if (q->deadline <= ts) {
      int ok = q->type == GGP_KAD_Q_GET_VALUE ? q->nvals > 0
               : q->type == GGP_KAD_Q_GET_PROVIDERS ? q->nfound > 0
                                                      : 0;
      query_finish(kad, q, ok ? GG_OK : GG_ETIMEDOUT);
    }
  }
  if (kad->rt_count && ts >= kad->next_refresh) {
    kad->next_refresh = ts + kad->s.refresh_interval;
    refresh_buckets(kad, ts, 0);
  }
  if (ts >= kad->next_maint) {
    kad->next_maint = ts + MAINT_INTERVAL;
    expire_stores(kad, ts);
    republish(kad, ts);
  }
  deliver_done(kad, ts);
}

/* ---- persistence -------------------------------------------------------------------------------- */

int ggp_kad_load_record(ggp_kad *kad, const ggp_kad_record *rec, gg_ts now) {
  if (!rec->published && now >= rec->received + kad->s.record_ttl) return GG_OK;
  int rv = validate_record(kad, rec->key, rec->klen, rec->val, rec->vlen);
  if (rv) return rv;
  /* remote records lose their origin across restarts: count them against no peer */
  rv = store_record(kad, rec->key, rec->klen, rec->val, rec->vlen, NULL, rec->received, 0);
  if (rv == GG_OK && !rec->published) {
    record *r = gg_map_get(&kad->records, rec->key, rec->klen);
    r->published = 0;
    memset(&r->from, 0, sizeof(r->from));
  }
  if (rv == GG_OK && rec->published) {
    record *r = gg_map_get(&kad->records, rec->key, rec->klen);
    r->last_publish = rec->received;
  }
  return rv;
}

int ggp_kad_load_provider(ggp_kad *kad, const uint8_t *key, size_t klen,
                          const ggp_kad_peerinfo *prov, gg_ts expires, gg_ts now) {
  if (expires <= now) return GG_OK;
  if (!valid_multihash(key, klen)) return GG_EINVAL;
  int rv = store_provider(kad, key, klen, prov, expires, 0);
  if (rv == GG_OK && gg_peerid_eq(&prov->id, &kad->self)) { /* ours: reprovide */
    gg_ts *last = gg_malloc(kad->mem, sizeof(*last));
    if (!last) return GG_ENOMEM;
    *last = expires - kad->s.provider_ttl;
    void *old;
    if (gg_map_put(&kad->provided, key, klen, last, &old) != GG_OK) {
      gg_free(kad->mem, last);
      return GG_ENOMEM;
    }
    gg_free(kad->mem, old);
  }
  return rv;
}

/* ---- construction, introspection ------------------------------------------------------------------ */

int ggp_kad_new(ggp_kad **out, const ggp_kad_callbacks *cb, const ggp_kad_settings *settings,
                const gg_peerid *self, const gg_rand *rand, const gg_mem *mem, void *ud) {
  ggp_kad_settings s;
  if (settings) s = *settings;
  else ggp_kad_settings_default(&s);
  if (!cb || !cb->send_request || !cb->query_done || !s.k || !s.alpha || !s.max_addrs)
    return GG_EINVAL;
  ggp_kad *kad = gg_calloc(mem, 1, sizeof(*kad));
  if (!kad) return GG_ENOMEM;
  kad->cb = *cb;
  kad->s = s;
  kad->rand = rand;
  kad->mem = mem;
  kad->ud = ud;
  kad->self = *self;
  peer_hash(self, kad->self_hash);
  kad->wake = GG_TS_UNSET;
  kad->next_refresh = GG_TS_UNSET;
  kad->next_maint = 0;
  gg_map_init(&kad->records, mem, rand);
  gg_map_init(&kad->peer_records, mem, rand);
  gg_map_init(&kad->providers, mem, rand);
  gg_map_init(&kad->provided, mem, rand);
  gg_map_init(&kad->reqs, mem, rand);
  gg_map_init(&kad->rates, mem, rand);
  kad->self_addrs = addrs_dup(mem, NULL, 0, 0);
  ggp_kad_validator pk = {"pk", pk_validate, pk_select, NULL};
  if (!kad->self_addrs || ggp_kad_add_validator(kad, &pk) != GG_OK) {
    ggp_kad_del(kad);
    return GG_ENOMEM;
  }
  *out = kad;
  return GG_OK;
}

static void free_map_values(ggp_kad *kad, gg_map *m, void (*fn)(ggp_kad *, void *)) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(m, &it))) fn(kad, e->val);
  gg_map_free(m);
}

static void fv_record(ggp_kad *kad, void *v) { record_free(kad, v); }
static void fv_provset(ggp_kad *kad, void *v) { provset_free(kad, v); }
static void fv_plain(ggp_kad *kad, void *v) { gg_free(kad->mem, v); }
static void fv_none(ggp_kad *kad, void *v) { (void)kad, (void)v; }

void ggp_kad_del(ggp_kad *kad) {
  if (!kad) return;
  for (int c = 0; c < GGP_KAD_KEYBITS; c++) {
    bucket *b = kad->buckets[c];
    if (!b) continue;
    for (size_t i = 0; i < b->n; i++) entry_free(kad, b->e[i]);
    for (size_t i = 0; i < b->nr; i++) entry_free(kad, b->r[i]);
    gg_free(kad->mem, b->e);
    gg_free(kad->mem, b->r);
    gg_free(kad->mem, b);
  }
  for (query *q = kad->queries, *n; q; q = n) {
    n = q->next;
    query_free(kad, q);
  }
  for (query *q = kad->done, *n; q; q = n) {
    n = q->next;
    query_free(kad, q);
  }
  free_map_values(kad, &kad->records, fv_record);
  free_map_values(kad, &kad->peer_records, fv_none);
  free_map_values(kad, &kad->providers, fv_provset);
  free_map_values(kad, &kad->provided, fv_plain);
  free_map_values(kad, &kad->reqs, fv_plain);
  free_map_values(kad, &kad->rates, fv_plain);
  for (size_t i = 0; i < kad->nval; i++) gg_free(kad->mem, (char *)kad->val[i].ns);
  gg_free(kad->mem, kad->self_addrs);
  gg_free(kad->mem, kad);
}

int ggp_kad_add_validator(ggp_kad *kad, const ggp_kad_validator *v) {
  if (!v || !v->ns || !*v->ns || strchr(v->ns, '/') || !v->validate || !v->select) return GG_EINVAL;
  size_t i;
  for (i = 0; i < kad->nval; i++)
    if (!strcmp(kad->val[i].ns, v->ns)) break;
  if (i == MAX_VALIDATORS) return GG_ELIMIT;
  char *ns = gg_strdup(kad->mem, v->ns);
  if (!ns) return GG_ENOMEM;
  if (i < kad->nval) gg_free(kad->mem, (char *)kad->val[i].ns);
  else kad->nval++;
  kad->val[i] = *v;
  kad->val[i].ns = ns;
  return GG_OK;
}

int ggp_kad_set_self_addrs(ggp_kad *kad, const gg_slice *a, size_t n) {
  addrs *na = addrs_dup(kad->mem, a, n, kad->s.max_addrs);
  if (!na) return GG_ENOMEM;
  gg_free(kad->mem, kad->self_addrs);
  kad->self_addrs = na;
  return GG_OK;
}

void ggp_kad_get_stats(const ggp_kad *kad, ggp_kad_stats *st) {
  memset(st, 0, sizeof(*st));
  st->routing_peers = kad->rt_count;
  for (int c = 0; c < GGP_KAD_KEYBITS; c++)
    if (kad->buckets[c] && kad->buckets[c]->n) st->buckets_used++;
  st->records = gg_map_count(&kad->records);
  st->record_bytes = kad->record_bytes;
  st->provider_keys = gg_map_count(&kad->providers);
  st->providers = kad->nproviders;
  st->queries = kad->nqueries;
  st->pending_requests = gg_map_count(&kad->reqs);
  st->requests_served = kad->served;
  st->requests_refused = kad->refused;
}

void ggp_kad_foreach_peer(const ggp_kad *kad,
                          void (*fn)(const ggp_kad_peerinfo *p, gg_ts last_seen, void *arg),
                          void *arg) {
  for (int c = 0; c < GGP_KAD_KEYBITS; c++) {
    const bucket *b = kad->buckets[c];
    for (size_t i = 0; b && i < b->n; i++) {
      ggp_kad_peerinfo pi;
      pinfo(&pi, &b->e[i]->id, b->e[i]->addrs);
      fn(&pi, b->e[i]->last_seen, arg);
    }
  }
}

int ggp_kad_get_local(const ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, gg_buf *val) {
  const record *r = gg_map_get(&kad->records, key, klen);
  if (!r || !record_live(kad, r, ts)) return GG_ENOTFOUND;
  return val ? gg_buf_append(val, r->val, r->vlen) : GG_OK;
}

const gg_peerid *ggp_kad_self(const ggp_kad *kad) { return &kad->self; }
