"""Phone numbers in the list's search (PostgreSQL; SQLite registers the function per
connection in ``customers.apps``).

``customer_phone_digits(phone)`` is the phone's digits without a "(0)" and without leading
zeros (``customers.search_text.phone_digits`` in Python). A partial GIN trigram index on
``(store_id, customer_phone_digits(phone))`` over customers with a phone answers
``LIKE '%digits%'``, and can be OR-ed with the name and email index in one bitmap scan.
ANALYZE gathers the expression's statistics, so the planner can tell a rare number from a
common fragment. An index and no stored column: nothing rewrites the table.
"""

from django.db import migrations

FORWARD = [
    r"""
    CREATE OR REPLACE FUNCTION customer_phone_digits(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ltrim(
        regexp_replace(replace(coalesce(phone, ''), '(0)', ''), '[^0-9]', '', 'g'), '0'
    ) $$
    """,
    """
    CREATE INDEX IF NOT EXISTS customer_store_phone_trgm_idx ON customers_customer
    USING gin (store_id, customer_phone_digits(phone) gin_trgm_ops) WHERE phone <> ''
    """,
    "ANALYZE customers_customer",
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_store_phone_trgm_idx",
    "DROP FUNCTION IF EXISTS customer_phone_digits(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_customer_table_vacuumed")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
