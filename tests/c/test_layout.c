/* test_layout.c — Check suite for layout/: the layout-string parser (against
 * NumPy's own parser, through tests/c/layout_oracle.py) and the native
 * executor (against results computed here independently, with plain loops).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "ufuncgen/internal.h"

/* ====================================================================== parser vs NumPy */

#define NP_SIZE_INFERRED 2
#define NP_CAN_IGNORE 4

/* Read "n v1 .. vn" from *p into v (cap entries); returns n or -1. */
static int read_ints(char **p, long long *v, int cap)
{
    char *end;
    long n = strtol(*p, &end, 10);
    if (end == *p || n < 0 || n > cap)
        return -1;
    *p = end;
    for (long j = 0; j < n; j++) {
        v[j] = strtoll(*p, &end, 10);
        if (end == *p)
            return -1;
        *p = end;
    }
    return (int)n;
}

static char *unhex(const char *h)
{
    size_t n = strcmp(h, "-") == 0 ? 0 : strlen(h) / 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = 0;
    return s;
}

/* Compare layout_parse's structure with NumPy's (the rest of an OK line). */
static int same_structure(const layout_sig *sig, char *rest, char *why, size_t whylen)
{
    long long nd[256], ixs[4096], flags[1024], sizes[1024];
    int nops = read_ints(&rest, nd, 256);
    int nix = read_ints(&rest, ixs, 4096);
    int ndim = read_ints(&rest, flags, 1024);
    for (int j = 0; j < ndim; j++)
        sizes[j] = strtoll(rest, &rest, 10);
    if (nops != sig->nin + sig->nout || nix != sig->ncore_total || ndim != sig->ndims) {
        snprintf(why, whylen, "counts: numpy ops %d ixs %d dims %d; ours %d %d %d", nops, nix, ndim,
                 sig->nin + sig->nout, sig->ncore_total, sig->ndims);
        return 0;
    }
    int c = 0;
    for (int k = 0; k < nops; k++) {
        if (nd[k] != sig->op_ncore[k])
            return snprintf(why, whylen, "operand %d core ndim", k), 0;
        for (int j = 0; j < sig->op_ncore[k]; j++)
            if (ixs[c++] != sig->op_dims[k][j])
                return snprintf(why, whylen, "operand %d dim %d index", k, j), 0;
    }
    for (int j = 0; j < ndim; j++) {
        long long want = (sig->dim_frozen[j] < 0 ? NP_SIZE_INFERRED : 0) | (sig->dim_flexible[j] ? NP_CAN_IGNORE : 0);
        if (flags[j] != want || sizes[j] != sig->dim_frozen[j])
            return snprintf(why, whylen, "dim %d flags/size", j), 0;
    }
    return 1;
}

static FILE *open_oracle(void)
{
    const char *root = getenv("UFUNCGEN_SOURCE_ROOT");
    if (!root)
        root = ".";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/c/layout_oracle.py' '%s/tests/c/layout_cases.txt'", root, root);
    return popen(cmd, "r");
}

