/*
 * Content-addressed blob store (include/ggen/blobstore.h, docs/blobstore.md).
 *
 * Files: <dir>/blobs/<xy>/<cid text> hold the blobs, <dir>/tmp/ writes in progress,
 * <dir>/index.db the SQLite index:
 *   blob(cid BLOB PRIMARY KEY, size, used, added)  -- one row per blob; `used` orders eviction
 *   meta(k PRIMARY KEY, v)                          -- entries, bytes, hits, misses, budget
 * `entries` and `bytes` are maintained in the same transaction as every row change, so stats
 * and the budget check never scan the table; gc recomputes them from the rows after
 * reconciling rows with files.
 *
 * Invariants: a blob file is only ever created by rename() of a complete, fsync'd temp file
 * whose sha2-256 matched its name, so a visible blob is complete; a temp file is flock'ed by
 * its writer until renamed or removed, which is how gc tells abandoned temps from live ones.
 * The file system decides whether a blob exists (get opens the file, never asks the index);
 * the index may briefly lag (a crash between rename and insert, pending touches) and gc
 * repairs it.
 *
 * Reads are the hot path (<= 50 us target): validate the CID, format its name, openat, fstat,
 * and record the touch in memory. Touches and hit/miss counters are written to the index in
 * one transaction every FLUSH_EVERY reads and on stats/gc/clean/close.
 */
#include "ggen/blobstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/multibase.h"

#define FLUSH_EVERY 256
#define NAME_MAX_LEN 64             /* 'b' + 58 base32 characters + NUL fits */
#define TEMP_GRACE_NS 60000000000ll /* gc leaves temps younger than 60 s alone */
#define IO_CHUNK 65536

typedef struct touch {
  uint8_t cid[GGS_BLOB_CID_LEN];
  uint64_t size;
  int64_t tick;
} touch;

struct ggs_blob_store {
  const gg_mem *mem;
  char *dir;
  int blobsfd, tmpfd;
  sqlite3 *db;
  sqlite3_stmt *st_use, *st_touch, *st_insert, *st_delete, *st_size, *st_meta_add, *st_meta_get,
      *st_lru;
  uint64_t budget;
  int64_t last_tick;
  touch pend[FLUSH_EVERY];
  size_t npend;
  uint64_t hits, misses; /* not yet written to the index */
};

/* ---- names ----------------------------------------------------------------------------- */

static int cid_valid(const uint8_t *cid) {
  return cid != NULL && cid[0] == 0x01 && cid[1] == 0x55 && cid[2] == 0x12 && cid[3] == 0x20;
}

