"""Customer import: read, validate and classify every row, and write in bulk batches.

The checking (also the whole of a dry run) runs in a thread of its own, a batch ahead of
the writing: every row is cleaned through its format's resource widgets and checked
(email, duplicates inside the file, country, numbers, dates, the store's tag limit …);
the caller's thread compares each batch of clean rows with the store (create / update /
unchanged) and writes it while the next batch is being checked, so Python and the
database work at the same time and the file is read once.

- ``on_error="abort"``: the batches are written in ONE transaction; the first bad row
  rolls it back (nothing written) and the rest of the file is only checked, so that every
  problem is reported.
- ``on_error="skip"``: each batch of good rows is one transaction that also records
  itself in the job row; bad rows are reported. A crash mid-write leaves the store as it
  was after the last committed batch (the job row's ``counts.committed_batches`` /
  ``committed_up_to_row`` say which rows those were); the import is idempotent, so
  running the file again finishes it.
"""

import csv
import gc
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from ..models import (
    Address,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomerTag,
    CustomField,
    GroupKind,
    TaggedCustomer,
)
from ..services.custom_fields import (
    custom_field_choices_clean,
    custom_field_value_clean,
    reserved_field_keys,
)
from ..services.tags import tag_names_clean
from .formats import (
    ADDRESS_KINDS,
    ADDRESS_PARTS,
    FORMATS,
    Column,
    CustomerResource,
    custom_column_choices,
    format_detect,
)
from .reader import FileInfo, FileProblem, file_sniff, rows_read
from .widgets import (
    CountryWidget,
    CountWidget,
    DateTimeWidget,
    EmailWidget,
    MoneyWidget,
    TagsWidget,
    YesNoWidget,
    cell_text,
    datetime_parse,
    number_parse,
    widget_cleaner,
)

if TYPE_CHECKING:
    from .writer import BatchWriter

BATCH_SIZE = 5000
MAX_ERRORS_KEPT = 1000  # in memory and in the job row; the error report file has them all

# Customer columns an import may set, besides the email; aggregates only on creation.
UPDATABLE = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "country",
    "customer_since",
    "account_type",
    "is_active",
    "is_blocked",
    "email_confirmed",
    "accepts_marketing",
    "marketing_consent_at",
    "tax_exempt",
    "vat_id",
    "group_id",
    "custom_fields",
)
HISTORY = ("orders_count", "total_spent", "first_order_at", "last_order_at")
REASONS = {
    EmailWidget: "invalid email",
    CountryWidget: "unknown country",
    MoneyWidget: "bad number",
    CountWidget: "bad number",
    DateTimeWidget: "bad date",
    YesNoWidget: "bad yes/no",
    TagsWidget: "bad tag",
}
NAME_PARTICLES = {
    "van",
    "von",
    "de",
    "der",
    "den",
    "di",
    "da",
    "del",
    "della",
    "la",
    "le",
    "du",
    "dos",
    "ter",
    "ten",
    "zu",
    "st.",
}


@dataclass
class ImportOptions:
    format_name: str = "auto"
    dry_run: bool = False
    on_error: str = "abort"  # or "skip"
    encoding: str | None = None
    actor: Any = None
    job_id: int | None = None  # recorded on each imported customer's activity event
    # A tag for every customer of the file (created or updated), so that exactly they can
    # be found, filtered and edited in bulk afterwards; new or existing.
    tag: str = ""


@dataclass
class ImportResult:
    format_name: str = ""
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    written: bool = False
    committed_batches: int = 0
    committed_rows: int = 0
    batches: int = 0
    new_groups: list[str] = field(default_factory=list)
    new_custom_fields: list[str] = field(default_factory=list)
    new_tags: int = 0
    tag: str = ""  # the tag every customer of the file got (ImportOptions.tag, cleaned)
    ignored_columns: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error_count > 0

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }


