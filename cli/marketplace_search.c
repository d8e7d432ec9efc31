/*
 * ggen marketplace search QUERY...: searches the local package catalog (src/store/catalog*.c)
 * with ggen's ranking, filters and typo tolerance, and - through this home's node or a
 * short-lived one (cli/marketplace_net.h) - asks peers on /ggen/search/1.0.0, then merges
 * (include/ggen/psearch.h: verified, filtered, newest version per id, one ranking); a table
 * or --json with where each result came from.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli_marketplace.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/psearch.h"
#include "marketplace_catalog.h"
#include "marketplace_net.h"
#include "p2p_dht.h"

static const char help[] =
    "usage: ggen marketplace search QUERY... [options]\n"
    "\n"
    "Searches the local package catalog and, through this home's node (ggen p2p start) or a\n"
    "short-lived node joined through --bootstrap, up to 8 peers (about 1 s at most). Peers\n"
    "answer with signed records, which are verified and ranked here with the local results:\n"
    "exact id/name matches first, then ggen's relevance (name, description, tags, keywords)\n"
    "plus popularity; 1-2 typos per word are corrected ('serach' finds 'search'). One row per\n"
    "package, at the newest version anyone offered (FROM: local, peers, or both).\n"
    "\n"
    "options:\n"
    "  --tag T            only packages tagged T (repeatable: all must match)\n"
    "  --author A         only packages by A\n"
    "  --category C       only packages in category C\n"
    "  --license L        only packages under license L (filters ignore case)\n"
    "  --min-stars N      only packages with at least N stars\n"
    "  --min-downloads N  only packages with at least N downloads\n"
    "  --limit N          at most N results (default 20, at most 1000)\n" CLI_NET_HELP
    "  --json             print JSON (each result with its \"sources\"; \"network\": who was\n"
    "                     asked, who answered, in how long)\n"
    "  --home DIR         node home directory\n"
    "\n"
    "exit codes: 0 results found, 3 no match (or no catalog yet), 2 bad usage, 1 failure\n";

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end) return -1;
  *out = v;
  return 0;
}

static void print_table(const ggs_catalog_results *r) {
  printf("%-40s %-12s %10s %7s  %s\n", "ID", "VERSION", "DOWNLOADS", "STARS", "DESCRIPTION");
  for (size_t i = 0; i < r->n; i++) {
    const ggs_catalog_hit *h = &r->hits[i];
    char desc[61];
    size_t n = 0;
    for (const char *p = h->description; *p && n < 60; p++) desc[n++] = *p == '\n' ? ' ' : *p;
    desc[n] = '\0';
    printf("%-40s %-12s %10llu %7llu  %s%s\n", h->id, h->version ? h->version : "-",
           (unsigned long long)h->downloads, (unsigned long long)h->stars, desc,
           strlen(h->description) > 60 ? "..." : "");
  }
}

static json_t *opt_str(const char *s) { return s ? json_string(s) : json_null(); }

static void print_json(const char *query, const ggs_catalog_results *r) {
  json_t *o = json_object(), *a = json_array();
  json_object_set_new(o, "query", json_string(query));
  json_object_set_new(o, "corrected", opt_str(r->corrected));
  for (size_t i = 0; i < r->n; i++) {
    const ggs_catalog_hit *h = &r->hits[i];
    json_t *x = json_object();
    json_object_set_new(x, "id", json_string(h->id));
    json_object_set_new(x, "name", json_string(h->name));
    json_object_set_new(x, "version", opt_str(h->version));
    json_object_set_new(x, "description", json_string(h->description));
    json_object_set_new(x, "author", opt_str(h->author));
    json_object_set_new(x, "category", opt_str(h->category));
    json_object_set_new(x, "license", opt_str(h->license));
    json_object_set_new(x, "downloads", json_integer((json_int_t)h->downloads));
    json_object_set_new(x, "stars", json_integer((json_int_t)h->stars));
    json_object_set_new(x, "score", json_real(h->score));
    json_object_set_new(x, "exact", json_boolean(h->exact));
    json_array_append_new(a, x);
  }
  json_object_set_new(o, "results", a);
  json_dumpf(o, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(o);
}

/* ---- the network part --------------------------------------------------------------------------
 */

