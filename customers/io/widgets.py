"""Cell converters of the customer formats (django-import-export widgets).

Each ``clean`` takes the raw text of one cell and returns the value to store, or raises
``ValueError`` with a message for the merchant; the importer turns that into a problem
"row N, column X". Files from spreadsheets are messy, so the widgets are lenient about
form (decimal commas, day-first dates, ``yes``/``ja``/``sì``) and strict about meaning.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.widgets import Widget

from ..countries import COUNTRY_CODES, country_code
from ..services.customers import CUSTOMER_SINCE_SKEW

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPABLE = (*FORMULA_STARTS, "'")


def formula_escape(value: str) -> str:
    """Neutralise a cell a spreadsheet would run, reversibly (see ``formula_unescape``)."""
    if value and (
        value[0] in FORMULA_STARTS
        or (value[0] == "'" and len(value) > 1 and value[1] in _ESCAPABLE)
    ):
        return "'" + value
    return value


def formula_unescape(value: str) -> str:
    """Read a neutralised cell back: ``'+49 170`` is ``+49 170`` again."""
    if len(value) > 1 and value[0] == "'" and value[1] in _ESCAPABLE:
        return value[1:]
    return value


def cell_text(value: Any) -> str:
    return formula_unescape(str(value).strip()) if value is not None else ""


class TextWidget(Widget):
    def __init__(self, max_length: int | None = None, *, lower: bool = False) -> None:
        self.max_length = max_length
        self.lower = lower
        super().__init__()

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = cell_text(value)
        if self.lower:
            text = text.lower()
        if self.max_length and len(text) > self.max_length:
            raise ValueError(
                _("Longer than %(max)d characters (%(length)d).")
                % {"max": self.max_length, "length": len(text)}
            )
        return text

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


class EmailWidget(TextWidget):
    def __init__(self) -> None:
        super().__init__(254, lower=True)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        email = super().clean(value)
        if not email:
            raise ValueError(_("The email address is missing."))
        try:
            validate_email(email)
        except ValidationError:
            message = _("“%(email)s” is not a valid email address.") % {"email": email}
            raise ValueError(message) from None
        return email


class PhoneWidget(TextWidget):
    def __init__(self) -> None:
        super().__init__(40)


YES = {"yes", "y", "true", "1", "x", "ja", "j", "si", "sì", "oui", "wahr", "vero", "subscribed"}
NO = {
    "no",
    "n",
    "false",
    "0",
    "nein",
    "non",
    "falsch",
    "falso",
    "",
    "unsubscribed",
    "not subscribed",
}


class YesNoWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> bool:
        text = cell_text(value).lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError(_("“%(value)s” is not yes or no.") % {"value": text})

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "yes" if value else "no"


_NUMBER_JUNK = re.compile(r"[\s€$£¥]|CHF|EUR|USD|GBP", re.IGNORECASE)


def number_parse(text: str) -> Decimal:
    """``1.234,56``, ``1,234.56``, ``1234,5`` and ``1234.5`` are all numbers."""
    text = _NUMBER_JUNK.sub("", text).replace("\u00a0", "").replace("'", "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _sep, tail = text.rpartition(",")
        # "1,234" with three digits after a lone comma is a thousands separator in en files,
        # but a decimal comma is far more common in the files we get; only 1,234,567 is not.
        text = text.replace(",", "") if text.count(",") > 1 else f"{head}.{tail}"
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": text}) from None
    if not number.is_finite():
        raise ValueError(_("“%(value)s” is not a number.") % {"value": text})
    return number


class MoneyWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Decimal | None:
        text = cell_text(value)
        if not text:
            return None
        amount = number_parse(text).quantize(Decimal("0.01"))
        if amount < 0:
            raise ValueError(_("An amount cannot be negative."))
        if abs(amount) >= Decimal("1e12"):
            raise ValueError(_("The amount is too large."))
        return amount

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else f"{Decimal(value):.2f}"


class CountWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> int | None:
        text = cell_text(value)
        if not text:
            return None
        number = number_parse(text)
        if number != number.to_integral_value() or number < 0 or number > 2**31 - 1:
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": text})
        return int(number)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%y",
    "%Y/%m/%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
)
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p")


