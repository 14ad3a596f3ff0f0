"""Where Lambda puts a package: a function's code in ``/var/task``, a layer's in ``/opt``, and what follows from it."""

from __future__ import annotations

from dataclasses import dataclass

from pip_lambda.plan.target import Target


@dataclass(frozen=True)
class Layout:
    """A function or a layer, as Lambda lays it out; every branch on "is it a layer" reads it from here."""

    kind: str
    """``function`` or ``layer``, as the report and the bill of materials name it."""
    site: str
    """The folder of the package that holds the installed code: the root, or ``python`` in a layer."""
    mount: str
    """Where Lambda unpacks the zip."""
    library_dirs: tuple[str, ...]
    """The package's folders on Lambda's ``LD_LIBRARY_PATH`` (``""`` is its root)."""
    default_target: str
    """The target folder when none is given."""

    @property
    def prefix(self) -> str:
        """The site as a path prefix inside the package: ``""`` or ``python/``."""
        return f"{self.site}/" if self.site else ""

    @property
    def origin(self) -> str:
        """Where the site is on Lambda: ``/var/task`` or ``/opt/python``."""
        return f"{self.mount}/{self.site}" if self.site else self.mount

    def sys_path(self, target: Target) -> tuple[str, ...]:
        """The package's folders on Lambda's ``sys.path``, in Lambda's order (``""`` is its root)."""
        if not self.site:
            return ("",)
        return (self.site_packages(target.runtime.python_version), self.site)

    def site_packages(self, python: str) -> str:
        """A layer's folder for Python ``python`` (``3.12``) distributions, which Lambda reads before ``python/``."""
        return f"{self.site}/lib/python{python}/site-packages"


FUNCTION = Layout("function", "", "/var/task", ("", "lib"), "build/lambda")
LAYER = Layout("layer", "python", "/opt", ("lib",), "build/layer")


def layout_of(layer: bool) -> Layout:
    return LAYER if layer else FUNCTION
