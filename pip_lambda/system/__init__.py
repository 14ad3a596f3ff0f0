"""The machine: signals, locks, redaction of secrets, interpreters."""
