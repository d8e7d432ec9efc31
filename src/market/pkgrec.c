/*
 * Package records in the DHT (include/ggen/pkgrec.h): the /ggen-pkg/<id>@<version> key and
 * the Kademlia validator and selector for signed release records.
 *
 * Invariant: a record this validator accepts decodes with ggm_release_decode (so its signature
 * verifies) and its id and version equal the key's, byte for byte. The selector is a total
 * order on valid records (publish time, then bytes), so any node holding the same set picks
 * the same record whatever the order it saw them in.
 */
#include "ggen/pkgrec.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/release.h"

static int part_ok(const char *s, size_t len, size_t max) {
  if (len == 0 || len > max) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f || c == '@' || c == '/') return 0;
  }
  return 1;
}

int ggm_pkgrec_key(const char *id, const char *version, gg_buf *out) {
  if (!id || !version) return GG_EINVAL;
  size_t il = strlen(id), vl = strlen(version);
  if (!part_ok(id, il, GGM_RELEASE_ID_MAX) || !part_ok(version, vl, GGM_RELEASE_VERSION_MAX))
    return GG_EINVAL;
  size_t start = out->len;
  int rv = gg_buf_reserve(out, sizeof(GGM_PKGREC_PREFIX) + il + vl);
  if (rv == GG_OK) rv = gg_buf_append_str(out, GGM_PKGREC_PREFIX);
  if (rv == GG_OK) rv = gg_buf_append(out, id, il);
  if (rv == GG_OK) rv = gg_buf_append_byte(out, '@');
  if (rv == GG_OK) rv = gg_buf_append(out, version, vl);
  if (rv != GG_OK) out->len = start;
  return rv;
}

int ggm_pkgrec_parse_key(const uint8_t *key, size_t klen, gg_slice *id, gg_slice *version) {
  const size_t pl = sizeof(GGM_PKGREC_PREFIX) - 1;
  if (!key || klen <= pl || memcmp(key, GGM_PKGREC_PREFIX, pl) != 0) return GG_EINVAL;
  const uint8_t *rest = key + pl;
  size_t rlen = klen - pl;
  const uint8_t *at = memchr(rest, '@', rlen);
  if (!at) return GG_EINVAL;
  size_t il = (size_t)(at - rest), vl = rlen - il - 1;
  if (!part_ok((const char *)rest, il, GGM_RELEASE_ID_MAX) ||
      !part_ok((const char *)at + 1, vl, GGM_RELEASE_VERSION_MAX))
    return GG_EINVAL;
  if (id) *id = (gg_slice){rest, il};
  if (version) *version = (gg_slice){at + 1, vl};
  return GG_OK;
}

static int str_is(const char *s, gg_slice want) {
  return s && strlen(s) == want.len && memcmp(s, want.p, want.len) == 0;
}

int ggm_pkgrec_validate(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
  gg_slice id, ver;
  if (ggm_pkgrec_parse_key(key, klen, &id, &ver) != GG_OK) return GG_EINVAL;
  ggm_release r;
  int rv = ggm_release_decode(val, vlen, &r, NULL);
  if (rv != GG_OK) return rv;
  rv = str_is(r.id, id) && str_is(r.version, ver) ? GG_OK : GG_EINVAL;
  ggm_release_free(&r);
  return rv;
}

/* 1 when record a is preferred over record b (both decoded, times ta and tb). */
static int better(uint64_t ta, gg_slice a, uint64_t tb, gg_slice b) {
  if (ta != tb) return ta > tb;
  size_t m = a.len < b.len ? a.len : b.len;
  int c = memcmp(a.p, b.p, m);
  if (c != 0) return c > 0;
  return a.len > b.len;
}

size_t ggm_pkgrec_select(const uint8_t *key, size_t klen, const gg_slice *vals, size_t n) {
  (void)key, (void)klen;
  size_t best = 0;
  int have = 0;
  uint64_t best_t = 0;
  for (size_t i = 0; i < n; i++) {
    ggm_release r;
    if (ggm_release_decode(vals[i].p, vals[i].len, &r, NULL) != GG_OK) continue;
    uint64_t t = r.publish_time;
    ggm_release_free(&r);
    if (!have || better(t, vals[i], best_t, vals[best])) {
      best = i;
      best_t = t;
      have = 1;
    }
  }
  return best;
}

static int v_validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
  (void)vud;
  return ggm_pkgrec_validate(key, klen, val, vlen);
}

static size_t v_select(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals, size_t n) {
  (void)vud;
  return ggm_pkgrec_select(key, klen, vals, n);
}

void ggm_pkgrec_validator(ggp_kad_validator *v) {
  v->ns = GGM_PKGREC_NS;
  v->validate = v_validate;
  v->select = v_select;
  v->vud = NULL;
}
