/*
 * The Kademlia DHT service on a libp2p host (src/net/kad_service.c, docs/kad-service.md): the
 * glue between the I/O-free core (include/ggen/kad.h) and the host (include/ggen/host.h).
 *
 * What it does:
 *  - serves the kad protocol (default "/ggen/kad/1.0.0"; "/ipfs/kad/1.0.0" for the public
 *    libp2p DHT) unless in client mode: an inbound stream carries varint-length-prefixed
 *    requests in a loop (at most max_message_size each, 10 s idle timeout as js), each answered
 *    by ggp_kad_handle_request; any refusal resets the stream;
 *  - sends the core's requests: one stream per request (dialing the peer's addresses when it is
 *    not connected), one reply read (none for ADD_PROVIDER), the stream reset when the core
 *    gives up on it;
 *  - feeds the routing table: a peer whose identify answer lists our kad protocol becomes
 *    ggp_kad_peer_seen with its listen addresses; liveness checks use libp2p ping;
 *  - mirrors records and provider records into SQLite (include/ggen/kadstore.h) and reloads
 *    them at start;
 *  - drives the core's timers with one uv timer; the core's clock is epoch nanoseconds
 *    (uv_hrtime plus an offset taken once at creation);
 *  - keeps connections to routing-table peers out of the connection manager's trimming.
 *
 * Validators: /pk is built into the core; /ggen-pkg/ (signed release records,
 * include/ggen/pkgrec.h) is registered here; more with ggn_kad_add_validator.
 *
 * Threading and lifetime: the service lives on its host's loop. Create it before the host
 * listens or dials (identify announces the protocols registered at connection time), close it
 * with ggn_kad_close before ggn_host_close (both may run in the same loop iteration).
 * Callbacks are never called from inside the ggn_kad_* call that started them.
 */
#ifndef GGEN_KAD_SERVICE_H
#define GGEN_KAD_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/host.h"
#include "ggen/kad.h"
#include "ggen/multiaddr.h"

typedef struct ggn_kad ggn_kad;

typedef struct ggn_kad_settings {
  const char *protocol; /* NULL: GGP_KAD_PROTOCOL ("/ggen/kad/1.0.0"); copied */
  int client_mode;      /* 1: query only; the protocol is neither served nor announced */
  ggp_kad_settings kad; /* the core's settings; kad.k == 0: all defaults
                           (ggp_kad_settings_default). client_mode above wins */
  const ggp_kad_validator *validators; /* namespaces besides /pk and /ggen-pkg (copied) */
  size_t nvalidators;
  const char *db_path;          /* SQLite mirror of records and providers, e.g. <home>/dht.db
                                   (opened or created, loaded at start, after the validators
                                   are registered: stored records of a namespace without a
                                   validator are dropped); NULL: memory only */
  gg_ts idle_timeout;           /* inbound stream without a request for this long is reset
                                   (0: 10 s, as js) */
  uint32_t max_inbound_streams; /* open inbound kad streams, all peers (0: 1024); more are reset */
  int no_protect;               /* 1: leave routing-table peers' connections to trimming (and
                                   do not redial them: see redial_interval) */
  int no_warm_first;            /* 1: a lookup's free request slot always goes to the closest
                                   waiting candidate, connected or not (peer_connected in
                                   include/ggen/kad.h) */
  gg_ts redial_interval;        /* > 0: a routing-table peer that closes our connection (e.g.
                                   it trimmed it: it does not hold us in its table) is dialed
                                   again at once, at most once per this interval. 0 (the
                                   default): never; in a 1000-node benchmark whose nodes were
                                   short of connections it caused churn and slower lookups
                                   (docs/kad-service.md) */
  int no_connect_ahead;         /* 1: do not connect to a lookup's next candidates while
                                   the requests in flight are answered (prepare_peer) */
} ggn_kad_settings;

/* A finished query. res and everything it points to are valid during the call only. */
typedef void (*ggn_kad_done_cb)(ggn_kad *k, const ggp_kad_result *res, void *ud);

/*
 * Creates the service on h: registers the kad protocol handler (unless client_mode), observes
 * identify results, opens and loads the store. st may be NULL (defaults).
 * Returns GG_OK; GG_ENOMEM; GG_EINVAL (bad protocol name, bad core settings); GG_ESTORAGE
 * (the database cannot be opened); GG_ELIMIT (the host has no observer slot or protocol slot
 * left). On failure nothing is registered and *out is untouched.
 */
int ggn_kad_new(ggn_kad **out, ggn_host *h, const ggn_kad_settings *st);

/*
 * Stops the service: unregisters the handler and the observer, resets its streams, forgets
 * its queries (their callbacks are not called) and frees everything once the host has
 * reported back on every stream, dial and ping it started; on_closed (may be NULL) is called
 * then, from the loop. Call it before ggn_host_close. May be called from inside a
 * ggn_kad_done_cb. No ggn_kad_* call is allowed afterwards.
 */
