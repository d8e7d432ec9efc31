/*
 * SQLite mirror of the Kademlia stores (include/ggen/kadstore.h).
 *
 * Addresses of a provider are stored as one blob: each binary multiaddr prefixed by its
 * varint length. Times are epoch nanoseconds in INTEGER columns. Writes are single
 * statements in autocommit mode (WAL, synchronous=NORMAL): a crash loses at most the last
 * writes, never consistency, and the DHT republishes anyway.
 */
#include "ggen/kadstore.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/varint.h"

struct ggs_kadstore {
  sqlite3 *db;
  sqlite3_stmt *rec_put, *rec_del, *prov_put, *prov_del;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA cache_size=-256;"
    "CREATE TABLE IF NOT EXISTS records(key BLOB PRIMARY KEY, value BLOB NOT NULL,"
    " received INTEGER NOT NULL, published INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS providers(key BLOB NOT NULL, peer BLOB NOT NULL,"
    " addrs BLOB NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY(key, peer)) WITHOUT ROWID;";

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
             ? GG_OK
             : GG_ESTORAGE;
}

int ggs_kadstore_open(ggs_kadstore **out, const char *path) {
  ggs_kadstore *st = calloc(1, sizeof(*st));
  if (!st) return GG_ENOMEM;
  int rv = GG_ESTORAGE;
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout(st->db, 2000);
  if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) goto fail;
  if (prep(st->db, "INSERT OR REPLACE INTO records VALUES(?,?,?,?)", &st->rec_put) ||
      prep(st->db, "DELETE FROM records WHERE key=?", &st->rec_del) ||
      prep(st->db, "INSERT OR REPLACE INTO providers VALUES(?,?,?,?)", &st->prov_put) ||
      prep(st->db, "DELETE FROM providers WHERE key=? AND peer=?", &st->prov_del))
    goto fail;
  *out = st;
  return GG_OK;
fail:
  ggs_kadstore_close(st);
  return rv;
}

void ggs_kadstore_close(ggs_kadstore *st) {
  if (!st) return;
  sqlite3_finalize(st->rec_put);
  sqlite3_finalize(st->rec_del);
  sqlite3_finalize(st->prov_put);
  sqlite3_finalize(st->prov_del);
  sqlite3_close(st->db);
  free(st);
}

static int run(sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_DONE ? GG_OK : GG_ESTORAGE;
}

int ggs_kadstore_record_put(ggs_kadstore *st, const ggp_kad_record *rec) {
  sqlite3_bind_blob(st->rec_put, 1, rec->key, (int)rec->klen, SQLITE_STATIC);
  sqlite3_bind_blob(st->rec_put, 2, rec->vlen ? (const void *)rec->val : "", (int)rec->vlen, SQLITE_STATIC);
  sqlite3_bind_int64(st->rec_put, 3, (sqlite3_int64)rec->received);
  sqlite3_bind_int(st->rec_put, 4, rec->published);
  return run(st->rec_put);
}

int ggs_kadstore_record_del(ggs_kadstore *st, const uint8_t *key, size_t klen) {
  sqlite3_bind_blob(st->rec_del, 1, key, (int)klen, SQLITE_STATIC);
  return run(st->rec_del);
}

int ggs_kadstore_provider_put(ggs_kadstore *st, const uint8_t *key, size_t klen,
                              const ggp_kad_peerinfo *prov, gg_ts expires) {
  size_t n = 0;
  for (size_t i = 0; i < prov->naddrs; i++) n += GG_VARINT_MAX + prov->addrs[i].len;
  uint8_t *blob = malloc(n + 1);
  if (!blob) return GG_ENOMEM;
  size_t off = 0;
  for (size_t i = 0; i < prov->naddrs; i++) {
    off += gg_varint_encode(prov->addrs[i].len, blob + off);
    memcpy(blob + off, prov->addrs[i].p, prov->addrs[i].len);
    off += prov->addrs[i].len;
  }
  sqlite3_bind_blob(st->prov_put, 1, key, (int)klen, SQLITE_STATIC);
  sqlite3_bind_blob(st->prov_put, 2, prov->id.b, prov->id.len, SQLITE_STATIC);
  sqlite3_bind_blob(st->prov_put, 3, blob, (int)off, SQLITE_STATIC);
  sqlite3_bind_int64(st->prov_put, 4, (sqlite3_int64)expires);
  int rv = run(st->prov_put);
  free(blob);
  return rv;
}

