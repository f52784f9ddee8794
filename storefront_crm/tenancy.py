"""Store scoping: the one way a request, a task or a command reaches a store's rows.

Every store-owned model uses ``store_scoped_manager()`` (django-scopes): a query on it
without an active store raises ``ScopeError`` instead of returning every store's rows.
Inside ``store_scope(store)`` every query, related managers included, is filtered to that
store, so an id from another store is simply "does not exist" — a 404 in a view.

Panel URLs are ``/store/<store_slug>/…``. ``StoreMiddleware`` resolves the slug, checks the
user's membership (a store you are not a member of is a 404 too), sets ``request.store``
and ``request.membership`` and runs the view inside the store's scope. Each panel view
declares the permission it needs with ``@permission_required("customers.view")``.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .auth import user_prefetched
from .models import Membership, Role, Store, User

ModelT = TypeVar("ModelT", bound=models.Model)

ADMIN_PREFIX = "/" + settings.ADMIN_URL

# Named permissions and the roles that hold them: the one table the views consult.
PERMISSIONS: dict[str, set[str]] = {
    "panel.view": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    "customers.view": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    "customers.notes": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    # Editing or deleting another member's note (everyone may change their own).
    "customers.notes_moderate": {Role.OWNER, Role.MANAGER},
    "customers.tags": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    "customers.edit": {Role.OWNER, Role.MANAGER},
    "customers.delete": {Role.OWNER, Role.MANAGER},
    "customers.import": {Role.OWNER, Role.MANAGER},
    "customers.export": {Role.OWNER, Role.MANAGER},
    "customers.impersonate": {Role.OWNER, Role.MANAGER},
    "customers.merge": {Role.OWNER, Role.MANAGER},
    # Store-wide setup of the customers area: groups, renaming/merging/deleting the
    # store's tags (adding a tag to a customer is "customers.tags"), custom fields.
    "customers.groups": {Role.OWNER, Role.MANAGER},
    "customers.manage_tags": {Role.OWNER, Role.MANAGER},
    "customers.fields": {Role.OWNER, Role.MANAGER},
    "segments.edit": {Role.OWNER, Role.MANAGER},
    "orders.view": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    "orders.edit": {Role.OWNER, Role.MANAGER},
    "orders.export": {Role.OWNER, Role.MANAGER},
    "jobs.view": {Role.OWNER, Role.MANAGER, Role.SUPPORT},
    # The store's audit trail: imports, exports, deletions, setup changes.
    "store.activity": {Role.OWNER, Role.MANAGER},
    "store.settings": {Role.OWNER},
    "staff.manage": {Role.OWNER},
}


def role_has_permission(role: str, permission: str) -> bool:
    try:
        return role in PERMISSIONS[permission]
    except KeyError:  # a typo in a view's declaration must not silently allow
        raise ValueError(f"Unknown permission {permission!r}") from None


@contextmanager
def store_scope(store: Store) -> Iterator[None]:
    """Activate ``store`` for every scoped query in the block (tasks, commands, tests)."""
    with scope(store=store):
        yield


@contextmanager
def all_stores() -> Iterator[None]:
    """Deliberately cross-store work only: operators' admin, migrations, maintenance."""
    with scopes_disabled():
        yield


def membership_for(user: Any, store_slug: str) -> Membership | None:
    if not user.is_authenticated or getattr(user, "store_id", None) is not None:
        return None  # anonymous, or a shopper identity: never staff
    return (
        Membership.objects.select_related("store").filter(user=user, store__slug=store_slug).first()
    )