/* "xy/<cid text>" relative to blobs/, and the offset of the file name in it. */
static int blob_rel(const uint8_t *cid, char out[NAME_MAX_LEN + 3], size_t *name_off) {
  if (!cid_valid(cid)) return GG_EINVAL;
  /* RFC 4648 base32, lower case, no padding: the multibase 'b' form, written here because
   * this is the read hot path and must not allocate */
  static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
  char name[NAME_MAX_LEN];
  size_t o = 0;
  name[o++] = 'b';
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < GGS_BLOB_CID_LEN; i++) {
    acc = (acc << 8) | cid[i];
    bits += 8;
    while (bits >= 5) {
      name[o++] = alpha[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) name[o++] = alpha[(acc << (5 - bits)) & 31];
  name[o] = '\0';
  out[0] = name[o - 2];
  out[1] = name[o - 1];
  out[2] = '/';
  memcpy(out + 3, name, o + 1);
  *name_off = 3;
  return GG_OK;
}

/* Parses a blob file name back into a CID; 0 when it is not one of ours. */
static int name_to_cid(const char *name, uint8_t cid[GGS_BLOB_CID_LEN]) {
  size_t n = strlen(name);
  if (n != 59 || name[0] != 'b') return 0;
  gg_buf b;
  gg_buf_init(&b, NULL, 64);
  int ok = gg_multibase_decode(name, n, &b, NULL) == GG_OK && gg_buf_len(&b) == GGS_BLOB_CID_LEN &&
           cid_valid(gg_buf_ptr(&b));
  if (ok) memcpy(cid, gg_buf_ptr(&b), GGS_BLOB_CID_LEN);
  gg_buf_free(&b);
  if (!ok) return 0;
  /* only the canonical (lower-case) spelling is ours */
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  blob_rel(cid, rel, &off);
  return strcmp(rel + off, name) == 0;
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Strictly increasing use stamps: wall-clock ns, bumped past the previous one. */
static int64_t next_tick(ggs_blob_store *st) {
  int64_t t = wall_ns();
  if (t <= st->last_tick) t = st->last_tick + 1;
  st->last_tick = t;
  return t;
}

/* ---- index ------------------------------------------------------------------------------ */

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS blob(cid BLOB PRIMARY KEY, size INTEGER NOT NULL,"
    " used INTEGER NOT NULL, added INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS blob_used ON blob(used);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta VALUES('schema',1),('entries',0),('bytes',0),('hits',0),"
    "('misses',0),('budget',1073741824);";

static int sql_exec(ggs_blob_store *st, const char *sql) {
  return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? GG_OK : GG_ESTORAGE;
}

static int meta_add(ggs_blob_store *st, const char *k, int64_t delta) {
  if (delta == 0) return GG_OK;
  sqlite3_stmt *s = st->st_meta_add;
  sqlite3_bind_int64(s, 1, delta);
  sqlite3_bind_text(s, 2, k, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? GG_OK : GG_ESTORAGE;
}

static int meta_get(ggs_blob_store *st, const char *k, uint64_t *v) {
  sqlite3_stmt *s = st->st_meta_get;
  sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *v = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? GG_OK : GG_ESTORAGE;
}

/* Size recorded for cid: GG_OK, GG_ENOTFOUND, GG_ESTORAGE. */
static int row_size(ggs_blob_store *st, const uint8_t *cid, uint64_t *size) {
  sqlite3_stmt *s = st->st_size;
  sqlite3_bind_blob(s, 1, cid, GGS_BLOB_CID_LEN, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *size = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? GG_OK : rc == SQLITE_DONE ? GG_ENOTFOUND : GG_ESTORAGE;
}

/* Inserts a row (or refreshes it) keeping entries/bytes right. Inside a transaction. */
static int row_put(ggs_blob_store *st, const uint8_t *cid, uint64_t size, int64_t used) {
  uint64_t old;
  int rv = row_size(st, cid, &old);
  if (rv == GG_OK) {
    sqlite3_stmt *s = st->st_touch;
    sqlite3_bind_int64(s, 1, used);
    sqlite3_bind_int64(s, 2, (int64_t)size);
    sqlite3_bind_blob(s, 3, cid, GGS_BLOB_CID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return GG_ESTORAGE;
    return meta_add(st, "bytes", (int64_t)size - (int64_t)old);
  }
  if (rv != GG_ENOTFOUND) return rv;
  sqlite3_stmt *s = st->st_insert;
  sqlite3_bind_blob(s, 1, cid, GGS_BLOB_CID_LEN, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (int64_t)size);
  sqlite3_bind_int64(s, 3, used);
  sqlite3_bind_int64(s, 4, wall_ns());
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return GG_ESTORAGE;
  rv = meta_add(st, "entries", 1);
  if (rv == GG_OK) rv = meta_add(st, "bytes", (int64_t)size);
  return rv;
}

/* Deletes a row if present, keeping entries/bytes right. Inside a transaction. */
static int row_del(ggs_blob_store *st, const uint8_t *cid) {
  uint64_t old;
  int rv = row_size(st, cid, &old);
  if (rv == GG_ENOTFOUND) return GG_OK;
  if (rv != GG_OK) return rv;
  sqlite3_stmt *s = st->st_delete;
  sqlite3_bind_blob(s, 1, cid, GGS_BLOB_CID_LEN, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return GG_ESTORAGE;
  rv = meta_add(st, "entries", -1);
  if (rv == GG_OK) rv = meta_add(st, "bytes", -(int64_t)old);
  return rv;
}

static int begin(ggs_blob_store *st) { return sql_exec(st, "BEGIN IMMEDIATE"); }

static int end(ggs_blob_store *st, int rv) {
  if (rv == GG_OK) {
    if (sql_exec(st, "COMMIT") == GG_OK) return GG_OK;
    rv = GG_ESTORAGE;
  }
  sql_exec(st, "ROLLBACK");
  return rv;
}

/* Writes pending touches and counters. */
static int flush(ggs_blob_store *st) {
  if (st->npend == 0 && st->hits == 0 && st->misses == 0) return GG_OK;
  int rv = begin(st);
  if (rv != GG_OK) return rv;
  for (size_t i = 0; i < st->npend && rv == GG_OK; i++) {
    touch *t = &st->pend[i];
    sqlite3_stmt *s = st->st_use;
    sqlite3_bind_int64(s, 1, t->tick);
    sqlite3_bind_blob(s, 2, t->cid, GGS_BLOB_CID_LEN, SQLITE_STATIC);
    rv = sqlite3_step(s) == SQLITE_DONE ? GG_OK : GG_ESTORAGE;
    sqlite3_reset(s);
    if (rv == GG_OK && sqlite3_changes(st->db) == 0) {
      /* a blob without a row (crash after rename): adopt it if the file is still there */
      char rel[NAME_MAX_LEN + 3];
      size_t off;
      struct stat sb;
      blob_rel(t->cid, rel, &off);
      rv = fstatat(st->blobsfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0
               ? row_put(st, t->cid, (uint64_t)sb.st_size, t->tick)
               : GG_OK;
    }
  }
  if (rv == GG_OK) rv = meta_add(st, "hits", (int64_t)st->hits);
  if (rv == GG_OK) rv = meta_add(st, "misses", (int64_t)st->misses);
  rv = end(st, rv);
  if (rv == GG_OK) {
    st->npend = 0;
    st->hits = st->misses = 0;
  }
  return rv;
}

static void note_touch(ggs_blob_store *st, const uint8_t *cid, uint64_t size) {
  if (st->npend == FLUSH_EVERY) flush(st); /* on failure the oldest touches are overwritten */
  if (st->npend == FLUSH_EVERY) st->npend = 0;
  touch *t = &st->pend[st->npend++];
  memcpy(t->cid, cid, GGS_BLOB_CID_LEN);
  t->size = size;
  t->tick = next_tick(st);
}

/* ---- open / close -------------------------------------------------------------------------- */

static int mkdir_p(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(buf)) return GG_EINVAL;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0700) != 0 && errno != EEXIST) return GG_EIO;
      buf[i] = c;
    }
  }
  return GG_OK;
}

static void finalize_all(ggs_blob_store *st) {
  sqlite3_stmt **v[] = {&st->st_use,  &st->st_touch,    &st->st_insert,   &st->st_delete,
                        &st->st_size, &st->st_meta_add, &st->st_meta_get, &st->st_lru};
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    sqlite3_finalize(*v[i]);
    *v[i] = NULL;
  }
}

static void store_free(ggs_blob_store *st) {
  finalize_all(st);
  if (st->db) sqlite3_close(st->db);
  if (st->blobsfd >= 0) close(st->blobsfd);
  if (st->tmpfd >= 0) close(st->tmpfd);
  gg_free(st->mem, st->dir);
  gg_free(st->mem, st);
}

int ggs_blob_open(ggs_blob_store **out, const char *dir, const ggs_blob_settings *s,
                  const gg_mem *mem) {
  if (out == NULL || dir == NULL) return GG_EINVAL;
  ggs_blob_store *st = gg_calloc(mem, 1, sizeof(*st));
  if (st == NULL) return GG_ENOMEM;
  st->mem = mem;
  st->blobsfd = st->tmpfd = -1;
  st->dir = gg_strdup(mem, dir);
  char path[4096];
  int rv = st->dir ? mkdir_p(dir) : GG_ENOMEM;
  if (rv == GG_OK) {
    snprintf(path, sizeof(path), "%s/blobs", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) rv = GG_EIO;
    st->blobsfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) rv = GG_EIO;
    st->tmpfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->blobsfd < 0 || st->tmpfd < 0) rv = GG_EIO;
  }
  if (rv == GG_OK) {
    snprintf(path, sizeof(path), "%s/index.db", dir);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
      rv = GG_ESTORAGE;
  }
  if (rv == GG_OK) {
    sqlite3_busy_timeout(st->db, 5000);
    rv = sql_exec(st, schema);
  }
  static const struct {
    size_t off;
    const char *sql;
  } stmts[] = {
      {offsetof(ggs_blob_store, st_use), "UPDATE blob SET used=max(used,?1) WHERE cid=?2"},
      {offsetof(ggs_blob_store, st_touch),
       "UPDATE blob SET used=max(used,?1), size=?2 WHERE cid=?3"},
      {offsetof(ggs_blob_store, st_insert),
       "INSERT INTO blob(cid,size,used,added) VALUES(?,?,?,?)"},
      {offsetof(ggs_blob_store, st_delete), "DELETE FROM blob WHERE cid=?"},
      {offsetof(ggs_blob_store, st_size), "SELECT size FROM blob WHERE cid=?"},
      {offsetof(ggs_blob_store, st_meta_add), "UPDATE meta SET v=v+?1 WHERE k=?2"},
      {offsetof(ggs_blob_store, st_meta_get), "SELECT v FROM meta WHERE k=?"},
      {offsetof(ggs_blob_store, st_lru), "SELECT cid FROM blob ORDER BY used ASC LIMIT 64"},
  };
  for (size_t i = 0; rv == GG_OK && i < sizeof(stmts) / sizeof(stmts[0]); i++) {
    sqlite3_stmt **p = (sqlite3_stmt **)((char *)st + stmts[i].off);
    if (sqlite3_prepare_v2(st->db, stmts[i].sql, -1, p, NULL) != SQLITE_OK) rv = GG_ESTORAGE;
  }
  if (rv == GG_OK && s != NULL && s->budget != 0) {
    char sql[96];
    snprintf(sql, sizeof(sql), "UPDATE meta SET v=%llu WHERE k='budget'",
             (unsigned long long)s->budget);
    rv = sql_exec(st, sql);
  }
  if (rv == GG_OK) rv = meta_get(st, "budget", &st->budget);
  if (rv != GG_OK) {
    store_free(st);
    return rv;
  }
  *out = st;
  return GG_OK;
}

