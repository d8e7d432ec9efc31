/*
 * Kademlia commands of the harness worker (docs/harness.md): nodes started after
 * "set kad=1" run the kad service (include/ggen/kad_service.h) on their host, and these
 * commands drive it. Each query's reply carries the worker's latency (ns=) and the core's
 * statistics (ggp_kad_result: rounds, requests, replies, failures), so the coordinator can
 * report rounds and messages per lookup next to the latency.
 *
 * Records live in the "/bench/" namespace, whose validator accepts any value (the benchmark
 * writes each key once); provider keys are the sha2-256 multihash of a name. The service
 * forgets its queries when closed without calling back, so the node keeps its pending kad
 * operations on a list and answers them (GG_ECANCELED) itself when it stops.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ggen/err.h"
#include "net/harness_int.h"

/* A kad operation in flight on a node. */
typedef struct hw_kop {
  struct hw_kop *prev, *next;
  hw_op *op;
  hw_node *n;
  char *expect;        /* get: the value the coordinator expects, or NULL */
  ggn_kad_counters c0; /* the node's counters when the query started */
} hw_kop;

static int v_any(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  (void)ud, (void)k, (void)kl, (void)v, (void)vl;
  return GG_OK;
}

static size_t v_first(void *ud, const uint8_t *k, size_t kl, const gg_slice *v, size_t n) {
  (void)ud, (void)k, (void)kl, (void)v, (void)n;
  return 0;
}

int hw_kad_set(hw_settings *st, const char *k, const char *v) {
  char *end;
  unsigned long u = strtoul(v, &end, 10);
  int num = *v && !*end;
  if (!strcmp(k, "kad"))
    st->kad = num && u;
  else if (!strcmp(k, "kad_k"))
    st->kad_k = u;
  else if (!strcmp(k, "kad_alpha"))
    st->kad_alpha = u;
  else if (!strcmp(k, "kad_prepare_ahead"))
    st->kad_prepare_ahead = u;
  else if (!strcmp(k, "kad_bootstrap_alpha"))
    st->kad_bootstrap_alpha = u;
  else if (!strcmp(k, "kad_client"))
    st->kad_client = num && u;
  else if (!strcmp(k, "kad_protect"))
    st->kad_no_protect = num && !u;
  else if (!strcmp(k, "kad_ahead"))
    st->kad_no_ahead = num && !u;
  else if (!strcmp(k, "kad_redial"))
    st->kad_redial = num && u;
  else if (!strcmp(k, "kad_warm_first"))
    st->kad_no_warm = num && !u;
  else if (!strcmp(k, "kad_timeout_ms"))
    st->kad_req_timeout = (gg_ts)u * GG_MS(1);
  else if (!strcmp(k, "kad_proto")) {
    if (strlen(v) >= sizeof st->kad_proto || v[0] != '/') return GG_EINVAL;
    strcpy(st->kad_proto, v);
    return GG_OK;
  } else
    return GG_ENOTFOUND;
  return num && u <= 1000000 ? GG_OK : GG_EINVAL;
}

int hw_kad_attach(hw_node *n, const hw_settings *st) {
  if (!st->kad) return GG_OK;
  ggp_kad_validator v = {.ns = "bench", .validate = v_any, .select = v_first};
  ggn_kad_settings ks = {
      .protocol = st->kad_proto[0] ? st->kad_proto : NULL,
      .client_mode = st->kad_client,
      .validators = &v,
      .nvalidators = 1,
      .no_protect = st->kad_no_protect,
      .no_connect_ahead = st->kad_no_ahead,
      .redial_interval = st->kad_redial ? GG_SEC(60) : 0,
      .no_warm_first = st->kad_no_warm,
  };
  ggp_kad_settings_default(&ks.kad);
  if (st->kad_k) ks.kad.k = st->kad_k;
  if (st->kad_alpha) ks.kad.alpha = st->kad_alpha;
  if (st->kad_prepare_ahead) ks.kad.prepare_ahead = st->kad_prepare_ahead;
  if (st->kad_bootstrap_alpha) ks.kad.bootstrap_alpha = st->kad_bootstrap_alpha;
  if (st->kad_req_timeout) ks.kad.request_timeout = st->kad_req_timeout;
  return ggn_kad_new(&n->kad, n->h, &ks);
}

static void kop_free(hw_kop *ko) {
  hw_node *n = ko->n;
  if (ko->prev)
    ko->prev->next = ko->next;
  else
    n->kops = ko->next;
  if (ko->next) ko->next->prev = ko->prev;
  free(ko->expect);
  free(ko);
}

