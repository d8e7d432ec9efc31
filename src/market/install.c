/*
 * Installing packs into a project (include/ggen/install.h, docs/install.md): the commands
 * install, update, remove and list, on top of the transaction engine in install_txn.c.
 *
 * An operation runs in four steps, and nothing on disk changes before the last:
 *   1. open the project (flock, recovery of an interrupted transaction), read ggen.lock and
 *      the project's own gpack.toml;
 *   2. compute the new set of packs ("the plan"): resolution against the catalog (install,
 *      update), the lockfile itself (--frozen), or pruning of the lock's graph (remove);
 *   3. compare it with the old lock and the disk: each pack is kept, added, upgraded,
 *      downgraded, reinstalled or removed;
 *   4. for every pack to (re)install: decode and verify its signed release record from the
 *      catalog, check it names this id, version and CID and that its key owns the id, read
 *      the archive from the blob store hashing it against the CID, place the tree in the
 *      staging directory; then commit the transaction with the new lockfile.
 * A plan that changes nothing writes nothing (not even `generated`), so a repeated install is
 * a read-only check of the lock, the catalog and the installed manifests.
 *
 * The roots of a project are: packs the user asked for (the lock's `requested`), packs of a
 * lock written by ggen itself that no other pack depends on (ggen records no roots), the
 * [dependencies] of <project>/gpack.toml, and the packs named on the command line.
 */
#include "ggen/install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/lockfile.h"
#include "ggen/manifest.h"
#include "ggen/pack.h"
#include "ggen/release.h"
#include "ggen/resolve.h"
#include "ggen/semver.h"
#include "install_int.h"

#define MSGCAP 640

/* ---- a pool of strings owned by a result ------------------------------------------------------
 */

typedef struct pool {
  char **v;
  size_t n, cap;
} pool;

/* A zeroed block of n bytes owned by the pool, or NULL. */
static void *pool_alloc(pool *p, size_t n) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 64;
    char **nv = realloc(p->v, nc * sizeof(char *));
    if (!nv) return NULL;
    p->v = nv;
    p->cap = nc;
  }
  char *d = calloc(1, n ? n : 1);
  if (d) p->v[p->n++] = d;
  return d;
}

static const char *pool_dup(pool *p, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = pool_alloc(p, n);
  if (d) memcpy(d, s, n);
  return d;
}

static void pool_free(pool *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->v[i]);
  free(p->v);
  free(p);
}

__attribute__((format(printf, 2, 3))) static void say(char *msg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, MSGCAP, fmt, ap);
  va_end(ap);
}

/* ---- the plan
 * ------------------------------------------------------------------------------------ */

typedef struct ppack {
  const char *id, *version, *cid, *sha256, *source, *requested;
  const char **deps;
  size_t n_deps;
  const char *old_version;
  int action;
} ppack;

typedef struct plan {
  ppack *v;
  size_t n, cap;
  pool *strs;         /* every string of the plan */
  const char ***depv; /* dependency arrays to free */
  size_t ndepv, capdepv;
} plan;

static ppack *plan_add(plan *pl) {
  if (pl->n == pl->cap) {
    size_t nc = pl->cap ? pl->cap * 2 : 32;
    ppack *nv = realloc(pl->v, nc * sizeof(ppack));
    if (!nv) return NULL;
    pl->v = nv;
    pl->cap = nc;
  }
  ppack *p = &pl->v[pl->n++];
  memset(p, 0, sizeof(*p));
  return p;
}

static const char **plan_deps(plan *pl, size_t n) {
  if (pl->ndepv == pl->capdepv) {
    size_t nc = pl->capdepv ? pl->capdepv * 2 : 32;
    const char ***nv = realloc(pl->depv, nc * sizeof(*nv));
    if (!nv) return NULL;
    pl->depv = nv;
    pl->capdepv = nc;
  }
  const char **d = calloc(n ? n : 1, sizeof(char *));
  if (d) pl->depv[pl->ndepv++] = d;
  return d;
}

static void plan_free(plan *pl) {
  for (size_t i = 0; i < pl->ndepv; i++) free(pl->depv[i]);
  free(pl->depv);
  free(pl->v);
  memset(pl, 0, sizeof(*pl));
}

static int cmp_ppack(const void *a, const void *b) {
  return strcmp(((const ppack *)a)->id, ((const ppack *)b)->id);
}

static ppack *plan_find(plan *pl, const char *id) {
  for (size_t i = 0; i < pl->n; i++)
    if (!strcmp(pl->v[i].id, id)) return &pl->v[i];
  return NULL;
}

/* ---- shared state of one operation -------------------------------------------------------------
 */

typedef struct op {
  const char *project;
  const ggm_install_env *env;
  const ggm_install_opts *o;
  ggm_install_opts defopts;
  ggm__project p;
  int opened;
  gg_buf lockbytes; /* ggen.lock as read */
  ggm_lock lock;
  int has_lock;
  ggm_manifest man; /* <project>/gpack.toml */
  int has_man;
  plan pl;
  ggm_install_result *res;
  pool *strs;
  char *msg;
} op;

static void progress(op *c, int phase, size_t done, size_t total, const char *id) {
  if (c->o->progress) c->o->progress(c->o->progress_ud, phase, done, total, id);
}

static int op_init(op *c, const char *project, const ggm_install_env *env,
                   const ggm_install_opts *o, ggm_install_result **out) {
  memset(c, 0, sizeof(*c));
  c->project = project;
  c->env = env;
  c->o = o ? o : &c->defopts;
  gg_buf_init(&c->lockbytes, NULL, GGM_LOCK_MAX_SIZE + 1);
  *out = c->res = calloc(1, sizeof(ggm_install_result));
  if (!c->res) return GG_ENOMEM;
  c->strs = calloc(1, sizeof(pool));
  if (!c->strs) return GG_ENOMEM;
  c->res->priv_ = c->strs;
  c->pl.strs = c->strs;
  c->msg = c->res->msg;
  return GG_OK;
}

static void op_done(op *c) {
  if (c->opened) ggm__project_close(&c->p);
  ggm_lock_free(&c->lock);
  ggm_manifest_free(&c->man);
  gg_buf_free(&c->lockbytes);
  plan_free(&c->pl);
}

