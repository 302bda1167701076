/* store.c — index (.ugi) and object (.ugo) files: encode, verify, look up,
 * write atomically, update the index under a lock.
 *
 * File layout (integers little-endian):
 *
 *   0  magic "UFGCACHE"          8 bytes
 *   8  format version            u32 (CACHE_FORMAT_VERSION)
 *   12 kind                      u32 (1 index, 2 object)
 *   16 kernel key                32 bytes
 *   48 body length               u64 (file size - 88)
 *   56 checksum                  BLAKE3(bytes 0..55 || body), 32 bytes
 *   88 body
 *      index:  u32 name length, name, u32 count, count × (u32 slot, u32 sig length, sig)
 *      object: u32 sig length, sig, object code (the rest)
 *
 * A file is loaded only if every field checks out; otherwise it is a
 * rejection with a reason (empty, truncated, foreign magic, other format
 * version, other kind, other key, other signature, checksum, malformed body,
 * a directory or other non-file under the name) and the next put rewrites it.
 *
 * Writes: the whole file is built in memory, written to a fresh temp file
 * (O_EXCL, CACHE_TMP_PREFIX) in the cache directory and renamed over the
 * final name, so a final name only ever holds a complete file. No fsync: the
 * cache is rebuildable and every load verifies the checksum, so the torn file
 * a power cut might leave behind is rejected and rewritten — paying a disk
 * flush per compiled loop would buy nothing. A full disk (ENOSPC, EDQUOT) or
 * file-size limit (EFBIG) removes the temp file and leaves the cache as it
 * was. SIGXFSZ, whose default action kills the process, is never raised by
 * us: a write that would pass RLIMIT_FSIZE is refused beforehand, and while
 * writing the calling thread blocks SIGXFSZ (the kernel sends it to the
 * writing thread) and consumes one it caused, so write() just fails with EFBIG.
 *
 * Index updates take an exclusive flock on CACHE_LOCK_NAME in the directory
 * (one lock per directory: puts are rare, they follow a compile), re-read
 * the index under it, add the signature and rename the new index into
 * place, so concurrent processes never lose each other's entries. Lookups
 * take no lock: renames are atomic, so a reader sees the old or the new file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llvm-c/blake3.h>

#include "cache/cache.h"

#define MAGIC "UFGCACHE"
#define HDR 88
#define MAX_FILE (1ull << 30) /* larger is not ours */
#define MAX_SIG 4096
#define MAX_NAME 4096
#define MAX_ENTRIES 65536

/* ---------------------------------------------------------------- names */

void cache_sanitize_name(const char *name, char out[CACHE_NAME_MAX + 1])
{
    size_t n = 0;
    for (const char *s = name ? name : ""; *s && n < CACHE_NAME_MAX; s++) {
        unsigned char ch = (unsigned char)*s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 strchr("_+=.-", ch);
        out[n] = ok && !(n == 0 && ch == '.') ? (char)ch : '_';
        n++;
    }
    out[n] = '\0';
    if (n == 0)
        strcpy(out, "kernel");
}

char *cache_file_name(char *buf, size_t n, const char *name, const cache_key *k, int slot)
{
    char sn[CACHE_NAME_MAX + 1], hex[65];
    cache_sanitize_name(name, sn);
    cache_key_hex(k, hex);
    if (slot < 0)
        snprintf(buf, n, "%s-%s.ugi", sn, hex);
    else
        snprintf(buf, n, "%s-%s.%d.ugo", sn, hex, slot);
    return buf;
}

static void dir_path(char *buf, size_t n, const cache *c, const char *file) { snprintf(buf, n, "%s/%s", c->dir, file); }

/* ---------------------------------------------------------------- encoding */

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void checksum(const unsigned char *file, uint64_t body_len, uint8_t out[32])
{
    llvm_blake3_hasher h;
    llvm_blake3_hasher_init(&h);
    llvm_blake3_hasher_update(&h, file, 56);
    llvm_blake3_hasher_update(&h, file + HDR, body_len);
    llvm_blake3_hasher_finalize(&h, out, 32);
}

/* A growable byte buffer for building a file; on OOM it sticks at failed. */
typedef struct bbuf {
    unsigned char *p;
    size_t n, cap;
    int failed;
} bbuf;