START_TEST(parse_matches_numpy)
{
    FILE *f = open_oracle();
    ck_assert_ptr_nonnull(f);
    static char line[1 << 16];
    int ncases = 0, nok = 0, posdiff = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char hex[8192], verdict[8];
        int nin, nout, used;
        ck_assert_int_eq(sscanf(line, "%8191s %7s %d %d%n", hex, verdict, &nin, &nout, &used), 4);
        char *s = unhex(hex);
        layout_sig *sig = NULL;
        ug_error err;
        ug_status st = layout_parse(s, &sig, &err);
        char why[256] = "";
        ncases++;
        if (strcmp(verdict, "OK") == 0) {
            nok++;
            if (st != UG_OK)
                snprintf(why, sizeof why, "numpy accepts, we reject: %.200s", err.msg);
            else if (sig->nin != nin || sig->nout != nout)
                snprintf(why, sizeof why, "nin/nout %d/%d, numpy %d/%d", sig->nin, sig->nout, nin, nout);
            else
                same_structure(sig, line + used, why, sizeof why);
            if (st == UG_OK && sig->scalar != (sig->ncore_total == 0))
                snprintf(why, sizeof why, "scalar flag");
        } else {
            int pos = atoi(line + used);
            if (st != UG_ELAYOUT)
                snprintf(why, sizeof why, "numpy rejects (position %d), we return %d", pos, st);
            else if (err.column != pos + 1) {
                /* Only where NumPy, told the counts, objects to a ',' that
                 * ends a list; we point at the missing operand after it. */
                if (pos < 0 || s[pos] != ',' || err.column <= pos + 1)
                    snprintf(why, sizeof why, "error column %d, NumPy position %d (0-based): %.150s", err.column,
                             pos, err.msg);
                posdiff++;
            }
        }
        if (why[0]) {
            fprintf(stderr, "layout case '%s': %s\n", s, why);
            bad++;
        }
        layout_free(sig);
        free(s);
    }
    ck_assert_int_eq(pclose(f), 0);
    fprintf(stderr, "layout oracle: %d cases (%d valid), %d error columns differ from NumPy's position\n", ncases,
            nok, posdiff);
    ck_assert_int_ge(ncases, 150);
    ck_assert_int_ge(nok, 50);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Parse s, expecting an error at column col whose message contains want. */
static void expect_layout_error(const char *s, int col, const char *want)
{
    layout_sig *sig = (layout_sig *)1;
    ug_error err;
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_null(sig);
    ck_assert_int_eq(err.code, UG_ELAYOUT);
    ck_assert_msg(err.column == col, "'%s': column %d, expected %d (%s)", s, err.column, col, err.msg);
    ck_assert_msg(strstr(err.msg, want), "'%s': message '%s' lacks '%s'", s, err.msg, want);
}

START_TEST(parse_error_messages)
{
    expect_layout_error("(n),(n->()", 7, "expected ',' or ')', found '-'");
    expect_layout_error("(n),(n)", 8, "expected ',' or '->', found end");
    expect_layout_error("(n)->()x", 8, "expected ',' or the end of the layout, found 'x'");
    expect_layout_error("(0)->()", 2, "non-zero frozen size");
    expect_layout_error("(n,)->()", 4, "expected a dimension after ','");
    expect_layout_error("(n)->(n?)", 7, "'?' cannot be used");
    expect_layout_error("(n?)->(n)", 8, "'?' must be used");
    expect_layout_error("(n", 3, "expected ')' to close '(' at column 1, found end");
    expect_layout_error("n->()", 1, "expected '(' to start an input");
    expect_layout_error("(n)->", 6, "expected '(' to start an output");
    expect_layout_error("(\tn\x01)->()", 4, "found \\x01");
    /* The message shows the string and a caret under the column. */
    layout_sig *sig;
    ug_error err;
    layout_parse("(n),(n->()", &sig, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "layout '(n),(n->()', column 7"));
    ck_assert_ptr_nonnull(strstr(err.msg, "\n    (n),(n->()\n          ^"));
}
END_TEST

