/*
 * /ggen/search/1.0.0 messages and the merge of local and remote results
 * (include/ggen/psearch.h, docs/p2p-marketplace.md "Searching").
 *
 * The merge trusts no peer: every record is decoded and its signature verified
 * (ggm_release_decode), must match the query's filters and have a positive relevance for the
 * query (a peer cannot push unrelated packages into the results), and must be signed by the
 * key the local catalog knows as the id's owner. When the catalog knows no owner and peers
 * disagree, the key most peers vouch for wins (ties: the one whose records carry the earliest
 * publish time, then the smaller key), and the result is flagged as a conflict. Per id the
 * newest version (semver precedence) is kept; a local result stays local unless a peer has a
 * newer version. Everything a result points to is owned by the merged set.
 */
#include "ggen/psearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/pb.h"
#include "ggen/release.h"
#include "ggen/semver.h"
#include "market.pb-c.h"

/* ---- messages ------------------------------------------------------------------------------ */

/* A field a peer may send: at most GGM_SEARCH_TEXT_MAX bytes, no control character. */
static int field_ok(const char *s) {
  if (!s) return 1;
  size_t n = 0;
  for (; s[n]; n++)
    if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) return 0;
  return n <= GGM_SEARCH_TEXT_MAX;
}

static char *nz(const char *s) { return (char *)(s && *s ? s : ""); }

int ggm_psearch_req_encode(const ggm_psearch_req *q, gg_buf *out) {
  if (q->n_tags > GGM_SEARCH_MAX_TAGS || !field_ok(q->text) || !field_ok(q->author) ||
      !field_ok(q->category) || !field_ok(q->license) || !field_ok(q->id))
    return GG_EINVAL;
  for (size_t i = 0; i < q->n_tags; i++)
    if (!q->tags[i] || !field_ok(q->tags[i])) return GG_EINVAL;
  Ggen__Market__SearchRequest r = GGEN__MARKET__SEARCH_REQUEST__INIT;
  r.query = nz(q->text);
  r.tags = (char **)q->tags;
  r.n_tags = q->n_tags;
  r.author = nz(q->author);
  r.category = nz(q->category);
  r.license = nz(q->license);
  r.limit = q->limit;
  r.id = nz(q->id);
  size_t n = ggen__market__search_request__get_packed_size(&r);
  if (n > GGM_SEARCH_REQ_MAX) return GG_EINVAL;
  uint8_t buf[GGM_SEARCH_REQ_MAX];
  ggen__market__search_request__pack(&r, buf);
  return gg_lpm_write(out, buf, n);
}

int ggm_psearch_req_decode(const uint8_t *body, size_t len, ggm_psearch_req *q) {
  memset(q, 0, sizeof(*q));
  if (len > GGM_SEARCH_REQ_MAX) return GG_ETOOBIG;
  ProtobufCAllocator a;
  gg_pb_allocator(&a, NULL);
  Ggen__Market__SearchRequest *r = ggen__market__search_request__unpack(&a, len, body);
  if (!r) return GG_EPROTO;
  int ok = r->n_tags <= GGM_SEARCH_MAX_TAGS && field_ok(r->query) && field_ok(r->author) &&
           field_ok(r->category) && field_ok(r->license) && field_ok(r->id);
  for (size_t i = 0; ok && i < r->n_tags; i++) ok = field_ok(r->tags[i]) && r->tags[i][0];
  if (!ok) {
    ggen__market__search_request__free_unpacked(r, &a);
    return GG_EPROTO;
  }
  q->text = r->query[0] ? r->query : NULL;
  for (size_t i = 0; i < r->n_tags; i++) q->tags[i] = r->tags[i];
  q->n_tags = r->n_tags;
  q->author = r->author[0] ? r->author : NULL;
  q->category = r->category[0] ? r->category : NULL;
  q->license = r->license[0] ? r->license : NULL;
  q->limit = r->limit;
  q->id = r->id[0] ? r->id : NULL;
  q->priv_ = r;
  return GG_OK;
}

void ggm_psearch_req_free(ggm_psearch_req *q) {
  if (q->priv_) {
    ProtobufCAllocator a;
    gg_pb_allocator(&a, NULL);
    ggen__market__search_request__free_unpacked(q->priv_, &a);
  }
  memset(q, 0, sizeof(*q));
}

