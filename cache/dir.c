/* dir.c — where the cache lives, the debug log, and the single warning.
 *
 * Resolution, first that applies: the option, UFUNCGEN_CACHE_DIR,
 * $XDG_CACHE_HOME/ufuncgen (only an absolute XDG_CACHE_HOME counts, as the
 * XDG spec says), $HOME/.cache/ufuncgen, the password database's home
 * directory + /.cache/ufuncgen. Empty strings count as unset. Nothing is
 * created when the cache is opened: the directory (with its parents) is made
 * by the first write (store.c), so a process that only reads never touches
 * the file system.
 *
 * An unusable directory prints exactly one warning per process (the first
 * cache that meets one), then turns writes of that handle off; lookups still
 * read it, so a read-only cache that someone filled keeps working. Debug
 * logging (the option or UFUNCGEN_DEBUG_CACHE=1) is the only other output.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "cache/cache.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

static char *home_dir(void)
{
    const char *h = env("HOME");
    if (h)
        return join(h, "/.cache/ufuncgen");
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_dir && *res->pw_dir)
        return join(res->pw_dir, "/.cache/ufuncgen");
    return NULL;
}

char *cache_resolve_dir(const char *dir)
{
    if (dir && *dir)
        return strdup(dir);
    const char *v = base_env_cache_dir();
    if (v)
        return strdup(v);
    v = env("XDG_CACHE_HOME");
    if (v && v[0] == '/')
        return join(v, "/ufuncgen");
    return home_dir();
}

/* One component at a time, so every missing parent is made. */
int cache_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return ENOMEM;
    int err = 0;
    for (char *s = p + 1; !err; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            err = errno;
        else if (stat(p, &st) != 0)
            err = errno;
        else if (!S_ISDIR(st.st_mode))
            err = ENOTDIR;
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return err;
}


cache *cache_open(const char *dir, int debug)
{
    cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->debug = debug || base_env_debug_cache();
    c->dir = cache_resolve_dir(dir);
    atomic_init(&c->writable, c->dir != NULL);
    if (!c->dir)
        cache_warn_unwritable(c, "(no cache directory: set UFUNCGEN_CACHE_DIR or HOME)", ENOENT);
    cache_log(c, "open", c->dir ? c->dir : "(none)", "%s", c->debug ? "debug on" : "");
    return c;
}

void cache_close(cache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

const char *cache_path(const cache *c) { return c && c->dir ? c->dir : ""; }

int cache_writable(const cache *c) { return c && atomic_load(&c->writable); }

void cache_stats(const cache *c, cache_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->lookups = atomic_load(&c->lookups);
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->writes = atomic_load(&c->writes);
    out->rejections = atomic_load(&c->rejections);
    out->write_failures = atomic_load(&c->write_failures);
}

void cache_log(const cache *c, const char *event, const char *path, const char *fmt, ...)
{
    if (!c || !c->debug)
        return;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    /* one fprintf, so lines from several threads do not interleave */
    fprintf(stderr, "ufuncgen cache: %s %s%s%s\n", event, path, *detail ? ": " : "", detail);
}

void cache_warn_unwritable(cache *c, const char *path, int err)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    atomic_store(&c->writable, 0);
    cache_log(c, "unwritable", path, "%s; caching off", strerror(err));
    if (!atomic_flag_test_and_set(&warned))
        fprintf(stderr, "ufuncgen: warning: cache directory %s is not usable (%s); compiled loops will not be cached\n",
                path, strerror(err));
}