@dataclass(slots=True)
class PreparedRow:
    """One clean row and what it will do to the store.

    Drafted in the checking thread as if the customer were new (``created``, with the
    ``history`` and the customer row a creation writes, ``new_values``); ``classify``
    turns the drafts of customers the store has into updates (only what changed)."""

    number: int
    email: str
    action: str  # created / updated / unchanged
    customer_id: int | None  # existing customers; new ones get theirs when written
    fields: dict[str, Any]  # Customer columns to write (create: all given; update: changed)
    tags: list[str]  # tag names to link (new links only)
    addresses: dict[str, tuple[str, ...]]  # kind → ADDRESS_PARTS, only those to (re)write
    note: str
    password: str | None
    history: dict[str, Any] = field(default_factory=dict)  # aggregates, on creation only
    new_values: tuple | None = None  # writer.customer_values(): the row a creation writes
    new_line: str | None = None  # the same as COPY text (PostgreSQL), without the id


ProgressCallback = Callable[[int, int, dict[str, int]], None]


# --- Column plan -----------------------------------------------------------------------


@dataclass
class CustomColumn:
    key: str
    label: str
    index: int
    definition: CustomField | None
    field_type: str = "text"  # of a field new to the store (native headers carry it)
    choices: list[str] = field(default_factory=list)  # of a new choice field, likewise


@dataclass
class ColumnPlan:
    """Where each attribute of the format sits in this file's header."""

    resource: type[CustomerResource]
    columns: list[tuple[Column, list[int]]]
    custom: list[CustomColumn]
    ignored: list[str]

    @cached_property
    def attributes(self) -> set[str]:
        return {column.attribute for column, _indexes in self.columns}

    @cached_property
    def cleaners(self) -> list[tuple[Column, list[int], Callable[[str], Any]]]:
        """Each column with its cell positions and its widget's (fast) cleaner."""
        return [
            (column, indexes, widget_cleaner(column.widget)) for column, indexes in self.columns
        ]

    @classmethod
    def build(
        cls, resource: type[CustomerResource], header: list[str], store: Store
    ) -> "ColumnPlan":
        positions: dict[str, int] = {}
        for index, name in enumerate(header):
            positions.setdefault(name.lower(), index)
        used: set[int] = set()
        columns = []
        for column in resource.columns():
            if column.readonly:
                continue
            indexes = [positions[h.lower()] for h in column.headers if h.lower() in positions]
            if indexes:
                columns.append((column, indexes))
                used.update(indexes)
        if not any(column.attribute == "email" for column, _i in columns):
            raise FileProblem(
                _(
                    "The file has no email column (for %(format)s: “%(column)s”). "
                    "Columns found: %(found)s."
                )
                % {
                    "format": resource.label,
                    "column": "Email",
                    "found": ", ".join(h for h in header if h)[:300],
                }
            )
        definitions = {f.key: f for f in CustomField.objects.filter(store=store)}
        reserved = reserved_field_keys()
        custom = []
        ignored_known = {h.lower() for h in resource.ignored_headers}
        ignored_known.update(c.column_name.lower() for c in resource.columns() if c.readonly)
        ignored = []
        for index, name in enumerate(header):
            if index in used or not name:
                continue
            match = resource.custom_field_pattern.match(name)
            if match:
                key = match.group("key").lower().replace("-", "_")[:60]
                label = match.group("label").strip() or key
                field_type = (match.groupdict().get("type") or "text").lower()
                choices = _header_choices(name, field_type, match.groupdict().get("choices"))
                if field_type == "choice" and not choices:
                    field_type = "text"  # a choice field without its choices: keep the text
                if key not in definitions and key in reserved:
                    # A new field may not take a built-in column's name (the setup page
                    # gives such a label "email_2"); an existing one keeps its key.
                    raise FileProblem(
                        _(
                            "Column “%(column)s”: “%(key)s” is the name of a built-in "
                            "customer column, so a new custom field cannot use it as its key. "
                            "Change the key in the header, for example to “%(key)s_2”."
                        )
                        % {"column": name, "key": key}
                    )
                custom.append(
                    CustomColumn(key, label[:100], index, definitions.get(key), field_type, choices)
                )
            elif name.lower() not in ignored_known:
                ignored.append(name)
        return cls(resource, columns, custom, ignored)


