"""``pip-lambda`` and ``python -m pip_lambda``: a shim over :mod:`pip_lambda.cli.main`."""

from __future__ import annotations


def entrypoint() -> None:
    from pip_lambda.cli.main import entrypoint as run

    run()


if __name__ == "__main__":
    entrypoint()
