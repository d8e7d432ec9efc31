/*
 * Helpers of the `ggen p2p` commands for lists of multiaddrs: "--bootstrap A B C" on the
 * command line and $GGEN_P2P_BOOTSTRAP / $GGEN_P2P_LISTEN in the environment.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/multiaddr.h"

static int is_maddr(const char *s) {
  gg_maddr ma;
  return s[0] == '/' && gg_maddr_parse(&ma, s, strlen(s)) == GG_OK;
}

char **cli_p2p_expand(int argc, char **argv, const char *long_opt, char short_opt, int *nargc) {
  char **out = malloc((size_t)(2 * argc + 1) * sizeof(*out));
  if (!out) return NULL;
  char shortname[3] = {'-', short_opt, 0};
  size_t ll = strlen(long_opt);
  int n = 0;
  for (int i = 0; i < argc; i++) {
    out[n++] = argv[i];
    int with_value = !strcmp(argv[i], long_opt) || !strcmp(argv[i], shortname);
    int inline_value = !strncmp(argv[i], long_opt, ll) && argv[i][ll] == '=';
    if (!with_value && !inline_value) continue;
    if (with_value && i + 1 < argc) out[n++] = argv[++i];
    while (i + 1 < argc && is_maddr(argv[i + 1])) { /* more values for the same option */
      out[n++] = (char *)long_opt;
      out[n++] = argv[++i];
    }
  }
  out[n] = NULL;
  *nargc = n;
  return out;
}

size_t cli_p2p_env_addrs(const char *var, char **buf, const char **out, size_t cap) {
  *buf = NULL;
  const char *v = getenv(var);
  if (!v || !*v) return 0;
  *buf = strdup(v);
  if (!*buf) return 0;
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(*buf, " ,\t\n", &save); t && n < cap;
       t = strtok_r(NULL, " ,\t\n", &save))
    out[n++] = t;
  return n;
}
