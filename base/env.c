/* env.c — the UFUNCGEN_* environment variables: the one place that reads
 * each of them, with one parse rule per variable (base.h lists them). The
 * Python package reads UFUNCGEN_DISABLE_JIT itself, with the same rule as
 * the flags here: set, and neither empty nor "0".
 *
 * Nothing is cached: tests and inspect_llvm() change UFUNCGEN_DUMP while
 * the process runs, and getenv costs next to nothing beside a compile. The
 * per-call reader, UFUNCGEN_NUM_THREADS, is cached by its caller
 * (parallel/threads.c keeps the last value it parsed).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* The value of name, or NULL when unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A flag: set, and neither empty nor "0". */
static bool env_flag(const char *name)
{
    const char *v = env(name);
    return v && strcmp(v, "0") != 0;
}

bool base_env_dump(const char *word)
{
    const char *d = env("UFUNCGEN_DUMP");
    if (!d)
        return false;
    size_t n = strlen(word);
    for (const char *p = d; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, word, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

bool base_env_debug_cache(void) { return env_flag("UFUNCGEN_DEBUG_CACHE"); }

bool base_env_verify(void) { return env_flag("UFUNCGEN_VERIFY"); }

bool base_env_lazy(void) { return env_flag("UFUNCGEN_LAZY"); }

bool base_env_specialize(void)
{
    const char *v = env("UFUNCGEN_SPECIALIZE");
    return !(v && strcmp(v, "0") == 0);
}

const char *base_env_cache_dir(void) { return env("UFUNCGEN_CACHE_DIR"); }

const char *base_env_aot_level(void) { return env("UFUNCGEN_AOT_LEVEL"); }

const char *base_env_num_threads(void) { return getenv("UFUNCGEN_NUM_THREADS"); }

int base_parse_threads(const char *s)
{
    if (!s)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return 0; /* no sign, no empty string */
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end || v < 1 || v > UG_MAX_THREADS)
        return 0;
    return (int)v;
}
