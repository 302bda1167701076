/* error.c — status names and error records.
 *
 * Errors are values: a status code plus a formatted message in a ug_error
 * the caller owns (or the context keeps per thread). Messages about a place
 * in a one-line string (a signature, a layout) show the string and a caret.
 * A message is always valid UTF-8 (Python decodes it strictly): user text is
 * quoted a whole character at a time, columns and carets count code points,
 * and a message cut at the buffer's end loses a partial character, never
 * keeps half of one.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

static const char *const status_names[] = {
    "UG_OK", "UG_ENOMEM", "UG_EINVAL", "UG_ESYNTAX", "UG_ENAME", "UG_ETYPE", "UG_ESIGNATURE", "UG_ELAYOUT",
    "UG_EOPERANDS", "UG_ESHAPE", "UG_EDTYPE", "UG_EOVERLAP", "UG_EINDEX", "UG_EJIT", "UG_EIO", "UG_EUNSUPPORTED",
    "UG_ERAISE",
};

UG_API const char *ug_status_name(ug_status s)
{
    if ((unsigned)s < sizeof status_names / sizeof *status_names)
        return status_names[s];
    return "UG_E?";
}

/* The length of the UTF-8 sequence starting at s: 1..4 for a well-formed
 * one, 0 at the end, -1 for a byte that starts no well-formed sequence. */
int base_utf8_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!u[0])
        return 0;
    if (u[0] < 0x80)
        return 1;
    int n = u[0] >= 0xF0 && u[0] <= 0xF4 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC2 && u[0] < 0xE0 ? 2 : -1;
    if (n < 0 || (n == 3 && u[0] >= 0xF0))
        return -1;
    for (int k = 1; k < n; k++)
        if ((u[k] & 0xC0) != 0x80)
            return -1;
    /* overlong and surrogate forms, and code points above U+10FFFF */
    if ((u[0] == 0xE0 && u[1] < 0xA0) || (u[0] == 0xED && u[1] >= 0xA0) || (u[0] == 0xF0 && u[1] < 0x90) ||
        (u[0] == 0xF4 && u[1] >= 0x90))
        return -1;
    return n;
}

int base_utf8_column(const char *s, int bytecol)
{
    int col = 1;
    for (int i = 0; i + 1 < bytecol && s[i]; i++)
        col += ((unsigned char)s[i] & 0xC0) != 0x80;
    return col;
}

size_t base_utf8_quote(char *buf, size_t n, const char *s)
{
    int len = base_utf8_len(s);
    if (len == 0)
        return (size_t)snprintf(buf, n, "the end");
    if (len < 0 || (unsigned char)*s < 0x20 || *s == 0x7f)
        return (size_t)snprintf(buf, n, "\\x%02x", (unsigned char)*s);
    return (size_t)snprintf(buf, n, "'%.*s'", len, s);
}

void base_utf8_fix(char *msg)
{
    for (char *p = msg; *p;) {
        int len = base_utf8_len(p);
        if (len > 0) {
            p += len;
            continue;
        }
        /* a sequence cut by the end of the buffer loses its head; any other
         * stray byte becomes '?' */
        size_t rest = strlen(p);
        if (rest < 4 && ((unsigned char)*p & 0xC0) == 0xC0) {
            bool cut = true;
            for (size_t k = 1; k < rest; k++)
                cut &= ((unsigned char)p[k] & 0xC0) == 0x80;
            if (cut) {
                *p = 0;
                return;
            }
        }
        *p++ = '?';
    }
}

void base_err_clear(ug_error *err)
{
    if (!err)
        return;
    err->code = UG_OK;
    err->line = -1;
    err->column = -1;
    err->msg[0] = 0;
}

ug_status base_err_set(ug_error *err, ug_status code, const char *fmt, ...)
{
    if (!err)
        return code;
    base_err_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    base_utf8_fix(err->msg);
    return code;
}

ug_status base_err_at(ug_error *err, ug_status code, const char *what, const char *text, int col,
                           const char *fmt, ...)
{
    if (!err)
        return code;
    base_err_clear(err);
    err->code = code;
    int bytecol = col;
    err->column = col = base_utf8_column(text, bytecol);
    size_t n = (size_t)snprintf(err->msg, sizeof err->msg, "%s '%s', column %d: ", what, text, col);
    if (n >= sizeof err->msg) {
        base_utf8_fix(err->msg);
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    n += (size_t)vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
    /* Show the string (tabs kept so the caret lines up) and a caret under col. */
    if (n < sizeof err->msg)
        n += (size_t)snprintf(err->msg + n, sizeof err->msg - n, "\n    %s\n    ", text);
    for (int i = 1; i < bytecol && text[i - 1] && n + 2 < sizeof err->msg; i++)
        if (((unsigned char)text[i - 1] & 0xC0) != 0x80) /* one column per code point */
            err->msg[n++] = text[i - 1] == '\t' ? '\t' : ' ';
    if (n + 2 < sizeof err->msg) {
        err->msg[n++] = '^';
        err->msg[n] = 0;
    }
    base_utf8_fix(err->msg);
    return code;
}
