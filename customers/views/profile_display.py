"""How the profile shows what it stores: custom field values, countries by name,
addresses laid out as on a label, and each activity event as a sentence."""

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.formatting import date_format

from ..countries import country_name
from ..models import (
    ADDRESS_PARTS,
    ActivityEvent,
    Address,
    AddressKind,
    Customer,
    CustomField,
    CustomFieldType,
)

# The activity log names changed fields in the order of the form, which is the model's.
_FIELD_ORDER = {field.name: index for index, field in enumerate(Customer._meta.fields)}


_BOOLEAN_FIELDS = {
    field.name for field in Customer._meta.fields if field.get_internal_type() == "BooleanField"
}


def custom_field_display(field: CustomField, value: Any, language: str) -> str:
    """A stored custom-field value as people read it."""
    if value in (None, ""):
        return ""
    if field.field_type == CustomFieldType.BOOLEAN:
        return _("Yes") if value is True else _("No") if value is False else str(value)
    if field.field_type == CustomFieldType.DATE:
        try:
            return date_format(datetime.date.fromisoformat(str(value)), language)
        except ValueError:
            return str(value)
    if field.field_type == CustomFieldType.NUMBER:
        from django.utils import formats, translation

        with translation.override(language):
            return formats.number_format(Decimal(str(value)), use_l10n=True)
    return str(value)


def country_display(code: str) -> str:
    """ "Germany (DE)"; a code without a known name (saved before codes were checked) as
    it is."""
    if not code:
        return ""
    name = country_name(code)
    return f"{name} ({code.upper()})" if name else code


def _yes_no(value: str) -> str:
    """A stored "True"/"False" as the profile shows booleans, in the reader's language."""
    return {"True": _("Yes"), "False": _("No")}.get(value, value)


def _stored_text(value: Any) -> str:
    if value is None:
        return ""
    return _yes_no(str(value)) if isinstance(value, bool) else str(value)


def _custom_field_changes(
    changes: dict[str, list[Any]], fields: dict[str, CustomField], language: str
) -> list[str]:
    """One part per changed custom field: its label, old and new value as the profile
    shows them."""
    parts = []
    ordered = sorted(changes, key=lambda key: (key not in fields, key))  # removed fields last
    for key in ordered:
        old, new = changes[key]
        field = fields.get(key)
        if field is not None:
            label = field.label
            old, new = (custom_field_display(field, value, language) for value in (old, new))
        else:  # a field removed since: its key and the values as stored
            label = key
            old, new = (_stored_text(value) for value in (old, new))
        if not old:
            sentence = _("set %(field)s to “%(new)s”")
        elif not new:
            sentence = _("cleared %(field)s (was “%(old)s”)")
        else:
            sentence = _("changed %(field)s from “%(old)s” to “%(new)s”")
        parts.append(sentence % {"field": label, "old": old, "new": new})
    return parts


def _field_label(name: str) -> str:
    try:
        return str(Customer._meta.get_field(name).verbose_name)
    except Exception:
        return name


def _address_sentence(verb: str, data: dict[str, Any]) -> str:
    shipping = data.get("kind") == AddressKind.SHIPPING
    address = data.get("address") or "—"
    if verb == "address.added":
        sentence = (
            _("Added a shipping address: %(address)s")
            if shipping
            else _("Added a billing address: %(address)s")
        )
        return sentence % {"address": address}
    if verb == "address.deleted":
        sentence = (
            _("Deleted a shipping address: %(address)s")
            if shipping
            else _("Deleted a billing address: %(address)s")
        )
        return sentence % {"address": address}
    parts = []
    changes = data.get("changes") or {}
    # in the form's order: PostgreSQL's jsonb does not keep the order keys were written in
    order = {name: index for index, name in enumerate(("kind", "is_default", *ADDRESS_PARTS))}
    for name, (old, new) in sorted(changes.items(), key=lambda item: order.get(item[0], 99)):
        if name == "is_default":
            parts.append(_("made it the default") if new == "True" else _("unset it as default"))
        elif name == "kind":
            parts.append(
                _("changed %(field)s from “%(old)s” to “%(new)s”")
                % {"field": _("kind"), "old": _kind_label(old), "new": _kind_label(new)}
            )
        else:
            try:
                label = str(Address._meta.get_field(name).verbose_name)
            except Exception:
                label = name
            parts.append(
                _("changed %(field)s from “%(old)s” to “%(new)s”")
                % {"field": label, "old": old, "new": new}
            )
    sentence = (
        _("Edited a shipping address: %(changes)s")
        if shipping
        else _("Edited a billing address: %(changes)s")
    )
    return sentence % {"changes": "; ".join(parts) or address}


def _kind_label(kind: str) -> str:
    try:
        return str(AddressKind(kind).label)
    except ValueError:
        return kind


