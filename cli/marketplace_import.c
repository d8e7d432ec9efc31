/*
 * ggen marketplace import FILE: loads one of ggen's registry indexes (the marketplace index or
 * the older core index, ../shared/GGEN.md) into the local catalog, in one transaction.
 */
#include <getopt.h>
#include <jansson.h>

#include "ggen/err.h"
#include "cli_marketplace.h"
#include "marketplace_catalog.h"

static const char help[] =
    "usage: ggen marketplace import FILE [--json] [--home DIR]\n"
    "\n"
    "Loads a ggen registry index (marketplace index.json with a \"packages\" array, or the\n"
    "core index with \"packs\") into this node's catalog. Packages already present are\n"
    "updated, their versions kept; entries over the catalog's limits are skipped and counted.\n"
    "All or nothing: on any error the catalog is unchanged.\n"
    "\n"
    "exit codes: 0 imported, 2 not a ggen index, 3 file not found, 1 failure\n";

int cli_mp_import(cli_ctx *ctx, int argc, char **argv) {
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
  const char *file = argv[optind];
  ggs_catalog *cat;
  int rc = cli_catalog_open(ctx, GGS_CATALOG_CREATE, &cat);
  if (rc) return rc;
  ggs_catalog_import_stats st;
  int err = ggs_catalog_import_json(cat, file, &st);
  if (err) {
    cli_err(ctx, "cannot import %s: %s", file,
            err == GG_EPARSE || err == GG_ESTORAGE || err == GG_EIO || err == GG_ENOTFOUND
                ? ggs_catalog_errmsg(cat)
                : gg_strerror(err));
    rc = err == GG_EPARSE ? CLI_USAGE : cli_exit_for(err);
  } else if (ctx->json) {
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "file", file, "format",
                          st.format == GGS_INDEX_CORE ? "core" : "marketplace", "packages",
                          (json_int_t)st.packages, "versions", (json_int_t)st.versions, "skipped",
                          (json_int_t)st.skipped);
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
  } else {
    printf("imported %zu packages (%zu versions) from %s (%s index)", st.packages, st.versions,
           file, st.format == GGS_INDEX_CORE ? "core" : "marketplace");
    if (st.skipped) printf(", %zu entries skipped", st.skipped);
    putchar('\n');
  }
  ggs_catalog_close(cat);
  return rc;
}
