/*
 * ggen p2p pubsub sub|pub: Gossipsub from the command line (include/ggen/gossip_service.h).
 *
 * Both run a node of their own for the duration of the command: this home's identity (so a
 * publication's author is this home's peer id), or a fresh one when a node started with
 * `ggen p2p start` already runs in this home (two nodes with one peer id would confuse their
 * peers); joined by dialing the --bootstrap peers ($GGEN_P2P_BOOTSTRAP). Gossipsub forwards
 * only within topics a node subscribes to, so peers in between must subscribe too (`ggen p2p
 * start --sub TOPIC`).
 *
 *   sub: subscribes and prints one line per message until SIGINT/SIGTERM (exit 0);
 *   pub: waits until at least one connected peer is subscribed to the topic (or --timeout),
 *        publishes, lets the message leave, and reports to how many peers it was sent.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/gossip_service.h"
#include "ggen/home.h"
#include "ggen/host.h"
#include "ggen/rand.h"
#include "p2p_dht.h"

#define MAX_BOOT 32
#define LINGER_MS 300 /* after publishing, before closing: the RPC leaves on the next writes */

static const char group_help[] =
    "usage: ggen p2p pubsub <command> [options]\n"
    "\n"
    "Gossipsub (/meshsub/1.2.0, 1.1.0, 1.0.0) from the command line. Each command runs a node\n"
    "of its own, joined by dialing --bootstrap peers (default: $GGEN_P2P_BOOTSTRAP); nodes in\n"
    "between forward a topic only when they subscribe to it (ggen p2p start --sub TOPIC).\n";

static const char sub_help[] =
    "usage: ggen p2p pubsub sub TOPIC [--bootstrap MULTIADDR...] [--listen MULTIADDR...]\n"
    "                              [--json] [-v]\n"
    "\n"
    "Subscribes to TOPIC and prints each message as one line until SIGINT or SIGTERM:\n"
    "  message TOPIC FROM DATA        (DATA with \\n, \\\\ and non-printable bytes escaped)\n"
    "  {\"event\":\"message\",\"topic\":...,\"from\":...,\"seqno\":...,\"id\":HEX,\"data\":...}\n"
    "with --json (\"data_hex\" instead of \"data\" when DATA is not printable text).\n"
    "\n"
    "  -b, --bootstrap MULTIADDR  peers to dial, /.../tcp/PORT[/p2p/ID]; repeatable\n"
    "  -l, --listen MULTIADDR     also accept connections there (port 0: any free port)\n"
    "  --json                     JSON lines\n"
    "  -v                         log connections to stderr\n"
    "\n"
    "Exit status: 0 after a signal, 2 bad arguments, 4 no bootstrap peer could be reached\n"
    "(and nothing to listen on).\n";

static const char pub_help[] =
    "usage: ggen p2p pubsub pub TOPIC MESSAGE [--bootstrap MULTIADDR...] [--timeout S]\n"
    "                              [--json] [-v]\n"
    "\n"
    "Dials the bootstrap peers, waits until at least one of them is subscribed to TOPIC (at\n"
    "most --timeout seconds), publishes MESSAGE (signed by this home's key) and prints\n"
    "  published to N peers (id HEX)\n"
    "or {\"event\":\"published\",\"topic\":...,\"recipients\":N,\"id\":HEX} with --json.\n"
    "\n"
    "  -b, --bootstrap MULTIADDR  peers to dial; repeatable\n"
    "  -t, --timeout S            wait at most S seconds for a subscribed peer (default 10)\n"
    "  --json                     JSON output\n"
    "  -v                         log connections to stderr\n"
    "\n"
    "Exit status: 0 sent to at least one peer, 2 bad arguments, 4 no bootstrap peer reachable\n"
    "or no peer subscribed before the timeout (published to 0 peers), 130 interrupted.\n";

/* ---- printing ------------------------------------------------------------------------------ */

static int printable(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') return 0;
  return 1;
}

