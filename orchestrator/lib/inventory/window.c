/*
 * window.c — maintenance windows (an environment's `window`): "Sat 02:00-05:00 Europe/Berlin",
 * "Mon-Fri 22:00-02:00 UTC" (crossing midnight: it opens on the named days), "daily
 * 01:00:00-01:30:00 America/New_York". Times are wall-clock in the named zone, read from the
 * system's tz database, so a window follows daylight saving time as people do.
 *
 * DESIGN: the C library converts to a zone only through the process-wide TZ variable, so each
 * conversion sets TZ under a mutex and puts it back. Only the rollout's coordinator thread asks,
 * a few times per environment.
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

/* with_zone runs fn with TZ set to tz, restoring the previous TZ after. */
static void with_zone(const char *tz, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&tz_mu);
    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    fn(arg);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    pthread_mutex_unlock(&tz_mu);
}

typedef struct Probe {
    const InvWindow *w;
    time_t t;
    bool open;
    time_t next; /* the next opening after t, or 0 within 8 days none (cannot happen) */
} Probe;

static void probe(void *arg)
{
    Probe *p = arg;
    p->open = open_at(p->w, p->t);
    p->next = 0;
    /* minute by minute, then back to the exact second it opens */
    time_t from = p->t - p->t % 60 + 60;
    for (time_t s = from; !p->open && s < p->t + 8 * 86400; s += 60)
        if (open_at(p->w, s)) {
            while (s - 1 > p->t && open_at(p->w, s - 1))
                s--;
            p->next = s;
            break;
        }
}

bool inv_windows_open(const InvWindow *w, size_t n, time_t t, time_t *next_open)
{
    *next_open = 0;
    for (size_t i = 0; i < n; i++) {
        Probe p = {.w = &w[i], .t = t};
        with_zone(w[i].tz, probe, &p);
        if (p.open)
            return true;
        if (p.next && (!*next_open || p.next < *next_open))
            *next_open = p.next;
    }
    return n == 0;
}
