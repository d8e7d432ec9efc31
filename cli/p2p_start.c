/*
 * ggen p2p start: runs this home's node in the foreground, serving identify, ping and the
 * Kademlia DHT (a server unless --dht-client) on the given listen addresses, joined through the
 * bootstrap peers, with Gossipsub (printing the messages of the --sub topics), with the DHT's
 * records in <home>/dht.db and a control socket
 * <home>/p2p.sock for the `ggen p2p dht` commands, until SIGINT or SIGTERM (then it closes
 * every connection with a GoAway and exits 0).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/gossip_service.h"
#include "ggen/home.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "marketplace_net.h"
#include "p2p_dht.h"

static const char help[] =
    "usage: ggen p2p start --listen MULTIADDR... [--bootstrap MULTIADDR...] [--sub TOPIC...]\n"
    "                      [--dht-client] [--kad-protocol P] [--open-namespace NS] [--json]\n"
    "                      [-v]\n"
    "\n"
    "Runs this home's libp2p node in the foreground: TCP + Noise + Yamux, serving identify\n"
    "(/ipfs/id/1.0.0), ping (/ipfs/ping/1.0.0), the Kademlia DHT, Gossipsub\n"
    "(/meshsub/1.2.0, 1.1.0, 1.0.0) and the marketplace: archives from <home>/store on\n"
    "/ggen/fetch/1.0.0, searches of <home>/catalog.db on /ggen/search/1.0.0, and the package\n"
    "announcements of /ggen/packages/v1 (validated, then cataloged). Prints one line per\n"
    "listen address, one when the DHT is ready and one when the store is provided again:\n"
    "  listening /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...\n"
    "  dht ready: 12 peers in the routing table\n"
    "  market ready: providing 3 of 3 archives in the store\n"
    "then one per package announcement, and runs until SIGINT or SIGTERM, then closes its\n"
    "connections and exits 0. DHT records are kept in <home>/dht.db, peer reputation in\n"
    "<home>/peers.db; `ggen p2p dht ...` and the marketplace's network commands (publish,\n"
    "search, install, update) reach the node through <home>/p2p.sock.\n"
    "\n"
    "  -l, --listen MULTIADDR     /ip4/A/tcp/PORT or /ip6/A/tcp/PORT (port 0: any free port);\n"
    "                             repeatable (default: $GGEN_P2P_LISTEN)\n"
    "  -b, --bootstrap MULTIADDR  DHT peers to join through, /.../tcp/PORT[/p2p/ID];\n"
    "                             repeatable (default: $GGEN_P2P_BOOTSTRAP)\n"
    "  -s, --sub TOPIC            subscribe to TOPIC (relaying its messages) and print each\n"
    "                             message as `ggen p2p pubsub sub` does; repeatable\n"
    "  --dht-client               query the DHT without serving it (also\n"
    "                             GGEN_P2P_DHT_SERVER=0)\n"
    "  --kad-protocol P           DHT protocol id (default /ggen/kad/1.0.0; the public libp2p\n"
    "                             DHT is /ipfs/kad/1.0.0)\n"
    "  --open-namespace NS        accept any value under /NS/ (tests and experiments)\n"
    "  --json                     one JSON object per line instead: {\"event\":\"listening\",...}\n"
    "  -v                         log connections (-vv: protocol details) to stderr\n"
    "\n"
    "Exit status: 0 after a signal, 2 bad arguments, 1 an address cannot be bound, 5 a node\n"
    "already runs in this home.\n";

typedef struct start_ctx {
  cli_ctx *ctx;
  ggn_host *h;
  ggn_kad *k;
  ggn_gossip *gs;
  ggn_market *m;
  ggs_catalog *cat;
  ggs_blob_store *store;
  ggs_peerrep *rep;
  cli_ctl *ctl;
  uv_signal_t sig[2];
  int stopping;
  gg_ts boot_start;
} start_ctx;

static void on_signal(uv_signal_t *s, int signum) {
  start_ctx *sc = s->data;
  (void)signum;
  if (sc->stopping) return;
  sc->stopping = 1;
  ggn_market_close(sc->m, NULL, NULL); /* before the DHT: its queries are forgotten with it */
  ggn_kad_close(sc->k, NULL, NULL);    /* first: no query answers a control client after this */
  ggn_gossip_close(sc->gs, NULL, NULL);
  if (sc->ctl) cli_ctl_stop(sc->ctl);
  ggn_host_close(sc->h, NULL, NULL);
  uv_close((uv_handle_t *)&sc->sig[0], NULL);
  uv_close((uv_handle_t *)&sc->sig[1], NULL);
}

