"""Store-wide setup of the customers area: groups, the store's tags, custom fields.

Every public function validates its rule and raises ``ServiceError`` with a text for
people, writes in one transaction and records an activity event: per customer where a
customer's own data changes (a group deleted moves its members), otherwise one store-level
event (``customer=None``) for the audit trail.
"""

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, Func, JSONField, Max, OuterRef, Value
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.formats import number_format, sanitize_separators
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, job_handler, job_start
from storefront_crm.models import Job, Store

from ..models import (
    AccountType,
    ActivityEvent,
    Customer,
    CustomerGroup,
    CustomerTag,
    CustomField,
    CustomFieldType,
    GroupKind,
    TaggedCustomer,
)
from ..selectors_setup import custom_field_values_count
from . import TagLimitExceeded, activity_record, group_default, tag_names_clean, tags_ensure


class TagNameTaken(ServiceError):
    """A rename to a name another tag has; ``details["other"]`` is that tag (merge instead)."""

    code = "tag_name_taken"


# How many members move per statement when a group is deleted: bounded memory, few queries.
GROUP_MOVE_BATCH = 2000
# Above these sizes a deletion runs as a job (still one transaction, in the worker): each
# changed customer row costs about 0.2 ms of index upkeep, so 100,000 take about 30 s,
# longer than a web request should.
GROUP_DELETE_INLINE_MAX = 5000
CUSTOM_FIELD_DELETE_INLINE_MAX = 20000


def _lock_store(store: Store) -> None:
    # One writer of a store's groups, tags or fields at a time (the same lock tags_ensure
    # takes), so two requests cannot both pass a uniqueness or limit check.
    Store.objects.select_for_update().filter(pk=store.pk).first()


def _store_event(*, store: Store, actor: Any, verb: str, **data: Any) -> None:
    # A change to the store's setup rather than to one customer: the audit trail keeps it
    # without a customer.
    activity_record(store=store, customer=None, actor=actor, verb=verb, **data)


