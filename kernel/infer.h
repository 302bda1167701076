/* infer.h — private to the type inference files of kernel/ (infer.c,
 * assigned.c, concrete.c): the state of one inference and the helpers they
 * share. Not part of kernel.h's contract.
 */
#ifndef UG_KERNEL_INFER_H
#define UG_KERNEL_INFER_H

#include "base/base.h"
#include "kernel/kernel.h"

enum role { ROLE_SCALAR, ROLE_GUFUNC, ROLE_HELPER };

typedef struct spec {
    const kernel_func *orig;
    kernel_type *args;
    int nargs;
    kernel_func *fn;
    bool busy;
    struct spec *next;
} spec;

/* The state of one function being specialised. */
typedef struct fstate {
    kernel_func *fn;
    int role;
    kernel_type *pt;       /* parameter types as read (may be weak for helpers) */
    kernel_type *lt;       /* local types joined so far (KT_VOID: nothing assigned yet) */
    bool *fixed;           /* per local: its type was given (locals=), values are converted to it */
    kernel_type ret;       /* joined return type (helpers, lazy scalar kernels) */
    bool fixed_ret;        /* scalar kernel with a declared output */
    bool any_value_ret, any_bare_ret;
    bool changed;
    bool unresolved;       /* this pass read a local that has no type yet (assigned later in a loop) */
    bool strict;           /* final check: reading an untyped local is an error */
    bool falls_off;        /* the end of the body is reachable */
    int loop_depth;        /* loops around the statement being typed */
    const char *locals_spec; /* the kernel's locals= ("s:float64,n:int32"), or NULL */
} fstate;

typedef struct infer {
    const kernel_module *m;
    kernel_typed *t;
    kernel_arena *a;
    ug_error *err;
    const char *kname;
    spec *specs;
    int const_depth;       /* module constants being substituted (bounds A = B, B = A) */
    bool store_target;     /* typing the target of a store (a[mask] is allowed there) */
    bool failed;
} infer;

static inline kernel_type scalar(int dt, bool weak) { return (kernel_type){KT_SCALAR, (int8_t)dt, 0, weak}; }
static const kernel_type T_VOID = {KT_VOID, UG_DTYPE_NONE, 0, 0};

static inline bool is_scalar(kernel_type t) { return t.kind == KT_SCALAR; }
static inline int kind_of(kernel_type t) { return base_dtype_kind((ug_dtype)t.dt); }
static inline bool is_float(kernel_type t) { return is_scalar(t) && kind_of(t) == BASE_KIND_FLOAT; }
static inline bool is_bool(kernel_type t) { return is_scalar(t) && kind_of(t) == BASE_KIND_BOOL; }
static inline bool is_complex(kernel_type t) { return is_scalar(t) && kind_of(t) == BASE_KIND_COMPLEX; }
static inline bool is_inexact(kernel_type t) { return is_float(t) || is_complex(t); }
static inline bool is_intlike(kernel_type t) { return is_scalar(t) && kind_of(t) < BASE_KIND_FLOAT; }
static inline bool same_type(kernel_type a, kernel_type b)
{
    return a.kind == b.kind && a.dt == b.dt && a.ndim == b.ndim && a.weak == b.weak;
}
static inline kernel_type kernel_settle(kernel_type t)
{
    t.weak = 0;
    return t;
}

/* ---- infer.c ---- */

/* Record the first error of the inference (positioned; later ones are
 * dropped) and set I->failed. Returns NULL. */
void *kernel_fail(infer *I, ug_status code, kernel_pos pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A type as messages spell it (buf: 48 bytes). */
const char *kernel_tstr(kernel_type t, char *buf);
/* The index of local `name` in f->locals, -1 if none. */
int kernel_local_index(const kernel_func *f, const char *name);
/* The value of an int literal chain (300, -5, +-1): sign and magnitude; false if n is not one. */
bool kernel_literal_int(const kernel_node *n, bool *neg, uint64_t *mag);
/* Whether integer dtype dt holds the value (neg, mag). */
bool kernel_int_holds(int dt, bool neg, uint64_t mag);

/* ---- assigned.c ---- */

/* Step 3: every local is assigned before use on every path (UG_ENAME
 * otherwise); sets fs->falls_off. Requires collected locals. */
void kernel_check_assigned(infer *I, fstate *fs);

/* ---- concrete.c ---- */

/* A literal, possibly signed (-5, +1.5). */
bool kernel_literal_chain(const kernel_node *n);
/* Step 5: weak types become concrete over the function body (ret: the
 * function's return type). Requires a typed body. */
void kernel_concrete_types(infer *I, kernel_node *body, kernel_type ret);

#endif
