/* fuzz_kernel.c — the kernel-language front end: tokenizer → parser → type
 * inference for a few signatures. Any source gives a typed kernel or an error
 * whose line and column lie inside the source. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"

/* Lines as the lexer (and Python) count them: \n, \r\n and a lone \r end a line. */
static int lines_of(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == '\n' || (*s == '\r' && s[1] != '\n');
    return n;
}

static void check_pos(const ug_error *err, const char *s)
{
    if (err->line != -1 && (err->line < 1 || err->line > lines_of(s) + 1))
        abort();
    if (err->line != -1 && err->column < 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    kernel_source src = {s, strlen(s)};
    kernel_module *m = NULL;
    ug_error err;
    if (kernel_parse(&src, &m, &err) != UG_OK) {
        check_pos(&err, s);
        goto done;
    }
    kernel_func *k = kernel_find(m, NULL, &err);
    if (!k || k->nparams > 8)
        goto done;
    static const ug_dtype dts[] = {UG_FLOAT64, UG_INT32, UG_FLOAT32, UG_BOOL, UG_UINT8, UG_COMPLEX128, UG_FLOAT16};
    for (size_t t = 0; t < sizeof dts / sizeof *dts; t++) {
        kernel_argtype args[9];
        for (int i = 0; i <= k->nparams; i++)
            args[i] = (kernel_argtype){dts[t], 0};
        kernel_infer_opts o = {.gufunc = false, .nin = k->nparams, .nout = 1, .args = args};
        kernel_typed *tk = NULL;
        if (kernel_infer(m, k, &o, &tk, &err) != UG_OK)
            check_pos(&err, s);
        kernel_typed_free(tk);
        /* the same kernel as a gufunc over 1-d arrays */
        for (int i = 0; i <= k->nparams; i++)
            args[i] = (kernel_argtype){dts[t], 1};
        kernel_infer_opts g = {.gufunc = true, .nin = k->nparams > 1 ? k->nparams - 1 : 1, .nout = 1, .args = args};
        if (k->nparams >= 2 && kernel_infer(m, k, &g, &tk, &err) != UG_OK)
            check_pos(&err, s);
        if (k->nparams >= 2)
            kernel_typed_free(tk);
        tk = NULL;
    }
done:
    kernel_module_free(m);
    free(s);
    return 0;
}
