/*
 * Dependency resolution over an in-memory package universe, solved with libsolv.
 *
 * Encoding (docs/resolve.md has the why):
 *  - each candidate (package id, version) is a libsolv solvable named by the package id, so
 *    libsolv's same-name rules allow at most one version per id;
 *  - a solvable's EVR is its preference rank within its package, a decimal number where
 *    higher means preferred (semver order, or releases-first with GGM_RESOLVE_PREFER_STABLE).
 *    libsolv then always tries the best-ranked candidate first. Ranks, not semver strings,
 *    because semver's prerelease order cannot be expressed in rpm's version comparison and
 *    because the ranges are evaluated by semver.c, not by libsolv;
 *  - a dependency (id, range) becomes one string dependency "id range"; every candidate of id
 *    that the range matches (npm rules, evaluated here once per distinct (id, range)) provides
 *    it. A requirement on it is satisfied exactly by those versions, whatever the range's
 *    shape (||, prerelease rule, build metadata);
 *  - root requirements are install jobs on those dependencies; locked versions are FAVOR jobs.
 * The solver returns a model (our solution) or problems, whose rules we turn into the
 * explanation.
 *
 * Invariants: universe strings are owned by the universe; a solve builds and frees its own
 * libsolv pool (libsolv allocates with its own allocator and aborts when memory runs out,
 * so gg_mem covers only this file's allocations).
 */
#include "ggen/resolve.h"

#include <solv/policy.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/problems.h>
#include <solv/repo.h>
#include <solv/rules.h>
#include <solv/solver.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/semver.h"

#define NONE UINT32_MAX

/* ================================================================================
 * A small open-addressing hash index: maps keys to uint32 indices stored elsewhere.
 * ================================================================================ */

typedef struct htab {
  uint32_t *slots; /* index + 1, 0 = empty */
  uint64_t *hashes;
  size_t cap, n;
} htab;

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  if (!h) h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

typedef int (*ht_eq_fn)(const void *ctx, uint32_t idx);

static void ht_free(htab *h, const gg_mem *mem) {
  gg_free(mem, h->slots);
  gg_free(mem, h->hashes);
  memset(h, 0, sizeof *h);
}

/* Returns the index found for (hash, eq) or NONE. */
static uint32_t ht_find(const htab *h, uint64_t hash, ht_eq_fn eq, const void *ctx) {
  if (!h->cap) return NONE;
  for (size_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
    uint32_t s = h->slots[i];
    if (!s) return NONE;
    if (h->hashes[i] == hash && eq(ctx, s - 1)) return s - 1;
  }
}

static int ht_grow(htab *h, const gg_mem *mem) {
  size_t nc = h->cap ? h->cap * 2 : 64;
  uint32_t *ns = gg_calloc(mem, nc, sizeof *ns);
  uint64_t *nh = gg_calloc(mem, nc, sizeof *nh);
  if (!ns || !nh) {
    gg_free(mem, ns);
    gg_free(mem, nh);
    return GG_ENOMEM;
  }
  for (size_t i = 0; i < h->cap; i++) {
    if (!h->slots[i]) continue;
    size_t j = h->hashes[i] & (nc - 1);
    while (ns[j]) j = (j + 1) & (nc - 1);
    ns[j] = h->slots[i];
    nh[j] = h->hashes[i];
  }
  gg_free(mem, h->slots);
  gg_free(mem, h->hashes);
  h->slots = ns;
  h->hashes = nh;
  h->cap = nc;
  return GG_OK;
}

/* Inserts idx under hash (the caller checked it is absent). */
static int ht_insert(htab *h, uint64_t hash, uint32_t idx, const gg_mem *mem) {
  if ((h->n + 1) * 4 > h->cap * 3) {
    int rc = ht_grow(h, mem);
    if (rc) return rc;
  }
  size_t i = hash & (h->cap - 1);
  while (h->slots[i]) i = (i + 1) & (h->cap - 1);
  h->slots[i] = idx + 1;
  h->hashes[i] = hash;
  h->n++;
  return GG_OK;
}

/* Grows a dynamic array to hold at least need elements. */
static int grow(const gg_mem *mem, void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return GG_OK;
  size_t nc = *cap ? *cap : 8;
  while (nc < need) nc *= 2;
  void *q = gg_realloc(mem, *p, nc * elem);
  if (!q) return GG_ENOMEM;
  *p = q;
  *cap = nc;
  return GG_OK;
}
#define GROW(mem, arr, cap, need) grow((mem), (void **)&(arr), &(cap), (need), sizeof *(arr))

/* ================================================================================
 * The universe
 * ================================================================================ */

typedef struct upkg {
  char *id;
  unsigned flags;
  uint32_t *vers; /* version indices, in insertion order */
  size_t nvers, capvers;
} upkg;

typedef struct uver {
  uint32_t pkg;
  unsigned flags;
  char *str;
  ggm_semver v;
  uint32_t dep_first, dep_last; /* singly linked list through dep.next, insertion order */
} uver;

typedef struct udep {
  uint32_t target; /* package index */
  uint32_t range;  /* range index */
  uint32_t next;
} udep;

typedef struct rng {
  char *str;
  ggm_semver_range *npm;   /* parsed with npm's prerelease rule */
  ggm_semver_range *incpr; /* parsed with includePrerelease, on first need */
} rng;

struct ggm_resolve_universe {
  const gg_mem *mem;
  ggm_resolve_limits lim;
  upkg *pkgs;
  size_t npkgs, cappkgs;
  uver *vers;
  size_t nvers, capvers;
  udep *deps;
  size_t ndeps, capdeps;
  rng *rngs;
  size_t nrngs, caprngs;
  htab pkg_ix, ver_ix, rng_ix;
};

typedef struct strkey {
  const ggm_resolve_universe *u;
  const char *s;
  size_t n;
  uint32_t pkg;
} strkey;

static int pkg_eq(const void *ctx, uint32_t idx) {
  const strkey *k = ctx;
  const char *id = k->u->pkgs[idx].id;
  return strlen(id) == k->n && !memcmp(id, k->s, k->n);
}
static int rng_eq(const void *ctx, uint32_t idx) {
  const strkey *k = ctx;
  const char *s = k->u->rngs[idx].str;
  return strlen(s) == k->n && !memcmp(s, k->s, k->n);
}
static int ver_eq(const void *ctx, uint32_t idx) {
  const strkey *k = ctx;
  const uver *v = &k->u->vers[idx];
  return v->pkg == k->pkg && strlen(v->str) == k->n && !memcmp(v->str, k->s, k->n);
}
static uint64_t ver_hash(uint32_t pkg, const char *s, size_t n) {
  return hash_bytes(s, n, hash_bytes(&pkg, sizeof pkg, 0));
}

