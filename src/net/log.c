/*
 * Leveled logger (include/ggen/log.h). Formatting happens only for messages that pass the
 * level check; a message longer than 1 KiB is truncated rather than allocated.
 */
#include "ggen/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void ggn_log_init(ggn_log *l, int level, const char *name) {
  memset(l, 0, sizeof(*l));
  l->level = level;
  if (name) snprintf(l->name, sizeof(l->name), "%s", name);
}

const char *ggn_log_level_name(int level) {
  if (level < GGN_LOG_ERROR || level > GGN_LOG_TRACE) return "?";
  return level_names[level];
}

int ggn_log_level_parse(const char *s) {
  if (!strcmp(s, "off")) return GGN_LOG_OFF;
  for (int i = 0; i <= GGN_LOG_TRACE; i++)
    if (!strcmp(s, level_names[i])) return i;
  return -2;
}

void ggn_log_emit(const ggn_log *l, int level, const char *fmt, ...) {
  if (!GGN_LOG_ON(l, level)) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (l->sink) {
    l->sink(l->ud, level, l->name, msg);
  } else if (l->name[0]) {
    fprintf(stderr, "ggen[%s] %s: %s\n", l->name, ggn_log_level_name(level), msg);
  } else {
    fprintf(stderr, "ggen %s: %s\n", ggn_log_level_name(level), msg);
  }
}
