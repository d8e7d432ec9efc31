/*
 * A tiny CSV reader for the multiformats test tables (multihash test_cases.csv, the multibase
 * and multicodec tables): comma-separated fields, blanks around a field trimmed, a field may be
 * wrapped in double quotes (no escaped quotes occur in those tables).
 */
#ifndef GG_TEST_CSV_H
#define GG_TEST_CSV_H

#include <stddef.h>

/* Reads the next line of the NUL-terminated text at *cursor (which advances) into fields,
 * modifying the text in place. Returns the number of fields (at most max), or -1 at the end.
 * Blank lines give 0 fields. */
int gg_test_csv_next(char **cursor, char **fields, int max);

#endif
