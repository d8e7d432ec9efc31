/*
 * libp2p peer ids (include/ggen/peerid.h; libp2p/specs peer-ids/peer-ids.md).
 *
 * Invariant: a gg_peerid always holds a valid multihash, either identity (code 0x00) of a
 * PublicKey protobuf of at most 42 bytes, or sha2-256 (code 0x12, 32-byte digest).
 */
#include "ggen/peerid.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/multibase.h"
#include "ggen/varint.h"

#define MH_IDENTITY 0x00
#define MH_SHA2_256 0x12
#define IDENTITY_MAX 42  /* keys this long or shorter are inlined (spec) */
#define CID_V1 0x01
#define CODEC_LIBP2P_KEY 0x72

int gg_peerid_from_pubkey_pb(gg_peerid *id, const uint8_t *pb, size_t len) {
  gg_pubkey k;
  int rv = gg_pubkey_decode(pb, len, &k);
  if (rv) return rv;
  if (len <= IDENTITY_MAX) {
    id->b[0] = MH_IDENTITY;
    id->b[1] = (uint8_t)len;
    memcpy(id->b + 2, pb, len);
    id->len = (uint8_t)(len + 2);
  } else {
    id->b[0] = MH_SHA2_256;
    id->b[1] = 32;
    crypto_hash_sha256(id->b + 2, pb, len);
    id->len = 34;
  }
  return GG_OK;
}

void gg_peerid_from_ed25519(gg_peerid *id, const uint8_t pub[GG_ED25519_PUB]) {
  uint8_t pb[GG_PUBKEY_PB_ED25519];
  gg_pubkey_encode_ed25519(pub, pb);
  id->b[0] = MH_IDENTITY;
  id->b[1] = GG_PUBKEY_PB_ED25519;
  memcpy(id->b + 2, pb, sizeof(pb));
  id->len = 2 + GG_PUBKEY_PB_ED25519;
}

int gg_peerid_from_bytes(gg_peerid *id, const uint8_t *b, size_t len) {
  /* both accepted codes and lengths are single-byte varints */
  if (len < 2) return GG_EPARSE;
  if (b[0] == MH_IDENTITY) {
    if (b[1] > IDENTITY_MAX || (size_t)b[1] + 2 != len) return GG_EPARSE;
  } else if (b[0] == MH_SHA2_256) {
    if (b[1] != 32 || len != 34) return GG_EPARSE;
  } else {
    return GG_EPARSE;
  }
  memcpy(id->b, b, len);
  id->len = (uint8_t)len;
  return GG_OK;
}

int gg_peerid_pubkey_pb(const gg_peerid *id, const uint8_t **pb, size_t *len) {
  if (id->b[0] != MH_IDENTITY) return GG_ENOTFOUND;
  *pb = id->b + 2;
  *len = id->b[1];
  return GG_OK;
}

/* Copies a gg_buf's bytes into out as a NUL-terminated string. */
static int emit(gg_buf *b, int rv, char *out, size_t cap) {
  if (rv == GG_OK && gg_buf_len(b) + 1 > cap) rv = GG_EINVAL;
  if (rv == GG_OK) {
    memcpy(out, gg_buf_ptr(b), gg_buf_len(b));
    out[gg_buf_len(b)] = 0;
    rv = (int)gg_buf_len(b);
  }
  gg_buf_free(b);
  return rv;
}

int gg_peerid_to_b58(const gg_peerid *id, char *out, size_t cap) {
  gg_buf b;
  gg_buf_init(&b, NULL, GG_PEERID_TEXT_MAX);
  return emit(&b, gg_base58btc_encode(id->b, id->len, &b), out, cap);
}

int gg_peerid_to_cid(const gg_peerid *id, char *out, size_t cap) {
  uint8_t raw[2 + GG_PEERID_MAX];
  raw[0] = CID_V1;
  raw[1] = CODEC_LIBP2P_KEY;
  memcpy(raw + 2, id->b, id->len);
  gg_buf b;
  gg_buf_init(&b, NULL, GG_PEERID_TEXT_MAX);
  return emit(&b, gg_multibase_encode('b', raw, (size_t)id->len + 2, &b), out, cap);
}

int gg_peerid_parse(gg_peerid *id, const char *s, size_t len) {
  if (len == 0 || len >= GG_PEERID_TEXT_MAX) return GG_EPARSE;
  gg_buf b;
  gg_buf_init(&b, NULL, GG_PEERID_TEXT_MAX);
  int rv;
  if (s[0] == '1' || s[0] == 'Q') { /* bare base58btc multihash ("12D3Koo…", "Qm…") */
    rv = gg_base58btc_decode(s, len, &b);
    if (rv == GG_OK) rv = gg_peerid_from_bytes(id, gg_buf_ptr(&b), gg_buf_len(&b));
  } else { /* CIDv1 libp2p-key in any multibase */
    rv = gg_multibase_decode(s, len, &b, NULL);
    const uint8_t *p = gg_buf_ptr(&b);
    size_t n = gg_buf_len(&b);
    uint64_t ver, codec;
    int a = rv == GG_OK ? gg_varint_decode(p, n, &ver) : -1;
    int c = a > 0 ? gg_varint_decode(p + a, n - (size_t)a, &codec) : -1;
    if (c > 0 && ver == CID_V1 && codec == CODEC_LIBP2P_KEY)
      rv = gg_peerid_from_bytes(id, p + a + c, n - (size_t)a - (size_t)c);
    else
      rv = GG_EPARSE;
  }
  gg_buf_free(&b);
  return rv == GG_OK ? GG_OK : GG_EPARSE;
}

int gg_peerid_eq(const gg_peerid *a, const gg_peerid *b) {
  return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

int gg_peerid_cmp(const gg_peerid *a, const gg_peerid *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->b, b->b, n);
  if (c) return c;
  return (int)a->len - (int)b->len;
}

const char *gg_peerid_short(const gg_peerid *id) {
  static _Thread_local char out[24];
  char full[GG_PEERID_TEXT_MAX];
  int n = gg_peerid_to_b58(id, full, sizeof(full));
  if (n < 0) return "?";
  if (n <= 16) {
    memcpy(out, full, (size_t)n + 1);
  } else {
    snprintf(out, sizeof(out), "%.7s…%.6s", full, full + n - 6);
  }
  return out;
}
