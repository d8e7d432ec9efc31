/*
 * Gossipsub router core (include/ggen/gossipsub.h; libp2p/specs pubsub/README.md,
 * pubsub/gossipsub/gossipsub-v1.0.md, -v1.1.md, -v1.2.md). Behaviour follows the spec and,
 * where the spec leaves room, js-libp2p gossipsub 14.x (the implementation we interoperate
 * with); deviations are marked "ours:" and listed in docs/gossipsub.md.
 *
 * Parts, in file order:
 *   - the wire: a zero-copy protobuf walker (the RPC is checked whole before anything is acted
 *     on, so a malformed RPC has no effect) and an encoder appending to gg_buf;
 *   - tables: peers, topics (subscribers, mesh, fanout, backoff), score slots;
 *   - peer scoring v1.1 (P1-P7, decay, retention of non-positive scores);
 *   - caches: message cache (history windows), seen cache (which doubles as the score's
 *     delivery record), pending validations, gossip promises;
 *   - the outbox: per-peer pending RPC content, coalesced and flushed at the end of each public
 *     entry point;
 *   - message processing (receive, validate, deliver, forward, publish);
 *   - control processing (GRAFT, PRUNE, IHAVE, IWANT, IDONTWANT) and subscriptions;
 *   - the heartbeat.
 *
 * Invariants:
 *   - a peer is in topic->mesh only if it is a gossipsub peer subscribed to that topic, and
 *     only for topics we are subscribed to; its score slot's in_mesh flag mirrors it;
 *   - every table a peer can grow has a cap from the settings (see the header);
 *   - events (validations, deliveries) and outboxes are processed only by finish(), at the end
 *     of a public entry point; finish() does not nest, so the validate/deliver callbacks may
 *     call public functions, whose work the outer finish() then completes;
 *   - messages are stored once, re-encoded canonically (known fields only) in a refcounted
 *     rawmsg shared by the message cache, pending validations and events.
 */
#include "ggen/gossipsub.h"

#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/map.h"
#include "ggen/varint.h"

#define SIGN_PREFIX "libp2p-pubsub:"
#define MAX_SLOTS 64    /* scored topics */
#define MAX_HISTORY 64  /* message cache windows */
#define SEEN_PEERS 8    /* duplicate senders remembered per message while it is validated */
#define PROMISE_PEERS 4 /* peers holding a promise for one message id */
#define OUT_FLUSH_MARGIN 1024
#define MAX_IP_LEN 16

/* ======================================================================================== */
/* wire: reading                                                                           */
/* ======================================================================================== */

typedef struct pbr {
  const uint8_t *p, *end;
} pbr;

typedef struct pbf {
  uint32_t field;
  int wt;
  uint64_t v;       /* wire type 0 */
  const uint8_t *s; /* wire type 2 */
  size_t len;
} pbf;

/* Reads the next field: 1 when one was read, 0 at the end, GG_EPROTO when malformed. */
static int pb_next(pbr *r, pbf *f) {
  if (r->p >= r->end) return 0;
  uint64_t key;
  int n = gg_varint_decode_u64(r->p, (size_t)(r->end - r->p), &key);
  if (n <= 0) return GG_EPROTO;
  r->p += n;
  if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) return GG_EPROTO;
  f->field = (uint32_t)(key >> 3);
  f->wt = (int)(key & 7);
  f->s = NULL;
  f->len = 0;
  switch (f->wt) {
  case 0:
    n = gg_varint_decode_u64(r->p, (size_t)(r->end - r->p), &f->v);
    if (n <= 0) return GG_EPROTO;
    r->p += n;
    return 1;
  case 1:
    if (r->end - r->p < 8) return GG_EPROTO;
    r->p += 8;
    return 1;
  case 2: {
    uint64_t l;
    n = gg_varint_decode_u64(r->p, (size_t)(r->end - r->p), &l);
    if (n <= 0) return GG_EPROTO;
    r->p += n;
    if (l > (uint64_t)(r->end - r->p)) return GG_EPROTO;
    f->s = r->p;
    f->len = (size_t)l;
    r->p += l;
    return 1;
  }
  case 5:
    if (r->end - r->p < 4) return GG_EPROTO;
    r->p += 4;
    return 1;
  default: return GG_EPROTO; /* groups (3, 4) are not used by pubsub */
  }
}

static void pb_init(pbr *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->end = p + len;
}

/* Message types of the schema (proto/gossipsub.proto), for the structural check. */
enum { T_RPC, T_SUB, T_MSG, T_CTL, T_IHAVE, T_IWANT, T_GRAFT, T_PRUNE, T_PI, T_IDW, T_N };
/* Per type and field 1..6: 0 unknown (any wire type), V varint, B bytes, or SUB(T_x) for an
 * embedded message. */
#define V 1
#define B 2
#define SUB(t) (16 + (t))
static const uint8_t schema[T_N][7] = {
    [T_RPC] = {0, SUB(T_SUB), SUB(T_MSG), SUB(T_CTL), 0, 0, 0},
    [T_SUB] = {0, V, B, 0, 0, 0, 0},
    [T_MSG] = {0, B, B, B, B, B, B},
    [T_CTL] = {0, SUB(T_IHAVE), SUB(T_IWANT), SUB(T_GRAFT), SUB(T_PRUNE), SUB(T_IDW), 0},
    [T_IHAVE] = {0, B, B, 0, 0, 0, 0},
    [T_IWANT] = {0, B, 0, 0, 0, 0, 0},
    [T_GRAFT] = {0, B, 0, 0, 0, 0, 0},
    [T_PRUNE] = {0, B, SUB(T_PI), V, 0, 0, 0},
    [T_PI] = {0, B, B, 0, 0, 0, 0},
    [T_IDW] = {0, B, 0, 0, 0, 0, 0},
};

/* Checks that p[0..len) is a well-formed message of type t (wire types of known fields,
 * lengths, nesting). GG_OK or GG_EPROTO. */
static int pb_check(const uint8_t *p, size_t len, int t) {
  pbr r;
  pbf f;
  int rc;
  pb_init(&r, p, len);
  while ((rc = pb_next(&r, &f)) == 1) {
    uint8_t want = f.field <= 6 ? schema[t][f.field] : 0;
    if (want == 0) continue;
    if (want == V) {
      if (f.wt != 0) return GG_EPROTO;
    } else if (f.wt != 2) {
      return GG_EPROTO;
    } else if (want >= 16 && pb_check(f.s, f.len, want - 16) != GG_OK) {
      return GG_EPROTO;
    }
  }
  return rc == 0 ? GG_OK : GG_EPROTO;
}

/* A Message's fields as slices into the received bytes; p == NULL means absent. A repeated
 * occurrence replaces the earlier one (protobuf's last-one-wins). */
typedef struct wmsg {
  gg_slice from, data, seqno, topic, sig, key;
} wmsg;

static void parse_msg(const uint8_t *p, size_t len, wmsg *m) {
  pbr r;
  pbf f;
  memset(m, 0, sizeof(*m));
  pb_init(&r, p, len);
  while (pb_next(&r, &f) == 1) {
    if (f.wt != 2) continue;
    gg_slice s = {f.s, f.len};
    switch (f.field) {
    case 1: m->from = s; break;
    case 2: m->data = s; break;
    case 3: m->seqno = s; break;
    case 4: m->topic = s; break;
    case 5: m->sig = s; break;
    case 6: m->key = s; break;
    default: break;
    }
  }
}

/* ======================================================================================== */
/* wire: writing                                                                           */
/* ======================================================================================== */

static size_t field_len(uint32_t field, size_t len) {
  return gg_varint_len((uint64_t)field << 3) + gg_varint_len(len) + len;
}

static int put_key(gg_buf *b, uint32_t field, int wt) {
  return gg_buf_append_varint(b, ((uint64_t)field << 3) | (uint64_t)wt);
}

static int put_bytes(gg_buf *b, uint32_t field, const void *p, size_t len) {
  int rc = put_key(b, field, 2);
  if (!rc) rc = gg_buf_append_varint(b, len);
  if (!rc && len) rc = gg_buf_append(b, p, len);
  return rc;
}

static int put_uint(gg_buf *b, uint32_t field, uint64_t v) {
  int rc = put_key(b, field, 0);
  return rc ? rc : gg_buf_append_varint(b, v);
}

/* Encodes the present fields of m in field order; sig_key 0 leaves out signature and key (the
 * bytes that are signed). */
static size_t msg_len(const wmsg *m, int sig_key) {
  const gg_slice *f[6] = {&m->from, &m->data, &m->seqno, &m->topic, &m->sig, &m->key};
  size_t n = 0;
  for (int i = 0; i < (sig_key ? 6 : 4); i++)
    if (f[i]->p) n += field_len((uint32_t)i + 1, f[i]->len);
  return n;
}

static int put_msg(gg_buf *b, const wmsg *m, int sig_key) {
  const gg_slice *f[6] = {&m->from, &m->data, &m->seqno, &m->topic, &m->sig, &m->key};
  for (int i = 0; i < (sig_key ? 6 : 4); i++) {
    if (!f[i]->p) continue;
    int rc = put_bytes(b, (uint32_t)i + 1, f[i]->p, f[i]->len);
    if (rc) return rc;
  }
  return GG_OK;
}

static const uint8_t empty_byte[1] = {0};

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

int ggp_gossip_sign_message(const gg_keypair *kp, const char *topic, const uint8_t *data,
                            size_t len, uint64_t seqno, int include_key, gg_buf *out) {
  if (!kp || !topic || !out || (!data && len)) return GG_EINVAL;
  gg_peerid id;
  gg_peerid_from_ed25519(&id, kp->pub);
  uint8_t sq[8], pk[GG_PUBKEY_PB_ED25519], sig[GG_ED25519_SIG];
  put_be64(sq, seqno);
  gg_pubkey_encode_ed25519(kp->pub, pk);
  wmsg m = {{id.b, id.len}, {data ? data : empty_byte, len},
            {sq, 8},        {(const uint8_t *)topic, strlen(topic)},
            {NULL, 0},      {NULL, 0}};
  /* The signed bytes: "libp2p-pubsub:" || Message{from, data, seqno, topic}. */
  gg_buf tbs;
  gg_buf_init(&tbs, out->mem, SIZE_MAX);
  int rc = gg_buf_append(&tbs, SIGN_PREFIX, sizeof(SIGN_PREFIX) - 1);
  if (!rc) rc = put_msg(&tbs, &m, 0);
  if (rc) {
    gg_buf_free(&tbs);
    return rc;
  }
  gg_sign(kp, gg_buf_ptr(&tbs), gg_buf_len(&tbs), sig);
  gg_buf_free(&tbs);
  m.sig = (gg_slice){sig, sizeof(sig)};
  if (include_key) m.key = (gg_slice){pk, sizeof(pk)};
  size_t before = gg_buf_len(out);
  rc = put_msg(out, &m, 1);
  if (rc) out->len = before; /* nothing half-written stays */
  return rc;
}

/* The author's PublicKey protobuf: inlined in an identity peer id, else the key field. */
static int author_key(const wmsg *m, const uint8_t **pb, size_t *len) {
  gg_peerid id;
  if (m->from.p && gg_peerid_from_bytes(&id, m->from.p, m->from.len) == GG_OK) {
    const uint8_t *q;
    size_t ql;
    if (gg_peerid_pubkey_pb(&id, &q, &ql) == GG_OK) {
      /* q points into the local id: locate the same bytes in the message */
      *pb = m->from.p + (size_t)(q - id.b);
      *len = ql;
      return GG_OK;
    }
  }
  if (m->key.p && m->key.len) {
    *pb = m->key.p;
    *len = m->key.len;
    return GG_OK;
  }
  return GG_EPROTO;
}

static int builtin_msgid(int fn, const wmsg *m, uint8_t *out) {
  if (!m->seqno.p || m->seqno.len != 8 || !m->from.p) return GG_EPROTO;
  const uint8_t *pre;
  size_t plen;
  if (fn == GGP_GOSSIP_MSGID_GO) {
    pre = m->from.p;
    plen = m->from.len;
  } else if (author_key(m, &pre, &plen) != GG_OK) {
    return GG_EPROTO;
  }
  if (plen + 8 > GGP_GOSSIP_MSGID_MAX) return GG_EPROTO;
  memcpy(out, pre, plen);
  memcpy(out + plen, m->seqno.p, 8);
  return (int)(plen + 8);
}

int ggp_gossip_message_id(int fn, const uint8_t *msg, size_t len, uint8_t *out) {
  if (!msg || !out || (fn != GGP_GOSSIP_MSGID_JS && fn != GGP_GOSSIP_MSGID_GO)) return GG_EINVAL;
  if (pb_check(msg, len, T_MSG) != GG_OK) return GG_EPROTO;
  wmsg m;
  parse_msg(msg, len, &m);
  return builtin_msgid(fn, &m, out);
}

/* ======================================================================================== */
/* protocol names                                                                          */
/* ======================================================================================== */

const char *const ggp_gossip_protocols[] = {GGP_GOSSIP_PROTO_V12, GGP_GOSSIP_PROTO_V11,
                                            GGP_GOSSIP_PROTO_V10, NULL};

const char *ggp_gossip_protocol(int version) {
  switch (version) {
  case GGP_GOSSIP_V12: return GGP_GOSSIP_PROTO_V12;
  case GGP_GOSSIP_V11: return GGP_GOSSIP_PROTO_V11;
  case GGP_GOSSIP_V10: return GGP_GOSSIP_PROTO_V10;
  case GGP_GOSSIP_FLOODSUB: return GGP_GOSSIP_PROTO_FLOODSUB;
  default: return NULL;
  }
}

int ggp_gossip_version(const char *proto, size_t len) {
  static const int v[] = {GGP_GOSSIP_V12, GGP_GOSSIP_V11, GGP_GOSSIP_V10, GGP_GOSSIP_FLOODSUB};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    const char *n = ggp_gossip_protocol(v[i]);
    if (strlen(n) == len && memcmp(n, proto, len) == 0) return v[i];
  }
  return 0;
}

/* ======================================================================================== */
/* structures                                                                              */
/* ======================================================================================== */

typedef struct topic topic;
typedef struct peer peer;

/* A message in its canonical encoding, shared by the caches and events. */
typedef struct rawmsg {
  uint32_t refs;
  size_t len;
  uint8_t b[];
} rawmsg;

/* Score counters of one peer in one scored topic. */
typedef struct tstats {
  uint8_t in_mesh;
  uint8_t active; /* P3 applies: in the mesh for longer than the activation time */
  gg_ts graft_time;
  gg_ts mesh_time;
  double first_deliveries, mesh_deliveries, mesh_failure_penalty, invalid_deliveries;
} tstats;

/* The score state of a peer: owned by the peer while connected, then retained for
 * retain_score when not positive (so that a misbehaving peer cannot reset it by
 * reconnecting). */
typedef struct pstats {
  gg_peerid id;
  int connected;
  gg_ts expire;
  uint8_t ip[MAX_IP_LEN];
  uint8_t iplen;
  double behaviour_penalty;
  tstats *t;
  size_t nt;
  double cached;
  uint64_t epoch; /* cached is valid while epoch == g->epoch */
  struct pstats *rnext, *rprev;
} pstats;

typedef struct outbox {
  gg_buf body;  /* RPC fields 1 (subscriptions) and 2 (messages), encoded */
  gg_buf ihave; /* ControlMessage field 1 entries */
  gg_buf gp;    /* ControlMessage fields 3 (GRAFT) and 4 (PRUNE) entries */
  gg_buf iwant; /* ControlIWant field 1 entries (wrapped into one IWANT at flush) */
  gg_buf idw;   /* ControlIDontWant field 1 entries (wrapped into one IDONTWANT) */
} outbox;

