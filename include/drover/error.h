/*
 * error.h — errors as data. A function that fails fills a caller-provided DrvError and
 * returns false; the struct travels unchanged up to the tenant's result record, where the
 * report and (later) the journal show it. Only the CLI turns errors into exit codes.
 */
#ifndef DROVER_ERROR_H
#define DROVER_ERROR_H

#include <stdbool.h>

typedef enum DrvErrorKind {
    DRV_ERR_NONE = 0,
    DRV_ERR_USAGE,    /* bad command line */
    DRV_ERR_CONFIG,   /* bad inventory/config file */
    DRV_ERR_INPUT,    /* bad migration file */
    DRV_ERR_CONNECT,  /* the database could not be reached */
    DRV_ERR_SQL,      /* the server rejected a statement */
    DRV_ERR_REFUSED,  /* drover refused to act to protect the tenant's data */
    DRV_ERR_IO,       /* local file system */
    DRV_ERR_INTERNAL,
} DrvErrorKind;

/* Every string is owned by the struct (heap) and may be NULL. */
typedef struct DrvError {
    DrvErrorKind kind;
    char sqlstate[6]; /* PostgreSQL SQLSTATE, "" when none */
    int code;         /* MariaDB errno or SQLite extended result code, 0 when none */
    char *message;    /* lowercase, objects quoted, no trailing newline */
    char *hint;       /* what the user can do, or NULL */
    char *file;       /* input location (config or migration file), or NULL */
    int line;         /* 0 when unknown */
    char *tenant;     /* tenant id the error concerns */
    char *migration;  /* migration file name the error concerns */
    char *statement;  /* the SQL statement that failed */
} DrvError;

#define DRV_ERROR_INIT {0}

/* drv_error_set replaces kind and message; the context fields are kept. */
void drv_error_set(DrvError *err, DrvErrorKind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void drv_error_set_hint(DrvError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_error_set_location(DrvError *err, const char *file, int line);
/* Set tenant/migration/statement; NULL leaves a field unchanged. */
void drv_error_set_context(DrvError *err, const char *tenant, const char *migration,
                           const char *statement);
bool drv_error_is_set(const DrvError *err);
/* Moves src into dst (dst is cleared first); src is left empty. */
void drv_error_move(DrvError *dst, DrvError *src);
/* Frees every field and resets the struct to DRV_ERROR_INIT. */
void drv_error_clear(DrvError *err);
/*
 * drv_error_format renders the error for a person, e.g.
 *   "tenant 'acme': migration '2024-x.sql': relation \"t\" does not exist (SQLSTATE 42P01)"
 * followed by "\n  statement: ..." and "\n  hint: ..." lines when present, and prefixed by
 * "FILE:LINE: " when a location is set. The caller frees the string.
 */
char *drv_error_format(const DrvError *err);
/* One-line form without statement and hint, for tables and JSON "error" fields. */
char *drv_error_summary(const DrvError *err);

#endif
