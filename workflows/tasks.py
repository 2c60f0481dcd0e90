"""Where Celery finds the app's tasks: the step task and the tasks beat fires."""

from workflows.execution import tasks  # noqa: F401  (the step task)
from workflows.triggers import schedules  # noqa: F401  (beat: schedules, pruning)
