/*
 * The installer's file-system side (src/market/install_int.h, docs/install.md): the project
 * lock, transactions with a journal, recovery, and placing pack trees (hard links from the
 * unpacked cache, or extraction).
 *
 * On-disk protocol of a transaction (paths relative to the project):
 *   1. .ggen/.staging-<txid>/<id>/   new trees, built while nothing else changes;
 *   2. ggen.lock.tmp-<txid>          the new lockfile, written and fsync'd;
 *   3. syncfs                        staging and lock are durable;
 *   4. .ggen/journal                 written as journal.tmp, fsync'd, renamed: THE COMMIT;
 *   5. for each staged id: .ggen/packs/<id> -> .ggen/.trash-<txid>/<id>, then
 *      staging/<id> -> .ggen/packs/<id>; each removed id: packs/<id> -> trash/<id>;
 *   6. ggen.lock.tmp-<txid> -> ggen.lock, fsync of the directories;
 *   7. unlink .ggen/journal (the transaction is over), then remove trash and staging.
 * Recovery (under the project flock, so no live transaction exists): with a journal, redo
 * steps 5-7, each of which is idempotent because a rename either happened or did not and the
 * presence of staging/<id> says which; without one, delete every .staging-*, .trash-*,
 * journal.tmp and ggen.lock.tmp-* (a transaction that never committed, or one that finished
 * but was killed while cleaning up).
 *
 * Invariants: nothing outside .ggen/ and ggen.lock* is ever written; before the journal exists
 * the visible state (ggen.lock and .ggen/packs) is the old one; ids read back from a journal
 * are checked with the manifest id rule before they become path components.
 */
#include "install_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/extract.h"
#include "ggen/manifest.h"
#include "ggen/toml.h"

#define JOURNAL "journal"
#define JOURNAL_TMP "journal.tmp"
#define STAGING_PREFIX ".staging-"
#define TRASH_PREFIX ".trash-"
#define LOCKTMP_PREFIX "ggen.lock.tmp-"
#define MAX_DEPTH 128 /* directory depth: paths are at most 255 bytes */

/* ---- crash points ---------------------------------------------------------------------------- */

void ggm__crash_point(const char *name) {
  static int init, trace;
  static long target = -1, count;
  static const char *target_name;
  if (!init) {
    init = 1;
    const char *s = getenv("GGEN_TEST_CRASH_AT");
    if (s && *s) {
      char *end;
      long v = strtol(s, &end, 10);
      if (*end == 0 && v > 0)
        target = v;
      else
        target_name = s;
    }
    const char *t = getenv("GGEN_TEST_CRASH_TRACE");
    trace = t && *t && strcmp(t, "0") != 0;
  }
  count++;
  if (trace) fprintf(stderr, "crash-point %ld %s\n", count, name);
  if (count == target || (target_name && !strcmp(target_name, name))) {
    fprintf(stderr, "ggen: test crash at point %ld (%s)\n", count, name);
    fflush(stderr);
    _exit(GGM_CRASH_EXIT);
  }
}

/* ---- small file helpers ---------------------------------------------------------------------- */

static void setmsg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void setmsg(char *msg, size_t cap, const char *fmt, ...) {
  if (!msg || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
}

static int fsync_fd(int fd) { return fsync(fd) == 0 ? GG_OK : GG_EIO; }

static int exists_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int ggm__read_file_at(int dirfd, const char *name, gg_buf *out, size_t max) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  int rv = GG_OK;
  for (;;) {
    uint8_t *p = gg_buf_tail(out, 16384);
    if (!p) {
      rv = GG_ENOMEM;
      break;
    }
    ssize_t k = read(fd, p, 16384);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rv = GG_EIO;
      break;
    }
    if (k == 0) break;
    gg_buf_commit(out, (size_t)k);
    if (gg_buf_len(out) > max) {
      rv = GG_ELIMIT;
      break;
    }
  }
  close(fd);
  return rv;
}

/* Writes data to dirfd/name (created exclusively, mode 0644), fsync'd when sync is set. */
static int write_file_at(int dirfd, const char *name, const void *data, size_t len, int sync) {
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return GG_EIO;
  const uint8_t *p = data;
  while (len) {
    ssize_t k = write(fd, p, len);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      close(fd);
      unlinkat(dirfd, name, 0);
      return GG_EIO;
    }
    p += k;
    len -= (size_t)k;
  }
  int rv = sync ? fsync_fd(fd) : GG_OK;
  close(fd);
  if (rv) unlinkat(dirfd, name, 0);
  return rv;
}

static int rmtree_depth(int dirfd, const char *name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return GG_OK;
  if (errno != EISDIR && errno != EPERM) return GG_EIO;
  if (depth > MAX_DEPTH) return GG_EIO;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? GG_OK : GG_EIO;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return GG_EIO;
  }
  int rv = GG_OK;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int r = rmtree_depth(fd, e->d_name, depth + 1);
    if (r) rv = r;
  }
  closedir(d);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) rv = GG_EIO;
  return rv;
}