typedef struct netres {
  json_t *answer; /* the market-search answer */
  ggm_psearch_answer *ans;
  gg_slice *slices;
  uint8_t **bufs;
  size_t n, nbufs;
} netres;

static void netres_free(netres *nr) {
  for (size_t i = 0; i < nr->nbufs; i++) free(nr->bufs[i]);
  free(nr->bufs);
  free(nr->slices);
  free(nr->ans);
  json_decref(nr->answer);
}

/* The peers' answers as merge input (records unhexed). */
static int answers_of(json_t *a, netres *nr) {
  json_t *arr = json_object_get(a, "answers");
  size_t n = json_array_size(arr), total = 0;
  for (size_t i = 0; i < n; i++)
    total += json_array_size(json_object_get(json_array_get(arr, i), "records"));
  nr->ans = calloc(n ? n : 1, sizeof(*nr->ans));
  nr->slices = calloc(total ? total : 1, sizeof(*nr->slices));
  nr->bufs = calloc(total ? total : 1, sizeof(*nr->bufs));
  if (!nr->ans || !nr->slices || !nr->bufs) return GG_ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i), *recs = json_object_get(o, "records");
    ggm_psearch_answer *x = &nr->ans[nr->n++];
    x->peer = json_string_value(json_object_get(o, "peer"));
    x->corrected = json_string_value(json_object_get(o, "corrected"));
    x->records = &nr->slices[at];
    for (size_t k = 0; k < json_array_size(recs); k++) {
      size_t len = 0;
      uint8_t *b = cli_unhex(json_string_value(json_array_get(recs, k)), &len);
      if (!b) continue;
      nr->bufs[nr->nbufs++] = b;
      nr->slices[at++] = (gg_slice){b, len};
      x->n++;
    }
  }
  return GG_OK;
}

static int owner_of(void *ud, const char *id, uint8_t key[32]) {
  uint8_t k[64];
  size_t n = 0;
  if (!ud || ggs_catalog_owner(ud, id, k, sizeof k, &n) != GG_OK || n != 32) return GG_ENOTFOUND;
  memcpy(key, k, 32);
  return GG_OK;
}

static void short_id(const char *peer, char *out, size_t cap) {
  size_t n = strlen(peer);
  if (n > 18)
    snprintf(out, cap, "%.12s…%s", peer, peer + n - 6);
  else
    snprintf(out, cap, "%s", peer);
}

static void from_text(const ggm_psearch_result *r, char *out, size_t cap) {
  if (r->nsources == 0) {
    snprintf(out, cap, "local");
  } else if (r->nsources == 1 && !r->local) {
    short_id(r->sources[0], out, cap);
  } else {
    snprintf(out, cap, "%s%zu peer%s", r->local ? "local+" : "", r->nsources,
             r->nsources == 1 ? "" : "s");
  }
}

static void print_merged_table(const ggm_psearch_merged *m) {
  printf("%-40s %-10s %-22s %9s  %s\n", "ID", "VERSION", "FROM", "DOWNLOADS", "DESCRIPTION");
  for (size_t i = 0; i < m->n; i++) {
    const ggm_psearch_result *r = &m->v[i];
    char desc[51], from[64];
    size_t n = 0;
    for (const char *p = r->description ? r->description : ""; *p && n < 50; p++)
      desc[n++] = *p == '\n' ? ' ' : *p;
    desc[n] = '\0';
    from_text(r, from, sizeof from);
    printf("%-40s %-10s %-22s %9llu  %s%s%s\n", r->id, r->version ? r->version : "-", from,
           (unsigned long long)r->downloads, desc,
           r->description && strlen(r->description) > 50 ? "..." : "",
           r->conflict ? " [owner disputed]" : "");
  }
}