def _name_clean(name: str, *, max_length: int, field: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Enter a name."), field=field)
    if len(name) > max_length:
        raise ServiceError(
            ngettext(
                "A name can have at most %(max)d character.",
                "A name can have at most %(max)d characters.",
                max_length,
            )
            % {"max": max_length},
            field=field,
        )
    return name


# --- Groups ---------------------------------------------------------------------------


def _group_name_free(store: Store, name: str, *, except_pk: int | None = None) -> None:
    others = CustomerGroup.objects.filter(store=store, name__iexact=name)
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    other = others.first()
    if other is not None:
        # The existing group's own spelling: "qa group" typed, "QA Group" is what exists.
        raise ServiceError(
            _("Another group of this store is already called “%(name)s”.") % {"name": other.name},
            field="name",
        )


def discount_clean(value: Any) -> Decimal:
    """A discount in percent: a Decimal from 0 to 100 with at most two decimal places."""
    not_a_number = ServiceError(
        _("Enter the discount as a number from 0 to 100."), field="discount_percent"
    )
    if value is None or isinstance(value, bool):
        raise not_a_number
    try:
        discount = Decimal(sanitize_separators(str(value).strip()))
    except InvalidOperation:
        raise not_a_number from None
    if not discount.is_finite():
        raise not_a_number
    if not Decimal("0") <= discount <= Decimal("100"):
        raise ServiceError(_("A discount must be between 0 and 100 %."), field="discount_percent")
    if discount != discount.quantize(Decimal("0.01")):
        raise ServiceError(
            _("A discount can have at most two decimal places."), field="discount_percent"
        )
    return discount.quantize(Decimal("0.01"))


def discount_normalised(value: Decimal | str | int) -> str:
    """A discount as plain text without trailing zeros ("12.5", "10"): how activity events
    store it, so a reader's language can format it (``discount_display``)."""
    discount = Decimal(str(value))
    if discount == discount.to_integral_value():
        discount = discount.quantize(Decimal("1"))  # normalize() would give "1E+1" for 10
    else:
        discount = discount.normalize()
    return format(discount, "f")


def discount_display(value: Decimal | str | int) -> str:
    """A discount for people, in the active language: "12.5" in English, "12,5" in German."""
    try:
        normalised = Decimal(discount_normalised(value))
    except (InvalidOperation, ValueError):
        return str(value)  # an event written by an older version: show it as it is
    return number_format(normalised, use_l10n=True)


@transaction.atomic
def group_create(
    *, store: Store, actor: Any, name: str, discount_percent: Any = Decimal("0")
) -> CustomerGroup:
    """A new custom group; its name is unique in the store whatever the letter case."""
    name = _name_clean(name, max_length=80, field="name")
    discount = discount_clean(discount_percent)
    _lock_store(store)
    _group_name_free(store, name)
    group = CustomerGroup.objects.create(
        store=store, name=name, kind=GroupKind.CUSTOM, discount_percent=discount
    )
    _store_event(
        store=store,
        actor=actor,
        verb="group.created",
        group=name,
        discount_percent=discount_normalised(discount),
    )
    return group


@transaction.atomic
def group_rename(*, store: Store, actor: Any, group: CustomerGroup, name: str) -> CustomerGroup:
    """Rename a group (the defaults too: only their kind is fixed); names stay unique."""
    _group_of_store(store, group)
    name = _name_clean(name, max_length=80, field="name")
    if name == group.name:
        return group
    _lock_store(store)
    _group_name_free(store, name, except_pk=group.pk)
    old = group.name
    group.name = name
    group.save(update_fields=["name"])
    _store_event(store=store, actor=actor, verb="group.renamed", group=[old, name])
    return group


@transaction.atomic
def group_discount_set(
    *, store: Store, actor: Any, group: CustomerGroup, discount_percent: Any
) -> CustomerGroup:
    """Set a group's discount: a Decimal percentage from 0 to 100."""
    _group_of_store(store, group)
    discount = discount_clean(discount_percent)
    if discount == group.discount_percent:
        return group
    old = group.discount_percent
    group.discount_percent = discount
    group.save(update_fields=["discount_percent"])
    _store_event(
        store=store,
        actor=actor,
        verb="group.discount_set",
        group=group.name,
        discount_percent=[discount_normalised(old), discount_normalised(discount)],
    )
    return group


@transaction.atomic
def group_update(
    *, store: Store, actor: Any, group: CustomerGroup, name: str, discount_percent: Any
) -> CustomerGroup:
    """Rename and set the discount together: both change or neither does."""
    group_rename(store=store, actor=actor, group=group, name=name)
    return group_discount_set(
        store=store, actor=actor, group=group, discount_percent=discount_percent
    )


@transaction.atomic
def group_delete(*, store: Store, actor: Any, group: CustomerGroup) -> int:
    """Delete a custom group; its members move to Standard, each with a "group changed"
    event on their activity log. Guests and Standard cannot be deleted. Returns how many
    customers moved."""
    _group_of_store(store, group)
    if group.is_default:
        raise ServiceError(
            _("“%(name)s” is one of the store's two default groups and cannot be deleted.")
            % {"name": group.name}
        )
    _lock_store(store)
    standard = group_default(store, AccountType.REGISTERED)
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    moved, last_pk = 0, 0
    members = Customer.objects.filter(store=store, group=group).order_by("pk")
    while True:
        # Keyset batches on the (store, group, id) index: never rescans moved rows.
        ids = list(members.filter(pk__gt=last_pk).values_list("pk", flat=True)[:GROUP_MOVE_BATCH])
        if not ids:
            break
        last_pk = ids[-1]
        Customer.objects.filter(store=store, pk__in=ids).update(group=standard, updated_at=now)
        ActivityEvent.objects.bulk_create(
            [
                ActivityEvent(
                    store=store,
                    customer_id=customer_id,
                    actor_id=actor_id,
                    verb="customer.updated",
                    data={
                        "changes": {"group": [group.name, standard.name]},
                        "reason": "group.deleted",
                    },
                    created_at=now,
                )
                for customer_id in ids
            ]
        )
        moved += len(ids)
    name = group.name
    group.delete()
    _store_event(
        store=store,
        actor=actor,
        verb="group.deleted",
        group=name,
        moved_to=standard.name,
        moved=moved,
    )
    return moved


def group_delete_request(*, store: Store, actor: Any, group: CustomerGroup) -> Job | None:
    """Delete a group now (``None``), or, when it has more than ``GROUP_DELETE_INLINE_MAX``
    members, start a ``customers.group_delete`` job that does it and return that job. The
    default groups are refused here, before any job starts."""
    _group_of_store(store, group)
    if group.is_default:
        group_delete(store=store, actor=actor, group=group)  # raises with the reason
    members = Customer.objects.filter(store=store, group=group)
    if members[: GROUP_DELETE_INLINE_MAX + 1].count() <= GROUP_DELETE_INLINE_MAX:
        group_delete(store=store, actor=actor, group=group)
        return None
    return job_start(
        store=store, kind="customers.group_delete", actor=actor, params={"group_id": group.pk}
    )


@job_handler("customers.group_delete", label=gettext_lazy("Group deletion"))
def group_delete_job_run(ctx: JobContext) -> str:
    # Safe to run twice: a group already gone has nothing left to do.
    group = CustomerGroup.objects.filter(store=ctx.store, pk=ctx.params["group_id"]).first()
    if group is None:
        return _("The group was already deleted.")
    name = group.name
    moved = group_delete(store=ctx.store, actor=ctx.job.created_by, group=group)
    ctx.progress(moved, moved, moved=moved)
    # The default group's current name: merchants rename it.
    standard = group_default(ctx.store, AccountType.REGISTERED)
    return ngettext(
        "Group “%(name)s” deleted; %(count)d customer moved to “%(standard)s”.",
        "Group “%(name)s” deleted; %(count)d customers moved to “%(standard)s”.",
        moved,
    ) % {"name": name, "count": moved, "standard": standard.name}


def _group_of_store(store: Store, group: CustomerGroup) -> None:
    if group.store_id != store.pk:
        raise ServiceError(_("That group does not exist."))


# --- Tags -----------------------------------------------------------------------------


def _tag_of_store(store: Store, tag: CustomerTag) -> None:
    if tag.store_id != store.pk:
        raise ServiceError(_("That tag does not exist."))


def _tag_name_clean(name: str) -> str:
    cleaned = tag_names_clean([name])
    if not cleaned:
        raise ServiceError(_("Enter a name."), field="name")
    _tag_name_without_comma(cleaned[0], field="name")
    return cleaned[0]


def _tag_name_without_comma(name: str, *, field: str) -> None:
    # The profile's tag input, bulk actions and imports separate tags with commas: a tag
    # with a comma in its name could never be put on a customer.
    if "," in name:
        raise ServiceError(
            _(
                "A tag name cannot contain a comma (“%(name)s”): commas separate tags when "
                "they are entered on a customer."
            )
            % {"name": name},
            field=field,
        )


def _tag_slug_free(store: Store, name: str, *, except_pk: int) -> str:
    base = slugify(name, allow_unicode=True)[:90] or "tag"
    taken = set(
        CustomerTag.objects.filter(store=store, slug__startswith=base)
        .exclude(pk=except_pk)
        .values_list("slug", flat=True)
    )
    slug, suffix = base, 1
    while slug in taken:
        suffix += 1
        slug = f"{base}-{suffix}"
    return slug


@transaction.atomic
def tag_create(*, store: Store, actor: Any, name: str) -> CustomerTag:
    """A new store tag with no customers yet. Creation goes through ``tags_ensure``, so the
    per-store tag limit holds; a name the store already has (any letter case) is refused,
    and so is a comma (it separates tags wherever they are typed)."""
    name = _tag_name_clean(name)
    _lock_store(store)
    existing = CustomerTag.objects.filter(store=store, name__iexact=name).first()
    if existing is not None:
        raise ServiceError(
            _("The store already has the tag “%(name)s”.") % {"name": existing.name},
            field="name",
        )
    limit = settings.STOREFRONT_MAX_TAGS_PER_STORE
    if CustomerTag.objects.filter(store=store).count() >= limit:
        # Checked here too for a message about one new tag (tags_ensure's is about many).
        raise TagLimitExceeded(
            ngettext(
                "A store can have at most %(limit)d tag and this one has reached the limit: "
                "merge or delete a tag before adding a new one.",
                "A store can have at most %(limit)d tags and this one has reached the limit: "
                "merge or delete a tag before adding a new one.",
                limit,
            )
            % {"limit": limit},
            field="name",
        )
    tag = tags_ensure(store=store, names=[name])[0]
    _store_event(store=store, actor=actor, verb="tag.created", tag=tag.name)
    return tag


@transaction.atomic
def tag_rename(*, store: Store, actor: Any, tag: CustomerTag, name: str) -> CustomerTag:
    """Rename a store tag. A name another tag already has (any letter case) is refused with
    ``TagNameTaken``, whose ``details["other"]`` is that tag: merging is the way to join them.
    A comma is refused (it separates tags wherever they are typed).
    """
    _tag_of_store(store, tag)
    name = _tag_name_clean(name)
    if name == tag.name:
        return tag
    _lock_store(store)
    other = CustomerTag.objects.filter(store=store, name__iexact=name).exclude(pk=tag.pk).first()
    if other is not None:
        raise TagNameTaken(
            _(
                "Another tag is already called “%(name)s”. Merge “%(tag)s” into it instead, "
                "so its customers keep one tag."
            )
            % {"name": other.name, "tag": tag.name},
            field="name",
            other=other,
        )
    old = tag.name
    tag.name = name
    tag.slug = _tag_slug_free(store, name, except_pk=tag.pk)
    tag.save(update_fields=["name", "slug"])
    _store_event(store=store, actor=actor, verb="tag.renamed", tag=[old, name])
    return tag


@transaction.atomic
def tag_merge(*, store: Store, actor: Any, source: CustomerTag, target: CustomerTag) -> int:
    """Merge ``source`` into ``target``: every customer tagged ``source`` ends up tagged
    ``target`` exactly once, and ``source`` is deleted. Returns how many customers gained
    ``target``. A target whose name has a comma (made before commas were refused) is
    refused: its customers could not be given it again; rename it first."""
    _tag_of_store(store, source)
    _tag_of_store(store, target)
    if source.pk == target.pk:
        raise ServiceError(_("A tag cannot be merged into itself."), field="target")
    _tag_name_without_comma(target.name, field="target")
    _lock_store(store)
    already_tagged = TaggedCustomer.objects.filter(
        store=store, tag=target, content_object_id=OuterRef("content_object_id")
    )
    # Re-point the links of customers who lack the target; the rest would be duplicates
    # and go with the source tag.
    moved = (
        TaggedCustomer.objects.filter(store=store, tag=source)
        .exclude(Exists(already_tagged))
        .update(tag=target)
    )
    dropped, _by_model = TaggedCustomer.objects.filter(store=store, tag=source).delete()
    source_name = source.name
    source.delete()
    _store_event(
        store=store,
        actor=actor,
        verb="tag.merged",
        tag=source_name,
        into=target.name,
        moved=moved,
        already_tagged=dropped,
    )
    return moved


@transaction.atomic
def tag_delete(*, store: Store, actor: Any, tag: CustomerTag) -> int:
    """Delete a store tag and take it off every customer. Returns how many had it."""
    _tag_of_store(store, tag)
    _lock_store(store)
    removed, _by_model = TaggedCustomer.objects.filter(store=store, tag=tag).delete()
    name = tag.name
    tag.delete()
    _store_event(store=store, actor=actor, verb="tag.deleted", tag=name, customers=removed)
    return removed


# --- Custom fields --------------------------------------------------------------------

TEXT_VALUE_MAX_LENGTH = 500
CHOICE_MAX_LENGTH = 100
MAX_CHOICES = 100
# A JSON number is read back as a float: beyond 15 significant digits it would change.
NUMBER_MAX_DIGITS = 15
TRUE_WORDS = {"1", "true", "yes", "y", "on", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "off"}


def custom_field_value_clean(field: CustomField, raw: Any) -> Any:
    """The JSON-storable value of ``raw`` for ``field``, or ``None`` for "no value".

    ``raw`` is what a form, an import or an API sent: usually a string, or already a Python
    value (int, Decimal, float, bool, date). An empty string, whitespace or ``None`` means
    "no value" and returns ``None``: the caller removes the key from
    ``Customer.custom_fields`` instead of storing ``null``. Otherwise, by type:

    - text: the string with outer whitespace removed, at most 500 characters -> ``str``
    - number: ``12``, ``-3.5``, or a string with the active language's decimal separator
      (``"1,5"`` in German; a dot always works) -> ``int`` when whole, else ``float``;
      at most 15 significant digits, so the stored number reads back exactly;
      ``True``/``False``, ``NaN`` and infinity are refused
    - date: a ``date``/``datetime`` or a string in ISO form (``2024-03-31``) or one of the
      active language's date input formats -> ``"YYYY-MM-DD"`` (sorts as text)
    - boolean (yes/no): ``bool``, or yes/no, true/false, on/off, 1/0, y/n (any case, also
      the active language's "yes"/"no") -> ``bool``
    - choice: one of ``field.choices`` (letter case ignored) -> the choice as defined

    A value that does not fit raises ``ServiceError(message, field=field.key)`` with a
    message that names the field, for the profile form, imports and filters alike.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    label = field.label
    if field.field_type == CustomFieldType.TEXT:
        text = str(raw).strip()
        if len(text) > TEXT_VALUE_MAX_LENGTH:
            raise ServiceError(
                ngettext(
                    "%(label)s: at most %(max)d character.",
                    "%(label)s: at most %(max)d characters.",
                    TEXT_VALUE_MAX_LENGTH,
                )
                % {"label": label, "max": TEXT_VALUE_MAX_LENGTH},
                field=field.key,
            )
        return text
    if field.field_type == CustomFieldType.NUMBER:
        return _number_clean(field, raw)
    if field.field_type == CustomFieldType.DATE:
        return _date_clean(field, raw)
    if field.field_type == CustomFieldType.BOOLEAN:
        return _boolean_clean(field, raw)
    if field.field_type == CustomFieldType.CHOICE:
        text = str(raw).strip()
        for choice in field.choices:
            if choice.lower() == text.lower():
                return choice
        raise ServiceError(
            _("%(label)s: “%(value)s” is not one of the choices (%(choices)s).")
            % {"label": label, "value": text, "choices": ", ".join(field.choices)},
            field=field.key,
        )
    raise ServiceError(
        _("%(label)s has an unknown type “%(type)s”.") % {"label": label, "type": field.field_type},
        field=field.key,
    )


def _number_clean(field: CustomField, raw: Any) -> int | float:
    invalid = ServiceError(
        _("%(label)s: “%(value)s” is not a number.") % {"label": field.label, "value": raw},
        field=field.key,
    )
    if isinstance(raw, bool):
        raise invalid
    text = raw if isinstance(raw, (int, float, Decimal)) else sanitize_separators(str(raw).strip())
    text = str(text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid from None
    if not number.is_finite():
        raise invalid
    number = number.normalize()
    if len(number.as_tuple().digits) > NUMBER_MAX_DIGITS:
        raise ServiceError(
            ngettext(
                "%(label)s: at most %(max)d significant digit.",
                "%(label)s: at most %(max)d significant digits.",
                NUMBER_MAX_DIGITS,
            )
            % {"label": field.label, "max": NUMBER_MAX_DIGITS},
            field=field.key,
        )
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _date_clean(field: CustomField, raw: Any) -> str:
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat()
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    text = raw.strip() if isinstance(raw, str) else ""  # a number is no date
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        # The active language's input formats, as the profile form's date field has them.
        return forms.DateField().clean(text).isoformat()
    except ValidationError:
        raise ServiceError(
            _("%(label)s: “%(value)s” is not a date (use YYYY-MM-DD).")
            % {"label": field.label, "value": raw},
            field=field.key,
        ) from None


def _boolean_clean(field: CustomField, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE_WORDS or text == _("yes").lower():
        return True
    if text in FALSE_WORDS or text == _("no").lower():
        return False
    raise ServiceError(
        _("%(label)s: “%(value)s” is not yes or no.") % {"label": field.label, "value": raw},
        field=field.key,
    )


def custom_field_choices_clean(field_type: str, choices: Iterable[str]) -> list[str]:
    if field_type != CustomFieldType.CHOICE:
        return []
    cleaned: dict[str, str] = {}
    for choice in choices:
        choice = " ".join((choice or "").split())
        if not choice:
            continue
        if len(choice) > CHOICE_MAX_LENGTH:
            raise ServiceError(
                ngettext(
                    "A choice can have at most %(max)d character.",
                    "A choice can have at most %(max)d characters.",
                    CHOICE_MAX_LENGTH,
                )
                % {"max": CHOICE_MAX_LENGTH},
                field="choices",
            )
        cleaned.setdefault(choice.lower(), choice)
    if not cleaned:
        raise ServiceError(_("A choice field needs at least one choice."), field="choices")
    if len(cleaned) > MAX_CHOICES:
        raise ServiceError(
            ngettext(
                "A choice field can have at most %(max)d choice.",
                "A choice field can have at most %(max)d choices.",
                MAX_CHOICES,
            )
            % {"max": MAX_CHOICES},
            field="choices",
        )
    return list(cleaned.values())


def _field_type_clean(field_type: str) -> str:
    if field_type not in CustomFieldType.values:
        raise ServiceError(_("Choose a type for the field."), field="field_type")
    return field_type


def _field_of_store(store: Store, field: CustomField) -> None:
    if field.store_id != store.pk:
        raise ServiceError(_("That custom field does not exist."))


# Letters that Unicode does not decompose into a base letter plus accents: without this
# table NFKD + ASCII would drop them ("größe" -> "groe").
_KEY_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
    }
)


def _key_text(text: str) -> str:
    """``text`` as a key: lower-case ASCII letters and digits joined by single underscores."""
    text = unicodedata.normalize("NFKD", text.translate(_KEY_LETTERS))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@functools.cache
def reserved_field_keys() -> frozenset[str]:
    """Keys a custom field must not take: the customer's own columns and every header (and
    attribute) of the import/export formats, as keys ("First Name" -> "first_name"), so a
    custom field's key is never mistaken for a built-in column in files, filters or code."""
    from ..io.formats import FORMATS  # the formats import the services: not at load time

    names: set[str] = {"pk"}
    for model_field in [*Customer._meta.fields, *Customer._meta.many_to_many]:
        names.update((model_field.name, model_field.attname))
    for resource in FORMATS.values():
        for column in resource.columns():
            names.add(column.attribute)
            names.update(column.headers)
    return frozenset(filter(None, (_key_text(name) for name in names)))


