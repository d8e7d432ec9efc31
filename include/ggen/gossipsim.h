/*
 * A discrete-event simulator for the Gossipsub core: N real ggp_gossip routers exchange real
 * encoded RPCs over a virtual network with a one-way latency and jitter, on a virtual clock.
 * No I/O and no wall clock: the same seed gives the same run. Used by the core's tests (networks
 * of hundreds of nodes, lossy links, attackers) and by bench/bench_gossipsim.c.
 *
 * Each node has an Ed25519 key from its index and the IP 10.a.b.c; every node dials `dial`
 * random others (so the average node has about 2 * dial connections, as js and go nodes keep
 * D_hi..50). A connection adds each side to the other's router at once (the dialer's side is
 * outbound), as the libuv glue does when the pubsub stream is up. Messages on one directed link
 * arrive in order (a stream), each after latency + a uniform jitter.
 *
 * Measurements cover the messages published with ggsim_gossip_publish() since the last
 * ggsim_gossip_reset(): propagation delay from publication to each subscriber's delivery
 * (p50/p99/max), delivery ratio, copies received per node per message beyond the first
 * (duplicates), and bytes sent per node per message (RPC bytes plus the varint prefix; the
 * control traffic of the window is included).
 */
#ifndef GGEN_GOSSIPSIM_H
#define GGEN_GOSSIPSIM_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/gossipsub.h"

typedef struct ggsim_gossip ggsim_gossip;

typedef struct ggsim_gossip_settings {
  size_t nodes;
  uint64_t seed;
  gg_ts latency;              /* one-way delay; default 25 ms */
  gg_ts jitter;               /* uniform extra delay in [0, jitter); default 0 */
  size_t dial;                /* connections each node opens; default 10 */
  int version;                /* protocol of every link; default GGP_GOSSIP_V12 */
  const char *topic;          /* default GGP_GOSSIP_TOPIC_PACKAGES */
  ggp_gossip_settings gossip; /* every router's settings (defaults when d == 0) */
} ggsim_gossip_settings;

void ggsim_gossip_settings_default(ggsim_gossip_settings *s);

/* Creates the nodes (not connected). GG_ENOMEM, GG_EINVAL. */
int ggsim_gossip_new(ggsim_gossip **out, const ggsim_gossip_settings *s);
void ggsim_gossip_del(ggsim_gossip *sim);

/* Connects every node to `dial` random others, subscribes every running node to the topic and
 * runs warmup of virtual time (meshes form on the heartbeats). GG_ENOMEM. */
int ggsim_gossip_build(ggsim_gossip *sim, gg_ts warmup);

/* Connects a (dialer) and b. GG_EEXIST when connected already. */
int ggsim_gossip_connect(ggsim_gossip *sim, size_t a, size_t b);
/* Closes the connection of a and b (both routers remove each other). */
void ggsim_gossip_disconnect(ggsim_gossip *sim, size_t a, size_t b);

size_t ggsim_gossip_count(const ggsim_gossip *sim);
ggp_gossip *ggsim_gossip_node(ggsim_gossip *sim, size_t i);
const gg_peerid *ggsim_gossip_id(const ggsim_gossip *sim, size_t i);
const gg_keypair *ggsim_gossip_key(const ggsim_gossip *sim, size_t i);
gg_ts ggsim_gossip_now(const ggsim_gossip *sim);
/* Index of a node by peer id, or -1. */
long ggsim_gossip_index(const ggsim_gossip *sim, const gg_peerid *id);

/* Runs events until virtual time t. */
void ggsim_gossip_run_until(ggsim_gossip *sim, gg_ts t);

/* Node i publishes a message of size bytes (>= 8: the first 8 hold the message index) on the
 * topic. *index gets the message's index for the report. GG_EINVAL, GG_ENOMEM. */
int ggsim_gossip_publish(ggsim_gossip *sim, size_t i, size_t size, size_t *index);

/* A raw node has a router that is never fed nor timed: a test plays it by hand (an attacker):
 * RPCs to it go to the raw hook, and ggsim_gossip_inject() sends RPCs from it. Raw nodes are not
 * subscribed by ggsim_gossip_build() and do not count as subscribers. */
void ggsim_gossip_set_raw(ggsim_gossip *sim, size_t i, int raw);
void ggsim_gossip_set_raw_hook(ggsim_gossip *sim,
                               void (*fn)(void *arg, size_t from, size_t to, const uint8_t *rpc,
                                          size_t len),
                               void *arg);
/* Sends rpc from node `from` to node `to` (they must be connected), arriving after the link
 * delay. GG_ENOTFOUND when not connected, GG_ENOMEM. */
int ggsim_gossip_inject(ggsim_gossip *sim, size_t from, size_t to, const uint8_t *rpc, size_t len);

/* Every RPC in flight passes fn (when set): return 0 to drop it (lossy links, partitions). */
void ggsim_gossip_set_filter(ggsim_gossip *sim,
                             int (*fn)(void *arg, size_t from, size_t to, const uint8_t *rpc,
                                       size_t len),
                             void *arg);

typedef struct ggsim_gossip_report {
  size_t messages;     /* published in the window */
  size_t subscribers;  /* running subscribed nodes */
  double delivery;     /* deliveries / (messages * (subscribers other than the publisher)) */
  gg_ts p50, p99, max; /* propagation delay of the deliveries */
  double dup_avg;      /* copies beyond the first per subscriber per message */
  unsigned dup_max;    /* most copies beyond the first at one node for one message */
  double bytes_per_node_msg;
  uint64_t rpcs, bytes;
} ggsim_gossip_report;

/* Computes the measurements of the current window. */
void ggsim_gossip_report_get(ggsim_gossip *sim, ggsim_gossip_report *r);
/* Starts a new measurement window (forgets the published messages). */
void ggsim_gossip_reset(ggsim_gossip *sim);
/* Whether subscriber i delivered message index (1) or not (0). */
int ggsim_gossip_delivered(const ggsim_gossip *sim, size_t index, size_t i);

#endif
