/* test_cache.c — white-box suite of cache/: keys, directory resolution, the
 * store's round trip, every fault a file can have (each ending in a miss and
 * a repaired cache on the next put), unwritable directories, a full disk,
 * concurrent processes, and the ufuncgen-cache tool.
 *
 * Payloads are arbitrary bytes standing in for object code. Every test runs
 * in its own process (CK_FORK is forced), so environment changes and the
 * once-per-process warning do not leak between tests. Faults that need a
 * mount (read-only tmpfs, tiny tmpfs) run in a forked child inside its own
 * mount namespace, so nothing stays mounted.
 */
#include <check.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/blake3.h>
#include <llvm/Config/llvm-config.h> /* the LLVM this build compiled against */

#include "cache/cache.h"
#include "ug_cache_tool_path.h"

/* ---------------------------------------------------------------- helpers */

static char tmp_root[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) { return remove(p); }
static void rm_tree(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void setup(void)
{
    strcpy(tmp_root, "/tmp/ug-cache-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void teardown(void) { rm_tree(tmp_root); }

/* tmp_root/<rel> into a static ring of buffers. */
static const char *at(const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, PATH_MAX, "%s/%s", tmp_root, rel);
    return b;
}

static cache_key key_of(const char *s)
{
    cache_hasher h;
    cache_key k;
    cache_hash_init(&h);
    cache_hash_str(&h, s);
    cache_hash_final(&h, &k);
    return k;
}

/* Deterministic payload of n bytes for a signature (NULs included). */
static unsigned char *payload(const char *sig, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    unsigned x = 2166136261u;
    for (const char *s = sig; *s; s++)
        x = (x ^ (unsigned char)*s) * 16777619u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
    return p;
}

/* Does a get of (name, k, sig) return exactly payload(sig, n)? */
static int hit_equals(cache *c, const char *name, const cache_key *k, const char *sig, size_t n)
{
    void *obj;
    size_t size;
    if (!cache_get(c, name, k, sig, &obj, &size))
        return 0;
    unsigned char *want = payload(sig, n);
    int ok = size == n && memcmp(obj, want, n) == 0;
    free(obj);
    free(want);
    return ok;
}

static void put_payload(cache *c, const char *name, const cache_key *k, const char *sig, size_t n)
{
    unsigned char *p = payload(sig, n);
    cache_put(c, name, k, sig, p, n);
    free(p);
}

static char *file_path(const char *dir, const char *name, const cache_key *k, int slot)
{
    static char bufs[4][PATH_MAX];
    static int i;
    char f[256], *b = bufs[i++ & 3];
    snprintf(b, PATH_MAX, "%s/%s", dir, cache_file_name(f, sizeof f, name, k, slot));
    return b;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int warnings_in(const char *log) { return count_of(log, "ufuncgen: warning:"); }

/* Redirect stderr into a file until stderr_end, which returns what was written. */
static int saved_err = -1;
static void stderr_begin(void)
{
    fflush(stderr);
    saved_err = dup(2);
    int fd = open(at("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
}

static char *stderr_end(void)
{
    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
    return read_text(at("stderr.txt"));
}

/* Files in dir whose names start with prefix. */
static int count_files(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t ln = strlen(e->d_name), ls = strlen(suffix);
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && ln >= ls && strcmp(e->d_name + ln - ls, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Fork; the child runs fn(arg) and exits with its result (0 good). Returns
 * the child's exit status, or 100 + signal if it was killed. */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(arg));
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* In a child: a private mount namespace (so mounts vanish with the child). */
static int private_mounts(void)
{
    return unshare(CLONE_NEWNS) == 0 && mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
}

static int mounts_permitted(void *unused) { return private_mounts() ? 0 : 1; }

/* ---------------------------------------------------------------- keys */

START_TEST(test_blake3_known_answer)
{
    /* No adds at all: the digest is BLAKE3 of the empty input. */
    cache_hasher h;
    cache_key k;
    char hex[65];
    cache_hash_init(&h);
    cache_hash_final(&h, &k);
    cache_key_hex(&k, hex);
    ck_assert_str_eq(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}
END_TEST

/* The key as the lead's kernel key is built, with one field varied. */
typedef struct kin {
    const char *src, *helper, *layout, *sig;
    int64_t target, fastmath, boundscheck;
    cache_host host;
} kin;

static cache_key key_from(const kin *in)
{
    cache_hasher h;
    cache_key k;
    cache_hash_init(&h);
    cache_hash_str(&h, in->src);
    cache_hash_str(&h, in->helper);
    cache_hash_str(&h, in->layout);
    cache_hash_str(&h, in->sig);
    cache_hash_int(&h, in->target);
    cache_hash_int(&h, in->fastmath);
    cache_hash_int(&h, in->boundscheck);
    cache_hash_host_parts(&h, &in->host);
    cache_hash_final(&h, &k);
    return k;
}

START_TEST(test_key_every_input_matters)
{
    kin base = {"def f(x): return g(x)", "def g(x): return x", "(),()->()", "dd->d", 0, 0, 0,
                {"0.1.0", 19, 1, 7, (const unsigned char *)"\1\2\3\4", 4}};
    kin v[14];
    for (int i = 0; i < 14; i++)
        v[i] = base;
    v[0].src = "def f(x): return g(x)+1";
    v[1].helper = "def g(x): return x*1";
    v[2].layout = "(n)->()";
    v[3].sig = "ff->f";
    v[4].target = 1;
    v[5].fastmath = 1;
    v[6].boundscheck = 1;
    v[7].host.ug_version = "0.1.1";
    v[8].host.llvm_major = 20;
    v[9].host.llvm_minor = 2;
    v[10].host.llvm_patch = 8;
    v[11].host.cpu_id = (const unsigned char *)"\1\2\3\5";
    v[12].host.cpu_id_len = 3;
    v[13].helper = NULL;
    cache_key keys[15];
    keys[14] = key_from(&base);
    for (int i = 0; i < 14; i++)
        keys[i] = key_from(&v[i]);
    for (int i = 0; i < 15; i++)
        for (int j = i + 1; j < 15; j++)
            ck_assert_msg(memcmp(keys[i].b, keys[j].b, 32) != 0, "keys %d and %d collide", i, j);
    cache_key again = key_from(&base);
    ck_assert_mem_eq(again.b, keys[14].b, 32); /* deterministic */
}
END_TEST

static cache_key key_strs(const char *a, const char *b)
{
    cache_hasher h;
    cache_key k;
    cache_hash_init(&h);
    cache_hash_str(&h, a);
    cache_hash_str(&h, b);
    cache_hash_final(&h, &k);
    return k;
}

START_TEST(test_key_length_prefixed)
{
    cache_key k1 = key_strs("ab", "c"), k2 = key_strs("a", "bc"), k3 = key_strs("", "abc"), k4 = key_strs(NULL, "abc");
    ck_assert(memcmp(k1.b, k2.b, 32) != 0);
    ck_assert(memcmp(k1.b, k3.b, 32) != 0);
    ck_assert(memcmp(k3.b, k4.b, 32) != 0); /* NULL differs from "" */
    /* a string, the same bytes, and an integer spelling them all differ */
    cache_hasher h;
    cache_key ks, kb, ki;
    cache_hash_init(&h);
    cache_hash_str(&h, "\x05\0\0\0\0\0\0");
    cache_hash_final(&h, &ks);
    cache_hash_init(&h);
    cache_hash_bytes(&h, "\x05\0\0\0\0\0\0\0", 8);
    cache_hash_final(&h, &kb);
    cache_hash_init(&h);
    cache_hash_int(&h, 5);
    cache_hash_final(&h, &ki);
    ck_assert(memcmp(ks.b, kb.b, 32) != 0 && memcmp(kb.b, ki.b, 32) != 0 && memcmp(ks.b, ki.b, 32) != 0);
}
END_TEST

START_TEST(test_key_host)
{
    cache_host h1, h2;
    cache_host_info(&h1);
    cache_host_info(&h2);
    ck_assert_str_eq(h1.ug_version, UG_VERSION_STRING);
    ck_assert_uint_eq(h1.llvm_major, LLVM_VERSION_MAJOR);
    ck_assert_uint_gt(h1.cpu_id_len, 0);
    ck_assert_ptr_eq(h1.cpu_id, h2.cpu_id); /* computed once */
#if defined(__x86_64__)
    /* CPUID leaf 0 first (leaf, subleaf, eax..edx): the vendor in ebx, edx, ecx */
    unsigned r0, r1, r2, r3;
    __cpuid(0, r0, r1, r2, r3);
    uint32_t w[6];
    memcpy(w, h1.cpu_id, sizeof w);
    ck_assert(w[0] == 0 && w[2] == r0 && w[3] == r1 && w[4] == r2 && w[5] == r3);
    ck_assert_uint_eq(h1.cpu_id_len, 74 * 4); /* 12 leaves of 6 words and XCR0 */
#endif
    cache_hasher a, b;
    cache_key ka, kb, kc;
    cache_hash_init(&a);
    cache_hash_host(&a);
    cache_hash_final(&a, &ka);
    cache_hash_init(&b);
    cache_hash_host(&b);
    cache_hash_final(&b, &kb);
    ck_assert_mem_eq(ka.b, kb.b, 32);
    cache_hash_init(&a);
    cache_hash_final(&a, &kc);
    ck_assert(memcmp(ka.b, kc.b, 32) != 0);
}
END_TEST

/* ---------------------------------------------------------------- directory */

static const char *resolved(const char *opt)
{
    static char buf[PATH_MAX];
    cache *c = cache_open(opt, 0);
    snprintf(buf, sizeof buf, "%s", cache_path(c));
    cache_close(c);
    return buf;
}

START_TEST(test_dir_resolution_order)
{
    setenv("UFUNCGEN_CACHE_DIR", "/e/env", 1);
    setenv("XDG_CACHE_HOME", "/x/xdg", 1);
    setenv("HOME", "/h/home", 1);
    ck_assert_str_eq(resolved("/o/opt"), "/o/opt");
    ck_assert_str_eq(resolved(NULL), "/e/env");
    ck_assert_str_eq(resolved(""), "/e/env"); /* empty option = unset */
    setenv("UFUNCGEN_CACHE_DIR", "", 1);
    ck_assert_str_eq(resolved(NULL), "/x/xdg/ufuncgen");
    unsetenv("UFUNCGEN_CACHE_DIR");
    ck_assert_str_eq(resolved(NULL), "/x/xdg/ufuncgen");
    setenv("XDG_CACHE_HOME", "relative/xdg", 1); /* XDG spec: relative paths are ignored */
    ck_assert_str_eq(resolved(NULL), "/h/home/.cache/ufuncgen");
    unsetenv("XDG_CACHE_HOME");
    ck_assert_str_eq(resolved(NULL), "/h/home/.cache/ufuncgen");
    unsetenv("HOME");
    const char *pw = resolved(NULL); /* the password database's home */
    ck_assert(strstr(pw, "/.cache/ufuncgen") != NULL);
    char *r = cache_resolve_dir("/o/opt");
    ck_assert_str_eq(r, "/o/opt");
    free(r);
}
END_TEST

START_TEST(test_dir_created_on_first_write)
{
    const char *dir = at("a/b/c/cache");
    cache *c = cache_open(dir, 0);
    cache_key k = key_of("k");
    void *obj;
    size_t size;
    ck_assert_int_eq(cache_get(c, "f", &k, "d->d", &obj, &size), 0);
    struct stat st;
    ck_assert_int_ne(stat(at("a"), &st), 0); /* opening and looking up create nothing */
    put_payload(c, "f", &k, "d->d", 100);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert(hit_equals(c, "f", &k, "d->d", 100));
    cache_close(c);
}
END_TEST

/* ---------------------------------------------------------------- round trip */

START_TEST(test_round_trip)
{
    const char *dir = at("rt");
    cache *c = cache_open(dir, 0);
    ck_assert_str_eq(cache_path(c), dir);
    cache_key k = key_of("kernel A");
    void *obj = (void *)1;
    size_t size = 7;
    ck_assert_int_eq(cache_get(c, "sigmoid", &k, "d->d", &obj, &size), 0);
    ck_assert_ptr_null(obj);
    ck_assert_uint_eq(size, 0);
    put_payload(c, "sigmoid", &k, "d->d", 4096);
    put_payload(c, "sigmoid", &k, "f->f", 1);
    put_payload(c, "sigmoid", &k, "g->g", 0);
    put_payload(c, "sigmoid", &k, "e->e", 3 << 20);
    ck_assert(hit_equals(c, "sigmoid", &k, "d->d", 4096));
    ck_assert(hit_equals(c, "sigmoid", &k, "f->f", 1));
    ck_assert(hit_equals(c, "sigmoid", &k, "g->g", 0));
    ck_assert(hit_equals(c, "sigmoid", &k, "e->e", 3 << 20));
    ck_assert_int_eq(cache_get(c, "sigmoid", &k, "b->b", &obj, &size), 0);
    cache_key other = key_of("kernel B");
    ck_assert_int_eq(cache_get(c, "sigmoid", &other, "d->d", &obj, &size), 0);
    cache_counts n;
    cache_stats(c, &n);
    ck_assert_uint_eq(n.lookups, 7);
    ck_assert_uint_eq(n.hits, 4);
    ck_assert_uint_eq(n.misses, 3);
    ck_assert_uint_eq(n.writes, 8); /* 4 objects + 4 index versions */
    ck_assert_uint_eq(n.rejections, 0);
    ck_assert_uint_eq(n.write_failures, 0);
    /* putting it again writes nothing: the object verifies */
    put_payload(c, "sigmoid", &k, "d->d", 4096);
    cache_stats(c, &n);
    ck_assert_uint_eq(n.writes, 8);
    cache_close(c);
    /* a new handle (the next process) sees everything */
    c = cache_open(dir, 0);
    ck_assert(hit_equals(c, "sigmoid", &k, "f->f", 1));
    ck_assert_int_eq(count_files(dir, "sigmoid-", ".ugo"), 4);
    ck_assert_int_eq(count_files(dir, "sigmoid-", ".ugi"), 1);
    ck_assert_int_eq(count_files(dir, CACHE_TMP_PREFIX, ""), 0);
    cache_file idx;
    char why[256];
    ck_assert_int_eq(cache_file_read(file_path(dir, "sigmoid", &k, -1), 0, &idx, why, sizeof why), 1);
    ck_assert_int_eq(idx.kind, CACHE_KIND_INDEX);
    ck_assert_str_eq(idx.name, "sigmoid");
    ck_assert_uint_eq(idx.nentries, 4);
    ck_assert_str_eq(idx.entries[0].sig, "d->d");
    ck_assert_uint_eq(idx.entries[3].slot, 3);
    cache_file_free(&idx);
    /* a signature too long for the format is not cached (and not garbled) */
    char longsig[5000];
    memset(longsig, 'd', sizeof longsig - 1);
    longsig[sizeof longsig - 1] = '\0';
    put_payload(c, "sigmoid", &k, longsig, 10);
    ck_assert_int_eq(cache_get(c, "sigmoid", &k, longsig, &obj, &size), 0);
    ck_assert_int_eq(count_files(dir, "sigmoid-", ".ugo"), 4);
    cache_close(c);
}
END_TEST

START_TEST(test_names_sanitised)
{
    const char *dir = at("names");
    char longname[3000];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *names[] = {"../../escape", "a/b c\n\t*?", ".hidden", "", NULL, "naïve-ünïcode", longname, "ok.name-1"};
    cache *c = cache_open(dir, 0);
    for (int i = 0; i < 8; i++) {
        cache_key k = key_of(names[i] ? names[i] : "(null)");
        put_payload(c, names[i], &k, "d->d", 64 + (size_t)i);
        ck_assert_msg(hit_equals(c, names[i], &k, "d->d", 64 + (size_t)i), "name %d", i);
        char f[256];
        cache_file_name(f, sizeof f, names[i], &k, 12);
        ck_assert(strchr(f, '/') == NULL);
        ck_assert(f[0] != '.');
        ck_assert(strlen(f) <= CACHE_NAME_MAX + 1 + 64 + 7);
    }
    char sn[CACHE_NAME_MAX + 1];
    cache_sanitize_name("a/b c", sn);
    ck_assert_str_eq(sn, "a_b_c");
    cache_sanitize_name(NULL, sn);
    ck_assert_str_eq(sn, "kernel");
    cache_sanitize_name("ok.name-1", sn);
    ck_assert_str_eq(sn, "ok.name-1");
    struct stat st;
    ck_assert_int_ne(stat(at("escape"), &st), 0);
    ck_assert_int_ne(stat("/tmp/escape-", &st), 0);
    /* nothing but our own files in the directory */
    ck_assert_int_eq(count_files(dir, "", ".ugo") + count_files(dir, "", ".ugi") + 1 /* lock */ + 2 /* . .. */,
                     count_files(dir, "", ""));
    cache_close(c);
}
END_TEST

/* ---------------------------------------------------------------- faults */

enum { F_TRUNC_HEADER, F_TRUNC_BODY, F_TRUNC_INDEX, F_FLIP_MAGIC, F_FLIP_HEADER_KEY, F_FLIP_PAYLOAD, F_FLIP_INDEX,
       F_VERSION, F_OTHER_KEY_OBJ, F_OTHER_KEY_IDX, F_EMPTY_OBJ, F_EMPTY_IDX, F_DIR_OBJ, F_DIR_IDX, F_TRAILING,
       F_SWAPPED_SLOTS, F_KIND, F_DUP_ENTRIES, F_FIFO, F_NFAULTS };

static const struct fault {
    const char *what;
    const char *reason; /* expected in the debug log */
} faults[F_NFAULTS] = {
    [F_TRUNC_HEADER] = {"object truncated inside the header", "truncated header"},
    [F_TRUNC_BODY] = {"object truncated inside the payload", "truncated ("},
    [F_TRUNC_INDEX] = {"index truncated", "truncated ("},
    [F_FLIP_MAGIC] = {"flipped byte in the magic", "bad magic"},
    [F_FLIP_HEADER_KEY] = {"flipped byte in the header's key", "checksum mismatch"},
    [F_FLIP_PAYLOAD] = {"flipped byte in the payload", "checksum mismatch"},
    [F_FLIP_INDEX] = {"flipped byte in the index body", "checksum mismatch"},
    [F_VERSION] = {"another format version", "stale: format version 2, expected 1"},
    [F_OTHER_KEY_OBJ] = {"object built for another CPU", "key mismatch"},
    [F_OTHER_KEY_IDX] = {"index built for another CPU", "key mismatch"},
    [F_EMPTY_OBJ] = {"empty object file", "empty file"},
    [F_EMPTY_IDX] = {"empty index file", "empty file"},
    [F_DIR_OBJ] = {"a directory where the object should be", "a directory where a file should be"},
    [F_DIR_IDX] = {"a directory where the index should be", "a directory where a file should be"},
    [F_TRAILING] = {"bytes appended to the object", "trailing bytes"},
    [F_SWAPPED_SLOTS] = {"object files of two signatures swapped", "signature mismatch"},
    [F_KIND] = {"the index copied over an object", "an index file where an object should be"},
    [F_DUP_ENTRIES] = {"a well-formed index listing a signature twice", "listed twice"},
    [F_FIFO] = {"a FIFO where the object should be (must not block)", "not a regular file"},
};

static void flip(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, off < 0 ? 0 : off, off < 0 ? SEEK_END : SEEK_SET);
    if (off < 0)
        fseek(f, off, SEEK_END);
    int ch = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(ch ^ 0x5a, f);
    fclose(f);
}

static void set_u32(const char *path, long off, uint32_t v)
{
    FILE *f = fopen(path, "r+b");
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    fseek(f, off, SEEK_SET);
    fwrite(b, 1, 4, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    char *cmd;
    ck_assert(asprintf(&cmd, "cp '%s' '%s'", from, to) > 0);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static void make_squatter_dir(const char *path)
{
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char inner[PATH_MAX];
    snprintf(inner, sizeof inner, "%s/junk", path);
    FILE *f = fopen(inner, "w");
    fputs("junk", f);
    fclose(f);
}

/* An index with a valid header and checksum that lists "d->d" twice (the
 * format, written out independently of store.c). */
static void craft_dup_index(const char *path, const cache_key *k)
{
    unsigned char f[256] = "UFGCACHE";
    size_t n = 88;
    const unsigned char body[] = {4, 0, 0, 0, 'k', 'e', 'r', 'n', 2, 0, 0, 0,
                                  0, 0, 0, 0, 4, 0, 0, 0, 'd', '-', '>', 'd',
                                  1, 0, 0, 0, 4, 0, 0, 0, 'd', '-', '>', 'd'};
    f[8] = CACHE_FORMAT_VERSION;
    f[12] = CACHE_KIND_INDEX;
    memcpy(f + 16, k->b, 32);
    f[48] = sizeof body;
    memcpy(f + n, body, sizeof body);
    llvm_blake3_hasher h;
    llvm_blake3_hasher_init(&h);
    llvm_blake3_hasher_update(&h, f, 56);
    llvm_blake3_hasher_update(&h, body, sizeof body);
    llvm_blake3_hasher_finalize(&h, f + 56, 32);
    FILE *fp = fopen(path, "wb");
    fwrite(f, 1, n + sizeof body, fp);
    fclose(fp);
}

static void apply_fault(int fault, const char *dir, const cache_key *k, const cache_key *other)
{
    const char *obj = file_path(dir, "kern", k, 0), *idx = file_path(dir, "kern", k, -1);
    switch (fault) {
    case F_TRUNC_HEADER: ck_assert_int_eq(truncate(obj, 40), 0); break;
    case F_TRUNC_BODY: ck_assert_int_eq(truncate(obj, 300), 0); break;
    case F_TRUNC_INDEX: ck_assert_int_eq(truncate(idx, 100), 0); break;
    case F_FLIP_MAGIC: flip(obj, 0); break;
    case F_FLIP_HEADER_KEY: flip(obj, 20); break;
    case F_FLIP_PAYLOAD: flip(obj, -1); break;
    case F_FLIP_INDEX: flip(idx, -2); break;
    case F_VERSION: set_u32(obj, 8, 2); break;
    case F_OTHER_KEY_OBJ: copy_file(file_path(dir, "kern", other, 0), obj); break;
    case F_OTHER_KEY_IDX: copy_file(file_path(dir, "kern", other, -1), idx); break;
    case F_EMPTY_OBJ: ck_assert_int_eq(truncate(obj, 0), 0); break;
    case F_EMPTY_IDX: ck_assert_int_eq(truncate(idx, 0), 0); break;
    case F_DIR_OBJ: make_squatter_dir(obj); break;
    case F_DIR_IDX: make_squatter_dir(idx); break;
    case F_TRAILING: {
        FILE *f = fopen(obj, "ab");
        fputs("garbage", f);
        fclose(f);
        break;
    }
    case F_KIND: copy_file(idx, obj); break;
    case F_FIFO: ck_assert_int_eq(unlink(obj) || mkfifo(obj, 0644), 0); break;
    case F_DUP_ENTRIES: craft_dup_index(idx, k); break;
    case F_SWAPPED_SLOTS:
        copy_file(obj, at("swap"));
        copy_file(file_path(dir, "kern", k, 1), obj);
        copy_file(at("swap"), file_path(dir, "kern", k, 1));
        break;
    }
}

START_TEST(test_fault_is_miss_then_repaired)
{
    const struct fault *f = &faults[_i];
    const char *dir = at("faults");
    cache_key k = key_of("the kernel"), other = key_of("the kernel on another CPU");
    cache *c = cache_open(dir, 0);
    put_payload(c, "kern", &k, "d->d", 1000);
    put_payload(c, "kern", &k, "f->f", 900);
    put_payload(c, "kern", &other, "d->d", 800);
    ck_assert(hit_equals(c, "kern", &k, "d->d", 1000));
    cache_close(c);

    apply_fault(_i, dir, &k, &other);

    stderr_begin();
    c = cache_open(dir, 1);
    void *obj = (void *)1;
    size_t size = 1;
    int got = cache_get(c, "kern", &k, "d->d", &obj, &size);
    char *log = stderr_end();
    ck_assert_msg(got == 0 && obj == NULL && size == 0, "%s: loaded", f->what);
    cache_counts n;
    cache_stats(c, &n);
    ck_assert_uint_eq(n.misses, 1);
    ck_assert_msg(n.rejections == 1, "%s: %llu rejections; log:\n%s", f->what, (unsigned long long)n.rejections, log);
    ck_assert_msg(strstr(log, f->reason) != NULL, "%s: reason '%s' not in log:\n%s", f->what, f->reason, log);
    ck_assert_msg(strstr(log, "reject ") && strstr(log, dir), "%s: log names no path:\n%s", f->what, log);
    ck_assert(strstr(log, "lookup ") && strstr(log, "miss "));
    free(log);
    cache_close(c);

    /* the next put repairs it; a fresh handle then hits with no rejection */
    c = cache_open(dir, 0);
    put_payload(c, "kern", &k, "d->d", 1000);
    cache_close(c);
    c = cache_open(dir, 0);
    ck_assert_msg(hit_equals(c, "kern", &k, "d->d", 1000), "%s: not repaired", f->what);
    cache_stats(c, &n);
    ck_assert_uint_eq(n.rejections, 0);
    if (_i != F_TRUNC_INDEX && _i != F_FLIP_INDEX && _i != F_EMPTY_IDX && _i != F_DIR_IDX && _i != F_OTHER_KEY_IDX &&
        _i != F_SWAPPED_SLOTS && _i != F_DUP_ENTRIES)
        ck_assert_msg(hit_equals(c, "kern", &k, "f->f", 900), "%s: other signature lost", f->what);
    else /* a rejected index forgets the others (a swap broke both): the put brings them back */
        ck_assert(!hit_equals(c, "kern", &k, "f->f", 900)), put_payload(c, "kern", &k, "f->f", 900);
    ck_assert(hit_equals(c, "kern", &k, "f->f", 900));
    ck_assert(hit_equals(c, "kern", &other, "d->d", 800));
    cache_stats(c, &n);
    ck_assert_msg(n.rejections == 0 || _i == F_SWAPPED_SLOTS, "%s: %llu rejections after repair", f->what,
                  (unsigned long long)n.rejections);
    ck_assert_int_eq(count_files(dir, CACHE_TMP_PREFIX, ""), 0);
    cache_close(c);
}
END_TEST

START_TEST(test_lock_file_squatted_by_directory)
{
    const char *dir = at("lockdir");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(at("lockdir/" CACHE_LOCK_NAME), 0755), 0);
    ck_assert_int_eq(mkdir(at("lockdir/" CACHE_LOCK_NAME "/inner"), 0755), 0);
    cache_key k = key_of("k");
    stderr_begin();
    cache *c = cache_open(dir, 0);
    put_payload(c, "f", &k, "d->d", 77);
    char *log = stderr_end();
    ck_assert(hit_equals(c, "f", &k, "d->d", 77));
    ck_assert_int_eq(warnings_in(log), 0);
    struct stat st;
    ck_assert_int_eq(stat(at("lockdir/" CACHE_LOCK_NAME), &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    free(log);
    cache_close(c);
}
END_TEST

/* ---------------------------------------------------------------- unwritable */

START_TEST(test_unwritable_under_regular_file)
{
    FILE *f = fopen(at("plainfile"), "w");
    fputs("x", f);
    fclose(f);
    const char *dir = at("plainfile/sub/cache"); /* ENOTDIR, even for root */
    cache_key k = key_of("k");
    stderr_begin();
    cache *c = cache_open(dir, 0);
    for (int i = 0; i < 5; i++)
        put_payload(c, "f", &k, "d->d", 100);
    void *obj;
    size_t size;
    int got = cache_get(c, "f", &k, "d->d", &obj, &size);
    cache *c2 = cache_open(dir, 0); /* a second context in the same process */
    put_payload(c2, "f", &k, "d->d", 100);
    char *log = stderr_end();
    ck_assert_int_eq(got, 0);
    ck_assert_msg(warnings_in(log) == 1, "warnings:\n%s", log);
    ck_assert(strstr(log, dir) && strstr(log, "Not a directory"));
    ck_assert_int_eq(cache_writable(c), 0);
    cache_counts n;
    cache_stats(c, &n);
    ck_assert_uint_eq(n.writes, 0);
    ck_assert_uint_eq(n.write_failures, 1); /* then caching is off: no more attempts */
    free(log);
    cache_close(c);
    cache_close(c2);
}
END_TEST

static int ro_tmpfs_child(void *arg)
{
    const char *mnt = arg;
    if (!private_mounts() || mount("tmpfs", mnt, "tmpfs", MS_RDONLY, "size=1m") != 0)
        return 10;
    cache_key k = key_of("k");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ufuncgen", mnt);
    cache *c = cache_open(dir, 0);
    for (int i = 0; i < 3; i++)
        put_payload(c, "f", &k, "d->d", 100);
    void *obj;
    size_t size;
    int rc = cache_get(c, "f", &k, "d->d", &obj, &size) ? 11 : cache_writable(c) ? 12 : 0;
    cache_close(c);
    return rc;
}

START_TEST(test_unwritable_readonly_mount)
{
    ck_assert_msg(in_child(mounts_permitted, NULL) == 0, "mount namespaces not permitted here");
    mkdir(at("ro"), 0755);
    stderr_begin();
    int rc = in_child(ro_tmpfs_child, (void *)at("ro"));
    char *log = stderr_end();
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(warnings_in(log) == 1, "warnings:\n%s", log);
    ck_assert(strstr(log, "Read-only file system"));
    free(log);
}
END_TEST

/* A filled cache bind-mounted read-only still serves hits; a new signature
 * warns once and is not cached. */
static int ro_bind_child(void *arg)
{
    const char *dir = arg;
    if (!private_mounts() || mount(dir, dir, "none", MS_BIND, NULL) != 0 ||
        mount("none", dir, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
        return 10;
    cache_key k = key_of("k");
    cache *c = cache_open(dir, 0);
    int rc = !hit_equals(c, "f", &k, "d->d", 300) ? 11 : 0;
    put_payload(c, "f", &k, "f->f", 300);
    put_payload(c, "f", &k, "g->g", 300);
    void *obj;
    size_t size;
    if (!rc && cache_get(c, "f", &k, "f->f", &obj, &size))
        rc = 12;
    cache_close(c);
    return rc;
}

START_TEST(test_readonly_cache_still_hits)
{
    const char *dir = at("rocache");
    cache_key k = key_of("k");
    cache *c = cache_open(dir, 0);
    put_payload(c, "f", &k, "d->d", 300);
    cache_close(c);
    stderr_begin();
    int rc = in_child(ro_bind_child, (void *)dir);
    char *log = stderr_end();
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(warnings_in(log) == 1, "warnings:\n%s", log);
    free(log);
}
END_TEST

/* ---------------------------------------------------------------- full disk */

/* No temp file and no object under a final name after a failed put. */
static int clean_after_failure(const char *dir) { return count_files(dir, CACHE_TMP_PREFIX, "") == 0; }

static int fsize_child(void *arg)
{
    const char *dir = arg;
    signal(SIGXFSZ, SIG_DFL); /* the default action kills: the cache must not trigger it */
    struct rlimit rl = {8192, 8192};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 10;
    cache_key k = key_of("k");
    cache *c = cache_open(dir, 0);
    put_payload(c, "f", &k, "big", 64 * 1024);
    cache_counts n;
    cache_stats(c, &n);
    int rc = n.write_failures != 1 ? 11 : count_files(dir, "f-", ".ugo") != 0 ? 12 : !clean_after_failure(dir) ? 13 : 0;
    void *obj;
    size_t size;
    if (!rc && cache_get(c, "f", &k, "big", &obj, &size))
        rc = 14;
    put_payload(c, "f", &k, "small", 1000); /* what fits is still cached */
    if (!rc && !hit_equals(c, "f", &k, "small", 1000))
        rc = 15;
    cache_close(c);
    return rc;
}

START_TEST(test_full_disk_rlimit_fsize)
{
    stderr_begin();
    int rc = in_child(fsize_child, (void *)at("fsize"));
    char *log = stderr_end();
    ck_assert_msg(rc == 0, "child status %d (%d = killed by SIGXFSZ)", rc, 100 + SIGXFSZ);
    ck_assert_int_eq(warnings_in(log), 0); /* a full disk is not an unwritable directory */
    free(log);
    ck_assert_int_eq(count_files(at("fsize"), "f-", ".ugo"), 1);
}
END_TEST

/* Past RLIMIT_FSIZE with the pre-check bypassed: write_all itself must turn
 * SIGXFSZ into EFBIG. With `other_thread`, a second thread with SIGXFSZ
 * unblocked is alive, so a process-directed signal would kill us. */
static void *idle_thread(void *arg)
{
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    while (1)
        pause();
    return NULL;
}

static int xfsz_child(void *arg)
{
    const char *path = arg;
    signal(SIGXFSZ, SIG_DFL);
    pthread_t t;
    if (strstr(path, "thread") && pthread_create(&t, NULL, idle_thread, NULL) != 0)
        return 10;
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 11;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned char *p = payload("x", 10000);
    int err = cache_write_all(fd, p, 10000);
    int err2 = cache_write_all(fd, p, 10); /* once more: still no signal */
    close(fd);
    free(p);
    sigset_t pend, mask;
    sigpending(&pend);
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    struct stat st;
    stat(path, &st);
    return err != EFBIG ? 12 : err2 != EFBIG ? 13 : sigismember(&pend, SIGXFSZ) ? 14 : sigismember(&mask, SIGXFSZ) ? 15
         : st.st_size != 4096 ? 16 : 0;
}

START_TEST(test_sigxfsz_becomes_efbig)
{
    ck_assert_int_eq(in_child(xfsz_child, (void *)at("xfsz")), 0);
    ck_assert_int_eq(in_child(xfsz_child, (void *)at("xfsz-thread")), 0);
}
END_TEST

static int tiny_tmpfs_child(void *arg)
{
    const char *mnt = arg;
    if (!private_mounts() || mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0)
        return 10;
    cache_key k = key_of("k");
    cache *c = cache_open(mnt, 1);
    put_payload(c, "f", &k, "first", 30 * 1024);
    put_payload(c, "f", &k, "huge", 200 * 1024);
    put_payload(c, "f", &k, "second", 50 * 1024);
    int rc = !hit_equals(c, "f", &k, "first", 30 * 1024) ? 11 : !clean_after_failure(mnt) ? 12 : 0;
    void *obj;
    size_t size;
    if (!rc && (cache_get(c, "f", &k, "huge", &obj, &size) || cache_get(c, "f", &k, "second", &obj, &size)))
        rc = 13;
    cache_counts n;
    cache_stats(c, &n);
    if (!rc && n.write_failures != 2)
        rc = 14;
    if (!rc && count_files(mnt, "f-", ".ugo") != 1)
        rc = 15;
    put_payload(c, "f", &k, "small", 1000); /* room again for a small one */
    if (!rc && !hit_equals(c, "f", &k, "small", 1000))
        rc = 16;
    cache_close(c);
    return rc;
}

START_TEST(test_full_disk_tiny_tmpfs)
{
    ck_assert_msg(in_child(mounts_permitted, NULL) == 0, "mount namespaces not permitted here");
    mkdir(at("tiny"), 0755);
    stderr_begin();
    int rc = in_child(tiny_tmpfs_child, (void *)at("tiny"));
    char *log = stderr_end();
    ck_assert_msg(rc == 0, "child status %d; log:\n%s", rc, log);
    ck_assert_int_eq(warnings_in(log), 0);
    ck_assert(strstr(log, "No space left on device"));
    free(log);
}
END_TEST

/* ---------------------------------------------------------------- concurrency */

enum { NPROCS = 12, NSIGS = 8 };

typedef struct race {
    const char *dir;
    int gate; /* read end: children start when the parent closes the write end */
    int id;
    int distinct; /* 1: each process its own signatures */
} race;

static void race_sig(char *buf, const race *r, int proc, int s)
{
    if (r->distinct)
        snprintf(buf, 32, "p%d-s%d", proc, s);
    else
        snprintf(buf, 32, "sig%d", s);
}

static int racer(void *arg)
{
    const race *r = arg;
    char b;
    while (read(r->gate, &b, 1) < 0 && errno == EINTR)
        ;
    cache_key k = key_of("racy kernel");
    cache *c = cache_open(r->dir, 0);
    char sig[32];
    for (int i = 0; i < NSIGS; i++) {
        race_sig(sig, r, r->id, (i + r->id) % NSIGS);
        put_payload(c, "racy", &k, sig, 2000 + 100 * (size_t)((i + r->id) % NSIGS));
    }
    int bad = 0;
    for (int s = 0; s < NSIGS; s++) {
        race_sig(sig, r, r->id, s);
        bad += !hit_equals(c, "racy", &k, sig, 2000 + 100 * (size_t)s);
    }
    cache_close(c);
    return bad;
}

static void run_race(const char *dir, int distinct)
{
    int gate[2];
    ck_assert_int_eq(pipe(gate), 0);
    pid_t pids[NPROCS];
    fflush(NULL);
    for (int p = 0; p < NPROCS; p++) {
        race r = {dir, gate[0], p, distinct};
        if ((pids[p] = fork()) == 0) {
            close(gate[1]);
            _exit(racer(&r));
        }
    }
    close(gate[0]);
    close(gate[1]); /* go */
    for (int p = 0; p < NPROCS; p++) {
        int st;
        waitpid(pids[p], &st, 0);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d: status %d", p, st);
    }
}

static void check_race_result(const char *dir, int distinct)
{
    cache_key k = key_of("racy kernel");
    cache_file idx;
    char why[256], sig[32];
    ck_assert_int_eq(cache_file_read(file_path(dir, "racy", &k, -1), 0, &idx, why, sizeof why), 1);
    int want = distinct ? NPROCS * NSIGS : NSIGS;
    ck_assert_uint_eq(idx.nentries, (size_t)want);
    for (int p = 0; p < (distinct ? NPROCS : 1); p++)
        for (int s = 0; s < NSIGS; s++) {
            race r = {.distinct = distinct};
            race_sig(sig, &r, p, s);
            int seen = 0;
            for (size_t i = 0; i < idx.nentries; i++)
                seen += strcmp(idx.entries[i].sig, sig) == 0;
            ck_assert_msg(seen == 1, "%s listed %d times", sig, seen);
        }
    /* every object file verifies; no temp files */
    for (size_t i = 0; i < idx.nentries; i++) {
        cache_file f;
        ck_assert_int_eq(cache_file_read(file_path(dir, "racy", &k, (int)idx.entries[i].slot), 0, &f, why, sizeof why), 1);
        ck_assert_str_eq(f.sig, idx.entries[i].sig);
        cache_file_free(&f);
    }
    ck_assert_int_eq(count_files(dir, "racy-", ".ugo"), want);
    ck_assert_int_eq(count_files(dir, CACHE_TMP_PREFIX, ""), 0);
    cache_file_free(&idx);
}

START_TEST(test_concurrent_processes_same_signatures)
{
    const char *dir = at("race/not/yet/created");
    run_race(dir, 0);
    check_race_result(dir, 0);
}
END_TEST

START_TEST(test_concurrent_processes_distinct_signatures)
{
    const char *dir = at("race2");
    run_race(dir, 1);
    check_race_result(dir, 1);
}
END_TEST

typedef struct thr {
    cache *c;
    int id, bad;
} thr;

static void *thread_putter(void *arg)
{
    thr *t = arg;
    cache_key k = key_of("threaded");
    char sig[32];
    for (int s = 0; s < 4; s++) {
        snprintf(sig, sizeof sig, "t%d-%d", t->id, s);
        put_payload(t->c, "thr", &k, sig, 500 + (size_t)s);
    }
    for (int s = 0; s < 4; s++) {
        snprintf(sig, sizeof sig, "t%d-%d", t->id, s);
        t->bad += !hit_equals(t->c, "thr", &k, sig, 500 + (size_t)s);
    }
    return NULL;
}

START_TEST(test_concurrent_threads_one_handle)
{
    cache *c = cache_open(at("threads"), 0);
    pthread_t tid[8];
    thr t[8];
    for (int i = 0; i < 8; i++) {
        t[i] = (thr){c, i, 0};
        pthread_create(&tid[i], NULL, thread_putter, &t[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        ck_assert_int_eq(t[i].bad, 0);
    }
    cache_key k = key_of("threaded");
    cache_file idx;
    char why[256];
    ck_assert_int_eq(cache_file_read(file_path(at("threads"), "thr", &k, -1), 0, &idx, why, sizeof why), 1);
    ck_assert_uint_eq(idx.nentries, 32);
    cache_file_free(&idx);
    cache_close(c);
}
END_TEST

/* ---------------------------------------------------------------- the tool */

/* Run the tool with argv (NULL-terminated); its stdout+stderr into *out. */
static int run_tool(char **out, const char *const *argv)
{
    const char *o = at("tool-out.txt");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(UG_CACHE_TOOL, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    *out = read_text(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void fill_for_tool(const char *dir, cache_key *ka, cache_key *kb)
{
    *ka = key_of("alpha kernel");
    *kb = key_of("beta kernel");
    cache *c = cache_open(dir, 0);
    put_payload(c, "alpha", ka, "dd->d", 1234);
    put_payload(c, "alpha", ka, "ff->f", 567);
    put_payload(c, "beta kernel", kb, "l->l", 89);
    cache_close(c);
}

START_TEST(test_tool_help_and_usage)
{
    char *out;
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--help", NULL}), 0);
    ck_assert(strstr(out, "usage: ufuncgen-cache") && strstr(out, "list") && strstr(out, "verify") &&
              strstr(out, "clear") && strstr(out, "--dir"));
    free(out);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "frobnicate", NULL}), 2);
    free(out);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", NULL}), 2);
    free(out);
}
END_TEST

START_TEST(test_tool_list_and_verify)
{
    const char *dir = at("tooldir");
    cache_key ka, kb;
    fill_for_tool(dir, &ka, &kb);
    char *out, hex[65];
    cache_key_hex(&ka, hex);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "list", NULL}), 0);
    ck_assert_msg(strstr(out, "alpha") && strstr(out, "beta kernel") && strstr(out, "dd->d") && strstr(out, "ff->f") &&
                      strstr(out, "l->l") && strstr(out, "1234") && strstr(out, "567"),
                  "%s", out);
    ck_assert(strstr(out, hex) || strncmp(strstr(out, "alpha"), "alpha", 5) == 0);
    char key16[17];
    memcpy(key16, hex, 16);
    key16[16] = '\0';
    ck_assert(strstr(out, key16));
    ck_assert_int_eq(count_of(out, " ok\n"), 3);
    ck_assert(strstr(out, "2 kernel key(s), 1890 bytes of object code, 0 problem(s)"));
    free(out);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "verify", NULL}), 0);
    ck_assert_msg(strstr(out, "5 file(s) checked, 0 problem(s)"), "%s", out);
    free(out);
    /* break one object: verify names it and fails; list shows it */
    flip(file_path(dir, "alpha", &ka, 1), -3);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "verify", NULL}), 1);
    ck_assert_msg(strstr(out, "BAD ") && strstr(out, file_path(dir, "alpha", &ka, 1)) && strstr(out, "checksum mismatch"),
                  "%s", out);
    free(out);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "list", NULL}), 0);
    ck_assert_msg(strstr(out, "checksum mismatch") && count_of(out, " ok\n") == 2, "%s", out);
    free(out);
    /* a missing object, a stale file, a temp file */
    unlink(file_path(dir, "beta kernel", &kb, 0));
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "verify", NULL}), 1);
    ck_assert_msg(strstr(out, "missing object file"), "%s", out);
    free(out);
    /* the library's resolution when there is no --dir */
    setenv("UFUNCGEN_CACHE_DIR", dir, 1);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "list", NULL}), 0);
    ck_assert(strstr(out, "alpha"));
    free(out);
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", at("nonexistent"), "verify", NULL}), 0);
    free(out);
}
END_TEST

