/*
 * Fuzz target: ggen.lock reading and writing (src/market/lockfile.c).
 *
 * The input is the file. Checks: no crash or sanitizer report; a failure leaves the struct
 * zeroed with a positioned message; a loaded lock has valid, unique, sorted ids, survives the
 * consistency check, writes out, loads back with the same packs, and writes back to the same
 * bytes (the writer is deterministic and its output is a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/lockfile.h"
#include "ggen/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ggm_lock l;
  ggm_toml_error err;
  int rc = ggm_lock_parse(&l, "f.lock", data, size, NULL, &err);
  if (rc != GG_OK) {
    if (l.packs || l.priv_ || l.n_packs) abort();
    if (rc == GG_EPARSE && strncmp(err.msg, "f.lock:", 7)) abort();
    return 0;
  }
  for (size_t i = 0; i < l.n_packs; i++) {
    if (ggm_manifest_check_id(l.packs[i].id, strlen(l.packs[i].id))) abort();
    if (i && strcmp(l.packs[i - 1].id, l.packs[i].id) >= 0) abort();
    if (ggm_lock_find(&l, l.packs[i].id) != &l.packs[i]) abort();
  }
  char why[256];
  (void)ggm_lock_check(&l, why, sizeof why);
  gg_buf a, b;
  gg_buf_init(&a, NULL, 64 << 20);
  gg_buf_init(&b, NULL, 64 << 20);
  if (ggm_lock_write(&l, &a) != GG_OK) abort();
  ggm_lock back;
  if (ggm_lock_parse(&back, "w.lock", gg_buf_ptr(&a), gg_buf_len(&a), NULL, &err) != GG_OK) abort();
  if (back.n_packs != l.n_packs) abort();
  for (size_t i = 0; i < l.n_packs; i++)
    if (strcmp(back.packs[i].id, l.packs[i].id) ||
        strcmp(back.packs[i].version, l.packs[i].version) ||
        back.packs[i].n_deps != l.packs[i].n_deps || !back.packs[i].cid != !l.packs[i].cid)
      abort();
  if (ggm_lock_write(&back, &b) != GG_OK || gg_buf_len(&a) != gg_buf_len(&b) ||
      memcmp(gg_buf_ptr(&a), gg_buf_ptr(&b), gg_buf_len(&a)))
    abort();
  ggm_lock_free(&back);
  ggm_lock_free(&l);
  gg_buf_free(&a);
  gg_buf_free(&b);
  return 0;
}
