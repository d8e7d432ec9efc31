/*
 * Release records: sign/decode round trip; the canonical encoding byte by byte (as documented
 * in docs/release.md) and its independence from list order; every field tampered -> bad
 * signature; every byte flipped -> refused; non-canonical bodies with valid signatures ->
 * refused; field validation and caps; archive CID/size checks; the ownership rule; key files;
 * allocation failures.
 */
#include "gg_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/key.h"
#include "ggen/pack.h"
#include "ggen/rand.h"
#include "ggen/release.h"
#include "release.pb-c.h"

static const char *authors[] = {"Ada <ada@example.org>", "Bob"};
static const char *tags[] = {"rust", "cli", "templates"};
static const char *keywords[] = {"subcommand", "clap"};
static const ggm_release_dep deps[] = {{"io.ggen.macros.std", "^0.1"},
                                       {"io.ggen.base", ">=1.0.0 <2.0.0"}};

static void keypair(gg_keypair *kp, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  gg_keypair_from_seed(kp, seed);
}

static ggm_release full_record(void) {
  ggm_release r = {0};
  r.id = "io.ggen.rust.cli-subcommand";
  r.version = "0.1.0";
  r.name = "Rust CLI Subcommand";
  r.description = "Generates a clap subcommand.\nWith tests.";
  r.license = "MIT";
  r.authors = authors;
  r.n_authors = 2;
  r.tags = tags;
  r.n_tags = 3;
  r.keywords = keywords;
  r.n_keywords = 2;
  r.category = "rust";
  r.homepage = "https://example.org/cli";
  r.repository = "https://example.org/cli.git";
  r.deps = deps;
  r.n_deps = 2;
  r.ggen_compat = ">=0.1.0";
  ggm_pack_cid_of((const uint8_t *)"archive bytes", 13, r.archive_cid);
  r.archive_size = 13;
  r.publish_time = 1767225600; /* 2026-01-01T00:00:00Z */
  return r;
}

static void sign_into(ggm_release *r, const gg_keypair *kp, gg_buf *out) {
  gg_buf_init(out, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(r, kp, out, NULL), GG_OK);
}

static void test_round_trip(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 7);
  ggm_release r = full_record();
  gg_buf b;
  sign_into(&r, &kp, &b);
  assert_memory_equal(r.publisher, kp.pub, 32);
  assert_int_equal(ggm_release_verify(&r, NULL), GG_OK);

  ggm_release d;
  assert_int_equal(ggm_release_decode(gg_buf_ptr(&b), gg_buf_len(&b), &d, NULL), GG_OK);
  assert_string_equal(d.id, r.id);
  assert_string_equal(d.version, r.version);
  assert_string_equal(d.name, r.name);
  assert_string_equal(d.description, r.description);
  assert_string_equal(d.license, "MIT");
  assert_int_equal(d.n_authors, 2);
  assert_string_equal(d.authors[0], "Ada <ada@example.org>"); /* order kept */
  assert_string_equal(d.authors[1], "Bob");
  assert_int_equal(d.n_tags, 3);
  assert_string_equal(d.tags[0], "cli"); /* sorted */
  assert_string_equal(d.tags[1], "rust");
  assert_string_equal(d.tags[2], "templates");
  assert_string_equal(d.keywords[0], "clap");
  assert_int_equal(d.n_deps, 2);
  assert_string_equal(d.deps[0].id, "io.ggen.base"); /* sorted by id */
  assert_string_equal(d.deps[0].range, ">=1.0.0 <2.0.0");
  assert_string_equal(d.deps[1].id, "io.ggen.macros.std");
  assert_string_equal(d.ggen_compat, ">=0.1.0");
  assert_string_equal(d.category, "rust");
  assert_string_equal(d.homepage, r.homepage);
  assert_string_equal(d.repository, r.repository);
  assert_memory_equal(d.archive_cid, r.archive_cid, GGM_CID_LEN);
  assert_int_equal(d.archive_size, 13);
  assert_int_equal(d.publish_time, 1767225600);
  assert_memory_equal(d.publisher, kp.pub, 32);
  assert_memory_equal(d.signature, r.signature, 64);
  assert_int_equal(ggm_release_verify(&d, NULL), GG_OK);

  /* re-encoding a decoded record gives the same bytes */
  gg_buf b2;
  gg_buf_init(&b2, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_encode(&d, &b2, NULL), GG_OK);
  assert_int_equal(gg_buf_len(&b2), gg_buf_len(&b));
  assert_memory_equal(gg_buf_ptr(&b2), gg_buf_ptr(&b), gg_buf_len(&b));
  ggm_release_free(&d);
  ggm_release_free(&d); /* zeroed: harmless */
  assert_null(d.id);

  /* a minimal record: absent optional fields decode as NULL */
  ggm_release m = {0};
  m.id = "a";
  m.version = "1";
  memcpy(m.archive_cid, r.archive_cid, GGM_CID_LEN);
  gg_buf_reset(&b2);
  assert_int_equal(ggm_release_sign(&m, &kp, &b2, NULL), GG_OK);
  assert_int_equal(ggm_release_decode(gg_buf_ptr(&b2), gg_buf_len(&b2), &d, NULL), GG_OK);
  assert_null(d.name);
  assert_null(d.description);
  assert_int_equal(d.n_tags, 0);
  assert_int_equal(d.n_deps, 0);
  ggm_release_free(&d);
  gg_buf_free(&b);
  gg_buf_free(&b2);
}