def _header_choices(header: str, field_type: str, text: str | None) -> list[str]:
    """The choices a native header gives a new choice field, checked like the setup
    page's."""
    if field_type != "choice" or not text:
        return []
    try:
        return custom_field_choices_clean(field_type, custom_column_choices(text))
    except ServiceError as error:
        raise FileProblem(
            _("Column “%(column)s”: %(problem)s") % {"column": header, "problem": error.message}
        ) from None


def _split_name(full: str) -> tuple[str, str]:
    """``Jane Doe`` → Jane / Doe; ``Ludwig van Beethoven`` → Ludwig / van Beethoven;
    ``Doe, Jane`` → Jane / Doe; a single word is a first name."""
    full = " ".join(full.split())
    if "," in full:
        last, _sep, first = full.partition(",")
        return first.strip()[:150], last.strip()[:150]
    words = full.split(" ")
    if len(words) == 1:
        return words[0][:150], ""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in NAME_PARTICLES:
        start -= 1
    return " ".join(words[:start])[:150], " ".join(words[start:])[:150]


def _custom_value(column: CustomColumn, text: str) -> Any:
    """A custom field cell, by the field's type (a field new to the store is text)."""
    definition = column.definition or CustomField(
        key=column.key, label=column.label, field_type=column.field_type, choices=column.choices
    )
    raw: Any = text
    if definition.field_type == "number":
        raw = number_parse(text)
    elif definition.field_type == "date":
        raw = datetime_parse(text).date()
    try:
        return custom_field_value_clean(definition, raw)
    except ServiceError as error:
        raise ValueError(error.message) from None


# --- Checking pass ---------------------------------------------------------------------


