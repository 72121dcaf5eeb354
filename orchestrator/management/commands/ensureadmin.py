"""`manage.py ensureadmin`: the first-run admin login that `make run` prints once.

If no superuser exists, create one with a random password and print the login: that output is the only
place the password ever appears (only its hash is stored). Once a superuser exists, print nothing.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from orchestrator.dbcheck import require_database


class Command(BaseCommand):
    help = "Create an admin login (printed once) if no superuser exists yet; otherwise do nothing."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="Name for the new superuser (default admin).")

    def handle(self, *args, username, **options):
        require_database()
        User = get_user_model()
        with transaction.atomic():
            if User.objects.filter(is_superuser=True).exists():
                return
            username = _free_username(User, username)
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, password=password, email="")
        self.stdout.write(
            self.style.SUCCESS("Created an admin login (shown only this once; change it in the admin):")
            + f"\n  username: {username}\n  password: {password}\n"
        )


def _free_username(User, wanted: str) -> str:
    """`wanted`, or `wanted2`, `wanted3`… if an ordinary user already has that name."""
    name, n = wanted, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{wanted}{n}"
    return name
