"""Ufuncs compiled ahead of time by ufuncgen: sigmoid, clamp (scalar) and
movmean (a parallel gufunc). Importing needs NumPy only."""
from .kernels import clamp, cpu_level, movmean, sigmoid

__all__ = ["sigmoid", "clamp", "movmean", "cpu_level"]
