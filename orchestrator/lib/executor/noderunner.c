/*
 * noderunner.c — the pool of Node.js runners (see noderunner_impl.h): spawning them, handing
 * out their channels, the line-delimited JSON protocol with a per-request deadline, and turning
 * their replies into DroverErrors that the executor's retry and rollback rules understand.
 *
 * A runner process has NR_CHANNELS channels (socketpairs, its fds 3..), each an independent
 * session serving one tenant at a time; an NrRunner is one such session. A tenant's .js work is
 * mostly waiting on its database, so one Node process keeps many tenants busy: the pool starts
 * another only when the ones it has are busy on the CPU (or out of channels), and never more
 * than defaults.js_runners (the CPU count). Measured (docs/benchmarks.md): on 2 CPUs beside
 * its PostgreSQL, one runner at half a core beat two, whose second start-up (0.35 s of CPU)
 * and contention cost more than the parallelism gave.
 */
#define _GNU_SOURCE
#include "noderunner_impl.h"

#include "drover/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
/* check, open and close load modules and connect: bounded, but never by the migrations'
 * js_timeout, which may be short. */
#define SETUP_TIMEOUT_MS (2 * 60 * 1000)

/* Channels per runner process. Idle ones cost two descriptors; more sessions than
 * NR_CHANNELS times the CPU count start further processes. */
#define NR_CHANNELS 16

typedef struct NrSlot {
    int fd;       /* our end of the socketpair: requests out, replies in */
    StrBuf inbuf; /* bytes read past the last reply */
    bool busy;    /* handed out to a session (pool.mu) */
} NrSlot;

/* One Node.js process. Its slots' I/O belongs to the session holding them; the rest of it is
 * the pool's, under pool.mu. */
typedef struct NrProc {
    pid_t pid;
    size_t nslots;
    NrSlot *slots;
    size_t nbusy;
    bool broken; /* crashed, hung or out of step: no new session, killed */
    bool reaped; /* waitpid has collected it: its pid may belong to another process now */
    bool served; /* some session has used it: a channel handed out now is a reused one */
    char *why;   /* why it was killed, for the errors of the sessions it still had */
    /* CPU use since serving began, sampled by the pool (pool.mu): cpu_busy is the share of
     * one core over the last sample period. */
    long long cpu_ticks;
    long long cpu_at_ms; /* 0: not serving yet */
    double cpu_busy;
} NrProc;

struct NrRunner {
    NrProc *proc;
    NrSlot *slot;
    bool broken;  /* this session saw the process fail: it is killed on release */
    bool reused;  /* its process had served sessions before this one */
    bool hung_up; /* its end of the socket closed: the process is gone */
    const char *failure; /* what this session saw when it broke */
    bool stopped_for_other; /* its process was killed because another session's request hung */
    char *tenant;        /* the tenant open on it, to tell the other sessions why */
};

