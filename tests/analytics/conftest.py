from tests.alerts.conftest import start_worker, telegram  # noqa: F401 - the real Celery worker
from tests.api.conftest import _clean_shared_cache, camera, seed, zone  # noqa: F401 - shared fixtures
