/*
 * Fuzz target: announcement validation (include/ggen/announce.h). The input is the gossip
 * payload; the fake catalog "knows" an owner and a version derived from the input's first
 * bytes, so both refusal paths are reachable. Invariants: an accepted announcement decodes as
 * a verified record naming the verdict's id and version; a rejection names its reason.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/announce.h"
#include "ggen/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *input;
static size_t input_len;

static int owner(void *ud, const char *id, uint8_t key[GG_ED25519_PUB]) {
  (void)ud, (void)id;
  if (input_len < 1 || !(input[0] & 1)) return GG_ENOTFOUND;
  memset(key, input[0], GG_ED25519_PUB);
  return GG_OK;
}

static int version_cid(void *ud, const char *id, const char *version, uint8_t cid[GGM_CID_LEN]) {
  (void)ud, (void)id, (void)version;
  if (input_len < 1 || !(input[0] & 2)) return GG_ENOTFOUND;
  memset(cid, input[0], GGM_CID_LEN);
  return GG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input = data;
  input_len = size;
  ggm_announce_env env = {owner, version_cid, NULL};
  ggm_announce_verdict v;
  int a = ggm_announce_check(data, size, size & 1 ? &env : NULL, &v);
  if (a != v.action) abort();
  if (a == GGM_ANNOUNCE_ACCEPT) {
    ggm_release r;
    if (ggm_release_decode(data, size, &r, NULL) != GG_OK) abort();
    if (strcmp(r.id, v.id) || strcmp(r.version, v.version)) abort();
    ggm_release_free(&r);
    if (v.err != GG_OK) abort();
  } else if (v.err == GG_OK) {
    abort();
  }
  return 0;
}