struct peer {
  gg_peerid id;
  uint64_t serial; /* never reused: caches refer to peers by serial */
  int version;
  unsigned flags;
  size_t idx; /* in g->plist */
  pstats *ps;
  topic **topics; /* subscriptions, up to max_peer_topics */
  size_t ntopics, captopics;
  /* per-heartbeat counters */
  size_t peerhave, iasked, iwant_served, idontwant;
  /* inbound token buckets */
  double tok_rpc, tok_bytes, tok_msgs;
  gg_ts tok_ts;
  /* IDONTWANT ids in two generations, rotated every history_length heartbeats */
  gg_map dw[2];
  outbox *out;
  int dirty;
  uint64_t stamp; /* set membership during one selection */
};

typedef struct backoff {
  gg_ts until;
} backoff;

struct topic {
  size_t idx;
  int subscribed;
  int slot;    /* score slot or -1 */
  size_t refs; /* cache entries naming this topic */
  peer **subs;
  size_t nsubs, capsubs;
  peer **mesh;
  size_t nmesh, capmesh;
  peer **fanout;
  size_t nfanout, capfanout;
  gg_ts fanout_lastpub; /* GG_TS_UNSET: no fanout state */
  gg_map backoff;       /* peer id -> backoff */
  size_t len;
  char name[];
};

typedef struct slot {
  topic *t;
  ggp_gossip_topic_score p;
} slot;

/* Message cache entry (an accepted message within history_length heartbeats). */
typedef struct mentry {
  struct mentry *next;
  topic *t;
  rawmsg *raw;
  struct {
    uint64_t serial;
    uint32_t n;
  } * tx; /* IWANT transmissions per peer */
  uint32_t ntx, captx;
  uint64_t stamp; /* the IWANT RPC that last queued it: one copy per RPC */
  uint8_t idlen;
  uint8_t id[];
} mentry;

enum { S_UNKNOWN, S_VALID, S_INVALID, S_IGNORED };

/* Seen-cache entry; also the delivery record the score uses (go's "deliveries"). */
typedef struct seen {
  struct seen *next;
  gg_ts at;
  gg_ts validated;
  uint8_t status;
  uint8_t np;
  uint64_t peers[SEEN_PEERS]; /* serials of peers that sent it while it was validated */
  uint8_t idlen;
  uint8_t id[];
} seen;

/* A message waiting for (or in) validation, or our own message waiting for delivery. */
typedef struct pending {
  struct pending *next, *prev;
  rawmsg *raw;
  topic *t;
  uint64_t src_serial;
  gg_peerid src;
  gg_ts at;
  int own;    /* our own message: deliver only */
  int queued; /* in the event queue */
  int in_cb;  /* validate() is running on it */
  int result; /* answer given during validate(), or -1 */
  uint8_t idlen;
  uint8_t id[];
} pending;

typedef struct promise {
  uint8_t n;
  struct {
    uint64_t serial;
    gg_ts expire;
  } e[PROMISE_PEERS];
  uint8_t idlen;
  uint8_t id[];
} promise;

struct ggp_gossip {
  ggp_gossip_callbacks cb;
  ggp_gossip_settings s;
  const gg_rand *rand;
  const gg_mem *mem;
  void *ud;
  gg_keypair kp;
  gg_peerid self;
  uint64_t seqno;
  uint64_t next_serial;
  uint64_t stamp;

  gg_map peers;   /* id -> peer */
  gg_map serials; /* serial -> peer */
  peer **plist;
  size_t npeers, cappeers;

  gg_map topics; /* name -> topic */
  topic **tlist;
  size_t ntopics, captopics;
  size_t nbackoff, max_backoff;

  slot slots[MAX_SLOTS];
  int nslots; /* highest used slot + 1 */

  gg_map retained; /* id -> pstats of gone peers */
  pstats *rhead, *rtail;
  size_t nretained;
  gg_map ips; /* ip -> number of peers (connected or retained) with it */
  uint64_t epoch;

  gg_map mcache; /* id -> mentry */
  mentry *win[MAX_HISTORY];
  size_t mcache_n, mcache_bytes;

  gg_map seen; /* id -> seen */
  seen *shead, *stail;

  gg_map pend; /* id -> pending */
  pending *phead, *ptail;
  size_t npend;
  pending **ev; /* event queue */
  size_t nev, capev, evhead;

  gg_map promises; /* id -> promise */
  size_t npromises;

  peer **dirty;
  size_t ndirty, capdirty;
  gg_buf tx; /* scratch for one outgoing RPC */

  /* scratch arrays for peer selection */
  peer **cand, **sel, **pxsel;
  size_t capcand, capsel, cappxsel;

  int started;
  int finishing;
  gg_ts next_hb, next_decay;
  uint64_t ticks;
  uint64_t dw_gen_tick;

  ggp_gossip_stats st;
};

/* ---- small helpers --------------------------------------------------------------------- */

static size_t rnd(const ggp_gossip *g, size_t n) {
  return n ? (size_t)gg_rand_below(g->rand, n) : 0;
}

