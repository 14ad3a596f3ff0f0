"""Above 250 MB: what would fit, measured on the build, and --container DIR, a Lambda container-image build context.

No Docker daemon runs here: the tests check the context's contents (Dockerfile, tree, modes), not an image.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest

from pip_lambda.archive.container import write_context
from pip_lambda.plan import limits
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.document import schema
from pip_lambda.tree.staging import MARKER

from conftest import make_wheel


def tree_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and permission bits."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def app(project: Path) -> Path:
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return project / "app.py"


@pytest.mark.usefixtures("fake_pip", "app")
@pytest.mark.parametrize(("arch", "platform"), [("x86_64", "linux/amd64"), ("arm64", "linux/arm64")])
def test_the_context_is_a_dockerfile_for_the_target_and_the_tree_the_zip_would_hold(
    project, run, offline, arch, platform
):
    common = ("install", "--runtime", "python3.12", "--arch", arch, *offline, "glibcpkg", "--code", "app.py")
    result = run(*common, "--handler", "app.handler", "--container", "build/image", "--report", "report.json")
    assert result.exit_code == 0, result.err
    dockerfile = (project / "build/image/Dockerfile").read_text()
    assert f"FROM --platform={platform} public.ecr.aws/lambda/python:3.12\n" in dockerfile
    assert "COPY package/ ${LAMBDA_TASK_ROOT}/\n" in dockerfile
    assert dockerfile.endswith('CMD ["app.handler"]\n')
    assert f"docker build --platform {platform} build/image" in result.out
    assert not (project / "build/image.zip").exists()
    # The same verified tree a zip of the same build holds, with the zip's modes.
    assert run(*common, "-t", "build/fn").exit_code == 0
    with zipfile.ZipFile(project / "build/fn.zip") as archive:
        zipped = {
            info.filename: (archive.read(info), stat.S_IMODE(info.external_attr >> 16))
            for info in archive.infolist()
            if not info.is_dir()
        }
    assert tree_of(project / "build/image/package") == zipped
    report = json.loads((project / "report.json").read_text())
    jsonschema.validate(report, schema(), cls=jsonschema.Draft202012Validator)
    (build,) = report["builds"]
    assert build["outputs"]["zip"] is None
    assert build["outputs"]["container"] == {
        "path": "build/image",
        "dockerfile": "build/image/Dockerfile",
        "tree": "build/image/package",
        "base_image": "public.ecr.aws/lambda/python:3.12",
        "platform": platform,
    }


@pytest.mark.usefixtures("fake_pip", "app")
def test_the_context_is_deterministic_and_says_where_the_handler_goes_when_none_is_given(project, run, offline):
    args = ("install", "--runtime", "python3.13", *offline, "purepkg", "--code", "app.py", "--no-cache")
    assert run(*args, "--container", "build/one").exit_code == 0
    previous = os.umask(0o077)  # files made under another umask must still come out 0644/0755
    try:
        (project / "tool.sh").write_text("#!/bin/sh\n")
        (project / "tool.sh").chmod(0o700)
        assert run(*args, "--code", "tool.sh", "--container", "build/two").exit_code == 0
    finally:
        os.umask(previous)
    one, two = tree_of(project / "build/one"), tree_of(project / "build/two")
    assert not any(MARKER in name or "pip-lambda" in name for name in [*one, *two])  # nothing of pip-lambda's own
    assert two.pop("package/tool.sh")[1] == 0o755
    assert one == two
    assert {mode for _, mode in one.values()} == {0o644}
    dockerfile = one["Dockerfile"][0].decode()
    assert "CMD" not in dockerfile.replace("# CMD", "")
    assert "# No handler was given (--handler MODULE.FUNCTION)" in dockerfile


def test_modes_are_normalised_without_touching_a_file_the_tree_shares_with_a_cache(tmp_path):
    """The wheel store may hard-link its files into the tree: a chmod must not reach them."""
    context = tmp_path / "context"
    (context / "package").mkdir(parents=True)
    kept = tmp_path / "store-file"
    kept.write_text("x = 1\n")
    kept.chmod(0o600)
    os.link(kept, context / "package" / "mod.py")
    write_context(context, Target(get_runtime("python3.12"), Arch.X86_64), "mod.handler")
    assert stat.S_IMODE((context / "package/mod.py").stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not list(context.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--layer",), "a layer cannot be a container image"),
        (("-o", "build/x.zip"), "--container DIR and -o/--output both say where the package goes"),
        (("-t", "build/x"), "--container DIR and -t/--target both say where the package goes"),
    ],
)
def test_what_cannot_be_a_container_is_refused_with_exit_2(project, run, offline, extra, message):
    result = run("install", "--runtime", "python3.12", *offline, "purepkg", "--container", "build/image", *extra)
    assert result.exit_code == 2
    assert message in result.err
    assert not (project / "build").exists()


@pytest.mark.usefixtures("fake_pip")
def test_a_container_has_the_image_limit_instead_of_250_mb(project, run, offline, monkeypatch):
    monkeypatch.setattr(limits, "UNZIPPED_LIMIT", 100)
    monkeypatch.setattr(limits, "IMAGE_LIMIT", 100)
    assert run("install", "--runtime", "python3.12", *offline, "purepkg", "--no-cache").exit_code == 5
    result = run("install", "--runtime", "python3.12", *offline, "purepkg", "--container", "build/image")
    assert result.exit_code == 0, result.err
    assert "above the 100-byte limit of a Lambda container image" in result.err
    assert "unzipped, image" in result.out


# --- above 250 MB: what would fit, measured -------------------------------------------------------

MB = 1_000_000


@pytest.fixture(scope="module")
def heavy_house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A function whose tests and docs --slim removes, the AWS SDK, and one large dependency."""
    house = tmp_path_factory.mktemp("heavy")
    make_wheel(
        house,
        "heavy",
        requires=["boto3", "bigdep"],
        files={
            "heavy/__init__.py": b"",
            "heavy/core.py": b"#" * (1 * MB),
            "heavy/tests/__init__.py": b"",
            "heavy/tests/test_core.py": b"#" * (3 * MB),
        },
    )
    make_wheel(house, "bigdep", files={"bigdep/__init__.py": b"", "bigdep/data.bin": b"\0" * (5 * MB)})
    make_wheel(house, "boto3", requires=["botocore", "s3transfer", "jmespath"])
    make_wheel(house, "botocore", requires=["jmespath"], files={"botocore/__init__.py": b"#" * (2 * MB)})
    make_wheel(house, "s3transfer", requires=["botocore"])
    make_wheel(house, "jmespath")
    return house


