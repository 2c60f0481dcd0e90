"""The example workflows shipped in examples/ (load_examples imports the same files), as editor starting points."""

from pathlib import Path

from django.conf import settings


def directory() -> Path:
    return Path(settings.BASE_DIR) / "examples"


def names() -> list[str]:
    return sorted(path.stem for path in directory().glob("*.json"))


def source(name: str) -> str | None:
    """The example's text, or None. Only listed names are read: no path comes from the request."""
    if name not in names():
        return None
    return (directory() / f"{name}.json").read_text(encoding="utf-8")