static struct {
    pthread_mutex_t mu;
    bool ready;
    char *node;
    char *script;
    char *modules;
    int timeout_ms;
    size_t max_procs; /* the CPU count */
    NrProc **procs;
    size_t nprocs;
    json_t *downs;       /* {path: "missing"|"empty"|"code"} from the check, for nr_down_kind */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Guards NrProc.why, which a session reads when its process fails, whatever the pool's lock is
 * doing (nr_setup holds it across its check request). */
static pthread_mutex_t why_mu = PTHREAD_MUTEX_INITIALIZER;

/* Where what migrations print goes (NULL: dropped). A lock of its own: output arrives while
 * pool.mu is held (the check of nr_setup runs under it). */
static struct {
    pthread_mutex_t mu;
    NrOutputFn fn;
    void *ctx;
} output = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* How long a runner that drover is done with may take to exit before it is killed: its tenant's
 * pool is closed within 2 s by the runner itself, and a timer a migration left must not hold
 * drover. */
#define EXIT_WAIT_MS 3000

static bool is_executable(const char *p)
{
    return access(p, X_OK) == 0;
}

static bool is_file(const char *p)
{
    return access(p, R_OK) == 0;
}

static char *find_node(void)
{
    const char *env = getenv("DROVER_NODE");
    if (env && *env)
        return is_executable(env) ? xstrdup(env) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *found = NULL;
    for (const char *p = path; !found; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *dir = n ? xstrndup(p, n) : xstrdup(".");
        char *cand = path_join(dir, "node");
        free(dir);
        if (is_executable(cand))
            found = cand;
        else
            free(cand);
        if (!end)
            break;
        p = end;
    }
    return found;
}

static char *exe_dir(void)
{
    for (size_t cap = 256;; cap *= 2) {
        char *buf = xmalloc(cap);
        ssize_t n = readlink("/proc/self/exe", buf, cap);
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if ((size_t)n < cap) {
            buf[n] = '\0';
            char *dir = path_dirname(buf);
            free(buf);
            return dir;
        }
        free(buf);
    }
}

static char *find_script(void)
{
    const char *env = getenv("DROVER_NODERUNNER");
    if (env && *env)
        return is_file(env) ? xstrdup(env) : NULL;
    char *dir = exe_dir();
    if (!dir)
        return NULL;
    const char *rels[] = {"noderunner/runner.js", "../share/drover/noderunner/runner.js"};
    char *found = NULL;
    for (size_t i = 0; i < sizeof rels / sizeof *rels && !found; i++) {
        char *cand = path_join(dir, rels[i]);
        if (is_file(cand))
            found = cand;
        else
            free(cand);
    }
    free(dir);
    return found;
}

/* find_modules walks up from the migrations folder, as Node resolves require('sequelize') for a
 * file there; from its absolute path, so that a relative one ("migrations") reaches "." too. */
static char *find_modules(const char *start)
{
    char *dir = realpath(start, NULL);
    if (!dir)
        dir = xstrdup(start);
    for (;;) {
        char *mods = path_join(dir, "node_modules");
        char *pkg = path_join(mods, "sequelize/package.json");
        bool hit = is_file(pkg);
        free(pkg);
        if (hit) {
            free(dir);
            return mods;
        }
        free(mods);
        char *up = path_dirname(dir);
        bool top = strcmp(up, dir) == 0 || strcmp(up, ".") == 0;
        free(dir);
        dir = up;
        if (top) {
            free(dir);
            return NULL;
        }
    }
}

/* reap_within waits up to ms for the process to exit; false when it is still running. */
static bool reap_within(NrProc *p, int ms)
{
    for (int waited = 0; !p->reaped; waited += 20) {
        pid_t got = waitpid(p->pid, NULL, WNOHANG);
        if (got == p->pid || (got < 0 && errno == ECHILD))
            p->reaped = true;
        else if (waited >= ms)
            return false;
        else
            nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return true;
}

/* proc_kill_now kills the process with its whole process group (what it spawned too); the
 * sessions still on it read end of input at once. */
static void proc_kill_now(NrProc *p)
{
    if (p->reaped)
        return;
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    p->reaped = true;
}

/* proc_end ends a process no session holds: closing its channels asks it to exit; one that is
 * broken, or still there after EXIT_WAIT_MS, is killed. */
static void proc_end(NrProc *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nslots; i++) {
        if (p->slots[i].fd >= 0)
            close(p->slots[i].fd);
        sb_free(&p->slots[i].inbuf);
    }
    if (!reap_within(p, p->broken ? 0 : EXIT_WAIT_MS))
        proc_kill_now(p);
    free(p->slots);
    free(p->why);
    free(p);
}

/* spawn_proc starts node in its own process group, so that a Ctrl-C meant for drover does not
 * kill a migration half-way: drover decides when to stop. Each channel is a socketpair whose
 * other end is the runner's fd 3 + i; the runner turns what migrations print into output
 * events there, and its fd 1 and 2 are drover's stderr, for what bypasses Node's streams (a
 * native module). */
static NrProc *spawn_proc(size_t nchannels, DroverError *err)
{
    NrProc *p = xcalloc(1, sizeof *p);
    p->slots = xcalloc(nchannels, sizeof *p->slots);
    int *theirs = xcalloc(nchannels, sizeof *theirs);
    bool ok = true;
    for (size_t i = 0; i < nchannels; i++) {
        int sv[2];
        p->slots[i].fd = theirs[i] = -1;
        sb_init(&p->slots[i].inbuf);
        p->nslots++;
        if (ok && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            error_set(err, ERR_INTERNAL, "cannot create a socket for the node runner: %s",
                      strerror(errno));
            ok = false;
        } else if (ok) {
            p->slots[i].fd = sv[0];
            /* Above every target fd, so that no dup2 in the child overwrites a source. */
            theirs[i] = fcntl(sv[1], F_DUPFD_CLOEXEC, 3 + (int)nchannels);
            close(sv[1]);
            ok = theirs[i] >= 0;
            if (!ok)
                error_set(err, ERR_INTERNAL, "cannot create a socket for the node runner: %s",
                          strerror(errno));
        }
    }
    char channels[24];
    snprintf(channels, sizeof channels, "%zu", nchannels);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    for (size_t i = 0; ok && i < nchannels; i++)
        posix_spawn_file_actions_adddup2(&fa, theirs[i], 3 + (int)i);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    char opt[] = "--channels";
    char *argv[] = {pool.node, pool.script, opt, channels, NULL};
    int rc = ok ? posix_spawn(&p->pid, pool.node, &fa, &attr, argv, environ) : 0;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (size_t i = 0; i < nchannels; i++)
        if (theirs[i] >= 0)
            close(theirs[i]);
    free(theirs);
    if (ok && rc != 0)
        error_set(err, ERR_INTERNAL, "cannot start '%s': %s", pool.node, strerror(rc));
    if (!ok || rc != 0) {
        p->reaped = true; /* nothing was started */
        proc_end(p);
        return NULL;
    }
    return p;
}

/* session_on binds a new session to a free channel of p (pool.mu held). */
static NrRunner *session_on(NrProc *p, size_t slot)
{
    NrRunner *r = xcalloc(1, sizeof *r);
    r->proc = p;
    r->slot = &p->slots[slot];
    r->slot->busy = true;
    r->reused = p->served;
    p->served = true;
    p->nbusy++;
    return r;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fail_runner: the session saw its process fail. When the pool had killed that process for
 * another tenant's sake, that is what the error says. */
static bool fail_runner(NrRunner *r, DroverError *err, const char *what)
{
    r->broken = true;
    r->failure = what;
    pthread_mutex_lock(&why_mu);
    const char *why = r->proc->why;
    r->stopped_for_other = why != NULL;
    if (why)
        error_set(err, ERR_INTERNAL, "the node runner (pid %ld) %s: it was stopped because %s",
                  (long)r->proc->pid, what, why);
    else
        error_set(err, ERR_INTERNAL, "the node runner (pid %ld) %s", (long)r->proc->pid, what);
    pthread_mutex_unlock(&why_mu);
    return false;
}

static bool send_all(NrRunner *r, const char *data, size_t len, DroverError *err)
{
    while (len) {
        ssize_t n = send(r->slot->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->hung_up = true;
            return fail_runner(r, err, "exited before it took the request");
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* take_line removes the first complete line from a channel's buffer, or returns NULL. */
static char *take_line(NrSlot *s)
{
    char *nl = s->inbuf.len ? memchr(s->inbuf.data, '\n', s->inbuf.len) : NULL;
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - s->inbuf.data);
    char *line = xstrndup(s->inbuf.data, n);
    size_t rest = s->inbuf.len - n - 1;
    memmove(s->inbuf.data, nl + 1, rest);
    s->inbuf.len = rest;
    s->inbuf.data[rest] = '\0';
    return line;
}

/* emit_output hands what a migration printed, a line at a time, to the output function. */
static void emit_output(const json_t *event)
{
    pthread_mutex_lock(&output.mu);
    NrOutputFn fn = output.fn;
    void *ctx = output.ctx;
    pthread_mutex_unlock(&output.mu);
    const char *text = json_string_value(json_object_get(event, "text"));
    if (!fn || !text)
        return;
    ExecOutput out = {
        .tenant = json_string_value(json_object_get(event, "tenant")),
        .migration = json_string_value(json_object_get(event, "migration")),
        .stream = json_string_value(json_object_get(event, "stream")),
    };
    while (*text) {
        size_t len = strcspn(text, "\n");
        char *line = xstrndup(text, len);
        out.line = line;
        fn(&out, ctx);
        free(line);
        text += len;
        if (*text == '\n')
            text++;
    }
}

/* output_event: a line that is an output event is emitted (and true); a reply is not. */
static bool output_event(const char *line)
{
    if (strncmp(line, "{\"event\":", 9) != 0)
        return false;
    json_t *j = json_loads(line, 0, NULL);
    bool is_event = json_is_object(j) && json_object_get(j, "event");
    if (is_event)
        emit_output(j);
    json_decref(j);
    return is_event;
}

/* read_line waits for one reply line until the deadline, emitting the output events that come
 * before it; a runner that is silent past the deadline is taken as hung. */
static char *read_line(NrRunner *r, int timeout_ms, DroverError *err)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *line = take_line(r->slot);
        if (line && output_event(line)) {
            free(line);
            continue;
        }
        if (line)
            return line;
        long long left = deadline - now_ms();
        if (left <= 0) {
            fail_runner(r, err, "did not answer in time");
            error_set_hint(err, "the request took longer than %d s; the runner was stopped",
                               timeout_ms / 1000);
            return NULL;
        }
        struct pollfd p = {.fd = r->slot->fd, .events = POLLIN};
        int pr = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (pr < 0 && errno != EINTR) {
            fail_runner(r, err, "could not be read");
            return NULL;
        }
        if (pr <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(r->slot->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->hung_up = true;
            fail_runner(r, err, "exited unexpectedly");
            return NULL;
        }
        sb_appendn(&r->slot->inbuf, buf, (size_t)n);
    }
}

static json_t *request(NrRunner *r, json_t *req, int timeout_ms, DroverError *err)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    StrBuf line;
    sb_init(&line);
    sb_append(&line, text);
    sb_appendc(&line, '\n');
    free(text);
    bool sent = send_all(r, line.data, line.len, err);
    sb_free(&line);
    if (!sent)
        return NULL;
    char *reply = read_line(r, timeout_ms, err);
    if (!reply)
        return NULL;
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    if (!json_is_object(j)) {
        json_decref(j);
        fail_runner(r, err, "sent a reply that is not JSON");
        return NULL;
    }
    return j;
}

/* reply_error fills err from a runner's {"ok":false,"error":{...}} reply. */
static void reply_error(json_t *reply, DroverErrorKind kind, DroverError *err)
{
    json_t *e = json_object_get(reply, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    error_set(err, kind, "%s", msg ? msg : "the node runner failed without a message");
    const char *state = json_string_value(json_object_get(e, "sqlstate"));
    if (state && strlen(state) == 5)
        memcpy(err->sqlstate, state, 6);
    json_t *no = json_object_get(e, "errno");
    if (json_is_integer(no))
        err->code = (int)json_integer_value(no);
    const char *sql = json_string_value(json_object_get(e, "sql"));
    if (sql)
        error_set_context(err, NULL, NULL, sql);
}

static bool reply_ok(json_t *reply)
{
    return json_is_true(json_object_get(reply, "ok"));
}

static const char *dialect_name(DbDialect d);

static json_t *check_request(const MigSet *set, unsigned dialects)
{
    json_t *files = json_array();
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == MIG_JS)
            json_array_append_new(files, json_string(set->items[i].path));
    json_t *names = json_array();
    for (DbDialect d = DB_POSTGRES; d <= DB_SQLITE; d++)
        if (dialects & NR_DIALECT(d))
            json_array_append_new(names, json_string(dialect_name(d)));
    return json_pack("{s:s, s:s, s:o, s:o}", "op", "check", "modules", pool.modules, "files",
                     files, "dialects", names);
}

/* driver_hint: what to do about a dialect driver the project lacks or cannot load. */
static void driver_hint(const char *driver, DroverError *err)
{
    if (strcmp(driver, "sqlite3") == 0)
        error_set_hint(err, "run 'npm install sqlite3' in the project (npm downloads a "
                                "prebuilt binding, or compiles one with node-gyp, python3, make "
                                "and a C++ compiler when it cannot); no tenant was touched");
    else
        error_set_hint(err, "run 'npm install %s' in the project; no tenant was touched",
                           driver);
}

/* check_load runs the check in the pool's first process, which then serves tenants. */
static bool check_load(const MigSet *set, unsigned dialects, DroverError *err)
{
    NrProc *p = spawn_proc(NR_CHANNELS, err);
    if (!p)
        return false;
    NrRunner *r = session_on(p, 0);
    json_t *reply = request(r, check_request(set, dialects), SETUP_TIMEOUT_MS, err);
    bool ok = reply && reply_ok(reply);
    if (reply && !ok) {
        reply_error(reply, ERR_INPUT, err);
        const char *file = json_string_value(json_object_get(reply, "file"));
        const char *driver = json_string_value(json_object_get(reply, "driver"));
        if (file)
            error_set_hint(err, "fix '%s'; no tenant was touched", file);
        else if (driver)
            driver_hint(driver, err);
        else
            error_set_hint(err, "run 'npm install sequelize' in the project that holds the "
                                    "migrations; no tenant was touched");
    }
    if (ok) {
        json_decref(pool.downs);
        pool.downs = json_incref(json_object_get(reply, "downs"));
    }
    json_decref(reply);
    p->slots[0].busy = false;
    p->nbusy = 0;
    free(r);
    if (ok) {
        pool.procs = xrealloc(pool.procs, (pool.nprocs + 1) * sizeof *pool.procs);
        pool.procs[pool.nprocs++] = p;
    } else {
        p->broken = true;
        proc_end(p);
    }
    return ok;
}

/* locate_runner finds node and runner.js (kept in the pool until nr_shutdown). */
static bool locate_runner(const char *why_node, DroverError *err)
{
    if (!pool.node)
        pool.node = find_node();
    if (!pool.node) {
        error_set(err, ERR_INPUT, "'node' was not found, and %s", why_node);
        error_set_hint(err, "install Node.js (or set DROVER_NODE); no tenant was touched");
        return false;
    }
    if (!pool.script)
        pool.script = find_script();
    if (!pool.script) {
        error_set(err, ERR_INPUT, "drover's node runner 'runner.js' was not found next "
                                  "to the drover executable");
        error_set_hint(err, "reinstall drover, or set DROVER_NODERUNNER to its runner.js");
        return false;
    }
    return true;
}

static bool locate(const MigSet *set, const char *modules_dir, DroverError *err)
{
    char *why = xasprintf("'%s' has JavaScript migrations", set->dir);
    bool found = locate_runner(why, err);
    free(why);
    if (!found)
        return false;
    pool.modules = modules_dir ? xstrdup(modules_dir) : find_modules(set->dir);
    if (!pool.modules) {
        error_set(err, ERR_INPUT, "'sequelize' is not installed in any node_modules from "
                                  "'%s' upwards", set->dir);
        error_set_hint(err, "run 'npm install sequelize' (and the dialect driver: pg, mysql2 "
                            "or sqlite3) in the project, or set migrations.node_modules; no "
                            "tenant was touched");
        return false;
    }
    return true;
}

json_t *nr_read_project(const char *dir, DroverError *err)
{
    pthread_mutex_lock(&pool.mu);
    char *why = xasprintf("reading the sequelize-cli project '%s' needs it", dir);
    NrProc *p = locate_runner(why, err) ? spawn_proc(1, err) : NULL;
    free(why);
    NrRunner *r = p ? session_on(p, 0) : NULL;
    pthread_mutex_unlock(&pool.mu);
    if (!r)
        return NULL;
    json_t *reply = request(r, json_pack("{s:s,s:s}", "op", "project", "dir", dir),
                            SETUP_TIMEOUT_MS, err);
    p->broken = r->broken;
    free(r);
    proc_end(p);
    if (reply && !reply_ok(reply)) {
        reply_error(reply, ERR_INPUT, err);
        json_decref(reply);
        return NULL;
    }
    return reply;
}

bool nr_setup(const MigSet *set, const char *modules_dir, unsigned dialects,
              const NrLimits *limits, DroverError *err)
{
    pthread_mutex_lock(&pool.mu);
    pool.timeout_ms = limits->timeout_ms > 0 ? limits->timeout_ms : DEFAULT_TIMEOUT_MS;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pool.max_procs = limits->max_procs ? limits->max_procs : cpus > 0 ? (size_t)cpus : 1;
    bool ok = pool.ready || (locate(set, modules_dir, err) && check_load(set, dialects, err));
    pool.ready = ok;
    pthread_mutex_unlock(&pool.mu);
    return ok;
}

NrDownKind nr_down_kind(const char *path)
{
    pthread_mutex_lock(&pool.mu);
    const char *kind = json_string_value(json_object_get(pool.downs, path));
    pthread_mutex_unlock(&pool.mu);
    if (!kind)
        return NR_DOWN_UNKNOWN;
    if (strcmp(kind, "missing") == 0)
        return NR_DOWN_MISSING;
    return strcmp(kind, "empty") == 0 ? NR_DOWN_EMPTY : NR_DOWN_CODE;
}

void nr_set_output(NrOutputFn fn, void *ctx)
{
    pthread_mutex_lock(&output.mu);
    output.fn = fn;
    output.ctx = ctx;
    pthread_mutex_unlock(&output.mu);
}

bool nr_is_ready(void)
{
    pthread_mutex_lock(&pool.mu);
    bool ready = pool.ready;
    pthread_mutex_unlock(&pool.mu);
    return ready;
}

/*
 * drain_channel reads what a channel nobody holds has received: a runner writes there only
 * output events (a timer a migration left printing), which are emitted. False when the process
 * is gone (end of input) or out of step (anything else).
 */
static bool drain_channel(NrSlot *s)
{
    for (;;) {
        char buf[4096];
        ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return false;
        sb_appendn(&s->inbuf, buf, (size_t)n);
    }
    char *line;
    bool in_step = true;
    while (in_step && (line = take_line(s))) {
        in_step = output_event(line);
        free(line);
    }
    return in_step;
}

/* proc_alive tells whether a process that sat idle (no session) is still fit to serve: it may
 * have been killed by an operator or the OOM killer meanwhile. */
static bool proc_alive(NrProc *p)
{
    if (p->broken || p->reaped)
        return false;
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
        p->reaped = true;
        return false;
    }
    for (size_t i = 0; i < p->nslots; i++)
        if (!drain_channel(&p->slots[i]))
            return false;
    return true;
}

static void pool_remove(size_t i)
{
    pool.procs[i] = pool.procs[--pool.nprocs];
}

/* pool_prune ends the processes no session holds that died or broke meanwhile. */
static void pool_prune(void)
{
    for (size_t i = pool.nprocs; i-- > 0;) {
        NrProc *p = pool.procs[i];
        if (p->nbusy == 0 && !proc_alive(p)) {
            p->broken = true;
            pool_remove(i);
            proc_end(p);
        }
    }
}

/* pool_least_busy: the sound process with a free channel that serves fewest sessions. */
static NrProc *pool_least_busy(size_t *sound)
{
    NrProc *best = NULL;
    *sound = 0;
    for (size_t i = 0; i < pool.nprocs; i++) {
        NrProc *p = pool.procs[i];
        if (p->broken)
            continue;
        (*sound)++;
        if (p->nbusy < p->nslots && (!best || p->nbusy < best->nbusy))
            best = p;
    }
    return best;
}

/* When a runner counts as busy on the CPU: another one is then worth its start-up. */
#define NR_CPU_SATURATED 0.75
/* The shortest period a CPU sample is taken over. */
#define NR_CPU_SAMPLE_MS 500

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* proc_cpu_ticks: the process's user + system CPU in clock ticks (/proc/PID/stat), -1 when
 * it cannot be read. */
static long long proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return -1;
    return (long long)(utime + stime);
}

