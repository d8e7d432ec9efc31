/*
 * A node's home directory: where its identity key, catalog, store and DHT records live.
 * Chosen by --home DIR, else $GGEN_HOME, else $XDG_DATA_HOME/ggen, else ~/.local/share/ggen,
 * so many nodes can run on one machine, each with its own home.
 */
#ifndef GGEN_HOME_H
#define GGEN_HOME_H

/* Resolves the home path (malloc'd into *out; free with free()). opt may be NULL.
 * GG_EINVAL when nothing is set and $HOME is unknown, GG_ENOMEM. */
int gg_home_resolve(const char *opt, char **out);

/* Creates the directory and its parents with mode 0700 if missing. GG_EIO on failure. */
int gg_home_ensure(const char *path);

/* Joins home and a relative name into a malloc'd path ("home/name"); NULL on no memory. */
char *gg_home_path(const char *home, const char *name);

#endif
