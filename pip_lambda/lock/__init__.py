"""Lock files: pylock.toml read and selected for the Lambda target, uv.lock and poetry.lock converted, ``pip-lambda lock``."""
