"""The deterministic zip."""
