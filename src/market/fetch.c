/*
 * /ggen/fetch/1.0.0 messages and the receiver (include/ggen/fetch.h, proto/market.proto).
 *
 * The receiver's states: HEADER (the length-prefixed FetchResponse, read with gg_lpm so a
 * header announced over its cap is refused on the prefix), BODY (raw bytes, counted and hashed
 * on their way to the sink), DONE (size reached and the digest checked), FAILED. A transfer is
 * good only in DONE; any byte after it is an error, so a peer cannot append data the caller
 * might mistake for part of the archive.
 */
#include "ggen/fetch.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/pb.h"
#include "market.pb-c.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((ggm_fetch_rx *)0)->hash_),
               "sha2-256 state does not fit in ggm_fetch_rx");

enum { RX_HEADER = 0, RX_BODY, RX_DONE, RX_FAILED };

int ggm_status_err(int status) {
  switch (status) {
  case GGM_ST_OK: return GG_OK;
  case GGM_ST_NOT_FOUND: return GG_ENOTFOUND;
  case GGM_ST_TOO_BIG:
  case GGM_ST_BUSY:
  case GGM_ST_RATE_LIMITED: return GG_ELIMIT;
  case GGM_ST_BAD_REQUEST: return GG_EINVAL;
  case GGM_ST_ERROR: return GG_EIO;
  default: return GG_EPROTO;
  }
}

const char *ggm_status_name(int status) {
  static const char *names[] = {"ok",          "not found", "too big",     "busy",
                                "bad request", "error",     "rate limited"};
  return status >= 0 && status <= GGM_ST_RATE_LIMITED ? names[status] : "?";
}

/* A raw sha2-256 CIDv1 (what the blob store and release records use). */
static int cid_ok(const uint8_t *p, size_t n) {
  return n == GGM_CID_LEN && p[0] == 0x01 && p[1] == 0x55 && p[2] == 0x12 && p[3] == 0x20;
}

/* Packs a protobuf-c message behind its varint length. */
static int put_lpm(gg_buf *out, const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t stack[GGM_FETCH_HDR_MAX + 64];
  if (n > sizeof(stack)) return GG_ETOOBIG;
  protobuf_c_message_pack(m, stack);
  return gg_lpm_write(out, stack, n);
}

int ggm_fetch_req_encode(const uint8_t cid[GGM_CID_LEN], gg_buf *out) {
  Ggen__Market__FetchRequest r = GGEN__MARKET__FETCH_REQUEST__INIT;
  r.cid.data = (uint8_t *)cid;
  r.cid.len = GGM_CID_LEN;
  return put_lpm(out, &r.base);
}

int ggm_fetch_req_decode(const uint8_t *body, size_t len, uint8_t cid[GGM_CID_LEN]) {
  if (len > GGM_FETCH_REQ_MAX) return GG_ETOOBIG;
  ProtobufCAllocator a;
  gg_pb_allocator(&a, NULL);
  Ggen__Market__FetchRequest *r = ggen__market__fetch_request__unpack(&a, len, body);
  if (!r) return GG_EPROTO;
  int rv = cid_ok(r->cid.data, r->cid.len) ? GG_OK : GG_EPROTO;
  if (rv == GG_OK) memcpy(cid, r->cid.data, GGM_CID_LEN);
  ggen__market__fetch_request__free_unpacked(r, &a);
  return rv;
}

int ggm_fetch_hdr_encode(int status, uint64_t size, const char *message, gg_buf *out) {
  if (status < GGM_ST_OK || status > GGM_ST_RATE_LIMITED) return GG_EINVAL;
  Ggen__Market__FetchResponse r = GGEN__MARKET__FETCH_RESPONSE__INIT;
  char msg[GGM_FETCH_MSG_MAX + 1] = "";
  if (message) {
    size_t n = strlen(message);
    if (n > GGM_FETCH_MSG_MAX) n = GGM_FETCH_MSG_MAX;
    memcpy(msg, message, n);
    msg[n] = 0;
  }
  r.status = (Ggen__Market__Status)status;
  r.size = status == GGM_ST_OK ? size : 0;
  r.message = msg;
  return put_lpm(out, &r.base);
}

/* Copies a peer's text for display: at most cap-1 bytes, control characters as '?'. */
static void copy_text(char *dst, size_t cap, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < cap; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  dst[i] = 0;
}

