/*
 * ggen p2p id: prints this home's peer id, creating the identity key on first use
 * (<home>/identity.key, include/ggen/identity.h).
 */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/identity.h"
#include "ggen/peerid.h"

static const char help[] =
    "usage: ggen p2p id [--home DIR] [--json]\n"
    "\n"
    "Prints the peer id of this home's node. The identity key is created on first use and\n"
    "kept in <home>/identity.key (mode 0600), so the id stays the same across runs.\n"
    "\n"
    "  --json       print {\"peer_id\": \"...\", \"home\": \"...\"}\n"
    "  --home DIR   use DIR as the node's home (else $GGEN_HOME, else XDG data dir)\n";

int cli_p2p_load_identity(const cli_ctx *ctx, const char *home, gg_keypair *kp) {
  int rv = gg_identity_load(home, NULL, kp, NULL);
  if (rv == GG_EINVAL)
    cli_err(ctx, "%s/%s is readable by others: run chmod 600 on it", home, GG_IDENTITY_FILE);
  else if (rv != GG_OK)
    cli_err(ctx, "cannot load identity key from %s/%s: %s", home, GG_IDENTITY_FILE,
            gg_strerror(rv));
  return rv;
}

int cli_p2p_id(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(help, stdout);
      return CLI_OK;
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
  gg_keypair kp;
  int rv = cli_p2p_load_identity(ctx, home, &kp);
  if (rv != GG_OK) {
    free(home);
    return cli_exit_for(rv);
  }
  gg_peerid id;
  gg_peerid_from_ed25519(&id, kp.pub);
  char text[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(&id, text, sizeof(text));
  if (ctx->json) {
    printf("{\"peer_id\":\"%s\",\"home\":", text);
    cli_json_str(stdout, home);
    printf("}\n");
  } else {
    printf("%s\n", text);
  }
  free(home);
  return CLI_OK;
}
