/* fuzz_signature.c — dtype signature strings: parse, then finish for both
 * kernel kinds. Any input gives UG_OK or an error with a column inside the string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    base_sig sig;
    ug_error err;
    ug_status st = base_sig_parse(s, &sig, &err);
    if (st == UG_ESIGNATURE && (err.column < 1 || (size_t)err.column > strlen(s) + 1))
        abort(); /* an error must point inside the string (or just past its end) */
    if (st == UG_OK) {
        base_sig copy = sig;
        base_sig_finish(&sig, s, false, sig.nin, 1, &err);
        base_sig_finish(&copy, s, true, copy.nin > 1 ? copy.nin - 1 : 1, 1, &err);
    }
    free(s);
    return 0;
}
