/*
 * url.c — the database URLs of the inventory: parsing through libcurl's URL API, checking
 * postgres query parameters against libpq's own keyword list, and the masked form, which is
 * the only form of a URL that is ever printed.
 */
#include "url_impl.h"

#include "drover/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct Scheme {
    const char *name;
    DbDialect dialect;
} Scheme;

static const Scheme SCHEMES[] = {
    {"postgres", DB_POSTGRES},
    {"postgresql", DB_POSTGRES},
    {"mysql", DB_MYSQL},
    {"mariadb", DB_MYSQL},
    {"sqlite", DB_SQLITE},
};

const char *db_dialect_name(DbDialect d)
{
    switch (d) {
    case DB_POSTGRES:
        return "postgres";
    case DB_MYSQL:
        return "mysql";
    case DB_SQLITE:
        return "sqlite";
    }
    return "unknown";
}

#define ACCEPTED_FORMS \
    "postgres://, postgresql://, mysql://, mariadb://, sqlite:PATH, sqlite:///ABSOLUTE/PATH"

/* Query parameters whose value is a secret: masked like the userinfo password. */
static const char *const SECRET_PARAMS[] = {"password", "sslpassword", NULL};

/* libpq keywords that must come from the URL proper, so that one fact has one place. */
static const char *const PG_URL_PROPER_KEYS[] = {"host", "port", "user", "password", "dbname", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool url_fail(DroverError *err, const char *shown, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool url_fail(DroverError *err, const char *shown, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(err, ERR_CONFIG, "invalid url '%s': %s", shown, reason);
    free(reason);
    return false;
}

/* ---- masking ---------------------------------------------------------------------------- */

/* secret_param_len returns the length of "KEY=" when a secret parameter starts at p, else 0. */
static size_t secret_param_len(const char *p)
{
    for (size_t i = 0; SECRET_PARAMS[i]; i++) {
        size_t n = strlen(SECRET_PARAMS[i]);
        if (strncmp(p, SECRET_PARAMS[i], n) == 0 && p[n] == '=')
            return n + 1;
    }
    return 0;
}

/* mask_secret_params copies text with the value of every "?password=" / "&password=" (and
 * the other secret parameters) replaced by "***". */
static char *mask_secret_params(const char *text)
{
    StrBuf sb;
    sb_init(&sb);
    const char *p = text;
    while (*p) {
        bool boundary = p > text && (p[-1] == '?' || p[-1] == '&');
        size_t keylen = boundary ? secret_param_len(p) : 0;
        if (keylen) {
            sb_appendn(&sb, p, keylen);
            sb_append(&sb, "***");
            p += keylen;
            p += strcspn(p, "&# \t\r\n");
        } else {
            sb_appendc(&sb, *p++);
        }
    }
    return sb_detach(&sb);
}

/*
 * The userinfo is taken to end at the LAST '@' of the text, not at the first '/', '?' or '#':
 * in a URL that does not parse, the password may hold any of them, and masking too much is
 * the safe side.
 */
char *url_mask_text(const char *text)
{
    StrBuf sb;
    sb_init(&sb);
    const char *p = text;
    const char *sep;
    while ((sep = strstr(p, "://")) != NULL) {
        const char *auth = sep + 3;
        const char *at = strrchr(auth, '@');
        if (!at)
            break;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            sb_appendn(&sb, p, (size_t)(colon + 1 - p));
            sb_append(&sb, "***");
        } else {
            sb_appendn(&sb, p, (size_t)(at - p));
        }
        sb_appendc(&sb, '@');
        p = at + 1;
    }
    sb_append(&sb, p);
    char *masked = mask_secret_params(sb.data);
    sb_free(&sb);
    return masked;
}

/* ---- sqlite ----------------------------------------------------------------------------- */

/* absolute_path resolves rel against base_dir, and a relative result against the current
 * directory, so that a tenant's file does not depend on where drover is started later. */
static char *absolute_path(const char *base_dir, const char *rel)
{
    if (path_is_absolute(rel))
        return xstrdup(rel);
    bool base_is_cwd = !base_dir || !*base_dir || strcmp(base_dir, ".") == 0;
    char *joined = base_is_cwd ? xstrdup(rel) : path_join(base_dir, rel);
    if (path_is_absolute(joined))
        return joined;
    char *cwd = getcwd(NULL, 0); /* glibc allocates */
    if (!cwd) {
        free(joined);
        return NULL;
    }
    char *abs = path_join(cwd, joined);
    free(cwd);
    free(joined);
    return abs;
}

static bool parse_sqlite(const char *rest, const char *shown, const char *base_dir, DbUrl *out,
                         DroverError *err)
{
    if (strncmp(rest, "//", 2) == 0) {
        if (rest[2] != '/')
            return url_fail(err, shown,
                            "a sqlite url is 'sqlite:PATH' (relative to the inventory) or "
                            "'sqlite:///ABSOLUTE/PATH'");
        rest += 2;
        if (rest[1] == '\0')
            return url_fail(err, shown, "the sqlite database path is empty");
    }
    if (*rest == '\0')
        return url_fail(err, shown, "the sqlite database path is empty");
    if (strchr(rest, '?'))
        return url_fail(err, shown, "sqlite urls take no query parameters");
    char *path = absolute_path(base_dir, rest);
    if (!path)
        return url_fail(err, shown, "cannot resolve the current directory: %s", strerror(errno));
    out->dialect = DB_SQLITE;
    out->database = path;
    out->masked = xasprintf("sqlite:%s", path);
    return true;
}

/* ---- postgres and mysql ----------------------------------------------------------------- */

/* unescape percent-decodes n bytes of s; a %00 would silently cut the value, so it fails. */
static bool unescape(const char *s, size_t n, char **out)
{
    *out = NULL;
    if (n == 0) {
        *out = xstrdup("");
        return true;
    }
    if (n > INT_MAX)
        return false;
    int outlen = 0;
    char *decoded = curl_easy_unescape(NULL, s, (int)n, &outlen);
    if (!decoded)
        return false;
    bool ok = strlen(decoded) == (size_t)outlen;
    if (ok)
        *out = xstrdup(decoded);
    curl_free(decoded);
    return ok;
}

static bool is_pg_keyword(PQconninfoOption **defaults, const char *key)
{
    if (!*defaults)
        *defaults = PQconndefaults();
    if (!*defaults)
        return false;
    for (const PQconninfoOption *o = *defaults; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return true;
    return false;
}

static bool has_param(const DbUrl *url, const char *key)
{
    for (size_t i = 0; i < url->nparams; i++)
        if (strcmp(url->params[i].key, key) == 0)
            return true;
    return false;
}

/* check_param says whether KEY=VALUE may be stored as a connection parameter of url. */
static bool check_param(const DbUrl *url, const char *key, PQconninfoOption **defaults,
                        const char *shown, DroverError *err)
{
    if (url->dialect == DB_MYSQL)
        return url_fail(err, shown, "mysql urls take no query parameters ('%s' given)", key);
    if (in_list(PG_URL_PROPER_KEYS, key))
        return url_fail(err, shown,
                        "'%s' must be given in the url itself, not as a query parameter", key);
    if (!is_pg_keyword(defaults, key))
        return url_fail(err, shown, "unknown postgres connection parameter '%s'", key);
    if (has_param(url, key))
        return url_fail(err, shown, "duplicate connection parameter '%s'", key);
    return true;
}

static bool store_param(DbUrl *url, char *key, char *value, PQconninfoOption **defaults,
                        const char *shown, DroverError *err)
{
    if (url->dialect == DB_POSTGRES && strcmp(key, "schema") == 0) {
        bool ok = false;
        if (url->schema)
            url_fail(err, shown, "duplicate connection parameter 'schema'");
        else if (!*value)
            url_fail(err, shown, "'schema' must not be empty");
        else
            ok = true;
        free(key);
        if (ok)
            url->schema = value;
        else
            free(value);
        return ok;
    }
    if (!check_param(url, key, defaults, shown, err)) {
        free(key);
        free(value);
        return false;
    }
    url->params = xrealloc(url->params, (url->nparams + 1) * sizeof *url->params);
    url->params[url->nparams++] = (DbUrlParam){.key = key, .value = value};
    return true;
}

/* add_param decodes one raw "key=value" pair, stores it and appends its masked form. */
static bool add_param(DbUrl *url, const char *pair, size_t len, PQconninfoOption **defaults,
                      StrBuf *masked_query, const char *shown, DroverError *err)
{
    const char *eq = memchr(pair, '=', len);
    if (!eq)
        return url_fail(err, shown, "query parameter '%.*s' has no '=value'", (int)len, pair);
    size_t keylen = (size_t)(eq - pair);
    char *key;
    char *value;
    if (!unescape(pair, keylen, &key))
        return url_fail(err, shown, "a query parameter has an invalid percent-encoding");
    if (!unescape(eq + 1, len - keylen - 1, &value)) {
        free(key);
        return url_fail(err, shown, "a query parameter has an invalid percent-encoding");
    }
    if (masked_query->len)
        sb_appendc(masked_query, '&');
    sb_appendn(masked_query, pair, keylen + 1);
    if (in_list(SECRET_PARAMS, key))
        sb_append(masked_query, "***");
    else
        sb_appendn(masked_query, eq + 1, len - keylen - 1);
    return store_param(url, key, value, defaults, shown, err);
}

static bool parse_query(DbUrl *url, const char *query, StrBuf *masked_query, const char *shown,
                        DroverError *err)
{
    PQconninfoOption *defaults = NULL;
    bool ok = true;
    const char *p = query;
    while (ok && *p) {
        size_t len = strcspn(p, "&");
        if (len > 0)
            ok = add_param(url, p, len, &defaults, masked_query, shown, err);
        p += len;
        if (*p == '&')
            p++;
    }
    if (defaults)
        PQconninfoFree(defaults);
    return ok;
}

static bool is_missing_part(CURLUcode rc)
{
    return rc == CURLUE_NO_USER || rc == CURLUE_NO_PASSWORD || rc == CURLUE_NO_HOST ||
           rc == CURLUE_NO_PORT || rc == CURLUE_NO_QUERY || rc == CURLUE_NO_FRAGMENT;
}

/* get_part copies one part of the URL into *out, NULL when the URL has none. */
static bool get_part(CURLU *h, CURLUPart part, unsigned flags, char **out)
{
    char *s = NULL;
    CURLUcode rc = curl_url_get(h, part, &s, flags);
    *out = NULL;
    if (rc != CURLUE_OK)
        return is_missing_part(rc);
    *out = xstrdup(s);
    curl_free(s);
    return true;
}

/* The raw (still percent-encoded) parts of a URL, as libcurl split them. */
typedef struct UrlParts {
    char *scheme;
    char *user_raw;
    char *user;
    char *password;
    char *host;
    char *port;
    char *path;
    char *query;
    char *fragment;
} UrlParts;

static void parts_free(UrlParts *p)
{
    free(p->scheme);
    free(p->user_raw);
    free(p->user);
    free(p->password);
    free(p->host);
    free(p->port);
    free(p->path);
    free(p->query);
    free(p->fragment);
}

static bool get_parts(CURLU *h, UrlParts *p)
{
    return get_part(h, CURLUPART_SCHEME, 0, &p->scheme) &&
           get_part(h, CURLUPART_USER, 0, &p->user_raw) &&
           get_part(h, CURLUPART_USER, CURLU_URLDECODE, &p->user) &&
           get_part(h, CURLUPART_PASSWORD, CURLU_URLDECODE, &p->password) &&
           get_part(h, CURLUPART_HOST, 0, &p->host) && get_part(h, CURLUPART_PORT, 0, &p->port) &&
           get_part(h, CURLUPART_PATH, 0, &p->path) &&
           get_part(h, CURLUPART_QUERY, 0, &p->query) &&
           get_part(h, CURLUPART_FRAGMENT, 0, &p->fragment);
}

static bool parse_port(const char *text, int *port)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

/* strip_brackets turns "[::1]" into "::1", the form client libraries want. */
static char *strip_brackets(const char *host)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        return xstrndup(host + 1, n - 2);
    return xstrdup(host);
}

static char *build_masked(const UrlParts *p, bool has_password, const char *db_raw,
                          const char *masked_query)
{
    StrBuf sb;
    sb_init(&sb);
    sb_appendf(&sb, "%s://", p->scheme);
    if (p->user_raw) {
        sb_append(&sb, p->user_raw);
        if (has_password)
            sb_append(&sb, ":***");
        sb_appendc(&sb, '@');
    } else if (has_password) {
        sb_append(&sb, ":***@");
    }
    sb_append(&sb, p->host);
    if (p->port)
        sb_appendf(&sb, ":%s", p->port);
    if (*db_raw)
        sb_appendf(&sb, "/%s", db_raw);
    if (*masked_query)
        sb_appendf(&sb, "?%s", masked_query);
    return sb_detach(&sb);
}

static bool fill_from_parts(UrlParts *p, const char *shown, DbUrl *out, DroverError *err)
{
    if (p->fragment)
        return url_fail(err, shown, "unexpected '#' (percent-encode it as %%23 in a password)");
    if (!p->host || !*p->host)
        return url_fail(err, shown, "missing host");
    if (p->port && !parse_port(p->port, &out->port))
        return url_fail(err, shown, "port must be a number from 1 to 65535");
    const char *db_raw = p->path && p->path[0] == '/' ? p->path + 1 : "";
    if (strchr(db_raw, '/'))
        return url_fail(err, shown, "the path must be a database name alone, not '%s'", db_raw);
    if (!unescape(db_raw, strlen(db_raw), &out->database))
        return url_fail(err, shown, "the database name has an invalid percent-encoding");
    if (!*out->database) {
        free(out->database);
        out->database = NULL;
    }
    out->host = strip_brackets(p->host);
    if (p->user && *p->user) {
        out->user = p->user;
        p->user = NULL;
    }
    out->password = p->password;
    p->password = NULL;

    StrBuf masked_query;
    sb_init(&masked_query);
    bool ok = !p->query || parse_query(out, p->query, &masked_query, shown, err);
    if (ok)
        out->masked = build_masked(p, out->password != NULL, db_raw, masked_query.data);
    sb_free(&masked_query);
    return ok;
}

/* curl_reason words libcurl's refusal for a person; the port case is common enough to get
 * the rule itself. */
static char *curl_reason(CURLUcode rc)
{
    if (rc == CURLUE_BAD_PORT_NUMBER)
        return xstrdup("port must be a number from 1 to 65535");
    if (rc == CURLUE_NO_HOST)
        return xstrdup("missing host");
    char *reason = xstrdup(curl_url_strerror(rc));
    if (reason[0] >= 'A' && reason[0] <= 'Z')
        reason[0] = (char)(reason[0] - 'A' + 'a');
    return reason;
}

static bool parse_network(const char *text, const Scheme *scheme, const char *shown,
                          DbUrl *out, DroverError *err)
{
    const char *after = text + strlen(scheme->name) + 1;
    if (strncmp(after, "//", 2) != 0)
        return url_fail(err, shown, "expected '%s://' followed by a host", scheme->name);
    /* libcurl reads "postgres:///db" as host "db": an empty authority (or nothing at all
     * after "//", where strchr finds the terminator) is refused here. */
    if (strchr("/?#", after[2]))
        return url_fail(err, shown, "missing host");
    CURLU *h = curl_url();
    if (!h)
        return url_fail(err, shown, "out of memory");
    UrlParts parts = {0};
    bool ok = false;
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, text, CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
    if (rc != CURLUE_OK) {
        char *reason = curl_reason(rc);
        url_fail(err, shown, "%s", reason);
        free(reason);
        goto out;
    }
    if (!get_parts(h, &parts)) {
        url_fail(err, shown, "invalid percent-encoding");
        goto out;
    }
    out->dialect = scheme->dialect;
    ok = fill_from_parts(&parts, shown, out, err);
out:
    parts_free(&parts);
    curl_url_cleanup(h);
    return ok;
}

/* ---- entry points ----------------------------------------------------------------------- */

static const Scheme *find_scheme(const char *text)
{
    size_t n = strcspn(text, ":");
    if (text[n] != ':')
        return NULL;
    for (size_t i = 0; i < sizeof SCHEMES / sizeof SCHEMES[0]; i++)
        if (strlen(SCHEMES[i].name) == n && strncasecmp(text, SCHEMES[i].name, n) == 0)
            return &SCHEMES[i];
    return NULL;
}

/* scheme_len returns the length of an RFC 3986 scheme followed by ':' at the start of text. */
static size_t scheme_len(const char *text)
{
    size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return n > 0 && text[n] == ':' ? n : 0;
}

bool url_parse_shown(const char *text, const char *shown, const char *base_dir, DbUrl *out,
                         DroverError *err)
{
    memset(out, 0, sizeof *out);
    const Scheme *scheme = find_scheme(text);
    bool ok;
    if (!scheme) {
        size_t n = scheme_len(text);
        if (n)
            ok = url_fail(err, shown, "unsupported scheme '%.*s' (accepted: " ACCEPTED_FORMS ")",
                          (int)n, text);
        else
            ok = url_fail(err, shown, "missing scheme (accepted: " ACCEPTED_FORMS ")");
    } else if (scheme->dialect == DB_SQLITE) {
        ok = parse_sqlite(text + strlen(scheme->name) + 1, shown, base_dir, out, err);
    } else {
        ok = parse_network(text, scheme, shown, out, err);
    }
    if (!ok)
        url_free(out);
    return ok;
}

bool url_parse(const char *text, const char *base_dir, DbUrl *out, DroverError *err)
{
    char *shown = url_mask_text(text);
    bool ok = url_parse_shown(text, shown, base_dir, out, err);
    free(shown);
    return ok;
}

void url_free(DbUrl *url)
{
    if (!url)
        return;
    free(url->host);
    free(url->user);
    if (url->password)
        explicit_bzero(url->password, strlen(url->password));
    free(url->password);
    free(url->database);
    free(url->schema);
    for (size_t i = 0; i < url->nparams; i++) {
        free(url->params[i].key);
        free(url->params[i].value);
    }
    free(url->params);
    free(url->masked);
    memset(url, 0, sizeof *url);
}