void ggs_blob_close(ggs_blob_store *st) {
  if (st == NULL) return;
  flush(st);
  store_free(st);
}

/* ---- removal and eviction ------------------------------------------------------------------- */

/* Removes file and row of cid (either may be missing). Inside a transaction when txn. */
static int remove_blob(ggs_blob_store *st, const uint8_t *cid) {
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  int rv = blob_rel(cid, rel, &off);
  if (rv != GG_OK) return rv;
  if (unlinkat(st->blobsfd, rel, 0) != 0 && errno != ENOENT) return GG_EIO;
  return row_del(st, cid);
}

/* Evicts least-recently-used blobs until bytes <= budget, never `keep`. Inside a txn. */
static int evict(ggs_blob_store *st, const uint8_t *keep, uint64_t *count, uint64_t *bytes) {
  for (;;) {
    uint64_t total;
    int rv = meta_get(st, "bytes", &total);
    if (rv != GG_OK) return rv;
    if (total <= st->budget) return GG_OK;
    uint8_t batch[64][GGS_BLOB_CID_LEN];
    size_t n = 0;
    sqlite3_stmt *s = st->st_lru;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 64) {
      const void *c = sqlite3_column_blob(s, 0);
      if (sqlite3_column_bytes(s, 0) != GGS_BLOB_CID_LEN) continue;
      if (keep && memcmp(c, keep, GGS_BLOB_CID_LEN) == 0) continue;
      memcpy(batch[n++], c, GGS_BLOB_CID_LEN);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return GG_ESTORAGE;
    if (n == 0) return GG_OK; /* only `keep` is left */
    for (size_t i = 0; i < n; i++) {
      uint64_t size = 0;
      row_size(st, batch[i], &size);
      rv = remove_blob(st, batch[i]);
      if (rv != GG_OK) return rv;
      if (count) (*count)++;
      if (bytes) *bytes += size;
      rv = meta_get(st, "bytes", &total);
      if (rv != GG_OK) return rv;
      if (total <= st->budget) return GG_OK;
    }
  }
}

