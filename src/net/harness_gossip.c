/*
 * Gossipsub commands of the harness worker (docs/harness.md): nodes started after
 * "set gossip=1" run the gossip service (include/ggen/gossip_service.h) on their host, and
 * these commands drive it for bench_gossip.
 *
 * Timing across processes: every worker runs on the same machine, and uv_hrtime() is
 * CLOCK_MONOTONIC, which all processes share. A publisher reports when it started publishing
 * (t0=, absolute uv_hrtime ns) and every receiver records when each message was delivered to
 * it (absolute), so the coordinator computes propagation as delivery minus t0 without any
 * clock correction.
 *
 * Messages carry a message number the coordinator chooses:
 *  - plain messages: "gbench <msgno> " followed by padding up to the requested size;
 *  - package announcements: a signed release record (include/ggen/release.h, about 2 KiB)
 *    whose version is "1.0.<msgno>", signed at publish time by a publisher key derived from the
 *    node's seed; receivers validate it (decode + Ed25519 verification) in the topic's
 *    validator before it is delivered or forwarded, as the marketplace will.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/release.h"
#include "net/harness_int.h"

#define MAX_RECV 4096 /* deliveries recorded per node */
#define REC_DESC 1800 /* description bytes of a bench release record (record about 2 KiB) */

typedef struct hw_grecv {
  uint32_t msgno;
  gg_ts t; /* uv_hrtime at delivery */
} hw_grecv;

/* What a node records (hw_node->gossip_rx). */
typedef struct hw_gnode {
  hw_grecv *rx;
  size_t nrx, lost; /* recorded, not recorded (over MAX_RECV) */
  uint64_t rejected;
  int64_t validated;                 /* msgno the record validator accepted last (-1: none) */
  uint8_t vid[GGP_GOSSIP_MSGID_MAX]; /* and its message id */
  size_t vidlen;
} hw_gnode;

int hw_gossip_set(hw_settings *st, const char *k, const char *v) {
  char *end;
  unsigned long u = strtoul(v, &end, 10);
  int num = *v && !*end && u <= 1000000;
  if (!strcmp(k, "gossip"))
    st->gossip = num && u;
  else if (!strcmp(k, "gossip_hb_ms"))
    st->gossip_hb = (gg_ts)u * GG_MS(1);
  else if (!strcmp(k, "gossip_d"))
    st->gossip_d = (unsigned)u;
  else if (!strcmp(k, "gossip_flood"))
    st->gossip_no_flood = num && !u;
  else
    return GG_ENOTFOUND;
  if (!strcmp(k, "gossip_hb_ms") && u == 0) return GG_EINVAL;
  return num ? GG_OK : GG_EINVAL;
}

static hw_gnode *gnode(hw_node *n) { return n->gossip_rx; }

static void record(hw_node *n, uint32_t msgno) {
  hw_gnode *g = gnode(n);
  if (g->nrx == MAX_RECV) {
    g->lost++;
    return;
  }
  g->rx[g->nrx++] = (hw_grecv){msgno, uv_hrtime()};
}

static void on_plain(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  char head[32];
  size_t l = m->len < sizeof head - 1 ? m->len : sizeof head - 1;
  memcpy(head, m->data, l);
  head[l] = 0;
  unsigned msgno;
  if (sscanf(head, "gbench %u ", &msgno) == 1) record(ud, msgno);
}

/* The msgno of a bench release record: its version is "1.0.<msgno>". */
static int record_msgno(const ggm_release *r) {
  unsigned msgno;
  return sscanf(r->version, "1.0.%u", &msgno) == 1 ? (int)msgno : -1;
}

static int validate_record(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  hw_node *n = ud;
  ggm_release r;
  int rv = ggm_release_decode(m->data, m->len, &r, NULL); /* verifies the signature */
  int msgno = rv == GG_OK ? record_msgno(&r) : -1;
  if (rv == GG_OK) ggm_release_free(&r);
  if (msgno < 0) {
    gnode(n)->rejected++;
    return GGP_GOSSIP_REJECT;
  }
  gnode(n)->validated = msgno;
  memcpy(gnode(n)->vid, m->msgid, m->msgid_len);
  gnode(n)->vidlen = m->msgid_len;
  return GGP_GOSSIP_ACCEPT;
}

static void on_record(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  hw_node *n = ud;
  hw_gnode *g = gnode(n);
  /* the router delivers a message right after accepting it: the validator's answer is ours */
  if (g->validated >= 0 && g->vidlen == m->msgid_len && !memcmp(g->vid, m->msgid, g->vidlen))
    record(n, (uint32_t)g->validated);
  g->validated = -1;
}

