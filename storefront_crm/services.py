"""Writes of the tenancy core: stores and staff."""

from collections.abc import Callable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .errors import ServiceError
from .models import Membership, Role, Store, User
from .tenancy import store_scope

# Feature apps add what a new store needs (customers: the Guests and Standard groups).
# The tenancy core knows no feature app; each registers its step in AppConfig.ready().
StoreSetupStep = Callable[[Store], None]
STORE_SETUP_STEPS: list[StoreSetupStep] = []


def store_setup_step(step: StoreSetupStep) -> StoreSetupStep:
    if step not in STORE_SETUP_STEPS:
        STORE_SETUP_STEPS.append(step)
    return step


def staff_user_get_or_create(
    *, email: str, password: str | None = None, full_name: str = ""
) -> tuple[User, bool]:
    """A global staff identity for ``email``; a password is set only on a new user."""
    email = email.strip().lower()
    user = User.objects.filter(username=User.login_name(email, None)).first()
    if user is not None:
        return user, False
    if password:
        try:
            validate_password(password, User(email=email))
        except ValidationError as error:
            raise ServiceError(" ".join(error.messages), field="password") from error
    user = User.objects.create_user(email, password, full_name=full_name)
    return user, True


@transaction.atomic
def store_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    password: str | None = None,
    currency: str = "EUR",
    language: str = "en",
    time_zone: str = "Europe/Berlin",
) -> Store:
    """Create a store with its defaults and its owner.

    A slug already taken is refused; an existing user with the owner's email becomes the
    owner of the new store as well (their password is left unchanged).
    """
    if slug != slugify(slug) or not slug:
        raise ServiceError(
            _("“%(slug)s” is not a valid slug: use lower-case letters, digits and hyphens.")
            % {"slug": slug},
            field="slug",
        )
    if Store.objects.filter(slug=slug).exists():
        raise ServiceError(
            _("A store with the slug “%(slug)s” already exists.") % {"slug": slug}, field="slug"
        )
    store = Store.objects.create(
        slug=slug,
        name=name,
        currency=currency,
        language=language,
        time_zone=time_zone,
        contact_email=owner_email.lower(),
    )
    owner, _created = staff_user_get_or_create(email=owner_email, password=password)
    Membership.objects.create(store=store, user=owner, role=Role.OWNER)
    with store_scope(store):
        for step in STORE_SETUP_STEPS:
            step(store)
    return store


@transaction.atomic
def membership_set(
    *, store: Store, actor: User | None, email: str, role: str, password: str | None = None
) -> Membership:
    """Add a staff member to the store, or change their role."""
    if role not in Role.values:
        raise ServiceError(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    user, _created = staff_user_get_or_create(email=email, password=password)
    membership, created = Membership.objects.get_or_create(
        store=store, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        _refuse_losing_last_owner(store, membership, role)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, store: Store, actor: User | None, membership: Membership) -> None:
    _refuse_losing_last_owner(store, membership, None)
    membership.delete()


def _refuse_losing_last_owner(store: Store, membership: Membership, new_role: str | None) -> None:
    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    owners = Membership.objects.select_for_update().filter(store=store, role=Role.OWNER)
    if owners.count() <= 1:
        raise ServiceError(_("A store needs at least one owner."))
