"""--size-report FILE.html: one self-contained page, checked as HTML here and rendered by a real browser where one is."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.size import CODE, AnalysedDistribution, PackageFile, SizeAnalysis, analyse
from pip_lambda.report.treemap import DATA_ID, PAGE_START, render

from conftest import make_wheel

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed"}
ENVIRONMENT = Target(get_runtime("python3.12"), Arch.X86_64).marker_environment


class Page(HTMLParser):
    """Checks nesting as it parses; collects the embedded data, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: dict[str, str] = {}
        self.doctype = ""
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "script" and self.tags and self.tags[-1][1].get("id"):
            self.data[self.tags[-1][1]["id"] or ""] = data
        self.text.append(data)


def parsed(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert not parser.open, f"unclosed: {parser.open}"
    return parser


def sample(hostile: str = "") -> SizeAnalysis:
    files = [
        PackageFile("big/core/a.so", 600_000, 200_000),
        PackageFile("big/__init__.py", 50_000, 10_000),
        PackageFile("dep/__init__.py", 300_000, 100_000),
        PackageFile("other/__init__.py", 120_000, 40_000),
        PackageFile(f"app{hostile}.py", 30_000, 9_000),
    ]
    installed = [
        AnalysedDistribution("big", "1.0", ("big/core/a.so", "big/__init__.py"), ("dep",)),
        AnalysedDistribution("dep", "2.0", ("dep/__init__.py",), ()),
        AnalysedDistribution("other", "3.0", ("other/__init__.py",), ()),
    ]
    return analyse(
        files,
        installed,
        requested=[("big", frozenset()), ("other", frozenset())],
        environment=ENVIRONMENT,
        zip_size=400_000,
    )


def test_the_page_is_valid_self_contained_html_whose_data_is_the_analysis():
    analysis = sample()
    page = render([("build/lambda.zip", analysis), ("layer", analysis)])
    parser = parsed(page)
    assert page.startswith(PAGE_START) and parser.doctype.lower() == "doctype html"
    assert [tag for tag, _ in parser.tags][:1] == ["html"] and parser.tags[0][1]["lang"] == "en"
    assert ("meta", {"charset": "utf-8"}) in parser.tags
    # Nothing is loaded from anywhere: no URL, no linked resource, no external script or style.
    assert "://" not in page and "url(" not in page and "@import" not in page
    assert not [attrs for tag, attrs in parser.tags if {"src", "href"} & set(attrs)]
    assert not [tag for tag, _ in parser.tags if tag in ("link", "iframe", "img", "object")]
    embedded = json.loads(parser.data[DATA_ID])
    assert [entry["title"] for entry in embedded] == ["build/lambda.zip", "layer"]
    assert embedded[0]["analysis"] == json.loads(json.dumps(analysis.to_json()))
    assert embedded[0]["colours"]["dep"] == embedded[0]["colours"]["big"] != embedded[0]["colours"]["other"]


def test_without_javascript_the_tables_say_it_all():
    text = " ".join(parsed(render([("fn", sample())])).text)
    for needed in ("big", "1.0", "dep", "← big", "requested", CODE, "your code", "big/core/a.so", "% of the zip"):
        assert needed in text


def test_a_hostile_file_name_stays_data():
    hostile = "</script><script>alert(1)</script><!--"
    page = render([("fn", sample(hostile))])
    parser = parsed(page)
    assert "<script>alert" not in page
    assert [tag for tag, _ in parser.tags].count("script") == 2
    paths = [item["path"] for item in json.loads(parser.data[DATA_ID])[0]["analysis"]["largest_files"]]
    assert f"app{hostile}.py" in paths


@pytest.mark.usefixtures("fake_pip")
def test_install_writes_the_page_of_the_build(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "top", requires=["leaf"])
    make_wheel(house, "leaf")
    args = ("install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "top")
    result = run(*args, "--size-report", "build/size.html", "--report", "build/report.json")
    assert result.exit_code == 0, result.err
    embedded = json.loads(parsed((project / "build/size.html").read_text()).data[DATA_ID])
    report = json.loads((project / "build/report.json").read_text())
    assert embedded[0]["analysis"] == report["builds"][0]["size"]
    assert embedded[0]["title"] == "build/lambda.zip (python3.12 x86_64)"


@pytest.mark.usefixtures("fake_pip")
def test_build_writes_one_page_for_every_target_also_when_nothing_changed(project, run, offline):
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda]\nruntime = "python3.12"\nsize-report = "build/size.html"\n'
        '[tool.pip-lambda.targets.api]\npip-args = ["purepkg"]\n'
        '[tool.pip-lambda.targets.deps]\nlayer = true\npip-args = ["glibcpkg==1.0"]\n'
    )
    for attempt in ("built", "up to date"):
        (project / "build/size.html").unlink(missing_ok=True)
        result = run("build", *offline)
        assert result.exit_code == 0, result.err
        assert (attempt == "up to date") == ("nothing changed since the last build" in result.out)
        embedded = json.loads(parsed((project / "build/size.html").read_text()).data[DATA_ID])
        assert [entry["title"] for entry in embedded] == [
            "api: build/api.zip (python3.12 x86_64)",
            "deps: build/deps.zip (python3.12 x86_64)",
        ]
        layer = {part["name"]: part for part in embedded[1]["analysis"]["parts"]}
        assert "python/glibcpkg" in {folder["path"] for folder in layer["glibcpkg"]["folders"]}