int ggm_fetch_hdr_decode(const uint8_t *body, size_t len, ggm_fetch_hdr *h) {
  if (len > GGM_FETCH_HDR_MAX) return GG_ETOOBIG;
  ProtobufCAllocator a;
  gg_pb_allocator(&a, NULL);
  Ggen__Market__FetchResponse *r = ggen__market__fetch_response__unpack(&a, len, body);
  if (!r) return GG_EPROTO;
  int st = (int)r->status, rv = GG_OK;
  if (st < GGM_ST_OK || st > GGM_ST_RATE_LIMITED || (st != GGM_ST_OK && r->size != 0))
    rv = GG_EPROTO;
  if (rv == GG_OK) {
    h->status = st;
    h->size = r->size;
    copy_text(h->message, sizeof h->message, r->message);
  }
  ggen__market__fetch_response__free_unpacked(r, &a);
  return rv;
}

/* ---- receiver ----------------------------------------------------------------------------- */

static crypto_hash_sha256_state *hstate(ggm_fetch_rx *rx) {
  return (crypto_hash_sha256_state *)(void *)rx->hash_;
}

void ggm_fetch_rx_init(ggm_fetch_rx *rx, const gg_mem *mem, const uint8_t cid[GGM_CID_LEN],
                       uint64_t expect_size, uint64_t max_size) {
  memset(rx, 0, sizeof(*rx));
  gg_lpm_init(&rx->lpm, mem, GGM_FETCH_HDR_MAX);
  memcpy(rx->cid, cid, GGM_CID_LEN);
  rx->expect = expect_size;
  rx->max = max_size ? max_size : GGM_FETCH_MAX_SIZE;
  rx->state = RX_HEADER;
  crypto_hash_sha256_init(hstate(rx));
}

void ggm_fetch_rx_free(ggm_fetch_rx *rx) { gg_lpm_free(&rx->lpm); }

static int rx_fail(ggm_fetch_rx *rx, int err) {
  rx->state = RX_FAILED;
  rx->err = err;
  return err;
}

/* The body is complete: check the digest. */
static int rx_finish(ggm_fetch_rx *rx) {
  uint8_t d[32];
  crypto_hash_sha256_final(hstate(rx), d);
  if (memcmp(d, rx->cid + 4, 32) != 0) return rx_fail(rx, GG_EINTEGRITY);
  rx->state = RX_DONE;
  return GG_OK;
}

int ggm_fetch_rx_recv(ggm_fetch_rx *rx, const uint8_t *in, size_t len, ggm_fetch_sink sink,
                      void *ud) {
  if (rx->state == RX_FAILED) return rx->err;
  if (rx->state == RX_DONE) return len ? rx_fail(rx, GG_ETOOBIG) : GG_OK;
  if (rx->state == RX_HEADER) {
    size_t used = 0;
    const uint8_t *m;
    size_t mlen;
    int rv = gg_lpm_read(&rx->lpm, in, len, &used, &m, &mlen);
    if (rv == GG_EAGAIN) return GG_EAGAIN;
    if (rv) return rx_fail(rx, rv);
    in += used;
    len -= used;
    if ((rv = ggm_fetch_hdr_decode(m, mlen, &rx->hdr))) return rx_fail(rx, rv);
    rx->have_hdr = 1;
    gg_lpm_free(&rx->lpm);
    if (rx->hdr.status != GGM_ST_OK) return rx_fail(rx, ggm_status_err(rx->hdr.status));
    if (rx->hdr.size > rx->max) return rx_fail(rx, GG_ETOOBIG);
    if (rx->expect && rx->hdr.size != rx->expect) return rx_fail(rx, GG_EINTEGRITY);
    rx->state = RX_BODY;
    if (rx->hdr.size == 0) {
      int fr = rx_finish(rx);
      if (fr) return fr;
      return len ? rx_fail(rx, GG_ETOOBIG) : GG_OK;
    }
  }
  if (len == 0) return GG_EAGAIN;
  /* only the announced size reaches the sink; what follows it is judged after the digest, so
   * the outcome does not depend on how the bytes were split */
  uint64_t left = rx->hdr.size - rx->got;
  size_t take = (uint64_t)len > left ? (size_t)left : len;
  crypto_hash_sha256_update(hstate(rx), in, take);
  int rv = sink ? sink(ud, in, take) : GG_OK;
  if (rv) return rx_fail(rx, rv);
  rx->got += take;
  if (rx->got < rx->hdr.size) return GG_EAGAIN;
  if ((rv = rx_finish(rx)) != GG_OK) return rv;
  return len > take ? rx_fail(rx, GG_ETOOBIG) : GG_OK;
}

int ggm_fetch_rx_eof(ggm_fetch_rx *rx) {
  if (rx->state == RX_DONE) return GG_OK;
  if (rx->state == RX_FAILED) return rx->err;
  return rx_fail(rx, GG_EPROTO);
}

int ggm_fetch_rx_has_header(const ggm_fetch_rx *rx) { return rx->have_hdr; }
