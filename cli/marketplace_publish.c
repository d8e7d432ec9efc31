/*
 * ggen marketplace publish [DIR]: packs a package directory, signs its release record with
 * <home>/publisher.key and stores archive and record on this node (include/ggen/publish.h),
 * then - unless --local - puts the record on the network: in the DHT under its versioned key,
 * with this home's node as the archive's provider (docs/p2p-marketplace.md "Publishing").
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/publish.h"
#include "ggen/release.h"
#include "marketplace_net.h"
#include "p2p_dht.h"

static const char usage[] =
    "usage: ggen marketplace publish [DIR] [--local] [--dry-run] [--bootstrap MULTIADDR...]\n"
    "                                [--json] [--home DIR]\n"
    "\n"
    "Publishes the package in DIR (default: the current directory): reads its gpack.toml,\n"
    "packs it deterministically, signs a release record with the publisher key\n"
    "(<home>/publisher.key, see `ggen marketplace keygen`), stores the archive and the record\n"
    "on this node, then puts the record on the network: in the DHT under\n"
    "/ggen-pkg/<id>@<version> (every version has its own key) and, from this home's running\n"
    "node (ggen p2p start), a provider record for the archive, which that node serves.\n"
    "Without a running node a short-lived one joins through --bootstrap and puts the record;\n"
    "the archive is provided once `ggen p2p start` runs in this home. A package id belongs to\n"
    "the key that first published it; versions are immutable.\n"
    "\n"
    "  --local      publish on this node only\n"
    "  --dry-run    run every check (manifest, packing, ownership, version), store "
    "nothing\n" CLI_NET_HELP
    "  --json       print {\"id\", \"version\", \"cid\", \"size\", \"files\", \"publisher\",\n"
    "               \"existed\", \"dry_run\", \"network\": {...} or null}\n"
    "\n"
    "exit codes: 0 published (or this exact release was already there), 2 bad usage,\n"
    "malformed manifest, content that cannot be packed (a symlink, over a limit) or no\n"
    "publisher key, 4 published on this node but no peer could be reached (run it again\n"
    "once the network is there), 5 the id belongs to another key or the version exists with\n"
    "other content, 1 I/O or storage error\n";

/* Puts the release on the network; returns the exit code and fills *net (JSON). */
static int announce(cli_ctx *ctx, const char *home, cli_net_opts *no, const ggm_publish_result *res,
                    ggs_catalog *cat, json_t **net) {
  ggs_catalog_info *info = NULL;
  int rv = ggs_catalog_get(cat, res->id, res->version, &info);
  if (rv != GG_OK || !info->versions[0].record) {
    cli_err(ctx, "the record of %s@%s is not in the catalog", res->id, res->version);
    ggs_catalog_info_free(info);
    return CLI_FAIL;
  }
  char *hex = cli_hex(info->versions[0].record, info->versions[0].record_len);
  ggs_catalog_info_free(info);
  cli_net *n = hex ? cli_net_open(ctx, home, no) : NULL;
  if (!n) {
    free(hex);
    return CLI_FAIL;
  }
  int code = CLI_OK;
  if (cli_net_mode(n) == CLI_NET_OFFLINE) {
    cli_err(ctx,
            "%s@%s is published on this node only: %s. Start `ggen p2p start` in this home "
            "(or give --bootstrap) and publish again, or use --local",
            res->id, res->version, cli_net_describe(n));
    *net = json_pack("{s:b, s:s}", "ok", 0, "error", cli_net_describe(n));
    cli_net_close(n);
    free(hex);
    return CLI_NETWORK;
  }
  json_t *op = json_pack("{s:s, s:s}", "op", "market-publish", "record_hex", hex);
  json_t *a = cli_net_call(n, op);
  json_decref(op);
  free(hex);
  int err = cli_net_answer_err(a);
  json_object_set_new(a, "via", json_string(cli_net_describe(n)));
  if (err != GG_OK) {
    cli_err(ctx, "%s@%s is published on this node, but not on the network: %s", res->id,
            res->version, cli_net_answer_error(a));
    code = err == GG_ECANCELED ? CLI_INTERRUPTED : CLI_NETWORK;
  } else if (!ctx->json) {
    json_int_t stored = json_integer_value(json_object_get(a, "stored"));
    json_int_t provided = json_integer_value(json_object_get(a, "provided"));
    int perr = (int)json_integer_value(json_object_get(a, "provide_err"));
    printf("  network   record stored at %lld peer%s", (long long)stored, stored == 1 ? "" : "s");
    if (perr == GG_OK)
      printf(", archive provided at %lld peer%s", (long long)provided, provided == 1 ? "" : "s");
    json_int_t ann = json_integer_value(json_object_get(a, "announced"));
    if (ann > 0) printf(", announced to %lld peer%s", (long long)ann, ann == 1 ? "" : "s");
    printf(" (%.0f ms, %s)\n", json_real_value(json_object_get(a, "ms")), cli_net_describe(n));
    if (perr == GG_EUNSUPPORTED && cli_net_mode(n) == CLI_NET_ONESHOT)
      printf("  note      the archive becomes fetchable when `ggen p2p start` runs in this home\n");
  }
  *net = a;
  cli_net_close(n);
  return code;
}

