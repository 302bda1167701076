/* cache.h — internal header of cache/: object code on disk per dtype signature.
 *
 *   key.c     BLAKE3 keys (llvm-c/blake3.h)                    cache_hash_*
 *   dir.c     directory resolution, debug log                  cache_open
 *   store.c   index (.ugi) and object (.ugo) files: read, verify, write
 *             atomically (temp + rename), lock the index       cache_get, cache_put
 *
 *   ufuncgen-cache.c  the command-line tool (list, verify, clear); uses
 *             cache_resolve_dir and cache_file_read, so "ok" there means
 *             "the library would load it"
 *
 * Files: <name>-<kernelkey>.ugi lists the signatures of one kernel key;
 * <name>-<kernelkey>.<n>.ugo holds the object code of signature n. Every file
 * has a header (magic, format version, key) and a checksum; anything that
 * does not verify is ignored (and rewritten), never loaded. The layout and
 * the write/lock/fsync/SIGXFSZ decisions are described atop store.c.
 */
#ifndef UG_CACHE_H
#define UG_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ufuncgen/ufuncgen.h"

typedef struct cache_key {
    uint8_t b[32];
} cache_key;

/* Incremental key construction. Each add is length-prefixed, so adding
 * "ab","c" differs from "a","bc". */
typedef struct cache_hasher {
    _Alignas(16) unsigned char state[2048]; /* holds an llvm_blake3_hasher (opaque here; key.c static_asserts size and alignment) */
} cache_hasher;
void cache_hash_init(cache_hasher *h);
void cache_hash_bytes(cache_hasher *h, const void *p, size_t n);
void cache_hash_str(cache_hasher *h, const char *s); /* NULL hashes as distinct from "" */
void cache_hash_int(cache_hasher *h, int64_t v);
void cache_hash_final(cache_hasher *h, cache_key *out);
void cache_key_hex(const cache_key *k, char out[65]);

/* What a compiled object depends on besides the kernel: ufuncgen's version,
 * LLVM's version, and the host CPU as code generation sees it. */
typedef struct cache_host {
    const char *ug_version;
    unsigned llvm_major, llvm_minor, llvm_patch;
    const unsigned char *cpu_id; /* loops_host_id: equal exactly when LLVM's CPU name and features are */
    size_t cpu_id_len;
} cache_host;
/* The running host (computed once; the bytes live until exit). */
void cache_host_info(cache_host *out);
/* Add every field of *host to h (tests vary the fields one at a time). */
void cache_hash_host_parts(cache_hasher *h, const cache_host *host);
/* cache_hash_host_parts(h, <the running host>). */
void cache_hash_host(cache_hasher *h);

typedef struct cache cache;

/* Open the cache: dir (option) else UFUNCGEN_CACHE_DIR else
 * $XDG_CACHE_HOME/ufuncgen else ~/.cache/ufuncgen. The directory is created
 * on first write. An unusable directory degrades to no caching with one
 * warning on stderr. debug (or UFUNCGEN_DEBUG_CACHE=1) logs every lookup,
 * hit, miss, write and rejection with reason and path. NULL only on OOM. */
cache *cache_open(const char *dir, int debug);
void cache_close(cache *c); /* accepts NULL */
const char *cache_path(const cache *c); /* the resolved directory */

/* Look up the object of signature `sig` (any canonical string naming it) of
 * the kernel `name` with key `kkey`. Hit: returns 1, *obj malloc'd. Miss or
 * rejected file: 0. Thread- and process-safe. */
int cache_get(cache *c, const char *name, const cache_key *kkey, const char *sig, void **obj /* OUT */,
              size_t *size /* OUT */);
/* A ufunc with many signatures reads its kernel's index once: the verified
 * index of `name`/kkey, or NULL (no cache, no index, a rejected one, OOM);
 * cache_index_slot gives a signature's slot in it (-1: absent, also for a
 * NULL index); cache_get_slot reads that slot's object (verified to hold
 * sig) as cache_get would: 1 on a hit. The index may be out of date by
 * then: a missing or replaced object is a miss, never a wrong hit. */
typedef struct cache_file cache_index;
cache_index *cache_index_read(cache *c, const char *name, const cache_key *kkey);
int cache_index_slot(const cache_index *idx, const char *sig);
void cache_index_free(cache_index *idx); /* accepts NULL */
int cache_get_slot(cache *c, const char *name, const cache_key *kkey, const char *sig, int slot, void **obj /* OUT */,
                   size_t *size /* OUT */);
