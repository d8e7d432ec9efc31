/*
 * Tests for the identity key file (src/base/identity.c): created once with mode 0600 in the
 * libp2p PrivateKey protobuf, the same key (and peer id) on every later load, refusal of
 * corrupt files and of files others can read, no temporary files left behind.
 */
#include "gg_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/identity.h"
#include "ggen/peerid.h"

static void write_file(const char *path, const void *p, size_t n, int mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, p, n), (ssize_t)n);
  close(fd);
  chmod(path, mode);
}

static void test_create_then_reload(void **state) {
  (void)state;
  char *dir = gg_test_mkdtemp();
  char *home = gg_home_path(dir, "nested/home"); /* created on demand */
  gg_keypair a, b;
  int created = -1;
  assert_int_equal(gg_identity_load(home, NULL, &a, &created), GG_OK);
  assert_int_equal(created, 1);
  char *path = gg_home_path(home, GG_IDENTITY_FILE);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, GG_PRIVKEY_PB_ED25519);
  /* the file is the PrivateKey protobuf: 08 01 12 40 seed||pub */
  size_t len;
  char *raw = gg_test_read_file(path, &len);
  assert_int_equal(len, GG_PRIVKEY_PB_ED25519);
  assert_memory_equal(raw, "\x08\x01\x12\x40", 4);
  assert_memory_equal(raw + 4 + 32, a.pub, 32);
  free(raw);
  assert_int_equal(gg_identity_load(home, NULL, &b, &created), GG_OK);
  assert_int_equal(created, 0);
  assert_memory_equal(&a, &b, sizeof(a));
  gg_peerid ia, ib;
  gg_peerid_from_ed25519(&ia, a.pub);
  gg_peerid_from_ed25519(&ib, b.pub);
  assert_true(gg_peerid_eq(&ia, &ib));
  /* nothing but the key in the home */
  DIR *d = opendir(home);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' || strlen(e->d_name) > 2) n++;
  closedir(d);
  assert_int_equal(n, 1);
  free(path);
  free(home);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_seeded_key_is_deterministic(void **state) {
  (void)state;
  char *d1 = gg_test_mkdtemp(), *d2 = gg_test_mkdtemp();
  gg_rand_seeded r1, r2;
  gg_rand_seeded_init(&r1, 42);
  gg_rand_seeded_init(&r2, 42);
  gg_keypair a, b;
  assert_int_equal(gg_identity_load(d1, &r1.r, &a, NULL), GG_OK);
  assert_int_equal(gg_identity_load(d2, &r2.r, &b, NULL), GG_OK);
  assert_memory_equal(a.pub, b.pub, 32);
  gg_test_rmtree(d1);
  gg_test_rmtree(d2);
  free(d1);
  free(d2);
}

static void test_refuses_bad_files(void **state) {
  (void)state;
  char *home = gg_test_mkdtemp();
  char *path = gg_home_path(home, GG_IDENTITY_FILE);
  gg_keypair kp;
  /* garbage */
  write_file(path, "not a key", 9, 0600);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EBADKEY);
  /* a valid key truncated by one byte */
  gg_keypair real;
  gg_keypair_generate(&real, gg_rand_system());
  uint8_t pb[GG_PRIVKEY_PB_ED25519];
  gg_privkey_encode(&real, pb);
  write_file(path, pb, sizeof(pb) - 1, 0600);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EBADKEY);
  /* with trailing bytes */
  uint8_t longer[GG_PRIVKEY_PB_ED25519 + 1];
  memcpy(longer, pb, sizeof(pb));
  longer[sizeof(pb)] = 0;
  write_file(path, longer, sizeof(longer), 0600);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EBADKEY);
  /* the public half does not match the seed */
  pb[sizeof(pb) - 1] ^= 1;
  write_file(path, pb, sizeof(pb), 0600);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EBADKEY);
  pb[sizeof(pb) - 1] ^= 1;
  /* readable by others: refused, and not replaced */
  write_file(path, pb, sizeof(pb), 0644);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EINVAL);
  chmod(path, 0600);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_OK);
  assert_memory_equal(kp.pub, real.pub, 32);
  /* a directory where the key should be */
  unlink(path);
  mkdir(path, 0700);
  assert_int_equal(gg_identity_load(home, NULL, &kp, NULL), GG_EIO);
  rmdir(path);
  free(path);
  gg_test_rmtree(home);
  free(home);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_then_reload),
      cmocka_unit_test(test_seeded_key_is_deterministic),
      cmocka_unit_test(test_refuses_bad_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
