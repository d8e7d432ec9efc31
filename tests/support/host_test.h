/*
 * Helpers for tests that run hosts (include/ggen/host.h) on one uv loop: nodes with a
 * captured log, loop stepping, dialing, pinging, and the test echo protocol
 * (/test/echo/1.0.0: a handler that writes back what it reads, with backpressure, and a client
 * that checks N concurrent streams of a byte pattern).
 */
#ifndef GG_HOST_TEST_H
#define GG_HOST_TEST_H

#include "gg_test.h"
#include "ggen/host.h"

#define ECHO_P "/test/echo/1.0.0"

/* The captured log of every node made with ht_base_settings() (all levels down to debug);
 * GGEN_TEST_LOG=1 also prints it to stderr. */
extern char ht_logbuf[1 << 16];
extern size_t ht_loglen;
void ht_log_sink(void *ud, int level, const char *name, const char *msg);
void ht_log_reset(void);
int ht_log_has(const char *s);

typedef struct ht_node {
  ggn_host *h;
  gg_keypair kp;
  gg_maddr addr; /* first listen address */
  int ups, downs, idents;
  int last_down_err;
  ggn_conn *last_up;
  int closed;
  int echo_streams;
} ht_node;

/* Settings with the capturing logger. */
ggn_host_settings ht_base_settings(void);
/* Starts a host with a key from seed, listening on 127.0.0.1 (n->addr), serving ECHO_P.
 * st may be NULL (ht_base_settings()). */
void ht_node_start(ht_node *n, uv_loop_t *loop, const ggn_host_settings *st, uint64_t seed);
void ht_node_closed(void *ud);
/* The echo handler (ud: the ht_node counting its streams, or NULL). */
void ht_echo_handler(ggn_stream *s, void *ud);

/* One loop iteration waiting at most 10 ms / the loop run for ms. */
void ht_run_once(uv_loop_t *loop);
void ht_run_for(uv_loop_t *loop, uint64_t ms);
#define HT_RUN_UNTIL(loop, cond, ms)                                                                  \
  do {                                                                                             \
    gg_ts end_ = uv_hrtime() + GG_MS(ms);                                                          \
    while (!(cond) && uv_hrtime() < end_) ht_run_once(loop);                                          \
  } while (0)

/* Closes the nodes' hosts, runs the loop dry and checks uv_loop_close() == 0. */
void ht_close_nodes(uv_loop_t *loop, ht_node *ns, int n);

typedef struct ht_dial_res {
  int done, err;
  ggn_conn *c;
} ht_dial_res;
void ht_dial_cb(ggn_host *h, ggn_conn *c, int err, void *ud);
/* n's listen address with /p2p/<its id>. */
void ht_addr_with_peer(const ht_node *n, gg_maddr *out);
/* a dials b; asserts success; returns the connection. */
ggn_conn *ht_connect_nodes(uv_loop_t *loop, ht_node *a, ht_node *b);

typedef struct ht_ping_res {
  int done, err;
  gg_ts rtt;
} ht_ping_res;
void ht_ping_cb(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud);

typedef struct ht_echo_client {
  ggn_stream *s;
  size_t total, sent, recvd;
  uint32_t seed;
  int open_err, opened, closed, close_err, mismatch, eof;
} ht_echo_client;
/* Open callback of one echo client (ud: a zeroed ht_echo_client with total and seed set). */
void ht_ec_opened(ggn_stream *s, int err, void *ud);

/* Opens nstreams concurrent echo streams from host a to peer b, each sending bytes of a
 * pattern and half-closing; asserts every stream got its bytes back intact and closed cleanly. */
void ht_run_echo(uv_loop_t *loop, ggn_host *a, const gg_peerid *b, int nstreams, size_t bytes);

#endif
