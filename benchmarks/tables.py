"""The Markdown of benchmarks/results.md."""

from __future__ import annotations

from common import Measure, ratio


def header(meta: dict) -> list[str]:
    return [
        "# Benchmark results",
        "",
        f"Measured {meta['date']} with `{meta['command']}` on {meta['machine']}.",
        f"pip-lambda {meta['pip_lambda']}, pip {meta['pip']}, {meta['uv']}, Python {meta['python']}; target python3.12 x86_64.",
        "Times are medians of the runs, in seconds; peak memory is the largest resident set of a build's process tree.",
        "",
    ]


def copied(ours: Measure) -> str:
    """How much of pip-lambda's zip was copied from the wheels, e.g. ' (98% of the bytes copied)'."""
    if ours.copied is None or not ours.zip_bytes:
        return ""
    files, total, copied_bytes = ours.copied
    return f" ({files:,} of {total:,} files, {copied_bytes / ours.zip_bytes:.0%} of the bytes copied from wheels)"


def requirements_tables(results: dict, meta: dict) -> list[str]:
    lines = [
        "`manual` is `pip install --target … --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all: -r … && zip -r -q`.",
        "",
    ]
    for source, workloads in results.items():
        what = {
            "network": "packages from the network (this network strips caching headers, so pip downloads every wheel again on every run)",
            "wheelhouse": "packages from a local `--find-links` wheelhouse, standing in for a warm download cache",
        }[source]
        lines += [f"## {source}: {what}", ""]
        lines += [
            "| workload | case | manual | pip-lambda | pip-lambda / manual | uv | zip MB manual / pip-lambda | pip-lambda peak MB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for workload, cases in workloads.items():
            for kind in ("cold", "warm", "no-op"):
                manual, ours, uv = (cases.get(f"{tool} {kind}") for tool in ("manual", "pip-lambda", "uv"))
                if manual is None or ours is None:
                    continue
                uv_text = f"{uv.median:.2f}" if uv else "-"
                lines.append(
                    f"| {workload} | {kind} | {manual.median:.2f} | {ours.median:.3f} | {ratio(ours.median, manual.median)} "
                    f"({ratio(manual.median, ours.median)}x faster) | {uv_text} | "
                    f"{manual.zip_bytes / 1e6:.1f} / {ours.zip_bytes / 1e6:.1f} | {ours.peak:.0f} |"
                )
            zipping = cases.get("zip")
            if zipping:
                theirs, ours = zipping["zip -r -q"], zipping["pip-lambda"]
                grow = (ours.zip_bytes / theirs.zip_bytes - 1) * 100
                lines.append(
                    f"| {workload} | zip step{copied(ours)} | {theirs.median:.2f} (`zip -r -q`) | {ours.median:.2f} | "
                    f"{ratio(ours.median, theirs.median)} ({ratio(theirs.median, ours.median)}x faster) | - | "
                    f"{theirs.zip_bytes / 1e6:.1f} / {ours.zip_bytes / 1e6:.1f} ({grow:+.1f}%) | {ours.peak:.0f} |"
                )
        lines.append("")
    if meta.get("levels"):
        lines += ["## Compression level (pip-lambda's writer on the data tree, all cores)", ""]
        lines += ["| level | seconds | zip bytes |", "|---|---|---|"]
        lines += [f"| {level} | {seconds:.2f} | {size:,} |" for level, seconds, size in meta["levels"]]
        lines.append("")
    return lines


def lock_tables(results: dict[str, dict[str, Measure]], meta: dict) -> list[str]:
    lines = [
        "## From a lock file: pylock.toml, every wheel in a local wheelhouse, warm",
        "",
        meta["lock_how"],
        "",
        "| workload | case | manual | uv | pip-lambda | uv / pip-lambda | zip MB manual / uv / pip-lambda | pip-lambda peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {"warm": "warm full build", "no-op": "no-op", "change": "one-package change"}
    for workload, cases in results.items():
        for kind, label in names.items():
            manual, uv, ours = (cases.get(f"{tool} {kind}") for tool in ("manual", "uv", "pip-lambda"))
            if ours is None:
                continue
            if kind == "change":
                label += f" ({meta['moved'][workload]})"
            cells = [f"{m.median:.2f}" if m else "-" for m in (manual, uv)]
            sizes = " / ".join(f"{m.zip_bytes / 1e6:.1f}" if m else "-" for m in (manual, uv, ours))
            lines.append(
                f"| {workload} | {label} | {cells[0]} | {cells[1]} | {ours.median:.2f} | "
                f"{ratio(uv.median, ours.median) if uv else '-'} | {sizes} | {ours.peak:.0f} |"
            )
        theirs, ours = cases.get("zip zip -r -q"), cases.get("zip pip-lambda")
        if theirs and ours:
            grow = (ours.zip_bytes / theirs.zip_bytes - 1) * 100
            lines.append(
                f"| {workload} | zip step{copied(ours)} | {theirs.median:.2f} (`zip -r -q`) | - | {ours.median:.2f} | "
                f"{ratio(theirs.median, ours.median)}x faster than `zip -r -q` | "
                f"{theirs.zip_bytes / 1e6:.1f} / - / {ours.zip_bytes / 1e6:.1f} ({grow:+.1f}%) | - |"
            )
    lines.append("")
    return lines


def monorepo_tables(results: dict[str, Measure], meta: dict) -> list[str]:
    lines = [
        f"## Monorepo: {meta['functions']} functions from pylock.toml (api + one extra package each), one after the other",
        "",
        f"First builds with empty tool caches, then every function again after one pin moved ({meta['moved']['api']}).",
        "",
        f"| tool | first builds ({meta['functions']}) | one-pin bump ({meta['functions']}) | total | uv total / tool total |",
        "|---|---|---|---|---|",
    ]
    totals = {
        tool: results[f"{tool} first"].median + results[f"{tool} bump"].median
        for tool in ("uv", "pip-lambda")
        if f"{tool} first" in results
    }
    for tool, total in totals.items():
        first, bump = results[f"{tool} first"], results[f"{tool} bump"]
        versus = ratio(totals["uv"], total) if "uv" in totals and tool != "uv" else "-"
        lines.append(f"| {tool} | {first.median:.1f} | {bump.median:.1f} | {total:.1f} | {versus} |")
    lines.append("")
    return lines