static void shuffle(const ggp_gossip *g, peer **a, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = rnd(g, i);
    peer *t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

/* Grows *arr (elements of size sz) to hold at least n. */
static int grow(const ggp_gossip *g, void **arr, size_t *cap, size_t n, size_t sz) {
  if (n <= *cap) return GG_OK;
  size_t nc = *cap ? *cap : 8;
  while (nc < n) nc *= 2;
  void *na = gg_realloc(g->mem, *arr, nc * sz);
  if (!na) return GG_ENOMEM;
  *arr = na;
  *cap = nc;
  return GG_OK;
}

#define GROW(g, arr, cap, n) grow((g), (void **)&(arr), &(cap), (n), sizeof(*(arr)))

static rawmsg *raw_new(const ggp_gossip *g, const uint8_t *p, size_t len) {
  rawmsg *r = gg_malloc(g->mem, sizeof(rawmsg) + len);
  if (!r) return NULL;
  r->refs = 1;
  r->len = len;
  memcpy(r->b, p, len);
  return r;
}

static void raw_unref(const ggp_gossip *g, rawmsg *r) {
  if (r && --r->refs == 0) gg_free(g->mem, r);
}

static peer *peer_get(const ggp_gossip *g, const gg_peerid *id) {
  return gg_map_get(&g->peers, id->b, id->len);
}

static peer *peer_by_serial(const ggp_gossip *g, uint64_t serial) {
  return gg_map_get(&g->serials, &serial, sizeof(serial));
}

static topic *topic_get(const ggp_gossip *g, const char *name, size_t len) {
  return gg_map_get(&g->topics, name, len);
}

static int is_gossip(const peer *p) { return p->version >= GGP_GOSSIP_V10; }

static int in_list(peer *const *a, size_t n, const peer *p) {
  for (size_t i = 0; i < n; i++)
    if (a[i] == p) return 1;
  return 0;
}

static int list_del(peer **a, size_t *n, const peer *p) {
  for (size_t i = 0; i < *n; i++) {
    if (a[i] == p) {
      a[i] = a[--*n];
      return 1;
    }
  }
  return 0;
}

static int peer_in_topic(const peer *p, const topic *t) {
  for (size_t i = 0; i < p->ntopics; i++)
    if (p->topics[i] == t) return 1;
  return 0;
}

/* ======================================================================================== */
/* settings                                                                                */
/* ======================================================================================== */

void ggp_gossip_topic_score_default(ggp_gossip_topic_score *p) {
  memset(p, 0, sizeof(*p));
  p->topic_weight = 1.0;
  p->time_in_mesh_weight = 0.0027; /* about 10 after an hour in the mesh */
  p->time_in_mesh_quantum = GG_SEC(1);
  p->time_in_mesh_cap = 3600;
  p->first_message_deliveries_weight = 1.0;
  p->first_message_deliveries_decay = 0.9;
  p->first_message_deliveries_cap = 100;
  p->mesh_message_deliveries_weight = 0; /* off: see the header */
  p->mesh_message_deliveries_decay = 0.9;
  p->mesh_message_deliveries_cap = 10;
  p->mesh_message_deliveries_threshold = 1;
  p->mesh_message_deliveries_window = GG_MS(10);
  p->mesh_message_deliveries_activation = GG_SEC(30);
  p->mesh_failure_penalty_weight = 0;
  p->mesh_failure_penalty_decay = 0.9;
  p->invalid_message_deliveries_weight = -5.0;
  p->invalid_message_deliveries_decay = 0.99;
}

void ggp_gossip_settings_default(ggp_gossip_settings *s) {
  memset(s, 0, sizeof(*s));
  s->d = 6;
  s->d_lo = 4;
  s->d_hi = 12;
  s->d_lazy = 6;
  s->d_score = 4;
  s->d_out = 2;
  s->gossip_factor = 0.25;
  s->heartbeat_interval = GG_SEC(1);
  s->heartbeat_initial_delay = GG_MS(100);
  s->history_length = 5;
  s->history_gossip = 3;
  s->fanout_ttl = GG_SEC(60);
  s->seen_ttl = GG_SEC(120);
  s->prune_backoff = GG_SEC(60);
  s->unsubscribe_backoff = GG_SEC(10);
  s->graft_flood_threshold = GG_SEC(10);
  s->iwant_followup_time = GG_SEC(3);
  s->prune_peers = 16;
  s->opportunistic_graft_ticks = 60;
  s->opportunistic_graft_peers = 2;
  s->gossip_retransmission = 3;
  s->backoff_clear_ticks = 15;
  s->flood_publish = 1;
  s->do_px = 0;
  s->emit_self = 0;
  s->include_key = 0;
  s->msgid_fn = GGP_GOSSIP_MSGID_JS;
  s->score_subscribed_topics = 1;
  s->idontwant_min_size = 512;
  s->score.topic_score_cap = 10;
  s->score.app_specific_weight = 10;
  s->score.ip_colocation_factor_weight = -5;
  s->score.ip_colocation_factor_threshold = 10;
  s->score.behaviour_penalty_weight = -10;
  s->score.behaviour_penalty_threshold = 0;
  s->score.behaviour_penalty_decay = 0.9;
  s->score.decay_interval = GG_SEC(1);
  s->score.decay_to_zero = 0.1;
  s->score.retain_score = GG_SEC(3600);
  s->score.gossip_threshold = -10;
  s->score.publish_threshold = -50;
  s->score.graylist_threshold = -80;
  s->score.accept_px_threshold = 10;
  s->score.opportunistic_graft_threshold = 20;
  s->max_message_size = 1u << 20;
  s->max_rpc_size = 4u << 20;
  s->max_peers = 2048;
  s->max_topics = 1024;
  s->max_peer_topics = 128;
  s->max_subscriptions_per_rpc = 256;
  s->max_messages_per_rpc = 1024;
  s->max_ihave_length = 5000;
  s->max_ihave_messages = 10;
  s->max_iwant_ids = 5000;
  s->max_idontwant = 512;
  s->max_control_per_rpc = 1024;
  s->max_px_peers = 64;
  s->seen_cap = 65536;
  s->mcache_cap = 16384;
  s->mcache_bytes = 128u << 20;
  s->max_pending = 1024;
  s->validation_timeout = GG_SEC(10);
  s->max_retained = 4096;
  s->max_promises = 16384;
  s->rpc_rate = 200;
  s->rpc_burst = 1000;
  s->byte_rate = 8.0 * 1024 * 1024;
  s->byte_burst = 32.0 * 1024 * 1024;
  s->msg_rate = 500;
  s->msg_burst = 2000;
}

static int settings_ok(const ggp_gossip_settings *s) {
  const ggp_gossip_score *c = &s->score;
  if (s->d_hi < s->d || s->d < s->d_lo) return 0;
  if (s->d_out > s->d_lo && s->d_lo) return 0; /* spec: D_out < D_lo and <= D/2 */
  if (!s->heartbeat_interval || !s->history_length || s->history_length > MAX_HISTORY) return 0;
  if (s->history_gossip > s->history_length) return 0;
  if (s->gossip_factor < 0 || s->gossip_factor > 1) return 0;
  if (s->max_message_size < 64 || s->max_rpc_size < s->max_message_size + 64) return 0;
  if (!s->max_peers || !s->max_topics || !s->seen_cap || !s->mcache_cap) return 0;
  if (s->msgid_fn < GGP_GOSSIP_MSGID_JS || s->msgid_fn > GGP_GOSSIP_MSGID_CUSTOM) return 0;
  if (!c->decay_interval || c->decay_to_zero <= 0 || c->decay_to_zero >= 1) return 0;
  if (c->gossip_threshold > 0 || c->publish_threshold > c->gossip_threshold ||
      c->graylist_threshold >= c->publish_threshold)
    return 0;
  if (c->accept_px_threshold < 0 || c->opportunistic_graft_threshold < 0) return 0;
  if (c->ip_colocation_factor_weight > 0 || c->behaviour_penalty_weight > 0) return 0;
  if (c->behaviour_penalty_weight != 0 &&
      (c->behaviour_penalty_decay <= 0 || c->behaviour_penalty_decay >= 1))
    return 0;
  return 1;
}

static int topic_score_ok(const ggp_gossip_topic_score *p) {
  if (p->topic_weight < 0 || p->time_in_mesh_weight < 0 || p->first_message_deliveries_weight < 0)
    return 0;
  if (p->time_in_mesh_weight != 0 && (!p->time_in_mesh_quantum || p->time_in_mesh_cap <= 0))
    return 0;
  if (!p->time_in_mesh_quantum) return 0;
  if (p->mesh_message_deliveries_weight > 0 || p->mesh_failure_penalty_weight > 0 ||
      p->invalid_message_deliveries_weight > 0)
    return 0;
  const double d[] = {p->first_message_deliveries_decay, p->mesh_message_deliveries_decay,
                      p->mesh_failure_penalty_decay, p->invalid_message_deliveries_decay};
  for (size_t i = 0; i < 4; i++)
    if (d[i] < 0 || d[i] >= 1) return 0;
  return 1;
}

/* ======================================================================================== */
/* peer scoring (v1.1 "Peer Scoring")                                                      */
/* ======================================================================================== */

static void dirty_all(ggp_gossip *g) { g->epoch++; }
static void dirty(pstats *ps) { ps->epoch = 0; }

static tstats *tstat(ggp_gossip *g, pstats *ps, const topic *t) {
  if (!ps || !t || t->slot < 0) return NULL;
  size_t i = (size_t)t->slot;
  if (i >= ps->nt) {
    size_t nn = (size_t)g->nslots;
    tstats *n = gg_realloc(g->mem, ps->t, nn * sizeof(tstats));
    if (!n) return NULL; /* the event is not scored; nothing else breaks */
    memset(n + ps->nt, 0, (nn - ps->nt) * sizeof(tstats));
    ps->t = n;
    ps->nt = nn;
  }
  return &ps->t[i];
}

static double score_of(ggp_gossip *g, pstats *ps) {
  if (!ps) return 0;
  if (ps->epoch == g->epoch) return ps->cached;
  const ggp_gossip_score *c = &g->s.score;
  double s = 0;
  for (size_t i = 0; i < ps->nt && i < (size_t)g->nslots; i++) {
    const slot *sl = &g->slots[i];
    if (!sl->t) continue;
    const ggp_gossip_topic_score *p = &sl->p;
    const tstats *t = &ps->t[i];
    double ts = 0;
    if (t->in_mesh) {
      double p1 = (double)t->mesh_time / (double)p->time_in_mesh_quantum;
      if (p1 > p->time_in_mesh_cap) p1 = p->time_in_mesh_cap;
      ts += p1 * p->time_in_mesh_weight;
    }
    double p2 = t->first_deliveries;
    if (p2 > p->first_message_deliveries_cap) p2 = p->first_message_deliveries_cap;
    ts += p2 * p->first_message_deliveries_weight;
    if (t->active && t->mesh_deliveries < p->mesh_message_deliveries_threshold) {
      double deficit = p->mesh_message_deliveries_threshold - t->mesh_deliveries;
      ts += deficit * deficit * p->mesh_message_deliveries_weight;
    }
    ts += t->mesh_failure_penalty * p->mesh_failure_penalty_weight;
    ts += t->invalid_deliveries * t->invalid_deliveries * p->invalid_message_deliveries_weight;
    s += ts * p->topic_weight;
  }
  if (c->topic_score_cap > 0 && s > c->topic_score_cap) s = c->topic_score_cap;
  if (g->cb.app_score && c->app_specific_weight != 0)
    s += g->cb.app_score(g, &ps->id, g->ud) * c->app_specific_weight;
  if (ps->iplen && c->ip_colocation_factor_weight != 0) {
    size_t n = (size_t)(uintptr_t)gg_map_get(&g->ips, ps->ip, ps->iplen);
    if ((double)n > c->ip_colocation_factor_threshold) {
      double surplus = (double)n - c->ip_colocation_factor_threshold;
      s += surplus * surplus * c->ip_colocation_factor_weight;
    }
  }
  if (ps->behaviour_penalty > c->behaviour_penalty_threshold) {
    double excess = ps->behaviour_penalty - c->behaviour_penalty_threshold;
    s += excess * excess * c->behaviour_penalty_weight;
  }
  ps->cached = s;
  ps->epoch = g->epoch;
  return s;
}

static double score(ggp_gossip *g, peer *p) { return p ? score_of(g, p->ps) : 0; }

static void penalty(ggp_gossip *g, peer *p, double n) {
  if (!p || !p->ps || (p->flags & GGP_GOSSIP_DIRECT)) return;
  p->ps->behaviour_penalty += n;
  g->st.penalties += (uint64_t)n;
  dirty(p->ps);
}

static void score_graft(ggp_gossip *g, peer *p, topic *t, gg_ts ts) {
  tstats *s = tstat(g, p->ps, t);
  if (!s) return;
  s->in_mesh = 1;
  s->graft_time = ts;
  s->mesh_time = 0;
  s->active = 0;
  dirty(p->ps);
}

static void score_prune(ggp_gossip *g, peer *p, topic *t, int sticky) {
  tstats *s = tstat(g, p->ps, t);
  if (!s) return;
  const ggp_gossip_topic_score *tp = &g->slots[t->slot].p;
  if (sticky && s->active && s->mesh_deliveries < tp->mesh_message_deliveries_threshold) {
    double d = tp->mesh_message_deliveries_threshold - s->mesh_deliveries;
    s->mesh_failure_penalty += d * d;
  }
  s->in_mesh = 0;
  s->active = 0;
  dirty(p->ps);
}

static void mark_first(ggp_gossip *g, peer *p, topic *t) {
  tstats *s = tstat(g, p ? p->ps : NULL, t);
  if (!s) return;
  const ggp_gossip_topic_score *tp = &g->slots[t->slot].p;
  s->first_deliveries += 1;
  if (s->first_deliveries > tp->first_message_deliveries_cap)
    s->first_deliveries = tp->first_message_deliveries_cap;
  if (s->in_mesh) {
    s->mesh_deliveries += 1;
    if (s->mesh_deliveries > tp->mesh_message_deliveries_cap)
      s->mesh_deliveries = tp->mesh_message_deliveries_cap;
  }
  dirty(p->ps);
}

/* A near-first delivery by a mesh peer counts for P3 (validated 0: no window check). */
static void mark_dup(ggp_gossip *g, peer *p, topic *t, gg_ts validated, gg_ts ts) {
  tstats *s = tstat(g, p ? p->ps : NULL, t);
  if (!s || !s->in_mesh) return;
  const ggp_gossip_topic_score *tp = &g->slots[t->slot].p;
  if (validated && ts > validated + tp->mesh_message_deliveries_window) return;
  s->mesh_deliveries += 1;
  if (s->mesh_deliveries > tp->mesh_message_deliveries_cap)
    s->mesh_deliveries = tp->mesh_message_deliveries_cap;
  dirty(p->ps);
}

/* An invalid message (P4). ours: in a topic without score parameters (or with no topic at all)
 * it is a behaviour penalty (P7) instead, so that invalid messages always cost something. */
static void mark_invalid(ggp_gossip *g, peer *p, topic *t) {
  if (!p) return;
  g->st.msgs_invalid++;
  tstats *s = tstat(g, p->ps, t);
  if (!s) {
    penalty(g, p, 1);
    return;
  }
  s->invalid_deliveries += 1;
  dirty(p->ps);
}

static void ip_count(ggp_gossip *g, const uint8_t *ip, size_t len, int delta) {
  if (!len) return;
  uintptr_t n = (uintptr_t)gg_map_get(&g->ips, ip, len);
  if (delta < 0) {
    if (n <= 1)
      gg_map_del(&g->ips, ip, len);
    else
      gg_map_put(&g->ips, ip, len, (void *)(n - 1), NULL);
  } else if (gg_map_put(&g->ips, ip, len, (void *)(n + 1), NULL) != GG_OK) {
    return;
  }
  dirty_all(g); /* P6 of every peer on that IP changed */
}

static void pstats_free(ggp_gossip *g, pstats *ps) {
  if (!ps) return;
  ip_count(g, ps->ip, ps->iplen, -1);
  gg_free(g->mem, ps->t);
  gg_free(g->mem, ps);
}

static void retained_unlink(ggp_gossip *g, pstats *ps) {
  if (ps->rprev)
    ps->rprev->rnext = ps->rnext;
  else
    g->rhead = ps->rnext;
  if (ps->rnext)
    ps->rnext->rprev = ps->rprev;
  else
    g->rtail = ps->rprev;
  ps->rnext = ps->rprev = NULL;
  gg_map_del(&g->retained, ps->id.b, ps->id.len);
  g->nretained--;
}

/* The peer is gone: keep its score if it is not positive (go's rule), applying the mesh
 * failure penalty of the meshes it was in and dropping its first-delivery credit. */
static void pstats_retain(ggp_gossip *g, pstats *ps, gg_ts ts) {
  if (score_of(g, ps) > 0 || !g->s.score.retain_score || !g->s.max_retained) {
    pstats_free(g, ps);
    return;
  }
  for (size_t i = 0; i < ps->nt && i < (size_t)g->nslots; i++) {
    tstats *t = &ps->t[i];
    const slot *sl = &g->slots[i];
    t->first_deliveries = 0;
    if (sl->t && t->in_mesh && t->active &&
        t->mesh_deliveries < sl->p.mesh_message_deliveries_threshold) {
      double d = sl->p.mesh_message_deliveries_threshold - t->mesh_deliveries;
      t->mesh_failure_penalty += d * d;
    }
    t->in_mesh = 0;
    t->active = 0;
  }
  while (g->nretained >= g->s.max_retained && g->rhead) {
    pstats *old = g->rhead;
    retained_unlink(g, old);
    pstats_free(g, old);
  }
  if (gg_map_put(&g->retained, ps->id.b, ps->id.len, ps, NULL) != GG_OK) {
    pstats_free(g, ps);
    return;
  }
  ps->connected = 0;
  ps->expire = ts + g->s.score.retain_score;
  ps->rprev = g->rtail;
  ps->rnext = NULL;
  if (g->rtail)
    g->rtail->rnext = ps;
  else
    g->rhead = ps;
  g->rtail = ps;
  g->nretained++;
  dirty(ps);
}

static double decay(double v, double f, double zero) {
  v *= f;
  return v < zero ? 0 : v;
}

static void decay_stats(ggp_gossip *g, pstats *ps, gg_ts ts) {
  double z = g->s.score.decay_to_zero;
  for (size_t i = 0; i < ps->nt && i < (size_t)g->nslots; i++) {
    const slot *sl = &g->slots[i];
    if (!sl->t) continue;
    tstats *t = &ps->t[i];
    t->first_deliveries = decay(t->first_deliveries, sl->p.first_message_deliveries_decay, z);
    t->mesh_deliveries = decay(t->mesh_deliveries, sl->p.mesh_message_deliveries_decay, z);
    t->mesh_failure_penalty = decay(t->mesh_failure_penalty, sl->p.mesh_failure_penalty_decay, z);
    t->invalid_deliveries = decay(t->invalid_deliveries, sl->p.invalid_message_deliveries_decay, z);
    if (t->in_mesh) {
      if (t->graft_time == GG_TS_UNSET) t->graft_time = ts; /* scored after the graft */
      t->mesh_time = ts > t->graft_time ? ts - t->graft_time : 0;
      if (t->mesh_time > sl->p.mesh_message_deliveries_activation) t->active = 1;
    }
  }
  ps->behaviour_penalty = decay(ps->behaviour_penalty, g->s.score.behaviour_penalty_decay, z);
}

/* v1.1 "Parameter Decay", run every decay_interval; also forgets expired retained scores. */
static void refresh_scores(ggp_gossip *g, gg_ts ts) {
  while (g->rhead && g->rhead->expire <= ts) {
    pstats *ps = g->rhead;
    retained_unlink(g, ps);
    pstats_free(g, ps);
  }
  for (size_t i = 0; i < g->npeers; i++)
    if (g->plist[i]->ps) decay_stats(g, g->plist[i]->ps, ts);
  for (pstats *ps = g->rhead; ps; ps = ps->rnext) decay_stats(g, ps, ts);
  dirty_all(g);
}

/* ======================================================================================== */
/* topics                                                                                  */
/* ======================================================================================== */

static int topic_name_ok(const uint8_t *p, size_t len) {
  if (!len || len > GGP_GOSSIP_TOPIC_MAX) return 0;
  return memchr(p, 0, len) == NULL;
}

/* Finds or creates a topic. by_peer: the creation is caused by a remote peer, which may use
 * only three quarters of max_topics so that our own subscriptions always find room. */
static topic *topic_make(ggp_gossip *g, const char *name, size_t len, int by_peer) {
  topic *t = topic_get(g, name, len);
  if (t) return t;
  size_t cap = by_peer ? g->s.max_topics - g->s.max_topics / 4 : g->s.max_topics;
  if (g->ntopics >= cap) return NULL;
  if (GROW(g, g->tlist, g->captopics, g->ntopics + 1)) return NULL;
  t = gg_calloc(g->mem, 1, sizeof(topic) + len + 1);
  if (!t) return NULL;
  memcpy(t->name, name, len);
  t->len = len;
  t->slot = -1;
  t->fanout_lastpub = GG_TS_UNSET;
  gg_map_init(&t->backoff, g->mem, g->rand);
  if (gg_map_put(&g->topics, name, len, t, NULL) != GG_OK) {
    gg_free(g->mem, t);
    return NULL;
  }
  t->idx = g->ntopics;
  g->tlist[g->ntopics++] = t;
  return t;
}

static void topic_free(ggp_gossip *g, topic *t) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&t->backoff, &it))) gg_free(g->mem, e->val);
  g->nbackoff -= gg_map_count(&t->backoff);
  gg_map_free(&t->backoff);
  gg_free(g->mem, t->subs);
  gg_free(g->mem, t->mesh);
  gg_free(g->mem, t->fanout);
  gg_free(g->mem, t);
}

/* Drops topics nobody uses any more (called from the heartbeat). */
static void topic_gc(ggp_gossip *g) {
  for (size_t i = g->ntopics; i-- > 0;) {
    topic *t = g->tlist[i];
    if (t->subscribed || t->nsubs || t->nfanout || t->fanout_lastpub != GG_TS_UNSET ||
        t->slot >= 0 || t->refs || gg_map_count(&t->backoff))
      continue;
    gg_map_del(&g->topics, t->name, t->len);
    g->tlist[i] = g->tlist[--g->ntopics];
    g->tlist[i]->idx = i;
    topic_free(g, t);
  }
}

static backoff *backoff_get(const topic *t, const peer *p) {
  return gg_map_get(&t->backoff, p->id.b, p->id.len);
}

/* Backoff for grafting: a GRAFT from the peer before `until` is premature. Our own grafts
 * wait one more heartbeat (v1.1: "plus some slack"). */
static int backed_off(const ggp_gossip *g, const topic *t, const peer *p, gg_ts ts) {
  const backoff *b = backoff_get(t, p);
  return b && ts < b->until + g->s.heartbeat_interval;
}

static void add_backoff(ggp_gossip *g, topic *t, peer *p, gg_ts dur, gg_ts ts) {
  backoff *b = backoff_get(t, p);
  gg_ts until = ts + dur;
  if (b) {
    if (b->until < until) b->until = until;
    return;
  }
  if (g->nbackoff >= g->max_backoff) return;
  b = gg_malloc(g->mem, sizeof(*b));
  if (!b) return;
  b->until = until;
  if (gg_map_put(&t->backoff, p->id.b, p->id.len, b, NULL) != GG_OK) {
    gg_free(g->mem, b);
    return;
  }
  g->nbackoff++;
}

static void clear_backoffs(ggp_gossip *g, gg_ts ts) {
  for (size_t i = 0; i < g->ntopics; i++) {
    topic *t = g->tlist[i];
    if (!gg_map_count(&t->backoff)) continue;
    /* collect, then delete (the map must not change while iterated) */
    size_t n = 0, it = 0;
    const gg_map_entry *e;
    while ((e = gg_map_next(&t->backoff, &it))) {
      const backoff *b = e->val;
      if (b->until + g->s.heartbeat_interval < ts) n++;
    }
    if (!n) continue;
    gg_peerid *ids = gg_malloc(g->mem, n * sizeof(gg_peerid));
    if (!ids) continue;
    size_t k = 0;
    it = 0;
    while ((e = gg_map_next(&t->backoff, &it)) && k < n) {
      const backoff *b = e->val;
      if (b->until + g->s.heartbeat_interval >= ts) continue;
      ids[k].len = (uint8_t)e->klen;
      memcpy(ids[k].b, e->key, e->klen);
      k++;
    }
    for (size_t j = 0; j < k; j++) {
      gg_free(g->mem, gg_map_del(&t->backoff, ids[j].b, ids[j].len));
      g->nbackoff--;
    }
    gg_free(g->mem, ids);
  }
}

/* ---- mesh membership ------------------------------------------------------------------- */

static void mesh_notify(ggp_gossip *g, topic *t, peer *p, int joined) {
  if (g->cb.mesh_changed) g->cb.mesh_changed(g, t->name, &p->id, joined, g->ud);
}

static int mesh_add(ggp_gossip *g, topic *t, peer *p, gg_ts ts) {
  if (GROW(g, t->mesh, t->capmesh, t->nmesh + 1)) return GG_ENOMEM;
  t->mesh[t->nmesh++] = p;
  score_graft(g, p, t, ts);
  mesh_notify(g, t, p, 1);
  return GG_OK;
}

/* Removes p from the mesh of t (if there). sticky: apply the P3b mesh failure penalty. */
static int mesh_del(ggp_gossip *g, topic *t, peer *p, int sticky) {
  if (!list_del(t->mesh, &t->nmesh, p)) return 0;
  score_prune(g, p, t, sticky);
  mesh_notify(g, t, p, 0);
  return 1;
}

/* ======================================================================================== */
/* caches                                                                                  */
/* ======================================================================================== */

/* ---- message cache ------------------------------------------------------------------------ */

static void mentry_free(ggp_gossip *g, mentry *e) {
  g->mcache_n--;
  g->mcache_bytes -= e->raw->len;
  e->t->refs--;
  raw_unref(g, e->raw);
  gg_free(g->mem, e->tx);
  gg_free(g->mem, e);
}

/* Evicts one entry from the oldest non-empty window (caps). */
static int mcache_evict_one(ggp_gossip *g) {
  for (size_t w = g->s.history_length; w-- > 0;) {
    mentry *e = g->win[w];
    if (!e) continue;
    g->win[w] = e->next;
    gg_map_del(&g->mcache, e->id, e->idlen);
    mentry_free(g, e);
    return 1;
  }
  return 0;
}