int ggm__rmtree_at(int dirfd, const char *name) { return rmtree_depth(dirfd, name, 0); }

int ggm__same_fs(int fda, int fdb) {
  struct stat a, b;
  if (fstat(fda, &a) || fstat(fdb, &b)) return 0;
  return a.st_dev == b.st_dev;
}

/* ---- journal ------------------------------------------------------------------------------------
 */

typedef struct journal {
  ggm_toml_val *doc;
  const char *txid;
  const ggm_toml_val *replace, *remove;
} journal;

static int txid_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= 40) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-')) return 0;
  return 1;
}

static int ids_ok(const ggm_toml_val *a) {
  if (!a || ggm_toml_type_of(a) != GGM_TOML_ARRAY) return 0;
  for (size_t i = 0; i < ggm_toml_len(a); i++) {
    const ggm_toml_val *v = ggm_toml_at(a, i);
    size_t len;
    if (ggm_toml_type_of(v) != GGM_TOML_STRING) return 0;
    const char *s = ggm_toml_str(v, &len);
    if (ggm_manifest_check_id(s, len) != GG_OK || strlen(s) != len) return 0;
  }
  return 1;
}

static int journal_read(int ggfd, journal *j, char *msg, size_t cap) {
  memset(j, 0, sizeof(*j));
  gg_buf b;
  gg_buf_init(&b, NULL, 1u << 24);
  int rv = ggm__read_file_at(ggfd, JOURNAL, &b, 1u << 23);
  if (rv == GG_OK) {
    ggm_toml_error e;
    rv = ggm_toml_parse(&j->doc, ".ggen/journal", gg_buf_ptr(&b), gg_buf_len(&b), NULL, NULL, &e);
    if (rv == GG_OK) {
      const ggm_toml_val *t = ggm_toml_get(j->doc, "txid");
      j->txid = t && ggm_toml_type_of(t) == GGM_TOML_STRING ? ggm_toml_str(t, NULL) : NULL;
      j->replace = ggm_toml_get(j->doc, "replace");
      j->remove = ggm_toml_get(j->doc, "remove");
      if (!j->txid || !txid_ok(j->txid) || !ids_ok(j->replace) || !ids_ok(j->remove)) {
        setmsg(msg, cap,
               ".ggen/journal is not a journal this ggen wrote; move it away to continue");
        rv = GG_EPARSE;
      }
    } else {
      setmsg(msg, cap, "unreadable transaction journal: %s", e.msg);
      rv = GG_EPARSE;
    }
  } else if (rv != GG_ENOTFOUND) {
    setmsg(msg, cap, "cannot read .ggen/journal: %s", gg_strerror(rv));
  }
  gg_buf_free(&b);
  if (rv != GG_OK) {
    ggm_toml_free(j->doc);
    j->doc = NULL;
  }
  return rv;
}

static int journal_write(ggm__txn *t) {
  int rv;
  ggm_toml_val *root = ggm_toml_new_table(NULL), *arr;
  if (!root) return GG_ENOMEM;
  rv = ggm_toml_set_str(root, "txid", t->txid);
  if (!rv) rv = ggm_toml_set_array(root, "replace", &arr);
  for (size_t i = 0; !rv && i < t->n_replace; i++) {
    ggm_toml_val *s = ggm_toml_new_str(NULL, t->replace[i], strlen(t->replace[i]));
    rv = s ? ggm_toml_push(arr, s) : GG_ENOMEM;
  }
  if (!rv) rv = ggm_toml_set_array(root, "remove", &arr);
  for (size_t i = 0; !rv && i < t->n_remove; i++) {
    ggm_toml_val *s = ggm_toml_new_str(NULL, t->remove[i], strlen(t->remove[i]));
    rv = s ? ggm_toml_push(arr, s) : GG_ENOMEM;
  }
  gg_buf b;
  gg_buf_init(&b, NULL, 1u << 24);
  if (!rv) rv = gg_buf_append_str(&b, "# ggen install transaction in progress (docs/install.md)\n");
  if (!rv) rv = ggm_toml_write(&b, root);
  ggm_toml_free(root);
  if (!rv) {
    unlinkat(t->p->ggfd, JOURNAL_TMP, 0);
    rv = write_file_at(t->p->ggfd, JOURNAL_TMP, gg_buf_ptr(&b), gg_buf_len(&b), 1);
  }
  gg_buf_free(&b);
  if (rv) return rv;
  ggm__crash_point("journal-written");
  if (renameat(t->p->ggfd, JOURNAL_TMP, t->p->ggfd, JOURNAL) != 0) return GG_EIO;
  return fsync_fd(t->p->ggfd);
}

/* ---- roll forward (steps 5-7)
 * -------------------------------------------------------------------- */

