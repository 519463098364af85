from __future__ import annotations

import copy
import enum
import logging
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest

from alphaforge.config import Secret, load_config, load_secrets_file
from alphaforge.errors import ConfigError, InvalidValue

SECRET = "s3cr3t-VALUE-never-shown"


class Mode(enum.Enum):
    BACKTEST = "backtest"
    LIVE = "live"


@attrs.frozen
class Fees:
    maker: Decimal
    taker: Decimal = Decimal("0.001")


@attrs.frozen
class Venue:
    name: str
    fees: Fees
    api_key: Secret | None = None
    weight: float = 1.0


@attrs.frozen
class NodeConfig:
    trader_id: str
    mode: Mode = Mode.BACKTEST
    venues: list[Venue] = attrs.field(factory=list)
    limits: dict[str, int] = attrs.field(factory=dict)
    debug: bool = False
    log_dir: Path | None = None
    tags: tuple[str, ...] = ()
    level: Literal["INFO", "DEBUG"] = "INFO"
    extra: Any = None


@attrs.frozen
class Positive:
    n: int = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen
class Creds:
    key: Secret
    token: Secret = attrs.field(factory=lambda: Secret("default"))


TOML = """
trader_id = "TRADER-001"
mode = "LIVE"
debug = true
tags = ["a", "b"]
level = "DEBUG"
log_dir = "/tmp/logs"

[limits]
orders_per_second = 10

[[venues]]
name = "BINANCE"
weight = 2
fees = { maker = "0.0002", taker = 1 }
api_key = "${AF_BINANCE_KEY}"

[[venues]]
name = "KRAKEN"
[venues.fees]
maker = "0.0016"
"""


def test_load_from_toml_text() -> None:
    cfg = load_config(NodeConfig, TOML, environ={"AF_BINANCE_KEY": SECRET})
    assert cfg.trader_id == "TRADER-001"
    assert cfg.mode is Mode.LIVE
    assert cfg.debug is True
    assert cfg.tags == ("a", "b")
    assert cfg.level == "DEBUG"
    assert cfg.log_dir == Path("/tmp/logs")
    assert cfg.limits == {"orders_per_second": 10}
    binance, kraken = cfg.venues
    assert binance.fees == Fees(Decimal("0.0002"), Decimal(1))
    assert isinstance(binance.weight, float)
    assert binance.weight == 2.0
    assert binance.api_key is not None
    assert binance.api_key.get_secret_value() == SECRET
    assert kraken.fees == Fees(Decimal("0.0016"))
    assert kraken.api_key is None


def test_load_from_path_str_path_and_dict(tmp_path: Path) -> None:
    file = tmp_path / "node.toml"
    file.write_text('trader_id = "T-1"\n', encoding="utf-8")
    assert load_config(NodeConfig, file).trader_id == "T-1"
    assert load_config(NodeConfig, str(file)).trader_id == "T-1"
    assert load_config(NodeConfig, {"trader_id": "T-2"}).trader_id == "T-2"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as info:
        load_config(NodeConfig, tmp_path / "missing.toml")
    assert info.value.field == "source"


def test_invalid_toml() -> None:
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        load_config(NodeConfig, "trader_id = \n")
    assert info.value.field == "source"


def test_unknown_key_names_full_path() -> None:
    data = {"trader_id": "T", "venues": [{"name": "B", "fees": {"maker": "0", "makr": "1"}}]}
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, data)
    assert info.value.field == "venues[0].fees.makr"
    assert "unknown key" in str(info.value)
    assert "maker, taker" in str(info.value)


def test_wrong_type_names_path_value_and_expected_type() -> None:
    data = {"trader_id": "T", "venues": [{"name": "B", "fees": {"maker": "0"}, "weight": "x"}]}
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, data)
    assert info.value.field == "venues[0].weight"
    assert info.value.value == "x"
    assert str(info.value) == "venues[0].weight='x': expected float, got str"


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"trader_id": 5}, "trader_id", "expected str, got int"),
        ({"trader_id": "T", "debug": 1}, "debug", "expected bool, got int"),
        ({"trader_id": "T", "limits": {"x": True}}, "limits.x", "expected int, got bool"),
        ({"trader_id": "T", "limits": {"x": 1.5}}, "limits.x", "expected int, got float"),
        ({"trader_id": "T", "limits": []}, "limits", "a table"),
        ({"trader_id": "T", "venues": {}}, "venues", "an array"),
        ({"trader_id": "T", "venues": ["x"]}, "venues[0]", "expected a table for Venue"),
        ({"trader_id": "T", "mode": "PAPER"}, "mode", "BACKTEST, LIVE"),
        ({"trader_id": "T", "level": "WARN"}, "level", "expected one of"),
        ({"trader_id": "T", "tags": "ab"}, "tags", "an array"),
    ],
)
def test_type_errors(data: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, data)
    assert info.value.field == path
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("maker", "fragment"),
    [
        (0.1, "floats are inexact"),
        ("abc", "expected a decimal number"),
        ("NaN", "finite"),
        (True, "expected Decimal, got bool"),
    ],
)
def test_decimal_rules(maker: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Fees, {"maker": maker})
    assert info.value.field == "maker"
    assert fragment in str(info.value)


