/*
 * journal_impl.h — private to the journal module: the handle and the SQLite helpers shared by
 * the writing side (journal.c) and the reading side (journal_json.c).
 */
#ifndef DROVER_JOURNAL_IMPL_H
#define DROVER_JOURNAL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "drover/journal.h"

struct Journal {
    sqlite3 *db;
    char *path;
};

/* journal_sql_fail fills err (ERR_IO, SQLite's extended code) with
 * "journal 'PATH': WHAT: SQLITE MESSAGE" and returns false. */
bool journal_sql_fail(Journal *j, DroverError *err, const char *what);
/* journal_prepare compiles one statement; NULL with err set (naming `what`) on failure. */
sqlite3_stmt *journal_prepare(Journal *j, const char *sql, const char *what, DroverError *err);
/* journal_exec runs constant SQL (pragmas, schema, transaction control). */
bool journal_exec(Journal *j, const char *sql, const char *what, DroverError *err);
/* journal_end_read ends a read transaction; nothing was written, so it cannot lose data. */
void journal_end_read(Journal *j);
/* journal_run_exists tells whether runs has run_id; false only on failure. */
bool journal_run_exists(Journal *j, int64_t run_id, bool *exists, DroverError *err);
/* journal_no_run fills err with ERR_USAGE "no run with id N" and returns false. */
bool journal_no_run(DroverError *err, int64_t run_id);

#endif
