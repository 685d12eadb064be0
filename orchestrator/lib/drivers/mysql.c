/*
 * mysql.c — the MySQL/MariaDB driver over libmariadb. A script goes to the server as one
 * multi-statement query so that the server itself parses compound bodies (BEGIN ... END);
 * our splitter is only used to name the statement that failed.
 */
#include "driver_impl.h"

#include "sqlsplit_impl.h"

#include <mysql.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct MyConn {
    DrvConn base;
    MYSQL *my;
    char *database; /* the URL's database, "" when none: lock names are server-wide */
    const DbUrl *url; /* the inventory's, which outlives the connection: for a canceller */
} MyConn;

enum { LOCK_NAME_MAX = 64 }; /* bytes: never more characters than the server allows */

static MYSQL *mdb_of(DrvConn *c)
{
    return ((MyConn *)c)->my;
}

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* mysql_init initialises the library on first use, which is not thread-safe; workers
 * connect concurrently, so do it once up front. */
static void init_library(void)
{
    mysql_library_init(0, NULL, NULL);
}

/* set_answer_wait bounds every read and write on the socket by the statement_timeout plus a
 * grace (the server has ended the statement by then, so silence means a frozen path). */
static void set_answer_wait(MYSQL *my, const DrvConnectOptions *opts)
{
    int ms = drvi_answer_wait_ms(opts);
    if (ms < 0)
        return;
    unsigned int s = (unsigned int)((ms + 999) / 1000);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &s);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &s);
}

static bool mdb_exec(DrvConn *c, const char *sql, DroverError *err);

/* The server ends a statement running past the environment's statement_timeout (MariaDB's
 * max_statement_time, in seconds; MySQL lacks it and refuses the SET, which is reported). */
static bool mdb_set_statement_timeout(DrvConn *c, const DrvConnectOptions *opts,
                                      DroverError *err)
{
    char *sql = xasprintf("SET SESSION max_statement_time = %d.%03d",
                          opts->statement_timeout_ms / 1000, opts->statement_timeout_ms % 1000);
    bool ok = mdb_exec(c, sql, err);
    free(sql);
    if (!ok)
        err->kind = ERR_CONNECT;
    return ok;
}

static DrvConn *mdb_connect(const DbUrl *url, const DrvConnectOptions *opts, char *where,
                           DroverError *err)
{
    pthread_once(&library_once, init_library);
    MYSQL *my = mysql_init(NULL);
    if (!my) {
        drvi_connect_error(err, DB_MYSQL, where, NULL, 0, "out of memory");
        free(where);
        return NULL;
    }
    unsigned int timeout = (unsigned int)opts->connect_timeout_s;
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", opts->application_name);
    set_answer_wait(my, opts);
    const char *db = url->database && url->database[0] ? url->database : NULL;
    if (!mysql_real_connect(my, url->host, url->user, url->password, db,
                            (unsigned int)url->port, NULL, CLIENT_MULTI_STATEMENTS)) {
        const char *secrets[] = {url->password};
        drvi_connect_error(err, DB_MYSQL, where, secrets, 1, mysql_error(my));
        err->code = (int)mysql_errno(my);
        mysql_close(my);
        free(where);
        return NULL;
    }
    MyConn *c = xcalloc(1, sizeof *c);
    drvi_conn_init(&c->base, &drvi_mysql_ops, where);
    c->my = my;
    c->database = xstrdup(url->database ? url->database : "");
    c->url = url;
    if (opts->statement_timeout_ms > 0 && !mdb_set_statement_timeout(&c->base, opts, err)) {
        drv_close(&c->base);
        return NULL;
    }
    return &c->base;
}

static void mdb_close(DrvConn *c)
{
    mysql_close(mdb_of(c));
    free(((MyConn *)c)->database);
    drvi_conn_release(c);
    free(c);
}

static void mdb_set_error(MYSQL *my, const char *sql, size_t len, DroverError *err)
{
    drvi_sql_error(err, DB_MYSQL, mysql_error(my), "", (int)mysql_errno(my), sql, len);
}

/* drain_results frees every pending result set of a multi-statement query; *done counts the
 * statements that finished. Returns false when one of them failed. */
static bool drain_results(MYSQL *my, size_t *done)
{
    for (;;) {
        MYSQL_RES *res = mysql_store_result(my);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(my) != 0)
            return false;
        (*done)++;
        int more = mysql_next_result(my);
        if (more < 0)
            return true;
        if (more > 0)
            return false;
    }
}

