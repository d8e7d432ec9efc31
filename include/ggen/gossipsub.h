/*
 * Gossipsub core (libp2p/specs pubsub/README.md, pubsub/gossipsub/gossipsub-v1.0.md, v1.1.md,
 * v1.2.md), without I/O.
 *
 * One ggp_gossip object is the router of one node: it keeps the peers that speak a gossipsub
 * protocol with us, their subscriptions, our topic meshes and fanout, the message cache and
 * seen cache, backoffs, gossip promises and the v1.1 peer scores. It never touches a socket:
 *
 *   - the glue adds a peer when a stream with a pubsub protocol is up (ggp_gossip_add_peer,
 *     with the negotiated version and the connection direction) and removes it when the
 *     connection goes (ggp_gossip_remove_peer);
 *   - every inbound RPC (one length-prefixed frame with the varint prefix stripped, see
 *     include/ggen/lpm.h) goes to ggp_gossip_recv_rpc();
 *   - outbound RPCs come out through the send_rpc callback, one call per peer per public
 *     entry point: everything the core wants to say to a peer during one call (forwarded
 *     messages, GRAFT/PRUNE, IHAVE/IWANT, IDONTWANT, subscriptions) is coalesced into as few
 *     RPCs as the size cap allows and handed over at the end of the call;
 *   - timers: ggp_gossip_expiry() says when to call ggp_gossip_handle_expiry() (heartbeat,
 *     score decay).
 *
 * Messages are StrictSign (the js and go default): from, an 8-byte seqno and a signature over
 * "libp2p-pubsub:" || protobuf(from=1, data=2, seqno=3, topic=4) are required; the key field is
 * needed only when the author's key is not inlined in its peer id. Only Ed25519 authors can be
 * verified (include/ggen/key.h); messages by other key types are rejected.
 *
 * Callbacks: send_rpc, app_score, msgid and px_peers are called while the core works and must
 * not call back into it. validate and deliver are called at the end of a public entry point
 * (after its own processing) and may call the core's public functions (publish, subscribe,
 * validation_result, ...) but not ggp_gossip_del.
 *
 * Time: gg_ts nanoseconds from any origin, never decreasing between calls.
 * See docs/gossipsub.md for the design, the parameters and the limits.
 */
#ifndef GGEN_GOSSIPSUB_H
#define GGEN_GOSSIPSUB_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/key.h"
#include "ggen/mem.h"
#include "ggen/peerid.h"
#include "ggen/rand.h"
#include "ggen/time.h"

#define GGP_GOSSIP_PROTO_V12 "/meshsub/1.2.0"
#define GGP_GOSSIP_PROTO_V11 "/meshsub/1.1.0"
#define GGP_GOSSIP_PROTO_V10 "/meshsub/1.0.0"
#define GGP_GOSSIP_PROTO_FLOODSUB "/floodsub/1.0.0"

/* The topic on which ggen package announcements travel. */
#define GGP_GOSSIP_TOPIC_PACKAGES "/ggen/packages/v1"

/* Negotiated protocol of a peer. Floodsub peers get messages of their topics, never a mesh. */
enum {
  GGP_GOSSIP_FLOODSUB = 1,
  GGP_GOSSIP_V10 = 10,
  GGP_GOSSIP_V11 = 11,
  GGP_GOSSIP_V12 = 12, /* adds IDONTWANT */
};

/* Returns the protocol id of a version ("/meshsub/1.1.0"), or NULL. */
const char *ggp_gossip_protocol(int version);
/* Returns the version of a protocol id (GGP_GOSSIP_*), or 0 when it is not a pubsub protocol. */
int ggp_gossip_version(const char *proto, size_t len);
/* The protocol ids to offer or accept, best first, NULL-terminated (1.2, 1.1, 1.0; floodsub is
 * left out: the core supports it, the node does not advertise it). */
extern const char *const ggp_gossip_protocols[];

