/*
 * Home directory resolution (include/ggen/home.h).
 */
#include "ggen/home.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ggen/err.h"

char *gg_home_path(const char *home, const char *name) {
  size_t n = strlen(home) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", home, name);
  return p;
}

int gg_home_resolve(const char *opt, char **out) {
  const char *v = opt && *opt ? opt : getenv("GGEN_HOME");
  char *p = NULL;
  if (v && *v) {
    p = strdup(v);
  } else if ((v = getenv("XDG_DATA_HOME")) && *v) {
    p = gg_home_path(v, "ggen");
  } else if ((v = getenv("HOME")) && *v) {
    p = gg_home_path(v, ".local/share/ggen");
  } else {
    return GG_EINVAL;
  }
  if (!p) return GG_ENOMEM;
  *out = p;
  return GG_OK;
}

int gg_home_ensure(const char *path) {
  char *p = strdup(path);
  if (!p) return GG_ENOMEM;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      free(p);
      return GG_EIO;
    }
    *s = '/';
  }
  int rv = mkdir(p, 0700) != 0 && errno != EEXIST ? GG_EIO : GG_OK;
  struct stat st;
  if (rv == GG_OK && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) rv = GG_EIO;
  free(p);
  return rv;
}