void hw_kad_close(hw_node *n, void (*on_closed)(void *ud)) {
  while (n->kops) {
    hw_kop *ko = n->kops;
    hw_reply_err(ko->op, GG_ECANCELED, "node stopped");
    kop_free(ko);
  }
  ggn_kad_close(n->kad, on_closed, n);
  n->kad = NULL;
}

static hw_kop *kop_new(hw_op *op) {
  hw_node *n = op->n;
  if (!n->kad) {
    hw_reply_err(op, GG_ESTATE, "node %u runs no kad service (set kad=1 before start)", n->idx);
    return NULL;
  }
  hw_kop *ko = calloc(1, sizeof(*ko));
  if (!ko) {
    hw_reply_err(op, GG_ENOMEM, "kad op");
    return NULL;
  }
  ko->op = op;
  ko->n = n;
  ggn_kad_get_counters(n->kad, &ko->c0);
  ko->next = n->kops;
  if (n->kops) n->kops->prev = ko;
  n->kops = ko;
  return ko;
}

/* A query could not start: answer and forget it. */
static void kop_fail(hw_kop *ko, int err, const char *what) {
  hw_reply_err(ko->op, err, "%s", what);
  kop_free(ko);
}

/* Fills buf with the fields every query reply carries. */
static void stats_fields(hw_kop *ko, const ggp_kad_result *r, char *buf, size_t cap) {
  gg_ts ns = gg_clock_now() - ko->op->t0;
  ggn_kad_counters c;
  ggn_kad_get_counters(ko->n->kad, &c);
  /* cold/cold_rt/ahead: the node's counters over the query's life (other queries the node ran
   * meanwhile count too; benchmarks run one per node at a time) */
  snprintf(buf, cap,
           "ns=%llu dur=%llu rounds=%u requests=%u replies=%u failures=%u rt=%zu cold=%llu "
           "cold_rt=%llu ahead=%llu",
           (unsigned long long)ns, (unsigned long long)r->duration, r->rounds, r->requests,
           r->replies, r->failures, ggn_kad_routing_size(ko->n->kad),
           (unsigned long long)(c.cold - ko->c0.cold),
           (unsigned long long)(c.cold_rt - ko->c0.cold_rt),
           (unsigned long long)(c.ahead - ko->c0.ahead));
}

static void done(ggn_kad *k, const ggp_kad_result *r, void *ud) {
  hw_kop *ko = ud;
  char st[256];
  stats_fields(ko, r, st, sizeof st);
  int err = r->err;
  if (err == GG_OK) {
    switch (r->type) {
    case GGP_KAD_Q_GET_VALUE:
      if (ko->expect && (r->vlen != strlen(ko->expect) || memcmp(r->val, ko->expect, r->vlen)))
        err = GG_EINTEGRITY;
      else
        hw_reply_ok(ko->op, "%s vlen=%zu", st, r->vlen);
      break;
    case GGP_KAD_Q_PUT_VALUE:
    case GGP_KAD_Q_PROVIDE:
      /* stored nowhere is a failure: nobody else could find it */
      if (r->stored == 0)
        err = GG_ENOTFOUND;
      else
        hw_reply_ok(ko->op, "%s stored=%zu", st, r->stored);
      break;
    case GGP_KAD_Q_FIND_PEER:
      if (r->npeers == 0)
        err = GG_ENOTFOUND;
      else
        hw_reply_ok(ko->op, "%s addrs=%zu", st, r->peers[0].naddrs);
      break;
    case GGP_KAD_Q_BOOTSTRAP:
      /* a join that found nobody is no join */
      if (r->npeers == 0)
        err = GG_ENOTFOUND;
      else
        hw_reply_ok(ko->op, "%s peers=%zu", st, r->npeers);
      break;
    case GGP_KAD_Q_GET_PROVIDERS:
      if (r->nproviders == 0)
        err = GG_ENOTFOUND;
      else
        hw_reply_ok(ko->op, "%s providers=%zu", st, r->nproviders);
      break;
    default: hw_reply_ok(ko->op, "%s peers=%zu", st, r->npeers); break;
    }
  }
  /* failures still carry the statistics, after the error name */
  if (err != GG_OK) hw_reply_err(ko->op, err, "%s", st);
  kop_free(ko);
}