/* Validation outcomes (gossipsub v1.1 "extended validators"). */
enum {
  GGP_GOSSIP_ACCEPT = 0, /* deliver and forward */
  GGP_GOSSIP_REJECT,     /* invalid: drop and penalise the senders (P4) */
  GGP_GOSSIP_IGNORE,     /* drop without penalty */
  GGP_GOSSIP_PENDING,    /* validate() only: the answer comes later via
                            ggp_gossip_validation_result() */
};

/* Message id functions. */
enum {
  GGP_GOSSIP_MSGID_JS = 0, /* js-libp2p's default: PublicKey protobuf of the author || seqno */
  GGP_GOSSIP_MSGID_GO,     /* go-libp2p's default: from (peer id bytes) || seqno */
  GGP_GOSSIP_MSGID_CUSTOM, /* the msgid callback */
};

#define GGP_GOSSIP_MSGID_MAX 128 /* longest message id the core handles */
#define GGP_GOSSIP_TOPIC_MAX 256 /* longest topic the core handles */

/* Per-topic score parameters (v1.1 "Topic Parameter Calculation and Decay"). Decays are
 * factors applied every decay_interval. A weight of 0 disables its component. */
typedef struct ggp_gossip_topic_score {
  double topic_weight;
  /* P1: time in mesh */
  double time_in_mesh_weight;
  gg_ts time_in_mesh_quantum;
  double time_in_mesh_cap;
  /* P2: first message deliveries */
  double first_message_deliveries_weight;
  double first_message_deliveries_decay;
  double first_message_deliveries_cap;
  /* P3: mesh message deliveries (deficit squared) */
  double mesh_message_deliveries_weight; /* <= 0 */
  double mesh_message_deliveries_decay;
  double mesh_message_deliveries_cap;
  double mesh_message_deliveries_threshold;
  gg_ts mesh_message_deliveries_window;     /* "near-first" window after validation */
  gg_ts mesh_message_deliveries_activation; /* time in mesh before P3 applies */
  /* P3b: mesh failure penalty */
  double mesh_failure_penalty_weight; /* <= 0 */
  double mesh_failure_penalty_decay;
  /* P4: invalid messages (squared) */
  double invalid_message_deliveries_weight; /* <= 0 */
  double invalid_message_deliveries_decay;
} ggp_gossip_topic_score;

/* Fills p with this project's defaults for a low-rate topic such as package announcements:
 * P1 small and positive, P2 positive, P3/P3b off (the message rate of the topic is unknown, and
 * js's default threshold of 20 deliveries would push every honest mesh peer of a quiet topic
 * below zero), P4 weight -5 so that a handful of invalid messages graylists a peer. See
 * docs/gossipsub.md. */
void ggp_gossip_topic_score_default(ggp_gossip_topic_score *p);

/* Peer-level score parameters and thresholds (v1.1 "Score Thresholds", "The Score Function"). */
typedef struct ggp_gossip_score {
  double topic_score_cap;                /* 0 = no cap; default 10 */
  double app_specific_weight;            /* P5; default 10 */
  double ip_colocation_factor_weight;    /* P6, <= 0; default -5 */
  double ip_colocation_factor_threshold; /* default 10 */
  double behaviour_penalty_weight;       /* P7, <= 0; default -10 */
  double behaviour_penalty_threshold;    /* default 0 */
  double behaviour_penalty_decay;        /* default 0.9 */
  gg_ts decay_interval;                  /* default 1 s */
  double decay_to_zero;                  /* default 0.1 */
  gg_ts retain_score;                    /* keep a gone peer's non-positive score; default 1 h */
  double gossip_threshold;               /* default -10 */
  double publish_threshold;              /* default -50 */
  double graylist_threshold;             /* default -80 */
  double accept_px_threshold;            /* default 10 */
  double opportunistic_graft_threshold;  /* default 20 */
} ggp_gossip_score;

