/* signature.c — dtype signature strings, in Numba's and NumPy's spellings.
 *
 *   Numba:  "float64(float64, float64)"  "f8(f8, f8)"
 *           "void(float64[:], float64[:, ::1], float64[:])"  "(float64[:], int64)"
 *   NumPy:  "dd->d"  "f8,f8->f8"  "float32,float32->float32"
 *
 * Parsing yields the argument dtypes (inputs then outputs) and, for the
 * bracket forms, each argument's number of array dimensions; whether the
 * outputs are known depends on the spelling ("void(...)" leaves the split to
 * the layout). base_sig_finish then checks the counts against the kernel and
 * the layout and writes the canonical NumPy form used as the cache key.
 * Every error points at the offending column with a caret.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

typedef struct sigparser {
    const char *s; /* the whole string, for error carets */
    const char *p; /* current position */
    base_sig *sig;
    ug_error *err;
} sigparser;

static int col_of(const sigparser *ps, const char *at) { return (int)(at - ps->s) + 1; }

static ug_status fail_at(sigparser *ps, const char *at, const char *msg)
{
    return base_err_at(ps->err, UG_ESIGNATURE, "signature", ps->s, col_of(ps, at), "%s", msg);
}

static void skip_ws(sigparser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

/* Read an identifier-like word (dots allowed: "np.float64") into buf. */
static const char *read_word(sigparser *ps, char *buf, size_t n)
{
    const char *start = ps->p;
    size_t k = 0;
    while (name_char(*ps->p)) {
        if (k + 1 < n)
            buf[k++] = *ps->p;
        ps->p++;
    }
    buf[k] = 0;
    return start;
}

static ug_status add_arg(sigparser *ps, const char *at, ug_dtype t, int ndim)
{
    int k = ps->sig->nin;
    if (k >= UG_MAXARGS)
        return fail_at(ps, at, "too many arguments (at most 64)");
    ps->sig->types[k] = t;
    ps->sig->ndim[k] = ndim;
    ps->sig->nin++;
    return UG_OK;
}

/* dims = "[" slice ("," slice)* "]"      slice = ":" | "::1" | ":" ":" "1" */
static ug_status parse_dims(sigparser *ps, int *ndim)
{
    const char *open = ps->p++;
    *ndim = 0;
    for (;;) {
        skip_ws(ps);
        if (*ps->p != ':')
            return fail_at(ps, ps->p, "expected ':' in array dimensions (e.g. float64[:, :])");
        ps->p++;
        if (ps->p[0] == ':' && ps->p[1] == '1')
            ps->p += 2;
        (*ndim)++;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ']') {
            ps->p++;
            return UG_OK;
        }
        if (!*ps->p)
            return base_err_at(ps->err, UG_ESIGNATURE, "signature", ps->s, col_of(ps, ps->p),
                                    "']' expected (to close '[' at column %d)", base_utf8_column(ps->s, col_of(ps, open)));
        return fail_at(ps, ps->p, "expected ',' or ']' in array dimensions");
    }
}

/* type = name [dims] */
static ug_status parse_type(sigparser *ps, ug_dtype *t, int *ndim, bool allow_void)
{
    char word[64];
    skip_ws(ps);
    const char *at = read_word(ps, word, sizeof word);
    if (at == ps->p)
        return fail_at(ps, at, *at ? "expected a dtype name" : "expected a dtype name, found the end");
    *ndim = 0;
    if (allow_void && strcmp(word, "void") == 0 && *ps->p != '[') {
        *t = UG_DTYPE_NONE;
        return UG_OK;
    }
    *t = ug_dtype_from_name(word);
    if (*t == UG_DTYPE_NONE)
        return base_err_at(ps->err, UG_ESIGNATURE, "signature", ps->s, col_of(ps, at),
                                "unknown dtype '%s' (expected bool, int8..int64, uint8..uint64, float32, float64 "
                                "or a short form such as f8)",
                                word);
    skip_ws(ps);
    if (*ps->p == '[')
        return parse_dims(ps, ndim);
    return UG_OK;
}

/* numba = [type] "(" [type ("," type)*] ")" */
static ug_status parse_numba(sigparser *ps)
{
    ug_dtype ret = UG_DTYPE_NONE;
    int retdim = 0;
    bool has_ret = false;
    ug_status st;
    skip_ws(ps);
    const char *ret_at = ps->p;
    if (*ps->p != '(') {
        if ((st = parse_type(ps, &ret, &retdim, true)))
            return st;
        has_ret = ret != UG_DTYPE_NONE;
        skip_ws(ps);
        if (*ps->p != '(')
            return fail_at(ps, ps->p, "expected '(' after the return type");
    }
    const char *open = ps->p++;
    skip_ws(ps);
    while (*ps->p != ')') {
        ug_dtype t;
        int nd;
        const char *at = ps->p;
        if ((st = parse_type(ps, &t, &nd, false)) || (st = add_arg(ps, at, t, nd)))
            return st;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (*ps->p == ')')
                return fail_at(ps, ps->p, "expected a dtype name after ','");
        } else if (*ps->p != ')') {
            if (!*ps->p)
                return base_err_at(ps->err, UG_ESIGNATURE, "signature", ps->s, col_of(ps, ps->p),
                                        "')' expected (to close '(' at column %d)", base_utf8_column(ps->s, col_of(ps, open)));
            return fail_at(ps, ps->p, "expected ',' or ')'");
        }
    }
    ps->p++;
    skip_ws(ps);
    if (*ps->p)
        return fail_at(ps, ps->p, "unexpected text after ')'");
    if (has_ret) {
        if (retdim)
            return fail_at(ps, ret_at, "a return type cannot be an array; use void(...) with the output last");
        if ((st = add_arg(ps, ret_at, ret, 0)))
            return st;
        ps->sig->nin--;
        ps->sig->nout = 1;
    }
    return UG_OK;
}

