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
    assert settings.SESSION_ENGINE == "storefront_crm.sessions"
    if os.environ.get("REDIS_URL"):
        assert (
            settings.CACHES["default"]["BACKEND"] == "storefront_crm.cache.ReusedClientRedisCache"
        )


REDIS_AWAY = {
    "default": {
        "BACKEND": "storefront_crm.cache.ReusedClientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
    "process": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}


@pytest.mark.django_db
def test_the_panel_keeps_working_from_the_database_while_redis_is_away(
    client, owner, store, settings, caplog
):
    from django.urls import reverse

    settings.CACHES = REDIS_AWAY
    client.force_login(owner)  # saved to the database; the cache write is logged and skipped
    url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    assert client.get(url).status_code == 200
    response = client.post(reverse("set_language"), {"language": "de", "next": url})
    assert response.status_code == 302  # a session write works too
    assert "Kunden" in client.get(url).content.decode()
    assert "Session cache unavailable" in caplog.text


@pytest.mark.django_db
def test_signing_out_while_redis_is_away_fails_rather_than_leave_the_session_cached(
    client, owner, settings
):
    """The database row is gone, but the cache could still hold the session once Redis is
    back: the sign-out must not look successful."""
    import redis
    from django.urls import reverse

    settings.CACHES = REDIS_AWAY
    client.force_login(owner)
    client.raise_request_exception = True
    with pytest.raises(redis.exceptions.ConnectionError):
        client.post(reverse("logout"))
