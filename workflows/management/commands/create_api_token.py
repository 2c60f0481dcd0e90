"""`python manage.py create_api_token USERNAME`: issue an API token and print it (once)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from workflows.tokens import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user and print it; only its digest is stored."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")

    def handle(self, *args, username, name, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        _, secret = ApiToken.issue(user, name)
        self.stdout.write(secret)
