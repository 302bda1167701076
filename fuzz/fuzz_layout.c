/* fuzz_layout.c — layout strings (NumPy gufunc signatures). Any input gives
 * a layout or UG_ELAYOUT with a column inside the string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    layout_sig *sig = NULL;
    ug_error err;
    ug_status st = layout_parse(s, &sig, &err);
    if (st == UG_OK && (!sig || sig->nin + sig->nout < 1))
        abort();
    if (st == UG_ELAYOUT && (err.column < 1 || (size_t)err.column > strlen(s) + 1))
        abort();
    layout_free(sig);
    free(s);
    return 0;
}
