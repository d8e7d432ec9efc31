/*
 * Marketplace network operations as JSON (cli/marketplace_net.h): run on a market service,
 * either inside `ggen p2p start` (its control socket hands them here) or on a command's own
 * short-lived node. Each operation's context stays on a list until its answer is given, so the
 * ones a closed service dropped can be freed (cli_market_forget).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ggen/err.h"
#include "marketplace_net.h"
#include "p2p_dht.h"

typedef struct mop {
  void (*done)(json_t *answer, void *dud);
  void *dud;
  struct mop *prev, *next;
} mop;

static mop *inflight;

static mop *mop_new(void (*done)(json_t *, void *), void *dud) {
  mop *x = calloc(1, sizeof(*x));
  if (!x) return NULL;
  x->done = done;
  x->dud = dud;
  x->next = inflight;
  if (inflight) inflight->prev = x;
  inflight = x;
  return x;
}

static void mop_free(mop *x) {
  if (x->prev)
    x->prev->next = x->next;
  else
    inflight = x->next;
  if (x->next) x->next->prev = x->prev;
  free(x);
}

void cli_market_forget(void) {
  while (inflight) mop_free(inflight);
}

static void answer(mop *x, json_t *a) {
  x->done(a, x->dud);
  json_decref(a);
  mop_free(x);
}

static json_t *base(int err, const char *msg) {
  return err == GG_OK ? json_pack("{s:b, s:i}", "ok", 1, "err", 0) : cli_dht_error(err, msg);
}

static json_t *peer_str(const gg_peerid *p) {
  char id[GG_PEERID_TEXT_MAX];
  return gg_peerid_to_b58(p, id, sizeof id) < 0 ? json_null() : json_string(id);
}

/* ---- publish ----------------------------------------------------------------------------------
 */

static void publish_done(ggn_market *m, const ggn_market_publish_result *r, void *ud) {
  (void)m;
  json_t *a = base(r->err, r->err == GG_EUNREACHABLE ? "no peer took the record" : NULL);
  json_object_set_new(a, "key", json_string(r->key));
  json_object_set_new(a, "stored", json_integer((json_int_t)r->stored));
  json_object_set_new(a, "put_err", json_integer(r->put_err));
  json_object_set_new(a, "provided", json_integer((json_int_t)r->provided));
  json_object_set_new(a, "provide_err", json_integer(r->provide_err));
  json_object_set_new(a, "announced", json_integer((json_int_t)r->recipients));
  json_object_set_new(a, "announce_err", json_integer(r->announce_err));
  json_object_set_new(a, "ms", json_real(r->ms));
  answer(ud, a);
}

/* ---- fetch ------------------------------------------------------------------------------------
 */

static void fetch_done(ggn_market *m, const ggn_market_fetch_result *r, void *ud) {
  (void)m;
  json_t *a = base(r->err, r->msg[0] ? r->msg : NULL);
  if (r->id) {
    json_object_set_new(a, "id", json_string(r->id));
    json_object_set_new(a, "version", json_string(r->version));
  }
  if (r->err == GG_OK && !r->existed) json_object_set_new(a, "peer", peer_str(&r->peer));
  json_object_set_new(a, "bytes", json_integer((json_int_t)r->bytes));
  json_object_set_new(a, "existed", json_boolean(r->existed));
  json_object_set_new(a, "providers", json_integer((json_int_t)r->providers));
  json_object_set_new(a, "provided", json_integer((json_int_t)r->provided));
  json_object_set_new(a, "ms", json_real(r->ms));
  json_object_set_new(a, "lookup_ms", json_real(r->lookup_ms));
  json_t *att = json_array();
  for (size_t i = 0; i < r->nattempts; i++) {
    const ggn_market_attempt *t = &r->attempts[i];
    json_t *o = json_pack("{s:o, s:i, s:s}", "peer", peer_str(&t->peer), "err", t->err, "error",
                          t->err ? gg_strerror(t->err) : "");
    if (t->ms >= 0) json_object_set_new(o, "ms", json_real(t->ms));
    json_array_append_new(att, o);
  }
  json_object_set_new(a, "attempts", att);
  answer(ud, a);
}

/* ---- lookup -----------------------------------------------------------------------------------
 */

static void lookup_done(ggn_market *m, const ggn_market_lookup_result *r, void *ud) {
  (void)m;
  json_t *a = base(r->err, r->err == GG_ENOTFOUND ? "no record found" : NULL);
  json_object_set_new(a, "id", json_string(r->id));
  json_t *f = json_array();
  for (size_t i = 0; i < r->nfound; i++)
    json_array_append_new(f, json_pack("{s:s, s:s, s:i, s:b}", "version", r->found[i].version,
                                       "from", r->found[i].from, "err", r->found[i].err, "existed",
                                       r->found[i].existed));
  json_object_set_new(a, "found", f);
  json_object_set_new(a, "refused", json_integer((json_int_t)r->refused));
  json_object_set_new(a, "ms", json_real(r->ms));
  answer(ud, a);
}

/* ---- dispatch ---------------------------------------------------------------------------------
 */

/* ---- search -----------------------------------------------------------------------------------
 */

