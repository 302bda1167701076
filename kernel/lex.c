/* lex.c — kernel source text → tokens.
 *
 * Python's tokenizer, reduced to what kernels use. Logical lines end in
 * NEWLINE; indentation changes become INDENT/DEDENT, measured with tabs to
 * multiples of 8 and, as CPython does, checked again with tabs as 1 column
 * so that a mix of tabs and spaces whose meaning depends on the tab size is
 * an error. Inside brackets newlines and indentation are ignored (implicit
 * line joining); a backslash before a newline joins lines explicitly.
 * Blank and comment-only lines produce nothing. Strings are tokenized (so
 * docstrings and decorators' arguments can be skipped) but never decoded.
 * Columns count code points; offsets count bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "kernel/kernel.h"

#define MAX_INDENT 100

typedef struct lexer {
    kernel_arena *a;
    const kernel_source *src;
    const char *s;       /* text */
    size_t n, i;         /* length, cursor */
    int line;
    size_t line_start;   /* offset of the current line's first byte */
    size_t col_line, col_off; /* pos_at's last answer: line start, offset ... */
    int col;                  /* ... and its column (tokens come in order: no rescan of the line) */
    int depth;           /* bracket nesting */
    int indent[MAX_INDENT], altindent[MAX_INDENT], nindent;
    kernel_token *toks;
    int ntoks, cap;
    const char *fname;   /* the def (or top-level lambda) being read, for messages; not NUL-terminated */
    size_t fname_len;
    ug_error *err;
} lexer;

static kernel_pos pos_at(lexer *L, size_t off, size_t len)
{
    if (off < L->line_start) /* a token that began on an earlier line (a string): column 1, as before */
        return (kernel_pos){L->line, 1, (int)off, len ? (int)len : 1};
    if (L->col_line != L->line_start || L->col_off > off || !L->col) {
        L->col_line = L->col_off = L->line_start;
        L->col = 1;
    }
    for (size_t k = L->col_off; k < off; k++) /* columns count characters, not UTF-8 bytes */
        if (((unsigned char)L->s[k] & 0xC0) != 0x80)
            L->col++;
    L->col_off = off;
    return (kernel_pos){L->line, L->col, (int)off, len ? (int)len : 1};
}

/* Errors name the function being read, as the parser's do (NULL before any). */
static const char *fname(lexer *L)
{
    return L->fname ? kernel_arena_strndup(L->a, L->fname, L->fname_len) : NULL;
}

static ug_status lex_error(lexer *L, size_t off, const char *msg)
{
    return kernel_error_at(L->err, UG_ESYNTAX, L->src, fname(L), pos_at(L, off, 1), "%s", msg);
}

