"""Sessions read from the cache (Redis) and kept in the database, surviving a cache outage.

Django's ``cached_db`` store already writes through to the database and ignores a failed
cache write on save, but it still fails a request whose session it had to read from the
database while the cache is down (it puts the session back into the cache, unguarded).
Here every read and every refill tolerates the cache being away: the panel keeps working
from the database, and signing in works (the key it retires held no more than the session
had before). Deleting a session (sign-out) still fails loudly if the cache cannot forget
it, so that a signed-out session cannot come back from the cache later.
"""

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(CachedDBStore):
    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # the cache is away, or refuses the key (see Django's #17810)
            logger.warning("Session cache unavailable; reading the session from the database")
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:
            logger.warning("Session cache unavailable; session not cached")
        return data

    def exists(self, session_key: str | None) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:
            logger.warning("Session cache unavailable; checking the database")
        return super(CachedDBStore, self).exists(session_key)

    def cycle_key(self) -> None:
        """A new key for the same data (at sign-in). The old key's cached copy holds only
        what the session held before, so a cache that cannot drop it now is logged, not
        fatal."""
        data, old_key = self._session, self.session_key
        self.create()
        self._session_cache = data
        if old_key:
            super(CachedDBStore, self).delete(old_key)
            try:
                self._cache.delete(self.cache_key_prefix + old_key)
            except Exception:
                logger.warning("Session cache unavailable; the retired key stays cached")
