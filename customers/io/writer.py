"""The bulk write of checked import rows: a handful of statements per batch, never one
query per row.

On PostgreSQL new customers are ``COPY``-ed straight into their table with ids drawn from
the sequence beforehand, their rows mostly as COPY text made in the importer's checking
thread (``customer_copy_line``); should an email have appeared meanwhile (an order created
that customer), the batch goes through a TEMP staging table and one ``INSERT … SELECT …
ON CONFLICT (store_id, email) DO UPDATE`` instead (updated, not duplicated). Tag links,
addresses and notes are ``COPY``-ed straight into their tables, and so is one
``customer.imported`` activity event per created or updated customer (the profile's log
shows the import). Elsewhere (SQLite) ``bulk_create`` does the same job. Changed existing
customers are written with ``bulk_update`` grouped by the columns that changed. The caller
owns the transactions: one per batch (``on_error="skip"``) or one for the whole file.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from storefront_crm.models import Store

from ..models import (
    ActivityEvent,
    Address,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomField,
    GroupKind,
    TaggedCustomer,
)
from ..services.groups import group_defaults_create
from ..services.tags import tags_ensure
from .formats import ADDRESS_PARTS
from .importer import ColumnPlan, ImportResult, PreparedRow

# Every column of a new customer, in the staging table's order.
CUSTOMER_COLUMNS = (
    "store_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "company",
    "customer_since",
    "source",
    "account_type",
    "is_active",
    "is_blocked",
    "email_confirmed",
    "user_id",
    "accepts_marketing",
    "marketing_consent_at",
    "tax_exempt",
    "vat_id",
    "group_id",
    "custom_fields",
    "orders_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "created_at",
    "updated_at",
)


GROUP_AT = CUSTOMER_COLUMNS.index("group_id")
ACCOUNT_TYPE_AT = CUSTOMER_COLUMNS.index("account_type")
JSON_AT = CUSTOMER_COLUMNS.index("custom_fields")


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value) if value else "{}"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(text: str) -> str:
    """A string in PostgreSQL's COPY text format (backslash, tab and line ends escaped)."""
    return text.translate(_COPY_ESCAPES)


def copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format, as psycopg's ``write_row`` sends it."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is dict:
        value = _json(value)
    elif kind is datetime:
        return value.isoformat()
    elif kind is int:
        return str(value)
    return copy_escape(str(value))


def copy_line(values: Sequence[Any]) -> str:
    """A row's values in COPY text format, tab-separated, without the line end."""
    return "\t".join(map(copy_text, values))


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def rows_copy(model: type, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL ``COPY`` of plain rows into ``model``'s table."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def rows_insert(model: type, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Insert many rows: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere."""
    if not rows:
        return
    if is_postgresql():
        rows_copy(model, columns, rows)
    else:
        attnames = [model._meta.get_field(c).attname for c in columns]
        model.objects.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=2000
        )


def customer_values(
    store_id: int, row: PreparedRow, now: Any, default_groups: dict[str, int]
) -> tuple:
    """The customer row (``CUSTOMER_COLUMNS``) that creating ``row`` writes. Pure Python:
    the checking thread makes it ahead of the writing. The group is left ``None`` (or
    ``("new", name)``) when the store's group is not known yet; ``BatchWriter`` fills it."""
    f, history = row.fields, row.history
    account_type = f.get("account_type") or "guest"
    accepts = bool(f.get("accepts_marketing"))
    group = f.get("group_id") or default_groups.get(
        GroupKind.STANDARD if account_type == "registered" else GroupKind.GUESTS
    )
    return (
        store_id,
        row.email,
        f.get("first_name", ""),
        f.get("last_name", ""),
        f.get("phone", ""),
        f.get("country", ""),
        f.get("company", ""),
        f.get("customer_since") or now,
        "import",
        account_type,
        f.get("is_active", True),
        f.get("is_blocked", False),
        f.get("email_confirmed", False),
        None,
        accepts,
        f.get("marketing_consent_at") or (now if accepts else None),
        f.get("tax_exempt", False),
        f.get("vat_id", ""),
        group,
        f.get("custom_fields") or {},
        history.get("orders_count") or 0,
        history.get("total_spent") or 0,
        history.get("first_order_at"),
        history.get("last_order_at"),
        now,
        now,
    )