/* proc_cpu_busy (pool.mu held) updates the runner's CPU share when a sample period has passed
 * since the last one; the first call (its first session) only starts the count, so that its
 * start-up is not taken for load. */
static double proc_cpu_busy(NrProc *p)
{
    long long now = mono_ms(), ticks = proc_cpu_ticks(p->pid);
    if (ticks < 0)
        return p->cpu_busy;
    if (p->cpu_at_ms == 0) {
        p->cpu_ticks = ticks;
        p->cpu_at_ms = now;
    } else if (now - p->cpu_at_ms >= NR_CPU_SAMPLE_MS) {
        double seconds = (double)(ticks - p->cpu_ticks) / (double)sysconf(_SC_CLK_TCK);
        p->cpu_busy = seconds / ((double)(now - p->cpu_at_ms) / 1000.0);
        p->cpu_ticks = ticks;
        p->cpu_at_ms = now;
    }
    return p->cpu_busy;
}

static NrProc *pool_spawn(DroverError *err)
{
    NrProc *p = spawn_proc(NR_CHANNELS, err);
    if (p) {
        pool.procs = xrealloc(pool.procs, (pool.nprocs + 1) * sizeof *pool.procs);
        pool.procs[pool.nprocs++] = p;
    }
    return p;
}

/*
 * pool_session (pool.mu held): the runner serving fewest tenants; a new one when every runner
 * is out of channels, or when that one is busy on the CPU and there are fewer than max_procs. A
 * free channel of a busy process is drained before it is handed out; one that shows its
 * process gone breaks that process (its sessions find out themselves) and the choice is made
 * again.
 */
