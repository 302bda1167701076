/* parse.c — layout strings: NumPy's gufunc signature grammar.
 *
 * The parser follows numpy/_core/src/umath/ufunc_object.c (_parse_signature)
 * decision for decision, so that the same strings are accepted and rejected,
 * with one difference of interface: NumPy is told nin and nout, we infer them
 * from the "->". Whitespace is space or tab, allowed between any two tokens
 * but not inside "->" or a name. A frozen size is read as strtoll reads it
 * (NumPy does), which is why "(+3)" and "(\v3)" fail at the sign/space and
 * "(03)" is the same dimension as "(3)". Core dimensions are numbered by
 * distinct name (frozen ones by size) in order of first appearance.
 *
 * Storage is sized from the string length (a layout cannot have more
 * dimensions or operands than characters), so there is no fixed limit other
 * than UG_MAXDIMS core dims per operand and UG_MAXARGS operands.
 *
 * Errors point at the offending character (1-based column; one past the end
 * for a premature end) and say what was expected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "layout/layout.h"

typedef struct parser {
    const char *s;
    size_t len;
    size_t i;
    ug_error *err;
    layout_sig *sig;
    int *ixs;          /* core dim indices of all operands, in order */
    int nixs;
} parser;

static bool is_alpha_(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool is_alnum_(char c) { return is_alpha_(c) || (c >= '0' && c <= '9'); }

static void skip_ws(parser *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

static ug_status fail(parser *p, size_t at, const char *msg)
{
    char shown[16]; /* the whole character, never one byte of it */
    if (p->s[at] == 0)
        snprintf(shown, sizeof shown, "end");
    else
        base_utf8_quote(shown, sizeof shown, p->s + at);
    return base_err_at(p->err, UG_ELAYOUT, "layout", p->s, (int)at + 1, "%s, found %s", msg, shown);
}

static ug_status oom(parser *p) { return base_err_set(p->err, UG_ENOMEM, "out of memory parsing a layout"); }

/* NumPy's _get_size: a positive frozen size, or -1 if the text at s is not a
 * well-formed number (no digits, followed by a letter or '_', or overflow). */
static int64_t frozen_size(const char *s)
{
    char *stop;
    errno = 0;
    long long v = strtoll(s, &stop, 10);
    if (stop == s || is_alpha_(*stop))
        return -1;
    if (v >= INT64_MAX || v <= INT64_MIN)
        return -1;
    return v;
}

/* The index of the distinct dim named by s[at..] (or of that frozen size); -1 if new. */
static int find_dim(const parser *p, size_t at, int64_t frozen)
{
    const layout_sig *sig = p->sig;
    for (int ix = 0; ix < sig->ndims; ix++) {
        if (frozen > 0 || sig->dim_frozen[ix] > 0) {
            if (frozen == sig->dim_frozen[ix])
                return ix;
            continue;
        }
        size_t n = strlen(sig->dim_name[ix]);
        if (strncmp(sig->dim_name[ix], p->s + at, n) == 0 && !is_alnum_(p->s[at + n]))
            return ix;
    }
    return -1;
}

static ug_status add_dim(parser *p, size_t at, size_t name_end, int64_t frozen, bool flexible)
{
    layout_sig *sig = p->sig;
    int ix = sig->ndims;
    char *name;
    if (frozen > 0) {
        name = malloc(24);
        if (name)
            snprintf(name, 24, "%lld", (long long)frozen);
    } else {
        name = strndup(p->s + at, name_end - at);
    }
    if (!name)
        return oom(p);
    sig->dim_name[ix] = name;
    sig->dim_frozen[ix] = frozen > 0 ? frozen : -1;
    sig->dim_flexible[ix] = flexible;
    sig->ndims++;
    return UG_OK;
}

/* dim = (name | size) ["?"]        name = [A-Za-z_][A-Za-z0-9_]*   size = strtoll > 0 */
static ug_status parse_dim(parser *p, int ncore)
{
    size_t at = p->i;
    int64_t frozen = -1;
    if (!is_alpha_(p->s[at])) {
        frozen = frozen_size(p->s + at);
        if (frozen <= 0)
            return fail(p, at, "expected a dimension name or a non-zero frozen size");
    }
    size_t end = at;
    while (is_alnum_(p->s[end]))
        end++;
    size_t name_end = end;
    bool flexible = p->s[end] == '?';
    if (flexible)
        end++;
    if (ncore >= UG_MAXDIMS)
        return base_err_at(p->err, UG_ELAYOUT, "layout", p->s, (int)at + 1,
                                "an operand may have at most %d core dimensions", UG_MAXDIMS);
    int ix = find_dim(p, at, frozen);
    if (ix < 0) {
        ug_status st = add_dim(p, at, name_end, frozen, flexible);
        if (st)
            return st;
        ix = p->sig->ndims - 1;
    } else if (flexible && !p->sig->dim_flexible[ix]) {
        return base_err_at(p->err, UG_ELAYOUT, "layout", p->s, (int)at + 1,
                                "'?' cannot be used: dimension '%s' was already seen without '?'", p->sig->dim_name[ix]);
    } else if (!flexible && p->sig->dim_flexible[ix]) {
        return base_err_at(p->err, UG_ELAYOUT, "layout", p->s, (int)at + 1,
                                "'?' must be used: dimension '%s' was already seen with '?'", p->sig->dim_name[ix]);
    }
    p->ixs[p->nixs++] = ix;
    p->i = end;
    return UG_OK;
}

/* Record the operand whose dims are ixs[first..nixs). */
static ug_status add_operand(parser *p, int first)
{
    layout_sig *sig = p->sig;
    int k = sig->nin + sig->nout;
    int n = p->nixs - first;
    sig->op_dims[k] = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!sig->op_dims[k])
        return oom(p);
    memcpy(sig->op_dims[k], p->ixs + first, sizeof(int) * (size_t)n);
    sig->op_ncore[k] = n;
    sig->ncore_total += n;
    return UG_OK;
}

/* The string ended inside the operand opened at `open`. */
static ug_status unclosed(parser *p, size_t open)
{
    char msg[96];
    snprintf(msg, sizeof msg, "expected ')' to close '(' at column %d", base_utf8_column(p->s, (int)open + 1));
    return fail(p, p->i, msg);
}

/* arg = "(" [dim ("," dim)*] ")"       (whitespace between tokens) */
static ug_status parse_arg(parser *p, bool output)
{
    if (p->s[p->i] != '(')
        return fail(p, p->i, output ? "expected '(' to start an output" : "expected '(' to start an input");
    if (p->sig->nin + p->sig->nout >= UG_MAXARGS)
        return base_err_at(p->err, UG_ELAYOUT, "layout", p->s, (int)p->i + 1,
                                "a layout may have at most %d operands", UG_MAXARGS);
    size_t open = p->i;
    int first = p->nixs;
    p->i++;
    skip_ws(p);
    while (p->s[p->i] != ')') {
        if (p->s[p->i] == 0)
            return unclosed(p, open);
        ug_status st = parse_dim(p, p->nixs - first);
        if (st)
            return st;
        skip_ws(p);
        if (p->s[p->i] == 0)
            return unclosed(p, open);
        if (p->s[p->i] != ',' && p->s[p->i] != ')')
            return fail(p, p->i, "expected ',' or ')'");
        if (p->s[p->i] == ',') {
            p->i++;
            skip_ws(p);
            if (p->s[p->i] == ')')
                return fail(p, p->i, "expected a dimension after ','");
        }
    }
    p->i++;
    skip_ws(p);
    return add_operand(p, first);
}

/* layout = [arg ("," arg)*] "->" arg ("," arg)*  |  arg ("," arg)*
 * (whitespace between tokens). Without "->" every operand is an input and
 * there is no output, as NumPy accepts ("(a),(a),(z)": the kernel writes
 * into inputs). */
static ug_status parse_layout(parser *p)
{
    ug_status st;
    skip_ws(p);
    bool inputs = !(p->s[p->i] == '-' && p->s[p->i + 1] == '>');
    while (inputs) {
        if ((st = parse_arg(p, false)))
            return st;
        p->sig->nin++;
        if (p->s[p->i] == '-' && p->s[p->i + 1] == '>')
            break;
        if (p->s[p->i] == 0)
            return UG_OK; /* no outputs */
        if (p->s[p->i] != ',')
            return fail(p, p->i, "expected ',' or '->'");
        p->i++;
        skip_ws(p);
    }
    p->i += 2;
    skip_ws(p);
    for (;;) {
        if ((st = parse_arg(p, true)))
            return st;
        p->sig->nout++;
        if (p->s[p->i] == 0)
            return UG_OK;
        if (p->s[p->i] != ',')
            return fail(p, p->i, "expected ',' or the end of the layout");
        p->i++;
        skip_ws(p);
    }
}

/* Append one operand "(a,b?,3)" to buf. */
static char *put_operand(char *buf, const layout_sig *sig, int k)
{
    *buf++ = '(';
    for (int j = 0; j < sig->op_ncore[k]; j++) {
        int ix = sig->op_dims[k][j];
        buf += sprintf(buf, "%s%s%s", j ? "," : "", sig->dim_name[ix], sig->dim_flexible[ix] ? "?" : "");
    }
    *buf++ = ')';
    return buf;
}

/* The canonical text: no whitespace, frozen sizes in plain decimal. */
static ug_status make_text(layout_sig *sig)
{
    size_t n = 8;
    for (int k = 0; k < sig->nin + sig->nout; k++) {
        n += 4;
        for (int j = 0; j < sig->op_ncore[k]; j++)
            n += strlen(sig->dim_name[sig->op_dims[k][j]]) + 2;
    }
    char *buf = malloc(n), *w = buf;
    if (!buf)
        return UG_ENOMEM;
    for (int k = 0; k < sig->nin + sig->nout; k++) {
        if (k == sig->nin)
            w += sprintf(w, "->");
        else if (k)
            *w++ = ',';
        w = put_operand(w, sig, k);
    }
    *w = 0; /* no outputs: no "->" (NumPy rejects "(i)->") */
    sig->text = buf;
    return UG_OK;
}

/* An empty sig with room for cap operands and cap distinct dims. */
static layout_sig *sig_alloc(size_t cap)
{
    layout_sig *sig = calloc(1, sizeof *sig);
    if (!sig)
        return NULL;
    sig->dim_name = calloc(cap, sizeof *sig->dim_name);
    sig->dim_frozen = calloc(cap, sizeof *sig->dim_frozen);
    sig->dim_flexible = calloc(cap, sizeof *sig->dim_flexible);
    sig->op_ncore = calloc(cap, sizeof *sig->op_ncore);
    sig->op_dims = calloc(cap, sizeof *sig->op_dims);
    if (!sig->dim_name || !sig->dim_frozen || !sig->dim_flexible || !sig->op_ncore || !sig->op_dims) {
        layout_free(sig);
        return NULL;
    }
    return sig;
}

ug_status layout_parse(const char *s, layout_sig **out, ug_error *err)
{
    *out = NULL;
    if (!s)
        return base_err_set(err, UG_EINVAL, "layout string is NULL");
    size_t len = strlen(s);
    parser p = {.s = s, .len = len, .err = err};
    p.sig = sig_alloc(len + 1);
    p.ixs = malloc(sizeof(int) * (len + 1));
    ug_status st = UG_ENOMEM;
    if (!p.sig || !p.ixs) {
        oom(&p);
        goto done;
    }
    if ((st = parse_layout(&p)))
        goto done;
    p.sig->scalar = p.sig->ndims == 0;
    if ((st = make_text(p.sig))) {
        oom(&p);
        goto done;
    }
    *out = p.sig;
    p.sig = NULL;
done:
    free(p.ixs);
    layout_free(p.sig);
    return st;
}

layout_sig *layout_scalar(int nin, int nout)
{
    if (nin < 0 || nout < 0)
        return NULL;
    int nops = nin + nout;
    layout_sig *sig = sig_alloc((size_t)nops + 1);
    if (!sig)
        return NULL;
    for (int k = 0; k < nops; k++) {
        sig->op_dims[k] = malloc(sizeof(int));
        if (!sig->op_dims[k])
            goto fail;
    }
    sig->nin = nin;
    sig->nout = nout;
    sig->scalar = true;
    if (make_text(sig))
        goto fail;
    return sig;
fail:
    layout_free(sig);
    return NULL;
}

void layout_free(layout_sig *sig)
{
    if (!sig)
        return;
    if (sig->dim_name)
        for (int ix = 0; ix < sig->ndims; ix++)
            free(sig->dim_name[ix]);
    if (sig->op_dims)
        for (int k = 0; k < sig->nin + sig->nout + 1; k++)
            free(sig->op_dims[k]);
    free(sig->dim_name);
    free(sig->dim_frozen);
    free(sig->dim_flexible);
    free(sig->op_ncore);
    free(sig->op_dims);
    free(sig->text);
    free(sig);
}
