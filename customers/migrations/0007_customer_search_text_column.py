"""The customer's search text as a stored generated column (``customers.search_text``).

On PostgreSQL the trigram index moves from the expression ``customer_search_text(…)`` to
the column, and the column keeps a 1,000-value histogram: a ``LIKE '%term%'`` is estimated
from it, so the planner knows whether a term is common (walk the sort index, stop after a
page) or rare (collect the few matches through the trigram index). With the expression
index it always guessed 100 matches, and every row the index returned was rechecked by
calling the function again.

Adding a stored column rewrites the table; 0008 vacuums and analyses it afterwards.
"""

from django.db import migrations, models

import customers.search_text

FORWARD = [
    "DROP INDEX IF EXISTS customer_store_search_trgm_idx",
    """
    CREATE INDEX IF NOT EXISTS customer_store_search_trgm_idx ON customers_customer
    USING gin (store_id, search_text gin_trgm_ops)
    """,
    "ALTER TABLE customers_customer ALTER COLUMN search_text SET STATISTICS 1000",
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_store_search_trgm_idx",
    """
    CREATE INDEX IF NOT EXISTS customer_store_search_trgm_idx ON customers_customer
    USING gin (store_id, customer_search_text(first_name, last_name, email) gin_trgm_ops)
    """,
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
    dependencies = [("customers", "0006_activity_store_checked_through_customer")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=customers.search_text.CustomerSearchText(
                    "first_name", "last_name", "email"
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