static NrRunner *pool_session(DroverError *err)
{
    pool_prune();
    for (;;) {
        size_t sound;
        NrProc *p = pool_least_busy(&sound);
        if (!p || (p->nbusy > 0 && sound < pool.max_procs &&
                   proc_cpu_busy(p) >= NR_CPU_SATURATED))
            p = pool_spawn(err);
        else
            proc_cpu_busy(p);
        if (!p)
            return NULL;
        size_t slot = 0;
        while (p->slots[slot].busy)
            slot++;
        if (p->nbusy == 0 || drain_channel(&p->slots[slot]))
            return session_on(p, slot);
        p->broken = true;
    }
}

NrRunner *nr_acquire(DroverError *err)
{
    pthread_mutex_lock(&pool.mu);
    NrRunner *r = NULL;
    if (!pool.ready)
        error_set(err, ERR_INTERNAL, "the node runner pool was not set up");
    else
        r = pool_session(err);
    pthread_mutex_unlock(&pool.mu);
    return r;
}

/* proc_break (pool.mu held) stops a process a session saw fail (hung, crashed, out of step) at
 * once, so that the other sessions on it fail now, with the reason, not at their deadline. */
static void proc_break(NrProc *p, const char *tenant_why)
{
    if (p->broken && p->reaped)
        return;
    pthread_mutex_lock(&why_mu);
    if (!p->why && tenant_why)
        p->why = xstrdup(tenant_why);
    pthread_mutex_unlock(&why_mu);
    p->broken = true;
    proc_kill_now(p);
}