/* Reads a manifest file of a directory (gpack.toml, else package.toml) relative to dirfd. */
static int read_manifest_at(int dirfd, const char *label, ggm_manifest *m, char *msg) {
  static const char *names[] = {"gpack.toml", "package.toml"};
  for (int i = 0; i < 2; i++) {
    gg_buf b;
    gg_buf_init(&b, NULL, 1u << 24);
    int rv = ggm__read_file_at(dirfd, names[i], &b, 1u << 23);
    if (rv == GG_ENOTFOUND) {
      gg_buf_free(&b);
      continue;
    }
    if (rv == GG_OK) {
      char name[300];
      snprintf(name, sizeof name, "%s%s", label, names[i]);
      ggm_toml_error e;
      rv = ggm_manifest_parse(m, name, gg_buf_ptr(&b), gg_buf_len(&b), 0, NULL, &e);
      if (rv != GG_OK && msg) say(msg, "%s", e.msg);
    } else if (msg) {
      say(msg, "cannot read %s%s: %s", label, names[i], gg_strerror(rv));
    }
    gg_buf_free(&b);
    return rv;
  }
  return GG_ENOTFOUND;
}

/* Step 1: project, lockfile, manifest. */
static int op_open(op *c, int create) {
  int rv = ggm__project_open(&c->p, c->project, create, c->msg, MSGCAP);
  if (rv) return rv;
  c->opened = 1;
  c->res->recovered = c->p.recovered;
  rv = ggm__read_file_at(c->p.fd, GGM_INSTALL_LOCKFILE, &c->lockbytes, GGM_LOCK_MAX_SIZE);
  if (rv == GG_OK) {
    ggm_toml_error e;
    rv = ggm_lock_parse(&c->lock, GGM_INSTALL_LOCKFILE, gg_buf_ptr(&c->lockbytes),
                        gg_buf_len(&c->lockbytes), NULL, &e);
    if (rv) {
      say(c->msg, "%s (fix or delete the lockfile)", e.msg);
      return GG_EINVAL;
    }
    c->has_lock = 1;
  } else if (rv != GG_ENOTFOUND) {
    say(c->msg, "cannot read %s/ggen.lock: %s", c->project, gg_strerror(rv));
    return rv;
  }
  rv = read_manifest_at(c->p.fd, "", &c->man, c->msg);
  if (rv == GG_OK)
    c->has_man = 1;
  else if (rv != GG_ENOTFOUND)
    return rv == GG_EPARSE || rv == GG_ELIMIT ? GG_EINVAL : rv;
  return GG_OK;
}

/* ---- roots ------------------------------------------------------------------------------------
 */

typedef struct root {
  const char *id, *range;
  int record;  /* recorded as `requested` in the new lock */
  int fresh;   /* named now without a range: record "^chosen" */
  int no_deps; /* named with --no-dependencies */
} root;

typedef struct roots {
  root v[GGM_INSTALL_MAX_REQS + GGM_LOCK_MAX_PACKS + GGM_MANIFEST_DEPS_MAX];
  size_t n;
} roots;

static root *roots_find(roots *r, const char *id) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->v[i].id, id)) return &r->v[i];
  return NULL;
}

/* 1 when no pack of the lock depends on id. */
static int lock_top_level(const ggm_lock *l, const char *id) {
  size_t il = strlen(id);
  for (size_t i = 0; i < l->n_packs; i++)
    for (size_t j = 0; j < l->packs[i].n_deps; j++) {
      const char *d = l->packs[i].deps[j];
      if (!strncmp(d, id, il) && d[il] == '@') return 0;
    }
  return 1;
}

/* Roots kept from the old lock: `requested` packs, and for a lock without any `requested`
 * (written by ggen) its top-level packs, as "^version". */
static int roots_from_lock(op *c, roots *r, const char *const *drop, size_t ndrop) {
  if (!c->has_lock) return GG_OK;
  int any_requested = 0;
  for (size_t i = 0; i < c->lock.n_packs; i++) any_requested |= c->lock.packs[i].requested != NULL;
  for (size_t i = 0; i < c->lock.n_packs; i++) {
    const ggm_lock_pack *p = &c->lock.packs[i];
    int dropped = 0;
    for (size_t k = 0; k < ndrop; k++) dropped |= !strcmp(drop[k], p->id);
    if (dropped) continue;
    const char *range = p->requested;
    if (!range && !any_requested && lock_top_level(&c->lock, p->id)) {
      char buf[GGM_MANIFEST_VERSION_MAX + 2];
      snprintf(buf, sizeof buf, "^%s", p->version);
      range = pool_dup(c->strs, buf);
      if (!range) return GG_ENOMEM;
    }
    if (!range) continue;
    root *x = &r->v[r->n++];
    *x = (root){p->id, range, 1, 0, 0};
  }
  return GG_OK;
}

static int roots_from_manifest(op *c, roots *r) {
  if (!c->has_man) return GG_OK;
  for (size_t i = 0; i < c->man.n_deps; i++) {
    root *x = roots_find(r, c->man.deps[i].id);
    if (x) {
      x->range = c->man.deps[i].range; /* the project's manifest has the last word */
      continue;
    }
    x = &r->v[r->n++];
    *x = (root){c->man.deps[i].id, c->man.deps[i].range, 0, 0, 0};
  }
  return GG_OK;
}

static int check_range(op *c, const char *id, const char *range) {
  ggm_semver_range *rg = NULL;
  int rv = ggm_semver_range_parse(&rg, range, strlen(range), 0, NULL);
  ggm_semver_range_free(rg);
  if (rv)
    say(c->msg, "bad version range '%s' for %s (npm range syntax: ^1.2, ~1.2.3, >=1 <2, 1.x)",
        range, id);
  return rv ? GG_EINVAL : GG_OK;
}

static int check_reqs(op *c, const ggm_install_req *reqs, size_t n) {
  if (n > GGM_INSTALL_MAX_REQS) {
    say(c->msg, "too many packages in one command (at most %d)", GGM_INSTALL_MAX_REQS);
    return GG_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    if (!reqs[i].id || ggm_manifest_check_id(reqs[i].id, strlen(reqs[i].id)) != GG_OK) {
      say(c->msg, "'%s' is not a package id (lower-case dotted segments such as io.ggen.rust.cli)",
          reqs[i].id ? reqs[i].id : "");
      return GG_EINVAL;
    }
    if (reqs[i].range && check_range(c, reqs[i].id, reqs[i].range)) return GG_EINVAL;
    for (size_t k = 0; k < i; k++)
      if (!strcmp(reqs[k].id, reqs[i].id)) {
        say(c->msg, "%s is named twice", reqs[i].id);
        return GG_EINVAL;
      }
  }
  return GG_OK;
}

/* ---- resolution against the catalog ------------------------------------------------------------
 */

typedef struct bfs {
  op *c;
  ggm_resolve_universe *u;
  const char **queue; /* ids to visit (pooled) */
  size_t nq, capq, head;
  const char *cur;
  int cur_no_deps;
  size_t installable, total;
  int err;
} bfs;