/* ---- writes ---------------------------------------------------------------------------------- */

typedef int (*reader_fn)(void *ud, uint8_t *buf, size_t cap, size_t *got);

/* Streams the reader into a locked temp file, hashing; then checks, renames and indexes. */
static int put_stream(ggs_blob_store *st, reader_fn rd, void *ud, const uint8_t *expect,
                      uint8_t *cid_out) {
  if (expect != NULL && !cid_valid(expect)) return GG_EINVAL;
  char tmpname[64];
  snprintf(tmpname, sizeof(tmpname), "put-%016llx",
           (unsigned long long)randombytes_random() << 32 | randombytes_random());
  int fd = openat(st->tmpfd, tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return GG_EIO;
  /* held until the temp file is renamed or removed: gc skips locked temps */
  flock(fd, LOCK_EX);
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  uint8_t *buf = gg_malloc(st->mem, IO_CHUNK);
  uint64_t size = 0;
  int rv = buf ? GG_OK : GG_ENOMEM;
  while (rv == GG_OK) {
    size_t got = 0;
    rv = rd(ud, buf, IO_CHUNK, &got);
    if (rv != GG_OK || got == 0) break;
    size += got;
    if (size > st->budget) {
      rv = GG_ELIMIT; /* could never stay in the store */
      break;
    }
    crypto_hash_sha256_update(&h, buf, got);
    for (size_t off = 0; off < got;) {
      ssize_t w = write(fd, buf + off, got - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        rv = GG_EIO;
        break;
      }
      off += (size_t)w;
    }
  }
  gg_free(st->mem, buf);
  uint8_t cid[GGS_BLOB_CID_LEN] = {0x01, 0x55, 0x12, 0x20};
  if (rv == GG_OK) {
    crypto_hash_sha256_final(&h, cid + 4);
    if (expect != NULL && memcmp(cid, expect, GGS_BLOB_CID_LEN) != 0) rv = GG_EINTEGRITY;
  }
  char rel[NAME_MAX_LEN + 3];
  size_t off = 0;
  if (rv == GG_OK) rv = blob_rel(cid, rel, &off);
  if (rv == GG_OK && fsync(fd) != 0) rv = GG_EIO;
  int shardfd = -1;
  if (rv == GG_OK) {
    rel[2] = '\0';
    if (mkdirat(st->blobsfd, rel, 0700) != 0 && errno != EEXIST) rv = GG_EIO;
    shardfd = openat(st->blobsfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    rel[2] = '/';
    if (rv == GG_OK && shardfd < 0) rv = GG_EIO;
  }
  if (rv == GG_OK) {
    /* an existing blob of the same name has the same content (or is corrupt and gets
     * replaced by a verified copy): rename over it is right either way */
    if (renameat(st->tmpfd, tmpname, shardfd, rel + off) != 0)
      rv = GG_EIO;
    else if (fsync(shardfd) != 0)
      rv = GG_EIO;
  }
  if (shardfd >= 0) close(shardfd);
  if (rv != GG_OK) unlinkat(st->tmpfd, tmpname, 0);
  close(fd);
  if (rv != GG_OK) return rv;
  /* eviction orders by the index: pending touches must be in it first */
  rv = flush(st);
  if (rv == GG_OK) rv = begin(st);
  if (rv == GG_OK) rv = row_put(st, cid, size, next_tick(st));
  if (rv == GG_OK) rv = evict(st, cid, NULL, NULL);
  rv = end(st, rv);
  if (rv == GG_OK && cid_out) memcpy(cid_out, cid, GGS_BLOB_CID_LEN);
  return rv;
}

typedef struct memrd {
  const uint8_t *p;
  size_t n, off;
} memrd;

static int mem_read(void *ud, uint8_t *buf, size_t cap, size_t *got) {
  memrd *m = ud;
  size_t k = m->n - m->off < cap ? m->n - m->off : cap;
  memcpy(buf, m->p + m->off, k);
  m->off += k;
  *got = k;
  return GG_OK;
}

static int fd_read(void *ud, uint8_t *buf, size_t cap, size_t *got) {
  for (;;) {
    ssize_t k = read(*(int *)ud, buf, cap);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return GG_EIO;
    *got = (size_t)k;
    return GG_OK;
  }
}

int ggs_blob_put(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], const void *data,
                 size_t len) {
  if (st == NULL || !cid_valid(cid) || (data == NULL && len > 0)) return GG_EINVAL;
  uint8_t d[32];
  crypto_hash_sha256(d, data, len);
  if (memcmp(d, cid + 4, 32) != 0) return GG_EINTEGRITY;
  if (len > st->budget) return GG_ELIMIT;
  /* already present with the right size: only a touch */
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  struct stat sb;
  blob_rel(cid, rel, &off);
  if (fstatat(st->blobsfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
      (uint64_t)sb.st_size == len) {
    note_touch(st, cid, len);
    return GG_OK;
  }
  memrd m = {data, len, 0};
  return put_stream(st, mem_read, &m, cid, NULL);
}

int ggs_blob_put_fd(ggs_blob_store *st, int fd, const uint8_t *expect, uint8_t *cid_out) {
  if (st == NULL || fd < 0) return GG_EINVAL;
  return put_stream(st, fd_read, &fd, expect, cid_out);
}

int ggs_blob_put_file(ggs_blob_store *st, const char *path, const uint8_t *expect,
                      uint8_t *cid_out) {
  if (st == NULL || path == NULL) return GG_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  int rv = ggs_blob_put_fd(st, fd, expect, cid_out);
  close(fd);
  return rv;
}

/* ---- reads ------------------------------------------------------------------------------------
 */

/* Hashes fd from offset 0 and compares with cid. GG_OK, GG_EINTEGRITY, GG_EIO. */
static int hash_check(ggs_blob_store *st, int fd, const uint8_t *cid) {
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  uint8_t *buf = gg_malloc(st->mem, IO_CHUNK);
  if (buf == NULL) return GG_ENOMEM;
  int rv = GG_OK;
  off_t pos = 0;
  for (;;) {
    ssize_t k = pread(fd, buf, IO_CHUNK, pos);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rv = GG_EIO;
      break;
    }
    if (k == 0) break;
    crypto_hash_sha256_update(&h, buf, (size_t)k);
    pos += k;
  }
  gg_free(st->mem, buf);
  if (rv != GG_OK) return rv;
  uint8_t d[32];
  crypto_hash_sha256_final(&h, d);
  return memcmp(d, cid + 4, 32) == 0 ? GG_OK : GG_EINTEGRITY;
}

static int drop_corrupt(ggs_blob_store *st, const uint8_t *cid) {
  int rv = begin(st);
  if (rv == GG_OK) rv = remove_blob(st, cid);
  end(st, rv);
  return GG_EINTEGRITY;
}

int ggs_blob_get(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], unsigned flags, int *fd,
                 uint64_t *size) {
  if (st == NULL || fd == NULL) return GG_EINVAL;
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  if (blob_rel(cid, rel, &off) != GG_OK) return GG_EINVAL;
  int f = openat(st->blobsfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0) {
    if (errno != ENOENT) return GG_EIO;
    st->misses++;
    return GG_ENOTFOUND;
  }
  struct stat sb;
  if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(f);
    return GG_EIO;
  }
  if (flags & GGS_BLOB_VERIFY) {
    int rv = hash_check(st, f, cid);
    if (rv != GG_OK) {
      close(f);
      return rv == GG_EINTEGRITY ? drop_corrupt(st, cid) : rv;
    }
  }
  st->hits++;
  note_touch(st, cid, (uint64_t)sb.st_size);
  *fd = f;
  if (size) *size = (uint64_t)sb.st_size;
  return GG_OK;
}

