/* ufuncgen-cache.c — the cache tool: list, verify and clear a ufuncgen cache.
 *
 * It reads the directory the library would use (or --dir) with the same
 * verification code the library loads with (cache_file_read), so "ok" here
 * means "would be loaded". File names are parsed from the right, since a
 * sanitised kernel name may itself contain '-' and '.':
 *   <name>-<64 hex>.ugi   <name>-<64 hex>.<slot>.ugo
 * clear takes the directory's index lock, so it never races a writer into
 * leaving an index that names removed objects without noticing (a lookup of
 * a removed object is a plain miss anyway). Exit status: 0 fine, 1 verify
 * found bad files, 2 usage or I/O error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"

static const char usage[] =
    "usage: ufuncgen-cache [--dir DIR] COMMAND [NAME...]\n"
    "\n"
    "Inspect the on-disk cache of compiled ufuncgen loops.\n"
    "\n"
    "commands:\n"
    "  list            every kernel: name, key, signatures, object sizes, status\n"
    "  verify          re-check every file (header, format version, key, checksum)\n"
    "                  and every index entry; exit status 1 if any is bad\n"
    "  clear [NAME...] remove every entry, or only those of the named kernels\n"
    "\n"
    "options:\n"
    "  --dir DIR       the cache directory (default: as the library resolves it:\n"
    "                  UFUNCGEN_CACHE_DIR, $XDG_CACHE_HOME/ufuncgen, ~/.cache/ufuncgen)\n"
    "  -h, --help      this text\n";

/* One directory entry that belongs to the cache. */
typedef struct item {
    char file[NAME_MAX + 1];
    char name[NAME_MAX + 1]; /* sanitised kernel name from the file name */
    char hex[65];
    int slot;                /* -1 index; -2 temp file */
    int referenced;          /* an object named by a good index */
} item;

typedef struct scan {
    const char *dir;
    item *v;
    size_t n;
} scan;

static int is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Split "<name>-<hex>" (length n) into it. */
static int split_stem(const char *s, size_t n, item *it)
{
    if (n < 66 || s[n - 65] != '-' || !is_hex64(s + n - 64))
        return 0;
    memcpy(it->name, s, n - 65);
    it->name[n - 65] = '\0';
    memcpy(it->hex, s + n - 64, 64);
    it->hex[64] = '\0';
    return 1;
}

static int parse_file_name(const char *f, item *it)
{
    size_t n = strlen(f);
    snprintf(it->file, sizeof it->file, "%s", f);
    it->referenced = 0;
    if (strncmp(f, CACHE_TMP_PREFIX, strlen(CACHE_TMP_PREFIX)) == 0) {
        it->slot = -2;
        it->name[0] = it->hex[0] = '\0';
        return 1;
    }
    if (n > 4 && strcmp(f + n - 4, ".ugi") == 0) {
        it->slot = -1;
        return split_stem(f, n - 4, it);
    }
    if (n < 4 || strcmp(f + n - 4, ".ugo") != 0)
        return 0;
    const char *dot = f + n - 5;
    while (dot > f && *dot >= '0' && *dot <= '9')
        dot--;
    if (*dot != '.' || dot == f + n - 5)
        return 0;
    it->slot = atoi(dot + 1);
    return split_stem(f, (size_t)(dot - f), it);
}

static int by_file(const void *a, const void *b) { return strcmp(((const item *)a)->file, ((const item *)b)->file); }

static int scan_dir(const char *dir, scan *s)
{
    s->dir = dir;
    s->v = NULL;
    s->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno;
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        item it;
        if (!parse_file_name(e->d_name, &it))
            continue;
        if (s->n == cap) {
            cap = cap ? 2 * cap : 64;
            item *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                closedir(d);
                return ENOMEM;
            }
            s->v = v;
        }
        s->v[s->n++] = it;
    }
    closedir(d);
    qsort(s->v, s->n, sizeof *s->v, by_file);
    return 0;
}

static void path_of(char *buf, size_t n, const scan *s, const char *file) { snprintf(buf, n, "%s/%s", s->dir, file); }

