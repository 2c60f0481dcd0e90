"""`{% attempt_logs step as logs %}`: the step panel's logs (workflows/web/log_lines.py), read where they are shown."""

from django import template

from workflows.web import log_lines

register = template.Library()


@register.simple_tag
def attempt_logs(step):
    return log_lines.of_step(step)