static int bfs_seen(bfs *b, const char *id) {
  for (size_t i = 0; i < b->nq; i++)
    if (!strcmp(b->queue[i], id)) return 1;
  return 0;
}

static int bfs_push(bfs *b, const char *id) {
  if (bfs_seen(b, id)) return GG_OK;
  if (b->nq == b->capq) {
    size_t nc = b->capq ? b->capq * 2 : 64;
    const char **nv = realloc(b->queue, nc * sizeof(char *));
    if (!nv) return GG_ENOMEM;
    b->queue = nv;
    b->capq = nc;
  }
  const char *d = pool_dup(b->c->strs, id);
  if (!d) return GG_ENOMEM;
  b->queue[b->nq++] = d;
  return GG_OK;
}

static int range_parses(const char *r) {
  ggm_semver_range *rg = NULL;
  int rv = ggm_semver_range_parse(&rg, r, strlen(r), 0, NULL);
  ggm_semver_range_free(rg);
  return rv == GG_OK;
}

static int bfs_version(void *ud, const ggs_catalog_vinfo *v) {
  bfs *b = ud;
  b->total++;
  /* Only versions with an archive and a signed record can be installed; an entry imported
   * from ggen's JSON index has neither. Versions with a malformed dependency are left out. */
  if (!v->cid || !v->record) return 0;
  if (ggm_manifest_check_version(v->version, strlen(v->version)) != GG_OK) return 0;
  if (!b->cur_no_deps)
    for (size_t i = 0; i < v->n_deps; i++)
      if (!range_parses(v->deps[i].range && v->deps[i].range[0] ? v->deps[i].range : "*")) return 0;
  uint32_t vid;
  int rv =
      ggm_resolve_add_version(b->u, b->cur, v->version, v->yanked ? GGM_RESOLVE_YANKED : 0, &vid);
  if (rv == GG_EEXIST || rv == GG_EPARSE) return 0;
  if (rv) {
    b->err = rv;
    return 1;
  }
  b->installable++;
  if (b->cur_no_deps) return 0;
  for (size_t i = 0; i < v->n_deps; i++) {
    const char *r = v->deps[i].range && v->deps[i].range[0] ? v->deps[i].range : "*";
    if ((rv = ggm_resolve_add_dep(b->u, vid, v->deps[i].id, r)) ||
        (rv = bfs_push(b, v->deps[i].id))) {
      b->err = rv;
      return 1;
    }
  }
  return 0;
}

/* Builds the universe of every version reachable from the roots. */
static int build_universe(op *c, roots *r, ggm_resolve_universe *u) {
  bfs b = {.c = c, .u = u};
  int rv = GG_OK;
  for (size_t i = 0; i < r->n && !rv; i++) rv = bfs_push(&b, r->v[i].id);
  while (!rv && b.head < b.nq) {
    const char *id = b.queue[b.head++];
    root *rt = roots_find(r, id);
    b.cur = id;
    b.cur_no_deps = rt && rt->no_deps;
    b.installable = b.total = 0;
    b.err = 0;
    rv = ggs_catalog_each_version(c->env->catalog, id, bfs_version, &b);
    if (rv == GG_ENOTFOUND || (rv == GG_OK && b.total == 0)) {
      rv = GG_OK;
      if (rt) {
        say(c->msg,
            "unknown package %s: it is not in the local catalog (try `ggen marketplace search`)",
            id);
        rv = GG_ENOTFOUND;
      }
      continue; /* an unknown dependency: the resolver explains who needs it */
    }
    if (b.err)
      rv = b.err;
    else if (rv)
      say(c->msg, "catalog: %s", ggs_catalog_errmsg(c->env->catalog));
    else if (rt && b.installable == 0) {
      say(c->msg,
          "%s is known from an imported index only: no version has a signed archive on this node",
          id);
      rv = GG_ENOTFOUND;
    }
  }
  free(b.queue);
  return rv;
}

static void sha_hex(const uint8_t cid[GGM_CID_LEN], char out[65]) {
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", cid[4 + i]);
}

/* Fills the plan with the solution: versions, CIDs and dependencies from the catalog. */
static int plan_from_solution(op *c, roots *r, ggm_resolve_result *sol) {
  size_t n = ggm_resolve_result_count(sol);
  for (size_t i = 0; i < n; i++) {
    const char *id, *version;
    uint32_t vid;
    ggm_resolve_result_get(sol, i, &id, &version, &vid);
    ggs_catalog_info *info = NULL;
    int rv = ggs_catalog_get(c->env->catalog, id, version, &info);
    if (rv) {
      say(c->msg, "catalog lookup of %s@%s failed: %s", id, version, gg_strerror(rv));
      return rv;
    }
    const ggs_catalog_vinfo *v = &info->versions[0];
    ppack *p = plan_add(&c->pl);
    uint8_t cid[GGM_CID_LEN];
    char sha[65];
    if (!p || ggm_pack_cid_parse(v->cid, cid) != GG_OK) {
      ggs_catalog_info_free(info);
      if (p) say(c->msg, "the catalog's CID of %s@%s is malformed", id, version);
      return p ? GG_EINTEGRITY : GG_ENOMEM;
    }
    char text[GGM_CID_TEXT_MAX];
    ggm_pack_cid_text(cid, text);
    sha_hex(cid, sha);
    root *rt = roots_find(r, id);
    p->id = pool_dup(c->strs, id);
    p->version = pool_dup(c->strs, version);
    p->cid = pool_dup(c->strs, text);
    p->sha256 = pool_dup(c->strs, sha);
    p->source = pool_dup(c->strs, v->source ? v->source : "local");
    if (rt && rt->record) {
      if (rt->fresh) {
        char buf[GGM_MANIFEST_VERSION_MAX + 2];
        snprintf(buf, sizeof buf, "^%s", version);
        p->requested = pool_dup(c->strs, buf);
      } else {
        p->requested = pool_dup(c->strs, rt->range);
      }
    }
    int no_deps = rt && rt->no_deps;
    p->deps = plan_deps(&c->pl, v->n_deps);
    for (size_t k = 0; p->deps && !no_deps && k < v->n_deps; k++) {
      const char *dv = ggm_resolve_result_version_of(sol, v->deps[k].id);
      if (!dv) continue; /* cannot happen for a solution */
      char buf[GGM_MANIFEST_ID_MAX + GGM_MANIFEST_VERSION_MAX + 2];
      snprintf(buf, sizeof buf, "%s@%s", v->deps[k].id, dv);
      int dup = 0;
      for (size_t q = 0; q < p->n_deps; q++) dup |= !strcmp(p->deps[q], buf);
      if (!dup) p->deps[p->n_deps++] = pool_dup(c->strs, buf);
    }
    ggs_catalog_info_free(info);
    if (!p->id || !p->version || !p->cid || !p->sha256 || !p->source || !p->deps) return GG_ENOMEM;
    if (ggm_manifest_check_id(p->id, strlen(p->id)) != GG_OK) {
      say(c->msg, "%s is not a package id this installer can place on disk", p->id);
      return GG_EINVAL;
    }
  }
  return GG_OK;
}

