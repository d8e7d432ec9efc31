/*
 * The Gossipsub service on a libp2p host (src/net/gossip_service.c, docs/gossip-service.md):
 * the glue between the I/O-free router (include/ggen/gossipsub.h) and the host
 * (include/ggen/host.h).
 *
 * What it does:
 *  - serves "/meshsub/1.2.0", "/meshsub/1.1.0" and "/meshsub/1.0.0" (ggp_gossip_protocols);
 *  - when identify shows that a connected peer speaks one of them, opens ONE long-lived
 *    outbound stream to it (as js does: each side writes only on the stream it opened and
 *    reads only the one it accepted) and adds the peer to the router with the negotiated
 *    version and whether we dialed the connection. A peer that opens a stream to us first is
 *    added at once (its subscriptions arrive before our stream is up); what the router says to
 *    it meanwhile waits in a bounded queue;
 *  - reads the peer's inbound stream as varint-length-prefixed RPCs of at most the router's
 *    max_rpc_size (4 MiB, js's limit) into ggp_gossip_recv_rpc. A peer has at most one inbound
 *    stream: a new one replaces the old (js does the same);
 *  - writes the router's RPCs to the peer's outbound stream with backpressure: at most
 *    max_queue bytes may wait above what Yamux takes; beyond that RPCs to the peer are dropped
 *    (the router's gossip repairs a lost message), and a peer whose queue has not drained for
 *    stall_timeout is dropped (its outbound stream is reset, it leaves the router);
 *  - loss of the outbound stream or of the connection removes the peer from the router;
 *  - hands the peer's IP to the router for the colocation score P6 (not loopback addresses,
 *    unless told to);
 *  - dials peers offered by peer exchange through the peer store (at most max_px_dials at once);
 *  - drives the router's heartbeat with one uv timer; the router's clock is epoch nanoseconds
 *    (uv_hrtime plus an offset taken at creation).
 *
 * Application: subscribe with a message handler per topic, publish, and validate messages per
 * topic (ggn_gossip_set_validator): the marketplace checks signed package announcements on
 * GGP_GOSSIP_TOPIC_PACKAGES there before they spread.
 *
 * Threading and lifetime: the service lives on its host's loop. Create it before the host
 * listens or dials (identify announces the protocols registered at connection time); close it
 * with ggn_gossip_close before ggn_host_close (both may run in the same loop iteration).
 * Handlers and validators run from the loop, never inside the ggn_gossip_* call that caused
 * them, except that a message we publish ourselves is not shown to our own handlers.
 */
#ifndef GGEN_GOSSIP_SERVICE_H
#define GGEN_GOSSIP_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/gossipsub.h"
#include "ggen/host.h"

typedef struct ggn_gossip ggn_gossip;

typedef struct ggn_gossip_settings {
  const ggp_gossip_settings *router; /* NULL: ggp_gossip_settings_default(); copied */
  int max_version;       /* highest protocol offered: GGP_GOSSIP_V12 (0 = default), V11, V10 */
  size_t max_queue;      /* bytes per peer waiting above Yamux (0: max_rpc_size + 64 KiB) */
  gg_ts stall_timeout;   /* a peer whose queue does not drain for this long is dropped
                            (0: 30 s) */
  uint32_t max_px_dials; /* peer-exchange dials in flight (0: 16) */
  int no_px_dial;        /* 1: ignore peers offered by PRUNE */
  int report_local_ips;  /* 1: give loopback addresses to P6 too (tests) */
} ggn_gossip_settings;

/* A message on a subscribed topic (fields borrowed for the call, see ggp_gossip_msg). */
typedef void (*ggn_gossip_msg_cb)(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud);

/* Validates a message of a topic: GGP_GOSSIP_ACCEPT, REJECT (the senders are penalised),
 * IGNORE, or PENDING (answer later with ggn_gossip_validation_result). */
typedef int (*ggn_gossip_validate_cb)(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud);

/*
 * Creates the service on h: registers the pubsub protocol handlers and observes the host's
 * connection and identify events. st may be NULL (defaults). GG_OK; GG_EINVAL (bad router
 * settings, bad max_version); GG_ENOMEM; GG_ELIMIT (the host has no observer or protocol slot
 * left). On failure nothing stays registered and *out is untouched.
 */
