/*
 * Signed release records: canonical encoding, signing, decoding with verification, archive
 * and ownership checks (include/ggen/release.h, proto/release.proto, docs/release.md).
 *
 * Canonical form: protobuf-c packs fields in field-number order and omits proto3 defaults;
 * this file adds the rest before packing (tags and keywords sorted and deduplicated,
 * dependencies sorted by id) and refuses what has no canonical form (empty list elements,
 * duplicate dependency ids). The decoder never trusts the received body as canonical: it
 * rebuilds the body from the decoded fields with the same encoder and compares bytes, which
 * also rejects unknown fields, repeated scalars, non-minimal varints and misordered fields.
 *
 * This file is a parser: no I/O beyond hashing a caller's descriptor in
 * ggm_release_check_archive_fd(), no clock, no randomness. All allocation goes through the
 * caller's gg_mem (protobuf-c's too, via an adapter that also records failures so that
 * "out of memory" and "malformed" are told apart).
 */
#include "ggen/release.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggen/err.h"
#include "release.pb-c.h"

#define DOMAIN_LEN (sizeof(GGM_RELEASE_DOMAIN) - 1)

/* ---- allocator adapter ------------------------------------------------------------------ */

typedef struct pballoc {
  ProtobufCAllocator a;
  const gg_mem *mem;
  int failed;
} pballoc;

static void *pb_alloc(void *ud, size_t n) {
  pballoc *p = ud;
  void *r = gg_malloc(p->mem, n);
  if (r == NULL) p->failed = 1;
  return r;
}

static void pb_free(void *ud, void *ptr) { gg_free(((pballoc *)ud)->mem, ptr); }

static void pballoc_init(pballoc *p, const gg_mem *mem) {
  p->a.alloc = pb_alloc;
  p->a.free = pb_free;
  p->a.allocator_data = p;
  p->mem = mem;
  p->failed = 0;
}

/* ---- field validation ------------------------------------------------------------------- */

static int utf8_ok(const char *s, size_t n, int allow_newlines) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    if (c < 0x80) {
      if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'))) || c == 0x7f)
        return 0;
      i++;
      continue;
    }
    size_t k;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf)
      k = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      k = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      k = 4, cp = c & 0x07;
    else
      return 0;
    if (i + k > n) return 0;
    for (size_t j = 1; j < k; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (p[i + j] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k;
  }
  return 1;
}

/* Optional text: NULL or "" is absent. */
static int text_ok(const char *s, size_t max, int newlines) {
  if (s == NULL) return 1;
  size_t n = strnlen(s, max + 1);
  return n <= max && utf8_ok(s, n, newlines);
}

/* Package ids as manifests define them (include/ggen/manifest.h): dot-separated segments,
 * each [a-z0-9][a-z0-9_-]*. Lower case only, so two ids never differ by case alone: on a
 * case-insensitive file system they would be one directory, and one could squat the other. */
static int id_ok(const char *s) {
  if (s == NULL || s[0] == '\0') return 0;
  size_t n = strnlen(s, GGM_RELEASE_ID_MAX + 1);
  if (n > GGM_RELEASE_ID_MAX) return 0;
  int seg_start = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (seg_start) return 0; /* empty segment */
      seg_start = 1;
      continue;
    }
    if (!alnum && (seg_start || (c != '_' && c != '-'))) return 0;
    seg_start = 0;
  }
  return !seg_start;
}

static int version_ok(const char *s) {
  if (s == NULL || s[0] == '\0') return 0;
  size_t n = strnlen(s, GGM_RELEASE_VERSION_MAX + 1);
  if (n > GGM_RELEASE_VERSION_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] <= 0x20 || s[i] >= 0x7f) return 0;
  return 1;
}

static int list_ok(const char *const *v, size_t n, size_t max_each) {
  if (n > GGM_RELEASE_LIST_MAX) return 0;
  if (n > 0 && v == NULL) return 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] == NULL || v[i][0] == '\0' || !text_ok(v[i], max_each, 0)) return 0;
  return 1;
}

static int cid_ok(const uint8_t *c) {
  return c[0] == 0x01 && c[1] == 0x55 && c[2] == 0x12 && c[3] == 0x20;
}