START_TEST(test_tool_clear)
{
    const char *dir = at("clear");
    cache_key ka, kb;
    fill_for_tool(dir, &ka, &kb);
    int fd = open(at("clear/" CACHE_TMP_PREFIX "123-0-abc"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    char *out;
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "clear", "beta kernel", NULL}), 0);
    ck_assert_msg(strstr(out, "removed 2 file(s)"), "%s", out);
    free(out);
    cache *c = cache_open(dir, 0);
    void *obj;
    size_t size;
    ck_assert_int_eq(cache_get(c, "beta kernel", &kb, "l->l", &obj, &size), 0);
    ck_assert(hit_equals(c, "alpha", &ka, "dd->d", 1234));
    ck_assert_int_eq(run_tool(&out, (const char *const[]){"ufuncgen-cache", "--dir", dir, "clear", NULL}), 0);
    ck_assert_msg(strstr(out, "removed 4 file(s)"), "%s", out); /* index, 2 objects, temp file */
    free(out);
    ck_assert_int_eq(cache_get(c, "alpha", &ka, "dd->d", &obj, &size), 0);
    ck_assert_int_eq(count_files(dir, "", ".ugo") + count_files(dir, "", ".ugi") + count_files(dir, ".ugtmp", ""), 0);
    /* and the cache works again afterwards */
    put_payload(c, "alpha", &ka, "dd->d", 1234);
    ck_assert(hit_equals(c, "alpha", &ka, "dd->d", 1234));
    cache_close(c);
}
END_TEST

