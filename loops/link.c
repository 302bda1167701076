/* link.c — object bytes → machine code without ORC: a small linker for the
 * relocatable x86-64 ELF objects compile.c emits (PIC, small code model).
 *
 * Why: ORC's JITLink spends ~60 µs per object (a link graph, a session
 * lookup, dependency tracking) and ~1 ms creating the LLJIT (a
 * TargetMachine just for the data layout). A warm start loads every loop
 * from the cache and compiles nothing, so that is most of its time. This
 * file places the sections in one mapping, adds a GOT slot per external
 * symbol and a stub per called one, applies the relocations, and seals
 * the pages (code read+execute, data read-only, writable data as it is):
 * a few µs a loop.
 *
 * It takes only what it knows: relocation types 64, PC32, PLT32, PC64,
 * GOTPCREL(X); SHT_RELA; no TLS, groups or common symbols. Anything else,
 * a malformed object included, is declined (the reason is written to
 * `why`) and jit.c hands the object to ORC, whose verdict stands. Every
 * offset, size, index and alignment is checked against the object before
 * use: a corrupt object declines, it never crashes.
 */
#include <elf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "loops/loops.h"

#if defined(__x86_64__) && defined(__ELF__)

enum { MAXALIGN = 4096, STUB = 8 }; /* a stub: jmp *slot(%rip), padded to 8 */

typedef struct linker {
    const unsigned char *obj;
    size_t size;
    const Elf64_Shdr *sh;
    unsigned nsh;
    const Elf64_Sym *sym;    /* the symbol table */
    unsigned nsym;
    const char *str;         /* its string table */
    size_t nstr;
    uintptr_t *addr;         /* per section: where it was placed (0: not loaded) */
    uintptr_t *ext;          /* per symbol: resolved external address */
    int32_t *slot;           /* per symbol: GOT slot index, or -1 */
    unsigned nslot;
    const char *shstr;       /* section names */
    size_t nshstr;
    unsigned char *base;     /* where the code runs (the arena's executable view, or own pages) */
    ptrdiff_t wdelta;        /* base + wdelta: where it is written */
    size_t len, rx_len, ro_len, align;
    bool writable;           /* has writable data (not the arena's) */
    char *why;
    size_t nwhy;
} linker;

static bool decline(linker *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool decline(linker *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->why && l->nwhy)
        vsnprintf(l->why, l->nwhy, fmt, ap);
    va_end(ap);
    return false;
}

static bool in_obj(const linker *l, uint64_t off, uint64_t len) { return off <= l->size && len <= l->size - off; }

static bool is_loaded(const Elf64_Shdr *s)
{
    return (s->sh_flags & SHF_ALLOC) &&
           (s->sh_type == SHT_PROGBITS || s->sh_type == SHT_NOBITS || s->sh_type == SHT_X86_64_UNWIND);
}