def _text(value: str) -> str:
    """A text value in COPY text format (most need no escaping)."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL(value) else value


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]").search


def customer_copy_line(store_id: int, row: PreparedRow, now_text: str, group_id: int) -> str:
    """``copy_line(customer_values(…))`` with the group known, written out column by column:
    a third of the time of the general form, in the checking thread."""
    f, history = row.fields, row.history
    get = f.get
    accepts = bool(get("accepts_marketing"))
    since, consent = get("customer_since"), get("marketing_consent_at")
    custom = get("custom_fields")
    return "\t".join(
        (
            str(store_id),
            _text(row.email),
            _text(get("first_name", "")),
            _text(get("last_name", "")),
            _text(get("phone", "")),
            _text(get("country", "")),
            _text(get("company", "")),
            since.isoformat() if since else now_text,
            "import",
            _text(get("account_type") or "guest"),
            "t" if get("is_active", True) else "f",
            "t" if get("is_blocked", False) else "f",
            "t" if get("email_confirmed", False) else "f",
            "\\N",
            "t" if accepts else "f",
            consent.isoformat() if consent else (now_text if accepts else "\\N"),
            "t" if get("tax_exempt", False) else "f",
            _text(get("vat_id", "")),
            str(group_id),
            _text(_json(custom)) if custom else "{}",
            str(history.get("orders_count") or 0),
            str(history.get("total_spent") or 0),
            copy_text(history.get("first_order_at")),
            copy_text(history.get("last_order_at")),
            now_text,
            now_text,
        )
    )


class BatchWriter:
    def __init__(
        self,
        *,
        store: Store,
        plan: ColumnPlan,
        actor: Any,
        job_id: int | None = None,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.plan = plan
        self.actor = actor if getattr(actor, "pk", None) else None
        self.groups: dict[str, int] = {}
        self.default_groups: dict[str, int] = {}
        self.tag_ids: dict[str, int] = {}

    def prepare(self) -> None:
        """The store's default groups and the custom fields the file brings; groups the
        file names are created when a batch first needs them (``_group_id``)."""
        store = self.store
        if not CustomerGroup.objects.filter(store=store).exclude(kind=GroupKind.CUSTOM).exists():
            group_defaults_create(store)
        for group in CustomerGroup.objects.filter(store=store):
            self.groups[group.name.lower()] = group.pk
            if group.kind != GroupKind.CUSTOM:
                self.default_groups[group.kind] = group.pk
        position = CustomField.objects.filter(store=store).count()
        for column in self.plan.custom:
            if column.definition is None:
                column.definition, created = CustomField.objects.get_or_create(
                    store=store,
                    key=column.key,
                    defaults={
                        "label": column.label,
                        "position": position,
                        "field_type": column.field_type,
                        "choices": column.choices,
                    },
                )
                position += created

    def constraints_check(self) -> None:
        """Check the foreign keys of what was written so far now, not at the commit
        (PostgreSQL; they are deferred). In one long transaction that keeps the database's
        queue of pending checks to a batch instead of the whole file (memory, a long last
        commit). Checking at the end of each statement instead cost more database time."""
        if is_postgresql():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checks what is pending
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def _group_id(self, value: Any, account_type: str) -> int:
        if isinstance(value, tuple):  # ("new", name): a group the store lacked when checked
            key = value[1].lower()
            if key not in self.groups:
                group, _created = CustomerGroup.objects.get_or_create(
                    store=self.store, name=value[1]
                )
                self.groups[key] = group.pk
            return self.groups[key]
        if value:
            return value
        kind = GroupKind.STANDARD if account_type == "registered" else GroupKind.GUESTS
        return self.default_groups[kind]

    def write(self, rows: list[PreparedRow]) -> None:
        """Write one batch; the caller's transaction commits it. New customers' rows get
        their ids (``customer_id``)."""
        now = timezone.now()
        created = [row for row in rows if row.action == "created"]
        updated = [row for row in rows if row.action == "updated"]
        self._customers_create(created, now)
        self._customers_update(updated, now)
        self._passwords(rows)
        self._tags(rows)
        self._addresses(updated, rows)
        notes = [
            (self.store.pk, row.customer_id, self.actor and self.actor.pk, row.note, now)
            for row in rows
            if row.note
        ]
        rows_insert(CustomerNote, ("store", "customer", "author", "body", "created_at"), notes)
        self._events(rows, now)

    def _events(self, rows: list[PreparedRow], now: Any) -> None:
        """One ``customer.imported`` event per created or updated customer, with the job."""
        store_id, actor_id = self.store.pk, self.actor and self.actor.pk
        data: dict[str, Any] = {
            action: {"job": self.job_id, "action": action} for action in ("created", "updated")
        }
        if is_postgresql():  # COPY takes the JSON text; made once per action, not per row
            data = {action: json.dumps(value) for action, value in data.items()}
        events = [
            (store_id, row.customer_id, actor_id, "customer.imported", data[row.action], now)
            for row in rows
            if row.action in data
        ]
        rows_insert(
            ActivityEvent, ("store", "customer", "actor", "verb", "data", "created_at"), events
        )

    def _customers_create(self, rows: list[PreparedRow], now: Any) -> None:
        if not rows:
            return
        if is_postgresql():
            self._customers_copy_postgresql(rows, now)
            return
        customers = Customer.objects.bulk_create(
            [
                Customer(**dict(zip(CUSTOMER_COLUMNS, self._values(row, now), strict=True)))
                for row in rows
            ],
            batch_size=2000,
        )
        for row, customer in zip(rows, customers, strict=True):
            row.customer_id = customer.pk

    def _values(self, row: PreparedRow, now: Any) -> tuple:
        """The new customer's row (``CUSTOMER_COLUMNS``) with its group."""
        value = row.new_values or customer_values(self.store.pk, row, now, {})
        group = value[GROUP_AT]
        if group is None or type(group) is tuple:  # a default or a new group: now known
            group = self._group_id(group, value[ACCOUNT_TYPE_AT])
            value = (*value[:GROUP_AT], group, *value[GROUP_AT + 1 :])
        return value

    def _customers_copy_postgresql(self, rows: list[PreparedRow], now: Any) -> None:
        """New customers ``COPY``-ed straight into the table, with ids drawn from its
        sequence beforehand (COPY returns none); most rows come as COPY text already
        (``customer_copy_line``, made in the checking thread). Should one of the emails
        have appeared meanwhile (an order created that customer), the COPY is undone and
        the batch goes through the upsert instead."""
        from psycopg.errors import UniqueViolation

        table = Customer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        lines = []
        for pk, row in zip(ids, rows, strict=True):
            line = row.new_line
            if line is None:  # before the COPY: the group may need creating first
                value = self._values(row, now)
                line = copy_line((*value[:JSON_AT], _json(value[JSON_AT]), *value[JSON_AT + 1 :]))
            lines.append(f"{pk}\t{line}\n")
        columns = ", ".join(("id", *CUSTOMER_COLUMNS))
        copy_sql = f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
        try:
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(copy_sql) as copy,
            ):
                copy.write("".join(lines))
        except UniqueViolation:
            ids_of = self._customers_upsert_postgresql(rows, [self._values(r, now) for r in rows])
            for row in rows:
                row.customer_id = ids_of[row.email]
            return
        for row, pk in zip(rows, ids, strict=True):
            row.customer_id = pk

    def _customers_upsert_postgresql(
        self, rows: list[PreparedRow], values: list[tuple]
    ) -> dict[str, int]:
        table = connection.ops.quote_name(Customer._meta.db_table)
        columns = ", ".join(CUSTOMER_COLUMNS)
        # Only what the file says is overwritten when the email appeared meanwhile.
        given = {name for row in rows for name in row.fields} - {"group_id"}
        updates = [c for c in CUSTOMER_COLUMNS if c in given and c not in {"email", "store_id"}]
        updates.append("updated_at")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS import_customer_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY import_customer_stage ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row((*value[:19], _json(value[19]), *value[20:]))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM import_customer_stage "
                "ON CONFLICT (store_id, email) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in updates)
                # an import's update is an edit: an edit form opened before it must review
                + f", edit_version = {table}.edit_version + 1"
                + " RETURNING id, email"
            )
            ids = {email: pk for pk, email in cursor.fetchall()}
            cursor.execute("TRUNCATE import_customer_stage")
        return ids

    def _customers_update(self, rows: list[PreparedRow], now: Any) -> None:
        by_columns: dict[tuple[str, ...], list[Customer]] = defaultdict(list)
        for row in rows:
            if not row.fields:
                continue
            fields = dict(row.fields)
            if "group_id" in fields:
                fields["group_id"] = self._group_id(
                    fields["group_id"], fields.get("account_type") or "guest"
                )
            customer = Customer(pk=row.customer_id, store=self.store, updated_at=now, **fields)
            # An import's update is an edit: an edit form opened before it must review.
            customer.edit_version = F("edit_version") + 1
            by_columns[tuple(sorted(fields))].append(customer)
        for columns, customers in by_columns.items():
            Customer.objects.bulk_update(
                customers, [*columns, "updated_at", "edit_version"], batch_size=1000
            )

    def _passwords(self, rows: list[PreparedRow]) -> None:
        """Ecwid passwords: kept only as a Django hash on the store's shopper login."""
        rows = [row for row in rows if row.password]
        if not rows:
            return
        User = get_user_model()
        users = {
            u.email: u
            for u in User.objects.filter(store=self.store, email__in=[r.email for r in rows])
        }
        links = []
        for row in rows:
            user = users.get(row.email)
            if user is None:
                user = User.objects.create_user(row.email, row.password, store=self.store)
            else:
                user.set_password(row.password)
                user.save(update_fields=["password"])
            links.append(Customer(pk=row.customer_id, user=user, account_type="registered"))
        Customer.objects.bulk_update(links, ["user", "account_type"])

    def _tags(self, rows: list[PreparedRow]) -> None:
        tag_ids = self.tag_ids
        missing = {name for row in rows for name in row.tags if name.lower() not in tag_ids}
        if missing:
            for tag in tags_ensure(store=self.store, names=list(missing)):
                tag_ids[tag.name.lower()] = tag.pk
        store_id = self.store.pk
        links = [
            (store_id, row.customer_id, tag_ids[name.lower()]) for row in rows for name in row.tags
        ]
        if not links:
            return
        columns = ("store", "content_object", "tag")
        if is_postgresql():
            rows_copy(TaggedCustomer, columns, links)
        else:
            TaggedCustomer.objects.bulk_create(
                [TaggedCustomer(store_id=s, content_object_id=c, tag_id=t) for s, c, t in links],
                batch_size=2000,
                ignore_conflicts=True,
            )

    def _addresses(self, updated: list[PreparedRow], rows: list[PreparedRow]) -> None:
        """The default addresses the rows bring; an existing customer's old default address
        of that kind is replaced."""
        replaced = [(row.customer_id, kind) for row in updated for kind in row.addresses]
        for kind in {kind for _id, kind in replaced}:
            Address.objects.filter(
                store=self.store,
                kind=kind,
                is_default=True,
                customer_id__in=[pk for pk, k in replaced if k == kind],
            ).delete()
        store_id = self.store.pk
        values = [
            (store_id, row.customer_id, kind, True, *parts)
            for row in rows
            for kind, parts in row.addresses.items()
        ]
        rows_insert(Address, ("store", "customer", "kind", "is_default", *ADDRESS_PARTS), values)

    def finish(self, result: ImportResult) -> None:
        ActivityEvent.objects.create(
            store=self.store,
            customer=None,
            actor=self.actor,
            verb="customers.imported",
            data={"format": result.format_name, **result.counts()},
        )
