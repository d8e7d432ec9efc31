/*
 * Validation of package announcements (include/ggen/announce.h). Cheap and decisive checks
 * first: the size (no decoding of an oversized message), then the record's own signature,
 * then what this node knows: the id's owner (first key seen wins, as in the catalog), then
 * the version's archive (versions are immutable).
 */
#include "ggen/announce.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"

static int reject(ggm_announce_verdict *v, int err) {
  v->action = GGM_ANNOUNCE_REJECT;
  v->err = err;
  return v->action;
}

int ggm_announce_check(const uint8_t *data, size_t len, const ggm_announce_env *env,
                       ggm_announce_verdict *v) {
  memset(v, 0, sizeof(*v));
  if (len > GGM_ANNOUNCE_MAX) return reject(v, GG_ETOOBIG);
  ggm_release r;
  int rv = ggm_release_decode(data, len, &r, NULL);
  if (rv != GG_OK) return reject(v, rv);
  snprintf(v->id, sizeof v->id, "%s", r.id);
  snprintf(v->version, sizeof v->version, "%s", r.version);
  memcpy(v->cid, r.archive_cid, GGM_CID_LEN);
  memcpy(v->publisher, r.publisher, GG_ED25519_PUB);
  ggm_release_free(&r);
  uint8_t key[GG_ED25519_PUB], cid[GGM_CID_LEN];
  if (env && env->owner && env->owner(env->ud, v->id, key) == GG_OK &&
      memcmp(key, v->publisher, GG_ED25519_PUB))
    return reject(v, GG_EOWNER);
  if (env && env->version_cid && env->version_cid(env->ud, v->id, v->version, cid) == GG_OK) {
    if (memcmp(cid, v->cid, GGM_CID_LEN)) return reject(v, GG_EEXIST);
    v->known = 1;
  }
  v->action = GGM_ANNOUNCE_ACCEPT;
  return v->action;
}
