/*
 * migration_digest.c — fingerprints of migration files and of a whole set, for comparing the
 * set a coordinator expects with the one an agent holds (see migration.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drover/migration.h"
#include "drover/util.h"

#define FNV64_PRIME 0x100000001b3ULL

/* fnv_continue folds more bytes into an FNV-1a 64 state, so that name and content hash as one
 * stream without being copied into one buffer. */
static uint64_t fnv_continue(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

static char *hex16(uint64_t h)
{
    return xasprintf("%016" PRIx64, h);
}

char *mig_file_digest(const Migration *m, DroverError *err)
{
    size_t len = 0;
    char *text = file_read_all(m->path, &len);
    if (!text) {
        error_set(err, ERR_IO, "cannot read migration '%s': %s", m->path,
                      strerror(errno));
        return NULL;
    }
    uint64_t h = fnv1a64(m->name, strlen(m->name) + 1); /* the NUL separates name and bytes */
    h = fnv_continue(h, text, len);
    free(text);
    return hex16(h);
}

char *mig_set_digest(const MigSet *set, DroverError *err)
{
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < set->n; i++) {
        char *d = mig_file_digest(&set->items[i], err);
        if (!d) {
            sb_free(&sb);
            return NULL;
        }
        sb_appendf(&sb, "%s\t%s\n", set->items[i].name, d);
        free(d);
    }
    char *out = hex16(fnv1a64(sb.data, sb.len));
    sb_free(&sb);
    return out;
}
