/*
 * The marketplace in the DHT (include/ggen/market_service.h, docs/p2p-marketplace.md
 * "Publishing" and "Finding records"): publishing a signed record under its versioned key with
 * a provider record for its archive, re-providing the store, looking records up, and the
 * /ggen-pkg/ validator that knows the catalog.
 *
 * The validator: the Kademlia service's built-in /ggen-pkg/ check (include/ggen/pkgrec.h)
 * accepts any correctly signed record for its key, because ownership is the catalog's rule. A
 * node with a catalog knows owners, so the market replaces it with one that also refuses a
 * record whose id this catalog says belongs to another key (GG_EOWNER), or that gives a known
 * version another archive (GG_EINTEGRITY). Such a record is then neither stored for a peer's
 * PUT_VALUE nor accepted from a GET_VALUE reply: it cannot spread through this node. The plain
 * validator is put back when the market closes (the DHT may outlive it).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ggen/err.h"
#include "ggen/pkgrec.h"
#include "ggen/publish.h"
#include "ggen/release.h"
#include "market_int.h"

#define REPROVIDE_PARALLEL 4

static double ms_since(gg_ts t0) { return (double)(uv_hrtime() - t0) / 1e6; }

/* ---- the validator ------------------------------------------------------------------------ */

static int validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
  ggn_market *m = vud;
  int rv = ggm_pkgrec_validate(key, klen, val, vlen);
  if (rv != GG_OK) return rv;
  ggm_release r;
  if ((rv = ggm_release_decode(val, vlen, &r, m->mem)) != GG_OK) return rv;
  uint8_t owner[64];
  size_t olen = 0;
  if (ggs_catalog_owner(m->cat, r.id, owner, sizeof owner, &olen) == GG_OK &&
      (olen != GG_ED25519_PUB || ggm_release_check_owner(&r, owner) != GG_OK)) {
    ggn_logf(m->log, GGN_LOG_INFO, "DHT record for %s@%s refused: the id belongs to another key",
             r.id, r.version);
    rv = GG_EOWNER;
  }
  ggs_catalog_info *info = NULL;
  if (rv == GG_OK && ggs_catalog_get(m->cat, r.id, r.version, &info) == GG_OK) {
    uint8_t cid[GGM_CID_LEN];
    const char *have = info->versions[0].cid;
    if (have && (ggm_pack_cid_parse(have, cid) != GG_OK || memcmp(cid, r.archive_cid, sizeof cid)))
      rv = GG_EINTEGRITY; /* versions are immutable */
    ggs_catalog_info_free(info);
  }
  ggm_release_free(&r);
  return rv;
}

static size_t select_rec(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals,
                         size_t n) {
  (void)vud;
  return ggm_pkgrec_select(key, klen, vals, n);
}

int ggn__market_dht_init(ggn_market *m) {
  if (!m->kad) return GG_OK;
  ggp_kad_validator v = {GGM_PKGREC_NS, validate, select_rec, m};
  return ggn_kad_add_validator(m->kad, &v);
}

void ggn__market_dht_close(ggn_market *m) {
  if (!m->kad) return;
  ggp_kad_validator v;
  ggm_pkgrec_validator(&v);
  ggn_kad_add_validator(m->kad, &v);
}

/* ---- publishing ------------------------------------------------------------------------------ */

typedef struct pjob {
  mjob j;
  uint8_t *rec;
  size_t len;
  uint8_t cid[GGM_CID_LEN];
  char key[GGM_RELEASE_ID_MAX + GGM_RELEASE_VERSION_MAX + 16];
  int pending;
  gg_ts t0, wait_until;
  ggn_market_publish_result res;
  ggn_market_publish_cb cb;
  void *ud;
} pjob;

static void pjob_dispose(mjob *j) { gg_free(j->m->mem, ((pjob *)j)->rec); }

static void pjob_done(pjob *p) {
  if (--p->pending > 0) return;
  ggn_market *m = p->j.m;
  ggn_market_publish_result *r = &p->res;
  r->err = r->stored > 0 || r->provided > 0 || r->recipients > 0 ? GG_OK : GG_EUNREACHABLE;
  r->key = p->key;
  r->ms = ms_since(p->t0);
  if (!m->closing && p->cb) p->cb(m, r, p->ud);
  ggn__mjob_finish(&p->j);
}

static void put_done(ggn_market *m, void *target, const ggp_kad_result *res) {
  (void)m;
  pjob *p = target;
  p->res.put_err = res->stored ? GG_OK : res->err ? res->err : GG_EUNREACHABLE;
  p->res.stored = res->stored;
  pjob_done(p);
}

