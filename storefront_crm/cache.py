"""Django's Redis cache, keeping one client per connection pool.

Django builds a new ``redis.Redis`` client for every cache call, and a client's
constructor fills a table of some 170 response callbacks: on a panel request that reads
its session from the cache, that costs more than the round trip to Redis. A client is
thread-safe and only borrows connections from its pool, so one per pool is enough.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