int ggs_blob_has(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]) {
  if (st == NULL) return GG_EINVAL;
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  if (blob_rel(cid, rel, &off) != GG_OK) return GG_EINVAL;
  struct stat sb;
  return fstatat(st->blobsfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? GG_OK : GG_ENOTFOUND;
}

int ggs_blob_path(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN], char *buf, size_t cap) {
  if (st == NULL || buf == NULL) return GG_EINVAL;
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  if (blob_rel(cid, rel, &off) != GG_OK) return GG_EINVAL;
  int n = snprintf(buf, cap, "%s/blobs/%s", st->dir, rel);
  return n < 0 || (size_t)n >= cap ? GG_ETOOBIG : GG_OK;
}

int ggs_blob_verify(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]) {
  if (st == NULL) return GG_EINVAL;
  char rel[NAME_MAX_LEN + 3];
  size_t off;
  if (blob_rel(cid, rel, &off) != GG_OK) return GG_EINVAL;
  int f = openat(st->blobsfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0) return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  int rv = hash_check(st, f, cid);
  close(f);
  return rv == GG_EINTEGRITY ? drop_corrupt(st, cid) : rv;
}

int ggs_blob_each(ggs_blob_store *st,
                  int (*fn)(void *ud, const uint8_t cid[GGS_BLOB_CID_LEN], uint64_t size),
                  void *ud) {
  if (st == NULL || fn == NULL) return GG_EINVAL;
  int rv = flush(st); /* pending use times decide the order */
  if (rv != GG_OK) return rv;
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT cid, size FROM blob ORDER BY used DESC", -1, &s, NULL) !=
      SQLITE_OK)
    return GG_ESTORAGE;
  /* collected first: fn may use the store (and its connection) */
  typedef struct ent {
    uint8_t cid[GGS_BLOB_CID_LEN];
    uint64_t size;
  } ent;
  ent *v = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 0) != GGS_BLOB_CID_LEN) continue;
    const uint8_t *cid = sqlite3_column_blob(s, 0);
    char rel[NAME_MAX_LEN + 3];
    size_t off;
    struct stat sb;
    if (blob_rel(cid, rel, &off) != GG_OK ||
        fstatat(st->blobsfd, rel, &sb, AT_SYMLINK_NOFOLLOW) != 0)
      continue; /* gone since (gc reconciles the index) */
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      ent *nv = gg_realloc(st->mem, v, ncap * sizeof(*v));
      if (nv == NULL) {
        rv = GG_ENOMEM;
        break;
      }
      v = nv;
      cap = ncap;
    }
    memcpy(v[n].cid, cid, GGS_BLOB_CID_LEN);
    v[n].size = (uint64_t)sqlite3_column_int64(s, 1);
    n++;
  }
  if (rv == GG_OK && rc != SQLITE_DONE) rv = GG_ESTORAGE;
  sqlite3_finalize(s);
  for (size_t i = 0; i < n && rv == GG_OK; i++) rv = fn(ud, v[i].cid, v[i].size);
  gg_free(st->mem, v);
  return rv;
}