/* The header, the section table, the one symbol table and its strings. */
static bool read_tables(linker *l)
{
    if (l->size < sizeof(Elf64_Ehdr))
        return decline(l, "shorter than an ELF header");
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)l->obj;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_type != ET_REL || eh->e_machine != EM_X86_64)
        return decline(l, "not a relocatable x86-64 ELF object");
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || !in_obj(l, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
        eh->e_shoff % 8 || eh->e_shnum == 0)
        return decline(l, "bad section table");
    l->sh = (const Elf64_Shdr *)(l->obj + eh->e_shoff);
    l->nsh = eh->e_shnum;
    if (eh->e_shstrndx >= l->nsh || l->sh[eh->e_shstrndx].sh_type != SHT_STRTAB ||
        !in_obj(l, l->sh[eh->e_shstrndx].sh_offset, l->sh[eh->e_shstrndx].sh_size) ||
        !l->sh[eh->e_shstrndx].sh_size || l->obj[l->sh[eh->e_shstrndx].sh_offset + l->sh[eh->e_shstrndx].sh_size - 1])
        return decline(l, "bad section name table");
    l->shstr = (const char *)(l->obj + l->sh[eh->e_shstrndx].sh_offset);
    l->nshstr = l->sh[eh->e_shstrndx].sh_size;
    for (unsigned i = 0; i < l->nsh; i++) {
        const Elf64_Shdr *s = &l->sh[i];
        if (s->sh_type != SHT_NOBITS && !in_obj(l, s->sh_offset, s->sh_size))
            return decline(l, "section %u lies outside the object", i);
        if (s->sh_type == SHT_GROUP || s->sh_type == SHT_REL || (s->sh_flags & SHF_TLS))
            return decline(l, "section %u: groups, REL relocations and TLS are ORC's", i);
        if ((s->sh_flags & SHF_ALLOC) && !is_loaded(s))
            return decline(l, "section %u has an allocated type %u this linker does not place", i, s->sh_type);
        if (s->sh_addralign > MAXALIGN || (s->sh_addralign & (s->sh_addralign - 1)))
            return decline(l, "section %u: alignment %llu", i, (unsigned long long)s->sh_addralign);
        if (s->sh_type == SHT_SYMTAB) {
            if (l->sym || s->sh_entsize != sizeof(Elf64_Sym) || s->sh_offset % 8 || s->sh_link >= l->nsh ||
                l->sh[s->sh_link].sh_type != SHT_STRTAB)
                return decline(l, "bad symbol table");
            l->sym = (const Elf64_Sym *)(l->obj + s->sh_offset);
            l->nsym = (unsigned)(s->sh_size / sizeof(Elf64_Sym));
            l->str = (const char *)(l->obj + l->sh[s->sh_link].sh_offset);
            l->nstr = l->sh[s->sh_link].sh_size;
        }
    }
    if (!l->sym || !l->nstr || l->str[l->nstr - 1])
        return decline(l, "no symbol table");
    return true;
}

static const char *sym_name(const linker *l, const Elf64_Sym *s)
{
    return s->st_name < l->nstr ? l->str + s->st_name : NULL;
}

static size_t align_up(size_t n, size_t a) { return a ? (n + a - 1) & ~(a - 1) : n; }

/* Which pages a loaded section goes to: 0 code (read+execute), 1 read-only
 * data (sealed after relocation, with the GOT; .data.rel.ro is writable only
 * for its relocations), 2 writable data. */
static int page_class(const linker *l, const Elf64_Shdr *s)
{
    if (s->sh_flags & SHF_EXECINSTR)
        return 0;
    const char *name = s->sh_name < l->nshstr ? l->shstr + s->sh_name : "";
    return !(s->sh_flags & SHF_WRITE) || (s->sh_type == SHT_PROGBITS && !strncmp(name, ".data.rel.ro", 12)) ? 1 : 2;
}

/* Offsets of the loaded sections: code and the stubs, then read-only data
 * and the GOT, then writable data; each class on pages of its own when
 * page > 1 (own pages), packed when 1 (the arena). */
static bool plan(linker *l, size_t page, size_t *stub_at, size_t *got_at)
{
    size_t at = 0;
    l->align = 64; /* a cache line: loops keep the code alignment they had on pages of their own */
    for (int cls = 0; cls < 3; cls++) {
        for (unsigned i = 0; i < l->nsh; i++) {
            const Elf64_Shdr *s = &l->sh[i];
            if (!is_loaded(s) || page_class(l, s) != cls)
                continue;
            if (s->sh_size > ((size_t)1 << 30))
                return decline(l, "section %u is too large", i);
            l->writable |= cls == 2;
            if (s->sh_addralign > l->align)
                l->align = s->sh_addralign;
            at = align_up(at, s->sh_addralign);
            l->addr[i] = at; /* an offset until mapped */
            at += s->sh_size;
        }
        if (cls == 0) {
            *stub_at = at = align_up(at, STUB);
            at += (size_t)l->nslot * STUB;
            l->rx_len = at = align_up(at, page);
        } else if (cls == 1) {
            *got_at = at = align_up(at, 8);
            at += (size_t)l->nslot * 8;
            at = align_up(at, page);
            l->ro_len = at - l->rx_len;
        }
    }
    l->len = align_up(at ? at : 1, page);
    return true;
}

