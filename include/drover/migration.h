/*
 * migration.h — the migration set: files discovered in migrations.path, ordered by file name
 * exactly as sequelize-cli orders them, and .sql files parsed into dbmate-style sections.
 * Knows nothing of databases.
 */
#ifndef DROVER_MIGRATION_H
#define DROVER_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "drover/error.h"

typedef enum MigKind {
    MIG_SQL = 0, /* .sql, run natively */
    MIG_JS,      /* .js .cjs .ts .cts (sequelize-cli's pattern); run by the Node runner later */
} MigKind;

typedef struct MigSection {
    char *sql;        /* the section body as written (may be "" when empty), or NULL if absent */
    int line;         /* line of the "-- migrate:up/down" marker, 1-based; 0 if absent */
    bool transaction; /* false with "transaction:false" */
} MigSection;

typedef struct Migration {
    char *name; /* file basename with extension: exactly what SequelizeMeta stores */
    char *path; /* full path */
    MigKind kind;
    MigSection up;   /* MIG_SQL only */
    MigSection down; /* MIG_SQL only; sql NULL or only whitespace/comments: irreversible */
    MigSection check; /* MIG_SQL only: the pre-check (-- migrate:check); its sql is the one query,
                         without comments or ';', or NULL when there is none */
} Migration;

typedef struct MigSet {
    char *dir;
    Migration *items; /* sorted by name, byte order (= JS code-unit order for ASCII names) */
    size_t n;
} MigSet;

/*
 * mig_discover lists dir non-recursively, keeps regular files named *.sql, *.js, *.cjs, *.ts,
 * *.cts (not *.d.ts, not dotfiles), sorts them by name and parses every .sql file. Fails with
 * ERR_INPUT naming the file and line of the first bad file, or ERR_IO when dir cannot
 * be read. out is zeroed first; release it with mig_set_free.
 */
bool mig_discover(const char *dir, MigSet *out, DroverError *err);
void mig_set_free(MigSet *set);

/*
 * mig_parse_sql parses a dbmate-format text into m->up, m->down and m->check:
 *   -- migrate:check            (optional, drover's: one query; before or after up)
 *   ...query...
 *   -- migrate:up [transaction:false]
 *   ...statements...
 *   -- migrate:down [transaction:false]
 *   ...statements...
 * Rules: "-- migrate:up" is required and comes before down; at most one of each marker; only
 * blank lines and comments may precede the first; an unknown option on a marker line is an
 * error. Errors are ERR_INPUT with err->file = path and err->line set.
 */
bool mig_parse_sql(const char *path, const char *text, Migration *m, DroverError *err);

/* True when a section has no statement (absent, empty, or only whitespace and comments). */
bool mig_section_is_empty(const MigSection *s);

/*
 * mig_find resolves a user-supplied name: the exact file name, or else the name without its
 * extension when that matches exactly one file. Returns the index, or -1.
 */
ssize_t mig_find(const MigSet *set, const char *name);
/* mig_set_has_js: whether any migration of the set is a .js one (run by the node runner). */
bool mig_set_has_js(const MigSet *set);

/* Length of the name without a known migration extension (.sql .js .cjs .ts .cts). */
size_t mig_stem_len(const char *name);

/*
 * mig_new writes DIR/YYYYMMDDHHMMSS-NAME.sql (UTC timestamp, as migration:generate names
 * files) with both sections, or NAME.js with a sequelize-cli style skeleton when js is true.
 * Refuses a NAME with a slash or an existing file. *out_path receives the path (caller frees).
 */
bool mig_new(const char *dir, const char *name, bool js, char **out_path, DroverError *err);

/*
 * Migration-set digests, so that two machines can tell whether they hold the same files (the
 * coordinator and drover-agent). Not cryptographic: FNV-1a 64, 16 lowercase hex digits.
 * mig_file_digest hashes the file name, a NUL byte and the file's bytes; mig_set_digest hashes,
 * in set order, each file's "NAME\tDIGEST\n". Both fail with ERR_IO naming the file when
 * it cannot be read. The caller frees the result.
 */
char *mig_file_digest(const Migration *m, DroverError *err);
char *mig_set_digest(const MigSet *set, DroverError *err);

#endif
