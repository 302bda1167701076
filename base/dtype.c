/* dtype.c — the element types: names in every accepted spelling, sizes,
 * and NumPy's promotion and casting rules for them.
 *
 * Promotion follows numpy.promote_types exactly for bool, the eight integer
 * types and float32/float64 (no float16: where NumPy would give float16 it
 * cannot arise, since int8/uint8 with float32 give float32 here as there).
 * Safe casting is "promotion to the target gives the target", which is what
 * NumPy's table says for these types.
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
    if (ka == BASE_KIND_FLOAT || kb == BASE_KIND_FLOAT) {
        if (ka == BASE_KIND_FLOAT && kb == BASE_KIND_FLOAT)
            return bits(a) > bits(b) ? a : b;
        ug_dtype f = ka == BASE_KIND_FLOAT ? a : b, i = ka == BASE_KIND_FLOAT ? b : a;
        /* float32 holds 8- and 16-bit integers exactly; wider ones need float64. */
        return (f == UG_FLOAT32 && bits(i) <= 16) ? UG_FLOAT32 : UG_FLOAT64;
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
    /* NumPy's kind order b < u < i < f: a cast within or up the order is same_kind. */
    static const int rank[] = {[BASE_KIND_BOOL] = 0, [BASE_KIND_UINT] = 1, [BASE_KIND_INT] = 2, [BASE_KIND_FLOAT] = 3};
    return ug_can_cast_safe(from, to) || rank[info[from].kind] <= rank[info[to].kind];
}
