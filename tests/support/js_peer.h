/*
 * A js-libp2p process for interoperability tests (the scripts in interop/js, Node 20, versions
 * pinned in interop/js/package-lock.json), driven over its stdin/stdout on the test's uv loop:
 * commands are lines written to stdin, events are lines read from stdout. Every line read is kept,
 * so waits need not follow the order in which lines arrive.
 *
 * Tests skip (not fail) when node or interop/js/node_modules is missing: js_available().
 */
#ifndef GG_JS_PEER_H
#define GG_JS_PEER_H

#include <stdint.h>
#include <uv.h>

#include "ggen/peerid.h"

#define JS_DIR GGEN_SOURCE_DIR "/interop/js"

typedef struct jspeer {
  uv_process_t proc;
  uv_pipe_t in, out;
  char *buf; /* everything read from stdout */
  size_t len, cap, cursor;
  int exited, closed;
  int64_t status;
  gg_peerid id;   /* the first node's peer id (from its READY line) */
  char addr[512]; /* its first address: /ip4/127.0.0.1/tcp/N/p2p/ID */
  char line[8192];
} jspeer;

/* 1 when interop/js/node_modules is installed (scripts/setup.sh). */
int js_available(void);

/* Starts `node SCRIPT ARGS...` (args NULL-terminated, may be NULL) in interop/js and waits for
 * its first "READY <id> <addr...>" line (peer.mjs) or "READY 0 <id> <addr...>" (gossip.mjs),
 * filling id and addr. Asserts on failure. */
void js_start_script(uv_loop_t *loop, jspeer *js, const char *script, const char *const *args);

/* Waits for a stdout line starting with prefix that no earlier wait returned; returns it (valid
 * until the next wait) or NULL on timeout or exit. */
const char *js_wait(uv_loop_t *loop, jspeer *js, const char *prefix, uint64_t ms);

/* Counts the lines received so far that start with prefix (consumed or not). */
int js_count(const jspeer *js, const char *prefix);

/* Writes one command line (printf-style, newline added). */
void js_cmd(jspeer *js, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends "quit", waits for the exit (kills after 10 s), closes the handles. */
void js_stop(uv_loop_t *loop, jspeer *js);

#endif
