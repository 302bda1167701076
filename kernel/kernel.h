/* kernel.h — internal header of the kernel language (kernel/).
 *
 * Stages, one file each, one entry point each:
 *   lex.c     source text → token array (with INDENT/DEDENT/NEWLINE)   kernel_lex
 *   parse.c   tokens → AST module (all defs + lambdas)                  kernel_parse
 *   infer.c   module + kernel name + argument types → typed kernel     kernel_infer
 *             (steps 3 and 5 of inference in their own files, private
 *             header infer.h:)
 *   assigned.c  definite assignment: every local assigned before use
 *   concrete.c  concrete types: weak literals and values made concrete
 *   builtins.c  the names callable without import (math, np.*)  kernel_builtin_lookup
 *   arena.c   the bump allocator of modules and typed kernels        kernel_arena_*
 *   diag.c    error formatting with source line and caret              kernel_error_at
 *   dump.c    debug printing of AST and types (UFUNCGEN_DUMP=ast,types) kernel_dump
 *   writes.c  which parameters a kernel stores into                    kernel_written_params
 *
 * Memory: every node, token and string of one module lives in the module's
 * arena (kernel_module.arena) and is freed by kernel_module_free. A typed
 * kernel (kernel_typed) owns its own arena with deep copies of the functions
 * it specialises, so it outlives nothing but itself: free with
 * kernel_typed_free.
 *
 * THE CONTRACT WITH loops/ (lowering) is the section "Typed AST invariants"
 * below: lowering relies only on what is written there.
 */
#ifndef UG_KERNEL_H
#define UG_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ufuncgen/ufuncgen.h"

/* Language limits past which a kernel is a positioned error. */
#define KERNEL_MAX_LOOP_DEPTH 64 /* loops nested in one function (UG_EUNSUPPORTED, at type checking) */

/* ======================================================================
 * arena.c — bump allocator (kernel/ only: modules and typed kernels)
 * ====================================================================== */

typedef struct kernel_arena kernel_arena;
kernel_arena *kernel_arena_new(void);
void kernel_arena_free(kernel_arena *a); /* accepts NULL */
void *kernel_arena_alloc(kernel_arena *a, size_t n); /* zeroed, 16-aligned; NULL only on OOM */
char *kernel_arena_strndup(kernel_arena *a, const char *s, size_t n);

/* ======================================================================
 * Source positions and diagnostics (diag.c)
 * ====================================================================== */

typedef struct kernel_pos {
    int line;   /* 1-based */
    int col;    /* 1-based, in characters (UTF-8 code points) */
    int offset; /* byte offset into the source */
    int len;    /* length in bytes of the token (for carets; >= 1) */
} kernel_pos;

typedef struct kernel_source {
    const char *text; /* UTF-8, NUL-terminated; not owned */
    size_t len;
} kernel_source;

/* Fill err with code, line, column and a message of the form
 *   kernel 'dot', line 4, column 17: cannot add float64 and array(float64, 1d)
 *           acc += a[i] * b
 *                         ^
 * kname may be NULL (before a kernel is known): then "line 4, column 17: ...".
 * Returns code. */
