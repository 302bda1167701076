/* test_base.c — dtype rules, signature strings and the UFUNCGEN_* reader
 * (base/dtype.c, base/signature.c, base/error.c, base/env.c). The promotion/casting table was
 * produced by NumPy 2 (np.promote_types, np.can_cast) and is the oracle. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static const struct {
    ug_dtype promoted;
    int safe, same_kind;
} numpy_table[UG_NDTYPES][UG_NDTYPES] = {
    {{UG_BOOL, 1, 1}, {UG_INT8, 1, 1}, {UG_UINT8, 1, 1}, {UG_INT16, 1, 1}, {UG_UINT16, 1, 1}, {UG_INT32, 1, 1}, {UG_UINT32, 1, 1}, {UG_INT64, 1, 1}, {UG_UINT64, 1, 1}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT16, 1, 1}},
    {{UG_INT8, 0, 0}, {UG_INT8, 1, 1}, {UG_INT16, 0, 0}, {UG_INT16, 1, 1}, {UG_INT32, 0, 0}, {UG_INT32, 1, 1}, {UG_INT64, 0, 0}, {UG_INT64, 1, 1}, {UG_FLOAT64, 0, 0}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT16, 1, 1}},
    {{UG_UINT8, 0, 0}, {UG_INT16, 0, 1}, {UG_UINT8, 1, 1}, {UG_INT16, 1, 1}, {UG_UINT16, 1, 1}, {UG_INT32, 1, 1}, {UG_UINT32, 1, 1}, {UG_INT64, 1, 1}, {UG_UINT64, 1, 1}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT16, 1, 1}},
    {{UG_INT16, 0, 0}, {UG_INT16, 0, 1}, {UG_INT16, 0, 0}, {UG_INT16, 1, 1}, {UG_INT32, 0, 0}, {UG_INT32, 1, 1}, {UG_INT64, 0, 0}, {UG_INT64, 1, 1}, {UG_FLOAT64, 0, 0}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT32, 0, 1}},
    {{UG_UINT16, 0, 0}, {UG_INT32, 0, 1}, {UG_UINT16, 0, 1}, {UG_INT32, 0, 1}, {UG_UINT16, 1, 1}, {UG_INT32, 1, 1}, {UG_UINT32, 1, 1}, {UG_INT64, 1, 1}, {UG_UINT64, 1, 1}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT32, 0, 1}},
    {{UG_INT32, 0, 0}, {UG_INT32, 0, 1}, {UG_INT32, 0, 0}, {UG_INT32, 0, 1}, {UG_INT32, 0, 0}, {UG_INT32, 1, 1}, {UG_INT64, 0, 0}, {UG_INT64, 1, 1}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT64, 0, 1}},
    {{UG_UINT32, 0, 0}, {UG_INT64, 0, 1}, {UG_UINT32, 0, 1}, {UG_INT64, 0, 1}, {UG_UINT32, 0, 1}, {UG_INT64, 0, 1}, {UG_UINT32, 1, 1}, {UG_INT64, 1, 1}, {UG_UINT64, 1, 1}, {UG_FLOAT64, 0, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT64, 0, 1}},
    {{UG_INT64, 0, 0}, {UG_INT64, 0, 1}, {UG_INT64, 0, 0}, {UG_INT64, 0, 1}, {UG_INT64, 0, 0}, {UG_INT64, 0, 1}, {UG_INT64, 0, 0}, {UG_INT64, 1, 1}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT64, 0, 1}},
    {{UG_UINT64, 0, 0}, {UG_FLOAT64, 0, 1}, {UG_UINT64, 0, 1}, {UG_FLOAT64, 0, 1}, {UG_UINT64, 0, 1}, {UG_FLOAT64, 0, 1}, {UG_UINT64, 0, 1}, {UG_FLOAT64, 0, 1}, {UG_UINT64, 1, 1}, {UG_FLOAT64, 0, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT64, 0, 1}},
    {{UG_FLOAT32, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT32, 0, 1}},
    {{UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT64, 0, 1}},
    {{UG_COMPLEX64, 0, 0}, {UG_COMPLEX64, 0, 0}, {UG_COMPLEX64, 0, 0}, {UG_COMPLEX64, 0, 0}, {UG_COMPLEX64, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX64, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_COMPLEX64, 0, 0}},
    {{UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 0}, {UG_COMPLEX128, 0, 1}, {UG_COMPLEX128, 1, 1}, {UG_COMPLEX128, 0, 0}},
    {{UG_FLOAT16, 0, 0}, {UG_FLOAT16, 0, 0}, {UG_FLOAT16, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT32, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT64, 0, 0}, {UG_FLOAT32, 1, 1}, {UG_FLOAT64, 1, 1}, {UG_COMPLEX64, 1, 1}, {UG_COMPLEX128, 1, 1}, {UG_FLOAT16, 1, 1}},
};

START_TEST(promotion_matches_numpy)
{
    for (int a = 0; a < UG_NDTYPES; a++)
        for (int b = 0; b < UG_NDTYPES; b++) {
            ck_assert_msg(ug_promote(a, b) == numpy_table[a][b].promoted, "promote(%s, %s) = %s, numpy: %s",
                          ug_dtype_name(a), ug_dtype_name(b), ug_dtype_name(ug_promote(a, b)),
                          ug_dtype_name(numpy_table[a][b].promoted));
            ck_assert_int_eq(ug_can_cast_safe(a, b), numpy_table[a][b].safe);
            ck_assert_int_eq(ug_can_cast_same_kind(a, b), numpy_table[a][b].same_kind);
        }
    ck_assert_int_eq(ug_promote(UG_DTYPE_NONE, UG_INT8), UG_DTYPE_NONE);
    ck_assert_int_eq(ug_can_cast_safe(UG_NDTYPES, UG_INT8), 0);
}
END_TEST

START_TEST(dtype_names)
{
    static const struct {
        const char *name;
        ug_dtype t;
    } cases[] = {
        {"float64", UG_FLOAT64}, {"f8", UG_FLOAT64},   {"d", UG_FLOAT64},     {"np.float64", UG_FLOAT64},
        {"numba.f8", UG_FLOAT64}, {"float32", UG_FLOAT32}, {"f", UG_FLOAT32}, {"f4", UG_FLOAT32},
        {"b1", UG_BOOL},         {"?", UG_BOOL},       {"bool", UG_BOOL},     {"b", UG_INT8},
        {"B", UG_UINT8},         {"i4", UG_INT32},     {"u8", UG_UINT64},     {"int64", UG_INT64},
        {"q", UG_INT64},         {"uint16", UG_UINT16}, {"H", UG_UINT16},     {"float16", UG_FLOAT16},
        {"f2", UG_FLOAT16},      {"e", UG_FLOAT16},    {"np.float16", UG_FLOAT16}, {"complex128", UG_COMPLEX128},
        {"c16", UG_COMPLEX128},  {"D", UG_COMPLEX128}, {"complex", UG_COMPLEX128}, {"complex64", UG_COMPLEX64},
        {"c8", UG_COMPLEX64},    {"F", UG_COMPLEX64},  {"numba.complex64", UG_COMPLEX64}, {"c4", UG_DTYPE_NONE},
        {"E", UG_DTYPE_NONE}, {"", UG_DTYPE_NONE}, {"np.", UG_DTYPE_NONE}, {"F8", UG_DTYPE_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(ug_dtype_from_name(cases[i].name) == cases[i].t, "'%s'", cases[i].name);
    ck_assert_int_eq(ug_dtype_from_name(NULL), UG_DTYPE_NONE);
    ck_assert_uint_eq(ug_dtype_size(UG_INT16), 2);
    ck_assert_uint_eq(ug_dtype_size(UG_DTYPE_NONE), 0);
    ck_assert_str_eq(ug_dtype_name(UG_UINT32), "uint32");
    ck_assert_uint_eq(ug_dtype_size(UG_COMPLEX64), sizeof(float _Complex));
    ck_assert_uint_eq(ug_dtype_size(UG_COMPLEX128), sizeof(double _Complex));
    ck_assert_uint_eq(ug_dtype_size(UG_FLOAT16), 2);
    ck_assert_str_eq(ug_dtype_name(UG_COMPLEX128), "complex128");
    ck_assert_int_eq(base_dtype_char(UG_COMPLEX64), 'F');
    ck_assert_int_eq(base_dtype_char(UG_FLOAT16), 'e');
    ck_assert_str_eq(ug_dtype_name((ug_dtype)99), "invalid");
}
END_TEST

/* Parse and finish; return the canonical text or the error. */
static ug_status sig(const char *s, bool gufunc, int nin, int nout, base_sig *out, ug_error *err)
{
    ug_status st = base_sig_parse(s, out, err);
    return st ? st : base_sig_finish(out, s, gufunc, nin, nout, err);
}