/* A symbol's address; externals come from resolve (count_externals). */
static bool sym_addr(linker *l, unsigned k, uintptr_t *out)
{
    const Elf64_Sym *s = &l->sym[k];
    if (s->st_shndx == SHN_UNDEF)
        *out = l->ext[k];
    else if (s->st_shndx == SHN_ABS)
        *out = (uintptr_t)s->st_value;
    else if (s->st_shndx < l->nsh && l->addr[s->st_shndx] && s->st_value <= l->sh[s->st_shndx].sh_size)
        *out = l->addr[s->st_shndx] + (uintptr_t)s->st_value;
    else
        return decline(l, "symbol %u is in a section that is not loaded", k);
    return true;
}

static bool reloc_section(const linker *l, unsigned i, const Elf64_Rela **r, size_t *n, unsigned *target)
{
    const Elf64_Shdr *s = &l->sh[i];
    if (s->sh_type != SHT_RELA)
        return false;
    *target = s->sh_info;
    if (s->sh_info >= l->nsh || !is_loaded(&l->sh[s->sh_info]))
        return false; /* relocations of a section that is not loaded (debug info): nothing to do */
    *r = (const Elf64_Rela *)(l->obj + s->sh_offset);
    *n = s->sh_size / sizeof(Elf64_Rela);
    return true;
}

/* Every relocation's symbol index is in range; each external symbol a
 * relocation names is resolved once and gets a GOT slot and a stub
 * (l->nslot of each). */
static bool count_externals(linker *l, void *(*resolve)(const char *name))
{
    for (unsigned i = 0; i < l->nsh; i++) {
        const Elf64_Rela *r;
        size_t n;
        unsigned t;
        if (l->sh[i].sh_type == SHT_RELA && (l->sh[i].sh_entsize != sizeof(Elf64_Rela) || l->sh[i].sh_offset % 8))
            return decline(l, "bad relocation section %u", i);
        if (!reloc_section(l, i, &r, &n, &t))
            continue;
        for (size_t j = 0; j < n; j++) {
            unsigned k = (unsigned)ELF64_R_SYM(r[j].r_info);
            if (k >= l->nsym)
                return decline(l, "relocation %zu of section %u names symbol %u of %u", j, i, k, l->nsym);
            if (l->sym[k].st_shndx == SHN_COMMON)
                return decline(l, "common symbols are ORC's");
            if (l->sym[k].st_shndx != SHN_UNDEF || l->slot[k] >= 0)
                continue;
            const char *name = sym_name(l, &l->sym[k]);
            void *a = name && *name ? resolve(name) : NULL;
            if (!a && ELF64_ST_BIND(l->sym[k].st_info) != STB_WEAK)
                return decline(l, "symbol '%s' is not found", name ? name : "?");
            l->ext[k] = (uintptr_t)a;
            l->slot[k] = (int32_t)l->nslot++;
        }
    }
    return true;
}

static bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Apply one relocation at p (inside its section, checked by the caller). */
static bool relocate(linker *l, const Elf64_Rela *r, uintptr_t P, size_t stub_at, size_t got_at)
{
    unsigned k = (unsigned)ELF64_R_SYM(r->r_info), type = (unsigned)ELF64_R_TYPE(r->r_info);
    unsigned char *p = (unsigned char *)(P + (uintptr_t)l->wdelta); /* where P is written */
    uintptr_t S = 0;
    if (!sym_addr(l, k, &S))
        return false;
    bool ext = l->sym[k].st_shndx == SHN_UNDEF;
    uintptr_t G = ext ? (uintptr_t)l->base + got_at + (size_t)l->slot[k] * 8 : 0;
    int64_t A = r->r_addend, v;
    switch (type) {
    case R_X86_64_NONE:
        return true;
    case R_X86_64_64:
        v = (int64_t)(S + (uintptr_t)A);
        memcpy(p, &v, 8);
        return true;
    case R_X86_64_PC64:
        v = (int64_t)(S + (uintptr_t)A - P);
        memcpy(p, &v, 8);
        return true;
    case R_X86_64_PLT32:
        if (ext)
            S = (uintptr_t)l->base + stub_at + (size_t)l->slot[k] * STUB;
        /* fall through */
    case R_X86_64_PC32:
        v = (int64_t)(S + (uintptr_t)A - P);
        break;
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
        if (!ext)
            return decline(l, "GOT relocation of a local symbol");
        v = (int64_t)(G + (uintptr_t)A - P);
        break;
    default:
        return decline(l, "relocation type %u", type);
    }
    if (!fits32(v))
        return decline(l, "relocation type %u out of 32-bit range", type);
    int32_t v32 = (int32_t)v;
    memcpy(p, &v32, 4);
    return true;
}

