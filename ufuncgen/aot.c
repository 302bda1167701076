/* aot.c — ahead-of-time builds (ufuncgen/aot.h): a kernel description →
 * ufuncs made deferred (parsed and type-checked, nothing compiled) → every
 * loop compiled for each CPU level → an archive of the loops, and the C that
 * registers them (constructors, the pick of the level, a Python module).
 *
 * A loop's symbol is <module>_<kernel>_<loop>_<level>: unique in the
 * archive, readable in a debugger. Each object defines that one symbol
 * (everything else a loop uses is internal, or the runtime's rt_*, libm's
 * and libmvec's), so the archive's symbol table has one entry per member.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/aot.h"
#include "ufuncgen/internal.h"

#define AOT_MAX_KERNELS 1024

typedef struct aot_kernel {
    ug_ufunc *u;
    char *name;             /* the ufunc's (a C identifier) */
    char *text;             /* the source, for kernels without signatures (JIT at first use) */
    char *layout;
    ug_options o;           /* kernel/locals/doc point into the strings below */
    char *def, *locals, *doc;
    int nsigs;
} aot_kernel;

struct ug_aot {
    ug_context *ctx;
    char *module;
    aot_kernel k[AOT_MAX_KERNELS];
    int nk;
};

static bool c_ident(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

UG_API ug_status ug_aot_new(ug_context *ctx, const char *module, ug_aot **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(ctx);
    if (!out)
        return base_err_set(err, UG_EINVAL, "ug_aot_new: out is NULL");
    if (!c_ident(module) || strlen(module) > 64)
        return base_err_set(err, UG_EINVAL, "module name '%s' is not a C identifier of at most 64 characters",
                            module ? module : "(null)");
    ug_aot *a = calloc(1, sizeof *a);
    if (!a || !(a->module = strdup(module))) {
        free(a);
        return base_err_set(err, UG_ENOMEM, "out of memory");
    }
    a->ctx = ctx;
    *out = a;
    return UG_OK;
}

static void kernel_free(aot_kernel *k)
{
    ug_ufunc_free(k->u);
    free(k->name);
    free(k->text);
    free(k->layout);
    free(k->def);
    free(k->locals);
    free(k->doc);
    memset(k, 0, sizeof *k);
}

UG_API void ug_aot_free(ug_aot *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nk; i++)
        kernel_free(&a->k[i]);
    free(a->module);
    free(a);
}

/* ------------------------------------------------------------ the description */

typedef struct spec_kernel {
    int line;               /* of its "kernel" directive */
    int src_line;           /* of the first line of an inline source (0: none) */
    char *src_file;         /* the file of a source-file, as named (NULL: inline) */
    char *name, *def, *layout, *locals, *doc, *source;
    char *sigs[CORE_MAX_LOOPS];
    int sig_line[CORE_MAX_LOOPS]; /* the description's line of each */
    int nsigs;
    ug_options o;
} spec_kernel;

static void spec_free(spec_kernel *s)
{
    free(s->name);
    free(s->def);
    free(s->layout);
    free(s->locals);
    free(s->doc);
    free(s->source);
    free(s->src_file);
    for (int i = 0; i < s->nsigs; i++)
        free(s->sigs[i]);
    memset(s, 0, sizeof *s);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = cap * 2 + 8192);
            if (!b)
                break;
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* The path of a source-file relative to the description's directory. */
static char *relative(const char *spec_path, const char *file)
{
    const char *slash = spec_path ? strrchr(spec_path, '/') : NULL;
    size_t d = file[0] == '/' || !slash ? 0 : (size_t)(slash - spec_path + 1);
    char *p = malloc(d + strlen(file) + 1);
    if (p) {
        memcpy(p, spec_path, d);
        strcpy(p + d, file);
    }
    return p;
}

static ug_status spec_err(ug_error *err, const char *path, int line, const char *fmt, const char *arg)
{
    char m[1024];
    snprintf(m, sizeof m, fmt, arg ? arg : "");
    if (strlen(arg ? arg : "") > 200)
        snprintf(m, sizeof m, "%s", "a line too long to show");
    base_err_set(err, UG_EINVAL, "%s:%d: %s", path ? path : "<description>", line, m);
    err->line = line;
    return UG_EINVAL;
}

static int int_value(const char *v, bool *ok)
{
    char *end;
    long n = strtol(v, &end, 10);
    *ok = *v && !*end && n >= -1000000 && n <= 1000000;
    return (int)n;
}

