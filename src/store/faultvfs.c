/*
 * Fault-injecting VFS (faultvfs.h): a shim over the default VFS whose files forward every
 * method to the real file, except that writes, syncs and truncations fail with
 * SQLITE_IOERR_* once a countdown runs out. Shared memory (WAL index) calls are forwarded
 * untouched: they model memory, not the disk. Not thread-safe (tests only).
 */
#include <sqlite3.h>
#include <string.h>

#include "ggen/err.h"
#include "store/faultvfs.h"

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *real_vfs;
static long countdown = -1;
static long injected;

typedef struct ffile {
  sqlite3_file base;
  sqlite3_file *real;
} ffile;

static int fail_now(void) {
  if (countdown < 0) return 0;
  if (countdown == 0) {
    injected++;
    return 1;
  }
  countdown--;
  return 0;
}

#define REAL(f) (((ffile *)(f))->real)

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  if (fail_now()) return SQLITE_IOERR_WRITE;
  return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size) {
  if (fail_now()) return SQLITE_IOERR_TRUNCATE;
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags) {
  if (fail_now()) return SQLITE_IOERR_FSYNC;
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size) {
  return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_check(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_fctl(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_devchar(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shmunmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
    3,         f_close,   f_read,     f_write,   f_truncate,   f_sync,
    f_size,    f_lock,    f_unlock,   f_check,   f_fctl,       f_sector,
    f_devchar, f_shmmap,  f_shmlock,  f_shmbarrier, f_shmunmap, f_fetch,
    f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out) {
  (void)vfs;
  ffile *ff = (ffile *)f;
  ff->real = (sqlite3_file *)&ff[1];
  int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
  /* a failed open must not leave methods SQLite would call xClose through */
  ff->base.pMethods = rc == SQLITE_OK && ff->real->pMethods ? &fault_io : NULL;
  return rc;
}

static int v_delete(sqlite3_vfs *v, const char *n, int sync) {
  (void)v;
  return real_vfs->xDelete(real_vfs, n, sync);
}
static int v_access(sqlite3_vfs *v, const char *n, int flags, int *out) {
  (void)v;
  return real_vfs->xAccess(real_vfs, n, flags, out);
}
static int v_full(sqlite3_vfs *v, const char *n, int cap, char *out) {
  (void)v;
  return real_vfs->xFullPathname(real_vfs, n, cap, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *n) {
  (void)v;
  return real_vfs->xDlOpen(real_vfs, n);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  real_vfs->xDlError(real_vfs, n, out);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) {
  (void)v;
  return real_vfs->xDlSym(real_vfs, h, s);
}
static void v_dlclose(sqlite3_vfs *v, void *h) {
  (void)v;
  real_vfs->xDlClose(real_vfs, h);
}
static int v_random(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xRandomness(real_vfs, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return real_vfs->xSleep(real_vfs, us);
}
static int v_time(sqlite3_vfs *v, double *t) {
  (void)v;
  return real_vfs->xCurrentTime(real_vfs, t);
}
static int v_lasterr(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *t) {
  (void)v;
  return real_vfs->xCurrentTimeInt64(real_vfs, t);
}

int ggs__faultvfs_install(void) {
  if (real_vfs != NULL) return GG_OK;
  sqlite3_vfs *base = sqlite3_vfs_find(NULL);
  if (base == NULL || base->iVersion < 2) return GG_ESTORAGE;
  real_vfs = base;
  memset(&fault_vfs, 0, sizeof(fault_vfs));
  fault_vfs.iVersion = 2;
  fault_vfs.szOsFile = (int)sizeof(ffile) + base->szOsFile;
  fault_vfs.mxPathname = base->mxPathname;
  fault_vfs.zName = "ggfault";
  fault_vfs.xOpen = v_open;
  fault_vfs.xDelete = v_delete;
  fault_vfs.xAccess = v_access;
  fault_vfs.xFullPathname = v_full;
  fault_vfs.xDlOpen = v_dlopen;
  fault_vfs.xDlError = v_dlerror;
  fault_vfs.xDlSym = v_dlsym;
  fault_vfs.xDlClose = v_dlclose;
  fault_vfs.xRandomness = v_random;
  fault_vfs.xSleep = v_sleep;
  fault_vfs.xCurrentTime = v_time;
  fault_vfs.xGetLastError = v_lasterr;
  fault_vfs.xCurrentTimeInt64 = v_time64;
  if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK) {
    real_vfs = NULL;
    return GG_ESTORAGE;
  }
  return GG_OK;
}

void ggs__faultvfs_arm(long n) {
  countdown = n;
  injected = 0;
}

long ggs__faultvfs_injected(void) { return injected; }