/*
 * rebuild_script joins the statements the splitter found, each followed by ";\n". The
 * mariadb client drops empty statements and trailing comments; the server would not: ";;"
 * is a syntax error and a trailing comment comes back as one more result. (The server
 * counts error lines from the start of each statement, so nothing is lost.)
 */
static void rebuild_script(const char *script, const SqlStatement *stmts, size_t n, StrBuf *out)
{
    for (size_t k = 0; k < n; k++) {
        sb_appendn(out, script + stmts[k].offset, stmts[k].len);
        sb_append(out, ";\n");
    }
}

/*
 * mdb_exec_script sends the whole script as one multi-statement query. On failure the
 * statement named is the splitter's statement at the failed index, a best guess when the
 * script holds compound bodies, which the splitter cuts at their inner ';'.
 */
static bool mdb_exec_script(DrvConn *c, const char *script, size_t *completed, DroverError *err)
{
    MYSQL *my = mdb_of(c);
    SqlStatement *stmts = NULL;
    size_t n = sql_split(script, DB_MYSQL, &stmts);
    if (n == 0)
        return true;
    StrBuf sql;
    sb_init(&sql);
    rebuild_script(script, stmts, n, &sql);
    bool ok = mysql_real_query(my, sql.data, sql.len) == 0 && drain_results(my, completed);
    if (!ok) {
        if (*completed < n)
            mdb_set_error(my, script + stmts[*completed].offset, stmts[*completed].len, err);
        else
            mdb_set_error(my, NULL, 0, err);
    }
    sb_free(&sql);
    free(stmts);
    return ok;
}

static bool mdb_exec(DrvConn *c, const char *sql, DroverError *err)
{
    size_t done = 0;
    return mdb_exec_script(c, sql, &done, err);
}

static void push_rows(MYSQL_RES *res, StrList *out)
{
    for (MYSQL_ROW row; (row = mysql_fetch_row(res)) != NULL;) {
        unsigned long *lengths = mysql_fetch_lengths(res);
        sl_push_owned(out, row[0] ? xstrndup(row[0], lengths[0]) : xstrdup(""));
    }
}

/* mdb_query runs sql and hands its first result to take (rows or column names), then drains
 * whatever further results a multi-statement left. */
static bool mdb_query(DrvConn *c, const char *sql, void (*take)(MYSQL_RES *, StrList *),
                      StrList *out, DroverError *err)
{
    MYSQL *my = mdb_of(c);
    if (mysql_real_query(my, sql, strlen(sql)) != 0) {
        mdb_set_error(my, sql, strlen(sql), err);
        return false;
    }
    MYSQL_RES *res = mysql_store_result(my);
    if (!res && mysql_field_count(my) != 0) {
        mdb_set_error(my, sql, strlen(sql), err);
        return false;
    }
    if (res) {
        if (mysql_num_fields(res) > 0)
            take(res, out);
        mysql_free_result(res);
    }
    size_t ignored = 0;
    int more = mysql_more_results(my) ? mysql_next_result(my) : -1;
    if (more > 0 || (more == 0 && !drain_results(my, &ignored))) {
        mdb_set_error(my, sql, strlen(sql), err);
        return false;
    }
    return true;
}

static void push_field_names(MYSQL_RES *res, StrList *out)
{
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    for (unsigned i = 0; i < mysql_num_fields(res); i++)
        sl_push_owned(out, xstrndup(fields[i].name, fields[i].name_length));
}

/* push_table: out is the columns list at the head of a DrvTable (see DrvTable). */
static void push_table(MYSQL_RES *res, StrList *out)
{
    DrvTable *t = (DrvTable *)out;
    push_field_names(res, &t->columns);
    unsigned cols = mysql_num_fields(res);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res)) != NULL; t->nrows++) {
        unsigned long *lengths = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < cols; i++)
            sl_push_owned(&t->cells, row[i] ? xstrndup(row[i], lengths[i]) : xstrdup(""));
    }
}

static bool mdb_query_table(DrvConn *c, const char *sql, DrvTable *out, DroverError *err)
{
    return mdb_query(c, sql, push_table, &out->columns, err);
}

static bool mdb_query_strings(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    return mdb_query(c, sql, push_rows, out, err);
}

