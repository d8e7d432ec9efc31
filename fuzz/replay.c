/*
 * Corpus replay driver: links with one fuzz/fuzz_<name>.c target and feeds it every file
 * of the directories (or files) given on the command line. Built always, so the normal test
 * run replays each corpus under the sanitizers when they are on.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, got);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: no corpus\n", argv[i]);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      files++;
      if (run_file(argv[i])) return 1;
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char p[4096];
      snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
      files++;
      if (run_file(p)) return 1;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", files);
  return 0;
}
