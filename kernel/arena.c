/* arena.c — bump allocator for tokens, AST nodes and strings.
 *
 * A module (or a typed kernel) allocates many small objects that all die
 * together, so they come from chunks that are freed in one sweep. Chunks grow
 * geometrically; an object larger than a chunk gets a chunk of its own.
 * Every allocation is zeroed and 16-byte aligned.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct kernel_arena {
    chunk *head;
    size_t next_size;
};

kernel_arena *kernel_arena_new(void)
{
    kernel_arena *a = calloc(1, sizeof *a);
    if (a)
        a->next_size = 4096;
    return a;
}

void kernel_arena_free(kernel_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static chunk *new_chunk(kernel_arena *a, size_t need)
{
    size_t size = a->next_size;
    while (size < need)
        size *= 2;
    chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    if (a->next_size < (1u << 20))
        a->next_size *= 2;
    return c;
}

void *kernel_arena_alloc(kernel_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        c = new_chunk(a, n);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *kernel_arena_strndup(kernel_arena *a, const char *s, size_t n)
{
    char *p = kernel_arena_alloc(a, n + 1);
    if (p)
        memcpy(p, s, n);
    return p;
}
