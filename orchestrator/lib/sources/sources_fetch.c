/*
 * sources_fetch.c — what a command or an HTTP endpoint says, fetched with a bound on time and
 * size: a catalogue source that hangs or floods must fail the load, never hang drover.
 */
#include "sources_impl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STDERR_KEEP 2048

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a command ----------------------------------------------------------------------------- */

typedef struct Capture {
    StrBuf out;
    char err[STDERR_KEEP + 1]; /* the last STDERR_KEEP bytes of stderr */
    size_t nerr;
    bool too_much;
} Capture;

static void keep_stderr(Capture *c, const char *buf, size_t n)
{
    if (n >= STDERR_KEEP) {
        memcpy(c->err, buf + n - STDERR_KEEP, STDERR_KEEP);
        c->nerr = STDERR_KEEP;
    } else {
        size_t drop = c->nerr + n > STDERR_KEEP ? c->nerr + n - STDERR_KEEP : 0;
        memmove(c->err, c->err + drop, c->nerr - drop);
        memcpy(c->err + c->nerr - drop, buf, n);
        c->nerr = c->nerr - drop + n;
    }
    c->err[c->nerr] = '\0';
}

/* child_exec runs in the forked child: only async-signal-safe calls (argv is built before the
 * fork, as another thread may hold malloc's lock). */
static void child_exec(char **argv, int out_fd, int err_fd)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "cannot run '%s': %s", argv[0], strerror(errno));
    _exit(127);
}

/* drain reads both pipes until they close or the deadline passes; false on timeout. */
static bool drain(int fds[2], Capture *c, long long deadline)
{
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    char buf[65536];
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return false;
        int n = poll(p, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        for (int i = 0; i < 2 && n > 0; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t got = read(p[i].fd, buf, sizeof buf);
            if (got <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
            } else if (i == 1) {
                keep_stderr(c, buf, (size_t)got);
            } else if (c->out.len + (size_t)got > SOURCES_MAX_OUTPUT) {
                c->too_much = true;
                return true;
            } else {
                sb_appendn(&c->out, buf, (size_t)got);
            }
        }
    }
    return true;
}

static const char *stderr_tail(const Capture *c)
{
    return c->nerr ? c->err : "(nothing on stderr)";
}

bool sources_run_command(const InvSource *src, char **out, size_t *len, DroverError *err)
{
    int op[2], ep[2];
    if (pipe(op) != 0)
        return sources_fail(err, src, "cannot create a pipe: %s", strerror(errno));
    if (pipe(ep) != 0) {
        close(op[0]);
        close(op[1]);
        return sources_fail(err, src, "cannot create a pipe: %s", strerror(errno));
    }
    char **argv = xcalloc(src->argv.n + 1, sizeof *argv);
    for (size_t i = 0; i < src->argv.n; i++)
        argv[i] = src->argv.items[i];
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv, op[1], ep[1]);
    free(argv);
    close(op[1]);
    close(ep[1]);
    if (pid < 0) {
        close(op[0]);
        close(ep[0]);
        return sources_fail(err, src, "cannot start the command: %s", strerror(errno));
    }
    Capture c = {0};
    sb_init(&c.out);
    int fds[2] = {op[0], ep[0]};
    bool in_time = drain(fds, &c, now_ms() + src->timeout_ms);
    if (!in_time || c.too_much)
        kill(-pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        close(fds[i]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    bool ok = false;
    if (!in_time)
        sources_fail(err, src, "the command did not finish within %ld s; it was killed",
                     src->timeout_ms / 1000);
    else if (c.too_much)
        sources_fail(err, src, "the command printed more than %u MiB", SOURCES_MAX_OUTPUT >> 20);
    else if (WIFSIGNALED(status))
        sources_fail(err, src, "the command was killed by signal %d: %s", WTERMSIG(status),
                     stderr_tail(&c));
    else if (WEXITSTATUS(status) != 0)
        sources_fail(err, src, "the command exited with status %d: %s", WEXITSTATUS(status),
                     stderr_tail(&c));
    else
        ok = true;
    *len = c.out.len;
    *out = ok ? xstrndup(c.out.data ? c.out.data : "", c.out.len) : NULL;
    sb_free(&c.out);
    return ok;
}

/* ---- an HTTP endpoint ---------------------------------------------------------------------- */

typedef struct Body {
    StrBuf sb;
    bool too_much;
} Body;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    Body *b = arg;
    if (b->sb.len + size * n > SOURCES_MAX_OUTPUT) {
        b->too_much = true;
        return 0;
    }
    sb_appendn(&b->sb, data, size * n);
    return size * n;
}

bool sources_get_http(const InvSource *src, char **out, size_t *len, DroverError *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return sources_fail(err, src, "cannot start libcurl");
    Body b = {0};
    sb_init(&b.sb);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    char *auth = src->token ? xasprintf("Authorization: Bearer %s", src->token) : NULL;
    if (auth)
        headers = curl_slist_append(headers, auth);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, src->http_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, src->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "drover tenants_from");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    bool ok = false;
    if (b.too_much)
        sources_fail(err, src, "the answer is larger than %u MiB", SOURCES_MAX_OUTPUT >> 20);
    else if (rc != CURLE_OK)
        sources_fail(err, src, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (status != 200)
        sources_fail(err, src, "HTTP status %ld", status);
    else
        ok = true;
    *len = b.sb.len;
    *out = ok ? xstrndup(b.sb.data ? b.sb.data : "", b.sb.len) : NULL;
    sb_free(&b.sb);
    if (auth)
        explicit_bzero(auth, strlen(auth));
    free(auth);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return ok;
}
