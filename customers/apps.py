from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from storefront_crm.services import store_setup_step

        from .services import group_defaults_create

        store_setup_step(group_defaults_create)

        from django.db.backends.signals import connection_created

        from .io import jobs as io_jobs  # noqa: F401  (customers.import / customers.export)
        from .search_text import sqlite_functions_register
        from .services import (
            bulk,  # noqa: F401  (registers the "customers.bulk" job)
            merge,  # noqa: F401  (the duplicate search job)
            setup,  # noqa: F401  (group / custom field deletion jobs)
        )

        connection_created.connect(sqlite_functions_register, dispatch_uid="customers_sqlite")
