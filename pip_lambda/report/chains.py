"""Why each distribution is in a package: the chains of requirements that pulled it in.

``Requires-Dist`` is evaluated for the target (markers with the target's
environment, extras followed as they are requested), starting at the build's
top-level requirements; what those do not reach starts a chain of its own when
nothing else unreached requires it, so for a lock, whose entries are flat, the
chains start at the distributions nothing else requires.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

Node = tuple[str, Sequence[str], Sequence[str]]
"""A distribution: its name, its ``Requires-Dist`` lines and its ``Provides-Extra`` names."""


def dependency_chains(
    installed: Mapping[str, Node],
    requested: Sequence[tuple[str, frozenset[str]]],
    environment: Mapping[str, str],
) -> tuple[dict[str, tuple[str, ...]], dict[str, int]]:
    """For each installed distribution (by key): the shortest chain of names from a root, and how many chains reach it.

    The roots are the requested distributions that are installed; what they do
    not reach becomes a root when nothing else unreached requires it (so for a
    flat lock, the roots are the distributions nothing else requires).
    """
    requires = {key: _parsed(lines) for key, (_, lines, _) in installed.items()}
    starts: dict[str, set[str]] = {}
    for name, extras in requested:
        if name in installed:
            starts.setdefault(name, set()).update(canonicalize_name(extra) for extra in extras)
    order = list(starts)
    while True:
        edges = _edges(requires, starts, environment)
        unreached = set(installed) - _reached(order, edges)
        if not unreached:
            break
        generous = {
            dep
            for key in unreached
            for dep in _applying(requires[key], environment, installed[key][2])
            if dep in unreached and dep != key
        }
        for key in sorted(unreached - generous) or [min(unreached)]:
            starts[key] = set()
            order.append(key)
    names = {key: name for key, (name, _, _) in installed.items()}
    return _shortest(order, edges, names), _count_chains(order, edges)


def _parsed(lines: Iterable[str]) -> list[Requirement]:
    parsed = []
    for line in lines:
        try:
            parsed.append(Requirement(line))
        except InvalidRequirement:
            continue  # pip would have refused to install it: no edge to follow
    return parsed


def _applies(marker: Marker | None, environment: Mapping[str, str], extras: Iterable[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))


def _applying(requirements: Iterable[Requirement], environment: Mapping[str, str], extras: Iterable[str]) -> set[str]:
    wanted = tuple(extras)
    return {canonicalize_name(r.name) for r in requirements if _applies(r.marker, environment, wanted)}


def _edges(
    requires: Mapping[str, list[Requirement]], starts: Mapping[str, set[str]], environment: Mapping[str, str]
) -> dict[str, set[str]]:
    """Who requires whom among the installed distributions, from ``starts``, extras followed as requested."""
    extras = {key: set(wanted) for key, wanted in starts.items()}
    done: dict[str, frozenset[str]] = {}
    edges: dict[str, set[str]] = {}
    queue = deque(starts)
    while queue:
        key = queue.popleft()
        active = frozenset(extras[key])
        if done.get(key) == active:
            continue
        done[key] = active
        for requirement in requires[key]:
            dep = canonicalize_name(requirement.name)
            if dep == key or dep not in requires or not _applies(requirement.marker, environment, active):
                continue
            edges.setdefault(key, set()).add(dep)
            wanted = extras.setdefault(dep, set())
            asked = {canonicalize_name(extra) for extra in requirement.extras}
            if dep not in done or not asked <= wanted:
                wanted |= asked
                queue.append(dep)
    return edges


def _reached(roots: Sequence[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(roots)
    todo = list(roots)
    while todo:
        for dep in edges.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def _shortest(
    roots: Sequence[str], edges: Mapping[str, set[str]], names: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Breadth first from the roots in order, neighbours by name: the same chains on every run."""
    chains: dict[str, tuple[str, ...]] = {root: (names[root],) for root in roots}
    queue = deque(roots)
    while queue:
        key = queue.popleft()
        for dep in sorted(edges.get(key, ())):
            if dep not in chains:
                chains[dep] = (*chains[key], names[dep])
                queue.append(dep)
    return chains


def _count_chains(roots: Sequence[str], edges: Mapping[str, set[str]]) -> dict[str, int]:
    """How many chains reach each distribution: paths from the roots, a cycle's closing edge left out."""
    state: dict[str, bool] = {}  # False while on the path, True when finished
    closing: set[tuple[str, str]] = set()
    finished: list[str] = []
    for root in roots:
        if root in state:
            continue
        state[root] = False
        stack = [(root, iter(sorted(edges.get(root, ()))))]
        while stack:
            key, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[key] = True
                finished.append(key)
                stack.pop()
            elif child not in state:
                state[child] = False
                stack.append((child, iter(sorted(edges.get(child, ())))))
            elif not state[child]:
                closing.add((key, child))
    counts = dict.fromkeys(finished, 0)
    for root in roots:
        counts[root] = 1
    for key in reversed(finished):  # parents before children once the closing edges are gone
        for dep in edges.get(key, ()):
            if (key, dep) not in closing:
                counts[dep] += counts[key]
    return counts
