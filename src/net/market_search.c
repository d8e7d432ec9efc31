/*
 * Distributed search in the marketplace service (include/ggen/market_service.h,
 * docs/p2p-marketplace.md "Searching"): the /ggen/search/1.0.0 server, the peers worth asking,
 * and the fan-out client.
 *
 * Server: one length-prefixed SearchRequest within 10 s, through the peer's token bucket
 * (shared with fetch), answered from the catalog with the signed records of the best
 * results (at most GGM_SEARCH_MAX_RESULTS, and at most GGM_SEARCH_RESP_MAX bytes: records are
 * added while they fit); an id query gets every version of that id, newest first. Packages
 * without a record (imported from ggen's indexes) are not offered: a peer could not verify
 * them.
 *
 * Who is asked: the connected peers whose identify answer listed the search protocol (tracked
 * through a host observer, capped), then the DHT routing table, ordered by reputation, at most
 * `fanout`. A client-mode node (a short-lived command) usually knows only its bootstrap peer,
 * so when it has fewer candidates than the fan-out it first runs one DHT FIND_NODE for its
 * own id, which brings the closest peers and their addresses.
 *
 * Client: one stream per peer, the request written and our side closed, one answer read. Every
 * record is verified here so the reputation learns who sends forgeries (5 failures); the
 * caller verifies again when it merges. The job ends when every peer answered or at the
 * deadline, whichever comes first; streams still open then are reset and count as timeouts.
 */
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/release.h"
#include "market_int.h"

#define REQUEST_TIMEOUT GG_SEC(10)
#define MAX_SEARCHERS 1024
#define MAX_CANDS 64
#define MAX_ASK 16 /* the fan-out's cap */
#define SERVER_DEFAULT_LIMIT 20

static double ms_since(gg_ts t0) { return (double)(uv_hrtime() - t0) / 1e6; }

/* ---- peers that serve search ---------------------------------------------------------------- */

static void obs_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *msg, void *ud) {
  (void)msg;
  ggn_market *m = ud;
  const gg_peerid *p = ggn_conn_peer(c);
  if (!ggn_host_peer_supports(h, p, GGM_SEARCH_PROTOCOL)) {
    gg_map_del(&m->searchers, p->b, p->len);
    return;
  }
  if (gg_map_count(&m->searchers) < MAX_SEARCHERS) gg_map_put(&m->searchers, p->b, p->len, m, NULL);
}

static void obs_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)err;
  ggn_market *m = ud;
  const gg_peerid *p = ggn_conn_peer(c);
  if (!ggn_host_conn_to(h, p)) gg_map_del(&m->searchers, p->b, p->len);
}

/* ---- server ---------------------------------------------------------------------------------- */

typedef struct sst {
  struct sst *prev, *next;
  ggn_market *m;
  ggn_stream *s;
  int asked;
} sst;

static void answer(sst *t, int status, const gg_slice *recs, size_t n, const char *corrected,
                   const char *msg) {
  gg_buf b;
  gg_buf_init(&b, t->m->mem, GGM_SEARCH_RESP_MAX + 16);
  if (ggm_psearch_resp_encode(status, recs, n, corrected, msg, &b) == GG_OK &&
      ggn_stream_write(t->s, gg_buf_ptr(&b), gg_buf_len(&b)) >= 0)
    ggn_stream_close_write(t->s);
  else
    ggn_stream_reset(t->s);
  gg_buf_free(&b);
}

/* Records collected for an answer: copies, within the count and size caps. */
typedef struct coll {
  gg_slice v[GGM_SEARCH_MAX_RESULTS];
  size_t n, max, bytes;
  ggn_market *m;
} coll;

static int coll_add(coll *c, const uint8_t *rec, size_t len) {
  if (c->n >= c->max || c->bytes + len + 16 > GGM_SEARCH_RESP_MAX - 1024) return 1; /* full */
  uint8_t *copy = gg_malloc(c->m->mem, len);
  if (!copy) return 1;
  memcpy(copy, rec, len);
  c->v[c->n++] = (gg_slice){copy, len};
  c->bytes += len + 16;
  return 0;
}

