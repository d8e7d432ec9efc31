/*
 * Multihash codec and hashing (include/ggen/multihash.h; multiformats/multihash README,
 * "Format"). A multihash is two multiformats varints (function code, digest length) and the
 * digest. The function table below is a subset of the multicodec table (tag "multihash"):
 * the functions a libp2p/IPFS peer meets in practice. Unknown codes still decode, since a
 * parser must not reject a hash only because it cannot compute it.
 *
 * Invariant: gg_mh_decode() never returns a view whose digest extends past the input.
 */
#include "ggen/multihash.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/varint.h"

struct mhfn {
  uint64_t code;
  const char *name;
  unsigned size; /* digest bytes; 0 = variable */
};

static const struct mhfn fns[] = {
    {0x00, "identity", 0},       {0x11, "sha1", 20},           {0x12, "sha2-256", 32},
    {0x13, "sha2-512", 64},      {0x14, "sha3-512", 64},       {0x15, "sha3-384", 48},
    {0x16, "sha3-256", 32},      {0x17, "sha3-224", 28},       {0x18, "shake-128", 0},
    {0x19, "shake-256", 0},      {0x1a, "keccak-224", 28},     {0x1b, "keccak-256", 32},
    {0x1c, "keccak-384", 48},    {0x1d, "keccak-512", 64},     {0x1e, "blake3", 0},
    {0x20, "sha2-384", 48},      {0x56, "dbl-sha2-256", 32},   {0xd5, "md5", 16},
    {0x1013, "sha2-224", 28},    {0x1014, "sha2-512-224", 28}, {0x1015, "sha2-512-256", 32},
    {0xb220, "blake2b-256", 32}, {0xb240, "blake2b-512", 64},  {0xb260, "blake2s-256", 32},
};

static const struct mhfn *find(uint64_t code) {
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
    if (fns[i].code == code) return &fns[i];
  return NULL;
}

const char *gg_mh_name(uint64_t code) {
  const struct mhfn *f = find(code);
  return f ? f->name : NULL;
}

int gg_mh_code(const char *name, uint64_t *code) {
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    if (strcmp(fns[i].name, name) == 0) {
      *code = fns[i].code;
      return GG_OK;
    }
  }
  return GG_ENOTFOUND;
}

int gg_mh_digest_size(uint64_t code) {
  const struct mhfn *f = find(code);
  return f ? (int)f->size : GG_ENOTFOUND;
}

/* Too long for the function that claims to have produced it? */
static int too_long(uint64_t code, uint64_t dlen) {
  const struct mhfn *f = find(code);
  return f && f->size && dlen > f->size;
}

int gg_mh_decode(const uint8_t *in, size_t len, gg_mh *mh) {
  uint64_t code, dlen;
  int n1 = gg_varint_decode(in, len, &code);
  if (n1 < 0) return GG_EPARSE;
  int n2 = gg_varint_decode(in + n1, len - (size_t)n1, &dlen);
  if (n2 < 0) return GG_EPARSE;
  size_t hdr = (size_t)n1 + (size_t)n2;
  if (dlen != len - hdr) return GG_EPARSE; /* truncated, or trailing bytes */
  if (too_long(code, dlen)) return GG_EPARSE;
  mh->code = code;
  mh->digest = in + hdr;
  mh->dlen = (size_t)dlen;
  mh->size = len;
  return GG_OK;
}

int gg_mh_encode(uint64_t code, const uint8_t *digest, size_t dlen, gg_buf *out) {
  if (too_long(code, dlen)) return GG_EINVAL;
  uint8_t hdr[2 * GG_VARINT_MAX];
  size_t n = gg_varint_encode(code, hdr);
  n += gg_varint_encode(dlen, hdr + n);
  int rc = gg_buf_reserve(out, n + dlen);
  if (rc) return rc;
  gg_buf_append(out, hdr, n); /* cannot fail after the reserve */
  if (dlen) gg_buf_append(out, digest, dlen);
  return GG_OK;
}

int gg_mh_sum(uint64_t code, const uint8_t *data, size_t len, int trunc, gg_buf *out) {
  uint8_t d[crypto_hash_sha512_BYTES];
  size_t size;
  switch (code) {
  case GG_MH_IDENTITY:
    if (trunc >= 0 && (size_t)trunc != len) return GG_EINVAL;
    return gg_mh_encode(code, data, len, out);
  case GG_MH_SHA2_256:
    crypto_hash_sha256(d, data, len);
    size = crypto_hash_sha256_BYTES;
    break;
  case GG_MH_SHA2_512:
    crypto_hash_sha512(d, data, len);
    size = crypto_hash_sha512_BYTES;
    break;
  default: return GG_EUNSUPPORTED;
  }
  if (trunc > (int)size) return GG_EINVAL;
  return gg_mh_encode(code, d, trunc < 0 ? size : (size_t)trunc, out);
}

void gg_mh_sha256(const uint8_t *data, size_t len, uint8_t out[GG_MH_SHA256_LEN]) {
  out[0] = GG_MH_SHA2_256;
  out[1] = crypto_hash_sha256_BYTES;
  crypto_hash_sha256(out + 2, data, len);
}