/* The documented encoding of a minimal record (docs/release.md "Example"), byte by byte. */
static void test_canonical_bytes(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 1);
  ggm_release m = {0};
  m.id = "a";
  m.version = "1.0.0";
  m.tags = (const char *[]){"z", "a", "z"};
  m.n_tags = 3;
  m.deps = (const ggm_release_dep[]){{"b", ""}};
  m.n_deps = 1;
  ggm_pack_cid_of((const uint8_t *)"", 0, m.archive_cid);
  m.archive_size = 300;
  m.publish_time = 1;
  memcpy(m.publisher, kp.pub, 32);
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_encode_body(&m, &b, NULL), GG_OK);

  gg_buf want;
  gg_buf_init(&want, NULL, 1024);
  gg_buf_append(&want,
                "\x0a\x01"
                "a",
                3); /* 1 id */
  gg_buf_append(&want,
                "\x12\x05"
                "1.0.0",
                7); /* 2 version */
  gg_buf_append(&want,
                "\x3a\x01"
                "a",
                3); /* 7 tags, sorted, unique */
  gg_buf_append(&want,
                "\x3a\x01"
                "z",
                3);
  gg_buf_append(&want,
                "\x62\x03\x0a\x01"
                "b",
                5);                    /* 12 dependency {id "b"}, range omitted */
  gg_buf_append(&want, "\x72\x24", 2); /* 14 archive_cid, 36 bytes */
  gg_buf_append(&want, m.archive_cid, GGM_CID_LEN);
  gg_buf_append(&want, "\x78\xac\x02", 3);                 /* 15 archive_size 300 */
  gg_buf_append(&want, "\x80\x01\x01", 3);                 /* 16 publish_time 1 */
  gg_buf_append(&want, "\x8a\x01\x24\x08\x01\x12\x20", 7); /* 17 publisher_key PublicKey pb */
  gg_buf_append(&want, kp.pub, 32);
  assert_int_equal(gg_buf_len(&b), gg_buf_len(&want));
  assert_memory_equal(gg_buf_ptr(&b), gg_buf_ptr(&want), gg_buf_len(&b));

  /* the envelope: body then signature; the signature is over the domain prefix + body */
  gg_buf env;
  gg_buf_init(&env, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&m, &kp, &env, NULL), GG_OK);
  const uint8_t *e = gg_buf_ptr(&env);
  assert_int_equal(e[0], 0x0a);
  assert_int_equal(e[1], gg_buf_len(&b)); /* < 128: one-byte length */
  assert_memory_equal(e + 2, gg_buf_ptr(&b), gg_buf_len(&b));
  assert_int_equal(e[2 + gg_buf_len(&b)], 0x12);
  assert_int_equal(e[3 + gg_buf_len(&b)], 64);
  assert_int_equal(gg_buf_len(&env), 4 + gg_buf_len(&b) + 64);
  gg_buf msg;
  gg_buf_init(&msg, NULL, GGM_RELEASE_MAX + 64);
  gg_buf_append_str(&msg, "ggen-release-v1:");
  gg_buf_append(&msg, gg_buf_ptr(&b), gg_buf_len(&b));
  assert_int_equal(
      gg_verify(kp.pub, gg_buf_ptr(&msg), gg_buf_len(&msg), e + 4 + gg_buf_len(&b), 64), GG_OK);
  /* without the domain prefix the signature does not verify */
  assert_int_equal(gg_verify(kp.pub, gg_buf_ptr(&b), gg_buf_len(&b), e + 4 + gg_buf_len(&b), 64),
                   GG_EBADSIG);
  gg_buf_free(&b);
  gg_buf_free(&want);
  gg_buf_free(&env);
  gg_buf_free(&msg);
}

