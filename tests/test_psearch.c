/*
 * Tests for the distributed search's messages and merge (include/ggen/psearch.h): request and
 * response round trips and their caps; the merge of local results with peers' answers -
 * signatures verified, filters and relevance applied to what peers send, the catalog's owner
 * enforced, the majority key taken (and flagged) when peers disagree, the newest version per
 * id, sources kept, ggen's ranking across both.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/lpm.h"
#include "ggen/psearch.h"
#include "ggen/release.h"

static gg_keypair key(int n) {
  uint8_t s[32] = {0};
  s[0] = (uint8_t)n;
  s[7] = 0x5e;
  gg_keypair kp;
  gg_keypair_from_seed(&kp, s);
  return kp;
}

/* A signed record; tags comma-separated. */
static gg_buf rec(int k, const char *id, const char *ver, const char *desc, const char *tags,
                  uint64_t time) {
  const char *t[8];
  size_t nt = 0;
  char tb[128] = "";
  if (tags) {
    snprintf(tb, sizeof tb, "%s", tags);
    for (char *x = strtok(tb, ","); x && nt < 8; x = strtok(NULL, ",")) t[nt++] = x;
  }
  ggm_release r = {.id = id,
                   .version = ver,
                   .name = id,
                   .description = desc,
                   .tags = t,
                   .n_tags = nt,
                   .license = "MIT",
                   .archive_size = 10,
                   .publish_time = time};
  ggm_pack_cid_of((const uint8_t *)id, strlen(id), r.archive_cid);
  gg_keypair kp = key(k);
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, &kp, &b, NULL), GG_OK);
  return b;
}

static gg_slice sl(const gg_buf *b) { return (gg_slice){gg_buf_ptr(b), gg_buf_len(b)}; }

/* Strips the length prefix of a framed message. */
static const uint8_t *unframe(const gg_buf *b, size_t *len) {
  gg_lpm l;
  gg_lpm_init(&l, NULL, 1u << 21);
  size_t used;
  const uint8_t *m;
  assert_int_equal(gg_lpm_read(&l, gg_buf_ptr(b), gg_buf_len(b), &used, &m, len), GG_OK);
  assert_int_equal(used, gg_buf_len(b));
  gg_lpm_free(&l); /* m points into b: the message arrived whole */
  return m;
}

