/*
 * Error strings and classification, generated from GG_ERR_MAP (include/ggen/err.h).
 */
#include "ggen/err.h"

#define CLS_LOCAL 1
#define CLS_SOFT 2
#define CLS_PEER 3

struct errinfo {
  int code;
  const char *name;
  const char *msg;
  int cls;
};

static const struct errinfo errtab[] = {
    {GG_OK, "GG_OK", "success", 0},
#define ROW(name, code, msg, cls) {code, "GG_E" #name, msg, CLS_##cls},
    GG_ERR_MAP(ROW)
#undef ROW
};

static const struct errinfo *lookup(int err) {
  for (unsigned i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
    if (errtab[i].code == err) return &errtab[i];
  return 0;
}

const char *gg_strerror(int err) {
  const struct errinfo *e = lookup(err);
  return e ? e->msg : "unknown error";
}

const char *gg_errname(int err) {
  const struct errinfo *e = lookup(err);
  return e ? e->name : "GG_E?";
}

int gg_err_is_peer(int err) {
  const struct errinfo *e = lookup(err);
  return e && e->cls == CLS_PEER;
}

int gg_err_is_fatal(int err) {
  const struct errinfo *e = lookup(err);
  return err < 0 && (!e || e->cls != CLS_SOFT);
}