int cli_p2p_log_level(const cli_ctx *ctx) {
  return ctx->verbose >= 3   ? GGN_LOG_TRACE
         : ctx->verbose == 2 ? GGN_LOG_DEBUG
         : ctx->verbose == 1 ? GGN_LOG_INFO
                             : GGN_LOG_WARN;
}

static void on_reprovided(ggn_market *m, size_t total, size_t ok, void *ud) {
  (void)m;
  start_ctx *sc = ud;
  if (sc->ctx->json)
    printf("{\"event\":\"market_ready\",\"archives\":%zu,\"provided\":%zu}\n", total, ok);
  else
    printf("market ready: providing %zu of %zu archives in the store\n", ok, total);
  fflush(stdout);
}

/* The store's archives become fetchable again (their provider records expired while the node
 * was down, or were never made: installs by a short-lived node). */
static void reprovide(start_ctx *sc) {
  int rv = ggn_market_reprovide(sc->m, on_reprovided, sc);
  if (rv == GG_EUNSUPPORTED) return; /* --dht-client: this node provides nothing */
  if (rv != GG_OK) cli_err(sc->ctx, "warning: cannot re-provide the store: %s", gg_strerror(rv));
}

static void print_ready(start_ctx *sc, const char *note) {
  size_t n = ggn_kad_routing_size(sc->k);
  double ms = (double)(uv_hrtime() - sc->boot_start) / 1e6;
  if (sc->ctx->json)
    printf("{\"event\":\"dht_ready\",\"routing_peers\":%zu,\"ms\":%.1f,\"protocol\":\"%s\"}\n", n,
           ms, ggn_kad_protocol(sc->k));
  else
    printf("dht ready: %zu peers in the routing table%s\n", n, note);
  fflush(stdout);
}

static void on_bootstrapped(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  start_ctx *sc = ud;
  if (res->err == GG_OK || ggn_kad_routing_size(sc->k) > 0) {
    print_ready(sc, "");
    reprovide(sc);
    return;
  }
  if (sc->ctx->json)
    printf("{\"event\":\"dht_bootstrap_failed\",\"error\":\"%s\"}\n", gg_strerror(res->err));
  else
    printf("dht: bootstrap failed (%s); serving, others may join through this node\n",
           gg_strerror(res->err));
  fflush(stdout);
}

static void on_gossip_msg(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  start_ctx *sc = ud;
  cli_pubsub_print(sc->ctx, m);
}

/* One line per package announcement the node received. */
static void on_announce(ggn_market *m, const ggn_market_announcement *a, void *ud) {
  (void)m;
  start_ctx *sc = ud;
  const ggm_announce_verdict *v = a->v;
  char from[GG_PEERID_TEXT_MAX];
  if (gg_peerid_to_b58(&a->from, from, sizeof from) < 0) from[0] = 0;
  int accepted = v->action == GGM_ANNOUNCE_ACCEPT && a->ingest_err == GG_OK;
  const char *why = v->err == GG_EOWNER && a->by_peers ? "the peers vouch for another publisher key"
                    : v->err == GG_EOWNER ? "the id belongs to another publisher key here"
                    : v->err == GG_EEXIST ? "this version is known with another archive"
                    : v->err              ? gg_strerror(v->err)
                    : a->ingest_err       ? gg_strerror(a->ingest_err)
                                          : "";
  if (sc->ctx->json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "event", "announcement", "id", v->id,
                          "version", v->version, "from", from, "accepted", accepted);
    if (!accepted) json_object_set_new(o, "error", json_string(why));
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
  } else if (accepted) {
    printf("announcement %s@%s from %s: cataloged\n", v->id, v->version, gg_peerid_short(&a->from));
  } else {
    printf("announcement %s%s%s from %s: refused (%s)\n", v->id[0] ? v->id : "(not a record)",
           v->id[0] ? "@" : "", v->version, gg_peerid_short(&a->from), why);
  }
  fflush(stdout);
}

