/*
 * The fetch client of the marketplace service (include/ggen/market_service.h,
 * docs/p2p-marketplace.md "Fetching").
 *
 * A fetch job: look the CID's providers up in the DHT, add the peers the caller named, order
 * them by reputation, then try them one at a time. An attempt opens a stream, writes the
 * request and closes its side, and feeds whatever arrives to a ggm_fetch_rx whose sink is an
 * unnamed temporary file: nothing reaches the store before the receiver has checked the size
 * and the digest. An attempt fails on a refusal (not found, busy...), on bad bytes (the peer
 * is recorded with GGS_PEERREP_BAD_WEIGHT failures), when no header arrives within
 * fetch_timeout of its start (dial included), or when the body stalls for stall_timeout; the
 * next provider is then tried. A verified archive is ingested with its record, and the node
 * provides it so that others can fetch it from here once the publisher is gone.
 *
 * Invariants: a job has at most one live attempt (j->cur); an abandoned attempt (job finished
 * or closing) has a->j == NULL and frees itself when the host reports on its stream; a job is
 * freed in its timer's close callback, after its callback ran (or, on close, without it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/publish.h"
#include "ggen/release.h"
#include "market_int.h"

#define MAX_CANDS (2 * GGN_MARKET_MAX_ATTEMPTS)

typedef struct fatt fatt;

struct fjob {
  fjob *prev, *next;
  ggn_market *m;
  uint8_t cid[GGM_CID_LEN];
  uint64_t size;
  uint8_t *rec;
  size_t reclen;
  char id[GGM_RELEASE_ID_MAX + 1], version[GGM_RELEASE_VERSION_MAX + 1];
  gg_peerid cands[MAX_CANDS];
  size_t ncands, ci; /* candidates, the next one to try */
  ggn_market_attempt att[GGN_MARKET_MAX_ATTEMPTS];
  size_t natt;
  fatt *cur;
  kq *q;
  uv_timer_t timer;
  gg_ts t0, lookup_t0;
  double lookup_ms;
  ggn_market_fetch_cb cb;
  void *ud;
  ggn_market_fetch_result res;
  int finished;
};

struct fatt {
  fjob *j; /* NULL once abandoned */
  ggn_market *m;
  ggn_stream *s;
  gg_peerid peer;
  ggm_fetch_rx rx;
  int fd;
  gg_ts start;
  double hdr_ms;
  int done;
};

static double ms_since(gg_ts t0) { return (double)(uv_hrtime() - t0) / 1e6; }

/* ---- job end -----------------------------------------------------------------------------------
 */

static void job_freed(uv_handle_t *hd) {
  fjob *j = hd->data;
  ggn_market *m = j->m;
  gg_free(m->mem, j->rec);
  gg_free(m->mem, j);
  ggn__market_unref(m);
}

static void job_unlink(fjob *j) {
  ggn_market *m = j->m;
  if (j->prev)
    j->prev->next = j->next;
  else
    m->jobs = j->next;
  if (j->next) j->next->prev = j->prev;
  j->prev = j->next = NULL;
}

static void att_abandon(fatt *a);

/* Reports (unless the service is closing) and frees the job. */
static void job_finish(fjob *j, int err) {
  if (j->finished) return;
  j->finished = 1;
  ggn_market *m = j->m;
  if (j->cur) att_abandon(j->cur);
  j->cur = NULL;
  if (j->q) j->q->target = NULL;
  j->q = NULL;
  job_unlink(j);
  uv_timer_stop(&j->timer);
  if (!m->closing && j->cb) {
    ggn_market_fetch_result *r = &j->res;
    r->err = err;
    r->ms = ms_since(j->t0);
    r->lookup_ms = j->lookup_ms;
    r->providers = j->ncands;
    r->attempts = j->att;
    r->nattempts = j->natt;
    r->id = j->rec ? j->id : NULL;
    r->version = j->rec ? j->version : NULL;
    if (err == GG_OK) {
      m->stats.fetched++;
      m->stats.fetched_bytes += r->bytes;
    }
    j->cb(m, r, j->ud);
  }
  uv_close((uv_handle_t *)&j->timer, job_freed);
}

void ggn__market_fetch_close_all(ggn_market *m) {
  while (m->jobs) job_finish(m->jobs, GG_ECANCELED);
}

/* ---- after a verified transfer ----------------------------------------------------------------
 */

static void provided(ggn_market *m, void *target, const ggp_kad_result *res) {
  fjob *j = target;
  j->q = NULL;
  j->res.provided = res->stored;
  job_finish(j, GG_OK);
}

