/*
 * ggen marketplace cache stats|gc|clean: the content-addressed blob store in <home>/store
 * (include/ggen/blobstore.h, docs/blobstore.md).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/blobstore.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/install.h"

static const char usage[] =
    "usage: ggen marketplace cache <stats|gc|clean> [options]\n"
    "\n"
    "The package cache: archives kept by CID in <home>/store, within a size budget, least\n"
    "recently used evicted first, and the unpacked trees installs hard-link from\n"
    "(<home>/unpacked, one per archive).\n"
    "\n"
    "  stats              entries, bytes, budget, hits, misses, hit rate; unpacked trees\n"
    "  gc [--verify] [--budget SIZE]\n"
    "                     remove abandoned temporary files, repair the index, evict down to\n"
    "                     the budget; --verify also hashes every blob and removes corrupt ones;\n"
    "                     --budget sets a new budget (bytes, or with K/M/G suffix) first;\n"
    "                     then removes unpacked trees whose archive is gone or that changed\n"
    "  clean              remove every cached archive and unpacked tree, reset the counters\n"
    "                     (installed projects keep their files)\n"
    "\n"
    "options: --json (machine-readable output), --home DIR\n"
    "exit codes: 0 success, 1 storage or I/O error, 2 bad usage\n";

/* Parses "123", "64K", "512M", "2G". 0 on error. */
static uint64_t parse_size(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return 0;
  uint64_t mul = 1;
  if (*end == 'K' || *end == 'k')
    mul = 1ull << 10, end++;
  else if (*end == 'M' || *end == 'm')
    mul = 1ull << 20, end++;
  else if (*end == 'G' || *end == 'g')
    mul = 1ull << 30, end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end != '\0' || v > UINT64_MAX / mul) return 0;
  return (uint64_t)v * mul;
}

static void human(uint64_t b, char *out, size_t cap) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int i = 0;
  while (v >= 1024 && i < 4) v /= 1024, i++;
  if (i == 0)
    snprintf(out, cap, "%" PRIu64 " B", b);
  else
    snprintf(out, cap, "%.1f %s", v, u[i]);
}

