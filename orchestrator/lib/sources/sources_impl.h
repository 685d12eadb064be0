/*
 * sources_impl.h — private to the sources layer: fetching a command's or an HTTP endpoint's
 * output (sources_fetch.c) for sources.c to read as JSON.
 */
#ifndef DROVER_SOURCES_IMPL_H
#define DROVER_SOURCES_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/inventory.h"

/* The most a source may print or send: a catalogue of 100,000 tenants fits many times. */
#define SOURCES_MAX_OUTPUT (64u * 1024 * 1024)

/* sources_fail sets ERR_CONFIG "LABEL: MESSAGE" at the source's entry; returns false. */
bool sources_fail(DroverError *err, const InvSource *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sources_run_command runs the source's argv (no shell, stdin /dev/null) for at most its
 * timeout; *out (caller frees, NUL-terminated) is its stdout. A non-zero exit, a signal, a
 * timeout (the process group is killed) or too much output fails, quoting the end of stderr. */
bool sources_run_command(const InvSource *src, char **out, size_t *len, DroverError *err);
/* sources_get_http GETs the source's URL (TLS verified, Authorization: Bearer TOKEN, no
 * redirects) within its timeout; anything but 200 fails with the status. */
bool sources_get_http(const InvSource *src, char **out, size_t *len, DroverError *err);

#endif
