"""The shopper account of a customer: block, activate, email confirmation, and staff
signing in as the customer on the storefront."""

from typing import Any

from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store, User

from ..models import Customer
from .activity import activity_record

EMAIL_CONFIRM_SALT = "customers.email-confirm"
EMAIL_CONFIRM_MAX_AGE = 3 * 24 * 3600  # a confirmation link works for three days
# At most one confirmation email per customer in this many seconds: a double click, or
# staff clicking on, must not flood the customer's inbox.
EMAIL_CONFIRM_RESEND_SECONDS = 60


def shop_scope(store: Store) -> str:
    """The django-sesame scope of a store's storefront: a token for one store is worthless
    at another."""
    return f"shop:{store.pk}"


# --- Block, activate, confirm ------------------------------------------------------------


def _account_required(customer: Customer, message: str) -> None:
    """Refuse an account action on a guest: a guest has no account to act on."""
    if not customer.is_registered:
        raise ServiceError(message)


def _flag_set(
    *, store: Store, customer: Customer, actor: Any, field: str, value: bool, verb: str
) -> Customer:
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    if getattr(customer, field) == value:
        return customer
    setattr(customer, field, value)
    customer.save(update_fields=[field, "updated_at"])
    activity_record(store=store, customer=customer, actor=actor, verb=verb)
    return customer


@transaction.atomic
def customer_block_set(*, store: Store, customer: Customer, actor: Any, blocked: bool) -> Customer:
    """A blocked customer cannot sign in to the storefront (nor be signed in as)."""
    return _flag_set(
        store=store,
        customer=customer,
        actor=actor,
        field="is_blocked",
        value=blocked,
        verb="account.blocked" if blocked else "account.unblocked",
    )


@transaction.atomic
def customer_active_set(*, store: Store, customer: Customer, actor: Any, active: bool) -> Customer:
    """A deactivated account cannot sign in; the profile and its orders stay. A guest has
    no account to deactivate (activating one that was deactivated before stays possible)."""
    if not active:
        _account_required(customer, _("A guest has no account to deactivate."))
    return _flag_set(
        store=store,
        customer=customer,
        actor=actor,
        field="is_active",
        value=active,
        verb="account.activated" if active else "account.deactivated",
    )


@transaction.atomic
def customer_email_confirm(
    *, store: Store, customer: Customer, actor: Any = None, via_link: bool = False
) -> Customer:
    """Mark the email confirmed, by staff or by the shopper following the emailed link.
    Staff confirm registered accounts only; the link proves the address whoever follows it."""
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    if not via_link:
        _account_required(
            customer, _("A guest has no account: there is no email address to confirm.")
        )
    if customer.email_confirmed:
        return customer
    customer.email_confirmed = True
    customer.save(update_fields=["email_confirmed", "updated_at"])
    activity_record(
        store=store, customer=customer, actor=actor, verb="email.confirmed", via_link=via_link
    )
    return customer


def email_confirmation_token(customer: Customer) -> str:
    """Signed with the email: changing the email makes older links worthless."""
    return signing.dumps(
        {"store": customer.store_id, "customer": customer.pk, "email": customer.email},
        salt=EMAIL_CONFIRM_SALT,
    )


