/*
 * toml/toml_read.h: typed reads from a parsed TOML table for configuration
 * files, with errors that name FILE:LINE:COL and the key.  Absent keys
 * leave the destination untouched (it holds the default).
 */
#ifndef MCP_TOML_TOML_READ_H
#define MCP_TOML_TOML_READ_H

#include <stddef.h>
#include <stdint.h>

#include "toml/toml.h"

/* Refuse keys of tab not in allowed (NULL-terminated); section names the table. */
int toml_read_check_keys(const struct toml_value *tab, const char *const *allowed,
    const char *file, const char *section, struct mcp_err *err);
int toml_read_str(const struct toml_value *tab, const char *key, char *dst,
    size_t dstsz, const char *file, struct mcp_err *err);
int toml_read_int(const struct toml_value *tab, const char *key, int64_t min,
    int64_t max, int64_t *dst, const char *file, struct mcp_err *err);
int toml_read_bool(const struct toml_value *tab, const char *key, int *dst,
    const char *file, struct mcp_err *err);
/* Array of strings -> malloc'ed NULL-terminated vector (replaces *dst, frees old). */
int toml_read_strv(const struct toml_value *tab, const char *key, char ***dst,
    const char *file, struct mcp_err *err);
/* A sub-table (NULL if absent); error if present and not a table. */
int toml_read_table(const struct toml_value *tab, const char *key,
    const struct toml_value **dst, const char *file, struct mcp_err *err);
void toml_strv_free(char **v);
/* Read and parse a configuration file (at most 1 MiB); NULL with err
 * ("what: ..." when it cannot be read).  toml_free() the result. */
struct toml_value *toml_read_file(const char *path, const char *what,
    struct mcp_err *err);
/* The [tls] table of a daemon's config: ca, cert, key (each size bytes). */
int toml_read_tls(const struct toml_value *root, const char *path, char *ca,
    char *cert, char *key, size_t size, struct mcp_err *err);

#endif