static void coll_free(coll *c) {
  for (size_t i = 0; i < c->n; i++) gg_free(c->m->mem, (void *)c->v[i].p);
}

static int each_version(void *ud, const ggs_catalog_vinfo *v) {
  coll *c = ud;
  if (!v->record || v->yanked) return 0;
  return coll_add(c, v->record, v->record_len);
}

static void srv_msg(ggn_stream *s, const uint8_t *msg, size_t n, void *ud) {
  sst *t = ud;
  ggn_market *m = t->m;
  if (t->asked || m->closing) {
    ggn_stream_reset(s);
    return;
  }
  t->asked = 1;
  if (!ggn__market_rate_ok(m, ggn_stream_peer(s))) {
    m->stats.search_refused++;
    answer(t, GGM_ST_RATE_LIMITED, NULL, 0, NULL, "too many requests");
    return;
  }
  ggm_psearch_req q;
  if (ggm_psearch_req_decode(msg, n, &q) != GG_OK) {
    m->stats.search_refused++;
    ggn_logf(m->log, GGN_LOG_INFO, "search request from %s refused: malformed",
             gg_peerid_short(ggn_stream_peer(s)));
    answer(t, GGM_ST_BAD_REQUEST, NULL, 0, NULL, "malformed request");
    return;
  }
  size_t limit = q.limit ? q.limit : SERVER_DEFAULT_LIMIT;
  if (limit > GGM_SEARCH_MAX_RESULTS) limit = GGM_SEARCH_MAX_RESULTS;
  coll c = {.max = limit, .m = m};
  int status = GGM_ST_OK;
  char corrected[GGM_SEARCH_MSG_MAX + 1] = "";
  if (q.id) {
    int rv = ggs_catalog_each_version(m->cat, q.id, each_version, &c);
    if (rv != GG_OK && rv != 1 && rv != GG_ENOTFOUND) status = GGM_ST_ERROR;
  } else {
    ggs_catalog_query cq = {.text = q.text,
                            .tags = q.tags,
                            .n_tags = q.n_tags,
                            .author = q.author,
                            .category = q.category,
                            .license = q.license,
                            /* a few more than asked: some hits have no record to offer */
                            .limit = limit + 10};
    ggs_catalog_results *r = NULL;
    if (ggs_catalog_search(m->cat, &cq, &r) != GG_OK) {
      status = GGM_ST_ERROR;
    } else {
      if (r->corrected) snprintf(corrected, sizeof corrected, "%s", r->corrected);
      int full = 0;
      for (size_t i = 0; i < r->n && !full; i++) {
        ggs_catalog_info *info = NULL;
        if (!r->hits[i].version ||
            ggs_catalog_get(m->cat, r->hits[i].id, r->hits[i].version, &info) != GG_OK)
          continue;
        if (info->versions[0].record)
          full = coll_add(&c, info->versions[0].record, info->versions[0].record_len);
        ggs_catalog_info_free(info);
      }
      ggs_catalog_results_free(r);
    }
  }
  m->stats.searches_served++;
  answer(t, status, status == GGM_ST_OK ? c.v : NULL, status == GGM_ST_OK ? c.n : 0, corrected,
         status == GGM_ST_OK ? NULL : "the catalog failed");
  coll_free(&c);
  ggm_psearch_req_free(&q);
}

static void srv_eof(ggn_stream *s, void *ud) {
  sst *t = ud;
  if (!t->asked) ggn_stream_reset(s);
}

static void srv_close(ggn_stream *s, int err, void *ud) {
  (void)s, (void)err;
  sst *t = ud;
  ggn_market *m = t->m;
  if (t->prev)
    t->prev->next = t->next;
  else
    m->ssrv = t->next;
  if (t->next) t->next->prev = t->prev;
  gg_free(m->mem, t);
  ggn__market_unref(m);
}

static const ggn_stream_callbacks srv_cbs = {
    .on_msg = srv_msg, .on_eof = srv_eof, .on_close = srv_close};

