/*
 * Synthetic catalog generator (include/ggen/synth.h).
 *
 * Vocabulary: HEAD real words first (Zipf ranks 0..), then generated words made of
 * consonant-vowel syllables, unique, 4..12 letters, none of them a HEAD word. Each package
 * draws from its own xoshiro stream seeded by splitmix(seed ^ i), so package i does not
 * depend on the others. Descriptions take 8..20 Zipf(s) words, so with s = 1 and 20000
 * words the rank-0 word is in ~70% of descriptions and the rank-3 word in about a third.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/rand.h"
#include "ggen/synth.h"

static const char *const HEAD[] = {
    "data", "tool", "library", "fast", "simple", "api", "web", "rust", "cli", "server",
    "client", "json", "config", "template", "generator", "async", "http", "test", "parser",
    "database", "search", "framework", "plugin", "graph", "query", "schema", "service",
    "stream", "cache", "logging", "auth", "crypto", "network", "file", "build", "deploy",
    "docker", "cloud", "python", "typescript", "react", "model", "sparql", "rdf", "ontology",
    "workflow", "pipeline", "metrics", "monitoring", "security", "storage", "queue", "event",
    "message", "protocol", "compiler", "runtime", "memory", "thread", "terminal", "command",
    "format", "encoding", "validation", "testing", "mock", "benchmark", "profiler", "debug",
    "editor", "markdown", "documentation", "static", "site", "image", "video", "audio",
    "machine", "learning", "neural", "agent", "llm", "embedding", "vector", "index", "sql",
    "postgres", "sqlite", "redis", "kafka", "grpc", "rest", "graphql", "openapi", "microservice",
    "kubernetes", "terraform", "ansible", "linux", "windows", "macos", "mobile", "android",
    "ios", "desktop", "gui", "widget", "layout", "theme", "style", "color", "font", "icon",
    "animation", "game", "engine", "physics", "render", "shader", "math", "matrix", "geometry",
    "finance", "payment", "invoice", "healthcare", "patient", "ecommerce", "cart", "order",
    "inventory", "shipping", "email", "notification", "chat", "social", "user", "account",
    "session", "token", "oauth", "permission", "role", "audit", "compliance", "report",
    "dashboard", "chart", "table", "export", "import", "migration", "backup", "sync",
    "scheduler", "cron", "job", "worker", "task", "retry", "timeout", "rate", "limiter",
    "proxy", "gateway", "router", "middleware", "handler", "request", "response", "header",
    "cookie", "websocket", "socket", "tcp", "udp", "dns", "tls", "certificate", "key",
    "signature", "hash", "compression", "archive", "zip", "tar", "serialization", "binary",
    "text", "string", "regex", "unicode", "locale", "time", "date", "calendar", "geo", "map",
    "location", "sensor", "iot", "embedded", "firmware", "hardware", "driver", "kernel",
    "shell", "script", "automation", "bot", "scraper", "crawler", "feed", "rss", "blog", "cms",
    "wiki", "forum", "comment", "review", "rating", "recommendation", "analytics", "tracking",
    "experiment", "feature", "flag", "release", "version", "package", "dependency", "module",
    "component", "macro", "derive", "trait", "generic", "type", "interface", "pattern",
    "architecture", "enterprise", "starter", "boilerplate", "scaffold", "example", "demo",
    "tutorial", "utility", "helper", "wrapper", "binding", "sdk", "adapter", "connector",
    "integration", "extension", "lint", "formatter", "checker", "analyzer", "optimizer",
    "minifier", "bundler", "loader", "resolver", "registry", "marketplace", "catalog",
    "lifecycle", "governance", "policy", "quality", "observability", "tracing", "telemetry"};
#define NHEAD (sizeof(HEAD) / sizeof(HEAD[0]))

static const char *const CATEGORIES[] = {
    "web", "cli", "database", "ai", "devops", "security", "testing", "data", "finance",
    "healthcare", "ecommerce", "templates", "api", "microservices", "enterprise", "mobile",
    "games", "embedded", "networking", "documentation", "monitoring", "messaging", "graphics",
    "science", "education", "productivity", "starter", "architecture", "quality", "utilities"};
#define NCAT (sizeof(CATEGORIES) / sizeof(CATEGORIES[0]))

static const char *const LICENSES[] = {"MIT", "MIT", "MIT", "MIT", "Apache-2.0", "Apache-2.0",
                                       "BSD-3-Clause", "GPL-3.0", "MPL-2.0", "ISC"};

#define MAX_DESC 20

struct ggm_synth {
  const gg_mem *mem;
  ggm_synth_settings s;
  char **words;     /* vocab words */
  char *wordmem;
  double *cdf;      /* Zipf(s) over the vocabulary */
  double *tagcdf;   /* Zipf(1.1) over the head (tags) */
  double *authcdf;  /* Zipf(0.8) over authors */
  double *catcdf;   /* Zipf(0.9) over categories */
  size_t nauthors;
  size_t avg_desc;
  /* the current package's strings */
  char id[96], version[32], desc[MAX_DESC * 16], author[32];
  char depids[4][96];
};

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double *zipf_cdf(const gg_mem *mem, size_t n, double s) {
  double *c = gg_malloc(mem, n * sizeof(*c));
  if (c == NULL) return NULL;
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += 1.0 / pow((double)(i + 1), s);
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    acc += 1.0 / pow((double)(i + 1), s) / sum;
    c[i] = acc;
  }
  c[n - 1] = 1.0;
  return c;
}

