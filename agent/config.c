/*
 * config.c — drover-agent's configuration file (libconfig), its token file, and the fleet it
 * serves (a normal drover inventory and its migration set, with their digests).
 */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "drover/fleetrun.h"
#include "drover/sources.h"

#define DEFAULT_MAX_BODY (1024L * 1024L)

static const char *const known_keys[] = {"listen", "port", "tls", "token_file", "inventory",
                                         "parallel", "max_body", "idle_timeout",
                                         "max_connections", "max_connections_per_ip", NULL};

static bool is_known_key(const char *name)
{
    for (size_t i = 0; known_keys[i]; i++)
        if (strcmp(known_keys[i], name) == 0)
            return true;
    return false;
}

/* resolved_path: a path from the file, relative to the config's directory. */
static char *resolved_path(const char *dir, const char *value)
{
    return value ? path_join(dir, value) : NULL;
}

static bool config_fail(DroverError *err, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool config_fail(DroverError *err, const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(err, ERR_CONFIG, "%s", msg);
    free(msg);
    error_set_location(err, path, line);
    return false;
}

static bool check_keys(const config_setting_t *root, const char *path, DroverError *err)
{
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        if (!is_known_key(config_setting_name(s)))
            return config_fail(err, path, config_setting_source_line(s), "unknown key '%s'",
                               config_setting_name(s));
    }
    return true;
}

/* read_limit reads an optional whole number from min to max, def when absent. */
static bool read_limit(config_t *cfg, const char *path, const char *key, long def, long min,
                       long max, long *out, DroverError *err)
{
    int n = 0;
    *out = def;
    if (!config_lookup_int(cfg, key, &n))
        return true;
    if (n < min || n > max)
        return config_fail(err, path, 0, "'%s' must be from %ld to %ld", key, min, max);
    *out = n;
    return true;
}

static bool read_settings(config_t *cfg, const char *path, const char *dir, AgentConfig *out,
                          DroverError *err)
{
    const char *s = NULL;
    out->listen = xstrdup(config_lookup_string(cfg, "listen", &s) ? s : "127.0.0.1");
    int port = 0;
    if (!config_lookup_int(cfg, "port", &port) || port < 1 || port > 65535)
        return config_fail(err, path, 0, "'%s' must be an integer from 1 to 65535", "port");
    out->port = port;
    if (config_lookup_string(cfg, "tls.cert", &s))
        out->tls_cert = resolved_path(dir, s);
    if (config_lookup_string(cfg, "tls.key", &s))
        out->tls_key = resolved_path(dir, s);
    if (!out->tls_cert != !out->tls_key)
        return config_fail(err, path, 0, "'%s' needs both 'cert' and 'key'", "tls");
    if (!config_lookup_string(cfg, "token_file", &s))
        return config_fail(err, path, 0, "missing required key '%s'", "token_file");
    out->token_file = resolved_path(dir, s);
    if (!config_lookup_string(cfg, "inventory", &s))
        return config_fail(err, path, 0, "missing required key '%s'", "inventory");
    out->inventory = resolved_path(dir, s);
    int n = 0;
    if (config_lookup_int(cfg, "parallel", &n) && n < 1)
        return config_fail(err, path, 0, "'%s' must be at least 1", "parallel");
    out->parallel = n;
    out->max_body = DEFAULT_MAX_BODY;
    if (config_lookup_int(cfg, "max_body", &n)) {
        if (n < 1024)
            return config_fail(err, path, 0, "'%s' must be at least 1024 bytes", "max_body");
        out->max_body = n;
    }
    return read_limit(cfg, path, "idle_timeout", 30, 1, 3600, &out->idle_timeout_s, err) &&
           read_limit(cfg, path, "max_connections", 512, 4, 100000, &out->max_connections,
                      err) &&
           read_limit(cfg, path, "max_connections_per_ip", 64, 1, 100000,
                      &out->max_connections_per_ip, err);
}

bool agent_config_load(const char *path, AgentConfig *out, DroverError *err)
{
    memset(out, 0, sizeof *out);
    config_t cfg;
    config_init(&cfg);
    bool ok = false;
    char *dir = path_dirname(path);
    if (!config_read_file(&cfg, path)) {
        const char *file = config_error_file(&cfg);
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
            error_set(err, ERR_CONFIG, "cannot read agent config '%s'", path);
        else
            error_set(err, ERR_CONFIG, "%s", config_error_text(&cfg));
        error_set_location(err, file ? file : path, config_error_line(&cfg));
        goto out;
    }
    ok = check_keys(config_root_setting(&cfg), path, err) &&
         read_settings(&cfg, path, dir, out, err);
out:
    config_destroy(&cfg);
    free(dir);
    if (!ok)
        agent_config_free(out);
    return ok;
}