typedef struct ggp_gossip_settings {
  /* overlay (v1.0 "Parameters", v1.1 D_score/D_out) */
  unsigned d, d_lo, d_hi, d_lazy;     /* 6, 4, 12, 6 */
  unsigned d_score, d_out;            /* 4, 2 */
  double gossip_factor;               /* 0.25 */
  gg_ts heartbeat_interval;           /* 1 s */
  gg_ts heartbeat_initial_delay;      /* 100 ms after the first ggp_gossip_handle_expiry() */
  unsigned history_length;            /* message cache windows; 5 */
  unsigned history_gossip;            /* windows advertised in IHAVE; 3 */
  gg_ts fanout_ttl;                   /* 60 s */
  gg_ts seen_ttl;                     /* 2 min */
  gg_ts prune_backoff;                /* 60 s */
  gg_ts unsubscribe_backoff;          /* 10 s */
  gg_ts graft_flood_threshold;        /* 10 s: a GRAFT this soon after a PRUNE costs double */
  gg_ts iwant_followup_time;          /* 3 s: an IHAVE not followed by the message is a broken
                                         promise (P7) */
  unsigned prune_peers;               /* PX: peers sent / taken from one PRUNE; 16 */
  unsigned opportunistic_graft_ticks; /* 60 */
  unsigned opportunistic_graft_peers; /* 2 */
  unsigned gossip_retransmission;     /* times one message is served to one peer by IWANT; 3 */
  unsigned backoff_clear_ticks;       /* heartbeats between backoff cleanups; 15 */
  int flood_publish;                  /* 1: own messages go to every topic peer above
                                         publish_threshold */
  int do_px;                          /* 1: PRUNEs carry peer ids (no signed records, see docs);
                                         default 0 as js */
  int emit_self;                      /* 1: deliver our own published messages to deliver(); 0 */
  int include_key;                    /* 1: published messages carry the key field (js does; it is
                                         redundant for Ed25519); default 0 */
  int msgid_fn;                       /* GGP_GOSSIP_MSGID_*; default JS */
  int score_subscribed_topics;        /* 1: topics we subscribe to without explicit parameters get
                                         ggp_gossip_topic_score_default(); default 1 */
  size_t idontwant_min_size;          /* send IDONTWANT for data of at least this size; 512 */
  ggp_gossip_score score;

  /* limits: nothing a peer sends grows memory beyond these */
  size_t max_message_size;          /* one encoded Message; 1 MiB */
  size_t max_rpc_size;              /* one RPC in or out; 4 MiB (js's inbound limit) */
  size_t max_peers;                 /* 2048 */
  size_t max_topics;                /* topics known (ours and peers'); 1024 */
  size_t max_peer_topics;           /* subscriptions kept per peer; 128 */
  size_t max_subscriptions_per_rpc; /* 256; the rest of the RPC's SubOpts are dropped */
  size_t max_messages_per_rpc;      /* 1024 */
  size_t max_ihave_length;          /* message ids asked per peer per heartbeat, and advertised
                                       per IHAVE; 5000 */
  size_t max_ihave_messages;        /* IHAVE control messages taken per peer per heartbeat; 10 */
  size_t max_iwant_ids;             /* ids served per peer per heartbeat (more is spam, P7); 5000 */
  size_t max_idontwant;             /* IDONTWANT ids taken per peer per heartbeat; 512 */
  size_t max_control_per_rpc;       /* GRAFT/PRUNE/IHAVE/IDONTWANT entries per RPC; 1024 */
  size_t max_px_peers;              /* PeerInfo entries per PRUNE looked at; 64 */
  size_t seen_cap;                  /* seen-cache entries; 131072 */
  size_t mcache_cap;                /* message-cache entries; 16384 */
  size_t mcache_bytes;              /* message-cache bytes; 128 MiB */
  size_t max_pending;               /* messages waiting for asynchronous validation; 1024 */
  gg_ts validation_timeout;         /* a pending validation older than this is IGNOREd; 10 s */
  size_t max_retained;              /* scores of gone peers kept; 4096 */
  size_t max_promises;              /* gossip promises tracked; 16384 */
  double rpc_rate, rpc_burst;       /* inbound RPCs per second per peer (token bucket); 200/1000 */
  double byte_rate, byte_burst;     /* inbound bytes per second per peer; 8 MiB/32 MiB */
  double msg_rate, msg_burst;       /* inbound messages per second per peer; 500/2000 */
} ggp_gossip_settings;

