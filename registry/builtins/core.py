"""core.*: components for wiring and for showing how the engine behaves."""

from registry.catalog import ComponentError, component
from registry.context import StepContext


@component(
    "core.noop",
    kind="transform",
    inputs={"type": "object"},
    outputs={"type": "object"},
)
def noop(**inputs) -> dict:
    """Return the inputs unchanged."""
    return inputs
