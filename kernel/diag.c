/* diag.c — error messages that point into the kernel source.
 *
 * Every language error is "kernel 'name', line L, column C: message" followed
 * by the source line as written and a caret under column C. Tabs in the
 * source line are repeated in the caret line so the caret lines up in any
 * terminal. Columns count code points, so the caret walks code points too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "kernel/kernel.h"

/* Append the source line holding `offset`, then the caret line. */
static size_t append_caret(char *buf, size_t n, size_t cap, const kernel_source *src, kernel_pos pos)
{
    if (!src || !src->text || pos.offset < 0 || (size_t)pos.offset > src->len)
        return n;
    const char *t = src->text;
    size_t begin = (size_t)pos.offset, end = (size_t)pos.offset;
    while (begin > 0 && t[begin - 1] != '\n' && t[begin - 1] != '\r') /* a lone \r ends a line too */
        begin--;
    while (end < src->len && t[end] != '\n' && t[end] != '\r')
        end++;
    n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\n%.*s\n", (int)(end - begin), t + begin);
    int col = 1;
    for (size_t i = begin; i < end && col < pos.col && n + 2 < cap; i++) {
        if (((unsigned char)t[i] & 0xC0) == 0x80)
            continue;
        buf[n++] = t[i] == '\t' ? '\t' : ' ';
        col++;
    }
    if (n + 2 < cap) {
        buf[n++] = '^';
        buf[n] = 0;
    }
    return n;
}

ug_status kernel_error_at(ug_error *err, ug_status code, const kernel_source *src, const char *kname,
                          kernel_pos pos, const char *fmt, ...)
{
    if (!err)
        return code;
    base_err_clear(err);
    err->code = code;
    err->line = pos.line;
    err->column = pos.col;
    size_t cap = sizeof err->msg, n;
    if (kname)
        n = (size_t)snprintf(err->msg, cap, "kernel '%s', line %d, column %d: ", kname, pos.line, pos.col);
    else
        n = (size_t)snprintf(err->msg, cap, "line %d, column %d: ", pos.line, pos.col);
    if (n >= cap)
        return code;
    va_list ap;
    va_start(ap, fmt);
    n += (size_t)vsnprintf(err->msg + n, cap - n, fmt, ap);
    va_end(ap);
    if (n < cap)
        append_caret(err->msg, n, cap, src, pos);
    base_utf8_fix(err->msg); /* a cut or malformed character never reaches Python's strict decoder */
    return code;
}
