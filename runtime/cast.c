/* cast.c — NumPy's astype('unsafe') casts between dtypes, element by
 * element in C: the executor's input and output casts (layout/exec.c) and
 * the reference the generated casts of loops/cast.c agree with (NaN-safe,
 * no undefined behaviour; tests compare the two). Complex to real drops the
 * imaginary part (astype does, with a ComplexWarning); complex to bool is
 * "either part nonzero"; float16 goes through double (exact both ways for
 * float16 and float32, one rounding to nearest even on the way down).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"


/* x86 cvttsd2si semantics without undefined behaviour: NaN and values out
 * of range give the "integer indefinite" value INT_MIN. */
static int32_t f2i32(double x) { return x > -2147483649.0 && x < 2147483648.0 ? (int32_t)x : INT32_MIN; }
static int64_t f2i64(double x)
{
    return x >= -9223372036854775808.0 && x < 9223372036854775808.0 ? (int64_t)x : INT64_MIN;
}
/* gcc's float → uint64 sequence, which NumPy gives on x86-64. */
static uint64_t f2u64(double x)
{
    if (!(x >= 9223372036854775808.0))
        return (uint64_t)f2i64(x);
    return (uint64_t)f2i64(x - 9223372036854775808.0) ^ (UINT64_C(1) << 63);
}

/* IEEE binary16 <-> double, as NumPy's npy_half functions: exact widening;
 * narrowing rounds to nearest even once (from the double, which holds every
 * float32 exactly, so a float32 source rounds as npy_float_to_half does);
 * NaN keeps the top of its payload and stays NaN. */
double rt_half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    double m = h & 0x3ff, v;
    if (e == 0x1f)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -24);
    else
        v = ldexp(m + 1024, e - 25);
    return h & 0x8000 ? -v : v;
}

/* m >> s rounded to nearest even (1 <= s <= 63). */
static uint64_t shift_rne(uint64_t m, int s)
{
    uint64_t r = m >> s, rem = m & ((UINT64_C(1) << s) - 1), half = UINT64_C(1) << (s - 1);
    return r + (rem > half || (rem == half && (r & 1)));
}

uint16_t rt_double_to_half(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    uint16_t sign = (uint16_t)((b >> 48) & 0x8000);
    uint64_t a = b & INT64_MAX, frac = a & ((UINT64_C(1) << 52) - 1);
    if (a >= UINT64_C(0x7ff0000000000000)) {
        uint16_t r = (uint16_t)(0x7c00u + (frac >> 42));
        return (uint16_t)(sign | (frac && r == 0x7c00u ? r + 1 : r));
    }
    int e = (int)(a >> 52) - 1023;
    uint64_t m = frac | (UINT64_C(1) << 52);
    if (e >= 16)
        return sign | 0x7c00u;
    if (e >= -14) { /* a normal half, or the carry of rounding makes it one step up (inf at the top) */
        uint64_t r = ((uint64_t)(e + 15) << 10) + shift_rne(m, 42) - 0x400;
        return (uint16_t)(sign | (r >= 0x7c00u ? 0x7c00u : r));
    }
    int s = 28 - e; /* units of 2**-24, the smallest subnormal */
    return s >= 54 ? sign : (uint16_t)(sign | shift_rne(m, s));
}

/* A loaded element: integers as their 64-bit two's complement bits;
 * complex values have their imaginary part in di (0 for real types). */
typedef struct val {
    bool isfloat, isunsigned;
    uint64_t bits;
    double d, di;
} val;