/* One directive of the current kernel. */
static ug_status directive(spec_kernel *s, const char *key, const char *v, const char *path, int line, ug_error *err)
{
    bool ok = true;
    char **slot = !strcmp(key, "def") ? &s->def : !strcmp(key, "layout") ? &s->layout
                : !strcmp(key, "locals") ? &s->locals : !strcmp(key, "doc") ? &s->doc : NULL;
    if (slot) {
        free(*slot);
        if (!(*slot = strdup(v)))
            return base_err_set(err, UG_ENOMEM, "out of memory");
        return UG_OK;
    }
    if (!strcmp(key, "signature")) {
        if (s->nsigs >= CORE_MAX_LOOPS)
            return spec_err(err, path, line, "more than %s signatures", "256");
        s->sig_line[s->nsigs] = line;
        if (!(s->sigs[s->nsigs++] = strdup(v)))
            return base_err_set(err, UG_ENOMEM, "out of memory");
    } else if (!strcmp(key, "target")) {
        ok = !strcmp(v, "cpu") || !strcmp(v, "parallel");
        s->o.target = !strcmp(v, "parallel") ? UG_TARGET_PARALLEL : UG_TARGET_CPU;
    } else if (!strcmp(key, "math")) {
        ok = !strcmp(v, "fast") || !strcmp(v, "libm");
        s->o.math = !strcmp(v, "libm") ? UG_MATH_LIBM : UG_MATH_FAST;
    } else if (!strcmp(key, "identity")) {
        static const char *ids[] = {"none", "zero", "one", "minus_one", "reorderable"};
        ok = false;
        for (int i = 0; i < 5; i++)
            if (!strcmp(v, ids[i]))
                s->o.identity = (ug_identity)i, ok = true;
    } else if (!strcmp(key, "fastmath")) {
        s->o.fastmath = int_value(v, &ok);
    } else if (!strcmp(key, "boundscheck")) {
        s->o.boundscheck = int_value(v, &ok);
    } else if (!strcmp(key, "num_threads")) {
        s->o.num_threads = int_value(v, &ok);
    } else {
        return spec_err(err, path, line, "unknown directive '%s' (kernel, def, layout, signature, target, fastmath, "
                        "boundscheck, math, identity, num_threads, locals, doc, source, source-file)", key);
    }
    return ok ? UG_OK : spec_err(err, path, line, "bad value '%s'", v);
}

static ug_status add_kernel(ug_aot *a, spec_kernel *s, const char *path, ug_error *err);

UG_API ug_status ug_aot_add_spec(ug_aot *a, const char *text, const char *path)
{
    if (!a)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(a->ctx);
    if (!text)
        return base_err_set(err, UG_EINVAL, "ug_aot_add_spec: the description is NULL");
    spec_kernel s = {0};
    bool in_kernel = false;
    ug_status st = UG_OK;
    int line = 0;
    const char *p = text;
    while (st == UG_OK && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char buf[4096];
        if (n >= sizeof buf) {
            st = spec_err(err, path, line, "line longer than %s characters", "4095");
            break;
        }
        memcpy(buf, p, n);
        buf[n] = 0;
        p = eol ? eol + 1 : p + n;
        while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
            buf[--n] = 0;
        char *key = buf;
        while (*key == ' ' || *key == '\t')
            key++;
        if (!*key || *key == '#')
            continue;
        char *v = key + strcspn(key, " \t");
        if (*v)
            *v++ = 0;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcmp(key, "kernel")) {
            if (in_kernel && (st = add_kernel(a, &s, path, err)))
                break;
            spec_free(&s);
            ug_options_init(&s.o);
            s.line = line;
            in_kernel = true;
            if (!c_ident(v))
                st = spec_err(err, path, line, "kernel name '%s' is not an identifier", v);
            else if (!(s.name = strdup(v)))
                st = base_err_set(err, UG_ENOMEM, "out of memory");
            continue;
        }
        if (!in_kernel) {
            st = spec_err(err, path, line, "'%s' before the first 'kernel' directive", key);
            break;
        }
        if (!strcmp(key, "source") || !strcmp(key, "source-file")) {
            if (s.source) {
                st = spec_err(err, path, line, "kernel '%s' has a second source", s.name);
                break;
            }
            if (!strcmp(key, "source-file")) {
                char *file = relative(path, v);
                s.src_file = file ? strdup(file) : NULL;
                if (!file || !(s.source = read_file(file, NULL)))
                    st = base_err_set(err, UG_EIO, "%s:%d: cannot read source-file '%s': %s", path ? path : "<description>",
                                      line, file ? file : v, file ? strerror(errno) : "out of memory");
                free(file);
                continue;
            }
            const char *begin = p;
            const char *end = NULL;
            s.src_line = line + 1;
            while (*p) { /* up to a line "end" */
                const char *e = strchr(p, '\n');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                line++;
                if ((len == 3 || (len == 4 && p[3] == '\r')) && !strncmp(p, "end", 3)) {
                    end = p;
                    p = e ? e + 1 : p + len;
                    break;
                }
                p = e ? e + 1 : p + len;
            }
            if (!end) {
                st = spec_err(err, path, line, "the source of kernel '%s' has no closing line 'end'", s.name);
                break;
            }
            if (!(s.source = strndup(begin, (size_t)(end - begin))))
                st = base_err_set(err, UG_ENOMEM, "out of memory");
            continue;
        }
        st = directive(&s, key, v, path, line, err);
    }
    if (st == UG_OK && in_kernel)
        st = add_kernel(a, &s, path, err);
    spec_free(&s);
    return st;
}