int ggs_blob_remove(ggs_blob_store *st, const uint8_t cid[GGS_BLOB_CID_LEN]) {
  if (st == NULL || !cid_valid(cid)) return GG_EINVAL;
  if (ggs_blob_has(st, cid) != GG_OK) {
    uint64_t size;
    if (row_size(st, cid, &size) != GG_OK) return GG_ENOTFOUND;
  }
  int rv = begin(st);
  if (rv == GG_OK) rv = remove_blob(st, cid);
  return end(st, rv);
}

/* ---- stats, gc, clean --------------------------------------------------------------------------
 */

int ggs_blob_stats_get(ggs_blob_store *st, ggs_blob_stats *out) {
  if (st == NULL || out == NULL) return GG_EINVAL;
  memset(out, 0, sizeof(*out));
  int rv = flush(st);
  if (rv == GG_OK) rv = meta_get(st, "entries", &out->entries);
  if (rv == GG_OK) rv = meta_get(st, "bytes", &out->bytes);
  if (rv == GG_OK) rv = meta_get(st, "hits", &out->hits);
  if (rv == GG_OK) rv = meta_get(st, "misses", &out->misses);
  if (rv == GG_OK) rv = meta_get(st, "budget", &out->budget);
  if (rv == GG_OK && out->hits + out->misses > 0)
    out->hit_rate = (double)out->hits / (double)(out->hits + out->misses);
  return rv;
}

