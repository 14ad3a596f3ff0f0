"""Build AWS Lambda deployment packages with pip, correct for the target whatever the host."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
