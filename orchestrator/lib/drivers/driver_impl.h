/*
 * driver_impl.h — internal to drivers/: the vtable each client library implements and the
 * error helpers they share. driver.c dispatches through DrvOps; nothing outside drivers/
 * includes this header.
 */
#ifndef DROVER_DRIVER_IMPL_H
#define DROVER_DRIVER_IMPL_H

#include "drover/driver.h"

#include <stdint.h>

typedef struct DrvOps {
    DbDialect dialect;
    const char *begin_sql;
    /* where: printable "host:port/db" or file path, owned by the returned connection. */
    DrvConn *(*connect)(const DbUrl *url, const DrvConnectOptions *opts, char *where,
                        DroverError *err);
    void (*close)(DrvConn *c);
    bool (*exec)(DrvConn *c, const char *sql, DroverError *err);
    bool (*exec_script)(DrvConn *c, const char *script, size_t *completed, DroverError *err);
    bool (*query_strings)(DrvConn *c, const char *sql, StrList *out, DroverError *err);
    bool (*query_columns)(DrvConn *c, const char *sql, StrList *out, DroverError *err);
    bool (*query_table)(DrvConn *c, const char *sql, DrvTable *out, DroverError *err);
    char *(*quote_literal)(DrvConn *c, const char *s);
    /* The lock operations of driver.h; driver.c has checked the arguments (wait_ms >= 0,
     * ms >= 0) and set *acquired to false and *holder to NULL before the call. */
    bool (*lock)(DrvConn *c, const char *key, const char *holder, int wait_ms, bool *acquired,
                 DroverError *err);
    bool (*unlock)(DrvConn *c, const char *key, DroverError *err);
    bool (*lock_holder)(DrvConn *c, const char *key, char **holder, DroverError *err);
    bool (*set_lock_timeout)(DrvConn *c, int ms, DroverError *err);
    /* Whether a transaction is open on the connection (NULL: the dialect has none drover
     * relies on). */
    bool (*in_transaction)(DrvConn *c);
    DrvCanceller *(*canceller)(DrvConn *c);
} DrvOps;

/* The common head of every driver's canceller. */
struct DrvCanceller {
    bool (*cancel)(DrvCanceller *k);
    void (*free)(DrvCanceller *k);
};

/* The common head of every driver's connection struct (each embeds it first). */
struct DrvConn {
    const DrvOps *ops;
    char *where; /* never contains a password */
};

extern const DrvOps drvi_pg_ops;
extern const DrvOps drvi_mysql_ops;
extern const DrvOps drvi_sqlite_ops;

/* Sets up the common head; takes ownership of where. */
void drvi_conn_init(DrvConn *c, const DrvOps *ops, char *where);
/* Frees the common head's fields (not c itself). */
void drvi_conn_release(DrvConn *c);

/*
 * drvi_connect_error fills a ERR_CONNECT error "cannot connect to DIALECT 'WHERE': LIBMSG"
 * with the library's message folded onto one line and every occurrence of each non-empty
 * secret (the passwords the caller handed to the library) replaced by "***". SQLSTATE and
 * code are reset; the caller sets them when the library gives one.
 */
void drvi_connect_error(DroverError *err, DbDialect d, const char *where,
                        const char *const *secrets, size_t nsecrets, const char *libmsg);

/*
 * drvi_sql_error fills a ERR_SQL error with the server's message, SQLSTATE (or "") and
 * code (or 0), and the failing statement: the first statement of sql[0..len) as sql_split
 * sees it, without surrounding blanks and comments.
 */
void drvi_sql_error(DroverError *err, DbDialect d, const char *message, const char *sqlstate,
                    int code, const char *sql, size_t len);

/* What one attempt at a lock found: taken, held by someone else, or an error (err is set). */
typedef enum DrviTry { DRVI_TRY_TAKEN, DRVI_TRY_BUSY, DRVI_TRY_FAILED } DrviTry;

/*
 * drvi_poll_lock calls try_once(c, arg, err) until it takes the lock or fails, sleeping 50 to
 * 100 ms between attempts (jittered, so that waiting processes do not poll in step), and gives
 * up after wait_ms with *acquired false. wait_ms 0 is exactly one attempt.
 */
bool drvi_poll_lock(DrvConn *c, const void *arg,
                    DrviTry (*try_once)(DrvConn *c, const void *arg, DroverError *err), int wait_ms,
                    bool *acquired, DroverError *err);

/* Copies the first statement of sql[0..len) without surrounding blanks and comments. */
char *drvi_statement_text(DbDialect d, const char *sql, size_t len);

int64_t drvi_now_ms(void); /* CLOCK_MONOTONIC */
/* How long a network driver waits for any answer: the statement_timeout plus
 * DRV_ANSWER_GRACE_S, or -1 (no bound) without a statement_timeout. */
int drvi_answer_wait_ms(const DrvConnectOptions *opts);

#endif
