/*
 * Fuzz target: package manifests (src/market/manifest.c).
 *
 * Byte 0 bit 0 selects GGM_MANIFEST_STRICT; the rest is the file. Checks: no crash or
 * sanitizer report; a failure leaves the struct zeroed with a positioned message; a loaded
 * manifest has a valid id and version, and its canonical form loads strictly (TOML 1.0, no
 * warnings) and writes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0] & 1 ? GGM_MANIFEST_STRICT : 0;
  ggm_manifest m;
  ggm_toml_error err;
  int rc = ggm_manifest_parse(&m, "f.toml", data + 1, size - 1, flags, NULL, &err);
  if (rc != GG_OK) {
    if (m.id || m.doc || m.priv_) abort();
    if (rc == GG_EPARSE && strncmp(err.msg, "f.toml:", 7)) abort();
    return 0;
  }
  if (ggm_manifest_check_id(m.id, strlen(m.id)) ||
      ggm_manifest_check_version(m.version, strlen(m.version)) || !m.name)
    abort();
  gg_buf a, b;
  gg_buf_init(&a, NULL, 16 << 20);
  gg_buf_init(&b, NULL, 16 << 20);
  if (ggm_manifest_write(&m, &a) != GG_OK) abort();
  ggm_manifest back;
  ggm_toml_error e2;
  if (ggm_manifest_parse(&back, "c.toml", gg_buf_ptr(&a), gg_buf_len(&a), GGM_MANIFEST_STRICT, NULL,
                         &e2) != GG_OK ||
      e2.nwarnings)
    abort();
  if (strcmp(back.id, m.id) || strcmp(back.version, m.version) || back.n_deps != m.n_deps ||
      back.n_tags != m.n_tags || back.n_authors != m.n_authors)
    abort();
  if (ggm_manifest_write(&back, &b) != GG_OK || gg_buf_len(&a) != gg_buf_len(&b) ||
      memcmp(gg_buf_ptr(&a), gg_buf_ptr(&b), gg_buf_len(&a)))
    abort();
  ggm_manifest_free(&back);
  ggm_manifest_free(&m);
  gg_buf_free(&a);
  gg_buf_free(&b);
  return 0;
}
