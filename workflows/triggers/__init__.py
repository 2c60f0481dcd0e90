"""What starts runs besides people: schedules (Celery beat entries) and webhook triggers, with their models."""