ug_status kernel_error_at(ug_error *err, ug_status code, const kernel_source *src, const char *kname,
                          kernel_pos pos, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ======================================================================
 * Types
 * ====================================================================== */

typedef enum kernel_tkind {
    KT_VOID = 0,  /* no value: statements, bare return, gufunc kernels' result */
    KT_SCALAR,    /* a number of dtype .dt */
    KT_ARRAY,     /* an array argument: .dt elements, .ndim dims (gufunc arguments only) */
    KT_SHAPE,     /* a.shape: a tuple of .ndim int64 values (only indexed or unpacked) */
    KT_RANGE      /* range(...) in a for header (never a value elsewhere) */
} kernel_tkind;

typedef struct kernel_type {
    uint8_t kind;  /* kernel_tkind */
    int8_t dt;     /* ug_dtype for KT_SCALAR/KT_ARRAY; UG_DTYPE_NONE otherwise */
    uint8_t ndim;  /* KT_ARRAY, KT_SHAPE */
    uint8_t weak;  /* KT_SCALAR: the value is a Python literal (NEP 50 weak int/float/bool) */
} kernel_type;

/* ======================================================================
 * Tokens (lex.c)
 * ====================================================================== */

typedef enum kernel_tok {
    TK_EOF = 0, TK_NEWLINE, TK_INDENT, TK_DEDENT,
    TK_NAME, TK_INT, TK_FLOAT, TK_IMAG, TK_STRING,
    /* keywords */
    TK_DEF, TK_RETURN, TK_IF, TK_ELIF, TK_ELSE, TK_FOR, TK_IN, TK_WHILE, TK_BREAK, TK_CONTINUE,
    TK_PASS, TK_AND, TK_OR, TK_NOT, TK_LAMBDA, TK_TRUE, TK_FALSE, TK_NONE, TK_IS,
    /* punctuation and operators */
    TK_LPAREN, TK_RPAREN, TK_LBRACKET, TK_RBRACKET, TK_COMMA, TK_COLON, TK_DOT, TK_SEMI, TK_ARROW, TK_AT,
    TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_DSLASH, TK_PERCENT, TK_DSTAR,
    TK_AMP, TK_PIPE, TK_CARET, TK_TILDE, TK_LSHIFT, TK_RSHIFT,
    TK_LT, TK_GT, TK_LE, TK_GE, TK_EQ, TK_NE,
    TK_ASSIGN,
    TK_PLUSEQ, TK_MINUSEQ, TK_STAREQ, TK_SLASHEQ, TK_DSLASHEQ, TK_PERCENTEQ, TK_DSTAREQ,
    TK_AMPEQ, TK_PIPEEQ, TK_CARETEQ, TK_LSHIFTEQ, TK_RSHIFTEQ,
    TK_NTOKENS
} kernel_tok;

typedef struct kernel_token {
    uint16_t kind;   /* kernel_tok */
    kernel_pos pos;
    const char *text; /* points into the source (not NUL-terminated; pos.len bytes) */
    union {
        int64_t i;    /* TK_INT (value fits in uint64: stored as bits; .big set if > INT64_MAX) */
        double f;     /* TK_FLOAT; TK_IMAG: the imaginary part (2.5j) */
    } v;
    uint8_t big;      /* TK_INT only: literal exceeds INT64_MAX (still <= UINT64_MAX) */
} kernel_token;

/* Tokenize. On success *toks is an array of *ntoks tokens in the arena,
 * ending with TK_EOF. Errors: UG_ESYNTAX with position (bad character,
 * inconsistent dedent, unterminated string, tabs mixed inconsistently,
 * integer literal > 2**64-1). */
ug_status kernel_lex(kernel_arena *a, const kernel_source *src, kernel_token **toks, int *ntoks, ug_error *err);

/* ======================================================================
 * AST (parse.c)
 * ====================================================================== */

typedef enum kernel_nkind {
    /* ---- expressions ---- */
    N_INT,       /* .ival (.big for > INT64_MAX literals) */
    N_FLOAT,     /* .fval */
    N_BOOL,      /* .ival 0/1 */
    N_IMAG,      /* an imaginary literal (2.5j): .fval the imaginary part */
    N_NAME,      /* .name; after inference: .sym says what it is */
    N_UNARY,     /* .op (TK_MINUS, TK_PLUS, TK_TILDE, TK_NOT), .a */
    N_BINARY,    /* .op (TK_PLUS .. TK_RSHIFT arithmetic/bitwise), .a, .b */
    N_COMPARE,   /* chained: .kids[0] op[0] kids[1] op[1] kids[2] ...; .nkids >= 2; .cmpops[nkids-1] */
    N_BOOLOP,    /* .op TK_AND / TK_OR, .a, .b (left-assoc chains are nested) */
    N_IFEXP,     /* .a if .cond else .b */
    N_CALL,      /* .name (callee, "exp" / "np.exp" normalised to "exp"), .kids args, .nkids */
    N_INDEX,     /* .a (array expr: N_NAME of an array, or N_ATTR shape), .kids indices, .nkids */
    N_ATTR,      /* .a (N_NAME), .name ("shape", "size", "ndim") */
    N_TUPLE,     /* .kids: an assignment target / unpacking source, or a shape (np.zeros((n, m))) */
    N_SLICE,     /* inside N_INDEX only: lo:hi:step as .a, .b, .cond (each may be NULL) */
    N_STR,       /* a string literal: .name its text (only as a message or print argument) */
    /* ---- statements ---- */
    N_ASSIGN,    /* .kids[0] target (N_NAME, N_INDEX or N_TUPLE of N_NAME), .b value */
    N_AUGASSIGN, /* .op (the binary operator: TK_PLUS for +=), .kids[0] target (N_NAME/N_INDEX), .b value */
    N_EXPRSTMT,  /* .a (a call or docstring; docstrings are dropped by the parser) */
    N_IF,        /* .cond, .body, .orelse (elif chains are nested N_IF in orelse) */
    N_FOR,       /* .kids[0] loop target (N_NAME, or N_TUPLE of N_NAME), .body; then either
                    range args in .range[0..nrange-1] (nrange >= 1; .ival 1: reversed(range(...)))
                    or nrange == 0 and an iterable: .a the array iterated, or for
                    enumerate/zip .iter (FOR_ENUMERATE: .a array, .b start or NULL;
                    FOR_ZIP: .kids[1..] the arrays; FOR_NDINDEX: .kids[1..] the shape) */
    N_WHILE,     /* .cond, .body */
    N_BREAK, N_CONTINUE, N_PASS,
    N_RETURN,    /* .a value or NULL */
    N_RAISE,     /* raise NAME(["msg"]): .name exception class, .str message or NULL */
    N_ASSERT,    /* assert .cond [, "msg"]: .str message or NULL */
    N_PRINT,     /* print(args): .kids numbers or N_STR */
    N_BLOCK,     /* .kids statements, .nkids */
    /* ---- inserted by inference only ---- */
    N_CAST,      /* .a converted to .ty (explicit casts int64(x) etc. also become N_CAST) */
    N_NKINDS
} kernel_nkind;

/* What a for loop iterates over when it is not range(). */
typedef enum kernel_fortype {
    FOR_ARRAY = 0, /* for x in a: elements (1-d) or rows (views) */
    FOR_ENUMERATE, /* for i, x in enumerate(a[, start]) */
    FOR_ZIP,       /* for x, y in zip(a, b, ...) */
    FOR_NDINDEX    /* for idx in np.ndindex(shape) */
} kernel_fortype;

/* What a name refers to after inference. */
typedef enum kernel_symkind {
    SYM_NONE = 0,
    SYM_LOCAL,   /* .index into kernel_func.locals */
    SYM_PARAM,   /* .index into kernel_func.params (a separate index space from locals;
                    scalar params may be assigned to: lowering gives each a stack slot) */
    SYM_CONST    /* pi, e, inf, nan: inference rewrites these to N_FLOAT, so lowering never sees SYM_CONST */
} kernel_symkind;

typedef struct kernel_node kernel_node;
typedef struct kernel_func kernel_func;

struct kernel_node {
    uint8_t kind;       /* kernel_nkind */
    uint16_t op;        /* kernel_tok of the operator where there is one */
    kernel_pos pos;     /* the token this node reports errors at (operator, name, keyword) */
    kernel_type ty;     /* set by inference: the type of the value (KT_VOID for statements) */
    kernel_type opty;   /* set by inference: the type the operation computes in (see invariants) */

    int64_t ival;
    double fval;
    uint8_t big;        /* N_INT literal above INT64_MAX */
    const char *name;   /* N_NAME, N_CALL callee, N_ATTR attribute (NUL-terminated, arena) */

    kernel_node *a, *b, *cond;
    kernel_node *body, *orelse; /* N_BLOCK */
    kernel_node **kids;
    int nkids;
    uint16_t *cmpops;   /* N_COMPARE: nkids-1 operators */
    kernel_type *cmptys; /* N_COMPARE after inference: nkids-1 pair computation types */
    kernel_node *range[3];
    int nrange;         /* N_FOR over range(): 1..3; 0 for other iterables */
    uint8_t iter;       /* N_FOR with nrange == 0: kernel_fortype */
    uint8_t prefixed;   /* N_NAME / N_CALL: written with a math./np./numpy. prefix (never a helper) */
    const char **kwnames; /* N_CALL: per kid, the keyword name or NULL (positional); NULL if none */
    const char *str;    /* N_RAISE / N_ASSERT message, N_STR text (decoded, NUL-terminated) */

    /* resolution (inference) */
    uint8_t symkind;    /* kernel_symkind for N_NAME */
    int index;          /* local / param index for N_NAME */
    int builtin;        /* N_CALL: kernel_builtin, or -1 for a helper call */
    kernel_func *callee; /* N_CALL of a helper: the specialised helper (in kernel_typed.funcs) */
};

typedef struct kernel_var {
    const char *name;
    kernel_type ty;     /* after inference */
    kernel_pos pos;     /* first assignment / parameter */
} kernel_var;

struct kernel_func {
    const char *name;
    kernel_pos pos;        /* the def / lambda keyword */
    const char *doc;       /* docstring or NULL */
    kernel_var *params;    /* nparams; .ty set by inference from the signature / call site */
    int nparams;
    kernel_var *locals;    /* set by inference: every assigned name and loop variable */
    int nlocals;
    kernel_node *body;     /* N_BLOCK; a lambda's body is N_BLOCK{N_RETURN expr} */
    kernel_type ret;       /* after inference: return type (KT_VOID if it never returns a value) */
    bool is_lambda;
    int src_begin, src_end; /* byte span of the def (or lambda) in the source, for cache keys */
};

/* A module-level constant: `NAME = <constant expression>` at the top level
 * (numbers, booleans, np.float32(...) style casts, unary minus, tuples of
 * them). A kernel reading NAME gets the expression, as if written there. */
typedef struct kernel_const {
    const char *name;
    kernel_node *value;
} kernel_const;

typedef struct kernel_module {
    kernel_arena *arena;
    kernel_source src;
    kernel_func **funcs;   /* in source order */
    int nfuncs;
    kernel_const *consts;  /* module-level constants, in source order (a later one wins) */
    int nconsts;
} kernel_module;

/* Parse a whole source (one or more defs, or a single lambda). At the top
 * level, decorator lines, `import`/`from` lines and docstrings are skipped,
 * and `name = lambda ...` names the lambda. Annotations are ignored;
 * `prange(...)` is accepted as `range(...)`. The module
 * keeps a pointer to src->text: the text must outlive it.
 * Errors: UG_ESYNTAX at the first offending token, naming an unclosed
 * bracket's opener ("')' expected (to close '(' at line 3)"). */
ug_status kernel_parse(const kernel_source *src, kernel_module **out /* OUT */, ug_error *err);
void kernel_module_free(kernel_module *m); /* accepts NULL */

/* Every def that f calls, transitively, by name (builtins excluded), f
 * first, each once. *out is allocated in the module's arena. Returns the count. */
int kernel_deps(const kernel_module *m, const kernel_func *f, const kernel_func ***out);

/* writes.c: bit k set if f stores into its parameter k (directly, through a
 * view of it, or through a helper), for k < 64. Syntactic: the same for
 * every signature. */
uint64_t kernel_written_params(const kernel_module *m, const kernel_func *f);

/* The kernel function: by name, else the only def, else the last def (or the lambda).
 * NULL with UG_ENAME in err if a named kernel does not exist. */
kernel_func *kernel_find(const kernel_module *m, const char *name, ug_error *err);

/* ======================================================================
 * Builtins (builtins.c): names callable without import
 * ====================================================================== */

typedef enum kernel_builtin {
    /* Python builtins */
    B_ABS, B_MIN, B_MAX, B_ROUND, B_INT, B_FLOAT, B_BOOL, B_LEN, B_RANGE, B_POW,
    /* float functions (argument converted to float as NumPy picks its loop:
       int8/uint8/bool → float16, int16/uint16 → float32, wider and Python
       ints → float64; floor/ceil/trunc keep integers) */
    B_EXP, B_EXP2, B_EXPM1, B_LOG, B_LOG2, B_LOG10, B_LOG1P, B_SQRT, B_CBRT,
    B_SIN, B_COS, B_TAN, B_ASIN, B_ACOS, B_ATAN, B_ATAN2,
    B_SINH, B_COSH, B_TANH, B_ASINH, B_ACOSH, B_ATANH,
    B_HYPOT, B_FLOOR, B_CEIL, B_TRUNC, B_RINT, B_FABS, B_COPYSIGN, B_FMOD,
    B_ERF, B_ERFC, B_GAMMA, B_LGAMMA,
    /* predicates (→ bool) */
    B_ISNAN, B_ISINF, B_ISFINITE,
    /* NumPy ufunc semantics */
    B_SIGN, B_MAXIMUM, B_MINIMUM, B_FMAX, B_FMIN,
    /* complex numbers: complex(re[, im]), np.conj / z.conjugate(), np.angle,
       np.real / z.real, np.imag / z.imag */
    B_COMPLEX, B_CONJ, B_ANGLE, B_REAL, B_IMAG,
    /* dtype casts: int8(x) ... float64(x); inference rewrites them to N_CAST */
    B_CAST,
    /* local arrays (see "Local arrays" in the invariants) */
    B_EMPTY, B_ZEROS, B_ONES, B_FULL, B_EMPTY_LIKE, B_ZEROS_LIKE, B_ONES_LIKE, B_FULL_LIKE,
    /* print(numbers and string literals): a statement, for debugging */
    B_PRINT,
    /* get_thread_id(): the thread running this item in a parallel call (0 when serial), int64 */
    B_THREAD_ID,
    /* array functions (see "Array functions" in the invariants); a method
       a.f(...) is the call f(a, ...). Reductions first (B_SUM .. B_COUNT_NONZERO). */
    B_SUM, B_PROD, B_MEAN, B_VAR, B_STD, B_AMIN, B_AMAX, B_ARGMIN, B_ARGMAX, B_ANY, B_ALL,
    B_NANSUM, B_NANPROD, B_NANMEAN, B_NANVAR, B_NANSTD, B_NANMIN, B_NANMAX, B_NANARGMIN, B_NANARGMAX,
    B_COUNT_NONZERO,
    /* order statistics: a scalar from a sorted copy */
    B_MEDIAN, B_NANMEDIAN, B_QUANTILE, B_NANQUANTILE, B_PERCENTILE, B_NANPERCENTILE,
    /* new arrays from arrays */
    B_WHERE, B_SORT, B_ARGSORT, B_PARTITION, B_UNIQUE, B_ARRAY, B_LIST, B_COPY,
    B_CUMSUM, B_CUMPROD, B_DIFF, B_DOT, B_VDOT, B_OUTER, B_NORM,
    /* a.sort() and a.fill(v): statements on an array */
    B_SORT_INPLACE, B_FILL,
    B_NBUILTINS
} kernel_builtin;

/* Lookup by normalised name ("exp"; "asin" and "arcsin" both give B_ASIN;
 * "power" and "pow" give B_POW). -1 if not a builtin. For dtype names
 * returns B_CAST and sets *cast_to. */
int kernel_builtin_lookup(const char *name, ug_dtype *cast_to);
const char *kernel_builtin_name(int b);

/* ======================================================================
 * Type inference (infer.c)
 * ====================================================================== */

/* One argument of the kernel as the signature gives it. */
typedef struct kernel_argtype {
    ug_dtype dt;
    int ndim;     /* 0: scalar; > 0: array with that many core dims (gufuncs) */
} kernel_argtype;

typedef struct kernel_typed {
    kernel_arena *arena;
    const kernel_source *src; /* borrowed from the module */
    kernel_func *kernel;      /* specialised copy of the kernel function (== funcs[0]) */
    kernel_func **funcs;      /* kernel first, then every specialised helper it (transitively) calls */
    int nfuncs;
    bool gufunc;              /* params are inputs then outputs; body returns nothing */
    bool fallible;            /* some path may stop the call with an error (raise, assert,
                                 a local array's size, a zero range step): lowering passes
                                 an error flag as with boundscheck */
    int nin, nout;
    ug_dtype out_dt;          /* scalar kernel: the declared (or inferred, if lazy) output dtype */
} kernel_typed;

typedef struct kernel_infer_opts {
    bool gufunc;           /* false: scalar kernel (params = inputs; return = the output) */
    int nin, nout;         /* gufunc: how params split; scalar: nin = nparams, nout = 1 */
    const kernel_argtype *args; /* nin + nout entries (scalar kernel: nin inputs, then the output) */
    bool infer_output;     /* scalar kernel, lazy: args[nin].dt is ignored; out_dt = inferred return type */
    const char *locals;    /* "s:float64,n:int32": fixed types of the kernel's locals (Numba's locals=), or NULL */
} kernel_infer_opts;

/* Type-check one specialisation. Helpers are specialised per distinct tuple
 * of argument types (recursion is an error: UG_ETYPE "recursive call").
 * Errors: UG_ENAME (unknown name / function), UG_ETYPE (with position), both
 * formatted by kernel_error_at with the kernel's name. */
ug_status kernel_infer(const kernel_module *m, const kernel_func *kernel, const kernel_infer_opts *o,
                       kernel_typed **out /* OUT */, ug_error *err);
void kernel_typed_free(kernel_typed *t); /* accepts NULL */

/* NumPy's NEP 50 promotion of two (possibly weak) scalar types. */
kernel_type kernel_promote(kernel_type a, kernel_type b);

/* ======================================================================
 * Typed AST invariants (what lowering may rely on after kernel_infer)
 * ======================================================================
 *
 * General
 *  - Every expression node has .ty set; statements have .ty = KT_VOID.
 *  - No node has .ty.weak set any more where lowering must pick a concrete
 *    LLVM type: weak literals are given concrete types (weak int next to a
 *    strong type takes that type; alone: int64; weak float: float64, or the
 *    strong float type next to it). N_INT/N_FLOAT/N_BOOL/N_IMAG nodes carry
 *    the concrete dtype in .ty.dt and lowering emits the constant in that
 *    type (N_INT of a float dtype means "this integer as a float"; N_IMAG
 *    is always complex; N_INT/N_FLOAT of a complex dtype have imaginary
 *    part 0; of float16, the literal rounded to binary16).
 *  - Implicit conversions are NOT inserted as nodes (except N_CAST for
 *    explicit casts and for int()/float()/bool()); lowering converts with
 *    loops' cast routine (NumPy astype 'unsafe' semantics, NaN-safe) from
 *    child .ty to the type stated below.
 *  - Constants pi/e/inf/nan became N_FLOAT.
 *
 * Expressions
 *  - N_NAME: .symkind SYM_LOCAL/SYM_PARAM with .index; .ty is the variable's type.
 *  - N_UNARY: operand converted to .opty; result .ty (== .opty except `not`: bool).
 *    `-x` on unsigned wraps; `~` on bool is logical not (NumPy invert);
 *    `not` yields bool of truthiness (x != 0; NaN is true).
 *  - N_BINARY: both operands converted to .opty; the result has .ty == .opty.
 *    (`/` of integers has opty float64; strong bools: + and * stay bool
 *    (NumPy's logical or / and), // % ** have opty int8 (NumPy's first
 *    loop), - int64; two weak bools (Python's): int64; & | ^ on bools stay
 *    bool; shifts on bool: int64.)
 *  - N_COMPARE: pair k (kids[k] cmpops[k] kids[k+1]) compares in .cmptys[k];
 *    result bool; chained pairs are combined with short-circuit `and`;
 *    each operand is evaluated at most once.
 *  - N_BOOLOP: Python semantics (x and y → x if not x else y); both operands
 *    converted to .ty (their promotion); truthiness tested on the operand's
 *    own type before conversion.
 *  - N_IFEXP: .cond tested for truthiness; .a and .b converted to .ty.
 *  - N_CALL builtin (.builtin >= 0): every argument converted to .opty
 *    (e.g. float64 for exp(int32), float16 for exp(int8)); result .ty (bool for predicates, else
 *    .opty; B_LEN: int64 (arg is an array, not converted); B_MIN/B_MAX take
 *    n >= 2 args). B_ROUND: half-to-even in .opty (float), like np.round.
 *  - Complex values (complex64/complex128) appear only in: N_BINARY + - * /
 *    ** (.opty complex), N_UNARY - + not, N_COMPARE == != (.cmptys
 *    complex), truthiness, casts, and the builtins B_ABS (.ty the part
 *    float), B_COMPLEX (args in .opty float64, .ty complex128), B_CONJ,
 *    B_REAL, B_IMAG (.ty the part float; on a real .opty: the value, zero),
 *    B_ANGLE (.ty the part float), B_POW, B_ISNAN/B_ISINF/B_ISFINITE and
 *    exp log log2 log10 sqrt sin cos tan sinh cosh tanh asin acos atan
 *    asinh acosh atanh expm1 log1p (.opty == .ty complex); complex arrays
 *    in np.where, lists, copy, astype and the array functions infer.c's
 *    complex_ok names (sums, means, variances, extremes and their indices,
 *    truthiness, running sums and products, diff) and linalg_ok names
 *    (dot / @, vdot, outer). Inference rejects every other use (the other
 *    array functions, ordering comparisons, //, %, bitwise operators,
 *    print) with a positioned error; float16 arrays take the array
 *    functions half_ok and linalg_ok name.
 *  - float16 (.ty/.opty float16) is computed in float32 and rounded by
 *    lowering after each operation, as NumPy's half loops do.
 *  - N_CALL helper (.builtin == -1): .callee is the specialised function;
 *    argument k converted to callee->params[k].ty (arrays pass through);
 *    result .ty == callee->ret.
 *  - N_INDEX of an array: .a is N_NAME (array param); .nkids == array ndim
 *    (or fewer: not supported → UG_ETYPE); indices converted to int64;
 *    negative indices wrap once (i + shape); result .ty scalar elem dtype.
 *    N_INDEX of a shape (a.shape[k]): .a is N_ATTR "shape"; kids[0] is any
 *    int expression (constant or not); result int64.
 *  - N_ATTR: "size" / "ndim" → int64 (as scalar); "shape" → KT_SHAPE (indexed,
 *    unpacked, stored in a local, a shape argument); "flat" (1-d only) and
 *    "T" → the array (flat of a 1-d array is itself; T reverses the axes).
 *
 * Arrays
 *  - An array expression is an array parameter, an array local, an N_INDEX
 *    with fewer int indices than axes or with N_SLICE kids (a view: .ty
 *    KT_ARRAY with one axis per slice and per unindexed trailing axis), an
 *    N_ATTR flat/T, or a local array: N_CALL with .builtin B_EMPTY ..
 *    B_FULL_LIKE, kids[0] the shape (int, N_TUPLE of ints, a KT_SHAPE
 *    value) or, for *_like, the model array; .b the fill value converted
 *    to .opty (the element dtype) or NULL; .ty the new array's type. Every
 *    local array makes the kernel fallible (a negative or huge size).
 *  - N_SLICE bounds (.a lo, .b hi, .cond step; each may be NULL) are int64;
 *    Python's clipping; a zero step raises ValueError at run time.
 *  - N_INDEX with .opty KT_SHAPE: kids[0] is a shape tuple indexing every
 *    axis (a[idx] with idx from np.ndindex).
 *  - N_ASSIGN to an N_INDEX of type KT_ARRAY is a slice store: a scalar
 *    value fills the view, an array value (ndim <= the view's) is copied
 *    with NumPy's broadcasting (checked at run time).
 *  - N_CAST: .a converted to .ty (explicit, NumPy unsafe cast).
 *
 * Array functions (N_CALL with .builtin >= B_SUM; a method a.f(...) is
 * rewritten to the call f(a, ...), min(a)/max(a) with one array to B_AMIN/
 * B_AMAX; keywords are sorted into place and dropped: no .kwnames, no
 * receiver .a; .name is the canonical spelling)
 *  - Reductions B_SUM .. B_COUNT_NONZERO: kids[0] the array operand (any
 *    array expression, element-wise ones included); .ival the axis (0 ..
 *    ndim-1) or -1 for the whole array (a 1-d operand is always -1); .b the
 *    ddof of var/std (int64) or NULL; .opty the dtype it accumulates in
 *    (NumPy's: int64/uint64 sums of ints and bools, float64 means of ints;
 *    var/std of complex: the parts' real dtype, the mean taken in the
 *    elements' complex one);
 *    .ty a number, or with an axis an array of ndim - 1.
 *  - B_MEDIAN .. B_NANPERCENTILE: kids[0] the array; .b q (float64) or NULL;
 *    .ival the axis as for reductions; .opty the dtype of the result (float64
 *    of integer and bool data, else the elements' float or complex dtype),
 *    .ty a number or an array of ndim - 1.
 *  - B_WHERE: kids[0..2] condition, x, y; element-wise (like N_BINARY) when
 *    .ty is an array, else a select of numbers; x and y converted to .opty.
 *  - B_LIST ([x, y, ...]): kids the numbers, converted to .opty; .ty a 1-d array.
 *  - B_ARRAY / B_COPY: kids[0] an array; .opty the new dtype (astype).
 *    B_SORT, B_ARGSORT (n-d: along the last axis), B_PARTITION (.b kth: an
 *    int or a 1-d int array),
 *    B_SORT_INPLACE (a.sort(): .ty void), B_DIFF (.fval the n, .ival the
 *    axis 0 .. ndim-1), B_CUMSUM, B_CUMPROD (.ival the axis, or -1: the
 *    array flat, .ty 1-d), B_UNIQUE: kids[0] the array, .opty the element
 *    dtype worked in. B_FILL: kids[0] the array, .b the value (to .opty).
 *  - B_DOT / B_OUTER: kids[0..1] arrays (1-d or 2-d), .opty their promoted
 *    dtype; .ty a number (vector . vector) or an array. B_VDOT: kids[0..1]
 *    arrays of any shape, taken flat (the first conjugated), .opty as
 *    B_DOT's, .ty a number. B_NORM: kids[0]
 *    the array, .fval the ord (NaN for None/'fro', KERNEL_NORM_NUC for
 *    'nuc', else the number, +-inf),
 *    .ival -1 or -2 (the array whole: a vector's or a matrix's norm; .ty a
 *    number; -2 when axis= named its axes) or the axis of a 2-d array whose
 *    lines get vector norms (.ty a 1-d array); .opty the float dtype of the
 *    result (of complex data its parts' real dtype).
 *  - N_INDEX with .opty KT_ARRAY: kids[0] a bool mask of the array's shape
 *    (a[mask]) or, on a 1-d array, a 1-d int array of indices (a[idx]); as
 *    a value it is a new 1-d array; as a store target only the mask form.
 *  - N_ASSIGN to an N_TUPLE with .opty KT_ARRAY: `x, y = a` unpacks a 1-d
 *    array (its length checked at run time); .opty is a's type.
 *  - Every array function that makes a new array, and the reductions that
 *    can fail (min/max/argmin of empty, all-NaN nanargmin), make the
 *    kernel fallible.
 *
 * Statements
 *  - N_ASSIGN to N_NAME: value converted to the local's type (.kids[0].ty).
 *    to N_INDEX: value converted to the array's element dtype.
 *    to N_TUPLE (only `m, n = A.shape` or `a, b = x, y`): .b is N_ATTR shape
 *    or N_TUPLE with the same count; each element converted to its target.
 *  - N_AUGASSIGN: target op= value computes `target op value` in .opty and
 *    converts back to the target's type (NumPy in-place semantics: casting).
 *  - N_FOR over range (nrange >= 1): loop variable is an int64 local; range
 *    args converted to int64; Python semantics (step may be negative; step 0
 *    → UG_ETYPE if constant, else ValueError at run time: the kernel is
 *    fallible); .ival 1: reversed(range(...)), the same values last first;
 *    loop var after the loop keeps its last value.
 *  - N_FOR over an iterable (nrange == 0): FOR_ARRAY .a an array expression;
 *    the target (N_NAME) is its element type (1-d: the dtype) or a row view
 *    (an array local of ndim - 1). FOR_ENUMERATE: target N_TUPLE (int64
 *    index local, element local), .b the start (int64) or NULL. FOR_ZIP:
 *    target N_TUPLE, one local per array in kids[1..]; the loop runs over
 *    the shortest. FOR_NDINDEX: kids[1..] a shape (one KT_SHAPE value or
 *    N_TUPLE, or one int per axis); the target is a KT_SHAPE local or an
 *    N_TUPLE of int64 locals. Arrays iterated are evaluated once, before
 *    the loop.
 *  - N_RAISE (.name a Python exception class the language knows, .str the
 *    message or NULL) and N_ASSERT (.cond, .str) stop the call with
 *    UG_ERAISE; a kernel with either is fallible.
 *  - N_EXPRSTMT: .a is any expression, also a bare array name or a.shape
 *    (KT_ARRAY / KT_SHAPE), which has no effect.
 *  - N_RETURN: value converted to the function's .ret (for the kernel of a
 *    scalar ufunc: the output dtype, NumPy 'unsafe' cast). Gufunc kernels
 *    have bare returns only.
 *  - Every local is assigned before use on every path, assuming loop bodies
 *    run (a loop variable or loop-carried value may be read after / across
 *    iterations, as in Python and Numba), or inference rejects the kernel
 *    (UG_ENAME "local 'x' may be used before assignment"). Lowering must
 *    zero-initialise locals, so a loop that runs zero times leaves 0 there.
 *  - A local holds one type: a scalar, an array view (KT_ARRAY: dtype and
 *    ndim fixed) or a shape tuple (KT_SHAPE). Assigning an array to a local
 *    copies the view (base, shape, strides), never the data.
 *  - A local assigned a bare literal chain (0, -1.5, True) takes the
 *    literal's own type (int64, float64, bool), as Numba types it; then
 *    unification as for any value.
 *  - A function that returns a value (scalar kernels; helpers with `return e`)
 *    never reaches the end of its body: inference rejects it (UG_ETYPE "may
 *    reach its end without returning a value"). A helper never mixes `return e`
 *    and bare `return`.
 *  - `a, b = x, y`: every value is evaluated before any target is stored.
 *  - A scalar parameter the body assigns to is shadowed by a local of the
 *    same name (Python rebinding): the body's first statements are
 *    N_ASSIGN(local <- N_NAME SYM_PARAM), and every other reference is SYM_LOCAL.
 *
 * Helpers
 *  - funcs[] may hold several specialisations of one def, with the same name
 *    (different argument types; a weak literal argument is a different key
 *    from a strong one of the same dtype). Identify them by pointer.
 *  - A helper's parameter .ty is concrete; arrays arrive as KT_ARRAY params.
 *
 * Errors (added by the front end)
 *  - Messages name the kernel given to kernel_infer, also for errors inside a
 *    helper; line, column and caret point at the helper's source.
 *  - `break`/`continue` outside a loop is UG_ESYNTAX (from kernel_parse).
 */
#define KERNEL_NORM_NUC 0.5 /* B_NORM's .fval for ord='nuc' (no vector ord is 0.5) */

/* ======================================================================
 * dump.c
 * ====================================================================== */
#include <stdio.h>
void kernel_dump_module(FILE *f, const kernel_module *m);
void kernel_dump_typed(FILE *f, const kernel_typed *t);
const char *kernel_type_str(kernel_type t, char *buf, size_t n); /* "float64", "array(float64, 1d)" */

#endif /* UG_KERNEL_H */