static bool mdb_query_columns(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    return mdb_query(c, sql, push_field_names, out, err);
}

/* Returns NULL when the client library cannot escape in the connection's character set. */
static char *mdb_quote_literal(DrvConn *c, const char *s)
{
    size_t len = strlen(s);
    char *buf = xmalloc(2 * len + 3);
    buf[0] = '\'';
    unsigned long n = mysql_real_escape_string(mdb_of(c), buf + 1, s, len);
    if (n == (unsigned long)-1) {
        free(buf);
        return NULL;
    }
    buf[1 + n] = '\'';
    buf[2 + n] = '\0';
    return buf;
}

/* ---- named locks ------------------------------------------------------------------------ */

/* whole_seconds rounds up: a wait of 1 ms must still wait, and ms + 999 could overflow. */
static int whole_seconds(int ms)
{
    return ms / 1000 + (ms % 1000 != 0);
}

/* query_value runs sql and hands back the first column of its first row ("" for NULL), or
 * NULL when there is no row. Caller frees *value. */
static bool query_value(DrvConn *c, const char *sql, char **value, DroverError *err)
{
    StrList rows = STRLIST_INIT;
    *value = NULL;
    if (!mdb_query_strings(c, sql, &rows, err))
        return false;
    if (rows.n > 0)
        *value = xstrdup(rows.items[0]);
    sl_free(&rows);
    return true;
}

/*
 * lock_name_sql is the SQL expression of key's GET_LOCK name (docs/locks.md):
 * "drover:DATABASE:KEY" when that is at most 64 bytes, else "drover:" followed by the SHA-1
 * of "DATABASE:KEY" in 40 lowercase hex digits, computed by the server's SHA1(). Returns
 * NULL (err set) when the client library cannot quote the name.
 */
static char *lock_name_sql(DrvConn *c, const char *key, DroverError *err)
{
    const char *db = ((MyConn *)c)->database;
    char *plain = xasprintf("drover:%s:%s", db, key);
    char *scoped = xasprintf("%s:%s", db, key);
    bool fits = strlen(plain) <= LOCK_NAME_MAX;
    char *quoted = mdb_quote_literal(c, fits ? plain : scoped);
    char *sql = NULL;
    if (!quoted)
        error_set(err, ERR_INTERNAL, "cannot quote the lock name for '%s'", key);
    else if (fits)
        sql = xstrdup(quoted);
    else
        sql = xasprintf("CONCAT('drover:', SHA1(%s))", quoted);
    free(quoted);
    free(scoped);
    free(plain);
    return sql;
}

/* get_lock runs one GET_LOCK(name, seconds); *acquired tells whether it took the lock. */
static bool get_lock(DrvConn *c, const char *key, const char *name, int seconds, bool *acquired,
                     DroverError *err)
{
    char *sql = xasprintf("SELECT GET_LOCK(%s, %d)", name, seconds);
    char *result = NULL;
    bool ok = query_value(c, sql, &result, err);
    if (ok && (!result || (strcmp(result, "1") != 0 && strcmp(result, "0") != 0))) {
        error_set(err, ERR_SQL, "GET_LOCK for '%s' returned NULL", key);
        error_set_context(err, NULL, NULL, sql);
        ok = false;
    }
    *acquired = ok && strcmp(result, "1") == 0;
    free(result);
    free(sql);
    return ok;
}

/* mdb_lock: GET_LOCK waits on the server, in whole seconds. The server's timer can give up a
 * few milliseconds before the client's wait_ms has passed (seen: 995 of 1000 ms), so a miss
 * before the deadline sleeps out the rest and asks once more: lock_wait is a floor. The
 * holder is not stored: the connection id names the process (drv_lock_holder). */
static bool mdb_lock(DrvConn *c, const char *key, const char *holder, int wait_ms,
                     bool *acquired, DroverError *err)
{
    (void)holder;
    char *name = lock_name_sql(c, key, err);
    if (!name)
        return false;
    int64_t deadline = drvi_now_ms() + wait_ms;
    bool ok = get_lock(c, key, name, whole_seconds(wait_ms), acquired, err);
    int64_t left = deadline - drvi_now_ms();
    if (ok && !*acquired && left > 0) {
        nanosleep(&(struct timespec){left / 1000, (long)(left % 1000) * 1000000L}, NULL);
        ok = get_lock(c, key, name, 0, acquired, err);
    }
    free(name);
    return ok;
}

