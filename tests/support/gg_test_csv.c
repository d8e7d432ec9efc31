/*
 * CSV reader for test tables (tests/support/gg_test_csv.h).
 */
#include "gg_test_csv.h"

#include <string.h>

static char *trim(char *s, char *end) {
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
  if (end - s >= 2 && s[0] == '"' && end[-1] == '"') {
    s++;
    end--;
  }
  *end = 0;
  return s;
}

int gg_test_csv_next(char **cursor, char **fields, int max) {
  char *line = *cursor;
  if (!line || !*line) return -1;
  char *eol = strchr(line, '\n');
  *cursor = eol ? eol + 1 : line + strlen(line);
  char *end = eol ? eol : line + strlen(line);
  int n = 0;
  char *p = line;
  while (p <= end && n < max) {
    char *q = p;
    int quoted = 0;
    while (q < end && (quoted || *q != ',')) {
      if (*q == '"') quoted = !quoted;
      q++;
    }
    fields[n++] = trim(p, q);
    p = q + 1;
  }
  if (n == 1 && fields[0][0] == 0) return 0;
  return n;
}