def datetime_parse(text: str) -> datetime:
    """ISO 8601 (with or without offset), ``DD.MM.YYYY``, ``DD/MM/YYYY`` and friends, with
    or without a time. Slashed dates are read day first (the files we get are European);
    a naive time is in the store's time zone (the current one)."""
    text = " ".join(text.replace("T", " ", 1).split()) if text[:4].isdigit() else text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        date_part, _sep, time_part = text.partition(" ")
        for candidate, rest in ((text, ""), (date_part, time_part)):
            for date_format in _DATE_FORMATS:
                try:
                    day = datetime.strptime(candidate, date_format).date()
                except ValueError:
                    continue
                parsed = _with_time(day, rest.strip())
                break
            if parsed is not None:
                break
        if parsed is None:
            raise ValueError(_("“%(value)s” is not a date.") % {"value": text}) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _with_time(day: date, text: str) -> datetime:
    if not text:
        return datetime.combine(day, time())
    text = re.sub(r"\s*(UTC|GMT|Z)$", "", text)
    for time_format in _TIME_FORMATS:
        try:
            return datetime.combine(day, datetime.strptime(text, time_format).time())
        except ValueError:
            continue
    raise ValueError(_("“%(value)s” is not a time of day.") % {"value": text})


class DateTimeWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> datetime | None:
        text = cell_text(value)
        return datetime_parse(text) if text else None

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if value is None:
            return ""
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


class PastDateTimeWidget(DateTimeWidget):
    """A moment that has happened ("customer since"): a date in the future is a mistake in
    the file (often a day and month read the wrong way round), not a plan."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> datetime | None:
        moment = super().clean(value, row, **kwargs)
        if moment is not None and moment > timezone.now() + CUSTOMER_SINCE_SKEW:
            raise ValueError(
                _("“%(value)s” is in the future; it must be a date that has passed.")
                % {"value": cell_text(value)}
            )
        return moment


def tags_parse(text: str) -> list[str]:
    """``a, b, "c, d"``: a comma-separated list; a name holding a comma is quoted."""
    if '"' not in text:  # the common case, without the regex: same names, same order
        unquoted: dict[str, str] = {}
        for part in text.split(","):
            name = " ".join(part.split())
            if name:
                unquoted.setdefault(name.lower(), name)
        return list(unquoted.values())
    names: list[str] = []
    for match in re.finditer(r'\s*(?:"([^"]*)"|([^,]*))\s*(?:,|$)', text):
        name = " ".join((match.group(1) if match.group(1) is not None else match.group(2)).split())
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def tags_render(names: list[str]) -> str:
    return ", ".join(f'"{name}"' if "," in name else name for name in names)


class TagsWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[str]:
        names = tags_parse(cell_text(value))
        too_long = [name for name in names if len(name) > 100]
        if too_long:
            raise ValueError(
                _("A tag is longer than 100 characters: %(tag)s") % {"tag": too_long[0]}
            )
        return names

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return tags_render(list(value or []))


class CountryWidget(Widget):
    """A country as files write it (``customers.countries.country_code``): codes, names in
    English, German, Italian, French or Spanish, "United States (US)", short forms."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = cell_text(value)
        if not text:
            return ""
        code = country_code(text)
        if code is None:
            raise ValueError(_("Unknown country “%(value)s”.") % {"value": text})
        return code

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return value or ""


