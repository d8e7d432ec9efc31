/*
 * ggen's original search (catalog_baseline.h): JSON index in memory, a full scan per query.
 */
#include "catalog_baseline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/catalog_score.h"

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

static char *join(json_t *a) {
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_is_string(v)) n += strlen(json_string_value(v)) + 1;
  char *out = malloc(n + 1), *o = out;
  json_array_foreach(a, i, v) {
    if (!json_is_string(v)) continue;
    if (o != out) *o++ = '\n';
    size_t l = strlen(json_string_value(v));
    memcpy(o, json_string_value(v), l);
    o += l;
  }
  *o = '\0';
  return out;
}

static bl_pkg *add(baseline *b) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 1024;
    b->p = realloc(b->p, b->cap * sizeof(*b->p));
  }
  return &b->p[b->n++];
}

int baseline_load_json(baseline *b, const char *buf, size_t len) {
  json_error_t e;
  json_t *root = json_loadb(buf, len, 0, &e);
  json_t *pk = json_object_get(root, "packages"), *v;
  if (!json_is_array(pk)) {
    json_decref(root);
    return -1;
  }
  size_t i;
  json_array_foreach(pk, i, v) {
    bl_pkg *p = add(b);
    p->id = dupstr(json_string_value(json_object_get(v, "name")));
    p->desc = dupstr(json_string_value(json_object_get(v, "description")));
    p->tags = join(json_object_get(v, "tags"));
    p->kw = join(json_object_get(v, "keywords"));
    p->author = dupstr(json_string_value(json_object_get(v, "author")));
    p->category = dupstr(json_string_value(json_object_get(v, "category")));
    p->license = dupstr(json_string_value(json_object_get(v, "license")));
    p->downloads = (uint64_t)json_integer_value(json_object_get(v, "downloads"));
    p->stars = (uint64_t)json_integer_value(json_object_get(v, "stars"));
  }
  json_decref(root);
  return 0;
}

static char *joinl(const char *const *l, size_t n) {
  size_t t = 1;
  for (size_t i = 0; i < n; i++) t += strlen(l[i]) + 1;
  char *out = malloc(t), *o = out;
  *o = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i) *o++ = '\n';
    size_t k = strlen(l[i]);
    memcpy(o, l[i], k + 1);
    o += k;
  }
  return out;
}

int baseline_from_synth(baseline *b, ggm_synth *g, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ggm_synth_pkg s;
    ggm_synth_package(g, i, &s);
    bl_pkg *p = add(b);
    p->id = dupstr(s.id);
    p->desc = dupstr(s.description);
    p->tags = joinl(s.tags, s.n_tags);
    p->kw = joinl(s.keywords, s.n_keywords);
    p->author = dupstr(s.author);
    p->category = dupstr(s.category);
    p->license = dupstr(s.license);
    p->downloads = s.downloads;
    p->stars = s.stars;
  }
  return 0;
}

void baseline_free(baseline *b) {
  for (size_t i = 0; i < b->n; i++) {
    bl_pkg *p = &b->p[i];
    free(p->id), free(p->desc), free(p->tags), free(p->kw);
    free(p->author), free(p->category), free(p->license);
  }
  free(b->p);
  free(b->scratch);
  memset(b, 0, sizeof(*b));
}

static int has_tag(const char *list, const char *tag) {
  size_t n = strlen(tag);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !strncasecmp(p, tag, n)) return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

typedef struct scored {
  double s;
  size_t i;
  int exact;
} scored;

/* The catalog's order (exact first, score, then popularity, downloads, stars, id), so that
 * ties, frequent when popularity saturates, break the same way in both. */
static int cmp(const void *a, const void *b, void *pkgs) {
  const scored *x = a, *y = b;
  const bl_pkg *px = (const bl_pkg *)pkgs + x->i, *py = (const bl_pkg *)pkgs + y->i;
  if (x->exact != y->exact) return y->exact - x->exact;
  if (x->s != y->s) return x->s < y->s ? 1 : -1;
  double ox = ggs__popularity(px->downloads, px->stars), oy = ggs__popularity(py->downloads, py->stars);
  if (ox != oy) return ox < oy ? 1 : -1;
  if (px->downloads != py->downloads) return px->downloads < py->downloads ? 1 : -1;
  if (px->stars != py->stars) return px->stars < py->stars ? 1 : -1;
  return strcmp(px->id, py->id);
}

long baseline_search(baseline *b, const ggs_catalog_query *q, const char **ids, size_t limit) {
  size_t ql = strlen(q->text ? q->text : "");
  char *qlc = malloc(ql + 1);
  ggs__lower(qlc, q->text ? q->text : "", ql);
  ggs__squery sq;
  ggs__squery_init(&sq, qlc, ql);
  scored *res = malloc((b->n ? b->n : 1) * sizeof(*res));
  size_t nres = 0;
  for (size_t i = 0; i < b->n; i++) {
    const bl_pkg *p = &b->p[i];
    if (q->category && strcasecmp(p->category, q->category)) continue;
    if (q->author && strcasecmp(p->author, q->author)) continue;
    if (q->license && strcasecmp(p->license, q->license)) continue;
    if (p->stars < q->min_stars || p->downloads < q->min_downloads) continue;
    int ok = 1;
    for (size_t t = 0; t < q->n_tags && ok; t++) ok = has_tag(p->tags, q->tags[t]);
    if (!ok) continue;
    /* ggen lower-cases every field of every package on every query */
    size_t li = strlen(p->id), ld = strlen(p->desc), lt = strlen(p->tags), lk = strlen(p->kw);
    size_t need = li + ld + lt + lk + 4;
    if (need > b->scratch_cap) {
      b->scratch_cap = need * 2;
      b->scratch = realloc(b->scratch, b->scratch_cap);
    }
    char *id = b->scratch, *d = id + li + 1, *t = d + ld + 1, *k = t + lt + 1;
    ggs__lower(id, p->id, li);
    ggs__lower(d, p->desc, ld);
    ggs__lower(t, p->tags, lt);
    ggs__lower(k, p->kw, lk);
    int exact = 0;
    double s = ggs__score(&sq, id, li, id, li, d, ld, t, lt, k, lk, p->downloads, p->stars, &exact);
    if (s > 0.0) res[nres++] = (scored){s, i, exact};
  }
  qsort_r(res, nres, sizeof(*res), cmp, b->p);
  for (size_t i = 0; i < nres && i < limit; i++) ids[i] = b->p[res[i].i].id;
  free(res);
  free(qlc);
  return (long)nres;
}