int ggm_psearch_resp_encode(int status, const gg_slice *records, size_t n, const char *corrected,
                            const char *message, gg_buf *out) {
  if (n > GGM_SEARCH_MAX_RESULTS || status < GGM_ST_OK || status > GGM_ST_RATE_LIMITED)
    return GG_EINVAL;
  Ggen__Market__SearchResponse r = GGEN__MARKET__SEARCH_RESPONSE__INIT;
  ProtobufCBinaryData recs[GGM_SEARCH_MAX_RESULTS];
  for (size_t i = 0; i < n; i++)
    recs[i] = (ProtobufCBinaryData){records[i].len, (uint8_t *)records[i].p};
  char cor[GGM_SEARCH_MSG_MAX + 1], msg[GGM_SEARCH_MSG_MAX + 1];
  snprintf(cor, sizeof cor, "%s", corrected ? corrected : "");
  snprintf(msg, sizeof msg, "%s", message ? message : "");
  r.status = (Ggen__Market__Status)status;
  r.records = recs;
  r.n_records = n;
  r.corrected = cor;
  r.message = msg;
  size_t size = ggen__market__search_response__get_packed_size(&r);
  if (size > GGM_SEARCH_RESP_MAX) return GG_ETOOBIG;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return GG_ENOMEM;
  ggen__market__search_response__pack(&r, buf);
  int rv = gg_lpm_write(out, buf, size);
  free(buf);
  return rv;
}

/* Copies a peer's text for display: control characters become '?'. */
static void copy_text(char *dst, size_t cap, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < cap; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  dst[i] = 0;
}

int ggm_psearch_resp_decode(const uint8_t *body, size_t len, ggm_psearch_resp *out) {
  memset(out, 0, sizeof(*out));
  if (len > GGM_SEARCH_RESP_MAX) return GG_ETOOBIG;
  ProtobufCAllocator a;
  gg_pb_allocator(&a, NULL);
  Ggen__Market__SearchResponse *r = ggen__market__search_response__unpack(&a, len, body);
  if (!r) return GG_EPROTO;
  int st = (int)r->status;
  int ok = st >= GGM_ST_OK && st <= GGM_ST_RATE_LIMITED && r->n_records <= GGM_SEARCH_MAX_RESULTS &&
           (st == GGM_ST_OK || r->n_records == 0);
  for (size_t i = 0; ok && i < r->n_records; i++)
    ok = r->records[i].len > 0 && r->records[i].len <= GGM_RELEASE_MAX;
  if (!ok) {
    ggen__market__search_response__free_unpacked(r, &a);
    return GG_EPROTO;
  }
  out->status = st;
  for (size_t i = 0; i < r->n_records; i++)
    out->records[i] = (gg_slice){r->records[i].data, r->records[i].len};
  out->n = r->n_records;
  copy_text(out->corrected, sizeof out->corrected, r->corrected);
  copy_text(out->message, sizeof out->message, r->message);
  out->priv_ = r;
  return GG_OK;
}

void ggm_psearch_resp_free(ggm_psearch_resp *r) {
  if (r->priv_) {
    ProtobufCAllocator a;
    gg_pb_allocator(&a, NULL);
    ggen__market__search_response__free_unpacked(r->priv_, &a);
  }
  memset(r, 0, sizeof(*r));
}

/* ---- merging --------------------------------------------------------------------------------- */

typedef struct rent { /* one verified remote record */
  size_t ans;
  ggm_release r;
  const uint8_t *rec;
  size_t len;
  ggm_semver ver;
  int have_ver;
  double score;
  int exact;
  int drop;
} rent;

typedef struct priv {
  char **strs; /* everything the results point to */
  size_t nstrs, capstrs;
  void **arrs; /* sources arrays and record copies */
  size_t narrs;
} priv;

/* Takes ownership of an allocation (freed with the merged set); 0 when out of memory (then
 * ptr was freed). */
static int own(priv *p, void *ptr) {
  void **nv = realloc(p->arrs, (p->narrs + 1) * sizeof(*nv));
  if (!nv) {
    free(ptr);
    return 0;
  }
  p->arrs = nv;
  p->arrs[p->narrs++] = ptr;
  return 1;
}

