/* cast.c — NumPy's astype('unsafe') casts between dtypes, element by
 * element in C: the executor's input and output casts (layout/exec.c) and
 * the reference the generated casts of loops/cast.c agree with (NaN-safe,
 * no undefined behaviour; tests compare the two).
 */
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

/* A loaded element: integers as their 64-bit two's complement bits. */
typedef struct val {
    bool isfloat, isunsigned;
    uint64_t bits;
    double d;
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
    case UG_BOOL: *(uint8_t *)p = v.isfloat ? v.d != 0 : v.bits != 0; break;
    case UG_INT8: case UG_UINT8: *(uint8_t *)p = (uint8_t)int_bits(v, 8, t == UG_UINT8); break;
    case UG_INT16: case UG_UINT16: *(uint16_t *)p = (uint16_t)int_bits(v, 16, t == UG_UINT16); break;
    case UG_INT32: case UG_UINT32: *(uint32_t *)p = (uint32_t)int_bits(v, 32, t == UG_UINT32); break;
    case UG_INT64: case UG_UINT64: *(uint64_t *)p = int_bits(v, 64, t == UG_UINT64); break;
    case UG_FLOAT32: *(float *)p = to_f32(v); break;
    case UG_FLOAT64: *(double *)p = to_f64(v); break;
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
