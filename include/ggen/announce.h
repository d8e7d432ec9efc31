/*
 * Package announcements on Gossipsub (docs/p2p-marketplace.md "Announcements"): the payload of
 * a message on GGM_ANNOUNCE_TOPIC is one signed release record (include/ggen/release.h), the
 * same bytes as the DHT record. Every receiver validates it before it is delivered or
 * forwarded (the gossip validation hook), so an invalid or foreign record stops at the first
 * honest node and its sender is penalised.
 *
 * No I/O: the catalog is consulted through callbacks.
 */
#ifndef GGEN_ANNOUNCE_H
#define GGEN_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/pack.h"
#include "ggen/release.h"

#define GGM_ANNOUNCE_TOPIC "/ggen/packages/v1"
#define GGM_ANNOUNCE_MAX GGM_RELEASE_MAX /* bytes of one announcement */

enum {
  GGM_ANNOUNCE_ACCEPT = 0, /* deliver (catalog it) and forward */
  GGM_ANNOUNCE_REJECT,     /* invalid: drop, penalise the sender */
};

/* What the node knows (both optional; absent means "nothing known"). */
typedef struct ggm_announce_env {
  /* GG_OK with key when the catalog knows id's owner, GG_ENOTFOUND when not. */
  int (*owner)(void *ud, const char *id, uint8_t key[GG_ED25519_PUB]);
  /* GG_OK with the archive CID when the catalog has id@version, GG_ENOTFOUND when not. */
  int (*version_cid)(void *ud, const char *id, const char *version, uint8_t cid[GGM_CID_LEN]);
  void *ud;
} ggm_announce_env;

typedef struct ggm_announce_verdict {
  int action; /* GGM_ANNOUNCE_* */
  int err;    /* why it was rejected: GG_ETOOBIG, the decoder's errors (GG_EPARSE,
                 GG_EBADSIG, GG_EBADKEY), GG_EOWNER, GG_EEXIST (a known version with another
                 archive); GG_OK when accepted */
  int known;  /* accepted, and this very release is already cataloged */
  char id[GGM_RELEASE_ID_MAX + 1]; /* "" when the record did not decode */
  char version[GGM_RELEASE_VERSION_MAX + 1];
  uint8_t cid[GGM_CID_LEN];
  uint8_t publisher[GG_ED25519_PUB];
} ggm_announce_verdict;

/* Judges an announcement: size cap, signature, owner, immutable versions, in that order.
 * Fills *v and returns v->action. env may be NULL. */
int ggm_announce_check(const uint8_t *data, size_t len, const ggm_announce_env *env,
                       ggm_announce_verdict *v);

#endif
