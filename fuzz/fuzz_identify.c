/*
 * Fuzz target: Identify messages as they arrive on a stream. Byte 0 picks the flags (push or
 * not), whether a peer id is expected, and after how many allocations the allocator fails
 * (0 = never); the rest goes through the length-prefixed reader (capped at 8 KiB) into
 * ggp_identify_parse(). A message accepted with a key is re-encoded from its parsed fields and
 * must parse again to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/identify.h"
#include "ggen/lpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long budget; /* allocations left before failing; < 0 = unlimited */

static void *f_malloc(size_t n, void *ud) {
  (void)ud;
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n ? n : 1);
}
static void f_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *f_calloc(size_t a, size_t b, void *ud) {
  void *p = f_malloc(a * b, ud);
  if (p) memset(p, 0, a * b);
  return p;
}
static void *f_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return realloc(p, n ? n : 1);
}
static const gg_mem fmem = {NULL, f_malloc, f_free, f_calloc, f_realloc};

static void check_round_trip(const ggp_identify_msg *m) {
  gg_maddr *addrs = calloc(m->n_listen_addrs + 1, sizeof(gg_maddr));
  for (size_t i = 0; i < m->n_listen_addrs; i++)
    if (gg_maddr_from_bytes(&addrs[i], m->listen_addrs[i].b, m->listen_addrs[i].len)) abort();
  ggp_identify_info info = {.protocol_version = m->protocol_version ? m->protocol_version : "",
                            .agent_version = m->agent_version ? m->agent_version : "",
                            .pubkey_pb = m->pubkey_pb,
                            .pubkey_pb_len = m->pubkey_pb_len,
                            .listen_addrs = addrs,
                            .n_listen_addrs = m->n_listen_addrs,
                            .observed_addr = m->has_observed ? &m->observed_addr : NULL,
                            .protocols = m->protocols,
                            .n_protocols = m->n_protocols};
  gg_buf out;
  gg_buf_init(&out, NULL, 1 << 20);
  int rc = ggp_identify_encode(&info, NULL, &out);
  /* Re-encoding may only grow past the cap by the defaults we add for absent strings. */
  if (rc == GG_OK) {
    uint64_t len;
    int h = gg_varint_decode(gg_buf_ptr(&out), gg_buf_len(&out), &len);
    if (h <= 0) abort();
    ggp_identify_msg *m2;
    if (ggp_identify_parse(gg_buf_ptr(&out) + h, (size_t)len, &m->peer, 0, NULL, &m2)) abort();
    if (m2->n_listen_addrs != m->n_listen_addrs || m2->n_protocols != m->n_protocols ||
        m2->has_observed != m->has_observed || !gg_peerid_eq(&m2->peer, &m->peer))
      abort();
    for (size_t i = 0; i < m->n_protocols; i++)
      if (strcmp(m2->protocols[i], m->protocols[i])) abort();
    ggp_identify_msg_free(m2);
  } else if (rc != GG_ETOOBIG) {
    abort();
  }
  gg_buf_free(&out);
  free(addrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int flags = data[0] & 1 ? GGP_IDENTIFY_F_PUSH : 0;
  int check = data[0] & 2;
  budget = (data[0] >> 2) ? (long)(data[0] >> 2) - 1 : -1;
  static const uint8_t edpub[] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20, 0x03, 0xa1, 0x07, 0xbf,
                                  0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd, 0x18, 0xe7, 0x4b,
                                  0xc0, 0x99, 0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5, 0x0d, 0x5f,
                                  0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8};
  gg_peerid expected;
  if (gg_peerid_from_bytes(&expected, edpub, sizeof(edpub))) abort();
  gg_lpm r;
  gg_lpm_init(&r, &fmem, GGP_IDENTIFY_MAX);
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  while (len > 0) {
    size_t used, blen;
    const uint8_t *body;
    int rc = gg_lpm_read(&r, in, len, &used, &body, &blen);
    in += used;
    len -= used;
    if (rc) break;
    ggp_identify_msg *m = NULL;
    rc = ggp_identify_parse(body, blen, check ? &expected : NULL, flags, &fmem, &m);
    if (rc == GG_OK) {
      long saved = budget;
      budget = -1;
      if (m->has_peer) check_round_trip(m);
      budget = saved;
      ggp_identify_msg_free(m);
    } else if (!gg_err_is_peer(rc) && rc != GG_ENOMEM) {
      abort();
    }
  }
  gg_lpm_free(&r);
  return 0;
}
