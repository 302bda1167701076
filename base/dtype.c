/* dtype.c — the element types: names in every accepted spelling, sizes,
 * and NumPy's promotion and casting rules for them.
 *
 * Promotion follows numpy.promote_types exactly for bool, the eight integer
 * types, float16/32/64 and complex64/128 (tests/c/test_base.c holds NumPy's
 * table). Among inexact types the result has the widest component float; an
 * integer asks for a float that holds it (8 bits: float16, 16: float32,
 * wider: float64); complex wins over float. Safe casting is "promotion to
 * the target gives the target", which is what NumPy's table says for these
 * types.
 */
#include <ctype.h>
#include <string.h>

#include "base/base.h"

static const struct {
    const char *name;
    size_t size;
    base_kind kind;
    char code;
} info[UG_NDTYPES] = {
    [UG_BOOL] = {"bool", 1, BASE_KIND_BOOL, '?'},      [UG_INT8] = {"int8", 1, BASE_KIND_INT, 'b'},
    [UG_UINT8] = {"uint8", 1, BASE_KIND_UINT, 'B'},    [UG_INT16] = {"int16", 2, BASE_KIND_INT, 'h'},
    [UG_UINT16] = {"uint16", 2, BASE_KIND_UINT, 'H'},  [UG_INT32] = {"int32", 4, BASE_KIND_INT, 'i'},
    [UG_UINT32] = {"uint32", 4, BASE_KIND_UINT, 'I'},  [UG_INT64] = {"int64", 8, BASE_KIND_INT, 'q'},
    [UG_UINT64] = {"uint64", 8, BASE_KIND_UINT, 'Q'},  [UG_FLOAT32] = {"float32", 4, BASE_KIND_FLOAT, 'f'},
    [UG_FLOAT64] = {"float64", 8, BASE_KIND_FLOAT, 'd'},
    [UG_COMPLEX64] = {"complex64", 8, BASE_KIND_COMPLEX, 'F'}, [UG_COMPLEX128] = {"complex128", 16, BASE_KIND_COMPLEX, 'D'},
    [UG_FLOAT16] = {"float16", 2, BASE_KIND_FLOAT, 'e'},
};

bool base_dtype_valid(int t) { return t >= 0 && t < UG_NDTYPES; }

UG_API const char *ug_dtype_name(ug_dtype t) { return base_dtype_valid(t) ? info[t].name : "invalid"; }

UG_API size_t ug_dtype_size(ug_dtype t) { return base_dtype_valid(t) ? info[t].size : 0; }

base_kind base_dtype_kind(ug_dtype t) { return base_dtype_valid(t) ? info[t].kind : BASE_KIND_BOOL; }

char base_dtype_char(ug_dtype t) { return base_dtype_valid(t) ? info[t].code : '?'; }

/* Spellings other than the canonical names: Numba short names, NumPy type
 * codes and C-ish aliases. Case-sensitive, as NumPy's are ('b' is int8, 'B' uint8). */
static const struct {
    const char *alias;
    ug_dtype t;
} aliases[] = {
    {"b1", UG_BOOL},      {"?", UG_BOOL},        {"bool_", UG_BOOL},    {"boolean", UG_BOOL},
    {"i1", UG_INT8},      {"b", UG_INT8},        {"byte", UG_INT8},     {"u1", UG_UINT8},
    {"B", UG_UINT8},      {"ubyte", UG_UINT8},   {"i2", UG_INT16},      {"h", UG_INT16},
    {"short", UG_INT16},  {"u2", UG_UINT16},     {"H", UG_UINT16},      {"ushort", UG_UINT16},
    {"i4", UG_INT32},     {"i", UG_INT32},       {"intc", UG_INT32},    {"int32_t", UG_INT32},
    {"u4", UG_UINT32},    {"I", UG_UINT32},      {"uintc", UG_UINT32},  {"i8", UG_INT64},
    {"q", UG_INT64},      {"l", UG_INT64},       {"int_", UG_INT64},    {"intp", UG_INT64},
    {"long", UG_INT64},   {"longlong", UG_INT64}, {"int", UG_INT64},    {"u8", UG_UINT64},
    {"Q", UG_UINT64},     {"L", UG_UINT64},      {"uintp", UG_UINT64},  {"ulonglong", UG_UINT64},
    {"uint", UG_UINT64},  {"f4", UG_FLOAT32},    {"f", UG_FLOAT32},     {"single", UG_FLOAT32},
    {"float", UG_FLOAT64}, {"f8", UG_FLOAT64},   {"d", UG_FLOAT64},     {"double", UG_FLOAT64},
    {"float_", UG_FLOAT64},
    {"f2", UG_FLOAT16},   {"e", UG_FLOAT16},     {"half", UG_FLOAT16},  {"c8", UG_COMPLEX64},
    {"F", UG_COMPLEX64},  {"csingle", UG_COMPLEX64}, {"complex_float", UG_COMPLEX64},
    {"c16", UG_COMPLEX128}, {"D", UG_COMPLEX128}, {"cdouble", UG_COMPLEX128}, {"complex", UG_COMPLEX128},
    {"complex_", UG_COMPLEX128}, {"cfloat", UG_COMPLEX128},
};