static int roll_forward(ggm__project *p, const char *txid, const char *const *replace, size_t nrep,
                        const char *const *remove, size_t nrem, char *msg, size_t cap) {
  char stage[64], trash[64], locktmp[80];
  snprintf(stage, sizeof stage, STAGING_PREFIX "%s", txid);
  snprintf(trash, sizeof trash, TRASH_PREFIX "%s", txid);
  snprintf(locktmp, sizeof locktmp, LOCKTMP_PREFIX "%s", txid);
  int packs = openat(p->ggfd, "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (packs < 0 && errno == ENOENT && mkdirat(p->ggfd, "packs", 0755) == 0)
    packs = openat(p->ggfd, "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (packs < 0) {
    setmsg(msg, cap, "cannot open .ggen/packs: %s", strerror(errno));
    return GG_EIO;
  }
  if (mkdirat(p->ggfd, trash, 0700) != 0 && errno != EEXIST) goto io;
  int sfd = openat(p->ggfd, stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int tfd = openat(p->ggfd, trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tfd < 0) {
    if (sfd >= 0) close(sfd);
    goto io;
  }
  for (size_t i = 0; i < nrep; i++) {
    const char *id = replace[i];
    if (sfd < 0 || !exists_at(sfd, id)) continue; /* already moved in */
    if (exists_at(packs, id)) {
      if (exists_at(tfd, id)) ggm__rmtree_at(tfd, id); /* cannot happen; keeps rename possible */
      if (renameat(packs, id, tfd, id) != 0) goto io2;
      ggm__crash_point("swap-out");
    }
    if (renameat(sfd, id, packs, id) != 0) goto io2;
    ggm__crash_point("swap-in");
  }
  for (size_t i = 0; i < nrem; i++) {
    const char *id = remove[i];
    if (!exists_at(packs, id)) continue;
    if (exists_at(tfd, id)) ggm__rmtree_at(tfd, id);
    if (renameat(packs, id, tfd, id) != 0) goto io2;
    ggm__crash_point("remove");
  }
  if (fsync_fd(packs)) goto io2;
  if (exists_at(p->fd, locktmp)) {
    if (renameat(p->fd, locktmp, p->fd, "ggen.lock") != 0) goto io2;
    if (fsync_fd(p->fd)) goto io2;
    ggm__crash_point("lock-renamed");
  }
  if (sfd >= 0) close(sfd);
  close(tfd);
  close(packs);
  return GG_OK;
io2:
  setmsg(msg, cap, "cannot move installed trees into place: %s", strerror(errno));
  if (sfd >= 0) close(sfd);
  close(tfd);
  close(packs);
  return GG_EIO;
io:
  setmsg(msg, cap, "cannot prepare .ggen/%s: %s", trash, strerror(errno));
  close(packs);
  return GG_EIO;
}

/* The names in directory dirfd that want() accepts (all when want is NULL), collected before
 * anything is removed (removing entries while reading a directory may skip some). The
 * caller frees each name and the array. GG_OK, GG_EIO, GG_ENOMEM. */
static int collect(int dirfd, int (*want)(const char *), char ***out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return GG_EIO;
  }
  char **v = NULL;
  size_t n = 0, cap = 0;
  int rv = GG_OK;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (want && !want(e->d_name)) continue;
    if (n == cap) {
      char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(char *));
      if (!nv) {
        rv = GG_ENOMEM;
        break;
      }
      v = nv;
    }
    if (!(v[n] = strdup(e->d_name))) {
      rv = GG_ENOMEM;
      break;
    }
    n++;
  }
  closedir(d);
  *out = v;
  *nout = n;
  return rv;
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static int is_txn_leftover(const char *name) {
  return !strncmp(name, STAGING_PREFIX, strlen(STAGING_PREFIX)) ||
         !strncmp(name, TRASH_PREFIX, strlen(TRASH_PREFIX)) || !strcmp(name, JOURNAL_TMP);
}

static int is_lock_temp(const char *name) {
  return !strncmp(name, LOCKTMP_PREFIX, strlen(LOCKTMP_PREFIX));
}

/* Deletes the leftovers of finished or abandoned transactions (.staging-*, .trash-*,
 * journal.tmp, ggen.lock.tmp-*). Returns 1 when a staging dir or lock temp was found (a
 * transaction that never committed), else 0. */
static int sweep(ggm__project *p) {
  int undone = 0;
  char **v;
  size_t n;
  collect(p->ggfd, is_txn_leftover, &v, &n);
  for (size_t i = 0; i < n; i++) {
    if (!strncmp(v[i], STAGING_PREFIX, strlen(STAGING_PREFIX))) undone = 1;
    ggm__rmtree_at(p->ggfd, v[i]);
  }
  free_names(v, n);
  collect(p->fd, is_lock_temp, &v, &n);
  for (size_t i = 0; i < n; i++) {
    undone = 1;
    unlinkat(p->fd, v[i], 0);
  }
  free_names(v, n);
  return undone;
}