int hw_gossip_attach(hw_node *n, const hw_settings *st) {
  if (!st->gossip) return GG_OK;
  ggp_gossip_settings r;
  ggp_gossip_settings_default(&r);
  if (st->gossip_hb) r.heartbeat_interval = st->gossip_hb;
  if (st->gossip_d) {
    /* D with the spec's ratios: D_lo = 2/3 D, D_hi = 2 D */
    r.d = st->gossip_d;
    r.d_lo = st->gossip_d * 2 / 3;
    r.d_hi = st->gossip_d * 2;
    r.d_score = r.d_lo;
    r.d_out = r.d_lo / 2;
  }
  r.flood_publish = !st->gossip_no_flood;
  hw_gnode *g = calloc(1, sizeof(*g));
  if (g) g->rx = malloc(MAX_RECV * sizeof(*g->rx));
  if (!g || !g->rx) {
    if (g) free(g);
    return GG_ENOMEM;
  }
  g->validated = -1;
  ggn_gossip_settings gst = {.router = &r};
  int rv = ggn_gossip_new(&n->gossip, n->h, &gst);
  if (rv != GG_OK) {
    free(g->rx);
    free(g);
    return rv;
  }
  n->gossip_rx = g;
  return GG_OK;
}

static void gnode_free(hw_node *n) {
  hw_gnode *g = gnode(n);
  if (!g) return;
  free(g->rx);
  free(g);
  n->gossip_rx = NULL;
}

void hw_gossip_close(hw_node *n, void (*on_closed)(void *ud)) {
  gnode_free(n);
  ggn_gossip_close(n->gossip, on_closed, n);
  n->gossip = NULL;
}

static int need_gossip(hw_op *op) {
  if (op->n->gossip) return 1;
  hw_reply_err(op, GG_ESTATE, "node %u runs no gossip service (set gossip=1 before start)",
               op->n->idx);
  return 0;
}

/* gsub IDX TOPIC [record]: subscribe; "record" makes the topic's messages release records,
 * validated before delivery. */
static void cmd_gsub(hw_op *op, int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "record"))) {
    hw_reply_err(op, GG_EINVAL, "usage: gsub IDX TOPIC [record]");
    return;
  }
  if (!need_gossip(op)) return;
  hw_node *n = op->n;
  int rec = argc == 4;
  int rv = rec ? ggn_gossip_set_validator(n->gossip, argv[2], validate_record, n) : GG_OK;
  if (rv == GG_OK) rv = ggn_gossip_subscribe(n->gossip, argv[2], rec ? on_record : on_plain, n);
  if (rv != GG_OK)
    hw_reply_err(op, rv, "subscribe");
  else
    hw_reply_ok(op, "%s", "");
}

/* A publisher key per node for release records (distinct from its host key). */
static void publisher_key(const hw_node *n, gg_keypair *kp) {
  uint8_t seed[GG_ED25519_SEED] = {0};
  memcpy(seed, "ggen-bench-publisher", 20);
  for (int i = 0; i < 4; i++) seed[20 + i] = (uint8_t)(n->idx >> (8 * i));
  gg_keypair_from_seed(kp, seed);
}

/* Builds and signs the bench release record number msgno into out. */
static int make_record(const hw_node *n, uint32_t msgno, gg_buf *out) {
  static char desc[REC_DESC + 1];
  if (!desc[0]) {
    for (size_t i = 0; i < REC_DESC; i++) desc[i] = "abcdefghij klmnopqrstuvwxyz."[i % 28];
    desc[REC_DESC] = 0;
  }
  char version[32], name[64];
  snprintf(version, sizeof version, "1.0.%u", msgno);
  snprintf(name, sizeof name, "bench package %u", n->idx);
  static const char *const tags[] = {"bench", "gossip", "rdf"};
  static const ggm_release_dep deps[] = {{"bench.base", "^1.0.0"}, {"bench.util", ">=0.3.0"}};
  ggm_release r = {
      .id = "bench.package",
      .version = version,
      .name = name,
      .description = desc,
      .license = "MIT",
      .tags = tags,
      .n_tags = 3,
      .homepage = "https://example.org/bench/package",
      .deps = deps,
      .n_deps = 2,
      .archive_size = 123456,
      .publish_time = 1700000000u + msgno,
  };
  r.archive_cid[0] = 0x01; /* CIDv1 raw sha2-256 of nothing in particular */
  r.archive_cid[1] = 0x55;
  r.archive_cid[2] = 0x12;
  r.archive_cid[3] = 0x20;
  for (size_t i = 4; i < GGM_CID_LEN; i++) r.archive_cid[i] = (uint8_t)(msgno + i);
  gg_keypair kp;
  publisher_key(n, &kp);
  return ggm_release_sign(&r, &kp, out, NULL);
}

