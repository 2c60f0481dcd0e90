"""Re-encrypt every credential (and alert channel's signing secret) under the first OAWEB_SECRETS_KEY.

    OAWEB_SECRETS_KEY=NEW,OLD python manage.py rotate_secrets_key
    OAWEB_SECRETS_KEY=NEW ...   # then the old key can go

Each row is rewritten in its own transaction (values read with any key,
written with the first), so a run that stops half way can simply be run
again. `--new-key` prints a fresh key to put first. Exit 1 when some value
could not be decrypted with any key (named, never shown).
"""

from django.core.management.base import BaseCommand, CommandError

from workflows.alerts.models import AlertChannel
from workflows.credentials import crypto
from workflows.credentials.models import Credential


class Command(BaseCommand):
    help = "Re-encrypt every credential under the first key of OAWEB_SECRETS_KEY (docs/credentials.md)."

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="only print a new Fernet key, change nothing")

    def handle(self, *args, **options):
        if options["new_key"]:
            self.stdout.write(crypto.new_key())
            return
        if not crypto.can_encrypt():
            raise CommandError(str(crypto.KeyMissing()))
        done, failed = 0, []
        for model, field in ((Credential, "ciphertext"), (AlertChannel, "secret_ciphertext")):
            for pk, label, token in model.objects.exclude(**{field: ""}).values_list("pk", "name", field):
                try:
                    model.objects.filter(pk=pk, **{field: token}).update(**{field: crypto.reencrypt(token)})
                    done += 1
                except crypto.Undecryptable:
                    failed.append(f"{model._meta.verbose_name} {label!r} (id {pk})")
        self.stdout.write(f"re-encrypted {done} value(s) under the first key")
        if failed:
            raise CommandError("none of the keys decrypts: " + ", ".join(failed))
