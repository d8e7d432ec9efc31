/*
 * Fuzz target: multibase decoding of arbitrary text; whatever decodes must re-encode and
 * decode to the same bytes with the same base.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multibase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gg_buf d, e, d2;
  gg_buf_init(&d, NULL, 1 << 16);
  gg_buf_init(&e, NULL, 1 << 20);
  gg_buf_init(&d2, NULL, 1 << 16);
  char prefix;
  if (gg_multibase_decode((const char *)data, size, &d, &prefix) == GG_OK) {
    if (gg_multibase_encode(prefix, gg_buf_ptr(&d), gg_buf_len(&d), &e) == GG_OK) {
      if (gg_multibase_decode((const char *)gg_buf_ptr(&e), gg_buf_len(&e), &d2, NULL) != GG_OK)
        abort();
      if (gg_buf_len(&d2) != gg_buf_len(&d) ||
          (gg_buf_len(&d) && memcmp(gg_buf_ptr(&d2), gg_buf_ptr(&d), gg_buf_len(&d))))
        abort();
    }
  }
  gg_buf_free(&d);
  gg_buf_free(&e);
  gg_buf_free(&d2);
  return 0;
}