/* Removes temp files no writer holds (older than min_age_ns). */
static int sweep_temps(ggs_blob_store *st, int64_t min_age_ns, uint64_t *count) {
  int dfd = dup(st->tmpfd);
  if (dfd < 0) return GG_EIO;
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return GG_EIO;
  }
  rewinddir(d);
  int64_t now = wall_ns();
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    int f = openat(st->tmpfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (f < 0) continue;
    struct stat sb;
    int old = fstat(f, &sb) == 0 &&
              now - ((int64_t)sb.st_mtim.tv_sec * 1000000000ll + sb.st_mtim.tv_nsec) >= min_age_ns;
    if (old && flock(f, LOCK_EX | LOCK_NB) == 0) {
      if (unlinkat(st->tmpfd, de->d_name, 0) == 0 && count) (*count)++;
    }
    close(f);
  }
  closedir(d);
  return GG_OK;
}

/* Makes rows and files agree: adopts files without rows (as least recently used), drops rows
 * without files, removes files that are not blobs or whose size disagrees with their row
 * (corrupt). Recomputes entries/bytes. Inside a transaction. */
static int reconcile(ggs_blob_store *st, uint64_t *fixed, uint64_t *corrupt) {
  int rv = GG_OK;
  int dfd = dup(st->blobsfd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (d == NULL) {
    if (dfd >= 0) close(dfd);
    return GG_EIO;
  }
  rewinddir(d);
  struct dirent *de;
  while (rv == GG_OK && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    int sfd = openat(st->blobsfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (sfd < 0) { /* not a shard directory: not ours */
      if (unlinkat(st->blobsfd, de->d_name, 0) == 0 && fixed) (*fixed)++;
      continue;
    }
    DIR *sd = fdopendir(sfd);
    if (sd == NULL) {
      close(sfd);
      rv = GG_EIO;
      break;
    }
    struct dirent *fe;
    while (rv == GG_OK && (fe = readdir(sd)) != NULL) {
      if (!strcmp(fe->d_name, ".") || !strcmp(fe->d_name, "..")) continue;
      uint8_t cid[GGS_BLOB_CID_LEN];
      struct stat sb;
      char rel[NAME_MAX_LEN + 3];
      size_t off;
      int ours = name_to_cid(fe->d_name, cid) && blob_rel(cid, rel, &off) == GG_OK &&
                 !strncmp(rel, de->d_name, 2) && strlen(de->d_name) == 2 &&
                 fstatat(dirfd(sd), fe->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                 S_ISREG(sb.st_mode);
      if (!ours) {
        if (unlinkat(dirfd(sd), fe->d_name, 0) == 0 && fixed) (*fixed)++;
        continue;
      }
      uint64_t size;
      int r = row_size(st, cid, &size);
      if (r == GG_ENOTFOUND) {
        rv = row_put(st, cid, (uint64_t)sb.st_size, 0);
        if (fixed) (*fixed)++;
      } else if (r == GG_OK && size != (uint64_t)sb.st_size) {
        rv = remove_blob(st, cid);
        if (corrupt) (*corrupt)++;
      } else if (r != GG_OK) {
        rv = r;
      }
    }
    closedir(sd);
  }
  closedir(d);
  if (rv != GG_OK) return rv;
  /* rows whose file is gone */
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT cid FROM blob", -1, &s, NULL) != SQLITE_OK)
    return GG_ESTORAGE;
  uint8_t(*gone)[GGS_BLOB_CID_LEN] = NULL;
  size_t ngone = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 0) != GGS_BLOB_CID_LEN) continue;
    const uint8_t *cid = sqlite3_column_blob(s, 0);
    char rel[NAME_MAX_LEN + 3];
    size_t off;
    struct stat sb;
    if (blob_rel(cid, rel, &off) == GG_OK &&
        fstatat(st->blobsfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0)
      continue;
    if (ngone == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      void *n = gg_realloc(st->mem, gone, ncap * sizeof(*gone));
      if (n == NULL) {
        rv = GG_ENOMEM;
        break;
      }
      gone = n;
      cap = ncap;
    }
    memcpy(gone[ngone++], cid, GGS_BLOB_CID_LEN);
  }
  if (rv == GG_OK && rc != SQLITE_DONE) rv = GG_ESTORAGE;
  sqlite3_finalize(s);
  for (size_t i = 0; rv == GG_OK && i < ngone; i++) {
    rv = row_del(st, gone[i]);
    if (fixed) (*fixed)++;
  }
  gg_free(st->mem, gone);
  if (rv == GG_OK)
    rv = sql_exec(st, "UPDATE meta SET v=(SELECT count(*) FROM blob) WHERE k='entries';"
                      "UPDATE meta SET v=(SELECT coalesce(sum(size),0) FROM blob) WHERE k='bytes'");
  return rv;
}

/* Hashes every blob; removes the corrupt ones. Inside a transaction. */
static int verify_all(ggs_blob_store *st, uint64_t *corrupt) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT cid FROM blob", -1, &s, NULL) != SQLITE_OK)
    return GG_ESTORAGE;
  uint8_t(*bad)[GGS_BLOB_CID_LEN] = NULL;
  size_t nbad = 0, cap = 0;
  int rv = GG_OK, rc;
  while (rv == GG_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 0) != GGS_BLOB_CID_LEN) continue;
    const uint8_t *cid = sqlite3_column_blob(s, 0);
    char rel[NAME_MAX_LEN + 3];
    size_t off;
    if (blob_rel(cid, rel, &off) != GG_OK) continue;
    int f = openat(st->blobsfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) continue;
    int r = hash_check(st, f, cid);
    close(f);
    if (r == GG_EINTEGRITY) {
      if (nbad == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        void *n = gg_realloc(st->mem, bad, ncap * sizeof(*bad));
        if (n == NULL) {
          rv = GG_ENOMEM;
          break;
        }
        bad = n;
        cap = ncap;
      }
      memcpy(bad[nbad++], cid, GGS_BLOB_CID_LEN);
    } else if (r != GG_OK) {
      rv = r;
    }
  }
  sqlite3_finalize(s);
  for (size_t i = 0; rv == GG_OK && i < nbad; i++) {
    rv = remove_blob(st, bad[i]);
    if (corrupt) (*corrupt)++;
  }
  gg_free(st->mem, bad);
  return rv;
}