static unsigned char *bb_grow(bbuf *b, size_t more)
{
    if (b->failed)
        return NULL;
    if (b->n + more > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + more)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    unsigned char *at = b->p + b->n;
    b->n += more;
    return at;
}

static void bb_bytes(bbuf *b, const void *p, size_t n)
{
    unsigned char *at = bb_grow(b, n);
    if (at && n)
        memcpy(at, p, n);
}

static void bb_u32(bbuf *b, uint32_t v)
{
    unsigned char *at = bb_grow(b, 4);
    if (at)
        le32(at, v);
}

static void bb_str(bbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    n = n > max ? max : n;
    bb_u32(b, (uint32_t)n);
    bb_bytes(b, s, n);
}

/* Start a file: the header with the checksum left for bb_seal. */
static void bb_header(bbuf *b, cache_kind kind, const cache_key *k)
{
    unsigned char *h = bb_grow(b, HDR);
    if (!h)
        return;
    memset(h, 0, HDR);
    memcpy(h, MAGIC, 8);
    le32(h + 8, CACHE_FORMAT_VERSION);
    le32(h + 12, (uint32_t)kind);
    memcpy(h + 16, k->b, 32);
}

static void bb_seal(bbuf *b)
{
    if (b->failed)
        return;
    le64(b->p + 48, b->n - HDR);
    checksum(b->p, b->n - HDR, b->p + 56);
}

/* ---------------------------------------------------------------- reading */

static int why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 0;
}

/* The whole file into *buf. 1 ok, 0 rejected (why), -1 missing. */
static int slurp(const char *path, unsigned char **buf, size_t *size, char *why, size_t nwhy)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* a FIFO must not block us */
    if (fd < 0) {
        if (errno == ENOENT)
            return why_set(why, nwhy, "no such file"), -1;
        return why_set(why, nwhy, "%s", errno == ELOOP ? "a symbolic link" : strerror(errno));
    }
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) != 0)
        why_set(why, nwhy, "%s", strerror(errno));
    else if (S_ISDIR(st.st_mode))
        why_set(why, nwhy, "a directory where a file should be");
    else if (!S_ISREG(st.st_mode))
        why_set(why, nwhy, "not a regular file");
    else if (st.st_size == 0)
        why_set(why, nwhy, "empty file");
    else if ((uint64_t)st.st_size > MAX_FILE)
        why_set(why, nwhy, "too large (%lld bytes)", (long long)st.st_size);
    else if (!(*buf = malloc((size_t)st.st_size)))
        why_set(why, nwhy, "out of memory");
    else
        r = 1;
    size_t got = 0;
    while (r == 1 && got < (size_t)st.st_size) {
        ssize_t k = read(fd, *buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r = why_set(why, nwhy, "read: %s", k < 0 ? strerror(errno) : "file shrank");
            free(*buf);
            *buf = NULL;
        } else
            got += (size_t)k;
    }
    close(fd);
    *size = got;
    return r;
}

static int check_header(const unsigned char *p, size_t size, char *why, size_t nwhy)
{
    if (size < HDR)
        return why_set(why, nwhy, "truncated header (%zu of %d bytes)", size, HDR);
    if (memcmp(p, MAGIC, 8) != 0)
        return why_set(why, nwhy, "bad magic (not a ufuncgen cache file)");
    if (rd32(p + 8) != CACHE_FORMAT_VERSION)
        return why_set(why, nwhy, "stale: format version %u, expected %u", rd32(p + 8), CACHE_FORMAT_VERSION);
    uint32_t kind = rd32(p + 12);
    if (kind != CACHE_KIND_INDEX && kind != CACHE_KIND_OBJECT)
        return why_set(why, nwhy, "unknown file kind %u", kind);
    uint64_t body = rd64(p + 48);
    if (body > size - HDR)
        return why_set(why, nwhy, "truncated (%zu of %llu bytes)", size, (unsigned long long)(body + HDR));
    if (body < size - HDR)
        return why_set(why, nwhy, "%zu trailing bytes", (size_t)(size - HDR - body));
    uint8_t sum[32];
    checksum(p, body, sum);
    if (memcmp(sum, p + 56, 32) != 0)
        return why_set(why, nwhy, "checksum mismatch (corrupt)");
    return 1;
}

