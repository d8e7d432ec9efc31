/*
 * Fuzz target: the /ggen/fetch/1.0.0 parsers (include/ggen/fetch.h). The first byte chooses
 * the target: 0 a FetchRequest body, 1 a FetchResponse body, otherwise the receiver fed the
 * rest as a server's stream. For the receiver, the second byte chooses the chunk size and the
 * expected CID is that of the last 64 bytes of input (so the fuzzer can reach a verified
 * transfer). Invariants checked: a decoded request always names a raw sha2-256 CIDv1; the
 * receiver never hands the sink more than the announced size, reports GG_OK only when the
 * sink's bytes hash to the CID, gives the same outcome whatever the chunking, and an error is
 * sticky.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sinkbuf {
  uint8_t *p;
  size_t n, cap;
} sinkbuf;

static int sink(void *ud, const uint8_t *p, size_t n) {
  sinkbuf *s = ud;
  if (s->n + n > s->cap) abort(); /* beyond the cap the receiver promised */
  memcpy(s->p + s->n, p, n);
  s->n += n;
  return GG_OK;
}

static int run(const uint8_t *cid, const uint8_t *in, size_t len, size_t chunk, sinkbuf *out) {
  ggm_fetch_rx rx;
  ggm_fetch_rx_init(&rx, NULL, cid, 0, 1u << 20);
  int rv = GG_EAGAIN;
  size_t off = 0;
  while (off < len) {
    size_t c = chunk && chunk < len - off ? chunk : len - off;
    int r = ggm_fetch_rx_recv(&rx, in + off, c, sink, out);
    if (rv != GG_EAGAIN && rv != GG_OK && r != rv) abort(); /* sticky */
    rv = r;
    off += c;
  }
  int e = ggm_fetch_rx_eof(&rx);
  if (rv != GG_EAGAIN && rv != GG_OK && e != rv) abort();
  if (e == GG_OK) {
    if (out->n != rx.hdr.size) abort();
    uint8_t check[GGM_CID_LEN];
    ggm_pack_cid_of(out->p, out->n, check);
    if (memcmp(check, cid, GGM_CID_LEN)) abort();
  }
  ggm_fetch_rx_free(&rx);
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0];
  data++;
  size--;
  if (which == 0) {
    uint8_t cid[GGM_CID_LEN];
    if (ggm_fetch_req_decode(data, size, cid) == GG_OK &&
        (cid[0] != 1 || cid[1] != 0x55 || cid[2] != 0x12 || cid[3] != 0x20))
      abort();
    return 0;
  }
  if (which == 1) {
    ggm_fetch_hdr h;
    if (ggm_fetch_hdr_decode(data, size, &h) == GG_OK) {
      if (h.status != GGM_ST_OK && h.size) abort();
      if (strlen(h.message) > GGM_FETCH_MSG_MAX) abort();
      gg_buf b;
      gg_buf_init(&b, NULL, 4096);
      if (ggm_fetch_hdr_encode(h.status, h.size, h.message, &b) != GG_OK) abort();
      gg_buf_free(&b);
    }
    return 0;
  }
  if (size < 1) return 0;
  size_t chunk = data[0];
  data++;
  size--;
  uint8_t cid[GGM_CID_LEN];
  size_t tail = size < 64 ? size : 64;
  ggm_pack_cid_of(data + size - tail, tail, cid);
  sinkbuf a = {malloc(size + 1), 0, size}, b = {malloc(size + 1), 0, size};
  int ra = run(cid, data, size, 0, &a);
  int rb = run(cid, data, size, chunk, &b);
  if (ra != rb) abort();
  if (ra == GG_OK && (a.n != b.n || memcmp(a.p, b.p, a.n))) abort();
  free(a.p);
  free(b.p);
  return 0;
}
