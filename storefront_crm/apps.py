from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorefrontCrmConfig(AppConfig):
    name = "storefront_crm"
    verbose_name = _("Stores and staff")