static bool relocate_all(linker *l, size_t stub_at, size_t got_at)
{
    for (unsigned i = 0; i < l->nsh; i++) {
        const Elf64_Rela *r;
        size_t n;
        unsigned t;
        if (!reloc_section(l, i, &r, &n, &t))
            continue;
        for (size_t j = 0; j < n; j++) {
            unsigned type = (unsigned)ELF64_R_TYPE(r[j].r_info);
            size_t w = type == R_X86_64_64 || type == R_X86_64_PC64 ? 8 : type == R_X86_64_NONE ? 0 : 4;
            if (r[j].r_offset > l->sh[t].sh_size || w > l->sh[t].sh_size - r[j].r_offset)
                return decline(l, "relocation %zu of section %u lies outside its section", j, i);
            if (!relocate(l, &r[j], l->addr[t] + (uintptr_t)r[j].r_offset, stub_at, got_at))
                return false;
        }
    }
    return true;
}

/* The GOT (external addresses) and the stubs: jmp *slot(%rip). */
static void fill_got_and_stubs(linker *l, size_t stub_at, size_t got_at)
{
    for (unsigned k = 0; k < l->nsym; k++) {
        if (l->slot[k] < 0)
            continue;
        unsigned char *got = l->base + got_at + (size_t)l->slot[k] * 8;
        unsigned char *stub = l->base + stub_at + (size_t)l->slot[k] * STUB;
        int32_t rel = (int32_t)((intptr_t)got - (intptr_t)(stub + 6)); /* both where they run */
        got += l->wdelta;
        stub += l->wdelta;
        memcpy(got, &l->ext[k], 8);
        stub[0] = 0xff;
        stub[1] = 0x25;
        memcpy(stub + 2, &rel, 4);
        stub[6] = stub[7] = 0xcc; /* int3 padding */
    }
}

static bool find_symbol(linker *l, const char *symbol, void **fn)
{
    for (unsigned k = 1; k < l->nsym; k++) {
        const Elf64_Sym *s = &l->sym[k];
        const char *name = sym_name(l, s);
        if (ELF64_ST_BIND(s->st_info) != STB_LOCAL && s->st_shndx != SHN_UNDEF && name && !strcmp(name, symbol) &&
            s->st_shndx < l->nsh && l->addr[s->st_shndx] && (l->sh[s->st_shndx].sh_flags & SHF_EXECINSTR)) {
            uintptr_t a = 0;
            if (!sym_addr(l, k, &a))
                return false;
            *fn = (void *)a;
            return true;
        }
    }
    return decline(l, "no function '%s' in the object", symbol);
}

/* Copy the sections to base (written at base + wdelta), then link. */
static bool place_and_link(linker *l, const char *symbol, size_t stub_at, size_t got_at, void **fn)
{
    for (unsigned i = 0; i < l->nsh; i++)
        if (is_loaded(&l->sh[i])) {
            l->addr[i] += (uintptr_t)l->base;
            if (l->sh[i].sh_type != SHT_NOBITS)
                memcpy((void *)(l->addr[i] + (uintptr_t)l->wdelta), l->obj + l->sh[i].sh_offset, l->sh[i].sh_size);
        }
    fill_got_and_stubs(l, stub_at, got_at);
    return relocate_all(l, stub_at, got_at) && find_symbol(l, symbol, fn);
}