/* A length-prefixed string at *at within [.., end); advances *at. */
static char *take_str(const unsigned char **at, const unsigned char *end, size_t max)
{
    if (end - *at < 4)
        return NULL;
    uint32_t n = rd32(*at);
    if (n > max || (size_t)(end - *at - 4) < n)
        return NULL;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, *at + 4, n);
        s[n] = '\0';
        *at += 4 + n;
    }
    return s;
}

static int has_slot(const cache_file *f, unsigned slot, const char *sig)
{
    for (size_t i = 0; i < f->nentries; i++)
        if (f->entries[i].slot == slot || (sig && strcmp(f->entries[i].sig, sig) == 0))
            return 1;
    return 0;
}

static int by_sig(const void *a, const void *b)
{
    return strcmp((*(const cache_entry *const *)a)->sig, (*(const cache_entry *const *)b)->sig);
}

static int by_slot(const void *a, const void *b)
{
    unsigned x = (*(const cache_entry *const *)a)->slot, y = (*(const cache_entry *const *)b)->slot;
    return (x > y) - (x < y);
}

/* Two entries with one signature or one slot? Sorted, so O(n log n). */
static int has_duplicates(const cache_file *f)
{
    size_t n = f->nentries;
    const cache_entry **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return 1;
    for (size_t i = 0; i < n; i++)
        v[i] = &f->entries[i];
    int dup = 0;
    qsort(v, n, sizeof *v, by_sig);
    for (size_t i = 1; i < n && !dup; i++)
        dup = strcmp(v[i - 1]->sig, v[i]->sig) == 0;
    qsort(v, n, sizeof *v, by_slot);
    for (size_t i = 1; i < n && !dup; i++)
        dup = v[i - 1]->slot == v[i]->slot;
    free(v);
    return dup;
}

static int parse_index(cache_file *f, const unsigned char *at, const unsigned char *end, char *why, size_t nwhy)
{
    if (!(f->name = take_str(&at, end, MAX_NAME)) || end - at < 4)
        return why_set(why, nwhy, "malformed index (name)");
    uint32_t count = rd32(at);
    at += 4;
    if (count > MAX_ENTRIES || !(f->entries = calloc(count ? count : 1, sizeof *f->entries)))
        return why_set(why, nwhy, "malformed index (%u entries)", count);
    for (uint32_t i = 0; i < count; i++) {
        if (end - at < 4)
            return why_set(why, nwhy, "malformed index (entry %u)", i);
        unsigned slot = rd32(at);
        at += 4;
        char *sig = take_str(&at, end, MAX_SIG);
        if (!sig || slot > INT_MAX) {
            free(sig);
            return why_set(why, nwhy, "malformed index (entry %u)", i);
        }
        f->entries[f->nentries++] = (cache_entry){slot, sig};
    }
    if (at != end)
        return why_set(why, nwhy, "malformed index (trailing bytes)");
    if (has_duplicates(f))
        return why_set(why, nwhy, "malformed index (a signature or slot listed twice)");
    return 1;
}

static int parse_object(cache_file *f, unsigned char *buf, const unsigned char *at, const unsigned char *end,
                        int want_payload, char *why, size_t nwhy)
{
    if (!(f->sig = take_str(&at, end, MAX_SIG)))
        return why_set(why, nwhy, "malformed object (signature)");
    f->payload_size = (uint64_t)(end - at);
    if (want_payload) {
        memmove(buf, at, (size_t)f->payload_size); /* the buffer becomes the payload */
        f->payload = buf;
    }
    return 1;
}

int cache_file_read(const char *path, int want_payload, cache_file *out, char *why, size_t nwhy)
{
    memset(out, 0, sizeof *out);
    unsigned char *buf = NULL;
    size_t size = 0;
    int r = slurp(path, &buf, &size, why, nwhy);
    if (r == 1)
        r = check_header(buf, size, why, nwhy);
    if (r == 1) {
        out->kind = (cache_kind)rd32(buf + 12);
        memcpy(out->key.b, buf + 16, 32);
        out->file_size = size;
        if (out->kind == CACHE_KIND_INDEX)
            r = parse_index(out, buf + HDR, buf + size, why, nwhy);
        else
            r = parse_object(out, buf, buf + HDR, buf + size, want_payload, why, nwhy);
    }
    if (!out->payload)
        free(buf);
    if (r != 1)
        cache_file_free(out);
    return r;
}

