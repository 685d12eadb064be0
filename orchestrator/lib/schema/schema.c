/*
 * schema.c — schema fingerprints (schema.h): one short hash of a tenant's canonical schema
 * lines, which schema_catalog.c reads. Comparing tenants (drift) is a fleet view:
 * fleetview_drift.c.
 */
#include "schema_impl.h"

#include <inttypes.h>
#include <stdlib.h>

char *schema_fingerprint(const StrList *lines)
{
    StrBuf text;
    sb_init(&text);
    for (size_t i = 0; i < lines->n; i++) {
        if (i)
            sb_appendc(&text, '\n');
        sb_append(&text, lines->items[i]);
    }
    uint64_t h = fnv1a64(text.data, text.len);
    sb_free(&text);
    return xasprintf("%016" PRIx64, h);
}
