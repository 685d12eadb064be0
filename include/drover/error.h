/*
 * error.h — errors as data. A function that fails fills a caller-provided DroverError and
 * returns false; the struct travels unchanged up to the tenant's result record, where the
 * report and (later) the journal show it. Only the CLI turns errors into exit codes.
 */
#ifndef DROVER_ERROR_H
#define DROVER_ERROR_H

#include <stdbool.h>

typedef enum DroverErrorKind {
    ERR_NONE = 0,
    ERR_USAGE,    /* bad command line */
    ERR_CONFIG,   /* bad inventory/config file */
    ERR_INPUT,    /* bad migration file */
    ERR_CONNECT,  /* the database could not be reached */
    ERR_SQL,      /* the server rejected a statement */
    ERR_REFUSED,  /* drover refused to act to protect the tenant's data */
    ERR_IO,       /* local file system */
    ERR_INTERNAL,
} DroverErrorKind;

/* Every string is owned by the struct (heap) and may be NULL. */
typedef struct DroverError {
    DroverErrorKind kind;
    char sqlstate[6]; /* PostgreSQL SQLSTATE, "" when none */
    int code;         /* MariaDB errno or SQLite extended result code, 0 when none */
    char *message;    /* lowercase, objects quoted, no trailing newline */
    char *hint;       /* what the user can do, or NULL */
    char *file;       /* input location (config or migration file), or NULL */
    int line;         /* 0 when unknown */
    char *tenant;     /* tenant id the error concerns */
    char *migration;  /* migration file name the error concerns */
    char *statement;  /* the SQL statement that failed */
} DroverError;

#define DROVER_ERROR_INIT {0}

/* error_set replaces kind and message; the context fields are kept. */
void error_set(DroverError *err, DroverErrorKind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void error_set_hint(DroverError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_set_location(DroverError *err, const char *file, int line);
/* The most of a message or statement an error keeps (errors, reports, the journal). */
#define ERROR_TEXT_MAX 2048

/* Set tenant/migration/statement; NULL leaves a field unchanged. A statement longer than
 * ERROR_TEXT_MAX is kept as its start and its length (error_set cuts a message so too). */
void error_set_context(DroverError *err, const char *tenant, const char *migration,
                           const char *statement);
bool error_is_set(const DroverError *err);
/* Moves src into dst (dst is cleared first); src is left empty. */
void error_move(DroverError *dst, DroverError *src);
/* Frees every field and resets the struct to DROVER_ERROR_INIT. */
void error_clear(DroverError *err);
/*
 * error_format renders the error for a person, e.g.
 *   "tenant 'acme': migration '2024-x.sql': relation \"t\" does not exist (SQLSTATE 42P01)"
 * followed by "\n  statement: ..." and "\n  hint: ..." lines when present, and prefixed by
 * "FILE:LINE: " when a location is set. The caller frees the string.
 */
char *error_format(const DroverError *err);
/* One-line form without statement and hint, for tables and JSON "error" fields. */
char *error_summary(const DroverError *err);

#endif