static void test_messages(void **state) {
  (void)state;
  ggm_psearch_req q = {
      .text = "rust cli", .tags = {"cli", "rust"}, .n_tags = 2, .limit = 7, .author = "Ann"};
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 20);
  assert_int_equal(ggm_psearch_req_encode(&q, &b), GG_OK);
  size_t len;
  const uint8_t *m = unframe(&b, &len);
  ggm_psearch_req d;
  assert_int_equal(ggm_psearch_req_decode(m, len, &d), GG_OK);
  assert_string_equal(d.text, "rust cli");
  assert_int_equal(d.n_tags, 2);
  assert_string_equal(d.tags[1], "rust");
  assert_string_equal(d.author, "Ann");
  assert_null(d.category);
  assert_null(d.id);
  assert_int_equal(d.limit, 7);
  ggm_psearch_req_free(&d);
  /* caps: a control character, a long text, too many tags */
  ggm_psearch_req bad = {.text = "a\nb"};
  assert_int_equal(ggm_psearch_req_encode(&bad, &b), GG_EINVAL);
  char longtext[GGM_SEARCH_TEXT_MAX + 2];
  memset(longtext, 'x', sizeof longtext - 1);
  longtext[sizeof longtext - 1] = 0;
  bad = (ggm_psearch_req){.text = longtext};
  assert_int_equal(ggm_psearch_req_encode(&bad, &b), GG_EINVAL);
  bad = (ggm_psearch_req){.n_tags = GGM_SEARCH_MAX_TAGS + 1};
  assert_int_equal(ggm_psearch_req_encode(&bad, &b), GG_EINVAL);
  /* a hand-made request with a long id is refused by the decoder */
  uint8_t raw[400] = {0x3a, 0xad, 0x02}; /* field 7, length 301 */
  memset(raw + 3, 'a', 301);
  assert_int_equal(ggm_psearch_req_decode(raw, 304, &d), GG_EPROTO);
  assert_int_equal(ggm_psearch_req_decode(raw, GGM_SEARCH_REQ_MAX + 1, &d), GG_ETOOBIG);
  assert_int_equal(ggm_psearch_req_decode((const uint8_t *)"\xff\xff", 2, &d), GG_EPROTO);

  /* responses */
  gg_buf r1 = rec(1, "io.a", "1.0.0", "alpha", NULL, 1), r2 = rec(1, "io.b", "1.0.0", "b", NULL, 1);
  gg_slice rs[2] = {sl(&r1), sl(&r2)};
  gg_buf_reset(&b);
  assert_int_equal(ggm_psearch_resp_encode(GGM_ST_OK, rs, 2, "alpha", NULL, &b), GG_OK);
  m = unframe(&b, &len);
  ggm_psearch_resp resp;
  assert_int_equal(ggm_psearch_resp_decode(m, len, &resp), GG_OK);
  assert_int_equal(resp.status, GGM_ST_OK);
  assert_int_equal(resp.n, 2);
  assert_memory_equal(resp.records[1].p, gg_buf_ptr(&r2), gg_buf_len(&r2));
  assert_string_equal(resp.corrected, "alpha");
  ggm_psearch_resp_free(&resp);
  gg_buf_reset(&b);
  assert_int_equal(ggm_psearch_resp_encode(GGM_ST_RATE_LIMITED, NULL, 0, NULL, "slow down", &b),
                   GG_OK);
  m = unframe(&b, &len);
  assert_int_equal(ggm_psearch_resp_decode(m, len, &resp), GG_OK);
  assert_int_equal(resp.status, GGM_ST_RATE_LIMITED);
  assert_string_equal(resp.message, "slow down");
  ggm_psearch_resp_free(&resp);
  /* too many records, an unknown status */
  gg_slice many[GGM_SEARCH_MAX_RESULTS + 1];
  for (size_t i = 0; i <= GGM_SEARCH_MAX_RESULTS; i++) many[i] = sl(&r1);
  assert_int_equal(
      ggm_psearch_resp_encode(GGM_ST_OK, many, GGM_SEARCH_MAX_RESULTS + 1, NULL, NULL, &b),
      GG_EINVAL);
  assert_int_equal(ggm_psearch_resp_encode(42, NULL, 0, NULL, NULL, &b), GG_EINVAL);
  assert_int_equal(ggm_psearch_resp_decode((const uint8_t *)"\x08\x2a", 2, &resp), GG_EPROTO);
  /* records on an error status, an empty record */
  assert_int_equal(ggm_psearch_resp_decode((const uint8_t *)"\x08\x01\x12\x01x", 5, &resp),
                   GG_EPROTO);
  assert_int_equal(ggm_psearch_resp_decode((const uint8_t *)"\x12\x00", 2, &resp), GG_EPROTO);
  gg_buf_free(&r1);
  gg_buf_free(&r2);
  gg_buf_free(&b);
}

static int owner_fn(void *ud, const char *id, uint8_t k[32]) {
  (void)ud;
  if (strcmp(id, "io.owned")) return GG_ENOTFOUND;
  gg_keypair kp = key(9);
  memcpy(k, kp.pub, 32);
  return GG_OK;
}

static const ggm_psearch_result *find(const ggm_psearch_merged *m, const char *id) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->v[i].id, id)) return &m->v[i];
  return NULL;
}

