"""Pickling by value: generated ufuncs rebuild in another process."""
import copyreg
import pickle

import numpy as np
import pytest

import ufuncgen

SRC = """
def hyp(x, y):
    return sqrt(x * x + y * y)
"""

CHECK = """
import pickle, numpy as np
{imports}
f = {loads}(open({path!r}, 'rb').read())
assert isinstance(f, np.ufunc), type(f)
x = np.array([3.0, 5.0]); y = np.array([4.0, 12.0])
print(f.__name__, f.types, f(x, y).tolist())
"""


def _roundtrip_in_subprocess(run_python, tmp_path, data, loads="pickle.loads", imports=""):
    p = tmp_path / "f.pkl"
    p.write_bytes(data)
    return run_python(CHECK.format(imports=imports, loads=loads, path=str(p)))


def test_pickle_roundtrip_same_process():
    f = ufuncgen.vectorize(SRC, ["f8(f8,f8)", "f4(f4,f4)"], identity=0)
    g = pickle.loads(pickle.dumps(f))
    assert g is not f and isinstance(g, np.ufunc)
    assert g.types == f.types and g.identity == 0 and g.__name__ == "hyp"
    np.testing.assert_array_equal(g(np.array([3.0]), 4.0), [5.0])


def test_pickle_roundtrip_fresh_process(run_python, tmp_path, fresh_cache):
    f = ufuncgen.vectorize(SRC, ["f8(f8,f8)"])
    out = _roundtrip_in_subprocess(run_python, tmp_path, pickle.dumps(f))
    assert out.split("\n")[0] == "hyp ['dd->d'] [5.0, 13.0]"
    # The rebuilding process stored its loops in the cache.
    assert fresh_cache.exists() and any(fresh_cache.iterdir())


def test_cloudpickle_roundtrip_fresh_process(run_python, tmp_path, fresh_cache):
    cloudpickle = pytest.importorskip("cloudpickle")
    f = ufuncgen.vectorize(SRC, ["f8(f8,f8)"], target="parallel")
    out = _roundtrip_in_subprocess(run_python, tmp_path, cloudpickle.dumps(f), loads="cloudpickle.loads",
                                   imports="import cloudpickle")
    assert out.split("\n")[0] == "hyp ['dd->d'] [5.0, 13.0]"
    # a closure capturing the ufunc (what Dask ships) works as well
    data = cloudpickle.dumps(lambda a, b: f(a, b) * 2)
    p = tmp_path / "g.pkl"
    p.write_bytes(data)
    out = run_python(f"import cloudpickle, numpy as np\ng = cloudpickle.loads(open({str(p)!r}, 'rb').read())\n"
                     "print(g(np.array([3.0]), np.array([4.0])).tolist())")
    assert out.strip() == "[10.0]"


def test_pickled_gufunc_keeps_layout_and_options(run_python, tmp_path, fresh_cache):
    src = "def s(a, out):\n    t = 0.0\n    for i in range(len(a)):\n        t += a[i]\n    out[0] = t\n"
    f = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()", boundscheck=True)
    g = pickle.loads(pickle.dumps(f))
    assert g.signature == "(n)->()"
    np.testing.assert_array_equal(g(np.ones((2, 3))), [3.0, 3.0])
    p = tmp_path / "g.pkl"
    p.write_bytes(pickle.dumps(f))
    out = run_python(f"import pickle, numpy as np\ng = pickle.loads(open({str(p)!r}, 'rb').read())\n"
                     "print(g.signature, g(np.ones((2, 4))).tolist())")
    assert out.strip() == "(n)->() [4.0, 4.0]"


def test_lazy_ufunc_pickles_lazy(run_python, tmp_path, fresh_cache):
    f = ufuncgen.vectorize("lambda x: x * 2")
    f(np.arange(3))
    p = tmp_path / "f.pkl"
    p.write_bytes(pickle.dumps(f))
    out = run_python(f"import pickle, numpy as np\nf = pickle.loads(open({str(p)!r}, 'rb').read())\n"
                     "print(f(np.arange(3, dtype=np.int16)).dtype, f(np.arange(3.0)).tolist())")
    assert out.strip() == "int16 [0.0, 2.0, 4.0]"


def test_numpy_ufuncs_still_pickle_by_name(run_python):
    assert pickle.loads(pickle.dumps(np.add)) is np.add
    assert pickle.loads(pickle.dumps([np.sin, np.matmul])) == [np.sin, np.matmul]
    out = run_python("import pickle, numpy as np, ufuncgen\n"
                     "print(pickle.loads(pickle.dumps(np.add)) is np.add)")
    assert out.strip() == "True"


def test_reducer_chains_to_numpys():
    reducer = copyreg.dispatch_table[np.ufunc]
    assert reducer(np.add) == "add"  # NumPy's own answer, passed through
    f = ufuncgen.vectorize("lambda x: x", ["f8(f8)"])
    fn, args = reducer(f)
    assert callable(fn) and args[0]["source"].startswith("lambda")
