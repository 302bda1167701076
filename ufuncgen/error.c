/* error.c — status names and error records.
 *
 * Errors are values: a status code plus a formatted message in a ug_error
 * the caller owns (or the context keeps per thread). Messages about a place
 * in a one-line string (a signature, a layout) show the string and a caret.
 */
#include <stdio.h>
#include <string.h>

#include "ufuncgen/internal.h"

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

void ug_err_clear(ug_error *err)
{
    if (!err)
        return;
    err->code = UG_OK;
    err->line = -1;
    err->column = -1;
    err->msg[0] = 0;
}

ug_status ug_err_set(ug_error *err, ug_status code, const char *fmt, ...)
{
    if (!err)
        return code;
    ug_err_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

ug_status ug_err_at_string(ug_error *err, ug_status code, const char *what, const char *text, int col,
                           const char *fmt, ...)
{
    if (!err)
        return code;
    ug_err_clear(err);
    err->code = code;
    err->column = col;
    size_t n = (size_t)snprintf(err->msg, sizeof err->msg, "%s '%s', column %d: ", what, text, col);
    if (n >= sizeof err->msg)
        return code;
    va_list ap;
    va_start(ap, fmt);
    n += (size_t)vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
    /* Show the string (tabs kept so the caret lines up) and a caret under col. */
    if (n < sizeof err->msg)
        n += (size_t)snprintf(err->msg + n, sizeof err->msg - n, "\n    %s\n    ", text);
    for (int i = 1; i < col && n + 2 < sizeof err->msg; i++)
        err->msg[n++] = text[i - 1] == '\t' ? '\t' : ' ';
    if (n + 2 < sizeof err->msg) {
        err->msg[n++] = '^';
        err->msg[n] = 0;
    }
    return code;
}