static int resolve(op *c, roots *r, const char *const *unlock, size_t nunlock, int unlock_all) {
  progress(c, GGM_INSTALL_PHASE_RESOLVE, 0, 1, NULL);
  if (!c->env || !c->env->catalog) {
    say(c->msg, "no catalog to resolve against");
    return GG_EINVAL;
  }
  ggm_resolve_universe *u = NULL;
  int rv = ggm_resolve_universe_new(&u, NULL, NULL);
  if (rv) return rv;
  rv = build_universe(c, r, u);
  ggm_resolve_req *reqs = calloc(r->n ? r->n : 1, sizeof(*reqs));
  ggm_resolve_lock *locks = calloc(c->lock.n_packs ? c->lock.n_packs : 1, sizeof(*locks));
  if (!rv && (!reqs || !locks)) rv = GG_ENOMEM;
  ggm_resolve_result *sol = NULL;
  if (!rv) {
    for (size_t i = 0; i < r->n; i++) reqs[i] = (ggm_resolve_req){r->v[i].id, r->v[i].range};
    size_t nl = 0;
    for (size_t i = 0; !unlock_all && i < c->lock.n_packs; i++) {
      int skip = 0;
      for (size_t k = 0; k < nunlock; k++) skip |= !strcmp(unlock[k], c->lock.packs[i].id);
      if (!skip) locks[nl++] = (ggm_resolve_lock){c->lock.packs[i].id, c->lock.packs[i].version};
    }
    ggm_resolve_opts ro = {0, locks, nl};
    rv = ggm_resolve_solve(u, reqs, r->n, &ro, &sol);
    if (rv == GG_EUNSAT) {
      const char *ex = ggm_resolve_result_explain(sol);
      c->res->explain = strdup(ex ? ex : "no explanation\n");
      say(c->msg, "the requested packages and their dependencies cannot all be satisfied");
    } else if (rv == GG_OK) {
      rv = plan_from_solution(c, r, sol);
    } else if (rv == GG_EPARSE) {
      say(c->msg, "a requested range does not parse");
      rv = GG_EINVAL;
    }
  }
  ggm_resolve_result_free(sol);
  free(reqs);
  free(locks);
  ggm_resolve_universe_del(u);
  progress(c, GGM_INSTALL_PHASE_RESOLVE, 1, 1, NULL);
  return rv;
}

/* ---- comparing the plan with the old state -----------------------------------------------------
 */

