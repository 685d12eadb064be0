/*
 * inventory_files.c — the inventory's files as files (inventory_impl.h): what must hold before
 * libconfig may read them, so that bad input is a precise error and exit 2, never a process
 * that libconfig's scanner ends or a parse that takes minutes.
 */
#include "inventory_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drover/util.h"

/* libconfig's own limit on nested @include. */
#define MAX_INCLUDE_DEPTH 10

/* located puts the error at file:line and returns false. */
static bool located(DroverError *err, const char *file, int line)
{
    error_set_location(err, file, line);
    return false;
}

/* include_target: the path of an '@include "PATH"' line, or NULL. */
static char *include_target(const char *line, size_t len)
{
    size_t i = strspn(line, " \t");
    if (len - i < 8 || strncmp(line + i, "@include", 8) != 0)
        return NULL;
    i += 8;
    i += strspn(line + i, " \t");
    if (i >= len || line[i] != '"')
        return NULL;
    const char *end = memchr(line + i + 1, '"', len - i - 1);
    return end ? xstrndup(line + i + 1, (size_t)(end - line - i - 1)) : NULL;
}

static bool check_file(const char *path, const char *include_dir, const char *from, int from_line,
                       int depth, DroverError *err);

/* check_lines walks the text: long lines, and the files it includes. */
static bool check_lines(const char *path, const char *text, const char *include_dir, int depth,
                        DroverError *err)
{
    int lineno = 1;
    for (const char *p = text; *p; lineno++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if ((long)len > INV_MAX_LINE_BYTES) {
            error_set(err, ERR_CONFIG, "a line of %zu bytes: drover reads lines of at most "
                      "64 KiB (a string or comment that long takes libconfig minutes)", len);
            return located(err, path, lineno);
        }
        char *target = include_target(p, len);
        if (target) {
            char *full = path_join(include_dir, target);
            bool ok = check_file(full, include_dir, path, lineno, depth + 1, err);
            free(full);
            free(target);
            if (!ok)
                return false;
        }
        p += len + (nl ? 1 : 0);
    }
    return true;
}

static bool check_file(const char *path, const char *include_dir, const char *from, int from_line,
                       int depth, DroverError *err)
{
    if (depth > MAX_INCLUDE_DEPTH) {
        error_set(err, ERR_CONFIG, "@include nested deeper than %d files", MAX_INCLUDE_DEPTH);
        return located(err, from, from_line);
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return true; /* libconfig says it cannot open it, in its own words */
    if (!S_ISREG(st.st_mode)) {
        error_set(err, ERR_CONFIG, "'%s' is not a regular file", path);
        error_set_hint(err, "@include names a file, relative to the directory of the inventory");
        return located(err, from ? from : path, from_line);
    }
    if (st.st_size > INV_MAX_FILE_BYTES) {
        error_set(err, ERR_CONFIG, "'%s' has %lld bytes: drover reads inventory files of at "
                  "most 64 MiB", path, (long long)st.st_size);
        return located(err, from ? from : path, from_line);
    }
    size_t len = 0;
    char *text = file_read_all(path, &len);
    if (!text)
        return true;
    bool ok = true;
    if (strlen(text) != len) {
        error_set(err, ERR_CONFIG, "'%s' holds a NUL byte", path);
        ok = located(err, path, 0);
    } else {
        ok = check_lines(path, text, include_dir, depth, err);
    }
    free(text);
    return ok;
}

bool inv_check_files(const char *path, const char *include_dir, DroverError *err)
{
    return check_file(path, include_dir, NULL, 0, 0, err);
}