static void prov_done(ggn_market *m, void *target, const ggp_kad_result *res) {
  (void)m;
  pjob *p = target;
  p->res.provide_err = res->stored ? GG_OK : res->err ? res->err : GG_EUNREACHABLE;
  p->res.provided = res->stored;
  pjob_done(p);
}

/* Starts a DHT query for a job; 1 when it runs. */
static int kad_start(ggn_market *m, void (*fn)(ggn_market *, void *, const ggp_kad_result *),
                     void *target, int (*start)(ggn_market *m, kq *q, void *arg), void *arg,
                     int *err) {
  kq *q = ggn__market_kq_new(m, fn, target);
  if (!q) {
    *err = GG_ENOMEM;
    return 0;
  }
  int rv = start(m, q, arg);
  if (rv != GG_OK) {
    ggn__market_kq_drop(q);
    *err = rv;
    return 0;
  }
  return 1;
}

static int start_put(ggn_market *m, kq *q, void *arg) {
  pjob *p = arg;
  return ggn_kad_put(m->kad, (const uint8_t *)p->key, strlen(p->key), p->rec, p->len,
                     ggn__market_kq_done, q);
}

static int start_provide(ggn_market *m, kq *q, void *arg) {
  const uint8_t *cid = arg;
  return ggn_kad_provide(m->kad, cid + 2, GGM_CID_LEN - 2, ggn__market_kq_done, q);
}

/* Announces the record on Gossipsub once a subscriber of the topic is known (a node that just
 * connected learns its neighbours' subscriptions a round trip later), waiting at most 1 s. */
static void announce(uv_timer_t *t) {
  pjob *p = t->data;
  ggn_market *m = p->j.m;
  const ggp_gossip *router = ggn_gossip_router(m->gs);
  if (ggp_gossip_topic_peers(router, GGM_ANNOUNCE_TOPIC) == 0 && uv_hrtime() < p->wait_until) {
    uv_timer_start(&p->j.timer, announce, 20, 0);
    return;
  }
  size_t n = 0;
  int rv = ggn_gossip_publish(m->gs, GGM_ANNOUNCE_TOPIC, p->rec, p->len, &n, NULL, NULL);
  p->res.announce_err = rv != GG_OK ? rv : n ? GG_OK : GG_EUNREACHABLE;
  p->res.recipients = n;
  if (rv == GG_OK) m->stats.announced++;
  pjob_done(p);
}

static void pjob_begin(mjob *j) {
  pjob *p = (pjob *)j;
  ggn_market *m = j->m;
  p->pending = 1; /* held until every part started */
  p->res.put_err = p->res.provide_err = p->res.announce_err = GG_EUNSUPPORTED;
  if (m->gs) {
    p->pending++;
    p->wait_until = uv_hrtime() + GG_SEC(1);
    uv_timer_start(&j->timer, announce, 0, 0);
  }
  if (m->kad && kad_start(m, put_done, p, start_put, p, &p->res.put_err)) p->pending++;
  if (ggs_blob_has(m->store, p->cid) != GG_OK)
    p->res.provide_err = GG_ENOTFOUND;
  else if (m->kad && !m->client_mode &&
           kad_start(m, prov_done, p, start_provide, p->cid, &p->res.provide_err))
    p->pending++;
  pjob_done(p);
}

int ggn_market_publish(ggn_market *m, const uint8_t *rec, size_t len, ggn_market_publish_cb cb,
                       void *ud) {
  if (m->closing) return GG_ESTATE;
  ggm_release r;
  int rv = ggm_release_decode(rec, len, &r, m->mem);
  if (rv) return rv;
  gg_buf key;
  gg_buf_init(&key, m->mem, GGM_RELEASE_ID_MAX + GGM_RELEASE_VERSION_MAX + 16);
  rv = ggm_pkgrec_key(r.id, r.version, &key);
  pjob *p = NULL;
  uint8_t *copy = NULL;
  if (rv == GG_OK) {
    copy = gg_malloc(m->mem, len);
    p = copy ? (pjob *)ggn__mjob_new(m, sizeof(*p), pjob_begin, pjob_dispose) : NULL;
    if (!p) rv = GG_ENOMEM;
  }
  if (rv == GG_OK) {
    memcpy(copy, rec, len);
    p->rec = copy;
    p->len = len;
    memcpy(p->cid, r.archive_cid, GGM_CID_LEN);
    memcpy(p->key, gg_buf_ptr(&key), gg_buf_len(&key));
    p->key[gg_buf_len(&key)] = 0;
    p->cb = cb;
    p->ud = ud;
    p->t0 = uv_hrtime();
  } else {
    gg_free(m->mem, copy);
  }
  gg_buf_free(&key);
  ggm_release_free(&r);
  return rv;
}