/* Stores the verified archive in fd (ingesting the record with it), then provides it. */
static void job_store(fjob *j, int fd) {
  ggn_market *m = j->m;
  int rv;
  if (lseek(fd, 0, SEEK_SET) != 0) {
    rv = GG_EIO;
    snprintf(j->res.msg, sizeof j->res.msg, "cannot read the fetched archive: %s", strerror(errno));
  } else if (j->rec) {
    ggm_publish_env env = {m->home, m->cat, m->store};
    ggm_publish_result pr;
    rv = ggm_publish_ingest(&env, j->rec, j->reclen, fd, "p2p", 0, &pr);
    if (rv) snprintf(j->res.msg, sizeof j->res.msg, "%s", pr.msg[0] ? pr.msg : gg_strerror(rv));
  } else {
    rv = ggs_blob_put_fd(m->store, fd, j->cid, NULL);
    if (rv)
      snprintf(j->res.msg, sizeof j->res.msg, "cannot store the archive: %s", gg_strerror(rv));
  }
  close(fd);
  if (rv != GG_OK || m->client_mode || !m->kad) {
    job_finish(j, rv);
    return;
  }
  kq *q = ggn__market_kq_new(m, provided, j);
  if (q && ggn_kad_provide(m->kad, j->cid + 2, GGM_CID_LEN - 2, ggn__market_kq_done, q) == GG_OK) {
    j->q = q;
    return;
  }
  if (q) ggn__market_kq_drop(q);
  job_finish(j, GG_OK); /* fetched and stored; only the announcement failed */
}

/* ---- attempts
 * ------------------------------------------------------------------------------------ */

static void try_next(fjob *j);

static void att_free(fatt *a) {
  ggn_market *m = a->m;
  ggm_fetch_rx_free(&a->rx);
  if (a->fd >= 0) close(a->fd);
  gg_free(m->mem, a);
  ggn__market_unref(m);
}

/* Detaches the attempt from its job; it frees itself when its stream reports. */
static void att_abandon(fatt *a) {
  a->j = NULL;
  a->done = 1;
  if (a->s) ggn_stream_reset(a->s);
}

static const char *why(int err) {
  switch (err) {
  case GG_EINTEGRITY: return "sent bytes that do not match the archive's CID";
  case GG_ETOOBIG: return "sent more than the archive's size";
  case GG_ENOTFOUND: return "does not have it";
  case GG_ELIMIT: return "is busy";
  case GG_ETIMEDOUT: return "did not answer in time";
  default: return gg_strerror(err);
  }
}

/* The attempt is over: record it, and go on with the next provider unless it succeeded. */
static void att_end(fatt *a, int err) {
  if (a->done) return;
  a->done = 1;
  fjob *j = a->j;
  ggn_market *m = a->m;
  int bad = err == GG_EINTEGRITY || err == GG_ETOOBIG || err == GG_EPROTO;
  if (err == GG_OK)
    ggn__market_rep(m, &a->peer, 1, 1, a->hdr_ms, 1, a->rx.got, 0);
  else if (err != GG_ECANCELED && err != GG_ENOPROTO) /* a misbehaving answer is no answer: its
                                                        speed is not counted */
    ggn__market_rep(m, &a->peer, 0, bad ? GGS_PEERREP_BAD_WEIGHT : 1, bad ? -1 : a->hdr_ms, 0, 0,
                    0);
  if (!j) return;
  uv_timer_stop(&j->timer);
  j->cur = NULL;
  a->j = NULL;
  if (j->natt < GGN_MARKET_MAX_ATTEMPTS)
    j->att[j->natt++] = (ggn_market_attempt){a->peer, err, a->hdr_ms};
  if (err == GG_OK) {
    int fd = a->fd;
    a->fd = -1;
    j->res.peer = a->peer;
    j->res.bytes = a->rx.got;
    if (a->s) ggn_stream_reset(a->s); /* all is read; nothing more is wanted from it */
    job_store(j, fd);
    return;
  }
  m->stats.fetch_failures++;
  ggn_logf(m->log, bad ? GGN_LOG_WARN : GGN_LOG_INFO, "fetch from %s failed: %s",
           gg_peerid_short(&a->peer), why(err));
  snprintf(j->res.msg, sizeof j->res.msg, "the last provider tried (%s) %s",
           gg_peerid_short(&a->peer), why(err));
  if (a->s) ggn_stream_reset(a->s);
  try_next(j);
}