def _key_for(store: Store, label: str) -> str:
    # Keys live inside every customer's JSON and in URLs of filters: ASCII letters, digits
    # and single underscores, so a key is also safe as a JSON path and a lookup name.
    base = _key_text(label)[:50].strip("_") or "field"
    taken = set(
        CustomField.objects.filter(store=store, key__startswith=base).values_list("key", flat=True)
    )
    # A built-in name counts as taken: "Email" gets "email_2", not the key of a real column.
    taken |= reserved_field_keys()
    key, suffix = base, 1
    while key in taken:
        suffix += 1
        key = f"{base}_{suffix}"
    return key


@transaction.atomic
def custom_field_create(
    *,
    store: Store,
    actor: Any,
    label: str,
    field_type: str,
    choices: Iterable[str] = (),
) -> CustomField:
    """A new field for all the store's customers, placed last. Its key is derived from the
    label once and never changes (values are stored under it): letters are kept as ASCII
    ("Über Größe" -> "uber_grosse") and a built-in column or header name gets a suffix
    ("email_2"); a choice field needs at least one choice; labels are unique in the store
    whatever the letter case."""
    label = _name_clean(label, max_length=100, field="label")
    field_type = _field_type_clean(field_type)
    cleaned_choices = custom_field_choices_clean(field_type, choices)
    _lock_store(store)
    _label_free(store, label)
    last = CustomField.objects.filter(store=store).aggregate(last=Max("position"))["last"]
    field = CustomField.objects.create(
        store=store,
        key=_key_for(store, label),
        label=label,
        field_type=field_type,
        choices=cleaned_choices,
        position=0 if last is None else last + 1,
    )
    _store_event(
        store=store,
        actor=actor,
        verb="custom_field.created",
        key=field.key,
        label=label,
        field_type=field_type,
    )
    return field


