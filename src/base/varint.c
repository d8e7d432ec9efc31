/*
 * Unsigned varint codec (multiformats unsigned-varint spec, protobuf base-128 varints).
 */
#include "ggen/varint.h"

#include "ggen/err.h"

size_t gg_varint_encode(uint64_t v, uint8_t *out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

size_t gg_varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static int decode(const uint8_t *in, size_t len, uint64_t *v, size_t maxbytes, int strict) {
  uint64_t r = 0;
  for (size_t i = 0; i < maxbytes; i++) {
    if (i >= len) return GG_EAGAIN;
    uint8_t c = in[i];
    if (i == 9 && c > 1) return GG_EPARSE; /* would overflow 64 bits */
    r |= (uint64_t)(c & 0x7f) << (7 * i);
    if (!(c & 0x80)) {
      if (strict && c == 0 && i > 0) return GG_EPARSE; /* non-minimal */
      *v = r;
      return (int)(i + 1);
    }
  }
  return GG_EPARSE;
}

int gg_varint_decode(const uint8_t *in, size_t len, uint64_t *v) {
  return decode(in, len, v, GG_VARINT_MF_MAX, 1);
}

int gg_varint_decode_u64(const uint8_t *in, size_t len, uint64_t *v) {
  return decode(in, len, v, GG_VARINT_MAX, 0);
}
