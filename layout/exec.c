/* exec.c — placeholder while the executor is written. */
#include <stdlib.h>
#include "layout/layout.h"
UG_API void ug_free(void *p) { free(p); }
