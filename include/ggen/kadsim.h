/*
 * A discrete-event simulator for the Kademlia core: N real ggp_kad cores exchange real
 * encoded messages over a virtual network with configurable one-way latency, jitter and a
 * connection-setup cost, on a virtual clock. No I/O and no wall clock: the same seed gives
 * the same run. Used by the core's tests (hundreds of nodes, churn, unresponsive peers) and
 * by bench/bench_kadsim.c (toward 100,000 nodes).
 *
 * Each node i has the address /ip4/10.a.b.c/tcp/4001 (a, b, c from i) and a peer id from a
 * seeded key. A request to node i is delivered after the link's one-way delay (plus the
 * setup cost the first time two nodes talk), handled by ggp_kad_handle_request, and its reply
 * travels back the same way. When a node receives a request it treats the sender as a
 * connected, identified kad server (ggp_kad_peer_seen), as the libuv glue does after identify.
 */
#ifndef GGEN_KADSIM_H
#define GGEN_KADSIM_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/kad.h"

typedef struct ggsim_kad ggsim_kad;

typedef struct ggsim_kad_settings {
  size_t nodes;
  uint64_t seed;
  gg_ts latency;   /* one-way delay per message; default 25 ms */
  gg_ts jitter;    /* uniform extra delay in [0, jitter); default 0 */
  gg_ts setup;     /* extra delay of the first message between two nodes (connection
                      setup: TCP + Noise + Yamux); default 0 */
  gg_ts join_gap;  /* virtual time between two nodes joining in ggsim_kad_build; default 10 ms */
  gg_ts settle;    /* virtual time ggsim_kad_build runs after the last join (0: none). Nodes
                      that joined early learn later neighbours only from their bucket
                      refreshes, so a full refresh interval gives steady-state tables. */
  ggp_kad_settings kad; /* settings for every core (ggp_kad_settings_default if zeroed k) */
} ggsim_kad_settings;

void ggsim_kad_settings_default(ggsim_kad_settings *s);

/* Creates the nodes (not yet connected). GG_ENOMEM, GG_EINVAL. */
int ggsim_kad_new(ggsim_kad **out, const ggsim_kad_settings *s);
void ggsim_kad_del(ggsim_kad *sim);

/* Joins every node: node 0 first, then each node learns node 0 and bootstraps, join_gap
 * apart; then runs until all bootstraps finished, then for `settle`. Returns GG_OK. */
int ggsim_kad_build(ggsim_kad *sim);

/* Joins one node that is currently out of the network: it learns a random online node and
 * bootstraps. Returns the bootstrap query id through *qid. */
int ggsim_kad_join(ggsim_kad *sim, size_t i, uint64_t *qid);

size_t ggsim_kad_count(const ggsim_kad *sim);
ggp_kad *ggsim_kad_node(ggsim_kad *sim, size_t i);
const gg_peerid *ggsim_kad_id(const ggsim_kad *sim, size_t i);
gg_ts ggsim_kad_now(const ggsim_kad *sim);

/* Online: answers. Offline: requests to it fail after one round trip (connection refused).
 * Unresponsive: requests to it are never answered (the requester times out). */
enum { GGSIM_ONLINE, GGSIM_OFFLINE, GGSIM_UNRESPONSIVE };
void ggsim_kad_set_state(ggsim_kad *sim, size_t i, int state);
int ggsim_kad_state(const ggsim_kad *sim, size_t i);

/* Runs events until virtual time t (or until no event is left). */
void ggsim_kad_run_until(ggsim_kad *sim, gg_ts t);

/* The result of a user query as the sim recorded it. */
typedef struct ggsim_kad_res {
  int done;
  int err;
  int type;
  gg_ts duration;
  unsigned rounds, requests, replies, failures;
  size_t npeers, nproviders, stored;
  uint8_t *val; /* owned by the sim */
  size_t vlen;
  gg_peerid first_peer; /* FIND_PEER: the peer found */
  gg_peerid *providers; /* owned by the sim */
} ggsim_kad_res;

/* Runs events until query qid of node i finished (or the virtual deadline passes);
 * returns its result (valid until the next call on the sim) or NULL on timeout. */
const ggsim_kad_res *ggsim_kad_wait(ggsim_kad *sim, size_t i, uint64_t qid, gg_ts deadline);

/* Total messages delivered so far (requests + replies). */
uint64_t ggsim_kad_messages(const ggsim_kad *sim);

#endif