static void search_done(ggn_market *m, const ggn_market_search_result *r, void *ud) {
  (void)m;
  json_t *a = base(r->err, r->err == GG_ENOTFOUND ? "no peer to ask" : NULL);
  json_t *arr = json_array();
  size_t answered = 0;
  for (size_t i = 0; i < r->nanswers; i++) {
    const ggn_market_answer *an = &r->answers[i];
    json_t *recs = json_array();
    for (size_t k = 0; k < an->n; k++) {
      char *hex = cli_hex(an->records[k].p, an->records[k].len);
      json_array_append_new(recs, json_string(hex ? hex : ""));
      free(hex);
    }
    json_t *o =
        json_pack("{s:o, s:i, s:s, s:o, s:I, s:s}", "peer", peer_str(&an->peer), "err", an->err,
                  "error", an->err ? gg_strerror(an->err) : "", "records", recs, "invalid",
                  (json_int_t)an->invalid, "corrected", an->corrected ? an->corrected : "");
    if (an->ms >= 0) json_object_set_new(o, "ms", json_real(an->ms));
    answered += an->err == GG_OK;
    json_array_append_new(arr, o);
  }
  json_object_set_new(a, "answers", arr);
  json_object_set_new(a, "asked", json_integer((json_int_t)r->nanswers));
  json_object_set_new(a, "answered", json_integer((json_int_t)answered));
  json_object_set_new(a, "ms", json_real(r->ms));
  answer(ud, a);
}

/* The query of a market-search operation (strings borrowed from op). */
static int query_of(json_t *op, ggm_psearch_req *q) {
  memset(q, 0, sizeof(*q));
  q->text = json_string_value(json_object_get(op, "query"));
  q->author = json_string_value(json_object_get(op, "author"));
  q->category = json_string_value(json_object_get(op, "category"));
  q->license = json_string_value(json_object_get(op, "license"));
  q->id = json_string_value(json_object_get(op, "id"));
  json_int_t lim = json_integer_value(json_object_get(op, "limit"));
  q->limit = lim > 0 && lim <= GGM_SEARCH_MAX_RESULTS ? (uint32_t)lim : 0;
  json_t *tags = json_object_get(op, "tags");
  for (size_t i = 0; i < json_array_size(tags); i++) {
    if (q->n_tags == GGM_SEARCH_MAX_TAGS) return GG_EINVAL;
    const char *t = json_string_value(json_array_get(tags, i));
    if (!t) return GG_EINVAL;
    q->tags[q->n_tags++] = t;
  }
  return GG_OK;
}

static int fail(json_t **answer, int err, const char *msg) {
  *answer = cli_dht_error(err, msg);
  return -1;
}

static uint8_t *record_arg(json_t *op, size_t *len) {
  const char *hex = json_string_value(json_object_get(op, "record_hex"));
  return hex ? cli_unhex(hex, len) : NULL;
}

int cli_market_exec(void *ud, json_t *op, void (*done)(json_t *answer, void *dud), void *dud,
                    json_t **ans) {
  ggn_market *m = ud;
  const char *name = json_string_value(json_object_get(op, "op"));
  if (!name || strncmp(name, "market-", 7) != 0) return 1;
  if (!strcmp(name, "market-status")) {
    ggn_market_stats st;
    ggn_market_get_stats(m, &st);
    *ans =
        json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "ok", 1, "err", 0,
                  "served", (json_int_t)st.served, "served_bytes", (json_int_t)st.served_bytes,
                  "refused_busy", (json_int_t)st.refused_busy, "refused_rate",
                  (json_int_t)st.refused_rate, "refused_missing", (json_int_t)st.refused_missing,
                  "fetched", (json_int_t)st.fetched, "fetched_bytes", (json_int_t)st.fetched_bytes,
                  "fetch_failures", (json_int_t)st.fetch_failures, "transfers", (int)st.transfers);
    return -1;
  }
  mop *x = mop_new(done, dud);
  if (!x) return fail(ans, GG_ENOMEM, NULL);
  int rv = GG_EINVAL;
  const char *why = NULL;
  if (!strcmp(name, "market-publish") || !strcmp(name, "market-fetch")) {
    size_t len = 0;
    uint8_t *rec = record_arg(op, &len);
    if (!rec) {
      why = "record_hex missing or not hex";
    } else if (!strcmp(name, "market-publish")) {
      rv = ggn_market_publish(m, rec, len, publish_done, x);
    } else {
      json_t *h = json_object_get(op, "hints");
      gg_peerid hints[16];
      size_t nh = 0;
      for (size_t i = 0; i < json_array_size(h) && nh < 16; i++) {
        const char *s = json_string_value(json_array_get(h, i));
        if (s && gg_peerid_parse(&hints[nh], s, strlen(s)) == GG_OK) nh++;
      }
      rv = ggn_market_fetch(m, rec, len, hints, nh, fetch_done, x);
    }
    if (rec && rv != GG_OK && rv != GG_ENOMEM && rv != GG_ESTATE) why = "the record is refused";
    free(rec);
  } else if (!strcmp(name, "market-search")) {
    ggm_psearch_req q;
    rv = query_of(op, &q);
    if (rv == GG_OK) rv = ggn_market_search(m, &q, search_done, x);
    if (rv == GG_EINVAL) why = "the query is over a limit (text, filters: 256 bytes; 16 tags)";
  } else if (!strcmp(name, "market-lookup")) {
    const char *id = json_string_value(json_object_get(op, "id"));
    const char *ver = json_string_value(json_object_get(op, "version"));
    rv = ggn_market_lookup(m, id, ver, lookup_done, x);
    if (rv == GG_EINVAL) why = "not a package id (or version)";
  } else {
    why = "unknown market operation";
  }
  if (rv != GG_OK) {
    mop_free(x);
    return fail(ans, rv, why);
  }
  return 0;
}