static void test_merge(void **state) {
  (void)state;
  /* the local catalog: io.parser 1.0.0 (popular) and io.local-only */
  ggs_catalog_hit lh[2] = {
      {.id = "io.parser",
       .name = "io.parser",
       .version = "1.0.0",
       .description = "a parser",
       .downloads = 5000,
       .score = 57,
       .exact = 0},
      {.id = "io.parser-local",
       .name = "io.parser-local",
       .version = "0.1.0",
       .description = "kept here",
       .score = 50},
  };
  ggs_catalog_results local = {.hits = lh, .n = 2};
  /* peer A: io.parser 1.0.0 (same as local), io.json-parser 2.0.0 by key 2 */
  gg_buf a1 = rec(1, "io.parser", "1.0.0", "a parser", "parsing", 100),
         a2 = rec(2, "io.json-parser", "2.0.0", "json parser", NULL, 100);
  /* peer B: io.parser 1.1.0 (newer), a tampered record, an unrelated package, and io.parser
   * again under another version of the same key */
  gg_buf b1 = rec(1, "io.parser", "1.1.0", "a parser", "parsing", 200),
         b2 = rec(1, "io.tampered-parser", "1.0.0", "parser", NULL, 100),
         b3 = rec(1, "io.unrelated", "1.0.0", "nothing to see", NULL, 100);
  gg_buf_ptr(&b2)[gg_buf_len(&b2) - 5] ^= 1;
  /* peer C: io.json-parser 2.0.0 by key 3 (a later publish time: loses the tie), and
   * io.owned by key 4 while the catalog says key 9 owns it */
  gg_buf c1 = rec(3, "io.json-parser", "2.0.0", "json parser", NULL, 150),
         c2 = rec(4, "io.owned", "1.0.0", "owned parser", NULL, 100);
  gg_slice sa[] = {sl(&a1), sl(&a2)}, sb[] = {sl(&b1), sl(&b2), sl(&b3)}, sc[] = {sl(&c1), sl(&c2)};
  ggm_psearch_answer ans[] = {{"peerA", sa, 2, NULL}, {"peerB", sb, 3, NULL}, {"peerC", sc, 2, ""}};
  ggm_psearch_req q = {.text = "parser"};
  ggm_psearch_merged *m;
  assert_int_equal(ggm_psearch_merge(&q, &local, ans, 3, owner_fn, NULL, &m), GG_OK);
  assert_string_equal(m->as, "parser");
  /* io.parser: peer B's newer version, still marked local */
  const ggm_psearch_result *r = find(m, "io.parser");
  assert_non_null(r);
  assert_string_equal(r->version, "1.1.0");
  assert_int_equal(r->local, 1);
  assert_string_equal(r->local_version, "1.0.0");
  assert_int_equal(r->nsources, 1);
  assert_string_equal(r->sources[0], "peerB");
  assert_non_null(r->record);
  assert_int_equal(r->downloads, 5000); /* popularity from the catalog */
  /* io.json-parser: keys 2 and 3 tie on votes, the earlier publish time wins */
  r = find(m, "io.json-parser");
  assert_non_null(r);
  assert_int_equal(r->conflict, 1);
  assert_int_equal(r->nsources, 1);
  assert_string_equal(r->sources[0], "peerA");
  assert_int_equal(r->local, 0);
  /* local only: kept, no sources */
  r = find(m, "io.parser-local");
  assert_non_null(r);
  assert_int_equal(r->nsources, 0);
  assert_null(r->record);
  /* refused: tampered, unrelated, foreign owner */
  assert_null(find(m, "io.tampered-parser"));
  assert_null(find(m, "io.unrelated"));
  assert_null(find(m, "io.owned"));
  assert_int_equal(m->verdicts[0].valid, 2);
  assert_int_equal(m->verdicts[1].invalid, 1);
  assert_int_equal(m->verdicts[1].irrelevant, 1);
  assert_int_equal(m->verdicts[2].refused, 2);
  assert_int_equal(m->n, 3);
  /* ggen's order: io.parser (50 + 20 + 10 tag + popularity) first */
  assert_string_equal(m->v[0].id, "io.parser");
  for (size_t i = 1; i < m->n; i++) assert_true(m->v[i - 1].score >= m->v[i].score);
  ggm_psearch_merged_free(m);

  /* filters apply to what peers send; a limit cuts */
  q = (ggm_psearch_req){.text = "parser", .tags = {"parsing"}, .n_tags = 1, .limit = 1};
  assert_int_equal(ggm_psearch_merge(&q, NULL, ans, 3, owner_fn, NULL, &m), GG_OK);
  assert_int_equal(m->n, 1);
  assert_string_equal(m->v[0].id, "io.parser");
  ggm_psearch_merged_free(m);
  /* an exact match comes first whatever the scores; a peer's correction is used */
  gg_buf e1 = rec(5, "search", "1.0.0", "exact", NULL, 1),
         e2 = rec(5, "io.search-search", "1.0.0", "search search", "search,search2", 1);
  gg_slice se[] = {sl(&e2), sl(&e1)};
  ggm_psearch_answer ea[] = {{"peerE", se, 2, "search"}};
  q = (ggm_psearch_req){.text = "serach"};
  assert_int_equal(ggm_psearch_merge(&q, NULL, ea, 1, NULL, NULL, &m), GG_OK);
  assert_string_equal(m->as, "search");
  assert_int_equal(m->n, 2);
  assert_string_equal(m->v[0].id, "search");
  assert_int_equal(m->v[0].exact, 1);
  ggm_psearch_merged_free(m);
  gg_buf *all[] = {&a1, &a2, &b1, &b2, &b3, &c1, &c2, &e1, &e2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gg_buf_free(all[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
