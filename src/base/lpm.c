/*
 * Varint-length-prefixed message reader and writer (include/ggen/lpm.h; the framing of
 * libp2p's it-length-prefixed, with multiformats unsigned varints as the prefix).
 *
 * States: reading the prefix (have_len 0, hlen bytes kept in hdr), then reading the body
 * (have_len 1, body holds what arrived so far), then delivered (the next call starts afresh).
 * Invariants: body.len <= need <= max; nothing is buffered beyond the current message, so the
 * caller keeps the bytes of the next one.
 */
#include "ggen/lpm.h"

#include <string.h>

#include "ggen/err.h"

void gg_lpm_init(gg_lpm *r, const gg_mem *mem, size_t max) {
  memset(r, 0, sizeof(*r));
  gg_buf_init(&r->body, mem, max);
  r->max = max;
}

void gg_lpm_free(gg_lpm *r) {
  gg_buf_free(&r->body);
  r->have_len = 0;
  r->hlen = 0;
  r->delivered = 0;
}

static void restart(gg_lpm *r) {
  if (r->body.alloc > GG_LPM_KEEP)
    gg_buf_free(&r->body);
  else
    gg_buf_reset(&r->body);
  r->have_len = 0;
  r->hlen = 0;
  r->delivered = 0;
}

static int fail(gg_lpm *r, int err) {
  r->err = err;
  return err;
}

int gg_lpm_read(gg_lpm *r, const uint8_t *in, size_t len, size_t *used, const uint8_t **msg,
                size_t *mlen) {
  *used = 0;
  if (r->err) return r->err;
  if (r->delivered) restart(r);
  size_t i = 0;
  while (!r->have_len) {
    if (i == len) {
      *used = i;
      return GG_EAGAIN;
    }
    uint8_t c = in[i++];
    r->hdr[r->hlen++] = c;
    if (c & 0x80) {
      if (r->hlen == GG_VARINT_MF_MAX) {
        *used = i;
        return fail(r, GG_EPROTO); /* a tenth byte would be needed */
      }
      continue;
    }
    uint64_t v;
    if (gg_varint_decode(r->hdr, r->hlen, &v) < 0) {
      *used = i;
      return fail(r, GG_EPROTO); /* not minimal */
    }
    if (v > r->max) {
      *used = i;
      return fail(r, GG_ETOOBIG);
    }
    r->need = v;
    r->have_len = 1;
  }
  size_t want = (size_t)r->need - gg_buf_len(&r->body), avail = len - i;
  if (gg_buf_len(&r->body) == 0 && avail >= want) {
    /* The whole body is in the caller's bytes: hand it out in place. */
    *msg = in + i;
    *mlen = want;
    *used = i + want;
    r->delivered = 1;
    return GG_OK;
  }
  size_t take = avail < want ? avail : want;
  if (take && gg_buf_append(&r->body, in + i, take)) {
    *used = i;
    return fail(r, GG_ENOMEM); /* body.limit == max >= need: only allocation can fail */
  }
  *used = i + take;
  if (take < want) return GG_EAGAIN;
  *msg = gg_buf_ptr(&r->body);
  *mlen = gg_buf_len(&r->body);
  r->delivered = 1;
  return GG_OK;
}

int gg_lpm_idle(const gg_lpm *r) { return r->delivered || (!r->have_len && r->hlen == 0); }

int gg_lpm_write(gg_buf *out, const uint8_t *msg, size_t len) {
  uint8_t hdr[GG_VARINT_MAX];
  size_t n = gg_varint_encode(len, hdr);
  int rc = gg_buf_reserve(out, n + len);
  if (rc) return rc;
  gg_buf_append(out, hdr, n);
  if (len) gg_buf_append(out, msg, len);
  return GG_OK;
}