void cache_file_free(cache_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nentries; i++)
        free(f->entries[i].sig);
    free(f->entries);
    free(f->name);
    free(f->sig);
    free(f->payload);
    memset(f, 0, sizeof *f);
}

/* Read a file that must be of `kind` for key k (and, for objects, sig).
 * 1 ok; 0 rejected (logged, counted); -1 missing. */
static int read_expected(cache *c, const char *path, cache_kind kind, const cache_key *k, const char *sig,
                         int want_payload, cache_file *f)
{
    char why[256];
    int r = cache_file_read(path, want_payload, f, why, sizeof why);
    if (r == 1 && f->kind != kind)
        r = why_set(why, sizeof why, "an %s file where an %s should be",
                    f->kind == CACHE_KIND_INDEX ? "index" : "object", kind == CACHE_KIND_INDEX ? "index" : "object");
    else if (r == 1 && memcmp(f->key.b, k->b, 32) != 0)
        r = why_set(why, sizeof why, "key mismatch (built for another kernel, version or CPU)");
    else if (r == 1 && sig && strcmp(f->sig, sig) != 0)
        r = why_set(why, sizeof why, "signature mismatch ('%s', expected '%s')", f->sig, sig);
    if (r == 0) {
        cache_file_free(f);
        atomic_fetch_add(&c->rejections, 1);
        cache_log(c, "reject", path, "%s", why);
    }
    return r;
}

static int find_sig(const cache_file *idx, const char *sig)
{
    for (size_t i = 0; i < idx->nentries; i++)
        if (strcmp(idx->entries[i].sig, sig) == 0)
            return (int)idx->entries[i].slot;
    return -1;
}

static int miss(cache *c, const char *path, const char *why)
{
    atomic_fetch_add(&c->misses, 1);
    cache_log(c, "miss", path, "%s", why);
    return 0;
}

cache_index *cache_index_read(cache *c, const char *name, const cache_key *kkey)
{
    if (!c || !c->dir)
        return NULL;
    char file[256], path[PATH_MAX];
    dir_path(path, sizeof path, c, cache_file_name(file, sizeof file, name, kkey, -1));
    cache_file *idx = malloc(sizeof *idx);
    if (!idx)
        return NULL;
    int r = read_expected(c, path, CACHE_KIND_INDEX, kkey, NULL, 0, idx);
    if (r != 1) {
        cache_log(c, "index", path, "%s", r < 0 ? "none" : "rejected");
        free(idx);
        return NULL;
    }
    cache_log(c, "index", path, "%zu signatures", idx->nentries);
    return idx;
}

int cache_index_slot(const cache_index *idx, const char *sig) { return idx ? find_sig(idx, sig) : -1; }

void cache_index_free(cache_index *idx)
{
    cache_file_free(idx);
    free(idx);
}

/* The object of slot `slot` (from the index), verified to hold sig. */
static int get_object(cache *c, const char *name, const cache_key *kkey, const char *sig, int slot, void **obj,
                      size_t *size)
{
    char file[256], path[PATH_MAX];
    dir_path(path, sizeof path, c, cache_file_name(file, sizeof file, name, kkey, slot));
    cache_file f;
    int r = read_expected(c, path, CACHE_KIND_OBJECT, kkey, sig, 1, &f);
    if (r != 1)
        return miss(c, path, r < 0 ? "object file missing" : "object rejected");
    *obj = f.payload;
    *size = (size_t)f.payload_size;
    f.payload = NULL;
    cache_file_free(&f);
    atomic_fetch_add(&c->hits, 1);
    cache_log(c, "hit", path, "%s, %zu bytes", sig, *size);
    return 1;
}

