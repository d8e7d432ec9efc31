/*
 * A small leveled logger for the glue layers (src/net, the CLI). Protocol cores never log:
 * they return error codes and the glue that drives them says what happened.
 *
 * A logger is a value owned by its user (each host has its own, named after its peer id, so
 * many nodes in one process stay distinguishable); nothing is global. Messages go to a sink
 * callback, by default one line per message on stderr:
 *   "ggen[12D3Koo…YdBfeSB] warn: connection closed: peer violated the protocol (...)"
 */
#ifndef GGEN_LOG_H
#define GGEN_LOG_H

enum { GGN_LOG_OFF = -1, GGN_LOG_ERROR = 0, GGN_LOG_WARN, GGN_LOG_INFO, GGN_LOG_DEBUG,
       GGN_LOG_TRACE };

/* Receives one formatted message (no trailing newline). name is the logger's name. */
typedef void (*ggn_log_sink)(void *ud, int level, const char *name, const char *msg);

typedef struct ggn_log {
  int level;         /* messages above this level are dropped */
  ggn_log_sink sink; /* NULL: stderr */
  void *ud;
  char name[64];
} ggn_log;

/* Initialises a logger writing to stderr at level (GGN_LOG_*) named name (may be NULL). */
void ggn_log_init(ggn_log *l, int level, const char *name);

/* 1 when a message at lvl would be emitted. */
#define GGN_LOG_ON(l, lvl) ((l) != NULL && (lvl) <= (l)->level)

/* Formats and emits a message when level <= l->level. l may be NULL (drops everything).
 * ggn_logf() checks the level before its arguments are evaluated, so building them (peer ids
 * in base58, addresses) costs nothing when the message is dropped. */
void ggn_log_emit(const ggn_log *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define ggn_logf(l, level, ...)                                                                    \
  do {                                                                                             \
    if (GGN_LOG_ON((l), (level))) ggn_log_emit((l), (level), __VA_ARGS__);                         \
  } while (0)

/* Returns "error", "warn", "info", "debug" or "trace". */
const char *ggn_log_level_name(int level);

/* Parses a level name as above (also "off"); returns -2 when unknown. */
int ggn_log_level_parse(const char *s);

#endif