def email_confirmation_customer(*, store: Store, token: str) -> Customer | None:
    """The customer a confirmation token was made for, or None when it is forged,
    expired, for another store or for an email the customer no longer has."""
    try:
        data = signing.loads(token, salt=EMAIL_CONFIRM_SALT, max_age=EMAIL_CONFIRM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("store") != store.pk:
        return None
    customer_id, email = data.get("customer"), data.get("email")
    if not isinstance(customer_id, int) or not isinstance(email, str):
        return None
    return Customer.objects.filter(store=store, pk=customer_id, email=email).first()


@transaction.atomic
def email_confirmation_send(*, store: Store, customer: Customer, actor: Any, base_url: str) -> None:
    """Email the customer a link to confirm the address; sent by a task after commit. Only
    to registered accounts, and at most one per customer a minute."""
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    _account_required(
        customer, _("A guest has no account: no confirmation email is sent to guests.")
    )
    if customer.email_confirmed:
        raise ServiceError(_("This email address is already confirmed."))
    if not email_confirmation_may_send(store.pk, customer.pk):
        raise ServiceError(
            _(
                "A confirmation email was sent to this customer less than a minute ago. "
                "Please wait a minute before sending another one."
            )
        )
    activity_record(store=store, customer=customer, actor=actor, verb="email.confirmation_sent")
    email_confirmations_deliver_after_commit(store.pk, [customer.pk], base_url)


def email_confirmation_may_send(store_id: int, customer_id: int) -> bool:
    """At most one confirmation email per customer a minute: True for the first request
    of the minute (``cache.add`` sets only a key that is not there), then False."""
    key = f"customers:email-confirm-sent:{store_id}:{customer_id}"
    return cache.add(key, True, timeout=EMAIL_CONFIRM_RESEND_SECONDS)


def email_confirmations_deliver_after_commit(
    store_id: int, customer_ids: list[int], base_url: str
) -> None:
    """Queue one delivery task per customer once the transaction has committed."""
    from ..tasks import email_confirmation_deliver

    def deliver() -> None:
        for customer_id in customer_ids:
            email_confirmation_deliver.delay(store_id, customer_id, base_url)

    transaction.on_commit(deliver)


def email_confirmation_url(customer: Customer, *, store: Store, base_url: str) -> str:
    path = reverse(
        "shop:confirm_email",
        kwargs={"store_slug": store.slug, "token": email_confirmation_token(customer)},
    )
    return base_url.rstrip("/") + path


# --- The storefront login follows the customer's email ------------------------------------


def _storefront_login_of(store: Store, customer: Customer, email: str) -> User | None:
    """The customer's storefront login: the linked one, or one made for ``email`` that no
    profile links yet (signing in as the customer would adopt it)."""
    if customer.user_id is not None:
        # Read afresh, locked: a cached customer.user may predate a password change.
        user = User.objects.select_for_update().filter(pk=customer.user_id).first()
    else:
        user = User.objects.filter(username=User.login_name(email, store.pk)).first()
        if user is not None and Customer.objects.filter(store=store, user=user).exists():
            return None
    if user is None or user.store_id != store.pk or user.is_staff or user.is_superuser:
        return None  # none, or not a storefront login: nothing to move
    return user


def shopper_login_email_follow(
    *, store: Store, customer: Customer, old_email: str, actor: Any = None
) -> User | None:
    """After staff changed a customer's email (in the same transaction): the storefront
    login takes the new email (its login name follows), and sign-in links issued before
    stop working. Returns the login, or None when the customer has none."""
    user = _storefront_login_of(store, customer, old_email)
    if user is None or user.email == customer.email:
        return None
    new_name = User.login_name(customer.email, store.pk)
    stale = User.objects.filter(username=new_name).exclude(pk=user.pk).first()
    if stale is not None:
        if Customer.objects.filter(store=store, user=stale).exists():
            raise ServiceError(
                _("The storefront login for “%(email)s” belongs to another profile.")
                % {"email": customer.email},
                field="email",
            )
        stale.delete()  # a login no profile links signs nobody in; the name is needed
    user.email = customer.email
    # Sign-in links (django-sesame) are signed with the login's email
    # (SESAME_INVALIDATE_ON_EMAIL_CHANGE): those sent to the old address stop working.
    user.save(update_fields=["email", "username"])
    relink = customer.user_id != user.pk
    customer.user = user  # also refreshes a cached, older copy of the login
    if relink:
        customer.save(update_fields=["user", "updated_at"])
    activity_record(
        store=store,
        customer=customer,
        actor=actor,
        verb="account.login_email_changed",
        email=customer.email,
        old_email=old_email,
    )
    return user


# --- Signing in as the customer -----------------------------------------------------------


def shopper_identity_get_or_create(*, store: Store, customer: Customer) -> User:
    """The customer's storefront login identity (a per-store User, never staff)."""
    user = customer.user  # None without a login, and then without a query
    if user is not None:
        if user.store_id != store.pk or user.is_staff or user.is_superuser:
            raise ServiceError(_("This customer's login is not a storefront login."))
        return user
    login_name = User.login_name(customer.email, store.pk)
    user = User.objects.filter(username=login_name).first()
    if user is not None:
        if Customer.objects.filter(store=store, user=user).exclude(pk=customer.pk).exists():
            raise ServiceError(_("This email's storefront login belongs to another profile."))
    else:
        user = User(email=customer.email, full_name=customer.full_name, store=store)
        user.set_unusable_password()
        user.save()
    customer.user = user
    customer.save(update_fields=["user", "updated_at"])
    return user


def impersonation_refusal(customer: Customer) -> str | None:
    """Why staff cannot sign in as this customer, or None when they can: only a
    registered account (with or without its login yet) that is neither blocked nor
    deactivated. A guest has no account, and giving it a login would block merging."""
    if not customer.is_registered:
        return _(
            "This customer checked out as a guest and has no storefront account to sign in to."
        )
    if customer.is_blocked or not customer.is_active:
        return _(
            "A blocked or deactivated account cannot be signed in to. Unblock or activate it first."
        )
    return None


@transaction.atomic
def customer_impersonation_start(*, store: Store, customer: Customer, actor: Any) -> str:
    """Sign-in link (path and query) that signs staff in as this customer on the
    storefront. Recorded in the activity log; the token is short-lived and one-time."""
    from sesame.utils import get_query_string

    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    refusal = impersonation_refusal(customer)
    if refusal is not None:
        raise ServiceError(refusal)
    user = shopper_identity_get_or_create(store=store, customer=customer)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    activity_record(store=store, customer=customer, actor=actor, verb="customer.impersonated")
    path = reverse("shop:login", kwargs={"store_slug": store.slug})
    return path + get_query_string(user, scope=shop_scope(store))


def shopper_customer(*, store: Store, user: Any) -> Customer | None:
    """The customer a storefront identity signs in as; None for anything else (staff,
    another store's shopper, a blocked or deactivated account)."""
    if user is None or getattr(user, "store_id", None) != store.pk or not user.is_active:
        return None
    customer = Customer.objects.filter(store=store, user=user).first()
    if customer is None or customer.is_blocked or not customer.is_active:
        return None
    return customer