int ggm_resolve_universe_new(ggm_resolve_universe **out, const ggm_resolve_limits *limits,
                             const gg_mem *mem) {
  if (!out) return GG_EINVAL;
  ggm_resolve_universe *u = gg_calloc(mem, 1, sizeof *u);
  if (!u) return GG_ENOMEM;
  u->mem = mem;
  u->lim.max_packages = limits && limits->max_packages ? limits->max_packages : 1000000;
  u->lim.max_versions = limits && limits->max_versions ? limits->max_versions : 4000000;
  u->lim.max_deps = limits && limits->max_deps ? limits->max_deps : 32000000;
  *out = u;
  return GG_OK;
}

void ggm_resolve_universe_del(ggm_resolve_universe *u) {
  if (!u) return;
  for (size_t i = 0; i < u->npkgs; i++) {
    gg_free(u->mem, u->pkgs[i].id);
    gg_free(u->mem, u->pkgs[i].vers);
  }
  for (size_t i = 0; i < u->nvers; i++) {
    gg_free(u->mem, u->vers[i].str);
    ggm_semver_free(&u->vers[i].v);
  }
  for (size_t i = 0; i < u->nrngs; i++) {
    gg_free(u->mem, u->rngs[i].str);
    ggm_semver_range_free(u->rngs[i].npm);
    ggm_semver_range_free(u->rngs[i].incpr);
  }
  gg_free(u->mem, u->pkgs);
  gg_free(u->mem, u->vers);
  gg_free(u->mem, u->deps);
  gg_free(u->mem, u->rngs);
  ht_free(&u->pkg_ix, u->mem);
  ht_free(&u->ver_ix, u->mem);
  ht_free(&u->rng_ix, u->mem);
  gg_free(u->mem, u);
}

size_t ggm_resolve_universe_npackages(const ggm_resolve_universe *u) { return u->npkgs; }
size_t ggm_resolve_universe_nversions(const ggm_resolve_universe *u) { return u->nvers; }

/* Package ids become libsolv names and part of dependency strings "id range": no whitespace
 * (so no id can equal a dependency string) and no control characters. */
static int valid_id(const char *id) {
  if (!id || !*id) return 0;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    if (*p <= ' ' || *p == 0x7f) return 0;
  return 1;
}

static uint32_t find_pkg(const ggm_resolve_universe *u, const char *id) {
  strkey k = {u, id, strlen(id), 0};
  return ht_find(&u->pkg_ix, hash_bytes(id, k.n, 0), pkg_eq, &k);
}

/* Finds or creates package id; *idx gets its index. */
static int intern_pkg(ggm_resolve_universe *u, const char *id, uint32_t *idx) {
  strkey k = {u, id, strlen(id), 0};
  uint64_t h = hash_bytes(id, k.n, 0);
  uint32_t i = ht_find(&u->pkg_ix, h, pkg_eq, &k);
  if (i != NONE) {
    *idx = i;
    return GG_OK;
  }
  if (u->npkgs >= u->lim.max_packages) return GG_ELIMIT;
  if (GROW(u->mem, u->pkgs, u->cappkgs, u->npkgs + 1)) return GG_ENOMEM;
  upkg *p = &u->pkgs[u->npkgs];
  memset(p, 0, sizeof *p);
  p->id = gg_strdup(u->mem, id);
  if (!p->id) return GG_ENOMEM;
  if (ht_insert(&u->pkg_ix, h, (uint32_t)u->npkgs, u->mem)) {
    gg_free(u->mem, p->id);
    return GG_ENOMEM;
  }
  *idx = (uint32_t)u->npkgs++;
  return GG_OK;
}

/* Finds or parses range s; *idx gets its index. GG_EPARSE for a bad range. */
static int intern_range(ggm_resolve_universe *u, const char *s, uint32_t *idx) {
  if (!s) s = "";
  strkey k = {u, s, strlen(s), 0};
  uint64_t h = hash_bytes(s, k.n, 0);
  uint32_t i = ht_find(&u->rng_ix, h, rng_eq, &k);
  if (i != NONE) {
    *idx = i;
    return GG_OK;
  }
  if (GROW(u->mem, u->rngs, u->caprngs, u->nrngs + 1)) return GG_ENOMEM;
  rng *r = &u->rngs[u->nrngs];
  memset(r, 0, sizeof *r);
  int rc = ggm_semver_range_parse(&r->npm, s, k.n, 0, u->mem);
  if (rc) return rc;
  r->str = gg_strdup(u->mem, s);
  if (!r->str || ht_insert(&u->rng_ix, h, (uint32_t)u->nrngs, u->mem)) {
    gg_free(u->mem, r->str);
    ggm_semver_range_free(r->npm);
    return GG_ENOMEM;
  }
  *idx = (uint32_t)u->nrngs++;
  return GG_OK;
}

int ggm_resolve_add_version(ggm_resolve_universe *u, const char *id, const char *version,
                            unsigned flags, uint32_t *vid) {
  if (!u || !valid_id(id) || !version) return GG_EINVAL;
  if (u->nvers >= u->lim.max_versions) return GG_ELIMIT;
  ggm_semver sv;
  int rc = ggm_semver_parse(&sv, version, strlen(version), 0, u->mem);
  if (rc) return rc;
  uint32_t p;
  if ((rc = intern_pkg(u, id, &p))) goto fail;
  strkey k = {u, version, strlen(version), p};
  uint64_t h = ver_hash(p, version, k.n);
  if (ht_find(&u->ver_ix, h, ver_eq, &k) != NONE) {
    rc = GG_EEXIST;
    goto fail;
  }
  rc = GG_ENOMEM;
  if (GROW(u->mem, u->vers, u->capvers, u->nvers + 1)) goto fail;
  if (GROW(u->mem, u->pkgs[p].vers, u->pkgs[p].capvers, u->pkgs[p].nvers + 1)) goto fail;
  uver *v = &u->vers[u->nvers];
  v->pkg = p;
  v->flags = flags & GGM_RESOLVE_YANKED;
  v->str = gg_strdup(u->mem, version);
  v->v = sv;
  v->dep_first = v->dep_last = NONE;
  if (!v->str) goto fail;
  if (ht_insert(&u->ver_ix, h, (uint32_t)u->nvers, u->mem)) {
    gg_free(u->mem, v->str);
    goto fail;
  }
  u->pkgs[p].vers[u->pkgs[p].nvers++] = (uint32_t)u->nvers;
  if (vid) *vid = (uint32_t)u->nvers;
  u->nvers++;
  return GG_OK;
fail:
  ggm_semver_free(&sv);
  return rc;
}

