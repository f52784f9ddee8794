"""The README's first command: set up the database, seed the demo store and serve the panel."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, create the demo store (safe to repeat) and run the panel on this machine."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="set everything up, print where to sign in, and stop",
        )

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready: " + str(settings.DATABASES["default"]["NAME"]))
        call_command("seed_demo", stdout=self.stdout)
        address = options["addrport"]
        mail_dir = getattr(settings, "EMAIL_FILE_PATH", None)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOpen http://{address}/login/ and sign in as owner@demo.example with the "
                f"password demo-owner-2026 (manager@demo.example and support@demo.example use the "
                f"same password).\n"
                + (f"Emails the app sends are written to {mail_dir}/.\n" if mail_dir else "")
            )
        )
        if not options["no_serve"]:
            call_command("runserver", address, use_reloader=False)
