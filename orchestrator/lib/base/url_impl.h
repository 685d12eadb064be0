/*
 * url_impl.h — private to url.c and the inventory loader: URL parsing with a caller-chosen text
 * shown in error messages, so that the loader can show the URL as written in the config file
 * (before ${VAR} expansion) instead of the expanded one, which may hold a secret.
 */
#ifndef DROVER_URL_IMPL_H
#define DROVER_URL_IMPL_H

#include <stdbool.h>

#include "drover/url.h"

/* url_parse_shown is url_parse with `shown` (already masked by the caller) in place
 * of the masked text in error messages. */
bool url_parse_shown(const char *text, const char *shown, const char *base_dir, DbUrl *out,
                         DroverError *err);

#endif
