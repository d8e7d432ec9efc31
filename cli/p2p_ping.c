/*
 * ggen p2p ping: dials a peer with this home's identity, waits for its identify answer,
 * pings it N times over /ipfs/ping/1.0.0 and prints each round trip, the peer's agent
 * version and its protocols.
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
    "usage: ggen p2p ping MULTIADDR [--count N] [--interval MS] [--timeout S] [--json]\n"
    "\n"
    "Dials MULTIADDR (/ip4|ip6|dns4|dns6/HOST/tcp/PORT[/p2p/ID]) with this home's identity,\n"
    "runs identify, then sends N pings (/ipfs/ping/1.0.0), one every MS milliseconds, and\n"
    "prints each round trip, the remote agent version and its protocols.\n"
    "\n"
    "  -c, --count N      pings to send (default 3)\n"
    "  -i, --interval MS  time between pings (default 1000)\n"
    "  -t, --timeout S    dial + upgrade timeout in seconds (default 10)\n"
    "  --json             one JSON object per line: connected, identify, pong, summary\n"
    "\n"
    "Exit status: 0 when every ping was answered, 4 when the peer could not be reached or a\n"
    "ping failed, 2 on a bad address, 130 when interrupted.\n";

typedef struct ping_ctx {
  cli_ctx *ctx;
  uv_loop_t *loop;
  ggn_host *h;
  gg_peerid peer;
  uv_timer_t timer;
  uv_signal_t sig[2];
  int count, sent, ok, failed;
  uint64_t interval_ms;
  double min, max, sum;
  int identified, waiting_ident;
  int exit_code;
  int done;
} ping_ctx;

static void finish(ping_ctx *pc, int code) {
  if (pc->done) return;
  pc->done = 1;
  pc->exit_code = code;
  uv_close((uv_handle_t *)&pc->timer, NULL);
  uv_close((uv_handle_t *)&pc->sig[0], NULL);
  uv_close((uv_handle_t *)&pc->sig[1], NULL);
  ggn_host_close(pc->h, NULL, NULL);
}

static void print_summary(ping_ctx *pc) {
  double avg = pc->ok ? pc->sum / pc->ok : 0;
  if (pc->ctx->json) {
    printf("{\"event\":\"summary\",\"sent\":%d,\"ok\":%d,\"failed\":%d,\"min_ms\":%.3f,"
           "\"avg_ms\":%.3f,\"max_ms\":%.3f}\n",
           pc->sent, pc->ok, pc->failed, pc->ok ? pc->min : 0, avg, pc->ok ? pc->max : 0);
  } else {
    printf("%d pings, %d answered", pc->sent, pc->ok);
    if (pc->ok) printf(", rtt min/avg/max = %.3f/%.3f/%.3f ms", pc->min, avg, pc->max);
    printf("\n");
  }
  fflush(stdout);
}

static void send_ping(ping_ctx *pc);

static void on_timer(uv_timer_t *t) { send_ping(t->data); }

static void on_pong(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud) {
  (void)h;
  (void)peer;
  ping_ctx *pc = ud;
  if (pc->done) return;
  double ms = (double)rtt / 1e6;
  if (err == GG_OK) {
    pc->ok++;
    pc->sum += ms;
    if (pc->ok == 1 || ms < pc->min) pc->min = ms;
    if (ms > pc->max) pc->max = ms;
  } else {
    pc->failed++;
  }
  if (pc->ctx->json) {
    if (err == GG_OK) printf("{\"event\":\"pong\",\"seq\":%d,\"rtt_ms\":%.3f}\n", pc->sent, ms);
    else printf("{\"event\":\"pong\",\"seq\":%d,\"error\":\"%s\"}\n", pc->sent, gg_strerror(err));
  } else {
    if (err == GG_OK) printf("ping %d: rtt %.3f ms\n", pc->sent, ms);
    else printf("ping %d: %s\n", pc->sent, gg_strerror(err));
  }
  fflush(stdout);
  if (pc->sent >= pc->count) {
    print_summary(pc);
    finish(pc, pc->failed ? CLI_NETWORK : CLI_OK);
    return;
  }
  uv_timer_start(&pc->timer, on_timer, pc->interval_ms, 0);
}

static void send_ping(ping_ctx *pc) {
  if (pc->done) return;
  pc->sent++;
  int rv = ggn_host_ping(pc->h, &pc->peer, on_pong, pc);
  if (rv != GG_OK) {
    cli_err(pc->ctx, "ping: %s", gg_strerror(rv));
    finish(pc, CLI_FAIL);
  }
}

static void print_peer_info(ping_ctx *pc, const ggp_identify_msg *m) {
  const char *agent = m && m->agent_version ? m->agent_version : "";
  const char *pver = m && m->protocol_version ? m->protocol_version : "";
  if (pc->ctx->json) {
    printf("{\"event\":\"identify\",\"agent\":");
    cli_json_str(stdout, agent);
    printf(",\"protocol_version\":");
    cli_json_str(stdout, pver);
    printf(",\"protocols\":[");
    for (size_t i = 0; m && i < m->n_protocols; i++) {
      if (i) putchar(',');
      cli_json_str(stdout, m->protocols[i]);
    }
    printf("],\"listen_addrs\":[");
    for (size_t i = 0; m && i < m->n_listen_addrs; i++) {
      gg_maddr a;
      char text[GG_MADDR_STR_MAX];
      if (gg_maddr_from_bytes(&a, m->listen_addrs[i].b, m->listen_addrs[i].len) != GG_OK ||
          gg_maddr_to_str(&a, text, sizeof(text)) < 0)
        continue;
      if (i) putchar(',');
      cli_json_str(stdout, text);
    }
    printf("]}\n");
  } else if (m) {
    printf("agent: %s (protocol version %s)\n", agent, pver);
    printf("protocols:");
    for (size_t i = 0; i < m->n_protocols; i++) printf(" %s", m->protocols[i]);
    printf("\n");
  } else {
    printf("identify: no answer\n");
  }
  fflush(stdout);
}

static void on_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)h;
  ping_ctx *pc = ud;
  if (pc->identified || !gg_peerid_eq(ggn_conn_peer(c), &pc->peer)) return;
  pc->identified = 1;
  print_peer_info(pc, m);
  if (pc->waiting_ident) {
    pc->waiting_ident = 0;
    uv_timer_stop(&pc->timer);
    send_ping(pc);
  }
}

static void ident_timeout(uv_timer_t *t) {
  ping_ctx *pc = t->data;
  pc->waiting_ident = 0;
  print_peer_info(pc, NULL);
  send_ping(pc);
}

static void on_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  ping_ctx *pc = ud;
  if (pc->done || !gg_peerid_eq(ggn_conn_peer(c), &pc->peer) || err == GG_OK) return;
  /* pings in flight report their own failure; nothing more to wait for */
}

