/*
 * ggen.lock reading and writing (include/ggen/lockfile.h, docs/install.md "Lockfile").
 *
 * The parsed lock keeps the TOML document and points into it: every string field is a string
 * value of the document, checked to hold no NUL byte (a TOML string may) so it can be used
 * as a C string and, for ids, as a directory name. The private part owns the document, the
 * pack array and the per-pack dependency pointer arrays, plus the text of a `generated`
 * given as a TOML date-time rather than a string.
 *
 * Invariants after a successful parse: ids are valid and unique, packs are sorted by id,
 * versions are strict semver, sha256 (when present) is 64 hex digits and equals the digest
 * inside cid (when both are present), requested parses as an npm range, and dependencies
 * are well-formed "id@version" strings, sorted and unique.
 */
#include "ggen/lockfile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/manifest.h"
#include "ggen/pack.h"
#include "ggen/semver.h"

typedef struct lpriv {
  ggm_toml_val *doc;
  ggm_lock_pack *packs;
  const char **deps; /* one array for every pack's dependency pointers */
  char generated[48];
} lpriv;

typedef struct ctx {
  const char *name;
  ggm_toml_error *err;
  const gg_mem *mem;
} ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
bad(ctx *c, const ggm_toml_val *at, const char *fmt, ...) {
  if (c->err) {
    uint32_t l = 0, col = 0;
    if (at) ggm_toml_pos(at, &l, &col);
    if (!l) l = col = 1;
    c->err->line = l;
    c->err->col = col;
    int k =
        snprintf(c->err->msg, sizeof(c->err->msg), "%s:%" PRIu32 ":%" PRIu32 ": ", c->name, l, col);
    if (k < 0 || (size_t)k >= sizeof(c->err->msg)) k = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg + k, sizeof(c->err->msg) - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return GG_EPARSE;
}

static int fail_plain(ctx *c, int rv, const char *what) {
  if (c->err) {
    c->err->line = c->err->col = 0;
    snprintf(c->err->msg, sizeof(c->err->msg), "%s: %s", c->name, what);
  }
  return rv;
}

/* ---- field rules (shared by the parser and the writer) ---------------------------------- */

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static int sha_decode(const char *s, uint8_t out[32]) {
  if (strlen(s) != 64) return GG_EINVAL;
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
    if (hi < 0 || lo < 0) return GG_EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return GG_OK;
}

static int range_ok(const char *r) {
  ggm_semver_range *rg = NULL;
  int rv = ggm_semver_range_parse(&rg, r, strlen(r), 0, NULL);
  ggm_semver_range_free(rg);
  return rv;
}

int ggm_lock_split_dep(const char *s, size_t *idlen) {
  const char *at = strrchr(s, '@');
  if (!at || at == s || at[1] == 0) return GG_EINVAL;
  *idlen = (size_t)(at - s);
  return GG_OK;
}

static int dep_ok(const char *s) {
  size_t il;
  if (ggm_lock_split_dep(s, &il) != GG_OK) return GG_EINVAL;
  if (ggm_manifest_check_id(s, il) != GG_OK) return GG_EINVAL;
  const char *v = s + il + 1;
  return ggm_manifest_check_version(v, strlen(v));
}

/* ---- parsing ------------------------------------------------------------------------------- */

/* A string value without NUL bytes, or NULL after reporting. */
static const char *want_str(ctx *c, const ggm_toml_val *v, const char *what, int *rv) {
  size_t len;
  if (ggm_toml_type_of(v) != GGM_TOML_STRING) {
    *rv = bad(c, v, "%s must be a string, not %s", what, ggm_toml_type_name(ggm_toml_type_of(v)));
    return NULL;
  }
  const char *s = ggm_toml_str(v, &len);
  if (strlen(s) != len) {
    *rv = bad(c, v, "%s contains a NUL character", what);
    return NULL;
  }
  return s;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_pack(const void *a, const void *b) {
  return strcmp(((const ggm_lock_pack *)a)->id, ((const ggm_lock_pack *)b)->id);
}

static int load_pack(ctx *c, const ggm_toml_val *t, ggm_lock_pack *p, const char ***depcur) {
  int rv = GG_OK;
  if (ggm_toml_type_of(t) != GGM_TOML_TABLE)
    return bad(c, t, "each [[packs]] entry must be a table");
  const ggm_toml_val *v;
  if (!(v = ggm_toml_get(t, "id"))) return bad(c, t, "pack has no id");
  if (!(p->id = want_str(c, v, "id", &rv))) return rv;
  if (ggm_manifest_check_id(p->id, strlen(p->id)) != GG_OK)
    return bad(c, v, "\"%.128s\" is not a valid package id (lower-case dotted segments)", p->id);
  if (!(v = ggm_toml_get(t, "version"))) return bad(c, t, "pack %s has no version", p->id);
  if (!(p->version = want_str(c, v, "version", &rv))) return rv;
  if (ggm_manifest_check_version(p->version, strlen(p->version)) != GG_OK)
    return bad(c, v, "version \"%.64s\" of %s is not a semantic version", p->version, p->id);
  uint8_t sha[32];
  if ((v = ggm_toml_get(t, "sha256"))) {
    if (!(p->sha256 = want_str(c, v, "sha256", &rv))) return rv;
    if (sha_decode(p->sha256, sha) != GG_OK)
      return bad(c, v, "sha256 of %s must be 64 hexadecimal digits", p->id);
  }
  if ((v = ggm_toml_get(t, "source")) && !(p->source = want_str(c, v, "source", &rv))) return rv;
  if ((v = ggm_toml_get(t, "cid"))) {
    if (!(p->cid = want_str(c, v, "cid", &rv))) return rv;
    uint8_t cid[GGM_CID_LEN];
    if (ggm_pack_cid_parse(p->cid, cid) != GG_OK)
      return bad(c, v, "cid of %s is not a CIDv1 raw sha2-256", p->id);
    if (p->sha256 && memcmp(cid + 4, sha, 32) != 0)
      return bad(c, v, "cid and sha256 of %s name different archives", p->id);
  }
  if ((v = ggm_toml_get(t, "requested"))) {
    if (!(p->requested = want_str(c, v, "requested", &rv))) return rv;
    if (range_ok(p->requested) != GG_OK)
      return bad(c, v, "requested range \"%.64s\" of %s is not a valid range", p->requested, p->id);
  }
  p->deps = *depcur;
  if ((v = ggm_toml_get(t, "dependencies"))) {
    if (ggm_toml_type_of(v) != GGM_TOML_ARRAY)
      return bad(c, v, "dependencies of %s must be an array of \"id@version\" strings", p->id);
    size_t n = ggm_toml_len(v);
    if (n > GGM_LOCK_MAX_DEPS)
      return bad(c, v, "%s has more than %d dependencies", p->id, GGM_LOCK_MAX_DEPS);
    for (size_t i = 0; i < n; i++) {
      const ggm_toml_val *d = ggm_toml_at(v, i);
      const char *s = want_str(c, d, "a dependency", &rv);
      if (!s) return rv;
      if (dep_ok(s) != GG_OK)
        return bad(c, d, "dependency \"%.128s\" of %s is not \"id@version\"", s, p->id);
      (*depcur)[i] = s;
    }
    qsort(*depcur, n, sizeof(char *), cmp_str);
    for (size_t i = 1; i < n; i++) {
      size_t a = 0, b = 0;
      ggm_lock_split_dep((*depcur)[i - 1], &a);
      ggm_lock_split_dep((*depcur)[i], &b);
      if (a == b && !memcmp((*depcur)[i - 1], (*depcur)[i], a))
        return bad(c, v, "%s depends on %.*s twice", p->id, (int)a, (*depcur)[i]);
    }
    p->n_deps = n;
    *depcur += n;
  }
  return GG_OK;
}

static void dt_text(const ggm_toml_datetime *d, char *out, size_t cap) {
  if (d->offset_minutes == 0) {
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", d->year, d->month, d->day, d->hour,
             d->minute, d->second);
  } else {
    int off = d->offset_minutes < 0 ? -d->offset_minutes : d->offset_minutes;
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", d->year, d->month, d->day,
             d->hour, d->minute, d->second, d->offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  }
}

static int parse_doc(ctx *c, ggm_lock *l, lpriv *pv) {
  int rv = GG_OK;
  const ggm_toml_val *root = pv->doc, *v;
  if (!(v = ggm_toml_get(root, "version")))
    return bad(c, NULL, "no version key (is this a ggen.lock?)");
  if (!(l->version = want_str(c, v, "version", &rv))) return rv;
  if (strncmp(l->version, "1", 1) != 0 || (l->version[1] != 0 && l->version[1] != '.'))
    return bad(c, v, "lockfile format \"%.32s\" is not supported (this ggen reads 1.x)",
               l->version);
  if ((v = ggm_toml_get(root, "generated"))) {
    ggm_toml_type ty = ggm_toml_type_of(v);
    if (ty == GGM_TOML_DATETIME) {
      dt_text(ggm_toml_datetime_of(v), pv->generated, sizeof(pv->generated));
      l->generated = pv->generated;
    } else if (!(l->generated = want_str(c, v, "generated", &rv))) {
      return rv;
    }
  }
  const ggm_toml_val *packs = ggm_toml_get(root, "packs");
  if (!packs) return GG_OK;
  if (ggm_toml_type_of(packs) != GGM_TOML_ARRAY)
    return bad(c, packs, "packs must be an array of tables ([[packs]])");
  size_t n = ggm_toml_len(packs), ndeps = 0;
  if (n > GGM_LOCK_MAX_PACKS)
    return fail_plain(c, GG_ELIMIT, "more packs than a lockfile may hold");
  for (size_t i = 0; i < n; i++) {
    const ggm_toml_val *d = ggm_toml_get(ggm_toml_at(packs, i), "dependencies");
    if (d) ndeps += ggm_toml_len(d);
  }
  pv->packs = gg_calloc(c->mem, n ? n : 1, sizeof(ggm_lock_pack));
  pv->deps = gg_calloc(c->mem, ndeps ? ndeps : 1, sizeof(char *));
  if (!pv->packs || !pv->deps) return fail_plain(c, GG_ENOMEM, "out of memory");
  const char **cur = pv->deps;
  for (size_t i = 0; i < n; i++)
    if ((rv = load_pack(c, ggm_toml_at(packs, i), &pv->packs[i], &cur)) != GG_OK) return rv;
  qsort(pv->packs, n, sizeof(ggm_lock_pack), cmp_pack);
  for (size_t i = 1; i < n; i++)
    if (!strcmp(pv->packs[i - 1].id, pv->packs[i].id))
      return bad(c, packs, "pack %s appears twice", pv->packs[i].id);
  l->packs = pv->packs;
  l->n_packs = n;
  return GG_OK;
}

int ggm_lock_parse(ggm_lock *l, const char *name, const void *src, size_t len, const gg_mem *mem,
                   ggm_toml_error *err) {
  ctx c = {name ? name : "ggen.lock", err, mem};
  memset(l, 0, sizeof(*l));
  if (err) memset(err, 0, sizeof(*err));
  if (len > GGM_LOCK_MAX_SIZE) return fail_plain(&c, GG_ELIMIT, "lockfile larger than 8 MiB");
  lpriv *pv = gg_calloc(mem, 1, sizeof(*pv));
  if (!pv) return fail_plain(&c, GG_ENOMEM, "out of memory");
  ggm_toml_opts o = {GGM_LOCK_MAX_SIZE, 0, 0};
  int rv = ggm_toml_parse(&pv->doc, c.name, src, len, &o, mem, err);
  if (rv == GG_OK) rv = parse_doc(&c, l, pv);
  l->priv_ = pv;
  l->mem_ = mem;
  if (rv != GG_OK) ggm_lock_free(l);
  return rv;
}

void ggm_lock_free(ggm_lock *l) {
  if (!l) return;
  lpriv *pv = l->priv_;
  if (pv) {
    ggm_toml_free(pv->doc);
    gg_free(l->mem_, pv->packs);
    gg_free(l->mem_, pv->deps);
    gg_free(l->mem_, pv);
  }
  memset(l, 0, sizeof(*l));
}

const ggm_lock_pack *ggm_lock_find(const ggm_lock *l, const char *id) {
  if (l->priv_) {
    ggm_lock_pack key = {.id = id};
    return bsearch(&key, l->packs, l->n_packs, sizeof(ggm_lock_pack), cmp_pack);
  }
  for (size_t i = 0; i < l->n_packs; i++)
    if (!strcmp(l->packs[i].id, id)) return &l->packs[i];
  return NULL;
}

int ggm_lock_check(const ggm_lock *l, char *why, size_t cap) {
  for (size_t i = 0; i < l->n_packs; i++) {
    const ggm_lock_pack *p = &l->packs[i];
    for (size_t j = 0; j < p->n_deps; j++) {
      size_t il;
      if (ggm_lock_split_dep(p->deps[j], &il) != GG_OK) {
        if (why) snprintf(why, cap, "%s: malformed dependency \"%s\"", p->id, p->deps[j]);
        return GG_EINVAL;
      }
      char id[GGM_MANIFEST_ID_MAX + 1];
      if (il > GGM_MANIFEST_ID_MAX) il = GGM_MANIFEST_ID_MAX;
      memcpy(id, p->deps[j], il);
      id[il] = 0;
      const ggm_lock_pack *d = ggm_lock_find(l, id);
      if (!d || strcmp(d->version, p->deps[j] + il + 1) != 0) {
        if (why)
          snprintf(why, cap, "%s@%s depends on %s, which the lockfile does not hold%s%s", p->id,
                   p->version, p->deps[j], d ? " (it has version " : "", d ? d->version : "");
        if (why && d) {
          size_t k = strlen(why);
          if (k + 1 < cap) snprintf(why + k, cap - k, ")");
        }
        return GG_ENOTFOUND;
      }
    }
  }
  return GG_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

static const char header[] =
    "# ggen.lock: the exact packs installed in .ggen/packs/ (written by ggen marketplace;\n"
    "# edit with `ggen marketplace install/remove/update`, not by hand).\n";

static int cmp_pack_ptr(const void *a, const void *b) {
  return strcmp((*(const ggm_lock_pack *const *)a)->id, (*(const ggm_lock_pack *const *)b)->id);
}

static int build(const ggm_lock *l, ggm_toml_val *root, const ggm_lock_pack **order,
                 const char **dtmp, const gg_mem *mem) {
  int rv;
  if ((rv = ggm_toml_set_str(root, "version", l->version ? l->version : GGM_LOCK_FORMAT)))
    return rv;
  if (l->generated && (rv = ggm_toml_set_str(root, "generated", l->generated))) return rv;
  ggm_toml_val *arr;
  if ((rv = ggm_toml_set_array(root, "packs", &arr))) return rv;
  for (size_t i = 0; i < l->n_packs; i++) {
    const ggm_lock_pack *p = order[i];
    uint8_t sha[32], cid[GGM_CID_LEN];
    if (!p->id || ggm_manifest_check_id(p->id, strlen(p->id)) != GG_OK) return GG_EINVAL;
    if (i && !strcmp(order[i - 1]->id, p->id)) return GG_EINVAL;
    if (!p->version || ggm_manifest_check_version(p->version, strlen(p->version)) != GG_OK)
      return GG_EINVAL;
    if (p->sha256 && sha_decode(p->sha256, sha) != GG_OK) return GG_EINVAL;
    if (p->cid && ggm_pack_cid_parse(p->cid, cid) != GG_OK) return GG_EINVAL;
    if (p->sha256 && p->cid && memcmp(cid + 4, sha, 32) != 0) return GG_EINVAL;
    if (p->requested && range_ok(p->requested) != GG_OK) return GG_EINVAL;
    if (p->n_deps > GGM_LOCK_MAX_DEPS) return GG_EINVAL;
    ggm_toml_val *t, *deps;
    if ((rv = ggm_toml_push_table(arr, &t))) return rv;
    if ((rv = ggm_toml_set_str(t, "id", p->id)) ||
        (rv = ggm_toml_set_str(t, "version", p->version)))
      return rv;
    if (p->sha256) {
      char low[65];
      for (int k = 0; k < 64; k++) low[k] = "0123456789abcdef"[hexval((unsigned char)p->sha256[k])];
      low[64] = 0;
      if ((rv = ggm_toml_set_str(t, "sha256", low))) return rv;
    }
    if (p->source && (rv = ggm_toml_set_str(t, "source", p->source))) return rv;
    if (p->cid && (rv = ggm_toml_set_str(t, "cid", p->cid))) return rv;
    if (p->requested && (rv = ggm_toml_set_str(t, "requested", p->requested))) return rv;
    if ((rv = ggm_toml_set_array(t, "dependencies", &deps))) return rv;
    for (size_t j = 0; j < p->n_deps; j++) {
      if (!p->deps[j] || dep_ok(p->deps[j]) != GG_OK) return GG_EINVAL;
      dtmp[j] = p->deps[j];
    }
    qsort(dtmp, p->n_deps, sizeof(char *), cmp_str);
    for (size_t j = 0; j < p->n_deps; j++) {
      if (j && !strcmp(dtmp[j - 1], dtmp[j])) return GG_EINVAL;
      ggm_toml_val *sv = ggm_toml_new_str(mem, dtmp[j], strlen(dtmp[j]));
      if (!sv) return GG_ENOMEM; /* (push would call a NULL value GG_EINVAL) */
      if ((rv = ggm_toml_push(deps, sv))) return rv;
    }
  }
  return GG_OK;
}

int ggm_lock_write(const ggm_lock *l, gg_buf *out) {
  if (l->n_packs > GGM_LOCK_MAX_PACKS) return GG_EINVAL;
  const gg_mem *mem = out->mem;
  const ggm_lock_pack **order = gg_malloc(mem, (l->n_packs ? l->n_packs : 1) * sizeof(*order));
  const char **dtmp = gg_malloc(mem, GGM_LOCK_MAX_DEPS * sizeof(char *));
  ggm_toml_val *root = ggm_toml_new_table(mem);
  int rv = GG_ENOMEM;
  if (order && dtmp && root) {
    for (size_t i = 0; i < l->n_packs; i++) order[i] = &l->packs[i];
    qsort(order, l->n_packs, sizeof(*order), cmp_pack_ptr);
    rv = build(l, root, order, dtmp, mem);
    if (rv == GG_OK) rv = gg_buf_append_str(out, header);
    if (rv == GG_OK) rv = ggm_toml_write(out, root);
  }
  ggm_toml_free(root);
  gg_free(mem, order);
  gg_free(mem, dtmp);
  return rv;
}