class _Checker:
    """Cleans rows, finds problems and compares rows with the store, batch by batch."""

    def __init__(
        self,
        store: Store,
        plan: ColumnPlan,
        result: ImportResult,
        error_sink: "ErrorSink",
        extra_tag: str = "",
    ) -> None:
        self.store = store
        self.plan = plan
        self.result = result
        self.errors = error_sink
        self.extra_tag = extra_tag
        self.seen_emails: dict[str, int] = {}
        self.tag_names = {
            name.lower()
            for name in CustomerTag.objects.filter(store=store).values_list("name", flat=True)
        }
        self.tag_limit = settings.STOREFRONT_MAX_TAGS_PER_STORE
        self.groups = {g.name.lower(): g.pk for g in CustomerGroup.objects.filter(store=store)}
        self.default_groups = dict(
            CustomerGroup.objects.filter(store=store)
            .exclude(kind="custom")
            .values_list("kind", "pk")
        )
        self.new_groups: dict[str, str] = {}
        # A store without customers (a first import) has none to compare with: the batches'
        # lookups are skipped. Should an order create one meanwhile, PostgreSQL's COPY meets
        # the unique email and that batch goes through the upsert (writer); SQLite has no
        # such fallback, so it always looks.
        self.store_was_empty = (
            connection.vendor == "postgresql" and not Customer.objects.filter(store=store).exists()
        )

    def clean(self, number: int, cells: list[str]) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        problems = []
        width = len(cells)
        for column, indexes, cleaner in self.plan.cleaners:
            raw = ""
            for index in indexes:
                if index < width and cells[index].strip():
                    raw = cells[index]
                    break
            try:
                values[column.attribute] = cleaner(raw)
            except ValueError as error:
                problems.append((column, raw, str(error)))
        custom = {}
        for custom_column in self.plan.custom:
            text = cell_text(cells[custom_column.index]) if custom_column.index < width else ""
            if not text:
                continue
            try:
                custom[custom_column.key] = _custom_value(custom_column, text)
            except ValueError as error:
                self.errors.add(number, custom_column.label, text, str(error), "invalid value")
                problems.append(None)
        values["custom"] = custom
        for problem in problems:
            if problem is not None:
                column, raw, message = problem
                reason = REASONS.get(type(column.widget), "invalid value")
                self.errors.add(number, column.column_name, raw, message, reason)
        email = values.get("email")
        if email:
            first = self.seen_emails.get(email)
            if first is not None:
                self.errors.add(
                    number,
                    "Email",
                    email,
                    _("The email %(email)s is already in row %(row)d of this file.")
                    % {"email": email, "row": first},
                    "duplicate email in the file",
                )
                problems.append(None)
            else:
                self.seen_emails[email] = number
        tags = values.get("tag_names") or []
        extra = self.extra_tag
        if extra and all(name.lower() != extra.lower() for name in tags):
            tags = values["tag_names"] = [*tags, extra]
        new_tags = [name for name in tags if name.lower() not in self.tag_names]
        if new_tags and not problems:
            if len(self.tag_names) + len(new_tags) > self.tag_limit:
                self.errors.add(
                    number,
                    "Tags",
                    ", ".join(tags),
                    _(
                        "A store can have at most %(limit)d tags; "
                        "this row's new tags (%(tags)s) would pass the limit."
                    )
                    % {"limit": self.tag_limit, "tags": ", ".join(new_tags[:5])},
                    "too many tags",
                )
                problems.append(None)
            else:
                self.tag_names.update(name.lower() for name in new_tags)
                self.result.new_tags += len(new_tags)
        if problems:
            self.result.skipped += 1
            return None
        group_name = values.get("group_name")
        if (
            group_name
            and group_name.lower() not in self.groups
            and group_name.lower() not in self.new_groups
        ):
            self.new_groups[group_name.lower()] = group_name
        return values

    @cached_property
    def address_keys(self) -> list[tuple[str, list[str]]]:
        """Each address kind the file has, with the value keys of its parts in order."""
        attributes = self.plan.attributes
        return [
            (kind, [f"{kind}_{part}" for part in ADDRESS_PARTS])
            for kind in ADDRESS_KINDS
            if any(f"{kind}_{part}" in attributes for part in ADDRESS_PARTS)
        ]

    def draft(self, number: int, values: dict[str, Any]) -> PreparedRow:
        """A clean row as a creation (no database: runs in the checking thread)."""
        addresses = {}
        for kind, keys in self.address_keys:
            parts = tuple(values.get(key) or "" for key in keys)
            if any(parts):
                addresses[kind] = parts
        return PreparedRow(
            number,
            values["email"],
            "created",
            None,
            self._fields(values),
            values.get("tag_names") or [],
            addresses,
            values.get("note") or "",
            values.get("password") or None,
            {name: values[name] for name in HISTORY if values.get(name) is not None},
        )

    def classify(self, batch: list[PreparedRow]) -> list[PreparedRow]:
        """Compare a batch of drafts with the store's customers (a few queries): those the
        store has become updates (only what changed) or unchanged; the rest stay creations."""
        if self.store_was_empty:
            return batch
        attributes = self.plan.attributes
        existing = {row["email"]: row for row in self._existing([row.email for row in batch])}
        if not existing:  # the common case of an import: all new
            return batch
        ids = [row["id"] for row in existing.values()]
        tags_of: dict[int, set[str]] = {}
        addresses_of: dict[tuple[int, str], tuple[str, ...]] = {}
        notes_of: dict[int, set[str]] = {}
        if "tag_names" in attributes or self.extra_tag:
            for customer_id, name in TaggedCustomer.objects.filter(
                store=self.store, content_object_id__in=ids
            ).values_list("content_object_id", "tag__name"):
                tags_of.setdefault(customer_id, set()).add(name.lower())
        if self.address_keys:
            for customer_id, kind, *parts in Address.objects.filter(
                store=self.store, customer_id__in=ids, is_default=True
            ).values_list("customer_id", "kind", *ADDRESS_PARTS):
                addresses_of[(customer_id, kind)] = tuple(parts)
        if "note" in attributes:
            for customer_id, body in CustomerNote.objects.filter(
                store=self.store, customer_id__in=ids
            ).values_list("customer_id", "body"):
                notes_of.setdefault(customer_id, set()).add(body)
        for row in batch:
            current = existing.get(row.email)
            if current is None:
                continue
            customer_id = row.customer_id = current["id"]
            fields, password = row.fields, row.password
            changed = {}
            for name, value in fields.items():
                if name == "custom_fields":
                    merged = {**(current["custom_fields"] or {}), **value}
                    if merged != current["custom_fields"]:
                        changed[name] = merged
                elif current[name] != value:
                    changed[name] = value
            if "accepts_marketing" in changed and "marketing_consent_at" not in fields:
                changed["marketing_consent_at"] = timezone.now()
            have_tags = tags_of.get(customer_id, set())
            row.tags = [name for name in row.tags if name.lower() not in have_tags]
            row.addresses = {
                kind: parts
                for kind, parts in row.addresses.items()
                if addresses_of.get((customer_id, kind)) != parts
            }
            if row.note and row.note in notes_of.get(customer_id, set()):
                row.note = ""
            if (
                password
                and current["user_id"] is None
                and "account_type" not in changed
                and current["account_type"] != "registered"
            ):
                changed["account_type"] = "registered"
            row.fields, row.history, row.new_values, row.new_line = changed, {}, None, None
            row.action = (
                "updated"
                if (changed or row.tags or row.addresses or row.note or password)
                else "unchanged"
            )
        return batch

    def _existing(self, emails: list[str]) -> Iterator[dict[str, Any]]:
        """The store's customers with these emails (one query)."""
        customers = Customer.objects.filter(store=self.store)
        if connection.vendor == "postgresql":
            # One array parameter instead of thousands of placeholders to build and send.
            customers = customers.extra(where=["email = ANY(%s)"], params=[emails])
        else:
            customers = customers.filter(email__in=emails)
        return customers.values("id", "email", "user_id", *UPDATABLE).iterator()

    @cached_property
    def field_plan(self) -> tuple[list[tuple[str, bool]], list[tuple[str, list[str]]]]:
        """The Customer columns the file gives (with: may a missing value be left out?),
        and for country, company and phone the address values that stand in for them."""
        attributes = self.plan.attributes
        optional = {"account_type", "customer_since", "marketing_consent_at"}
        plain = [
            (name, name in optional)
            for name in UPDATABLE
            if name in attributes and name not in {"group_id", "custom_fields"}
        ]
        fallbacks = []
        for name, kinds in (
            ("country", ADDRESS_KINDS),
            ("company", ("shipping", "billing")),
            ("phone", ADDRESS_KINDS),
        ):
            keys = [f"{kind}_{name}" for kind in kinds if f"{kind}_{name}" in attributes]
            if keys:
                fallbacks.append((name, keys))
        return plain, fallbacks

    def _fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """The Customer columns a clean row sets (before comparing with the store)."""
        attributes = self.plan.attributes
        plain, fallbacks = self.field_plan
        fields: dict[str, Any] = {}
        for name, optional in plain:
            value = values.get(name)
            if value is None and optional:
                continue
            fields[name] = value
        if "full_name" in attributes and "first_name" not in attributes:
            fields["first_name"], fields["last_name"] = _split_name(values.get("full_name") or "")
        for name, keys in fallbacks:
            if not fields.get(name):
                for key in keys:
                    if values.get(key):
                        fields[name] = values[key]
                        break
        if values.get("password") and "account_type" not in fields:
            fields["account_type"] = "registered"
        group_name = values.get("group_name")
        if group_name:
            fields["group_id"] = self.groups.get(group_name.lower(), ("new", group_name))
        if self.plan.custom or "custom" in values and values["custom"]:
            fields["custom_fields"] = values.get("custom") or {}
        return fields


