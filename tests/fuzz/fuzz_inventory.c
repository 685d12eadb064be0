/*
 * fuzz_inventory.c — libFuzzer target for the inventory loader: libconfig's parser, then
 * drover's validation of every group, key, URL and ${VAR}. The input is written to a file in a
 * private directory (the loader reads a path, and @include resolves against its directory);
 * a rejected input must carry a message, and an accepted one must free cleanly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *config_path(void)
{
    static char path[512];
    if (!path[0]) {
        char dir[] = "/tmp/drover-fuzz-inventory.XXXXXX";
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/drover.cfg", dir);
        setenv("FUZZ_PW", "secret", 1);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = config_path();
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(path, &err);
    if (!inv && !err.message)
        abort(); /* a refusal must say why */
    inv_free(inv);
    error_clear(&err);
    return 0;
}
