"""Shared setup for the ufuncgen pytest suites.

The on-disk cache goes to a fresh temporary directory for the session
(set before ufuncgen is imported, so the library's context sees it).
"""
import os
import sys
import tempfile

_cache = tempfile.mkdtemp(prefix="ufuncgen-pytest-cache-")
os.environ.setdefault("UFUNCGEN_CACHE_DIR", _cache)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A cache directory of its own, for subprocesses started by a test."""
    monkeypatch.setenv("UFUNCGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _run_python(code: str, env=None, timeout=300):
    """Run code in a fresh interpreter; return its stdout (fails on error)."""
    import subprocess

    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=timeout)
    assert r.returncode == 0, f"subprocess failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def run_python():
    """run_python(code, env=None) -> stdout of a fresh interpreter (asserts success)."""
    return _run_python
