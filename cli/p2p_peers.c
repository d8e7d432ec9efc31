/*
 * ggen p2p peers: the reputation this home's node keeps of the peers it fetched from and
 * searched (include/ggen/peerrep.h, <home>/peers.db), best first, with the terms of ggen's
 * score. Reads the database directly: it works whether or not the node runs.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/peerrep.h"

static const char help[] =
    "usage: ggen p2p peers [--limit N] [--json] [--home DIR]\n"
    "\n"
    "Lists the peers this home's node has fetched archives from or searched, best reputation\n"
    "first. The score is ggen's formula: 0.50 success rate + 0.25 speed (1000 / (avg_ms + 1))\n"
    "+ 0.15 packages provided (/10) + 0.10 recency (1 / (hours since seen + 1)), at most 1;\n"
    "a peer never asked scores 0.25. Providers are tried in this order.\n"
    "\n"
    "  --limit N   at most N peers (default: all)\n"
    "  --json      {\"peers\": [{\"peer\", \"score\", \"success_rate\", \"speed\", "
    "\"provided_term\",\n"
    "              \"recency\", \"successes\", \"failures\", \"avg_ms\", \"provided\", \"bytes\",\n"
    "              \"searches\", \"first_seen\", \"last_seen\"}]}\n"
    "\n"
    "exit codes: 0 listed (also when empty), 1 the database cannot be read\n";

static void ago(int64_t now, int64_t t, char *out, size_t cap) {
  if (t <= 0) {
    snprintf(out, cap, "never");
    return;
  }
  int64_t d = now > t ? now - t : 0;
  if (d < 120)
    snprintf(out, cap, "%llds ago", (long long)d);
  else if (d < 7200)
    snprintf(out, cap, "%lldm ago", (long long)(d / 60));
  else
    snprintf(out, cap, "%lldh ago", (long long)(d / 3600));
}

int cli_p2p_peers(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"limit", 1, NULL, 'n'}, CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
  long limit = -1;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(help, stdout);
      return CLI_OK;
    }
    if (c == 'n') {
      char *end;
      limit = strtol(optarg, &end, 10);
      if (*end || limit < 0) {
        cli_err(ctx, "--limit takes a number");
        return CLI_USAGE;
      }
      continue;
    }
    fputs(help, stderr);
    return CLI_USAGE;
  }
  if (optind != argc) {
    cli_err(ctx, "unexpected argument '%s'", argv[optind]);
    return CLI_USAGE;
  }
  char *home = cli_home(ctx);
  if (!home) return CLI_FAIL;
  char *path = gg_home_path(home, "peers.db");
  free(home);
  ggs_peerrep *r = NULL;
  int rv = path ? ggs_peerrep_open(&r, path) : GG_ENOMEM;
  if (rv != GG_OK) {
    cli_err(ctx, "cannot open %s: %s", path ? path : "peers.db", gg_strerror(rv));
    free(path);
    return CLI_FAIL;
  }
  free(path);
  int64_t now = (int64_t)time(NULL);
  ggs_peerrep_stats *all = NULL;
  size_t n = 0;
  rv = ggs_peerrep_list(r, now, &all, &n);
  ggs_peerrep_close(r);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot read the peer reputation: %s", gg_strerror(rv));
    return CLI_FAIL;
  }
  if (limit >= 0 && (size_t)limit < n) n = (size_t)limit;
  if (ctx->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      ggs_peerrep_parts p;
      ggs_peerrep_score(&all[i], now, &p);
      json_t *o = json_pack(
          "{s:s, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "peer", all[i].peer,
          "score", p.score, "success_rate", p.success_rate, "speed", p.speed, "provided_term",
          p.provided, "recency", p.recency, "successes", (json_int_t)all[i].successes, "failures",
          (json_int_t)all[i].failures, "provided", (json_int_t)all[i].provided, "bytes",
          (json_int_t)all[i].bytes, "searches", (json_int_t)all[i].searches, "first_seen",
          (json_int_t)all[i].first_seen, "last_seen", (json_int_t)all[i].last_seen);
      json_object_set_new(o, "avg_ms", all[i].avg_ms < 0 ? json_null() : json_real(all[i].avg_ms));
      json_array_append_new(arr, o);
    }
    json_t *doc = json_pack("{s:o}", "peers", arr);
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    putchar('\n');
    json_decref(doc);
  } else if (n == 0) {
    printf("no peer answered this node yet (fetches and searches record them)\n");
  } else {
    printf("%-54s %5s %4s %4s %8s %8s %8s %10s\n", "PEER", "SCORE", "OK", "FAIL", "AVG_MS",
           "PROVIDED", "SEARCHES", "LAST_SEEN");
    for (size_t i = 0; i < n; i++) {
      char seen[32], avg[16];
      ago(now, all[i].last_seen, seen, sizeof seen);
      if (all[i].avg_ms < 0)
        snprintf(avg, sizeof avg, "-");
      else
        snprintf(avg, sizeof avg, "%.1f", all[i].avg_ms);
      printf("%-54s %5.2f %4llu %4llu %8s %8llu %8llu %10s\n", all[i].peer,
             ggs_peerrep_score(&all[i], now, NULL), (unsigned long long)all[i].successes,
             (unsigned long long)all[i].failures, avg, (unsigned long long)all[i].provided,
             (unsigned long long)all[i].searches, seen);
    }
  }
  free(all);
  return CLI_OK;
}
