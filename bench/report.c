/*
 * Benchmark report printer (bench/report.h): table + JSON via jansson.
 */
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAXCOLS 32

struct bench_row {
  char *name;
  json_t *obj; /* ordered key -> value */
};

struct bench_report {
  char *name;
  const char *json_path;
  int quick;
  bench_row **rows;
  size_t nrows;
  json_t *notes;
};

bench_report *bench_report_new(const char *name, int argc, char **argv) {
  /* every benchmark starts here: libsodium initialised first, as it asks (without it its
   * portable ChaCha20, 3x slower here, would be measured) */
  if (sodium_init() < 0) {
    fprintf(stderr, "bench: cannot initialise libsodium\n");
    exit(1);
  }
  bench_report *r = calloc(1, sizeof(*r));
  r->name = strdup(name);
  r->notes = json_array();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json") && i + 1 < argc) r->json_path = argv[++i];
    else if (!strcmp(argv[i], "--quick")) r->quick = 1;
  }
  if (getenv("GGEN_BENCH_QUICK")) r->quick = 1;
  return r;
}

int bench_quick(const bench_report *r) { return r->quick; }

bench_row *bench_row_add(bench_report *r, const char *name) {
  bench_row *row = calloc(1, sizeof(*row));
  row->name = strdup(name);
  row->obj = json_object();
  r->rows = realloc(r->rows, (r->nrows + 1) * sizeof(*r->rows));
  r->rows[r->nrows++] = row;
  return row;
}

void bench_row_num(bench_row *row, const char *key, double v) {
  json_object_set_new(row->obj, key, isfinite(v) ? json_real(v) : json_null());
}

void bench_row_str(bench_row *row, const char *key, const char *v) {
  json_object_set_new(row->obj, key, json_string(v));
}

void bench_note(bench_report *r, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  json_array_append_new(r->notes, json_string(buf));
}

static void cpu_model(char *out, size_t cap) {
  snprintf(out, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "model name", 10)) {
      char *c = strchr(line, ':');
      if (c) {
        c += 2;
        c[strcspn(c, "\n")] = 0;
        snprintf(out, cap, "%s", c);
      }
      break;
    }
  }
  fclose(f);
}

static void fmt_val(json_t *v, char *out, size_t cap) {
  if (json_is_string(v)) snprintf(out, cap, "%s", json_string_value(v));
  else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (fabs(d) >= 100 || d == floor(d)) snprintf(out, cap, "%.0f", d);
    else if (fabs(d) >= 1) snprintf(out, cap, "%.2f", d);
    else snprintf(out, cap, "%.4g", d);
  } else snprintf(out, cap, "-");
}

int bench_report_finish(bench_report *r) {
  /* columns: union of keys in first-seen order */
  const char *cols[MAXCOLS];
  size_t ncols = 0;
  for (size_t i = 0; i < r->nrows; i++) {
    const char *k;
    json_t *v;
    json_object_foreach(r->rows[i]->obj, k, v) {
      size_t j;
      for (j = 0; j < ncols; j++)
        if (!strcmp(cols[j], k)) break;
      if (j == ncols && ncols < MAXCOLS) cols[ncols++] = k;
    }
  }
  size_t w0 = 4;
  for (size_t i = 0; i < r->nrows; i++)
    if (strlen(r->rows[i]->name) > w0) w0 = strlen(r->rows[i]->name);
  size_t wc[MAXCOLS];
  for (size_t j = 0; j < ncols; j++) {
    wc[j] = strlen(cols[j]);
    for (size_t i = 0; i < r->nrows; i++) {
      char b[128];
      fmt_val(json_object_get(r->rows[i]->obj, cols[j]), b, sizeof(b));
      if (strlen(b) > wc[j]) wc[j] = strlen(b);
    }
  }
  char cpu[256];
  cpu_model(cpu, sizeof(cpu));
  struct utsname u;
  uname(&u);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  printf("# %s  (%s, %ld cores, %s %s)%s\n", r->name, cpu, ncpu, u.sysname, u.release,
         r->quick ? "  [quick configuration]" : "");
  printf("%-*s", (int)w0, "case");
  for (size_t j = 0; j < ncols; j++) printf("  %*s", (int)wc[j], cols[j]);
  printf("\n");
  for (size_t i = 0; i < r->nrows; i++) {
    printf("%-*s", (int)w0, r->rows[i]->name);
    for (size_t j = 0; j < ncols; j++) {
      char b[128];
      fmt_val(json_object_get(r->rows[i]->obj, cols[j]), b, sizeof(b));
      printf("  %*s", (int)wc[j], b);
    }
    printf("\n");
  }
  size_t k;
  json_t *n;
  json_array_foreach(r->notes, k, n) printf("note: %s\n", json_string_value(n));

  json_t *root = json_object();
  json_object_set_new(root, "benchmark", json_string(r->name));
  json_object_set_new(root, "machine", json_pack("{s:s,s:i,s:s}", "cpu", cpu, "cores", (int)ncpu,
                                                 "kernel", u.release));
  json_object_set_new(root, "quick", json_boolean(r->quick));
  json_t *rows = json_array();
  for (size_t i = 0; i < r->nrows; i++) {
    json_object_set_new(r->rows[i]->obj, "case", json_string(r->rows[i]->name));
    json_array_append(rows, r->rows[i]->obj);
  }
  json_object_set_new(root, "rows", rows);
  json_object_set(root, "notes", r->notes);
  char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  if (r->json_path) {
    FILE *f = fopen(r->json_path, "w");
    if (f) {
      fprintf(f, "%s\n", s);
      fclose(f);
    }
  } else {
    printf("%s\n", s);
  }
  free(s);
  json_decref(root);
  for (size_t i = 0; i < r->nrows; i++) {
    json_decref(r->rows[i]->obj);
    free(r->rows[i]->name);
    free(r->rows[i]);
  }
  free(r->rows);
  json_decref(r->notes);
  free(r->name);
  free(r);
  fflush(stdout);
  return 0;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p) {
  if (n == 0) return NAN;
  qsort(v, n, sizeof(*v), cmpd);
  double rank = p / 100.0 * (double)(n - 1);
  size_t lo = (size_t)rank;
  size_t hi = lo + 1 < n ? lo + 1 : lo;
  double frac = rank - (double)lo;
  return v[lo] + (v[hi] - v[lo]) * frac;
}

double bench_median(double *v, size_t n) { return bench_percentile(v, n, 50); }