/* List order and duplicate tags in the input do not change the bytes. */
static void test_canonical_order_independent(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 2);
  ggm_release a = full_record(), b = full_record();
  const char *tags2[] = {"templates", "rust", "cli", "rust"};
  const char *kw2[] = {"clap", "subcommand", "clap"};
  const ggm_release_dep deps2[] = {deps[1], deps[0]};
  b.tags = tags2;
  b.n_tags = 4;
  b.keywords = kw2;
  b.n_keywords = 3;
  b.deps = deps2;
  gg_buf x, y;
  sign_into(&a, &kp, &x);
  sign_into(&b, &kp, &y);
  assert_int_equal(gg_buf_len(&x), gg_buf_len(&y));
  assert_memory_equal(gg_buf_ptr(&x), gg_buf_ptr(&y), gg_buf_len(&x));
  /* but authors keep their order: a different order is a different record */
  const char *authors2[] = {"Bob", "Ada <ada@example.org>"};
  b.authors = authors2;
  gg_buf_reset(&y);
  assert_int_equal(ggm_release_sign(&b, &kp, &y, NULL), GG_OK);
  assert_true(gg_buf_len(&x) != gg_buf_len(&y) ||
              memcmp(gg_buf_ptr(&x), gg_buf_ptr(&y), gg_buf_len(&x)) != 0);
  gg_buf_free(&x);
  gg_buf_free(&y);
}

/* Re-encodes a modified copy under the original signature: decoding must say GG_EBADSIG. */
static void expect_badsig(const ggm_release *mod, const char *what) {
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_encode(mod, &b, NULL), GG_OK);
  ggm_release d;
  int rv = ggm_release_decode(gg_buf_ptr(&b), gg_buf_len(&b), &d, NULL);
  if (rv != GG_EBADSIG) fail_msg("tampered %s: got %s", what, gg_errname(rv));
  assert_int_equal(ggm_release_verify(mod, NULL), GG_EBADSIG);
  assert_null(d.id);
  gg_buf_free(&b);
}

static void test_tamper_each_field(void **s) {
  (void)s;
  gg_keypair kp, other;
  keypair(&kp, 3);
  keypair(&other, 4);
  ggm_release r = full_record();
  gg_buf b;
  sign_into(&r, &kp, &b);
  ggm_release t;
#define TAMPER(name, ...)                                                                          \
  do {                                                                                             \
    t = r;                                                                                         \
    __VA_ARGS__;                                                                                   \
    expect_badsig(&t, name);                                                                       \
  } while (0)
  TAMPER("id", t.id = "io.ggen.rust.cli-subcommand2");
  TAMPER("version", t.version = "0.1.1");
  TAMPER("name", t.name = "Rust CLI Subcommand!");
  TAMPER("description", t.description = NULL);
  TAMPER("license", t.license = "GPL-3.0");
  TAMPER("authors", t.n_authors = 1);
  TAMPER("tags", t.n_tags = 2);
  TAMPER("keywords", t.keywords = (const char *[]){"subcommand", "clip"});
  TAMPER("category", t.category = "go");
  TAMPER("homepage", t.homepage = "https://evil.example/cli");
  TAMPER("repository", t.repository = NULL);
  TAMPER("dep range", t.deps = (const ggm_release_dep[]){{"io.ggen.macros.std", "*"}, deps[1]});
  TAMPER("deps", t.n_deps = 1);
  TAMPER("ggen_compat", t.ggen_compat = ">=0.0.0");
  TAMPER("archive_cid", t.archive_cid[20] ^= 1);
  TAMPER("archive_size", t.archive_size++);
  TAMPER("publish_time", t.publish_time--);
  TAMPER("publisher", memcpy(t.publisher, other.pub, 32));
  TAMPER("signature", t.signature[0] ^= 0x80);
#undef TAMPER
  gg_buf_free(&b);
}

