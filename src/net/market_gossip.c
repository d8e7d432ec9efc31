/*
 * Package announcements in the marketplace service (include/ggen/market_service.h,
 * docs/p2p-marketplace.md "Announcements"): the validator and handler of GGM_ANNOUNCE_TOPIC,
 * and the provider hints they leave.
 *
 * The validator runs for every message of the topic before Gossipsub delivers or forwards it
 * (ggn_gossip_set_validator): ggm_announce_check against this node's catalog - size, the
 * record's signature, the id's owner, the version's archive. A rejected message is neither
 * delivered nor forwarded, and the router penalises the neighbour that sent it (P4), so a
 * forged or foreign record stops at the first honest node. The handler catalogs an accepted
 * record without its archive (ggm_publish_ingest_record) and remembers the author as a provider
 * hint for the archive's CID (at most HINTS entries; the table is cleared when full), so a
 * later fetch can go straight to it.
 *
 * An id this catalog has never seen has no owner here, and trusting the first key that
 * announces it would let anyone claim an existing package at a node that joined late. So the
 * validator answers PENDING and asks peers for the id's records (a search with `id` set): one
 * vote per answering peer, for the key of the records it holds. The announcement is accepted
 * when no peer knows the id or the key most peers vouch for is the announcer's, and refused
 * (GG_EOWNER) otherwise. At most MAX_CHECKS run at once; beyond, announcements of new ids are
 * ignored (not delivered, no penalty: the record stays findable by search and in the DHT).
 *
 * A client-mode node (a short-lived command) does not subscribe: it only publishes, and
 * Gossipsub publishes to a topic's known subscribers without a subscription of its own.
 */
#include <string.h>
#include <strings.h>

#include "ggen/err.h"
#include "ggen/publish.h"
#include "market_int.h"

#define HINTS 1024
#define MAX_CHECKS 64

/* An announcement of an id unknown here, waiting for the peers' view of its owner. */
typedef struct ocheck {
  struct ocheck *prev, *next;
  ggn_market *m;
  uint8_t msgid[GGP_GOSSIP_MSGID_MAX];
  size_t msgid_len;
  ggm_announce_verdict v;
  ggp_gossip_msg msg; /* from and source kept for the report (data not kept) */
} ocheck;

static int owner_cb(void *ud, const char *id, uint8_t key[GG_ED25519_PUB]) {
  ggn_market *m = ud;
  uint8_t k[64];
  size_t n = 0;
  if (ggs_catalog_owner(m->cat, id, k, sizeof k, &n) != GG_OK || n != GG_ED25519_PUB)
    return GG_ENOTFOUND;
  memcpy(key, k, GG_ED25519_PUB);
  return GG_OK;
}

static int version_cb(void *ud, const char *id, const char *version, uint8_t cid[GGM_CID_LEN]) {
  ggn_market *m = ud;
  ggs_catalog_info *info = NULL;
  if (ggs_catalog_get(m->cat, id, version, &info) != GG_OK) return GG_ENOTFOUND;
  int rv = info->versions[0].cid && ggm_pack_cid_parse(info->versions[0].cid, cid) == GG_OK
               ? GG_OK
               : GG_ENOTFOUND;
  ggs_catalog_info_free(info);
  return rv;
}

static void tell(ggn_market *m, const ggp_gossip_msg *msg, const ggm_announce_verdict *v,
                 int ingest_err, int by_peers) {
  if (!m->on_announce) return;
  ggn_market_announcement a = {.v = v,
                               .from = msg->from,
                               .via = msg->source,
                               .ingest_err = ingest_err,
                               .by_peers = by_peers};
  m->on_announce(m, &a, m->announce_ud);
}

static void refused_log(ggn_market *m, const ggp_gossip_msg *msg, const ggm_announce_verdict *v,
                        int by_peers);

static void ocheck_free(ocheck *c) {
  ggn_market *m = c->m;
  if (c->prev)
    c->prev->next = c->next;
  else
    m->checks = c->next;
  if (c->next) c->next->prev = c->prev;
  m->nchecks--;
  gg_free(m->mem, c);
}