static char *keep(priv *p, const char *s) {
  if (!s) return NULL;
  if (p->nstrs == p->capstrs) {
    size_t nc = p->capstrs ? 2 * p->capstrs : 64;
    char **nv = realloc(p->strs, nc * sizeof(*nv));
    if (!nv) return NULL;
    p->strs = nv;
    p->capstrs = nc;
  }
  char *c = strdup(s);
  if (c) p->strs[p->nstrs++] = c;
  return c;
}

static int ci_has(const char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(v[i], s)) return 1;
  return 0;
}

/* The query's filters on a record (popularity filters cannot be met: a peer's counts are not
 * believed). */
static int filters_ok(const ggm_psearch_req *q, const ggm_release *r, uint64_t min_pop) {
  if (min_pop) return 0;
  for (size_t i = 0; i < q->n_tags; i++)
    if (!ci_has(r->tags, r->n_tags, q->tags[i])) return 0;
  if (q->author && *q->author && !ci_has(r->authors, r->n_authors, q->author)) return 0;
  if (q->category && *q->category && (!r->category || strcasecmp(r->category, q->category)))
    return 0;
  if (q->license && *q->license && (!r->license || strcasecmp(r->license, q->license))) return 0;
  return 1;
}

static ggs_catalog_pkg pkg_of(const ggm_release *r, uint64_t downloads, uint64_t stars) {
  return (ggs_catalog_pkg){.id = r->id,
                           .name = r->name,
                           .description = r->description,
                           .tags = r->tags,
                           .n_tags = r->n_tags,
                           .keywords = r->keywords,
                           .n_keywords = r->n_keywords,
                           .downloads = downloads,
                           .stars = stars};
}

static int rent_cmp(const void *a, const void *b) {
  const rent *x = a, *y = b;
  int c = strcasecmp(x->r.id, y->r.id);
  if (c) return c;
  return x->ans < y->ans ? -1 : x->ans > y->ans;
}

/* The text the relevance is computed for: the local correction, else the one most answers
 * made, else the query itself. */
static const char *effective_text(const ggm_psearch_req *q, const ggs_catalog_results *local,
                                  const ggm_psearch_answer *ans, size_t n) {
  if (local && local->corrected) return local->corrected;
  const char *best = NULL;
  size_t bestc = 0;
  for (size_t i = 0; i < n; i++) {
    if (!ans[i].corrected || !*ans[i].corrected) continue;
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
      if (ans[k].corrected && !strcmp(ans[k].corrected, ans[i].corrected)) c++;
    if (c > bestc) {
      best = ans[i].corrected;
      bestc = c;
    }
  }
  return best ? best : q->text ? q->text : "";
}

static int result_cmp(const void *a, const void *b) {
  const ggm_psearch_result *x = a, *y = b;
  if (x->exact != y->exact) return y->exact - x->exact;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  if (x->downloads != y->downloads) return x->downloads < y->downloads ? 1 : -1;
  if (x->stars != y->stars) return x->stars < y->stars ? 1 : -1;
  return strcasecmp(x->id, y->id);
}

/* Picks the owning key among a group's entries: the catalog's, else the majority. Marks the
 * others dropped (refused). Returns 1 when keys disagreed. */
