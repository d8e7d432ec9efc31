/*
 * The host's peer store (src/net/host_int.h): peer id -> addresses, protocols, agent and
 * protocol version, as learned from dials, identify and the layers above (ggn_host_add_addr).
 *
 * Caps, all set at creation: max_peers peers (when full, the least recently seen peer with no
 * upgraded connection is evicted; a store full of connected peers refuses new ones),
 * max_addrs addresses per peer (the oldest is dropped), max_protos protocol names per peer
 * (the rest of an identify list is ignored). Identify messages are at most 8 KiB, so a peer
 * can make us hold at most that much per entry.
 */
#include <string.h>

#include "ggen/err.h"
#include "host_int.h"

void ggn_pstore_init(ggn_pstore *ps, const gg_mem *mem, const gg_rand *r, uint32_t max_peers,
                     uint32_t max_addrs, uint32_t max_protos) {
  memset(ps, 0, sizeof(*ps));
  gg_map_init(&ps->map, mem, r);
  ps->mem = mem;
  ps->max_peers = max_peers;
  ps->max_addrs = max_addrs;
  ps->max_protos = max_protos;
}

static void free_protos(ggn_pstore *ps, ggn_peer *p) {
  for (uint32_t i = 0; i < p->nprotos; i++) gg_free(ps->mem, p->protos[i]);
  gg_free(ps->mem, p->protos);
  p->protos = NULL;
  p->nprotos = 0;
}

static void peer_free(ggn_pstore *ps, ggn_peer *p) {
  for (uint32_t i = 0; i < p->naddrs; i++) gg_free(ps->mem, p->addrs[i]);
  gg_free(ps->mem, p->addrs);
  free_protos(ps, p);
  gg_free(ps->mem, p->agent);
  gg_free(ps->mem, p->pver);
  gg_free(ps->mem, p);
}

void ggn_pstore_free(ggn_pstore *ps) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&ps->map, &it))) peer_free(ps, e->val);
  gg_map_free(&ps->map);
}

ggn_peer *ggn_pstore_get(const ggn_pstore *ps, const gg_peerid *id) {
  return gg_map_get(&ps->map, id->b, id->len);
}

static int evict_one(ggn_pstore *ps) {
  size_t it = 0;
  const gg_map_entry *e;
  ggn_peer *victim = NULL;
  while ((e = gg_map_next(&ps->map, &it))) {
    ggn_peer *p = e->val;
    if (p->nconns == 0 && (!victim || p->last_seen < victim->last_seen)) victim = p;
  }
  if (!victim) return 0;
  gg_map_del(&ps->map, victim->id.b, victim->id.len);
  peer_free(ps, victim);
  return 1;
}

ggn_peer *ggn_pstore_ensure(ggn_pstore *ps, const gg_peerid *id, gg_ts now) {
  ggn_peer *p = ggn_pstore_get(ps, id);
  if (p) {
    p->last_seen = now;
    return p;
  }
  if (gg_map_count(&ps->map) >= ps->max_peers && !evict_one(ps)) return NULL;
  p = gg_calloc(ps->mem, 1, sizeof(*p));
  if (!p) return NULL;
  p->id = *id;
  p->last_seen = now;
  if (gg_map_put(&ps->map, id->b, id->len, p, NULL) != GG_OK) {
    gg_free(ps->mem, p);
    return NULL;
  }
  return p;
}

int ggn_pstore_add_addr(ggn_pstore *ps, ggn_peer *p, const uint8_t *b, size_t len) {
  if (len == 0 || len > GG_MADDR_MAX || ps->max_addrs == 0) return GG_EINVAL;
  for (uint32_t i = 0; i < p->naddrs; i++) {
    ggn_paddr *a = p->addrs[i];
    if (a->len == len && !memcmp(a->b, b, len)) { /* known: make it the newest */
      memmove(&p->addrs[i], &p->addrs[i + 1], (p->naddrs - i - 1) * sizeof(*p->addrs));
      p->addrs[p->naddrs - 1] = a;
      return GG_OK;
    }
  }
  ggn_paddr *a = gg_malloc(ps->mem, sizeof(*a) + len);
  if (!a) return GG_ENOMEM;
  a->len = (uint16_t)len;
  memcpy(a->b, b, len);
  if (p->naddrs == ps->max_addrs) { /* full: drop the oldest */
    gg_free(ps->mem, p->addrs[0]);
    memmove(&p->addrs[0], &p->addrs[1], (p->naddrs - 1) * sizeof(*p->addrs));
    p->naddrs--;
  } else {
    ggn_paddr **n = gg_realloc(ps->mem, p->addrs, (p->naddrs + 1) * sizeof(*n));
    if (!n) {
      gg_free(ps->mem, a);
      return GG_ENOMEM;
    }
    p->addrs = n;
  }
  p->addrs[p->naddrs++] = a;
  return GG_OK;
}

static int set_str(ggn_pstore *ps, char **dst, const char *s) {
  char *n = NULL;
  if (s && !(n = gg_strdup(ps->mem, s))) return GG_ENOMEM;
  gg_free(ps->mem, *dst);
  *dst = n;
  return GG_OK;
}

int ggn_pstore_set_identify(ggn_pstore *ps, ggn_peer *p, const ggp_identify_msg *m) {
  int rv = GG_OK;
  for (size_t i = 0; i < m->n_listen_addrs && rv == GG_OK; i++)
    rv = ggn_pstore_add_addr(ps, p, m->listen_addrs[i].b, m->listen_addrs[i].len);
  free_protos(ps, p);
  size_t n = m->n_protocols < ps->max_protos ? m->n_protocols : ps->max_protos;
  if (n) {
    p->protos = gg_calloc(ps->mem, n, sizeof(char *));
    if (!p->protos) return GG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      p->protos[i] = gg_strdup(ps->mem, m->protocols[i]);
      if (!p->protos[i]) return GG_ENOMEM;
      p->nprotos++;
    }
  }
  if (rv == GG_OK) rv = set_str(ps, &p->agent, m->agent_version);
  if (rv == GG_OK) rv = set_str(ps, &p->pver, m->protocol_version);
  return rv;
}
