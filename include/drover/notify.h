/*
 * notify.h — webhooks that hear about migrate/undo runs (the inventory's 'notify' list). Events
 * go into a bounded queue that one dedicated thread drains with libcurl, with a timeout and a
 * bounded retry per delivery: a slow or dead webhook never blocks the caller and never changes
 * a run's outcome; its failure is logged to stderr.
 */
#ifndef DROVER_NOTIFY_H
#define DROVER_NOTIFY_H

#include <stdbool.h>

#include <jansson.h>

#include "drover/inventory.h"

/* The event names, as in inv_notify_events. */
#define NOTIFY_RUN_STARTED "run.started"
#define NOTIFY_ENV_STARTED "env.started"
#define NOTIFY_ENV_FINISHED "env.finished"
#define NOTIFY_TENANT_FAILED "tenant.failed"
#define NOTIFY_RUN_HALTED "run.halted"
#define NOTIFY_RUN_FINISHED "run.finished"

/* Attempts per delivery while a target is healthy; a target whose last delivery failed gets
 * one attempt per event until one succeeds, so a dead webhook costs one timeout per event. */
#define NOTIFY_TRIES 3

typedef struct Notifier Notifier;

/*
 * notify_start copies inv's notify targets and starts the sender thread. NULL when there are
 * none (or the thread cannot start, which is logged): every function below accepts NULL and
 * then does nothing. The first call initialises libcurl for the process (curl_global_init,
 * once, under pthread_once): call it before starting other threads.
 */
Notifier *notify_start(const Inventory *inv);

/*
 * notify_event queues one event; payload's reference is stolen (also when no target wants the
 * event). Never blocks on the network: when the queue is full the oldest event is dropped and
 * counted. The payload carries no secret (tenant URLs masked, never a webhook URL):
 *   {"run": {"id": 12, "command": "migrate", "outcome": "failed" (run.finished only),
 *            "name": "release-42" (a shared run only)},
 *    "environment": "prod"                      (env.*, tenant.failed),
 *    "tenant": {"id","env","dialect","url","outcome","migration","error"} (tenant.failed),
 *    "reason": "..."                            (run.halted),
 *    "counts": {"tenants": N} (run.started, env.started), or
 *              {"tenants": N, "failures": F, "outcomes": {<outcome>: n, ...}} (*.finished)}
 * The sender adds "event" and "ts" (Unix time of this call, in seconds).
 */
void notify_event(Notifier *n, const char *event, json_t *payload);

/* notify_drain_ms is the longest one delivery can take (the slowest target's timeout times
 * NOTIFY_TRIES, plus the backoffs): a drain time that lets the last event go out. */
int notify_drain_ms(const Notifier *n);

/*
 * notify_stop lets the queued events go out for at most drain_ms, then abandons the rest (an
 * attempt in flight is aborted), joins the thread, says on stderr how many events were dropped
 * or not sent, and frees n.
 */
void notify_stop(Notifier *n, int drain_ms);

/*
 * notify_render is the POST body for one event: the generic form {"event", <payload members>,
 * "ts"}, or with slack {"text": "<one readable line>"}. payload is only read. Caller frees.
 */
char *notify_render(bool slack, const char *event, json_t *payload, double ts);

#endif