static void on_connected(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  ping_ctx *pc = ud;
  if (pc->done) return;
  if (err != GG_OK) {
    cli_err(pc->ctx, "cannot reach the peer: %s", gg_strerror(err));
    finish(pc, cli_exit_for(err));
    return;
  }
  pc->peer = *ggn_conn_peer(c);
  char id[GG_PEERID_TEXT_MAX], addr[GG_MADDR_STR_MAX] = "?";
  gg_peerid_to_b58(&pc->peer, id, sizeof(id));
  gg_maddr ra;
  if (ggn_conn_remote_addr(c, &ra) == GG_OK) gg_maddr_to_str(&ra, addr, sizeof(addr));
  if (pc->ctx->json) printf("{\"event\":\"connected\",\"peer_id\":\"%s\",\"addr\":\"%s\"}\n", id, addr);
  else printf("connected to %s at %s\n", id, addr);
  fflush(stdout);
  if (pc->identified) {
    send_ping(pc);
    return;
  }
  /* identify runs at once on every new connection: wait for it (js's limit is 5 s) */
  pc->waiting_ident = 1;
  uv_timer_start(&pc->timer, ident_timeout, 5000, 0);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  ping_ctx *pc = s->data;
  if (pc->sent) print_summary(pc);
  finish(pc, CLI_INTERRUPTED);
}

int cli_p2p_ping(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"count", 1, NULL, 'c'},
                                       {"interval", 1, NULL, 'i'},
                                       {"timeout", 1, NULL, 't'},
                                       CLI_COMMON_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  long count = 3, interval = 1000, timeout = 10;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:i:t:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    char *end = NULL;
    switch (c) {
    case 'h': fputs(help, stdout); return CLI_OK;
    case 'c': count = strtol(optarg, &end, 10); break;
    case 'i': interval = strtol(optarg, &end, 10); break;
    case 't': timeout = strtol(optarg, &end, 10); break;
    default: fputs(help, stderr); return CLI_USAGE;
    }
    if (!end || *end || (c == 'c' && (count < 1 || count > 1000000)) ||
        (c == 'i' && (interval < 0 || interval > 3600000)) ||
        (c == 't' && (timeout < 1 || timeout > 3600))) {
      cli_err(ctx, "bad value for -%c: %s", c, optarg);
      return CLI_USAGE;
    }
  }
  if (optind != argc - 1) {
    cli_err(ctx, optind == argc ? "missing MULTIADDR" : "unexpected argument '%s'",
            argv[argc - 1]);
    return CLI_USAGE;
  }
  const char *target = argv[optind];
  gg_maddr ma;
  gg_maddr_dial d;
  if (gg_maddr_parse(&ma, target, strlen(target)) != GG_OK || gg_maddr_dial_info(&ma, &d) != GG_OK ||
      d.transport != GG_MA_TCP) {
    cli_err(ctx, "not a TCP multiaddr: %s", target);
    return CLI_USAGE;
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
  st.dial_timeout = GG_SEC((uint64_t)timeout);
  ping_ctx pc = {.ctx = ctx, .loop = &loop, .count = (int)count, .interval_ms = (uint64_t)interval};
  static const ggn_host_callbacks hcb = {NULL, on_down, on_identify};
  rv = ggn_host_new(&pc.h, &loop, &st, &hcb, &pc);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot start the node: %s", gg_strerror(rv));
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return cli_exit_for(rv);
  }
  if (d.has_peer) pc.peer = d.peer;
  uv_timer_init(&loop, &pc.timer);
  pc.timer.data = &pc;
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&loop, &pc.sig[i]);
    pc.sig[i].data = &pc;
    uv_signal_start(&pc.sig[i], on_signal, i == 0 ? SIGINT : SIGTERM);
  }
  rv = ggn_host_dial(pc.h, &ma, on_connected, &pc);
  if (rv != GG_OK) {
    cli_err(ctx, "cannot dial %s: %s", target, gg_strerror(rv));
    finish(&pc, rv == GG_EINVAL ? CLI_USAGE : cli_exit_for(rv));
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return pc.exit_code;
}