static int recover(ggm__project *p, char *msg, size_t cap) {
  journal j;
  int rv = journal_read(p->ggfd, &j, msg, cap);
  if (rv == GG_ENOTFOUND) {
    if (sweep(p)) p->recovered = -1;
    return GG_OK;
  }
  if (rv != GG_OK) return rv;
  size_t nrep = ggm_toml_len(j.replace), nrem = ggm_toml_len(j.remove);
  const char **rep = calloc(nrep + 1, sizeof(char *)), **rem = calloc(nrem + 1, sizeof(char *));
  if (!rep || !rem) {
    rv = GG_ENOMEM;
  } else {
    for (size_t i = 0; i < nrep; i++) rep[i] = ggm_toml_str(ggm_toml_at(j.replace, i), NULL);
    for (size_t i = 0; i < nrem; i++) rem[i] = ggm_toml_str(ggm_toml_at(j.remove, i), NULL);
    rv = roll_forward(p, j.txid, rep, nrep, rem, nrem, msg, cap);
  }
  if (rv == GG_OK) {
    if (unlinkat(p->ggfd, JOURNAL, 0) != 0 || fsync_fd(p->ggfd) != GG_OK) rv = GG_EIO;
    if (rv == GG_OK) {
      sweep(p);
      p->recovered = 1;
    }
  }
  free(rep);
  free(rem);
  ggm_toml_free(j.doc);
  return rv;
}

/* ---- project
 * ------------------------------------------------------------------------------------- */

int ggm__project_open(ggm__project *p, const char *dir, int create, char *msg, size_t cap) {
  memset(p, 0, sizeof(*p));
  p->fd = p->ggfd = -1;
  p->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->fd < 0) {
    setmsg(msg, cap, "project directory %s: %s", dir, strerror(errno));
    return errno == ENOENT || errno == ENOTDIR ? GG_ENOTFOUND : GG_EIO;
  }
  p->dir = strdup(dir);
  if (!p->dir) {
    ggm__project_close(p);
    return GG_ENOMEM;
  }
  /* The lock is an flock on the project directory itself: taken before anything is read, so
   * a plan is never computed from a state another process is changing, and it needs no file
   * (a project that has nothing installed stays untouched). */
  if (flock(p->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) goto io;
    if (isatty(2)) fprintf(stderr, "ggen: waiting for another ggen working on %s\n", dir);
    while (flock(p->fd, LOCK_EX) != 0)
      if (errno != EINTR) goto io;
  }
  if (create) {
    int rv = ggm__project_ensure(p);
    if (rv) {
      setmsg(msg, cap, "cannot create %s/.ggen/packs: %s", dir, strerror(errno));
      ggm__project_close(p);
      return rv;
    }
  } else {
    p->ggfd = openat(p->fd, ".ggen", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (p->ggfd < 0) {
      if (errno == ENOENT) return GG_OK; /* nothing installed, nothing to recover */
      goto io;
    }
  }
  int rv = recover(p, msg, cap);
  if (rv != GG_OK) ggm__project_close(p);
  return rv;
io:
  setmsg(msg, cap, "cannot use %s: %s", dir, strerror(errno));
  ggm__project_close(p);
  return GG_EIO;
}

int ggm__project_ensure(ggm__project *p) {
  if (p->ggfd < 0) {
    if (mkdirat(p->fd, ".ggen", 0755) != 0 && errno != EEXIST) return GG_EIO;
    p->ggfd = openat(p->fd, ".ggen", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (p->ggfd < 0) return GG_EIO;
  }
  if (mkdirat(p->ggfd, "packs", 0755) != 0 && errno != EEXIST) return GG_EIO;
  return GG_OK;
}

void ggm__project_close(ggm__project *p) {
  if (p->ggfd >= 0) close(p->ggfd);
  if (p->fd >= 0) close(p->fd); /* releases the flock */
  free(p->dir);
  p->dir = NULL;
  p->fd = p->ggfd = -1;
}

/* ---- transactions
 * --------------------------------------------------------------------------------- */

int ggm__txn_begin(ggm__txn *t, ggm__project *p) {
  memset(t, 0, sizeof(*t));
  t->p = p;
  t->stagefd = -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(t->txid, sizeof t->txid, "%llx-%lx-%x", (unsigned long long)ts.tv_sec,
           (unsigned long)ts.tv_nsec, (unsigned)getpid());
  char name[64];
  snprintf(name, sizeof name, STAGING_PREFIX "%s", t->txid);
  if (mkdirat(p->ggfd, name, 0755) != 0) return GG_EIO;
  t->stagefd = openat(p->ggfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (t->stagefd < 0) {
    unlinkat(p->ggfd, name, AT_REMOVEDIR);
    return GG_EIO;
  }
  return GG_OK;
}

void ggm__txn_stage_rel(const ggm__txn *t, char *out, size_t cap) {
  snprintf(out, cap, ".ggen/" STAGING_PREFIX "%s", t->txid);
}

static int push_id(char ***arr, size_t *n, size_t *cap, const char *id) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    char **na = realloc(*arr, nc * sizeof(char *));
    if (!na) return GG_ENOMEM;
    *arr = na;
    *cap = nc;
  }
  if (!((*arr)[*n] = strdup(id))) return GG_ENOMEM;
  (*n)++;
  return GG_OK;
}

