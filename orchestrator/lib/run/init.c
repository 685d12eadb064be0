/*
 * init.c — `drover init` (init.h): reads the project through the node runner, as sequelize-cli
 * would, and writes a drover.cfg. Paths in it are relative to the file where they can be.
 */
#include "drover/init.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "noderunner_impl.h"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* password_var: "production" -> "PRODUCTION_DB_PASSWORD". */
static char *password_var(const char *env)
{
    StrBuf sb;
    sb_init(&sb);
    for (const char *p = env; *p; p++)
        sb_appendc(&sb, isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
    sb_append(&sb, "_DB_PASSWORD");
    return sb_detach(&sb);
}

/* relative_to: path relative to dir when it lies inside it, else a copy of path. */
static char *relative_to(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1])
        return xstrdup(path + n + 1);
    return xstrdup(path);
}

/* escaped: a URL component percent-encoded (a user name with '@' or ':'). */
static char *escaped(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = xstrdup(e ? e : s);
    curl_free(e);
    return copy;
}

static const char *scheme_of(const char *dialect)
{
    if (!dialect)
        return NULL;
    if (strcmp(dialect, "postgres") == 0 || strcmp(dialect, "postgresql") == 0)
        return "postgres";
    if (strcmp(dialect, "mysql") == 0 || strcmp(dialect, "mariadb") == 0)
        return dialect;
    if (strcmp(dialect, "sqlite") == 0)
        return "sqlite";
    return NULL;
}

/* server_url: postgres://USER:${VAR}@HOST:PORT/DB, the password left to the environment. */
static char *server_url(const char *scheme, const json_t *e, StrList *notes)
{
    const char *name = str(e, "name");
    StrBuf sb;
    sb_init(&sb);
    sb_appendf(&sb, "%s://", scheme);
    if (str(e, "username")) {
        char *user = escaped(str(e, "username"));
        sb_append(&sb, user);
        free(user);
        if (json_is_true(json_object_get(e, "has_password"))) {
            char *var = password_var(name);
            sb_appendf(&sb, ":${%s}", var);
            sl_push_owned(notes, xasprintf("environment '%s': set %s to its database password "
                                           "(percent-encoded if it holds '@', ':' or '/')",
                                           name, var));
            free(var);
        }
        sb_appendc(&sb, '@');
    }
    sb_append(&sb, str(e, "host") ? str(e, "host") : "localhost");
    json_int_t port = json_integer_value(json_object_get(e, "port"));
    if (port > 0)
        sb_appendf(&sb, ":%lld", (long long)port);
    sb_appendf(&sb, "/%s", str(e, "database") ? str(e, "database") : "");
    return sb_detach(&sb);
}

/* tenant_url: the URL drover connects to for one environment, or NULL (with a note). */
static char *tenant_url(const json_t *e, const char *cfg_dir, StrList *notes)
{
    const char *name = str(e, "name");
    if (str(e, "use_env_variable")) {
        sl_push_owned(notes, xasprintf("environment '%s': set %s to its database URL, as for "
                                       "sequelize-cli", name, str(e, "use_env_variable")));
        return xasprintf("${%s}", str(e, "use_env_variable"));
    }
    const char *scheme = scheme_of(str(e, "dialect"));
    if (!scheme) {
        sl_push_owned(notes, xasprintf("environment '%s' left out: dialect '%s' is not one "
                                       "drover runs (postgres, mysql, mariadb, sqlite)", name,
                                       str(e, "dialect") ? str(e, "dialect") : "(none)"));
        return NULL;
    }
    if (strcmp(scheme, "sqlite") != 0)
        return server_url(scheme, e, notes);
    if (!str(e, "storage")) {
        sl_push_owned(notes, xasprintf("environment '%s' left out: SQLite without 'storage' is "
                                       "an in-memory database", name));
        return NULL;
    }
    char *rel = relative_to(cfg_dir, str(e, "storage"));
    char *url = xasprintf(rel[0] == '/' ? "sqlite://%s" : "sqlite:%s", rel);
    free(rel);
    return url;
}

/* cfg_string: s as a libconfig string literal. */
static void cfg_string(StrBuf *sb, const char *s)
{
    sb_appendc(sb, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_appendc(sb, '\\');
        sb_appendc(sb, *s);
    }
    sb_appendc(sb, '"');
}