void ggn_kad_close(ggn_kad *k, void (*on_closed)(void *ud), void *ud);

/* Registers a record namespace validator later (copied; see ggp_kad_add_validator). Stored
 * records were loaded at creation: give persistent namespaces in the settings instead.
 * GG_OK, GG_EINVAL, GG_ENOMEM, GG_ESTATE (closing). */
int ggn_kad_add_validator(ggn_kad *k, const ggp_kad_validator *v);

/*
 * Joins the network: dials each of peers (/ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/p2p/ID]; without
 * /p2p the dialed peer's proven id is used), adds every peer that answered to the routing table,
 * then runs the core's bootstrap (self-lookup and bucket refresh). cb gets the bootstrap query's
 * result (res->npeers: peers found by the self-lookup); res->err is GG_EUNREACHABLE when no
 * peer could be dialed and the routing table stayed empty. n may be 0 (refresh from the
 * current routing table). GG_OK (cb follows); without a callback: GG_EUNREACHABLE (no dial
 * could even start, e.g. no TCP address, and the routing table is empty), GG_ESTATE
 * (closing), GG_ENOMEM.
 */
int ggn_kad_bootstrap(ggn_kad *k, const gg_maddr *peers, size_t n, ggn_kad_done_cb cb, void *ud);

/*
 * As ggn_kad_bootstrap without the lookups: dials peers (n >= 1) and adds those that answered
 * to the routing table; cb reports res->err GG_OK (at least one peer, or the table was not
 * empty) or GG_EUNREACHABLE. For a short-lived node that runs one query: the query's own lookup
 * finds the rest. Returns as ggn_kad_bootstrap (GG_EINVAL for n == 0).
 */
int ggn_kad_connect(ggn_kad *k, const gg_maddr *peers, size_t n, ggn_kad_done_cb cb, void *ud);

/*
 * Queries. Each returns GG_OK and calls cb once from the loop, or returns an error without
 * calling it: GG_EINVAL (bad key), the validator's code (put), GG_ELIMIT (too many queries),
 * GG_ESTATE (closing), GG_ENOMEM. Result fields: see ggp_kad_result.
 *  put: stores locally as published (republished while the service runs) and at the k closest;
 *  get: the best value (quorum 0 = the core's setting);
 *  provide: announces this node as a provider of mh (a multihash, e.g. a CID's);
 *  find_providers: up to max providers (0 = k) of mh;
 *  find_peer: a peer's addresses (res->peers[0]); find_node: the k closest peers to key.
 */
int ggn_kad_put(ggn_kad *k, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                ggn_kad_done_cb cb, void *ud);
int ggn_kad_get(ggn_kad *k, const uint8_t *key, size_t klen, size_t quorum, ggn_kad_done_cb cb,
                void *ud);
int ggn_kad_provide(ggn_kad *k, const uint8_t *mh, size_t mhlen, ggn_kad_done_cb cb, void *ud);
int ggn_kad_find_providers(ggn_kad *k, const uint8_t *mh, size_t mhlen, size_t max,
                           ggn_kad_done_cb cb, void *ud);
int ggn_kad_find_peer(ggn_kad *k, const gg_peerid *peer, ggn_kad_done_cb cb, void *ud);
int ggn_kad_find_node(ggn_kad *k, const uint8_t *key, size_t klen, ggn_kad_done_cb cb, void *ud);

/* The core, for read-only introspection (ggp_kad_get_stats, ggp_kad_foreach_peer,
 * ggp_kad_get_local). Calling a core function that changes state bypasses the service's
 * timer: use the ggn_kad_* functions for that. */
const ggp_kad *ggn_kad_core(const ggn_kad *k);

/* The core's current time (epoch ns), as passed to the core. */
gg_ts ggn_kad_now(const ggn_kad *k);

/* The protocol id served / used. */
const char *ggn_kad_protocol(const ggn_kad *k);

/* Routing-table size (ggp_kad_get_stats().routing_peers). */
size_t ggn_kad_routing_size(const ggn_kad *k);

/* Requests this node's queries sent, and how many of them found no open connection to the peer
 * (they paid a connection setup: TCP + Noise, 4 one-way delays more than a round trip), of
 * those to routing-table peers. Monotonic since the service started. */
typedef struct ggn_kad_counters {
  uint64_t requests, cold, cold_rt, ahead;
  uint64_t redials; /* routing-table peers dialed again after they closed the connection */
} ggn_kad_counters;
void ggn_kad_get_counters(const ggn_kad *k, ggn_kad_counters *out);

/* Routing-table peers this node has an upgraded connection to (walks the table). */
size_t ggn_kad_routing_connected(const ggn_kad *k);

#endif
