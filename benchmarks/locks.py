"""The lock files the lock-file benchmarks build from, and the local wheelhouse that holds every wheel they name.

Every lock is written for the target (python3.12, x86_64, manylinux_2_34) against the wheelhouse alone
(``--no-index --find-links``), so each of its wheels is a ``file://`` URL into it and every tool installs the
same files: with ``pip-lambda lock`` when this pip-lambda has it, else with ``uv pip compile --format
pylock.toml``. Each lock also gets the same pins as a hashed requirements file (``name==version
--hash=sha256:…``), the form pip's ``--platform`` installs take (pip refuses ``--platform`` with a
pylock.toml) and the form pip-lambda reads until it reads pylock.toml itself.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common import PIP_PLATFORMS, UV_PLATFORM, fresh

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Lock:
    pylock: Path
    hashed: Path
    """The same pins as a requirements file with hashes."""
    pins: tuple[Pin, ...]

    def version(self, name: str) -> str:
        return next(pin.version for pin in self.pins if _normal(pin.name) == _normal(name))


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pip_lambda_reads_pylock() -> bool:
    """Whether this pip-lambda builds from ``-r pylock.toml`` (issue 13 item 1)."""
    return importlib.util.find_spec("pip_lambda.lock") is not None


def pip_lambda_locks() -> bool:
    """Whether this pip-lambda has ``pip-lambda lock`` (issue 13 item 3)."""
    return importlib.util.find_spec("pip_lambda.cli.lock") is not None


class Locker:
    def __init__(self, work: Path, env: dict[str, str], uv: list[str] | None, wheelhouse: Path, offline: bool) -> None:
        self.work = work
        self.env = env
        self.uv = uv
        self.wheelhouse = wheelhouse
        self.offline = offline

    def download(self, requirements: list[str]) -> None:
        """Put the wheels of ``requirements`` for the target into the wheelhouse (pip resolves, from the index)."""
        if self.offline:
            return
        command = [sys.executable, "-m", "pip", "download", "-q", "-d", str(self.wheelhouse), "--only-binary=:all:"]
        command += [*PIP_PLATFORMS, "--implementation", "cp", "--python-version", "3.12", *requirements]
        subprocess.run(command, env=self.env, check=True)

    def lock(self, name: str, requirements: list[str], constraints: Sequence[str] = ()) -> Lock:
        folder = fresh(self.work / "locks" / name)
        inputs = folder / "requirements.in"
        inputs.write_text("\n".join(requirements) + "\n")
        pinned = folder / "constraints.txt"
        pinned.write_text("\n".join(constraints) + "\n")
        pylock = folder / "pylock.toml"
        local = ["--no-index", "--find-links", str(self.wheelhouse)]
        if pip_lambda_locks():
            command = [sys.executable, "-m", "pip_lambda", "lock", "--runtime", "python3.12", "--arch", "x86_64"]
            command += ["-r", str(inputs), "-c", str(pinned), *local, "-o", str(pylock), "-q"]
        elif self.uv is not None:
            command = [*self.uv, "pip", "compile", "-q", str(inputs), "-c", str(pinned), "--format", "pylock.toml"]
            command += ["-o", str(pylock), "--python-platform", UV_PLATFORM, "--python-version", "3.12"]
            command += ["--only-binary", ":all:", *local]
        else:
            raise SystemExit("writing a pylock.toml needs `pip-lambda lock` or uv; neither is here")
        written = subprocess.run(command, env=self.env, cwd=folder, capture_output=True, text=True)
        if written.returncode != 0:
            raise SystemExit(f"writing {pylock} failed: {' '.join(command)}\n{written.stdout}{written.stderr}")
        pins = read_pins(pylock)
        hashed = folder / "requirements.txt"
        hashed.write_text("".join(f"{pin.name}=={pin.version} --hash=sha256:{pin.sha256}\n" for pin in pins))
        return Lock(pylock, hashed, pins)

    def moved(self, name: str, requirements: list[str], package: str, old: str) -> tuple[Lock, Lock]:
        """Two locks of ``requirements`` that differ in ``package`` only: at ``old``, and where a fresh lock puts it."""
        self.download(requirements)
        self.download([*requirements, f"{package}=={old}"])
        latest = self.lock(f"{name}-latest", requirements)
        others = [f"{pin.name}=={pin.version}" for pin in latest.pins if _normal(pin.name) != _normal(package)]
        base = self.lock(f"{name}-base", [*requirements, f"{package}=={old}"], others)
        return base, latest


def read_pins(pylock: Path) -> tuple[Pin, ...]:
    """Each package of a pylock.toml with the sha256 of its one wheel (a lock for one target has one)."""
    document = tomllib.loads(pylock.read_text())
    pins = []
    for package in document["packages"]:
        wheels = package.get("wheels", [])
        if len(wheels) != 1:
            raise SystemExit(f"{pylock}: {package['name']} has {len(wheels)} wheels for the target, not one")
        pins.append(Pin(package["name"], package["version"], wheels[0]["hashes"]["sha256"]))
    return tuple(sorted(pins, key=lambda pin: _normal(pin.name)))
