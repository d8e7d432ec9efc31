/*
 * Benchmark report printer (bench/report.h): command-line check and usage, table + JSON via
 * jansson.
 */
#include "report.h"

#include <errno.h>
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

/* The options every benchmark has (parsed here). */
static const bench_opt common_opts[] = {
    {"--quick", NULL, "the small configuration (CI); also when GGEN_BENCH_QUICK is set"},
    {"--json", "FILE", "write the JSON report to FILE (default: print it after the table)"},
    {"-h, --help", NULL, "print this help and exit"},
    {0}};

static size_t opt_width(const bench_opt *o) {
  return strlen(o->name) + (o->arg ? 1 + strlen(o->arg) : 0);
}

static void print_opts(const bench_opt *opts, size_t col) {
  for (const bench_opt *o = opts; o && o->name; o++) {
    printf("  %s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    size_t w = opt_width(o);
    /* a name too long for the column gets its help on the next line */
    if (w + 2 > col)
      printf("\n%*s", (int)(col + 2), "");
    else
      printf("%*s", (int)(col - w), "");
    printf("%s\n", o->help ? o->help : "");
  }
}

static void usage_print(const char *name, const bench_usage *u) {
  size_t col = 0;
  for (const bench_opt *o = common_opts; o->name; o++)
    if (opt_width(o) > col) col = opt_width(o);
  for (const bench_opt *o = u ? u->opts : NULL; o && o->name; o++)
    if (opt_width(o) > col && opt_width(o) <= 24) col = opt_width(o);
  col += 2;
  printf("usage: bench_%s [options]\n", name);
  if (u && u->purpose) printf("%s\n", u->purpose);
  printf("\noptions:\n");
  print_opts(common_opts, col);
  if (u) print_opts(u->opts, col);
  if (u && u->more) printf("\n%s\n", u->more);
}

/* A bad command line: said on stderr, exit 2 before anything runs. */
static void usage_fail(const char *name, const char *fmt, const char *what) {
  fprintf(stderr, "bench_%s: ", name);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'bench_%s --help' for the options.\n", name);
  exit(2);
}

static const bench_opt *opt_find(const bench_opt *opts, const char *a) {
  for (const bench_opt *o = opts; o && o->name; o++)
    if (!strcmp(o->name, a)) return o;
  return NULL;
}

bench_report *bench_report_new(const char *name, const bench_usage *usage, int argc, char **argv) {
  const char *json_path = NULL;
  int quick = 0;
  /* the whole command line is checked first: an unknown option must not fall through to the
   * full configuration, which can run for half an hour */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage_print(name, usage);
      exit(0);
    }
    const bench_opt *o = opt_find(common_opts, a);
    if (!o) o = opt_find(usage ? usage->opts : NULL, a);
    if (!o) usage_fail(name, a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
    if (!o->arg) {
      if (!strcmp(a, "--quick")) quick = 1;
      continue;
    }
    /* "--json --quick" is a forgotten argument, not a file named --quick */
    if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
      usage_fail(name, "option '%s' needs an argument", a);
    if (!strcmp(a, "--json")) json_path = argv[i + 1];
    i++;
  }
  /* every benchmark starts here: libsodium initialised first, as it asks (without it its
   * portable ChaCha20, 3x slower here, would be measured) */
  if (sodium_init() < 0) {
    fprintf(stderr, "bench: cannot initialise libsodium\n");
    exit(1);
  }
  bench_report *r = calloc(1, sizeof(*r));
  r->name = strdup(name);
  r->notes = json_array();
  r->json_path = json_path;
  r->quick = quick || getenv("GGEN_BENCH_QUICK") != NULL;
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
    } else {
      fprintf(stderr, "bench_%s: cannot write %s: %s\n", r->name, r->json_path, strerror(errno));
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