/* The home's catalog, store and reputation, and the market service over them. */
static int open_market(start_ctx *sc, const char *home, int client) {
  char *cat = gg_home_path(home, "catalog.db"), *store = gg_home_path(home, "store"),
       *rep = gg_home_path(home, "peers.db");
  int rv = cat && store && rep ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK && (rv = ggs_catalog_open(&sc->cat, cat, GGS_CATALOG_CREATE, NULL)) != GG_OK)
    cli_err(sc->ctx, "cannot open the catalog %s: %s", cat, gg_strerror(rv));
  if (rv == GG_OK && (rv = ggs_blob_open(&sc->store, store, NULL, NULL)) != GG_OK)
    cli_err(sc->ctx, "cannot open the package store %s: %s", store, gg_strerror(rv));
  if (rv == GG_OK && (rv = ggs_peerrep_open(&sc->rep, rep)) != GG_OK)
    cli_err(sc->ctx, "cannot open the peer reputation %s: %s", rep, gg_strerror(rv));
  free(cat);
  free(store);
  free(rep);
  if (rv != GG_OK) return rv;
  ggn_market_settings ms = {.home = home,
                            .catalog = sc->cat,
                            .store = sc->store,
                            .rep = sc->rep,
                            .kad = sc->k,
                            .gossip = sc->gs,
                            .on_announce = on_announce,
                            .announce_ud = sc,
                            .client_mode = client};
  return ggn_market_new(&sc->m, sc->h, &ms);
}

static void close_stores(start_ctx *sc) {
  ggs_catalog_close(sc->cat);
  ggs_blob_close(sc->store);
  ggs_peerrep_close(sc->rep);
}