static kernel_token *push(lexer *L, int kind, size_t off, size_t len)
{
    if (L->ntoks == L->cap) {
        int cap = L->cap ? L->cap * 2 : 256;
        kernel_token *t = kernel_arena_alloc(L->a, (size_t)cap * sizeof *t);
        if (!t)
            return NULL;
        if (L->ntoks)
            memcpy(t, L->toks, (size_t)L->ntoks * sizeof *t);
        L->toks = t;
        L->cap = cap;
    }
    kernel_token *t = &L->toks[L->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = (uint16_t)kind;
    t->pos = pos_at(L, off, len);
    t->text = L->s + off;
    return t;
}

static const struct {
    const char *word;
    int kind;
} keywords[] = {
    {"def", TK_DEF},     {"return", TK_RETURN}, {"if", TK_IF},         {"elif", TK_ELIF},
    {"else", TK_ELSE},   {"for", TK_FOR},       {"in", TK_IN},         {"while", TK_WHILE},
    {"break", TK_BREAK}, {"continue", TK_CONTINUE}, {"pass", TK_PASS}, {"and", TK_AND},
    {"or", TK_OR},       {"not", TK_NOT},       {"lambda", TK_LAMBDA}, {"True", TK_TRUE},
    {"False", TK_FALSE}, {"None", TK_NONE},     {"is", TK_IS},
};

/* Operators, longest first so that "**=" wins over "**" and "*". */
static const struct {
    const char *op;
    int kind;
} ops[] = {
    {"**=", TK_DSTAREQ}, {"//=", TK_DSLASHEQ}, {"<<=", TK_LSHIFTEQ}, {">>=", TK_RSHIFTEQ},
    {"**", TK_DSTAR},    {"//", TK_DSLASH},    {"<<", TK_LSHIFT},    {">>", TK_RSHIFT},
    {"<=", TK_LE},       {">=", TK_GE},        {"==", TK_EQ},        {"!=", TK_NE},
    {"->", TK_ARROW},    {"+=", TK_PLUSEQ},    {"-=", TK_MINUSEQ},   {"*=", TK_STAREQ},
    {"/=", TK_SLASHEQ},  {"%=", TK_PERCENTEQ}, {"&=", TK_AMPEQ},     {"|=", TK_PIPEEQ},
    {"^=", TK_CARETEQ},  {"(", TK_LPAREN},     {")", TK_RPAREN},     {"[", TK_LBRACKET},
    {"]", TK_RBRACKET},  {"{", -1},            {"}", -2},            {",", TK_COMMA},
    {":", TK_COLON},     {".", TK_DOT},        {";", TK_SEMI},       {"@", TK_AT},
    {"+", TK_PLUS},      {"-", TK_MINUS},      {"*", TK_STAR},       {"/", TK_SLASH},
    {"%", TK_PERCENT},   {"&", TK_AMP},        {"|", TK_PIPE},       {"^", TK_CARET},
    {"~", TK_TILDE},     {"<", TK_LT},         {">", TK_GT},         {"=", TK_ASSIGN},
};

/* ops' first index per first byte (longest spellings come first), -1: none. */
static signed char op_first[256];

__attribute__((constructor)) static void index_ops(void)
{
    memset(op_first, -1, sizeof op_first);
    for (int k = (int)(sizeof ops / sizeof *ops) - 1; k >= 0; k--)
        op_first[(unsigned char)ops[k].op[0]] = (signed char)k;
}

static bool at_line_start(const lexer *L, int k)
{
    return k < 0 || L->toks[k].kind == TK_NEWLINE || L->toks[k].kind == TK_INDENT || L->toks[k].kind == TK_DEDENT;
}

/* Remember the function being read: `def NAME`, or a top-level `NAME = lambda` / `lambda`. */
static void note_function(lexer *L, int kind, size_t off, size_t len)
{
    const kernel_token *t = L->toks + L->ntoks - 1;
    if (kind == TK_NAME && L->ntoks >= 2 && t[-1].kind == TK_DEF) {
        L->fname = L->s + off;
        L->fname_len = len;
    } else if (kind == TK_LAMBDA && L->nindent == 1 && L->depth == 0) {
        if (L->ntoks >= 3 && t[-2].kind == TK_NAME && t[-1].kind == TK_ASSIGN && at_line_start(L, L->ntoks - 4)) {
            L->fname = t[-2].text;
            L->fname_len = (size_t)t[-2].pos.len;
        } else if (at_line_start(L, L->ntoks - 2)) {
            L->fname = "<lambda>";
            L->fname_len = 8;
        }
    }
}

static bool is_name_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool is_name_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

static ug_status lex_name(lexer *L)
{
    size_t b = L->i;
    while (L->i < L->n && is_name_char((unsigned char)L->s[L->i]))
        L->i++;
    size_t len = L->i - b;
    int kind = TK_NAME;
    for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++)
        if (keywords[k].word[0] == L->s[b] && !strncmp(keywords[k].word, L->s + b, len) && !keywords[k].word[len]) {
            kind = keywords[k].kind;
            break;
        }
    if (!push(L, kind, b, len))
        return UG_ENOMEM;
    note_function(L, kind, b, len);
    return UG_OK;
}

/* Digits of `base` with single '_' separators between them; returns count. */
static size_t scan_digits(lexer *L, int base, char *buf, size_t *nb, size_t cap)
{
    size_t count = 0;
    while (L->i < L->n) {
        unsigned char c = (unsigned char)L->s[L->i];
        if (c == '_' && count && L->i + 1 < L->n && isxdigit((unsigned char)L->s[L->i + 1])) {
            L->i++;
            continue;
        }
        int v = isdigit(c) ? c - '0' : isalpha(c) ? tolower(c) - 'a' + 10 : 99;
        if (v >= base)
            break;
        if (*nb + 1 < cap)
            buf[(*nb)++] = (char)c;
        L->i++;
        count++;
    }
    buf[*nb] = 0;
    return count;
}