/* Any single-byte change of the encoded record is refused (never GG_OK). */
static void test_flip_every_byte(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 5);
  ggm_release r = full_record();
  gg_buf b;
  sign_into(&r, &kp, &b);
  size_t n = gg_buf_len(&b);
  uint8_t *c = malloc(n);
  int sig = 0, parse = 0;
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(c, gg_buf_ptr(&b), n);
      c[i] ^= (uint8_t)(1u << bit);
      ggm_release d;
      int rv = ggm_release_decode(c, n, &d, NULL);
      if (rv == GG_OK) fail_msg("flip at %zu bit %d accepted", i, bit);
      if (rv == GG_EBADSIG)
        sig++;
      else if (rv == GG_EPARSE || rv == GG_EBADKEY)
        parse++;
      else
        fail_msg("flip at %zu: unexpected %s", i, gg_errname(rv));
    }
  }
  assert_true(sig > 0 && parse > 0);
  /* truncations */
  for (size_t k = 0; k < n; k++) {
    ggm_release d;
    assert_int_not_equal(ggm_release_decode(gg_buf_ptr(&b), k, &d, NULL), GG_OK);
  }
  free(c);
  gg_buf_free(&b);
}

/* Builds an envelope around body with a valid signature over it. */
static void envelope(const uint8_t *body, size_t n, const gg_keypair *kp, gg_buf *out) {
  gg_buf msg;
  gg_buf_init(&msg, NULL, GGM_RELEASE_MAX * 2);
  gg_buf_append_str(&msg, GGM_RELEASE_DOMAIN);
  gg_buf_append(&msg, body, n);
  uint8_t sig[64];
  gg_sign(kp, gg_buf_ptr(&msg), gg_buf_len(&msg), sig);
  Ggen__Release__SignedRelease env = GGEN__RELEASE__SIGNED_RELEASE__INIT;
  env.body.data = (uint8_t *)body;
  env.body.len = n;
  env.signature.data = sig;
  env.signature.len = 64;
  gg_buf_init(out, NULL, GGM_RELEASE_MAX * 2);
  size_t sz = ggen__release__signed_release__get_packed_size(&env);
  ggen__release__signed_release__pack(&env, gg_buf_tail(out, sz));
  gg_buf_commit(out, sz);
  gg_buf_free(&msg);
}

static void expect_noncanonical(const uint8_t *body, size_t n, const gg_keypair *kp,
                                const char *what) {
  gg_buf e;
  envelope(body, n, kp, &e);
  ggm_release d;
  int rv = ggm_release_decode(gg_buf_ptr(&e), gg_buf_len(&e), &d, NULL);
  if (rv != GG_EPARSE) fail_msg("%s: got %s", what, gg_errname(rv));
  gg_buf_free(&e);
}