static mentry *mcache_put(ggp_gossip *g, const uint8_t *id, size_t idlen, topic *t, rawmsg *raw) {
  mentry *e = gg_map_get(&g->mcache, id, idlen);
  if (e) return e;
  while ((g->mcache_n >= g->s.mcache_cap || g->mcache_bytes + raw->len > g->s.mcache_bytes) &&
         mcache_evict_one(g)) {
  }
  e = gg_calloc(g->mem, 1, sizeof(mentry) + idlen);
  if (!e) return NULL;
  memcpy(e->id, id, idlen);
  e->idlen = (uint8_t)idlen;
  if (gg_map_put(&g->mcache, id, idlen, e, NULL) != GG_OK) {
    gg_free(g->mem, e);
    return NULL;
  }
  e->t = t;
  t->refs++;
  e->raw = raw;
  raw->refs++;
  e->next = g->win[0];
  g->win[0] = e;
  g->mcache_n++;
  g->mcache_bytes += raw->len;
  return e;
}

static void mcache_shift(ggp_gossip *g) {
  size_t h = g->s.history_length;
  for (mentry *e = g->win[h - 1], *n; e; e = n) {
    n = e->next;
    gg_map_del(&g->mcache, e->id, e->idlen);
    mentry_free(g, e);
  }
  memmove(&g->win[1], &g->win[0], (h - 1) * sizeof(g->win[0]));
  g->win[0] = NULL;
}

/* Counts one IWANT transmission of e to p; returns the count so far (0 when untracked). */
static uint32_t mcache_tx(ggp_gossip *g, mentry *e, const peer *p) {
  for (uint32_t i = 0; i < e->ntx; i++)
    if (e->tx[i].serial == p->serial) return ++e->tx[i].n;
  if (e->ntx == e->captx) {
    size_t cap = e->captx;
    if (GROW(g, e->tx, cap, e->ntx + 1)) return 1;
    e->captx = (uint32_t)cap;
  }
  e->tx[e->ntx].serial = p->serial;
  e->tx[e->ntx].n = 1;
  e->ntx++;
  return 1;
}

/* ---- seen cache ----------------------------------------------------------------------------- */

static seen *seen_get(const ggp_gossip *g, const uint8_t *id, size_t len) {
  return gg_map_get(&g->seen, id, len);
}

static void seen_pop(ggp_gossip *g) {
  seen *s = g->shead;
  g->shead = s->next;
  if (!g->shead) g->stail = NULL;
  gg_map_del(&g->seen, s->id, s->idlen);
  gg_free(g->mem, s);
}

static seen *seen_add(ggp_gossip *g, const uint8_t *id, size_t len, gg_ts ts) {
  while (gg_map_count(&g->seen) >= g->s.seen_cap && g->shead) seen_pop(g);
  seen *s = gg_calloc(g->mem, 1, sizeof(seen) + len);
  if (!s) return NULL;
  memcpy(s->id, id, len);
  s->idlen = (uint8_t)len;
  s->at = ts;
  if (gg_map_put(&g->seen, id, len, s, NULL) != GG_OK) {
    gg_free(g->mem, s);
    return NULL;
  }
  if (g->stail)
    g->stail->next = s;
  else
    g->shead = s;
  g->stail = s;
  return s;
}

static void seen_expire(ggp_gossip *g, gg_ts ts) {
  while (g->shead && g->shead->at + g->s.seen_ttl <= ts) seen_pop(g);
}

static int seen_has_peer(const seen *s, uint64_t serial) {
  for (uint8_t i = 0; i < s->np; i++)
    if (s->peers[i] == serial) return 1;
  return 0;
}

/* ---- gossip promises (v1.1 "Spam Protection Measures") ---------------------------------- */

static void promise_add(ggp_gossip *g, const uint8_t *id, size_t len, const peer *p, gg_ts exp) {
  promise *pr = gg_map_get(&g->promises, id, len);
  if (!pr) {
    if (g->npromises >= g->s.max_promises) return;
    pr = gg_calloc(g->mem, 1, sizeof(promise) + len);
    if (!pr) return;
    memcpy(pr->id, id, len);
    pr->idlen = (uint8_t)len;
    if (gg_map_put(&g->promises, id, len, pr, NULL) != GG_OK) {
      gg_free(g->mem, pr);
      return;
    }
  }
  for (uint8_t i = 0; i < pr->n; i++)
    if (pr->e[i].serial == p->serial) return;
  if (pr->n == PROMISE_PEERS || g->npromises >= g->s.max_promises) return;
  pr->e[pr->n].serial = p->serial;
  pr->e[pr->n].expire = exp;
  pr->n++;
  g->npromises++;
}

static void promise_fulfil(ggp_gossip *g, const uint8_t *id, size_t len) {
  promise *pr = gg_map_del(&g->promises, id, len);
  if (!pr) return;
  g->npromises -= pr->n;
  gg_free(g->mem, pr);
}

/* Penalises the peers whose promises expired (P7, one per broken promise). */
static void promises_check(ggp_gossip *g, gg_ts ts) {
  if (!gg_map_count(&g->promises)) return;
  size_t it = 0, ndel = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&g->promises, &it))) {
    promise *pr = e->val;
    for (uint8_t i = 0; i < pr->n;) {
      if (pr->e[i].expire > ts) {
        i++;
        continue;
      }
      peer *p = peer_by_serial(g, pr->e[i].serial);
      if (p) penalty(g, p, 1);
      pr->e[i] = pr->e[--pr->n];
      g->npromises--;
    }
    if (!pr->n) ndel++;
  }
  if (!ndel) return;
  promise **dead = gg_malloc(g->mem, ndel * sizeof(*dead));
  if (!dead) return; /* empty entries stay until the message arrives or the next check */
  size_t k = 0;
  it = 0;
  while ((e = gg_map_next(&g->promises, &it)) && k < ndel) {
    promise *pr = e->val;
    if (!pr->n) dead[k++] = pr;
  }
  for (size_t i = 0; i < k; i++) {
    gg_map_del(&g->promises, dead[i]->id, dead[i]->idlen);
    gg_free(g->mem, dead[i]);
  }
  gg_free(g->mem, dead);
}

/* ---- pending validations ------------------------------------------------------------------ */

static void pending_free(ggp_gossip *g, pending *pe) {
  if (pe->prev)
    pe->prev->next = pe->next;
  else
    g->phead = pe->next;
  if (pe->next)
    pe->next->prev = pe->prev;
  else
    g->ptail = pe->prev;
  if (!pe->own) gg_map_del(&g->pend, pe->id, pe->idlen);
  g->npend--;
  pe->t->refs--;
  raw_unref(g, pe->raw);
  gg_free(g->mem, pe);
}

static pending *pending_new(ggp_gossip *g, const uint8_t *id, size_t idlen, rawmsg *raw, topic *t,
                            const peer *src, int own, gg_ts ts) {
  if (g->npend >= g->s.max_pending + (own ? 64 : 0)) return NULL;
  pending *pe = gg_calloc(g->mem, 1, sizeof(pending) + idlen);
  if (!pe) return NULL;
  memcpy(pe->id, id, idlen);
  pe->idlen = (uint8_t)idlen;
  pe->own = own;
  pe->result = -1;
  if (!own && gg_map_put(&g->pend, id, idlen, pe, NULL) != GG_OK) {
    gg_free(g->mem, pe);
    return NULL;
  }
  pe->raw = raw;
  raw->refs++;
  pe->t = t;
  t->refs++;
  pe->src_serial = src ? src->serial : 0;
  pe->src = src ? src->id : g->self;
  pe->at = ts;
  pe->prev = g->ptail;
  if (g->ptail)
    g->ptail->next = pe;
  else
    g->phead = pe;
  g->ptail = pe;
  g->npend++;
  return pe;
}

static int event_push(ggp_gossip *g, pending *pe) {
  if (g->evhead && g->evhead == g->nev) g->evhead = g->nev = 0;
  if (GROW(g, g->ev, g->capev, g->nev + 1)) return GG_ENOMEM;
  g->ev[g->nev++] = pe;
  pe->queued = 1;
  return GG_OK;
}

/* ======================================================================================== */
/* outbox: what we will say to each peer, flushed at the end of the entry point            */
/* ======================================================================================== */

static outbox *ob(ggp_gossip *g, peer *p) {
  if (!p->out) {
    p->out = gg_calloc(g->mem, 1, sizeof(outbox));
    if (!p->out) return NULL;
    gg_buf *b[5] = {&p->out->body, &p->out->ihave, &p->out->gp, &p->out->iwant, &p->out->idw};
    for (int i = 0; i < 5; i++) gg_buf_init(b[i], g->mem, g->s.max_rpc_size);
  }
  if (!p->dirty) {
    if (GROW(g, g->dirty, g->capdirty, g->ndirty + 1)) return NULL;
    g->dirty[g->ndirty++] = p;
    p->dirty = 1;
  }
  return p->out;
}

static void send_raw(ggp_gossip *g, peer *p, const uint8_t *b, size_t len) {
  if (!len) return;
  g->st.rpcs_out++;
  g->st.bytes_out += len;
  g->cb.send_rpc(g, &p->id, b, len, g->ud);
}

static void buf_done(gg_buf *b) {
  /* keep small allocations for the next round, give big ones back */
  if (b->alloc > 65536)
    gg_buf_free(b);
  else
    gg_buf_reset(b);
}

/* Sends the outbox of p as one RPC (two when body and control together exceed the cap). */
static void flush_peer(ggp_gossip *g, peer *p) {
  outbox *o = p->out;
  p->dirty = 0;
  if (!o) return;
  size_t iw = gg_buf_len(&o->iwant), idw = gg_buf_len(&o->idw);
  size_t ctl = gg_buf_len(&o->ihave) + gg_buf_len(&o->gp) + (iw ? field_len(2, iw) : 0) +
               (idw ? field_len(5, idw) : 0);
  size_t body = gg_buf_len(&o->body);
  size_t ctl_total = ctl ? field_len(3, ctl) : 0;
  gg_buf_reset(&g->tx);
  int rc = GG_OK;
  if (body + ctl_total > g->s.max_rpc_size) {
    send_raw(g, p, gg_buf_ptr(&o->body), body);
    body = 0;
  } else if (body) {
    rc = gg_buf_append(&g->tx, gg_buf_ptr(&o->body), body);
  }
  if (ctl && !rc && ctl_total <= g->s.max_rpc_size) {
    rc = put_key(&g->tx, 3, 2);
    if (!rc) rc = gg_buf_append_varint(&g->tx, ctl);
    if (!rc) rc = gg_buf_append(&g->tx, gg_buf_ptr(&o->ihave), gg_buf_len(&o->ihave));
    if (!rc && iw) rc = put_bytes(&g->tx, 2, gg_buf_ptr(&o->iwant), iw);
    if (!rc) rc = gg_buf_append(&g->tx, gg_buf_ptr(&o->gp), gg_buf_len(&o->gp));
    if (!rc && idw) rc = put_bytes(&g->tx, 5, gg_buf_ptr(&o->idw), idw);
  }
  if (!rc) send_raw(g, p, gg_buf_ptr(&g->tx), gg_buf_len(&g->tx));
  buf_done(&o->body);
  buf_done(&o->ihave);
  buf_done(&o->gp);
  buf_done(&o->iwant);
  buf_done(&o->idw);
  buf_done(&g->tx);
}

static void outbox_free(ggp_gossip *g, peer *p) {
  if (!p->out) return;
  gg_buf_free(&p->out->body);
  gg_buf_free(&p->out->ihave);
  gg_buf_free(&p->out->gp);
  gg_buf_free(&p->out->iwant);
  gg_buf_free(&p->out->idw);
  gg_free(g->mem, p->out);
  p->out = NULL;
}

/* Queues a message (field 2 of the RPC). When the body would outgrow the RPC cap, what is
 * queued so far is sent at once. */
static int queue_msg(ggp_gossip *g, peer *p, const rawmsg *raw) {
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  size_t need = field_len(2, raw->len);
  if (gg_buf_len(&o->body) + need + OUT_FLUSH_MARGIN > g->s.max_rpc_size) {
    send_raw(g, p, gg_buf_ptr(&o->body), gg_buf_len(&o->body));
    gg_buf_reset(&o->body);
  }
  size_t before = gg_buf_len(&o->body);
  int rc = put_bytes(&o->body, 2, raw->b, raw->len);
  if (rc) o->body.len = before;
  return rc;
}

static int queue_sub(ggp_gossip *g, peer *p, const topic *t, int sub) {
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  size_t before = gg_buf_len(&o->body);
  int rc = put_key(&o->body, 1, 2);
  if (!rc) rc = gg_buf_append_varint(&o->body, 2 + field_len(2, t->len));
  if (!rc) rc = put_uint(&o->body, 1, sub ? 1 : 0);
  if (!rc) rc = put_bytes(&o->body, 2, t->name, t->len);
  if (rc) o->body.len = before;
  return rc;
}

static int queue_graft(ggp_gossip *g, peer *p, const topic *t) {
  if (!is_gossip(p)) return GG_OK;
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  size_t before = gg_buf_len(&o->gp);
  int rc = put_key(&o->gp, 3, 2);
  if (!rc) rc = gg_buf_append_varint(&o->gp, field_len(1, t->len));
  if (!rc) rc = put_bytes(&o->gp, 1, t->name, t->len);
  if (rc) o->gp.len = before;
  return rc;
}

/* PRUNE with backoff (seconds, v1.1+) and optional PX peer ids. */
static int queue_prune(ggp_gossip *g, peer *p, const topic *t, uint64_t backoff_s, peer **px,
                       size_t npx) {
  if (!is_gossip(p)) return GG_OK;
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  int v11 = p->version >= GGP_GOSSIP_V11;
  size_t inner = field_len(1, t->len);
  if (v11) {
    for (size_t i = 0; i < npx; i++) inner += field_len(2, field_len(1, px[i]->id.len));
    inner += 1 + gg_varint_len(backoff_s);
  }
  size_t before = gg_buf_len(&o->gp);
  int rc = put_key(&o->gp, 4, 2);
  if (!rc) rc = gg_buf_append_varint(&o->gp, inner);
  if (!rc) rc = put_bytes(&o->gp, 1, t->name, t->len);
  for (size_t i = 0; v11 && !rc && i < npx; i++) {
    rc = put_key(&o->gp, 2, 2);
    if (!rc) rc = gg_buf_append_varint(&o->gp, field_len(1, px[i]->id.len));
    if (!rc) rc = put_bytes(&o->gp, 1, px[i]->id.b, px[i]->id.len);
  }
  if (!rc && v11) rc = put_uint(&o->gp, 3, backoff_s);
  if (rc) o->gp.len = before;
  return rc;
}

static int queue_ihave(ggp_gossip *g, peer *p, const topic *t, const mentry *const *ids, size_t n) {
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  size_t inner = field_len(1, t->len);
  for (size_t i = 0; i < n; i++) inner += field_len(2, ids[i]->idlen);
  size_t before = gg_buf_len(&o->ihave);
  int rc = put_key(&o->ihave, 1, 2);
  if (!rc) rc = gg_buf_append_varint(&o->ihave, inner);
  if (!rc) rc = put_bytes(&o->ihave, 1, t->name, t->len);
  for (size_t i = 0; !rc && i < n; i++) rc = put_bytes(&o->ihave, 2, ids[i]->id, ids[i]->idlen);
  if (rc) o->ihave.len = before;
  return rc;
}

