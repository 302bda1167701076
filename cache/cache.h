/* cache.h — internal header of cache/: object code on disk per dtype signature.
 *
 *   key.c     BLAKE3 keys (llvm-c/blake3.h)                    cache_hash_*
 *   dir.c     directory resolution, debug log                  cache_open
 *   store.c   index (.ugi) and object (.ugo) files: read, verify, write
 *             atomically (temp + rename), lock the index       cache_get, cache_put
 *
 * Files: <name>-<kernelkey>.ugi lists the signatures of one kernel key;
 * <name>-<kernelkey>.<n>.ugo holds the object code of signature n. Every file
 * has a header (magic, format version, key) and a checksum; anything that
 * does not verify is ignored (and rewritten), never loaded.
 */
#ifndef UG_CACHE_H
#define UG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ufuncgen/ufuncgen.h"

typedef struct cache_key {
    uint8_t b[32];
} cache_key;

/* Incremental key construction. Each add is length-prefixed, so adding
 * "ab","c" differs from "a","bc". */
typedef struct cache_hasher {
    unsigned char state[2048]; /* holds an llvm_blake3_hasher (opaque here) */
} cache_hasher;
void cache_hash_init(cache_hasher *h);
void cache_hash_bytes(cache_hasher *h, const void *p, size_t n);
void cache_hash_str(cache_hasher *h, const char *s); /* NULL hashes as distinct from "" */
void cache_hash_int(cache_hasher *h, int64_t v);
void cache_hash_final(cache_hasher *h, cache_key *out);
void cache_key_hex(const cache_key *k, char out[65]);

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
/* Store it (atomic write, index updated under a lock). Failures degrade to
 * no caching (logged in debug mode; one warning for an unwritable dir). */
void cache_put(cache *c, const char *name, const cache_key *kkey, const char *sig, const void *obj, size_t size);

#endif /* UG_CACHE_H */
