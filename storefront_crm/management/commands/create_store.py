import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storefront_crm.errors import ServiceError
from storefront_crm.management.base import is_terminal
from storefront_crm.models import User
from storefront_crm.services import store_create


class Command(BaseCommand):
    help = "Create a store with its default customer groups and its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short name used in URLs, e.g. my-shop")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", required=True, metavar="EMAIL")
        parser.add_argument("--password", help="owner's password (prompted on a terminal)")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--language", default="en", choices=["en", "de", "it"])
        parser.add_argument("--time-zone", default="Europe/Berlin")

    def handle(self, *args, **options) -> None:
        password = options["password"]
        owner_exists = User.objects.filter(username=User.login_name(options["owner"], None))
        if password is None and not owner_exists.exists():
            if not is_terminal():
                raise CommandError("--password is required when not on a terminal.")
            password = getpass.getpass("Owner's password: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("The passwords differ.")
        try:
            store = store_create(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner"],
                password=password,
                currency=options["currency"],
                language=options["language"],
                time_zone=options["time_zone"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created store “{store.name}” ({store.slug}) owned by {options['owner']}: "
                f"/store/{store.slug}/"
            )
        )
