"""Shared setup for the ufuncgen pytest suites.

The on-disk cache goes to a fresh temporary directory for the session
(set before ufuncgen is imported, so the library's context sees it).
"""
import os
import sys
import tempfile

_cache = tempfile.mkdtemp(prefix="ufuncgen-pytest-cache-")
os.environ.setdefault("UFUNCGEN_CACHE_DIR", _cache)
os.environ.setdefault("UFUNCGEN_VERIFY", "1")  # LLVM's IR verifier on every generated module (the package is a release build)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:  # differential-test budgets: default, CI (thousands), a long run
    from hypothesis import HealthCheck, settings

    _common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("default", max_examples=100, **_common)
    settings.register_profile("ci", max_examples=300, **_common)  # 300: the whole CI run within 25 minutes
    settings.register_profile("long", max_examples=5000, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:
    pass


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
