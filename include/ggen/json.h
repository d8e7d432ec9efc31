/*
 * An in-situ pull reader for JSON text (RFC 8259), for large hostile inputs such as registry
 * indexes (docs/catalog.md "Import").
 *
 * The reader walks a mutable buffer and hands out one token at a time: the caller keeps only
 * what it wants and skips the rest, so nothing is built for the parts it ignores. Strings
 * are decoded inside the buffer (an escape is never shorter than what it decodes to) and
 * NUL-terminated there, so a string token is a C string that lives as long as the buffer,
 * at the cost of no allocation at all. jansson builds a tree of the whole document instead:
 * for a 42 MB registry index that is 270 MB of nodes and 0.6 s, three times the rest of
 * the parse-and-walk work (the reason this exists; jansson stays the project's JSON
 * library elsewhere).
 *
 * Strictness follows jansson's defaults, so a file one accepts the other accepts: UTF-8
 * validated (no overlong forms, surrogates or code points past U+10FFFF), no control
 * characters in strings, \u0000 refused (a C string cannot hold it), lone surrogate escapes
 * refused, RFC 8259 number syntax, nesting at most GG_JSON_MAX_DEPTH, nothing but
 * whitespace after the root value. Unlike jansson the root may be any value, and numbers
 * are handed out as text (their range is the caller's business).
 *
 * Invariants: once a call fails, every later call fails the same way (the error is
 * sticky); the bytes before the reader's position may have been rewritten, those after it
 * are untouched. Uses no allocation and no I/O.
 */
#ifndef GGEN_JSON_H
#define GGEN_JSON_H

#include <stddef.h>
#include <stdint.h>

#define GG_JSON_MAX_DEPTH 2048 /* nested arrays/objects (jansson's limit) */

typedef enum gg_json_type {
  GG_JSON_EOF = 0, /* the root value is complete and only whitespace followed */
  GG_JSON_OBJECT,  /* '{': KEY value pairs follow until END */
  GG_JSON_ARRAY,   /* '[': values follow until END */
  GG_JSON_END,     /* the '}' or ']' closing the innermost object or array */
  GG_JSON_KEY,     /* an object member's name: str/len, NUL-terminated */
  GG_JSON_STRING,  /* str/len, decoded and NUL-terminated */
  GG_JSON_NUMBER,  /* str/len: the literal as written, NOT NUL-terminated */
  GG_JSON_TRUE,
  GG_JSON_FALSE,
  GG_JSON_NULL,
} gg_json_type;

typedef struct gg_json {
  /* the last token's text (KEY, STRING, NUMBER); points into the buffer */
  const char *str;
  size_t len;
  /* private */
  char *p, *end, *base, *line_start;
  size_t line, depth;
  int state;
  const char *err; /* first error (static text), NULL while none */
  size_t err_line, err_col;
  uint8_t stack[GG_JSON_MAX_DEPTH / 8]; /* bit per level: 1 = object */
} gg_json;

/* Starts reading buf[0..len). The reader borrows buf (and writes into it) until the caller
 * is done with the tokens' strings. */
void gg_json_init(gg_json *j, char *buf, size_t len);

/* Reads the next token and returns its type (>= 0), or GG_EPARSE when the text is not JSON
 * (gg_json_error() says where and why). After GG_JSON_EOF every call returns GG_JSON_EOF. */
int gg_json_next(gg_json *j);

/* Skips the rest of a value whose first token was `type` (the whole object or array when
 * it is GG_JSON_OBJECT or GG_JSON_ARRAY; nothing for a scalar). GG_OK or GG_EPARSE. */
int gg_json_skip(gg_json *j, int type);

/* Nesting depth after the last token (0 at the root level). */
static inline size_t gg_json_depth(const gg_json *j) { return j->depth; }

/* The first error: a static message and its 1-based line and byte column (NULL, 0, 0 when
 * there is none). */
const char *gg_json_error(const gg_json *j, size_t *line, size_t *col);

/* Converts a NUMBER token's text to an unsigned count, the way an index's downloads and
 * stars are read: the fraction truncated (exponents applied exactly, no floating point),
 * negative values 0, values past 2^64-1 saturated. */
uint64_t gg_json_number_u64(const char *s, size_t n);

#endif