static json_t *network_json(const netres *nr, const ggm_psearch_merged *m, const char *via) {
  json_t *a = nr->answer;
  json_t *peers = json_array();
  json_t *arr = json_object_get(a, "answers");
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *o = json_array_get(arr, i);
    json_t *p = json_pack("{s:O, s:O, s:O}", "peer", json_object_get(o, "peer"), "err",
                          json_object_get(o, "err"), "error", json_object_get(o, "error"));
    if (json_object_get(o, "ms")) json_object_set(p, "ms", json_object_get(o, "ms"));
    if (m && i < nr->n) {
      const ggm_psearch_verdict *v = &m->verdicts[i];
      json_object_set_new(p, "results", json_integer((json_int_t)v->valid));
      json_object_set_new(p, "irrelevant", json_integer((json_int_t)v->irrelevant));
      json_object_set_new(p, "refused", json_integer((json_int_t)v->refused));
      json_object_set_new(p, "invalid",
                          json_integer((json_int_t)(v->invalid + json_integer_value(json_object_get(
                                                                     o, "invalid")))));
    }
    json_array_append_new(peers, p);
  }
  return json_pack(
      "{s:s, s:b, s:O, s:O, s:O, s:o}", "via", via, "ok", json_is_true(json_object_get(a, "ok")),
      "asked", json_object_get(a, "asked") ? json_object_get(a, "asked") : json_integer(0),
      "answered", json_object_get(a, "answered") ? json_object_get(a, "answered") : json_integer(0),
      "ms", json_object_get(a, "ms") ? json_object_get(a, "ms") : json_real(0), "peers", peers);
}

static void print_merged_json(const char *query, const ggm_psearch_merged *m, const char *corrected,
                              json_t *net) {
  json_t *o = json_object(), *a = json_array();
  json_object_set_new(o, "query", json_string(query));
  json_object_set_new(o, "corrected", opt_str(corrected));
  for (size_t i = 0; i < m->n; i++) {
    const ggm_psearch_result *r = &m->v[i];
    json_t *x = json_object(), *src = json_array();
    if (r->local) json_array_append_new(src, json_string("local"));
    for (size_t k = 0; k < r->nsources; k++) json_array_append_new(src, json_string(r->sources[k]));
    json_object_set_new(x, "id", json_string(r->id));
    json_object_set_new(x, "name", opt_str(r->name));
    json_object_set_new(x, "version", opt_str(r->version));
    json_object_set_new(x, "description", opt_str(r->description));
    json_object_set_new(x, "author", opt_str(r->author));
    json_object_set_new(x, "category", opt_str(r->category));
    json_object_set_new(x, "license", opt_str(r->license));
    json_object_set_new(x, "downloads", json_integer((json_int_t)r->downloads));
    json_object_set_new(x, "stars", json_integer((json_int_t)r->stars));
    json_object_set_new(x, "score", json_real(r->score));
    json_object_set_new(x, "exact", json_boolean(r->exact));
    json_object_set_new(x, "sources", src);
    json_object_set_new(x, "local_version", opt_str(r->local_version));
    json_object_set_new(x, "signed_record_from_peer", json_boolean(r->record != NULL));
    json_object_set_new(x, "owner_disputed", json_boolean(r->conflict));
    json_array_append_new(a, x);
  }
  json_object_set_new(o, "results", a);
  json_object_set_new(o, "network", net ? net : json_null());
  json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
  putchar('\n');
  json_decref(o);
}