static int sink(void *ud, const uint8_t *p, size_t n) {
  fatt *a = ud;
  while (n) {
    ssize_t w = write(a->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return GG_EIO;
    p += w;
    n -= (size_t)w;
  }
  return GG_OK;
}

static void att_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  fatt *a = ud;
  if (a->done) return;
  int had = ggm_fetch_rx_has_header(&a->rx);
  int rv = ggm_fetch_rx_recv(&a->rx, p, n, sink, a);
  if (!had && ggm_fetch_rx_has_header(&a->rx)) {
    a->hdr_ms = ms_since(a->start);
    if (a->j) uv_timer_stop(&a->j->timer); /* the header came: stalls are the stream's deadline */
  }
  if (rv == GG_EAGAIN) {
    ggn_stream_set_deadline(s, uv_hrtime() + a->m->stall_timeout);
    return;
  }
  att_end(a, rv);
}

static void att_eof(ggn_stream *s, void *ud) {
  (void)s;
  fatt *a = ud;
  att_end(a, ggm_fetch_rx_eof(&a->rx));
}

static void att_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  fatt *a = ud;
  a->s = NULL;
  att_end(a, err == GG_OK ? ggm_fetch_rx_eof(&a->rx) : err == GG_ECANCELED ? GG_ECANCELED : err);
  att_free(a);
}

static const ggn_stream_callbacks att_cbs = {
    .on_data = att_data, .on_eof = att_eof, .on_close = att_close};

static void att_opened(ggn_stream *s, int err, void *ud) {
  fatt *a = ud;
  if (!s) {
    att_end(a, err);
    att_free(a);
    return;
  }
  a->s = s;
  ggn_stream_set_callbacks(s, &att_cbs, a);
  if (a->done) { /* abandoned while opening */
    ggn_stream_reset(s);
    return;
  }
  gg_buf req;
  gg_buf_init(&req, a->m->mem, GGM_FETCH_REQ_MAX + 16);
  int rv = ggm_fetch_req_encode(a->rx.cid, &req);
  if (rv == GG_OK && ggn_stream_write(s, gg_buf_ptr(&req), gg_buf_len(&req)) < 0) rv = GG_ECLOSED;
  gg_buf_free(&req);
  if (rv == GG_OK) ggn_stream_close_write(s);
  if (rv != GG_OK) {
    att_end(a, rv);
    ggn_stream_reset(s);
  }
}

static void on_attempt_timeout(uv_timer_t *t) {
  fjob *j = t->data;
  if (j->cur) att_end(j->cur, GG_ETIMEDOUT);
}

static void try_next(fjob *j) {
  ggn_market *m = j->m;
  while (j->ci < j->ncands && j->natt < m->max_providers) {
    const gg_peerid *peer = &j->cands[j->ci++];
    fatt *a = gg_calloc(m->mem, 1, sizeof(*a));
    if (!a) break;
    a->m = m;
    a->j = j;
    a->peer = *peer;
    a->fd = ggn__market_tmpfile(m);
    a->start = uv_hrtime();
    a->hdr_ms = -1;
    ggm_fetch_rx_init(&a->rx, m->mem, j->cid, j->size, m->max_archive);
    if (a->fd < 0) {
      snprintf(j->res.msg, sizeof j->res.msg, "cannot create a temporary file in %s: %s", m->tmp,
               strerror(errno));
      gg_free(m->mem, a);
      job_finish(j, GG_EIO);
      return;
    }
    ggn__market_ref(m);
    static const char *const protos[] = {GGM_FETCH_PROTOCOL};
    j->cur = a;
    int rv = ggn_host_open_stream(m->h, peer, protos, 1, att_opened, a);
    if (rv != GG_OK) {
      j->cur = NULL;
      a->done = 1;
      if (j->natt < GGN_MARKET_MAX_ATTEMPTS)
        j->att[j->natt++] = (ggn_market_attempt){*peer, rv, -1};
      att_free(a);
      continue;
    }
    uv_timer_start(&j->timer, on_attempt_timeout, (m->fetch_timeout + GG_MS(1) - 1) / GG_MS(1), 0);
    return;
  }
  int err = GG_ENOTFOUND;
  if (j->natt > 0) err = j->att[j->natt - 1].err;
  if (j->ncands == 0)
    snprintf(j->res.msg, sizeof j->res.msg, "no provider of this archive was found%s",
             m->kad ? " in the DHT" : " (no DHT)");
  job_finish(j, err);
}

/* ---- start
 * ---------------------------------------------------------------------------------------- */

static void add_cand(fjob *j, const gg_peerid *p) {
  if (gg_peerid_eq(p, ggn_host_peer_id(j->m->h)) || j->ncands == MAX_CANDS) return;
  for (size_t i = 0; i < j->ncands; i++)
    if (gg_peerid_eq(&j->cands[i], p)) return;
  j->cands[j->ncands++] = *p;
}