/* Store it (atomic write, index updated under a lock). Failures degrade to
 * no caching (logged in debug mode; one warning for an unwritable dir). */
void cache_put(cache *c, const char *name, const cache_key *kkey, const char *sig, const void *obj, size_t size);

/* Counters of one cache handle (tests and debugging). A lookup is a
 * cache_get; it ends in a hit or a miss. A rejection is a file that did not
 * verify (it also makes the lookup a miss, or the put rewrite it). A write is
 * a file renamed into place; a write failure is a put that left nothing. */
typedef struct cache_counts {
    uint64_t lookups, hits, misses, writes, rejections, write_failures;
} cache_counts;
void cache_stats(const cache *c, cache_counts *out /* OUT */);
/* 0 once the directory proved unwritable (lookups still read it). */
int cache_writable(const cache *c);

/* ======================================================================
 * dir.c — resolution, creation, the debug log and the single warning
 * ====================================================================== */

/* The directory the library would use for option `dir`: malloc'd, or NULL
 * when none can be resolved (no option, no variables, no home) or on OOM. */
char *cache_resolve_dir(const char *dir);
/* mkdir -p with mode 0777 (umask applies). 0 or an errno value. */
int cache_mkdirs(const char *path);
/* Debug log line "ufuncgen cache: <event> <path>: <detail>" when c->debug. */
void cache_log(const cache *c, const char *event, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The one warning of a process whose cache directory is unusable; then
 * writes through c are off. Later calls print nothing. */
void cache_warn_unwritable(cache *c, const char *path, int err);

struct cache {
    char *dir;          /* resolved directory; NULL when none could be resolved */
    int debug;
    atomic_int writable;
    atomic_ullong lookups, hits, misses, writes, rejections, write_failures;
};

/* ======================================================================
 * store.c — file names, formats, verification (also used by the tool)
 * ====================================================================== */

#define CACHE_FORMAT_VERSION 1u
#define CACHE_NAME_MAX 48 /* bytes of the sanitised kernel name in file names */
#define CACHE_LOCK_NAME "ufuncgen.lock"
#define CACHE_TMP_PREFIX ".ugtmp-"

/* Kernel name → file-name-safe: [A-Za-z0-9_+=.-] kept, anything else '_',
 * no leading '.', at most CACHE_NAME_MAX bytes; NULL/"" → "kernel". */
void cache_sanitize_name(const char *name, char out[CACHE_NAME_MAX + 1]);
/* "<name>-<hexkey>.ugi" (slot < 0) or "<name>-<hexkey>.<slot>.ugo" into buf;
 * returns buf. */
char *cache_file_name(char *buf, size_t n, const char *name, const cache_key *k, int slot);

typedef enum cache_kind { CACHE_KIND_INDEX = 1, CACHE_KIND_OBJECT = 2 } cache_kind;
typedef struct cache_entry {
    unsigned slot;
    char *sig;
} cache_entry;
/* A verified file. Index: name, entries. Object: sig, payload. */
typedef struct cache_file {
    cache_kind kind;
    cache_key key;
    uint64_t file_size;
    char *name;          /* index: the kernel name as first given */
    size_t nentries;
    cache_entry *entries;
    char *sig;           /* object */
    void *payload;       /* object: malloc'd object code (NULL when not asked for) */
    uint64_t payload_size;
} cache_file;
/* Read and verify the file at path (header, kind, format version, length,
 * checksum, body structure). want_payload: keep the object code. Returns 1
 * and fills *out; 0 (rejected) or -1 (no such file) with the reason in why[].
 * *out is zeroed on entry and left empty on failure. */
int cache_file_read(const char *path, int want_payload, cache_file *out, char *why, size_t nwhy);
void cache_file_free(cache_file *f); /* accepts NULL; frees the members */
/* write() all n bytes to fd with SIGXFSZ blocked in the calling thread (the
 * kernel sends it to the writing thread); a SIGXFSZ this write raised is
 * consumed, so passing RLIMIT_FSIZE is just EFBIG, never a dead process.
 * Retries EINTR and short writes. 0 or an errno value. */
int cache_write_all(int fd, const void *buf, size_t n);

#endif /* UG_CACHE_H */