class ErrorSink:
    """Keeps the first problems in memory and writes every one to a CSV report file."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        # Lives as long as the import; closed by ``close()``.
        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(["Row", "Column", "Value", "Problem"])

    def add(self, row: int, column: str, value: Any, message: str, reason: str) -> None:
        from .widgets import formula_escape

        self.result.error_count += 1
        self.result.reasons[reason] = self.result.reasons.get(reason, 0) + 1
        text = str(value)[:200]
        if len(self.result.errors) < MAX_ERRORS_KEPT:
            self.result.errors.append(
                {"row": row, "column": column, "value": text, "message": message}
            )
        self.writer.writerow(
            [row, formula_escape(column), formula_escape(text), formula_escape(message)]
        )

    def report(self) -> IO[str]:
        self.file.flush()
        self.file.seek(0)
        return self.file


# --- The import service ----------------------------------------------------------------


def resource_for(info: FileInfo, format_name: str) -> type[CustomerResource]:
    if format_name and format_name != "auto":
        if format_name not in FORMATS:
            raise FileProblem(_("Unknown format “%(format)s”.") % {"format": format_name})
        return FORMATS[format_name]
    detected = format_detect(info.header)
    if detected is None and not {"email", "account"} & {h.lower() for h in info.header}:
        raise FileProblem(
            _("The file has no email column. Columns found: %(header)s.")
            % {"header": ", ".join(info.header)[:300]}
        )
    if detected is None:
        raise FileProblem(
            _(
                "The format of this file was not recognised from its header (%(header)s); "
                "choose one."
            )
            % {"header": ", ".join(info.header)[:300]}
        )
    return FORMATS[detected]


def customers_import(
    *,
    store: Store,
    source: BinaryIO,
    options: ImportOptions,
    on_progress: ProgressCallback | None = None,
    on_batch_commit: Callable[[ImportResult], None] | None = None,
) -> tuple[ImportResult, IO[str]]:
    """Import a customer CSV into ``store``: upsert by email within the store only.

    Returns the result and the error report (a CSV file object). Raises ``FileProblem``
    for a file that cannot be imported at all. ``on_batch_commit`` runs inside each
    batch's transaction, so what it records commits exactly with the batch.
    """
    with timezone.override(store.time_zone), _collector_paused():  # zone: naive dates
        return _customers_import(store, source, options, on_progress, on_batch_commit)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the import: it allocates millions of small
    objects and no reference cycles, and the collector's repeated passes over the growing
    heap cost a quarter of the import's time. Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _customers_import(
    store: Store,
    source: BinaryIO,
    options: ImportOptions,
    on_progress: ProgressCallback | None,
    on_batch_commit: Callable[[ImportResult], None] | None,
) -> tuple[ImportResult, IO[str]]:
    from .writer import BatchWriter

    info = file_sniff(source, encoding=options.encoding)
    resource = resource_for(info, options.format_name)
    plan = ColumnPlan.build(resource, info.header, store)
    result = ImportResult(
        format_name=resource.format_name,
        encoding=info.encoding,
        delimiter=info.delimiter,
        rows=info.data_rows,
        ignored_columns=plan.ignored,
    )
    errors = ErrorSink(result)
    result.tag = next(iter(tag_names_clean([options.tag])), "")
    checker = _Checker(store, plan, result, errors, extra_tag=result.tag)
    if (
        result.tag
        and result.tag.lower() not in checker.tag_names
        and len(checker.tag_names) >= checker.tag_limit
    ):
        raise FileProblem(
            _(
                "The store already has %(limit)d tags, the most it can have: tag the customers "
                "with one of them, or delete a tag first, to import with the new tag "
                "“%(tag)s”."
            )
            % {"limit": checker.tag_limit, "tag": result.tag}
        )
    writing = not options.dry_run
    total = info.data_rows * (2 if writing else 1)
    progress = on_progress or (lambda done, total, counts: None)

    def classified(batch: list[PreparedRow]) -> list[PreparedRow]:
        """The batch compared with the store and counted; the rows that write something."""
        prepared = checker.classify(batch) if batch else []
        for row in prepared[: max(0, 20 - len(result.preview))]:
            result.preview.append({"row": row.number, "email": row.email, "action": row.action})
        writes = [row for row in prepared if row.action != "unchanged"]
        result.unchanged += len(prepared) - len(writes)
        updated = sum(1 for row in writes if row.action == "updated")
        result.updated += updated
        result.created += len(writes) - updated
        return writes

    new_customer = None
    if writing:
        from .writer import customer_copy_line, customer_values, is_postgresql

        as_text, store_id, default_groups = is_postgresql(), store.pk, checker.default_groups
        guests, standard = (
            default_groups.get(GroupKind.GUESTS),
            default_groups.get(GroupKind.STANDARD),
        )
        now_text = {}  # the batch's time as COPY text, made once

        def new_customer(row: PreparedRow, now: Any) -> None:
            """The customer row a creation writes, made in the checking thread: for
            PostgreSQL's COPY as text once its group is known, else as values."""
            if as_text:
                fields = row.fields
                group = fields.get("group_id") or (
                    standard if fields.get("account_type") == "registered" else guests
                )
                if type(group) is int:
                    text = now_text.get(now) or now_text.setdefault(now, now.isoformat())
                    row.new_line = customer_copy_line(store_id, row, text, group)
                    return
            row.new_values = customer_values(store_id, row, now, default_groups)

    with _CheckedBatches(source, info, checker, new_customer) as batches:
        if not writing:
            for checked, batch in batches:
                classified(batch)
                progress(checked, total, result.counts())
        else:
            writer = BatchWriter(
                store=store,
                plan=plan,
                actor=options.actor,
                job_id=options.job_id,
            )
            write = _all_or_nothing if options.on_error == "abort" else _batch_by_batch
            write(batches, classified, writer, result, total, progress, on_batch_commit)
    result.new_groups = sorted(checker.new_groups.values())
    result.new_custom_fields = sorted(c.key for c in plan.custom if c.definition is None)
    if result.written:
        progress(total, total, result.counts())
    return result, errors.report()