static void lookup_done(ggn_market *m, void *target, const ggp_kad_result *res) {
  fjob *j = target;
  j->q = NULL;
  j->lookup_ms = ms_since(j->lookup_t0);
  for (size_t i = 0; i < res->nproviders; i++) {
    const ggp_kad_peerinfo *p = &res->providers[i];
    for (size_t k = 0; k < p->naddrs; k++) {
      gg_maddr a;
      if (gg_maddr_from_bytes(&a, p->addrs[k].p, p->addrs[k].len) == GG_OK)
        ggn_host_add_addr(m->h, &p->id, &a);
    }
    add_cand(j, &p->id);
  }
  ggn__market_order(m, j->cands, j->ncands);
  try_next(j);
}

static void job_begin(uv_timer_t *t) {
  fjob *j = t->data;
  ggn_market *m = j->m;
  /* already here: only the catalog may lack the version */
  int fd = -1;
  if (ggs_blob_get(m->store, j->cid, GGS_BLOB_VERIFY, &fd, NULL) == GG_OK) {
    j->res.existed = 1;
    if (!j->rec) {
      close(fd);
      job_finish(j, GG_OK);
      return;
    }
    ggm_publish_env env = {m->home, m->cat, m->store};
    ggm_publish_result pr;
    int rv = ggm_publish_ingest(&env, j->rec, j->reclen, fd, "p2p", 0, &pr);
    close(fd);
    if (rv) snprintf(j->res.msg, sizeof j->res.msg, "%s", pr.msg[0] ? pr.msg : gg_strerror(rv));
    job_finish(j, rv);
    return;
  }
  if (m->kad) {
    kq *q = ggn__market_kq_new(m, lookup_done, j);
    j->lookup_t0 = uv_hrtime();
    if (q && ggn_kad_find_providers(m->kad, j->cid + 2, GGM_CID_LEN - 2, m->max_providers,
                                    ggn__market_kq_done, q) == GG_OK) {
      j->q = q;
      return;
    }
    if (q) ggn__market_kq_drop(q);
  }
  ggn__market_order(m, j->cands, j->ncands);
  try_next(j);
}

static int start(ggn_market *m, const uint8_t cid[GGM_CID_LEN], uint64_t size, const uint8_t *rec,
                 size_t len, const ggm_release *r, const gg_peerid *hints, size_t nhints,
                 ggn_market_fetch_cb cb, void *ud) {
  if (m->closing) return GG_ESTATE;
  fjob *j = gg_calloc(m->mem, 1, sizeof(*j));
  if (!j) return GG_ENOMEM;
  j->m = m;
  memcpy(j->cid, cid, GGM_CID_LEN);
  j->size = size;
  j->cb = cb;
  j->ud = ud;
  j->t0 = uv_hrtime();
  j->lookup_ms = -1;
  if (rec) {
    j->rec = gg_malloc(m->mem, len);
    if (!j->rec) {
      gg_free(m->mem, j);
      return GG_ENOMEM;
    }
    memcpy(j->rec, rec, len);
    j->reclen = len;
    snprintf(j->id, sizeof j->id, "%s", r->id);
    snprintf(j->version, sizeof j->version, "%s", r->version);
  }
  for (size_t i = 0; i < nhints; i++) add_cand(j, &hints[i]);
  const gg_peerid *announcer = ggn__market_hint(m, cid);
  if (announcer) add_cand(j, announcer);
  j->next = m->jobs;
  if (m->jobs) m->jobs->prev = j;
  m->jobs = j;
  ggn__market_ref(m); /* released in the timer's close callback */
  uv_timer_init(ggn_host_loop(m->h), &j->timer);
  j->timer.data = j;
  uv_timer_start(&j->timer, job_begin, 0, 0); /* never call back from inside the call */
  return GG_OK;
}

int ggn_market_fetch(ggn_market *m, const uint8_t *rec, size_t len, const gg_peerid *hints,
                     size_t nhints, ggn_market_fetch_cb cb, void *ud) {
  ggm_release r;
  int rv = ggm_release_decode(rec, len, &r, m->mem);
  if (rv) return rv;
  rv = start(m, r.archive_cid, r.archive_size, rec, len, &r, hints, nhints, cb, ud);
  ggm_release_free(&r);
  return rv;
}

int ggn_market_fetch_cid(ggn_market *m, const uint8_t cid[GGM_CID_LEN], uint64_t expect_size,
                         const gg_peerid *hints, size_t nhints, ggn_market_fetch_cb cb, void *ud) {
  if (cid[0] != 0x01 || cid[1] != 0x55 || cid[2] != 0x12 || cid[3] != 0x20) return GG_EINVAL;
  return start(m, cid, expect_size, NULL, 0, NULL, hints, nhints, cb, ud);
}