/* ---- re-providing the store
 * ---------------------------------------------------------------------- */

typedef struct rjob {
  mjob j;
  uint8_t (*cids)[GGM_CID_LEN];
  size_t n, cap, next, inflight, ok;
  void (*cb)(ggn_market *m, size_t total, size_t ok, void *ud);
  void *ud;
} rjob;

static void rjob_dispose(mjob *j) { gg_free(j->m->mem, ((rjob *)j)->cids); }

static void rjob_pump(rjob *r);

static void reprov_done(ggn_market *m, void *target, const ggp_kad_result *res) {
  (void)m;
  rjob *r = target;
  r->inflight--;
  if (res->stored) r->ok++;
  rjob_pump(r);
}

static void rjob_pump(rjob *r) {
  ggn_market *m = r->j.m;
  while (r->inflight < REPROVIDE_PARALLEL && r->next < r->n) {
    int err;
    if (kad_start(m, reprov_done, r, start_provide, r->cids[r->next++], &err)) r->inflight++;
  }
  if (r->inflight || r->next < r->n) return;
  if (!m->closing && r->cb) r->cb(m, r->n, r->ok, r->ud);
  ggn__mjob_finish(&r->j);
}

static void rjob_begin(mjob *j) { rjob_pump((rjob *)j); }

static int collect(void *ud, const uint8_t cid[GGS_BLOB_CID_LEN], uint64_t size) {
  (void)size;
  rjob *r = ud;
  if (r->n == r->cap) {
    size_t nc = r->cap ? 2 * r->cap : 64;
    void *nv = gg_realloc(r->j.m->mem, r->cids, nc * sizeof(*r->cids));
    if (!nv) return GG_ENOMEM;
    r->cids = nv;
    r->cap = nc;
  }
  memcpy(r->cids[r->n++], cid, GGM_CID_LEN);
  return 0;
}

int ggn_market_reprovide(ggn_market *m, void (*cb)(ggn_market *, size_t, size_t, void *),
                         void *ud) {
  if (m->closing) return GG_ESTATE;
  if (!m->kad || m->client_mode) return GG_EUNSUPPORTED;
  rjob *r = (rjob *)ggn__mjob_new(m, sizeof(*r), rjob_begin, rjob_dispose);
  if (!r) return GG_ENOMEM;
  r->cb = cb;
  r->ud = ud;
  int rv = ggs_blob_each(m->store, collect, r);
  if (rv != GG_OK) {
    r->cb = NULL; /* the job ends without reporting */
    ggn__mjob_finish(&r->j);
  }
  return rv;
}

/* ---- looking records up -----------------------------------------------------------------------
 */

typedef struct ljob {
  mjob j;
  char id[GGM_RELEASE_ID_MAX + 1];
  char version[GGM_RELEASE_VERSION_MAX + 1]; /* "" = any */
  ggn_market_found found[GGN_MARKET_MAX_FOUND];
  char versions[GGN_MARKET_MAX_FOUND][GGM_RELEASE_VERSION_MAX + 1];
  char froms[GGN_MARKET_MAX_FOUND][GG_PEERID_TEXT_MAX];
  size_t nfound, refused;
  int pending;
  gg_ts t0;
  ggn_market_lookup_cb cb;
  void *ud;
} ljob;

/* Verifies and catalogs one record a lookup brought (from: "dht" or a peer id). A record for
 * another package or version than asked is refused before it touches the catalog. */
