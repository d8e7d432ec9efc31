/*
 * Package manifests (include/ggen/manifest.h, docs/manifest.md): ggen's gpack.toml and
 * package.toml mapped into one struct, validated, and written back canonically.
 *
 * The manifest keeps the parsed TOML document and points into it: every mapped string is a
 * string value of the document (NUL-free, checked), or the id itself (a missing name), or
 * the literal "*" (the range of a package.toml dependency, which only names a package).
 * The private part owns the document and the pointer arrays built for the lists.
 *
 * Validation is what the rest of the marketplace relies on: an id that is a safe directory
 * name, a semver version, non-empty dependency ranges on valid ids without duplicates, and
 * the same size caps as a release record. Every error carries the position of the value at
 * fault (or of the table that lacks it).
 */
#include "ggen/manifest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/semver.h"

typedef struct mpriv {
  ggm_toml_val *doc;
  const char **authors, **tags, **keywords;
  ggm_manifest_dep *deps;
} mpriv;

typedef struct ctx {
  const char *name;
  ggm_toml_error *err;
  const gg_mem *mem;
  ggm_manifest *m;
  mpriv *pv;
  const ggm_toml_val *hdr;
  const char *hdr_name; /* "gpack" or "package" */
} ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
bad(ctx *c, const ggm_toml_val *at, const char *fmt, ...) {
  if (c->err) {
    uint32_t l = 1, col = 1;
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

static int nomem(ctx *c) {
  if (c->err) {
    c->err->line = c->err->col = 0;
    snprintf(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->name);
  }
  return GG_ENOMEM;
}

/* ---- syntax rules ------------------------------------------------------------------------ */

static int lc_alnum(int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

int ggm_manifest_check_id(const char *id, size_t len) {
  if (!id || len == 0 || len > GGM_MANIFEST_ID_MAX) return GG_EINVAL;
  int seg_start = 1;
  for (size_t i = 0; i < len; i++) {
    int ch = (unsigned char)id[i];
    if (seg_start) {
      if (!lc_alnum(ch)) return GG_EINVAL;
      seg_start = 0;
    } else if (ch == '.') {
      seg_start = 1;
    } else if (!lc_alnum(ch) && ch != '-' && ch != '_') {
      return GG_EINVAL;
    }
  }
  return seg_start ? GG_EINVAL : GG_OK; /* no trailing '.' */
}

/* A version as ggm_semver_* reads it (strict semver 2.0), spelled canonically: what
 * ggm_semver_format() prints back, so "v1.2.3", " 1.2.3" or "1.2.3-01" are refused and a
 * version string can be compared byte for byte. GG_OK, GG_EINVAL, GG_ENOMEM. */
static int version_check(const char *v, size_t len, const gg_mem *mem) {
  if (!v || len == 0 || len > GGM_MANIFEST_VERSION_MAX) return GG_EINVAL;
  ggm_semver sv;
  int rc = ggm_semver_parse(&sv, v, len, 0, mem);
  if (rc == GG_ENOMEM) return rc;
  if (rc) return GG_EINVAL;
  char buf[GGM_MANIFEST_VERSION_MAX + 1];
  size_t n = ggm_semver_format(&sv, 1, buf, sizeof(buf));
  ggm_semver_free(&sv);
  return n == len && !memcmp(buf, v, len) ? GG_OK : GG_EINVAL;
}

int ggm_manifest_check_version(const char *v, size_t len) { return version_check(v, len, NULL); }

/* Dependency ranges and ggen_compat: non-empty printable ASCII within the text cap, and an
 * npm range as ggm_semver_range_parse() reads it. GG_OK, GG_EINVAL, GG_ENOMEM. */
static int range_check(const char *r, size_t len, const gg_mem *mem) {
  if (len == 0 || len > GGM_MANIFEST_TEXT_MAX) return GG_EINVAL;
  int nonspace = 0;
  for (size_t i = 0; i < len; i++) {
    if (r[i] < 0x20 || r[i] > 0x7E) return GG_EINVAL;
    if (r[i] != ' ') nonspace = 1;
  }
  if (!nonspace) return GG_EINVAL;
  ggm_semver_range *sr;
  int rc = ggm_semver_range_parse(&sr, r, len, 0, mem);
  if (rc == GG_ENOMEM) return rc;
  if (rc) return GG_EINVAL;
  ggm_semver_range_free(sr);
  return GG_OK;
}

/* ---- field extraction -------------------------------------------------------------------- */

static const char *type_article(const ggm_toml_val *v) {
  ggm_toml_type t = ggm_toml_type_of(v);
  return t == GGM_TOML_ARRAY || t == GGM_TOML_INTEGER || t == GGM_TOML_DATETIME ? "an" : "a";
}

/* A string value as a C string: no NUL inside, at most cap bytes. */
static int want_string(ctx *c, const ggm_toml_val *v, const char *what, size_t cap,
                       const char **out, size_t *outlen) {
  if (ggm_toml_type_of(v) != GGM_TOML_STRING)
    return bad(c, v, "%s must be a string, not %s %s", what, type_article(v),
               ggm_toml_type_name(ggm_toml_type_of(v)));
  size_t len;
  const char *s = ggm_toml_str(v, &len);
  if (strlen(s) != len) return bad(c, v, "%s contains a NUL character", what);
  if (len > cap) return bad(c, v, "%s is longer than %zu bytes", what, cap);
  *out = s;
  if (outlen) *outlen = len;
  return GG_OK;
}

/* An optional string field of table t; "" counts as absent. */
static int opt_string(ctx *c, const ggm_toml_val *t, const char *key, size_t cap,
                      const char **out) {
  *out = NULL;
  const ggm_toml_val *v = ggm_toml_get(t, key);
  if (!v) return GG_OK;
  char what[64];
  snprintf(what, sizeof(what), "'%s'", key);
  size_t len;
  int rc = want_string(c, v, what, cap, out, &len);
  if (rc == GG_OK && len == 0) *out = NULL;
  return rc;
}

/* A string list: an array of non-empty strings, or ggen's table form
 * `[package.tags] tags = [...]` (a table whose only key repeats the list's name). */
static int str_list(ctx *c, const ggm_toml_val *t, const char *key, size_t itemcap,
                    const char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  const ggm_toml_val *v = ggm_toml_get(t, key);
  if (!v) return GG_OK;
  if (ggm_toml_type_of(v) == GGM_TOML_TABLE && ggm_toml_len(v) == 1 && ggm_toml_get(v, key))
    v = ggm_toml_get(v, key);
  if (ggm_toml_type_of(v) != GGM_TOML_ARRAY)
    return bad(c, v, "'%s' must be an array of strings, not %s %s", key, type_article(v),
               ggm_toml_type_name(ggm_toml_type_of(v)));
  size_t cnt = ggm_toml_len(v);
  if (cnt > GGM_MANIFEST_LIST_MAX)
    return bad(c, v, "'%s' has %zu items; at most %d are allowed", key, cnt, GGM_MANIFEST_LIST_MAX);
  if (!cnt) return GG_OK;
  const char **arr = gg_calloc(c->mem, cnt, sizeof(*arr));
  if (!arr) return nomem(c);
  char what[80];
  for (size_t i = 0; i < cnt; i++) {
    const ggm_toml_val *it = ggm_toml_at(v, i);
    snprintf(what, sizeof(what), "item %zu of '%s'", i + 1, key);
    size_t len;
    int rc = want_string(c, it, what, itemcap, &arr[i], &len);
    if (rc == GG_OK && len == 0) rc = bad(c, it, "%s is empty", what);
    if (rc) {
      gg_free(c->mem, arr);
      return rc;
    }
  }
  *out = arr;
  *n = cnt;
  return GG_OK;
}

/* A metadata string looked up in the header, then [header.metadata], then [metadata]. */
static int meta_string(ctx *c, const char *key, size_t cap, const char **out) {
  const ggm_toml_val *places[3] = {c->hdr, ggm_toml_get(c->hdr, "metadata"),
                                   ggm_toml_get(c->m->doc, "metadata")};
  for (int i = 0; i < 3; i++) {
    if (!places[i] || ggm_toml_type_of(places[i]) != GGM_TOML_TABLE) continue;
    int rc = opt_string(c, places[i], key, cap, out);
    if (rc || *out) return rc;
  }
  return GG_OK;
}

static int add_dep(ctx *c, size_t *n, const char *id, size_t idlen, const ggm_toml_val *idv,
                   const char *range, size_t rlen, const ggm_toml_val *rv) {
  char shown[GGM_MANIFEST_ID_MAX + 8];
  snprintf(shown, sizeof(shown), "%.*s",
           (int)(idlen > GGM_MANIFEST_ID_MAX ? GGM_MANIFEST_ID_MAX : idlen), id);
  if (strlen(id) != idlen || ggm_manifest_check_id(id, idlen) != GG_OK)
    return bad(c, idv,
               "dependency id '%s' is not a package id (dot-separated [a-z0-9][a-z0-9_-]*, "
               "at most %d bytes)",
               shown, GGM_MANIFEST_ID_MAX);
  if (rlen == 0)
    return bad(c, rv, "dependency '%s' needs a version range (a non-empty string such as \"^1.2\")",
               shown);
  int rc = strcmp(range, "*") ? range_check(range, rlen, c->mem) : GG_OK;
  if (rc == GG_ENOMEM) return nomem(c);
  if (rc)
    return bad(c, rv,
               "dependency '%s' has an invalid version range \"%.*s\" (npm syntax, e.g. \"^1.2\")",
               shown, (int)(rlen > 80 ? 80 : rlen), range);
  if (!strcmp(id, c->m->id)) return bad(c, idv, "package '%s' depends on itself", shown);
  for (size_t i = 0; i < *n; i++)
    if (!strcmp(c->pv->deps[i].id, id))
      return bad(c, idv, "dependency '%s' is listed twice", shown);
  uint32_t l, col;
  ggm_toml_pos(idv, &l, &col);
  c->pv->deps[(*n)++] = (ggm_manifest_dep){id, range, l, col};
  return GG_OK;
}

static int load_deps(ctx *c) {
  const ggm_toml_val *v;
  int table_form;
  if (c->m->format == GGM_MANIFEST_GPACK) {
    v = ggm_toml_get(c->m->doc, "dependencies");
    table_form = 1;
  } else {
    v = ggm_toml_get(c->hdr, "dependencies");
    table_form = v && ggm_toml_type_of(v) == GGM_TOML_TABLE;
  }
  if (!v) return GG_OK;
  ggm_toml_type t = ggm_toml_type_of(v);
  if (table_form ? t != GGM_TOML_TABLE : t != GGM_TOML_ARRAY)
    return bad(c, v, "'dependencies' must be %s, not %s %s",
               c->m->format == GGM_MANIFEST_GPACK ? "a table of id = \"range\""
                                                  : "an array of package ids",
               type_article(v), ggm_toml_type_name(t));
  size_t cnt = ggm_toml_len(v);
  if (cnt > GGM_MANIFEST_DEPS_MAX)
    return bad(c, v, "%zu dependencies; at most %d are allowed", cnt, GGM_MANIFEST_DEPS_MAX);
  if (!cnt) return GG_OK;
  c->pv->deps = gg_calloc(c->mem, cnt, sizeof(*c->pv->deps));
  if (!c->pv->deps) return nomem(c);
  size_t n = 0;
  for (size_t i = 0; i < cnt; i++) {
    int rc;
    if (table_form) {
      size_t idlen, rlen;
      const char *id = ggm_toml_key_at(v, i, &idlen);
      const ggm_toml_val *rv = ggm_toml_value_at(v, i);
      char what[GGM_MANIFEST_ID_MAX + 32];
      snprintf(what, sizeof(what), "the range of dependency '%.*s'",
               (int)(idlen > GGM_MANIFEST_ID_MAX ? GGM_MANIFEST_ID_MAX : idlen), id);
      const char *range;
      rc = want_string(c, rv, what, GGM_MANIFEST_TEXT_MAX, &range, &rlen);
      if (!rc) rc = add_dep(c, &n, id, idlen, rv, range, rlen, rv);
    } else {
      const ggm_toml_val *it = ggm_toml_at(v, i);
      const char *id;
      size_t idlen;
      rc = want_string(c, it, "a dependency id", GGM_MANIFEST_ID_MAX, &id, &idlen);
      if (!rc) rc = add_dep(c, &n, id, idlen, it, "*", 1, it);
    }
    if (rc) return rc;
  }
  c->m->deps = c->pv->deps;
  c->m->n_deps = n;
  return GG_OK;
}

static int load_fields(ctx *c) {
  ggm_manifest *m = c->m;
  const char *idkey = m->format == GGM_MANIFEST_GPACK ? "id" : "name";
  const ggm_toml_val *idv = ggm_toml_get(c->hdr, idkey);
  if (!idv) return bad(c, c->hdr, "[%s] needs '%s' (the package id)", c->hdr_name, idkey);
  char what[64];
  snprintf(what, sizeof(what), "'%s'", idkey);
  size_t len;
  int rc = want_string(c, idv, what, 1 << 20, &m->id, &len);
  if (rc) return rc;
  if (ggm_manifest_check_id(m->id, len) != GG_OK)
    return bad(c, idv,
               "package id \"%.*s\" is invalid: use dot-separated segments of [a-z0-9][a-z0-9_-]*, "
               "at most %d bytes (e.g. \"io.ggen.rust.cli\")",
               (int)(len > 80 ? 80 : len), m->id, GGM_MANIFEST_ID_MAX);

  const ggm_toml_val *vv = ggm_toml_get(c->hdr, "version");
  if (!vv)
    return bad(c, c->hdr, "[%s] needs 'version' (a semantic version such as \"0.1.0\")",
               c->hdr_name);
  if ((rc = want_string(c, vv, "'version'", 1 << 20, &m->version, &len))) return rc;
  rc = version_check(m->version, len, c->mem);
  if (rc == GG_ENOMEM) return nomem(c);
  if (rc)
    return bad(c, vv,
               "version \"%.*s\" is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])",
               (int)(len > 80 ? 80 : len), m->version);

  if (m->format == GGM_MANIFEST_GPACK) {
    if ((rc = opt_string(c, c->hdr, "name", GGM_MANIFEST_TEXT_MAX, &m->name))) return rc;
  }
  if (!m->name) m->name = m->id;
  if ((rc = opt_string(c, c->hdr, "description", GGM_MANIFEST_DESC_MAX, &m->description)) ||
      (rc = opt_string(c, c->hdr, "license", GGM_MANIFEST_TEXT_MAX, &m->license)) ||
      (rc = opt_string(c, c->hdr, "ggen_compat", GGM_MANIFEST_TEXT_MAX, &m->ggen_compat)))
    return rc;
  if (m->ggen_compat) {
    rc = range_check(m->ggen_compat, strlen(m->ggen_compat), c->mem);
    if (rc == GG_ENOMEM) return nomem(c);
    if (rc)
      return bad(c, ggm_toml_get(c->hdr, "ggen_compat"),
                 "'ggen_compat' must be a version range such as \">=0.1.0\"");
  }

  /* authors = [...] or ggen's author = "..." */
  if (ggm_toml_get(c->hdr, "authors")) {
    if ((rc =
             str_list(c, c->hdr, "authors", GGM_MANIFEST_TEXT_MAX, &c->pv->authors, &m->n_authors)))
      return rc;
  } else {
    const char *a;
    if ((rc = opt_string(c, c->hdr, "author", GGM_MANIFEST_TEXT_MAX, &a))) return rc;
    if (a) {
      c->pv->authors = gg_calloc(c->mem, 1, sizeof(*c->pv->authors));
      if (!c->pv->authors) return nomem(c);
      c->pv->authors[0] = a;
      m->n_authors = 1;
    }
  }
  m->authors = c->pv->authors;
  if ((rc = str_list(c, c->hdr, "tags", GGM_MANIFEST_WORD_MAX, &c->pv->tags, &m->n_tags)) ||
      (rc = str_list(c, c->hdr, "keywords", GGM_MANIFEST_WORD_MAX, &c->pv->keywords,
                     &m->n_keywords)))
    return rc;
  m->tags = c->pv->tags;
  m->keywords = c->pv->keywords;

  if ((rc = opt_string(c, c->hdr, "category", GGM_MANIFEST_TEXT_MAX, &m->category))) return rc;
  if (!m->category) {
    /* Cargo-style categories = [...]: the first one is the category */
    const ggm_toml_val *cats = ggm_toml_get(c->hdr, "categories");
    if (cats && ggm_toml_type_of(cats) == GGM_TOML_ARRAY && ggm_toml_len(cats)) {
      size_t cl;
      if ((rc = want_string(c, ggm_toml_at(cats, 0), "item 1 of 'categories'",
                            GGM_MANIFEST_TEXT_MAX, &m->category, &cl)))
        return rc;
      if (!cl) m->category = NULL;
    }
  }
  if ((rc = meta_string(c, "homepage", GGM_MANIFEST_URL_MAX, &m->homepage)) ||
      (rc = meta_string(c, "repository", GGM_MANIFEST_URL_MAX, &m->repository)) ||
      (rc = meta_string(c, "readme", GGM_MANIFEST_TEXT_MAX, &m->readme)))
    return rc;
  return load_deps(c);
}

void ggm_manifest_free(ggm_manifest *m) {
  if (!m) return;
  mpriv *pv = m->priv_;
  if (pv) {
    const gg_mem *mem = m->mem_;
    ggm_toml_free(pv->doc);
    gg_free(mem, pv->authors);
    gg_free(mem, pv->tags);
    gg_free(mem, pv->keywords);
    gg_free(mem, pv->deps);
    gg_free(mem, pv);
  }
  memset(m, 0, sizeof(*m));
}

int ggm_manifest_parse(ggm_manifest *m, const char *name, const void *src, size_t len,
                       unsigned flags, const gg_mem *mem, ggm_toml_error *err) {
  if (!m) return GG_EINVAL;
  memset(m, 0, sizeof(*m));
  ctx c = {name ? name : "<input>", err, mem, m, NULL, NULL, NULL};
  ggm_toml_opts opts = {0, 0, 0};
  if (!(flags & GGM_MANIFEST_STRICT)) opts.flags = GGM_TOML_F_V1_1 | GGM_TOML_F_LEGACY_LISTS;
  ggm_toml_val *doc = NULL;
  int rc = ggm_toml_parse(&doc, c.name, src, len, &opts, mem, err);
  if (rc) return rc;
  mpriv *pv = gg_calloc(mem, 1, sizeof(*pv));
  if (!pv) {
    ggm_toml_free(doc);
    return nomem(&c);
  }
  pv->doc = doc;
  m->priv_ = pv;
  m->mem_ = mem;
  m->doc = doc;
  c.pv = pv;
  const ggm_toml_val *g = ggm_toml_get(doc, "gpack"), *p = ggm_toml_get(doc, "package");
  if (g) {
    m->format = GGM_MANIFEST_GPACK;
    c.hdr = g;
    c.hdr_name = "gpack";
  } else if (p) {
    m->format = GGM_MANIFEST_PACKAGE;
    c.hdr = p;
    c.hdr_name = "package";
  } else {
    rc = bad(&c, NULL, "not a package manifest: no [gpack] or [package] table");
  }
  if (!rc && ggm_toml_type_of(c.hdr) != GGM_TOML_TABLE)
    rc = bad(&c, c.hdr, "'%s' must be a table", c.hdr_name);
  if (!rc) rc = load_fields(&c);
  if (rc) {
    /* keep the warnings of a lenient parse out of a failed result's way: msg is the error */
    ggm_manifest_free(m);
    return rc;
  }
  return GG_OK;
}

const ggm_toml_val *ggm_manifest_table(const ggm_manifest *m, const char *key) {
  return m && m->doc ? ggm_toml_get(m->doc, key) : NULL;
}

/* ---- canonical write-back ------------------------------------------------------------ */

static const char *const mapped_keys[] = {
    "id",   "name",     "version",  "description", "license",    "ggen_compat", "authors",
    "tags", "keywords", "category", "homepage",    "repository", "readme",      NULL};

static int is_mapped(const ggm_manifest *m, const ggm_toml_val *hdr, const char *k, size_t kl) {
  if (strlen(k) != kl) return 0;
  /* author = "..." is folded into authors only when there is no authors list */
  if (!strcmp(k, "author")) return !ggm_toml_get(hdr, "authors");
  for (int i = 0; mapped_keys[i]; i++)
    if (!strcmp(k, mapped_keys[i])) return 1;
  /* package.toml's dependencies list is rewritten; a gpack's [gpack].dependencies is not
   * read, so it is kept as is */
  return m->format == GGM_MANIFEST_PACKAGE && !strcmp(k, "dependencies");
}

static int put_str(ggm_toml_val *t, const char *k, const char *v) {
  return v ? ggm_toml_set_str(t, k, v) : GG_OK;
}

static int put_list(ggm_toml_val *t, const char *k, const char *const *v, size_t n,
                    const gg_mem *mem) {
  if (!n) return GG_OK;
  ggm_toml_val *a;
  int rc = ggm_toml_set_array(t, k, &a);
  for (size_t i = 0; i < n && !rc; i++) {
    ggm_toml_val *s = ggm_toml_new_str(mem, v[i], strlen(v[i]));
    rc = s ? ggm_toml_push(a, s) : GG_ENOMEM;
  }
  return rc;
}

static int dep_cmp(const void *a, const void *b) {
  return strcmp(((const ggm_manifest_dep *)a)->id, ((const ggm_manifest_dep *)b)->id);
}

static int build_canonical(const ggm_manifest *m, ggm_toml_val *root, const gg_mem *mem) {
  int gp = m->format == GGM_MANIFEST_GPACK;
  const char *hname = gp ? "gpack" : "package";
  ggm_toml_val *h;
  int rc = ggm_toml_set_table(root, hname, &h);
  if (rc) return rc;
  if (gp) {
    if ((rc = put_str(h, "id", m->id)) || (rc = put_str(h, "name", m->name))) return rc;
  } else {
    if ((rc = put_str(h, "name", m->id))) return rc;
  }
  if ((rc = put_str(h, "version", m->version)) ||
      (rc = put_str(h, "description", m->description)) ||
      (rc = put_str(h, "license", m->license)) ||
      (rc = put_str(h, "ggen_compat", m->ggen_compat)) ||
      (rc = put_list(h, "authors", m->authors, m->n_authors, mem)) ||
      (rc = put_list(h, "tags", m->tags, m->n_tags, mem)) ||
      (rc = put_list(h, "keywords", m->keywords, m->n_keywords, mem)) ||
      (rc = put_str(h, "category", m->category)) || (rc = put_str(h, "homepage", m->homepage)) ||
      (rc = put_str(h, "repository", m->repository)) || (rc = put_str(h, "readme", m->readme)))
    return rc;
  ggm_manifest_dep *sorted = NULL;
  if (m->n_deps) {
    sorted = gg_malloc(mem, m->n_deps * sizeof(*sorted));
    if (!sorted) return GG_ENOMEM;
    memcpy(sorted, m->deps, m->n_deps * sizeof(*sorted));
    qsort(sorted, m->n_deps, sizeof(*sorted), dep_cmp);
  }
  if (!gp && m->n_deps) {
    /* ggen's list of names when every range is "*", else the id = "range" table form */
    int any = 1;
    for (size_t i = 0; i < m->n_deps; i++) any = any && !strcmp(sorted[i].range, "*");
    ggm_toml_val *a;
    if (any) {
      rc = ggm_toml_set_array(h, "dependencies", &a);
      for (size_t i = 0; i < m->n_deps && !rc; i++) {
        ggm_toml_val *s = ggm_toml_new_str(mem, sorted[i].id, strlen(sorted[i].id));
        rc = s ? ggm_toml_push(a, s) : GG_ENOMEM;
      }
    } else {
      rc = ggm_toml_set_table(h, "dependencies", &a);
      for (size_t i = 0; i < m->n_deps && !rc; i++)
        rc = ggm_toml_set_str(a, sorted[i].id, sorted[i].range);
    }
  }
  /* the header's other keys, as read */
  const ggm_toml_val *oh = ggm_toml_get(m->doc, hname);
  for (size_t i = 0; i < ggm_toml_len(oh) && !rc; i++) {
    size_t kl;
    const char *k = ggm_toml_key_at(oh, i, &kl);
    if (is_mapped(m, oh, k, kl)) continue;
    ggm_toml_val *cv = ggm_toml_clone(ggm_toml_value_at(oh, i), mem);
    rc = cv ? ggm_toml_set(h, k, kl, cv) : GG_ENOMEM;
  }
  if (!rc && gp && m->n_deps) {
    ggm_toml_val *d;
    rc = ggm_toml_set_table(root, "dependencies", &d);
    for (size_t i = 0; i < m->n_deps && !rc; i++)
      rc = ggm_toml_set_str(d, sorted[i].id, sorted[i].range);
  }
  gg_free(mem, sorted);
  /* every other top-level entry in document order */
  for (size_t i = 0; i < ggm_toml_len(m->doc) && !rc; i++) {
    size_t kl;
    const char *k = ggm_toml_key_at(m->doc, i, &kl);
    if ((kl == strlen(hname) && !memcmp(k, hname, kl)) ||
        (gp && kl == 12 && !memcmp(k, "dependencies", 12)))
      continue;
    ggm_toml_val *cv = ggm_toml_clone(ggm_toml_value_at(m->doc, i), mem);
    rc = cv ? ggm_toml_set(root, k, kl, cv) : GG_ENOMEM;
  }
  return rc;
}

int ggm_manifest_write(const ggm_manifest *m, gg_buf *out) {
  if (!m || !m->id || !m->version || !out) return GG_EINVAL;
  const gg_mem *mem = m->mem_;
  ggm_toml_val *root = ggm_toml_new_table(mem);
  if (!root) return GG_ENOMEM;
  int rc = build_canonical(m, root, mem);
  if (!rc) rc = ggm_toml_write(out, root);
  ggm_toml_free(root);
  return rc;
}
