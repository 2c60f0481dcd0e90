"""The in-code component catalog.

`@component(...)` declares a Python function or class as a component. The
built-ins (registry/builtins) and the modules named in
settings.OAWEB_COMPONENT_MODULES are imported at start-up, which runs their
decorators; `sync_components` then writes the catalog to the database, where
it can be browsed, disabled and looked up (registry/lookup.py).
"""

import importlib
import inspect
import pkgutil
import threading
from dataclasses import dataclass, field

from django.conf import settings

from registry.hints import input_schema_from_signature, output_schema_from_signature

KINDS = ("agent", "tool", "transform")
BUILTIN_PACKAGE = "registry.builtins"


class ComponentError(Exception):
    """A component failed in a way its step should report (not a bug in oaweb)."""


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    version: str
    kind: str
    description: str
    input_schema: dict
    output_schema: dict
    entrypoint: str  # "module:qualname", importable on any worker
    queue: str = "default"
    timeout: float | None = None
    retry: dict | None = None
    rate_limit: str = ""
    tags: tuple = ()
    is_class: bool = False
    wants_context: bool = field(default=False, compare=False)


CATALOG: dict[str, ComponentSpec] = {}
# Configured modules that failed to import: reported by a system check
# (registry.E001) instead of crashing every management command.
DISCOVERY_ERRORS: dict[str, str] = {}
_instances: dict[tuple[str, str], object] = {}
_instances_lock = threading.Lock()


def component(
    name: str,
    *,
    version: str = "1.0.0",
    kind: str = "tool",
    description: str | None = None,
    inputs: dict | None = None,
    outputs: dict | None = None,
    queue: str = "default",
    timeout: float | None = None,
    retry: dict | None = None,
    rate_limit: str = "",
    tags: tuple | list = (),
):
    """Declare a component. Schemas not given are derived from type hints.

    A function is called with the step's inputs as keyword arguments (and
    `context`, a StepContext, if it takes one) and returns a dict of outputs.
    A class is instantiated once per worker process and component version,
    then its `__call__` is used the same way.
    """
    if kind not in KINDS:
        raise ValueError(f"component {name!r}: kind must be one of {KINDS}")

    def register(target):
        is_class = inspect.isclass(target)
        call = target.__call__ if is_class else target
        spec = ComponentSpec(
            name=name,
            version=version,
            kind=kind,
            description=description or inspect.cleandoc(target.__doc__ or ""),
            input_schema=inputs if inputs is not None else input_schema_from_signature(call),
            output_schema=outputs if outputs is not None else output_schema_from_signature(call),
            entrypoint=f"{target.__module__}:{target.__qualname__}",
            queue=queue,
            timeout=timeout,
            retry=retry,
            rate_limit=rate_limit,
            tags=tuple(tags),
            is_class=is_class,
            wants_context="context" in inspect.signature(call).parameters,
        )
        existing = CATALOG.get(name)
        if existing and existing.entrypoint != spec.entrypoint:
            raise ValueError(f"component {name!r} is declared twice: {existing.entrypoint} and {spec.entrypoint}")
        CATALOG[name] = spec
        return target

    return register


def discover() -> None:
    """Import the built-ins and the configured modules so their decorators run."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{BUILTIN_PACKAGE}.{module.name}")
    for module_name in settings.OAWEB_COMPONENT_MODULES:
        try:
            importlib.import_module(module_name)
        except Exception as exc:  # a user's module may fail in any way
            DISCOVERY_ERRORS[module_name] = f"{type(exc).__name__}: {exc}"


def load_target(entrypoint: str):
    module_name, _, qualname = entrypoint.partition(":")
    target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def get_callable(name: str, version: str, entrypoint: str, is_class: bool):
    """The callable for one component version, created once per process.

    A class component's instance (an HTTP pool, a loaded model) is built
    lazily on first use and then shared by every step in this process.
    """
    key = (name, version)
    found = _instances.get(key)
    if found is not None:
        return found
    with _instances_lock:
        found = _instances.get(key)
        if found is None:
            target = load_target(entrypoint)
            found = target() if is_class else target
            _instances[key] = found
    return found
