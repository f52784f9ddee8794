"""Staff sign in with email and password; shopper identities never pass here."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User

# A user the panel's middleware already read together with its membership (one query for
# both): ``get_user`` hands it to Django's session check instead of reading it again.
_prefetched_user: ContextVar[User | None] = ContextVar("prefetched_user", default=None)


@contextmanager
def user_prefetched(user: User | None) -> Iterator[None]:
    token = _prefetched_user.set(user)
    try:
        yield
    finally:
        _prefetched_user.reset(token)


class StaffEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        user = User.objects.filter(
            username=User.login_name(username, None), store__isnull=True
        ).first()
        if user is None:
            User().set_password(password)  # same cost as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        # Django still verifies the session against this user (its password hash); only
        # the read is saved.
        user = _prefetched_user.get()
        if user is not None and str(user.pk) == str(user_id):
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)