int ggm__txn_add_replace(ggm__txn *t, const char *id) {
  return push_id(&t->replace, &t->n_replace, &t->cap_replace, id);
}

int ggm__txn_add_remove(ggm__txn *t, const char *id) {
  return push_id(&t->remove, &t->n_remove, &t->cap_remove, id);
}

static void txn_free(ggm__txn *t) {
  for (size_t i = 0; i < t->n_replace; i++) free(t->replace[i]);
  for (size_t i = 0; i < t->n_remove; i++) free(t->remove[i]);
  free(t->replace);
  free(t->remove);
  if (t->stagefd >= 0) close(t->stagefd);
  t->replace = t->remove = NULL;
  t->n_replace = t->n_remove = 0;
  t->stagefd = -1;
}

void ggm__txn_abort(ggm__txn *t) {
  char name[64], locktmp[80];
  snprintf(name, sizeof name, STAGING_PREFIX "%s", t->txid);
  snprintf(locktmp, sizeof locktmp, LOCKTMP_PREFIX "%s", t->txid);
  if (t->p) {
    ggm__rmtree_at(t->p->ggfd, name);
    unlinkat(t->p->fd, locktmp, 0);
  }
  txn_free(t);
}

int ggm__txn_commit(ggm__txn *t, const void *lock, size_t len, char *msg, size_t cap) {
  ggm__project *p = t->p;
  char locktmp[80];
  snprintf(locktmp, sizeof locktmp, LOCKTMP_PREFIX "%s", t->txid);
  unlinkat(p->fd, locktmp, 0);
  int rv = write_file_at(p->fd, locktmp, lock, len, 0); /* the syncfs below covers it */
  if (rv) {
    setmsg(msg, cap, "cannot write %s/%s: %s", p->dir, locktmp, strerror(errno));
    ggm__txn_abort(t);
    return rv;
  }
  ggm__crash_point("lock-written");
  /* One syncfs makes every staged file and directory durable; fsync per file would cost a
   * journal commit per file (docs/install.md "Durability"). */
  if (syncfs(p->fd) != 0) {
    setmsg(msg, cap, "syncfs failed on %s: %s", p->dir, strerror(errno));
    ggm__txn_abort(t);
    return GG_EIO;
  }
  ggm__crash_point("staged");
  rv = journal_write(t);
  if (rv) {
    /* Before the rename the journal does not exist (or is journal.tmp, swept later), so the
     * old state stands. If the rename happened but the directory fsync failed, the next open
     * decides: it finishes the transaction if the journal survived. */
    setmsg(msg, cap, "cannot write the transaction journal in %s/.ggen: %s", p->dir,
           strerror(errno));
    if (!exists_at(p->ggfd, JOURNAL))
      ggm__txn_abort(t);
    else
      txn_free(t);
    return rv;
  }
  ggm__crash_point("committed");
  rv = roll_forward(p, t->txid, (const char *const *)t->replace, t->n_replace,
                    (const char *const *)t->remove, t->n_remove, msg, cap);
  if (rv == GG_OK) {
    if (unlinkat(p->ggfd, JOURNAL, 0) != 0 || fsync_fd(p->ggfd) != GG_OK) rv = GG_EIO;
    ggm__crash_point("journal-removed");
  }
  if (rv == GG_OK) {
    char trash[64], stage[64];
    snprintf(trash, sizeof trash, TRASH_PREFIX "%s", t->txid);
    snprintf(stage, sizeof stage, STAGING_PREFIX "%s", t->txid);
    int tfd = openat(p->ggfd, trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd >= 0) {
      for (size_t i = 0; i < t->n_replace + t->n_remove; i++) {
        const char *id = i < t->n_replace ? t->replace[i] : t->remove[i - t->n_replace];
        if (exists_at(tfd, id)) {
          ggm__rmtree_at(tfd, id);
          ggm__crash_point("cleanup");
        }
      }
      close(tfd);
    }
    ggm__rmtree_at(p->ggfd, trash);
    ggm__rmtree_at(p->ggfd, stage);
  }
  txn_free(t);
  return rv;
}

/* ---- trees: the unpacked cache and hard links
 * ------------------------------------------------------ */

/* The list of an unpacked tree, <home>/unpacked/<cid>/files: one line per entry in pre-order,
 * "d <path>" or "f <mode> <size> <mtime_s> <mtime_ns> <path>". */

typedef struct walkctx {
  gg_buf *list;
  int err;
} walkctx;

