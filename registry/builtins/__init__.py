"""Built-in components: every module in this package is imported at start-up."""
