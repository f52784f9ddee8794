"""Foreign keys that include the store, for PostgreSQL.

A store-owned row points at another store-owned row of the same store. Django's own
foreign key is on the id alone, and PostgreSQL checks it with a lookup by that id: with
every index led by ``store_id`` that lookup scans the table once per deleted row (deleting
20,000 customers took minutes). So these relations are declared with
``db_constraint=False`` and constrained here on ``(store_id, <fk>_id)`` instead, which the
store-led indexes serve, which also forbids pointing at another store's row, and which is
the shape a table distributed by store (Citus) needs.
"""

from collections.abc import Iterable

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# (table, column, referenced table)
SameStoreKey = tuple[str, str, str]


def same_store_foreign_keys_create(
    schema_editor: BaseDatabaseSchemaEditor, keys: Iterable[SameStoreKey]
) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, target in keys:
        name = f"{table}_{column}_same_store_fk"[:63]
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ("store_id", "{column}") '
            f'REFERENCES "{target}" ("store_id", "id") DEFERRABLE INITIALLY DEFERRED NOT VALID'
        )
        schema_editor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')


def same_store_foreign_keys_drop(
    schema_editor: BaseDatabaseSchemaEditor, keys: Iterable[SameStoreKey]
) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, _target in keys:
        name = f"{table}_{column}_same_store_fk"[:63]
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