def test_missing_required_key() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, {"venues": []})
    assert info.value.field == "trader_id"
    assert str(info.value) == "trader_id=<missing>: required key is missing"
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, {"trader_id": "T", "venues": [{"name": "B"}]})
    assert info.value.field == "venues[0].fees"


def test_validator_errors_become_config_errors() -> None:
    with pytest.raises(ConfigError, match="rejected by Positive"):
        load_config(Positive, {"n": 0})


def test_cls_must_be_attrs() -> None:
    with pytest.raises(InvalidValue) as info:
        load_config(dict, {})
    assert info.value.field == "cls"


# ---------------------------------------------------------------------- secrets


def test_secret_value_class() -> None:
    s = Secret(SECRET)
    assert repr(s) == "Secret('***')"
    assert str(s) == "Secret('***')"
    assert f"{s}" == "Secret('***')"
    assert s.get_secret_value() == SECRET
    assert s == Secret(SECRET)
    assert s != Secret("other")
    assert hash(s) == hash(Secret(SECRET))
    assert copy.deepcopy(s) is s
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        s._secret_value = "x"
    with pytest.raises(InvalidValue) as info:
        Secret(123)  # type: ignore[arg-type]
    assert "123" not in str(info.value)


def test_secret_never_in_repr_or_asdict() -> None:
    cfg = load_config(NodeConfig, TOML, environ={"AF_BINANCE_KEY": SECRET})
    assert SECRET not in repr(cfg)
    assert "Secret('***')" in repr(cfg)
    assert SECRET not in repr(attrs.asdict(cfg))
    assert SECRET not in str(attrs.asdict(cfg))


def test_secret_literal_and_interpolation() -> None:
    cfg = load_config(Creds, {"key": "Bearer ${TOKEN}"}, environ={"TOKEN": SECRET})
    assert cfg.key.get_secret_value() == f"Bearer {SECRET}"
    assert cfg.token.get_secret_value() == "default"
    literal = load_config(Creds, {"key": "plain"}, environ={})
    assert literal.key.get_secret_value() == "plain"


def test_env_refs_in_plain_str_fields_stay_literal() -> None:
    cfg = load_config(NodeConfig, {"trader_id": "${TOKEN}"}, environ={"TOKEN": SECRET})
    assert cfg.trader_id == "${TOKEN}"


def test_missing_env_var_names_path_and_variable() -> None:
    data = {
        "trader_id": "T",
        "venues": [
            {"name": "B", "fees": {"maker": "0"}, "api_key": "prefix-" + SECRET + "-${NOPE_KEY}"}
        ],
    }
    with pytest.raises(ConfigError) as info:
        load_config(NodeConfig, data, environ={})
    assert info.value.field == "venues[0].api_key"
    assert "NOPE_KEY" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.value)


def test_wrong_type_in_secret_field_hides_value() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Creds, {"key": 123456789})
    assert info.value.field == "key"
    assert "123456789" not in str(info.value)
    assert "<hidden>" in str(info.value)


def test_unknown_key_hides_value() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Creds, {"key": "k", "api_secert": SECRET})
    assert info.value.field == "api_secert"
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.value)


def test_secrets_file_env_format(tmp_path: Path) -> None:
    file = tmp_path / "secrets.env"
    file.write_text(
        f"# comment\n\nexport TOKEN='{SECRET}'\nOTHER = \"two words\"\nPLAIN=x=y\n",
        encoding="utf-8",
    )
    assert load_secrets_file(file) == {"TOKEN": SECRET, "OTHER": "two words", "PLAIN": "x=y"}
    cfg = load_config(Creds, {"key": "${TOKEN}"}, secrets_file=file, environ={})
    assert cfg.key.get_secret_value() == SECRET
    # The environment takes precedence over the file.
    cfg = load_config(Creds, {"key": "${TOKEN}"}, secrets_file=file, environ={"TOKEN": "env"})
    assert cfg.key.get_secret_value() == "env"


def test_secrets_file_toml_format(tmp_path: Path) -> None:
    file = tmp_path / "secrets.toml"
    file.write_text(f'TOKEN = "{SECRET}"\n', encoding="utf-8")
    cfg = load_config(Creds, {"key": "${TOKEN}"}, secrets_file=file, environ={})
    assert cfg.key.get_secret_value() == SECRET


def test_malformed_secrets_file_never_shows_values(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text(f"GOOD=1\n{SECRET}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_secrets_file(env_file)
    assert info.value.field == "secrets_file:2"
    assert SECRET not in str(info.value)
    toml_file = tmp_path / "bad.toml"
    toml_file.write_text("N = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_secrets_file(toml_file)
    assert info.value.field == "secrets_file.N"
    with pytest.raises(ConfigError, match="file not found"):
        load_secrets_file(tmp_path / "nope.env")


def test_secrets_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        cfg = load_config(Creds, {"key": "${TOKEN}"}, environ={"TOKEN": SECRET})
        logging.getLogger("test").info("loaded %r / %s", cfg, cfg)
    assert SECRET not in caplog.text


def test_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_TEST_TOKEN", SECRET)
    cfg = load_config(Creds, {"key": "${AF_TEST_TOKEN}"})
    assert cfg.key.get_secret_value() == SECRET