class AccountTypeWidget(Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str | None:
        text = cell_text(value).lower()
        if not text:
            return None
        if text in {"registered", "account", "yes", "true", "1"}:
            return "registered"
        if text in {"guest", "no", "false", "0"}:
            return "guest"
        raise ValueError(_("“%(value)s” is neither guest nor registered.") % {"value": text})

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return value or ""


class IgnoredWidget(Widget):
    """A column we recognise but do not keep (derived values, the other system's ids)."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> None:
        return None


# --- Fast cleaners for the bulk import ----------------------------------------------------
#
# The importer cleans every cell of a file; the widgets' ``clean`` is the definition, these
# are shortcuts for the common cells (plain text, empty cells, ASCII emails, plain amounts
# and counts, country codes). A shortcut returns only what ``clean`` would return for the
# same cell; any cell it is not sure about goes to ``widget.clean`` itself, so the values
# and the problem messages stay the widgets'.

_PLAIN_AMOUNT = re.compile(r"\d{1,11}(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_DOMAINS_CACHED = 10_000


def _stripped(raw: str) -> str:
    text = raw.strip()
    return formula_unescape(text) if text[:1] == "'" else text


def widget_cleaner(widget: Widget) -> Callable[[str], Any]:
    """``widget.clean`` for the raw text of a cell, faster for the common cells."""
    kind = type(widget)
    if kind in (TextWidget, PhoneWidget):
        return _text_cleaner(widget)
    if kind is EmailWidget:
        return _email_cleaner(widget)
    if kind is YesNoWidget:

        def clean_yes_no(raw: str) -> Any:
            text = _stripped(raw).lower()
            if text in YES:
                return True
            if text in NO:
                return False
            return widget.clean(raw)

        return clean_yes_no
    if kind is MoneyWidget:

        def clean_money(raw: str) -> Any:
            text = _stripped(raw)
            if not text:
                return None
            if _PLAIN_AMOUNT.fullmatch(text):
                return Decimal(text).quantize(_CENT)
            return widget.clean(raw)

        return clean_money
    if kind is CountWidget:

        def clean_count(raw: str) -> Any:
            text = _stripped(raw)
            if not text:
                return None
            if len(text) < 10 and text.isascii() and text.isdigit():
                return int(text)
            return widget.clean(raw)

        return clean_count
    if kind is CountryWidget:

        def clean_country(raw: str) -> Any:
            text = _stripped(raw)
            if not text:
                return ""
            if len(text) == 2 and text.upper() in COUNTRY_CODES:
                return text.upper()
            return widget.clean(raw)

        return clean_country
    if kind is DateTimeWidget:

        def clean_datetime(raw: str) -> Any:
            return widget.clean(raw) if raw.strip() else None

        return clean_datetime
    if kind is IgnoredWidget:
        return lambda raw: None
    return widget.clean


def _text_cleaner(widget: TextWidget) -> Callable[[str], Any]:
    lower, max_length = widget.lower, widget.max_length

    def clean_text(raw: str) -> Any:
        text = _stripped(raw)
        if lower:
            text = text.lower()
        if max_length and len(text) > max_length:
            return widget.clean(raw)  # raises with the widget's message
        return text

    return clean_text


def _email_cleaner(widget: EmailWidget) -> Callable[[str], Any]:
    # Django's own validator, in its steps (user part, then domain part); a domain's
    # verdict is kept, since a file's addresses share a few domains.
    user_match = validate_email.user_regex.match  # the compiled pattern's, once
    domain_ok: dict[str, bool] = {}

    def clean_email(raw: str) -> Any:
        email = _stripped(raw).lower()
        if 0 < len(email) <= 254 and "@" in email:
            user, _at, domain = email.rpartition("@")
            verdict = domain_ok.get(domain)
            if verdict is None:
                if len(domain_ok) >= _DOMAINS_CACHED:
                    domain_ok.clear()
                verdict = domain_ok[domain] = domain in validate_email.domain_allowlist or bool(
                    validate_email.validate_domain_part(domain)
                )
            if verdict and user_match(user):
                return email
        return widget.clean(raw)

    return clean_email
