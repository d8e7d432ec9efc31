/*
 * Fuzz target: the /ggen/search/1.0.0 parsers and the merge (include/ggen/psearch.h). The
 * first byte chooses: 0 a SearchRequest body (a decoded request must encode again and decode
 * to the same fields), otherwise a SearchResponse body whose records are then merged as one
 * peer's answer to a fixed query (the merge must never keep more than the limit, and every
 * result must name a version and have come from the answer or be absent).
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/lpm.h"
#include "ggen/psearch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b) {
  return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0];
  data++;
  size--;
  if (which == 0) {
    ggm_psearch_req q;
    if (ggm_psearch_req_decode(data, size, &q) != GG_OK) return 0;
    gg_buf b;
    gg_buf_init(&b, NULL, 1 << 16);
    if (ggm_psearch_req_encode(&q, &b) != GG_OK) abort();
    gg_lpm l;
    gg_lpm_init(&l, NULL, GGM_SEARCH_REQ_MAX);
    size_t used, mlen;
    const uint8_t *m;
    if (gg_lpm_read(&l, gg_buf_ptr(&b), gg_buf_len(&b), &used, &m, &mlen) != GG_OK) abort();
    ggm_psearch_req d;
    if (ggm_psearch_req_decode(m, mlen, &d) != GG_OK) abort();
    if (!same(q.text, d.text) || !same(q.author, d.author) || !same(q.id, d.id) ||
        q.n_tags != d.n_tags || q.limit != d.limit)
      abort();
    ggm_psearch_req_free(&d);
    gg_lpm_free(&l);
    gg_buf_free(&b);
    ggm_psearch_req_free(&q);
    return 0;
  }
  ggm_psearch_resp r;
  if (ggm_psearch_resp_decode(data, size, &r) != GG_OK) return 0;
  ggm_psearch_answer a = {"peer", r.records, r.n, r.corrected};
  ggm_psearch_req q = {.text = which & 1 ? "parser" : NULL, .limit = 5};
  ggm_psearch_merged *m;
  if (ggm_psearch_merge(&q, NULL, &a, 1, NULL, NULL, &m) == GG_OK) {
    if (m->n > 5) abort();
    for (size_t i = 0; i < m->n; i++)
      if (!m->v[i].version || m->v[i].nsources != 1 || !m->v[i].record) abort();
    if (m->verdicts[0].valid + m->verdicts[0].invalid + m->verdicts[0].irrelevant != r.n) abort();
    ggm_psearch_merged_free(m);
  }
  ggm_psearch_resp_free(&r);
  return 0;
}