static void on_search_stream(ggn_stream *s, void *ud) {
  ggn_market *m = ud;
  sst *t = m->closing ? NULL : gg_calloc(m->mem, 1, sizeof(*t));
  if (!t) {
    ggn_stream_reset(s);
    return;
  }
  t->m = m;
  t->s = s;
  t->next = m->ssrv;
  if (m->ssrv) m->ssrv->prev = t;
  m->ssrv = t;
  ggn__market_ref(m);
  ggn_stream_set_callbacks(s, &srv_cbs, t);
  if (ggn_stream_read_msgs(s, GGM_SEARCH_REQ_MAX) != GG_OK) {
    ggn_stream_reset(s);
    return;
  }
  ggn_stream_set_deadline(s, uv_hrtime() + REQUEST_TIMEOUT);
}

int ggn__market_search_init(ggn_market *m) {
  gg_map_init(&m->searchers, m->mem, gg_rand_system());
  static const ggn_host_callbacks obs = {.on_identify = obs_identify, .on_conn_down = obs_down};
  int rv = ggn_host_observe(m->h, &obs, m);
  if (rv != GG_OK) return rv;
  m->observing = 1;
  if (!m->client_mode) rv = ggn_host_handle(m->h, GGM_SEARCH_PROTOCOL, on_search_stream, m);
  return rv;
}

void ggn__market_search_close(ggn_market *m) {
  if (m->observing) ggn_host_unobserve(m->h, m);
  m->observing = 0;
  if (!m->client_mode) ggn_host_unhandle(m->h, GGM_SEARCH_PROTOCOL);
  for (sst *t = m->ssrv; t; t = t->next) ggn_stream_reset(t->s);
}

void ggn__market_search_free(ggn_market *m) { gg_map_free(&m->searchers); }

/* ---- client -----------------------------------------------------------------------------------
 */

typedef struct sjob sjob;

typedef struct satt {
  sjob *j; /* NULL once abandoned */
  ggn_market *m;
  ggn_stream *s;
  size_t idx; /* its slot in j->ans */
  int done;
} satt;

struct sjob {
  mjob base;
  gg_buf req; /* the framed request */
  gg_peerid cands[MAX_CANDS];
  size_t ncands;
  satt *att[MAX_ASK];
  ggn_market_answer ans[MAX_ASK];
  ggm_psearch_resp resp[MAX_ASK];
  gg_slice good[MAX_ASK][GGM_SEARCH_MAX_RESULTS];
  size_t nasked, nanswered;
  kq *q;
  gg_ts t0;
  int finished_cb;
  ggn_market_search_cb cb;
  void *ud;
};

static void sjob_dispose(mjob *b) {
  sjob *j = (sjob *)b;
  for (size_t i = 0; i < j->nasked; i++) ggm_psearch_resp_free(&j->resp[i]);
  gg_buf_free(&j->req);
}

static void sat_abandon(satt *a) {
  a->j = NULL;
  a->done = 1;
  if (a->s) ggn_stream_reset(a->s);
}

/* Reports and ends the job (from a loop callback). */
static void sjob_finish(sjob *j) {
  if (j->finished_cb) return;
  j->finished_cb = 1;
  ggn_market *m = j->base.m;
  if (j->q) j->q->target = NULL;
  j->q = NULL;
  for (size_t i = 0; i < j->nasked; i++) {
    if (j->att[i] && !j->att[i]->done) {
      ggn__market_rep(m, &j->ans[i].peer, 0, 1, -1, 0, 0, 1); /* no answer in time */
      j->ans[i].err = GG_ETIMEDOUT;
      sat_abandon(j->att[i]);
    }
    j->att[i] = NULL;
  }
  if (!m->closing && j->cb) {
    ggn_market_search_result r = {.err = j->nasked ? GG_OK : GG_ENOTFOUND,
                                  .answers = j->ans,
                                  .nanswers = j->nasked,
                                  .ms = ms_since(j->t0)};
    j->cb(m, &r, j->ud);
  }
  ggn__mjob_finish(&j->base);
}

static void on_deadline(uv_timer_t *t) { sjob_finish(t->data); }

/* The service closes: the attempts let go of the job, which is freed without reporting. */
static void sjob_cancel(mjob *b) {
  sjob *j = (sjob *)b;
  j->finished_cb = 1;
  for (size_t i = 0; i < j->nasked; i++)
    if (j->att[i]) sat_abandon(j->att[i]);
}