static int list_tree(int dirfd, const char *rel, walkctx *w, int depth) {
  if (depth > MAX_DEPTH) return GG_EUNSAFE;
  int fd = openat(dirfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return GG_EIO;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return GG_EIO;
  }
  int rv = GG_OK;
  struct dirent *e;
  while (rv == GG_OK && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[512];
    int k = snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
    if (k < 0 || (size_t)k >= sizeof path) {
      rv = GG_EUNSAFE;
      break;
    }
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rv = GG_EIO;
      break;
    }
    char line[640];
    if (S_ISDIR(st.st_mode)) {
      snprintf(line, sizeof line, "d %s\n", path);
      rv = gg_buf_append_str(w->list, line);
      if (rv == GG_OK) rv = list_tree(dirfd, path, w, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      mode_t m = (st.st_mode & 0111) ? 0555 : 0444;
      if (fchmodat(fd, e->d_name, m, 0) != 0 || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
        rv = GG_EIO;
        break;
      }
      snprintf(line, sizeof line, "f %o %lld %lld %ld %s\n", (unsigned)m, (long long)st.st_size,
               (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec, path);
      rv = gg_buf_append_str(w->list, line);
    } else {
      rv = GG_EUNSAFE; /* the extractor never makes anything else */
    }
  }
  closedir(d);
  return rv;
}

static int unpack_dir(const char *home, int *dfd) {
  char path[4096];
  snprintf(path, sizeof path, "%s/unpacked", home);
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return GG_EIO;
  *dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return *dfd < 0 ? GG_EIO : GG_OK;
}

/* Extracts the archive into a new cache entry <home>/unpacked/<cid> (atomically: a temp dir
 * renamed into place; losing a race to another process is fine). */
static int cache_fill(const char *home, int udfd, const char *cid, int blobfd, char *msg,
                      size_t cap) {
  char tmp[4096], tree[4200];
  snprintf(tmp, sizeof tmp, "%s/unpacked/.tmp-XXXXXX", home);
  if (!mkdtemp(tmp)) return GG_EIO;
  snprintf(tree, sizeof tree, "%s/tree", tmp);
  const char *tmpname = strrchr(tmp, '/') + 1;
  if (lseek(blobfd, 0, SEEK_SET) != 0) {
    ggm__rmtree_at(udfd, tmpname);
    return GG_EIO;
  }
  ggm_extract_result xr;
  int rv = ggm_extract_fd(blobfd, tree, NULL, &xr, NULL);
  if (rv != GG_OK) {
    setmsg(msg, cap, "%s%s%s", xr.err[0] ? xr.err : gg_strerror(rv), xr.path[0] ? ": " : "",
           xr.path);
    ggm__rmtree_at(udfd, tmpname);
    return rv;
  }
  gg_buf list;
  gg_buf_init(&list, NULL, 64u << 20);
  int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  walkctx w = {&list, 0};
  rv = tfd >= 0 ? list_tree(tfd, "", &w, 0) : GG_EIO;
  if (tfd >= 0) close(tfd);
  if (rv == GG_OK) {
    /* The list ends with "end <entries>": a list cut short (a crash of the machine before
     * the data reached the disk) is seen as damaged and the entry rebuilt, so the list need
     * not be fsync'd (the project's syncfs covers linked files; docs/install.md). */
    char endl[48];
    size_t lines = 0;
    for (size_t i = 0; i < gg_buf_len(&list); i++) lines += gg_buf_ptr(&list)[i] == '\n';
    snprintf(endl, sizeof endl, "end %zu\n", lines);
    rv = gg_buf_append_str(&list, endl);
    int efd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rv == GG_OK)
      rv = efd >= 0 ? write_file_at(efd, "files", gg_buf_ptr(&list), gg_buf_len(&list), 0) : GG_EIO;
    if (efd >= 0) close(efd);
  }
  gg_buf_free(&list);
  if (rv == GG_OK && renameat(udfd, tmpname, udfd, cid) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) rv = GG_EIO;
    ggm__rmtree_at(udfd, tmpname); /* another process filled it first */
  } else if (rv != GG_OK) {
    ggm__rmtree_at(udfd, tmpname);
  }
  return rv;
}

/* Moves a cache entry aside and deletes it (it was found modified). */
static void cache_drop(int udfd, const char *cid) {
  char name[96];
  snprintf(name, sizeof name, ".trash-%s-%x", cid, (unsigned)getpid());
  if (renameat(udfd, cid, udfd, name) == 0) ggm__rmtree_at(udfd, name);
}

static int copy_file(int sfd, const char *path, int dfd, mode_t mode, uint64_t *bytes) {
  int in = openat(sfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return GG_EIO;
  int out = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (out < 0) {
    close(in);
    return GG_EIO;
  }
  int rv = GG_OK;
  for (;;) {
    ssize_t k = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
    if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      char buf[65536];
      while ((k = read(in, buf, sizeof buf)) > 0) {
        char *q = buf;
        while (k > 0) {
          ssize_t w = write(out, q, (size_t)k);
          if (w <= 0) {
            rv = GG_EIO;
            break;
          }
          q += w, k -= w, *bytes += (uint64_t)w;
        }
        if (rv) break;
      }
      if (k < 0) rv = GG_EIO;
      break;
    }
    if (k < 0) {
      if (errno == EINTR) continue;
      rv = GG_EIO;
      break;
    }
    if (k == 0) break;
    *bytes += (uint64_t)k;
  }
  close(in);
  close(out);
  return rv;
}

