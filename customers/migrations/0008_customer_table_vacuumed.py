"""``VACUUM (ANALYZE)`` of the customer table after 0007 rewrote it (PostgreSQL only).

A rewritten table has an empty visibility map, so the list's index-only scans (the offset
of a page jump) read the heap again until the next vacuum: page 2,000 of a million
customers took twice as long. ANALYZE fills the search column's statistics. VACUUM cannot
run inside a transaction, hence a migration of its own that is not atomic.
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("VACUUM (ANALYZE) customers_customer")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0007_customer_search_text_column")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=True)]
