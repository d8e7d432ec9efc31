/*
 * TOML 1.0.0 (https://toml.io/en/v1.0.0): a parser into a small DOM, accessors, a builder
 * and a deterministic writer.
 *
 * The parser is a pure function: bytes in, a tree of ggm_toml_val out, every allocation
 * through the caller's gg_mem, no I/O, no locale-dependent number parsing surprises (see
 * docs/toml.md). It enforces all of TOML 1.0: UTF-8 validity, control characters, newline
 * rules, the four string kinds with their escapes, integers in four bases with overflow
 * checks, floats, the four date/time kinds with calendar checks, and the rules about
 * defining tables and keys only once (dotted keys, [table], [[array of tables]], immutable
 * inline tables and static arrays). A failed parse returns a message naming file, line and
 * column ("gpack.toml:3:12: expected '=' after key").
 *
 * Tables keep their keys in insertion order, so a document written back comes out in the
 * order it was read or built, and the writer's output is byte-for-byte deterministic.
 *
 * Ownership: a ggm_toml_val returned by a parse or a constructor is owned by the caller and
 * freed with ggm_toml_free(), which frees the whole subtree. Values reached through the
 * accessors are borrowed from their parent. Every node remembers the allocator it was made
 * with, so a subtree is freed with the allocator that made it.
 */
#ifndef GGEN_TOML_H
#define GGEN_TOML_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"

typedef enum ggm_toml_type {
  GGM_TOML_TABLE = 1,
  GGM_TOML_ARRAY,
  GGM_TOML_STRING,
  GGM_TOML_INTEGER,
  GGM_TOML_FLOAT,
  GGM_TOML_BOOL,
  GGM_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
  GGM_TOML_DATETIME_LOCAL, /* local date-time:  1979-05-27T07:32:00 */
  GGM_TOML_DATE_LOCAL,     /* local date:       1979-05-27 */
  GGM_TOML_TIME_LOCAL,     /* local time:       07:32:00 */
} ggm_toml_type;

/*
 * A date, a time or both. Which fields are meaningful follows from the value's type:
 * DATE_LOCAL uses year..day, TIME_LOCAL hour..nanosecond, DATETIME_LOCAL both, DATETIME
 * also offset_minutes (0 is written as "Z"). frac_digits is the number of fractional-second
 * digits written (0..9; more digits in the input are truncated to nanoseconds) so a value
 * is written back as it was read.
 */
typedef struct ggm_toml_datetime {
  int year;                 /* 0..9999 */
  int month;                /* 1..12 */
  int day;                  /* 1..31, checked against the month and leap years */
  int hour, minute, second; /* second may be 60 (RFC 3339 leap second) */
  uint32_t nanosecond;
  int frac_digits;
  int offset_minutes; /* -1439..1439 */
} ggm_toml_datetime;

typedef struct ggm_toml_val ggm_toml_val;

/* Parse options: caps for hostile input (zero fields take the defaults below) and flags. */
typedef struct ggm_toml_opts {
  size_t max_size;    /* document bytes; default GGM_TOML_DEFAULT_MAX_SIZE */
  uint32_t max_depth; /* nesting of tables/arrays incl. dotted keys; default
                         GGM_TOML_DEFAULT_MAX_DEPTH */
  unsigned flags;     /* GGM_TOML_F_* */
} ggm_toml_opts;

#define GGM_TOML_DEFAULT_MAX_SIZE ((size_t)8 << 20)
#define GGM_TOML_DEFAULT_MAX_DEPTH 128u

/* Accept TOML 1.1 additions: newlines, comments and a trailing comma in inline tables,
 * \e and \xHH escapes, times without seconds. Without it the parser is strictly 1.0. */
#define GGM_TOML_F_V1_1 0x1u
/* Accept one non-TOML form found in real ggen package.toml files: a table header followed
 * by YAML-style "- value" lines, read as the header key holding an array of those values
 * ("[features]" + "- \"a\"" gives features = ["a"]). Each use is reported as a warning. */
#define GGM_TOML_F_LEGACY_LISTS 0x2u

#define GGM_TOML_ERRMAX 320

