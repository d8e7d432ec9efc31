/*
 * A fault-injecting SQLite VFS for storage tests (SQLite's own testing method: run an
 * operation with an I/O error injected at every step, then check that the database is
 * intact and holds either the old or the new state). Internal to the store layer and its
 * tests; production code never installs it.
 */
#ifndef GGS_FAULTVFS_H
#define GGS_FAULTVFS_H

/* Registers the "ggfault" VFS (wrapping the default one) and makes it the default for
 * connections opened afterwards. Idempotent. GG_OK or GG_ESTORAGE. */
int ggs__faultvfs_install(void);

/* After n more successful writes, syncs or truncations every one fails with an I/O error
 * until re-armed; n < 0 disarms. */
void ggs__faultvfs_arm(long n);

/* Number of failures injected since the last arm. */
long ggs__faultvfs_injected(void);

#endif