/* ---------------------------------------------------------------- debug log */

START_TEST(test_debug_log_env)
{
    setenv("UFUNCGEN_DEBUG_CACHE", "1", 1);
    const char *dir = at("dbg");
    cache_key k = key_of("k");
    stderr_begin();
    cache *c = cache_open(dir, 0);
    void *obj;
    size_t size;
    cache_get(c, "f", &k, "d->d", &obj, &size);
    put_payload(c, "f", &k, "d->d", 10);
    int hit = cache_get(c, "f", &k, "d->d", &obj, &size);
    free(obj);
    cache_close(c);
    unsetenv("UFUNCGEN_DEBUG_CACHE");
    c = cache_open(dir, 0); /* not in debug: silent */
    cache_get(c, "f", &k, "d->d", &obj, &size);
    free(obj);
    cache_close(c);
    char *log = stderr_end();
    ck_assert_int_eq(hit, 1);
    ck_assert_int_eq(count_of(log, "ufuncgen cache: lookup "), 2);
    ck_assert_int_eq(count_of(log, "ufuncgen cache: miss "), 1);
    ck_assert_int_eq(count_of(log, "ufuncgen cache: hit "), 1);
    ck_assert_int_eq(count_of(log, "ufuncgen cache: write "), 2);
    ck_assert(strstr(log, "no index") && strstr(log, dir));
    free(log);
}
END_TEST