/* The version of the tree installed at .ggen/packs/<id> (its manifest), or NULL. */
static const char *disk_version(op *c, const char *id, int *broken) {
  *broken = 0;
  if (c->p.ggfd < 0) return NULL;
  char rel[GGM_MANIFEST_ID_MAX + 8];
  snprintf(rel, sizeof rel, "packs/%s", id);
  int fd = openat(c->p.ggfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return NULL;
  ggm_manifest m;
  const char *v = NULL;
  if (read_manifest_at(fd, "", &m, NULL) == GG_OK) {
    if (!strcmp(m.id, id))
      v = pool_dup(c->strs, m.version);
    else
      *broken = 1;
    ggm_manifest_free(&m);
  } else {
    *broken = 1;
  }
  close(fd);
  return v;
}

static int semver_order(const char *a, const char *b) {
  ggm_semver x = {0}, y = {0};
  int r = 0;
  if (ggm_semver_parse(&x, a, strlen(a), 0, NULL) == GG_OK &&
      ggm_semver_parse(&y, b, strlen(b), 0, NULL) == GG_OK)
    r = ggm_semver_cmp_build(&x, &y);
  ggm_semver_free(&x);
  ggm_semver_free(&y);
  return r;
}

/* Sets each plan pack's action and adds REMOVE entries; fills the result's changes. */
static int diff(op *c) {
  int force = (c->o->flags & GGM_INSTALL_FORCE) != 0;
  if (c->pl.n) qsort(c->pl.v, c->pl.n, sizeof(ppack), cmp_ppack);
  size_t nnew = c->pl.n;
  for (size_t i = 0; i < nnew; i++) {
    ppack *p = &c->pl.v[i];
    const ggm_lock_pack *o = c->has_lock ? ggm_lock_find(&c->lock, p->id) : NULL;
    if (!o) {
      p->action = GGM_INSTALL_ADD;
      continue;
    }
    p->old_version = o->version;
    int ord = semver_order(p->version, o->version);
    if (ord > 0)
      p->action = GGM_INSTALL_UPGRADE;
    else if (ord < 0 || strcmp(p->version, o->version))
      p->action = GGM_INSTALL_DOWNGRADE;
    else {
      int broken;
      const char *dv = disk_version(c, p->id, &broken);
      uint8_t a[GGM_CID_LEN], b[GGM_CID_LEN];
      int same_cid = !o->cid || (ggm_pack_cid_parse(o->cid, a) == GG_OK &&
                                 ggm_pack_cid_parse(p->cid, b) == GG_OK && !memcmp(a, b, sizeof a));
      if (force || !dv || strcmp(dv, p->version) || !same_cid)
        p->action = GGM_INSTALL_REINSTALL;
      else
        p->action = GGM_INSTALL_KEEP;
    }
  }
  for (size_t i = 0; c->has_lock && i < c->lock.n_packs; i++) {
    const ggm_lock_pack *o = &c->lock.packs[i];
    int found = 0;
    for (size_t k = 0; k < nnew && !found; k++) found = !strcmp(c->pl.v[k].id, o->id);
    if (found) continue;
    ppack *p = plan_add(&c->pl);
    if (!p) return GG_ENOMEM;
    p->id = o->id;
    p->old_version = o->version;
    p->action = GGM_INSTALL_REMOVE;
  }
  if (c->pl.n) qsort(c->pl.v, c->pl.n, sizeof(ppack), cmp_ppack);
  ggm_install_result *res = c->res;
  res->changes = calloc(c->pl.n ? c->pl.n : 1, sizeof(ggm_install_change));
  if (!res->changes) return GG_ENOMEM;
  for (size_t i = 0; i < c->pl.n; i++) {
    ppack *p = &c->pl.v[i];
    ggm_install_change *ch = &res->changes[res->n_changes++];
    ch->id = pool_dup(c->strs, p->id);
    ch->old_version = pool_dup(c->strs, p->old_version);
    ch->new_version = p->action == GGM_INSTALL_REMOVE ? NULL : pool_dup(c->strs, p->version);
    ch->cid = p->action == GGM_INSTALL_REMOVE ? NULL : pool_dup(c->strs, p->cid);
    ch->requested = pool_dup(c->strs, p->requested);
    ch->action = p->action;
    if (p->action != GGM_INSTALL_KEEP) res->n_changed++;
  }
  return GG_OK;
}

/* ---- verification and staging
 * -------------------------------------------------------------------- */

/* Checks the signed record of id@version in the catalog against the plan and opens the
 * archive (hashed against its CID). *fd is the open archive on GG_OK. */
static int fetch(op *c, const ppack *p, int *fd) {
  ggs_catalog_info *info = NULL;
  int rv = ggs_catalog_get(c->env->catalog, p->id, p->version, &info);
  if (rv) {
    say(c->msg, "%s@%s is not in the local catalog", p->id, p->version);
    return rv == GG_ENOTFOUND ? GG_ENOTFOUND : rv;
  }
  const ggs_catalog_vinfo *v = &info->versions[0];
  ggm_release r;
  uint8_t cid[GGM_CID_LEN];
  if (!v->record) {
    say(c->msg, "%s@%s has no signed release record on this node", p->id, p->version);
    rv = GG_ENOTFOUND;
    goto out;
  }
  rv = ggm_release_decode(v->record, v->record_len, &r, NULL);
  if (rv) {
    say(c->msg, "the release record of %s@%s is invalid: %s", p->id, p->version, gg_strerror(rv));
    rv = rv == GG_EBADSIG ? GG_EBADSIG : GG_EINTEGRITY;
    goto out;
  }
  ggm_pack_cid_parse(p->cid, cid);
  if (strcmp(r.id, p->id) || strcmp(r.version, p->version) ||
      memcmp(r.archive_cid, cid, sizeof cid)) {
    say(c->msg, "the release record of %s@%s names another package, version or archive than %s",
        p->id, p->version, c->o->flags & GGM_INSTALL_FROZEN ? "ggen.lock" : "the catalog");
    rv = GG_EINTEGRITY;
    goto rel;
  }
  uint8_t owner[64];
  size_t olen;
  if (ggs_catalog_owner(c->env->catalog, p->id, owner, sizeof owner, &olen) == GG_OK &&
      (olen != GG_ED25519_PUB || ggm_release_check_owner(&r, owner) != GG_OK)) {
    say(c->msg, "%s@%s is signed by a key that does not own %s", p->id, p->version, p->id);
    rv = GG_EOWNER;
    goto rel;
  }
  uint64_t size = 0;
  rv = ggs_blob_get(c->env->store, cid, GGS_BLOB_VERIFY, fd, &size);
  if (rv == GG_ENOTFOUND) {
    say(c->msg, "the archive of %s@%s (%s) is not in the local store", p->id, p->version, p->cid);
  } else if (rv == GG_EINTEGRITY) {
    say(c->msg,
        "the cached archive of %s@%s (%s) is corrupt: it was removed from the store; "
        "nothing was installed",
        p->id, p->version, p->cid);
  } else if (rv) {
    say(c->msg, "cannot read the archive of %s@%s: %s", p->id, p->version, gg_strerror(rv));
  } else if (size != r.archive_size) {
    close(*fd);
    say(c->msg, "the archive of %s@%s has %llu bytes, its record says %llu", p->id, p->version,
        (unsigned long long)size, (unsigned long long)r.archive_size);
    rv = GG_EINTEGRITY;
  }
rel:
  ggm_release_free(&r);
out:
  ggs_catalog_info_free(info);
  return rv;
}

static int now_text(op *c, char out[32]) {
  time_t t = c->o->now ? (time_t)c->o->now : time(NULL);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return GG_EINVAL;
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return GG_OK;
}

/* The new lockfile's bytes for the plan (generated = gen). */
static int plan_lock(op *c, const char *gen, gg_buf *out) {
  ggm_lock_pack *packs = calloc(c->pl.n ? c->pl.n : 1, sizeof(*packs));
  if (!packs) return GG_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->pl.n; i++) {
    const ppack *p = &c->pl.v[i];
    if (p->action == GGM_INSTALL_REMOVE) continue;
    packs[n++] = (ggm_lock_pack){p->id,  p->version,   p->sha256, p->source,
                                 p->cid, p->requested, p->deps,   p->n_deps};
  }
  ggm_lock l = {.version = GGM_LOCK_FORMAT, .generated = gen, .packs = packs, .n_packs = n};
  int rv = ggm_lock_write(&l, out);
  free(packs);
  return rv;
}

/* Step 4: stage what changed and commit with the new lockfile. */
static int apply(op *c, int rewrite_lock) {
  ggm_install_result *res = c->res;
  gg_buf lock;
  gg_buf_init(&lock, NULL, GGM_LOCK_MAX_SIZE);
  int rv;
  if (rewrite_lock) {
    /* `generated` changes only with the content: a lock that comes out the same with the
     * old timestamp is kept byte for byte (and with unchanged packs nothing is written). */
    rv = plan_lock(c, c->has_lock ? c->lock.generated : NULL, &lock);
    if (rv) goto out;
    int same = c->has_lock && gg_buf_len(&lock) == gg_buf_len(&c->lockbytes) &&
               !memcmp(gg_buf_ptr(&lock), gg_buf_ptr(&c->lockbytes), gg_buf_len(&lock));
    if (same && res->n_changed == 0) goto out;
    if (!same) {
      char gen[32];
      now_text(c, gen);
      gg_buf_reset(&lock);
      if ((rv = plan_lock(c, gen, &lock))) goto out;
    }
  } else {
    if (res->n_changed == 0) {
      rv = GG_OK;
      goto out;
    }
    rv = gg_buf_append(&lock, gg_buf_ptr(&c->lockbytes), gg_buf_len(&c->lockbytes));
    if (rv) goto out;
  }
  if (c->o->flags & GGM_INSTALL_DRY_RUN) {
    rv = GG_OK;
    goto out;
  }
  if ((rv = ggm__project_ensure(&c->p))) {
    say(c->msg, "cannot create %s/.ggen/packs: %s", c->project, strerror(errno));
    goto out;
  }
  ggm__txn t;
  if ((rv = ggm__txn_begin(&t, &c->p))) {
    say(c->msg, "cannot create a staging directory in %s/.ggen: %s", c->project, strerror(errno));
    goto out;
  }
  char stage_rel[96], stage_path[4200];
  ggm__txn_stage_rel(&t, stage_rel, sizeof stage_rel);
  snprintf(stage_path, sizeof stage_path, "%s/%s", c->project, stage_rel);
  size_t total = 0, done = 0;
  for (size_t i = 0; i < c->pl.n; i++)
    total += c->pl.v[i].action != GGM_INSTALL_KEEP && c->pl.v[i].action != GGM_INSTALL_REMOVE;
  int link_ok = !(c->o->flags & GGM_INSTALL_COPY) && c->env && c->env->home;
  for (size_t i = 0; i < c->pl.n && !rv; i++) {
    ppack *p = &c->pl.v[i];
    if (p->action == GGM_INSTALL_REMOVE) {
      rv = ggm__txn_add_remove(&t, p->id);
      continue;
    }
    if (p->action == GGM_INSTALL_KEEP) continue;
    progress(c, GGM_INSTALL_PHASE_FETCH, done, total, p->id);
    int fd = -1;
    if ((rv = fetch(c, p, &fd))) break;
    progress(c, GGM_INSTALL_PHASE_UNPACK, done, total, p->id);
    ggm__tree_stats st = {0};
    char why[400] = "";
    rv = ggm__tree_place(c->env->home, p->cid, fd, t.stagefd, stage_path, p->id, link_ok, &st, why,
                         sizeof why);
    close(fd);
    if (rv) {
      if (rv == GG_EUNSAFE || rv == GG_EPARSE)
        say(c->msg, "the archive of %s@%s is refused: %s; nothing was installed", p->id, p->version,
            why);
      else
        say(c->msg, "cannot unpack %s@%s: %s", p->id, p->version, why[0] ? why : gg_strerror(rv));
      if (rv == GG_EPARSE) rv = GG_EINTEGRITY;
      break;
    }
    res->files_linked += st.linked;
    res->files_copied += st.copied;
    rv = ggm__txn_add_replace(&t, p->id);
    done++;
    ggm__crash_point("stage");
  }
  if (rv) {
    ggm__txn_abort(&t);
    goto out;
  }
  progress(c, GGM_INSTALL_PHASE_COMMIT, total, total, NULL);
  rv = ggm__txn_commit(&t, gg_buf_ptr(&lock), gg_buf_len(&lock), c->msg, MSGCAP);
out:
  gg_buf_free(&lock);
  return rv;
}

/* ---- frozen -------------------------------------------------------------------------------------
 */

static int frozen_check_req(op *c, const char *id, const char *range, const char *from) {
  const ggm_lock_pack *p = ggm_lock_find(&c->lock, id);
  if (!p) {
    say(c->msg, "drift: %s (%s) is not in ggen.lock; run install without --frozen to update it", id,
        from);
    return GG_ECONFLICT;
  }
  if (range && !ggm_semver_satisfies(p->version, range, 0)) {
    say(c->msg, "drift: ggen.lock has %s@%s, which does not satisfy %s (%s)", id, p->version, range,
        from);
    return GG_ECONFLICT;
  }
  return GG_OK;
}

static int plan_frozen(op *c, const ggm_install_req *reqs, size_t n) {
  if (!c->has_lock) {
    say(c->msg, "drift: there is no ggen.lock in %s; --frozen installs exactly the lockfile",
        c->project);
    return GG_ECONFLICT;
  }
  char why[400];
  if (ggm_lock_check(&c->lock, why, sizeof why) != GG_OK) {
    say(c->msg, "drift: %s", why);
    return GG_ECONFLICT;
  }
  for (size_t i = 0; i < n; i++) {
    int rv = frozen_check_req(c, reqs[i].id, reqs[i].range, "requested");
    if (rv) return rv;
  }
  for (size_t i = 0; c->has_man && i < c->man.n_deps; i++) {
    int rv = frozen_check_req(c, c->man.deps[i].id, c->man.deps[i].range, "gpack.toml");
    if (rv) return rv;
  }
  for (size_t i = 0; i < c->lock.n_packs; i++) {
    const ggm_lock_pack *l = &c->lock.packs[i];
    ppack *p = plan_add(&c->pl);
    if (!p) return GG_ENOMEM;
    uint8_t cid[GGM_CID_LEN];
    char text[GGM_CID_TEXT_MAX];
    if (l->cid) {
      ggm_pack_cid_parse(l->cid, cid);
    } else if (l->sha256) {
      /* a lock written by ggen: sha256 of the archive is the digest of its CID */
      uint8_t d[32];
      for (int k = 0; k < 32; k++) sscanf(l->sha256 + 2 * k, "%2hhx", &d[k]);
      ggm_pack_cid_from_digest(d, cid);
    } else {
      say(c->msg,
          "drift: %s in ggen.lock has neither cid nor sha256; it cannot be installed exactly",
          l->id);
      return GG_ECONFLICT;
    }
    ggm_pack_cid_text(cid, text);
    *p = (ppack){l->id,
                 l->version,
                 pool_dup(c->strs, text),
                 l->sha256,
                 l->source,
                 l->requested,
                 (const char **)l->deps,
                 l->n_deps,
                 NULL,
                 0};
    if (!p->cid) return GG_ENOMEM;
  }
  return GG_OK;
}

/* ---- public entry points
 * ------------------------------------------------------------------------- */

int ggm_install_run(const char *project, const ggm_install_env *env, const ggm_install_req *reqs,
                    size_t n, const ggm_install_opts *opts, ggm_install_result **out) {
  op c;
  int rv = op_init(&c, project, env, opts, out);
  if (rv) goto done;
  if ((rv = check_reqs(&c, reqs, n))) goto done;
  if ((rv = op_open(&c, 0))) goto done;
  int frozen = (c.o->flags & GGM_INSTALL_FROZEN) != 0;
  if (frozen) {
    if ((rv = plan_frozen(&c, reqs, n))) goto done;
  } else {
    roots *r = calloc(1, sizeof(roots));
    if (!r) {
      rv = GG_ENOMEM;
      goto done;
    }
    rv = roots_from_lock(&c, r, NULL, 0);
    if (!rv) rv = roots_from_manifest(&c, r);
    for (size_t i = 0; !rv && i < n; i++) {
      root *x = roots_find(r, reqs[i].id);
      int nd = (c.o->flags & GGM_INSTALL_NO_DEPS) != 0;
      if (!x) {
        x = &r->v[r->n++];
        *x = (root){reqs[i].id, reqs[i].range ? reqs[i].range : "*", 1, !reqs[i].range, nd};
      } else {
        if (reqs[i].range)
          x->range = reqs[i].range;
        else if (!x->record)
          x->fresh = 1;
        x->record = 1;
        x->no_deps = nd;
      }
    }
    /* nothing asked for and nothing installed: no lockfile is created for it */
    int nothing = r->n == 0 && !c.has_lock;
    if (!rv && !nothing) rv = resolve(&c, r, NULL, 0, 0);
    free(r);
    if (rv || nothing) goto done;
  }
  if ((rv = diff(&c))) goto done;
  rv = apply(&c, !frozen);
done:
  if (rv == GG_ENOMEM && !c.msg[0]) say(c.msg, "out of memory");
  op_done(&c);
  return rv;
}

