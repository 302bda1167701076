/* base.h — internal header of base/: what every folder uses. No folder is
 * below it; it uses none of them.
 *
 *   error.c      status names, error records, string carets, UTF-8 in
 *                messages                                          base_err_*, base_utf8_*
 *   dtype.c      dtype names, sizes, kinds, promotion, casting     ug_dtype_* (public), base_dtype_*
 *   signature.c  dtype signature strings (Numba and NumPy styles)  base_sig_parse
 *   env.c        the UFUNCGEN_* environment variables: one reader
 *                and one parse rule for each                       base_env_*
 */
#ifndef UG_BASE_H
#define UG_BASE_H

#include <stdarg.h>
#include <stdbool.h>

#include "ufuncgen/ufuncgen.h"

/* ======================================================================
 * error.c
 * ====================================================================== */

/* Set err (may be NULL) to code with a printf message; line/column -1. Returns code. */
ug_status base_err_set(ug_error *err, ug_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error at 1-based byte column `col` of a one-line string (signature, layout):
 *   <what> '<text>', column <c>: <message>
 *       <text>
 *         ^
 * where c counts code points (base_utf8_column). Sets err->column = c,
 * err->line = -1. Returns code. */
ug_status base_err_at(ug_error *err, ug_status code, const char *what, const char *text, int col,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Clear to UG_OK / "" / -1. */
void base_err_clear(ug_error *err);
/* UTF-8 in messages. base_utf8_len: length of the sequence at s (1..4), 0 at
 * the end, -1 if s starts no well-formed sequence. base_utf8_column: the
 * 1-based code-point column of 1-based byte column bytecol in s.
 * base_utf8_quote: the character at s for a message, whole: 'é', \xNN for a
 * control or malformed byte, "the end"; returns snprintf's count.
 * base_utf8_fix: make msg valid UTF-8 in place (drop a sequence cut at the
 * end, stray bytes become '?'); every message writer calls it last. */
int base_utf8_len(const char *s);
int base_utf8_column(const char *s, int bytecol);
size_t base_utf8_quote(char *buf, size_t n, const char *s);
void base_utf8_fix(char *msg);

/* ======================================================================
 * dtype.c
 * ====================================================================== */

/* In NumPy's kind order b < u < i < f < c (same_kind casting relies on it). */
typedef enum base_kind { BASE_KIND_BOOL, BASE_KIND_UINT, BASE_KIND_INT, BASE_KIND_FLOAT, BASE_KIND_COMPLEX } base_kind;
base_kind base_dtype_kind(ug_dtype t);
/* The component float of a complex type (complex64 → float32); other types unchanged. */
ug_dtype base_dtype_part(ug_dtype t);
/* The complex type whose parts are float f (float16/float32 → complex64, float64 → complex128). */
ug_dtype base_dtype_complex_of(ug_dtype f);
bool base_dtype_valid(int t);
/* NumPy's one-character type code ('d'); and the short Numba name ("f8"). */
char base_dtype_char(ug_dtype t);

/* ======================================================================
 * signature.c
 * ====================================================================== */

/* One parsed dtype signature. Arguments are inputs then outputs. */
typedef struct base_sig {
    int nin, nout;          /* nout is -1 when the spelling leaves it open ("void(a, b, c)", "(a, b)"):
                               the layout decides */
    ug_dtype types[UG_MAXARGS];
    int ndim[UG_MAXARGS];   /* "[:, :]" → 2; no brackets → 0; */
    char text[256];         /* canonical NumPy form "dd->d" (filled by base_sig_finish) */
} base_sig;

/* Parse "float64(float64, float64)", "f8(f8,f8)", "void(float64[:], float64[:])",
 * "(float64[:], float64)", "dd->d", "f8,f8->f8", "float32,float32->float32".
 * Errors: UG_ESIGNATURE with the column of the offending character. */
ug_status base_sig_parse(const char *s, base_sig *out, ug_error *err);
/* Fix nin/nout for a kernel with nparams parameters: scalar kernels take
 * nin = nparams, nout = 1; gufuncs take nin/nout from the layout. Checks the
 * counts and fills .text. Errors: UG_ESIGNATURE naming expected and found counts. */
ug_status base_sig_finish(base_sig *sig, const char *s, bool gufunc, int nin, int nout, ug_error *err);

/* ======================================================================
 * env.c
 * ====================================================================== */

/* Every variable is read again at each call (tests and inspect_llvm() set
 * them at run time); none is cached. */

/* UFUNCGEN_DUMP: a comma-separated list of words (ast, types, ir, asm,
 * time, fastmath, ...); true if `word` is one of them, whole. */
bool base_env_dump(const char *word);
/* UFUNCGEN_DEBUG_CACHE: set, and neither empty nor "0". */
bool base_env_debug_cache(void);
/* UFUNCGEN_VERIFY: set, and neither empty nor "0" (debug builds verify always). */
bool base_env_verify(void);
/* UFUNCGEN_SPECIALIZE: core-shape variants are on unless it is "0". */
bool base_env_specialize(void);
/* UFUNCGEN_LAZY: set, and neither empty nor "0" (defer eager signatures' loops to their first use). */
bool base_env_lazy(void);
/* UFUNCGEN_CACHE_DIR: its value, or NULL when unset or empty. */
const char *base_env_cache_dir(void);
/* UFUNCGEN_AOT_LEVEL: the CPU level an ahead-of-time module loads (tests), or NULL when unset or empty. */
const char *base_env_aot_level(void);
/* UFUNCGEN_NUM_THREADS: its raw value, or NULL when unset (parallel/
 * parses it with base_parse_threads and warns about a bad one). */
const char *base_env_num_threads(void);
/* The parse of a thread count as UFUNCGEN_NUM_THREADS spells it:
 * 1..UG_MAX_THREADS, or 0 when invalid (empty, non-numeric, <= 0, too
 * large, trailing junk). Leading and trailing blanks are allowed. */
int base_parse_threads(const char *s);

#endif /* UG_BASE_H */
