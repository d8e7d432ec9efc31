/*
 * ggen marketplace info ID[@VERSION]: one package from the local catalog with its versions,
 * dependencies and digests; a text view or --json.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/semver.h"
#include "cli_marketplace.h"
#include "marketplace_catalog.h"

static const char help[] =
    "usage: ggen marketplace info ID[@VERSION] [--json] [--home DIR]\n"
    "\n"
    "Shows a package from the local catalog: metadata, latest version, and every version\n"
    "(or only VERSION) with its dependencies, archive CID or sha256 and publisher. VERSION\n"
    "is a version or an npm-style range (1.2, ^1.0, >=2 <3): the highest matching version\n"
    "that is not yanked is shown.\n"
    "\n"
    "exit codes: 0 found, 3 no such package or version, 2 bad usage, 1 failure\n";

static json_t *opt_str(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *str_list(const char **l, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(l[i]));
  return a;
}

static char *hex(const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  char *s = malloc(2 * n + 1);
  if (s == NULL) return NULL;
  for (size_t i = 0; i < n; i++) s[2 * i] = d[p[i] >> 4], s[2 * i + 1] = d[p[i] & 15];
  s[2 * n] = '\0';
  return s;
}

static void print_json(const ggs_catalog_info *in) {
  json_t *o = json_object(), *vs = json_array();
  json_object_set_new(o, "id", json_string(in->id));
  json_object_set_new(o, "name", json_string(in->name));
  json_object_set_new(o, "description", json_string(in->description));
  json_object_set_new(o, "latest", opt_str(in->latest));
  json_object_set_new(o, "license", opt_str(in->license));
  json_object_set_new(o, "category", opt_str(in->category));
  json_object_set_new(o, "homepage", opt_str(in->homepage));
  json_object_set_new(o, "repository", opt_str(in->repository));
  json_object_set_new(o, "documentation", opt_str(in->documentation));
  json_object_set_new(o, "authors", str_list(in->authors, in->n_authors));
  json_object_set_new(o, "tags", str_list(in->tags, in->n_tags));
  json_object_set_new(o, "keywords", str_list(in->keywords, in->n_keywords));
  json_object_set_new(o, "downloads", json_integer((json_int_t)in->downloads));
  json_object_set_new(o, "stars", json_integer((json_int_t)in->stars));
  json_object_set_new(o, "production_ready", json_boolean(in->production_ready));
  for (size_t i = 0; i < in->n_versions; i++) {
    const ggs_catalog_vinfo *v = &in->versions[i];
    json_t *x = json_object(), *deps = json_object();
    json_object_set_new(x, "version", json_string(v->version));
    json_object_set_new(x, "cid", opt_str(v->cid));
    json_object_set_new(x, "sha256", opt_str(v->sha256));
    json_object_set_new(x, "size", json_integer((json_int_t)v->size));
    json_object_set_new(x, "published", json_integer(v->published));
    char *pk = v->publisher ? hex(v->publisher, v->publisher_len) : NULL;
    json_object_set_new(x, "publisher", opt_str(pk));
    free(pk);
    json_object_set_new(x, "source", opt_str(v->source));
    json_object_set_new(x, "yanked", json_boolean(v->yanked));
    for (size_t d = 0; d < v->n_deps; d++)
      json_object_set_new(deps, v->deps[d].id, json_string(v->deps[d].range));
    json_object_set_new(x, "dependencies", deps);
    json_array_append_new(vs, x);
  }
  json_object_set_new(o, "versions", vs);
  json_dumpf(o, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(o);
}

static void print_list(const char *label, const char **l, size_t n) {
  if (n == 0) return;
  printf("%-13s", label);
  for (size_t i = 0; i < n; i++) printf("%s%s", i ? ", " : "", l[i]);
  putchar('\n');
}

static void print_text(const ggs_catalog_info *in) {
  printf("%s", in->id);
  if (strcmp(in->name, in->id)) printf(" (%s)", in->name);
  printf("\n%s\n\n", in->description);
  printf("%-13s%s\n", "latest:", in->latest ? in->latest : "(none: all yanked)");
  if (in->license) printf("%-13s%s\n", "license:", in->license);
  if (in->category) printf("%-13s%s\n", "category:", in->category);
  print_list("authors:", in->authors, in->n_authors);
  print_list("tags:", in->tags, in->n_tags);
  print_list("keywords:", in->keywords, in->n_keywords);
  if (in->homepage) printf("%-13s%s\n", "homepage:", in->homepage);
  if (in->repository) printf("%-13s%s\n", "repository:", in->repository);
  printf("%-13s%llu downloads, %llu stars\n", "popularity:", (unsigned long long)in->downloads,
         (unsigned long long)in->stars);
  printf("\nversions:\n");
  for (size_t i = 0; i < in->n_versions; i++) {
    const ggs_catalog_vinfo *v = &in->versions[i];
    printf("  %s%s", v->version, v->yanked ? " (yanked)" : "");
    if (v->cid) printf("  cid %s", v->cid);
    else if (v->sha256) printf("  sha256 %s", v->sha256);
    putchar('\n');
    for (size_t d = 0; d < v->n_deps; d++)
      printf("      depends on %s %s\n", v->deps[d].id, v->deps[d].range);
  }
}

/* The highest version of in matching the range text (not yanked, unless only yanked ones
 * match), copied into out. GG_OK, GG_ENOTFOUND, GG_EPARSE (not a range), GG_ENOMEM. */
