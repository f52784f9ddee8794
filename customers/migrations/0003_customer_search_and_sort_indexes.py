"""Indexes of the customer list on PostgreSQL (no-ops on SQLite).

- Search: ``customer_search_text(first_name, last_name, email)`` is the lower-cased,
  unaccented "first last email" of a customer; a GIN trigram index on
  ``(store_id, customer_search_text(...))`` (``btree_gin`` lets the store lead the index, as
  every index in this project does) serves ``LIKE '%…%'`` searches of any letter case and
  accent. ``unaccent()`` itself is only STABLE, so an IMMUTABLE wrapper pins its dictionary.
- "Last order" sort: customers who never ordered sort as the oldest in both directions;
  the list orders by ``COALESCE(last_order_at, '0001-01-01')`` and this index matches it.
"""

from django.db import migrations

EXTENSIONS = ["pg_trgm", "unaccent", "btree_gin"]

FORWARD = [
    *(f"CREATE EXTENSION IF NOT EXISTS {name}" for name in EXTENSIONS),
    """
    CREATE OR REPLACE FUNCTION storefront_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
    """,
    """
    CREATE OR REPLACE FUNCTION customer_search_text(first_name text, last_name text, email text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT storefront_unaccent(lower(
        coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '')
    )) $$
    """,
    """
    CREATE INDEX IF NOT EXISTS customer_store_search_trgm_idx ON customers_customer
    USING gin (store_id, customer_search_text(first_name, last_name, email) gin_trgm_ops)
    """,
    """
    CREATE INDEX IF NOT EXISTS customer_store_lastorder_key_idx ON customers_customer
    (store_id, COALESCE(last_order_at, '0001-01-01 00:00:00+00'::timestamptz), id)
    """,
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_store_lastorder_key_idx",
    "DROP INDEX IF EXISTS customer_store_search_trgm_idx",
    "DROP FUNCTION IF EXISTS customer_search_text(text, text, text)",
    "DROP FUNCTION IF EXISTS storefront_unaccent(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: customers.apps registers customer_search_text per connection
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
