/*
 * Fuzz target: multiaddr binary and text parsers and everything built on them. The first byte
 * picks the reading: even = binary, odd = text. What is accepted must format, and the text must
 * parse back to the same bytes (binary with a unix path before other components is the one
 * exception: a path takes the rest of the text, so that text means something else).
 * The structural helpers run on every accepted address.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char text[GG_MADDR_STR_MAX], text2[GG_MADDR_STR_MAX];

static int unix_not_last(const gg_maddr *ma) {
  size_t pos = 0;
  gg_maddr_comp c;
  int seen = 0;
  while (gg_maddr_next(ma->b, ma->len, &pos, &c) == 1) {
    if (seen) return 1;
    if (c.code == GG_MA_UNIX) seen = 1;
  }
  return 0;
}

static void exercise(const gg_maddr *ma) {
  int n = gg_maddr_to_str(ma, text, sizeof(text));
  if (n <= 0) abort(); /* a valid multiaddr always formats, and GG_MADDR_STR_MAX is enough */
  gg_maddr back;
  if (!unix_not_last(ma)) {
    if (gg_maddr_parse(&back, text, (size_t)n) != GG_OK || !gg_maddr_eq(&back, ma)) abort();
  }
  gg_maddr_dial d;
  int rc = gg_maddr_dial_info(ma, &d);
  if (rc != GG_OK && rc != GG_EUNSUPPORTED) abort();
  gg_maddr t = *ma;
  gg_peerid p;
  if (gg_maddr_split_peer(ma, &t, &p) == GG_OK && gg_maddr_push_peer(&t, &p) != GG_OK) abort();
  if (!gg_maddr_eq(&t, ma)) abort();
  gg_maddr last = *ma;
  if (gg_maddr_decap_code(&last, GG_MA_TCP) == GG_OK && last.len > 0 &&
      gg_maddr_validate(last.b, last.len) != GG_OK)
    abort();
  gg_maddr self = *ma;
  if (gg_maddr_decap(&self, ma) != GG_OK || self.len != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  gg_maddr ma;
  if ((data[0] & 1) == 0) {
    if (gg_maddr_from_bytes(&ma, p, n) == GG_OK) exercise(&ma);
  } else if (gg_maddr_parse(&ma, (const char *)p, n) == GG_OK) {
    exercise(&ma);
    /* canonical text is a fixed point */
    int a = gg_maddr_to_str(&ma, text, sizeof(text));
    gg_maddr again;
    if (gg_maddr_parse(&again, text, (size_t)a) != GG_OK) abort();
    int b = gg_maddr_to_str(&again, text2, sizeof(text2));
    if (a != b || memcmp(text, text2, (size_t)a) != 0) abort();
  }
  return 0;
}
