"""Validate a workflow definition file: exit 0 valid, 1 invalid, 2 unreadable."""

import json
import os
import stat

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.definitions.validation import validate_source

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def read_source(path: str) -> bytes:
    """The file's bytes, or CommandError(returncode=2) saying why it can't be read.

    A file over the size limit is still read whole, so that the validator's
    `too_large` issue names its real size; only regular files are read, so a
    FIFO or a device can't block or stream forever.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            kind = "a directory" if os.path.isdir(path) else "not a regular file"
            raise CommandError(f"{path}: {kind}, not a workflow file", returncode=EXIT_UNREADABLE)
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file", returncode=EXIT_UNREADABLE) from None
    except PermissionError:
        raise CommandError(f"{path}: permission denied", returncode=EXIT_UNREADABLE) from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read: {exc.strerror or exc}", returncode=EXIT_UNREADABLE) from None
    if len(raw) <= settings.OAWEB_MAX_DEFINITION_BYTES:  # a larger file is refused as too_large anyway
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                returncode=EXIT_UNREADABLE,
            ) from None
    return raw


def format_issue(issue: dict) -> str:
    """One line: "path: severity code: message (suggestion)"."""
    line = f"{issue['path'] or '(document)'}: {issue['severity']} {issue['code']}: {issue['message']}"
    if issue.get("suggestion"):
        line += f" ({issue['suggestion']})"
    return line


class Command(BaseCommand):
    help = "Validate a workflow definition file. Exit status: 0 valid, 1 invalid, 2 unreadable file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the JSON definition")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the validation result object as JSON"
        )
        parser.add_argument("--strict", action="store_true", help="warnings fail validation too")

    def handle(self, *args, file, as_json=False, strict=False, **options):
        raw = read_source(file)
        result = validate_source(raw, mode="strict" if strict else "normal")
        if as_json:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            for issue in result["issues"]:
                self.stdout.write(format_issue(issue))
            if result["valid"]:
                self.stdout.write(f"{file}: valid")
        if not result["valid"]:
            errors = sum(1 for issue in result["issues"] if issue["severity"] == "error")
            warnings = len(result["issues"]) - errors
            raise CommandError(f"{file}: invalid ({errors} errors, {warnings} warnings)", returncode=EXIT_INVALID)
