/*
 * settings_impl.h — typed values in drover.cfg (see settings.c). Each returns false and a reason
 * (*why, caller frees) that the inventory loader prefixes with the key, file and line.
 */
#ifndef DROVER_SETTINGS_IMPL_H
#define DROVER_SETTINGS_IMPL_H

#include <libconfig.h>
#include <stdbool.h>

#include "drover/inventory.h"

bool settings_duration(const config_setting_t *s, long unit_ms, long *out_ms, char **why);
bool settings_count(const config_setting_t *s, InvCount *out, char **why);
bool settings_int(const config_setting_t *s, long min, long max, long *out, char **why);
bool settings_choice(const config_setting_t *s, const char *const *choices, size_t *out,
                     char **why);

#endif