static int best_match(const ggs_catalog_info *in, const char *range, char *out, size_t cap) {
  ggm_semver_range *r = NULL;
  int err = ggm_semver_range_parse(&r, range, strlen(range), GGM_SEMVER_LOOSE, NULL);
  if (err) return err;
  ggm_semver best = {0};
  int have = 0, best_yanked = 1;
  for (size_t i = 0; i < in->n_versions && !err; i++) {
    const ggs_catalog_vinfo *v = &in->versions[i];
    ggm_semver sv;
    if (ggm_semver_parse(&sv, v->version, strlen(v->version), GGM_SEMVER_LOOSE, NULL)) continue;
    int better = ggm_semver_range_test(r, &sv) &&
                 (!have || (best_yanked && !v->yanked) ||
                  (best_yanked == v->yanked && ggm_semver_cmp(&sv, &best) > 0));
    if (better) {
      ggm_semver_free(&best);
      best = sv;
      have = 1;
      best_yanked = v->yanked;
      snprintf(out, cap, "%s", v->version);
    } else {
      ggm_semver_free(&sv);
    }
  }
  ggm_semver_free(&best);
  ggm_semver_range_free(r);
  return err ? err : (have ? GG_OK : GG_ENOTFOUND);
}

int cli_mp_info(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(help, stdout);
      return CLI_OK;
    }
    cli_err(ctx, "unknown option '%s' (try --help)", argv[optind - 1]);
    return CLI_USAGE;
  }
  if (optind != argc - 1) {
    fputs(help, stderr);
    return CLI_USAGE;
  }
  /* ID@VERSION: the version is after the last '@' (a version has none) */
  char *id = strdup(argv[optind]);
  if (id == NULL) return CLI_FAIL;
  char *at = strrchr(id, '@'), *version = NULL;
  if (at && at != id) {
    *at = '\0';
    version = at + 1;
    if (*version == '\0') {
      cli_err(ctx, "'%s': no version after '@'", argv[optind]);
      free(id);
      return CLI_USAGE;
    }
  }
  ggs_catalog *cat;
  int rc = cli_catalog_open(ctx, GGS_CATALOG_READONLY, &cat);
  if (rc) {
    free(id);
    return rc;
  }
  ggs_catalog_info *in = NULL;
  int err = ggs_catalog_get(cat, id, version, &in);
  if (err == GG_ENOTFOUND && version && ggs_catalog_get(cat, id, NULL, &in) == GG_OK) {
    /* not a stored version string: a range (or a version spelled otherwise, 1.2.3+b) */
    char match[GGS_CATALOG_MAX_ID + 1];
    int m = best_match(in, version, match, sizeof(match));
    if (m == GG_OK) {
      ggs_catalog_info_free(in);
      in = NULL;
      err = ggs_catalog_get(cat, id, match, &in);
    } else if (m == GG_EPARSE || m == GG_ELIMIT) {
      cli_err(ctx, "'%s' is not a version or a version range", version);
      rc = CLI_USAGE;
    } else {
      cli_err(ctx, "%s has no version matching %s (latest: %s)", in->id, version,
              in->latest ? in->latest : "none");
      rc = m == GG_ENOTFOUND ? CLI_NOTFOUND : cli_exit_for(m);
    }
    if (rc) {
      ggs_catalog_info_free(in);
      ggs_catalog_close(cat);
      free(id);
      return rc;
    }
  }
  if (err == GG_ENOTFOUND) {
    cli_err(ctx, "no package '%s' in the catalog (try 'ggen marketplace search %s')", id, id);
    rc = CLI_NOTFOUND;
  } else if (err) {
    cli_err(ctx, "%s", err == GG_ESTORAGE ? ggs_catalog_errmsg(cat) : gg_strerror(err));
    rc = cli_exit_for(err);
  } else {
    if (ctx->json)
      print_json(in);
    else
      print_text(in);
    ggs_catalog_info_free(in);
  }
  ggs_catalog_close(cat);
  free(id);
  return rc;
}