int ggm_resolve_add_dep(ggm_resolve_universe *u, uint32_t vid, const char *dep_id,
                        const char *range) {
  if (!u || vid >= u->nvers || !valid_id(dep_id)) return GG_EINVAL;
  if (u->ndeps >= u->lim.max_deps || u->ndeps >= NONE - 1) return GG_ELIMIT;
  uint32_t r, p;
  int rc = intern_range(u, range, &r);
  if (rc) return rc;
  if ((rc = intern_pkg(u, dep_id, &p))) return rc;
  if (GROW(u->mem, u->deps, u->capdeps, u->ndeps + 1)) return GG_ENOMEM;
  udep *d = &u->deps[u->ndeps];
  d->target = p;
  d->range = r;
  d->next = NONE;
  uver *v = &u->vers[vid];
  if (v->dep_last == NONE)
    v->dep_first = (uint32_t)u->ndeps;
  else
    u->deps[v->dep_last].next = (uint32_t)u->ndeps;
  v->dep_last = (uint32_t)u->ndeps;
  u->ndeps++;
  return GG_OK;
}

int ggm_resolve_set_package_flags(ggm_resolve_universe *u, const char *id, unsigned flags) {
  if (!u || !valid_id(id)) return GG_EINVAL;
  uint32_t p;
  int rc = intern_pkg(u, id, &p);
  if (rc) return rc;
  u->pkgs[p].flags = flags & GGM_RESOLVE_PKG_INCLUDE_PRERELEASE;
  return GG_OK;
}

/* The parsed form of range r that applies to dependencies on package p. */
static int range_for(ggm_resolve_universe *u, uint32_t r, int incpr, const ggm_semver_range **out) {
  rng *x = &u->rngs[r];
  if (!incpr) {
    *out = x->npm;
    return GG_OK;
  }
  if (!x->incpr) {
    int rc = ggm_semver_range_parse(&x->incpr, x->str, strlen(x->str),
                                    GGM_SEMVER_INCLUDE_PRERELEASE, u->mem);
    if (rc) return rc;
  }
  *out = x->incpr;
  return GG_OK;
}

/* ================================================================================
 * Results
 * ================================================================================ */

typedef struct pick {
  const char *id;
  const char *version;
  uint32_t vid;
} pick;

struct ggm_resolve_result {
  const gg_mem *mem;
  size_t learned;
  pick *picks;
  size_t npicks;
  char *explain;
  char **conflicts;
  size_t nconflicts;
};

size_t ggm_resolve_result_count(const ggm_resolve_result *r) { return r ? r->npicks : 0; }

int ggm_resolve_result_get(const ggm_resolve_result *r, size_t i, const char **id,
                           const char **version, uint32_t *vid) {
  if (!r || i >= r->npicks) return GG_EINVAL;
  if (id) *id = r->picks[i].id;
  if (version) *version = r->picks[i].version;
  if (vid) *vid = r->picks[i].vid;
  return GG_OK;
}

const char *ggm_resolve_result_version_of(const ggm_resolve_result *r, const char *id) {
  if (!r || !id) return NULL;
  size_t lo = 0, hi = r->npicks;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(r->picks[mid].id, id);
    if (!c) return r->picks[mid].version;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

size_t ggm_resolve_result_conflicts_learned(const ggm_resolve_result *r) {
  return r ? r->learned : 0;
}

const char *ggm_resolve_result_explain(const ggm_resolve_result *r) {
  return r ? r->explain : NULL;
}

size_t ggm_resolve_result_nconflicts(const ggm_resolve_result *r) { return r ? r->nconflicts : 0; }

const char *ggm_resolve_result_conflict(const ggm_resolve_result *r, size_t i) {
  return r && i < r->nconflicts ? r->conflicts[i] : NULL;
}

void ggm_resolve_result_free(ggm_resolve_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nconflicts; i++) gg_free(r->mem, r->conflicts[i]);
  gg_free(r->mem, r->conflicts);
  gg_free(r->mem, r->picks);
  gg_free(r->mem, r->explain);
  gg_free(r->mem, r);
}

/* ================================================================================
 * Solving
 * ================================================================================ */

/* A distinct (package, range) dependency within one solve. */
typedef struct dkey {
  uint32_t pkg, range;
  Id id;           /* libsolv string id "pkg range" */
  uint32_t nmatch; /* candidates providing it */
} dkey;

typedef struct solve_ctx {
  ggm_resolve_universe *u;
  const gg_mem *mem;
  unsigned flags;
  Pool *pool;
  Repo *repo;
  /* per package, during this solve */
  uint32_t *pkg_first; /* first solvable offset of the package's candidates, NONE if absent */
  uint32_t *pkg_ncand;
  uint8_t *pkg_seen;
  uint32_t *order; /* reachable packages in BFS order */
  size_t norder;
  /* candidates: solvable offset -> version index */
  uint32_t *cand;
  size_t ncand, capcand;
  Id first_solvable;
  /* version index -> 1 when a yanked version may be used (pinned or locked) */
  uint8_t *allow_yanked;
  dkey *keys;
  size_t nkeys, capkeys;
  htab key_ix; /* (pkg, range) -> key */
  htab kid_ix; /* libsolv Id -> key */
  /* text */
  char *buf;
  size_t len, cap;
  int err;
} solve_ctx;

typedef struct kk {
  const solve_ctx *c;
  uint32_t pkg, range;
  Id id;
} kk;

static int key_eq(const void *ctx, uint32_t idx) {
  const kk *k = ctx;
  return k->c->keys[idx].pkg == k->pkg && k->c->keys[idx].range == k->range;
}
static int kid_eq(const void *ctx, uint32_t idx) {
  const kk *k = ctx;
  return k->c->keys[idx].id == k->id;
}

static int pkg_incpr(const solve_ctx *c, uint32_t p) {
  return (c->flags & GGM_RESOLVE_INCLUDE_PRERELEASE) ||
         (c->u->pkgs[p].flags & GGM_RESOLVE_PKG_INCLUDE_PRERELEASE);
}