int cli_mp_cache(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS,
                                       {"verify", no_argument, NULL, 'V'},
                                       {"budget", required_argument, NULL, 'b'},
                                       {NULL, 0, NULL, 0}};
  int verify = 0;
  uint64_t budget = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    switch (c) {
    case 'V': verify = 1; break;
    case 'b':
      budget = parse_size(optarg);
      if (budget == 0) {
        cli_err(ctx, "bad --budget '%s' (bytes, or a number with K, M or G)", optarg);
        return CLI_USAGE;
      }
      break;
    case 'h': fputs(usage, stdout); return CLI_OK;
    default: fputs(usage, stderr); return CLI_USAGE;
    }
  }
  if (optind + 1 != argc) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  const char *sub = argv[optind];
  int is_stats = !strcmp(sub, "stats"), is_gc = !strcmp(sub, "gc"),
      is_clean = !strcmp(sub, "clean");
  if (!is_stats && !is_gc && !is_clean) {
    cli_err(ctx, "unknown cache command '%s' (stats, gc or clean)", sub);
    return CLI_USAGE;
  }
  if ((verify || budget) && !is_gc) {
    cli_err(ctx, "--verify and --budget go with 'gc'");
    return CLI_USAGE;
  }
  char *home = cli_home(ctx);
  if (home == NULL) return CLI_FAIL;
  char *dir = gg_home_path(home, "store");
  if (dir == NULL) {
    free(home);
    return CLI_FAIL;
  }
  ggs_blob_store *st;
  ggs_blob_settings set = {.budget = budget};
  int rv = ggs_blob_open(&st, dir, &set, NULL);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot open the cache %s: %s", dir, gg_strerror(rv));
    free(dir);
    free(home);
    return cli_exit_for(rv);
  }
  ggs_blob_stats s0;
  /* the unpacked trees installs hard-link from (docs/install.md) are part of the cache */
  ggm_install_cache_stats us = {0};
  if (is_stats) {
    rv = ggs_blob_stats_get(st, &s0);
    if (rv == GG_OK) rv = ggm_install_cache_stats_get(home, &us);
    if (rv == GG_OK) {
      char hb[32], hbud[32];
      human(s0.bytes, hb, sizeof(hb));
      human(s0.budget, hbud, sizeof(hbud));
      if (ctx->json) {
        printf("{\"entries\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"budget\":%" PRIu64
               ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"hit_rate\":%.4f,"
               "\"unpacked_entries\":%" PRIu64 ",\"unpacked_files\":%" PRIu64
               ",\"unpacked_bytes\":%" PRIu64 ",\"path\":",
               s0.entries, s0.bytes, s0.budget, s0.hits, s0.misses, s0.hit_rate, us.entries,
               us.files, us.bytes);
        cli_json_str(stdout, dir);
        printf("}\n");
      } else
        printf("cache     %s\nentries   %" PRIu64 "\nsize      %s (%" PRIu64
               " bytes)\nbudget    %s\nhits      %" PRIu64 "\nmisses    %" PRIu64
               "\nhit rate  %.1f%%\nunpacked  %" PRIu64 " trees, %" PRIu64 " files, %" PRIu64
               " bytes\n",
               dir, s0.entries, hb, s0.bytes, hbud, s0.hits, s0.misses, 100.0 * s0.hit_rate,
               us.entries, us.files, us.bytes);
    }
  } else if (is_gc) {
    ggs_blob_gc_result g;
    rv = ggs_blob_gc(st, verify ? GGS_BLOB_GC_VERIFY : 0, &g);
    /* then the unpacked trees whose archive left the store, or that were modified */
    if (rv == GG_OK) rv = ggm_install_cache_gc(home, st, &us);
    if (rv == GG_OK) rv = ggs_blob_stats_get(st, &s0);
    if (rv == GG_OK) {
      if (ctx->json)
        printf("{\"evicted\":%" PRIu64 ",\"evicted_bytes\":%" PRIu64 ",\"temps\":%" PRIu64
               ",\"corrupt\":%" PRIu64 ",\"reconciled\":%" PRIu64 ",\"entries\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"budget\":%" PRIu64 ",\"unpacked_removed\":%" PRIu64
               ",\"unpacked_entries\":%" PRIu64 "}\n",
               g.evicted, g.evicted_bytes, g.temps, g.corrupt, g.reconciled, s0.entries, s0.bytes,
               s0.budget, us.removed, us.entries);
      else
        printf("evicted %" PRIu64 " archives (%" PRIu64 " bytes), removed %" PRIu64
               " temporary files and %" PRIu64 " corrupt archives, repaired %" PRIu64
               " index entries, removed %" PRIu64 " unpacked trees; %" PRIu64 " archives, %" PRIu64
               " bytes of %" PRIu64 " budget\n",
               g.evicted, g.evicted_bytes, g.temps, g.corrupt, g.reconciled, us.removed, s0.entries,
               s0.bytes, s0.budget);
    }
  } else {
    rv = ggs_blob_stats_get(st, &s0);
    if (rv == GG_OK) rv = ggs_blob_clean(st);
    if (rv == GG_OK) rv = ggm_install_cache_clean(home, &us);
    if (rv == GG_OK) {
      if (ctx->json)
        printf("{\"removed\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"unpacked_removed\":%" PRIu64 "}\n",
               s0.entries, s0.bytes, us.removed);
      else
        printf("removed %" PRIu64 " archives (%" PRIu64 " bytes) and %" PRIu64
               " unpacked trees (installed projects keep their files)\n",
               s0.entries, s0.bytes, us.removed);
    }
  }
  if (rv != GG_OK) cli_err(ctx, "cache %s: %s", sub, gg_strerror(rv));
  ggs_blob_close(st);
  free(dir);
  free(home);
  return cli_exit_for(rv);
}
