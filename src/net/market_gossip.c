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
 * A client-mode node (a short-lived command) does not subscribe: it only publishes, and
 * Gossipsub publishes to a topic's known subscribers without a subscription of its own.
 */
#include <string.h>

#include "ggen/err.h"
#include "ggen/publish.h"
#include "market_int.h"

#define HINTS 1024

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
                 int ingest_err) {
  if (!m->on_announce) return;
  ggn_market_announcement a = {
      .v = v, .from = msg->from, .via = msg->source, .ingest_err = ingest_err};
  m->on_announce(m, &a, m->announce_ud);
}

static int validate(ggn_gossip *gs, const ggp_gossip_msg *msg, void *ud) {
  (void)gs;
  ggn_market *m = ud;
  ggm_announce_env env = {owner_cb, version_cb, m};
  ggm_announce_verdict v;
  if (ggm_announce_check(msg->data, msg->len, &env, &v) == GGM_ANNOUNCE_ACCEPT)
    return GGP_GOSSIP_ACCEPT;
  m->stats.announcements_rejected++;
  ggn_logf(m->log, GGN_LOG_INFO, "announcement %s%s%s from %s via %s refused: %s",
           v.id[0] ? v.id : "(undecodable)", v.id[0] ? "@" : "", v.version,
           gg_peerid_short(&msg->from), gg_peerid_short(&msg->source),
           v.err == GG_EOWNER   ? "the id belongs to another key here"
           : v.err == GG_EEXIST ? "this version is known with another archive"
                                : gg_strerror(v.err));
  tell(m, msg, &v, v.err);
  return GGP_GOSSIP_REJECT;
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
    tell(m, msg, &v, v.err);
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
  tell(m, msg, &v, rv);
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

void ggn__market_gossip_free(ggn_market *m) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&m->hints, &it))) gg_free(m->mem, e->val);
  gg_map_free(&m->hints);
  gg_map_init(&m->hints, m->mem, gg_rand_system());
}
