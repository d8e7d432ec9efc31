/*
 * Multibase codecs (multiformats/multibase, include/ggen/multibase.h).
 *
 * Two families:
 *  - bit-packing bases (RFC 4648 style): base2, base8, base16, base32 (+hex, +z), base64
 *    (+url), with or without '=' padding. Leftover bits at the end of decoding must be zero
 *    and fewer than 8.
 *  - big-number bases (base10, base36, base58btc, base58flickr): the input is a big-endian
 *    number; each leading zero byte becomes one leading zero digit, as base58 does.
 *    Quadratic in the length, so decoding is capped at GG_MULTIBASE_BIGNUM_MAX characters.
 * base256emoji, base45 and proquint are not supported (GG_EUNSUPPORTED).
 */
#include "ggen/multibase.h"

#include <string.h>

#include "ggen/err.h"

#define GG_MULTIBASE_BIGNUM_MAX 4096

typedef struct base_desc {
  char prefix;
  const char *alphabet;
  int bits;       /* bits per char for bit-packing bases, 0 for big-number bases */
  int pad;        /* bit-packing: emit '=' padding */
  int icase;      /* decoding ignores case */
} base_desc;

static const char B2[] = "01";
static const char B8[] = "01234567";
static const char B10[] = "0123456789";
static const char B16[] = "0123456789abcdef";
static const char B16U[] = "0123456789ABCDEF";
static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char B32U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B32H[] = "0123456789abcdefghijklmnopqrstuv";
static const char B32HU[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
static const char B32Z[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
static const char B36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static const char B36U[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char B58F[] = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const base_desc bases[] = {
    {'0', B2, 1, 0, 0},     {'7', B8, 3, 0, 0},      {'9', B10, 0, 0, 0},
    {'f', B16, 4, 0, 1},    {'F', B16U, 4, 0, 1},    {'b', B32, 5, 0, 1},
    {'B', B32U, 5, 0, 1},   {'c', B32, 5, 1, 1},     {'C', B32U, 5, 1, 1},
    {'v', B32H, 5, 0, 1},   {'V', B32HU, 5, 0, 1},   {'t', B32H, 5, 1, 1},
    {'T', B32HU, 5, 1, 1},  {'h', B32Z, 5, 0, 0},    {'k', B36, 0, 0, 1},
    {'K', B36U, 0, 0, 1},   {'z', B58, 0, 0, 0},     {'Z', B58F, 0, 0, 0},
    {'m', B64, 6, 0, 0},    {'M', B64, 6, 1, 0},     {'u', B64U, 6, 0, 0},
    {'U', B64U, 6, 1, 0},
};

static const base_desc *find_base(char prefix) {
  for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
    if (bases[i].prefix == prefix) return &bases[i];
  return NULL;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Value of character c in the alphabet, or -1. */
static int digit(const base_desc *d, char c) {
  const char *a = d->alphabet;
  for (int i = 0; a[i]; i++) {
    if (a[i] == c) return i;
    if (d->icase && lower((unsigned char)a[i]) == lower((unsigned char)c)) return i;
  }
  return -1;
}

/* ---- bit-packing bases ------------------------------------------------------------------ */

static int bits_encode(const base_desc *d, const uint8_t *in, size_t len, gg_buf *out) {
  uint32_t acc = 0;
  int nbits = 0;
  size_t nchars = 0;
  int rv;
  for (size_t i = 0; i < len; i++) {
    acc = (acc << 8) | in[i];
    nbits += 8;
    while (nbits >= d->bits) {
      nbits -= d->bits;
      if ((rv = gg_buf_append_byte(out, (uint8_t)d->alphabet[(acc >> nbits) & ((1u << d->bits) - 1)])))
        return rv;
      nchars++;
    }
    acc &= (1u << nbits) - 1;
  }
  if (nbits > 0) {
    if ((rv = gg_buf_append_byte(out, (uint8_t)d->alphabet[(acc << (d->bits - nbits)) & ((1u << d->bits) - 1)])))
      return rv;
    nchars++;
  }
  if (d->pad) {
    /* pad to a whole number of quanta: 8 chars for base32, 4 for base64 */
    size_t quantum = d->bits == 5 ? 8 : d->bits == 6 ? 4 : 1;
    while (nchars % quantum) {
      if ((rv = gg_buf_append_byte(out, '='))) return rv;
      nchars++;
    }
  }
  return GG_OK;
}

static int bits_decode(const base_desc *d, const char *s, size_t len, gg_buf *out) {
  /* strip padding; only padded variants may have it (decoding accepts missing padding) */
  size_t end = len;
  while (end > 0 && s[end - 1] == '=') end--;
  if (end != len && !d->pad) return GG_EPARSE;
  uint32_t acc = 0;
  int nbits = 0;
  for (size_t i = 0; i < end; i++) {
    int v = digit(d, s[i]);
    if (v < 0) return GG_EPARSE;
    acc = (acc << d->bits) | (uint32_t)v;
    nbits += d->bits;
    if (nbits >= 8) {
      nbits -= 8;
      int rv = gg_buf_append_byte(out, (uint8_t)(acc >> nbits));
      if (rv) return rv;
      acc &= (1u << nbits) - 1;
    }
  }
  /* a canonical encoding leaves fewer than one character's worth of bits, all zero */
  if (acc != 0 || nbits >= d->bits) return GG_EPARSE;
  return GG_OK;
}

/* ---- big-number bases ------------------------------------------------------------------- */

static int bignum_encode(const base_desc *d, const uint8_t *in, size_t len, gg_buf *out) {
  size_t base = strlen(d->alphabet);
  size_t zeros = 0;
  while (zeros < len && in[zeros] == 0) zeros++;
  /* digits needed: len * log(256)/log(base) + 1; base >= 10 so 2.41 per byte is enough */
  size_t cap = (len - zeros) * 241 / 100 + 1;
  uint8_t *dig = gg_calloc(out->mem, cap, 1);
  if (!dig) return GG_ENOMEM;
  size_t ndig = 0;
  for (size_t i = zeros; i < len; i++) {
    uint32_t carry = in[i];
    for (size_t j = 0; j < ndig; j++) {
      carry += (uint32_t)dig[j] << 8;
      dig[j] = (uint8_t)(carry % base);
      carry /= base;
    }
    while (carry) {
      dig[ndig++] = (uint8_t)(carry % base);
      carry /= base;
    }
  }
  int rv = gg_buf_reserve(out, zeros + ndig);
  for (size_t i = 0; rv == GG_OK && i < zeros; i++) rv = gg_buf_append_byte(out, (uint8_t)d->alphabet[0]);
  for (size_t i = ndig; rv == GG_OK && i > 0; i--) rv = gg_buf_append_byte(out, (uint8_t)d->alphabet[dig[i - 1]]);
  gg_free(out->mem, dig);
  return rv;
}

static int bignum_decode(const base_desc *d, const char *s, size_t len, gg_buf *out) {
  if (len > GG_MULTIBASE_BIGNUM_MAX) return GG_EPARSE;
  uint32_t base = (uint32_t)strlen(d->alphabet);
  size_t zeros = 0;
  while (zeros < len && digit(d, s[zeros]) == 0) zeros++;
  size_t cap = len; /* each char carries less than 8 bits */
  uint8_t *b = gg_calloc(out->mem, cap + 1, 1);
  if (!b) return GG_ENOMEM;
  size_t nb = 0;
  int rv = GG_OK;
  for (size_t i = zeros; i < len; i++) {
    int v = digit(d, s[i]);
    if (v < 0) {
      rv = GG_EPARSE;
      goto done;
    }
    uint32_t carry = (uint32_t)v;
    for (size_t j = 0; j < nb; j++) {
      carry += (uint32_t)b[j] * base;
      b[j] = (uint8_t)carry;
      carry >>= 8;
    }
    while (carry) {
      b[nb++] = (uint8_t)carry;
      carry >>= 8;
    }
  }
  rv = gg_buf_reserve(out, zeros + nb);
  for (size_t i = 0; rv == GG_OK && i < zeros; i++) rv = gg_buf_append_byte(out, 0);
  for (size_t i = nb; rv == GG_OK && i > 0; i--) rv = gg_buf_append_byte(out, b[i - 1]);
done:
  gg_free(out->mem, b);
  return rv;
}

/* ---- public API -------------------------------------------------------------------------- */

int gg_multibase_encode(char prefix, const uint8_t *in, size_t len, gg_buf *out) {
  if (prefix == 0) {
    int rv = gg_buf_append_byte(out, 0);
    return rv ? rv : gg_buf_append(out, in, len);
  }
  const base_desc *d = find_base(prefix);
  if (!d) return GG_EUNSUPPORTED;
  size_t mark = out->len;
  int rv = gg_buf_append_byte(out, (uint8_t)prefix);
  if (!rv) rv = d->bits ? bits_encode(d, in, len, out) : bignum_encode(d, in, len, out);
  if (rv) out->len = mark; /* nothing appended on failure */
  return rv;
}

int gg_multibase_decode(const char *s, size_t len, gg_buf *out, char *prefix) {
  if (len == 0) return GG_EPARSE;
  if (prefix) *prefix = s[0];
  if (s[0] == 0) return gg_buf_append(out, s + 1, len - 1);
  const base_desc *d = find_base(s[0]);
  if (!d) return GG_EUNSUPPORTED;
  size_t mark = out->len;
  int rv = d->bits ? bits_decode(d, s + 1, len - 1, out) : bignum_decode(d, s + 1, len - 1, out);
  if (rv) out->len = mark;
  return rv;
}

int gg_base58btc_encode(const uint8_t *in, size_t len, gg_buf *out) {
  return bignum_encode(find_base('z'), in, len, out);
}

int gg_base58btc_decode(const char *s, size_t len, gg_buf *out) {
  size_t mark = out->len;
  int rv = bignum_decode(find_base('z'), s, len, out);
  if (rv) out->len = mark;
  return rv;
}
