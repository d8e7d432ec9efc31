/*
 * Internals of the harness worker (src/net/harness*.c), shared by the command files: the
 * worker, its nodes, one pending command, and the reply helpers. Service-specific commands
 * (Kademlia, later Gossipsub) live in their own harness_<service>.c and are listed in the
 * command table of harness.c.
 *
 * Invariant: every command read gets exactly one reply (hw_reply_ok / hw_reply_err free the
 * hw_op), and a node is freed only once its host has closed, so a callback that arrives for a
 * stopping node still finds it.
 */
#ifndef GGEN_HARNESS_INT_H
#define GGEN_HARNESS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/gossip_service.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "ggen/key.h"
#include "ggen/log.h"
#include "ggen/multiaddr.h"
#include "ggen/peerid.h"
#include "ggen/time.h"

#define HW_MAX_NODE_IDX 1000000u /* node indices are below this */
#define HW_MAX_ARGS 64           /* tokens per command line */

typedef struct hw hw;

/* Settings applied to nodes started after a "set" (docs/harness.md lists the keys). */
typedef struct hw_settings {
  uint64_t seed;       /* node keys derive from (seed, idx) */
  ggn_latency latency; /* injected delay on every connection of the node */
  uint32_t max_conns, high_water, low_water;
  gg_ts trim_grace, dial_timeout;
  int log_level;
  int eager_select; /* ggn_host_settings.eager_select */
  /* Kademlia (src/net/harness_kad.c) */
  int kad; /* 1: nodes run the kad service */
  int kad_client, kad_no_protect, kad_no_ahead, kad_redial, kad_no_warm;
  size_t kad_k, kad_alpha, kad_prepare_ahead, kad_bootstrap_alpha; /* 0: the core's defaults */
  gg_ts kad_req_timeout;
  char kad_proto[64]; /* "": the default protocol id */
  /* Gossipsub (src/net/harness_gossip.c) */
  int gossip;          /* 1: nodes run the gossip service */
  gg_ts gossip_hb;     /* heartbeat (0: the router's default, 1 s) */
  unsigned gossip_d;   /* D (0: the default, 6); D_lo and D_hi follow */
  int gossip_no_flood; /* 1: no flood publishing */
} hw_settings;

typedef struct hw_node {
  hw *w;
  unsigned idx;
  ggn_host *h;
  gg_keypair key;
  int closing;                /* ggn_host_close was called; freed in its on_closed */
  int closes;                 /* close callbacks still to come (host, services) */
  ggn_kad *kad;               /* NULL unless started with kad=1 */
  struct hw_kop *kops;        /* kad operations in flight */
  ggn_gossip *gossip;         /* NULL unless started with gossip=1 */
  struct hw_gnode *gossip_rx; /* its deliveries */
} hw_node;

/* One command being executed: its tag and start time. */
typedef struct hw_op {
  hw *w;
  hw_node *n; /* the node addressed (NULL for process-wide commands) */
  gg_ts t0;
  char tag[40];
} hw_op;

/* A command handler: argv[0] is the command name; n is the node of argv[1] when the table
 * entry says the command addresses a node. It must reply to op (now or later). */
typedef void (*hw_cmd_fn)(hw_op *op, int argc, char **argv);

/* A command table entry (git's {name, fn, flags} shape). node: argv[1] names a live node. */
typedef struct hw_cmd {
  const char *name;
  hw_cmd_fn fn;
  int node;
} hw_cmd;

/* ---- Kademlia (harness_kad.c) ---- */
/* Parses a kad_* setting; GG_ENOTFOUND when k is not one, GG_EINVAL for a bad value. */
int hw_kad_set(hw_settings *st, const char *k, const char *v);
/* Starts the kad service on a new node when st->kad (before it listens). GG_OK or its error. */
int hw_kad_attach(hw_node *n, const hw_settings *st);
/* Answers the node's pending kad operations (GG_ECANCELED) and closes its service;
 * on_closed(n) follows from the loop. */
void hw_kad_close(hw_node *n, void (*on_closed)(void *ud));
/* The kad commands, terminated by a NULL name. */
extern const hw_cmd hw_kad_cmds[];

/* ---- Gossipsub (harness_gossip.c) ---- */
/* Parses a gossip* setting; GG_ENOTFOUND when k is not one, GG_EINVAL for a bad value. */
int hw_gossip_set(hw_settings *st, const char *k, const char *v);
/* Starts the gossip service on a new node when st->gossip (before it listens). */
int hw_gossip_attach(hw_node *n, const hw_settings *st);
/* Closes the node's gossip service; on_closed(n) follows from the loop. */
void hw_gossip_close(hw_node *n, void (*on_closed)(void *ud));
/* The gossip commands, terminated by a NULL name. */
extern const hw_cmd hw_gossip_cmds[];

/* Replies "TAG ok <fields>" (fields printf-formatted, may be empty) and frees op. */
void hw_reply_ok(hw_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replies "TAG err GG_E... <text>" and frees op. */
void hw_reply_err(hw_op *op, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The worker's settings for new nodes and its random source. */
const hw_settings *hw_settings_get(const hw *w);
uv_loop_t *hw_loop(const hw *w);

/* Parses "PEER MADDR" arguments: a base58 peer id and a transport multiaddr. GG_EINVAL. */
int hw_parse_peer_addr(const char *peer, const char *addr, gg_peerid *id, gg_maddr *ma);

#endif