static val load(const char *p, ug_dtype t)
{
    val v = {0};
    switch (t) {
    case UG_BOOL: v.bits = *(const uint8_t *)p != 0; v.isunsigned = true; break;
    case UG_INT8: v.bits = (uint64_t)(int64_t) * (const int8_t *)p; break;
    case UG_UINT8: v.bits = *(const uint8_t *)p; v.isunsigned = true; break;
    case UG_INT16: v.bits = (uint64_t)(int64_t) * (const int16_t *)p; break;
    case UG_UINT16: v.bits = *(const uint16_t *)p; v.isunsigned = true; break;
    case UG_INT32: v.bits = (uint64_t)(int64_t) * (const int32_t *)p; break;
    case UG_UINT32: v.bits = *(const uint32_t *)p; v.isunsigned = true; break;
    case UG_INT64: v.bits = (uint64_t) * (const int64_t *)p; break;
    case UG_UINT64: v.bits = *(const uint64_t *)p; v.isunsigned = true; break;
    case UG_FLOAT32: v.d = *(const float *)p; v.isfloat = true; break;
    case UG_FLOAT64: v.d = *(const double *)p; v.isfloat = true; break;
    case UG_FLOAT16: v.d = rt_half_to_double(*(const uint16_t *)p); v.isfloat = true; break;
    case UG_COMPLEX64: v.d = ((const float *)p)[0]; v.di = ((const float *)p)[1]; v.isfloat = true; break;
    case UG_COMPLEX128: v.d = ((const double *)p)[0]; v.di = ((const double *)p)[1]; v.isfloat = true; break;
    default: abort();
    }
    return v;
}

/* The integer bits a value converts to for an integer destination of `bits` width. */
static uint64_t int_bits(val v, int bits, bool dst_unsigned)
{
    if (!v.isfloat)
        return v.bits;
    if (bits == 64)
        return dst_unsigned ? f2u64(v.d) : (uint64_t)f2i64(v.d);
    if (bits == 32 && dst_unsigned)
        return (uint64_t)f2i64(v.d);
    return (uint64_t)(int64_t)f2i32(v.d);
}

static float to_f32(val v)
{
    if (v.isfloat)
        return (float)v.d;
    return v.isunsigned ? (float)v.bits : (float)(int64_t)v.bits;
}

static double to_f64(val v)
{
    if (v.isfloat)
        return v.d;
    return v.isunsigned ? (double)v.bits : (double)(int64_t)v.bits;
}

static void store(char *p, ug_dtype t, val v)
{
    switch (t) {
    case UG_BOOL: *(uint8_t *)p = v.isfloat ? v.d != 0 || v.di != 0 : v.bits != 0; break;
    case UG_INT8: case UG_UINT8: *(uint8_t *)p = (uint8_t)int_bits(v, 8, t == UG_UINT8); break;
    case UG_INT16: case UG_UINT16: *(uint16_t *)p = (uint16_t)int_bits(v, 16, t == UG_UINT16); break;
    case UG_INT32: case UG_UINT32: *(uint32_t *)p = (uint32_t)int_bits(v, 32, t == UG_UINT32); break;
    case UG_INT64: case UG_UINT64: *(uint64_t *)p = int_bits(v, 64, t == UG_UINT64); break;
    case UG_FLOAT32: *(float *)p = to_f32(v); break;
    case UG_FLOAT64: *(double *)p = to_f64(v); break;
    case UG_FLOAT16: *(uint16_t *)p = rt_double_to_half(to_f64(v)); break;
    case UG_COMPLEX64: ((float *)p)[0] = to_f32(v); ((float *)p)[1] = (float)v.di; break;
    case UG_COMPLEX128: ((double *)p)[0] = to_f64(v); ((double *)p)[1] = v.di; break;
    default: abort();
    }
}

void rt_cast_strided(void *dst, int64_t dstride, ug_dtype dt, const void *src, int64_t sstride, ug_dtype st,
                         int64_t n)
{
    char *d = dst;
    const char *s = src;
    if (dt == st) {
        size_t sz = ug_dtype_size(dt);
        for (int64_t i = 0; i < n; i++, d += dstride, s += sstride)
            memcpy(d, s, sz);
        return;
    }
    for (int64_t i = 0; i < n; i++, d += dstride, s += sstride)
        store(d, dt, load(s, st));
}
