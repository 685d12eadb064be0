/*
 * settings.c — typed values in drover.cfg: durations ("2s", "500ms", or a bare number in the
 * key's own unit), counts ("2" or "10%"), bounded integers and enumerations, each refused with
 * the file and line when it does not fit. Used by inventory.c for 'defaults' and environments.
 */
#include "settings_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool parse_long(const char *text, long *out, const char **rest)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text)
        return false;
    *out = v;
    *rest = end;
    return true;
}

/* duration_from_text accepts "<n>ms", "<n>s", "<n>m" or a bare "<n>" in unit_ms. */
static bool duration_from_text(const char *text, long unit_ms, long *out_ms)
{
    long v;
    const char *rest;
    if (!parse_long(text, &v, &rest) || v < 0)
        return false;
    long scale = unit_ms;
    if (strcmp(rest, "ms") == 0)
        scale = 1;
    else if (strcmp(rest, "s") == 0)
        scale = 1000;
    else if (strcmp(rest, "m") == 0)
        scale = 60000;
    else if (*rest)
        return false;
    if (v > 86400000L / scale)
        return false;
    *out_ms = v * scale;
    return true;
}

bool settings_duration(const config_setting_t *s, long unit_ms, long *out_ms, char **why)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v >= 0 && v <= 86400000LL / unit_ms) {
            *out_ms = (long)v * unit_ms;
            return true;
        }
    } else if (type == CONFIG_TYPE_STRING &&
               duration_from_text(config_setting_get_string(s), unit_ms, out_ms)) {
        return true;
    }
    *why = xstrdup("must be a duration such as 500ms, 2s or 1m (at most one day)");
    return false;
}

bool settings_count(const config_setting_t *s, InvCount *out, char **why)
{
    int type = config_setting_type(s);
    long v;
    const char *rest;
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        long long n = config_setting_get_int64(s);
        if (n >= 0 && n <= 1000000) {
            *out = (InvCount){.set = true, .value = (long)n};
            return true;
        }
    } else if (type == CONFIG_TYPE_STRING &&
               parse_long(config_setting_get_string(s), &v, &rest) && v >= 0) {
        if (*rest == '\0' && v <= 1000000) {
            *out = (InvCount){.set = true, .value = v};
            return true;
        }
        if (strcmp(rest, "%") == 0 && v <= 100) {
            *out = (InvCount){.set = true, .percent = true, .value = v};
            return true;
        }
    }
    *why = xstrdup("must be a number of tenants (2) or a percentage (\"10%\")");
    return false;
}

bool settings_int(const config_setting_t *s, long min, long max, long *out, char **why)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v >= min && v <= max) {
            *out = (long)v;
            return true;
        }
    }
    *why = xasprintf("must be a whole number from %ld to %ld", min, max);
    return false;
}

bool settings_choice(const config_setting_t *s, const char *const *choices, size_t *out,
                     char **why)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *v = config_setting_get_string(s);
        for (size_t i = 0; choices[i]; i++)
            if (strcmp(choices[i], v) == 0) {
                *out = i;
                return true;
            }
    }
    StrBuf sb;
    sb_init(&sb);
    sb_append(&sb, "must be one of");
    for (size_t i = 0; choices[i]; i++)
        sb_appendf(&sb, "%s \"%s\"", i ? "," : "", choices[i]);
    *why = sb_detach(&sb);
    return false;
}

size_t inv_count_resolve(const InvCount *c, size_t total)
{
    if (!c->set)
        return 0;
    if (!c->percent)
        return (size_t)c->value;
    return ((size_t)c->value * total + 99) / 100;
}
