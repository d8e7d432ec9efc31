/*
 * ggen p2p start: runs this home's node in the foreground, serving identify and ping on the
 * given listen addresses, until SIGINT or SIGTERM (then it closes every connection with a
 * GoAway and exits 0).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/host.h"

static const char help[] =
    "usage: ggen p2p start --listen MULTIADDR... [--json] [-v]\n"
    "\n"
    "Runs this home's libp2p node in the foreground: TCP + Noise + Yamux, serving identify\n"
    "(/ipfs/id/1.0.0) and ping (/ipfs/ping/1.0.0). Prints one line per listen address:\n"
    "  listening /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...\n"
    "and runs until SIGINT or SIGTERM, then closes its connections and exits 0.\n"
    "\n"
    "  -l, --listen MULTIADDR  /ip4/A/tcp/PORT or /ip6/A/tcp/PORT (port 0: any free port);\n"
    "                          repeatable\n"
    "  --json                  one JSON object per line instead: {\"event\":\"listening\",...}\n"
    "  -v                      log connections (-vv: protocol details) to stderr\n";

typedef struct start_ctx {
  ggn_host *h;
  uv_signal_t sig[2];
  int stopping;
} start_ctx;

static void on_signal(uv_signal_t *s, int signum) {
  start_ctx *sc = s->data;
  (void)signum;
  if (sc->stopping) return;
  sc->stopping = 1;
  ggn_host_close(sc->h, NULL, NULL);
  uv_close((uv_handle_t *)&sc->sig[0], NULL);
  uv_close((uv_handle_t *)&sc->sig[1], NULL);
}

int cli_p2p_log_level(const cli_ctx *ctx) {
  return ctx->verbose >= 3 ? GGN_LOG_TRACE
         : ctx->verbose == 2 ? GGN_LOG_DEBUG
         : ctx->verbose == 1 ? GGN_LOG_INFO
                             : GGN_LOG_WARN;
}

int cli_p2p_start(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"listen", 1, NULL, 'l'}, CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
  const char *listen[16];
  int nlisten = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "l:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(help, stdout);
      return CLI_OK;
    }
    if (c == 'l' && nlisten < 16) {
      listen[nlisten++] = optarg;
      continue;
    }
    if (c == 'l') {
      cli_err(ctx, "at most 16 --listen addresses");
      return CLI_USAGE;
    }
    fputs(help, stderr);
    return CLI_USAGE;
  }
  /* addresses may also follow --listen as plain arguments: --listen A B */
  while (optind < argc && nlisten < 16 && argv[optind][0] == '/') listen[nlisten++] = argv[optind++];
  if (optind != argc) {
    cli_err(ctx, "unexpected argument '%s'", argv[optind]);
    return CLI_USAGE;
  }
  if (nlisten == 0) {
    cli_err(ctx, "give at least one --listen MULTIADDR (e.g. /ip4/127.0.0.1/tcp/0)");
    return CLI_USAGE;
  }
  gg_maddr addrs[16];
  for (int i = 0; i < nlisten; i++) {
    if (gg_maddr_parse(&addrs[i], listen[i], strlen(listen[i])) != GG_OK) {
      cli_err(ctx, "not a multiaddr: %s", listen[i]);
      return CLI_USAGE;
    }
  }
  char *home = cli_home(ctx);
  if (!home) return CLI_FAIL;
  gg_keypair kp;
  int rv = cli_p2p_load_identity(ctx, home, &kp);
  free(home);
  if (rv != GG_OK) return cli_exit_for(rv);

  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_log lg;
  ggn_log_init(&lg, cli_p2p_log_level(ctx), NULL);
  ggn_host_settings st = {.identity = &kp, .log = &lg};
  start_ctx sc = {0};
  rv = ggn_host_new(&sc.h, &loop, &st, NULL, NULL);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot start the node: %s", gg_strerror(rv));
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return cli_exit_for(rv);
  }
  char id[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(sc.h), id, sizeof(id));
  int exit_code = CLI_OK;
  for (int i = 0; i < nlisten && exit_code == CLI_OK; i++) {
    rv = ggn_host_listen(sc.h, &addrs[i]);
    if (rv != GG_OK) {
      cli_err(ctx, "cannot listen on %s: %s", listen[i],
              rv == GG_EEXIST ? "address in use" : gg_strerror(rv));
      exit_code = rv == GG_EUNSUPPORTED ? CLI_USAGE : CLI_FAIL;
      break;
    }
    gg_maddr bound[16];
    size_t nb = ggn_host_listen_addrs(sc.h, bound, 16);
    char text[GG_MADDR_STR_MAX];
    gg_maddr_to_str(&bound[nb - 1], text, sizeof(text));
    if (ctx->json) {
      printf("{\"event\":\"listening\",\"addr\":\"%s/p2p/%s\",\"peer_id\":\"%s\"}\n", text, id, id);
    } else {
      printf("listening %s/p2p/%s\n", text, id);
    }
  }
  fflush(stdout);
  if (exit_code != CLI_OK) {
    ggn_host_close(sc.h, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return exit_code;
  }
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&loop, &sc.sig[i]);
    sc.sig[i].data = &sc;
    uv_signal_start(&sc.sig[i], on_signal, i == 0 ? SIGINT : SIGTERM);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) exit_code = CLI_FAIL;
  if (ctx->json) printf("{\"event\":\"stopped\"}\n");
  return exit_code;
}