/* Where and why a parse failed, and the first warning of a successful lenient parse.
 * msg is "name:line:col: message" ("name: message" when the failure is not tied to a
 * position, e.g. a size limit or out of memory). */
typedef struct ggm_toml_error {
  uint32_t line; /* 1-based; 0 when not tied to a position */
  uint32_t col;  /* 1-based, in characters (code points) */
  char msg[GGM_TOML_ERRMAX];
  unsigned nwarnings;            /* non-TOML forms accepted (GGM_TOML_F_LEGACY_LISTS) */
  char warning[GGM_TOML_ERRMAX]; /* the first of them, "name:line:col: warning: ..." */
} ggm_toml_error;

/* ---- parsing ------------------------------------------------------------------------ */

/*
 * Parses a TOML 1.0 document. src[0..len) need not be NUL-terminated; a leading UTF-8 BOM
 * is skipped. name is used in messages only (NULL gives "<input>"). opts may be NULL (strict
 * TOML 1.0, default caps). err may be NULL; after a successful lenient parse its nwarnings
 * and warning report the non-TOML forms accepted.
 * On success *out is the root table (free with ggm_toml_free). On failure *out is untouched,
 * err is filled and the code is GG_EPARSE (malformed document), GG_ELIMIT (size or depth
 * cap) or GG_ENOMEM.
 */
int ggm_toml_parse(ggm_toml_val **out, const char *name, const void *src, size_t len,
                   const ggm_toml_opts *opts, const gg_mem *mem, ggm_toml_error *err);

/* Frees v and everything below it. NULL is ignored. */
void ggm_toml_free(ggm_toml_val *v);

/* ---- reading ------------------------------------------------------------------------ */

/* The type of v (v must not be NULL). */
ggm_toml_type ggm_toml_type_of(const ggm_toml_val *v);

/* A static name for a type as TOML users know it ("table", "string", "offset date-time"...). */
const char *ggm_toml_type_name(ggm_toml_type t);

/* Line and column (1-based) where a parsed value starts (for a table: where it was first
 * created - its header or key); 0 for built values. Either pointer may be NULL. */
void ggm_toml_pos(const ggm_toml_val *v, uint32_t *line, uint32_t *col);

/* Number of entries of a table or items of an array; 0 for other types. */
size_t ggm_toml_len(const ggm_toml_val *v);

/* Looks up a key in a table (NUL-terminated key / key with length; keys may contain NUL).
 * Returns NULL when t is not a table or has no such key. O(log n). */
const ggm_toml_val *ggm_toml_get(const ggm_toml_val *t, const char *key);
const ggm_toml_val *ggm_toml_getn(const ggm_toml_val *t, const char *key, size_t keylen);

/* Looks up a dotted path of bare keys ("package.metadata.x"); NULL when any step is
 * missing or not a table. Only for keys without dots: quote-free convenience. */
const ggm_toml_val *ggm_toml_get_path(const ggm_toml_val *t, const char *path);

/* The i-th entry of a table in insertion order: its key (length in *keylen, may be NULL;
 * the key is also NUL-terminated) and value. NULL when out of range or not a table. */
const char *ggm_toml_key_at(const ggm_toml_val *t, size_t i, size_t *keylen);
const ggm_toml_val *ggm_toml_value_at(const ggm_toml_val *t, size_t i);

/* The i-th item of an array; NULL when out of range or not an array. */
const ggm_toml_val *ggm_toml_at(const ggm_toml_val *a, size_t i);

/* Scalar accessors. Each returns the value when v has the right type and a neutral value
 * otherwise (NULL, 0, 0.0, 0, NULL), so check ggm_toml_type_of() first when it matters.
 * Strings are NUL-terminated and may contain NUL (use *len); they stay owned by v. */
const char *ggm_toml_str(const ggm_toml_val *v, size_t *len);
int64_t ggm_toml_int(const ggm_toml_val *v);
double ggm_toml_float(const ggm_toml_val *v);
int ggm_toml_bool(const ggm_toml_val *v);
const ggm_toml_datetime *ggm_toml_datetime_of(const ggm_toml_val *v);

/* 1 when a and b are the same TOML data: same types, table keys (order ignored), array
 * order, string bytes, integers, floats by value (nan equals nan, 0.0 equals -0.0), and
 * date/times by their fields (offset date-times as instants). */