static void test_noncanonical_refused(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 6);
  ggm_release m = {0};
  m.id = "a";
  m.version = "1";
  m.tags = (const char *[]){"x", "y"};
  m.n_tags = 2;
  ggm_pack_cid_of((const uint8_t *)"", 0, m.archive_cid);
  memcpy(m.publisher, kp.pub, 32);
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_encode_body(&m, &b, NULL), GG_OK);
  /* sanity: the canonical body in a self-made envelope decodes */
  gg_buf e;
  envelope(gg_buf_ptr(&b), gg_buf_len(&b), &kp, &e);
  ggm_release d;
  assert_int_equal(ggm_release_decode(gg_buf_ptr(&e), gg_buf_len(&e), &d, NULL), GG_OK);
  ggm_release_free(&d);
  gg_buf_free(&e);

  const uint8_t *p = gg_buf_ptr(&b);
  size_t n = gg_buf_len(&b);
  uint8_t c[512];
  /* tags swapped: ... 3a 01 'y' 3a 01 'x' ... (they follow id and version: offset 6) */
  memcpy(c, p, n);
  assert_int_equal(c[6], 0x3a);
  c[8] = 'y';
  c[11] = 'x';
  expect_noncanonical(c, n, &kp, "unsorted tags");
  memcpy(c, p, n);
  c[11] = 'x'; /* "x", "x" */
  c[8] = 'x';
  expect_noncanonical(c, n, &kp, "duplicate tags");
  /* an unknown field appended (field 99, varint 1) */
  memcpy(c, p, n);
  memcpy(c + n, "\x98\x06\x01", 3);
  expect_noncanonical(c, n + 3, &kp, "unknown field");
  /* the version field repeated (last one wins in protobuf, but not canonical) */
  memcpy(c, p, n);
  memcpy(c + n,
         "\x12\x01"
         "1",
         3);
  expect_noncanonical(c, n + 3, &kp, "repeated scalar");
  /* an empty string written explicitly (field 3 name = "") */
  memcpy(c, p, 6);
  memcpy(c + 6, "\x1a\x00", 2);
  memcpy(c + 8, p + 6, n - 6);
  expect_noncanonical(c, n + 2, &kp, "explicit default");
  /* a non-minimal length varint for the id: 0a 81 00 'a' */
  memcpy(c,
         "\x0a\x81\x00"
         "a",
         4);
  memcpy(c + 4, p + 3, n - 3);
  expect_noncanonical(c, n + 1, &kp, "non-minimal varint");
  /* an embedded NUL in the id */
  memcpy(c,
         "\x0a\x02"
         "a\0",
         4);
  memcpy(c + 4, p + 3, n - 3);
  expect_noncanonical(c, n + 1, &kp, "embedded NUL");
  /* garbage */
  expect_noncanonical((const uint8_t *)"\xff\xff\xff", 3, &kp, "garbage body");

  /* envelope-level: a third field, a short signature, an oversized record */
  gg_buf_init(&e, NULL, GGM_RELEASE_MAX * 2);
  assert_int_equal(ggm_release_sign(&m, &kp, &e, NULL), GG_OK);
  gg_buf_append(&e, "\x18\x01", 2);
  assert_int_equal(ggm_release_decode(gg_buf_ptr(&e), gg_buf_len(&e), &d, NULL), GG_EPARSE);
  uint8_t big[GGM_RELEASE_MAX + 1] = {0};
  assert_int_equal(ggm_release_decode(big, sizeof(big), &d, NULL), GG_ETOOBIG);
  assert_int_equal(ggm_release_decode((const uint8_t *)"", 0, &d, NULL), GG_EPARSE);
  gg_buf_free(&e);
  gg_buf_free(&b);
}

static void test_validation(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 8);
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  const char *why;
  ggm_release r = full_record();
  assert_int_equal(ggm_release_check(&r, &why), GG_OK);
  assert_string_equal(why, "");