int cli_mp_search(cli_ctx *ctx, int argc, char **argv) {
  enum { O_TAG = 0x200, O_AUTHOR, O_CATEGORY, O_LICENSE, O_STARS, O_DOWNLOADS, O_LIMIT };
  static const struct option opts[] = {
      {"tag", required_argument, NULL, O_TAG},
      {"author", required_argument, NULL, O_AUTHOR},
      {"category", required_argument, NULL, O_CATEGORY},
      {"license", required_argument, NULL, O_LICENSE},
      {"min-stars", required_argument, NULL, O_STARS},
      {"min-downloads", required_argument, NULL, O_DOWNLOADS},
      {"limit", required_argument, NULL, O_LIMIT},
      CLI_NET_LONGOPTS,
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  ggs_catalog_query q = {0};
  const char *tags[GGS_CATALOG_MAX_LIST];
  uint64_t limit = 0;
  int c, nr;
  cli_net_opts no = {0};
  char **xargv = cli_p2p_expand(argc, argv, "--bootstrap", 'b', &argc);
  if (!xargv) return CLI_FAIL;
  argv = xargv;
  optind = 1;
  opterr = 0;
  int early = -1;
  while (early < 0 && (c = getopt_long(argc, argv, "vhb:", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if ((nr = cli_net_opt(ctx, &no, c, optarg)) != 0) {
      if (nr < 0) early = CLI_USAGE;
      continue;
    }
    switch (c) {
    case O_TAG:
      if (q.n_tags == GGS_CATALOG_MAX_LIST) {
        cli_err(ctx, "at most %d --tag options", GGS_CATALOG_MAX_LIST);
        early = CLI_USAGE;
        break;
      }
      tags[q.n_tags++] = optarg;
      break;
    case O_AUTHOR: q.author = optarg; break;
    case O_CATEGORY: q.category = optarg; break;
    case O_LICENSE: q.license = optarg; break;
    case O_STARS:
    case O_DOWNLOADS:
      if (parse_u64(optarg, c == O_STARS ? &q.min_stars : &q.min_downloads)) {
        cli_err(ctx, "%s needs a number, not '%s'",
                c == O_STARS ? "--min-stars" : "--min-downloads", optarg);
        early = CLI_USAGE;
      }
      break;
    case O_LIMIT:
      if (parse_u64(optarg, &limit) || limit == 0 || limit > GGS_CATALOG_MAX_LIMIT) {
        cli_err(ctx, "--limit must be 1..%d", GGS_CATALOG_MAX_LIMIT);
        early = CLI_USAGE;
      }
      break;
    case 'h':
      fputs(help, stdout);
      early = CLI_OK;
      break;
    default: cli_err(ctx, "unknown option '%s' (try --help)", argv[optind - 1]); early = CLI_USAGE;
    }
  }
  q.tags = tags;
  q.limit = (size_t)limit;
  /* the query is the remaining words */
  size_t qlen = 0;
  for (int i = optind; i < argc; i++) qlen += strlen(argv[i]) + 1;
  char *text = early < 0 ? malloc(qlen + 1) : NULL;
  if (early < 0 && text == NULL) early = CLI_FAIL;
  if (text) {
    text[0] = '\0';
    for (int i = optind; i < argc; i++) {
      if (i > optind) strcat(text, " ");
      strcat(text, argv[i]);
    }
    if (text[0] == '\0' && q.n_tags == 0 && !q.author && !q.category && !q.license) {
      fputs(help, stderr);
      early = CLI_USAGE;
    }
  }
  if (early >= 0) {
    free(text);
    free(xargv);
    return early;
  }
  q.text = text;
  cli_net_opts_finish(&no);
  char *home = cli_home(ctx);
  cli_net *net = home ? cli_net_open(ctx, home, &no) : NULL;
  int rc = CLI_OK;
  if (!net) {
    rc = CLI_FAIL;
    goto out;
  }
  ggs_catalog *cat = NULL;
  if (cli_net_mode(net) == CLI_NET_OFFLINE) {
    rc = cli_catalog_open(ctx, GGS_CATALOG_READONLY, &cat);
    if (rc) goto out;
  } else { /* a fresh node has no catalog yet: the peers may still know */
    char *path = gg_home_path(home, "catalog.db");
    if (path) ggs_catalog_open(&cat, path, GGS_CATALOG_READONLY, NULL);
    free(path);
  }
  ggs_catalog_results *r = NULL;
  int err = cat ? ggs_catalog_search(cat, &q, &r) : GG_OK;
  if (err) {
    cli_err(ctx, "search failed: %s",
            err == GG_ESTORAGE ? ggs_catalog_errmsg(cat) : gg_strerror(err));
    rc = cli_exit_for(err);
    ggs_catalog_close(cat);
    goto out;
  }
  if (cli_net_mode(net) == CLI_NET_OFFLINE) { /* as always: the local catalog alone */
    if (ctx->json) {
      print_json(text, r);
    } else {
      if (r->corrected) printf("showing results for \"%s\"\n", r->corrected);
      if (r->n)
        print_table(r);
      else
        fprintf(stderr, "no package matches \"%s\"\n", text);
    }
    rc = r->n ? CLI_OK : CLI_NOTFOUND;
    ggs_catalog_results_free(r);
    ggs_catalog_close(cat);
    goto out;
  }
  /* the network: the same query to peers */
  json_t *op = json_pack("{s:s, s:s, s:[]}", "op", "market-search", "query", text, "tags");
  for (size_t i = 0; i < q.n_tags; i++)
    json_array_append_new(json_object_get(op, "tags"), json_string(tags[i]));
  if (q.author) json_object_set_new(op, "author", json_string(q.author));
  if (q.category) json_object_set_new(op, "category", json_string(q.category));
  if (q.license) json_object_set_new(op, "license", json_string(q.license));
  size_t want = q.limit ? q.limit : GGS_CATALOG_DEFAULT_LIMIT;
  json_object_set_new(
      op, "limit",
      json_integer(want < GGM_SEARCH_MAX_RESULTS ? (json_int_t)want : GGM_SEARCH_MAX_RESULTS));
  netres nres = {0};
  nres.answer = cli_net_call(net, op);
  json_decref(op);
  int nerr = cli_net_answer_err(nres.answer);
  if (nerr == GG_ECANCELED) {
    rc = CLI_INTERRUPTED;
  } else {
    if (nerr != GG_OK && nerr != GG_ENOTFOUND && !ctx->json)
      fprintf(stderr, "(the network could not be searched: %s)\n",
              cli_net_answer_error(nres.answer));
    ggm_psearch_req pq = {.text = text,
                          .author = q.author,
                          .category = q.category,
                          .license = q.license,
                          .limit = (uint32_t)want};
    for (size_t i = 0; i < q.n_tags && i < GGM_SEARCH_MAX_TAGS; i++) pq.tags[pq.n_tags++] = tags[i];
    ggm_psearch_merged *m = NULL;
    err = answers_of(nres.answer, &nres);
    if (err == GG_OK) err = ggm_psearch_merge(&pq, r, nres.ans, nres.n, owner_of, cat, &m);
    if (err) {
      cli_err(ctx, "merging the results failed: %s", gg_strerror(err));
      rc = CLI_FAIL;
    } else {
      const char *corrected = r && r->corrected               ? r->corrected
                              : strcmp(m->as, text) && *m->as ? m->as
                                                              : NULL;
      if (ctx->json) {
        print_merged_json(text, m, corrected, network_json(&nres, m, cli_net_describe(net)));
      } else {
        if (corrected) printf("showing results for \"%s\"\n", corrected);
        if (m->n)
          print_merged_table(m);
        else
          fprintf(stderr, "no package matches \"%s\"\n", text);
        json_t *a = nres.answer;
        printf("(the local catalog and %lld peer%s asked, %lld answered, %.0f ms)\n",
               (long long)json_integer_value(json_object_get(a, "asked")),
               json_integer_value(json_object_get(a, "asked")) == 1 ? "" : "s",
               (long long)json_integer_value(json_object_get(a, "answered")),
               json_real_value(json_object_get(a, "ms")));
      }
      rc = m->n ? CLI_OK : CLI_NOTFOUND;
    }
    ggm_psearch_merged_free(m);
  }
  netres_free(&nres);
  ggs_catalog_results_free(r);
  ggs_catalog_close(cat);
out:
  cli_net_close(net);
  cli_net_opts_free(&no);
  free(home);
  free(text);
  free(xargv);
  return rc;
}