static int queue_id(ggp_gossip *g, peer *p, int idontwant, const uint8_t *id, size_t len) {
  outbox *o = ob(g, p);
  if (!o) return GG_ENOMEM;
  gg_buf *b = idontwant ? &o->idw : &o->iwant;
  size_t before = gg_buf_len(b);
  int rc = put_bytes(b, 1, id, len);
  if (rc) b->len = before;
  return rc;
}

/* ======================================================================================== */
/* messages                                                                                */
/* ======================================================================================== */

static int msgid_of(ggp_gossip *g, const wmsg *m, const topic *t, uint8_t *out) {
  if (g->s.msgid_fn != GGP_GOSSIP_MSGID_CUSTOM) return builtin_msgid(g->s.msgid_fn, m, out);
  if (!g->cb.msgid) return GG_EINVAL;
  ggp_gossip_msgid_in in = {m->from.p,   m->from.len, m->seqno.p,
                            NULL,        0,           m->data.p ? m->data.p : empty_byte,
                            m->data.len, t->name};
  author_key(m, &in.key, &in.key_len);
  int n = g->cb.msgid(g, &in, out, g->ud);
  return n > 0 && n <= GGP_GOSSIP_MSGID_MAX ? n : GG_EPROTO;
}

static int dontwant(const peer *p, const uint8_t *id, size_t len) {
  return gg_map_get(&p->dw[0], id, len) || gg_map_get(&p->dw[1], id, len);
}

/* Queues m to q unless q was already chosen in this round (stamp). */
static size_t target(ggp_gossip *g, peer *q, const rawmsg *raw, uint64_t stamp) {
  if (q->stamp == stamp) return 0;
  q->stamp = stamp;
  return queue_msg(g, q, raw) == GG_OK;
}

/* Forwards an accepted message to the mesh (and to direct and floodsub peers of the topic),
 * except to its source, to peers that sent it to us already and to peers that said
 * IDONTWANT. Returns the number of copies queued. */
static size_t forward(ggp_gossip *g, topic *t, const rawmsg *raw, const uint8_t *id, size_t idlen,
                      uint64_t src, const seen *s) {
  uint64_t stamp = ++g->stamp;
  size_t n = 0;
  for (size_t i = 0; i < t->nsubs; i++) {
    peer *q = t->subs[i];
    if (q->serial == src || (s && seen_has_peer(s, q->serial))) continue;
    if ((q->flags & GGP_GOSSIP_DIRECT) ||
        (q->version == GGP_GOSSIP_FLOODSUB && score(g, q) >= g->s.score.publish_threshold))
      n += target(g, q, raw, stamp);
  }
  for (size_t i = 0; i < t->nmesh; i++) {
    peer *q = t->mesh[i];
    if (q->serial == src || (s && seen_has_peer(s, q->serial)) || dontwant(q, id, idlen)) continue;
    n += target(g, q, raw, stamp);
  }
  return n;
}

/* The application's view of a cached message. */
static void msg_view(const rawmsg *raw, const topic *t, const uint8_t *id, size_t idlen,
                     const gg_peerid *source, ggp_gossip_msg *v) {
  wmsg m;
  parse_msg(raw->b, raw->len, &m);
  memset(v, 0, sizeof(*v));
  v->topic = t->name;
  v->data = m.data.p ? m.data.p : empty_byte;
  v->len = m.data.len;
  if (m.from.p) gg_peerid_from_bytes(&v->from, m.from.p, m.from.len);
  v->seqno = m.seqno.p && m.seqno.len == 8 ? be64(m.seqno.p) : 0;
  v->msgid = id;
  v->msgid_len = idlen;
  v->source = *source;
}

static void pending_unmap(ggp_gossip *g, pending *pe) {
  if (!pe->own) gg_map_del(&g->pend, pe->id, pe->idlen);
  pe->own = 1; /* no longer findable by validation_result; pending_free skips the map */
}

/* The outcome of validation: deliver and forward, or drop (penalising for REJECT). */
static void settle(ggp_gossip *g, pending *pe, int result, gg_ts ts) {
  pending_unmap(g, pe);
  seen *s = seen_get(g, pe->id, pe->idlen);
  peer *src = peer_by_serial(g, pe->src_serial);
  topic *t = pe->t;
  if (result == GGP_GOSSIP_ACCEPT) {
    if (s) {
      s->status = S_VALID;
      s->validated = ts;
    }
    mark_first(g, src, t);
    for (uint8_t i = 0; s && i < s->np; i++) {
      peer *q = peer_by_serial(g, s->peers[i]);
      if (q && q != src) mark_dup(g, q, t, 0, ts);
    }
    mcache_put(g, pe->id, pe->idlen, t, pe->raw);
    g->st.msgs_forwarded += forward(g, t, pe->raw, pe->id, pe->idlen, pe->src_serial, s);
    if (t->subscribed && g->cb.deliver) {
      ggp_gossip_msg v;
      msg_view(pe->raw, t, pe->id, pe->idlen, &pe->src, &v);
      g->st.msgs_delivered++;
      g->cb.deliver(g, &v, g->ud);
    }
  } else if (result == GGP_GOSSIP_REJECT) {
    if (s) s->status = S_INVALID;
    mark_invalid(g, src, t);
    for (uint8_t i = 0; s && i < s->np; i++) {
      peer *q = peer_by_serial(g, s->peers[i]);
      if (q && q != src) mark_invalid(g, q, t);
    }
    if (s) s->np = 0;
  } else {
    if (s) {
      s->status = S_IGNORED;
      s->np = 0;
    }
    g->st.msgs_ignored++;
  }
  pending_free(g, pe);
}

static void process_event(ggp_gossip *g, pending *pe, gg_ts ts) {
  pe->queued = 0;
  if (pe->own) { /* our own message, published with emit_self */
    if (pe->t->subscribed && g->cb.deliver) {
      ggp_gossip_msg v;
      msg_view(pe->raw, pe->t, pe->id, pe->idlen, &g->self, &v);
      g->st.msgs_delivered++;
      g->cb.deliver(g, &v, g->ud);
    }
    pending_free(g, pe);
    return;
  }
  int r = pe->result >= 0 ? pe->result : GGP_GOSSIP_ACCEPT;
  if (pe->result < 0 && g->cb.validate) {
    ggp_gossip_msg v;
    msg_view(pe->raw, pe->t, pe->id, pe->idlen, &pe->src, &v);
    pe->in_cb = 1;
    r = g->cb.validate(g, &v, g->ud);
    pe->in_cb = 0;
    if (r == GGP_GOSSIP_PENDING) {
      if (pe->result < 0) return; /* answered later by ggp_gossip_validation_result() */
      r = pe->result;
    }
  }
  settle(g, pe, r, ts);
}

/* Runs the queued events and flushes the outboxes (the tail of every public entry point). */
static void finish(ggp_gossip *g, gg_ts ts) {
  if (g->finishing) return;
  g->finishing = 1;
  for (;;) {
    if (g->evhead < g->nev) {
      process_event(g, g->ev[g->evhead++], ts);
      continue;
    }
    g->evhead = g->nev = 0;
    if (!g->ndirty) break;
    for (size_t i = 0; i < g->ndirty; i++) flush_peer(g, g->dirty[i]);
    g->ndirty = 0;
  }
  g->finishing = 0;
}

/* Verifies the StrictSign signature of m, authored by `author`. GG_OK, GG_EBADSIG, GG_EBADKEY,
 * GG_EUNSUPPORTED (not Ed25519), GG_ENOMEM. */
static int verify_msg(ggp_gossip *g, const wmsg *m, const gg_peerid *author) {
  const uint8_t *kpb;
  size_t klen;
  gg_pubkey pk;
  if (m->key.p) {
    /* the key must be the author's: its peer id must be the author's id */
    gg_peerid kid;
    if (gg_peerid_from_pubkey_pb(&kid, m->key.p, m->key.len) != GG_OK ||
        !gg_peerid_eq(&kid, author))
      return GG_EBADKEY;
    kpb = m->key.p;
    klen = m->key.len;
  } else if (gg_peerid_pubkey_pb(author, &kpb, &klen) != GG_OK) {
    return GG_EBADKEY; /* hashed peer id and no key field */
  }
  if (gg_pubkey_decode(kpb, klen, &pk) != GG_OK) return GG_EBADKEY;
  gg_buf tbs;
  gg_buf_init(&tbs, g->mem, g->s.max_message_size + 64);
  int rc = gg_buf_reserve(&tbs, sizeof(SIGN_PREFIX) - 1 + msg_len(m, 0));
  if (!rc) rc = gg_buf_append(&tbs, SIGN_PREFIX, sizeof(SIGN_PREFIX) - 1);
  if (!rc) rc = put_msg(&tbs, m, 0);
  if (!rc) rc = gg_pubkey_verify(&pk, gg_buf_ptr(&tbs), gg_buf_len(&tbs), m->sig.p, m->sig.len);
  gg_buf_free(&tbs);
  return rc;
}

static void duplicate(ggp_gossip *g, peer *p, seen *s, topic *t, gg_ts ts) {
  g->st.msgs_dup++;
  promise_fulfil(g, s->id, s->idlen);
  if (seen_has_peer(s, p->serial)) return;
  switch (s->status) {
  case S_UNKNOWN:
  case S_VALID:
    if (s->np < SEEN_PEERS) s->peers[s->np++] = p->serial;
    if (s->status == S_VALID) mark_dup(g, p, t, s->validated, ts);
    break;
  case S_INVALID: mark_invalid(g, p, t); break;
  default: break;
  }
}

/* One Message of an RPC from p. */
static void recv_msg(ggp_gossip *g, peer *p, const uint8_t *mp, size_t mlen, gg_ts ts) {
  g->st.msgs_in++;
  wmsg m;
  parse_msg(mp, mlen, &m);
  int topic_ok = m.topic.p && topic_name_ok(m.topic.p, m.topic.len);
  topic *t = topic_ok ? topic_get(g, (const char *)m.topic.p, m.topic.len) : NULL;
  if (!topic_ok || mlen > g->s.max_message_size) {
    mark_invalid(g, p, t);
    return;
  }
  if (!t || !t->subscribed) { /* not ours to route (go drops these too) */
    g->st.msgs_ignored++;
    return;
  }
  gg_peerid author;
  if (!m.seqno.p || m.seqno.len != 8 || !m.sig.p || !m.from.p ||
      gg_peerid_from_bytes(&author, m.from.p, m.from.len) != GG_OK) {
    mark_invalid(g, p, t); /* StrictSign: all three are required */
    return;
  }
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  int idlen = msgid_of(g, &m, t, id);
  if (idlen <= 0) {
    mark_invalid(g, p, t);
    return;
  }
  seen *s = seen_get(g, id, (size_t)idlen);
  if (s) { /* duplicates are recognised before the signature is checked (as go) */
    duplicate(g, p, s, t, ts);
    return;
  }
  if (gg_peerid_eq(&author, &g->self)) {
    /* "from us" but not remembered (restart, or forged): never ours to deliver again */
    s = seen_add(g, id, (size_t)idlen, ts);
    if (s) s->status = S_IGNORED;
    g->st.msgs_ignored++;
    return;
  }
  int rc = verify_msg(g, &m, &author);
  if (rc != GG_OK) {
    /* no seen entry: a valid copy may still come; the broken promise (if any) stays */
    if (rc == GG_ENOMEM)
      g->st.msgs_ignored++;
    else
      mark_invalid(g, p, t);
    return;
  }
  s = seen_add(g, id, (size_t)idlen, ts);
  if (!s) return;
  g->st.msgs_first++;
  promise_fulfil(g, id, (size_t)idlen);
  /* canonical re-encoding: known fields only, so unknown junk is not forwarded */
  gg_buf_reset(&g->tx);
  rawmsg *raw = NULL;
  if (put_msg(&g->tx, &m, 1) == GG_OK) raw = raw_new(g, gg_buf_ptr(&g->tx), gg_buf_len(&g->tx));
  gg_buf_reset(&g->tx);
  if (!raw) {
    s->status = S_IGNORED;
    g->st.msgs_ignored++;
    return;
  }
  /* v1.2: tell the other mesh peers at once that we have it (large messages only) */
  if (m.data.len >= g->s.idontwant_min_size) {
    for (size_t i = 0; i < t->nmesh; i++) {
      peer *q = t->mesh[i];
      if (q == p || q->version < GGP_GOSSIP_V12) continue;
      if (queue_id(g, q, 1, id, (size_t)idlen) == GG_OK) g->st.idontwant_out++;
    }
  }
  pending *pe = pending_new(g, id, (size_t)idlen, raw, t, p, 0, ts);
  raw_unref(g, raw);
  if (!pe || event_push(g, pe) != GG_OK) {
    /* validation queue full (go: "throttled"): dropped without penalty */
    if (pe) pending_free(g, pe);
    s->status = S_IGNORED;
    g->st.msgs_ignored++;
  }
}

/* ---- publishing ------------------------------------------------------------------------------ */

/* Chooses the peers for our own message (v1.1 flood publishing, or mesh/fanout) and queues it.
 * Returns the number of peers. */
static size_t publish_to(ggp_gossip *g, topic *t, const rawmsg *raw, gg_ts ts) {
  uint64_t stamp = ++g->stamp;
  double pub = g->s.score.publish_threshold;
  size_t n = 0;
  for (size_t i = 0; i < t->nsubs; i++) {
    peer *q = t->subs[i];
    if ((q->flags & GGP_GOSSIP_DIRECT) ||
        ((g->s.flood_publish || q->version == GGP_GOSSIP_FLOODSUB) && score(g, q) >= pub))
      n += target(g, q, raw, stamp);
  }
  if (g->s.flood_publish) return n;
  peer **set = t->subscribed ? t->mesh : t->fanout;
  size_t nset = t->subscribed ? t->nmesh : t->nfanout;
  if (!t->subscribed && !nset) {
    /* new fanout: D gossipsub peers of the topic above the publish threshold */
    size_t nc = 0;
    if (GROW(g, g->sel, g->capsel, t->nsubs)) return n;
    for (size_t i = 0; i < t->nsubs; i++) {
      peer *q = t->subs[i];
      if (is_gossip(q) && !(q->flags & GGP_GOSSIP_DIRECT) && score(g, q) >= pub) g->sel[nc++] = q;
    }
    shuffle(g, g->sel, nc);
    if (nc > g->s.d) nc = g->s.d;
    if (nc && GROW(g, t->fanout, t->capfanout, nc) == GG_OK) {
      memcpy(t->fanout, g->sel, nc * sizeof(peer *));
      t->nfanout = nc;
    }
    set = t->fanout;
    nset = t->nfanout;
  }
  for (size_t i = 0; i < nset; i++) n += target(g, set[i], raw, stamp);
  if (t->subscribed && t->nmesh < g->s.d && GROW(g, g->sel, g->capsel, t->nsubs) == GG_OK) {
    /* a thin mesh: top up to D with other topic peers */
    size_t nc = 0;
    for (size_t i = 0; i < t->nsubs; i++) {
      peer *q = t->subs[i];
      if (is_gossip(q) && q->stamp != stamp && score(g, q) >= pub) g->sel[nc++] = q;
    }
    shuffle(g, g->sel, nc);
    for (size_t i = 0; i < nc && i < g->s.d - t->nmesh; i++) n += target(g, g->sel[i], raw, stamp);
  }
  if (!t->subscribed) t->fanout_lastpub = ts;
  return n;
}

