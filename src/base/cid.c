/*
 * CID v0 and v1, binary and text (include/ggen/cid.h; multiformats/cid README, "Decoding
 * Algorithm"). Text goes through the multibase module; this file only frames the bytes.
 *
 * Invariant: a gg_cid holds a valid binary CID: for v0, exactly a sha2-256 multihash with a
 * 32-byte digest (mh_off 0); for v1, 0x01, the codec varint, and one valid multihash.
 */
#include "ggen/cid.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/multibase.h"
#include "ggen/varint.h"

static int is_v0_bytes(const uint8_t *b, size_t len) {
  return len == GG_MH_SHA256_LEN && b[0] == GG_MH_SHA2_256 && b[1] == 32;
}

int gg_cid_from_bytes(gg_cid *cid, const uint8_t *b, size_t len) {
  gg_cid c;
  gg_mh mh;
  if (is_v0_bytes(b, len)) {
    c.version = 0;
    c.codec = GG_CODEC_DAG_PB;
    c.mh_off = 0;
  } else {
    uint64_t ver, codec;
    int n1 = gg_varint_decode(b, len, &ver);
    if (n1 < 0 || ver == 0) return GG_EPARSE;
    if (ver != 1) return GG_EUNSUPPORTED; /* 2 and 3 are reserved; 18 (0x12) never exists */
    int n2 = gg_varint_decode(b + n1, len - (size_t)n1, &codec);
    if (n2 < 0) return GG_EPARSE;
    size_t off = (size_t)n1 + (size_t)n2;
    if (gg_mh_decode(b + off, len - off, &mh)) return GG_EPARSE;
    c.version = 1;
    c.codec = codec;
    c.mh_off = (uint16_t)off; /* off <= 2 * 9 */
  }
  if (len > GG_CID_MAX) return GG_ETOOBIG;
  memcpy(c.b, b, len);
  c.len = (uint16_t)len;
  *cid = c;
  return GG_OK;
}

int gg_cid_new(gg_cid *cid, unsigned version, uint64_t codec, const uint8_t *mh, size_t mhlen) {
  gg_mh m;
  if (gg_mh_decode(mh, mhlen, &m)) return GG_EPARSE;
  if (version == 0) {
    if (codec != GG_CODEC_DAG_PB || !is_v0_bytes(mh, mhlen)) return GG_EINVAL;
    return gg_cid_from_bytes(cid, mh, mhlen);
  }
  if (version != 1) return GG_EINVAL;
  uint8_t hdr[1 + GG_VARINT_MAX];
  hdr[0] = 1;
  size_t n = 1 + gg_varint_encode(codec, hdr + 1);
  if (n + mhlen > GG_CID_MAX) return GG_ETOOBIG;
  gg_cid c;
  memcpy(c.b, hdr, n);
  memcpy(c.b + n, mh, mhlen);
  c.len = (uint16_t)(n + mhlen);
  c.mh_off = (uint16_t)n;
  c.version = 1;
  c.codec = codec;
  *cid = c;
  return GG_OK;
}

int gg_cid_parse(gg_cid *cid, const char *s, size_t len) {
  gg_buf b;
  /* Decoded bytes are shorter than the text; the cap only bounds the work on hostile input. */
  gg_buf_init(&b, NULL, GG_CID_MAX + 1);
  int rc;
  if (len == 46 && s[0] == 'Q' && s[1] == 'm') {
    rc = gg_base58btc_decode(s, len, &b);
    if (rc == GG_OK && !is_v0_bytes(gg_buf_ptr(&b), gg_buf_len(&b))) rc = GG_EPARSE;
  } else {
    rc = gg_multibase_decode(s, len, &b, NULL);
    /* A multibase-encoded v0 is refused: there is no CIDv18 to be confused with it. */
    if (rc == GG_OK && (gg_buf_len(&b) == 0 || gg_buf_ptr(&b)[0] == GG_MH_SHA2_256)) rc = GG_EPARSE;
  }
  if (rc == GG_OK)
    rc = gg_cid_from_bytes(cid, gg_buf_ptr(&b), gg_buf_len(&b));
  else if (rc != GG_ENOMEM && rc != GG_ETOOBIG)
    rc = GG_EPARSE; /* bad characters, unknown multibase prefix */
  gg_buf_free(&b);
  return rc;
}

int gg_cid_format(const gg_cid *cid, char base, gg_buf *out) {
  if (cid->version == 0) {
    if (base != 0 && base != 'z') return GG_EINVAL;
    return gg_base58btc_encode(cid->b, cid->len, out);
  }
  return gg_multibase_encode(base ? base : 'b', cid->b, cid->len, out);
}

int gg_cid_to_str(const gg_cid *cid, char *out, size_t cap) {
  gg_buf b;
  gg_buf_init(&b, NULL, GG_CID_STR_MAX);
  int rc = gg_cid_format(cid, 0, &b);
  if (rc == GG_OK) {
    size_t n = gg_buf_len(&b);
    if (n + 1 > cap) {
      rc = GG_EINVAL;
    } else {
      memcpy(out, gg_buf_ptr(&b), n);
      out[n] = 0;
      rc = (int)n;
    }
  }
  gg_buf_free(&b);
  return rc;
}

void gg_cid_mh(const gg_cid *cid, gg_mh *mh) {
  gg_mh_decode(cid->b + cid->mh_off, (size_t)cid->len - cid->mh_off, mh);
}

void gg_cid_to_v1(const gg_cid *in, gg_cid *out) {
  if (in->version == 1) {
    *out = *in;
    return;
  }
  /* 01 70 + 34 bytes: always fits */
  gg_cid_new(out, 1, GG_CODEC_DAG_PB, in->b, in->len);
}

int gg_cid_eq(const gg_cid *a, const gg_cid *b) {
  return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

const char *gg_codec_name(uint64_t codec) {
  switch (codec) {
  case GG_CODEC_RAW: return "raw";
  case GG_CODEC_DAG_PB: return "dag-pb";
  case GG_CODEC_DAG_CBOR: return "dag-cbor";
  case GG_CODEC_LIBP2P_KEY: return "libp2p-key";
  case GG_CODEC_DAG_JSON: return "dag-json";
  case GG_CODEC_JSON: return "json";
  default: return NULL;
  }
}