/* Text accumulation with a sticky error. */
static void out_printf(solve_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(solve_ctx *c, const char *fmt, ...) {
  if (c->err) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || GROW(c->mem, c->buf, c->cap, c->len + (size_t)n + 1)) {
    c->err = GG_ENOMEM;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(c->buf + c->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  c->len += (size_t)n;
}

/* Finds or creates the key for (p, r). */
static int get_key(solve_ctx *c, uint32_t p, uint32_t r, uint32_t *out) {
  kk k = {c, p, r, 0};
  uint64_t h = hash_bytes(&r, sizeof r, hash_bytes(&p, sizeof p, 0));
  uint32_t i = ht_find(&c->key_ix, h, key_eq, &k);
  if (i != NONE) {
    *out = i;
    return GG_OK;
  }
  if (GROW(c->mem, c->keys, c->capkeys, c->nkeys + 1)) return GG_ENOMEM;
  dkey *d = &c->keys[c->nkeys];
  d->pkg = p;
  d->range = r;
  d->nmatch = 0;
  const char *rs = c->u->rngs[r].str;
  size_t need = strlen(c->u->pkgs[p].id) + strlen(rs) + 3;
  char small[256], *name = need <= sizeof small ? small : gg_malloc(c->mem, need);
  if (!name) return GG_ENOMEM;
  size_t il = strlen(c->u->pkgs[p].id);
  memcpy(name, c->u->pkgs[p].id, il);
  name[il] = ' ';
  strcpy(name + il + 1, *rs ? rs : "*");
  d->id = pool_str2id(c->pool, name, 1);
  if (name != small) gg_free(c->mem, name);
  if (ht_insert(&c->key_ix, h, (uint32_t)c->nkeys, c->mem)) return GG_ENOMEM;
  kk k2 = {c, 0, 0, d->id};
  uint64_t h2 = hash_bytes(&d->id, sizeof d->id, 0);
  if (ht_find(&c->kid_ix, h2, kid_eq, &k2) == NONE &&
      ht_insert(&c->kid_ix, h2, (uint32_t)c->nkeys, c->mem))
    return GG_ENOMEM;
  *out = (uint32_t)c->nkeys++;
  return GG_OK;
}

static uint32_t key_of_id(const solve_ctx *c, Id id) {
  kk k = {c, 0, 0, id};
  return ht_find(&c->kid_ix, hash_bytes(&id, sizeof id, 0), kid_eq, &k);
}

/* qsort context for preference order (qsort has no user pointer) */
static _Thread_local const solve_ctx *sort_ctx;

/* Most preferred first: (releases first when PREFER_STABLE), higher precedence, then higher
 * build metadata, then insertion order for equal strings (cannot happen: GG_EEXIST). */
static int pref_cmp(const void *a, const void *b) {
  const uver *x = &sort_ctx->u->vers[*(const uint32_t *)a];
  const uver *y = &sort_ctx->u->vers[*(const uint32_t *)b];
  if (sort_ctx->flags & GGM_RESOLVE_PREFER_STABLE) {
    int px = ggm_semver_is_prerelease(&x->v), py = ggm_semver_is_prerelease(&y->v);
    if (px != py) return px - py;
  }
  int r = ggm_semver_cmp_build(&y->v, &x->v);
  if (r) return r;
  return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Adds package p's candidates as solvables (contiguous, most preferred first). */
static int add_candidates(solve_ctx *c, uint32_t p) {
  const upkg *pk = &c->u->pkgs[p];
  size_t start = c->ncand;
  if (GROW(c->mem, c->cand, c->capcand, c->ncand + pk->nvers)) return GG_ENOMEM;
  for (size_t i = 0; i < pk->nvers; i++) {
    uint32_t v = pk->vers[i];
    if ((c->u->vers[v].flags & GGM_RESOLVE_YANKED) && !c->allow_yanked[v]) continue;
    c->cand[c->ncand++] = v;
  }
  sort_ctx = c;
  if (c->ncand > start) qsort(c->cand + start, c->ncand - start, sizeof *c->cand, pref_cmp);
  c->pkg_first[p] = (uint32_t)start;
  c->pkg_ncand[p] = (uint32_t)(c->ncand - start);
  return GG_OK;
}

/* The version index of a solvable of this solve, NONE for others (the system solvable). */
static uint32_t solvable_ver(const solve_ctx *c, Id s) {
  if (s < c->first_solvable || (size_t)(s - c->first_solvable) >= c->ncand) return NONE;
  return c->cand[s - c->first_solvable];
}

/* Lists the versions of package p for an explanation, saying which were not candidates. */
static void explain_available(solve_ctx *c, uint32_t p) {
  const upkg *pk = &c->u->pkgs[p];
  if (!pk->nvers) {
    out_printf(c, " (no versions of %s exist)", pk->id);
    return;
  }
  out_printf(c, " (%s has ", pk->id);
  size_t shown = 0;
  /* newest first, at most 8 */
  uint32_t *tmp = gg_malloc(c->mem, pk->nvers * sizeof *tmp);
  if (!tmp) {
    c->err = GG_ENOMEM;
    return;
  }
  memcpy(tmp, pk->vers, pk->nvers * sizeof *tmp);
  unsigned saved = c->flags;
  c->flags &= ~(unsigned)GGM_RESOLVE_PREFER_STABLE;
  sort_ctx = c;
  qsort(tmp, pk->nvers, sizeof *tmp, pref_cmp);
  c->flags = saved;
  for (size_t i = 0; i < pk->nvers && shown < 8; i++, shown++) {
    const uver *v = &c->u->vers[tmp[i]];
    int yanked = (v->flags & GGM_RESOLVE_YANKED) && !c->allow_yanked[tmp[i]];
    out_printf(c, "%s%s%s", shown ? ", " : "", v->str, yanked ? " [yanked]" : "");
  }
  if (pk->nvers > shown) out_printf(c, " and %zu more", pk->nvers - shown);
  out_printf(c, ")");
  gg_free(c->mem, tmp);
}

/* Prints a dependency "id range" and which candidate versions it admits. */
static void explain_dep(solve_ctx *c, Id dep) {
  uint32_t k = key_of_id(c, dep);
  if (k == NONE) {
    out_printf(c, "%s", pool_dep2str(c->pool, dep));
    return;
  }
  out_printf(c, "%s", pool_id2str(c->pool, dep));
  const dkey *d = &c->keys[k];
  uint32_t f = c->pkg_first[d->pkg];
  if (!d->nmatch || f == NONE) return;
  if (d->nmatch == 1 && ggm_semver_range_exact(c->u->rngs[d->range].npm)) return;
  if (d->nmatch > 4) {
    out_printf(c, " (%u versions match)", d->nmatch);
    return;
  }
  const ggm_semver_range *r;
  if (range_for(c->u, d->range, pkg_incpr(c, d->pkg), &r)) return;
  out_printf(c, " (matches ");
  int first = 1;
  for (uint32_t ci = f; ci < f + c->pkg_ncand[d->pkg]; ci++) {
    const uver *v = &c->u->vers[c->cand[ci]];
    if (!ggm_semver_range_test(r, &v->v)) continue;
    out_printf(c, "%s%s", first ? "" : ", ", v->str);
    first = 0;
  }
  out_printf(c, ")");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line of an explanation: its kind orders the lines (what the root asks, what versions
 * depend on, which choices exclude each other, anything else). */
typedef struct xline {
  int kind;
  size_t seq;
  char *text;
} xline;

static int xline_cmp(const void *a, const void *b) {
  const xline *x = a, *y = b;
  if (x->kind != y->kind) return x->kind - y->kind;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define EXPLAIN_MAX_PROBLEMS 8 /* problems shown; the rest are counted */
#define EXPLAIN_MAX_LINES 40   /* lines shown per problem */

/* Formats one problem rule into c->buf (from empty); returns its kind or -1 to drop it. */
static int rule_line(solve_ctx *c, Solver *solv, Id rid, uint8_t *named) {
  Id source = 0, target = 0, dep = 0;
  SolverRuleinfo type = solver_ruleinfo(solv, rid, &source, &target, &dep);
  uint32_t k = dep ? key_of_id(c, dep) : NONE;
  if (k != NONE) named[c->keys[k].pkg] = 1;
  uint32_t sv = NONE, tv = NONE;
  if ((type & SOLVER_RULE_TYPEMASK) == SOLVER_RULE_PKG) { /* source/target are solvables */
    sv = source > 0 ? solvable_ver(c, source) : NONE;
    tv = target > 0 ? solvable_ver(c, target) : NONE;
    if (sv != NONE) named[c->u->vers[sv].pkg] = 1;
    if (tv != NONE) named[c->u->vers[tv].pkg] = 1;
  }
  switch (type) {
  case SOLVER_RULE_JOB:
    if (k == NONE) return -1;
    out_printf(c, "the root requires ");
    explain_dep(c, dep);
    return 0;
  case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
    out_printf(c, "the root requires ");
    explain_dep(c, dep);
    out_printf(c, ", which no version matches");
    if (k != NONE) explain_available(c, c->keys[k].pkg);
    return 0;
  case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
    if (sv == NONE) return -1;
    out_printf(c, "%s %s depends on ", c->u->pkgs[c->u->vers[sv].pkg].id, c->u->vers[sv].str);
    explain_dep(c, dep);
    out_printf(c, ", which no version matches");
    if (k != NONE) explain_available(c, c->keys[k].pkg);
    return 1;
  case SOLVER_RULE_PKG_REQUIRES:
    if (sv == NONE) return -1;
    out_printf(c, "%s %s depends on ", c->u->pkgs[c->u->vers[sv].pkg].id, c->u->vers[sv].str);
    explain_dep(c, dep);
    return 1;
  case SOLVER_RULE_PKG_SAME_NAME:
    if (sv == NONE) return -1;
    out_printf(c, "only one version of %s can be chosen", c->u->pkgs[c->u->vers[sv].pkg].id);
    return 2;
  default:
    out_printf(c, "%s", solver_problemruleinfo2str(solv, type, source, target, dep));
    return 3;
  }
}

/* Builds the explanation and conflict list from libsolv's problems: per problem, the rules of
 * its unsatisfiable core as sentences, deduplicated and ordered root first; a problem whose
 * sentences repeat an earlier problem's is not shown again. */
static int build_explanation(solve_ctx *c, Solver *solv, int nprob, ggm_resolve_result *res) {
  size_t npk = c->u->npkgs ? c->u->npkgs : 1;
  uint8_t *named = gg_calloc(c->mem, npk, 1);
  char *text = NULL;
  size_t tlen = 0, tcap = 0;
  xline *lines = NULL, *prev = NULL;
  size_t nlines = 0, caplines = 0, nprev = 0;
  int shown = 0, hidden = 0;
  Queue rules;
  queue_init(&rules);
  if (!named) return GG_ENOMEM;
#define TEXT(str)                                                                                  \
  do {                                                                                             \
    size_t l_ = strlen(str);                                                                       \
    if (GROW(c->mem, text, tcap, tlen + l_ + 1)) {                                                 \
      c->err = GG_ENOMEM;                                                                          \
    } else {                                                                                       \
      memcpy(text + tlen, (str), l_ + 1);                                                          \
      tlen += l_;                                                                                  \
    }                                                                                              \
  } while (0)
  TEXT("Version solving failed:\n");
  for (int pb = 1; pb <= nprob && !c->err; pb++) {
    queue_empty(&rules);
    solver_findallproblemrules(solv, pb, &rules);
    nlines = 0;
    for (int i = 0; i < rules.count && !c->err; i++) {
      c->len = 0;
      if (c->buf) c->buf[0] = 0;
      int kind = rule_line(c, solv, rules.elements[i], named);
      if (kind < 0 || c->err) continue;
      int dup = 0;
      for (size_t j = 0; j < nlines && !dup; j++) dup = !strcmp(lines[j].text, c->buf);
      if (dup) continue;
      if (GROW(c->mem, lines, caplines, nlines + 1)) {
        c->err = GG_ENOMEM;
        break;
      }
      lines[nlines].kind = kind;
      lines[nlines].seq = (size_t)i;
      lines[nlines].text = gg_strdup(c->mem, c->buf);
      if (!lines[nlines].text) {
        c->err = GG_ENOMEM;
        break;
      }
      nlines++;
    }
    if (c->err) break;
    qsort(lines, nlines, sizeof *lines, xline_cmp);
    /* the same sentences as the previous problem: nothing new to say */
    int same = nprev == nlines;
    for (size_t j = 0; same && j < nlines; j++) same = !strcmp(prev[j].text, lines[j].text);
    if (!same && shown >= EXPLAIN_MAX_PROBLEMS) hidden++;
    if (!same && shown < EXPLAIN_MAX_PROBLEMS) {
      shown++;
      if (nprob > 1) {
        char h[32];
        snprintf(h, sizeof h, "Problem %d:\n", shown);
        TEXT(h);
      }
      for (size_t j = 0; j < nlines && j < EXPLAIN_MAX_LINES; j++) {
        TEXT("  - ");
        TEXT(lines[j].text);
        TEXT("\n");
      }
      if (nlines > EXPLAIN_MAX_LINES) {
        char h[64];
        snprintf(h, sizeof h, "  - ... and %zu more\n", nlines - EXPLAIN_MAX_LINES);
        TEXT(h);
      }
    }
    for (size_t j = 0; j < nprev; j++) gg_free(c->mem, prev[j].text);
    gg_free(c->mem, prev);
    prev = lines;
    nprev = nlines;
    lines = NULL;
    caplines = nlines = 0;
  }
  if (hidden && !c->err) {
    char h[64];
    snprintf(h, sizeof h, "(%d more problems not shown)\n", hidden);
    TEXT(h);
  }
  queue_free(&rules);
  for (size_t j = 0; j < nlines; j++) gg_free(c->mem, lines[j].text);
  for (size_t j = 0; j < nprev; j++) gg_free(c->mem, prev[j].text);
  gg_free(c->mem, lines);
  gg_free(c->mem, prev);
  /* the conflict list */
  size_t n = 0;
  for (size_t p = 0; p < c->u->npkgs; p++) n += named[p];
  if (!c->err && n) {
    res->conflicts = gg_calloc(c->mem, n, sizeof *res->conflicts);
    if (!res->conflicts) c->err = GG_ENOMEM;
    for (size_t p = 0; p < c->u->npkgs && !c->err; p++) {
      if (!named[p]) continue;
      char *id = gg_strdup(c->mem, c->u->pkgs[p].id);
      if (!id) {
        c->err = GG_ENOMEM;
        break;
      }
      res->conflicts[res->nconflicts++] = id;
    }
    if (!c->err) {
      qsort(res->conflicts, res->nconflicts, sizeof *res->conflicts, cmp_str);
      TEXT("Packages in conflict: ");
      for (size_t i = 0; i < res->nconflicts; i++) {
        if (i) TEXT(", ");
        TEXT(res->conflicts[i]);
      }
      TEXT("\n");
    }
  }
#undef TEXT
  gg_free(c->mem, named);
  if (c->err) {
    gg_free(c->mem, text);
    return c->err;
  }
  res->explain = text;
  return GG_OK;
}

static int pick_cmp(const void *a, const void *b) {
  return strcmp(((const pick *)a)->id, ((const pick *)b)->id);
}

static void ctx_free(solve_ctx *c) {
  gg_free(c->mem, c->pkg_first);
  gg_free(c->mem, c->pkg_ncand);
  gg_free(c->mem, c->pkg_seen);
  gg_free(c->mem, c->order);
  gg_free(c->mem, c->cand);
  gg_free(c->mem, c->allow_yanked);
  gg_free(c->mem, c->keys);
  gg_free(c->mem, c->buf);
  ht_free(&c->key_ix, c->mem);
  ht_free(&c->kid_ix, c->mem);
  if (c->pool) pool_free(c->pool);
}

int ggm_resolve_solve(ggm_resolve_universe *u, const ggm_resolve_req *reqs, size_t nreqs,
                      const ggm_resolve_opts *opts, ggm_resolve_result **out) {
  if (!u || !out || (nreqs && !reqs)) return GG_EINVAL;
  solve_ctx c;
  memset(&c, 0, sizeof c);
  c.u = u;
  c.mem = u->mem;
  c.flags = opts ? opts->flags : 0;
  int rc = GG_OK;
  Solver *solv = NULL;
  Queue job;
  queue_init(&job);
  ggm_resolve_result *res = NULL;
  uint32_t *req_key = NULL, *req_pkg = NULL, *req_rng = NULL;
  uint32_t *lock_ver = NULL;

  size_t np = u->npkgs + nreqs + 1;
  c.pkg_first = gg_malloc(c.mem, np * sizeof *c.pkg_first);
  c.pkg_ncand = gg_calloc(c.mem, np, sizeof *c.pkg_ncand);
  c.pkg_seen = gg_calloc(c.mem, np, 1);
  c.order = gg_malloc(c.mem, np * sizeof *c.order);
  c.allow_yanked = gg_calloc(c.mem, u->nvers ? u->nvers : 1, 1);
  req_key = gg_malloc(c.mem, (nreqs + 1) * sizeof *req_key);
  req_pkg = gg_malloc(c.mem, (nreqs + 1) * sizeof *req_pkg);
  req_rng = gg_malloc(c.mem, (nreqs + 1) * sizeof *req_rng);
  res = gg_calloc(c.mem, 1, sizeof *res);
  if (!c.pkg_first || !c.pkg_ncand || !c.pkg_seen || !c.order || !c.allow_yanked || !req_key ||
      !req_pkg || !req_rng || !res) {
    rc = GG_ENOMEM;
    goto done;
  }
  res->mem = c.mem;

  /* root requirements: their packages and ranges (unknown ids become empty packages so the
   * explanation can name them) */
  for (size_t i = 0; i < nreqs; i++) {
    if (!valid_id(reqs[i].id)) {
      rc = GG_EINVAL;
      goto done;
    }
    if ((rc = intern_range(u, reqs[i].range, &req_rng[i]))) goto done;
    if ((rc = intern_pkg(u, reqs[i].id, &req_pkg[i]))) goto done;
  }
  /* interning added at most nreqs packages: the per-package arrays above still fit */
  for (size_t p = 0; p < u->npkgs; p++) c.pkg_first[p] = NONE;

  /* yanked versions allowed: exact pins in the root requirements, and locked versions */
  for (size_t i = 0; i < nreqs; i++) {
    const ggm_semver *pin = ggm_semver_range_exact(u->rngs[req_rng[i]].npm);
    if (!pin) continue;
    const upkg *pk = &u->pkgs[req_pkg[i]];
    for (size_t k = 0; k < pk->nvers; k++)
      if (ggm_semver_cmp(&u->vers[pk->vers[k]].v, pin) == 0) c.allow_yanked[pk->vers[k]] = 1;
  }
  if (opts && opts->nlocks) {
    lock_ver = gg_malloc(c.mem, opts->nlocks * sizeof *lock_ver);
    if (!lock_ver) {
      rc = GG_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < opts->nlocks; i++) {
      lock_ver[i] = NONE;
      if (!opts->locks[i].id || !opts->locks[i].version) continue;
      uint32_t p = find_pkg(u, opts->locks[i].id);
      if (p == NONE) continue;
      strkey k = {u, opts->locks[i].version, strlen(opts->locks[i].version), p};
      uint32_t v = ht_find(&u->ver_ix, ver_hash(p, k.s, k.n), ver_eq, &k);
      if (v == NONE) continue;
      lock_ver[i] = v;
      c.allow_yanked[v] = 1;
    }
  }

  /* the pool */
  c.pool = pool_create();
  c.repo = repo_create(c.pool, "universe");

  /* Reachable packages and the decision order. libsolv decides open dependencies by scanning
   * its rules in order, and it sorts requirement rules by requiring solvable (highest id
   * first), then by the lowest id among the providers. Solvable ids are laid out so that this
   * scan follows pub's heuristic: breadth first from the roots, and among one version's
   * dependencies the package with the fewest versions first, ties to the later-declared one.
   * So packages are discovered breadth first, each version's new dependencies visited from the
   * most to the fewest versions (ties in declaration order), and ids are assigned in reverse
   * discovery order. */
  for (size_t i = 0; i < nreqs; i++)
    if (!c.pkg_seen[req_pkg[i]]) {
      c.pkg_seen[req_pkg[i]] = 1;
      c.order[c.norder++] = req_pkg[i];
    }
  for (size_t qi = 0; qi < c.norder; qi++) {
    uint32_t p = c.order[qi];
    if ((rc = add_candidates(&c, p))) goto done;
    for (uint32_t ci = c.pkg_first[p]; ci < c.pkg_first[p] + c.pkg_ncand[p]; ci++) {
      size_t from = c.norder;
      for (uint32_t d = u->vers[c.cand[ci]].dep_first; d != NONE; d = u->deps[d].next) {
        uint32_t t = u->deps[d].target;
        if (c.pkg_seen[t]) continue;
        c.pkg_seen[t] = 1;
        /* insertion sort by version count, descending, stable */
        size_t j = c.norder++;
        while (j > from && u->pkgs[c.order[j - 1]].nvers < u->pkgs[t].nvers) {
          c.order[j] = c.order[j - 1];
          j--;
        }
        c.order[j] = t;
      }
    }
  }
  {
    uint32_t *lay = gg_malloc(c.mem, (c.ncand + 1) * sizeof *lay);
    if (!lay) {
      rc = GG_ENOMEM;
      goto done;
    }
    size_t n = 0;
    for (size_t qi = c.norder; qi-- > 0;) {
      uint32_t p = c.order[qi];
      if (c.pkg_ncand[p]) memcpy(lay + n, c.cand + c.pkg_first[p], c.pkg_ncand[p] * sizeof *lay);
      c.pkg_first[p] = (uint32_t)n;
      n += c.pkg_ncand[p];
    }
    gg_free(c.mem, c.cand);
    c.cand = lay;
    c.capcand = c.ncand + 1;
  }

  /* dependency keys and who provides them: every distinct (package, range) once */
  for (size_t i = 0; i < nreqs; i++)
    if ((rc = get_key(&c, req_pkg[i], req_rng[i], &req_key[i]))) goto done;
  for (size_t ci = 0; ci < c.ncand; ci++)
    for (uint32_t d = u->vers[c.cand[ci]].dep_first; d != NONE; d = u->deps[d].next) {
      uint32_t k;
      if ((rc = get_key(&c, u->deps[d].target, u->deps[d].range, &k))) goto done;
    }
  /* provider lists, inverted per candidate: count, then fill */
  uint32_t *pcount = gg_calloc(c.mem, c.ncand + 1, sizeof *pcount);
  if (!pcount) {
    rc = GG_ENOMEM;
    goto done;
  }
  uint32_t *pstart = NULL;
  Id *plist = NULL;
  for (int pass = 0; pass < 2 && !rc; pass++) {
    for (size_t k = 0; k < c.nkeys; k++) {
      dkey *d = &c.keys[k];
      const ggm_semver_range *r;
      if ((rc = range_for(u, d->range, pkg_incpr(&c, d->pkg), &r))) break;
      uint32_t f = c.pkg_first[d->pkg];
      if (f == NONE) continue;
      d->nmatch = 0;
      for (uint32_t ci = f; ci < f + c.pkg_ncand[d->pkg]; ci++) {
        if (!ggm_semver_range_test(r, &u->vers[c.cand[ci]].v)) continue;
        d->nmatch++;
        if (pass == 0)
          pcount[ci]++;
        else
          plist[pstart[ci] + pcount[ci]++] = d->id;
      }
    }
    if (pass == 0 && !rc) {
      pstart = gg_malloc(c.mem, (c.ncand + 1) * sizeof *pstart);
      size_t total = 0;
      for (size_t ci = 0; ci < c.ncand; ci++) total += pcount[ci];
      plist = gg_malloc(c.mem, (total + 1) * sizeof *plist);
      if (!pstart || !plist) {
        rc = GG_ENOMEM;
        break;
      }
      uint32_t acc = 0;
      for (size_t ci = 0; ci < c.ncand; ci++) {
        pstart[ci] = acc;
        acc += pcount[ci];
        pcount[ci] = 0;
      }
    }
  }
  if (!rc) {
    /* the solvables: name = package id, evr = preference rank, arch noarch; provides its own
     * name and the dependency strings it satisfies; requires its dependencies */
    c.first_solvable = repo_add_solvable_block(c.repo, (int)c.ncand);
    char rank[16];
    for (size_t qi = c.norder; qi-- > 0;) { /* in solvable id order */
      uint32_t p = c.order[qi];
      Id name = pool_str2id(c.pool, u->pkgs[p].id, 1);
      uint32_t f = c.pkg_first[p], n = c.pkg_ncand[p];
      for (uint32_t ci = f; ci < f + n; ci++) {
        Solvable *s = c.pool->solvables + c.first_solvable + ci;
        snprintf(rank, sizeof rank, "%u", n - (ci - f));
        s->name = name;
        s->evr = pool_str2id(c.pool, rank, 1);
        s->arch = ARCH_NOARCH;
        s->provides =
            repo_addid_dep(c.repo, s->provides, pool_rel2id(c.pool, name, s->evr, REL_EQ, 1), 0);
        for (uint32_t j = 0; j < pcount[ci]; j++)
          s->provides = repo_addid_dep(c.repo, s->provides, plist[pstart[ci] + j], 0);
        for (uint32_t d = u->vers[c.cand[ci]].dep_first; d != NONE; d = u->deps[d].next) {
          uint32_t k;
          if ((rc = get_key(&c, u->deps[d].target, u->deps[d].range, &k))) break;
          s->requires = repo_addid_dep(c.repo, s->requires, c.keys[k].id, 0);
        }
        if (rc) break;
      }
      if (rc) break;
    }
  }
  gg_free(c.mem, pcount);
  gg_free(c.mem, pstart);
  gg_free(c.mem, plist);
  if (rc) goto done;
  repo_internalize(c.repo);
  pool_createwhatprovides(c.pool);

  /* jobs: the root requirements, then the locked versions as favourites */
  /* the roots in pub's order too: fewest matching versions first, ties to the later one */
  {
    size_t *ord = gg_malloc(c.mem, (nreqs + 1) * sizeof *ord);
    if (!ord) {
      rc = GG_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < nreqs; i++) {
      size_t x = nreqs - 1 - i, j = i;
      while (j > 0 && c.keys[req_key[ord[j - 1]]].nmatch > c.keys[req_key[x]].nmatch) {
        ord[j] = ord[j - 1];
        j--;
      }
      ord[j] = x;
    }
    for (size_t i = 0; i < nreqs; i++)
      queue_push2(&job, SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES, c.keys[req_key[ord[i]]].id);
    gg_free(c.mem, ord);
  }
  for (size_t i = 0; lock_ver && i < opts->nlocks; i++) {
    if (lock_ver[i] == NONE) continue;
    uint32_t p = u->vers[lock_ver[i]].pkg;
    if (!c.pkg_seen[p] || c.pkg_first[p] == NONE) continue;
    for (uint32_t ci = c.pkg_first[p]; ci < c.pkg_first[p] + c.pkg_ncand[p]; ci++)
      if (c.cand[ci] == lock_ver[i])
        queue_push2(&job, SOLVER_FAVOR | SOLVER_SOLVABLE, c.first_solvable + (Id)ci);
  }

  solv = solver_create(c.pool);
  int nprob = solver_solve(solv, &job);
  /* learnt rules are the last rule class (libsolv's counter is not public API) */
  for (Id rid = 1;; rid++) {
    SolverRuleinfo cls = solver_ruleclass(solv, rid);
    if (cls == SOLVER_RULE_UNKNOWN) break;
    if (cls == SOLVER_RULE_LEARNT) res->learned++;
  }
  if (nprob == 0) {
    Queue dq;
    queue_init(&dq);
    solver_get_decisionqueue(solv, &dq);
    size_t n = 0;
    for (int i = 0; i < dq.count; i++)
      if (dq.elements[i] > 0 && solvable_ver(&c, dq.elements[i]) != NONE) n++;
    res->picks = gg_calloc(c.mem, n ? n : 1, sizeof *res->picks);
    if (!res->picks) {
      queue_free(&dq);
      rc = GG_ENOMEM;
      goto done;
    }
    for (int i = 0; i < dq.count; i++) {
      uint32_t v = dq.elements[i] > 0 ? solvable_ver(&c, dq.elements[i]) : NONE;
      if (v == NONE) continue;
      pick *pk = &res->picks[res->npicks++];
      pk->id = u->pkgs[u->vers[v].pkg].id;
      pk->version = u->vers[v].str;
      pk->vid = v;
    }
    queue_free(&dq);
    qsort(res->picks, res->npicks, sizeof *res->picks, pick_cmp);
  } else {
    rc = build_explanation(&c, solv, nprob, res);
    if (!rc) rc = GG_EUNSAT;
  }

done:
  if (solv) solver_free(solv);
  queue_free(&job);
  gg_free(c.mem, req_key);
  gg_free(c.mem, req_pkg);
  gg_free(c.mem, req_rng);
  gg_free(c.mem, lock_ver);
  ctx_free(&c);
  if (rc == GG_OK || rc == GG_EUNSAT) {
    *out = res;
  } else {
    ggm_resolve_result_free(res);
  }
  return rc;
}

/* ================================================================================
 * Checking an assignment
 * ================================================================================ */

int ggm_resolve_check(ggm_resolve_universe *u, const ggm_resolve_req *reqs, size_t nreqs,
                      const ggm_resolve_lock *assigned, size_t nassigned,
                      const ggm_resolve_opts *opts, char *why, size_t whylen) {
  if (!u || (nreqs && !reqs) || (nassigned && !assigned)) return GG_EINVAL;
  solve_ctx c; /* only for pkg_incpr */
  memset(&c, 0, sizeof c);
  c.u = u;
  c.flags = opts ? opts->flags : 0;
  int rc = GG_OK;
  char msg[512] = "";
  /* package -> assigned version */
  uint32_t *pick_of = gg_malloc(u->mem, (u->npkgs + 1) * sizeof *pick_of);
  if (!pick_of) return GG_ENOMEM;
  for (size_t p = 0; p < u->npkgs; p++) pick_of[p] = NONE;
  for (size_t i = 0; i < nassigned && !rc; i++) {
    const char *id = assigned[i].id, *vs = assigned[i].version;
    uint32_t p = id && vs ? find_pkg(u, id) : NONE;
    uint32_t v = NONE;
    if (p != NONE) {
      strkey k = {u, vs, strlen(vs), p};
      v = ht_find(&u->ver_ix, ver_hash(p, k.s, k.n), ver_eq, &k);
    }
    if (v == NONE) {
      snprintf(msg, sizeof msg, "%s %s is not a known version", id ? id : "(null)",
               vs ? vs : "(null)");
      rc = GG_ENOTFOUND;
    } else if (pick_of[p] != NONE) {
      snprintf(msg, sizeof msg, "%s is assigned twice", id);
      rc = GG_EEXIST;
    } else {
      pick_of[p] = v;
    }
  }
  /* the roots */
  for (size_t i = 0; i < nreqs && !rc; i++) {
    uint32_t r;
    if (!valid_id(reqs[i].id)) {
      rc = GG_EINVAL;
      break;
    }
    if ((rc = intern_range(u, reqs[i].range, &r))) break;
    uint32_t p = find_pkg(u, reqs[i].id);
    uint32_t v = p == NONE ? NONE : pick_of[p];
    const ggm_semver_range *rg;
    if (v != NONE && (rc = range_for(u, r, pkg_incpr(&c, p), &rg))) break;
    if (v == NONE || !ggm_semver_range_test(rg, &u->vers[v].v)) {
      snprintf(msg, sizeof msg, "the root requires %s %s, but %s %s", reqs[i].id,
               *u->rngs[r].str ? u->rngs[r].str : "*", v == NONE ? "no version of" : reqs[i].id,
               v == NONE ? reqs[i].id : u->vers[v].str);
      if (v == NONE) {
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, " is assigned");
      } else {
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, " does not match");
      }
      rc = GG_EUNSAT;
    }
  }
  /* every dependency of every assigned version */
  for (size_t p = 0; p < u->npkgs && !rc; p++) {
    if (pick_of[p] == NONE) continue;
    const uver *v = &u->vers[pick_of[p]];
    for (uint32_t d = v->dep_first; d != NONE && !rc; d = u->deps[d].next) {
      uint32_t t = u->deps[d].target, tv = pick_of[t];
      const ggm_semver_range *rg;
      if (tv != NONE && (rc = range_for(u, u->deps[d].range, pkg_incpr(&c, t), &rg))) break;
      if (tv == NONE || !ggm_semver_range_test(rg, &u->vers[tv].v)) {
        const char *rs = u->rngs[u->deps[d].range].str;
        snprintf(msg, sizeof msg, "%s %s depends on %s %s, but %s%s%s", u->pkgs[p].id, v->str,
                 u->pkgs[t].id, *rs ? rs : "*", tv == NONE ? "it is not assigned" : u->pkgs[t].id,
                 tv == NONE ? "" : " ", tv == NONE ? "" : u->vers[tv].str);
        rc = GG_EUNSAT;
      }
    }
  }
  gg_free(u->mem, pick_of);
  if (rc && why && whylen) snprintf(why, whylen, "%s", msg[0] ? msg : gg_strerror(rc));
  return rc;
}
