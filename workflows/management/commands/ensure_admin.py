"""Create the first admin user for a new installation (used by `make run`).

Does nothing when any superuser exists, so it is safe to run every start.
The password is generated and printed once; nothing secret is committed.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from workflows.models import Team


class Command(BaseCommand):
    help = "Create an admin user with a generated password unless a superuser exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("admin user: already exists, unchanged")
            return
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(username, f"{username}@localhost", password)
        Team.default().members.add(user)
        self.stdout.write(self.style.SUCCESS(f"admin user created: {username} / {password}"))
        self.stdout.write("(printed once; change it in the admin under Users)")
