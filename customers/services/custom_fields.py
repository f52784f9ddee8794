"""Custom fields of a store (text, number, date, yes/no, choice) and the rules for their
values, which the profile form, the import and the filters share."""

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Func, JSONField, Max, Value
from django.db.models.fields.json import KeyTransform
from django.utils.formats import sanitize_separators
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, job_handler, job_start
from storefront_crm.models import Job, Store

from ..models import (
    Customer,
    CustomField,
    CustomFieldType,
)
from ..selectors import other_rows
from ..selectors_setup import custom_field_definitions_forget, custom_field_values_count
from .store_setup import free_name, setup_name_clean, store_event_record, store_setup_lock

CUSTOM_FIELD_DELETE_INLINE_MAX = 20000


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


def custom_field_values_clean(*, store: Store, values: dict[str, Any]) -> dict[str, Any]:
    """Validate the values of the store's custom fields by type (``custom_field_value_clean``:
    errors name the field's key); empty values are dropped. Keys without a field (a field
    that was removed) are kept as they are, so re-adding the field brings its values back."""
    fields = {field.key: field for field in CustomField.objects.filter(store=store)}
    cleaned: dict[str, Any] = {}
    for key, value in (values or {}).items():
        field = fields.get(key)
        clean = custom_field_value_clean(field, value) if field is not None else value
        if clean is not None:
            cleaned[key] = clean
    return cleaned


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
    return free_name(base, taken, separator="_")


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
    label = setup_name_clean(label, max_length=100, field="label")
    field_type = _field_type_clean(field_type)
    cleaned_choices = custom_field_choices_clean(field_type, choices)
    store_setup_lock(store)
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
    store_event_record(
        store=store,
        actor=actor,
        verb="custom_field.created",
        key=field.key,
        label=label,
        field_type=field_type,
    )
    transaction.on_commit(lambda: custom_field_definitions_forget(store))
    return field


def _label_free(store: Store, label: str, *, except_pk: int | None = None) -> None:
    if other_rows(CustomField.objects.filter(store=store, label__iexact=label), except_pk).exists():
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
    label = setup_name_clean(label, max_length=100, field="label")
    new_type = field.field_type if field_type is None else _field_type_clean(field_type)
    if choices is None:
        choices = field.choices if new_type == field.field_type else ()
    new_choices = custom_field_choices_clean(new_type, choices)
    store_setup_lock(store)
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
        store_event_record(
            store=store,
            actor=actor,
            verb="custom_field.updated",
            key=field.key,
            changes=changes,
        )
    transaction.on_commit(lambda: custom_field_definitions_forget(store))
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
    store_setup_lock(store)
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
    store_event_record(
        store=store,
        actor=actor,
        verb="custom_field.deleted",
        key=key,
        label=label,
        values_removed=cleared,
    )
    transaction.on_commit(lambda: custom_field_definitions_forget(store))
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
    store_setup_lock(store)
    fields = {field.pk: field for field in CustomField.objects.filter(store=store)}
    if len(field_ids) != len(set(field_ids)) or set(field_ids) != set(fields):
        raise ServiceError(
            _("The fields changed meanwhile; reload the page and try again."), field="order"
        )
    _positions_renumber([fields[pk] for pk in field_ids])
    store_event_record(
        store=store,
        actor=actor,
        verb="custom_field.reordered",
        keys=[fields[pk].key for pk in field_ids],
    )


@transaction.atomic
def custom_field_move(*, store: Store, actor: Any, field: CustomField, offset: int) -> None:
    """Move a field up (``offset=-1``) or down (``offset=1``); at an end it stays."""
    _field_of_store(store, field)
    store_setup_lock(store)
    ids = list(CustomField.objects.filter(store=store).values_list("pk", flat=True))
    index = ids.index(field.pk)
    new_index = min(max(index + offset, 0), len(ids) - 1)
    if new_index == index:
        return
    ids.insert(new_index, ids.pop(index))
    custom_field_reorder(store=store, actor=actor, field_ids=ids)
