from tests.api.conftest import _clean_shared_cache, camera, seed, zone  # noqa: F401 - shared fixtures