int ggp_gossip_publish(ggp_gossip *g, const char *name, const uint8_t *data, size_t len, gg_ts ts,
                       size_t *recipients, uint8_t *msgid, size_t *msgid_len) {
  if (!g || !name || (!data && len)) return GG_EINVAL;
  size_t tlen = strlen(name);
  if (!topic_name_ok((const uint8_t *)name, tlen)) return GG_EINVAL;
  if (len + tlen + 256 > g->s.max_message_size) return GG_ETOOBIG;
  gg_buf enc;
  gg_buf_init(&enc, g->mem, g->s.max_message_size);
  int rc = ggp_gossip_sign_message(&g->kp, name, data, len, g->seqno, g->s.include_key, &enc);
  if (rc) {
    gg_buf_free(&enc);
    return rc == GG_ETOOBIG ? GG_ETOOBIG : GG_ENOMEM;
  }
  wmsg m;
  parse_msg(gg_buf_ptr(&enc), gg_buf_len(&enc), &m);
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  topic *t = topic_make(g, name, tlen, 0);
  int idlen = t ? msgid_of(g, &m, t, id) : GG_ELIMIT;
  rawmsg *raw = NULL;
  if (idlen <= 0)
    rc = idlen == GG_ELIMIT ? GG_ELIMIT : GG_EINVAL;
  else if (seen_get(g, id, (size_t)idlen))
    rc = GG_EEXIST;
  else if (!(raw = raw_new(g, gg_buf_ptr(&enc), gg_buf_len(&enc))))
    rc = GG_ENOMEM;
  gg_buf_free(&enc);
  if (rc) {
    finish(g, ts);
    return rc;
  }
  seen *s = seen_add(g, id, (size_t)idlen, ts);
  if (!s) {
    raw_unref(g, raw);
    finish(g, ts);
    return GG_ENOMEM;
  }
  g->seqno++;
  s->status = S_VALID;
  s->validated = ts;
  mcache_put(g, id, (size_t)idlen, t, raw);
  size_t n = publish_to(g, t, raw, ts);
  g->st.msgs_published++;
  if (g->s.emit_self && t->subscribed) {
    pending *pe = pending_new(g, id, (size_t)idlen, raw, t, NULL, 1, ts);
    if (pe && event_push(g, pe) != GG_OK) pending_free(g, pe);
  }
  raw_unref(g, raw);
  if (recipients) *recipients = n;
  if (msgid) memcpy(msgid, id, (size_t)idlen);
  if (msgid_len) *msgid_len = (size_t)idlen;
  finish(g, ts);
  return GG_OK;
}

int ggp_gossip_validation_result(ggp_gossip *g, const uint8_t *msgid, size_t len, int result,
                                 gg_ts ts) {
  if (!g || !msgid || !len || len > GGP_GOSSIP_MSGID_MAX) return GG_EINVAL;
  if (result != GGP_GOSSIP_ACCEPT && result != GGP_GOSSIP_REJECT && result != GGP_GOSSIP_IGNORE)
    return GG_EINVAL;
  pending *pe = gg_map_get(&g->pend, msgid, len);
  if (!pe) return GG_ENOTFOUND;
  if (pe->in_cb || pe->queued) {
    pe->result = result; /* taken when validate() returns / the event runs */
    return GG_OK;
  }
  settle(g, pe, result, ts);
  finish(g, ts);
  return GG_OK;
}

/* ======================================================================================== */
/* subscriptions and control messages                                                      */
/* ======================================================================================== */

/* Removes p from everything of t (it left the topic or disconnected). */
static void topic_forget_peer(ggp_gossip *g, topic *t, peer *p, int score_mode) {
  list_del(t->subs, &t->nsubs, p);
  list_del(t->fanout, &t->nfanout, p);
  if (list_del(t->mesh, &t->nmesh, p)) {
    if (score_mode) score_prune(g, p, t, 0);
    mesh_notify(g, t, p, 0);
  }
}

static void handle_sub(ggp_gossip *g, peer *p, int sub, const uint8_t *name, size_t len) {
  if (!topic_name_ok(name, len)) return;
  if (sub) {
    if (p->ntopics >= g->s.max_peer_topics) return;
    topic *t = topic_make(g, (const char *)name, len, 1);
    if (!t || peer_in_topic(p, t)) return;
    if (GROW(g, p->topics, p->captopics, p->ntopics + 1) ||
        GROW(g, t->subs, t->capsubs, t->nsubs + 1))
      return;
    p->topics[p->ntopics++] = t;
    t->subs[t->nsubs++] = p;
    return;
  }
  topic *t = topic_get(g, (const char *)name, len);
  if (!t || !peer_in_topic(p, t)) return;
  for (size_t i = 0; i < p->ntopics; i++) {
    if (p->topics[i] == t) {
      p->topics[i] = p->topics[--p->ntopics];
      break;
    }
  }
  topic_forget_peer(g, t, p, 1);
}

/* Iterates over the entries of one kind (ControlMessage field `kind`) in every control field
 * of an RPC, at most `max` of them. */
typedef struct ctl_iter {
  pbr top, ctl;
  int in_ctl;
  int kind;
  size_t left;
} ctl_iter;

static void ctl_begin(ctl_iter *it, const uint8_t *rpc, size_t len, int kind, size_t max) {
  memset(it, 0, sizeof(*it));
  pb_init(&it->top, rpc, len);
  it->kind = kind;
  it->left = max;
}

/* Next entry: its bytes in *e; 0 when done. The RPC was checked, so the walk cannot fail. */
static int ctl_next(ctl_iter *it, gg_slice *e) {
  pbf f;
  while (it->left) {
    if (it->in_ctl) {
      if (pb_next(&it->ctl, &f) == 1) {
        if ((int)f.field == it->kind && f.wt == 2) {
          e->p = f.s;
          e->len = f.len;
          it->left--;
          return 1;
        }
        continue;
      }
      it->in_ctl = 0;
    }
    if (pb_next(&it->top, &f) != 1) return 0;
    if (f.field == 3 && f.wt == 2) {
      pb_init(&it->ctl, f.s, f.len);
      it->in_ctl = 1;
    }
  }
  return 0;
}

/* The first bytes field `field` of an entry (a topic id), or a NULL slice. */
static gg_slice entry_bytes(gg_slice e, uint32_t field) {
  pbr r;
  pbf f;
  gg_slice out = {NULL, 0};
  pb_init(&r, e.p, e.len);
  while (pb_next(&r, &f) == 1)
    if (f.field == field && f.wt == 2) out = (gg_slice){f.s, f.len};
  return out;
}

static topic *entry_topic(const ggp_gossip *g, gg_slice e) {
  gg_slice n = entry_bytes(e, 1);
  if (!n.p || !topic_name_ok(n.p, n.len)) return NULL;
  return topic_get(g, (const char *)n.p, n.len);
}

/* Sends a PRUNE for t to q (v1.1: with backoff and optional PX) and records our backoff. */
static void make_prune(ggp_gossip *g, peer *q, topic *t, int do_px, int unsub, gg_ts ts) {
  if (q->version < GGP_GOSSIP_V11) { /* v1.0 understands neither backoff nor PX */
    queue_prune(g, q, t, 0, NULL, 0);
    return;
  }
  gg_ts dur = unsub ? g->s.unsubscribe_backoff : g->s.prune_backoff;
  add_backoff(g, t, q, dur, ts);
  size_t npx = 0;
  if (do_px && g->s.prune_peers && GROW(g, g->pxsel, g->cappxsel, t->nsubs) == GG_OK) {
    for (size_t i = 0; i < t->nsubs; i++) {
      peer *x = t->subs[i];
      if (x != q && is_gossip(x) && score(g, x) >= 0) g->pxsel[npx++] = x;
    }
    shuffle(g, g->pxsel, npx);
    if (npx > g->s.prune_peers) npx = g->s.prune_peers;
  }
  queue_prune(g, q, t, dur / GG_SEC(1), g->pxsel, npx);
}

static void handle_grafts(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len, gg_ts ts) {
  ctl_iter it;
  gg_slice e;
  double sc = score(g, p);
  int do_px = g->s.do_px;
  size_t nprune = 0;
  ctl_begin(&it, rpc, len, 3, g->s.max_control_per_rpc);
  while (ctl_next(&it, &e)) {
    g->st.graft_in++;
    topic *t = entry_topic(g, e);
    if (!t || !t->subscribed || !is_gossip(p)) {
      do_px = 0; /* spam hardening: GRAFTs for unknown topics are ignored, and get no PX */
      continue;
    }
    if (in_list(t->mesh, t->nmesh, p)) continue;
    const backoff *b = backoff_get(t, p);
    int prune = 1;
    if (p->flags & GGP_GOSSIP_DIRECT) {
      do_px = 0; /* grafting on an explicit peering is an error: PRUNE it */
    } else if (b && ts < b->until) {
      /* v1.1: a GRAFT within the backoff is penalised, twice when it comes very soon */
      penalty(g, p, 1);
      if (ts + g->s.prune_backoff < b->until + g->s.graft_flood_threshold) penalty(g, p, 1);
      do_px = 0;
      add_backoff(g, t, p, g->s.prune_backoff, ts);
    } else if (sc < 0) {
      do_px = 0;
      add_backoff(g, t, p, g->s.prune_backoff, ts);
    } else if (t->nmesh >= g->s.d_hi && !(p->flags & GGP_GOSSIP_OUTBOUND)) {
      add_backoff(g, t, p, g->s.prune_backoff, ts); /* v1.1 outbound quota when full */
    } else {
      prune = mesh_add(g, t, p, ts) != GG_OK;
    }
    nprune += prune;
  }
  if (!nprune) return;
  /* Second pass: the PRUNEs, with PX decided over the whole RPC (as js). Every entry of a
   * known, subscribed topic whose peer is still outside the mesh was rejected above. */
  ctl_begin(&it, rpc, len, 3, g->s.max_control_per_rpc);
  while (ctl_next(&it, &e) && nprune) {
    topic *t = entry_topic(g, e);
    if (!t || !t->subscribed || in_list(t->mesh, t->nmesh, p) || !is_gossip(p)) continue;
    nprune--;
    make_prune(g, p, t, do_px, 0, ts);
  }
}

#define MAX_PEER_BACKOFF GG_SEC(3600) /* ours: a PRUNE's backoff is honoured up to an hour */

static void handle_prunes(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len, gg_ts ts) {
  ctl_iter it;
  gg_slice e;
  double sc = score(g, p); /* before the prunes change it */
  ctl_begin(&it, rpc, len, 4, g->s.max_control_per_rpc);
  while (ctl_next(&it, &e)) {
    g->st.prune_in++;
    topic *t = entry_topic(g, e);
    if (!t) continue;
    mesh_del(g, t, p, 1);
    uint64_t bo = 0;
    size_t npi = 0;
    pbr r;
    pbf f;
    pb_init(&r, e.p, e.len);
    while (pb_next(&r, &f) == 1) {
      if (f.field == 3 && f.wt == 0) bo = f.v;
      if (f.field == 2 && f.wt == 2) npi++;
    }
    gg_ts dur = g->s.prune_backoff;
    if (bo) dur = bo >= MAX_PEER_BACKOFF / GG_SEC(1) ? MAX_PEER_BACKOFF : GG_SEC(bo);
    add_backoff(g, t, p, dur, ts);
    if (!npi || !g->cb.px_peers || sc < g->s.score.accept_px_threshold) continue;
    /* peer exchange: peer ids (and signed records) for the glue to dial */
    size_t cap = npi < g->s.max_px_peers ? npi : g->s.max_px_peers;
    ggp_gossip_px *px = gg_calloc(g->mem, cap ? cap : 1, sizeof(*px));
    if (!px) continue;
    size_t n = 0;
    pb_init(&r, e.p, e.len);
    while (n < cap && pb_next(&r, &f) == 1) {
      if (f.field != 2 || f.wt != 2) continue;
      gg_slice pid = entry_bytes((gg_slice){f.s, f.len}, 1);
      gg_slice rec = entry_bytes((gg_slice){f.s, f.len}, 2);
      if (!pid.p || gg_peerid_from_bytes(&px[n].id, pid.p, pid.len) != GG_OK) continue;
      if (gg_peerid_eq(&px[n].id, &g->self) || peer_get(g, &px[n].id)) continue;
      px[n].signed_record = rec.p;
      px[n].record_len = rec.len;
      n++;
    }
    for (size_t i = n; i > 1; i--) { /* random subset of prune_peers, as js */
      size_t j = rnd(g, i);
      ggp_gossip_px tmp = px[i - 1];
      px[i - 1] = px[j];
      px[j] = tmp;
    }
    if (n > g->s.prune_peers) n = g->s.prune_peers;
    if (n) g->cb.px_peers(g, t->name, px, n, g->ud);
    gg_free(g->mem, px);
  }
}

static void handle_ihaves(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len, gg_ts ts) {
  ctl_iter it;
  gg_slice e;
  ctl_begin(&it, rpc, len, 1, g->s.max_control_per_rpc);
  if (!ctl_next(&it, &e)) return;
  if (!is_gossip(p) || score(g, p) < g->s.score.gossip_threshold) return;
  /* flood protection: IHAVE messages and advertised ids per heartbeat */
  if (++p->peerhave > g->s.max_ihave_messages) return;
  if (p->iasked >= g->s.max_ihave_length) return;
  size_t room = g->s.max_ihave_length - p->iasked;
  gg_slice *ids = NULL;
  size_t nids = 0, capids = 0;
  gg_map dedup;
  gg_map_init(&dedup, g->mem, g->rand);
  do {
    g->st.ihave_in++;
    topic *t = entry_topic(g, e);
    if (!t || !t->subscribed) continue;
    pbr r;
    pbf f;
    pb_init(&r, e.p, e.len);
    while (nids < g->s.max_ihave_length && pb_next(&r, &f) == 1) {
      if (f.field != 2 || f.wt != 2 || !f.len || f.len > GGP_GOSSIP_MSGID_MAX) continue;
      if (seen_get(g, f.s, f.len) || gg_map_get(&dedup, f.s, f.len)) continue;
      if (GROW(g, ids, capids, nids + 1) || gg_map_put(&dedup, f.s, f.len, (void *)1, NULL)) break;
      ids[nids++] = (gg_slice){f.s, f.len};
    }
  } while (ctl_next(&it, &e));
  gg_map_free(&dedup);
  if (nids) {
    /* ask in random order, at most `room` */
    for (size_t i = nids; i > 1; i--) {
      size_t j = rnd(g, i);
      gg_slice tmp = ids[i - 1];
      ids[i - 1] = ids[j];
      ids[j] = tmp;
    }
    size_t ask = nids < room ? nids : room;
    size_t sent = 0;
    for (size_t i = 0; i < ask; i++) sent += queue_id(g, p, 0, ids[i].p, ids[i].len) == GG_OK;
    p->iasked += ask;
    g->st.iwant_out += sent;
    /* one random id of the request is a promise: if it does not come, P7 */
    if (sent) {
      size_t k = rnd(g, sent);
      promise_add(g, ids[k].p, ids[k].len, p, ts + g->s.iwant_followup_time);
    }
  }
  gg_free(g->mem, ids);
}

static void handle_iwants(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len) {
  ctl_iter it;
  gg_slice e;
  int spam = 0;
  int ok = is_gossip(p) && score(g, p) >= g->s.score.gossip_threshold;
  uint64_t stamp = ++g->stamp;
  ctl_begin(&it, rpc, len, 2, g->s.max_control_per_rpc);
  while (!spam && ctl_next(&it, &e)) {
    pbr r;
    pbf f;
    pb_init(&r, e.p, e.len);
    while (pb_next(&r, &f) == 1) {
      if (f.field != 1 || f.wt != 2) continue;
      g->st.iwant_in++;
      if (++p->iwant_served > g->s.max_iwant_ids) {
        spam = 1; /* ours: asking beyond the budget is spam (P7, once per RPC) */
        break;
      }
      if (!ok || !f.len || f.len > GGP_GOSSIP_MSGID_MAX) continue;
      mentry *m = gg_map_get(&g->mcache, f.s, f.len);
      if (!m || m->stamp == stamp || mcache_tx(g, m, p) > g->s.gossip_retransmission) continue;
      m->stamp = stamp;
      queue_msg(g, p, m->raw);
    }
  }
  if (spam) penalty(g, p, 1);
}

