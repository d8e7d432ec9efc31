/*
 * Fuzz target: multihash decoding. An accepted multihash re-encodes to the same bytes, its
 * digest lies inside the input, and hashing the input with sha2-256 truncated to a length the
 * fuzzer picks always gives a multihash that decodes.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multihash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gg_mh mh;
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 20);
  if (gg_mh_decode(data, size, &mh) == GG_OK) {
    if (mh.digest < data || mh.digest + mh.dlen != data + size || mh.size != size) abort();
    if (gg_mh_encode(mh.code, mh.digest, mh.dlen, &b) != GG_OK) abort();
    if (gg_buf_len(&b) != size || memcmp(gg_buf_ptr(&b), data, size) != 0) abort();
    gg_buf_reset(&b);
  }
  int trunc = size ? (int)(data[0] % 40) - 4 : -1; /* -4..35: some invalid on purpose */
  int rc = gg_mh_sum(GG_MH_SHA2_256, data, size, trunc, &b);
  if (rc == GG_OK) {
    if (gg_mh_decode(gg_buf_ptr(&b), gg_buf_len(&b), &mh) != GG_OK) abort();
    if (mh.dlen != (trunc < 0 ? 32u : (size_t)trunc)) abort();
  } else if (rc != GG_EINVAL || trunc <= 32) {
    abort();
  }
  gg_buf_free(&b);
  return 0;
}