int ggm_toml_equal(const ggm_toml_val *a, const ggm_toml_val *b);

/* ---- building ----------------------------------------------------------------------- */

/* Constructors: each returns a new owned value or NULL when out of memory. A NULL s with
 * len 0 is an empty string. */
ggm_toml_val *ggm_toml_new_table(const gg_mem *mem);
ggm_toml_val *ggm_toml_new_array(const gg_mem *mem);
ggm_toml_val *ggm_toml_new_str(const gg_mem *mem, const char *s, size_t len);
ggm_toml_val *ggm_toml_new_int(const gg_mem *mem, int64_t i);
ggm_toml_val *ggm_toml_new_float(const gg_mem *mem, double d);
ggm_toml_val *ggm_toml_new_bool(const gg_mem *mem, int b);
/* type is one of the four date/time types; the fields are checked like the parser does
 * (NULL with an invalid date or time). */
ggm_toml_val *ggm_toml_new_datetime(const gg_mem *mem, ggm_toml_type type,
                                    const ggm_toml_datetime *dt);

/* Deep copy of v with allocator mem (NULL = default). NULL when out of memory. */
ggm_toml_val *ggm_toml_clone(const ggm_toml_val *v, const gg_mem *mem);

/*
 * Puts v under key in table t, replacing (and freeing) any value already there; the key
 * keeps its original position then. Takes ownership of v in every case: on failure v is
 * freed. v must not already belong to another parent. GG_EINVAL when t is not a table or v
 * is NULL (so constructors can be passed straight in), GG_ENOMEM.
 */
int ggm_toml_set(ggm_toml_val *t, const char *key, size_t keylen, ggm_toml_val *v);

/* Appends v to array a; ownership as for ggm_toml_set. GG_EINVAL, GG_ENOMEM. */
int ggm_toml_push(ggm_toml_val *a, ggm_toml_val *v);

/* Convenience setters on a table with a NUL-terminated key (GG_EINVAL, GG_ENOMEM). */
int ggm_toml_set_str(ggm_toml_val *t, const char *key, const char *s);
int ggm_toml_set_int(ggm_toml_val *t, const char *key, int64_t i);
int ggm_toml_set_bool(ggm_toml_val *t, const char *key, int b);

/* Creates an empty table/array under key (replacing what was there) and returns it,
 * borrowed, in *child. GG_EINVAL, GG_ENOMEM. */
int ggm_toml_set_table(ggm_toml_val *t, const char *key, ggm_toml_val **child);
int ggm_toml_set_array(ggm_toml_val *t, const char *key, ggm_toml_val **child);

/* Appends a new empty table to array a (one [[element]] of an array of tables) and returns
 * it, borrowed, in *child. GG_EINVAL, GG_ENOMEM. */
int ggm_toml_push_table(ggm_toml_val *a, ggm_toml_val **child);

/* Removes key from table t and frees its value. GG_ENOTFOUND when absent, GG_EINVAL. */
int ggm_toml_remove(ggm_toml_val *t, const char *key, size_t keylen);

/* ---- writing ------------------------------------------------------------------------ */

/*
 * Serialises the table root as a TOML 1.0 document appended to out. Deterministic: keys in
 * insertion order; a table's plain values first, then its sub-tables as [a.b] sections and
 * arrays whose items are all tables as [[a.b]] sections; other arrays and tables inside
 * arrays inline; strings as basic strings with escapes; floats in the shortest form that
 * reads back to the same double. ggm_toml_parse() of the output gives a document that is
 * ggm_toml_equal() to root. GG_EINVAL (root not a table), GG_ETOOBIG (out's limit),
 * GG_ENOMEM.
 */
int ggm_toml_write(gg_buf *out, const ggm_toml_val *root);

/* Appends v as a TOML value (inline form: "str", 42, [1, 2], { a = 1 }). Same errors. */
int ggm_toml_write_value(gg_buf *out, const ggm_toml_val *v);

/* Appends a key as TOML spells it: bare when it is [A-Za-z0-9_-]+, else a basic string. */
int ggm_toml_write_key(gg_buf *out, const char *key, size_t keylen);

#endif
