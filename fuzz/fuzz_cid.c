/*
 * Fuzz target: CID binary and text parsing. The first byte picks binary (even) or text (odd)
 * and a multibase for re-encoding. Anything accepted must format in its default form and in
 * the picked base, and parse back to the same CID.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/cid.h"
#include "ggen/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char text[GG_CID_STR_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char bases[] = "079fFbBcCvVtTkKzZmMuU";
  if (size < 1) return 0;
  gg_cid c, back;
  int rc = (data[0] & 1) ? gg_cid_parse(&c, (const char *)data + 1, size - 1)
                         : gg_cid_from_bytes(&c, data + 1, size - 1);
  if (rc != GG_OK) return 0;
  int n = gg_cid_to_str(&c, text, sizeof(text));
  if (n <= 0) abort();
  if (gg_cid_parse(&back, text, (size_t)n) != GG_OK || !gg_cid_eq(&back, &c)) abort();
  if (c.version == 1) {
    gg_buf b;
    gg_buf_init(&b, NULL, GG_CID_STR_MAX);
    char base = bases[(data[0] >> 1) % (sizeof(bases) - 1)];
    if (gg_cid_format(&c, base, &b) != GG_OK) abort();
    if (gg_cid_parse(&back, (const char *)gg_buf_ptr(&b), gg_buf_len(&b)) != GG_OK ||
        !gg_cid_eq(&back, &c))
      abort();
    gg_buf_free(&b);
  }
  gg_cid v1;
  gg_cid_to_v1(&c, &v1);
  gg_mh a, b2;
  gg_cid_mh(&c, &a);
  gg_cid_mh(&v1, &b2);
  if (a.code != b2.code || a.dlen != b2.dlen || memcmp(a.digest, b2.digest, a.dlen)) abort();
  return 0;
}
