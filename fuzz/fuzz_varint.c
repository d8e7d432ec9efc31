/*
 * Fuzz target: unsigned varint decoding (both flavours) must never read out of bounds and a
 * decoded value must re-encode to the same bytes when the multiformats rules accepted it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t v;
  int n = gg_varint_decode(data, size, &v);
  if (n > 0) {
    uint8_t b[GG_VARINT_MAX];
    size_t m = gg_varint_encode(v, b);
    if (m != (size_t)n || memcmp(b, data, m) != 0) abort();
  }
  (void)gg_varint_decode_u64(data, size, &v);
  return 0;
}
