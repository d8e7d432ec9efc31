/*
 * Test helpers (tests/support/gg_test.h).
 */
#include "gg_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fm_should_fail(gg_failmem *fm) {
  return fm->fail_after >= 0 && fm->nallocs >= fm->fail_after;
}

static void *fm_malloc(size_t n, void *ud) {
  gg_failmem *fm = ud;
  if (fm_should_fail(fm)) return NULL;
  fm->nallocs++;
  void *p = malloc(n);
  if (p) fm->live++;
  return p;
}

static void fm_free(void *p, void *ud) {
  gg_failmem *fm = ud;
  if (p) fm->live--;
  free(p);
}

static void *fm_calloc(size_t n, size_t s, void *ud) {
  gg_failmem *fm = ud;
  if (fm_should_fail(fm)) return NULL;
  fm->nallocs++;
  void *p = calloc(n, s);
  if (p) fm->live++;
  return p;
}

static void *fm_realloc(void *p, size_t n, void *ud) {
  gg_failmem *fm = ud;
  if (fm_should_fail(fm)) return NULL;
  fm->nallocs++;
  void *q = realloc(p, n);
  if (q && !p) fm->live++;
  return q;
}

void gg_failmem_init(gg_failmem *fm, long fail_after) {
  fm->mem.ud = fm;
  fm->mem.malloc = fm_malloc;
  fm->mem.free = fm_free;
  fm->mem.calloc = fm_calloc;
  fm->mem.realloc = fm_realloc;
  fm->fail_after = fail_after;
  fm->nallocs = 0;
  fm->live = 0;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

char *gg_test_data_path(const char *rel) {
  const char *dirs[3];
  int nd = 0;
  dirs[nd++] = GGEN_SOURCE_DIR "/tests/data";
  const char *env = getenv("GGEN_SHARED_DIR");
  dirs[nd++] = env ? env : GGEN_SHARED_DIR;
  for (int i = 0; i < nd; i++) {
    char *base = i == 0 ? strdup(dirs[i]) : join(dirs[i], "test-data");
    char *p = join(base, rel);
    free(base);
    if (access(p, R_OK) == 0) return p;
    free(p);
  }
  return NULL;
}

char *gg_test_require_data(const char *rel) {
  char *p = gg_test_data_path(rel);
  if (!p) {
    print_message("test data %s not found: skipped\n", rel);
    skip();
  }
  return p;
}

char *gg_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  buf[got] = 0;
  if (len) *len = got;
  return buf;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint8_t *gg_test_unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex);
  if (n % 2) return NULL;
  uint8_t *out = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
    if (h < 0 || l < 0) {
      free(out);
      return NULL;
    }
    out[i] = (uint8_t)(h << 4 | l);
  }
  *len = n / 2;
  return out;
}

char *gg_test_hex(const uint8_t *p, size_t len) {
  static const char d[] = "0123456789abcdef";
  char *s = malloc(2 * len + 1);
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  s[2 * len] = 0;
  return s;
}

char *gg_test_mkdtemp(void) {
  const char *t = getenv("TMPDIR");
  char *tmpl = join(t ? t : "/tmp", "ggen-test-XXXXXX");
  if (!mkdtemp(tmpl)) {
    free(tmpl);
    return NULL;
  }
  return tmpl;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  return remove(p);
}

void gg_test_rmtree(const char *path) { nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }
