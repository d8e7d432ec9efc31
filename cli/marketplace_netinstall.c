/*
 * Installing from the network (docs/p2p-marketplace.md "Installing"): before `install` (or
 * `update`) runs the offline installer, make sure this node's catalog knows the records and its
 * store holds the archives the install needs, asking the network for what is missing.
 *
 *  1. records: a requested package (or, for update, every named one) that the catalog has no
 *     installable version of - and then any dependency of a known version that is unknown - is
 *     looked up (market-lookup: the DHT for an exact version, peers for the others); found
 *     records are verified and cataloged by the node that runs the lookup. Rounds repeat while
 *     they find something new, at most MAX_ROUNDS, so a dependency chain resolves level by
 *     level;
 *  2. archives: a dry run of the installer gives the plan; every pack it would (re)install whose
 *     archive is not in the store is fetched (market-fetch: DHT providers by CID, best
 *     reputation first, verified, ingested with its record).
 * The installer itself then runs as offline, against what is now here; whatever is still
 * missing it reports as usual (exit 3).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/lockfile.h"
#include "ggen/manifest.h"
#include "ggen/semver.h"
#include "marketplace_net.h"
#include "marketplace_netinstall.h"
#include "p2p_dht.h"

#define MAX_ROUNDS 8
#define MAX_IDS 1024

typedef struct idset {
  char *v[MAX_IDS];
  size_t n;
} idset;

static int idset_has(const idset *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcasecmp(s->v[i], id)) return 1;
  return 0;
}

static void idset_add(idset *s, const char *id) {
  if (s->n < MAX_IDS && !idset_has(s, id)) {
    char *c = strdup(id);
    if (c) s->v[s->n++] = c;
  }
}

static void idset_free(idset *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  s->n = 0;
}

/* Versions of a package the installer can use (a CID and a signed record), and their
 * dependencies. */
typedef struct scan {
  size_t usable;
  idset *deps;
} scan;

static int scan_version(void *ud, const ggs_catalog_vinfo *v) {
  scan *s = ud;
  if (!v->cid || !v->record || v->yanked) return 0;
  s->usable++;
  for (size_t i = 0; i < v->n_deps; i++) idset_add(s->deps, v->deps[i].id);
  return 0;
}

/* An exact version from a range ("1.2.3" or "=1.2.3"), else NULL. */
static const char *exact_version(const char *range) {
  if (!range) return NULL;
  if (*range == '=') range++;
  ggm_semver v;
  if (ggm_semver_parse(&v, range, strlen(range), 0, NULL) != GG_OK) return NULL;
  ggm_semver_free(&v);
  return range;
}