/* GGEN_P2P_DHT_SERVER=0|false|no asks for client mode. */
static int env_client_mode(void) {
  const char *v = getenv("GGEN_P2P_DHT_SERVER");
  return v && (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"));
}

enum { O_CLIENT = 0x3001, O_PROTO, O_NS };

int cli_p2p_start(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"listen", 1, NULL, 'l'},
                                       {"bootstrap", 1, NULL, 'b'},
                                       {"dht-client", 0, NULL, O_CLIENT},
                                       {"kad-protocol", 1, NULL, O_PROTO},
                                       {"open-namespace", 1, NULL, O_NS},
                                       {"sub", 1, NULL, 's'},
                                       CLI_COMMON_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  const char *listen[16], *boot[32], *ns[8], *subs[16];
  int nlisten = 0, nboot = 0, nns = 0, nsubs = 0, client = env_client_mode(), c;
  const char *proto = GGP_KAD_PROTOCOL;
  char **xargv = cli_p2p_expand(argc, argv, "--bootstrap", 'b', &argc);
  if (!xargv) return CLI_FAIL;
  argv = xargv;
  optind = 1;
  int early = -1;
  while (early < 0 && (c = getopt_long(argc, argv, "l:b:s:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(help, stdout);
      early = CLI_OK;
      break;
    }
    if (c == 'b') {
      if (nboot == 32) {
        cli_err(ctx, "at most 32 --bootstrap addresses");
        early = CLI_USAGE;
      } else {
        boot[nboot++] = optarg;
      }
      continue;
    }
    if (c == O_CLIENT) {
      client = 1;
      continue;
    }
    if (c == 's') {
      size_t tl = strlen(optarg);
      if (nsubs == 16 || tl == 0 || tl > GGP_GOSSIP_TOPIC_MAX) {
        cli_err(ctx, "--sub takes a topic of 1 to %d bytes (at most 16 topics)",
                GGP_GOSSIP_TOPIC_MAX);
        early = CLI_USAGE;
      } else {
        subs[nsubs++] = optarg;
      }
      continue;
    }
    if (c == O_PROTO) {
      proto = optarg;
      continue;
    }
    if (c == O_NS) {
      if (nns == 8 || !optarg[0] || strchr(optarg, '/')) {
        cli_err(ctx, "--open-namespace takes a name without '/' (at most 8)");
        early = CLI_USAGE;
      } else {
        ns[nns++] = optarg;
      }
      continue;
    }
    if (c == 'l' && nlisten < 16) {
      listen[nlisten++] = optarg;
      continue;
    }
    if (c == 'l') {
      cli_err(ctx, "at most 16 --listen addresses");
      early = CLI_USAGE;
      break;
    }
    fputs(help, stderr);
    early = CLI_USAGE;
  }
  if (early >= 0) {
    free(xargv);
    return early;
  }
  /* addresses may also follow --listen as plain arguments: --listen A B */
  while (optind < argc && nlisten < 16 && argv[optind][0] == '/')
    listen[nlisten++] = argv[optind++];
  int bad_arg = optind != argc;
  if (bad_arg) cli_err(ctx, "unexpected argument '%s'", argv[optind]);
  char *lenv = NULL, *benv = NULL;
  if (nlisten == 0) nlisten = (int)cli_p2p_env_addrs("GGEN_P2P_LISTEN", &lenv, listen, 16);
  if (nboot == 0) nboot = (int)cli_p2p_env_addrs("GGEN_P2P_BOOTSTRAP", &benv, boot, 32);
  gg_maddr addrs[16], baddrs[32];
  int usage = bad_arg;
  if (!usage && nlisten == 0) {
    cli_err(ctx, "give at least one --listen MULTIADDR (e.g. /ip4/127.0.0.1/tcp/0)");
    usage = 1;
  }
  for (int i = 0; i < nlisten && !usage; i++) {
    if (gg_maddr_parse(&addrs[i], listen[i], strlen(listen[i])) != GG_OK) {
      cli_err(ctx, "not a multiaddr: %s", listen[i]);
      usage = 1;
    }
  }
  for (int i = 0; i < nboot && !usage; i++) {
    if (gg_maddr_parse(&baddrs[i], boot[i], strlen(boot[i])) != GG_OK) {
      cli_err(ctx, "not a multiaddr: %s", boot[i]);
      usage = 1;
    }
  }
  /* the addresses are parsed: the strings (some inside lenv/benv) are no longer needed */
  free(lenv);
  free(benv);
  free(xargv);
  if (usage) return CLI_USAGE;
  char *home = cli_home(ctx);
  if (!home) return CLI_FAIL;
  char *db = gg_home_path(home, "dht.db"), *sock = gg_home_path(home, CLI_CTL_SOCKET);
  gg_keypair kp;
  int rv = db && sock ? cli_p2p_load_identity(ctx, home, &kp) : GG_ENOMEM;
  char *mhome = home; /* kept for the market service */
  if (rv == GG_OK && cli_ctl_alive(sock)) {
    cli_err(ctx, "a node already runs in this home (%s answers)", sock);
    rv = GG_EEXIST;
  }
  if (rv != GG_OK) {
    free(db);
    free(sock);
    free(mhome);
    return cli_exit_for(rv);
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_log lg;
  ggn_log_init(&lg, cli_p2p_log_level(ctx), NULL);
  ggn_host_settings st = {.identity = &kp, .log = &lg};
  start_ctx sc = {.ctx = ctx};
  rv = ggn_host_new(&sc.h, &loop, &st, NULL, NULL);
  ggp_kad_validator vals[8];
  cli_p2p_open_namespaces(ns, nns, vals);
  ggn_kad_settings ks = {.protocol = proto,
                         .client_mode = client,
                         .db_path = db,
                         .validators = vals,
                         .nvalidators = (size_t)nns};
  if (rv == GG_OK) {
    rv = ggn_kad_new(&sc.k, sc.h, &ks);
    if (rv != GG_OK) ggn_host_close(sc.h, NULL, NULL);
  }
  if (rv == GG_OK) {
    rv = ggn_gossip_new(&sc.gs, sc.h, NULL);
    for (int i = 0; rv == GG_OK && i < nsubs; i++)
      rv = ggn_gossip_subscribe(sc.gs, subs[i], on_gossip_msg, &sc);
    if (rv == GG_OK) rv = open_market(&sc, mhome, client);
    if (rv != GG_OK) {
      if (sc.m) ggn_market_close(sc.m, NULL, NULL);
      ggn_gossip_close(sc.gs, NULL, NULL);
      ggn_kad_close(sc.k, NULL, NULL);
      ggn_host_close(sc.h, NULL, NULL);
    }
  }
  free(db);
  free(mhome);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot start the node: %s", gg_strerror(rv));
    free(sock);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    close_stores(&sc);
    return cli_exit_for(rv);
  }
  char id[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(sc.h), id, sizeof(id));
  int exit_code = CLI_OK;
  for (int i = 0; i < nlisten && exit_code == CLI_OK; i++) {
    rv = ggn_host_listen(sc.h, &addrs[i]);
    if (rv != GG_OK) {
      char want[GG_MADDR_STR_MAX];
      gg_maddr_to_str(&addrs[i], want, sizeof(want));
      cli_err(ctx, "cannot listen on %s: %s", want,
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
  if (exit_code == CLI_OK) {
    rv = cli_ctl_start(&sc.ctl, &loop, sock, sc.k);
    if (rv == GG_OK) cli_ctl_set_extra(sc.ctl, cli_market_exec, sc.m);
    if (rv == GG_EEXIST) {
      cli_err(ctx, "a node already runs in this home (%s answers)", sock);
      exit_code = CLI_CONFLICT;
    } else if (rv != GG_OK) { /* the node still runs; only `ggen p2p dht` cannot reach it */
      cli_err(ctx, "warning: no control socket at %s: %s", sock, gg_strerror(rv));
    }
  }
  free(sock);
  if (exit_code != CLI_OK) {
    ggn_market_close(sc.m, NULL, NULL);
    ggn_kad_close(sc.k, NULL, NULL);
    ggn_gossip_close(sc.gs, NULL, NULL);
    ggn_host_close(sc.h, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    close_stores(&sc);
    return exit_code;
  }
  sc.boot_start = uv_hrtime();
  if (nboot > 0) {
    rv = ggn_kad_bootstrap(sc.k, baddrs, (size_t)nboot, on_bootstrapped, &sc);
    if (rv != GG_OK) {
      ggp_kad_result res = {.type = GGP_KAD_Q_BOOTSTRAP, .err = rv};
      on_bootstrapped(sc.k, &res, &sc);
    }
  } else {
    print_ready(&sc, " (no bootstrap peers: others join through this node)");
    reprovide(&sc);
  }
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&loop, &sc.sig[i]);
    sc.sig[i].data = &sc;
    uv_signal_start(&sc.sig[i], on_signal, i == 0 ? SIGINT : SIGTERM);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  cli_dht_forget(); /* control requests still running when the node stopped */
  cli_market_forget();
  close_stores(&sc);
  if (uv_loop_close(&loop) != 0) exit_code = CLI_FAIL;
  if (ctx->json) printf("{\"event\":\"stopped\"}\n");
  return exit_code;
}