/* Checks the "end <n>" trailer of a list and returns the length of the entries before it,
 * or -1 when the list is damaged. */
static long list_body(const char *list, size_t len) {
  if (len < 6 || list[len - 1] != '\n') return -1;
  size_t k = len - 1;
  while (k > 0 && list[k - 1] != '\n') k--;
  size_t n = 0, lines = 0;
  if (sscanf(list + k, "end %zu", &n) != 1) return -1;
  for (size_t i = 0; i < k; i++) lines += list[i] == '\n';
  return lines == n && n > 0 ? (long)k : -1;
}

/* Links (or copies) every entry of the list from tree tfd into the new directory dfd after
 * checking each cached file is as it was written. GG_EINTEGRITY when the entry was
 * modified, GG_EIO. */
static int link_tree(int tfd, const char *list, size_t len, int dfd, ggm__tree_stats *st) {
  const char *p = list, *end = list + len;
  int can_link = 1;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return GG_EINTEGRITY;
    char line[640];
    size_t ll = (size_t)(nl - p);
    if (ll >= sizeof line) return GG_EINTEGRITY;
    memcpy(line, p, ll);
    line[ll] = 0;
    p = nl + 1;
    if (line[0] == 'd' && line[1] == ' ') {
      if (mkdirat(dfd, line + 2, 0755) != 0) return GG_EIO;
      continue;
    }
    unsigned mode;
    long long size, sec;
    long nsec;
    int off = 0;
    if (sscanf(line, "f %o %lld %lld %ld %n", &mode, &size, &sec, &nsec, &off) != 4 || !off)
      return GG_EINTEGRITY;
    const char *path = line + off;
    struct stat s;
    if (fstatat(tfd, path, &s, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(s.st_mode) ||
        (s.st_mode & 07777) != mode || s.st_size != size || s.st_mtim.tv_sec != sec ||
        s.st_mtim.tv_nsec != nsec)
      return GG_EINTEGRITY;
    if (can_link && linkat(tfd, path, dfd, path, 0) == 0) {
      st->linked++;
      st->bytes += (uint64_t)size;
      continue;
    }
    if (can_link && errno != EXDEV && errno != EMLINK && errno != EPERM) return GG_EIO;
    if (errno == EXDEV || errno == EPERM) can_link = 0; /* no use trying the next files */
    /* a copy is the user's own file: writable by its owner */
    if (copy_file(tfd, path, dfd, (mode & 0111) ? 0755 : 0644, &st->bytes) != GG_OK) return GG_EIO;
    st->copied++;
  }
  return GG_OK;
}