@pytest.fixture
def heavy(heavy_house: Path) -> list[str]:
    return ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(heavy_house), "heavy"]


def built(run, project: Path, args: list[str], *options: str) -> dict:
    result = run(*args, *options, "--no-cache", "--report", "report.json")
    assert result.exit_code == 0, result.err
    return json.loads((project / "report.json").read_text())["builds"][0]


def refusal(run, args: list[str]) -> str:
    result = run(*args, "--no-cache")
    assert result.exit_code == 5, result.err
    (error,) = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: the package is ")
    return error


@pytest.mark.usefixtures("fake_pip")
def test_above_the_limit_the_error_says_what_the_trim_options_would_save_measured_on_this_build(
    project, run, heavy, monkeypatch
):
    full = built(run, project, heavy)["unpacked_size"]
    slim = full - built(run, project, heavy, "--slim")["unpacked_size"]
    sdk = full - built(run, project, heavy, "--exclude-runtime-provided")["unpacked_size"]
    both = built(run, project, heavy, "--slim", "--exclude-runtime-provided")["unpacked_size"]
    before = (project / "build/lambda.zip").read_bytes()
    monkeypatch.setattr(limits, "UNZIPPED_LIMIT", both + 1)
    error = refusal(run, heavy)
    assert (
        f"measured on this build: --slim would save {slim / MB:.1f} MB, --exclude-runtime-provided {sdk / MB:.1f} MB;"
        in error
    )
    assert f"with --slim and --exclude-runtime-provided it is {both:,} bytes and fits" in error
    assert (project / "build/lambda.zip").read_bytes() == before  # nothing was replaced


@pytest.mark.usefixtures("fake_pip")
def test_still_over_names_what_to_leave_out_and_the_container(project, run, heavy, monkeypatch):
    both = built(run, project, heavy, "--slim", "--exclude-runtime-provided")["unpacked_size"]
    monkeypatch.setattr(limits, "UNZIPPED_LIMIT", both - 1 * MB)
    error = refusal(run, heavy)
    assert f"still {1.0:.1f} MB over: leave out bigdep (5.0 MB) with --exclude-package" in error
    assert "build a container image instead (--container DIR, up to 10 GB)" in error
    assert "a layer does not help" in error


@pytest.mark.usefixtures("fake_pip")
def test_options_already_given_are_not_offered_again(project, run, heavy, monkeypatch):
    monkeypatch.setattr(limits, "UNZIPPED_LIMIT", 1 * MB)
    error = refusal(run, [*heavy, "--slim"])
    assert "--slim would save" not in error
    assert re.search(r"measured on this build: --exclude-runtime-provided would save \d+\.\d MB;", error)
    error = refusal(run, [*heavy, "--slim", "--exclude-runtime-provided"])
    assert "measured on this build" not in error and "MB over: leave out bigdep" in error
