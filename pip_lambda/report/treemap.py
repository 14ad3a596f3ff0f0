"""``--size-report FILE.html``: one self-contained page showing what takes the space.

A treemap of the distributions and their largest folders, coloured by the
top-level requirement that pulled them in, with sizes on hover and the chain
on click; under it, the same data as tables, readable without JavaScript.
Everything is inline (style, script, and the data as embedded JSON): the page
loads nothing from anywhere.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.errors import EnvironmentProblem
from pip_lambda.report.size import CODE, SizeAnalysis, chain_text, share_text
from pip_lambda.report.text import human

PAGE_START = "<!DOCTYPE html>\n<!-- pip-lambda size report -->\n"
"""How every page begins: how a later build knows a page it may replace."""
DATA_ID = "pip-lambda-size-data"
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
"""One colour per top-level requirement (Tableau 10, without its grey)."""
CODE_COLOUR = "#a0a0a0"
FILES_SHOWN = 10


def colours(analysis: SizeAnalysis) -> dict[str, str]:
    """Each part's colour: that of the top-level requirement whose chain reaches it, largest tops first."""
    totals: dict[str, int] = {}
    for part in analysis.parts:
        if part.top_level is not None:
            totals[part.top_level] = totals.get(part.top_level, 0) + part.unzipped
    tops = sorted(totals, key=lambda top: (-totals[top], top))
    by_top = {top: PALETTE[index % len(PALETTE)] for index, top in enumerate(tops)}
    return {part.name: by_top.get(part.top_level or "", CODE_COLOUR) for part in analysis.parts}