int ggs_blob_gc(ggs_blob_store *st, unsigned flags, ggs_blob_gc_result *res) {
  if (st == NULL) return GG_EINVAL;
  ggs_blob_gc_result scratch;
  if (res == NULL) res = &scratch;
  memset(res, 0, sizeof(*res));
  int rv = flush(st);
  if (rv == GG_OK) rv = sweep_temps(st, TEMP_GRACE_NS, &res->temps);
  if (rv == GG_OK) rv = begin(st);
  if (rv != GG_OK) return rv;
  rv = meta_get(st, "budget", &st->budget); /* another process may have changed it */
  if (rv == GG_OK) rv = reconcile(st, &res->reconciled, &res->corrupt);
  if (rv == GG_OK && (flags & GGS_BLOB_GC_VERIFY)) rv = verify_all(st, &res->corrupt);
  if (rv == GG_OK) rv = evict(st, NULL, &res->evicted, &res->evicted_bytes);
  return end(st, rv);
}

int ggs_blob_clean(ggs_blob_store *st) {
  if (st == NULL) return GG_EINVAL;
  st->npend = 0;
  st->hits = st->misses = 0;
  int rv = sweep_temps(st, 0, NULL);
  if (rv != GG_OK) return rv;
  int dfd = dup(st->blobsfd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (d == NULL) {
    if (dfd >= 0) close(dfd);
    return GG_EIO;
  }
  rewinddir(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    int sfd = openat(st->blobsfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (sfd < 0) {
      if (unlinkat(st->blobsfd, de->d_name, 0) != 0) rv = GG_EIO;
      continue;
    }
    DIR *sd = fdopendir(sfd);
    if (sd == NULL) {
      close(sfd);
      rv = GG_EIO;
      continue;
    }
    struct dirent *fe;
    while ((fe = readdir(sd)) != NULL)
      if (strcmp(fe->d_name, ".") && strcmp(fe->d_name, "..") &&
          unlinkat(dirfd(sd), fe->d_name, 0) != 0)
        rv = GG_EIO;
    closedir(sd);
    if (unlinkat(st->blobsfd, de->d_name, AT_REMOVEDIR) != 0) rv = GG_EIO;
  }
  closedir(d);
  int r = begin(st);
  if (r == GG_OK)
    r = sql_exec(st, "DELETE FROM blob; UPDATE meta SET v=0 WHERE k IN "
                     "('entries','bytes','hits','misses')");
  r = end(st, r);
  return rv != GG_OK ? rv : r;
}