int ggn_gossip_new(ggn_gossip **out, ggn_host *h, const ggn_gossip_settings *st);

/*
 * Stops the service: unregisters the handlers and the observer, resets its streams and frees
 * everything once the host has reported back on every stream and dial it started; on_closed
 * (may be NULL) is called then, from the loop. Call it before ggn_host_close. May be called
 * from inside a handler or validator. No ggn_gossip_* call is allowed afterwards.
 */
void ggn_gossip_close(ggn_gossip *gs, void (*on_closed)(void *ud), void *ud);

/*
 * Subscribes to topic (tells every peer, joins the mesh); cb (may be NULL) gets each valid
 * message of the topic, once. Subscribing again replaces the handler. GG_OK, GG_EINVAL,
 * GG_ELIMIT (64 topics, or the router's max_topics), GG_ESTATE (closing), GG_ENOMEM.
 */
int ggn_gossip_subscribe(ggn_gossip *gs, const char *topic, ggn_gossip_msg_cb cb, void *ud);

/* Leaves topic (PRUNEs the mesh, tells every peer). GG_OK, GG_ENOTFOUND (not subscribed),
 * GG_ESTATE. */
int ggn_gossip_unsubscribe(ggn_gossip *gs, const char *topic);

/*
 * Signs and publishes data on topic (subscribed or not); see ggp_gossip_publish for recipients,
 * msgid and the errors (GG_ETOOBIG, GG_EINVAL, GG_EEXIST, GG_ENOMEM), plus GG_ESTATE when
 * closing. Publishing to zero peers is not an error (recipients = 0).
 */
int ggn_gossip_publish(ggn_gossip *gs, const char *topic, const uint8_t *data, size_t len,
                       size_t *recipients, uint8_t *msgid, size_t *msgid_len);

/*
 * Installs (cb non-NULL) or removes the validator of topic: every message of the topic that
 * passed the signature checks goes through it before it is delivered or forwarded. Without a
 * validator messages are accepted. GG_OK, GG_EINVAL, GG_ELIMIT (64 validators), GG_ENOMEM.
 */
int ggn_gossip_set_validator(ggn_gossip *gs, const char *topic, ggn_gossip_validate_cb cb,
                             void *ud);

/* The answer to a validator that returned GGP_GOSSIP_PENDING (see
 * ggp_gossip_validation_result). GG_ENOTFOUND when it is no longer pending, GG_ESTATE. */
int ggn_gossip_validation_result(ggn_gossip *gs, const uint8_t *msgid, size_t len, int result);

/* Score parameters of a topic (ggp_gossip_set_topic_score). */
int ggn_gossip_set_topic_score(ggn_gossip *gs, const char *topic, const ggp_gossip_topic_score *p);

/* The service's own counters; the router's are in ggp_gossip_get_stats(ggn_gossip_router()). */
typedef struct ggn_gossip_stats {
  size_t peers;          /* peers in the router */
  size_t out_streams;    /* outbound streams open */
  size_t in_streams;     /* inbound streams open */
  uint64_t rpcs_sent;    /* RPCs handed to a stream (or to the queue before it opened) */
  uint64_t rpcs_dropped; /* RPCs dropped: queue full or no stream */
  uint64_t bytes_dropped;
  uint64_t stalled;     /* peers dropped because their queue did not drain */
  uint64_t open_failed; /* outbound streams that could not be opened */
  uint64_t in_replaced; /* inbound streams replaced by a newer one */
  uint64_t px_dials;    /* peer-exchange dials started */
} ggn_gossip_stats;

void ggn_gossip_get_stats(const ggn_gossip *gs, ggn_gossip_stats *st);

/* The router, for read-only introspection (stats, mesh, topic peers, subscribed). Calling a
 * router function that changes state bypasses the service's timer: use ggn_gossip_* for that. */
const ggp_gossip *ggn_gossip_router(const ggn_gossip *gs);

/* The current score of a peer (ggp_gossip_peer_score). */
double ggn_gossip_peer_score(ggn_gossip *gs, const gg_peerid *peer);

/* The router's clock (epoch ns), as passed to it. */
gg_ts ggn_gossip_now(const ggn_gossip *gs);

/* The host the service runs on. */
ggn_host *ggn_gossip_host(const ggn_gossip *gs);

#endif
