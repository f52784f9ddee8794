from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from storefront_crm.services import store_setup_step

        from .services.groups import group_defaults_create

        store_setup_step(group_defaults_create)

        from django.db.backends.signals import connection_created

        from .io import jobs as io_jobs  # noqa: F401  (customers.import / customers.export)
        from .search_text import sqlite_functions_register
        from .services import (
            bulk,  # noqa: F401  (registers the "customers.bulk" job)
            custom_fields,  # noqa: F401  (the custom field deletion job)
            groups,  # noqa: F401  (the group deletion job)
            merge,  # noqa: F401  (the duplicate search job)
        )

        connection_created.connect(sqlite_functions_register, dispatch_uid="customers_sqlite")