static size_t draw(const double *cdf, size_t n, const gg_rand *r) {
  double u = (double)(gg_rand_u64(r) >> 11) / 9007199254740992.0;
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cdf[mid] < u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int is_head(const char *w) {
  for (size_t i = 0; i < NHEAD; i++)
    if (!strcmp(HEAD[i], w)) return 1;
  return 0;
}

/* Generated word k: syllables from a hash of (seed, k); unique by appending syllables. */
static void gen_word(uint64_t seed, size_t k, char *out, size_t cap) {
  static const char cons[] = "bcdfghjklmnprstvz", vow[] = "aeiou";
  uint64_t x = seed ^ (0xA5A5A5A5ull + k * 0x100000001B3ull);
  size_t syl = 2 + splitmix(&x) % 4, o = 0;
  for (size_t i = 0; i < syl && o + 3 < cap; i++) {
    out[o++] = cons[splitmix(&x) % (sizeof(cons) - 1)];
    out[o++] = vow[splitmix(&x) % (sizeof(vow) - 1)];
  }
  out[o] = '\0';
}

int ggm_synth_new(ggm_synth **out, const ggm_synth_settings *s, const gg_mem *mem) {
  if (out == NULL || s == NULL || s->packages == 0) return GG_EINVAL;
  ggm_synth *g = gg_calloc(mem, 1, sizeof(*g));
  if (g == NULL) return GG_ENOMEM;
  g->mem = mem;
  g->s = *s;
  if (g->s.vocab == 0) g->s.vocab = 20000;
  if (g->s.vocab < NHEAD) g->s.vocab = NHEAD;
  if (g->s.zipf_s <= 0) g->s.zipf_s = 1.0;
  size_t v = g->s.vocab;
  g->words = gg_calloc(mem, v, sizeof(*g->words));
  g->wordmem = gg_malloc(mem, v * 16);
  g->cdf = zipf_cdf(mem, v, g->s.zipf_s);
  g->tagcdf = zipf_cdf(mem, NHEAD, 1.1);
  g->nauthors = s->packages / 20 + 10;
  g->authcdf = zipf_cdf(mem, g->nauthors, 0.8);
  g->catcdf = zipf_cdf(mem, NCAT, 0.9);
  if (!g->words || !g->wordmem || !g->cdf || !g->tagcdf || !g->authcdf || !g->catcdf) {
    ggm_synth_del(g);
    return GG_ENOMEM;
  }
  /* the generated tail must not repeat a word: check against a small hash set */
  size_t hcap = 1;
  while (hcap < 2 * v) hcap <<= 1;
  char **set = gg_calloc(mem, hcap, sizeof(*set));
  if (set == NULL) {
    ggm_synth_del(g);
    return GG_ENOMEM;
  }
  char *wm = g->wordmem;
  size_t k = 0;
  for (size_t i = 0; i < v; i++) {
    char w[16];
    if (i < NHEAD) {
      snprintf(w, sizeof(w), "%s", HEAD[i]);
    } else {
      for (;;) {
        gen_word(g->s.seed, k++, w, sizeof(w));
        if (is_head(w)) continue;
        uint64_t h = 1469598103934665603ull;
        for (const char *p = w; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
        size_t j = h & (hcap - 1);
        while (set[j] && strcmp(set[j], w)) j = (j + 1) & (hcap - 1);
        if (set[j] == NULL) break;
      }
    }
    size_t n = strlen(w);
    memcpy(wm, w, n + 1);
    g->words[i] = wm;
    if (i >= NHEAD) {
      uint64_t h = 1469598103934665603ull;
      for (const char *p = wm; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
      size_t j = h & (hcap - 1);
      while (set[j]) j = (j + 1) & (hcap - 1);
      set[j] = wm;
    }
    wm += n + 1;
  }
  gg_free(mem, set);
  g->avg_desc = (8 + MAX_DESC) / 2;
  *out = g;
  return GG_OK;
}

void ggm_synth_del(ggm_synth *g) {
  if (g == NULL) return;
  gg_free(g->mem, g->words);
  gg_free(g->mem, g->wordmem);
  gg_free(g->mem, g->cdf);
  gg_free(g->mem, g->tagcdf);
  gg_free(g->mem, g->authcdf);
  gg_free(g->mem, g->catcdf);
  gg_free(g->mem, g);
}

const char *ggm_synth_word(const ggm_synth *g, size_t r) {
  return r < g->s.vocab ? g->words[r] : NULL;
}

double ggm_synth_word_share(const ggm_synth *g, size_t r) {
  if (r >= g->s.vocab) return 0.0;
  double p = g->cdf[r] - (r ? g->cdf[r - 1] : 0.0);
  return 1.0 - pow(1.0 - p, (double)g->avg_desc);
}

static void author_of(ggm_synth *g, size_t a, char *out, size_t cap) {
  uint64_t x = g->s.seed ^ (0xC0FFEEull + a * 7919);
  snprintf(out, cap, "%s%u", g->words[NHEAD + splitmix(&x) % (g->s.vocab - NHEAD)],
           (unsigned)(a % 1000));
}

/* The id of package i (depends only on seed and i). */
static void id_of(ggm_synth *g, size_t i, char *out, size_t cap, size_t *author_idx) {
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, g->s.seed * 0x9E3779B97F4A7C15ull + i);
  size_t a = draw(g->authcdf, g->nauthors, &r.r);
  /* name words are spread over the whole vocabulary, not Zipf-heavy */
  const char *w1 = g->words[draw(g->cdf, g->s.vocab, &r.r) % g->s.vocab];
  const char *w2 = g->words[gg_rand_below(&r.r, g->s.vocab)];
  char au[32];
  author_of(g, a, au, sizeof(au));
  snprintf(out, cap, "%s-%s-%s", w1, w2, au);
  if (author_idx) *author_idx = a;
}

void ggm_synth_package(ggm_synth *g, size_t i, ggm_synth_pkg *p) {
  memset(p, 0, sizeof(*p));
  size_t a;
  id_of(g, i, g->id, sizeof(g->id), &a);
  author_of(g, a, g->author, sizeof(g->author));
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, (g->s.seed ^ 0x5DEECE66Dull) * 31 + i);
  const gg_rand *rr = &r.r;
  size_t nd = 8 + gg_rand_below(rr, MAX_DESC - 8 + 1), o = 0;
  for (size_t k = 0; k < nd; k++) {
    const char *w = g->words[draw(g->cdf, g->s.vocab, rr)];
    size_t n = strlen(w);
    if (o + n + 2 >= sizeof(g->desc)) break;
    if (k) g->desc[o++] = ' ';
    memcpy(g->desc + o, w, n);
    o += n;
  }
  g->desc[o] = '\0';
  /* tags and keywords are sets, as in real manifests: redraw a repeated one */
  size_t want = 1 + gg_rand_below(rr, 5);
  for (int tries = 0; p->n_tags < want && tries < 32; tries++) {
    const char *t = HEAD[draw(g->tagcdf, NHEAD, rr)];
    size_t k = 0;
    while (k < p->n_tags && p->tags[k] != t) k++;
    if (k == p->n_tags) p->tags[p->n_tags++] = t;
  }
  want = 1 + gg_rand_below(rr, 5);
  for (int tries = 0; p->n_keywords < want && tries < 32; tries++) {
    const char *w = g->words[draw(g->cdf, g->s.vocab, rr)];
    size_t k = 0;
    while (k < p->n_keywords && p->keywords[k] != w) k++;
    if (k == p->n_keywords) p->keywords[p->n_keywords++] = w;
  }
  p->category = CATEGORIES[draw(g->catcdf, NCAT, rr)];
  p->license = LICENSES[gg_rand_below(rr, sizeof(LICENSES) / sizeof(LICENSES[0]))];
  /* heavy tail: P(downloads > t) ~ t^-0.6, capped */
  double u = ((double)(gg_rand_u64(rr) >> 11) + 1.0) / 9007199254740993.0;
  double dl = exp(-log(u) * 1.6) - 1.0;
  if (dl > 5e7) dl = 5e7;
  p->downloads = (uint64_t)dl;
  p->stars = p->downloads / (50 + gg_rand_below(rr, 450)) + gg_rand_below(rr, 3);
  snprintf(g->version, sizeof(g->version), "%u.%u.%u", (unsigned)gg_rand_below(rr, 4),
           (unsigned)gg_rand_below(rr, 20), (unsigned)gg_rand_below(rr, 10));
  p->n_deps = i > 0 ? gg_rand_below(rr, 4) : 0;
  for (size_t k = 0; k < p->n_deps; k++) {
    size_t j = gg_rand_below(rr, i);
    id_of(g, j, g->depids[k], sizeof(g->depids[k]), NULL);
    p->deps[k] = g->depids[k];
  }
  p->id = g->id;
  p->version = g->version;
  p->description = g->desc;
  p->author = g->author;
}

/* Generated strings are [a-z0-9 .-] only: no JSON escaping is needed, but be safe. */
static int jstr(gg_buf *b, const char *s) {
  int err = gg_buf_append_byte(b, '"');
  for (; *s && !err; s++) {
    if (*s == '"' || *s == '\\') err = gg_buf_append_byte(b, '\\');
    if (!err) err = gg_buf_append_byte(b, (uint8_t)*s);
  }
  return err ? err : gg_buf_append_byte(b, '"');
}

static int jlist(gg_buf *b, const char *const *l, size_t n) {
  int err = gg_buf_append_byte(b, '[');
  for (size_t i = 0; i < n && !err; i++) {
    if (i) err = gg_buf_append_byte(b, ',');
    if (!err) err = jstr(b, l[i]);
  }
  return err ? err : gg_buf_append_byte(b, ']');
}

int ggm_synth_json(ggm_synth *g, size_t first, size_t count, gg_buf *out) {
  char tmp[160];
  snprintf(tmp, sizeof(tmp),
           "{\"version\":\"1.0.0\",\"updated_at\":\"2026-01-01T00:00:00Z\","
           "\"package_count\":%zu,\"packages\":[",
           count);
  int err = gg_buf_append_str(out, tmp);
  for (size_t i = first; i < first + count && !err; i++) {
    ggm_synth_pkg p;
    ggm_synth_package(g, i, &p);
    if (i > first) err = gg_buf_append_byte(out, ',');
    if (!err) err = gg_buf_append_str(out, "{\"name\":");
    if (!err) err = jstr(out, p.id);
    if (!err) err = gg_buf_append_str(out, ",\"version\":");
    if (!err) err = jstr(out, p.version);
    if (!err) err = gg_buf_append_str(out, ",\"category\":");
    if (!err) err = jstr(out, p.category);
    if (!err) err = gg_buf_append_str(out, ",\"description\":");
    if (!err) err = jstr(out, p.description);
    if (!err) err = gg_buf_append_str(out, ",\"tags\":");
    if (!err) err = jlist(out, p.tags, p.n_tags);
    if (!err) err = gg_buf_append_str(out, ",\"keywords\":");
    if (!err) err = jlist(out, p.keywords, p.n_keywords);
    if (!err) err = gg_buf_append_str(out, ",\"author\":");
    if (!err) err = jstr(out, p.author);
    if (!err) err = gg_buf_append_str(out, ",\"license\":");
    if (!err) err = jstr(out, p.license);
    if (!err) {
      snprintf(tmp, sizeof(tmp), ",\"downloads\":%llu,\"stars\":%llu,\"production_ready\":%s",
               (unsigned long long)p.downloads, (unsigned long long)p.stars,
               p.downloads > 1000 ? "true" : "false");
      err = gg_buf_append_str(out, tmp);
    }
    if (!err) err = gg_buf_append_str(out, ",\"dependencies\":");
    if (!err) err = jlist(out, p.deps, p.n_deps);
    if (!err) err = gg_buf_append_byte(out, '}');
  }
  if (!err) err = gg_buf_append_str(out, "]}");
  return err;
}