/* Prefix a kernel's own error with the file and line it points at: the
 * description's line of an inline source, the source-file's line, else the
 * kernel directive's. */
static ug_status located(ug_error *err, ug_status st, const char *path, const spec_kernel *s)
{
    char m[sizeof err->msg];
    snprintf(m, sizeof m, "%s", err->msg);
    int line = err->line, col = err->column;
    const char *file = s->src_file && line > 0 ? s->src_file : path ? path : "<description>";
    int at = line > 0 && s->src_file ? line : line > 0 && s->src_line ? s->src_line + line - 1 : s->line;
    for (int i = 0; line <= 0 && i < s->nsigs; i++) { /* a signature's error: its own line */
        char quoted[300];
        snprintf(quoted, sizeof quoted, "signature '%s'", s->sigs[i]);
        if (strstr(m, quoted))
            at = s->sig_line[i];
    }
    if (line > 0) /* the kernel's message names it, with line and column */
        base_err_set(err, st, "%s:%d: %s", file, at, m);
    else
        base_err_set(err, st, "%s:%d: kernel '%s': %s", file, at, s->name, m);
    err->line = line;
    err->column = col;
    return st;
}

static ug_status add_kernel(ug_aot *a, spec_kernel *s, const char *path, ug_error *err)
{
    if (!s->source)
        return spec_err(err, path, s->line, "kernel '%s' has no source", s->name);
    for (int i = 0; i < a->nk; i++)
        if (!strcmp(a->k[i].name, s->name))
            return spec_err(err, path, s->line, "a second kernel named '%s'", s->name);
    if (a->nk >= AOT_MAX_KERNELS)
        return spec_err(err, path, s->line, "more than %s kernels", "1024");
    aot_kernel *k = &a->k[a->nk];
    memset(k, 0, sizeof *k);
    k->o = s->o;
    k->o.name = s->name;
    k->o.kernel = s->def;
    k->o.locals = s->locals;
    k->o.doc = s->doc;
    k->o.cache = 0;
    k->o.defer = s->nsigs ? 1 : 0; /* nothing is compiled for the host */
    k->o.background = 0;
    k->nsigs = s->nsigs;
    ug_status st = s->layout ? ug_guvectorize(a->ctx, s->source, s->layout, (const char *const *)s->sigs, s->nsigs,
                                              &k->o, &k->u)
                             : ug_vectorize(a->ctx, s->source, (const char *const *)s->sigs, s->nsigs, &k->o, &k->u);
    if (st != UG_OK) /* its error is on the context's record for this thread: err */
        return located(err, st, path, s);
    for (int i = 0; i < ug_ufunc_nloops(k->u); i++) { /* type errors now, not at write */
        core_loop *rec = k->u->loops[i];
        kernel_typed *tk = NULL;
        if ((st = drv_infer(k->u, rec->types, rec->boxed, false, &tk, err)) != UG_OK) {
            ug_ufunc_free(k->u);
            k->u = NULL;
            return located(err, st, path, s);
        }
        kernel_typed_free(tk);
    }
    k->name = s->name;
    k->text = s->source;
    k->layout = s->layout;
    k->def = s->def;
    k->locals = s->locals;
    k->doc = s->doc;
    s->name = s->source = s->layout = s->def = s->locals = s->doc = NULL;
    a->nk++;
    return UG_OK;
}

/* ------------------------------------------------------------ writing */

typedef struct member {
    char symbol[160];
    void *obj;
    size_t size;
} member;

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void ar_header(FILE *f, const char *name, size_t size)
{
    char h[61];
    snprintf(h, sizeof h, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name, "0", "0", "0", "644", size);
    fwrite(h, 1, 60, f);
}

/* A System V / GNU archive: the symbol index ("/"), then one member per
 * object, each defining one symbol. */