/* session_detach (pool.mu held) gives the channel back; a broken process goes when its last
 * session has. */
static void session_detach(NrRunner *r)
{
    NrProc *p = r->proc;
    if (!p)
        return;
    if (r->broken) {
        char *why = xasprintf("it %s for tenant '%s'", r->failure ? r->failure : "failed",
                              r->tenant ? r->tenant : "?");
        proc_break(p, why);
        free(why);
    }
    r->proc = NULL;
    r->slot->busy = false;
    r->slot = NULL;
    p->nbusy--;
    if (p->broken && p->nbusy == 0) {
        for (size_t i = 0; i < pool.nprocs; i++)
            if (pool.procs[i] == p) {
                pool_remove(i);
                break;
            }
        proc_end(p);
    }
}

void nr_release(NrRunner *r)
{
    if (!r)
        return;
    if (!r->broken && r->proc) {
        DroverError ignored = DROVER_ERROR_INIT;
        json_t *reply = request(r, json_pack("{s:s}", "op", "close"), SETUP_TIMEOUT_MS, &ignored);
        if (!reply || !reply_ok(reply))
            r->broken = true;
        json_decref(reply);
        error_clear(&ignored);
    }
    pthread_mutex_lock(&pool.mu);
    session_detach(r);
    pthread_mutex_unlock(&pool.mu);
    free(r->tenant);
    free(r);
}

