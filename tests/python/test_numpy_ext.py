"""The C-extension example (examples/numpy_ext) built on ufuncgen/numpy.h."""
import math

import numpy as np
import pytest

from ufuncgen import _numpy_ext_example as ext


def test_module_ufuncs_are_numpy_ufuncs():
    for name in ("hypot2", "rownorm", "clamp"):
        assert isinstance(getattr(ext, name), np.ufunc)
    assert ext.rownorm.signature == "(n)->()"
    assert ext.hypot2.types == ["dd->d", "ff->f"]


def test_results_match_numpy(rng):
    x = rng.standard_normal(100)
    y = rng.standard_normal(100)
    np.testing.assert_allclose(ext.hypot2(x, y), np.sqrt(x * x + y * y), rtol=1e-15)
    a = rng.standard_normal((4, 7))
    np.testing.assert_allclose(ext.rownorm(a), np.linalg.norm(a, axis=1), rtol=1e-13)
    np.testing.assert_array_equal(ext.clamp(x, -0.5, 0.5), np.clip(x, -0.5, 0.5))
    np.testing.assert_array_equal(ext.clamp(np.arange(10), 2, 6), np.clip(np.arange(10), 2, 6))
    assert ext.hypot2(3.0, 4.0) == 5.0


def test_compile_from_c_and_errors():
    f = ext.compile("def f(x):\n    return x * x\n")
    assert isinstance(f, np.ufunc)
    np.testing.assert_array_equal(f(np.arange(4)), np.arange(4) ** 2)
    with pytest.raises(SyntaxError) as ei:
        ext.compile("def f(x):\n    return x *\n")
    assert ei.value.lineno == 2
    with pytest.raises(NameError):
        ext.compile("def f(x):\n    return nope(x)\n")(np.ones(2))


def test_doc_from_kernel_docstring():
    assert "sqrt(x*x + y*y)" in ext.hypot2.__doc__
    assert math.isclose(ext.hypot2(np.float32(6), np.float32(8)), 10.0)
