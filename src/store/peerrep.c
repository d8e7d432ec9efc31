/*
 * Peer reputation in SQLite (include/ggen/peerrep.h): one row per peer, updated by one
 * UPSERT per event (autocommit, WAL, synchronous=NORMAL: a crash may lose the last events,
 * which only makes the ordering slightly less informed). The table is capped: beyond
 * GGS_PEERREP_MAX_PEERS rows the least recently updated are deleted, so peers that appear
 * once cannot grow the file without bound.
 */
#include "ggen/peerrep.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"

struct ggs_peerrep {
  sqlite3 *db;
  sqlite3_stmt *get, *upsert, *list, *count, *trim;
  unsigned since_trim;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS peers(peer TEXT PRIMARY KEY, successes INTEGER NOT NULL,"
    " failures INTEGER NOT NULL, avg_ms REAL NOT NULL, provided INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, searches INTEGER NOT NULL, first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS peers_updated ON peers(updated);";

#define COLS "peer,successes,failures,avg_ms,provided,bytes,searches,first_seen,last_seen,updated"

double ggs_peerrep_score(const ggs_peerrep_stats *s, int64_t now, ggs_peerrep_parts *parts) {
  ggs_peerrep_parts p;
  p.success_rate =
      ((double)s->successes + 1.0) / ((double)s->successes + (double)s->failures + 2.0);
  p.speed = s->avg_ms < 0 ? 0.0 : fmin(1.0, 1000.0 / (s->avg_ms + 1.0));
  p.provided = fmin(1.0, (double)s->provided / 10.0);
  if (s->last_seen <= 0) {
    p.recency = 0.0;
  } else {
    double hours = now > s->last_seen ? (double)(now - s->last_seen) / 3600.0 : 0.0;
    p.recency = 1.0 / (hours + 1.0);
  }
  p.score = fmin(1.0, 0.5 * p.success_rate + 0.25 * p.speed + 0.15 * p.provided + 0.10 * p.recency);
  if (parts) *parts = p;
  return p.score;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
             ? GG_OK
             : GG_ESTORAGE;
}

int ggs_peerrep_open(ggs_peerrep **out, const char *path) {
  ggs_peerrep *r = calloc(1, sizeof(*r));
  if (!r) return GG_ENOMEM;
  if (sqlite3_open_v2(path, &r->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout(r->db, 2000);
  if (sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK) goto fail;
  if (prep(r->db, "SELECT " COLS " FROM peers WHERE peer=?", &r->get) ||
      prep(r->db,
           "INSERT INTO peers(" COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
           " ON CONFLICT(peer) DO UPDATE SET successes=?2, failures=?3, avg_ms=?4, provided=?5,"
           " bytes=?6, searches=?7, first_seen=?8, last_seen=?9, updated=?10",
           &r->upsert) ||
      prep(r->db, "SELECT " COLS " FROM peers", &r->list) ||
      prep(r->db, "SELECT count(*) FROM peers", &r->count) ||
      prep(r->db,
           "DELETE FROM peers WHERE peer IN (SELECT peer FROM peers ORDER BY updated LIMIT ?)",
           &r->trim))
    goto fail;
  *out = r;
  return GG_OK;
fail:
  ggs_peerrep_close(r);
  return GG_ESTORAGE;
}

void ggs_peerrep_close(ggs_peerrep *r) {
  if (!r) return;
  sqlite3_finalize(r->get);
  sqlite3_finalize(r->upsert);
  sqlite3_finalize(r->list);
  sqlite3_finalize(r->count);
  sqlite3_finalize(r->trim);
  sqlite3_close(r->db);
  free(r);
}

static void row(sqlite3_stmt *s, ggs_peerrep_stats *o) {
  memset(o, 0, sizeof(*o));
  const char *p = (const char *)sqlite3_column_text(s, 0);
  snprintf(o->peer, sizeof o->peer, "%s", p ? p : "");
  o->successes = (uint64_t)sqlite3_column_int64(s, 1);
  o->failures = (uint64_t)sqlite3_column_int64(s, 2);
  o->avg_ms = sqlite3_column_double(s, 3);
  o->provided = (uint64_t)sqlite3_column_int64(s, 4);
  o->bytes = (uint64_t)sqlite3_column_int64(s, 5);
  o->searches = (uint64_t)sqlite3_column_int64(s, 6);
  o->first_seen = sqlite3_column_int64(s, 7);
  o->last_seen = sqlite3_column_int64(s, 8);
  o->updated = sqlite3_column_int64(s, 9);
}

int ggs_peerrep_get(ggs_peerrep *r, const char *peer, ggs_peerrep_stats *s) {
  memset(s, 0, sizeof(*s));
  s->avg_ms = -1;
  if (!peer || strlen(peer) >= GG_PEERID_TEXT_MAX) return GG_EINVAL;
  snprintf(s->peer, sizeof s->peer, "%s", peer);
  sqlite3_bind_text(r->get, 1, peer, -1, SQLITE_STATIC);
  int rc = sqlite3_step(r->get), rv;
  if (rc == SQLITE_ROW) {
    row(r->get, s);
    rv = GG_OK;
  } else {
    rv = rc == SQLITE_DONE ? GG_ENOTFOUND : GG_ESTORAGE;
  }
  sqlite3_reset(r->get);
  sqlite3_clear_bindings(r->get);
  return rv;
}

/* Deletes the least recently updated rows beyond the cap (checked every 64 events). */
static int trim(ggs_peerrep *r) {
  if (++r->since_trim < 64) return GG_OK;
  r->since_trim = 0;
  int64_t n = 0;
  if (sqlite3_step(r->count) == SQLITE_ROW) n = sqlite3_column_int64(r->count, 0);
  sqlite3_reset(r->count);
  if (n <= GGS_PEERREP_MAX_PEERS) return GG_OK;
  sqlite3_bind_int64(r->trim, 1, n - GGS_PEERREP_MAX_PEERS);
  int rc = sqlite3_step(r->trim);
  sqlite3_reset(r->trim);
  return rc == SQLITE_DONE ? GG_OK : GG_ESTORAGE;
}

int ggs_peerrep_record(ggs_peerrep *r, const char *peer, const ggs_peerrep_event *ev) {
  ggs_peerrep_stats s;
  int rv = ggs_peerrep_get(r, peer, &s);
  if (rv != GG_OK && rv != GG_ENOTFOUND) return rv;
  if (rv == GG_ENOTFOUND) s.first_seen = ev->now;
  uint64_t w = ev->weight ? ev->weight : 1;
  if (ev->ok) {
    s.successes += w;
    s.last_seen = ev->now;
  } else {
    s.failures += w;
  }
  if (ev->ms >= 0)
    s.avg_ms = s.avg_ms < 0
                   ? ev->ms
                   : GGS_PEERREP_EMA_ALPHA * ev->ms + (1 - GGS_PEERREP_EMA_ALPHA) * s.avg_ms;
  if (ev->ok && ev->provided) s.provided++;
  if (ev->ok) s.bytes += ev->bytes;
  if (ev->search) s.searches++;
  s.updated = ev->now;
  sqlite3_stmt *u = r->upsert;
  sqlite3_bind_text(u, 1, peer, -1, SQLITE_STATIC);
  sqlite3_bind_int64(u, 2, (sqlite3_int64)s.successes);
  sqlite3_bind_int64(u, 3, (sqlite3_int64)s.failures);
  sqlite3_bind_double(u, 4, s.avg_ms);
  sqlite3_bind_int64(u, 5, (sqlite3_int64)s.provided);
  sqlite3_bind_int64(u, 6, (sqlite3_int64)s.bytes);
  sqlite3_bind_int64(u, 7, (sqlite3_int64)s.searches);
  sqlite3_bind_int64(u, 8, s.first_seen);
  sqlite3_bind_int64(u, 9, s.last_seen);
  sqlite3_bind_int64(u, 10, s.updated);
  int rc = sqlite3_step(u);
  sqlite3_reset(u);
  sqlite3_clear_bindings(u);
  if (rc != SQLITE_DONE) return GG_ESTORAGE;
  return trim(r);
}

typedef struct scored {
  ggs_peerrep_stats s;
  double score;
  size_t idx;
} scored;

static int scored_cmp(const void *a, const void *b) {
  const scored *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ggs_peerrep_list(ggs_peerrep *r, int64_t now, ggs_peerrep_stats **out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t cap = 0, len = 0;
  scored *v = NULL;
  int rc, rv = GG_OK;
  while ((rc = sqlite3_step(r->list)) == SQLITE_ROW) {
    if (len == cap) {
      size_t nc = cap ? 2 * cap : 16;
      scored *nv = realloc(v, nc * sizeof(*nv));
      if (!nv) {
        rv = GG_ENOMEM;
        break;
      }
      v = nv;
      cap = nc;
    }
    row(r->list, &v[len].s);
    v[len].score = ggs_peerrep_score(&v[len].s, now, NULL);
    v[len].idx = len;
    len++;
  }
  if (rv == GG_OK && rc != SQLITE_DONE) rv = GG_ESTORAGE;
  sqlite3_reset(r->list);
  if (rv) {
    free(v);
    return rv;
  }
  qsort(v, len, sizeof(*v), scored_cmp);
  ggs_peerrep_stats *o = malloc((len ? len : 1) * sizeof(*o));
  if (!o) {
    free(v);
    return GG_ENOMEM;
  }
  for (size_t i = 0; i < len; i++) o[i] = v[i].s;
  free(v);
  *out = o;
  *n = len;
  return GG_OK;
}

typedef struct ordered {
  const char *peer;
  double score;
  size_t idx;
} ordered;

static int ordered_cmp(const void *a, const void *b) {
  const ordered *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ggs_peerrep_order(ggs_peerrep *r, int64_t now, const char **peers, size_t n) {
  if (n < 2) return GG_OK;
  ordered *v = malloc(n * sizeof(*v));
  if (!v) return GG_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    ggs_peerrep_stats s;
    int rv = ggs_peerrep_get(r, peers[i], &s);
    if (rv != GG_OK && rv != GG_ENOTFOUND && rv != GG_EINVAL) {
      free(v);
      return rv;
    }
    v[i] = (ordered){peers[i], ggs_peerrep_score(&s, now, NULL), i};
  }
  qsort(v, n, sizeof(*v), ordered_cmp);
  for (size_t i = 0; i < n; i++) peers[i] = v[i].peer;
  free(v);
  return GG_OK;
}
