/* bench_cache.c — what a cache hit costs: building a kernel key, looking up
 * and reading one cached object (index read + verify, object read + verify),
 * a miss, and a put. A program, not a test: it prints a table and writes the
 * same numbers as JSON (argv[1], default bench_cache.json).
 *
 * Runs in a fresh directory under $TMPDIR (or /tmp); files are warm in the
 * page cache after the first read, which is the case that matters (a process
 * starting next to its cache). Each figure is the median of many repetitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"

enum { REPS = 2001 };

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static const char kernel_src[] = "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))\n";

static cache_key make_key(void)
{
    cache_hasher h;
    cache_key k;
    cache_hash_init(&h);
    cache_hash_str(&h, "ufuncgen kernel key v1");
    cache_hash_str(&h, "sigmoid");
    cache_hash_str(&h, kernel_src);
    cache_hash_str(&h, "()->()");
    for (int i = 0; i < 5; i++)
        cache_hash_int(&h, i);
    cache_hash_host(&h);
    cache_hash_final(&h, &k);
    return k;
}

static double time_key(void)
{
    static double t[REPS];
    for (int i = 0; i < REPS; i++) {
        double t0 = now_us();
        volatile cache_key k = make_key();
        (void)k;
        t[i] = now_us() - t0;
    }
    return median(t, REPS);
}

/* Median time of one cache_get of sig (hit or miss as it falls). */
static double time_get(cache *c, const cache_key *k, const char *sig, int expect_hit)
{
    static double t[REPS];
    for (int i = 0; i < REPS; i++) {
        void *obj;
        size_t size;
        double t0 = now_us();
        int hit = cache_get(c, "sigmoid", k, sig, &obj, &size);
        t[i] = now_us() - t0;
        free(obj);
        if (hit != expect_hit) {
            fprintf(stderr, "bench_cache: unexpected %s for %s\n", hit ? "hit" : "miss", sig);
            exit(1);
        }
    }
    return median(t, REPS);
}

/* Median time of putting a new signature (object + index write, lock). */
static double time_put(cache *c, const cache_key *k, const void *obj, size_t size, int n)
{
    double *t = malloc(sizeof *t * (size_t)n);
    char sig[32];
    for (int i = 0; i < n; i++) {
        snprintf(sig, sizeof sig, "put%d", i);
        double t0 = now_us();
        cache_put(c, "sigmoid", k, sig, obj, size);
        t[i] = now_us() - t0;
    }
    double m = median(t, n);
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "bench_cache.json";
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ug-bench-cache-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    cache *c = cache_open(dir, 0);
    cache_key k = make_key();
    size_t sizes[] = {4 << 10, 64 << 10, 1 << 20};
    const char *sigs[] = {"4KiB", "64KiB", "1MiB"};
    unsigned char *obj = malloc(1 << 20);
    for (size_t i = 0; i < 1 << 20; i++)
        obj[i] = (unsigned char)(i * 2654435761u >> 13);
    for (int i = 0; i < 3; i++)
        cache_put(c, "sigmoid", &k, sigs[i], obj, sizes[i]);

    double key_us = time_key(), hit_us[3];
    for (int i = 0; i < 3; i++)
        hit_us[i] = time_get(c, &k, sigs[i], 1);
    double miss_sig_us = time_get(c, &k, "absent", 0);
    cache_key other = k;
    other.b[0] ^= 1;
    double miss_idx_us = time_get(c, &other, "absent", 0);
    double put_us = time_put(c, &k, obj, sizes[0], 201);
    /* with 200+ signatures in the index, a hit reads a bigger index */
    double hit_big_index_us = time_get(c, &k, sigs[0], 1);

    printf("ufuncgen cache, %s (median of %d)\n", dir, REPS);
    printf("%-44s %10s\n", "operation", "us");
    printf("%-44s %10.2f\n", "build kernel key (source, options, host)", key_us);
    for (int i = 0; i < 3; i++)
        printf("hit: look up + read + verify %-15s %10.2f\n", sigs[i], hit_us[i]);
    printf("%-44s %10.2f\n", "hit 4KiB, index of 204 signatures", hit_big_index_us);
    printf("%-44s %10.2f\n", "miss: signature not in index", miss_sig_us);
    printf("%-44s %10.2f\n", "miss: no index", miss_idx_us);
    printf("%-44s %10.2f\n", "put 4KiB new signature (lock, 2 renames)", put_us);

    FILE *f = fopen(out, "w");
    if (f) {
        fprintf(f,
                "{\"bench\": \"cache\", \"unit\": \"us\", \"key\": %.3f, \"hit_4k\": %.3f, \"hit_64k\": %.3f, "
                "\"hit_1m\": %.3f, \"hit_4k_index_204\": %.3f, \"miss_sig\": %.3f, \"miss_index\": %.3f, "
                "\"put_4k\": %.3f}\n",
                key_us, hit_us[0], hit_us[1], hit_us[2], hit_big_index_us, miss_sig_us, miss_idx_us, put_us);
        fclose(f);
    }
    cache_close(c);
    free(obj);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
