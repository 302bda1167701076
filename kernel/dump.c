/* dump.c — debug printing of the AST and of typed kernels.
 *
 * One S-expression per node, indented by depth, with the type after a colon
 * once inference has run: (binary + :float32 (name x :float32) (float 1 :float32)).
 * Used by UFUNCGEN_DUMP=ast,types and by tests that want to see a whole tree.
 */
#include <stdio.h>

#include "kernel/kernel.h"

const char *kernel_type_str(kernel_type t, char *buf, size_t n)
{
    switch (t.kind) {
    case KT_VOID: snprintf(buf, n, "void"); break;
    case KT_SCALAR: snprintf(buf, n, "%s%s", t.weak ? "weak " : "", ug_dtype_name((ug_dtype)t.dt)); break;
    case KT_ARRAY: snprintf(buf, n, "array(%s, %dd)", ug_dtype_name((ug_dtype)t.dt), t.ndim); break;
    case KT_SHAPE: snprintf(buf, n, "shape(%d)", t.ndim); break;
    case KT_RANGE: snprintf(buf, n, "range"); break;
    default: snprintf(buf, n, "?"); break;
    }
    return buf;
}

static const char *const kind_names[N_NKINDS] = {
    [N_INT] = "int",       [N_FLOAT] = "float",   [N_BOOL] = "bool", [N_IMAG] = "imag",       [N_NAME] = "name",
    [N_UNARY] = "unary",   [N_BINARY] = "binary", [N_COMPARE] = "compare", [N_BOOLOP] = "boolop",
    [N_IFEXP] = "ifexp",   [N_CALL] = "call",     [N_INDEX] = "index",     [N_ATTR] = "attr",
    [N_TUPLE] = "tuple",   [N_ASSIGN] = "assign", [N_AUGASSIGN] = "augassign", [N_EXPRSTMT] = "expr",
    [N_IF] = "if",         [N_FOR] = "for",       [N_WHILE] = "while",     [N_BREAK] = "break",
    [N_CONTINUE] = "continue", [N_PASS] = "pass", [N_RETURN] = "return",   [N_BLOCK] = "block",
    [N_CAST] = "cast",     [N_SLICE] = "slice",   [N_STR] = "str",         [N_RAISE] = "raise",
    [N_ASSERT] = "assert", [N_PRINT] = "print",
};

static const char *op_str(int op)
{
    static const char *const s[TK_NTOKENS] = {
        [TK_PLUS] = "+",  [TK_MINUS] = "-", [TK_STAR] = "*",    [TK_SLASH] = "/", [TK_DSLASH] = "//",
        [TK_PERCENT] = "%", [TK_DSTAR] = "**", [TK_AMP] = "&",  [TK_PIPE] = "|",  [TK_CARET] = "^",
        [TK_TILDE] = "~", [TK_LSHIFT] = "<<", [TK_RSHIFT] = ">>", [TK_LT] = "<",  [TK_GT] = ">",
        [TK_LE] = "<=",   [TK_GE] = ">=",   [TK_EQ] = "==",     [TK_NE] = "!=",   [TK_AND] = "and",
        [TK_OR] = "or",   [TK_NOT] = "not",
    };
    return op > 0 && op < TK_NTOKENS && s[op] ? s[op] : "?";
}

static void dump_node(FILE *f, const kernel_node *n, int depth, bool types);

static void dump_kid(FILE *f, const char *label, const kernel_node *n, int depth, bool types)
{
    if (!n)
        return;
    fprintf(f, "\n%*s%s", depth * 2, "", label);
    dump_node(f, n, depth, types);
}

static void dump_head(FILE *f, const kernel_node *n, bool types)
{
    char buf[64];
    fprintf(f, "(%s", n->kind < N_NKINDS && kind_names[n->kind] ? kind_names[n->kind] : "?");
    switch (n->kind) {
    case N_INT: fprintf(f, " %s%lld", n->big ? "u" : "", (long long)n->ival); break;
    case N_FLOAT: fprintf(f, " %.17g", n->fval); break;
    case N_IMAG: fprintf(f, " %.17gj", n->fval); break;
    case N_BOOL: fprintf(f, " %s", n->ival ? "True" : "False"); break;
    case N_NAME: case N_CALL: case N_ATTR: case N_RAISE: fprintf(f, " %s", n->name); break;
    case N_STR: fprintf(f, " \"%s\"", n->str); break;
    case N_UNARY: case N_BINARY: case N_BOOLOP: case N_AUGASSIGN: fprintf(f, " %s", op_str(n->op)); break;
    case N_COMPARE:
        for (int k = 0; k + 1 < n->nkids; k++)
            fprintf(f, " %s", op_str(n->cmpops[k]));
        break;
    default: break;
    }
    if (types && n->ty.kind != KT_VOID)
        fprintf(f, " :%s", kernel_type_str(n->ty, buf, sizeof buf));
    if (types && (n->kind == N_BINARY || n->kind == N_UNARY || n->kind == N_AUGASSIGN || n->kind == N_CALL) &&
        n->opty.kind != KT_VOID)
        fprintf(f, " in %s", kernel_type_str(n->opty, buf, sizeof buf));
}

static void dump_node(FILE *f, const kernel_node *n, int depth, bool types)
{
    dump_head(f, n, types);
    dump_kid(f, "", n->a, depth + 1, types);
    dump_kid(f, "", n->b, depth + 1, types);
    dump_kid(f, "cond ", n->cond, depth + 1, types);
    for (int k = 0; k < n->nkids; k++)
        dump_kid(f, "", n->kids[k], depth + 1, types);
    for (int k = 0; k < n->nrange; k++)
        dump_kid(f, "range ", n->range[k], depth + 1, types);
    dump_kid(f, "body ", n->body, depth + 1, types);
    dump_kid(f, "else ", n->orelse, depth + 1, types);
    fprintf(f, ")");
}

static void dump_func(FILE *f, const kernel_func *fn, bool types)
{
    char buf[64];
    fprintf(f, "(%s %s (", fn->is_lambda ? "lambda" : "def", fn->name);
    for (int k = 0; k < fn->nparams; k++)
        fprintf(f, "%s%s%s%s", k ? " " : "", fn->params[k].name, types ? ":" : "",
                types ? kernel_type_str(fn->params[k].ty, buf, sizeof buf) : "");
    fprintf(f, ")");
    if (types) {
        fprintf(f, " -> %s\n  (locals", kernel_type_str(fn->ret, buf, sizeof buf));
        for (int k = 0; k < fn->nlocals; k++)
            fprintf(f, " %s:%s", fn->locals[k].name, kernel_type_str(fn->locals[k].ty, buf, sizeof buf));
        fprintf(f, ")");
    }
    fprintf(f, "\n  ");
    dump_node(f, fn->body, 1, types);
    fprintf(f, ")\n");
}

void kernel_dump_module(FILE *f, const kernel_module *m)
{
    for (int k = 0; k < m->nfuncs; k++)
        dump_func(f, m->funcs[k], false);
}

void kernel_dump_typed(FILE *f, const kernel_typed *t)
{
    for (int k = 0; k < t->nfuncs; k++)
        dump_func(f, t->funcs[k], true);
}
