/*
 * envexpand.c — ${VAR} expansion of inventory strings, so that passwords and hosts can come
 * from the environment instead of the file. Errors name the variable, never a value.
 */
#include "drover/inventory.h"

#include <stdlib.h>
#include <string.h>

static bool is_var_name(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* expand_one appends the value of the variable named by the n bytes at name. */
static bool expand_one(StrBuf *sb, const char *name, size_t n, DroverError *err)
{
    if (!is_var_name(name, n)) {
        error_set(err, ERR_CONFIG, "invalid environment variable name '%.*s'", (int)n,
                      name);
        return false;
    }
    char *key = xstrndup(name, n);
    const char *value = getenv(key);
    if (!value)
        error_set(err, ERR_CONFIG, "environment variable '%s' is not set", key);
    else
        sb_append(sb, value);
    free(key);
    return value != NULL;
}

char *inv_expand_env(const char *text, DroverError *err)
{
    StrBuf sb;
    sb_init(&sb);
    const char *p = text;
    const char *open;
    while ((open = strstr(p, "${")) != NULL) {
        sb_appendn(&sb, p, (size_t)(open - p));
        const char *name = open + 2;
        const char *close = strchr(name, '}');
        /* The rest of the text is not shown: it may be a literal password. */
        if (!close) {
            error_set(err, ERR_CONFIG, "unterminated '${' (missing '}')");
            sb_free(&sb);
            return NULL;
        }
        if (!expand_one(&sb, name, (size_t)(close - name), err)) {
            sb_free(&sb);
            return NULL;
        }
        p = close + 1;
    }
    sb_append(&sb, p);
    return sb_detach(&sb);
}