/* The peers answered: their majority key decides. */
static void owner_answers(ggn_market *m, const ggn_market_search_result *r, void *ud) {
  ocheck *c = ud;
  struct {
    uint8_t key[GG_ED25519_PUB];
    size_t votes;
  } keys[16];
  size_t nkeys = 0;
  for (size_t i = 0; i < r->nanswers; i++) {
    const ggn_market_answer *a = &r->answers[i];
    for (size_t k = 0; k < a->n; k++) { /* a peer's catalog has one owner per id: its first */
      ggm_release rel;
      if (ggm_release_decode(a->records[k].p, a->records[k].len, &rel, m->mem) != GG_OK) continue;
      int same = !strcasecmp(rel.id, c->v.id);
      uint8_t key[GG_ED25519_PUB];
      memcpy(key, rel.publisher, sizeof key);
      ggm_release_free(&rel);
      if (!same) continue;
      size_t j = 0;
      while (j < nkeys && memcmp(keys[j].key, key, sizeof key)) j++;
      if (j == nkeys && nkeys < 16) memcpy(keys[nkeys++].key, key, sizeof key);
      if (j < 16) keys[j].votes++;
      break;
    }
  }
  size_t best = 0;
  for (size_t j = 1; j < nkeys; j++)
    if (keys[j].votes > keys[best].votes) best = j;
  int ok = nkeys == 0 || !memcmp(keys[best].key, c->v.publisher, GG_ED25519_PUB);
  if (!ok) {
    c->v.action = GGM_ANNOUNCE_REJECT;
    c->v.err = GG_EOWNER;
    refused_log(m, &c->msg, &c->v, 1);
  }
  ggn_gossip_validation_result(m->gs, c->msgid, c->msgid_len,
                               ok ? GGP_GOSSIP_ACCEPT : GGP_GOSSIP_REJECT);
  ocheck_free(c);
}

static int validate(ggn_gossip *gs, const ggp_gossip_msg *msg, void *ud) {
  (void)gs;
  ggn_market *m = ud;
  ggm_announce_env env = {owner_cb, version_cb, m};
  ggm_announce_verdict v;
  if (ggm_announce_check(msg->data, msg->len, &env, &v) == GGM_ANNOUNCE_ACCEPT) {
    uint8_t key[GG_ED25519_PUB];
    if (owner_cb(m, v.id, key) == GG_OK) return GGP_GOSSIP_ACCEPT; /* the owner is known here */
    if (m->nchecks >= MAX_CHECKS || msg->msgid_len > GGP_GOSSIP_MSGID_MAX) return GGP_GOSSIP_IGNORE;
    ocheck *c = gg_calloc(m->mem, 1, sizeof(*c));
    if (!c) return GGP_GOSSIP_IGNORE;
    c->m = m;
    memcpy(c->msgid, msg->msgid, msg->msgid_len);
    c->msgid_len = msg->msgid_len;
    c->v = v;
    c->msg = *msg;
    c->msg.data = NULL;
    c->msg.len = 0;
    c->msg.msgid = NULL;
    c->msg.topic = NULL;
    ggm_psearch_req q = {.id = v.id, .limit = 8};
    if (ggn_market_search(m, &q, owner_answers, c) != GG_OK) {
      gg_free(m->mem, c);
      return GGP_GOSSIP_ACCEPT; /* nobody to ask: first seen */
    }
    c->next = m->checks;
    if (m->checks) m->checks->prev = c;
    m->checks = c;
    m->nchecks++;
    return GGP_GOSSIP_PENDING;
  }
  refused_log(m, msg, &v, 0);
  return GGP_GOSSIP_REJECT;
}