int cache_get_slot(cache *c, const char *name, const cache_key *kkey, const char *sig, int slot, void **obj,
                   size_t *size)
{
    *obj = NULL;
    *size = 0;
    if (!c || !c->dir || slot < 0)
        return 0;
    atomic_fetch_add(&c->lookups, 1);
    return get_object(c, name, kkey, sig, slot, obj, size);
}

int cache_get(cache *c, const char *name, const cache_key *kkey, const char *sig, void **obj, size_t *size)
{
    *obj = NULL;
    *size = 0;
    if (!c || !c->dir)
        return 0;
    atomic_fetch_add(&c->lookups, 1);
    char file[256], path[PATH_MAX];
    dir_path(path, sizeof path, c, cache_file_name(file, sizeof file, name, kkey, -1));
    cache_log(c, "lookup", path, "%s", sig);
    cache_file idx;
    int r = read_expected(c, path, CACHE_KIND_INDEX, kkey, NULL, 0, &idx);
    if (r != 1)
        return miss(c, path, r < 0 ? "no index" : "index rejected");
    int slot = find_sig(&idx, sig);
    cache_file_free(&idx);
    if (slot < 0)
        return miss(c, path, "signature not in index");
    return get_object(c, name, kkey, sig, slot, obj, size);
}

/* ---------------------------------------------------------------- writing */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) { return remove(p); }

/* Make room at `path` for a file: a directory squatting there goes. */
static void clear_squatter(cache *c, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cache_log(c, "remove", path, "directory where a file should be");
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static void tmp_name(char *buf, size_t n, const cache *c)
{
    static atomic_uint counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(buf, n, "%s/" CACHE_TMP_PREFIX "%ld-%u-%lx", c->dir, (long)getpid(), atomic_fetch_add(&counter, 1),
             (unsigned long)ts.tv_nsec);
}

/* 0, or EFBIG when n bytes would pass RLIMIT_FSIZE (and raise SIGXFSZ). */
static int fsize_ok(size_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)n > rl.rlim_cur)
        return EFBIG;
    return 0;
}

int cache_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    sigset_t xfsz, old, pend;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &xfsz, &old);
    sigpending(&pend);
    int was_pending = sigismember(&pend, SIGXFSZ), err = 0;
    while (n && !err) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno != EINTR)
            err = errno;
        else if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
    sigpending(&pend);
    if (!was_pending && sigismember(&pend, SIGXFSZ))
        sigtimedwait(&xfsz, NULL, &(struct timespec){0, 0});
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

/* Write the file atomically: temp file, then rename. 0 or errno. */
static int write_file(cache *c, const char *path, const unsigned char *p, size_t n)
{
    char tmp[PATH_MAX];
    int fd = -1, err = fsize_ok(n);
    for (int tries = 0; !err && fd < 0 && tries < 100; tries++) {
        tmp_name(tmp, sizeof tmp, c);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            err = errno;
    }
    if (!err && fd < 0)
        err = EEXIST;
    if (err)
        return err;
    err = cache_write_all(fd, p, n);
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err) {
        clear_squatter(c, path);
        if (rename(tmp, path) != 0)
            err = errno;
    }
    if (err)
        unlink(tmp);
    return err;
}

static int unwritable_errno(int e)
{
    return e == EACCES || e == EPERM || e == EROFS || e == ENOTDIR || e == ENOENT || e == ENAMETOOLONG;
}

/* Record a failed write: the warning for an unusable directory, else a log line. */
static void write_failed(cache *c, const char *path, int err)
{
    atomic_fetch_add(&c->write_failures, 1);
    if (unwritable_errno(err))
        cache_warn_unwritable(c, c->dir, err);
    else
        cache_log(c, "write-failed", path, "%s; nothing written", strerror(err));
}

static int put_bytes(cache *c, const char *path, bbuf *b)
{
    int err = b->failed ? ENOMEM : write_file(c, path, b->p, b->n);
    if (err)
        write_failed(c, path, err);
    else {
        atomic_fetch_add(&c->writes, 1);
        cache_log(c, "write", path, "%zu bytes", b->n);
    }
    free(b->p);
    return err;
}

static int write_object(cache *c, const char *path, const cache_key *k, const char *sig, const void *obj, size_t size)
{
    bbuf b = {0};
    bb_header(&b, CACHE_KIND_OBJECT, k);
    bb_str(&b, sig, MAX_SIG);
    bb_bytes(&b, obj, size);
    bb_seal(&b);
    return put_bytes(c, path, &b);
}