/* Fills s with the defaults above. */
void ggp_gossip_settings_default(ggp_gossip_settings *s);

/* A message as the core shows it to the application. Pointers are borrowed for the duration of
 * the callback. */
typedef struct ggp_gossip_msg {
  const char *topic; /* NUL-terminated */
  const uint8_t *data;
  size_t len;
  gg_peerid from; /* author */
  uint64_t seqno;
  const uint8_t *msgid;
  size_t msgid_len;
  gg_peerid source; /* the peer it came from (ourselves for our own messages) */
} ggp_gossip_msg;

/* The fields a message id is computed from (msgid callback). */
typedef struct ggp_gossip_msgid_in {
  const uint8_t *from; /* peer id bytes */
  size_t from_len;
  const uint8_t *seqno; /* 8 bytes */
  const uint8_t *key;   /* the author's PublicKey protobuf (from the peer id or the key field) */
  size_t key_len;
  const uint8_t *data;
  size_t data_len;
  const char *topic;
} ggp_gossip_msgid_in;

/* One peer offered by peer exchange. */
typedef struct ggp_gossip_px {
  gg_peerid id;
  const uint8_t *signed_record; /* signed peer record envelope, or NULL */
  size_t record_len;
} ggp_gossip_px;

typedef struct ggp_gossip ggp_gossip;

typedef struct ggp_gossip_callbacks {
  /* Write one RPC (protobuf, without length prefix) to peer's outbound stream. Return 0, or
   * non-zero when it could not be queued (the core forgets it). Required. */
  int (*send_rpc)(ggp_gossip *g, const gg_peerid *peer, const uint8_t *rpc, size_t len, void *ud);
  /* A valid message on a topic we are subscribed to (called once per message). Optional. */
  void (*deliver)(ggp_gossip *g, const ggp_gossip_msg *m, void *ud);
  /* Application validation of a message that passed the signature checks; returns
   * GGP_GOSSIP_ACCEPT/REJECT/IGNORE or PENDING. Optional (absent = accept everything). */
  int (*validate)(ggp_gossip *g, const ggp_gossip_msg *m, void *ud);
  /* P5: the application's score for a peer (weighted by score.app_specific_weight). The core
   * asks again whenever it recomputes the peer's score; call ggp_gossip_rescore() when the
   * answers change. Optional (0). */
  double (*app_score)(ggp_gossip *g, const gg_peerid *peer, void *ud);
  /* Peer exchange: a peer whose score is at least accept_px_threshold pruned us and offered
   * these peers; the glue may dial them (checking each signed record first). Optional. */
  void (*px_peers)(ggp_gossip *g, const char *topic, const ggp_gossip_px *peers, size_t n,
                   void *ud);
  /* msgid_fn == CUSTOM: write the id of a message to out (cap GGP_GOSSIP_MSGID_MAX) and return
   * its length (> 0), or a negative value to reject the message. */
  int (*msgid)(ggp_gossip *g, const ggp_gossip_msgid_in *m, uint8_t *out, void *ud);
  /* Mesh changes, for logs and tests (joined 1 = the peer entered our mesh). Optional. */
  void (*mesh_changed)(ggp_gossip *g, const char *topic, const gg_peerid *peer, int joined,
                       void *ud);
} ggp_gossip_callbacks;

