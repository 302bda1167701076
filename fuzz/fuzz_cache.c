/* fuzz_cache.c — the cache-file reader. The input becomes the index file
 * and the object file of a cache entry: a 2-byte little-endian length of
 * the index file, the index file, then the object file (an input of fewer
 * than 2 bytes is split in halves). A lookup must reject anything that does
 * not verify, never crash or load garbage. Seeds in fuzz/corpus/cache are
 * real entries written by the store (UFUNCGEN_FUZZ_WRITE_SEEDS=dir makes
 * them), so mutations start from files that get past the first checks. */
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

/* Write the store's own files as a seed input (length-prefixed). */
static void write_seed(const char *out)
{
    static uint8_t buf[1 << 16];
    size_t n[2] = {0, 0};
    const char *paths[2] = {ugi, ugo};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(paths[k], "rb");
        if (f) {
            n[k] = fread(buf + 2 + n[0], 1, sizeof buf - 2 - n[0], f);
            fclose(f);
        }
    }
    buf[0] = (uint8_t)(n[0] & 0xff);
    buf[1] = (uint8_t)(n[0] >> 8);
    write_file(out, buf, 2 + n[0] + n[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!c) {
        init();
        const char *seeds = getenv("UFUNCGEN_FUZZ_WRITE_SEEDS");
        if (seeds) {
            char path[4096];
            snprintf(path, sizeof path, "%s/valid-entry", seeds);
            write_seed(path);
        }
    }
    size_t first = size / 2;
    if (size >= 2) {
        first = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (first > size)
            first = size;
    }
    write_file(ugi, data, first);
    write_file(ugo, data + first, size - first);
    void *obj = NULL;
    size_t n = 0;
    /* A hit must return bytes of the object file, never anything else. (Not
     * necessarily "payload": libFuzzer's comparison hooks learn the BLAKE3
     * checksum the reader compares against and write it beside another
     * payload -- a consistent entry, which the checksum is not meant to
     * refuse; it guards against damage, not against a writer of the cache
     * directory. fuzz/regress/cache holds such an input.) */
    if (cache_get(c, "k", &key, "d->d", &obj, &n) &&
        (n > size - first || !memmem(data + first, size - first, obj, n)))
        abort();
    free(obj);
    return 0;
}
