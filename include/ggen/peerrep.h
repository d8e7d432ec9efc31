/*
 * Peer reputation (docs/p2p-marketplace.md "Reputation"): what this node learned about each
 * peer from the fetch and search answers it got, kept in SQLite (<home>/peers.db) so it
 * survives restarts, and the score that orders providers.
 *
 * The score is ggen's formula (../shared/GGEN.md "Peer reputation"):
 *   0.50 * success_rate + 0.25 * min(1, 1000 / (avg_ms + 1))
 *   + 0.15 * min(1, packages_provided / 10) + 0.10 * 1 / (hours_since_seen + 1), capped at 1,
 * with, where ggen left it open:
 *  - success_rate = (successes + 1) / (successes + failures + 2) (Laplace's rule: a peer never
 *    asked scores 0.5, one failure does not make it worthless forever);
 *  - avg_ms is an exponential moving average (alpha 0.3) of response times: the time to the
 *    fetch header, the time to a whole search answer; unknown (never answered) counts 0;
 *  - packages_provided counts archives the peer served us, verified;
 *  - hours_since_seen is since the last successful answer; never seen counts 0.
 * An event's weight counts it several times: a peer that sent bytes that do not match their
 * CID, or a record that does not verify, is recorded as GGS_PEERREP_BAD_WEIGHT failures.
 *
 * ggs_peerrep_score() is pure; the rest is storage (the only code here that includes
 * sqlite3.h). One handle per thread; several processes may share the file (WAL).
 */
#ifndef GGEN_PEERREP_H
#define GGEN_PEERREP_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/peerid.h"

#define GGS_PEERREP_EMA_ALPHA 0.3
#define GGS_PEERREP_BAD_WEIGHT 5
#define GGS_PEERREP_MAX_PEERS 10000 /* rows kept: beyond, the least recently updated go */

typedef struct ggs_peerrep ggs_peerrep;

/* What we know of one peer. */
typedef struct ggs_peerrep_stats {
  char peer[GG_PEERID_TEXT_MAX]; /* base58 peer id */
  uint64_t successes, failures;
  double avg_ms;                 /* response time EMA; < 0 when the peer never answered */
  uint64_t provided;             /* archives it served us */
  uint64_t bytes;                /* archive bytes it served us */
  uint64_t searches;             /* search answers it gave us */
  int64_t first_seen, last_seen; /* Unix seconds (0 = never), last_seen: last success */
  int64_t updated;               /* Unix seconds of the last event */
} ggs_peerrep_stats;

/* The formula's terms, for display. */
typedef struct ggs_peerrep_parts {
  double success_rate, speed, provided, recency; /* each in [0, 1], before weighting */
  double score;
} ggs_peerrep_parts;

/* The score of s at time now (Unix seconds). parts may be NULL. Pure. */
double ggs_peerrep_score(const ggs_peerrep_stats *s, int64_t now, ggs_peerrep_parts *parts);

/* One answer (or its absence). */
typedef struct ggs_peerrep_event {
  int ok;          /* 1 success, 0 failure */
  unsigned weight; /* 0 or 1: once; GGS_PEERREP_BAD_WEIGHT for proven misbehaviour */
  double ms;       /* response time, < 0 when there was none (timeout, unreachable) */
  int provided;    /* 1: an archive was served (and verified) */
  uint64_t bytes;  /* archive bytes served */
  int search;      /* 1: a search answer */
  int64_t now;     /* Unix seconds */
} ggs_peerrep_event;

/* Opens or creates the database at path. GG_ESTORAGE, GG_ENOMEM; *out untouched on failure. */
int ggs_peerrep_open(ggs_peerrep **out, const char *path);
void ggs_peerrep_close(ggs_peerrep *r);

/* Records an event for peer (base58 text, at most GG_PEERID_TEXT_MAX - 1 bytes).
 * GG_EINVAL, GG_ESTORAGE. */
int ggs_peerrep_record(ggs_peerrep *r, const char *peer, const ggs_peerrep_event *ev);

/* The stats of one peer. GG_ENOTFOUND when unknown (s zeroed, avg_ms < 0), GG_ESTORAGE. */
int ggs_peerrep_get(ggs_peerrep *r, const char *peer, ggs_peerrep_stats *s);

/* Every known peer, best score first at time now; *out is malloc'd (free()), *n its length.
 * GG_ESTORAGE, GG_ENOMEM. */
int ggs_peerrep_list(ggs_peerrep *r, int64_t now, ggs_peerrep_stats **out, size_t *n);

/* Sorts peers[0..n) (base58 texts) by score at now, best first, unknown peers as new ones;
 * ties keep their order (stable). GG_ESTORAGE, GG_ENOMEM. */
int ggs_peerrep_order(ggs_peerrep *r, int64_t now, const char **peers, size_t n);

#endif