static int pick_owner(rent *g, size_t n, const uint8_t *owner, ggm_psearch_verdict *vd) {
  const uint8_t *key = owner;
  int conflict = 0;
  if (!key) {
    size_t bestc = 0;
    uint64_t bestt = 0;
    for (size_t i = 0; i < n; i++) {
      size_t c = 0;
      uint64_t t = UINT64_MAX;
      for (size_t k = 0; k < n; k++) {
        if (memcmp(g[k].r.publisher, g[i].r.publisher, 32)) continue;
        /* one vote per answer */
        int first = 1;
        for (size_t j = 0; j < k; j++)
          if (g[j].ans == g[k].ans && !memcmp(g[j].r.publisher, g[k].r.publisher, 32)) first = 0;
        c += first;
        if (g[k].r.publish_time < t) t = g[k].r.publish_time;
      }
      if (!key || c > bestc || (c == bestc && t < bestt) ||
          (c == bestc && t == bestt && memcmp(g[i].r.publisher, key, 32) < 0)) {
        key = g[i].r.publisher;
        bestc = c;
        bestt = t;
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    if (memcmp(g[i].r.publisher, key, 32)) {
      g[i].drop = 1;
      vd[g[i].ans].refused++;
      if (!owner) conflict = 1;
    }
  return conflict;
}

int ggm_psearch_merge(const ggm_psearch_req *q, const ggs_catalog_results *local,
                      const ggm_psearch_answer *answers, size_t n, ggm_psearch_owner_fn owner,
                      void *owner_ud, ggm_psearch_merged **out) {
  *out = NULL;
  ggm_psearch_merged *m = calloc(1, sizeof(*m));
  priv *p = calloc(1, sizeof(*p));
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += answers[i].n;
  rent *e = calloc(total ? total : 1, sizeof(*e));
  size_t nlocal = local ? local->n : 0;
  ggm_psearch_result *res = calloc(nlocal + total + 1, sizeof(*res));
  m->verdicts = m && p ? calloc(n ? n : 1, sizeof(*m->verdicts)) : NULL;
  if (!m || !p || !e || !res || !m->verdicts) {
    if (m) free(m->verdicts);
    free(m);
    free(p);
    free(e);
    free(res);
    return GG_ENOMEM;
  }
  m->priv_ = p;
  m->v = res;
  int rv = GG_OK;
  const char *as = effective_text(q, local, answers, n);
  m->as = keep(p, as);
  size_t ne = 0;
  /* 1: verify, filter, score */
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < answers[i].n; j++) {
      rent *x = &e[ne];
      memset(x, 0, sizeof(*x));
      if (ggm_release_decode(answers[i].records[j].p, answers[i].records[j].len, &x->r, NULL) !=
          GG_OK) {
        m->verdicts[i].invalid++;
        continue;
      }
      x->ans = i;
      x->rec = answers[i].records[j].p;
      x->len = answers[i].records[j].len;
      ggs_catalog_pkg pk = pkg_of(&x->r, 0, 0);
      int ex1 = 0, ex2 = 0;
      double s1 = q->text && *q->text ? ggs_catalog_score(q->text, &pk, &ex1) : 0;
      double s2 = *as ? ggs_catalog_score(as, &pk, &ex2) : 0;
      x->score = s1 > s2 ? s1 : s2;
      x->exact = ex1 || ex2;
      int listing = !*as && !(q->text && *q->text);
      if (!filters_ok(q, &x->r, 0) || (!listing && x->score <= 0 && !x->exact)) {
        m->verdicts[i].irrelevant++;
        ggm_release_free(&x->r);
        continue;
      }
      x->have_ver = ggm_semver_parse(&x->ver, x->r.version, strlen(x->r.version), 0, NULL) == GG_OK;
      m->verdicts[i].valid++;
      ne++;
    }
  }
  qsort(e, ne, sizeof(*e), rent_cmp);
  /* 2: per id, the owner's newest version, merged with the local result */
  size_t nres = 0;
  char *used_local = calloc(nlocal ? nlocal : 1, 1);
  if (!used_local) rv = GG_ENOMEM;
  for (size_t s = 0; s < ne && rv == GG_OK;) {
    size_t t = s;
    while (t < ne && !strcasecmp(e[t].r.id, e[s].r.id)) t++;
    rent *g = &e[s];
    size_t gn = t - s;
    s = t;
    uint8_t okey[32];
    int have_owner = owner && owner(owner_ud, g[0].r.id, okey) == GG_OK;
    int conflict = pick_owner(g, gn, have_owner ? okey : NULL, m->verdicts);
    rent *best = NULL;
    for (size_t i = 0; i < gn; i++) {
      if (g[i].drop) continue;
      if (!best || (g[i].have_ver && best->have_ver && ggm_semver_cmp(&g[i].ver, &best->ver) > 0))
        best = &g[i];
    }
    if (!best) continue;
    const ggs_catalog_hit *L = NULL;
    for (size_t i = 0; i < nlocal; i++)
      if (!strcasecmp(local->hits[i].id, best->r.id)) {
        L = &local->hits[i];
        used_local[i] = 1;
      }
    ggm_psearch_result *o = &res[nres++];
    int remote_newer = 1;
    if (L && L->version) {
      ggm_semver lv;
      if (ggm_semver_parse(&lv, L->version, strlen(L->version), 0, NULL) == GG_OK) {
        remote_newer = best->have_ver && ggm_semver_cmp(&best->ver, &lv) > 0;
        ggm_semver_free(&lv);
      } else {
        remote_newer = 0;
      }
    } else if (L) {
      remote_newer = 0;
    }
    const char *version = remote_newer || !L ? best->r.version : L->version;
    if (L) {
      o->local = 1;
      o->local_version = keep(p, L->version);
      o->downloads = L->downloads;
      o->stars = L->stars;
    }
    if (remote_newer || !L) {
      const ggm_release *r = &best->r;
      o->id = keep(p, r->id);
      o->name = keep(p, r->name ? r->name : r->id);
      o->description = keep(p, r->description ? r->description : "");
      o->author = keep(p, r->n_authors ? r->authors[0] : NULL);
      o->category = keep(p, r->category);
      o->license = keep(p, r->license);
      ggs_catalog_pkg pk = pkg_of(r, o->downloads, o->stars);
      int ex1 = 0, ex2 = 0;
      double s1 = q->text && *q->text ? ggs_catalog_score(q->text, &pk, &ex1) : 0;
      double s2 = *as ? ggs_catalog_score(as, &pk, &ex2) : 0;
      o->score = s1 > s2 ? s1 : s2;
      o->exact = ex1 || ex2;
    } else {
      o->id = keep(p, L->id);
      o->name = keep(p, L->name);
      o->description = keep(p, L->description);
      o->author = keep(p, L->author);
      o->category = keep(p, L->category);
      o->license = keep(p, L->license);
      o->score = L->score;
      o->exact = L->exact;
    }
    o->version = keep(p, version);
    o->conflict = conflict;
    /* sources: the answers that returned this very version, once each */
    const char **src = calloc(gn ? gn : 1, sizeof(*src));
    if (!src || !own(p, (void *)src)) {
      rv = GG_ENOMEM;
      break;
    }
    for (size_t i = 0; i < gn; i++) {
      if (g[i].drop || strcmp(g[i].r.version, version)) continue;
      const char *peer = answers[g[i].ans].peer ? answers[g[i].ans].peer : "?";
      int dup = 0;
      for (size_t k = 0; k < o->nsources; k++) dup |= !strcmp(src[k], peer);
      if (dup) continue;
      src[o->nsources++] = keep(p, peer);
      if (!o->record) {
        uint8_t *copy = malloc(g[i].len);
        if (!copy || !own(p, copy)) {
          rv = GG_ENOMEM;
          break;
        }
        memcpy(copy, g[i].rec, g[i].len);
        o->record = copy;
        o->record_len = g[i].len;
      }
    }
    o->sources = src;
  }
  /* 3: local results nobody else returned */
  for (size_t i = 0; i < nlocal && rv == GG_OK; i++) {
    if (used_local[i]) continue;
    const ggs_catalog_hit *L = &local->hits[i];
    ggm_psearch_result *o = &res[nres++];
    o->id = keep(p, L->id);
    o->name = keep(p, L->name);
    o->version = keep(p, L->version);
    o->local_version = o->version;
    o->description = keep(p, L->description);
    o->author = keep(p, L->author);
    o->category = keep(p, L->category);
    o->license = keep(p, L->license);
    o->downloads = L->downloads;
    o->stars = L->stars;
    o->score = L->score;
    o->exact = L->exact;
    o->local = 1;
  }
  free(used_local);
  for (size_t i = 0; i < ne; i++) {
    ggm_release_free(&e[i].r);
    if (e[i].have_ver) ggm_semver_free(&e[i].ver);
  }
  free(e);
  m->n = nres;
  if (rv != GG_OK) {
    ggm_psearch_merged_free(m);
    return rv;
  }
  qsort(res, nres, sizeof(*res), result_cmp);
  size_t limit = q->limit ? q->limit : GGS_CATALOG_DEFAULT_LIMIT;
  if (m->n > limit) m->n = limit;
  *out = m;
  return GG_OK;
}

void ggm_psearch_merged_free(ggm_psearch_merged *m) {
  if (!m) return;
  priv *p = m->priv_;
  if (p) {
    for (size_t i = 0; i < p->nstrs; i++) free(p->strs[i]);
    free(p->strs);
    for (size_t i = 0; i < p->narrs; i++) free(p->arrs[i]);
    free(p->arrs);
    free(p);
  }
  free(m->v);
  free(m->verdicts);
  free(m);
}
