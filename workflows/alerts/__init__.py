"""Alerts (issue 20): channels, rules, and deliveries sent off the step path with retries.

models.py (AlertChannel, AlertRule, AlertDelivery), rules.py (what each kind
of rule matches), evaluation.py (the heartbeat hook: finished runs since its
watermark, waiting steps, queues without workers -> deliveries), channels.py
(webhook with its HMAC signature, Slack, e-mail), delivery.py (due deliveries
sent by one thread per process, retried with backoff), actions.py (changes
people make, audited), hooks.py (registration), pages.py. docs/alerts.md.
"""