int ggs_kadstore_provider_del(ggs_kadstore *st, const uint8_t *key, size_t klen,
                              const gg_peerid *prov) {
  sqlite3_bind_blob(st->prov_del, 1, key, (int)klen, SQLITE_STATIC);
  sqlite3_bind_blob(st->prov_del, 2, prov->b, prov->len, SQLITE_STATIC);
  return run(st->prov_del);
}

#define MAX_LOAD_ADDRS 16

int ggs_kadstore_load(ggs_kadstore *st, ggp_kad *kad, gg_ts now, size_t *records,
                      size_t *providers) {
  size_t nr = 0, np = 0, ndead = 0;
  uint8_t **dead = NULL; /* length-prefixed keys of rows to delete after the scan */
  sqlite3_stmt *s;
  int rv = GG_OK;
  if (prep(st->db, "SELECT key, value, received, published FROM records", &s)) return GG_ESTORAGE;
  while (sqlite3_step(s) == SQLITE_ROW) {
    ggp_kad_record r;
    r.key = sqlite3_column_blob(s, 0);
    r.klen = (size_t)sqlite3_column_bytes(s, 0);
    r.val = sqlite3_column_blob(s, 1);
    r.vlen = (size_t)sqlite3_column_bytes(s, 1);
    r.received = (gg_ts)sqlite3_column_int64(s, 2);
    r.published = sqlite3_column_int(s, 3);
    if (!r.key) continue;
    if (ggp_kad_load_record(kad, &r, now) == GG_OK &&
        ggp_kad_get_local(kad, r.key, r.klen, now, NULL) == GG_OK) {
      nr++;
    } else { /* expired or no longer valid: remember to delete it */
      size_t n = (size_t)sqlite3_column_bytes(s, 0);
      uint8_t *k = malloc(n + sizeof(size_t));
      if (k) {
        memcpy(k, &n, sizeof(size_t));
        memcpy(k + sizeof(size_t), r.key, n);
        uint8_t **nd = realloc(dead, (ndead + 1) * sizeof(*nd));
        if (nd) {
          dead = nd;
          dead[ndead++] = k;
        } else {
          free(k);
        }
      }
    }
  }
  sqlite3_finalize(s);
  for (size_t i = 0; i < ndead; i++) {
    size_t n;
    memcpy(&n, dead[i], sizeof(size_t));
    if (ggs_kadstore_record_del(st, dead[i] + sizeof(size_t), n)) rv = GG_ESTORAGE;
    free(dead[i]);
  }
  free(dead);
  if (prep(st->db, "SELECT key, peer, addrs, expires FROM providers WHERE expires > ?", &s))
    return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
  while (sqlite3_step(s) == SQLITE_ROW) {
    ggp_kad_peerinfo pi;
    const uint8_t *key = sqlite3_column_blob(s, 0);
    size_t klen = (size_t)sqlite3_column_bytes(s, 0);
    if (!key || gg_peerid_from_bytes(&pi.id, sqlite3_column_blob(s, 1),
                                     (size_t)sqlite3_column_bytes(s, 1)) != GG_OK)
      continue;
    const uint8_t *b = sqlite3_column_blob(s, 2);
    size_t blen = (size_t)sqlite3_column_bytes(s, 2), off = 0;
    gg_slice a[MAX_LOAD_ADDRS];
    pi.naddrs = 0;
    while (off < blen && pi.naddrs < MAX_LOAD_ADDRS) {
      uint64_t l;
      int k = gg_varint_decode(b + off, blen - off, &l);
      if (k <= 0 || l > blen - off - (size_t)k) break;
      a[pi.naddrs].p = b + off + k;
      a[pi.naddrs].len = (size_t)l;
      pi.naddrs++;
      off += (size_t)k + (size_t)l;
    }
    pi.addrs = a;
    if (ggp_kad_load_provider(kad, key, klen, &pi, (gg_ts)sqlite3_column_int64(s, 3), now) == GG_OK)
      np++;
  }
  sqlite3_finalize(s);
  if (prep(st->db, "DELETE FROM providers WHERE expires <= ?", &s)) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
  if (sqlite3_step(s) != SQLITE_DONE) rv = GG_ESTORAGE;
  sqlite3_finalize(s);
  if (records) *records = nr;
  if (providers) *providers = np;
  return rv;
}