int cli_mp_publish(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS,
                                       CLI_NET_LONGOPTS,
                                       {"local", no_argument, NULL, 'L'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
  int local = 0, dry = 0, c, nr;
  cli_net_opts no = {0};
  char **xargv = cli_p2p_expand(argc, argv, "--bootstrap", 'b', &argc);
  if (!xargv) return CLI_FAIL;
  argv = xargv;
  optind = 1;
  int early = -1;
  while (early < 0 && (c = getopt_long(argc, argv, "vhnb:", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if ((nr = cli_net_opt(ctx, &no, c, optarg)) != 0) {
      if (nr < 0) early = CLI_USAGE;
      continue;
    }
    switch (c) {
    case 'L': local = 1; break;
    case 'n': dry = 1; break;
    case 'h':
      fputs(usage, stdout);
      early = CLI_OK;
      break;
    default:
      fputs(usage, stderr);
      early = CLI_USAGE;
      break;
    }
  }
  if (early < 0 && argc - optind > 1) {
    cli_err(ctx, "one package directory at a time");
    early = CLI_USAGE;
  }
  if (early >= 0) {
    free(xargv);
    return early;
  }
  cli_net_opts_finish(&no);
  const char *dir = optind < argc ? argv[optind] : ".";
  cli_mp_env e;
  int code = cli_mp_env_open(ctx, &e, CLI_MP_CATALOG | CLI_MP_STORE);
  if (code) {
    cli_net_opts_free(&no);
    free(xargv);
    return code;
  }
  char *keypath = gg_home_path(e.home, "publisher.key");
  gg_keypair kp;
  int rv = keypath ? ggm_release_key_load(keypath, &kp) : GG_ENOMEM;
  if (rv) {
    if (rv == GG_ENOTFOUND)
      cli_err(ctx, "no publisher key in %s: create one with `ggen marketplace keygen`", keypath);
    else if (rv == GG_EINVAL)
      cli_err(ctx, "%s is readable by others: run chmod 600 on it", keypath);
    else
      cli_err(ctx, "cannot load the publisher key %s: %s", keypath ? keypath : "", gg_strerror(rv));
    free(keypath);
    cli_mp_env_close(&e);
    cli_net_opts_free(&no);
    free(xargv);
    return rv == GG_EIO || rv == GG_ENOMEM ? CLI_FAIL : CLI_USAGE;
  }
  free(keypath);
  ggm_publish_env pe = {e.home, e.cat, e.store};
  ggm_publish_result res;
  /* packing at zstd level 19 and the test extraction take a while for a large package */
  int prog = cli_mp_progress_wanted(ctx);
  if (prog) fprintf(stderr, "packing, signing and verifying %s ...", dir);
  rv = ggm_publish_dir(dir, &pe, &kp, (int64_t)time(NULL), dry ? GGM_PUBLISH_DRY_RUN : 0, &res);
  if (prog) fputs("\r\033[K", stderr);
  if (rv) {
    cli_err(ctx, "%s", res.msg[0] ? res.msg : gg_strerror(rv));
    code = rv == GG_ELIMIT ? CLI_USAGE : rv == GG_EEXIST ? CLI_CONFLICT : cli_exit_for(rv);
  } else {
    char pub[65];
    for (int i = 0; i < 32; i++) snprintf(pub + 2 * i, 3, "%02x", res.publisher[i]);
    if (!ctx->json) {
      const char *what = dry ? "would publish" : res.existed ? "already published" : "published";
      printf("%s %s@%s\n  archive   %s (%" PRIu64 " bytes, %" PRIu64 " files)\n  publisher %s\n",
             what, res.id, res.version, res.cid, res.size, res.files, pub);
      fflush(stdout);
    }
    json_t *net = NULL;
    if (!local && !dry) code = announce(ctx, e.home, &no, &res, e.cat, &net);
    if (ctx->json) {
      json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:b, s:o}", "id", res.id,
                            "version", res.version, "cid", res.cid, "size", (json_int_t)res.size,
                            "files", (json_int_t)res.files, "publisher", pub, "existed",
                            res.existed, "dry_run", dry, "network", net ? net : json_null());
      json_dumpf(o, stdout, JSON_COMPACT);
      putchar('\n');
      json_decref(o);
    } else {
      json_decref(net);
    }
  }
  cli_mp_env_close(&e);
  cli_net_opts_free(&no);
  free(xargv);
  return code;
}