START_TEST(parse_structure_and_text)
{
    layout_sig *sig;
    ug_error err;
    ck_assert_int_eq(layout_parse(" ( m? , n ) ,(n,p?)\t->(m?,p?) ", &sig, &err), UG_OK);
    ck_assert_int_eq(sig->nin, 2);
    ck_assert_int_eq(sig->nout, 1);
    ck_assert_int_eq(sig->ndims, 3);
    ck_assert_str_eq(sig->dim_name[0], "m");
    ck_assert_str_eq(sig->dim_name[2], "p");
    ck_assert(sig->dim_flexible[0] && !sig->dim_flexible[1] && sig->dim_flexible[2]);
    ck_assert_int_eq(sig->ncore_total, 6);
    ck_assert_int_eq(sig->op_dims[2][1], 2);
    ck_assert_str_eq(sig->text, "(m?,n),(n,p?)->(m?,p?)");
    ck_assert(!sig->scalar);
    layout_free(sig);

    ck_assert_int_eq(layout_parse("(03,n),(3)->(0003)", &sig, &err), UG_OK);
    ck_assert_int_eq(sig->ndims, 2);
    ck_assert_int_eq(sig->dim_frozen[0], 3);
    ck_assert_int_eq(sig->dim_frozen[1], -1);
    ck_assert_str_eq(sig->text, "(3,n),(3)->(3)");
    layout_free(sig);

    ck_assert_int_eq(layout_parse("(),()->()", &sig, &err), UG_OK);
    ck_assert(sig->scalar);
    ck_assert_int_eq(sig->ndims, 0);
    layout_free(sig);

    sig = layout_scalar(3, 2);
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(sig->text, "(),(),()->(),()");
    ck_assert(sig->scalar && sig->nin == 3 && sig->nout == 2 && sig->op_ncore[4] == 0);
    layout_free(sig);
    sig = layout_scalar(0, 1);
    ck_assert_str_eq(sig->text, "->()");
    layout_free(sig);
    layout_free(NULL);
}
END_TEST

/* Build "(d0,d1,...)->()" with n distinct names, or n frozen sizes. */
static char *many_dims(int n, int frozen)
{
    char *s = malloc((size_t)n * 12 + 16), *w = s;
    *w++ = '(';
    for (int j = 0; j < n; j++)
        w += sprintf(w, frozen ? "%s%d" : "%sd%d", j ? "," : "", j + 1);
    strcpy(w, ")->()");
    return s;
}

START_TEST(parse_limits)
{
    layout_sig *sig;
    ug_error err;
    char *s = many_dims(UG_MAXDIMS, 0);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_OK);
    ck_assert_int_eq(sig->op_ncore[0], UG_MAXDIMS);
    layout_free(sig);
    free(s);
    s = many_dims(UG_MAXDIMS + 1, 1);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most 64 core dimensions"));
    ck_assert_int_eq(err.column, (int)(strstr(s, ",65)") - s) + 2);
    free(s);
    s = many_dims(1000, 0);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    free(s);

    /* 1000 distinct dims spread over operands of 10 each: fine. */
    char *big = malloc(20000), *w = big;
    for (int k = 0; k < 50; k++) {
        w += sprintf(w, k == 0 ? "" : k == 25 ? "->" : ",");
        *w++ = '(';
        for (int j = 0; j < 20; j++)
            w += sprintf(w, "%sx%d", j ? "," : "", k * 20 + j);
        *w++ = ')';
    }
    *w = 0;
    ck_assert_int_eq(layout_parse(big, &sig, &err), UG_OK);
    ck_assert_int_eq(sig->ndims, 1000);
    ck_assert_int_eq(sig->nin, 25);
    ck_assert_int_eq(sig->nout, 25);
    ck_assert_str_eq(sig->text, big);
    layout_free(sig);

    /* Too many operands. */
    w = big;
    for (int k = 0; k < UG_MAXARGS + 1; k++)
        w += sprintf(w, "%s()", k == 0 ? "" : k == UG_MAXARGS ? "->" : ",");
    ck_assert_int_eq(layout_parse(big, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most 64 operands"));
    free(big);
    ck_assert_int_eq(layout_parse(NULL, &sig, &err), UG_EINVAL);
}
END_TEST

/* ====================================================================== executor */

static TCase *exec_tcase(void) { return tcase_create("exec"); }

/* ====================================================================== main */

static Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tp = tcase_create("parse");
    tcase_add_test(tp, parse_matches_numpy);
    tcase_add_test(tp, parse_error_messages);
    tcase_add_test(tp, parse_structure_and_text);
    tcase_add_test(tp, parse_limits);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, exec_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(layout_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nfail = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfail ? EXIT_FAILURE : EXIT_SUCCESS;
}
