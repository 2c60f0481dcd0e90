"""What a workflow is, as written: its JSON format, validation, references, conditions, graph and retry policy.

Pure logic: nothing here touches the database, Redis or HTTP, so every rule
is tested without servers. Everything else reads definitions through it.
"""
