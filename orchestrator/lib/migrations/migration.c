/*
 * migration.c — discovering the migration set (sequelize-cli's file pattern and order) and
 * resolving names in it. Parsing of .sql files lives in migration_sql.c, creating new files
 * in migration_new.c.
 */
#include "drover/migration.h"
#include "drover/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const known_extensions[] = {".sql", ".js", ".cjs", ".ts", ".cts"};

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len > n && memcmp(s + len - n, suffix, n) == 0;
}

size_t mig_stem_len(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof known_extensions / sizeof *known_extensions; i++)
        if (has_suffix(name, len, known_extensions[i]))
            return len - strlen(known_extensions[i]);
    return len;
}

/*
 * classify_name says whether a directory entry is a migration and of which kind. It follows
 * sequelize-cli's pattern /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/ plus .sql, but skips dotfiles,
 * which the CLI would run: editor lock files such as ".#x.js" must never reach a database.
 */
static bool classify_name(const char *name, MigKind *kind)
{
    size_t len = strlen(name);
    if (name[0] == '.')
        return false;
    if (has_suffix(name, len, ".sql")) {
        *kind = MIG_SQL;
        return true;
    }
    if (has_suffix(name, len, ".d.ts"))
        return false;
    if (has_suffix(name, len, ".js") || has_suffix(name, len, ".cjs") ||
        has_suffix(name, len, ".ts") || has_suffix(name, len, ".cts")) {
        *kind = MIG_JS;
        return true;
    }
    return false;
}

/*
 * check_regular sets *regular for path, following symlinks so that a link to a migration
 * kept elsewhere counts. A dangling link fails rather than vanishing from the set.
 */
static bool check_regular(const char *path, bool *regular, DroverError *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        error_set(err, ERR_IO, "cannot read migration file '%s': %s", path,
                      strerror(errno));
        return false;
    }
    *regular = S_ISREG(st.st_mode);
    return true;
}

/* check_name_utf8: SequelizeMeta stores the file name, so one that is not UTF-8 cannot be
 * recorded anywhere; refused when the set loads, not tenant by tenant at run time. */
static bool check_name_utf8(const char *name, const char *path, DroverError *err)
{
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 0x6 ? 2 : (*p >> 4) == 0xE ? 3
                 : (*p >> 3) == 0x1E ? 4 : 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                n = 0;
        if (n == 0) {
            error_set(err, ERR_INPUT, "the file name of '%s' is not valid UTF-8, so "
                      "SequelizeMeta cannot record it", path);
            error_set_hint(err, "rename the file; nothing was run");
            return false;
        }
        p += n;
    }
    return true;
}

bool mig_set_has_js(const MigSet *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == MIG_JS)
            return true;
    return false;
}

static int cmp_migration(const void *a, const void *b)
{
    return strcmp(((const Migration *)a)->name, ((const Migration *)b)->name);
}

static void push_migration(MigSet *set, size_t *cap, const char *name, const char *path,
                           MigKind kind)
{
    if (set->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        set->items = xrealloc(set->items, *cap * sizeof *set->items);
    }
    Migration *m = &set->items[set->n++];
    memset(m, 0, sizeof *m);
    m->name = xstrdup(name);
    m->path = xstrdup(path);
    m->kind = kind;
    m->up.transaction = true;
    m->down.transaction = true;
}

/* list_dir fills set with the migration files of dir, unsorted and unparsed. */
static bool list_dir(const char *dir, MigSet *set, DroverError *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        error_set(err, ERR_IO, "cannot read migrations directory '%s': %s", dir,
                      strerror(errno));
        error_set_hint(err, "set migrations.path in the configuration to the directory "
                                "holding the migration files, or create it");
        return false;
    }
    bool ok = true;
    size_t cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        MigKind kind;
        if (!classify_name(de->d_name, &kind))
            continue;
        char *path = path_join(dir, de->d_name);
        bool regular = false;
        ok = check_name_utf8(de->d_name, path, err) && check_regular(path, &regular, err);
        if (ok && !regular) {
            /* A directory, FIFO or device named like a migration: never silently left out,
             * nor read (a FIFO would block the load). */
            error_set(err, ERR_INPUT, "'%s' is named like a migration but is not a regular file",
                      path);
            error_set_hint(err, "rename or remove it; nothing was run");
            ok = false;
        }
        if (ok)
            push_migration(set, &cap, de->d_name, path, kind);
        free(path);
        if (!ok)
            break;
        errno = 0;
    }
    if (ok && errno != 0) {
        error_set(err, ERR_IO, "cannot read migrations directory '%s': %s", dir,
                      strerror(errno));
        ok = false;
    }
    closedir(d);
    return ok;
}

static int line_of_offset(const char *text, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* load_sql reads a .sql file and parses it; a NUL byte is caught here since the parser only
 * sees a C string. */
static bool load_sql(Migration *m, DroverError *err)
{
    size_t len;
    char *text = file_read_all(m->path, &len);
    if (!text) {
        error_set(err, ERR_IO, "cannot read migration file '%s': %s", m->path,
                      strerror(errno));
        return false;
    }
    size_t nul = strlen(text);
    bool ok;
    if (nul < len) {
        error_set(err, ERR_INPUT, "file contains a NUL byte");
        error_set_location(err, m->path, line_of_offset(text, nul));
        ok = false;
    } else {
        ok = mig_parse_sql(m->path, text, m, err);
    }
    free(text);
    return ok;
}

bool mig_discover(const char *dir, MigSet *out, DroverError *err)
{
    memset(out, 0, sizeof *out);
    out->dir = xstrdup(dir);
    if (!list_dir(dir, out, err))
        return false;
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, cmp_migration);
    for (size_t i = 0; i < out->n; i++)
        if (out->items[i].kind == MIG_SQL && !load_sql(&out->items[i], err))
            return false;
    return true;
}

void mig_set_free(MigSet *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        Migration *m = &set->items[i];
        free(m->name);
        free(m->path);
        free(m->up.sql);
        free(m->down.sql);
        free(m->check.sql);
    }
    free(set->items);
    free(set->dir);
    memset(set, 0, sizeof *set);
}

ssize_t mig_find(const MigSet *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return (ssize_t)i;
    size_t len = strlen(name);
    ssize_t found = -1;
    for (size_t i = 0; i < set->n; i++) {
        const char *file = set->items[i].name;
        if (mig_stem_len(file) != len || memcmp(file, name, len) != 0)
            continue;
        if (found >= 0)
            return -1;
        found = (ssize_t)i;
    }
    return found;
}