/* ---------------------------------------------------------------- suite */

/* One test case: its tests (NULL-terminated), all with the temp-dir fixture
 * except "keys". */
static void add_case(Suite *s, const char *name, const TTest *const *tests)
{
    TCase *t = tcase_create(name);
    if (strcmp(name, "keys") != 0)
        tcase_add_checked_fixture(t, setup, teardown);
    for (; *tests; tests++)
        tcase_add_test(t, *tests);
    if (strcmp(name, "store") == 0)
        tcase_add_loop_test(t, test_fault_is_miss_then_repaired, 0, F_NFAULTS);
    suite_add_tcase(s, t);
}

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    add_case(s, "keys", (const TTest *const[]){test_blake3_known_answer, test_key_every_input_matters,
                                                 test_key_length_prefixed, test_key_host, NULL});
    add_case(s, "store", (const TTest *const[]){test_dir_resolution_order, test_dir_created_on_first_write,
                                                  test_round_trip, test_names_sanitised, test_debug_log_env, NULL});
    add_case(s, "degraded",
             (const TTest *const[]){test_unwritable_under_regular_file, test_unwritable_readonly_mount,
                                    test_readonly_cache_still_hits, test_full_disk_rlimit_fsize,
                                    test_full_disk_tiny_tmpfs, test_sigxfsz_becomes_efbig,
                                    test_lock_file_squatted_by_directory, NULL});
    add_case(s, "concurrency",
             (const TTest *const[]){test_concurrent_processes_same_signatures,
                                    test_concurrent_processes_distinct_signatures, test_concurrent_threads_one_handle,
                                    NULL});
    add_case(s, "tool", (const TTest *const[]){test_tool_help_and_usage, test_tool_list_and_verify, test_tool_clear,
                                                 NULL});
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cache_suite());
    srunner_set_fork_status(sr, CK_FORK); /* each test in its own process: env vars, the one warning */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