def event_sentence(
    event: ActivityEvent,
    *,
    fields: dict[str, CustomField] | None = None,
    language: str | None = None,
) -> str:
    """One line of the activity log as a translated sentence. ``fields``: the store's
    custom fields by key (read here when a sentence needs them), ``language``: the one the
    profile formats dates and numbers in (the store's)."""
    data = event.data or {}
    verb = event.verb
    if verb == "customer.created":
        source = data.get("source", "")
        return {
            "order": _("Profile created from an order"),
            "import": _("Profile created by an import"),
            "signup": _("Profile created when the customer signed up"),
        }.get(source, _("Profile created"))
    if verb == "customer.updated":
        parts = []
        # in the model's field order: PostgreSQL's jsonb does not keep the order keys were
        # written in
        changes = data.get("changes") or {}
        for name in sorted(changes, key=lambda name: _FIELD_ORDER.get(name, len(_FIELD_ORDER))):
            old, new = changes[name] if isinstance(changes[name], list) else ("", "")
            if name == "accepts_marketing":
                parts.append(
                    _("gave marketing consent")
                    if new == "True"
                    else _("withdrew marketing consent")
                )
            elif name == "group":
                parts.append(_("moved to group “%(new)s”") % {"new": new})
            elif name == "custom_fields":
                if isinstance(changes[name], dict):  # per field since the QA fixes
                    if fields is None:
                        fields = {
                            field.key: field
                            for field in CustomField.objects.filter(store_id=event.store_id)
                        }
                    parts.extend(
                        _custom_field_changes(
                            changes[name], fields, language or translation.get_language()
                        )
                    )
                else:  # logged before: the whole dict as text, not worth showing
                    parts.append(_("changed custom fields"))
            else:
                if name in _BOOLEAN_FIELDS:
                    old, new = _yes_no(old), _yes_no(new)
                parts.append(
                    _("changed %(field)s from “%(old)s” to “%(new)s”")
                    % {"field": _field_label(name), "old": old, "new": new}
                )
        sentence = (
            (_("Edited: %(changes)s") % {"changes": "; ".join(parts)}) if parts else _("Edited")
        )
        if data.get("reason") == "group.deleted":
            sentence += " " + _("(its group was deleted)")
        elif data.get("bulk"):
            sentence += " " + _("(bulk edit)")
        return sentence
    if verb.startswith("address."):
        return _address_sentence(verb, data)
    simple = {
        "tags.added": _("Tags added: %(tags)s"),
        "tags.removed": _("Tags removed: %(tags)s"),
    }
    if verb in simple:
        return simple[verb] % {"tags": ", ".join(data.get("tags") or [])}
    if verb == "customer.merged":
        duplicate = data.get("duplicate") or {}
        moved = int(data.get("orders_moved") or 0)
        return ngettext(
            "Merged with the duplicate profile %(email)s (%(orders)d order moved)",
            "Merged with the duplicate profile %(email)s (%(orders)d orders moved)",
            moved,
        ) % {"email": duplicate.get("email", "?"), "orders": moved}
    if verb == "order.placed":
        return _("Placed order #%(order)s") % {"order": data.get("order", "?")}
    if verb == "order.updated":
        return _("Order #%(order)s changed") % {"order": data.get("order", "?")}
    if verb == "email.confirmed":
        return (
            _("Confirmed the email address with the emailed link")
            if data.get("via_link")
            else _("Marked the email address as confirmed")
        )
    sentences = {
        "note.added": _("Added an internal note"),
        "note.edited": _("Edited an internal note"),
        "note.deleted": _("Deleted an internal note"),
        "account.blocked": _("Blocked the account"),
        "account.unblocked": _("Unblocked the account"),
        "account.activated": _("Activated the account"),
        "account.deactivated": _("Deactivated the account"),
        "email.confirmation_sent": _("Sent an email-confirmation link"),
        "customer.impersonated": _("Signed in to the storefront as this customer"),
        "account.login_email_changed": _(
            "The storefront login moved to %(email)s; sign-in links sent before no longer work"
        ),
        "customer.imported": _("Updated by an import"),
        "customers.imported": _("Updated by an import"),
        "group.changed": _("Moved to group “%(group)s”"),
    }
    if verb in sentences:
        try:
            return sentences[verb] % data if "%(" in sentences[verb] else sentences[verb]
        except (KeyError, TypeError, ValueError):
            return sentences[verb]
    return verb  # a verb recorded by a newer part of the app: still shown, untranslated


def address_lines(address: Address) -> list[str]:
    """The address's lines with the country's name instead of its bare code."""
    lines = address.lines()
    if address.country and lines and lines[-1] == address.country:
        lines[-1] = country_display(address.country)
    return lines


def order_address_lines(data: dict[str, Any] | None) -> list[str]:
    """An order's address (a JSON copy taken when it was placed) laid out as a saved
    address is: postcode and city on one line, the country by name."""
    parts = {key: str(value) for key, value in (data or {}).items() if key in ADDRESS_PARTS}
    address = Address(**parts)
    return address_lines(address) + ([address.phone] if address.phone else [])


# --- Reviewing an edit that met a newer version ---------------------------------------


def _shown(field: forms.Field, value: Any) -> str:
    """A form value as the member reads it, for the review of a conflicting edit."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(field, forms.ModelChoiceField):
        row = value if hasattr(value, "pk") else field.queryset.filter(pk=value).first()
        return str(row) if row is not None else "—"
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))
    return str(formats.localize(value))


def edit_conflict_rows(form: forms.Form, *, version_field: str) -> list[dict[str, str]]:
    """The fields whose value saved now differs from the member's entry: label, the value
    saved now and theirs. ``form`` is bound to the entry, its initial values are the row
    as it is now; ``version_field`` is the hidden field that carries the version."""
    return [
        {
            "label": str(form.fields[name].label),
            "saved": _shown(form.fields[name], form.get_initial_for_field(form.fields[name], name)),
            "yours": _shown(form.fields[name], form.cleaned_data.get(name)),
        }
        for name in form.changed_data
        if name != version_field
    ]
