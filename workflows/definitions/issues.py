"""Issues, as every check reports them, and the wording helpers their messages share.

An issue is an Issue (code, severity, message, path, suggestion); `path` is a
JSON Pointer into the definition. Inside workflows/definitions/ issues are
Issue objects; what the validator's entry points return (and so the API, the
editor and the CLI) holds them as dicts, Issue.as_dict().
"""

import difflib
from dataclasses import dataclass

from workflows.definitions.references import escape_pointer

ERROR = "error"
WARNING = "warning"

MAX_SHOWN = 60  # characters of a value quoted in a message


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found; immutable, so a cached one can be shared."""

    code: str
    severity: str
    message: str
    path: str = ""
    suggestion: str | None = None

    def as_dict(self) -> dict:
        """The issue as JSON-facing callers see it: {"code", "severity", "message", "path", "suggestion"}."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "suggestion": self.suggestion,
        }


def as_dicts(issues) -> list[dict]:
    """Issues as a new list of new dicts (Issue.as_dict)."""
    return [issue.as_dict() for issue in issues]


def make_issue(code: str, message: str, path: str = "", suggestion: str | None = None, severity: str = ERROR) -> Issue:
    return Issue(code, severity, message, path, suggestion)


def pointer(parts) -> str:
    return "".join(f"/{escape_pointer(part)}" for part in parts)


def shown(value) -> str:
    """A value quoted for a message: `plain` text, else repr() (control characters escaped), shortened."""
    if isinstance(value, str) and value.isprintable() and "`" not in value and len(value) <= MAX_SHOWN:
        return f"`{value}`"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def did_you_mean(word, candidates) -> str | None:
    if not isinstance(word, str) or not candidates:
        return None
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"
