/*
 * ggen marketplace unpack ARCHIVE [DIR]: extracts a package archive with the safe extractor
 * (docs/pack.md "Extraction"): all or nothing, nothing written outside DIR, hostile archives
 * refused with the offending entry named (exit 6).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/extract.h"

static const char usage[] =
    "usage: ggen marketplace unpack ARCHIVE [DIR] [--json]\n"
    "\n"
    "Extracts a package archive (tar + zstd, as `pack` writes) into DIR, which must not exist\n"
    "(default: the archive's name without .tar.zst, in the current directory). Either every\n"
    "entry is extracted or nothing is: links, devices, absolute or '..' paths, duplicate\n"
    "entries and archives over the size limits are refused, and nothing is ever written\n"
    "outside DIR.\n"
    "\n"
    "exit codes: 0 extracted, 6 refused (hostile archive), 2 not a package archive or bad\n"
    "            usage, 3 ARCHIVE not found, 5 DIR exists, 1 I/O error\n";

int cli_mp_unpack(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_OK;
    }
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  if (argc - optind < 1 || argc - optind > 2) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  const char *archive = argv[optind];
  char def[4096];
  const char *dir = argc - optind == 2 ? argv[optind + 1] : NULL;
  if (dir == NULL) {
    const char *b = strrchr(archive, '/');
    snprintf(def, sizeof(def), "%s", b ? b + 1 : archive);
    size_t n = strlen(def);
    if (n > 8 && !strcmp(def + n - 8, ".tar.zst"))
      def[n - 8] = '\0';
    else if (n > 4 && !strcmp(def + n - 4, ".tar"))
      def[n - 4] = '\0';
    else
      snprintf(def + n, sizeof(def) - n, ".d");
    dir = def;
  }
  ggm_extract_result res;
  int rv = ggm_extract_file(archive, dir, NULL, &res, NULL);
  if (rv != GG_OK) {
    if (rv == GG_EUNSAFE)
      cli_err(ctx, "refused %s (%s): %s", archive, ggm_extract_reason_name(res.reason), res.err);
    else
      cli_err(ctx, "%s: %s", archive, res.err[0] ? res.err : gg_strerror(rv));
    if (ctx->json) {
      printf("{\"ok\":false,\"reason\":\"%s\",\"entry\":", ggm_extract_reason_name(res.reason));
      cli_json_str(stdout, res.path);
      printf(",\"error\":");
      cli_json_str(stdout, res.err);
      printf("}\n");
    }
    return rv == GG_EEXIST ? CLI_CONFLICT : cli_exit_for(rv);
  }
  if (ctx->json) {
    printf("{\"ok\":true,\"dir\":");
    cli_json_str(stdout, dir);
    printf(",\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu}\n", (unsigned long long)res.files,
           (unsigned long long)res.dirs, (unsigned long long)res.bytes);
  } else {
    printf("unpacked %llu files, %llu directories, %llu bytes into %s\n",
           (unsigned long long)res.files, (unsigned long long)res.dirs,
           (unsigned long long)res.bytes, dir);
  }
  return CLI_OK;
}