static ug_status int_value(lexer *L, size_t b, const char *digits, int base, kernel_token *t)
{
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, base);
    if (errno == ERANGE)
        return lex_error(L, b, "integer literal is too large (more than 64 bits)");
    t->v.i = (int64_t)v;
    t->big = v > (unsigned long long)INT64_MAX;
    return UG_OK;
}

/* 0x.. 0o.. 0b.. */
static ug_status lex_prefixed_int(lexer *L, size_t b)
{
    char c = (char)tolower((unsigned char)L->s[b + 1]);
    int base = c == 'x' ? 16 : c == 'o' ? 8 : 2;
    char buf[160];
    size_t nb = 0;
    L->i = b + 2;
    if (L->i < L->n && L->s[L->i] == '_')
        L->i++;
    if (scan_digits(L, base, buf, &nb, sizeof buf) == 0 ||
        (L->i < L->n && is_name_char((unsigned char)L->s[L->i])))
        return lex_error(L, b, "invalid integer literal");
    kernel_token *t = push(L, TK_INT, b, L->i - b);
    return t ? int_value(L, b, buf, base, t) : UG_ENOMEM;
}

/* number = (digits ["." digits] | "." digits) [("e"|"E") ["+"|"-"] digits] ["j"|"J"] */
static ug_status lex_number(lexer *L)
{
    size_t b = L->i;
    if (L->s[b] == '0' && b + 1 < L->n && strchr("xXoObB", L->s[b + 1]) && L->s[b + 1])
        return lex_prefixed_int(L, b);
    char buf[400];
    size_t nb = 0;
    bool is_float = false;
    scan_digits(L, 10, buf, &nb, sizeof buf);
    if (L->i < L->n && L->s[L->i] == '.') {
        is_float = true;
        buf[nb++] = '.';
        L->i++;
        scan_digits(L, 10, buf, &nb, sizeof buf);
    }
    if (L->i < L->n && (L->s[L->i] == 'e' || L->s[L->i] == 'E')) {
        size_t save = L->i, save_nb = nb;
        buf[nb++] = 'e';
        L->i++;
        if (L->i < L->n && (L->s[L->i] == '+' || L->s[L->i] == '-'))
            buf[nb++] = L->s[L->i++];
        if (scan_digits(L, 10, buf, &nb, sizeof buf) == 0) {
            L->i = save;
            nb = save_nb;
            buf[nb] = 0;
        } else {
            is_float = true;
        }
    }
    bool imag = L->i < L->n && (L->s[L->i] == 'j' || L->s[L->i] == 'J');
    if (imag)
        L->i++;
    if (L->i < L->n && is_name_char((unsigned char)L->s[L->i]))
        return lex_error(L, b, "invalid number literal");
    kernel_token *t = push(L, imag ? TK_IMAG : is_float ? TK_FLOAT : TK_INT, b, L->i - b);
    if (!t)
        return UG_ENOMEM;
    if (is_float || imag) { /* 10j is the imaginary 10.0, as Python reads it */
        t->v.f = strtod(buf, NULL);
        return UG_OK;
    }
    if (nb > 1 && buf[0] == '0' && strspn(buf, "0") != nb)
        return lex_error(L, b, "leading zeros in decimal integer literals are not permitted; use 0o for octal");
    return int_value(L, b, buf, 10, t);
}

/* One line end at s[i] (\n, \r\n or a lone \r) inside a token: count it. */
static void inner_newline(lexer *L)
{
    if (L->s[L->i] == '\r' && L->i + 1 < L->n && L->s[L->i + 1] == '\n')
        L->i++;
    L->i++;
    L->line++;
    L->line_start = L->i;
}

/* string = [prefix] ("'" ... "'" | '"' ... '"' | triple-quoted)
 * The token's position (and that of an unterminated-string error) is where
 * the string starts; lines inside it, escaped or not, are counted. */
