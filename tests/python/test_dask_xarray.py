"""Dask and xarray: ufuncgen ufuncs shipped to worker processes and used lazily."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")

import ufuncgen  # noqa: E402


@ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),(n)->()", cache=True)
def gdot(a, b, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    out[0] = acc


@ufuncgen.vectorize(["float64(float64, float64)", "float32(float32, float32)"], identity=0, cache=True)
def wsum(x, y):
    return 0.5 * x + y


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


def test_apply_gufunc_on_worker_processes(client, rng):
    a = rng.standard_normal((400, 30))
    b = rng.standard_normal((400, 30))
    x = da.from_array(a, chunks=(50, 30))
    y = da.from_array(b, chunks=(50, 30))
    r = da.apply_gufunc(gdot, "(n),(n)->()", x, y, output_dtypes=np.float64)
    got = client.compute(r).result()
    np.testing.assert_array_equal(got, gdot(a, b))  # the workers' rebuilt ufunc computes what ours does
    np.testing.assert_allclose(got, np.einsum("ij,ij->i", a, b), rtol=1e-12, atol=1e-12)
    # the work ran in the worker processes, not here
    pids = client.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2


def test_array_ufunc_dispatch_on_dask_arrays(client, rng):
    a = rng.standard_normal((300, 20))
    x = da.from_array(a, chunks=(60, 20))
    lazy = wsum(x, 1.0)  # __array_ufunc__: stays a dask array
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(client.compute(lazy).result(), 0.5 * a + 1.0)
    g = gdot(x, x)  # a gufunc through dask's __array_ufunc__
    assert isinstance(g, da.Array)
    np.testing.assert_array_equal(client.compute(g).result(), gdot(a, a))
    # a reduction per chunk: each worker reduces its block with the shipped ufunc
    parts = da.map_blocks(lambda blk: wsum.reduce(blk, axis=0, keepdims=True), x, chunks=(1, 20))
    got = client.compute(parts).result()
    want = np.concatenate([wsum.reduce(a[i:i + 60], axis=0, keepdims=True) for i in range(0, 300, 60)])
    np.testing.assert_array_equal(got, want)


def test_xarray_apply_ufunc_parallelized(client, rng):
    a = rng.standard_normal((6, 40))
    b = rng.standard_normal((6, 40))
    A = xr.DataArray(a, dims=("time", "x")).chunk({"time": 2})
    B = xr.DataArray(b, dims=("time", "x")).chunk({"time": 2})
    r = xr.apply_ufunc(gdot, A, B, input_core_dims=[["x"], ["x"]], dask="parallelized", output_dtypes=[np.float64])
    assert r.dims == ("time",)
    got = r.compute()
    np.testing.assert_array_equal(got.values, gdot(a, b))
    np.testing.assert_allclose(got.values, (a * b).sum(axis=1), rtol=1e-12, atol=1e-12)
    r2 = xr.apply_ufunc(wsum, A, 2.0, dask="parallelized", output_dtypes=[np.float64])
    np.testing.assert_array_equal(r2.compute().values, 0.5 * a + 2.0)
    # plain xarray (no dask) goes through __array_ufunc__ as well
    np.testing.assert_array_equal(wsum(xr.DataArray(a), 1.0).values, 0.5 * a + 1.0)