/* Checks every field; *why gets a static description of the first problem. */
static int validate(const ggm_release *r, const char **why) {
#define BAD(msg)                                                                                   \
  do {                                                                                             \
    if (why) *why = msg;                                                                           \
    return GG_EINVAL;                                                                              \
  } while (0)
  if (!id_ok(r->id))
    BAD("id: missing, over 128 bytes or not dot-separated [a-z0-9][a-z0-9_-]* segments");
  if (!version_ok(r->version)) BAD("version: missing, over 64 bytes or not printable ASCII");
  if (!text_ok(r->name, GGM_RELEASE_TEXT_MAX, 0)) BAD("name: over 256 bytes or not UTF-8 text");
  if (!text_ok(r->description, GGM_RELEASE_DESC_MAX, 1))
    BAD("description: over 4096 bytes or not UTF-8 text");
  if (!text_ok(r->license, GGM_RELEASE_TEXT_MAX, 0)) BAD("license: over 256 bytes or not text");
  if (!list_ok(r->authors, r->n_authors, GGM_RELEASE_TEXT_MAX))
    BAD("authors: over 32, empty or over 256 bytes");
  if (!list_ok(r->tags, r->n_tags, GGM_RELEASE_WORD_MAX))
    BAD("tags: over 32, empty or over 64 bytes");
  if (!list_ok(r->keywords, r->n_keywords, GGM_RELEASE_WORD_MAX))
    BAD("keywords: over 32, empty or over 64 bytes");
  if (!text_ok(r->category, GGM_RELEASE_TEXT_MAX, 0)) BAD("category: over 256 bytes or not text");
  if (!text_ok(r->homepage, GGM_RELEASE_URL_MAX, 0)) BAD("homepage: over 512 bytes or not text");
  if (!text_ok(r->repository, GGM_RELEASE_URL_MAX, 0))
    BAD("repository: over 512 bytes or not text");
  if (r->n_deps > GGM_RELEASE_DEPS_MAX || (r->n_deps > 0 && r->deps == NULL))
    BAD("dependencies: more than 256");
  for (size_t i = 0; i < r->n_deps; i++)
    if (!id_ok(r->deps[i].id) || !text_ok(r->deps[i].range, GGM_RELEASE_TEXT_MAX, 0))
      BAD("dependencies: invalid id or range");
  /* two ranges for one id have no canonical meaning (at most 256 deps: quadratic is fine) */
  for (size_t i = 0; i < r->n_deps; i++)
    for (size_t j = i + 1; j < r->n_deps; j++)
      if (strcmp(r->deps[i].id, r->deps[j].id) == 0) BAD("dependencies: duplicate id");
  if (!text_ok(r->ggen_compat, GGM_RELEASE_TEXT_MAX, 0)) BAD("ggen_compat: over 256 bytes");
  if (!cid_ok(r->archive_cid)) BAD("archive_cid: not a CIDv1 raw sha2-256");
  return GG_OK;
#undef BAD
}

/* ---- canonical body -------------------------------------------------------------------- */

static int strp_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dep_cmp(const void *a, const void *b) {
  const Ggen__Release__Dependency *x = *(Ggen__Release__Dependency *const *)a;
  const Ggen__Release__Dependency *y = *(Ggen__Release__Dependency *const *)b;
  return strcmp(x->id, y->id);
}

/* Sorted, deduplicated copy of a string list (pointers only). */
static char **sorted_set(const char *const *v, size_t n, size_t *out_n, const gg_mem *mem) {
  *out_n = 0;
  if (n == 0) return NULL;
  char **c = gg_malloc(mem, n * sizeof(*c));
  if (c == NULL) return NULL;
  memcpy(c, v, n * sizeof(*c));
  qsort(c, n, sizeof(*c), strp_cmp);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (k == 0 || strcmp(c[k - 1], c[i]) != 0) c[k++] = c[i];
  *out_n = k;
  return c;
}

static char *str_or_empty(const char *s) { return (char *)(s ? s : protobuf_c_empty_string); }