def render(packages: Sequence[tuple[str, SizeAnalysis]]) -> str:
    """The page for one or more packages (``pip-lambda build`` of several targets), each with a title."""
    data = [
        {"title": title, "analysis": analysis.to_json(), "colours": colours(analysis)} for title, analysis in packages
    ]
    sections = "\n".join(_section(index, title, analysis) for index, (title, analysis) in enumerate(packages))
    titles = ", ".join(title for title, _ in packages)
    return (
        f'{PAGE_START}<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>What takes the space: {html.escape(titles)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>What takes the space</h1>\n{sections}\n"
        f'<script type="application/json" id="{DATA_ID}">{_embedded(data)}</script>\n'
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _embedded(value: object) -> str:
    """JSON that cannot end its script element or open a comment: <, > and & as escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _section(index: int, title: str, analysis: SizeAnalysis) -> str:
    zipped = "" if analysis.zip_size is None else f", {human(analysis.zip_size)} zipped"
    count = sum(1 for part in analysis.parts if not part.is_code)
    painted = colours(analysis)
    rows = "".join(
        f'<tr><td><span class="swatch" style="background:{painted[part.name]}"></span>{html.escape(part.name)}</td>'
        f'<td>{html.escape(part.version or "")}</td><td class="n">{human(part.unzipped)}</td>'
        f'<td class="n">{"" if part.zipped is None else human(part.zipped)}</td>'
        f'<td class="n">{html.escape(share_text(analysis, part))}</td><td>{html.escape(chain_text(part))}</td></tr>\n'
        for part in analysis.parts
    )
    files = "".join(
        f'<tr><td class="path">{html.escape(item.path)}</td><td class="n">{human(item.size)}</td>'
        f'<td class="n">{"" if item.zipped is None else human(item.zipped)}</td><td>{html.escape(item.owner)}</td></tr>\n'
        for item in analysis.largest_files[:FILES_SHOWN]
    )
    notes = [html.escape(note) for note in analysis.notes]
    tops = {part.top_level or CODE: painted[part.name] for part in analysis.parts if part.top_level or part.is_code}
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>{html.escape(top)}</span> '
        for top, colour in tops.items()
    )
    return (
        f'<section class="package" id="package-{index}">\n<h2>{html.escape(title)}</h2>\n'
        f'<p class="totals">{human(analysis.unzipped)} unzipped{zipped}; {count} distribution'
        f"{'' if count == 1 else 's'}</p>\n"
        f'<div class="map" data-package="{index}" role="group" aria-label="treemap of {html.escape(title)}">'
        "<noscript>The map needs JavaScript; the tables below hold the same numbers.</noscript></div>\n"
        '<p class="info" aria-live="polite">Point at a rectangle for its size; click it to see why it is here.</p>\n'
        f'<p class="legend">Coloured by the top-level requirement that pulled each in: {legend}</p>\n'
        "<table><caption>Distributions, largest first</caption>\n<thead><tr><th>distribution</th><th>version</th>"
        "<th>unpacked</th><th>zipped</th><th>share</th><th>pulled in by</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody></table>\n"
        "<table><caption>Largest files</caption>\n<thead><tr><th>file</th><th>unpacked</th><th>zipped</th>"
        f"<th>part</th></tr></thead>\n<tbody>\n{files}</tbody></table>\n"
        f"{_notes(notes)}\n</section>"
    )


def _notes(notes: Sequence[str]) -> str:
    return '<ul class="notes">' + "".join(f"<li>{note}</li>" for note in notes) + "</ul>" if notes else ""


def write_page(text: str, path: Path) -> None:
    """Write the page atomically, so a browser never shows half of it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, "utf-8")
        temporary.replace(path)
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write the size report {path}: {error.strerror}", hint="give a writable path for the page"
        ) from None


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
.map { position: relative; width: 100%; aspect-ratio: 5 / 3; max-height: 75vh; background: #eee; }
.part, .folder { position: absolute; box-sizing: border-box; overflow: hidden; border: 1px solid #fff; cursor: pointer; }
.part > .label { display: block; padding: 2px 4px; font-weight: 600; white-space: nowrap; color: #111; }
.folder { background: rgba(255, 255, 255, 0.28); font-size: 11px; padding: 1px 3px; white-space: nowrap; }
.part:focus, .folder:focus, .part.chosen { outline: 3px solid #111; z-index: 1; }
.info { min-height: 1.4em; font-weight: 600; }
table { border-collapse: collapse; margin: 1em 0; } caption { text-align: left; font-weight: 600; }
th, td { padding: 2px 10px 2px 0; text-align: left; } .n { text-align: right; } .path { font-family: monospace; }
.key { margin-right: 1em; white-space: nowrap; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; vertical-align: -0.05em; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var CODE = __CODE__;
  var packages = JSON.parse(document.getElementById(__DATA_ID__).textContent);
  function human(size) {
    if (size < 1024) return size + " B";
    if (size < 1048576) return (size / 1024).toFixed(1) + " KiB";
    if (size < 1073741824) return (size / 1048576).toFixed(1) + " MiB";
    return (size / 1073741824).toFixed(2) + " GiB";
  }
  function total(items) { var sum = 0; items.forEach(function (item) { sum += item.value; }); return sum; }
  function worst(row, side, scale) {
    var area = total(row) * scale, big = row[0].value * scale, small = row[row.length - 1].value * scale;
    return Math.max(side * side * big / (area * area), area * area / (side * side * small));
  }
  // Squarified treemap (Bruls, Huizing, van Wijk): rows along the shorter side, each kept as square as it can be.
  function squarify(items, x, y, w, h) {
    var placed = [], rest = items.filter(function (item) { return item.value > 0; });
    if (!rest.length) return placed;
    var scale = w * h / total(rest);
    while (rest.length) {
      var side = Math.min(w, h), row = [rest[0]], score = worst(row, side, scale);
      while (row.length < rest.length) {
        var next = row.concat([rest[row.length]]), nextScore = worst(next, side, scale);
        if (nextScore > score) break;
        row = next; score = nextScore;
      }
      var thickness = total(row) * scale / side, along = 0;
      row.forEach(function (item) {
        var length = item.value * scale / thickness;
        placed.push(w >= h ? {item: item, x: x, y: y + along, w: thickness, h: length}
                           : {item: item, x: x + along, y: y, w: length, h: thickness});
        along += length;
      });
      if (w >= h) { x += thickness; w -= thickness; } else { y += thickness; h -= thickness; }
      rest = rest.slice(row.length);
    }
    return placed;
  }
  function percent(value, whole) { return (100 * value / whole).toFixed(4) + "%"; }
  function box(element, cell, width, height) {
    element.style.left = percent(cell.x, width); element.style.top = percent(cell.y, height);
    element.style.width = percent(cell.w, width); element.style.height = percent(cell.h, height);
  }
  function why(part, chains) {
    if (part.version === null) return "your code (files no distribution's RECORD lists)";
    if (part.chain === null) return "the chain that pulled it in is not known";
    var text = part.chain.length === 1
      ? (part.requested ? "a top-level requirement" : "top level: nothing else installed requires it")
      : "pulled in by " + part.chain.slice(0, -1).reverse().join(" \\u2190 ");
    if (part.other_chains) text += " (and " + part.other_chains + " other chain" + (part.other_chains > 1 ? "s" : "") + ")";
    return text;
  }
  function sizes(part, analysis) {
    var text = human(part.unpacked_size) + " unzipped";
    if (part.zipped_size !== null) text += ", " + human(part.zipped_size) + " in the zip";
    return text + " (" + (100 * part.share).toFixed(1) + "% of the " + (analysis.zip_size === null ? "package" : "zip") + ")";
  }
  function choose(info, element, text) {
    document.querySelectorAll(".part.chosen").forEach(function (other) { other.classList.remove("chosen"); });
    element.classList.add("chosen");
    info.textContent = text;
  }
  function clickable(element, info, text) {
    element.tabIndex = 0;
    element.setAttribute("role", "button");
    element.addEventListener("click", function (event) { event.stopPropagation(); choose(info, element, text); });
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(info, element, text); }
    });
  }
  var WIDTH = 1000, HEIGHT = 600, LABEL = 22;
  packages.forEach(function (entry, index) {
    var analysis = entry.analysis;
    var map = document.querySelector('.map[data-package="' + index + '"]');
    var info = map.nextElementSibling;
    var items = analysis.parts.map(function (part) { return {part: part, value: part.unpacked_size}; });
    squarify(items, 0, 0, WIDTH, HEIGHT).forEach(function (cell) {
      var part = cell.item.part, name = part.name + (part.version ? " " + part.version : "");
      var tile = document.createElement("div");
      tile.className = "part";
      tile.dataset.name = part.name;
      tile.style.background = entry.colours[part.name];
      box(tile, cell, WIDTH, HEIGHT);
      tile.title = name + ": " + sizes(part, analysis);
      var label = document.createElement("span");
      label.className = "label";
      label.textContent = part.name === CODE ? part.name : name;
      tile.appendChild(label);
      clickable(tile, info, name + ": " + sizes(part, analysis) + "; " + why(part, analysis.chains) + ".");
      var rest = part.unpacked_size;
      var folders = part.folders.map(function (folder) { rest -= folder.size; return {folder: folder, value: folder.size}; });
      if (rest > 0) folders.push({folder: {path: "(other files)", size: rest}, value: rest});
      var inner = Math.max(cell.h - LABEL, 0);
      if (folders.length > 1 && inner > 12 && cell.w > 24) {
        squarify(folders, 0, 0, cell.w, inner).forEach(function (sub) {
          var folder = document.createElement("div"), path = sub.item.folder.path || "(files at the top)";
          folder.className = "folder";
          folder.dataset.path = path;
          box(folder, {x: sub.x, y: sub.y + LABEL, w: sub.w, h: sub.h}, cell.w, cell.h);
          folder.textContent = path;
          folder.title = path + ": " + human(sub.item.folder.size) + " unzipped (" + name + ")";
          clickable(folder, info, path + " in " + name + ": " + human(sub.item.folder.size) + " unzipped; " + why(part, analysis.chains) + ".");
          tile.appendChild(folder);
        });
      }
      map.appendChild(tile);
    });
  });
})();
""".replace("__CODE__", json.dumps(CODE)).replace("__DATA_ID__", json.dumps(DATA_ID))
