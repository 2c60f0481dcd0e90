"""The REST API under /api/v1/ (Django REST Framework, OpenAPI by drf-spectacular).

Views are thin: they check access (the same `visible_to` rules as the pages),
validate input with serializers, and call the model or engine function that
does the work.
"""
