"""Internal notes on a customer: staff add them; the author, an owner or a manager may
change or delete them."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Membership, Store
from storefront_crm.tenancy import role_has_permission

from ..models import (
    Customer,
    CustomerNote,
)
from .activity import activity_record


@transaction.atomic
def note_add(*, store: Store, customer: Customer, actor: Any, body: str) -> CustomerNote:
    body = body.strip()
    if not body:
        raise ServiceError(_("A note cannot be empty."), field="body")
    note = CustomerNote.objects.create(store=store, customer=customer, author=actor, body=body)
    activity_record(store=store, customer=customer, actor=actor, verb="note.added", note_id=note.pk)
    return note


def note_changeable_by(
    *, store: Store, note: CustomerNote, actor: Any, role: str | None = None
) -> bool:
    """Whether ``actor`` may edit or delete the note: its author, or a role with
    ``customers.notes_moderate`` (a note keeps showing its author, so others must not put
    words in their mouth).
    ``role``: the actor's role in the store when the caller knows it (saves a query)."""
    actor_pk = getattr(actor, "pk", None)
    if actor_pk is None:
        return False
    if note.author_id is not None and note.author_id == actor_pk:
        return True
    if role is None:
        role = (
            Membership.objects.filter(store=store, user_id=actor_pk)
            .values_list("role", flat=True)
            .first()
        )
    return role is not None and role_has_permission(role, "customers.notes_moderate")


def _note_change_check(store: Store, note: CustomerNote, actor: Any) -> None:
    if note.store_id != store.pk:
        raise ServiceError(_("That note does not exist."))
    if not note_changeable_by(store=store, note=note, actor=actor):
        raise ServiceError(
            _("Only the note's author, an owner or a manager can edit or delete this note.")
        )


@transaction.atomic
def note_edit(*, store: Store, note: CustomerNote, actor: Any, body: str) -> CustomerNote:
    _note_change_check(store, note, actor)
    body = body.strip()
    if not body:
        raise ServiceError(_("A note cannot be empty."), field="body")
    note.body = body
    note.edited_at = timezone.now()
    note.save(update_fields=["body", "edited_at"])
    activity_record(
        store=store, customer=note.customer, actor=actor, verb="note.edited", note_id=note.pk
    )
    return note


@transaction.atomic
def note_delete(*, store: Store, note: CustomerNote, actor: Any) -> None:
    _note_change_check(store, note, actor)
    customer = note.customer
    note_id = note.pk
    note.delete()
    activity_record(
        store=store, customer=customer, actor=actor, verb="note.deleted", note_id=note_id
    )