def _label_free(store: Store, label: str, *, except_pk: int | None = None) -> None:
    others = CustomField.objects.filter(store=store, label__iexact=label)
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    if others.exists():
        raise ServiceError(
            _("Another custom field is already called “%(label)s”.") % {"label": label},
            field="label",
        )


@transaction.atomic
def custom_field_update(
    *,
    store: Store,
    actor: Any,
    field: CustomField,
    label: str,
    field_type: str | None = None,
    choices: Iterable[str] | None = None,
) -> CustomField:
    """Change a field's label, type or choices; the key never changes.

    Rules, so stored values always fit their field:
    - the type changes only while no customer has a value for the field; otherwise it is
      refused (a text "soon" cannot become a date; remove the field and add a new one);
    - choices can always be added; a choice that customers have cannot be removed or
      renamed (letter case included), which is refused with the number of customers.
    """
    _field_of_store(store, field)
    label = _name_clean(label, max_length=100, field="label")
    new_type = field.field_type if field_type is None else _field_type_clean(field_type)
    if choices is None:
        choices = field.choices if new_type == field.field_type else ()
    new_choices = custom_field_choices_clean(new_type, choices)
    _lock_store(store)
    _label_free(store, label, except_pk=field.pk)
    changes: dict[str, list[Any]] = {}
    if new_type != field.field_type:
        in_use = custom_field_values_count(store=store, field=field)
        if in_use:
            raise ServiceError(
                ngettext(
                    "%(count)d customer has a value for “%(label)s”, so its type cannot "
                    "change: values of one type do not fit another. Add a new field instead.",
                    "%(count)d customers have a value for “%(label)s”, so its type cannot "
                    "change: values of one type do not fit another. Add a new field instead.",
                    in_use,
                )
                % {"count": in_use, "label": field.label},
                field="field_type",
            )
        changes["field_type"] = [field.field_type, new_type]
    elif new_type == CustomFieldType.CHOICE:
        removed = [choice for choice in field.choices if choice not in new_choices]
        if removed:
            in_use = (
                Customer.objects.filter(store=store)
                .annotate(custom_value=KeyTransform(field.key, "custom_fields"))
                .filter(custom_value__in=removed)
                .count()
            )
            if in_use:
                raise ServiceError(
                    ngettext(
                        "%(count)d customer has one of the choices %(choices)s; a choice "
                        "in use cannot be removed or renamed.",
                        "%(count)d customers have one of the choices %(choices)s; a choice "
                        "in use cannot be removed or renamed.",
                        in_use,
                    )
                    % {"count": in_use, "choices": ", ".join(f"“{c}”" for c in removed)},
                    field="choices",
                )
    if new_choices != field.choices:
        changes["choices"] = [field.choices, new_choices]
    if label != field.label:
        changes["label"] = [field.label, label]
    if changes:
        field.label, field.field_type, field.choices = label, new_type, new_choices
        field.save(update_fields=["label", "field_type", "choices"])
        _store_event(
            store=store,
            actor=actor,
            verb="custom_field.updated",
            key=field.key,
            changes=changes,
        )
    return field