START_TEST(signature_spellings)
{
    static const struct {
        const char *s;
        bool gufunc;
        int nin, nout;
        const char *text;
    } ok[] = {
        {"float64(float64, float64)", false, 2, 1, "dd->d"},
        {"f8(f8,f8)", false, 2, 1, "dd->d"},
        {"  float32 ( float32 )  ", false, 1, 1, "f->f"},
        {"dd->d", false, 2, 1, "dd->d"},
        {"f8,f8->f8", false, 2, 1, "dd->d"},
        {"float32,float32->float32", false, 2, 1, "ff->f"},
        {"float64->float64", false, 1, 1, "d->d"},
        {"int8(int8)", false, 1, 1, "b->b"},
        {"?" "?->?", false, 2, 1, "?" "?->?"},
        {"bool(b1, u1)", false, 2, 1, "?B->?"},
        {"void(float64[:], float64[:], float64[:])", true, 2, 1, "dd->d"},
        {"(float64[:], float64[:], float64[:])", true, 2, 1, "dd->d"},
        {"void(float64[:,:], float64[:, ::1], float64[:,:])", true, 2, 1, "dd->d"},
        {"void(int64[:], int64, int64[:])", true, 2, 1, "qq->q"},
        {"f8,f8->f8", true, 2, 1, "dd->d"},
        {"d->dd", true, 1, 2, "d->dd"},
        {"np.float64(np.float64)", false, 1, 1, "d->d"},
        {"complex128(complex128)", false, 1, 1, "D->D"},
        {"c16(c16, c8)", false, 2, 1, "DF->D"},
        {"DF->D", false, 2, 1, "DF->D"},
        {"Fe->F", false, 2, 1, "Fe->F"},
        {"float16,f2->e", false, 2, 1, "ee->e"},
        {"void(complex64[:], float16[:], complex128[:])", true, 2, 1, "Fe->D"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        base_sig s;
        ug_error err;
        ug_status st = sig(ok[i].s, ok[i].gufunc, ok[i].nin, ok[i].nout, &s, &err);
        ck_assert_msg(st == UG_OK, "'%s': %s", ok[i].s, err.msg);
        ck_assert_str_eq(s.text, ok[i].text);
    }
    base_sig s;
    ug_error err;
    ck_assert_int_eq(sig("void(float64[:,:], float64[:])", true, 1, 1, &s, &err), UG_OK);
    ck_assert_int_eq(s.ndim[0], 2);
    ck_assert_int_eq(s.ndim[1], 1);
}
END_TEST

START_TEST(signature_errors)
{
    static const struct {
        const char *s;
        bool gufunc;
        int nin, nout;
        int column;
        const char *substr;
    } bad[] = {
        {"float64(float65)", false, 1, 1, 9, "unknown dtype 'float65'"},
        {"float64(float64", false, 1, 1, 16, "')' expected (to close '(' at column 8)"},
        {"float64(float64,)", false, 1, 1, 17, "expected a dtype name after ','"},
        {"float64 float64", false, 1, 1, 9, "expected '('"},
        {"float64(float64) x", false, 1, 1, 18, "unexpected text"},
        {"dx->d", false, 2, 1, 2, "unknown type code 'x'"},
        {"dd->d->d", false, 2, 1, 6, "more than one '->'"},
        {"->d", false, 1, 1, 1, "expected at least one dtype"},
        {"d->", false, 1, 1, 4, "expected at least one dtype"},
        {"float64(float64)", false, 2, 1, 1, "expected 2 inputs and 1 output, the signature has 1 and 1"},
        {"void(float64)", false, 1, 1, 1, "names its output type"},
        {"float64(float64[:])", false, 1, 1, 1, "vectorize kernels take scalars"},
        {"float64[:](float64)", true, 1, 1, 1, "a return type cannot be an array"},
        {"void(float64[:], float64[:])", true, 2, 1, 1, "has 2 inputs and 1 outputs (3 arguments) but the signature has 2"},
        {"void(float64[:, ;])", true, 1, 0, 17, "expected ':'"},
        {"void(float64[:)", true, 1, 0, 15, "expected ',' or ']'"},
        {"", false, 1, 1, 1, "expected a dtype name"},
        {"()", false, 1, 1, 1, "at least one argument"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        base_sig s;
        ug_error err;
        ug_status st = sig(bad[i].s, bad[i].gufunc, bad[i].nin, bad[i].nout, &s, &err);
        ck_assert_msg(st == UG_ESIGNATURE, "'%s' gave %s", bad[i].s, ug_status_name(st));
        ck_assert_msg(strstr(err.msg, bad[i].substr), "'%s': message '%s' lacks '%s'", bad[i].s, err.msg,
                      bad[i].substr);
        ck_assert_msg(err.column == bad[i].column, "'%s': column %d, expected %d (%s)", bad[i].s, err.column,
                      bad[i].column, err.msg);
    }
}
END_TEST

START_TEST(error_caret)
{
    ug_error err;
    base_err_at(&err, UG_ELAYOUT, "layout", "(n),(n->()", 7, "expected ')'");
    ck_assert_str_eq(err.msg, "layout '(n),(n->()', column 7: expected ')'\n    (n),(n->()\n          ^");
    ck_assert_int_eq(err.code, UG_ELAYOUT);
    ck_assert_int_eq(err.line, -1);
    ck_assert_str_eq(ug_status_name(UG_EINDEX), "UG_EINDEX");
    ck_assert_str_eq(ug_status_name((ug_status)1000), "UG_E?");
}
END_TEST

/* Strictly valid UTF-8 (what Python's decoder accepts), no Python needed. */
static bool valid_utf8(const char *s)
{
    for (int n; *s; s += n)
        if ((n = base_utf8_len(s)) <= 0)
            return false;
    return true;
}

/* Messages quote whole characters and stay valid UTF-8 when cut: 'd->é'
 * quoted one byte of 'é' and Python raised UnicodeDecodeError. */
START_TEST(error_messages_utf8)
{
    ck_assert_int_eq(base_utf8_len("a"), 1);
    ck_assert_int_eq(base_utf8_len("\xC3\xA9"), 2);
    ck_assert_int_eq(base_utf8_len("\xE2\x82\xAC"), 3);
    ck_assert_int_eq(base_utf8_len("\xF0\x9F\x98\x80"), 4);
    ck_assert_int_eq(base_utf8_len(""), 0);
    static const char *const bad[] = {"\xC3", "\xC3(", "\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        ck_assert_int_eq(base_utf8_len(bad[k]), -1);
    base_sig sig;
    ug_error err;
    ck_assert_int_eq(base_sig_parse("d->\xC3\xA9", &sig, &err), UG_ESIGNATURE);
    ck_assert_msg(strstr(err.msg, "unknown type code '\xC3\xA9'") && valid_utf8(err.msg), "%s", err.msg);
    ck_assert_int_eq(err.column, 4);
    /* columns and carets count code points: the second 'é' is column 2 */
    ck_assert_int_eq(base_sig_parse("\xC3\xA9\xC3\xA9->d", &sig, &err), UG_ESIGNATURE);
    ck_assert_msg(valid_utf8(err.msg), "%s", err.msg);
    base_err_at(&err, UG_ELAYOUT, "layout", "(\xC3\xA9\xC3\xA9,n", 4, "x");
    ck_assert_int_eq(err.column, 3);
    ck_assert_msg(strstr(err.msg, "\n      ^"), "caret: %s", err.msg);
    /* every cut of a long message of 2- to 4-byte characters stays valid */
    for (int shift = 0; shift < 4; shift++) {
        char text[3000];
        size_t n = 0;
        for (int k = 0; k < shift; k++)
            text[n++] = 'd';
        while (n + 4 < sizeof text)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", n % 3 ? "\xC3\xA9" : "\xF0\x9F\x98\x80");
        text[n] = 0;
        base_sig_parse(text, &sig, &err);
        ck_assert_msg(valid_utf8(err.msg), "shift %d: a cut character", shift);
        base_err_set(&err, UG_EINVAL, "x%.*s", shift, text + 1000);
        ck_assert_msg(valid_utf8(err.msg), "shift %d: base_err_set", shift);
        base_err_at(&err, UG_ELAYOUT, "layout", text, 100 + shift, "at");
        ck_assert_msg(valid_utf8(err.msg), "shift %d: base_err_at", shift);
    }
    base_err_set(&err, UG_EINVAL, "stray \xC3( and \xFF bytes");
    ck_assert_str_eq(err.msg, "stray ?( and ? bytes");
}
END_TEST

/* One rule per UFUNCGEN_* variable (env.c). UFUNCGEN_DUMP lists whole
 * words: "fastmath" used to print the AST dump, read as a substring. */
START_TEST(env_rules)
{
    setenv("UFUNCGEN_DUMP", "fastmath", 1);
    ck_assert(!base_env_dump("ast"));
    ck_assert(!base_env_dump("math"));
    setenv("UFUNCGEN_DUMP", "ir,ast", 1);
    ck_assert(base_env_dump("ast"));
    ck_assert(base_env_dump("ir"));
    ck_assert(!base_env_dump("i"));
    ck_assert(!base_env_dump("asm"));
    setenv("UFUNCGEN_DUMP", "", 1);
    ck_assert(!base_env_dump(""));
    unsetenv("UFUNCGEN_DUMP");
    ck_assert(!base_env_dump("ast"));
    static const struct { const char *v; bool on; } flags[] = {{"1", true}, {"yes", true}, {"0", false}, {"", false}};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        setenv("UFUNCGEN_DEBUG_CACHE", flags[i].v, 1);
        ck_assert_msg(base_env_debug_cache() == flags[i].on, "UFUNCGEN_DEBUG_CACHE='%s'", flags[i].v);
        setenv("UFUNCGEN_VERIFY", flags[i].v, 1);
        ck_assert_msg(base_env_verify() == flags[i].on, "UFUNCGEN_VERIFY='%s'", flags[i].v);
    }
    unsetenv("UFUNCGEN_DEBUG_CACHE");
    unsetenv("UFUNCGEN_VERIFY");
    ck_assert(!base_env_debug_cache());
    ck_assert(base_env_specialize());
    setenv("UFUNCGEN_SPECIALIZE", "0", 1);
    ck_assert(!base_env_specialize());
    unsetenv("UFUNCGEN_SPECIALIZE");
    setenv("UFUNCGEN_CACHE_DIR", "", 1);
    ck_assert_ptr_null(base_env_cache_dir());
    setenv("UFUNCGEN_CACHE_DIR", "/tmp/x", 1);
    ck_assert_str_eq(base_env_cache_dir(), "/tmp/x");
    unsetenv("UFUNCGEN_CACHE_DIR");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("base");
    tcase_add_test(tc, promotion_matches_numpy);
    tcase_add_test(tc, dtype_names);
    tcase_add_test(tc, signature_spellings);
    tcase_add_test(tc, signature_errors);
    tcase_add_test(tc, error_caret);
    tcase_add_test(tc, error_messages_utf8);
    tcase_add_test(tc, env_rules);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