/* The answer of attempt a (or its failure). */
static void sat_end(satt *a, int err, const uint8_t *msg, size_t len) {
  if (a->done) return;
  a->done = 1;
  sjob *j = a->j;
  if (!j) return;
  ggn_market *m = j->base.m;
  ggn_market_answer *an = &j->ans[a->idx];
  an->ms = msg ? ms_since(j->t0) : -1;
  unsigned weight = 1;
  if (msg) {
    ggm_psearch_resp *r = &j->resp[a->idx];
    err = ggm_psearch_resp_decode(msg, len, r);
    if (err == GG_OK) err = ggm_status_err(r->status);
    if (err == GG_OK) {
      for (size_t i = 0; i < r->n; i++) {
        ggm_release rel;
        if (ggm_release_decode(r->records[i].p, r->records[i].len, &rel, m->mem) == GG_OK) {
          j->good[a->idx][an->n++] = r->records[i];
          ggm_release_free(&rel);
        } else {
          an->invalid++;
        }
      }
      an->records = j->good[a->idx];
      an->corrected = r->corrected;
      if (an->invalid) weight = GGS_PEERREP_BAD_WEIGHT;
    } else if (err == GG_EPROTO || err == GG_ETOOBIG) {
      weight = GGS_PEERREP_BAD_WEIGHT;
    }
  }
  an->err = err;
  int ok = err == GG_OK && !an->invalid;
  if (err != GG_ENOPROTO) /* not speaking the protocol is no misbehaviour */
    ggn__market_rep(m, &an->peer, ok, ok ? 1 : weight, weight > 1 ? -1 : an->ms, 0, 0, 1);
  if (a->s) ggn_stream_reset(a->s);
  j->att[a->idx] = NULL;
  a->j = NULL;
  if (++j->nanswered == j->nasked) sjob_finish(j);
}

static void sat_msg(ggn_stream *s, const uint8_t *msg, size_t n, void *ud) {
  (void)s;
  sat_end(ud, GG_OK, msg, n);
}

static void sat_eof(ggn_stream *s, void *ud) {
  (void)s;
  sat_end(ud, GG_ECLOSED, NULL, 0);
}

static void sat_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  satt *a = ud;
  a->s = NULL;
  sat_end(a, err == GG_OK ? GG_ECLOSED : err, NULL, 0);
  ggn_market *m = a->m;
  gg_free(m->mem, a);
  ggn__market_unref(m);
}

static const ggn_stream_callbacks sat_cbs = {
    .on_msg = sat_msg, .on_eof = sat_eof, .on_close = sat_close};

static void sat_opened(ggn_stream *s, int err, void *ud) {
  satt *a = ud;
  if (!s) {
    sat_end(a, err, NULL, 0);
    ggn_market *m = a->m;
    gg_free(m->mem, a);
    ggn__market_unref(m);
    return;
  }
  a->s = s;
  ggn_stream_set_callbacks(s, &sat_cbs, a);
  if (a->done) {
    ggn_stream_reset(s);
    return;
  }
  sjob *j = a->j;
  int rv = ggn_stream_read_msgs(s, GGM_SEARCH_RESP_MAX);
  if (rv == GG_OK && ggn_stream_write(s, gg_buf_ptr(&j->req), gg_buf_len(&j->req)) < 0)
    rv = GG_ECLOSED;
  if (rv == GG_OK) ggn_stream_close_write(s);
  if (rv != GG_OK) sat_end(a, rv, NULL, 0);
}

static void add_cand(sjob *j, const gg_peerid *p) {
  ggn_market *m = j->base.m;
  if (gg_peerid_eq(p, ggn_host_peer_id(m->h)) || j->ncands == MAX_CANDS) return;
  for (size_t i = 0; i < j->ncands; i++)
    if (gg_peerid_eq(&j->cands[i], p)) return;
  j->cands[j->ncands++] = *p;
}

static void rt_peer(const ggp_kad_peerinfo *p, gg_ts last_seen, void *arg) {
  (void)last_seen;
  sjob *j = arg;
  ggn_host *h = j->base.m->h;
  /* a peer identified without the protocol (another libp2p implementation, an old ggen) is
   * not asked; one not identified yet may serve it */
  if (ggn_host_peer_protocols(h, &p->id, NULL, 0) > 0 &&
      !ggn_host_peer_supports(h, &p->id, GGM_SEARCH_PROTOCOL))
    return;
  add_cand(j, &p->id);
}