int ggm_install_update(const char *project, const ggm_install_env *env, const char *const *ids,
                       size_t n, const ggm_install_opts *opts, ggm_install_result **out) {
  op c;
  int rv = op_init(&c, project, env, opts, out);
  if (rv) goto done;
  if (c.o->flags & GGM_INSTALL_FROZEN) {
    say(c.msg, "update cannot be --frozen");
    rv = GG_EINVAL;
    goto done;
  }
  if ((rv = op_open(&c, 0))) goto done;
  for (size_t i = 0; i < n; i++)
    if (!c.has_lock || !ggm_lock_find(&c.lock, ids[i])) {
      say(c.msg, "%s is not installed in %s", ids[i], project);
      rv = GG_ENOTFOUND;
      goto done;
    }
  roots *r = calloc(1, sizeof(roots));
  if (!r) {
    rv = GG_ENOMEM;
    goto done;
  }
  rv = roots_from_lock(&c, r, NULL, 0);
  if (!rv) rv = roots_from_manifest(&c, r);
  int nothing = r->n == 0 && !c.has_lock;
  if (!rv && !nothing) rv = resolve(&c, r, ids, n, n == 0);
  free(r);
  if (!rv && !nothing) rv = diff(&c);
  if (!rv && !nothing) rv = apply(&c, 1);
done:
  if (rv == GG_ENOMEM && !c.msg[0]) say(c.msg, "out of memory");
  op_done(&c);
  return rv;
}

int ggm_install_remove(const char *project, const ggm_install_env *env, const char *const *ids,
                       size_t n, const ggm_install_opts *opts, ggm_install_result **out) {
  op c;
  int rv = op_init(&c, project, env, opts, out);
  if (rv) goto done;
  if ((rv = op_open(&c, 0))) goto done;
  if (c.o->flags & GGM_INSTALL_FROZEN) {
    say(c.msg, "remove cannot be --frozen");
    rv = GG_EINVAL;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const ggm_lock_pack *p = c.has_lock ? ggm_lock_find(&c.lock, ids[i]) : NULL;
    if (!p) {
      say(c.msg, "%s is not installed in %s", ids[i], project);
      rv = GG_ENOTFOUND;
      goto done;
    }
    for (size_t k = 0; c.has_man && k < c.man.n_deps; k++)
      if (!strcmp(c.man.deps[k].id, ids[i])) {
        say(c.msg, "%s is a dependency in %s/gpack.toml: remove it there", ids[i], project);
        rv = GG_ECONFLICT;
        goto done;
      }
  }
  roots *r = calloc(1, sizeof(roots));
  if (!r) {
    rv = GG_ENOMEM;
    goto done;
  }
  /* the roots before removal, to tell a named root from a dependency */
  rv = roots_from_lock(&c, r, NULL, 0);
  for (size_t i = 0; !rv && i < n; i++) {
    if (roots_find(r, ids[i])) continue;
    size_t il = strlen(ids[i]);
    const char *by = "another pack";
    for (size_t k = 0; k < c.lock.n_packs; k++)
      for (size_t j = 0; j < c.lock.packs[k].n_deps; j++)
        if (!strncmp(c.lock.packs[k].deps[j], ids[i], il) && c.lock.packs[k].deps[j][il] == '@')
          by = c.lock.packs[k].id;
    say(c.msg, "%s is installed as a dependency of %s; remove %s instead", ids[i], by, by);
    rv = GG_ECONFLICT;
  }
  if (!rv) {
    r->n = 0;
    rv = roots_from_lock(&c, r, ids, n);
  }
  if (!rv) rv = roots_from_manifest(&c, r);
  /* keep what the remaining roots reach through the lock's own graph: no resolution needed */
  char *keep = calloc(c.lock.n_packs ? c.lock.n_packs : 1, 1);
  size_t *stack = calloc(c.lock.n_packs ? c.lock.n_packs : 1, sizeof(size_t));
  size_t sp = 0;
  if (!rv && (!keep || !stack)) rv = GG_ENOMEM;
  for (size_t i = 0; !rv && i < r->n; i++) {
    const ggm_lock_pack *p = ggm_lock_find(&c.lock, r->v[i].id);
    if (p && !keep[p - c.lock.packs])
      keep[p - c.lock.packs] = 1, stack[sp++] = (size_t)(p - c.lock.packs);
  }
  while (!rv && sp) {
    const ggm_lock_pack *p = &c.lock.packs[stack[--sp]];
    for (size_t j = 0; j < p->n_deps; j++) {
      size_t il;
      ggm_lock_split_dep(p->deps[j], &il);
      char id[GGM_MANIFEST_ID_MAX + 1];
      snprintf(id, sizeof id, "%.*s", (int)il, p->deps[j]);
      const ggm_lock_pack *d = ggm_lock_find(&c.lock, id);
      if (d && !keep[d - c.lock.packs])
        keep[d - c.lock.packs] = 1, stack[sp++] = (size_t)(d - c.lock.packs);
    }
  }
  for (size_t i = 0; !rv && i < c.lock.n_packs; i++) {
    if (!keep[i]) continue;
    const ggm_lock_pack *l = &c.lock.packs[i];
    ppack *p = plan_add(&c.pl);
    if (!p) {
      rv = GG_ENOMEM;
      break;
    }
    *p = (ppack){
        l->id,     l->version, l->cid, l->sha256, l->source, l->requested, (const char **)l->deps,
        l->n_deps, NULL,       0};
    /* a named pack another one still needs stays, as a dependency only */
    for (size_t k = 0; k < n; k++)
      if (!strcmp(ids[k], l->id)) p->requested = NULL;
  }
  free(keep);
  free(stack);
  free(r);
  if (!rv) rv = diff(&c);
  /* kept packs are never re-extracted by remove, even if damaged: that is install's job */
  for (size_t i = 0; !rv && i < c.res->n_changes; i++)
    if (c.res->changes[i].action == GGM_INSTALL_REINSTALL) {
      c.res->changes[i].action = GGM_INSTALL_KEEP;
      c.res->n_changed--;
      ppack *p = plan_find(&c.pl, c.res->changes[i].id);
      if (p) p->action = GGM_INSTALL_KEEP;
    }
  if (!rv) rv = apply(&c, 1);
done:
  if (rv == GG_ENOMEM && !c.msg[0]) say(c.msg, "out of memory");
  op_done(&c);
  return rv;
}