static void write_migrations(StrBuf *sb, const json_t *project, const char *cfg_dir)
{
    char *rel = relative_to(cfg_dir, str(project, "migrations"));
    sb_append(sb, "migrations = { path = ");
    cfg_string(sb, rel);
    free(rel);
    const json_t *envs = json_object_get(project, "environments");
    size_t i;
    const json_t *e;
    json_array_foreach(envs, i, e) {
        if (str(e, "table")) {
            sb_append(sb, "; table = ");
            cfg_string(sb, str(e, "table"));
        }
        if (str(e, "schema")) {
            sb_append(sb, "; schema = ");
            cfg_string(sb, str(e, "schema"));
        }
        if (str(e, "table") || str(e, "schema"))
            break;
    }
    sb_append(sb, "; };\n");
}

static char *config_text(const json_t *project, const char *dir, const char *cfg_dir,
                         StrList *notes)
{
    StrBuf sb, envs, tenants;
    sb_init(&sb);
    sb_init(&envs);
    sb_init(&tenants);
    sb_appendf(&sb, "# drover.cfg written by 'drover init' from the sequelize-cli project '%s'\n"
                    "# (%s). Environments roll out in the order below: reorder them so that\n"
                    "# production comes last, and add your tenants (one a database or schema).\n"
                    "# No secret is copied here: set the variables named in ${...}.\n",
               dir, str(project, "config"));
    write_migrations(&sb, project, cfg_dir);
    const json_t *list = json_object_get(project, "environments");
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) {
        char *url = tenant_url(e, cfg_dir, notes);
        if (!url)
            continue;
        sb_appendf(&envs, "%s  { name = ", envs.len ? ",\n" : "");
        cfg_string(&envs, str(e, "name"));
        sb_append(&envs, "; }");
        sb_appendf(&tenants, "%s  { id = ", tenants.len ? ",\n" : "");
        cfg_string(&tenants, str(e, "name"));
        sb_append(&tenants, "; env = ");
        cfg_string(&tenants, str(e, "name"));
        sb_append(&tenants, "; url = ");
        cfg_string(&tenants, url);
        sb_append(&tenants, "; }");
        free(url);
    }
    sb_appendf(&sb, "environments = (\n%s\n);\ntenants = (\n%s\n);\n", envs.data ? envs.data : "",
               tenants.data ? tenants.data : "");
    bool any = envs.len > 0;
    sb_free(&envs);
    sb_free(&tenants);
    if (!any) {
        sb_free(&sb);
        return NULL;
    }
    return sb_detach(&sb);
}

/* write_new writes text to path, never over an existing file unless force. */
static bool write_new(const char *path, const char *text, bool force, DroverError *err)
{
    if (!force && access(path, F_OK) == 0) {
        error_set(err, ERR_USAGE, "'%s' exists already", path);
        error_set_hint(err, "give another --out, or --force to replace it");
        return false;
    }
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok)
        error_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return ok;
}

bool init_project(const char *dir, const char *out_path, bool force, StrList *notes,
                  DroverError *err)
{
    char *abs_dir = realpath(dir, NULL);
    if (!abs_dir) {
        error_set(err, ERR_USAGE, "cannot open the project folder '%s': %s", dir,
                  strerror(errno));
        return false;
    }
    json_t *project = nr_read_project(abs_dir, err);
    nr_shutdown();
    char *out_dir = path_dirname(out_path);
    char *cfg_dir = realpath(out_dir, NULL);
    char *text = NULL;
    bool ok = project && cfg_dir;
    if (project && !cfg_dir)
        error_set(err, ERR_USAGE, "cannot write into '%s': %s", out_dir, strerror(errno));
    if (ok && !(text = config_text(project, abs_dir, cfg_dir, notes))) {
        error_set(err, ERR_INPUT, "'%s' names no environment drover can run",
                  str(project, "config"));
        ok = false;
    }
    ok = ok && write_new(out_path, text, force, err);
    free(text);
    free(cfg_dir);
    free(out_dir);
    json_decref(project);
    free(abs_dir);
    return ok;
}