/* Own pages: read+write to link, then sealed by class (objects with
 * writable data, or when the arena cannot be had). */
static bool link_own_pages(linker *l, const char *symbol, void **fn)
{
    size_t stub_at, got_at;
    if (!plan(l, (size_t)sysconf(_SC_PAGESIZE), &stub_at, &got_at))
        return false;
    void *m = mmap(NULL, l->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return decline(l, "mmap of %zu bytes failed", l->len);
    l->base = m;
    bool ok = place_and_link(l, symbol, stub_at, got_at, fn);
    if (ok && ((l->rx_len && mprotect(l->base, l->rx_len, PROT_READ | PROT_EXEC)) ||
               (l->ro_len && mprotect(l->base + l->rx_len, l->ro_len, PROT_READ))))
        ok = decline(l, "mprotect failed");
    if (!ok)
        munmap(m, l->len);
    return ok;
}

/* ---------------------------------------------------------------- the arena
 * Most loops are a few hundred bytes: a mapping (and two mprotects and the
 * page faults) each would cost more than the linking. So code and
 * read-only data go to chunks of a memfd mapped twice, read+write and
 * read+execute: loops are written through the one view and run from the
 * other, packed, never writable where they run. A chunk is unmapped when
 * its last loop is unlinked and it is full; the current one, emptied, is
 * written again from its start. The mapping is shared with a forked
 * child, so a fork marks every chunk as never to be rewritten, and the
 * child leaves the current chunk to its parent and starts one of its own. */
typedef struct arena_chunk {
    unsigned char *rx, *rw;
    size_t size, used;
    long refs;
    bool shared; /* existed at a fork: another process may run its code, so it is never rewritten */
    struct arena_chunk *next;
} arena_chunk;

enum { CHUNK = 1 << 20 };
static pthread_mutex_t arena_mu = PTHREAD_MUTEX_INITIALIZER;
static arena_chunk *chunks, *current;
static bool arena_broken; /* memfd or the double mapping refused: own pages from then on */

static void arena_shared(void)
{
    for (arena_chunk *c = chunks; c; c = c->next)
        c->shared = true;
}

static void arena_child(void)
{
    arena_shared();
    current = NULL;
    pthread_mutex_init(&arena_mu, NULL);
}

__attribute__((constructor)) static void arena_fork_handler(void) { pthread_atfork(NULL, arena_shared, arena_child); }

static arena_chunk *new_chunk(size_t need)
{
    size_t size = need > CHUNK ? align_up(need, (size_t)sysconf(_SC_PAGESIZE)) : CHUNK;
    arena_chunk *c = calloc(1, sizeof *c);
    int fd = c ? memfd_create("ufuncgen-code", MFD_CLOEXEC) : -1;
    if (fd < 0 || ftruncate(fd, (off_t)size)) {
        if (fd >= 0)
            close(fd);
        free(c);
        return NULL;
    }
    void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *rx = rw == MAP_FAILED ? MAP_FAILED : mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    close(fd);
    if (rx == MAP_FAILED) {
        if (rw != MAP_FAILED)
            munmap(rw, size);
        free(c);
        return NULL;
    }
    *c = (arena_chunk){.rx = rx, .rw = rw, .size = size, .next = chunks};
    return chunks = c;
}

static void free_chunk(arena_chunk *c)
{
    arena_chunk **pp = &chunks;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    munmap(c->rx, c->size);
    munmap(c->rw, c->size);
    free(c);
}

/* Room for l->len bytes at l->align in the current chunk (or a new one);
 * caller holds arena_mu. */
static arena_chunk *arena_alloc(linker *l)
{
    arena_chunk *c = current;
    if (!c || align_up(c->used, l->align) + l->len > c->size) {
        arena_chunk *n = arena_broken ? NULL : new_chunk(l->len);
        if (!n) {
            arena_broken = true;
            return NULL;
        }
        if (c && c->refs == 0)
            free_chunk(c);
        current = c = n;
    }
    size_t at = align_up(c->used, l->align);
    c->used = at + l->len;
    c->refs++;
    l->base = c->rx + at;
    l->wdelta = c->rw - c->rx;
    return c;
}

static void arena_release(arena_chunk *c)
{
    pthread_mutex_lock(&arena_mu);
    if (--c->refs == 0 && c != current)
        free_chunk(c);
    else if (c->refs == 0 && !c->shared)
        c->used = 0; /* the current chunk emptied: its space is written again (create/free cycles stay flat) */
    pthread_mutex_unlock(&arena_mu);
}

/* Link into the arena: its chunk, else NULL with *fallback when the
 * object has writable data or the arena cannot be had (own pages then).
 * A failed link's space is never handed out: nothing can reach it. */
static arena_chunk *link_arena(linker *l, const char *symbol, void **fn, bool *fallback)
{
    size_t stub_at, got_at;
    *fallback = false;
    if (!plan(l, 1, &stub_at, &got_at))
        return NULL;
    if (l->writable) {
        *fallback = true;
        return NULL;
    }
    pthread_mutex_lock(&arena_mu);
    arena_chunk *c = arena_alloc(l);
    bool ok = c && place_and_link(l, symbol, stub_at, got_at, fn);
    pthread_mutex_unlock(&arena_mu);
    *fallback = !c;
    if (c && !ok)
        arena_release(c);
    return ok ? c : NULL;
}

bool loops_link(const void *obj, size_t size, const char *symbol, void *(*resolve)(const char *name),
                loops_linked *out, void **fn, char *why, size_t nwhy)
{
    linker l = {.obj = obj, .size = size, .why = why, .nwhy = nwhy};
    *fn = NULL;
    *out = (loops_linked){0};
    void *copy = NULL;
    if (obj && ((uintptr_t)obj & 7)) { /* ELF's tables are read in place: they need their alignment */
        if (!(copy = malloc(size)))
            return decline(&l, "out of memory");
        l.obj = memcpy(copy, obj, size);
    }
    bool ok = obj ? read_tables(&l) : decline(&l, "no object");
    if (ok) {
        l.addr = calloc(l.nsh, sizeof *l.addr);
        l.ext = calloc(l.nsym, sizeof *l.ext);
        l.slot = malloc(l.nsym * sizeof *l.slot);
        ok = l.addr && l.ext && l.slot ? true : decline(&l, "out of memory");
    }
    if (ok) {
        memset(l.slot, 0xff, l.nsym * sizeof *l.slot); /* -1: no slot */
        ok = count_externals(&l, resolve);
    }
    bool fallback = false;
    arena_chunk *chunk = ok ? link_arena(&l, symbol, fn, &fallback) : NULL;
    if (chunk) {
        out->chunk = chunk;
    } else if (fallback) { /* plan again, on pages of its own */
        memset(l.addr, 0, l.nsh * sizeof *l.addr);
        l.base = NULL;
        l.wdelta = 0;
        if ((ok = link_own_pages(&l, symbol, fn))) {
            out->base = l.base;
            out->len = l.len;
        }
    } else {
        ok = false;
    }
    if (!ok)
        *fn = NULL;
    free(l.addr);
    free(l.ext);
    free(l.slot);
    free(copy);
    return ok;
}

#else /* not x86-64 ELF: ORC links everything */

bool loops_link(const void *obj, size_t size, const char *symbol, void *(*resolve)(const char *name),
                loops_linked *out, void **fn, char *why, size_t nwhy)
{
    (void)obj, (void)size, (void)symbol, (void)resolve;
    *out = (loops_linked){0};
    *fn = NULL;
    snprintf(why, nwhy, "only x86-64 ELF objects are linked without ORC");
    return false;
}

#endif

void loops_unlink(loops_linked *l)
{
    if (!l)
        return;
#if defined(__x86_64__) && defined(__ELF__)
    if (l->chunk)
        arena_release(l->chunk);
#endif
    if (l->base)
        munmap(l->base, l->len);
    *l = (loops_linked){0};
}
