/* infer.c — placeholder while inference is written. */
#include "kernel/kernel.h"