static item *find_object(scan *s, const item *idx, unsigned slot)
{
    for (size_t i = 0; i < s->n; i++)
        if ((unsigned)s->v[i].slot == slot && s->v[i].slot >= 0 && strcmp(s->v[i].name, idx->name) == 0 &&
            strcmp(s->v[i].hex, idx->hex) == 0)
            return &s->v[i];
    return NULL;
}

/* Read and verify one file, including that its header key matches its name
 * and its kind its extension. 1 ok, else 0 with why. */
static int check_file(const scan *s, const item *it, cache_file *f, char *why, size_t nwhy)
{
    char path[PATH_MAX], hex[65];
    path_of(path, sizeof path, s, it->file);
    if (cache_file_read(path, 0, f, why, nwhy) != 1)
        return 0;
    cache_key_hex(&f->key, hex);
    const char *bad = strcmp(hex, it->hex) != 0                                       ? "key does not match file name"
                      : (f->kind == CACHE_KIND_INDEX) != (it->slot == -1) ? "kind does not match extension"
                                                                                      : NULL;
    if (bad) {
        snprintf(why, nwhy, "%s", bad);
        cache_file_free(f);
        return 0;
    }
    return 1;
}

/* The status of the object an index entry names; fills *size. */
static const char *entry_status(scan *s, const item *idx, const cache_entry *e, uint64_t *size, char *why, size_t n)
{
    item *o = find_object(s, idx, e->slot);
    *size = 0;
    if (!o)
        return "missing object file";
    o->referenced = 1;
    cache_file f;
    if (!check_file(s, o, &f, why, n))
        return why;
    const char *st = strcmp(f.sig, e->sig) ? "object holds another signature" : "ok";
    *size = f.payload_size;
    cache_file_free(&f);
    return st;
}

/* ---------------------------------------------------------------- list */

/* A kernel name fit for one table cell: control bytes shown as '?'. */
static const char *printable(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

static void list_index(scan *s, item *it, uint64_t *total, int *nbad)
{
    cache_file f;
    char why[256], ewhy[256], name[256], sig[256];
    if (!check_file(s, it, &f, why, sizeof why)) {
        printf("%-20s %.16s  %-20s %10s  bad index: %s\n", it->name, it->hex, "-", "-", why);
        ++*nbad;
        return;
    }
    for (size_t i = 0; i < f.nentries; i++) {
        uint64_t size;
        const char *st = entry_status(s, it, &f.entries[i], &size, ewhy, sizeof ewhy);
        *nbad += strcmp(st, "ok") != 0;
        *total += size;
        printf("%-20s %.16s  %-20s %10llu  %s\n", printable(f.name, name, sizeof name), it->hex,
               printable(f.entries[i].sig, sig, sizeof sig), (unsigned long long)size, st);
    }
    if (f.nentries == 0)
        printf("%-20s %.16s  %-20s %10s  ok (no signatures)\n", printable(f.name, name, sizeof name), it->hex, "-", "-");
    cache_file_free(&f);
}

static void list_strays(scan *s, int *nbad)
{
    for (size_t i = 0; i < s->n; i++) {
        item *it = &s->v[i];
        if (it->slot == -2)
            printf("%-20s %-16s  %-20s %10s  temp file (interrupted write): %s\n", "-", "-", "-", "-", it->file);
        else if (it->slot >= 0 && !it->referenced) {
            printf("%-20s %.16s  %-20s %10s  orphan object (no index names it): %s\n", it->name, it->hex, "-", "-",
                   it->file);
            ++*nbad;
        }
    }
}

static int cmd_list(scan *s)
{
    uint64_t total = 0;
    int nbad = 0, nidx = 0;
    printf("%-20s %-16s  %-20s %10s  %s\n", "KERNEL", "KEY", "SIGNATURE", "SIZE", "STATUS");
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].slot == -1) {
            list_index(s, &s->v[i], &total, &nbad);
            nidx++;
        }
    list_strays(s, &nbad);
    printf("%d kernel key(s), %llu bytes of object code, %d problem(s) in %s\n", nidx, (unsigned long long)total, nbad,
           s->dir);
    return 0;
}

/* ---------------------------------------------------------------- verify */

