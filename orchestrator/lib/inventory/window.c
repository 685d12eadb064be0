/*
 * window.c — maintenance windows (an environment's `window`): "Sat 02:00-05:00 Europe/Berlin",
 * "Mon-Fri 22:00-02:00 UTC" (crossing midnight: it opens on the named days), "daily
 * 01:00:00-01:30:00 America/New_York". Times are wall-clock in the named zone, read from the
 * system's tz database, so a window follows daylight saving time as people do.
 *
 * DESIGN: the C library converts to a zone only through the process-wide TZ variable, and
 * setenv is not safe while other threads read the environment (libpq's getenv at connect, for
 * one). So the windows are turned into absolute open intervals once, when the inventory is
 * loaded and no other thread runs yet (inv_window_schedule); during a run, "is it open" is a
 * comparison of numbers, from any thread.
 */
#include "drover/inventory.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_index(const char *s, size_t n)
{
    for (int d = 0; d < 7; d++)
        if (n == 3 && strncasecmp(s, DAYS[d], 3) == 0)
            return d;
    return -1;
}

/* parse_days: "Sat", "Mon-Fri", "Sat,Sun", "daily". */
static bool parse_days(const char *s, unsigned *mask)
{
    *mask = 0;
    if (strcasecmp(s, "daily") == 0) {
        *mask = 0x7f;
        return true;
    }
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, ",");
        const char *dash = memchr(p, '-', n);
        int a = day_index(p, dash ? (size_t)(dash - p) : n);
        int b = dash ? day_index(dash + 1, n - (size_t)(dash + 1 - p)) : a;
        if (a < 0 || b < 0)
            return false;
        for (int d = a;; d = (d + 1) % 7) {
            *mask |= 1u << d;
            if (d == b)
                break;
        }
        p += n + (p[n] == ',');
    }
    return *mask != 0;
}

static bool parse_clock(const char *s, int *secs)
{
    int h = 0, m = 0, sec = 0, used = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &used) != 2)
        return false;
    if (s[used] == ':' && sscanf(s + used + 1, "%2d", &sec) == 1)
        used += 3;
    if (s[used] || h < 0 || h > 24 || m < 0 || m > 59 || sec < 0 || sec > 59 ||
        (h == 24 && (m || sec)))
        return false;
    *secs = h * 3600 + m * 60 + sec;
    return true;
}

static bool zone_exists(const char *tz)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (tz[0] == '/' || strstr(tz, ".."))
        return false;
    char *path = xasprintf("/usr/share/zoneinfo/%s", tz);
    bool ok = access(path, R_OK) == 0;
    free(path);
    return ok;
}

bool inv_window_parse(const char *text, InvWindow *out, char **why)
{
    char days[64], span[64], tz[128], extra[2];
    *out = (InvWindow){0};
    int n = sscanf(text, "%63s %63s %127s %1s", days, span, tz, extra);
    char *dash = n >= 2 ? strchr(span, '-') : NULL;
    if (n != 3 || !dash) {
        *why = xstrdup("must read DAYS HH:MM-HH:MM ZONE, e.g. \"Sat 02:00-05:00 Europe/Berlin\"");
        return false;
    }
    *dash = '\0';
    if (!parse_days(days, &out->days)) {
        *why = xasprintf("'%s' is not a day, a range of days (Mon-Fri), a list (Sat,Sun) or "
                         "'daily'", days);
        return false;
    }
    if (!parse_clock(span, &out->start) || !parse_clock(dash + 1, &out->end) ||
        out->start == out->end) {
        *why = xasprintf("'%s-%s' is not a span of two different times HH:MM[:SS]", span,
                         dash + 1);
        return false;
    }
    if (!zone_exists(tz)) {
        *why = xasprintf("'%s' is not a time zone of the tz database (e.g. Europe/Berlin, UTC)",
                         tz);
        return false;
    }
    out->tz = xstrdup(tz);
    out->text = xstrdup(text);
    return true;
}

void inv_window_free(InvWindow *w)
{
    free(w->tz);
    free(w->text);
}

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

/* open_at: whether w is open at t; call with tz_mu held and TZ set to w's zone. */
static bool open_at(const InvWindow *w, time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    int secs = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    unsigned today = 1u << tm.tm_wday, yesterday = 1u << ((tm.tm_wday + 6) % 7);
    if (w->start < w->end)
        return (w->days & today) && secs >= w->start && secs < w->end;
    return ((w->days & today) && secs >= w->start) || ((w->days & yesterday) && secs < w->end);
}

/* edge: the first second in (a, b] whose state differs from a's; a and b differ. */
static time_t edge(const InvWindow *w, time_t a, time_t b)
{
    bool was = open_at(w, a);
    for (time_t s = a + 1; s < b; s++)
        if (open_at(w, s) != was)
            return s;
    return b;
}

/* add_interval merges [from, until) into the schedule, kept sorted and disjoint. */
static void add_interval(InvWindowSchedule *sc, time_t from, time_t until)
{
    sc->from = xrealloc(sc->from, (sc->n + 1) * sizeof *sc->from);
    sc->until = xrealloc(sc->until, (sc->n + 1) * sizeof *sc->until);
    size_t i = sc->n++;
    while (i > 0 && sc->from[i - 1] > from) {
        sc->from[i] = sc->from[i - 1];
        sc->until[i] = sc->until[i - 1];
        i--;
    }
    sc->from[i] = from;
    sc->until[i] = until;
    size_t k = 0;
    for (size_t j = 1; j < sc->n; j++) {
        if (sc->from[j] <= sc->until[k]) {
            if (sc->until[j] > sc->until[k])
                sc->until[k] = sc->until[j];
        } else {
            k++;
            sc->from[k] = sc->from[j];
            sc->until[k] = sc->until[j];
        }
    }
    sc->n = k + 1;
}

/* schedule_window adds w's open intervals between now and now + INV_WINDOW_HORIZON_S: minute
 * steps in w's zone, each change of state pinned to its second. */
static void schedule_window(const InvWindow *w, time_t now, InvWindowSchedule *sc)
{
    time_t end = now + INV_WINDOW_HORIZON_S;
    bool open = open_at(w, now);
    time_t since = now;
    for (time_t m = now - now % 60 + 60; m <= end; m += 60) {
        time_t prev = m - 60 < now ? now : m - 60;
        if (open_at(w, m) == open)
            continue;
        time_t at = edge(w, prev, m);
        if (open)
            add_interval(sc, since, at);
        open = !open;
        since = at;
    }
    if (open)
        add_interval(sc, since, end);
}

void inv_window_schedule(const InvWindow *w, size_t n, time_t now, InvWindowSchedule *out)
{
    *out = (InvWindowSchedule){0};
    pthread_mutex_lock(&tz_mu);
    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    for (size_t i = 0; i < n; i++) {
        setenv("TZ", w[i].tz, 1);
        tzset();
        schedule_window(&w[i], now, out);
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    pthread_mutex_unlock(&tz_mu);
}

void inv_window_schedule_free(InvWindowSchedule *sc)
{
    free(sc->from);
    free(sc->until);
    *sc = (InvWindowSchedule){0};
}

bool inv_window_schedule_open(const InvWindowSchedule *sc, time_t t, time_t *next_open)
{
    *next_open = 0;
    for (size_t i = 0; i < sc->n; i++) {
        if (t >= sc->from[i] && t < sc->until[i])
            return true;
        if (sc->from[i] > t) {
            *next_open = sc->from[i];
            return false;
        }
    }
    return false;
}
