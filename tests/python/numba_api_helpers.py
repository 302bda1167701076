"""Helpers in another module, for test_numba_api.py (kernels call them)."""
import math

import numba

import ufuncgen

OFFSET = 0.25


def twice(x):
    return 2 * x


def twice_plus_one(x):
    return twice(x) + 1  # a helper calling a helper of its own module


@numba.njit
def numba_cube(x):
    return x * x * x


@ufuncgen.njit
def ug_square(x):
    return x * x


def uses_offset(x):
    return x + OFFSET  # a constant of this module


def bad_helper(x):
    with open("f"):  # valid Python, not in the kernel language
        pass
    return x


def undefined_helper(x):
    return x + not_defined_anywhere  # noqa: F821
