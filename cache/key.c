/* key.c — cache keys: BLAKE3 (LLVM's copy, llvm-c/blake3.h) over a stream of
 * tagged, length-prefixed items.
 *
 * Every add writes a one-byte tag naming its kind (bytes, string, NULL
 * string, integer, host digest) and, for variable-length items, a 64-bit
 * little-endian length before the bytes. So "ab","c" and "a","bc" differ, a
 * NULL string differs from "", and the integer 5 differs from eight bytes
 * that happen to spell it. The host part (ufuncgen's and LLVM's versions,
 * the CPU's identity) is hashed once per process into a digest that
 * cache_hash_host adds, so keys stay cheap to build.
 */
#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/blake3.h>

#include "cache/cache.h"
#include "loops/loops.h"

static_assert(sizeof(((cache_hasher *)0)->state) >= sizeof(llvm_blake3_hasher),
              "cache_hasher.state too small for llvm_blake3_hasher");
static_assert(alignof(cache_hasher) >= alignof(llvm_blake3_hasher),
              "cache_hasher under-aligned for llvm_blake3_hasher");
static_assert(LLVM_BLAKE3_OUT_LEN == sizeof(((cache_key *)0)->b), "cache_key is one BLAKE3 digest");

enum { TAG_BYTES = 'b', TAG_STR = 's', TAG_NULL = 'n', TAG_INT = 'i', TAG_HOST = 'h' };

static llvm_blake3_hasher *impl(cache_hasher *h) { return (llvm_blake3_hasher *)(void *)h->state; }

static void put_u64(cache_hasher *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    llvm_blake3_hasher_update(impl(h), b, sizeof b);
}

static void put_tag(cache_hasher *h, unsigned char tag) { llvm_blake3_hasher_update(impl(h), &tag, 1); }

void cache_hash_init(cache_hasher *h) { llvm_blake3_hasher_init(impl(h)); }

static void tagged(cache_hasher *h, unsigned char tag, const void *p, size_t n)
{
    put_tag(h, tag);
    put_u64(h, n);
    if (n)
        llvm_blake3_hasher_update(impl(h), p, n);
}

void cache_hash_bytes(cache_hasher *h, const void *p, size_t n) { tagged(h, TAG_BYTES, p, n); }

void cache_hash_str(cache_hasher *h, const char *s)
{
    if (!s)
        put_tag(h, TAG_NULL);
    else
        tagged(h, TAG_STR, s, strlen(s));
}

void cache_hash_int(cache_hasher *h, int64_t v)
{
    put_tag(h, TAG_INT);
    put_u64(h, (uint64_t)v);
}

void cache_hash_final(cache_hasher *h, cache_key *out)
{
    llvm_blake3_hasher_finalize(impl(h), out->b, sizeof out->b);
}

void cache_key_hex(const cache_key *k, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[k->b[i] >> 4];
        out[2 * i + 1] = digits[k->b[i] & 15];
    }
    out[64] = '\0';
}

void cache_hash_host_parts(cache_hasher *h, const cache_host *host)
{
    /* Bumped whenever generated code changes what it needs from the library
     * at load time (v2: no loops_rt_stream; v3: rt_strided; v4: its
     * descriptor's flags), so older objects are misses, not link failures
     * or wrong calls; also when it makes faster code from the same request
     * (v5: split loops, fission.c), or other code (v6: guarded speculated FP
     * operations, guard.c), so older objects are remade. */
    cache_hash_str(h, "ufuncgen host v8"); /* v8: the CPU as loops_host_id, not LLVM's strings */
    cache_hash_str(h, host->ug_version);
    cache_hash_int(h, host->llvm_major);
    cache_hash_int(h, host->llvm_minor);
    cache_hash_int(h, host->llvm_patch);
    cache_hash_bytes(h, host->cpu_id, host->cpu_id_len);
}

/* ---- the running host, computed once ---- */

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static cache_host host;
static cache_key host_digest;

static void host_init(void)
{
    host.ug_version = UG_VERSION_STRING;
    LLVMGetVersion(&host.llvm_major, &host.llvm_minor, &host.llvm_patch);
    host.cpu_id_len = loops_host_id(&host.cpu_id); /* what code is generated for (loops/host.c), without LLVM */
    cache_hasher h;
    cache_hash_init(&h);
    cache_hash_host_parts(&h, &host);
    cache_hash_final(&h, &host_digest);
}

void cache_host_info(cache_host *out)
{
    pthread_once(&host_once, host_init);
    *out = host;
}

void cache_hash_host(cache_hasher *h)
{
    pthread_once(&host_once, host_init);
    tagged(h, TAG_HOST, host_digest.b, sizeof host_digest.b);
}
