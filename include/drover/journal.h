/*
 * journal.h — the run journal: an embedded SQLite file that records every run (who, where,
 * which command line), each tenant's result and each migration step with its attempts, and
 * the tenants left dirty until an operator resolves them. Only the coordinator thread writes
 * it (results come back through the pool), so it needs no locking of its own beyond SQLite's.
 * Knows nothing of drivers.
 */
#ifndef DROVER_JOURNAL_H
#define DROVER_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "drover/error.h"
#include "drover/executor.h"

typedef struct Journal Journal;

/* journal_open opens or creates the file (WAL mode, busy timeout, schema created or checked;
 * a file from a newer drover is refused). ERR_IO on failure, naming the path. */
Journal *journal_open(const char *path, DroverError *err);
void journal_close(Journal *j); /* journal_close(NULL) is a no-op */

typedef struct JournalRunInfo {
    const char *command; /* "migrate", "undo" */
    const char *argv;    /* the command line, as typed (never holds secrets: URLs live in the
                            inventory) */
    const char *config;  /* inventory path */
} JournalRunInfo;

/* journal_begin_run records a new run with its start time, user, host name and pid. */
bool journal_begin_run(Journal *j, const JournalRunInfo *info, int64_t *run_id, DroverError *err);

/*
 * journal_record_tenant stores one tenant's result and its steps in one transaction. It also
 * keeps the dirty list: outcome dirty marks the tenant dirty with res->dirty_migration (and the
 * error); a result that applied or reverted that same migration cleanly clears the mark.
 * Skipped tenants are recorded too, so a halted run lists what it never attempted. Recording
 * a tenant again in the same run replaces its earlier record (compensation after a halt turns
 * "migrated" into "reverted", with the revert's steps added).
 */
bool journal_record_tenant(Journal *j, int64_t run_id, const ExecResult *res, DroverError *err);

/* journal_end_run stores the end time and outcome: "succeeded", "failed", "incomplete" (some
 * tenant was locked by another process), "halted", "interrupted". */
bool journal_end_run(Journal *j, int64_t run_id, const char *outcome, DroverError *err);

/* journal_dirty tells whether tenant_id is marked dirty; *migration and *error (caller frees)
 * are set when it is, NULL otherwise. It returns false only on failure (err set): the tenant
 * is dirty when *migration != NULL ("" when the dirty result named no migration). */
bool journal_dirty(Journal *j, const char *tenant_id, char **migration, char **error,
                   DroverError *err);
/* journal_last_run finds the tenant's newest recorded run (the highest run id with a result
 * for it): *outcome (caller frees) is the tenant's outcome in that run ("migrated", "failed",
 * "skipped", ...), *ended_at when its job ended (the run's end, else start, for a tenant that
 * never started). With no run, *outcome is NULL and *run_id and *ended_at are 0. Returns false
 * only on failure (err set). */
bool journal_last_run(Journal *j, const char *tenant_id, char **outcome, long long *run_id,
                      double *ended_at, DroverError *err);
/*
 * journal_mark_started marks the tenant dirty with migration before a section that runs
 * without a transaction is sent, and journal_clear_started removes that mark once the section
 * ended: a process killed in between (SIGKILL, power loss) leaves the tenant dirty, so the
 * next run refuses to replay a migration the server may have run in part or in full.
 * Called with the tenant's lock held: a mark the tenant already carries (a dead run's) makes
 * it return false with *existing (caller frees) naming its migration and err ERR_REFUSED.
 * While the marking run goes on (its process alive on this host), journal_dirty does not
 * report its started marks: the tenant is being migrated, not dirty.
 * journal_clear_started removes only the mark journal_mark_started made in this run.
 */
bool journal_mark_started(Journal *j, int64_t run_id, const char *tenant_id,
                          const char *migration, char **existing, DroverError *err);
bool journal_clear_started(Journal *j, int64_t run_id, const char *tenant_id,
                           const char *migration, DroverError *err);

/* journal_record_fleet stores the ids of every tenant the run's inventory declared (selected
 * or not), in one transaction. */
bool journal_record_fleet(Journal *j, int64_t run_id, const char *const *ids, size_t n,
                          DroverError *err);
/* journal_fleet_changes compares ids (the inventory now) with the tenants of the newest run
 * that recorded them: *since_run is that run (0: none, and the lists stay empty), appeared
 * gets the ids it lacked and disappeared those it had that ids lacks, each sorted. */
bool journal_fleet_changes(Journal *j, const char *const *ids, size_t n, int64_t *since_run,
                           StrList *appeared, StrList *disappeared, DroverError *err);

/* journal_resolve clears tenant_id's dirty mark (an operator fixed the tenant by hand);
 * *was_dirty tells whether there was one. */
bool journal_resolve(Journal *j, const char *tenant_id, bool *was_dirty, DroverError *err);

/* The newest runs first, at most limit: [{"id","command","argv","user","host","pid",
 * "started_at","ended_at","outcome","tenants":{outcome: count}}]. Caller owns the reference. */
json_t *journal_runs_json(Journal *j, int limit, DroverError *err);
/* One run with every tenant and step, or NULL with ERR_USAGE "no run with id N". */
json_t *journal_run_json(Journal *j, int64_t run_id, DroverError *err);

#endif
