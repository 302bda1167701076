/* ufuncgen-aot.c — the build-time compiler: a kernel description
 * (ufuncgen/aot.h) → an archive of loops for the CPU levels asked for, and
 * the C that registers them (constructors, a Python module).
 *
 *   ufuncgen-aot DESCRIPTION -m MODULE -o DIR [--cpu LEVEL]... [--opt-level N]
 *
 * LEVEL: host (the default), x86-64-v2, x86-64-v3, x86-64-v4; several
 * --cpu give several levels (the module loads the best one the CPU runs). Exit status 0, 1 on a kernel or
 * I/O error (the message on stderr), 2 on bad usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/aot.h"

static int usage(const char *why)
{
    fprintf(stderr, "ufuncgen-aot: %s\nusage: ufuncgen-aot DESCRIPTION -m MODULE -o DIR [--cpu LEVEL]... "
                    "[--opt-level N]\n  LEVEL: host (default), x86-64-v2, x86-64-v3, x86-64-v4\n", why);
    return 2;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    const char *spec = NULL, *module = NULL, *dir = NULL, *levels[8];
    int nlevels = 0, opt = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if ((!strcmp(a, "-m") || !strcmp(a, "--module")) && has)
            module = argv[++i];
        else if ((!strcmp(a, "-o") || !strcmp(a, "--outdir")) && has)
            dir = argv[++i];
        else if (!strcmp(a, "--cpu") && has) {
            if (nlevels == 8)
                return usage("at most 8 --cpu levels");
            levels[nlevels++] = argv[++i];
        } else if (!strcmp(a, "--opt-level") && has) {
            char *end;
            opt = (int)strtol(argv[++i], &end, 10);
            if (*end || opt < 0 || opt > 3)
                return usage("--opt-level takes 0, 1, 2 or 3");
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage("ahead-of-time builds of ufuncgen kernels");
            return 0;
        } else if (a[0] == '-' || spec)
            return usage(a[0] == '-' ? "unknown option or missing value" : "one description only");
        else
            spec = a;
    }
    if (!spec || !module || !dir)
        return usage("DESCRIPTION, -m MODULE and -o DIR are required");
    if (!nlevels)
        levels[nlevels++] = "host";
    char *text = slurp(spec);
    if (!text) {
        fprintf(stderr, "ufuncgen-aot: cannot read %s\n", spec);
        return 1;
    }
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.opt_level = opt;
    ug_context *ctx = ug_context_new(&cfg);
    ug_aot *a = NULL;
    int rc = 0;
    if (!ctx || ug_aot_new(ctx, module, &a) != UG_OK || ug_aot_add_spec(a, text, spec) != UG_OK ||
        ug_aot_write(a, dir, levels, nlevels) != UG_OK) {
        fprintf(stderr, "ufuncgen-aot: %s\n", ctx ? ug_errmsg(ctx) : "out of memory");
        rc = 1;
    }
    ug_aot_free(a);
    ug_context_free(ctx);
    free(text);
    return rc;
}