static const char *dialect_name(DbDialect d)
{
    switch (d) {
    case DB_POSTGRES: return "postgres";
    case DB_MYSQL: return "mysql";
    default: return "sqlite";
    }
}

static json_t *open_request(const NrOpenRequest *o)
{
    const DbUrl *u = o->url;
    json_t *cfg = json_object();
    if (o->lock_timeout_ms > 0)
        json_object_set_new(cfg, "lock_timeout_ms", json_integer(o->lock_timeout_ms));
    if (o->statement_timeout_ms > 0)
        json_object_set_new(cfg, "statement_timeout_ms", json_integer(o->statement_timeout_ms));
    if (u->host)
        json_object_set_new(cfg, "host", json_string(u->host));
    if (u->port)
        json_object_set_new(cfg, "port", json_integer(u->port));
    if (u->user)
        json_object_set_new(cfg, "user", json_string(u->user));
    if (u->password)
        json_object_set_new(cfg, "password", json_string(u->password));
    if (u->database)
        json_object_set_new(cfg, "database", json_string(u->database));
    if (u->schema && u->dialect == DB_POSTGRES) {
        char *q = drv_quote_ident(DB_POSTGRES, u->schema);
        json_object_set_new(cfg, "search_path", json_string(q));
        free(q);
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:b, s:s?}", "op", "open", "dialect",
                     dialect_name(u->dialect), "modules", pool.modules, "config", cfg, "preview",
                     o->preview, "tenant", o->tenant);
}