void ggm_install_result_free(ggm_install_result *r) {
  if (!r) return;
  pool_free(r->priv_);
  free(r->changes);
  free(r->explain);
  free(r);
}

/* ---- list
 * ------------------------------------------------------------------------------------------ */

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const ggm_install_entry *)a)->id, ((const ggm_install_entry *)b)->id);
}

int ggm_install_list(const char *project, ggm_install_listing **out) {
  op c;
  ggm_install_result *tmp = NULL;
  int rv = op_init(&c, project, NULL, NULL, &tmp);
  ggm_install_listing *l = calloc(1, sizeof(*l));
  *out = l;
  if (!l || rv) {
    rv = GG_ENOMEM;
    goto done;
  }
  l->priv_ = c.strs;
  tmp->priv_ = NULL;
  rv = op_open(&c, 0);
  l->recovered = c.p.recovered;
  if (rv) {
    snprintf(l->msg, sizeof l->msg, "%s", c.msg);
    goto done;
  }
  l->has_lock = c.has_lock;
  size_t cap = c.lock.n_packs + 64;
  l->entries = calloc(cap, sizeof(ggm_install_entry));
  if (!l->entries) {
    rv = GG_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < c.lock.n_packs; i++) {
    const ggm_lock_pack *p = &c.lock.packs[i];
    ggm_install_entry *e = &l->entries[l->n++];
    e->id = pool_dup(c.strs, p->id);
    e->version = pool_dup(c.strs, p->version);
    e->cid = pool_dup(c.strs, p->cid);
    e->requested = pool_dup(c.strs, p->requested);
    e->source = pool_dup(c.strs, p->source);
    const char **d = pool_alloc(c.strs, p->n_deps * sizeof(char *));
    for (size_t k = 0; d && k < p->n_deps; k++) d[k] = pool_dup(c.strs, p->deps[k]);
    e->deps = d;
    e->n_deps = d ? p->n_deps : 0;
    int broken = 0;
    e->disk_version = disk_version(&c, p->id, &broken);
    char rel[GGM_MANIFEST_ID_MAX + 8];
    snprintf(rel, sizeof rel, "packs/%s", p->id);
    struct stat st;
    if (c.p.ggfd < 0 || fstatat(c.p.ggfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0)
      e->status |= GGM_INSTALL_MISSING;
    else if (broken)
      e->status |= GGM_INSTALL_BROKEN;
    else if (!e->disk_version || strcmp(e->disk_version, p->version))
      e->status |= GGM_INSTALL_MISMATCH;
    for (size_t k = 0; k < p->n_deps; k++) {
      size_t il;
      ggm_lock_split_dep(p->deps[k], &il);
      char id[GGM_MANIFEST_ID_MAX + 1];
      snprintf(id, sizeof id, "%.*s", (int)il, p->deps[k]);
      const ggm_lock_pack *dp = ggm_lock_find(&c.lock, id);
      if (!dp || strcmp(dp->version, p->deps[k] + il + 1)) e->status |= GGM_INSTALL_DEP_MISSING;
    }
    l->drift |= e->status;
  }
  /* trees on disk the lock does not know */
  if (c.p.ggfd >= 0) {
    int pfd = openat(c.p.ggfd, "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = pfd >= 0 ? fdopendir(pfd) : NULL;
    if (d) {
      struct dirent *de;
      while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (c.has_lock && ggm_lock_find(&c.lock, de->d_name)) continue;
        if (l->n == cap) {
          ggm_install_entry *ne = realloc(l->entries, (cap *= 2) * sizeof(*ne));
          if (!ne) break;
          l->entries = ne;
        }
        ggm_install_entry *e = &l->entries[l->n++];
        memset(e, 0, sizeof(*e));
        e->id = pool_dup(c.strs, de->d_name);
        int broken = 0;
        e->disk_version = ggm_manifest_check_id(de->d_name, strlen(de->d_name)) == GG_OK
                              ? disk_version(&c, de->d_name, &broken)
                              : NULL;
        e->status = GGM_INSTALL_UNTRACKED;
        l->drift |= e->status;
      }
      closedir(d);
    } else if (pfd >= 0) {
      close(pfd);
    }
  }
  qsort(l->entries, l->n, sizeof(*l->entries), cmp_entry);
done:
  ggm_install_result_free(tmp);
  op_done(&c);
  return rv;
}

void ggm_install_listing_free(ggm_install_listing *l) {
  if (!l) return;
  pool_free(l->priv_);
  free(l->entries);
  free(l);
}

int ggm_install_recover(const char *project, int *what, char *msg, size_t cap) {
  ggm__project p;
  char m[MSGCAP] = "";
  int rv = ggm__project_open(&p, project, 0, m, sizeof m);
  if (what) *what = rv == GG_OK ? p.recovered : 0;
  if (msg && cap) snprintf(msg, cap, "%s", m);
  if (rv == GG_OK) ggm__project_close(&p);
  return rv;
}

/* ---- unpacked cache
 * -------------------------------------------------------------------------------- */

static int keep_if_stored(void *ud, const char *cidtext) {
  uint8_t cid[GGM_CID_LEN];
  if (ggm_pack_cid_parse(cidtext, cid) != GG_OK) return 0;
  return ggs_blob_has(ud, cid) == GG_OK;
}

int ggm_install_cache_gc(const char *home, ggs_blob_store *store, ggm_install_cache_stats *st) {
  uint64_t v[4] = {0};
  int rv = ggm__cache_sweep(home, store ? keep_if_stored : NULL, store, 0, 0, v);
  if (st) *st = (ggm_install_cache_stats){v[0], v[1], v[2], v[3]};
  return rv;
}

int ggm_install_cache_clean(const char *home, ggm_install_cache_stats *st) {
  uint64_t v[4] = {0};
  int rv = ggm__cache_sweep(home, NULL, NULL, 1, 0, v);
  if (st) *st = (ggm_install_cache_stats){v[0], v[1], v[2], v[3]};
  return rv;
}

int ggm_install_cache_stats_get(const char *home, ggm_install_cache_stats *st) {
  uint64_t v[4] = {0};
  int rv = ggm__cache_sweep(home, NULL, NULL, 0, 1, v);
  *st = (ggm_install_cache_stats){v[0], v[1], v[2], 0};
  return rv;
}