/* Packs the canonical body of r into out (appended). */
static int encode_body(const ggm_release *r, gg_buf *out, const gg_mem *mem) {
  int rv = validate(r, NULL);
  if (rv != GG_OK) return rv;
  Ggen__Release__ReleaseBody b = GGEN__RELEASE__RELEASE_BODY__INIT;
  Ggen__Release__Dependency *deps = NULL, **depp = NULL;
  char **tags = NULL, **kws = NULL;
  uint8_t pk[GG_PUBKEY_PB_ED25519];
  b.id = (char *)r->id;
  b.version = (char *)r->version;
  b.name = str_or_empty(r->name);
  b.description = str_or_empty(r->description);
  b.license = str_or_empty(r->license);
  b.n_authors = r->n_authors;
  b.authors = (char **)r->authors;
  rv = GG_ENOMEM;
  tags = sorted_set(r->tags, r->n_tags, &b.n_tags, mem);
  if (r->n_tags && tags == NULL) goto done;
  b.tags = tags;
  kws = sorted_set(r->keywords, r->n_keywords, &b.n_keywords, mem);
  if (r->n_keywords && kws == NULL) goto done;
  b.keywords = kws;
  b.category = str_or_empty(r->category);
  b.homepage = str_or_empty(r->homepage);
  b.repository = str_or_empty(r->repository);
  if (r->n_deps) {
    deps = gg_malloc(mem, r->n_deps * sizeof(*deps));
    depp = gg_malloc(mem, r->n_deps * sizeof(*depp));
    if (deps == NULL || depp == NULL) goto done;
    for (size_t i = 0; i < r->n_deps; i++) {
      Ggen__Release__Dependency d = GGEN__RELEASE__DEPENDENCY__INIT;
      d.id = (char *)r->deps[i].id;
      d.range = str_or_empty(r->deps[i].range);
      deps[i] = d;
      depp[i] = &deps[i];
    }
    qsort(depp, r->n_deps, sizeof(*depp), dep_cmp); /* ids are unique (validate) */
    b.n_dependencies = r->n_deps;
    b.dependencies = depp;
  }
  b.ggen_compat = str_or_empty(r->ggen_compat);
  b.archive_cid.data = (uint8_t *)r->archive_cid;
  b.archive_cid.len = GGM_CID_LEN;
  b.archive_size = r->archive_size;
  b.publish_time = r->publish_time;
  gg_pubkey_encode_ed25519(r->publisher, pk);
  b.publisher_key.data = pk;
  b.publisher_key.len = sizeof(pk);
  size_t n = ggen__release__release_body__get_packed_size(&b);
  uint8_t *dst = gg_buf_tail(out, n);
  if (dst == NULL) {
    rv = gg_buf_len(out) + n > out->limit ? GG_ETOOBIG : GG_ENOMEM;
    goto done;
  }
  ggen__release__release_body__pack(&b, dst);
  gg_buf_commit(out, n);
  rv = GG_OK;
done:
  gg_free(mem, tags);
  gg_free(mem, kws);
  gg_free(mem, deps);
  gg_free(mem, depp);
  return rv;
}

int ggm_release_check(const ggm_release *r, const char **why) {
  if (why) *why = "";
  if (r == NULL) return GG_EINVAL;
  return validate(r, why);
}

int ggm_release_encode_body(const ggm_release *r, gg_buf *out, const gg_mem *mem) {
  if (r == NULL || out == NULL) return GG_EINVAL;
  return encode_body(r, out, mem);
}

static int encode_envelope(const uint8_t *body, size_t n, const uint8_t sig[GG_ED25519_SIG],
                           gg_buf *out) {
  Ggen__Release__SignedRelease env = GGEN__RELEASE__SIGNED_RELEASE__INIT;
  env.body.data = (uint8_t *)body;
  env.body.len = n;
  env.signature.data = (uint8_t *)sig;
  env.signature.len = GG_ED25519_SIG;
  size_t total = ggen__release__signed_release__get_packed_size(&env);
  if (total > GGM_RELEASE_MAX) return GG_ETOOBIG;
  uint8_t *dst = gg_buf_tail(out, total);
  if (dst == NULL) return gg_buf_len(out) + total > out->limit ? GG_ETOOBIG : GG_ENOMEM;
  ggen__release__signed_release__pack(&env, dst);
  gg_buf_commit(out, total);
  return GG_OK;
}

int ggm_release_sign(ggm_release *r, const gg_keypair *kp, gg_buf *out, const gg_mem *mem) {
  if (r == NULL || kp == NULL || out == NULL) return GG_EINVAL;
  uint8_t saved[GG_ED25519_PUB];
  memcpy(saved, r->publisher, sizeof(saved));
  memcpy(r->publisher, kp->pub, GG_ED25519_PUB);
  gg_buf msg;
  gg_buf_init(&msg, mem, GGM_RELEASE_MAX + DOMAIN_LEN);
  int rv = gg_buf_append(&msg, GGM_RELEASE_DOMAIN, DOMAIN_LEN);
  if (rv == GG_OK) rv = encode_body(r, &msg, mem);
  uint8_t sig[GG_ED25519_SIG];
  if (rv == GG_OK) {
    gg_sign(kp, gg_buf_ptr(&msg), gg_buf_len(&msg), sig);
    rv = encode_envelope(gg_buf_ptr(&msg) + DOMAIN_LEN, gg_buf_len(&msg) - DOMAIN_LEN, sig, out);
  }
  gg_buf_free(&msg);
  if (rv == GG_OK)
    memcpy(r->signature, sig, GG_ED25519_SIG);
  else
    memcpy(r->publisher, saved, sizeof(saved)); /* a failed call changes nothing */
  return rv;
}

