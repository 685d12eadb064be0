/*
 * progress.c — progress lines (see progress.h). Everything here runs on the coordinator
 * thread, from the rollout's hooks, so it needs no locking.
 */
#include "progress.h"

#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "drover/report.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(Progress *p, const char *command, CliFormat log_format, bool tenant_lines)
{
    *p = (Progress){
        .command = command,
        .log_format = log_format,
        .live = log_format == FMT_TEXT && isatty(STDERR_FILENO),
        .tenant_lines = tenant_lines && log_format == FMT_TEXT,
        .started = now_seconds(),
    };
}

static void clear_live(Progress *p)
{
    if (p->line_shown)
        fputs("\r\033[K", stderr);
    p->line_shown = false;
}

static void draw_live(Progress *p, const RolloutProgress *rp)
{
    double elapsed = now_seconds() - p->started;
    fprintf(stderr, "\r\033[K%s: %zu/%zu done, %zu running, %zu failed, %.0fs elapsed", p->command,
            rp->done, rp->total, rp->running, rp->failed, elapsed);
    if (rp->done > 0 && rp->done < rp->total)
        fprintf(stderr, ", ETA %.0fs", elapsed / (double)rp->done * (double)(rp->total - rp->done));
    fflush(stderr);
    p->line_shown = true;
}

static void log_json(json_t *line)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_object_set_new(line, "ts", json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
    json_dumpf(line, stderr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stderr);
    json_decref(line);
}

/* log_tenant_json writes one line per migration step from first_step on, then one for the
 * tenant. */
static void log_tenant_json(const char *command, const ExecResult *r, size_t first_step)
{
    const InvTenant *t = r->tenant;
    for (size_t i = first_step; i < r->nsteps; i++) {
        const ExecStep *s = &r->steps[i];
        log_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:i,s:o}", "event", "migration",
                           "command", command, "tenant", t->id, "env", t->env, "migration",
                           s->migration, "direction", s->up ? "up" : "down", "duration_s",
                           s->ended_at - s->started_at, "attempts", s->attempts, "error",
                           s->error ? json_string(s->error) : json_null()));
    }
    char *error = error_is_set(&r->error) ? error_summary(&r->error) : NULL;
    log_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:i,s:I,s:I,s:o}", "event", "tenant", "command",
                       command, "tenant", t->id, "env", t->env, "outcome",
                       exec_outcome_name(r->outcome), "duration_s", r->seconds, "attempts",
                       r->attempts, "applied", (json_int_t)r->applied.n, "reverted",
                       (json_int_t)r->reverted.n,
                       "error", error ? json_string(error) : json_null()));
    free(error);
}

void progress_tenant(Progress *p, const ExecResult *res, const RolloutProgress *rp)
{
    if (p->log_format == FMT_JSON) {
        log_tenant_json(p->command, res, 0);
        return;
    }
    clear_live(p);
    if (p->tenant_lines) {
        report_run_text(stdout, p->command, res, 1, false);
        fflush(stdout);
    }
    if (p->live)
        draw_live(p, rp);
}

void progress_revised(Progress *p, const ExecResult *res, size_t first_new_step)
{
    if (p->log_format == FMT_JSON) {
        log_tenant_json(p->command, res, first_new_step);
        return;
    }
    clear_live(p);
    if (p->tenant_lines) {
        report_run_text(stdout, p->command, res, 1, false);
        fflush(stdout);
    }
}

void progress_halted(Progress *p, const char *reason)
{
    if (p->log_format == FMT_JSON) {
        log_json(json_pack("{s:s,s:s,s:s}", "event", "halted", "command", p->command, "reason",
                           reason));
        return;
    }
    clear_live(p);
    fprintf(stderr, "drover: %s\n", reason);
}

void progress_end(Progress *p)
{
    clear_live(p);
}

void progress_output(const ExecOutput *out, void *progress)
{
    const Progress *p = progress;
    if (p->log_format == FMT_JSON) {
        log_json(json_pack("{s:s,s:s?,s:s?,s:s?,s:s}", "event", "output", "tenant", out->tenant,
                           "migration", out->migration, "stream", out->stream, "line",
                           out->line));
        return;
    }
    StrBuf sb;
    sb_init(&sb);
    sb_append(&sb, "drover: ");
    if (out->tenant)
        sb_appendf(&sb, "tenant '%s': ", out->tenant);
    if (out->migration)
        sb_appendf(&sb, "migration '%s': ", out->migration);
    sb_appendf(&sb, "%s: %s\n", out->stream ? out->stream : "output", out->line);
    /* One write, so that lines from workers never interleave; the live line is redrawn by the
     * next tenant. */
    fprintf(stderr, "%s%s", p->live ? "\r\033[K" : "", sb.data);
    sb_free(&sb);
}