/*
 * Creates a router for the node with key pair kp (copied; it signs our messages and its peer id
 * is ours). settings may be NULL (defaults); callbacks are copied; rand is borrowed for the
 * router's lifetime (peer selection, hash seeds, seqno start). GG_EINVAL for inconsistent
 * settings (e.g. d_lo > d > d_hi, thresholds out of order), GG_ENOMEM; *out is untouched on
 * failure.
 */
int ggp_gossip_new(ggp_gossip **out, const ggp_gossip_callbacks *cb,
                   const ggp_gossip_settings *settings, const gg_keypair *kp, const gg_rand *rand,
                   const gg_mem *mem, void *ud);

/* Frees everything; no callback is called. NULL is fine. */
void ggp_gossip_del(ggp_gossip *g);

/* This node's peer id. */
const gg_peerid *ggp_gossip_self(const ggp_gossip *g);

/* ---- peers (from the glue) ----------------------------------------------------------------- */

enum {
  GGP_GOSSIP_OUTBOUND = 1, /* we dialed the connection (D_out quota) */
  GGP_GOSSIP_DIRECT = 2,   /* explicit peering agreement: always forwarded to, never meshed,
                              never graylisted */
};

/* A pubsub stream with peer is up, speaking version (GGP_GOSSIP_*). The core sends it our
 * subscriptions. Adding a known peer updates its version and flags. GG_ELIMIT at max_peers,
 * GG_EINVAL, GG_ENOMEM. */
int ggp_gossip_add_peer(ggp_gossip *g, const gg_peerid *peer, int version, unsigned flags,
                        gg_ts ts);

/* The peer is gone (connection closed). Its score is kept for retain_score when it is not
 * positive. Unknown peers are ignored. */
void ggp_gossip_remove_peer(ggp_gossip *g, const gg_peerid *peer, gg_ts ts);

/* The peer's IP address (any byte string, e.g. 4 or 16 raw bytes) for the IP colocation score
 * (P6). The glue should not report loopback addresses unless it wants them penalised. */
int ggp_gossip_set_peer_ip(ggp_gossip *g, const gg_peerid *peer, const uint8_t *ip, size_t len);

/*
 * One RPC received from peer at ts (varint prefix stripped). Returns GG_OK when the RPC was
 * processed or deliberately ignored (graylisted peer); GG_EPROTO or GG_ETOOBIG when it was
 * malformed (it is dropped as a whole and the peer is penalised); GG_ERATE when the peer
 * exceeded its inbound rate (dropped, penalised); GG_ENOTFOUND for a peer never added.
 * PEER-class codes are information: the stream may stay open (js keeps it).
 */
int ggp_gossip_recv_rpc(ggp_gossip *g, const gg_peerid *peer, const uint8_t *rpc, size_t len,
                        gg_ts ts);

/* ---- application ------------------------------------------------------------------------- */

/* Subscribes to topic (1..GGP_GOSSIP_TOPIC_MAX bytes): tells every peer and joins the mesh.
 * GG_OK also when already subscribed; GG_EINVAL, GG_ELIMIT (max_topics), GG_ENOMEM. */
int ggp_gossip_subscribe(ggp_gossip *g, const char *topic, gg_ts ts);

/* Leaves topic: PRUNEs the mesh (with unsubscribe_backoff) and tells every peer. */
int ggp_gossip_unsubscribe(ggp_gossip *g, const char *topic, gg_ts ts);

/*
 * Signs and publishes data on topic (subscribed or not). *recipients (may be NULL) gets the
 * number of peers it was sent to; msgid (may be NULL, GGP_GOSSIP_MSGID_MAX bytes) and
 * *msgid_len get its id. GG_ETOOBIG (over max_message_size), GG_EINVAL, GG_EEXIST (same id
 * already seen), GG_ENOMEM. Publishing to zero peers is not an error.
 */
