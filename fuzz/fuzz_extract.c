/*
 * Fuzz target: arbitrary bytes into the safe extractor, in both modes (tar/zstd only, and
 * every libarchive format), with small limits. Whatever the input, the extractor must either
 * succeed with the target as the only thing in the sandbox, or fail leaving the sandbox
 * empty; anything else (a file outside, a leftover temporary directory) aborts.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sandbox[256];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP || flag == FTW_D ? rmdir(p) : unlink(p);
}

static void cleanup(void) {
  if (sandbox[0]) nftw(sandbox, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of entries directly in the sandbox; *only_target says whether the single entry is
 * the target. */
static int sandbox_entries(int *only_target) {
  DIR *d = opendir(sandbox);
  if (d == NULL) abort();
  int n = 0;
  *only_target = 1;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    n++;
    if (strcmp(de->d_name, "t")) *only_target = 0;
  }
  closedir(d);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sandbox[0] == '\0') {
    const char *tmp = getenv("TMPDIR");
    snprintf(sandbox, sizeof(sandbox), "%s/ggen-fuzz-extract-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(sandbox) == NULL) abort();
    atexit(cleanup);
  }
  char target[300];
  snprintf(target, sizeof(target), "%s/t", sandbox);
  ggm_pack_limits lim = {.max_entries = 64,
                         .max_total = 1 << 20,
                         .max_file = 1 << 18,
                         .max_path = 128,
                         .max_ratio = 50};
  for (unsigned mode = 0; mode < 2; mode++) {
    ggm_extract_opts o = {.limits = &lim, .flags = mode ? GGM_EXTRACT_ANY_FORMAT : 0};
    ggm_extract_result r;
    int rv = ggm_extract_mem(data, size, target, &o, &r, NULL);
    int only;
    int n = sandbox_entries(&only);
    if (rv == GG_OK) {
      if (n != 1 || !only) abort();
      if (r.reason != GGM_XR_NONE || r.bytes > lim.max_total) abort();
      nftw(target, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    } else {
      if (n != 0) abort();
      if (rv != GG_EUNSAFE && rv != GG_EPARSE && rv != GG_EIO && rv != GG_ENOMEM) abort();
    }
  }
  return 0;
}