class _Abandoned(Exception):
    """A bad row in an all-or-nothing import: roll back what was written so far."""


def _all_or_nothing(
    batches: "_CheckedBatches",
    classified: Callable[[list[PreparedRow]], list[PreparedRow]],
    writer: "BatchWriter",
    result: ImportResult,
    total: int,
    progress: ProgressCallback,
    on_batch_commit: Callable[[ImportResult], None] | None,
) -> None:
    """``on_error="abort"``: one transaction, written while the rest of the file is still
    being checked; the first bad row rolls it back and the rest is only checked (so that
    every problem is reported). ``on_batch_commit`` runs once, last, inside it."""
    written = last_row = 0
    try:
        with transaction.atomic():
            writer.prepare()
            for checked, batch in batches:
                writes = classified(batch)
                if result.failed:
                    raise _Abandoned
                if writes:
                    writer.write(writes)
                    writer.constraints_check()
                    result.batches += 1
                    written += len(writes)
                    last_row = writes[-1].number
                progress(checked + written, total, result.counts())
            if result.failed:  # a problem in the last rows checked
                raise _Abandoned
            writer.finish(result)
            result.committed_batches = result.batches
            result.committed_rows = last_row
            if on_batch_commit:
                on_batch_commit(result)
        result.written = True
    except _Abandoned:
        for checked, batch in batches:
            classified(batch)
            progress(checked + written, total, result.counts())