static ug_status lex_string(lexer *L)
{
    size_t b = L->i;
    kernel_pos start = pos_at(L, b, 1);
    while (isalpha((unsigned char)L->s[L->i]))
        L->i++;
    char q = L->s[L->i];
    bool triple = L->i + 2 < L->n && L->s[L->i + 1] == q && L->s[L->i + 2] == q;
    L->i += triple ? 3 : 1;
    for (;;) {
        char c = L->i < L->n ? L->s[L->i] : 0;
        if (L->i >= L->n || (!triple && (c == '\n' || c == '\r'))) {
            kernel_error_at(L->err, UG_ESYNTAX, L->src, fname(L), start, "%s", "unterminated string literal");
            return UG_ESYNTAX;
        }
        if (c == '\\' && L->i + 1 < L->n) { /* an escape; a backslash-newline continues the string */
            L->i++;
            if (L->s[L->i] == '\n' || L->s[L->i] == '\r')
                inner_newline(L);
            else
                L->i++;
            continue;
        }
        if (c == '\n' || c == '\r') {
            inner_newline(L);
            continue;
        }
        if (c == q && (!triple || (L->i + 2 < L->n && L->s[L->i + 1] == q && L->s[L->i + 2] == q))) {
            L->i += triple ? 3 : 1;
            break;
        }
        L->i++;
    }
    kernel_token *t = push(L, TK_STRING, b, L->i - b);
    if (!t)
        return UG_ENOMEM;
    t->pos = start;
    t->pos.len = (int)(L->i - b);
    return UG_OK;
}

static bool string_start(const lexer *L)
{
    size_t k = L->i;
    while (k < L->n && k - L->i < 2 && strchr("rRbBuUfF", L->s[k]) && L->s[k])
        k++;
    return k < L->n && (L->s[k] == '\'' || L->s[k] == '"');
}

static ug_status lex_operator(lexer *L)
{
    int first = op_first[(unsigned char)L->s[L->i]];
    for (size_t k = first < 0 ? sizeof ops / sizeof *ops : (size_t)first; k < sizeof ops / sizeof *ops; k++) {
        if (ops[k].op[0] != L->s[L->i])
            continue;
        size_t len = strlen(ops[k].op);
        if (L->i + len > L->n || memcmp(L->s + L->i, ops[k].op, len) != 0)
            continue;
        if (ops[k].kind < 0)
            return lex_error(L, L->i, "dicts and sets are not supported in kernels");
        if (ops[k].kind == TK_LPAREN || ops[k].kind == TK_LBRACKET)
            L->depth++;
        if ((ops[k].kind == TK_RPAREN || ops[k].kind == TK_RBRACKET) && L->depth > 0)
            L->depth--;
        kernel_token *t = push(L, ops[k].kind, L->i, len);
        L->i += len;
        return t ? UG_OK : UG_ENOMEM;
    }
    return lex_error(L, L->i, "invalid character in kernel source");
}

/* Measure the indentation at the start of a line; i is left at the first
 * non-blank byte. */
static void measure_indent(lexer *L, int *col, int *alt)
{
    *col = *alt = 0;
    for (; L->i < L->n; L->i++) {
        char c = L->s[L->i];
        if (c == ' ') {
            (*col)++;
            (*alt)++;
        } else if (c == '\t') {
            *col = (*col / 8 + 1) * 8;
            (*alt)++;
        } else if (c == '\f') {
            *col = *alt = 0;
        } else {
            break;
        }
    }
}

static ug_status indent_error(lexer *L, const char *msg)
{
    return kernel_error_at(L->err, UG_ESYNTAX, L->src, fname(L), pos_at(L, L->i, 1), "%s", msg);
}

/* Compare a new logical line's indentation with the stack; emit INDENT/DEDENTs. */
static ug_status do_indent(lexer *L, int col, int alt)
{
    int top = L->indent[L->nindent - 1], atop = L->altindent[L->nindent - 1];
    if (col == top) {
        return alt == atop ? UG_OK : indent_error(L, "inconsistent use of tabs and spaces in indentation");
    }
    if (col > top) {
        if (alt <= atop)
            return indent_error(L, "inconsistent use of tabs and spaces in indentation");
        if (L->nindent == MAX_INDENT)
            return indent_error(L, "too many levels of indentation");
        L->indent[L->nindent] = col;
        L->altindent[L->nindent++] = alt;
        return push(L, TK_INDENT, L->i, 1) ? UG_OK : UG_ENOMEM;
    }
    while (L->nindent > 1 && col < L->indent[L->nindent - 1]) {
        L->nindent--;
        if (!push(L, TK_DEDENT, L->i, 1))
            return UG_ENOMEM;
    }
    if (col != L->indent[L->nindent - 1])
        return indent_error(L, "unindent does not match any outer indentation level");
    if (alt != L->altindent[L->nindent - 1])
        return indent_error(L, "inconsistent use of tabs and spaces in indentation");
    return UG_OK;
}