void cli_pubsub_print(const cli_ctx *ctx, const ggp_gossip_msg *m) {
  char from[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(&m->from, from, sizeof(from));
  if (ctx->json) {
    char *id = cli_hex(m->msgid, m->msgid_len);
    printf("{\"event\":\"message\",\"topic\":");
    cli_json_str(stdout, m->topic);
    printf(",\"from\":\"%s\",\"seqno\":%llu,\"id\":\"%s\",", from, (unsigned long long)m->seqno,
           id ? id : "");
    free(id);
    char *text = malloc(m->len + 1);
    if (text && printable(m->data, m->len) && !memchr(m->data, 0, m->len)) {
      memcpy(text, m->data, m->len);
      text[m->len] = 0;
      printf("\"data\":");
      cli_json_str(stdout, text);
    } else {
      char *hex = cli_hex(m->data, m->len);
      printf("\"data_hex\":\"%s\"", hex ? hex : "");
      free(hex);
    }
    free(text);
    printf("}\n");
  } else {
    printf("message %s %s ", m->topic, from);
    for (size_t i = 0; i < m->len; i++) {
      uint8_t c = m->data[i];
      if (c == '\n')
        fputs("\\n", stdout);
      else if (c == '\\')
        fputs("\\\\", stdout);
      else if (c < 0x20 || c == 0x7f)
        printf("\\x%02x", c);
      else
        putchar(c);
    }
    putchar('\n');
  }
  fflush(stdout);
}

/* ---- the node ------------------------------------------------------------------------------ */

typedef struct ps {
  cli_ctx *ctx;
  uv_loop_t loop;
  ggn_host *h;
  ggn_gossip *gs;
  uv_signal_t sig[2];
  uv_timer_t timer;
  const char *topic;
  const uint8_t *data;
  size_t len;
  int dials, dial_ok, dial_fail;
  int listening;
  int pub; /* 1: pub, 0: sub */
  int published;
  gg_ts deadline; /* pub: give up waiting for subscribers then */
  int done, exit_code;
} ps;

static void finish(ps *p, int code) {
  if (p->done) return;
  p->done = 1;
  p->exit_code = code;
  uv_close((uv_handle_t *)&p->sig[0], NULL);
  uv_close((uv_handle_t *)&p->sig[1], NULL);
  uv_close((uv_handle_t *)&p->timer, NULL);
  ggn_gossip_close(p->gs, NULL, NULL);
  ggn_host_close(p->h, NULL, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  ps *p = s->data;
  /* a subscriber runs until it is stopped: that is its normal end */
  finish(p, p->pub ? CLI_INTERRUPTED : CLI_OK);
}

static void on_msg(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  ps *p = ud;
  cli_pubsub_print(p->ctx, m);
}

static void linger_done(uv_timer_t *t) {
  ps *p = t->data;
  finish(p, p->exit_code);
}

static void do_publish(ps *p) {
  size_t rec = 0, idlen = 0;
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  int rv = ggn_gossip_publish(p->gs, p->topic, p->data, p->len, &rec, id, &idlen);
  p->published = 1;
  if (rv != GG_OK) {
    cli_err(p->ctx, "cannot publish: %s", gg_strerror(rv));
    finish(p, rv == GG_ETOOBIG || rv == GG_EINVAL ? CLI_USAGE : CLI_FAIL);
    return;
  }
  char *hex = cli_hex(id, idlen);
  if (p->ctx->json) {
    printf("{\"event\":\"published\",\"topic\":");
    cli_json_str(stdout, p->topic);
    printf(",\"recipients\":%zu,\"id\":\"%s\"}\n", rec, hex ? hex : "");
  } else {
    printf("published to %zu peer%s (id %s)\n", rec, rec == 1 ? "" : "s", hex ? hex : "");
  }
  fflush(stdout);
  free(hex);
  if (rec == 0) cli_err(p->ctx, "no peer subscribed to %s: the message went nowhere", p->topic);
  p->exit_code = rec ? CLI_OK : CLI_NETWORK;
  uv_timer_start(&p->timer, linger_done, LINGER_MS, 0);
}

/* pub: polls for a subscribed peer until the deadline. */
static void pub_tick(uv_timer_t *t) {
  ps *p = t->data;
  if (p->done || p->published) return;
  size_t n = ggp_gossip_topic_peers(ggn_gossip_router(p->gs), p->topic);
  if (n > 0 || uv_hrtime() >= p->deadline || (p->dials > 0 && p->dial_fail == p->dials)) {
    if (p->dials > 0 && p->dial_fail == p->dials) {
      cli_err(p->ctx, "no bootstrap peer could be reached");
      finish(p, CLI_NETWORK);
      return;
    }
    do_publish(p);
    return;
  }
  uv_timer_start(&p->timer, pub_tick, 50, 0);
}

static void on_dialed(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  ps *p = ud;
  if (err == GG_OK) {
    p->dial_ok++;
    if (p->ctx->verbose) {
      char id[GG_PEERID_TEXT_MAX];
      gg_peerid_to_b58(ggn_conn_peer(c), id, sizeof(id));
      fprintf(stderr, "connected to %s\n", id);
    }
    return;
  }
  p->dial_fail++;
  cli_err(p->ctx, "bootstrap peer unreachable: %s", gg_strerror(err));
  if (!p->pub && p->dial_fail == p->dials && !p->listening && !p->done) {
    cli_err(p->ctx, "no bootstrap peer could be reached and nothing listens here");
    finish(p, CLI_NETWORK);
  }
}

/* Options shared by sub and pub. */
typedef struct ps_opts {
  const char *boot[MAX_BOOT], *listen[8];
  int nboot, nlisten;
  long timeout_s;
  char *envbuf;
  char **xargv;
} ps_opts;

/* Parses argv; positional arguments stay in argv[optind..]. -1 to go on, else an exit code. */
static int parse(cli_ctx *ctx, int *argc, char ***argv, const char *help, int pub, ps_opts *o) {
  static const struct option opts[] = {{"bootstrap", 1, NULL, 'b'},
                                       {"listen", 1, NULL, 'l'},
                                       {"timeout", 1, NULL, 't'},
                                       CLI_COMMON_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  o->timeout_s = 10;
  o->xargv = cli_p2p_expand(*argc, *argv, "--bootstrap", 'b', argc);
  if (!o->xargv) return CLI_FAIL;
  *argv = o->xargv;
  optind = 1;
  int c;
  /* getopt permutes: options may follow TOPIC and MESSAGE; a MESSAGE starting with '-' needs
   * "--" before it */
  while ((c = getopt_long(*argc, *argv, pub ? "b:t:vh" : "b:l:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    char *end = NULL;
    switch (c) {
    case 'h': fputs(help, stdout); return CLI_OK;
    case 'b':
      if (o->nboot == MAX_BOOT) {
        cli_err(ctx, "at most %d --bootstrap addresses", MAX_BOOT);
        return CLI_USAGE;
      }
      o->boot[o->nboot++] = optarg;
      break;
    case 'l':
      if (pub || o->nlisten == 8) {
        fputs(help, stderr);
        return CLI_USAGE;
      }
      o->listen[o->nlisten++] = optarg;
      break;
    case 't':
      o->timeout_s = strtol(optarg, &end, 10);
      if (!pub || !end || *end || o->timeout_s < 0 || o->timeout_s > 3600) {
        cli_err(ctx, "bad --timeout: %s", optarg);
        return CLI_USAGE;
      }
      break;
    default: fputs(help, stderr); return CLI_USAGE;
    }
  }
  if (o->nboot == 0)
    o->nboot = (int)cli_p2p_env_addrs("GGEN_P2P_BOOTSTRAP", &o->envbuf, o->boot, MAX_BOOT);
  return -1;
}

static int run(cli_ctx *ctx, ps_opts *o, const char *topic, const char *msg, int pub) {
  size_t tlen = strlen(topic);
  if (!tlen || tlen > GGP_GOSSIP_TOPIC_MAX) {
    cli_err(ctx, "a topic has 1 to %d bytes", GGP_GOSSIP_TOPIC_MAX);
    return CLI_USAGE;
  }
  gg_maddr baddrs[MAX_BOOT], laddrs[8];
  for (int i = 0; i < o->nboot; i++) {
    gg_maddr_dial d;
    if (gg_maddr_parse(&baddrs[i], o->boot[i], strlen(o->boot[i])) != GG_OK ||
        gg_maddr_dial_info(&baddrs[i], &d) != GG_OK || d.transport != GG_MA_TCP) {
      cli_err(ctx, "not a TCP multiaddr: %s", o->boot[i]);
      return CLI_USAGE;
    }
  }
  for (int i = 0; i < o->nlisten; i++) {
    if (gg_maddr_parse(&laddrs[i], o->listen[i], strlen(o->listen[i])) != GG_OK) {
      cli_err(ctx, "not a multiaddr: %s", o->listen[i]);
      return CLI_USAGE;
    }
  }
  if (o->nboot == 0 && o->nlisten == 0) {
    cli_err(ctx, "give --bootstrap MULTIADDR (or $GGEN_P2P_BOOTSTRAP)%s",
            pub ? "" : " or --listen MULTIADDR");
    return CLI_USAGE;
  }
  char *home = cli_home(ctx);
  if (!home) return CLI_FAIL;
  gg_keypair kp;
  int rv = GG_OK;
  char *sock = gg_home_path(home, CLI_CTL_SOCKET);
  if (sock && cli_ctl_alive(sock)) {
    /* the home's node is running: do not appear twice with one peer id */
    gg_keypair_generate(&kp, gg_rand_system());
    if (ctx->verbose || pub)
      cli_err(ctx, "a node runs in this home: using a fresh identity for this command");
  } else {
    rv = cli_p2p_load_identity(ctx, home, &kp);
  }
  free(sock);
  free(home);
  if (rv != GG_OK) return cli_exit_for(rv);

  ps p = {.ctx = ctx, .topic = topic, .pub = pub};
  if (msg) {
    p.data = (const uint8_t *)msg;
    p.len = strlen(msg);
  }
  uv_loop_init(&p.loop);
  ggn_log lg;
  ggn_log_init(&lg, cli_p2p_log_level(ctx), NULL);
  ggn_host_settings st = {.identity = &kp, .log = &lg};
  rv = ggn_host_new(&p.h, &p.loop, &st, NULL, NULL);
  if (rv == GG_OK) {
    rv = ggn_gossip_new(&p.gs, p.h, NULL);
    if (rv != GG_OK) ggn_host_close(p.h, NULL, NULL);
  }
  if (rv == GG_OK && !pub) {
    rv = ggn_gossip_subscribe(p.gs, topic, on_msg, &p);
    if (rv != GG_OK) {
      ggn_gossip_close(p.gs, NULL, NULL);
      ggn_host_close(p.h, NULL, NULL);
    }
  }
  if (rv != GG_OK) {
    cli_err(ctx, "cannot start the node: %s", gg_strerror(rv));
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    return cli_exit_for(rv);
  }
  uv_timer_init(&p.loop, &p.timer);
  p.timer.data = &p;
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&p.loop, &p.sig[i]);
    p.sig[i].data = &p;
    uv_signal_start(&p.sig[i], on_signal, i == 0 ? SIGINT : SIGTERM);
  }
  char id[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(p.h), id, sizeof(id));
  for (int i = 0; i < o->nlisten && !p.done; i++) {
    rv = ggn_host_listen(p.h, &laddrs[i]);
    if (rv != GG_OK) {
      cli_err(ctx, "cannot listen on %s: %s", o->listen[i],
              rv == GG_EEXIST ? "address in use" : gg_strerror(rv));
      finish(&p, rv == GG_EUNSUPPORTED ? CLI_USAGE : CLI_FAIL);
      break;
    }
    p.listening = 1;
    gg_maddr bound[8];
    size_t nb = ggn_host_listen_addrs(p.h, bound, 8);
    char text[GG_MADDR_STR_MAX];
    gg_maddr_to_str(&bound[nb - 1], text, sizeof(text));
    if (ctx->json)
      printf("{\"event\":\"listening\",\"addr\":\"%s/p2p/%s\"}\n", text, id);
    else
      printf("listening %s/p2p/%s\n", text, id);
    fflush(stdout);
  }
  for (int i = 0; i < o->nboot && !p.done; i++) {
    p.dials++;
    if (ggn_host_dial(p.h, &baddrs[i], on_dialed, &p) != GG_OK) {
      p.dials--;
      cli_err(ctx, "cannot dial %s", o->boot[i]);
    }
  }
  if (!p.done && !pub && ctx->json) {
    printf("{\"event\":\"subscribed\",\"topic\":");
    cli_json_str(stdout, topic);
    printf(",\"peer_id\":\"%s\"}\n", id);
    fflush(stdout);
  }
  if (!p.done && pub) {
    p.deadline = uv_hrtime() + GG_SEC((uint64_t)o->timeout_s);
    uv_timer_start(&p.timer, pub_tick, 50, 0);
  }
  uv_run(&p.loop, UV_RUN_DEFAULT);
  int code = p.exit_code;
  if (uv_loop_close(&p.loop) != 0) code = CLI_FAIL;
  return code;
}

static int cmd_sub(cli_ctx *ctx, int argc, char **argv) {
  ps_opts o = {0};
  int rc = parse(ctx, &argc, &argv, sub_help, 0, &o);
  if (rc < 0) {
    if (optind != argc - 1) {
      cli_err(ctx, optind == argc ? "missing TOPIC" : "unexpected argument '%s'", argv[argc - 1]);
      rc = CLI_USAGE;
    } else {
      rc = run(ctx, &o, argv[optind], NULL, 0);
    }
  }
  free(o.envbuf);
  free(o.xargv);
  return rc;
}

static int cmd_pub(cli_ctx *ctx, int argc, char **argv) {
  ps_opts o = {0};
  int rc = parse(ctx, &argc, &argv, pub_help, 1, &o);
  if (rc < 0) {
    if (argc - optind != 2) {
      cli_err(ctx, argc - optind < 2 ? "give TOPIC and MESSAGE" : "unexpected argument '%s'",
              argv[argc - 1]);
      rc = CLI_USAGE;
    } else {
      rc = run(ctx, &o, argv[optind], argv[optind + 1], 1);
    }
  }
  free(o.envbuf);
  free(o.xargv);
  return rc;
}

static const cli_cmd cmds[] = {
    {"sub", cmd_sub, "subscribe to a topic and print its messages"},
    {"pub", cmd_pub, "publish a message on a topic"},
    {NULL, NULL, NULL},
};

int cli_p2p_pubsub(cli_ctx *ctx, int argc, char **argv) {
  return cli_dispatch(ctx, "ggen p2p pubsub", group_help, cmds, argc - 1, argv + 1);
}
