from django.core.management.base import CommandParser

from orders.services import customer_stats_recompute_store
from storefront_crm.management.base import StoreCommand
from storefront_crm.models import Store
from storefront_crm.tenancy import store_scope


class Command(StoreCommand):
    help = (
        "Rebuild every customer's orders count, total spent and first/last order time "
        "from the orders (one store with --store, all stores with --all)."
    )
    store_required = False

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--all", action="store_true", help="every store")

    def handle(self, *args, **options) -> None:
        if options["store"] is None and not options["all"]:
            self.print_help("manage.py", "recompute_customer_stats")
            raise SystemExit(2)
        stores = [options["store"]] if options["store"] else list(Store.objects.order_by("pk"))
        for store in stores:
            with store_scope(store):
                updated = customer_stats_recompute_store(store=store)
            self.stdout.write(f"{store.slug}: recomputed {updated} customers")