/* One side of "->": comma-separated names, a single name, or type-code characters. */
static ug_status parse_side(sigparser *ps, const char *end)
{
    ug_status st;
    skip_ws(ps);
    if (ps->p >= end)
        return fail_at(ps, ps->p, "expected at least one dtype");
    bool commas = memchr(ps->p, ',', (size_t)(end - ps->p)) != NULL;
    char word[64];
    const char *save = ps->p;
    if (!commas) {
        const char *at = read_word(ps, word, sizeof word);
        skip_ws(ps);
        ug_dtype t = ug_dtype_from_name(word);
        if (ps->p == end && t != UG_DTYPE_NONE)
            return add_arg(ps, at, t, 0);
        /* type-code characters: "dd" */
        ps->p = save;
        while (ps->p < end) {
            char code[2] = {*ps->p, 0};
            if (*ps->p == ' ' || *ps->p == '\t') {
                ps->p++;
                continue;
            }
            ug_dtype c = ug_dtype_from_name(code);
            if (c == UG_DTYPE_NONE || !(isalpha((unsigned char)code[0]) || code[0] == '?')) {
                char shown[16]; /* the whole character: 'é', not its first byte */
                base_utf8_quote(shown, sizeof shown, ps->p);
                return base_err_at(ps->err, UG_ESIGNATURE, "signature", ps->s, col_of(ps, ps->p),
                                        "unknown type code %s (NumPy codes: ? b B h H i I l L q Q f d)", shown);
            }
            if ((st = add_arg(ps, ps->p, c, 0)))
                return st;
            ps->p++;
        }
        return UG_OK;
    }
    for (;;) {
        ug_dtype t;
        int nd;
        const char *at = ps->p;
        if ((st = parse_type(ps, &t, &nd, false)) || (st = add_arg(ps, at, t, nd)))
            return st;
        skip_ws(ps);
        if (ps->p == end)
            return UG_OK;
        if (*ps->p != ',')
            return fail_at(ps, ps->p, "expected ',' between dtypes");
        ps->p++;
    }
}

static ug_status parse_numpy(sigparser *ps, const char *arrow)
{
    ug_status st = parse_side(ps, arrow);
    if (st)
        return st;
    int nin = ps->sig->nin;
    ps->p = arrow + 2;
    if (strstr(ps->p, "->"))
        return fail_at(ps, strstr(ps->p, "->"), "more than one '->'");
    if ((st = parse_side(ps, ps->p + strlen(ps->p))))
        return st;
    ps->sig->nout = ps->sig->nin - nin;
    ps->sig->nin = nin;
    return UG_OK;
}

ug_status base_sig_parse(const char *s, base_sig *out, ug_error *err)
{
    memset(out, 0, sizeof *out);
    out->nout = -1;
    if (!s)
        return base_err_set(err, UG_EINVAL, "signature is NULL");
    if (strlen(s) > 4096)
        return base_err_set(err, UG_ESIGNATURE, "signature is longer than 4096 characters");
    sigparser ps = {s, s, out, err};
    const char *arrow = strstr(s, "->");
    ug_status st = arrow ? parse_numpy(&ps, arrow) : parse_numba(&ps);
    if (st)
        return st;
    if (out->nin == 0 && out->nout <= 0)
        return fail_at(&ps, s, "a signature needs at least one argument");
    return UG_OK;
}

static void write_text(base_sig *sig)
{
    size_t n = 0;
    int total = sig->nin + sig->nout;
    for (int k = 0; k < total && n + 4 < sizeof sig->text; k++) {
        if (k == sig->nin)
            n += (size_t)snprintf(sig->text + n, sizeof sig->text - n, "->");
        if (n + 2 < sizeof sig->text)
            sig->text[n++] = base_dtype_char(sig->types[k]);
    }
    sig->text[n < sizeof sig->text ? n : sizeof sig->text - 1] = 0;
}

ug_status base_sig_finish(base_sig *sig, const char *s, bool gufunc, int nin, int nout, ug_error *err)
{
    int total = sig->nin + (sig->nout > 0 ? sig->nout : 0);
    if (!gufunc) {
        if (sig->nout < 0)
            return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                    "a vectorize signature names its output type, e.g. 'float64(float64)' or 'd->d'");
        for (int k = 0; k < total; k++)
            if (sig->ndim[k])
                return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                        "argument %d is an array; vectorize kernels take scalars (use guvectorize "
                                        "for arrays)",
                                        k + 1);
    } else if (sig->nout < 0) {
        if (total != nin + nout)
            return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                    "the layout has %d inputs and %d outputs (%d arguments) but the signature has %d",
                                    nin, nout, nin + nout, total);
        sig->nin = nin;
        sig->nout = nout;
    }
    if (sig->nin != nin || sig->nout != nout)
        return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                "expected %d input%s and %d output%s, the signature has %d and %d", nin,
                                nin == 1 ? "" : "s", nout, nout == 1 ? "" : "s", sig->nin, sig->nout);
    write_text(sig);
    return UG_OK;
}
