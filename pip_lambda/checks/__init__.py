"""Verification: wheel tags, binaries, paths, the import smoke test, and the findings they produce."""
