from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from storefront_crm.services import store_setup_step

        from .services import group_defaults_create

        store_setup_step(group_defaults_create)