static void ljob_take(ljob *l, const uint8_t *rec, size_t len, const char *from) {
  ggn_market *m = l->j.m;
  ggm_release r;
  int rv = ggm_release_decode(rec, len, &r, m->mem);
  if (rv == GG_OK) {
    int other = l->version[0] && strcmp(r.version, l->version);
    if (strcasecmp(r.id, l->id)) rv = GG_EINVAL;
    ggm_release_free(&r);
    if (other && rv == GG_OK) return; /* a peer listing every version: not the one asked */
  }
  ggm_publish_env env = {m->home, m->cat, m->store};
  ggm_publish_result pr = {0};
  if (rv == GG_OK) rv = ggm_publish_ingest_record(&env, rec, len, "p2p", 0, &pr);
  if (rv != GG_OK && rv != GG_EEXIST) {
    l->refused++;
    ggn_logf(m->log, GGN_LOG_INFO, "record for %s from %s refused: %s", l->id, from,
             pr.msg[0] ? pr.msg : gg_strerror(rv));
    return;
  }
  for (size_t i = 0; i < l->nfound; i++)
    if (!strcmp(l->versions[i], pr.version)) return; /* the same version again */
  if (l->nfound == GGN_MARKET_MAX_FOUND) return;
  size_t i = l->nfound++;
  snprintf(l->versions[i], sizeof l->versions[i], "%s", pr.version);
  snprintf(l->froms[i], sizeof l->froms[i], "%s", from);
  l->found[i] = (ggn_market_found){l->versions[i], l->froms[i], rv, pr.existed};
}

static void ljob_done(ljob *l) {
  if (--l->pending > 0) return;
  ggn_market *m = l->j.m;
  size_t good = 0;
  for (size_t i = 0; i < l->nfound; i++) good += l->found[i].err == GG_OK;
  ggn_market_lookup_result r = {.err = good ? GG_OK : GG_ENOTFOUND,
                                .id = l->id,
                                .found = l->found,
                                .nfound = l->nfound,
                                .refused = l->refused,
                                .ms = ms_since(l->t0)};
  if (!m->closing && l->cb) l->cb(m, &r, l->ud);
  ggn__mjob_finish(&l->j);
}

static void peers_done(ggn_market *m, const ggn_market_search_result *r, void *ud) {
  (void)m;
  ljob *l = ud;
  for (size_t i = 0; i < r->nanswers; i++) {
    char peer[GG_PEERID_TEXT_MAX];
    if (gg_peerid_to_b58(&r->answers[i].peer, peer, sizeof peer) < 0) continue;
    for (size_t k = 0; k < r->answers[i].n; k++)
      ljob_take(l, r->answers[i].records[k].p, r->answers[i].records[k].len, peer);
  }
  ljob_done(l);
}

/* Asks peers for every version of the id (the DHT can only be asked for one version). */
static void ask_peers(ljob *l) {
  ggm_psearch_req q = {.id = l->id, .limit = GGM_SEARCH_MAX_RESULTS};
  if (ggn_market_search(l->j.m, &q, peers_done, l) == GG_OK) l->pending++;
}

static void get_done(ggn_market *m, void *target, const ggp_kad_result *res) {
  (void)m;
  ljob *l = target;
  if (res->err == GG_OK && res->val) ljob_take(l, res->val, res->vlen, "dht");
  if (l->nfound == 0) ask_peers(l);
  ljob_done(l);
}

static int start_get(ggn_market *m, kq *q, void *arg) {
  ljob *l = arg;
  gg_buf key;
  gg_buf_init(&key, m->mem, GGM_RELEASE_ID_MAX + GGM_RELEASE_VERSION_MAX + 16);
  int rv = ggm_pkgrec_key(l->id, l->version, &key);
  if (rv == GG_OK)
    rv = ggn_kad_get(m->kad, gg_buf_ptr(&key), gg_buf_len(&key), 0, ggn__market_kq_done, q);
  gg_buf_free(&key);
  return rv;
}

static void ljob_begin(mjob *j) {
  ljob *l = (ljob *)j;
  ggn_market *m = j->m;
  l->pending = 1;
  int err;
  if (l->version[0] && m->kad && kad_start(m, get_done, l, start_get, l, &err))
    l->pending++;
  else
    ask_peers(l);
  ljob_done(l);
}

int ggn_market_lookup(ggn_market *m, const char *id, const char *version, ggn_market_lookup_cb cb,
                      void *ud) {
  if (m->closing) return GG_ESTATE;
  gg_buf key;
  gg_buf_init(&key, m->mem, 512);
  int rv = ggm_pkgrec_key(id ? id : "", version && *version ? version : "0", &key);
  gg_buf_free(&key);
  if (rv != GG_OK) return GG_EINVAL;
  ljob *l = (ljob *)ggn__mjob_new(m, sizeof(*l), ljob_begin, NULL);
  if (!l) return GG_ENOMEM;
  snprintf(l->id, sizeof l->id, "%s", id);
  snprintf(l->version, sizeof l->version, "%s", version ? version : "");
  l->cb = cb;
  l->ud = ud;
  l->t0 = uv_hrtime();
  return GG_OK;
}