__attribute__((format(printf, 2, 3))) static void progress(const cli_ctx *ctx, const char *fmt,
                                                           ...) {
  if (!cli_mp_progress_wanted(ctx)) return;
  fputs("\r\033[K", stderr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

static void progress_end(const cli_ctx *ctx) {
  if (cli_mp_progress_wanted(ctx)) fputs("\r\033[K", stderr);
}

/* Looks id up; records the outcome in rep->lookups. 1 when something new was cataloged. */
static int lookup(const cli_ctx *ctx, cli_net *net, const char *id, const char *version,
                  json_t *lookups, int *net_err) {
  progress(ctx, "looking up %s%s%s on the network", id, version ? "@" : "", version ? version : "");
  json_t *op = json_pack("{s:s, s:s}", "op", "market-lookup", "id", id);
  if (version) json_object_set_new(op, "version", json_string(version));
  json_t *a = cli_net_call(net, op);
  json_decref(op);
  int err = cli_net_answer_err(a);
  if (err == GG_EUNREACHABLE || err == GG_ETIMEDOUT || err == GG_ECANCELED) *net_err = err;
  int fresh = 0;
  json_t *found = json_object_get(a, "found");
  for (size_t i = 0; i < json_array_size(found); i++) {
    json_t *f = json_array_get(found, i);
    if (json_integer_value(json_object_get(f, "err")) == GG_OK &&
        !json_is_true(json_object_get(f, "existed")))
      fresh = 1;
  }
  json_array_append_new(lookups, a);
  return fresh;
}

static char *read_small(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(GGM_LOCK_MAX_SIZE + 1);
  *len = buf ? fread(buf, 1, GGM_LOCK_MAX_SIZE, f) : 0;
  fclose(f);
  return buf;
}

/* The project's own roots: its ggen.lock's packs (kept in *lock for their versions) and the
 * [dependencies] of its gpack.toml. Files that do not parse are left to the installer, which
 * reports them with their line and column. */
static void project_roots(const char *dir, idset *roots, ggm_lock *lock) {
  size_t len;
  char *text = read_small(dir, GGM_INSTALL_LOCKFILE, &len);
  if (text && ggm_lock_parse(lock, NULL, text, len, NULL, NULL) == GG_OK)
    for (size_t i = 0; i < lock->n_packs; i++) idset_add(roots, lock->packs[i].id);
  free(text);
  if ((text = read_small(dir, "gpack.toml", &len))) {
    ggm_manifest m;
    ggm_toml_error e;
    if (ggm_manifest_parse(&m, "gpack.toml", text, len, 0, NULL, &e) == GG_OK) {
      for (size_t i = 0; i < m.n_deps; i++) idset_add(roots, m.deps[i].id);
      ggm_manifest_free(&m);
    }
    free(text);
  }
}

static const char *locked_version(const ggm_lock *lock, const char *id) {
  const ggm_lock_pack *p = lock->n_packs ? ggm_lock_find(lock, id) : NULL;
  return p ? p->version : NULL;
}

int cli_mp_net_prepare(cli_ctx *ctx, cli_net *net, const char *dir, const ggm_install_env *env,
                       const ggm_install_req *reqs, size_t n, unsigned flags, int update,
                       const char *const *ids, size_t nids, json_t **report) {
  json_t *rep = json_object(), *lookups = json_array(), *fetched = json_array();
  json_object_set_new(rep, "via", json_string(cli_net_describe(net)));
  int net_err = GG_OK, code = CLI_OK;
  idset asked = {0}, roots = {0};
  /* the roots: what is named now, the project's own requests come from the catalog later */
  for (size_t i = 0; i < n; i++) idset_add(&roots, reqs[i].id);
  for (size_t i = 0; i < nids; i++) idset_add(&roots, ids[i]);
  ggm_lock lock = {0};
  project_roots(dir, &roots, &lock);
  if (update) { /* newer versions may exist: ask about the named packs (or all) once */
    idset *which = nids ? &(idset){0} : &roots;
    for (size_t i = 0; i < nids; i++) idset_add(which, ids[i]);
    for (size_t i = 0; i < which->n && !net_err; i++) {
      idset_add(&asked, which->v[i]);
      lookup(ctx, net, which->v[i], NULL, lookups, &net_err);
    }
    if (which != &roots) idset_free(which);
  }
  /* 1: records, level by level */
  for (int round = 0; round < MAX_ROUNDS && !net_err; round++) {
    idset seen = {0}, deps = {0};
    int fresh = 0;
    for (size_t i = 0; i < roots.n; i++) idset_add(&deps, roots.v[i]);
    for (size_t i = 0; i < deps.n && !net_err; i++) { /* deps grows while we walk it */
      const char *id = deps.v[i];
      if (idset_has(&seen, id)) continue;
      idset_add(&seen, id);
      scan s = {0, &deps};
      ggs_catalog_each_version(env->catalog, id, scan_version, &s);
      if (s.usable || idset_has(&asked, id)) continue;
      idset_add(&asked, id);
      const char *ver = NULL;
      for (size_t k = 0; k < n; k++)
        if (!strcasecmp(reqs[k].id, id)) ver = exact_version(reqs[k].range);
      if (!ver) ver = locked_version(&lock, id);
      int f = lookup(ctx, net, id, ver, lookups, &net_err);
      if (ver && !f && !(flags & GGM_INSTALL_FROZEN))
        f = lookup(ctx, net, id, NULL, lookups, &net_err);
      fresh |= f;
    }
    idset_free(&seen);
    idset_free(&deps);
    if (!fresh) break;
  }
  /* 2: archives of the plan */
  ggm_install_result *plan = NULL;
  ggm_install_opts o = {flags | GGM_INSTALL_DRY_RUN, 0, NULL, NULL};
  int rv = net_err  ? net_err
           : update ? ggm_install_update(dir, env, ids, nids, &o, &plan)
                    : ggm_install_run(dir, env, reqs, n, &o, &plan);
  for (size_t i = 0; rv == GG_OK && i < plan->n_changes && !net_err; i++) {
    const ggm_install_change *c = &plan->changes[i];
    if (c->action == GGM_INSTALL_KEEP || c->action == GGM_INSTALL_REMOVE || !c->cid) continue;
    uint8_t cid[GGM_CID_LEN];
    if (ggm_pack_cid_parse(c->cid, cid) != GG_OK || ggs_blob_has(env->store, cid) == GG_OK)
      continue;
    ggs_catalog_info *info = NULL;
    if (ggs_catalog_get(env->catalog, c->id, c->new_version, &info) != GG_OK ||
        !info->versions[0].record) {
      ggs_catalog_info_free(info);
      continue;
    }
    char *hex = cli_hex(info->versions[0].record, info->versions[0].record_len);
    ggs_catalog_info_free(info);
    if (!hex) break;
    progress(ctx, "fetching %s@%s", c->id, c->new_version);
    json_t *op = json_pack("{s:s, s:s}", "op", "market-fetch", "record_hex", hex);
    free(hex);
    json_t *a = cli_net_call(net, op);
    json_decref(op);
    int err = cli_net_answer_err(a);
    progress_end(ctx);
    if (err == GG_ECANCELED) net_err = err;
    if (!ctx->json) {
      if (err == GG_OK && !json_is_true(json_object_get(a, "existed"))) {
        const char *peer = json_string_value(json_object_get(a, "peer"));
        printf("  fetched %s@%s from %.12s…%s (%lld bytes, %.0f ms)\n", c->id, c->new_version,
               peer ? peer : "?", peer && strlen(peer) > 6 ? peer + strlen(peer) - 6 : "",
               (long long)json_integer_value(json_object_get(a, "bytes")),
               json_real_value(json_object_get(a, "ms")));
      } else if (err != GG_OK) {
        cli_err(ctx, "cannot fetch %s@%s: %s", c->id, c->new_version, cli_net_answer_error(a));
      }
    }
    json_array_append_new(fetched, a);
  }
  progress_end(ctx);
  ggm_install_result_free(plan);
  idset_free(&asked);
  idset_free(&roots);
  ggm_lock_free(&lock);
  json_object_set_new(rep, "lookups", lookups);
  json_object_set_new(rep, "fetched", fetched);
  if (net_err == GG_ECANCELED) code = CLI_INTERRUPTED;
  if (net_err && net_err != GG_ECANCELED && !ctx->json)
    cli_err(ctx, "the network could not be used (%s): installing from this node only",
            gg_strerror(net_err));
  *report = rep;
  return code;
}
