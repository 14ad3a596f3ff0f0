"""RECORD files (PEP 376), read and written through ``installer.records``, every path confined.

pip writes RECORD rows relative to the folder the ``.dist-info`` lies in.  With
``--target``, pip installs into a scratch "home" whose purelib is
``lib/python`` and then moves purelib and the data scheme into the target, so
a row such as ``../../bin/tool`` or ``../../include/site/python3.12/pkg/x.h``
names a file that landed at ``bin/tool`` or ``include/…`` of the target.
:func:`target_scheme_path` maps pip's rows to paths in the target; anything
that would leave the target is not a path of the package.
"""

from __future__ import annotations

from pip_lambda.tree.paths import confined

RECORD = "RECORD"
_DATA_SCHEME = "../../"
"""How pip's rows for scripts, headers and data files start: two levels up from ``lib/python``."""


def target_scheme_path(row: str) -> str | None:
    """Where a RECORD row pip wrote under ``--target`` lies in the target folder, or None when outside it."""
    text = row.replace("\\", "/")
    if text.startswith(_DATA_SCHEME):
        # Only pip's own form maps to the data scheme: two levels up, then no more climbing.
        rest = text[len(_DATA_SCHEME) :]
        return None if ".." in rest.split("/") else confined(rest)
    return confined(text)