static void handle_idontwants(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len) {
  ctl_iter it;
  gg_slice e;
  ctl_begin(&it, rpc, len, 5, g->s.max_control_per_rpc);
  while (p->idontwant < g->s.max_idontwant && ctl_next(&it, &e)) {
    pbr r;
    pbf f;
    pb_init(&r, e.p, e.len);
    while (p->idontwant < g->s.max_idontwant && pb_next(&r, &f) == 1) {
      if (f.field != 1 || f.wt != 2 || !f.len || f.len > GGP_GOSSIP_MSGID_MAX) continue;
      p->idontwant++;
      g->st.idontwant_in++;
      gg_map_put(&p->dw[0], f.s, f.len, (void *)1, NULL);
    }
  }
}

/* 1 when the encoded Message m (already checked for well-formedness) names id as its author. */
static int authored_by(const uint8_t *m, size_t len, const gg_peerid *id) {
  pbr r;
  pbf f;
  pb_init(&r, m, len);
  while (pb_next(&r, &f) == 1)
    if (f.field == 1 && f.wt == 2) return f.len == id->len && !memcmp(f.s, id->b, f.len);
  return 0;
}

/* Token bucket refill; returns 0 when the RPC must be dropped. */
static int rate_ok(ggp_gossip *g, peer *p, size_t len, gg_ts ts) {
  if (ts > p->tok_ts) {
    double dt = (double)(ts - p->tok_ts) / 1e9;
    p->tok_rpc += dt * g->s.rpc_rate;
    p->tok_bytes += dt * g->s.byte_rate;
    p->tok_msgs += dt * g->s.msg_rate;
    if (p->tok_rpc > g->s.rpc_burst) p->tok_rpc = g->s.rpc_burst;
    if (p->tok_bytes > g->s.byte_burst) p->tok_bytes = g->s.byte_burst;
    if (p->tok_msgs > g->s.msg_burst) p->tok_msgs = g->s.msg_burst;
    p->tok_ts = ts;
  }
  if (p->tok_rpc < 1 || p->tok_bytes < (double)len) return 0;
  p->tok_rpc -= 1;
  p->tok_bytes -= (double)len;
  return 1;
}

static int recv_rpc(ggp_gossip *g, peer *p, const uint8_t *rpc, size_t len, gg_ts ts) {
  int direct = (p->flags & GGP_GOSSIP_DIRECT) != 0;
  if (len > g->s.max_rpc_size) {
    g->st.rpcs_malformed++;
    penalty(g, p, 1);
    return GG_ETOOBIG;
  }
  /* v1.1: the RPCs of graylisted peers are ignored (checked first: it costs nothing) */
  if (!direct && score(g, p) < g->s.score.graylist_threshold) {
    g->st.rpcs_graylisted++;
    return GG_OK;
  }
  if (!direct && !rate_ok(g, p, len, ts)) {
    g->st.rpcs_rate_limited++;
    penalty(g, p, 1);
    return GG_ERATE;
  }
  if (pb_check(rpc, len, T_RPC) != GG_OK) {
    g->st.rpcs_malformed++;
    penalty(g, p, 1); /* ours: js only logs; a peer that sends garbage loses score */
    return GG_EPROTO;
  }
  pbr r;
  pbf f;
  /* 1. subscriptions */
  size_t nsub = 0;
  pb_init(&r, rpc, len);
  while (pb_next(&r, &f) == 1 && nsub < g->s.max_subscriptions_per_rpc) {
    if (f.field != 1 || f.wt != 2) continue;
    nsub++;
    int sub = 0;
    gg_slice name = {NULL, 0};
    pbr s;
    pbf sf;
    pb_init(&s, f.s, f.len);
    while (pb_next(&s, &sf) == 1) {
      if (sf.field == 1 && sf.wt == 0) sub = sf.v != 0;
      if (sf.field == 2 && sf.wt == 2) name = (gg_slice){sf.s, sf.len};
    }
    if (name.p) handle_sub(g, p, sub, name.p, name.len);
  }
  /* 2. messages. Over the message rate they are dropped, but only a peer flooding messages
   * it wrote itself is penalised: an honest peer that relays someone else's flood exceeds
   * its neighbours' budgets too, and penalising it would cut the honest network apart. */
  size_t nmsg = 0;
  int throttled = 0, own_flood = 0;
  pb_init(&r, rpc, len);
  while (pb_next(&r, &f) == 1 && nmsg < g->s.max_messages_per_rpc) {
    if (f.field != 2 || f.wt != 2) continue;
    nmsg++;
    if (!direct) {
      if (p->tok_msgs < 1) {
        throttled = 1;
        own_flood |= authored_by(f.s, f.len, &p->id);
        continue;
      }
      p->tok_msgs -= 1;
    }
    recv_msg(g, p, f.s, f.len, ts);
  }
  if (throttled) g->st.rpcs_rate_limited++;
  if (own_flood) penalty(g, p, 1);
  /* 3. control, in js's order */
  handle_ihaves(g, p, rpc, len, ts);
  handle_iwants(g, p, rpc, len);
  handle_grafts(g, p, rpc, len, ts);
  handle_prunes(g, p, rpc, len, ts);
  handle_idontwants(g, p, rpc, len);
  return throttled ? GG_ERATE : GG_OK;
}

int ggp_gossip_recv_rpc(ggp_gossip *g, const gg_peerid *id, const uint8_t *rpc, size_t len,
                        gg_ts ts) {
  if (!g || !id || (!rpc && len)) return GG_EINVAL;
  peer *p = peer_get(g, id);
  if (!p) return GG_ENOTFOUND;
  g->st.rpcs_in++;
  g->st.bytes_in += len;
  int rc = recv_rpc(g, p, rpc ? rpc : empty_byte, len, ts);
  finish(g, ts);
  return rc;
}

/* ======================================================================================== */
/* heartbeat (v1.0 "Heartbeat", v1.1 "Heartbeat Maintenance")                              */
/* ======================================================================================== */

typedef struct scored {
  peer *p;
  double s;
} scored;