def _batch_by_batch(
    batches: "_CheckedBatches",
    classified: Callable[[list[PreparedRow]], list[PreparedRow]],
    writer: "BatchWriter",
    result: ImportResult,
    total: int,
    progress: ProgressCallback,
    on_batch_commit: Callable[[ImportResult], None] | None,
) -> None:
    """``on_error="skip"``: each batch of good rows is one transaction, written while the
    next batch is being checked; ``on_batch_commit`` runs inside each."""
    written = 0
    writer.prepare()
    for checked, batch in batches:
        writes = classified(batch)
        if writes:
            with transaction.atomic():
                writer.write(writes)
                result.batches += 1
                result.committed_batches += 1
                result.committed_rows = writes[-1].number
                if on_batch_commit:
                    on_batch_commit(result)
            written += len(writes)
        progress(checked + written, total, result.counts())
    writer.finish(result)
    result.written = True


_END = object()


# The switch interval is one setting of the whole process: imports running side by side in
# one worker's threads shorten it together, and the last one to finish puts it back.
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def fast_thread_switches(interval: float) -> Iterator[None]:
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, interval))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class _CheckedBatches:
    """The checking pass in a thread of its own, one batch ahead of the writing.

    The thread reads and cleans the rows (pure Python, no database) and hands batches of
    clean rows to the caller's thread through a short queue (memory stays bounded); the
    caller compares each batch with the store and writes it, and while it waits for
    PostgreSQL the next batch is being checked. Iterating yields ``(rows checked so far,
    batch)``; an error of the thread is raised in the caller's."""

    QUEUED = 2

    def __init__(
        self,
        source: BinaryIO,
        info: FileInfo,
        checker: _Checker,
        new_customer: Callable[[PreparedRow, Any], None] | None,
    ) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=self.QUEUED)
        self.stopping = threading.Event()
        self.new_customer = new_customer
        self.thread = threading.Thread(
            target=self._check,
            args=(source, info, checker),
            name="customer-import-check",
            daemon=True,
        )
        # Django's language and time zone are per thread: the caller's hold in the thread
        # (messages in the merchant's language, naive dates in the store's zone).
        self.language = translation.get_language()
        self.time_zone = timezone.get_current_timezone()

    # While the caller's thread waits for PostgreSQL, this thread holds the interpreter
    # lock; when the answer comes, the caller gets the lock back only after the switch
    # interval (5 ms by default), once per network wait: hundreds of times per import.
    SWITCH_INTERVAL = 0.0005

    def __enter__(self) -> "_CheckedBatches":
        self.fast_switches = fast_thread_switches(self.SWITCH_INTERVAL)
        self.fast_switches.__enter__()
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join()
        self.fast_switches.__exit__(None, None, None)

    def __iter__(self) -> Iterator[tuple[int, list[PreparedRow]]]:
        while True:
            item = self.queue.get()
            if item is _END:
                self.queue.put(_END)  # a later loop over the rest ends at once too
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _check(self, source: BinaryIO, info: FileInfo, checker: _Checker) -> None:
        with translation.override(self.language), timezone.override(self.time_zone):
            self._check_rows(source, info, checker)

    def _check_rows(self, source: BinaryIO, info: FileInfo, checker: _Checker) -> None:
        try:
            new_customer = self.new_customer
            batch: list[PreparedRow] = []
            checked = 0
            now = timezone.now()  # the creation time of the batch's new customers
            for number, cells in rows_read(source, info):
                values = checker.clean(number, cells)
                if values is not None:
                    row = checker.draft(number, values)
                    if new_customer:
                        new_customer(row, now)
                    batch.append(row)
                checked += 1
                if len(batch) >= BATCH_SIZE:
                    if not self._put((checked, batch)):
                        return
                    batch, now = [], timezone.now()
            if self._put((checked, batch)):
                self._put(_END)
        except BaseException as error:  # handed over, raised in the caller's thread
            self._put(error)

    def _put(self, item: Any) -> bool:
        """False when the caller stopped listening (it failed or is done)."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False


def import_summary_lines(result: ImportResult, *, dry_run: bool) -> list[str]:
    """The summary a person reads at the end (command output, job message)."""
    lines = [
        (_("Dry run (nothing written): ") if dry_run else "")
        + _(
            "%(created)d created, %(updated)d updated, %(unchanged)d unchanged, "
            "%(skipped)d skipped."
        )
        % result.counts()
    ]
    for reason, count in sorted(result.reasons.items()):
        lines.append(_("  %(count)d × %(reason)s") % {"count": count, "reason": reason})
    if result.ignored_columns:
        lines.append(
            _("Columns not imported: %(columns)s") % {"columns": ", ".join(result.ignored_columns)}
        )
    if result.new_groups:
        lines.append(_("New groups: %(groups)s") % {"groups": ", ".join(result.new_groups)})
    if result.new_custom_fields:
        lines.append(
            _("New custom fields: %(fields)s") % {"fields": ", ".join(result.new_custom_fields)}
        )
    if result.tag:
        lines.append(
            (
                _("Every customer of the file would be tagged “%(tag)s”.")
                if dry_run
                else _("Every customer of the file is tagged “%(tag)s”.")
            )
            % {"tag": result.tag}
        )
    return lines