static void collect(sjob *j) {
  ggn_market *m = j->base.m;
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&m->searchers, &it))) {
    gg_peerid p;
    if (gg_peerid_from_bytes(&p, e->key, e->klen) == GG_OK) add_cand(j, &p);
  }
  if (m->kad) ggp_kad_foreach_peer(ggn_kad_core(m->kad), rt_peer, j);
}

/* Asks the best candidates. */
static void fan_out(sjob *j) {
  ggn_market *m = j->base.m;
  ggn__market_order(m, j->cands, j->ncands);
  static const char *const protos[] = {GGM_SEARCH_PROTOCOL};
  size_t fanout = m->fanout < MAX_ASK ? m->fanout : MAX_ASK;
  for (size_t i = 0; i < j->ncands && j->nasked < fanout; i++) {
    satt *a = gg_calloc(m->mem, 1, sizeof(*a));
    if (!a) break;
    size_t idx = j->nasked++;
    a->j = j;
    a->m = m;
    a->idx = idx;
    j->att[idx] = a;
    j->ans[idx] = (ggn_market_answer){.peer = j->cands[i],
                                      .err = GG_ETIMEDOUT,
                                      .ms = -1,
                                      .records = j->good[idx],
                                      .corrected = ""};
    ggn__market_ref(m);
    int rv = ggn_host_open_stream(m->h, &j->cands[i], protos, 1, sat_opened, a);
    if (rv != GG_OK) {
      sat_end(a, rv, NULL, 0);
      gg_free(m->mem, a);
      ggn__market_unref(m);
      if (j->finished_cb) return;
    }
  }
  if (j->nasked == 0) sjob_finish(j);
}

static void more_found(ggn_market *m, void *target, const ggp_kad_result *res) {
  sjob *j = target;
  j->q = NULL;
  for (size_t i = 0; i < res->npeers; i++) {
    const ggp_kad_peerinfo *p = &res->peers[i];
    for (size_t k = 0; k < p->naddrs; k++) {
      gg_maddr a;
      if (gg_maddr_from_bytes(&a, p->addrs[k].p, p->addrs[k].len) == GG_OK)
        ggn_host_add_addr(m->h, &p->id, &a);
    }
    add_cand(j, &p->id);
  }
  fan_out(j);
}

static void sjob_begin(mjob *b) {
  sjob *j = (sjob *)b;
  ggn_market *m = b->m;
  uv_timer_start(&b->timer, on_deadline, (m->search_deadline + GG_MS(1) - 1) / GG_MS(1), 0);
  collect(j);
  if (j->ncands < m->fanout && m->client_mode && m->kad) {
    kq *q = ggn__market_kq_new(m, more_found, j);
    const gg_peerid *self = ggn_host_peer_id(m->h);
    if (q && ggn_kad_find_node(m->kad, self->b, self->len, ggn__market_kq_done, q) == GG_OK) {
      j->q = q;
      return;
    }
    if (q) ggn__market_kq_drop(q);
  }
  fan_out(j);
}

int ggn_market_search(ggn_market *m, const ggm_psearch_req *q, ggn_market_search_cb cb, void *ud) {
  if (m->closing) return GG_ESTATE;
  gg_buf req;
  gg_buf_init(&req, m->mem, GGM_SEARCH_REQ_MAX + 16);
  int rv = ggm_psearch_req_encode(q, &req);
  if (rv != GG_OK) {
    gg_buf_free(&req);
    return rv == GG_ENOMEM ? rv : GG_EINVAL;
  }
  sjob *j = (sjob *)ggn__mjob_new(m, sizeof(*j), sjob_begin, sjob_dispose);
  if (j) j->base.cancel = sjob_cancel;
  if (!j) {
    gg_buf_free(&req);
    return GG_ENOMEM;
  }
  j->req = req;
  j->cb = cb;
  j->ud = ud;
  j->t0 = uv_hrtime();
  return GG_OK;
}