static int place_linked(const char *home, const char *cid, int blobfd, int dstdirfd,
                        const char *name, ggm__tree_stats *st, char *msg, size_t cap) {
  int udfd, rv = unpack_dir(home, &udfd);
  if (rv) return rv;
  for (int attempt = 0; attempt < 2; attempt++) {
    char entry[128];
    snprintf(entry, sizeof entry, "%s/files", cid);
    gg_buf list;
    gg_buf_init(&list, NULL, 64u << 20);
    rv = ggm__read_file_at(udfd, entry, &list, 64u << 20);
    if (rv == GG_ENOTFOUND) {
      gg_buf_free(&list);
      rv = cache_fill(home, udfd, cid, blobfd, msg, cap);
      if (rv) break;
      gg_buf_init(&list, NULL, 64u << 20);
      rv = ggm__read_file_at(udfd, entry, &list, 64u << 20);
    }
    if (rv) {
      gg_buf_free(&list);
      break;
    }
    snprintf(entry, sizeof entry, "%s/tree", cid);
    int tfd = openat(udfd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tfd < 0 || mkdirat(dstdirfd, name, 0755) != 0) {
      rv = tfd < 0 ? GG_EINTEGRITY : GG_EIO;
    } else {
      int dfd = openat(dstdirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      ggm__tree_stats s = {0};
      long body = list_body((const char *)gg_buf_ptr(&list), gg_buf_len(&list));
      rv = dfd < 0    ? GG_EIO
           : body < 0 ? GG_EINTEGRITY
                      : link_tree(tfd, (const char *)gg_buf_ptr(&list), (size_t)body, dfd, &s);
      if (dfd >= 0) close(dfd);
      if (rv == GG_OK) {
        st->linked += s.linked;
        st->copied += s.copied;
        st->bytes += s.bytes;
      }
    }
    if (tfd >= 0) close(tfd);
    gg_buf_free(&list);
    if (rv == GG_OK) break;
    ggm__rmtree_at(dstdirfd, name);
    if (rv != GG_EINTEGRITY) break;
    /* the cached tree was changed behind our back: rebuild it from the verified archive */
    cache_drop(udfd, cid);
  }
  close(udfd);
  if (rv == GG_EINTEGRITY) setmsg(msg, cap, "the unpacked cache entry %s keeps changing", cid);
  return rv;
}

int ggm__tree_place(const char *home, const char *cid, int blobfd, int dstdirfd,
                    const char *dstdir_path, const char *name, int link_ok, ggm__tree_stats *st,
                    char *msg, size_t cap) {
  if (link_ok && home) {
    int udfd;
    if (unpack_dir(home, &udfd) == GG_OK) {
      int same = ggm__same_fs(udfd, dstdirfd);
      close(udfd);
      if (same) return place_linked(home, cid, blobfd, dstdirfd, name, st, msg, cap);
    }
  }
  char target[4200];
  snprintf(target, sizeof target, "%s/%s", dstdir_path, name);
  if (lseek(blobfd, 0, SEEK_SET) != 0) return GG_EIO;
  ggm_extract_result xr;
  int rv = ggm_extract_fd(blobfd, target, NULL, &xr, NULL);
  if (rv != GG_OK) {
    setmsg(msg, cap, "%s%s%s", xr.err[0] ? xr.err : gg_strerror(rv), xr.path[0] ? ": " : "",
           xr.path);
    return rv;
  }
  st->copied += xr.files;
  st->bytes += xr.bytes;
  return GG_OK;
}

/* ---- unpacked cache maintenance
 * ------------------------------------------------------------------- */

/* Checks one cache entry against its list: GG_OK (files/bytes counted), GG_EINTEGRITY. */
static int cache_check(int udfd, const char *cid, uint64_t *files, uint64_t *bytes) {
  char rel[128];
  snprintf(rel, sizeof rel, "%s/files", cid);
  gg_buf list;
  gg_buf_init(&list, NULL, 64u << 20);
  int rv = ggm__read_file_at(udfd, rel, &list, 64u << 20);
  snprintf(rel, sizeof rel, "%s/tree", cid);
  int tfd = rv ? -1 : openat(udfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (tfd < 0) rv = GG_EINTEGRITY;
  long body = rv ? 0 : list_body((const char *)gg_buf_ptr(&list), gg_buf_len(&list));
  if (body < 0) rv = GG_EINTEGRITY;
  const char *p = (const char *)gg_buf_ptr(&list), *end = p + (body > 0 ? body : 0);
  while (!rv && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    char line[640];
    size_t ll = nl ? (size_t)(nl - p) : 0;
    if (!nl || ll >= sizeof line) {
      rv = GG_EINTEGRITY;
      break;
    }
    memcpy(line, p, ll);
    line[ll] = 0;
    p = nl + 1;
    if (line[0] == 'd') continue;
    unsigned mode;
    long long size, sec;
    long nsec;
    int off = 0;
    struct stat s;
    if (sscanf(line, "f %o %lld %lld %ld %n", &mode, &size, &sec, &nsec, &off) != 4 || !off ||
        fstatat(tfd, line + off, &s, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(s.st_mode) ||
        (s.st_mode & 07777) != mode || s.st_size != size || s.st_mtim.tv_sec != sec ||
        s.st_mtim.tv_nsec != nsec) {
      rv = GG_EINTEGRITY;
      break;
    }
    (*files)++;
    *bytes += (uint64_t)size;
  }
  if (tfd >= 0) close(tfd);
  gg_buf_free(&list);
  return rv;
}

int ggm__cache_sweep(const char *home, int (*keep)(void *ud, const char *cid), void *ud, int all,
                     int count_only, uint64_t st[4]) {
  int udfd;
  char path[4096];
  snprintf(path, sizeof path, "%s/unpacked", home);
  udfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (udfd < 0) return errno == ENOENT ? GG_OK : GG_EIO;
  char **names;
  size_t n;
  int rv = collect(udfd, NULL, &names, &n);
  for (size_t i = 0; i < n; i++) {
    const char *nm = names[i];
    int drop = all;
    uint64_t files = 0, bytes = 0;
    if (count_only) {
      if (nm[0] != '.' && cache_check(udfd, nm, &files, &bytes) == GG_OK) {
        st[0]++;
        st[1] += files;
        st[2] += bytes;
      }
      continue;
    }
    if (!drop && nm[0] == '.') {
      /* a temp dir of a live writer is young; one older than an hour was abandoned */
      struct stat s;
      drop = fstatat(udfd, nm, &s, AT_SYMLINK_NOFOLLOW) != 0 || s.st_mtime + 3600 < time(NULL) ||
             !strncmp(nm, ".trash-", 7);
    } else if (!drop) {
      drop = (keep && !keep(ud, nm)) || cache_check(udfd, nm, &files, &bytes) != GG_OK;
      if (!drop) {
        st[0]++;
        st[1] += files;
        st[2] += bytes;
      }
    }
    if (drop && ggm__rmtree_at(udfd, nm) == GG_OK && nm[0] != '.') st[3]++;
  }
  free_names(names, n);
  close(udfd);
  return rv;
}
