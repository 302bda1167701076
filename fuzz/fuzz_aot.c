/* fuzz_aot.c — kernel descriptions of ahead-of-time builds (ufuncgen/aot.h).
 * Any input is added (its kernels parsed and type-checked, nothing
 * compiled) or refused with a message; a refusal names where (a path and a
 * line) and never leaves a half-added kernel behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/aot.h"

static ug_context *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx && !(ctx = ug_context_new(NULL)))
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    ug_aot *a = NULL;
    if (ug_aot_new(ctx, "fz", &a) != UG_OK)
        abort();
    ug_status st = ug_aot_add_spec(a, s, "fuzz.ugk");
    if (st != UG_OK && st != UG_ENOMEM && (!ug_errmsg(ctx)[0] || !strstr(ug_errmsg(ctx), ":")))
        abort(); /* a refusal without a message, or without its place */
    ug_aot_free(a);
    free(s);
    return 0;
}