/* At the start of a physical line outside brackets: skip blank/comment lines,
 * then handle indentation. */
static ug_status line_start(lexer *L, bool *done)
{
    int col, alt;
    measure_indent(L, &col, &alt);
    if (L->i >= L->n) {
        *done = true;
        return UG_OK;
    }
    char c = L->s[L->i];
    if (c == '#' || c == '\n' || c == '\r' || (c == '\\' && L->i + 1 < L->n && L->s[L->i + 1] == '\n'))
        return UG_OK; /* blank line: no indentation meaning */
    return do_indent(L, col, alt);
}

static bool last_is(const lexer *L, int kind) { return L->ntoks > 0 && L->toks[L->ntoks - 1].kind == kind; }

static ug_status newline(lexer *L)
{
    size_t at = L->i;
    if (L->s[L->i] == '\r' && L->i + 1 < L->n && L->s[L->i + 1] == '\n')
        L->i++;
    L->i++;
    ug_status st = UG_OK;
    bool logical = L->depth == 0 && L->ntoks > 0 && !last_is(L, TK_NEWLINE) && !last_is(L, TK_INDENT) &&
                   !last_is(L, TK_DEDENT);
    if (logical && !push(L, TK_NEWLINE, at, 1))
        st = UG_ENOMEM;
    L->line++;
    L->line_start = L->i;
    return st;
}

static ug_status lex_one(lexer *L, bool *at_bol)
{
    unsigned char c = (unsigned char)L->s[L->i];
    if (*at_bol && L->depth > 0)
        *at_bol = false;
    if (*at_bol) {
        bool done = false;
        *at_bol = false;
        ug_status st = line_start(L, &done);
        if (st || done || L->i >= L->n)
            return st;
        c = (unsigned char)L->s[L->i];
    }
    if (c == ' ' || c == '\t' || c == '\f') {
        L->i++;
    } else if (c == '#') {
        while (L->i < L->n && L->s[L->i] != '\n' && L->s[L->i] != '\r')
            L->i++;
    } else if (c == '\n' || c == '\r') {
        *at_bol = true;
        return newline(L);
    } else if (c == '\\') {
        size_t k = L->i + 1;
        if (k < L->n && L->s[k] == '\r')
            k++;
        if (k >= L->n || L->s[k] != '\n')
            return lex_error(L, L->i, "unexpected character after line continuation character");
        L->i = k + 1;
        L->line++;
        L->line_start = L->i;
    } else if (string_start(L)) {
        return lex_string(L);
    } else if (is_name_start(c)) {
        return lex_name(L);
    } else if (isdigit(c) || (c == '.' && L->i + 1 < L->n && isdigit((unsigned char)L->s[L->i + 1]))) {
        return lex_number(L);
    } else {
        return lex_operator(L);
    }
    return UG_OK;
}

/* At EOF: close the last logical line, then every open indentation level. */
static ug_status finish(lexer *L)
{
    if (L->ntoks > 0 && !last_is(L, TK_NEWLINE) && !last_is(L, TK_DEDENT) && !push(L, TK_NEWLINE, L->n, 1))
        return UG_ENOMEM;
    while (L->nindent > 1) {
        L->nindent--;
        if (!push(L, TK_DEDENT, L->n, 1))
            return UG_ENOMEM;
    }
    return push(L, TK_EOF, L->n, 1) ? UG_OK : UG_ENOMEM;
}

ug_status kernel_lex(kernel_arena *a, const kernel_source *src, kernel_token **toks, int *ntoks, ug_error *err)
{
    lexer L = {.a = a, .src = src, .s = src->text, .n = src->len, .line = 1, .nindent = 1, .err = err};
    *toks = NULL;
    *ntoks = 0;
    bool at_bol = true;
    ug_status st = UG_OK;
    if (L.n >= 3 && memcmp(L.s, "\xEF\xBB\xBF", 3) == 0)
        L.i = L.line_start = 3; /* UTF-8 byte order mark */
    while (st == UG_OK && L.i < L.n)
        st = lex_one(&L, &at_bol);
    if (st == UG_OK)
        st = finish(&L);
    if (st == UG_ENOMEM)
        return base_err_set(err, UG_ENOMEM, "out of memory while tokenizing");
    if (st)
        return st;
    *toks = L.toks;
    *ntoks = L.ntoks;
    return UG_OK;
}
