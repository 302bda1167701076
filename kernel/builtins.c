/* builtins.c — the names a kernel may call without importing anything.
 *
 * One table maps every accepted spelling to a kernel_builtin; NumPy's long
 * names (arcsin, power) and Python's short ones (asin, pow) are aliases. The
 * parser has already dropped a math./np./numpy. prefix. Dtype names are casts
 * and come from the dtype table, so every dtype spelling the library knows
 * (int8, np.float32, ...) works as a cast, except one-letter type codes,
 * which would steal ordinary variable names.
 */
#include <string.h>

#include "kernel/kernel.h"

static const struct {
    const char *name;
    int b;
} table[] = {
    {"abs", B_ABS},         {"min", B_MIN},           {"max", B_MAX},         {"round", B_ROUND},
    {"int", B_INT},         {"float", B_FLOAT},       {"bool", B_BOOL},       {"len", B_LEN},
    {"range", B_RANGE},     {"pow", B_POW},           {"power", B_POW},       {"exp", B_EXP},
    {"exp2", B_EXP2},       {"expm1", B_EXPM1},       {"log", B_LOG},         {"log2", B_LOG2},
    {"log10", B_LOG10},     {"log1p", B_LOG1P},       {"sqrt", B_SQRT},       {"cbrt", B_CBRT},
    {"sin", B_SIN},         {"cos", B_COS},           {"tan", B_TAN},         {"asin", B_ASIN},
    {"arcsin", B_ASIN},     {"acos", B_ACOS},         {"arccos", B_ACOS},     {"atan", B_ATAN},
    {"arctan", B_ATAN},     {"atan2", B_ATAN2},       {"arctan2", B_ATAN2},   {"sinh", B_SINH},
    {"cosh", B_COSH},       {"tanh", B_TANH},         {"asinh", B_ASINH},     {"arcsinh", B_ASINH},
    {"acosh", B_ACOSH},     {"arccosh", B_ACOSH},     {"atanh", B_ATANH},     {"arctanh", B_ATANH},
    {"hypot", B_HYPOT},     {"floor", B_FLOOR},       {"ceil", B_CEIL},       {"trunc", B_TRUNC},
    {"rint", B_RINT},       {"fabs", B_FABS},         {"copysign", B_COPYSIGN}, {"fmod", B_FMOD},
    {"erf", B_ERF},         {"erfc", B_ERFC},         {"gamma", B_GAMMA},     {"lgamma", B_LGAMMA},
    {"isnan", B_ISNAN},     {"isinf", B_ISINF},       {"isfinite", B_ISFINITE}, {"sign", B_SIGN},
    {"maximum", B_MAXIMUM}, {"minimum", B_MINIMUM},   {"fmax", B_FMAX},       {"fmin", B_FMIN},
    {"complex", B_COMPLEX}, {"conj", B_CONJ},         {"conjugate", B_CONJ},  {"angle", B_ANGLE},
    {"real", B_REAL},       {"imag", B_IMAG},
    {"empty", B_EMPTY},     {"zeros", B_ZEROS},       {"ones", B_ONES},       {"full", B_FULL},
    {"empty_like", B_EMPTY_LIKE}, {"zeros_like", B_ZEROS_LIKE}, {"ones_like", B_ONES_LIKE},
    {"full_like", B_FULL_LIKE},   {"print", B_PRINT},     {"get_thread_id", B_THREAD_ID},
    {"sum", B_SUM},         {"prod", B_PROD},         {"product", B_PROD},    {"mean", B_MEAN},
    {"var", B_VAR},         {"std", B_STD},           {"amin", B_AMIN},       {"amax", B_AMAX},
    {"argmin", B_ARGMIN},   {"argmax", B_ARGMAX},     {"any", B_ANY},         {"all", B_ALL},
    {"nansum", B_NANSUM},   {"nanprod", B_NANPROD},   {"nanmean", B_NANMEAN}, {"nanvar", B_NANVAR},
    {"nanstd", B_NANSTD},   {"nanmin", B_NANMIN},     {"nanmax", B_NANMAX},   {"nanargmin", B_NANARGMIN},
    {"nanargmax", B_NANARGMAX}, {"count_nonzero", B_COUNT_NONZERO}, {"median", B_MEDIAN},
    {"nanmedian", B_NANMEDIAN}, {"quantile", B_QUANTILE}, {"nanquantile", B_NANQUANTILE},
    {"percentile", B_PERCENTILE}, {"nanpercentile", B_NANPERCENTILE}, {"where", B_WHERE},
    {"sort", B_SORT},       {"argsort", B_ARGSORT},   {"partition", B_PARTITION}, {"unique", B_UNIQUE},
    {"array", B_ARRAY},     {"asarray", B_ARRAY},     {"$list", B_LIST},      {"copy", B_COPY},
    {"cumsum", B_CUMSUM},   {"cumprod", B_CUMPROD},   {"diff", B_DIFF},       {"dot", B_DOT},
    {"vdot", B_VDOT},       {"outer", B_OUTER},       {"linalg.norm", B_NORM}, {"$sort", B_SORT_INPLACE},
    {"$fill", B_FILL},
};

/* The canonical spelling of each builtin (the first table entry naming it). */
const char *kernel_builtin_name(int b)
{
    if (b == B_CAST)
        return "cast";
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (table[i].b == b)
            return table[i].name;
    return "?";
}

int kernel_builtin_lookup(const char *name, ug_dtype *cast_to)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].b;
    if (strlen(name) < 2)
        return -1;
    ug_dtype t = ug_dtype_from_name(name);
    if (t == UG_DTYPE_NONE)
        return -1;
    if (cast_to)
        *cast_to = t;
    return B_CAST;
}
