/*
 * executor_sessions.c — idle connections handed from one read-only job to the next (see
 * ExecSessions in executor.h). Only PostgreSQL schema-per-tenant connections are kept: many
 * tenants share one server, database and login and differ by search_path alone, so status
 * over N schemas needs as many connections as workers, not N. A database per tenant cannot
 * share a connection (PostgreSQL binds a session to one database), and writes never share
 * one: a migrate job's session holds the tenant's lock and ends with it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "executor_impl.h"

typedef struct IdleSession {
    const DbUrl *url; /* the tenant URL that opened it; it lives as long as the inventory */
    DrvConn *conn;
} IdleSession;

struct ExecSessions {
    pthread_mutex_t mu;
    IdleSession *idle; /* guarded by mu */
    size_t n, cap;     /* guarded by mu */
};

ExecSessions *exec_sessions_new(void)
{
    ExecSessions *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void exec_sessions_free(ExecSessions *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        drv_close(s->idle[i].conn);
    free(s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_params(const DbUrl *a, const DbUrl *b)
{
    if (a->nparams != b->nparams)
        return false;
    for (size_t i = 0; i < a->nparams; i++)
        if (!same_text(a->params[i].key, b->params[i].key) ||
            !same_text(a->params[i].value, b->params[i].value))
            return false;
    return true;
}

/* same_login: a and b reach the same database as the same user with the same settings; only
 * their schema may differ. */
static bool same_login(const DbUrl *a, const DbUrl *b)
{
    return a->dialect == b->dialect && a->port == b->port && same_text(a->host, b->host) &&
           same_text(a->user, b->user) && same_text(a->password, b->password) &&
           same_text(a->database, b->database) && same_params(a, b);
}

bool exec_sessions_shareable(const ExecSessions *s, const DbUrl *url)
{
    return s && url->dialect == DB_POSTGRES && url->schema;
}

/* exec_sessions_take hands out an idle connection to url's database, with search_path set to
 * url's schema, or NULL when there is none (the caller connects). A connection that fails to
 * switch is closed. */
DrvConn *exec_sessions_take(ExecSessions *s, const DbUrl *url)
{
    if (!exec_sessions_shareable(s, url))
        return NULL;
    DrvConn *conn = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (same_login(s->idle[i].url, url)) {
            conn = s->idle[i].conn;
            s->idle[i] = s->idle[--s->n];
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!conn)
        return NULL;
    char *schema = drv_quote_ident(DB_POSTGRES, url->schema);
    char *sql = xasprintf("SET search_path TO %s", schema);
    DroverError err = DROVER_ERROR_INIT;
    bool ok = drv_exec(conn, sql, &err);
    error_clear(&err);
    free(sql);
    free(schema);
    if (ok)
        return conn;
    drv_close(conn);
    return NULL;
}

/* exec_sessions_give keeps conn for the next job on url's database, or closes it when it
 * cannot be shared. */
void exec_sessions_give(ExecSessions *s, const DbUrl *url, DrvConn *conn)
{
    if (!conn)
        return;
    if (!exec_sessions_shareable(s, url)) {
        drv_close(conn);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->idle = xrealloc(s->idle, s->cap * sizeof *s->idle);
    }
    s->idle[s->n++] = (IdleSession){.url = url, .conn = conn};
    pthread_mutex_unlock(&s->mu);
}
