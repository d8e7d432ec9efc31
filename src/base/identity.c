/*
 * Identity key file (include/ggen/identity.h).
 *
 * Invariant: <home>/identity.key, once it exists, is never rewritten; it appears atomically
 * (link(2) of a fully written, fsynced temporary file), so a reader never sees a partial key
 * and two nodes starting in the same home at once end up with the same identity.
 */
#include "ggen/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/home.h"

static int read_key(const char *path, gg_keypair *kp) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return GG_EIO;
  }
  if (st.st_mode & 077) { /* as ssh does: a private key others can read is not used */
    close(fd);
    return GG_EINVAL;
  }
  uint8_t buf[GG_PRIVKEY_PB_ED25519 + 1];
  size_t n = 0;
  while (n < sizeof(buf)) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      close(fd);
      return GG_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  int rv = gg_privkey_decode(buf, n, kp);
  memset(buf, 0, sizeof(buf));
  return rv == GG_OK ? GG_OK : GG_EBADKEY;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return GG_EIO;
    p += w;
    n -= (size_t)w;
  }
  return GG_OK;
}

static int create_key(const char *home, const char *path, const gg_rand *r) {
  char tmpname[64];
  snprintf(tmpname, sizeof(tmpname), ".identity.key.%ld.tmp", (long)getpid());
  char *tmp = gg_home_path(home, tmpname);
  if (!tmp) return GG_ENOMEM;
  unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    free(tmp);
    return GG_EIO;
  }
  gg_keypair kp;
  gg_keypair_generate(&kp, r ? r : gg_rand_system());
  uint8_t pb[GG_PRIVKEY_PB_ED25519];
  gg_privkey_encode(&kp, pb);
  int rv = write_all(fd, pb, sizeof(pb));
  memset(pb, 0, sizeof(pb));
  memset(&kp, 0, sizeof(kp));
  if (rv == GG_OK && fsync(fd) != 0) rv = GG_EIO;
  if (close(fd) != 0) rv = GG_EIO;
  /* link() fails with EEXIST when another process created the key meanwhile: keep theirs */
  if (rv == GG_OK && link(tmp, path) != 0 && errno != EEXIST) rv = GG_EIO;
  unlink(tmp);
  free(tmp);
  if (rv == GG_OK) { /* make the new directory entry durable too */
    int dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return rv;
}

int gg_identity_load(const char *home, const gg_rand *r, gg_keypair *kp, int *created) {
  char *path = gg_home_path(home, GG_IDENTITY_FILE);
  if (!path) return GG_ENOMEM;
  int made = 0;
  int rv = read_key(path, kp);
  if (rv == GG_ENOTFOUND) {
    rv = gg_home_ensure(home);
    if (rv == GG_OK) rv = create_key(home, path, r);
    if (rv == GG_OK) {
      made = 1;
      rv = read_key(path, kp);
    }
  }
  free(path);
  if (rv == GG_OK && created) *created = made;
  return rv;
}
