/* fuzz_cache.c — the cache-file reader. The input becomes the index file
 * (first half) and the object file (second half) of a cache entry; a lookup
 * must reject anything that does not verify, never crash or load garbage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "cache/cache.h"

static char dir[64];
static cache *c;
static cache_key key;
static char ugi[512], ugo[512];

static void init(void)
{
    snprintf(dir, sizeof dir, "/tmp/ufuncgen-fuzz-cache-%d", (int)getpid());
    c = cache_open(dir, 0);
    cache_hasher h;
    cache_hash_init(&h);
    cache_hash_str(&h, "fuzz");
    cache_hash_final(&h, &key);
    /* Write one good entry to learn the file names the store uses. */
    cache_put(c, "k", &key, "d->d", "payload", 7);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".ugi") == 0)
            snprintf(ugi, sizeof ugi, "%s/%s", dir, e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".ugo") == 0)
            snprintf(ugo, sizeof ugo, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    if (!ugi[0] || !ugo[0])
        abort(); /* the store did not write an entry: the harness cannot work */
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!c)
        init();
    size_t half = size / 2;
    write_file(ugi, data, half);
    write_file(ugo, data + half, size - half);
    void *obj = NULL;
    size_t n = 0;
    /* A hit must return exactly what was stored: only a byte-exact valid entry
     * (its checksum is BLAKE3) can verify, so any other hit is a bug. */
    if (cache_get(c, "k", &key, "d->d", &obj, &n) && (n != 7 || memcmp(obj, "payload", 7) != 0))
        abort();
    free(obj);
    return 0;
}