static bool mdb_unlock(DrvConn *c, const char *key, DroverError *err)
{
    char *name = lock_name_sql(c, key, err);
    if (!name)
        return false;
    char *sql = xasprintf("SELECT RELEASE_LOCK(%s)", name);
    char *result = NULL;
    bool ok = query_value(c, sql, &result, err);
    if (ok && (!result || strcmp(result, "1") != 0)) {
        error_set(err, ERR_INTERNAL,
                      "cannot release the lock for '%s': this connection does not hold it", key);
        ok = false;
    }
    free(result);
    free(sql);
    free(name);
    return ok;
}

/* mdb_lock_holder names the holding connection, with its account when PROCESSLIST shows it
 * to us; the client's port is dropped so that the account reads as in GRANT. */
static bool mdb_lock_holder(DrvConn *c, const char *key, char **holder, DroverError *err)
{
    char *name = lock_name_sql(c, key, err);
    if (!name)
        return false;
    char *sql = xasprintf(
        "SELECT CONCAT('connection ', h.id, COALESCE(CONCAT(', user ', QUOTE(p.USER), '@',"
        " QUOTE(REGEXP_REPLACE(p.HOST, ':[0-9]+$', ''))), ''))"
        " FROM (SELECT IS_USED_LOCK(%s) AS id) h"
        " LEFT JOIN information_schema.PROCESSLIST p ON p.ID = h.id WHERE h.id IS NOT NULL",
        name);
    bool ok = query_value(c, sql, holder, err);
    free(sql);
    free(name);
    return ok;
}

/* mdb_set_lock_timeout bounds metadata-lock waits (DDL) and InnoDB row-lock waits alike. */
static bool mdb_set_lock_timeout(DrvConn *c, int ms, DroverError *err)
{
    if (ms == 0)
        return mdb_exec(c, "SET SESSION lock_wait_timeout = DEFAULT, "
                           "SESSION innodb_lock_wait_timeout = DEFAULT", err);
    int s = whole_seconds(ms);
    char *sql = xasprintf("SET SESSION lock_wait_timeout = %d, "
                          "SESSION innodb_lock_wait_timeout = %d",
                          s, s);
    bool ok = mdb_exec(c, sql, err);
    free(sql);
    return ok;
}

/* A MariaDB statement is stopped from a second connection: KILL QUERY with the first one's
 * thread id. */
typedef struct MyCanceller {
    DrvCanceller base;
    const DbUrl *url;
    unsigned long thread_id;
} MyCanceller;

static bool mdb_cancel(DrvCanceller *k)
{
    MyCanceller *mk = (MyCanceller *)k;
    DrvConnectOptions opts = {.application_name = "drover cancel", .connect_timeout_s = 5};
    DroverError err = DROVER_ERROR_INIT;
    DrvConn *killer = mdb_connect(mk->url, &opts, xstrdup("cancel"), &err);
    bool ok = killer != NULL;
    if (ok) {
        char *sql = xasprintf("KILL QUERY %lu", mk->thread_id);
        ok = mysql_query(mdb_of(killer), sql) == 0;
        free(sql);
        mdb_close(killer);
    }
    error_clear(&err);
    return ok;
}

static void mdb_canceller_free(DrvCanceller *k)
{
    free(k);
}

static DrvCanceller *mdb_canceller(DrvConn *c)
{
    MyCanceller *k = xcalloc(1, sizeof *k);
    k->base = (DrvCanceller){.cancel = mdb_cancel, .free = mdb_canceller_free};
    k->url = ((MyConn *)c)->url;
    k->thread_id = mysql_thread_id(mdb_of(c));
    return &k->base;
}

const DrvOps drvi_mysql_ops = {
    .dialect = DB_MYSQL,
    .begin_sql = "START TRANSACTION",
    .connect = mdb_connect,
    .close = mdb_close,
    .exec = mdb_exec,
    .exec_script = mdb_exec_script,
    .query_strings = mdb_query_strings,
    .query_columns = mdb_query_columns,
    .query_table = mdb_query_table,
    .quote_literal = mdb_quote_literal,
    .lock = mdb_lock,
    .unlock = mdb_unlock,
    .lock_holder = mdb_lock_holder,
    .set_lock_timeout = mdb_set_lock_timeout,
    .canceller = mdb_canceller,
};
