/*
 * init.h — onboarding: `drover init` turns a sequelize-cli project (its .sequelizerc and
 * config/config.json or config.js) into a drover.cfg with the same environments, one tenant
 * each (the database the team migrates today), and the migrations folder. Secrets are never
 * copied: a password becomes ${ENV_DB_PASSWORD}, use_env_variable becomes ${VAR}.
 */
#ifndef DROVER_INIT_H
#define DROVER_INIT_H

#include <stdbool.h>

#include "drover/error.h"
#include "drover/util.h"

/*
 * init_project writes the inventory for the project in dir to out_path (refusing to replace an
 * existing file unless force). *notes receives a line per thing the operator must know (the
 * variables to set, environments left out and why). False with err (ERR_USAGE: the file
 * exists; ERR_INPUT: the project cannot be read; ERR_IO) and nothing written.
 */
bool init_project(const char *dir, const char *out_path, bool force, StrList *notes,
                  DroverError *err);

#endif