int ggp_gossip_publish(ggp_gossip *g, const char *topic, const uint8_t *data, size_t len, gg_ts ts,
                       size_t *recipients, uint8_t *msgid, size_t *msgid_len);

/* The answer to a validate() that returned PENDING. GG_ENOTFOUND when the message is no
 * longer pending (answered already, timed out). */
int ggp_gossip_validation_result(ggp_gossip *g, const uint8_t *msgid, size_t len, int result,
                                 gg_ts ts);

/* Sets (or with p NULL removes) the score parameters of topic. GG_EINVAL, GG_ELIMIT (64
 * scored topics), GG_ENOMEM. */
int ggp_gossip_set_topic_score(ggp_gossip *g, const char *topic, const ggp_gossip_topic_score *p);

/* The app_score callback's answers changed: recompute every score. */
void ggp_gossip_rescore(ggp_gossip *g);

/* ---- timers ------------------------------------------------------------------------------- */

/* When ggp_gossip_handle_expiry() must be called next (0 before the first call). */
gg_ts ggp_gossip_expiry(const ggp_gossip *g);

/* Runs the score decay and the heartbeat (mesh and fanout maintenance, gossip emission, cache
 * shifts, expiries) when due. */
void ggp_gossip_handle_expiry(ggp_gossip *g, gg_ts ts);

/* ---- introspection ------------------------------------------------------------------------- */

typedef struct ggp_gossip_stats {
  /* sizes of the tables (what memory is made of) */
  size_t peers, topics, subscriptions, mesh_links, fanout_links;
  size_t mcache_msgs, mcache_bytes;
  size_t seen, pending, promises, backoffs, idontwants, retained;
  /* counters */
  uint64_t rpcs_in, rpcs_out, bytes_in, bytes_out;
  uint64_t msgs_in, msgs_first, msgs_dup, msgs_invalid, msgs_ignored, msgs_delivered;
  uint64_t msgs_published, msgs_forwarded; /* forwarded = copies sent to peers */
  uint64_t rpcs_malformed, rpcs_rate_limited, rpcs_graylisted;
  uint64_t ihave_in, iwant_in, iwant_out, graft_in, prune_in, idontwant_in, idontwant_out;
  uint64_t penalties; /* P7 increments */
} ggp_gossip_stats;

void ggp_gossip_get_stats(const ggp_gossip *g, ggp_gossip_stats *st);

/* The current score of a peer (connected or retained); 0 for an unknown peer. */
double ggp_gossip_peer_score(ggp_gossip *g, const gg_peerid *peer);

/* Copies up to cap mesh peers of topic into out and returns how many there are (may exceed
 * cap). fanout 1: the fanout set instead. */
size_t ggp_gossip_mesh_peers(const ggp_gossip *g, const char *topic, int fanout, gg_peerid *out,
                             size_t cap);

/* Number of known peers subscribed to topic. */
size_t ggp_gossip_topic_peers(const ggp_gossip *g, const char *topic);

/* 1 when we are subscribed to topic. */
int ggp_gossip_subscribed(const ggp_gossip *g, const char *topic);

/* ---- message helpers (also for tests and tools) --------------------------------------------- */

/*
 * Appends the protobuf of a StrictSign Message (from, data, seqno, topic, signature, and key
 * when include_key) signed by kp to out. GG_ETOOBIG / GG_ENOMEM from out.
 */
int ggp_gossip_sign_message(const gg_keypair *kp, const char *topic, const uint8_t *data,
                            size_t len, uint64_t seqno, int include_key, gg_buf *out);

/*
 * Computes the message id of an encoded Message with one of the built-in functions
 * (GGP_GOSSIP_MSGID_JS or _GO) into out (GGP_GOSSIP_MSGID_MAX bytes); returns the length, or
 * GG_EPROTO when the message lacks what the id needs.
 */
int ggp_gossip_message_id(int fn, const uint8_t *msg, size_t len, uint8_t *out);

#endif