#define INVALID(prefix, ...)                                                                       \
  do {                                                                                             \
    r = full_record();                                                                             \
    __VA_ARGS__;                                                                                   \
    assert_int_equal(ggm_release_check(&r, &why), GG_EINVAL);                                      \
    assert_int_equal(strncmp(why, prefix, strlen(prefix)), 0);                                     \
    gg_buf_reset(&b);                                                                              \
    assert_int_equal(ggm_release_sign(&r, &kp, &b, NULL), GG_EINVAL);                              \
    assert_int_equal(gg_buf_len(&b), 0);                                                           \
  } while (0)
  INVALID("id", r.id = NULL);
  INVALID("id", r.id = "");
  INVALID("id", r.id = ".leading-dot");
  INVALID("id", r.id = "has space");
  INVALID("id", r.id = "a/b");
  INVALID("id", r.id = "a@1");
  INVALID("id", r.id = "Io.ggen.x"); /* upper case: ids differing by case would collide */
  INVALID("id", r.id = "io..x");
  INVALID("id", r.id = "io.x.");
  INVALID("id", r.id = "io.-x");
  INVALID("version", r.version = NULL);
  INVALID("version", r.version = "1.0 beta");
  INVALID("name", r.name = "bad\x01name");
  INVALID("description", r.description = "\xff");
  INVALID("tags", r.tags = (const char *[]){""}; r.n_tags = 1);
  INVALID("tags", r.n_tags = 33);
  INVALID("dependencies: duplicate", r.deps = (const ggm_release_dep[]){{"a", "1"}, {"a", "2"}};
          r.n_deps = 2);
  INVALID("dependencies", r.deps = (const ggm_release_dep[]){{"", "1"}}; r.n_deps = 1);
  INVALID("archive_cid", r.archive_cid[1] = 0x70);
  char longid[GGM_RELEASE_ID_MAX + 2];
  memset(longid, 'a', sizeof(longid) - 1);
  longid[sizeof(longid) - 1] = '\0';
  INVALID("id", r.id = longid);
#undef INVALID
  /* a record within every field cap can still exceed 64 KiB: refused as too big */
  static char ranges[GGM_RELEASE_DEPS_MAX][GGM_RELEASE_TEXT_MAX + 1];
  static char ids[GGM_RELEASE_DEPS_MAX][16];
  static ggm_release_dep many[GGM_RELEASE_DEPS_MAX];
  for (int i = 0; i < GGM_RELEASE_DEPS_MAX; i++) {
    memset(ranges[i], '1', GGM_RELEASE_TEXT_MAX);
    snprintf(ids[i], sizeof(ids[i]), "dep%03d", i);
    many[i] = (ggm_release_dep){ids[i], ranges[i]};
  }
  r = full_record();
  r.deps = many;
  r.n_deps = GGM_RELEASE_DEPS_MAX;
  assert_int_equal(ggm_release_check(&r, NULL), GG_OK);
  gg_buf big;
  gg_buf_init(&big, NULL, 1 << 20);
  assert_int_equal(ggm_release_sign(&r, &kp, &big, NULL), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&big), 0);
  gg_buf_free(&big);
  gg_buf_free(&b);
}

static void test_archive_and_owner(void **s) {
  (void)s;
  gg_keypair kp, other;
  keypair(&kp, 9);
  keypair(&other, 10);
  const char *archive = "the archive bytes";
  size_t n = strlen(archive);
  ggm_release r = full_record();
  ggm_pack_cid_of((const uint8_t *)archive, n, r.archive_cid);
  r.archive_size = n;
  gg_buf b;
  sign_into(&r, &kp, &b);
  assert_int_equal(ggm_release_check_archive_mem(&r, (const uint8_t *)archive, n), GG_OK);
  char bad[64];
  memcpy(bad, archive, n);
  bad[3] ^= 1;
  assert_int_equal(ggm_release_check_archive_mem(&r, (const uint8_t *)bad, n), GG_EINTEGRITY);
  assert_int_equal(ggm_release_check_archive_mem(&r, (const uint8_t *)archive, n - 1),
                   GG_EINTEGRITY);

  char *dir = gg_test_mkdtemp();
  char path[512];
  snprintf(path, sizeof(path), "%s/a", dir);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  assert_int_equal(write(fd, archive, n), (ssize_t)n);
  lseek(fd, 0, SEEK_SET);
  assert_int_equal(ggm_release_check_archive_fd(&r, fd), GG_OK);
  assert_int_equal(write(fd, "x", 1), 1); /* one byte longer */
  lseek(fd, 0, SEEK_SET);
  assert_int_equal(ggm_release_check_archive_fd(&r, fd), GG_EINTEGRITY);
  lseek(fd, 0, SEEK_SET);
  assert_int_equal(write(fd, bad, n), (ssize_t)n);
  assert_int_equal(ftruncate(fd, (off_t)n), 0);
  lseek(fd, 0, SEEK_SET);
  assert_int_equal(ggm_release_check_archive_fd(&r, fd), GG_EINTEGRITY);
  close(fd);
  gg_test_rmtree(dir);
  free(dir);

  /* ownership: the first publisher's key owns the id */
  assert_int_equal(ggm_release_check_owner(&r, NULL), GG_OK);
  assert_int_equal(ggm_release_check_owner(&r, kp.pub), GG_OK);
  assert_int_equal(ggm_release_check_owner(&r, other.pub), GG_EOWNER);
  ggm_release r2 = full_record();
  r2.version = "0.2.0";
  gg_buf b2;
  sign_into(&r2, &other, &b2);
  ggm_release d;
  assert_int_equal(ggm_release_decode(gg_buf_ptr(&b2), gg_buf_len(&b2), &d, NULL), GG_OK);
  assert_int_equal(ggm_release_check_owner(&d, kp.pub), GG_EOWNER); /* valid, wrong owner */
  ggm_release_free(&d);
  gg_buf_free(&b);
  gg_buf_free(&b2);
}

