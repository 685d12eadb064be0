/*
 * test_notify.c — the webhook sender's pure parts and its queue: the generic and Slack bodies
 * (escaping, the one-line summaries), no-op handles, the drain bound, and a full queue that
 * drops its oldest events while the sender is stuck on a webhook that never answers (a local
 * socket that listens but never accepts), with the exact lines on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drover/notify.h"

static json_t *run_payload(void)
{
    return json_pack("{s:{s:i, s:s}}", "run", "id", 7, "command", "migrate");
}

static void expect_body(bool slack, const char *event, json_t *payload, const char *expected)
{
    char *body = notify_render(slack, event, payload, 1700000000.5);
    assert_string_equal(body, expected);
    free(body);
    json_decref(payload);
}

static void test_generic_body(void **state)
{
    (void)state;
    json_t *p = run_payload();
    json_object_set_new(p, "counts", json_pack("{s:i}", "tenants", 3));
    expect_body(false, "run.started", p,
                "{\"event\":\"run.started\",\"run\":{\"id\":7,\"command\":\"migrate\"},"
                "\"counts\":{\"tenants\":3},\"ts\":1700000000.5}");
}

static void test_slack_lines(void **state)
{
    (void)state;
    json_t *p = run_payload();
    json_object_set_new(p, "counts", json_pack("{s:i}", "tenants", 1));
    expect_body(true, "run.started", p, "{\"text\":\"drover migrate (run 7) started: 1 tenant\"}");

    p = run_payload();
    json_object_set_new(p, "environment", json_string("prod"));
    json_object_set_new(p, "counts", json_pack("{s:i}", "tenants", 4));
    expect_body(true, "env.started", p,
                "{\"text\":\"drover migrate (run 7): environment 'prod' started: 4 tenants\"}");

    p = run_payload();
    json_object_set_new(p, "environment", json_string("prod"));
    json_object_set_new(p, "counts", json_pack("{s:i, s:i}", "tenants", 4, "failures", 2));
    expect_body(true, "env.finished", p,
                "{\"text\":\"drover migrate (run 7): environment 'prod' finished: 4 tenants, 2 "
                "failed\"}");

    p = run_payload();
    json_object_set_new(p, "reason", json_string("canary 'a' failed"));
    expect_body(true, "run.halted", p,
                "{\"text\":\"drover migrate (run 7) halted: canary 'a' failed\"}");

    p = run_payload();
    json_object_set_new(json_object_get(p, "run"), "outcome", json_string("succeeded"));
    json_object_set_new(p, "counts", json_pack("{s:i, s:i}", "tenants", 2, "failures", 0));
    expect_body(true, "run.finished", p,
                "{\"text\":\"drover migrate (run 7) finished: succeeded, 2 tenants, 0 "
                "failed\"}");
}

/* Slack reads <, > and & as markup; the error's own "tenant 'x': " prefix is not repeated. */
static void test_slack_tenant_failed_escaped(void **state)
{
    (void)state;
    json_t *p = run_payload();
    json_object_set_new(p, "tenant",
                        json_pack("{s:s, s:s, s:s, s:s}", "id", "acme", "env", "prod", "outcome",
                                  "failed", "error",
                                  "tenant 'acme': migration 'x.sql': a < b && c > d"));
    expect_body(true, "tenant.failed", p,
                "{\"text\":\"drover migrate (run 7): tenant 'acme' (prod) failed: migration "
                "'x.sql': a &lt; b &amp;&amp; c &gt; d\"}");
}

static void test_no_targets_is_a_no_op(void **state)
{
    (void)state;
    Inventory inv = {0};
    Notifier *n = notify_start(&inv);
    assert_null(n);
    assert_null(notify_start(NULL));
    notify_event(NULL, "run.started", run_payload()); /* the payload is freed (ASan) */
    notify_stop(NULL, 100);
    assert_int_equal(notify_drain_ms(NULL), 750); /* the backoffs alone */
}

/* ---- a full queue ----------------------------------------------------------------------- */

/* listen_never_accept: a 127.0.0.1 socket whose connections complete (the kernel's backlog)
 * but are never read or answered. Returns the fd; *port is its port. */
static int listen_never_accept(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* stop_capturing_stderr runs notify_stop with stderr going to a file, and returns what it wrote. */
static char *stop_capturing_stderr(Notifier *n, int drain_ms)
{
    char path[] = "/tmp/test_notify.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    notify_stop(n, drain_ms);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    char *text = file_read_all(path, NULL);
    unlink(path);
    return text;
}

static void test_full_queue_drops_oldest(void **state)
{
    (void)state;
    int port = 0;
    int lfd = listen_never_accept(&port);
    char *url = xasprintf("http://127.0.0.1:%d/hook/SECRET", port);
    InvNotify target = {.url = url, .masked = xasprintf("http://127.0.0.1:%d/***", port),
                        .timeout_ms = 30000};
    sl_push(&target.events, "run.started");
    Inventory inv = {.notify = &target, .nnotify = 1};
    Notifier *n = notify_start(&inv);
    assert_non_null(n);

    /* The first event is in flight (its connection is waiting) before the others come. */
    notify_event(n, "run.started", run_payload());
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    for (int i = 0; i < 300; i++)
        notify_event(n, "run.started", run_payload());
    notify_event(n, "env.started", run_payload()); /* nobody wants it: not queued */

    char *err = stop_capturing_stderr(n, 0);
    char *expected = xasprintf(
        "drover: notify: POST to http://127.0.0.1:%d/*** failed: stopped: the run ended and the "
        "drain time ran out (event 'run.started', 1 attempt)\n"
        "drover: notify: 44 events dropped: the queue (256 events) was full\n",
        port);
    assert_string_equal(err, expected);
    assert_null(strstr(err, "SECRET"));
    free(expected);
    free(err);
    close(lfd);
    sl_free(&target.events);
    free(target.masked);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_body),
        cmocka_unit_test(test_slack_lines),
        cmocka_unit_test(test_slack_tenant_failed_escaped),
        cmocka_unit_test(test_no_targets_is_a_no_op),
        cmocka_unit_test(test_full_queue_drops_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
