/*
 * migration_new.c — creating a new migration file named like sequelize-cli's
 * migration:generate (UTC YYYYMMDDHHMMSS-NAME), as an empty dbmate .sql file or the CLI's
 * own .js skeleton.
 */
#include "drover/migration.h"
#include "drover/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char sql_template[] = "-- migrate:up\n"
                                   "\n"
                                   "\n"
                                   "-- migrate:down\n"
                                   "\n";

/* The skeleton sequelize-cli 6 writes for migration:generate. */
static const char js_template[] =
    "'use strict';\n"
    "\n"
    "/** @type {import('sequelize-cli').Migration} */\n"
    "module.exports = {\n"
    "  async up (queryInterface, Sequelize) {\n"
    "    /**\n"
    "     * Add altering commands here.\n"
    "     *\n"
    "     * Example:\n"
    "     * await queryInterface.createTable('users', { id: Sequelize.INTEGER });\n"
    "     */\n"
    "  },\n"
    "\n"
    "  async down (queryInterface, Sequelize) {\n"
    "    /**\n"
    "     * Add reverting commands here.\n"
    "     *\n"
    "     * Example:\n"
    "     * await queryInterface.dropTable('users');\n"
    "     */\n"
    "  }\n"
    "};\n";

static bool check_name(const char *name, DroverError *err)
{
    if (!name || !*name) {
        error_set(err, ERR_USAGE, "migration name is empty");
        return false;
    }
    if (strchr(name, '/')) {
        error_set(err, ERR_USAGE, "migration name '%s' contains '/'", name);
        error_set_hint(err, "give a plain name; the file is created in migrations.path");
        return false;
    }
    if (name[0] == '.') {
        error_set(err, ERR_USAGE, "migration name '%s' starts with '.'", name);
        error_set_hint(err, "migration discovery skips dotfiles");
        return false;
    }
    return true;
}

static bool check_dir(const char *dir, DroverError *err)
{
    struct stat st;
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = strerror(ENOTDIR);
    if (!why)
        return true;
    error_set(err, ERR_IO, "cannot use migrations directory '%s': %s", dir, why);
    error_set_hint(err, "create the directory first, or set migrations.path");
    return false;
}

/* utc_stamp formats now as YYYYMMDDHHMMSS; returns NULL if the clock cannot be read. */
static char *utc_stamp(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm))
        return NULL;
    char buf[32];
    if (strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm) == 0)
        return NULL;
    return xstrdup(buf);
}

static bool write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        s += n;
        len -= (size_t)n;
    }
    return true;
}

/* create_file writes content to a new file, refusing to replace an existing one. */
static bool create_file(const char *path, const char *content, DroverError *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        error_set(err, ERR_IO, "cannot create migration file '%s': %s", path,
                      strerror(errno));
        return false;
    }
    bool ok = write_all(fd, content, strlen(content));
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        error_set(err, ERR_IO, "cannot write migration file '%s': %s", path,
                      strerror(saved));
        unlink(path);
    }
    return ok;
}

bool mig_new(const char *dir, const char *name, bool js, char **out_path, DroverError *err)
{
    *out_path = NULL;
    if (!check_name(name, err))
        return false;
    if (!check_dir(dir, err))
        return false;
    char *stamp = utc_stamp();
    if (!stamp) {
        error_set(err, ERR_INTERNAL, "cannot read the system clock");
        return false;
    }
    char *file = xasprintf("%s-%s.%s", stamp, name, js ? "js" : "sql");
    char *path = path_join(dir, file);
    free(stamp);
    free(file);
    if (!create_file(path, js ? js_template : sql_template, err)) {
        free(path);
        return false;
    }
    *out_path = path;
    return true;
}
