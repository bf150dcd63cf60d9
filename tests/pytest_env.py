"""Loaded before Django (see pyproject addopts): environment for the test run.

Tests use production-like settings (DEBUG off) with a throwaway secret; everything
else (DATABASE_URL, REDIS_URL) comes from the caller, as in CI.
"""

import os
import secrets

import pytest

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("CROWDSAFE_ENV_FILE", "/nonexistent")  # never read a developer's .env

# Every Redis key, queue, channel group and cache entry of this run under a prefix of its own
# (the workers and servers the tests start inherit it): a `make run` on the same Redis, or
# another test run, never takes our tasks or sees our keys, and we never touch theirs.
_OWN_PREFIX = "CROWDSAFE_REDIS_PREFIX" not in os.environ
os.environ.setdefault("CROWDSAFE_REDIS_PREFIX", f"crowdsafe-test-{secrets.token_hex(4)}")

# The detector for tests: the small OpenVINO export shipped beside the repository.
_repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _candidate in (
    os.environ.get("CROWDSAFE_TEST_MODEL", ""),
    os.path.join(_repo, "models", "yolo11n_int8_openvino_model"),
    os.path.join(_repo, "..", "shared", "models", "yolo11n_int8_openvino_model"),
):
    if _candidate and os.path.exists(_candidate):
        os.environ.setdefault("CROWDSAFE_TEST_MODEL", os.path.abspath(_candidate))
        os.environ.setdefault("CROWDSAFE_DETECTOR_MODEL", os.path.abspath(_candidate))
        os.environ.setdefault("CROWDSAFE_DETECTOR_IMGSZ", "640")  # that export is fixed at 640
        break


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a skip is a failure: every skip here means a missing model, video or browser."""
    outcome = yield
    report = outcome.get_result()
    # An expected failure (xfail, a known defect named in its reason) is not a skip.
    missing = report.skipped and not hasattr(report, "wasxfail")
    if missing and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI runs every test; this one was skipped: {reason}"


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's keys (queues, leases, live state, cache) from the shared Redis."""
    if not _OWN_PREFIX:
        return
    import redis

    try:
        client = redis.Redis.from_url(
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_connect_timeout=2
        )
        keys = list(client.scan_iter(f"{os.environ['CROWDSAFE_REDIS_PREFIX']}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    except redis.RedisError:
        pass  # a Redis test stopped it, or it is gone: nothing of ours to remove
