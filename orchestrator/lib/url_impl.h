/*
 * inventory_url.h — private to the inventory module: URL parsing with a caller-chosen text
 * shown in error messages, so that the loader can show the URL as written in the config file
 * (before ${VAR} expansion) instead of the expanded one, which may hold a secret.
 */
#ifndef DROVER_INVENTORY_URL_H
#define DROVER_INVENTORY_URL_H

#include <stdbool.h>

#include "drover/inventory.h"

/* inv_url_parse_shown is inv_url_parse with `shown` (already masked by the caller) in place
 * of the masked text in error messages. */
bool inv_url_parse_shown(const char *text, const char *shown, const char *base_dir, InvUrl *out,
                         DrvError *err);

#endif