static int verify_index_entries(scan *s, item *it, const cache_file *f)
{
    int bad = 0;
    char why[256], path[PATH_MAX];
    path_of(path, sizeof path, s, it->file);
    for (size_t i = 0; i < f->nentries; i++) {
        uint64_t size;
        const char *st = entry_status(s, it, &f->entries[i], &size, why, sizeof why);
        if (strcmp(st, "ok") != 0) {
            printf("BAD %s: entry '%s' (slot %u): %s\n", path, f->entries[i].sig, f->entries[i].slot, st);
            bad++;
        }
    }
    return bad;
}

static int cmd_verify(scan *s)
{
    int bad = 0, checked = 0;
    char why[256], path[PATH_MAX];
    for (size_t i = 0; i < s->n; i++) {
        item *it = &s->v[i];
        cache_file f;
        path_of(path, sizeof path, s, it->file);
        if (it->slot == -2) {
            printf("note %s: leftover temp file (clear removes it)\n", path);
            continue;
        }
        checked++;
        if (!check_file(s, it, &f, why, sizeof why)) {
            printf("BAD %s: %s\n", path, why);
            bad++;
            continue;
        }
        if (f.kind == CACHE_KIND_INDEX)
            bad += verify_index_entries(s, it, &f);
        else
            printf("ok  %s (%s, %llu bytes)\n", path, f.sig, (unsigned long long)f.payload_size);
        cache_file_free(&f);
    }
    printf("%d file(s) checked, %d problem(s) in %s\n", checked, bad, s->dir);
    return bad ? 1 : 0;
}

/* ---------------------------------------------------------------- clear */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) { return remove(p); }

static int matches(const item *it, int nnames, char **names)
{
    if (nnames == 0)
        return 1;
    char sn[CACHE_NAME_MAX + 1];
    for (int i = 0; i < nnames; i++) {
        cache_sanitize_name(names[i], sn);
        if (it->slot != -2 && strcmp(sn, it->name) == 0)
            return 1;
    }
    return 0;
}

static int cmd_clear(scan *s, int nnames, char **names)
{
    char path[PATH_MAX];
    path_of(path, sizeof path, s, CACHE_LOCK_NAME);
    int lk = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lk >= 0)
        flock(lk, LOCK_EX);
    int removed = 0, failed = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!matches(&s->v[i], nnames, names))
            continue;
        path_of(path, sizeof path, s, s->v[i].file);
        struct stat st;
        int isdir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if ((isdir ? nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) : unlink(path)) == 0)
            removed++;
        else {
            fprintf(stderr, "ufuncgen-cache: cannot remove %s: %s\n", path, strerror(errno));
            failed++;
        }
    }
    if (lk >= 0)
        close(lk);
    printf("removed %d file(s) from %s\n", removed, s->dir);
    return failed ? 2 : 0;
}

/* ---------------------------------------------------------------- main */

static int known(const char *cmd, int nargs)
{
    return ((!strcmp(cmd, "list") || !strcmp(cmd, "verify")) && nargs == 0) || !strcmp(cmd, "clear");
}

static int run(const char *dir, const char *cmd, int nargs, char **args)
{
    if (!known(cmd, nargs)) {
        fprintf(stderr, "ufuncgen-cache: unknown command or arguments: %s\n%s", cmd, usage);
        return 2;
    }
    scan s;
    int err = scan_dir(dir, &s);
    if (err == ENOENT) {
        printf("%s: no cache yet (directory does not exist)\n", dir);
        return 0;
    }
    if (err) {
        fprintf(stderr, "ufuncgen-cache: cannot read %s: %s\n", dir, strerror(err));
        return 2;
    }
    int rc = !strcmp(cmd, "list") ? cmd_list(&s) : !strcmp(cmd, "verify") ? cmd_verify(&s) : cmd_clear(&s, nargs, args);
    free(s.v);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strncmp(argv[i], "--dir=", 6))
            dir = argv[i] + 6;
        else {
            fprintf(stderr, "ufuncgen-cache: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    char *resolved = cache_resolve_dir(dir);
    if (!resolved) {
        fprintf(stderr, "ufuncgen-cache: no cache directory (use --dir, UFUNCGEN_CACHE_DIR or HOME)\n");
        return 2;
    }
    int rc = run(resolved, argv[i], argc - i - 1, argv + i + 1);
    free(resolved);
    return rc;
}