/* session_move moves a session whose process died to a fresh process of its own. */
static bool session_move(NrRunner *r, DroverError *err)
{
    pthread_mutex_lock(&pool.mu);
    session_detach(r);
    NrProc *p = pool_spawn(err);
    if (p) {
        NrRunner *fresh = session_on(p, 0);
        fresh->tenant = r->tenant;
        *r = *fresh;
        free(fresh);
    }
    pthread_mutex_unlock(&pool.mu);
    return p != NULL;
}

/*
 * nr_open: a process that served before may die after the pool found it alive and before it
 * read the request (killed while idle, or for another tenant's sake); that is not this tenant's
 * fault, so the tenant gets one fresh process. A fresh process that fails is the tenant's error.
 * On failure the session stays the caller's, for nr_release.
 */
bool nr_open(NrRunner *r, const NrOpenRequest *o, DroverError *err)
{
    free(r->tenant);
    r->tenant = o->tenant ? xstrdup(o->tenant) : NULL;
    json_t *reply = request(r, open_request(o), SETUP_TIMEOUT_MS, err);
    if (!reply && r->reused && r->hung_up) {
        error_clear(err);
        if (!session_move(r, err))
            return false;
        reply = request(r, open_request(o), SETUP_TIMEOUT_MS, err);
    }
    if (!reply)
        return false;
    bool ok = reply_ok(reply);
    if (!ok)
        reply_error(reply, ERR_CONNECT, err);
    json_decref(reply);
    return ok;
}

/* collect_statements copies what Sequelize logged and how the section ended. */
static void collect_statements(json_t *reply, StrList *out, NrRunEnd *end)
{
    json_t *list = json_object_get(reply, "statements");
    json_t *completed = json_object_get(reply, "completed");
    end->ran_any = json_is_integer(completed) ? json_integer_value(completed) > 0
                                              : json_array_size(list) > 0;
    end->transaction_ended = json_is_true(json_object_get(reply, "transaction_ended"));
    if (!out)
        return;
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
        if (json_is_string(s))
            sl_push(out, json_string_value(s));
}