@pytest.mark.usefixtures("fake_pip")
@pytest.mark.parametrize("existing", ["build/lambda.zip", "notes.html", "build/lambda/x.html"])
def test_the_page_never_replaces_the_zip_a_file_of_yours_or_lands_in_the_target(project, run, offline, existing):
    (project / "notes.html").write_text("<p>mine</p>")
    result = run("install", "--runtime", "python3.12", *offline, "purepkg", "--size-report", existing)
    assert result.exit_code == 6, result.err
    assert (project / "notes.html").read_text() == "<p>mine</p>"
    assert not (project / "build/lambda.zip").exists()


# --- a real browser ---------------------------------------------------------------------------


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium or Chrome on this machine (Debian: apt-get install chromium)")


def rendered_dom(page: Path, profile: Path) -> str:
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def rectangles(dom: str) -> dict[str, tuple[float, float, float, float]]:
    """Each tile of the first map: its name and left, top, width, height in percent."""
    found = {}
    for attributes in re.findall(r'<div class="part"([^>]*)>', dom):
        name = re.search(r'data-name="([^"]*)"', attributes)
        style = dict(re.findall(r"(left|top|width|height):\s*([0-9.]+)%", attributes))
        assert name is not None and len(style) == 4, attributes
        found[name.group(1).replace("&amp;", "&")] = tuple(
            float(style[key]) for key in ("left", "top", "width", "height")
        )
    return found


def test_a_real_browser_draws_one_rectangle_per_distribution_sized_by_its_bytes(tmp_path):
    analysis = sample()
    page = tmp_path / "size.html"
    page.write_text(render([("fn", analysis)]))
    dom = rendered_dom(page, tmp_path / "profile")
    tiles = rectangles(dom)
    assert set(tiles) == {part.name for part in analysis.parts}
    for part in analysis.parts:
        assert f">{part.name}{' ' + part.version if part.version else ''}</span>" in dom
        left, top, width, height = tiles[part.name]
        assert width * height / 100**2 == pytest.approx(part.unzipped / analysis.unzipped, rel=0.01)
        assert left >= -0.01 and top >= -0.01 and left + width <= 100.01 and top + height <= 100.01
    boxes = list(tiles.values())
    for index, (left, top, width, height) in enumerate(boxes):
        for other_left, other_top, other_width, other_height in boxes[index + 1 :]:
            overlap_x = min(left + width, other_left + other_width) - max(left, other_left)
            overlap_y = min(top + height, other_top + other_height) - max(top, other_top)
            assert overlap_x <= 0.01 or overlap_y <= 0.01, "tiles overlap"
    assert 'data-path="big/core"' in dom  # the largest folders inside their distribution