class JSONKeyRemoved(Func):
    """A JSON object column without one top-level key, computed by the database."""

    output_field = JSONField()

    def __init__(self, expression: Any, key: str) -> None:
        super().__init__(expression, Value(key))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, key = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        key_sql, key_params = compiler.compile(key)
        return f"({column_sql} - ({key_sql})::text)", [*column_params, *key_params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, key = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        # Keys are [a-z0-9_-] (see _key_for), so quoting the path segment is enough.
        return f"json_remove({column_sql}, %s)", [*column_params, f'$."{key.value}"']


@transaction.atomic
def custom_field_delete(*, store: Store, actor: Any, field: CustomField) -> int:
    """Delete a field and remove its value from every customer of the store, in one
    statement on PostgreSQL and SQLite. Returns how many customers had a value."""
    _field_of_store(store, field)
    _lock_store(store)
    with_value = Customer.objects.filter(store=store, custom_fields__has_key=field.key)
    if connection.vendor in ("postgresql", "sqlite"):
        cleared = with_value.update(custom_fields=JSONKeyRemoved("custom_fields", field.key))
    else:  # any other database: the same in Python, in batches
        cleared = 0
        batch: list[Customer] = []
        for customer in with_value.only("pk", "custom_fields").iterator(chunk_size=2000):
            customer.custom_fields.pop(field.key, None)
            batch.append(customer)
            if len(batch) == 2000:
                cleared += Customer.objects.bulk_update(batch, ["custom_fields"])
                batch = []
        cleared += Customer.objects.bulk_update(batch, ["custom_fields"])
    key, label = field.key, field.label
    field.delete()
    _positions_renumber(list(CustomField.objects.filter(store=store)))
    _store_event(
        store=store,
        actor=actor,
        verb="custom_field.deleted",
        key=key,
        label=label,
        values_removed=cleared,
    )
    return cleared


def custom_field_delete_request(*, store: Store, actor: Any, field: CustomField) -> Job | None:
    """Delete a field now (``None``), or, when more than ``CUSTOM_FIELD_DELETE_INLINE_MAX``
    customers have a value, start a ``customers.custom_field_delete`` job and return it."""
    _field_of_store(store, field)
    with_value = Customer.objects.filter(store=store, custom_fields__has_key=field.key)
    if with_value[: CUSTOM_FIELD_DELETE_INLINE_MAX + 1].count() <= CUSTOM_FIELD_DELETE_INLINE_MAX:
        custom_field_delete(store=store, actor=actor, field=field)
        return None
    return job_start(
        store=store,
        kind="customers.custom_field_delete",
        actor=actor,
        params={"field_id": field.pk},
    )


@job_handler("customers.custom_field_delete", label=gettext_lazy("Custom field removal"))
def custom_field_delete_job_run(ctx: JobContext) -> str:
    field = CustomField.objects.filter(store=ctx.store, pk=ctx.params["field_id"]).first()
    if field is None:
        return _("The field was already deleted.")
    label = field.label
    cleared = custom_field_delete(store=ctx.store, actor=ctx.job.created_by, field=field)
    ctx.progress(cleared, cleared, cleared=cleared)
    return ngettext(
        "Field “%(label)s” deleted and its value removed from %(count)d customer.",
        "Field “%(label)s” deleted and its value removed from %(count)d customers.",
        cleared,
    ) % {"label": label, "count": cleared}


def _positions_renumber(fields: Sequence[CustomField]) -> None:
    changed = []
    for position, field in enumerate(fields):
        if field.position != position:
            field.position = position
            changed.append(field)
    CustomField.objects.bulk_update(changed, ["position"])


@transaction.atomic
def custom_field_reorder(*, store: Store, actor: Any, field_ids: Sequence[int]) -> None:
    """Put the store's fields in the order of ``field_ids``, which must name each of the
    store's fields exactly once (a stale page that misses a new field is refused)."""
    _lock_store(store)
    fields = {field.pk: field for field in CustomField.objects.filter(store=store)}
    if len(field_ids) != len(set(field_ids)) or set(field_ids) != set(fields):
        raise ServiceError(
            _("The fields changed meanwhile; reload the page and try again."), field="order"
        )
    _positions_renumber([fields[pk] for pk in field_ids])
    _store_event(
        store=store,
        actor=actor,
        verb="custom_field.reordered",
        keys=[fields[pk].key for pk in field_ids],
    )


@transaction.atomic
def custom_field_move(*, store: Store, actor: Any, field: CustomField, offset: int) -> None:
    """Move a field up (``offset=-1``) or down (``offset=1``); at an end it stays."""
    _field_of_store(store, field)
    _lock_store(store)
    ids = list(CustomField.objects.filter(store=store).values_list("pk", flat=True))
    index = ids.index(field.pk)
    new_index = min(max(index + offset, 0), len(ids) - 1)
    if new_index == index:
        return
    ids.insert(new_index, ids.pop(index))
    custom_field_reorder(store=store, actor=actor, field_ids=ids)