static void test_key_files(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  char path[512];
  snprintf(path, sizeof(path), "%s/publisher.key", dir);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 42);
  gg_keypair kp, back;
  assert_int_equal(ggm_release_key_load(path, &back), GG_ENOTFOUND);
  assert_int_equal(ggm_release_key_create(path, &rs.r, &kp), GG_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, GG_PRIVKEY_PB_ED25519);
  assert_int_equal(ggm_release_key_create(path, &rs.r, &back), GG_EEXIST);
  assert_int_equal(ggm_release_key_load(path, &back), GG_OK);
  assert_memory_equal(&kp, &back, sizeof(kp));
  chmod(path, 0640);
  assert_int_equal(ggm_release_key_load(path, &back), GG_EINVAL);
  chmod(path, 0600);
  assert_int_equal(truncate(path, 10), 0);
  assert_int_equal(ggm_release_key_load(path, &back), GG_EBADKEY);
  /* right length, public half not matching the seed */
  int fd = open(path, O_WRONLY | O_TRUNC);
  uint8_t pb[GG_PRIVKEY_PB_ED25519];
  gg_privkey_encode(&kp, pb);
  pb[GG_PRIVKEY_PB_ED25519 - 1] ^= 1;
  assert_int_equal(write(fd, pb, sizeof(pb)), (ssize_t)sizeof(pb));
  close(fd);
  assert_int_equal(ggm_release_key_load(path, &back), GG_EBADKEY);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_nomem(void **s) {
  (void)s;
  gg_keypair kp;
  keypair(&kp, 11);
  ggm_release r = full_record();
  gg_buf b;
  sign_into(&r, &kp, &b);
  int ok = 0;
  for (long k = 0; k < 200 && !ok; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    ggm_release d;
    int rv = ggm_release_decode(gg_buf_ptr(&b), gg_buf_len(&b), &d, &fm.mem);
    if (rv == GG_OK) {
      ok = 1;
      ggm_release_free(&d);
    } else {
      assert_int_equal(rv, GG_ENOMEM);
    }
    assert_int_equal(fm.live, 0);
  }
  assert_true(ok);
  ok = 0;
  for (long k = 0; k < 50 && !ok; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    gg_buf o;
    gg_buf_init(&o, &fm.mem, GGM_RELEASE_MAX);
    ggm_release t = full_record();
    int rv = ggm_release_sign(&t, &kp, &o, &fm.mem);
    if (rv == GG_OK)
      ok = 1;
    else
      assert_int_equal(rv, GG_ENOMEM);
    gg_buf_free(&o);
    assert_int_equal(fm.live, 0);
  }
  assert_true(ok);
  gg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_canonical_bytes),
      cmocka_unit_test(test_canonical_order_independent),
      cmocka_unit_test(test_tamper_each_field),
      cmocka_unit_test(test_flip_every_byte),
      cmocka_unit_test(test_noncanonical_refused),
      cmocka_unit_test(test_validation),
      cmocka_unit_test(test_archive_and_owner),
      cmocka_unit_test(test_key_files),
      cmocka_unit_test(test_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
