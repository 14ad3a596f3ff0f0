"""Property tests (hypothesis): the argument split between pip-lambda and pip, the configuration, the zip writer.

Example counts stay modest so the suite stays fast; each property still runs
on every test run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import unicodedata
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pip_lambda.archive.writer import collect_entries, write_zip
from pip_lambda.config.files import file_source, read_pyproject, read_setup_cfg
from pip_lambda.config.options import INSTALL_OPTIONS, build_parser, split_argv
from pip_lambda.config.sources import environment_source
from pip_lambda.config.values import ConfigError, configurable_options, variable_name
from pip_lambda.errors import UsageError
from pip_lambda.pip.args import VALUE_OPTIONS, parse_pip_args
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
OURS = [option.flag for option in INSTALL_OPTIONS] + [option.short for option in INSTALL_OPTIONS if option.short]
PIPS = [*sorted(VALUE_OPTIONS), "--no-deps", "--pre", "--no-index", "--require-hashes", "--user", "-U", "-h"]
WORDS = ["requests", "boto3==1.35", "x.txt", "--", "-", "-qq", "-vvq", "-tdir", "--target=d", "--code=a.py", "=", ""]

tokens = st.one_of(
    st.sampled_from(OURS),
    st.sampled_from(PIPS),
    st.sampled_from(WORDS),
    st.sampled_from(OURS + PIPS).map(lambda option: f"{option}=v" if option.startswith("--") else f"{option}v"),
    st.text(min_size=0, max_size=8),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _forwarded(token: str) -> bool:
    return any(
        option.forwarded_to_pip
        and (token.split("=", 1)[0] == option.flag or (token[:2] == option.short and set(token[1:]) == {token[1]}))
        for option in INSTALL_OPTIONS
    )


def interleaves(argv: list[str], ours: list[str], pips: list[str]) -> bool:
    """Whether ``ours`` and ``pips`` split ``argv`` in order, each token on one side, -q/-v allowed on both.

    The one token on neither side is a ``--`` separator, after which every token is pip's.
    """

    @functools.cache
    def fits(index: int, mine: int, theirs: int) -> bool:
        if index == len(argv):
            return mine == len(ours) and theirs == len(pips)
        token = argv[index]
        both = (
            _forwarded(token)
            and mine < len(ours)
            and theirs < len(pips)
            and ours[mine] == token
            and pips[theirs] == token
            and fits(index + 1, mine + 1, theirs + 1)
        )
        separator = token == "--" and mine == len(ours) and argv[index + 1 :] == pips[theirs:]
        return (
            both
            or separator
            or (mine < len(ours) and ours[mine] == token and fits(index + 1, mine + 1, theirs))
            or (theirs < len(pips) and pips[theirs] == token and fits(index + 1, mine, theirs + 1))
        )

    return fits(0, 0, 0)


@FUZZ
@given(st.lists(tokens, max_size=12))
def test_every_token_lands_on_exactly_one_side_in_order(argv):
    ours, pips = split_argv(argv)
    assert interleaves(argv, ours, pips)


@FUZZ
@given(st.lists(tokens, max_size=12))
def test_parsing_either_side_raises_nothing_but_usage_errors(argv):
    ours, pips = split_argv(argv)
    with contextlib.suppress(UsageError):
        build_parser("pip-lambda install").parse_args(ours)
    try:
        parsed = parse_pip_args(pips, TARGET)
    except UsageError:
        return
    remaining = iter(pips)
    assert all(token in remaining for token in parsed.passthrough)  # a subsequence: order kept


# --- the configuration ------------------------------------------------------------------------

KEYS = [option.name for option in configurable_options()]
scalars = st.one_of(
    st.text(max_size=12), st.sampled_from(["python3.12", "arm64", "true", "no", "3", ""]), st.integers(-2, 5),
    st.booleans(), st.floats(allow_nan=False),
)  # fmt: skip
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=2))
tables = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), values, max_size=6)


@FUZZ
@given(tables, st.dictionaries(st.text(max_size=8), tables, max_size=2))
def test_any_configuration_table_is_read_or_refused_with_a_config_error(tmp_path_factory, table, targets):
    folder = tmp_path_factory.mktemp("config")
    try:
        layer = file_source("[tool.pip-lambda]", {**table, "targets": targets}, folder, configurable_options(),
                           text=False, allow_targets=True)  # fmt: skip
    except ConfigError:
        return
    assert set(layer.values) <= set(KEYS)


@FUZZ
@given(st.text(max_size=200))
def test_any_pyproject_or_setup_cfg_text_is_read_or_refused_with_a_config_error(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("files")
    for name, reader, header in (
        ("pyproject.toml", read_pyproject, "[tool.pip-lambda]\n"),
        ("setup.cfg", read_setup_cfg, "[pip-lambda]\n"),
    ):
        (folder / name).write_text(header + text, "utf-8")
        with contextlib.suppress(ConfigError):
            reader(folder / name, configurable_options())


@FUZZ
@given(
    st.dictionaries(st.sampled_from([variable_name(option) for option in configurable_options()]), st.text(max_size=12))
)
def test_any_pip_lambda_variable_is_read_or_refused_with_a_config_error(environ):
    with contextlib.suppress(ConfigError):
        environment_source(environ)


# --- the zip writer --------------------------------------------------------------------------

_NAME_ALPHABET = st.characters(
    whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="._- é漢", max_codepoint=0x9FFF
)
names = (
    st.text(_NAME_ALPHABET, min_size=1, max_size=10)
    .map(lambda name: unicodedata.normalize("NFC", name))
    .filter(lambda name: name not in (".", "..") and len(name.encode()) < 100)
)
files = st.tuples(st.binary(max_size=2_000), st.sampled_from([0o644, 0o600, 0o755, 0o700, 0o444]))
trees = st.recursive(
    st.dictionaries(names, files, max_size=4),
    lambda children: st.dictionaries(names, st.one_of(files, children), max_size=4),
    max_leaves=12,
)


def _materialise(folder: Path, tree: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, node in tree.items():
        if isinstance(node, dict):
            _materialise(folder / name, node)
        else:
            data, mode = node
            (folder / name).write_bytes(data)
            os.chmod(folder / name, mode)


def _expected(tree: dict, prefix: str = "") -> dict[str, tuple[bytes, int] | None]:
    found: dict[str, tuple[bytes, int] | None] = {}
    for name, node in tree.items():
        if isinstance(node, dict):
            found[f"{prefix}{name}/"] = None
            found.update(_expected(node, f"{prefix}{name}/"))
        else:
            data, mode = node
            found[prefix + name] = (data, 0o755 if mode & 0o111 else 0o644)
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_any_tree_gives_a_valid_deterministic_zip_that_unzips_to_the_same_tree(tmp_path_factory, tree):
    work = tmp_path_factory.mktemp("tree")
    _materialise(work / "root", tree)
    entries = collect_entries(work / "root")
    one = write_zip(entries, work / "one.zip", workers=1)
    four = write_zip(entries, work / "four.zip", workers=4)
    assert (work / "one.zip").read_bytes() == (work / "four.zip").read_bytes()
    assert one.sha256 == four.sha256
    with zipfile.ZipFile(work / "one.zip") as archive:
        assert archive.testzip() is None
        unzipped = {
            info.filename: None if info.is_dir() else (archive.read(info), stat.S_IMODE(info.external_attr >> 16))
            for info in archive.infolist()
        }
        archive.extractall(work / "out")
    assert unzipped == _expected(tree)
    assert sorted(str(path.relative_to(work / "out")) for path in (work / "out").rglob("*")) == sorted(
        name.rstrip("/") for name in unzipped
    )