static int write_index(cache *c, const char *path, const cache_key *k, const cache_file *idx)
{
    bbuf b = {0};
    bb_header(&b, CACHE_KIND_INDEX, k);
    bb_str(&b, idx->name ? idx->name : "", MAX_NAME);
    bb_u32(&b, (uint32_t)idx->nentries);
    for (size_t i = 0; i < idx->nentries; i++) {
        bb_u32(&b, idx->entries[i].slot);
        bb_str(&b, idx->entries[i].sig, MAX_SIG);
    }
    bb_seal(&b);
    return put_bytes(c, path, &b);
}

/* Exclusive lock on the directory's lock file: an fd, or -1 with *err. */
static int lock_dir(cache *c, int *err)
{
    char path[PATH_MAX];
    dir_path(path, sizeof path, c, CACHE_LOCK_NAME);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EISDIR) {
        clear_squatter(c, path);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    }
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            *err = errno;
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_dir(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

/* The smallest slot the index does not use. */
static unsigned free_slot(const cache_file *idx)
{
    unsigned s = 0;
    while (has_slot(idx, s, NULL))
        s++;
    return s;
}

static int add_entry(cache_file *idx, const char *name, unsigned slot, const char *sig)
{
    cache_entry *e = realloc(idx->entries, (idx->nentries + 1) * sizeof *e);
    char *s = strdup(sig);
    if (e)
        idx->entries = e;
    if (!idx->name)
        idx->name = strdup(name ? name : "");
    if (!e || !s || !idx->name) {
        free(s);
        return ENOMEM;
    }
    idx->entries[idx->nentries++] = (cache_entry){slot, s};
    return 0;
}

/* Does a verified object for (k, sig) already sit at path? */
static int object_ok(cache *c, const char *path, const cache_key *k, const char *sig)
{
    cache_file f;
    int r = read_expected(c, path, CACHE_KIND_OBJECT, k, sig, 0, &f);
    cache_file_free(&f);
    return r == 1;
}

/* Under the lock: object first, then the index that names it. */
static void put_locked(cache *c, const char *name, const cache_key *kkey, const char *sig, const void *obj, size_t size)
{
    char file[256], ipath[PATH_MAX], opath[PATH_MAX];
    dir_path(ipath, sizeof ipath, c, cache_file_name(file, sizeof file, name, kkey, -1));
    cache_file idx;
    if (read_expected(c, ipath, CACHE_KIND_INDEX, kkey, NULL, 0, &idx) != 1)
        memset(&idx, 0, sizeof idx); /* missing or rejected: start afresh */
    int slot = find_sig(&idx, sig), fresh = slot < 0;
    if (fresh)
        slot = (int)free_slot(&idx);
    dir_path(opath, sizeof opath, c, cache_file_name(file, sizeof file, name, kkey, slot));
    int err = 0;
    if (fresh || !object_ok(c, opath, kkey, sig))
        err = write_object(c, opath, kkey, sig, obj, size);
    else
        cache_log(c, "present", opath, "%s already cached", sig);
    if (!err && fresh && (err = add_entry(&idx, name, (unsigned)slot, sig)) == 0)
        write_index(c, ipath, kkey, &idx);
    else if (err == ENOMEM)
        write_failed(c, ipath, err);
    cache_file_free(&idx);
}

void cache_put(cache *c, const char *name, const cache_key *kkey, const char *sig, const void *obj, size_t size)
{
    if (!c || !atomic_load(&c->writable)) {
        if (c)
            cache_log(c, "skip-write", cache_path(c), "caching off");
        return;
    }
    if (strlen(sig) > MAX_SIG) {
        cache_log(c, "skip-write", cache_path(c), "signature longer than %d bytes", MAX_SIG);
        return;
    }
    int err = cache_mkdirs(c->dir), fd = -1;
    if (!err)
        fd = lock_dir(c, &err);
    if (fd < 0) {
        write_failed(c, c->dir, err);
        return;
    }
    put_locked(c, name, kkey, sig, obj, size);
    unlock_dir(fd);
}