bool nr_run(NrRunner *r, const NrRunRequest *req, StrList *statements, NrRunEnd *end,
            DroverError *err)
{
    *end = (NrRunEnd){0};
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "op", "run", "file", req->file,
                          "direction", req->up ? "up" : "down", "preview", req->preview,
                          "transaction", !req->no_transaction, "in_session", req->in_session);
    if (req->meta_sql)
        json_object_set_new(j, "meta_sql", json_string(req->meta_sql));
    json_t *reply = request(r, j, pool.timeout_ms, err);
    if (!reply) {
        end->ran_any = true; /* unknown: the runner died mid-way */
        end->runner_stopped_for_other = r->stopped_for_other;
        return false;
    }
    bool ok = reply_ok(reply);
    collect_statements(reply, statements, end);
    if (!ok)
        reply_error(reply, ERR_SQL, err);
    json_decref(reply);
    return ok;
}

static json_t *string_array(const StrList *l)
{
    json_t *a = json_array();
    for (size_t i = 0; l && i < l->n; i++)
        json_array_append_new(a, json_string(l->items[i]));
    return a;
}

static json_t *preview_request(const StrList *setup, const NrPreviewItem *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *item = items[i].file ? json_pack("{s:s}", "file", items[i].file)
                                     : json_pack("{s:o}", "sql", string_array(items[i].sql));
        if (items[i].meta_sql)
            json_object_set_new(item, "meta_sql", json_string(items[i].meta_sql));
        json_array_append_new(list, item);
    }
    return json_pack("{s:s, s:o, s:o}", "op", "preview", "setup", string_array(setup), "items",
                     list);
}

/* preview_results copies each result's statements and fills err from the first that failed;
 * returns whether every item ran. */
static bool preview_results(json_t *reply, StrList *statements, size_t n, size_t *nran,
                            DroverError *err)
{
    json_t *results = json_object_get(reply, "results");
    size_t i;
    json_t *item;
    bool all_ok = true;
    json_array_foreach(results, i, item) {
        if (i >= n)
            break;
        NrRunEnd ignored;
        collect_statements(item, &statements[i], &ignored);
        *nran = i + 1;
        if (!reply_ok(item)) {
            reply_error(item, ERR_SQL, err);
            all_ok = false;
            break;
        }
    }
    return all_ok;
}

bool nr_preview(NrRunner *r, const StrList *setup, const NrPreviewItem *items, size_t n,
                StrList *statements, size_t *nran, DroverError *err)
{
    *nran = 0;
    json_t *reply = request(r, preview_request(setup, items, n), pool.timeout_ms, err);
    if (!reply)
        return false;
    bool ok = reply_ok(reply);
    if (!ok)
        reply_error(reply, ERR_SQL, err);
    else
        ok = preview_results(reply, statements, n, nran, err);
    json_decref(reply);
    return ok;
}

/* session_request sends one request and checks its reply; the reply is the caller's when
 * out is given. */
static bool session_request(NrRunner *r, json_t *req, json_t **out, DroverError *err)
{
    json_t *reply = request(r, req, pool.timeout_ms, err);
    if (!reply)
        return false;
    bool ok = reply_ok(reply);
    if (!ok)
        reply_error(reply, ERR_SQL, err);
    if (ok && out)
        *out = reply;
    else
        json_decref(reply);
    return ok;
}

bool nr_begin(NrRunner *r, DroverError *err)
{
    return session_request(r, json_pack("{s:s}", "op", "begin"), NULL, err);
}

bool nr_sql(NrRunner *r, const StrList *statements, DroverError *err)
{
    return session_request(r, json_pack("{s:s, s:o}", "op", "sql", "statements",
                                        string_array(statements)),
                           NULL, err);
}

bool nr_query(NrRunner *r, const char *sql, StrList *rows, DroverError *err)
{
    json_t *reply = NULL;
    if (!session_request(r, json_pack("{s:s, s:s}", "op", "query", "sql", sql), &reply, err))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(reply, "rows"), i, v)
        sl_push(rows, json_is_string(v) ? json_string_value(v) : "NULL");
    json_decref(reply);
    return true;
}

bool nr_rollback(NrRunner *r, DroverError *err)
{
    return session_request(r, json_pack("{s:s}", "op", "rollback"), NULL, err);
}

void nr_shutdown(void)
{
    pthread_mutex_lock(&pool.mu);
    for (size_t i = 0; i < pool.nprocs; i++)
        proc_end(pool.procs[i]);
    free(pool.procs);
    pool.procs = NULL;
    pool.nprocs = 0;
    free(pool.node);
    free(pool.script);
    free(pool.modules);
    pool.node = pool.script = pool.modules = NULL;
    json_decref(pool.downs);
    pool.downs = NULL;
    pool.ready = false;
    pthread_mutex_unlock(&pool.mu);
}
