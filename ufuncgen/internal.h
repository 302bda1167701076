/* internal.h — internal header of ufuncgen/: errors, dtypes, signature
 * strings, contexts and ufunc objects.
 *
 *   error.c      status names, error records, string carets       ug_err_*
 *   dtype.c      dtype names, sizes, promotion, casting rules      ug_dtype_*
 *   signature.c  dtype signature strings (Numba and NumPy styles)  ug_sig_parse
 *   context.c    contexts, per-thread last error, options          ug_context_*
 *   ufunc.c      ufunc objects: compile per signature (cache →
 *                infer → lower → load), loop selection, ug_call    ug_vectorize ...
 */
#ifndef UG_INTERNAL_H
#define UG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "ufuncgen/ufuncgen.h"

/* ======================================================================
 * error.c
 * ====================================================================== */

/* Set err (may be NULL) to code with a printf message; line/column -1. Returns code. */
ug_status ug_err_set(ug_error *err, ug_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error at 1-based byte column `col` of a one-line string (signature, layout):
 *   <what> '<text>', column <c>: <message>
 *       <text>
 *         ^
 * where c counts code points (ug_utf8_column). Sets err->column = c,
 * err->line = -1. Returns code. */
ug_status ug_err_at_string(ug_error *err, ug_status code, const char *what, const char *text, int col,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Clear to UG_OK / "" / -1. */
void ug_err_clear(ug_error *err);
/* UTF-8 in messages. ug_utf8_len: length of the sequence at s (1..4), 0 at
 * the end, -1 if s starts no well-formed sequence. ug_utf8_column: the
 * 1-based code-point column of 1-based byte column bytecol in s.
 * ug_utf8_quote: the character at s for a message, whole: 'é', \xNN for a
 * control or malformed byte, "the end"; returns snprintf's count.
 * ug_err_utf8_fix: make msg valid UTF-8 in place (drop a sequence cut at the
 * end, stray bytes become '?'); every message writer calls it last. */
int ug_utf8_len(const char *s);
int ug_utf8_column(const char *s, int bytecol);
size_t ug_utf8_quote(char *buf, size_t n, const char *s);
void ug_err_utf8_fix(char *msg);

/* ======================================================================
 * dtype.c
 * ====================================================================== */

typedef enum ug_kind { UG_KIND_BOOL, UG_KIND_UINT, UG_KIND_INT, UG_KIND_FLOAT } ug_kind;
ug_kind ug_dtype_kind(ug_dtype t);
bool ug_dtype_valid(int t);
/* NumPy's one-character type code ('d'); and the short Numba name ("f8"). */
char ug_dtype_char(ug_dtype t);

/* ======================================================================
 * signature.c
 * ====================================================================== */

/* One parsed dtype signature. Arguments are inputs then outputs. */
typedef struct ug_sig {
    int nin, nout;          /* nout is -1 when the spelling leaves it open ("void(a, b, c)", "(a, b)"):
                               the layout decides */
    ug_dtype types[UG_MAXARGS];
    int ndim[UG_MAXARGS];   /* "[:, :]" → 2; no brackets → 0; */
    char text[256];         /* canonical NumPy form "dd->d" (filled by ug_sig_finish) */
} ug_sig;

/* Parse "float64(float64, float64)", "f8(f8,f8)", "void(float64[:], float64[:])",
 * "(float64[:], float64)", "dd->d", "f8,f8->f8", "float32,float32->float32".
 * Errors: UG_ESIGNATURE with the column of the offending character. */
ug_status ug_sig_parse(const char *s, ug_sig *out, ug_error *err);
/* Fix nin/nout for a kernel with nparams parameters: scalar kernels take
 * nin = nparams, nout = 1; gufuncs take nin/nout from the layout. Checks the
 * counts and fills .text. Errors: UG_ESIGNATURE naming expected and found counts. */
ug_status ug_sig_finish(ug_sig *sig, const char *s, bool gufunc, int nin, int nout, ug_error *err);

#endif /* UG_INTERNAL_H */
