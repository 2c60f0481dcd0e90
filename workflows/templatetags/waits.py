"""Template tags for waiting steps: an approval's signed link."""

from django import template
from django.urls import reverse

from workflows.execution import waits

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_link(context, step) -> str:
    """The absolute URL of the step's signed approval link (relative when the page has no request)."""
    path = reverse("approval-link", args=[waits.approval_token(step)])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