/* gpub IDX TOPIC MSGNO SIZE|record: publish; replies t0= (uv_hrtime when publishing started),
 * ns= (the publish call: signing, encoding, queueing), recipients=, bytes= */
static void cmd_gpub(hw_op *op, int argc, char **argv) {
  char *end;
  unsigned long msgno = argc == 5 ? strtoul(argv[3], &end, 10) : 0;
  if (argc != 5 || *end || msgno > UINT32_MAX) {
    hw_reply_err(op, GG_EINVAL, "usage: gpub IDX TOPIC MSGNO SIZE|record");
    return;
  }
  if (!need_gossip(op)) return;
  hw_node *n = op->n;
  gg_buf b;
  gg_buf_init(&b, NULL, 8u << 20);
  gg_ts t0 = uv_hrtime();
  int rv;
  if (!strcmp(argv[4], "record")) {
    rv = make_record(n, (uint32_t)msgno, &b);
  } else {
    unsigned long size = strtoul(argv[4], &end, 10);
    char head[48];
    int hl = snprintf(head, sizeof head, "gbench %lu ", msgno);
    if (*end || size > (4u << 20))
      rv = GG_EINVAL;
    else
      rv = gg_buf_append(&b, head, (size_t)hl);
    for (size_t i = (size_t)hl; rv == GG_OK && i < size; i++) rv = gg_buf_append_byte(&b, 'x');
  }
  size_t rec = 0;
  if (rv == GG_OK)
    rv = ggn_gossip_publish(n->gossip, argv[2], gg_buf_ptr(&b), gg_buf_len(&b), &rec, NULL, NULL);
  gg_ts t1 = uv_hrtime();
  size_t len = gg_buf_len(&b);
  gg_buf_free(&b);
  if (rv != GG_OK) {
    hw_reply_err(op, rv, "publish");
    return;
  }
  hw_reply_ok(op, "t0=%llu ns=%llu recipients=%zu bytes=%zu", (unsigned long long)t0,
              (unsigned long long)(t1 - t0), rec, len);
}

/* grecv IDX [FROM]: deliveries recorded since the FROM-th (default 0), as
 * n= lost= rejected= rx=MSGNO:T,MSGNO:T,... (T absolute uv_hrtime ns). */
static void cmd_grecv(hw_op *op, int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    hw_reply_err(op, GG_EINVAL, "usage: grecv IDX [FROM]");
    return;
  }
  if (!need_gossip(op)) return;
  hw_gnode *g = gnode(op->n);
  size_t from = argc == 3 ? strtoul(argv[2], NULL, 10) : 0;
  size_t cap = 60000, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    hw_reply_err(op, GG_ENOMEM, "grecv");
    return;
  }
  buf[0] = 0;
  size_t i = from;
  for (; i < g->nrx && len + 40 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%u:%llu", len ? "," : "", g->rx[i].msgno,
                            (unsigned long long)g->rx[i].t);
  /* n= is how many were listed; next= where a following grecv should start */
  hw_reply_ok(op, "n=%zu next=%zu lost=%zu rejected=%llu rx=%s", i - (from < i ? from : i), i,
              g->lost, (unsigned long long)g->rejected, len ? buf : "-");
  free(buf);
}

/* gstats IDX: the router's and the service's counters. */
static void cmd_gstats(hw_op *op, int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (!need_gossip(op)) return;
  ggp_gossip_stats s;
  ggp_gossip_get_stats(ggn_gossip_router(op->n->gossip), &s);
  ggn_gossip_stats v;
  ggn_gossip_get_stats(op->n->gossip, &v);
  hw_reply_ok(op,
              "peers=%zu mesh=%zu in=%llu first=%llu dup=%llu delivered=%llu invalid=%llu "
              "bytes_out=%llu rpcs_out=%llu bytes_in=%llu ihave_in=%llu iwant_out=%llu "
              "iwant_in=%llu idontwant_out=%llu dropped=%llu",
              s.peers, s.mesh_links, (unsigned long long)s.msgs_in,
              (unsigned long long)s.msgs_first, (unsigned long long)s.msgs_dup,
              (unsigned long long)s.msgs_delivered, (unsigned long long)s.msgs_invalid,
              (unsigned long long)s.bytes_out, (unsigned long long)s.rpcs_out,
              (unsigned long long)s.bytes_in, (unsigned long long)s.ihave_in,
              (unsigned long long)s.iwant_out, (unsigned long long)s.iwant_in,
              (unsigned long long)s.idontwant_out, (unsigned long long)v.rpcs_dropped);
}

const hw_cmd hw_gossip_cmds[] = {
    {"gsub", cmd_gsub, 1},     {"gpub", cmd_gpub, 1}, {"grecv", cmd_grecv, 1},
    {"gstats", cmd_gstats, 1}, {NULL, NULL, 0},
};