int ggm_release_encode(const ggm_release *r, gg_buf *out, const gg_mem *mem) {
  if (r == NULL || out == NULL) return GG_EINVAL;
  gg_buf body;
  gg_buf_init(&body, mem, GGM_RELEASE_MAX);
  int rv = encode_body(r, &body, mem);
  if (rv == GG_OK) rv = encode_envelope(gg_buf_ptr(&body), gg_buf_len(&body), r->signature, out);
  gg_buf_free(&body);
  return rv;
}

int ggm_release_verify(const ggm_release *r, const gg_mem *mem) {
  if (r == NULL) return GG_EINVAL;
  gg_buf msg;
  gg_buf_init(&msg, mem, GGM_RELEASE_MAX + DOMAIN_LEN);
  int rv = gg_buf_append(&msg, GGM_RELEASE_DOMAIN, DOMAIN_LEN);
  if (rv == GG_OK) rv = encode_body(r, &msg, mem);
  if (rv == GG_OK)
    rv = gg_verify(r->publisher, gg_buf_ptr(&msg), gg_buf_len(&msg), r->signature,
                   GG_ED25519_SIG) == GG_OK
             ? GG_OK
             : GG_EBADSIG;
  gg_buf_free(&msg);
  return rv;
}

/* ---- decoding ---------------------------------------------------------------------------- */

typedef struct decoded {
  pballoc pa;
  Ggen__Release__SignedRelease *env;
  Ggen__Release__ReleaseBody *body;
  ggm_release_dep *deps;
} decoded;

static void decoded_free(decoded *d, const gg_mem *mem) {
  if (d == NULL) return;
  if (d->body) ggen__release__release_body__free_unpacked(d->body, &d->pa.a);
  if (d->env) ggen__release__signed_release__free_unpacked(d->env, &d->pa.a);
  gg_free(mem, d->deps);
  gg_free(mem, d);
}

static const char *nonempty(const char *s) { return s && s[0] ? s : NULL; }

int ggm_release_decode(const uint8_t *in, size_t len, ggm_release *r, const gg_mem *mem) {
  if (r == NULL || (in == NULL && len > 0)) return GG_EINVAL;
  memset(r, 0, sizeof(*r));
  if (len > GGM_RELEASE_MAX) return GG_ETOOBIG;
  decoded *d = gg_calloc(mem, 1, sizeof(*d));
  if (d == NULL) return GG_ENOMEM;
  pballoc_init(&d->pa, mem);
  ggm_release tmp = {0};
  gg_buf check;
  gg_buf_init(&check, mem, GGM_RELEASE_MAX + DOMAIN_LEN);
  int rv;

  d->env = ggen__release__signed_release__unpack(&d->pa.a, len, in);
  if (d->env == NULL) {
    rv = d->pa.failed ? GG_ENOMEM : GG_EPARSE;
    goto fail;
  }
  if (d->env->signature.len != GG_ED25519_SIG || d->env->body.len == 0) {
    rv = GG_EPARSE;
    goto fail;
  }
  /* the envelope must be canonical too (no unknown or repeated fields) */
  rv = encode_envelope(d->env->body.data, d->env->body.len, d->env->signature.data, &check);
  if (rv == GG_ENOMEM) goto fail;
  if (rv != GG_OK || gg_buf_len(&check) != len || memcmp(gg_buf_ptr(&check), in, len) != 0) {
    rv = GG_EPARSE;
    goto fail;
  }
  gg_buf_reset(&check);

  d->body = ggen__release__release_body__unpack(&d->pa.a, d->env->body.len, d->env->body.data);
  if (d->body == NULL) {
    rv = d->pa.failed ? GG_ENOMEM : GG_EPARSE;
    goto fail;
  }
  Ggen__Release__ReleaseBody *b = d->body;
  gg_pubkey pk;
  if (gg_pubkey_decode(b->publisher_key.data, b->publisher_key.len, &pk) != GG_OK ||
      pk.type != GG_KEY_ED25519 || pk.len != GG_ED25519_PUB) {
    rv = GG_EBADKEY;
    goto fail;
  }
  if (b->archive_cid.len != GGM_CID_LEN) {
    rv = GG_EPARSE;
    goto fail;
  }
  tmp.id = b->id;
  tmp.version = b->version;
  tmp.name = nonempty(b->name);
  tmp.description = nonempty(b->description);
  tmp.license = nonempty(b->license);
  tmp.authors = (const char *const *)b->authors;
  tmp.n_authors = b->n_authors;
  tmp.tags = (const char *const *)b->tags;
  tmp.n_tags = b->n_tags;
  tmp.keywords = (const char *const *)b->keywords;
  tmp.n_keywords = b->n_keywords;
  tmp.category = nonempty(b->category);
  tmp.homepage = nonempty(b->homepage);
  tmp.repository = nonempty(b->repository);
  tmp.ggen_compat = nonempty(b->ggen_compat);
  if (b->n_dependencies > GGM_RELEASE_DEPS_MAX) {
    rv = GG_EPARSE;
    goto fail;
  }
  if (b->n_dependencies) {
    d->deps = gg_calloc(mem, b->n_dependencies, sizeof(*d->deps));
    if (d->deps == NULL) {
      rv = GG_ENOMEM;
      goto fail;
    }
    for (size_t i = 0; i < b->n_dependencies; i++) {
      d->deps[i].id = b->dependencies[i]->id;
      d->deps[i].range = b->dependencies[i]->range;
    }
    tmp.deps = d->deps;
    tmp.n_deps = b->n_dependencies;
  }
  memcpy(tmp.archive_cid, b->archive_cid.data, GGM_CID_LEN);
  tmp.archive_size = b->archive_size;
  tmp.publish_time = b->publish_time;
  memcpy(tmp.publisher, pk.data, GG_ED25519_PUB);
  memcpy(tmp.signature, d->env->signature.data, GG_ED25519_SIG);

  /* canonical: re-encoding what we understood must give the received bytes; this catches
   * unsorted or repeated tags, unknown fields, embedded NULs (strings end early), etc. */
  rv = gg_buf_append(&check, GGM_RELEASE_DOMAIN, DOMAIN_LEN);
  if (rv == GG_OK) rv = encode_body(&tmp, &check, mem);
  if (rv == GG_ENOMEM) goto fail;
  if (rv != GG_OK || gg_buf_len(&check) != DOMAIN_LEN + d->env->body.len ||
      memcmp(gg_buf_ptr(&check) + DOMAIN_LEN, d->env->body.data, d->env->body.len) != 0) {
    rv = GG_EPARSE;
    goto fail;
  }
  if (gg_verify(tmp.publisher, gg_buf_ptr(&check), gg_buf_len(&check), tmp.signature,
                GG_ED25519_SIG) != GG_OK) {
    rv = GG_EBADSIG;
    goto fail;
  }
  gg_buf_free(&check);
  *r = tmp;
  r->priv_ = d;
  r->mem_ = mem;
  return GG_OK;
fail:
  gg_buf_free(&check);
  decoded_free(d, mem);
  return rv;
}

