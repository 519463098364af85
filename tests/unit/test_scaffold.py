"""``alphaforge new-plugin``: name validation, overwrite refusal, the rendered project's files.

The slow end-to-end run (install the generated plugin, run its tests and the conformance
command) is ``tests/integration/test_new_plugin.py``.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from alphaforge.cli import main
from alphaforge.errors import InvalidValue
from alphaforge.scaffold import new_plugin, plugin_names, render_plugin, supported_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]


def test_names_are_derived_from_the_adapter_name() -> None:
    names = plugin_names("my_venue")
    assert (names.name, names.module, names.dist) == (
        "my_venue",
        "alphaforge_my_venue",
        "alphaforge-my-venue",
    )
    assert (names.venue, names.class_prefix) == ("MY_VENUE", "MyVenue")
    assert plugin_names("kraken2", "KRAKEN_FX").venue == "KRAKEN_FX"


@pytest.mark.parametrize(
    "name",
    ["", "MyVenue", "my-venue", "my venue", "1venue", "_venue", "venue_", "my__venue",
     "v" * 33, "alphaforge_x", "alphaforgevenue", "builtins", None, 42],
)  # fmt: skip
def test_bad_name_is_refused_naming_the_value(name: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        plugin_names(name)
    assert caught.value.field == "name"
    assert caught.value.value == name
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize("venue", ["myvenue", "MY VENUE", "MY.VENUE", "MY-VENUE", "", "_X", 7])
def test_bad_venue_is_refused_naming_the_value(venue: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        plugin_names("myvenue", venue)
    assert (caught.value.field, caught.value.value) == ("venue", venue)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", ("alphaforge>=0.1,<0.2", "0.1.0")),
        ("0.4.2", ("alphaforge>=0.4,<0.5", "0.4.0")),
        ("0.9.0.dev3", ("alphaforge>=0.9,<0.10", "0.9.0")),
        ("1.3.0", ("alphaforge>=1.3,<2", "1.3.0")),
        ("2.0.1+local", ("alphaforge>=2.0,<3", "2.0.0")),
    ],
)
def test_supported_range_follows_the_sdk_version(version: str, expected: tuple[str, str]) -> None:
    assert supported_range(version) == expected


def test_supported_range_refuses_a_version_without_major_minor() -> None:
    with pytest.raises(InvalidValue, match="sdk_version='dev'"):
        supported_range("dev")


def test_refuses_a_non_empty_directory_and_writes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "alphaforge-myvenue"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    with pytest.raises(InvalidValue) as caught:
        new_plugin("myvenue", directory=tmp_path)
    assert caught.value.field == "directory"
    assert caught.value.value == str(project)
    assert [p.name for p in project.iterdir()] == ["notes.txt"]
    assert (project / "notes.txt").read_text() == "mine"


def test_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "alphaforge-myvenue").write_text("a file")
    with pytest.raises(InvalidValue, match="already exists"):
        new_plugin("myvenue", directory=tmp_path)


def test_bad_name_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue):
        new_plugin("My-Venue", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "alphaforge-myvenue").mkdir()
    project = new_plugin("myvenue", directory=tmp_path)
    assert (project / "src" / "alphaforge_myvenue" / "plugin.py").is_file()


def test_rendered_project_files() -> None:
    files = render_plugin(plugin_names("myvenue"), "0.3.1")
    module = PurePosixPath("src/alphaforge_myvenue")
    assert {
        PurePosixPath("pyproject.toml"), PurePosixPath("tox.ini"), PurePosixPath("README.md"),
        PurePosixPath(".gitignore"), module / "plugin.py", module / "parsing.py",
        module / "book.py", module / "orders.py", module / "venue.py", module / "adapter.py",
        module / "__init__.py", module / "py.typed", PurePosixPath("tests/test_conformance.py"),
        PurePosixPath("tests/samples/book_updates.json"),
    } <= set(files)  # fmt: skip
    assert not [p for p in files if "__module__" in str(p) or p.suffix == ".tmpl"]
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")  # valid Python once rendered
    conformance = files[PurePosixPath("tests/test_conformance.py")]
    assert "class TestMyvenueConformance(AdapterConformance):" in conformance
    assert 'adapter_name = "myvenue"' in conformance
    fixtures = ("adapter_capabilities", "adapter_instruments", "book_scenario", "adapter_trades",
                "adapter_quotes", "order_encoder", "garbage_parsers")  # fmt: skip
    for fixture in fixtures:
        assert f"def {fixture}(" in conformance


def test_rendered_pyproject_declares_the_entry_point_and_the_pin() -> None:
    files = render_plugin(plugin_names("myvenue"), "0.3.1")
    project = tomllib.loads(files[PurePosixPath("pyproject.toml")])
    assert project["project"]["name"] == "alphaforge-myvenue"
    assert project["project"]["dependencies"] == ["alphaforge>=0.3,<0.4"]
    assert project["project"]["entry-points"]["alphaforge"] == {
        "myvenue": "alphaforge_myvenue.plugin"
    }
    assert project["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/alphaforge_myvenue"
    ]


def test_rendered_tox_ini_runs_the_kit_on_each_supported_version() -> None:
    files = render_plugin(plugin_names("myvenue"), "0.3.1")
    tox = configparser.ConfigParser(interpolation=None)
    tox.read_string(files[PurePosixPath("tox.ini")])
    envs = [s.removeprefix("testenv:") for s in tox.sections() if s.startswith("testenv:")]
    assert envs == ["alphaforge-min", "alphaforge-latest", "alphaforge-local"]
    assert [e.strip() for e in tox["tox"]["env_list"].split(",")] == envs[:2]
    assert tox["testenv:alphaforge-min"]["deps"] == "alphaforge==0.3.0"
    assert tox["testenv:alphaforge-latest"]["deps"] == "alphaforge>=0.3,<0.4"
    assert tox["testenv:alphaforge-local"]["deps"].startswith("{env:ALPHAFORGE_SDK:")
    assert tox["testenv:alphaforge-local"]["pass_env"] == "ALPHAFORGE_SDK"
    commands = tox["testenv"]["commands"]
    assert "pytest" in commands and "--alphaforge-report=" in commands
    assert tox["testenv"]["extras"] == "test"


@pytest.mark.parametrize("name", ["myvenue", "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p", "z" * 32])
def test_generated_python_is_ruff_clean(tmp_path: Path, name: str) -> None:
    pytest.importorskip("ruff")
    project = new_plugin(name, directory=tmp_path)
    # The project's own ruff settings (pyproject.toml) apply: run from inside it.
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=project,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_wheel_ships_every_template() -> None:
    pytest.importorskip("hatchling")
    from hatchling.builders.wheel import WheelBuilder

    templates = REPO / "alphaforge-sdk" / "src" / "alphaforge" / "templates"
    on_disk = {
        f"alphaforge/templates/{p.relative_to(templates).as_posix()}"
        for p in templates.rglob("*.tmpl")
    }
    builder = WheelBuilder(str(REPO / "alphaforge-sdk"))
    shipped = {f.distribution_path for f in builder.recurse_included_files()}
    assert on_disk
    assert on_disk <= shipped, sorted(on_disk - shipped)


def test_cli_creates_the_project_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-plugin", "clivenue", "--dir", str(tmp_path), "--venue", "CLI_X"]) == 0
    out = capsys.readouterr().out
    assert f"created {tmp_path / 'alphaforge-clivenue'}" in out
    assert "tests/test_conformance.py" in out
    venue = tmp_path / "alphaforge-clivenue" / "src" / "alphaforge_clivenue" / "venue.py"
    assert 'Venue("CLI_X")' in venue.read_text()


def test_cli_reports_a_bad_name_and_an_existing_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-plugin", "Bad-Name", "--dir", str(tmp_path)]) == 2
    assert "name='Bad-Name'" in capsys.readouterr().err
    assert main(["new-plugin", "twice", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["new-plugin", "twice", "--dir", str(tmp_path)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