static int cmp_desc(const void *a, const void *b) {
  double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
  return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_asc(const void *a, const void *b) { return -cmp_desc(a, b); }

static int outbound(const peer *p) { return (p->flags & GGP_GOSSIP_OUTBOUND) != 0; }

static void graft_peer(ggp_gossip *g, topic *t, peer *q, gg_ts ts) {
  if (mesh_add(g, t, q, ts) == GG_OK) queue_graft(g, q, t);
}

static void prune_peer(ggp_gossip *g, topic *t, peer *q, int px, gg_ts ts) {
  mesh_del(g, t, q, 1);
  add_backoff(g, t, q, g->s.prune_backoff, ts);
  make_prune(g, q, t, px && g->s.do_px, 0, ts);
}

/* Mesh candidates of t: gossipsub peers of the topic outside the mesh, not direct, not backed
 * off, with a non-negative score; shuffled into g->cand. */
static size_t mesh_candidates(ggp_gossip *g, topic *t, gg_ts ts) {
  if (GROW(g, g->cand, g->capcand, t->nsubs)) return 0;
  size_t n = 0;
  for (size_t i = 0; i < t->nsubs; i++) {
    peer *q = t->subs[i];
    if (!is_gossip(q) || (q->flags & GGP_GOSSIP_DIRECT) || in_list(t->mesh, t->nmesh, q) ||
        backed_off(g, t, q, ts) || score(g, q) < 0)
      continue;
    g->cand[n++] = q;
  }
  shuffle(g, g->cand, n);
  return n;
}

static void maintain_mesh(ggp_gossip *g, topic *t, gg_ts ts) {
  const ggp_gossip_settings *s = &g->s;
  /* peers with a negative score leave, without PX */
  for (size_t i = t->nmesh; i-- > 0;) {
    peer *q = t->mesh[i];
    if (score(g, q) < 0) prune_peer(g, t, q, 0, ts);
  }
  size_t nc = mesh_candidates(g, t, ts);
  /* too few: graft up to D */
  if (t->nmesh < s->d_lo) {
    size_t need = s->d - t->nmesh;
    for (size_t i = 0; i < nc && need; i++) {
      graft_peer(g, t, g->cand[i], ts);
      g->cand[i] = NULL;
      need--;
    }
  }
  /* too many: keep the D_score best, the rest of D at random, at least D_out outbound */
  if (t->nmesh > s->d_hi) {
    size_t n = t->nmesh;
    scored *a = gg_malloc(g->mem, n * sizeof(*a));
    if (a) {
      for (size_t i = 0; i < n; i++) a[i] = (scored){t->mesh[i], score(g, t->mesh[i])};
      qsort(a, n, sizeof(*a), cmp_desc);
      size_t keep = s->d_score < n ? s->d_score : n;
      for (size_t i = n; i > keep + 1; i--) { /* shuffle a[keep..n) */
        size_t j = keep + rnd(g, i - keep);
        scored tmp = a[i - 1];
        a[i - 1] = a[j];
        a[j] = tmp;
      }
      size_t out = 0;
      for (size_t i = 0; i < s->d && i < n; i++) out += outbound(a[i].p);
      if (out < s->d_out) {
        /* rotate outbound peers to the front: first those already selected, then others */
        size_t dst = 0;
        for (size_t i = 0; i < n; i++) {
          if (!outbound(a[i].p)) continue;
          if (i >= s->d && out >= s->d_out) break;
          if (i >= s->d) out++;
          scored tmp = a[i];
          memmove(&a[dst + 1], &a[dst], (i - dst) * sizeof(*a));
          a[dst++] = tmp;
        }
      }
      for (size_t i = s->d; i < n; i++) prune_peer(g, t, a[i].p, 1, ts);
      gg_free(g->mem, a);
    }
  }
  /* enough peers but too few outbound ones: graft outbound candidates */
  if (t->nmesh >= s->d_lo) {
    size_t out = 0;
    for (size_t i = 0; i < t->nmesh; i++) out += outbound(t->mesh[i]);
    for (size_t i = 0; i < nc && out < s->d_out; i++) {
      if (!g->cand[i] || !outbound(g->cand[i])) continue;
      graft_peer(g, t, g->cand[i], ts);
      g->cand[i] = NULL;
      out++;
    }
  }
  /* opportunistic grafting: a mesh whose median score is low takes better peers */
  if (s->opportunistic_graft_ticks && g->ticks % s->opportunistic_graft_ticks == 0 &&
      t->nmesh > 1) {
    size_t n = t->nmesh;
    scored *a = gg_malloc(g->mem, n * sizeof(*a));
    if (a) {
      for (size_t i = 0; i < n; i++) a[i] = (scored){t->mesh[i], score(g, t->mesh[i])};
      qsort(a, n, sizeof(*a), cmp_asc);
      double median = a[n / 2].s;
      gg_free(g->mem, a);
      if (median < s->score.opportunistic_graft_threshold) {
        size_t need = s->opportunistic_graft_peers;
        for (size_t i = 0; i < nc && need; i++) {
          if (!g->cand[i] || score(g, g->cand[i]) <= median) continue;
          graft_peer(g, t, g->cand[i], ts);
          g->cand[i] = NULL;
          need--;
        }
      }
    }
  }
}

static void maintain_fanout(ggp_gossip *g, topic *t, gg_ts ts) {
  if (t->fanout_lastpub == GG_TS_UNSET) return;
  if (t->fanout_lastpub + g->s.fanout_ttl < ts || t->subscribed) {
    t->nfanout = 0;
    t->fanout_lastpub = GG_TS_UNSET;
    return;
  }
  double pub = g->s.score.publish_threshold;
  for (size_t i = t->nfanout; i-- > 0;) {
    peer *q = t->fanout[i];
    if (!peer_in_topic(q, t) || score(g, q) < pub) t->fanout[i] = t->fanout[--t->nfanout];
  }
  if (t->nfanout >= g->s.d || GROW(g, g->cand, g->capcand, t->nsubs)) return;
  size_t n = 0;
  for (size_t i = 0; i < t->nsubs; i++) {
    peer *q = t->subs[i];
    if (is_gossip(q) && !(q->flags & GGP_GOSSIP_DIRECT) && !in_list(t->fanout, t->nfanout, q) &&
        score(g, q) >= pub)
      g->cand[n++] = q;
  }
  shuffle(g, g->cand, n);
  for (size_t i = 0; i < n && t->nfanout < g->s.d; i++) {
    if (GROW(g, t->fanout, t->capfanout, t->nfanout + 1)) break;
    t->fanout[t->nfanout++] = g->cand[i];
  }
}

/* IHAVE to gossip_factor of the topic peers outside mesh and fanout (at least D_lazy). */
static void emit_gossip(ggp_gossip *g, topic *t) {
  size_t nids = 0;
  for (size_t w = 0; w < g->s.history_gossip; w++)
    for (mentry *e = g->win[w]; e; e = e->next) nids += e->t == t;
  if (!nids) return;
  if (GROW(g, g->cand, g->capcand, t->nsubs)) return;
  size_t nc = 0;
  for (size_t i = 0; i < t->nsubs; i++) {
    peer *q = t->subs[i];
    if (!is_gossip(q) || (q->flags & GGP_GOSSIP_DIRECT) || in_list(t->mesh, t->nmesh, q) ||
        in_list(t->fanout, t->nfanout, q) || score(g, q) < g->s.score.gossip_threshold)
      continue;
    g->cand[nc++] = q;
  }
  if (!nc) return;
  mentry **ids = gg_malloc(g->mem, nids * sizeof(*ids));
  if (!ids) return;
  size_t k = 0;
  for (size_t w = 0; w < g->s.history_gossip; w++)
    for (mentry *e = g->win[w]; e; e = e->next)
      if (e->t == t) ids[k++] = e;
  size_t want = g->s.d_lazy;
  size_t factor = (size_t)(g->s.gossip_factor * (double)nc);
  if (factor > want) want = factor;
  if (want > nc) want = nc;
  shuffle(g, g->cand, nc);
  size_t per = nids < g->s.max_ihave_length ? nids : g->s.max_ihave_length;
  for (size_t i = 0; i < want; i++) {
    if (nids > per) /* a different random subset for each peer */
      for (size_t a = 0; a < per; a++) {
        size_t b = a + rnd(g, nids - a);
        mentry *tmp = ids[a];
        ids[a] = ids[b];
        ids[b] = tmp;
      }
    queue_ihave(g, g->cand[i], t, (const mentry *const *)ids, per);
  }
  gg_free(g->mem, ids);
}

static void expire_pending(ggp_gossip *g, gg_ts ts) {
  for (pending *pe = g->phead, *n; pe; pe = n) {
    n = pe->next;
    if (pe->at + g->s.validation_timeout > ts) break;
    if (!pe->own && !pe->queued && !pe->in_cb) settle(g, pe, GGP_GOSSIP_IGNORE, ts);
  }
}

static void heartbeat(ggp_gossip *g, gg_ts ts) {
  g->ticks++;
  if (g->s.backoff_clear_ticks && g->ticks % g->s.backoff_clear_ticks == 0) clear_backoffs(g, ts);
  int rotate = g->ticks - g->dw_gen_tick >= g->s.history_length;
  for (size_t i = 0; i < g->npeers; i++) {
    peer *p = g->plist[i];
    p->peerhave = p->iasked = p->iwant_served = p->idontwant = 0;
    if (rotate) { /* IDONTWANT ids live history_length to 2 * history_length heartbeats */
      gg_map_free(&p->dw[1]);
      p->dw[1] = p->dw[0];
      gg_map_init(&p->dw[0], g->mem, g->rand);
    }
  }
  if (rotate) g->dw_gen_tick = g->ticks;
  promises_check(g, ts);
  seen_expire(g, ts);
  expire_pending(g, ts);
  for (size_t i = 0; i < g->ntopics; i++)
    if (g->tlist[i]->subscribed) maintain_mesh(g, g->tlist[i], ts);
  for (size_t i = 0; i < g->ntopics; i++) maintain_fanout(g, g->tlist[i], ts);
  for (size_t i = 0; i < g->ntopics; i++) {
    topic *t = g->tlist[i];
    if (t->subscribed || t->fanout_lastpub != GG_TS_UNSET) emit_gossip(g, t);
  }
  mcache_shift(g);
  topic_gc(g);
}

gg_ts ggp_gossip_expiry(const ggp_gossip *g) {
  if (!g->started) return 0;
  return gg_ts_min(g->next_hb, g->next_decay);
}

void ggp_gossip_handle_expiry(ggp_gossip *g, gg_ts ts) {
  if (!g->started) {
    g->started = 1;
    g->next_hb = ts + g->s.heartbeat_initial_delay;
    g->next_decay = ts + g->s.score.decay_interval;
    return;
  }
  if (ts >= g->next_decay) {
    refresh_scores(g, ts);
    g->next_decay += g->s.score.decay_interval;
    if (g->next_decay <= ts) g->next_decay = ts + g->s.score.decay_interval;
  }
  if (ts >= g->next_hb) {
    heartbeat(g, ts);
    g->next_hb += g->s.heartbeat_interval;
    if (g->next_hb <= ts) g->next_hb = ts + g->s.heartbeat_interval;
  }
  finish(g, ts);
}

/* ======================================================================================== */
/* public: peers, topics, lifecycle                                                        */
/* ======================================================================================== */

const gg_peerid *ggp_gossip_self(const ggp_gossip *g) { return &g->self; }

int ggp_gossip_add_peer(ggp_gossip *g, const gg_peerid *id, int version, unsigned flags, gg_ts ts) {
  if (!g || !id || !id->len || !ggp_gossip_protocol(version) || gg_peerid_eq(id, &g->self))
    return GG_EINVAL;
  peer *p = peer_get(g, id);
  if (p) {
    p->version = version;
    p->flags |= flags & GGP_GOSSIP_OUTBOUND; /* as js: outbound is never unset */
    p->flags = (p->flags & ~(unsigned)GGP_GOSSIP_DIRECT) | (flags & GGP_GOSSIP_DIRECT);
    return GG_OK;
  }
  if (g->npeers >= g->s.max_peers) return GG_ELIMIT;
  if (GROW(g, g->plist, g->cappeers, g->npeers + 1)) return GG_ENOMEM;
  p = gg_calloc(g->mem, 1, sizeof(*p));
  if (!p) return GG_ENOMEM;
  p->id = *id;
  p->serial = ++g->next_serial;
  p->version = version;
  p->flags = flags & (GGP_GOSSIP_OUTBOUND | GGP_GOSSIP_DIRECT);
  p->tok_rpc = g->s.rpc_burst;
  p->tok_bytes = g->s.byte_burst;
  p->tok_msgs = g->s.msg_burst;
  p->tok_ts = ts;
  gg_map_init(&p->dw[0], g->mem, g->rand);
  gg_map_init(&p->dw[1], g->mem, g->rand);
  pstats *ps = gg_map_get(&g->retained, id->b, id->len);
  if (ps) {
    retained_unlink(g, ps);
  } else {
    ps = gg_calloc(g->mem, 1, sizeof(*ps));
    if (ps) ps->id = *id;
  }
  if (!ps || gg_map_put(&g->peers, id->b, id->len, p, NULL) != GG_OK) {
    if (ps) pstats_free(g, ps);
    gg_free(g->mem, p);
    return GG_ENOMEM;
  }
  if (gg_map_put(&g->serials, &p->serial, sizeof(p->serial), p, NULL) != GG_OK) {
    gg_map_del(&g->peers, id->b, id->len);
    pstats_free(g, ps);
    gg_free(g->mem, p);
    return GG_ENOMEM;
  }
  ps->connected = 1;
  dirty(ps);
  p->ps = ps;
  p->idx = g->npeers;
  g->plist[g->npeers++] = p;
  /* hello: our subscriptions */
  for (size_t i = 0; i < g->ntopics; i++)
    if (g->tlist[i]->subscribed) queue_sub(g, p, g->tlist[i], 1);
  finish(g, ts);
  return GG_OK;
}

static void peer_free(ggp_gossip *g, peer *p) {
  outbox_free(g, p);
  gg_map_free(&p->dw[0]);
  gg_map_free(&p->dw[1]);
  gg_free(g->mem, p->topics);
  gg_free(g->mem, p);
}

void ggp_gossip_remove_peer(ggp_gossip *g, const gg_peerid *id, gg_ts ts) {
  peer *p = g && id ? peer_get(g, id) : NULL;
  if (!p) return;
  for (size_t i = 0; i < p->ntopics; i++) topic_forget_peer(g, p->topics[i], p, 0);
  for (size_t i = 0; i < g->ntopics; i++) /* fanout may hold it after it left the topic */
    list_del(g->tlist[i]->fanout, &g->tlist[i]->nfanout, p);
  if (p->dirty) list_del(g->dirty, &g->ndirty, p);
  pstats_retain(g, p->ps, ts); /* applies the mesh failure penalties of its meshes */
  gg_map_del(&g->peers, id->b, id->len);
  gg_map_del(&g->serials, &p->serial, sizeof(p->serial));
  g->plist[p->idx] = g->plist[--g->npeers];
  g->plist[p->idx]->idx = p->idx;
  peer_free(g, p);
  finish(g, ts);
}

int ggp_gossip_set_peer_ip(ggp_gossip *g, const gg_peerid *id, const uint8_t *ip, size_t len) {
  if (!g || !id || (!ip && len) || len > MAX_IP_LEN) return GG_EINVAL;
  peer *p = peer_get(g, id);
  if (!p) return GG_ENOTFOUND;
  pstats *ps = p->ps;
  if (ps->iplen == len && memcmp(ps->ip, ip, len) == 0) return GG_OK;
  ip_count(g, ps->ip, ps->iplen, -1);
  if (len) memcpy(ps->ip, ip, len);
  ps->iplen = (uint8_t)len;
  ip_count(g, ps->ip, ps->iplen, 1);
  return GG_OK;
}

static void slot_clear(ggp_gossip *g, int i) {
  for (size_t k = 0; k < g->npeers; k++) {
    pstats *ps = g->plist[k]->ps;
    if ((size_t)i < ps->nt) memset(&ps->t[i], 0, sizeof(tstats));
  }
  for (pstats *ps = g->rhead; ps; ps = ps->rnext)
    if ((size_t)i < ps->nt) memset(&ps->t[i], 0, sizeof(tstats));
}

int ggp_gossip_set_topic_score(ggp_gossip *g, const char *name, const ggp_gossip_topic_score *p) {
  if (!g || !name || !topic_name_ok((const uint8_t *)name, strlen(name))) return GG_EINVAL;
  if (p && !topic_score_ok(p)) return GG_EINVAL;
  size_t len = strlen(name);
  topic *t = p ? topic_make(g, name, len, 0) : topic_get(g, name, len);
  if (!t) return p ? GG_ELIMIT : GG_OK;
  dirty_all(g);
  if (!p) {
    if (t->slot < 0) return GG_OK;
    slot_clear(g, t->slot);
    g->slots[t->slot].t = NULL;
    t->slot = -1;
    while (g->nslots && !g->slots[g->nslots - 1].t) g->nslots--;
    return GG_OK;
  }
  if (t->slot < 0) {
    int i = 0;
    while (i < MAX_SLOTS && g->slots[i].t) i++;
    if (i == MAX_SLOTS) return GG_ELIMIT;
    slot_clear(g, i); /* stale counters of an earlier topic in this slot */
    g->slots[i].t = t;
    t->slot = i;
    if (i + 1 > g->nslots) g->nslots = i + 1;
    /* peers already in our mesh start their time in mesh now */
    for (size_t k = 0; k < t->nmesh; k++) score_graft(g, t->mesh[k], t, GG_TS_UNSET);
  }
  g->slots[t->slot].p = *p;
  return GG_OK;
}

void ggp_gossip_rescore(ggp_gossip *g) { dirty_all(g); }

int ggp_gossip_subscribe(ggp_gossip *g, const char *name, gg_ts ts) {
  if (!g || !name) return GG_EINVAL;
  size_t len = strlen(name);
  if (!topic_name_ok((const uint8_t *)name, len)) return GG_EINVAL;
  topic *t = topic_make(g, name, len, 0);
  if (!t) return GG_ELIMIT;
  if (t->subscribed) return GG_OK;
  if (g->s.score_subscribed_topics && t->slot < 0) {
    ggp_gossip_topic_score tp;
    ggp_gossip_topic_score_default(&tp);
    ggp_gossip_set_topic_score(g, name, &tp); /* GG_ELIMIT: the topic is simply not scored */
  }
  t->subscribed = 1;
  for (size_t i = 0; i < g->npeers; i++) queue_sub(g, g->plist[i], t, 1);
  /* JOIN: fanout peers first, then random topic peers, up to D */
  for (size_t i = 0; i < t->nfanout && t->nmesh < g->s.d; i++) {
    peer *q = t->fanout[i];
    if ((q->flags & GGP_GOSSIP_DIRECT) || score(g, q) < 0 || backed_off(g, t, q, ts)) continue;
    graft_peer(g, t, q, ts);
  }
  t->nfanout = 0;
  t->fanout_lastpub = GG_TS_UNSET;
  size_t nc = mesh_candidates(g, t, ts);
  for (size_t i = 0; i < nc && t->nmesh < g->s.d; i++) graft_peer(g, t, g->cand[i], ts);
  finish(g, ts);
  return GG_OK;
}

int ggp_gossip_unsubscribe(ggp_gossip *g, const char *name, gg_ts ts) {
  if (!g || !name) return GG_EINVAL;
  topic *t = topic_get(g, name, strlen(name));
  if (!t || !t->subscribed) return GG_OK;
  t->subscribed = 0;
  for (size_t i = 0; i < g->npeers; i++) queue_sub(g, g->plist[i], t, 0);
  /* LEAVE: PRUNE the mesh with the unsubscribe backoff */
  while (t->nmesh) {
    peer *q = t->mesh[t->nmesh - 1];
    mesh_del(g, t, q, 1);
    make_prune(g, q, t, g->s.do_px, 1, ts);
  }
  finish(g, ts);
  return GG_OK;
}

int ggp_gossip_new(ggp_gossip **out, const ggp_gossip_callbacks *cb,
                   const ggp_gossip_settings *settings, const gg_keypair *kp, const gg_rand *rand,
                   const gg_mem *mem, void *ud) {
  ggp_gossip_settings s;
  if (settings)
    s = *settings;
  else
    ggp_gossip_settings_default(&s);
  if (!out || !cb || !cb->send_rpc || !kp || !rand || !settings_ok(&s)) return GG_EINVAL;
  if (s.msgid_fn == GGP_GOSSIP_MSGID_CUSTOM && !cb->msgid) return GG_EINVAL;
  ggp_gossip *g = gg_calloc(mem, 1, sizeof(*g));
  if (!g) return GG_ENOMEM;
  g->cb = *cb;
  g->s = s;
  g->rand = rand;
  g->mem = mem;
  g->ud = ud;
  g->kp = *kp;
  gg_peerid_from_ed25519(&g->self, kp->pub);
  g->seqno = gg_rand_u64(rand);
  g->epoch = 1;
  g->max_backoff = s.max_peers * 8;
  gg_map_init(&g->peers, mem, rand);
  gg_map_init(&g->serials, mem, rand);
  gg_map_init(&g->topics, mem, rand);
  gg_map_init(&g->retained, mem, rand);
  gg_map_init(&g->ips, mem, rand);
  gg_map_init(&g->mcache, mem, rand);
  gg_map_init(&g->seen, mem, rand);
  gg_map_init(&g->pend, mem, rand);
  gg_map_init(&g->promises, mem, rand);
  gg_buf_init(&g->tx, mem, s.max_rpc_size + 64);
  *out = g;
  return GG_OK;
}

void ggp_gossip_del(ggp_gossip *g) {
  if (!g) return;
  while (g->phead) pending_free(g, g->phead);
  for (size_t w = 0; w < MAX_HISTORY; w++) {
    for (mentry *e = g->win[w], *n; e; e = n) {
      n = e->next;
      mentry_free(g, e);
    }
  }
  while (g->shead) seen_pop(g);
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&g->promises, &it))) gg_free(g->mem, e->val);
  for (size_t i = 0; i < g->npeers; i++) {
    pstats_free(g, g->plist[i]->ps);
    peer_free(g, g->plist[i]);
  }
  for (pstats *ps = g->rhead, *n; ps; ps = n) {
    n = ps->rnext;
    pstats_free(g, ps);
  }
  for (size_t i = 0; i < g->ntopics; i++) topic_free(g, g->tlist[i]);
  gg_map_free(&g->peers);
  gg_map_free(&g->serials);
  gg_map_free(&g->topics);
  gg_map_free(&g->retained);
  gg_map_free(&g->ips);
  gg_map_free(&g->mcache);
  gg_map_free(&g->seen);
  gg_map_free(&g->pend);
  gg_map_free(&g->promises);
  gg_buf_free(&g->tx);
  gg_free(g->mem, g->plist);
  gg_free(g->mem, g->tlist);
  gg_free(g->mem, g->ev);
  gg_free(g->mem, g->dirty);
  gg_free(g->mem, g->cand);
  gg_free(g->mem, g->sel);
  gg_free(g->mem, g->pxsel);
  gg_free(g->mem, g);
}

/* ======================================================================================== */
/* introspection                                                                           */
/* ======================================================================================== */

void ggp_gossip_get_stats(const ggp_gossip *g, ggp_gossip_stats *st) {
  *st = g->st;
  st->peers = g->npeers;
  st->topics = g->ntopics;
  st->subscriptions = 0;
  st->mesh_links = st->fanout_links = 0;
  for (size_t i = 0; i < g->ntopics; i++) {
    const topic *t = g->tlist[i];
    st->subscriptions += t->nsubs;
    st->mesh_links += t->nmesh;
    st->fanout_links += t->nfanout;
  }
  st->mcache_msgs = g->mcache_n;
  st->mcache_bytes = g->mcache_bytes;
  st->seen = gg_map_count(&g->seen);
  st->pending = g->npend;
  st->promises = g->npromises;
  st->backoffs = g->nbackoff;
  st->idontwants = 0;
  for (size_t i = 0; i < g->npeers; i++)
    st->idontwants += gg_map_count(&g->plist[i]->dw[0]) + gg_map_count(&g->plist[i]->dw[1]);
  st->retained = g->nretained;
}

double ggp_gossip_peer_score(ggp_gossip *g, const gg_peerid *id) {
  peer *p = peer_get(g, id);
  if (p) return score(g, p);
  return score_of(g, gg_map_get(&g->retained, id->b, id->len));
}

size_t ggp_gossip_mesh_peers(const ggp_gossip *g, const char *name, int fanout, gg_peerid *out,
                             size_t cap) {
  const topic *t = topic_get(g, name, strlen(name));
  if (!t) return 0;
  peer *const *set = fanout ? t->fanout : t->mesh;
  size_t n = fanout ? t->nfanout : t->nmesh;
  for (size_t i = 0; i < n && i < cap; i++) out[i] = set[i]->id;
  return n;
}

size_t ggp_gossip_topic_peers(const ggp_gossip *g, const char *name) {
  const topic *t = topic_get(g, name, strlen(name));
  return t ? t->nsubs : 0;
}

int ggp_gossip_subscribed(const ggp_gossip *g, const char *name) {
  const topic *t = topic_get(g, name, strlen(name));
  return t && t->subscribed;
}
