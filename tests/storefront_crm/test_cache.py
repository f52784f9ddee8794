import os

import pytest

from storefront_crm.cache import ReusedClientRedisCache


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_the_redis_cache_reuses_its_client_and_still_reads_and_writes():
    cache = ReusedClientRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-reuse"})
    client = cache._cache.get_client("a")
    assert cache._cache.get_client("b", write=True) is client
    cache.set("answer", {"value": 42}, 30)
    assert cache.get("answer") == {"value": 42}
    cache.delete("answer")
    assert cache.get("answer") is None


def test_sessions_are_read_from_the_cache_and_kept_in_the_database(settings):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    if os.environ.get("REDIS_URL"):
        assert (
            settings.CACHES["default"]["BACKEND"] == "storefront_crm.cache.ReusedClientRedisCache"
        )
