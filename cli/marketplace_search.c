/*
 * ggen marketplace search QUERY...: searches the local package catalog (src/store/catalog*.c)
 * with ggen's ranking, filters and typo tolerance; a table or --json.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "cli_marketplace.h"
#include "marketplace_catalog.h"

static const char help[] =
    "usage: ggen marketplace search QUERY... [options]\n"
    "\n"
    "Searches the local package catalog. Exact id/name matches come first, then ggen's\n"
    "relevance (name, description, tags, keywords) plus popularity; 1-2 typos per word are\n"
    "corrected ('serach' finds 'search'). One row per package, at its latest version.\n"
    "\n"
    "options:\n"
    "  --tag T            only packages tagged T (repeatable: all must match)\n"
    "  --author A         only packages by A\n"
    "  --category C       only packages in category C\n"
    "  --license L        only packages under license L (filters ignore case)\n"
    "  --min-stars N      only packages with at least N stars\n"
    "  --min-downloads N  only packages with at least N downloads\n"
    "  --limit N          at most N results (default 20, at most 1000)\n"
    "  --json             print JSON\n"
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
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  ggs_catalog_query q = {0};
  const char *tags[GGS_CATALOG_MAX_LIST];
  uint64_t limit = 0;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    switch (c) {
    case O_TAG:
      if (q.n_tags == GGS_CATALOG_MAX_LIST) {
        cli_err(ctx, "at most %d --tag options", GGS_CATALOG_MAX_LIST);
        return CLI_USAGE;
      }
      tags[q.n_tags++] = optarg;
      break;
    case O_AUTHOR: q.author = optarg; break;
    case O_CATEGORY: q.category = optarg; break;
    case O_LICENSE: q.license = optarg; break;
    case O_STARS:
    case O_DOWNLOADS:
      if (parse_u64(optarg, c == O_STARS ? &q.min_stars : &q.min_downloads)) {
        cli_err(ctx, "%s needs a number, not '%s'", c == O_STARS ? "--min-stars" : "--min-downloads",
                optarg);
        return CLI_USAGE;
      }
      break;
    case O_LIMIT:
      if (parse_u64(optarg, &limit) || limit == 0 || limit > GGS_CATALOG_MAX_LIMIT) {
        cli_err(ctx, "--limit must be 1..%d", GGS_CATALOG_MAX_LIMIT);
        return CLI_USAGE;
      }
      break;
    case 'h': fputs(help, stdout); return CLI_OK;
    default:
      cli_err(ctx, "unknown option '%s' (try --help)", argv[optind - 1]);
      return CLI_USAGE;
    }
  }
  q.tags = tags;
  q.limit = (size_t)limit;
  /* the query is the remaining words */
  size_t qlen = 0;
  for (int i = optind; i < argc; i++) qlen += strlen(argv[i]) + 1;
  char *text = malloc(qlen + 1);
  if (text == NULL) return CLI_FAIL;
  text[0] = '\0';
  for (int i = optind; i < argc; i++) {
    if (i > optind) strcat(text, " ");
    strcat(text, argv[i]);
  }
  if (text[0] == '\0' && q.n_tags == 0 && !q.author && !q.category && !q.license) {
    free(text);
    fputs(help, stderr);
    return CLI_USAGE;
  }
  q.text = text;
  ggs_catalog *cat;
  int rc = cli_catalog_open(ctx, GGS_CATALOG_READONLY, &cat);
  if (rc) {
    free(text);
    return rc;
  }
  ggs_catalog_results *r = NULL;
  int err = ggs_catalog_search(cat, &q, &r);
  if (err) {
    cli_err(ctx, "search failed: %s", err == GG_ESTORAGE ? ggs_catalog_errmsg(cat) : gg_strerror(err));
    rc = cli_exit_for(err);
  } else {
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
  }
  ggs_catalog_close(cat);
  free(text);
  return rc;
}