static ug_status write_archive(const char *path, const member *m, int n, ug_error *err)
{
    size_t names = 0;
    for (int i = 0; i < n; i++)
        names += strlen(m[i].symbol) + 1;
    size_t index = 4 + 4 * (size_t)n + names;
    size_t off = 8 + 60 + index + (index & 1);
    unsigned char *idx = malloc(index + 1);
    if (!idx)
        return base_err_set(err, UG_ENOMEM, "out of memory");
    put_be32(idx, (uint32_t)n);
    char *q = (char *)idx + 4 + 4 * (size_t)n;
    for (int i = 0; i < n; i++) {
        put_be32(idx + 4 + 4 * (size_t)i, (uint32_t)off);
        off += 60 + m[i].size + (m[i].size & 1);
        size_t l = strlen(m[i].symbol) + 1;
        memcpy(q, m[i].symbol, l);
        q += l;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(idx);
        return base_err_set(err, UG_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    fwrite("!<arch>\n", 1, 8, f);
    ar_header(f, "/", index);
    fwrite(idx, 1, index, f);
    if (index & 1)
        fputc('\n', f);
    for (int i = 0; i < n; i++) {
        char name[17];
        snprintf(name, sizeof name, "l%d.o/", i);
        ar_header(f, name, m[i].size);
        fwrite(m[i].obj, 1, m[i].size, f);
        if (m[i].size & 1)
            fputc('\n', f);
    }
    free(idx);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return base_err_set(err, UG_EIO, "cannot write %s: %s", path, strerror(errno));
    return UG_OK;
}

static void level_slug(const char *level, char out[16])
{
    snprintf(out, 16, "%s", !strcmp(level, "host") ? "host" : level + strlen("x86-64-")); /* v2, v3, v4 */
}

/* A C string literal of s. */
static void c_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("NULL", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n\"\n    \"", f);
        else if (*p < 32 || *p >= 127)
            fprintf(f, "\\%03o", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The features LLVM may use in generated code by itself, by the names gcc's
 * (and clang's) __builtin_cpu_supports and LLVM's feature strings share: the
 * host level checks each the build host has. (Not AMX and the like: LLVM
 * emits them only for intrinsics, and gcc reports them off where the OS
 * has not enabled their state, so the build host could fail its own check.) */
static const char *const cpu_names[] = {
    "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi", "bmi2", "lzcnt", "movbe", "f16c",
    "aes", "pclmul", "vaes", "gfni", "vpclmulqdq", "avxvnni", "avx512f", "avx512bw", "avx512cd", "avx512dq",
    "avx512vl", "avx512vbmi", "avx512ifma", "avx512vpopcntdq", "avx512vbmi2", "avx512vnni", "avx512bitalg",
    "avx512bf16", "avx512fp16", "avx512vp2intersect",
};

static void level_check(FILE *f, const char *level, int i)
{
    fprintf(f, "static int level_%d(void)\n{\n    __builtin_cpu_init();\n    return 1", i);
    if (strcmp(level, "host")) {
        fprintf(f, " && __builtin_cpu_supports(\"%s\")", level);
    } else {
        loops_target t;
        loops_level_target("host", &t);
        for (size_t k = 0; k < sizeof cpu_names / sizeof *cpu_names; k++) {
            char want[40];
            snprintf(want, sizeof want, "+%s,", cpu_names[k]);
            char feats[4096];
            snprintf(feats, sizeof feats, "%s,", t.features);
            if (strstr(feats, want))
                fprintf(f, "\n        && __builtin_cpu_supports(\"%s\")", cpu_names[k]);
        }
    }
    fputs(";\n}\n\n", f);
}

/* The enumerator of t in ufuncgen.h: UG_ and its name in capitals (UG_FLOAT64). */
static void dtype_enum(FILE *f, ug_dtype t)
{
    fputs("UG_", f);
    for (const char *p = ug_dtype_name(t); *p; p++)
        fputc(toupper((unsigned char)*p), f);
}

static const char *target_enum(ug_target t) { return t == UG_TARGET_PARALLEL ? "UG_TARGET_PARALLEL" : "UG_TARGET_CPU"; }

static const char *identity_enum(ug_identity i)
{
    static const char *names[] = {"UG_IDENTITY_NONE", "UG_IDENTITY_ZERO", "UG_IDENTITY_ONE", "UG_IDENTITY_MINUS_ONE",
                                  "UG_IDENTITY_REORDERABLE"};
    return names[i];
}

static FILE *open_out(const char *dir, const char *module, const char *suffix, char *path, size_t cap, ug_error *err)
{
    snprintf(path, cap, "%s/%s%s", dir, module, suffix);
    FILE *f = fopen(path, "w");
    if (!f)
        base_err_set(err, UG_EIO, "cannot write %s: %s", path, strerror(errno));
    return f;
}

static ug_status close_out(FILE *f, const char *path, ug_error *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return base_err_set(err, UG_EIO, "cannot write %s: %s", path, strerror(errno));
    return UG_OK;
}

static ug_status write_header(const ug_aot *a, const char *dir, ug_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, a->module, ".h", path, sizeof path, err);
    if (!f)
        return UG_EIO;
    fprintf(f, "/* %s.h — generated by ufuncgen-aot %s; do not edit. */\n#ifndef %s_UFUNCGEN_AOT_H\n"
               "#define %s_UFUNCGEN_AOT_H\n\n#include <ufuncgen/ufuncgen.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            a->module, UG_VERSION_STRING, a->module, a->module);
    fprintf(f, "/* Each returns a new ufunc (ug_ufunc_free), or NULL with the error on ctx\n"
               " * (UG_EUNSUPPORTED: this CPU runs none of the levels built). */\n");
    for (int i = 0; i < a->nk; i++)
        fprintf(f, "ug_ufunc *%s_%s(ug_context *ctx);\n", a->module, a->k[i].name);
    fprintf(f, "\n/* The CPU level this process loads, or NULL if the CPU runs none of them\n"
               " * (the message then says why). */\nconst char *%s_level(const char **message);\n\n"
               "#ifdef __cplusplus\n}\n#endif\n#endif\n", a->module);
    return close_out(f, path, err);
}

static ug_status write_c(const ug_aot *a, const char *dir, const char *const *levels, int nlevels, ug_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, a->module, ".c", path, sizeof path, err);
    if (!f)
        return UG_EIO;
    const char *m = a->module;
    fprintf(f, "/* %s.c — generated by ufuncgen-aot %s; do not edit.\n * The loops are in %s_loops.a; link "
               "libufuncgen_runtime.a (or libufuncgen.a), -lmvec -lm, OpenMP. */\n"
               "#include <pthread.h>\n#include <stddef.h>\n\n#include <ufuncgen/aot.h>\n\n#include \"%s.h\"\n\n",
            m, UG_VERSION_STRING, m, m);
    fprintf(f, "/* Kernels without signatures are compiled at first use where ufuncgen's\n"
               " * compiler is linked (libufuncgen.a); else they have no loops. */\n"
               "#pragma weak ug_vectorize\n#pragma weak ug_guvectorize\n\n");
    fprintf(f, "#define NLEVELS %d\n\n", nlevels);
    for (int l = 0; l < nlevels; l++)
        level_check(f, levels[l], l);
    loops_target host;
    loops_level_target("host", &host);
    fprintf(f, "static const ug_prebuilt_level levels[NLEVELS] = {\n");
    for (int l = 0; l < nlevels; l++) {
        if (!strcmp(levels[l], "host"))
            fprintf(f, "    {\"host (%s)\", level_%d},\n", host.cpu, l);
        else
            fprintf(f, "    {\"%s\", level_%d},\n", levels[l], l);
    }
    fprintf(f, "};\n\nstatic pthread_once_t once = PTHREAD_ONCE_INIT;\nstatic int level = -1;\n"
               "static ug_error level_err;\n\nstatic void pick(void) { level = ug_prebuilt_pick(\"%s\", levels, "
               "NLEVELS, &level_err); }\n\n",
            m);
    fprintf(f, "const char *%s_level(const char **message)\n{\n    pthread_once(&once, pick);\n"
               "    if (message)\n        *message = level < 0 ? level_err.msg : NULL;\n"
               "    return level < 0 ? NULL : levels[level].name;\n}\n\n",
            m);
    for (int i = 0; i < a->nk; i++) {
        const aot_kernel *k = &a->k[i];
        const ug_ufunc *u = k->u;
        int nl = k->nsigs ? ug_ufunc_nloops(u) : 0;
        int nops = u->nin + u->nout;
        char slug[16];
        for (int j = 0; j < nl; j++) {
            fprintf(f, "static const ug_dtype %s_t%d[] = {", k->name, j);
            for (int t = 0; t < nops; t++) {
                fputs(t ? ", " : "", f);
                dtype_enum(f, u->loops[j]->types[t]);
            }
            fputs("};\n", f);
            for (int l = 0; l < nlevels; l++) {
                level_slug(levels[l], slug);
                fprintf(f, "void %s_%s_%d_%s(char **, const intptr_t *, const intptr_t *, void *);\n", m, k->name, j,
                        slug);
            }
        }
        if (nl) {
            fprintf(f, "static const ug_loop_fn %s_fns[NLEVELS][%d] = {\n", k->name, nl);
            for (int l = 0; l < nlevels; l++) {
                level_slug(levels[l], slug);
                fputs("    {", f);
                for (int j = 0; j < nl; j++)
                    fprintf(f, "%s%s_%s_%d_%s", j ? ", " : "", m, k->name, j, slug);
                fputs("},\n", f);
            }
            fputs("};\n", f);
        }
        fprintf(f, "\nug_ufunc *%s_%s(ug_context *ctx)\n{\n", m, k->name);
        if (!nl) {
            fprintf(f, "    if (%s) {\n        ug_options o;\n        ug_options_init(&o);\n", k->layout ? "ug_guvectorize" : "ug_vectorize");
            fprintf(f, "        o.name = \"%s\";\n        o.kernel = ", k->name);
            c_string(f, k->def);
            fprintf(f, ";\n        o.target = %s;\n        o.fastmath = %d;\n        o.boundscheck = %d;\n"
                       "        o.identity = %s;\n        o.num_threads = %d;\n        o.math = %s;\n        o.locals = ",
                    target_enum(k->o.target), k->o.fastmath, k->o.boundscheck, identity_enum(k->o.identity),
                    k->o.num_threads, k->o.math == UG_MATH_LIBM ? "UG_MATH_LIBM" : "UG_MATH_FAST");
            c_string(f, k->locals);
            fputs(";\n        o.doc = ", f);
            c_string(f, k->doc);
            fputs(";\n        ug_ufunc *f = NULL;\n        static const char src[] = ", f);
            c_string(f, k->text);
            fputs(";\n", f);
            if (k->layout) {
                fputs("        ug_guvectorize(ctx, src, ", f);
                c_string(f, k->layout);
                fputs(", NULL, 0, &o, &f);\n", f);
            } else {
                fputs("        ug_vectorize(ctx, src, NULL, 0, &o, &f);\n", f);
            }
            fputs("        return f;\n    }\n", f);
        } else {
            fputs("    pthread_once(&once, pick);\n", f);
            fprintf(f, "    ug_prebuilt_loop loops[%d] = {\n", nl);
            for (int j = 0; j < nl; j++)
                fprintf(f, "        {%s_t%d, %#llxull, level < 0 ? NULL : %s_fns[level][%d]},\n", k->name, j,
                        (unsigned long long)u->loops[j]->boxed, k->name, j);
            fputs("    };\n", f);
        }
        fprintf(f, "    ug_prebuilt_kernel k = {\n        .name = \"%s\",\n        .doc = ", k->name);
        c_string(f, u->doc);
        fputs(",\n        .layout = ", f);
        c_string(f, k->layout ? u->layout->text : NULL);
        fprintf(f, ",\n        .nin = %d,\n        .nout = %d,\n        .written = %#llxull,\n        .target = %s,\n"
                   "        .identity = %s,\n        .num_threads = %d,\n",
                u->nin, u->nout, (unsigned long long)u->written, target_enum(k->o.target),
                identity_enum(k->o.identity), k->o.num_threads);
        if (nl)
            fprintf(f, "        .nloops = %d,\n        .loops = loops,\n        .unavailable = level < 0 ? "
                       "level_err.msg : NULL,\n",
                    nl);
        fputs("    };\n    ug_ufunc *f = NULL;\n    ug_prebuilt_ufunc(ctx, &k, &f);\n    return f;\n}\n\n", f);
    }
    return close_out(f, path, err);
}

/* Python's value of a fastmath option, as ufuncgen.vectorize takes it. */
static void py_fastmath(FILE *f, int fm)
{
    static const char *flags[] = {NULL, "reassoc", "nnan", "ninf", "nsz", "arcp", "contract", "afn"};
    if (fm == 0 || fm == UG_FASTMATH_ALL) {
        fputs(fm ? "Py_True" : "Py_False", f);
        return;
    }
    fputs("Py_BuildValue(\"(", f);
    for (int b = 1; b < 8; b++)
        if (fm >> b & 1)
            fputs("s", f);
    fputs(")\"", f);
    for (int b = 1; b < 8; b++)
        if (fm >> b & 1)
            fprintf(f, ", \"%s\"", flags[b]);
    fputs(")", f);
}

/* The Python module: one numpy.ufunc per kernel with signatures, made at
 * import; a kernel without them is made at its first access (module
 * __getattr__) by the ufuncgen package's JIT, or, where that is not
 * installed, is a stand-in whose calls say which dtypes needed compiling. */
static ug_status write_module(const ug_aot *a, const char *dir, ug_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, a->module, "_module.c", path, sizeof path, err);
    if (!f)
        return UG_EIO;
    const char *m = a->module;
    fprintf(f, "/* %s_module.c — generated by ufuncgen-aot %s; do not edit. The Python\n"
               " * extension module '%s': build it with %s.c, %s_loops.a,\n"
               " * ufuncgen/numpy.c and libufuncgen_runtime.a (python -m ufuncgen.aot --help). */\n"
               "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n#include <string.h>\n\n#include <ufuncgen/numpy.h>\n\n#include \"%s.h\"\n\n",
            m, UG_VERSION_STRING, m, m, m, m);
    fputs("static ug_context *ctx; /* lives for the process, as the ufuncs may */\n\n", f);
    /* kernels without signatures: the JIT's arguments */
    fputs("/* A kernel without signatures through ufuncgen's JIT: a new ufunc, or NULL\n"
          " * with ImportError when the package is not installed. */\nstatic PyObject *jit(const char *name)\n{\n", f);
    for (int i = 0; i < a->nk; i++) {
        const aot_kernel *k = &a->k[i];
        if (k->nsigs)
            continue;
        const ug_ufunc *u = k->u;
        fprintf(f, "    if (!strcmp(name, \"%s\")) {\n        PyObject *ug = PyImport_ImportModule(\"ufuncgen\");\n"
                   "        if (!ug)\n            return NULL;\n        PyObject *kw = Py_BuildValue(\"{s:s,s:z,s:s,s:i,s:s,s:z}\", "
                   "\"name\", \"%s\", \"kernel\", ",
                k->name, k->name);
        c_string(f, k->def);
        fprintf(f, ", \"target\", \"%s\", \"num_threads\", %d, \"math\", \"%s\", \"locals\", ",
                k->o.target == UG_TARGET_PARALLEL ? "parallel" : "cpu", k->o.num_threads,
                k->o.math == UG_MATH_LIBM ? "libm" : "fast");
        c_string(f, k->locals);
        fputs(");\n        if (kw) {\n", f);
        static const char *ids[] = {"Py_None", "PyLong_FromLong(0)", "PyLong_FromLong(1)", "PyLong_FromLong(-1)",
                                    "PyUnicode_FromString(\"reorderable\")"};
        fprintf(f, "            PyObject *v = %s;\n            PyDict_SetItemString(kw, \"identity\", v);\n", ids[k->o.identity]);
        fputs("            v = ", f);
        py_fastmath(f, k->o.fastmath);
        fputs(";\n            PyDict_SetItemString(kw, \"fastmath\", v);\n", f);
        fprintf(f, "            PyDict_SetItemString(kw, \"boundscheck\", %s);\n", k->o.boundscheck ? "Py_True" : "Py_False");
        fputs("        }\n        static const char src[] = ", f);
        c_string(f, k->text);
        fputs(";\n", f);
        if (k->layout) {
            fputs("        PyObject *args = Py_BuildValue(\"(ss)\", src, ", f);
            c_string(f, u->layout->text);
            fputs(");\n        PyObject *fn = PyObject_GetAttrString(ug, \"guvectorize\");\n", f);
        } else {
            fputs("        PyObject *args = Py_BuildValue(\"(s)\", src);\n"
                  "        PyObject *fn = PyObject_GetAttrString(ug, \"vectorize\");\n", f);
        }
        fputs("        PyObject *r = kw && args && fn ? PyObject_Call(fn, args, kw) : NULL;\n"
              "        Py_XDECREF(fn);\n        Py_XDECREF(args);\n        Py_XDECREF(kw);\n        Py_DECREF(ug);\n"
              "        return r;\n    }\n", f);
    }
    fputs("    PyErr_SetString(PyExc_AttributeError, name);\n    return NULL;\n}\n\n", f);
    fprintf(f,
        "static const char stand_in[] =\n"
        "    \"class NeedsCompiler:\\n\"\n"
        "    \"    def __init__(self, module, name):\\n\"\n"
        "    \"        self.module, self.__name__ = module, name\\n\"\n"
        "    \"    def __call__(self, *args, **kwargs):\\n\"\n"
        "    \"        import numpy as np\\n\"\n"
        "    \"        dts = ', '.join(str(np.asarray(x).dtype) for x in args)\\n\"\n"
        "    \"        raise TypeError(f'kernel {self.__name__!r} of module {self.module!r} was compiled ahead of time '\\n\"\n"
        "    \"                        f'without signatures; its loop for ({dts}) is compiled at first use, which needs '\\n\"\n"
        "    \"                        'the ufuncgen package (pip install ufuncgen), not installed here')\\n\"\n"
        "    \"    def __repr__(self):\\n\"\n"
        "    \"        return f'<kernel {self.__name__!r} of {self.module!r}: not compiled (no ufuncgen)>'\\n\";\n\n"
        "/* Module __getattr__: a kernel without signatures, made at first access. */\n"
        "static PyObject *getattr(PyObject *mod, PyObject *nameobj)\n{\n"
        "    const char *name = PyUnicode_AsUTF8(nameobj);\n    if (!name)\n        return NULL;\n"
        "    PyObject *r = jit(name);\n"
        "    if (!r && PyErr_ExceptionMatches(PyExc_ImportError)) { /* no ufuncgen: the stand-in */\n"
        "        PyErr_Clear();\n        PyObject *g = PyDict_New();\n"
        "        PyObject *ok = g ? PyRun_String(stand_in, Py_file_input, g, g) : NULL;\n"
        "        PyObject *cls = ok ? PyDict_GetItemString(g, \"NeedsCompiler\") : NULL;\n"
        "        r = cls ? PyObject_CallFunction(cls, \"ss\", \"%s\", name) : NULL;\n"
        "        Py_XDECREF(ok);\n        Py_XDECREF(g);\n    } else if (!r && PyErr_ExceptionMatches(PyExc_AttributeError)) {\n"
        "        PyErr_Clear();\n        return PyErr_Format(PyExc_AttributeError, \"module '%s' has no attribute '%%s'\", name);\n"
        "    }\n"
        "    if (r && PyObject_SetAttr(mod, nameobj, r) < 0)\n        Py_CLEAR(r);\n    return r;\n}\n\n",
        m, m);
    fprintf(f, "static PyMethodDef methods[] = {\n    {\"__getattr__\", getattr, METH_O, NULL},\n    {NULL, NULL, 0, NULL},\n};\n\n"
               "static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, \"%s\",\n"
               "    \"ufuncs compiled ahead of time by ufuncgen (CPU level: see cpu_level).\", -1, methods};\n\n", m);
    fprintf(f, "PyMODINIT_FUNC PyInit_%s(void)\n{\n    const char *why = NULL;\n    const char *lv = %s_level(&why);\n"
               "    if (!lv) {\n        PyErr_SetString(PyExc_ImportError, why);\n        return NULL;\n    }\n"
               "    PyObject *m = PyModule_Create(&def);\n    if (!m || PyModule_AddStringConstant(m, \"cpu_level\", lv) < 0)\n"
               "        return NULL;\n    if (!ctx && !(ctx = ug_context_new(NULL))) {\n        Py_DECREF(m);\n        return PyErr_NoMemory();\n    }\n",
            m, m);
    for (int i = 0; i < a->nk; i++) {
        const aot_kernel *k = &a->k[i];
        if (!k->nsigs)
            continue;
        fprintf(f, "    {\n        ug_ufunc *f = %s_%s(ctx);\n        PyObject *uf = f ? ug_numpy_ufunc(f) : "
                   "ug_numpy_raise(ug_errcode(ctx), ug_errmsg(ctx), -1, -1, NULL, NULL);\n"
                   "        if (!uf || PyModule_AddObject(m, \"%s\", uf) < 0) {\n            Py_XDECREF(uf);\n"
                   "            Py_DECREF(m);\n            return NULL;\n        }\n    }\n",
                m, k->name, k->name);
    }
    fputs("    return m;\n}\n", f);
    return close_out(f, path, err);
}

/* How much of the CPU a level's code uses, for the order the module tries
 * them in: x86-64-vN is N; the host is the highest level its features
 * reach, plus a half (it also uses what lies beyond that level). */
static double level_rank(const char *level)
{
    if (strcmp(level, "host"))
        return level[strlen(level) - 1] - '0';
    loops_target t;
    loops_level_target("host", &t);
    char f[4096];
    snprintf(f, sizeof f, "%s,", t.features);
    static const char *const need[][5] = {{"+sse4.2,", "+popcnt,", "+ssse3,", NULL},
                                          {"+avx2,", "+fma,", "+bmi2,", "+movbe,", NULL},
                                          {"+avx512f,", "+avx512bw,", "+avx512dq,", "+avx512vl,", NULL}};
    int rank = 1;
    for (int r = 0; r < 3; r++) {
        for (int k = 0; need[r][k]; k++)
            if (!strstr(f, need[r][k]))
                return rank + 0.5;
        rank = r + 2;
    }
    return rank + 0.5;
}

UG_API ug_status ug_aot_write(ug_aot *a, const char *dir, const char *const *levels_in, int nlevels)
{
    if (!a)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(a->ctx);
    if (!dir || !levels_in || nlevels < 1 || nlevels > 8)
        return base_err_set(err, UG_EINVAL, "ug_aot_write: no directory, or %d CPU levels (1 to 8)", nlevels);
    const char *levels[8];
    for (int l = 0; l < nlevels; l++) /* best first, whatever order they came in (insertion sort) */
        for (int j = l; j >= 0; j--) {
            if (j == 0 || !levels_in[l] || (levels[j - 1] && level_rank(levels[j - 1]) >= level_rank(levels_in[l]))) {
                levels[j] = levels_in[l];
                break;
            }
            levels[j] = levels[j - 1];
        }
    loops_target targets[8];
    for (int l = 0; l < nlevels; l++) {
        if (!levels[l] || !loops_level_target(levels[l], &targets[l]))
            return base_err_set(err, UG_EINVAL, "unknown CPU level '%s' (host, x86-64-v2, x86-64-v3, x86-64-v4)",
                                levels[l] ? levels[l] : "(null)");
        for (int j = 0; j < l; j++)
            if (!strcmp(levels[j], levels[l]))
                return base_err_set(err, UG_EINVAL, "CPU level '%s' is listed twice", levels[l]);
    }
    int total = 0;
    for (int i = 0; i < a->nk; i++)
        total += a->k[i].nsigs ? ug_ufunc_nloops(a->k[i].u) * nlevels : 0;
    member *mem = calloc((size_t)total + 1, sizeof *mem);
    if (!mem)
        return base_err_set(err, UG_ENOMEM, "out of memory");
    int n = 0;
    ug_status st = UG_OK;
    for (int l = 0; st == UG_OK && l < nlevels; l++) {
        char slug[16];
        level_slug(levels[l], slug);
        for (int i = 0; st == UG_OK && i < a->nk; i++) {
            aot_kernel *k = &a->k[i];
            for (int j = 0; st == UG_OK && k->nsigs && j < ug_ufunc_nloops(k->u); j++) {
                core_loop *rec = k->u->loops[j];
                kernel_typed *tk = NULL;
                member *mb = &mem[n];
                snprintf(mb->symbol, sizeof mb->symbol, "%s_%s_%d_%s", a->module, k->name, j, slug);
                st = drv_infer(k->u, rec->types, rec->boxed, false, &tk, err);
                if (st == UG_OK)
                    st = drv_compile(k->u, tk, rec->types, mb->symbol, NULL, NULL, &targets[l], &mb->obj, &mb->size,
                                     err);
                kernel_typed_free(tk);
                if (st == UG_OK)
                    n++;
                else {
                    char msg[sizeof err->msg];
                    snprintf(msg, sizeof msg, "%s", err->msg);
                    base_err_set(err, st, "kernel '%s', loop %s, CPU level %s: %s", k->name, rec->sig, levels[l], msg);
                }
            }
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_loops.a", dir, a->module);
    if (st == UG_OK)
        st = write_archive(path, mem, n, err);
    for (int i = 0; i < n; i++)
        free(mem[i].obj);
    free(mem);
    if (st == UG_OK)
        st = write_header(a, dir, err);
    if (st == UG_OK)
        st = write_c(a, dir, levels, nlevels, err);
    if (st == UG_OK)
        st = write_module(a, dir, err);
    return st;
}