def membership_with_user(user_id: Any, store_slug: str) -> Membership | None:
    """The membership of user ``user_id`` in the store, with its store and user, in one
    query: every panel request makes it, before Django's session check has read the user.

    On PostgreSQL it is plain SQL built once from the models' columns: compiling the
    equivalent ORM query costs twice the round trip. Shopper identities have no
    memberships (``membership_for`` refuses them as well)."""
    try:
        user_id = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    if connection.vendor != "postgresql" or not _membership_columns_plain():
        return (
            Membership.objects.select_related("store", "user")
            .filter(user_id=user_id, store__slug=store_slug, user__store__isnull=True)
            .first()
        )
    with connection.cursor() as cursor:
        cursor.execute(_membership_sql(), [user_id, store_slug])
        row = cursor.fetchone()
    if row is None:
        return None
    membership, end = _instance_from_row(Membership, row, 0)
    store, end = _instance_from_row(Store, row, end)
    user, _end = _instance_from_row(User, row, end)
    membership._state.fields_cache.update(store=store, user=user)
    return membership


def _instance_from_row(model: type[ModelT], row: Sequence[Any], start: int) -> tuple[ModelT, int]:
    """The ``model`` instance whose concrete columns start at ``row[start]``, and where the
    next one starts."""
    names = [field.attname for field in model._meta.concrete_fields]
    end = start + len(names)
    return model.from_db(connection.alias, names, row[start:end]), end


@cache
def _membership_columns_plain() -> bool:
    """Whether every column comes from psycopg as the model wants it (no field converts its
    database value, as a JSONField would): the plain SQL path builds instances directly."""
    return not any(
        hasattr(field, "from_db_value")
        for model in (Membership, Store, User)
        for field in model._meta.concrete_fields
    )


@cache
def _membership_sql() -> str:
    qn = connection.ops.quote_name
    tables = [(model, qn(model._meta.db_table)) for model in (Membership, Store, User)]
    columns = ", ".join(
        f"{table}.{qn(field.column)}"
        for model, table in tables
        for field in model._meta.concrete_fields
    )
    membership, store, user = (table for _model, table in tables)
    return (
        f"SELECT {columns} FROM {membership}"
        f" JOIN {store} ON {store}.id = {membership}.store_id"
        f" JOIN {user} ON {user}.id = {membership}.user_id"
        f" WHERE {membership}.user_id = %s AND {store}.slug = %s AND {user}.store_id IS NULL"
    )


def stores_of(user: Any) -> list[Membership]:
    if not user.is_authenticated or getattr(user, "store_id", None) is not None:
        return []
    return list(
        Membership.objects.select_related("store").filter(user=user).order_by("store__name")
    )


class StoreMiddleware:
    """Turns ``/store/<store_slug>/…`` into ``request.store`` inside that store's scope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.store = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        if request.path_info.startswith(ADMIN_PREFIX) and request.user.is_superuser:
            with all_stores():  # the operators' admin is deliberately cross-store
                return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        store_slug = match.kwargs.get("store_slug")
        if store_slug is None or match.namespace.split(":")[0] != "panel":
            return self.get_response(request)
        user_id = request.session.get(SESSION_KEY)
        looked_up = user_id is not None and not hasattr(request, "_cached_user")
        if looked_up:
            # Its answer is final: no membership means a 404, the same as membership_for.
            membership = membership_with_user(user_id, store_slug)
            with user_prefetched(membership.user if membership else None):
                request.user.is_authenticated  # noqa: B018 - Django's session check, now
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not looked_up:
            membership = membership_for(request.user, store_slug)
        if membership is None:
            raise Http404("No such store.")
        request.store = membership.store  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        if request.session.get("last_store") != store_slug:  # avoid a session write per request
            request.session["last_store"] = store_slug
        with store_scope(membership.store), timezone.override(membership.store.time_zone):
            return self.get_response(request)


def permission_required(permission: str) -> Callable:
    """Declare the named permission a panel view needs; checked on the server every time."""
    role_has_permission(Role.OWNER, permission)  # fail at import on an unknown name

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                raise Http404("No such store.")
            if not membership.has_permission(permission):
                raise PermissionDenied(f"Your role cannot use {permission}.")
            return view(request, *args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def can(request: HttpRequest, permission: str) -> bool:
    membership = getattr(request, "membership", None)
    return bool(membership and membership.has_permission(permission))
