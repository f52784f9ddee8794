"""``Customer.edit_version``: the profile edit form's optimistic lock. A plain integer with
a constant default: on PostgreSQL adding it neither rewrites nor scans the customer table
(a CHECK constraint, as a positive integer field has, would scan every row under lock).
The database keeps the default (``db_default``): the importer's raw INSERT and COPY paths
name only the columns they fill."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_customer_list_layout"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="edit_version",
            field=models.IntegerField(default=0, db_default=0, editable=False),
        ),
    ]