void ggm_release_free(ggm_release *r) {
  if (r == NULL) return;
  decoded_free(r->priv_, r->mem_);
  memset(r, 0, sizeof(*r));
}

/* ---- archive and owner checks -----------------------------------------------------------------
 */

int ggm_release_check_archive_mem(const ggm_release *r, const uint8_t *data, size_t len) {
  if (r == NULL || (data == NULL && len > 0)) return GG_EINVAL;
  if ((uint64_t)len != r->archive_size) return GG_EINTEGRITY;
  uint8_t cid[GGM_CID_LEN];
  ggm_pack_cid_of(data, len, cid);
  return sodium_memcmp(cid, r->archive_cid, GGM_CID_LEN) == 0 ? GG_OK : GG_EINTEGRITY;
}

int ggm_release_check_archive_fd(const ggm_release *r, int fd) {
  if (r == NULL || fd < 0) return GG_EINVAL;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  uint8_t buf[65536];
  uint64_t n = 0;
  for (;;) {
    ssize_t k = read(fd, buf, sizeof(buf));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return GG_EIO;
    if (k == 0) break;
    n += (uint64_t)k;
    if (n > r->archive_size) return GG_EINTEGRITY; /* longer than recorded: stop reading */
    crypto_hash_sha256_update(&st, buf, (size_t)k);
  }
  if (n != r->archive_size) return GG_EINTEGRITY;
  uint8_t d[32], cid[GGM_CID_LEN];
  crypto_hash_sha256_final(&st, d);
  ggm_pack_cid_from_digest(d, cid);
  return sodium_memcmp(cid, r->archive_cid, GGM_CID_LEN) == 0 ? GG_OK : GG_EINTEGRITY;
}

int ggm_release_check_owner(const ggm_release *r, const uint8_t owner[GG_ED25519_PUB]) {
  if (r == NULL) return GG_EINVAL;
  if (owner == NULL) return GG_OK;
  return memcmp(owner, r->publisher, GG_ED25519_PUB) == 0 ? GG_OK : GG_EOWNER;
}
