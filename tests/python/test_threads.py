"""Concurrency: several Python threads calling the same ufunc (GIL released in loops)."""
import threading

import numpy as np
import pytest

import ufuncgen


def _run_threads(fn, n):
    errors = []

    def body(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_two_threads_same_ufunc():
    f = ufuncgen.vectorize("def f(x, y):\n    return x * y + sin(x)\n", ["f8(f8,f8)", "f4(f4,f4)"])
    x = np.linspace(-3, 3, 300_000)
    expect = f(x, 2.0)  # one thread first; threads must agree bit for bit
    want = x * 2 + np.sin(x)
    assert np.all(np.abs(expect - want) <= 4 * np.spacing(np.abs(want)))

    def work(i):
        for _ in range(20):
            np.testing.assert_array_equal(f(x, 2.0), expect)

    _run_threads(work, 2)


def test_threads_lazy_compilation():
    f = ufuncgen.vectorize("def f(x):\n    return x + 1\n")
    dtypes = [np.int8, np.int16, np.int32, np.int64, np.float32, np.float64, np.uint8, np.uint32]

    def work(i):
        for dt in dtypes[i % 2::2] + dtypes:
            a = np.arange(1000, dtype=dt)
            r = f(a)
            assert r.dtype == dt
            np.testing.assert_array_equal(r, a + dt(1))

    _run_threads(work, 4)
    assert len(f.types) == len(dtypes)


THREADS_PARALLEL_GUFUNC = """
import threading, numpy as np, ufuncgen
src = "def s(a, out):\\n    t = 0.0\\n    for i in range(a.shape[0]):\\n        t += a[i]\\n    out[0] = t\\n"
f = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()", target="parallel")
a = np.arange(40_000.0).reshape(4000, 10)
errors = []

def work():
    try:
        for _ in range(10):
            np.testing.assert_array_equal(f(a), a.sum(axis=1))
    except Exception as e:
        errors.append(e)

ts = [threading.Thread(target=work) for _ in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
assert not errors, errors
print("ok")
"""


def test_threads_gufunc_parallel_target(run_python):
    # In a subprocess, so a crash fails this test only.
    assert run_python(THREADS_PARALLEL_GUFUNC).strip() == "ok"


def test_loops_release_the_gil():
    """While one thread is inside a long loop, another runs Python code: the
    main thread counts while a worker makes one ~0.5 s call. With the GIL
    held for the call, the count stops for its whole duration (measured:
    ~0.2 million rounds, those of one switch interval, against ~10 million)."""
    slow = ufuncgen.vectorize("def slow(x):\n    s = 0.0\n    for i in range(40000):\n"
                              "        s += x * 1e-9\n    return s\n", ["f8(f8)"])
    x = np.ones(20_000)
    slow(x[:10])  # compiled and warm
    done = threading.Event()
    started = threading.Event()
    result = {}

    def work():
        started.set()
        result["y"] = slow(x)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    count = 0
    while not done.is_set():
        count += 1
    t.join()
    np.testing.assert_allclose(result["y"], 40000 * 1e-9, rtol=1e-12)
    # with the GIL released, the main thread spins freely (millions of rounds);
    # held, it gets only the rounds of a switch interval (5 ms) or two
    assert count > 1_500_000, count


_FORK_RACE = r'''
import os, signal, sys, threading, time
import numpy as np, ufuncgen
mode, nforks = sys.argv[1], int(sys.argv[2])
par = ufuncgen.vectorize("def f(x):\n    return x * 2.0 + np.exp(-x)\n", ["f8(f8)"], target="parallel", num_threads=2)
x = np.linspace(0, 4, 400_000)
want = par(x)  # the main thread's OpenMP pool now exists: the child cannot use it
stop = False
def busy():
    k = 0
    while not stop:
        k += 1
        if mode == "compile":
            ufuncgen.vectorize(f"def g(x):\n    return x * {k}.0 + 0.5\n", ["f8(f8)"])
        else:
            par(x)
t = threading.Thread(target=busy, daemon=True)
t.start()
hung = bad = 0
for i in range(nforks):
    time.sleep(0.0005 * (i % 7))
    pid = os.fork()
    if pid == 0:
        ok = np.array_equal(par(x), want)
        g = ufuncgen.vectorize("def h(x):\n    return x - 3.0\n", ["f8(f8)"])
        os._exit(0 if ok and g(np.float64(5.0)) == 2.0 else 3)
    deadline = time.time() + 20
    while True:
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            bad += st != 0
            break
        if time.time() > deadline:
            hung += 1
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.001)
stop = True
print(hung, bad)
'''


@pytest.mark.parametrize("mode", ["call", "compile"])
def test_fork_while_another_thread_is_inside(mode, run_python):
    """os.fork() while another thread calls a parallel ufunc or compiles:
    children never hang and compute right answers (1 in ~20 hung before)."""
    import subprocess, sys

    r = subprocess.run([sys.executable, "-c", _FORK_RACE, mode, "60"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0"], f"hung, failed children: {r.stdout}"