UG_API ug_dtype ug_dtype_from_name(const char *name)
{
    if (!name)
        return UG_DTYPE_NONE;
    static const char *const prefixes[] = {"np.", "numpy.", "nb.", "numba.", "types.", "numba.types."};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0 && name[n]) {
            name += n;
            i = (size_t)-1; /* allow "numba.types." after "numba." */
        }
    }
    for (int t = 0; t < UG_NDTYPES; t++)
        if (strcmp(name, info[t].name) == 0)
            return (ug_dtype)t;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            return aliases[i].t;
    return UG_DTYPE_NONE;
}

static int bits(ug_dtype t) { return (int)info[t].size * 8; }

static ug_dtype int_of_bits(int b, bool sign)
{
    switch (b) {
    case 8: return sign ? UG_INT8 : UG_UINT8;
    case 16: return sign ? UG_INT16 : UG_UINT16;
    case 32: return sign ? UG_INT32 : UG_UINT32;
    case 64: return sign ? UG_INT64 : UG_UINT64;
    default: return UG_DTYPE_NONE;
    }
}

/* The component float of an inexact type; for an integer, the smallest
 * float that holds all its values (NumPy: int8 → float16, int16 → float32). */
static ug_dtype float_for(ug_dtype t)
{
    switch (t) {
    case UG_COMPLEX64: return UG_FLOAT32;
    case UG_COMPLEX128: return UG_FLOAT64;
    case UG_FLOAT16: case UG_FLOAT32: case UG_FLOAT64: return t;
    default: return bits(t) <= 8 ? UG_FLOAT16 : bits(t) <= 16 ? UG_FLOAT32 : UG_FLOAT64;
    }
}

ug_dtype base_dtype_complex_of(ug_dtype f)
{
    return f == UG_FLOAT64 ? UG_COMPLEX128 : f == UG_COMPLEX128 ? UG_COMPLEX128 : UG_COMPLEX64;
}

ug_dtype base_dtype_part(ug_dtype t)
{
    return t == UG_COMPLEX64 ? UG_FLOAT32 : t == UG_COMPLEX128 ? UG_FLOAT64 : t;
}

UG_API ug_dtype ug_promote(ug_dtype a, ug_dtype b)
{
    if (!base_dtype_valid(a) || !base_dtype_valid(b))
        return UG_DTYPE_NONE;
    if (a == b)
        return a;
    base_kind ka = info[a].kind, kb = info[b].kind;
    if (ka == BASE_KIND_BOOL)
        return b;
    if (kb == BASE_KIND_BOOL)
        return a;
    if (ka >= BASE_KIND_FLOAT || kb >= BASE_KIND_FLOAT) {
        ug_dtype fa = float_for(a), fb = float_for(b);
        ug_dtype f = bits(fa) >= bits(fb) ? fa : fb;
        return ka == BASE_KIND_COMPLEX || kb == BASE_KIND_COMPLEX ? base_dtype_complex_of(f) : f;
    }
    if (ka == kb)
        return bits(a) > bits(b) ? a : b;
    ug_dtype s = ka == BASE_KIND_INT ? a : b, u = ka == BASE_KIND_INT ? b : a;
    if (bits(s) > bits(u))
        return s;
    return bits(u) == 64 ? UG_FLOAT64 : int_of_bits(bits(u) * 2, true);
}

UG_API int ug_can_cast_safe(ug_dtype from, ug_dtype to)
{
    if (!base_dtype_valid(from) || !base_dtype_valid(to))
        return 0;
    return ug_promote(from, to) == to;
}

UG_API int ug_can_cast_same_kind(ug_dtype from, ug_dtype to)
{
    if (!base_dtype_valid(from) || !base_dtype_valid(to))
        return 0;
    /* NumPy's kind order b < u < i < f < c (base_kind's order): a cast within
     * or up the order is same_kind. */
    return ug_can_cast_safe(from, to) || info[from].kind <= info[to].kind;
}