static void refused_log(ggn_market *m, const ggp_gossip_msg *msg, const ggm_announce_verdict *vp,
                        int by_peers) {
  ggm_announce_verdict v = *vp;
  m->stats.announcements_rejected++;
  ggn_logf(m->log, GGN_LOG_INFO, "announcement %s%s%s from %s via %s refused: %s",
           v.id[0] ? v.id : "(undecodable)", v.id[0] ? "@" : "", v.version,
           gg_peerid_short(&msg->from), gg_peerid_short(&msg->source),
           v.err == GG_EOWNER && by_peers ? "peers vouch for another key"
           : v.err == GG_EOWNER           ? "the id belongs to another key here"
           : v.err == GG_EEXIST           ? "this version is known with another archive"
                                          : gg_strerror(v.err));
  tell(m, msg, &v, v.err, by_peers);
}

static void hint_put(ggn_market *m, const uint8_t cid[GGM_CID_LEN], const gg_peerid *p) {
  if (gg_map_get(&m->hints, cid, GGM_CID_LEN)) return;
  if (gg_map_count(&m->hints) >= HINTS) ggn__market_gossip_free(m); /* forget them all */
  gg_peerid *copy = gg_malloc(m->mem, sizeof(*copy));
  if (!copy) return;
  *copy = *p;
  if (gg_map_put(&m->hints, cid, GGM_CID_LEN, copy, NULL) != GG_OK) gg_free(m->mem, copy);
}

const gg_peerid *ggn__market_hint(ggn_market *m, const uint8_t cid[GGM_CID_LEN]) {
  return gg_map_get(&m->hints, cid, GGM_CID_LEN);
}

static void on_msg(ggn_gossip *gs, const ggp_gossip_msg *msg, void *ud) {
  (void)gs;
  ggn_market *m = ud;
  if (m->closing) return;
  /* validated already; checked again because the catalog may have changed meanwhile */
  ggm_announce_env env = {owner_cb, version_cb, m};
  ggm_announce_verdict v;
  if (ggm_announce_check(msg->data, msg->len, &env, &v) != GGM_ANNOUNCE_ACCEPT) {
    tell(m, msg, &v, v.err, 0);
    return;
  }
  m->stats.announcements_accepted++;
  ggm_publish_env pe = {m->home, m->cat, m->store};
  ggm_publish_result pr;
  int rv = ggm_publish_ingest_record(&pe, msg->data, msg->len, "p2p", 0, &pr);
  if (rv == GG_OK) hint_put(m, v.cid, &msg->from);
  ggn_logf(m->log, rv == GG_OK ? GGN_LOG_INFO : GGN_LOG_WARN, "announcement %s@%s from %s: %s",
           v.id, v.version, gg_peerid_short(&msg->from),
           rv == GG_OK ? (pr.existed ? "already known" : "cataloged") : pr.msg);
  tell(m, msg, &v, rv, 0);
}

int ggn__market_gossip_init(ggn_market *m) {
  gg_map_init(&m->hints, m->mem, gg_rand_system());
  if (!m->gs || m->client_mode) return GG_OK;
  int rv = ggn_gossip_set_validator(m->gs, GGM_ANNOUNCE_TOPIC, validate, m);
  if (rv == GG_OK) rv = ggn_gossip_subscribe(m->gs, GGM_ANNOUNCE_TOPIC, on_msg, m);
  if (rv == GG_OK) m->subscribed = 1;
  return rv;
}

void ggn__market_gossip_close(ggn_market *m) {
  if (!m->gs || m->client_mode) return;
  if (m->subscribed) ggn_gossip_unsubscribe(m->gs, GGM_ANNOUNCE_TOPIC);
  m->subscribed = 0;
  ggn_gossip_set_validator(m->gs, GGM_ANNOUNCE_TOPIC, NULL, NULL);
}

void ggn__market_gossip_checks_free(ggn_market *m) {
  while (m->checks) ocheck_free(m->checks);
}

void ggn__market_gossip_free(ggn_market *m) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&m->hints, &it))) gg_free(m->mem, e->val);
  gg_map_free(&m->hints);
  gg_map_init(&m->hints, m->mem, gg_rand_system());
}