void agent_config_free(AgentConfig *c)
{
    free(c->listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->token_file);
    free(c->inventory);
    memset(c, 0, sizeof *c);
}

bool agent_tokens_load(const char *path, StrList *out, DroverError *err)
{
    char *text = file_read_all(path, NULL);
    if (!text) {
        error_set(err, ERR_CONFIG, "cannot read token file '%s': %s", path,
                      strerror(errno));
        return false;
    }
    char *line = text;
    while (*line) {
        size_t len = strcspn(line, "\r\n");
        char *tok = xstrndup(line, len);
        size_t start = strspn(tok, " \t");
        size_t end = strlen(tok);
        while (end > start && (tok[end - 1] == ' ' || tok[end - 1] == '\t'))
            end--;
        if (end > start && tok[start] != '#')
            sl_push_owned(out, xstrndup(tok + start, end - start));
        free(tok);
        line += len;
        line += strspn(line, "\r\n");
    }
    free(text);
    if (out->n == 0) {
        error_set(err, ERR_CONFIG, "token file '%s' holds no token", path);
        return false;
    }
    return true;
}

/* tokens_equal: every byte of the accepted token is looked at whatever the presented one
 * holds, so the time taken tells nothing about a matching prefix. */
static bool tokens_equal(const char *accepted, const char *presented)
{
    size_t alen = strlen(accepted);
    size_t plen = strlen(presented);
    unsigned diff = alen != plen;
    for (size_t i = 0; i < alen; i++) {
        unsigned char p = plen ? (unsigned char)presented[i % plen] : 0;
        diff |= (unsigned char)accepted[i] ^ p;
    }
    return diff == 0;
}

bool agent_token_accepted(const StrList *tokens, const char *presented)
{
    bool ok = false;
    for (size_t i = 0; i < tokens->n; i++)
        ok |= tokens_equal(tokens->items[i], presented); /* no early exit */
    return ok;
}

static bool load_digests(AgentFleet *f, DroverError *err)
{
    for (size_t i = 0; i < f->set.n; i++) {
        char *d = mig_file_digest(&f->set.items[i], err);
        if (!d)
            return false;
        sl_push(&f->file_names, f->set.items[i].name);
        sl_push_owned(&f->file_digests, d);
    }
    f->set_digest = mig_set_digest(&f->set, err);
    return f->set_digest != NULL;
}

/* print_output logs what a .js migration printed, a line at a time (a newline in it can never
 * forge a log line). */
static void print_output(const ExecOutput *out, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "drover-agent: tenant '%s': migration '%s': %s: %s\n",
            out->tenant ? out->tenant : "-", out->migration ? out->migration : "-",
            out->stream ? out->stream : "output", out->line);
}

/* prepare_js starts the node runner for every tenant served, or keeps why it cannot. */
static void prepare_js(AgentFleet *f)
{
    fleetrun_set_output(print_output, NULL);
    f->has_js = mig_set_has_js(&f->set);
    DroverError err = DROVER_ERROR_INIT;
    f->js_ready = fleetrun_js_prepare(f->inv, &f->set, &err);
    if (!f->js_ready) {
        f->js_error = xstrdup(err.message ? err.message : "the node runner did not start");
        f->js_hint = err.hint ? xstrdup(err.hint) : NULL;
        char *text = error_format(&err);
        fprintf(stderr, "drover-agent: warning: .js migrations cannot run here: %s\n", text);
        free(text);
    }
    error_clear(&err);
}

bool agent_fleet_load(const AgentConfig *c, AgentFleet *out, DroverError *err)
{
    memset(out, 0, sizeof *out);
    out->inv = inv_load(c->inventory, err);
    /* tenants_from is read once, when the agent starts: restart it to see new rows. */
    if (!out->inv || !sources_resolve(out->inv, NULL, err)) {
        agent_fleet_free(out);
        return false;
    }
    if (!mig_discover(out->inv->migrations_path, &out->set, err) || !load_digests(out, err)) {
        agent_fleet_free(out);
        return false;
    }
    out->parallel = c->parallel ? c->parallel : out->inv->engine.parallel;
    prepare_js(out);
    return true;
}

void agent_fleet_free(AgentFleet *f)
{
    if (f->js_ready && f->has_js)
        fleetrun_js_shutdown();
    free(f->js_error);
    free(f->js_hint);
    inv_free(f->inv);
    mig_set_free(&f->set);
    free(f->set_digest);
    sl_free(&f->file_names);
    sl_free(&f->file_digests);
    memset(f, 0, sizeof *f);
}