static void cmd_bootstrap(hw_op *op, int argc, char **argv) {
  gg_maddr peers[16];
  size_t np = 0;
  for (int i = 2; i < argc; i++) {
    if (np == 16 || gg_maddr_parse(&peers[np++], argv[i], strlen(argv[i])) != GG_OK) {
      hw_reply_err(op, GG_EINVAL, "usage: bootstrap IDX [MADDR/p2p/ID]... (at most 16)");
      return;
    }
  }
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_bootstrap(ko->n->kad, peers, np, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "bootstrap");
}

static int key_arg(const char *s, uint8_t *key, size_t *klen) {
  /* "/bench/<name>": the record key, as given */
  size_t l = strlen(s);
  if (l > 512) return GG_EINVAL;
  memcpy(key, s, l);
  *klen = l;
  return GG_OK;
}

static void cmd_put(hw_op *op, int argc, char **argv) {
  uint8_t key[512];
  size_t kl;
  if (argc != 4 || key_arg(argv[2], key, &kl) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: put IDX KEY VALUE");
    return;
  }
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_put(ko->n->kad, key, kl, (const uint8_t *)argv[3], strlen(argv[3]), done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "put");
}

static void cmd_get(hw_op *op, int argc, char **argv) {
  uint8_t key[512];
  size_t kl;
  if ((argc != 3 && argc != 4) || key_arg(argv[2], key, &kl) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: get IDX KEY [EXPECTED-VALUE]");
    return;
  }
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  if (argc == 4 && !(ko->expect = strdup(argv[3]))) {
    kop_fail(ko, GG_ENOMEM, "get");
    return;
  }
  int rv = ggn_kad_get(ko->n->kad, key, kl, 0, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "get");
}

static void cmd_findpeer(hw_op *op, int argc, char **argv) {
  gg_peerid id;
  if (argc != 3 || gg_peerid_parse(&id, argv[2], strlen(argv[2])) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: findpeer IDX PEER");
    return;
  }
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_find_peer(ko->n->kad, &id, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "findpeer");
}

/* The sha2-256 multihash of a name: a provider key. */
static void name_mh(const char *name, uint8_t mh[34]) {
  mh[0] = 0x12;
  mh[1] = 0x20;
  crypto_hash_sha256(mh + 2, (const uint8_t *)name, strlen(name));
}

static void cmd_provide(hw_op *op, int argc, char **argv) {
  uint8_t mh[34];
  if (argc != 3) {
    hw_reply_err(op, GG_EINVAL, "usage: provide IDX NAME");
    return;
  }
  name_mh(argv[2], mh);
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_provide(ko->n->kad, mh, sizeof mh, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "provide");
}

static void cmd_findprov(hw_op *op, int argc, char **argv) {
  uint8_t mh[34];
  if (argc != 3) {
    hw_reply_err(op, GG_EINVAL, "usage: findprov IDX NAME");
    return;
  }
  name_mh(argv[2], mh);
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_find_providers(ko->n->kad, mh, sizeof mh, 1, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "findprov");
}

static void cmd_findnode(hw_op *op, int argc, char **argv) {
  uint8_t key[512];
  size_t kl;
  if (argc != 3 || key_arg(argv[2], key, &kl) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: findnode IDX KEY");
    return;
  }
  hw_kop *ko = kop_new(op);
  if (!ko) return;
  int rv = ggn_kad_find_node(ko->n->kad, key, kl, done, ko);
  if (rv != GG_OK) kop_fail(ko, rv, "findnode");
}

static void cmd_kstats(hw_op *op, int argc, char **argv) {
  if (!op->n->kad) {
    hw_reply_err(op, GG_ESTATE, "no kad service");
    return;
  }
  ggp_kad_stats s;
  ggp_kad_get_stats(ggn_kad_core(op->n->kad), &s);
  hw_reply_ok(op,
              "rt=%zu buckets=%zu records=%zu providers=%zu served=%llu refused=%llu "
              "pending=%zu conns=%zu",
              s.routing_peers, s.buckets_used, s.records, s.providers,
              (unsigned long long)s.requests_served, (unsigned long long)s.requests_refused,
              s.pending_requests, ggn_host_conn_count_open(op->n->h));
}

const hw_cmd hw_kad_cmds[] = {
    {"bootstrap", cmd_bootstrap, 1}, {"put", cmd_put, 1},         {"get", cmd_get, 1},
    {"findpeer", cmd_findpeer, 1},   {"provide", cmd_provide, 1}, {"findprov", cmd_findprov, 1},
    {"findnode", cmd_findnode, 1},   {"kstats", cmd_kstats, 1},   {NULL, NULL, 0},
};
