"""Typed configuration: frozen attrs classes are the schema, TOML or dicts are the input.

:func:`load_config` builds an instance of a (frozen) attrs class from a TOML file, TOML text or
a mapping, converting and checking every value against the field's type annotation:

- ``int``, ``float`` (an int is accepted), ``str``, ``bool``, :class:`~decimal.Decimal` (from a
  str or an int -- never from a float, which is inexact), :class:`~pathlib.Path` (from a str),
  enums (by member name), ``Literal[...]``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``,
  ``X | None`` and other unions (first alternative that fits), nested attrs classes, ``Any``
  and :class:`Secret`.
- Unknown keys, missing required keys and wrong types raise
  :class:`~alphaforge.errors.ConfigError` whose ``field`` is the full key path, e.g.
  ``venues[0].fees.maker``; the message names the value and the expected type.

Secrets
-------
A field typed :class:`Secret` (also inside ``Optional``/``list``/``dict``) holds a string whose
``repr``/``str`` is ``Secret('***')``. In such fields, ``${NAME}`` references are replaced by
the environment variable ``NAME``, or -- if it is not set -- by ``NAME`` from the
``secrets_file`` (a ``.toml`` table of strings, or an env file of ``NAME=value`` lines). A
reference that resolves nowhere raises ``ConfigError`` naming the key path and the variable
(never a value). References are resolved **only** in ``Secret`` fields: a plain ``str`` field
keeps ``"${NAME}"`` literally, because a resolved credential in a ``str`` field would show up in
the config's ``repr``. Error messages never show the value of a ``Secret`` field nor of an
unknown key.
"""

from __future__ import annotations

import enum
import hmac
import os
import re
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, final

import attrs

from alphaforge.errors import ConfigError, InvalidValue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["Secret", "load_config", "load_secrets_file"]

_T = TypeVar("_T")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@final
class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or error messages.

    Parameters
    ----------
    value
        The secret string.

    Examples
    --------
    >>> key = Secret("hunter2")
    >>> key
    Secret('***')
    >>> key.get_secret_value()
    'hunter2'

    Notes
    -----
    Deliberately not an attrs class: ``attrs.asdict`` on a config would otherwise recurse into
    it and expose the value. Equality is constant-time (:func:`hmac.compare_digest`).
    """

    __slots__ = ("_secret_value",)
    _secret_value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidValue(
                "value", "***", f"a Secret must be a str, not {type(value).__name__}"
            )
        object.__setattr__(self, "_secret_value", value)

    def get_secret_value(self) -> str:
        """Return the real string."""
        return self._secret_value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(
            self._secret_value.encode("utf-8"), other._secret_value.encode("utf-8")
        )

    def __hash__(self) -> int:
        return hash(("Secret", self._secret_value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._secret_value,))


@final
class _Placeholder:
    """Stands in for a value that must not (or cannot) be shown in an error."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


_HIDDEN = _Placeholder("<hidden>")
_MISSING = _Placeholder("<missing>")


@attrs.frozen
class _Context:
    environ: Mapping[str, str]
    secrets: Mapping[str, str]

    def lookup(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            value = self.secrets.get(name)
        return value


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _involves_secret(tp: Any) -> bool:
    if tp is Secret:
        return True
    return any(_involves_secret(arg) for arg in typing.get_args(tp))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_union(origin: Any) -> bool:
    return origin is Union or origin is types.UnionType


class _Converter:
    def __init__(self, ctx: _Context) -> None:
        self._ctx = ctx

    def _fail(self, tp: Any, value: Any, path: str, reason: str) -> ConfigError:
        shown = _HIDDEN if _involves_secret(tp) else value
        return ConfigError(path, shown, reason)

    def convert(self, tp: Any, value: Any, path: str) -> Any:
        if tp is Any:
            return value
        if tp is Secret:
            return self._secret(value, path)
        origin = typing.get_origin(tp)
        if _is_union(origin):
            return self._union(tp, value, path)
        if origin is Literal:
            choices = typing.get_args(tp)
            if any(value == c and type(value) is type(c) for c in choices):
                return value
            raise self._fail(tp, value, path, f"expected one of {list(choices)!r}")
        if origin in (list, Sequence, tuple):
            return self._sequence(tp, origin, value, path)
        if origin in (dict, Mapping):
            return self._mapping(tp, value, path)
        if isinstance(tp, type):
            return self._scalar(tp, value, path)
        raise ConfigError(path, _HIDDEN, f"unsupported field type {_type_name(tp)}")

    def _scalar(self, tp: type, value: Any, path: str) -> Any:
        if attrs.has(tp):
            if isinstance(value, tp):
                return value
            return self.build(tp, value, path)
        if tp is bool:
            if isinstance(value, bool):
                return value
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif tp is str:
            if isinstance(value, str):
                return value
        elif tp is Decimal:
            return self._decimal(value, path)
        elif issubclass(tp, enum.Enum):
            return self._enum(tp, value, path)
        elif tp is Path:
            if isinstance(value, (str, Path)):
                return Path(value)
        elif isinstance(value, tp):
            return value
        raise ConfigError(path, value, f"expected {_type_name(tp)}, got {type(value).__name__}")

    def _decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int) and not isinstance(value, bool):
            result = Decimal(value)
        elif isinstance(value, str):
            try:
                result = Decimal(value.strip())
            except InvalidOperation:
                raise ConfigError(path, value, "expected a decimal number") from None
        elif isinstance(value, float):
            raise ConfigError(
                path, value, "expected Decimal as a string or int; floats are inexact, quote it"
            )
        else:
            raise ConfigError(path, value, f"expected Decimal, got {type(value).__name__}")
        if not result.is_finite():
            raise ConfigError(path, value, "expected a finite decimal number")
        return result

    def _enum(self, tp: type[enum.Enum], value: Any, path: str) -> enum.Enum:
        if isinstance(value, tp):
            return value
        if isinstance(value, str) and value in tp.__members__:
            return tp.__members__[value]
        names = ", ".join(tp.__members__)
        raise ConfigError(path, value, f"expected a {tp.__name__} member name: {names}")

    def _secret(self, value: Any, path: str) -> Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise ConfigError(path, _HIDDEN, f"expected Secret (a str), got {type(value).__name__}")

        def resolve(match: re.Match[str]) -> str:
            name = match.group(1)
            found = self._ctx.lookup(name)
            if found is None:
                raise ConfigError(
                    path,
                    match.group(0),
                    f"environment variable {name!r} is not set and not in the secrets file",
                )
            return found

        return Secret(_ENV_REF.sub(resolve, value))

    def _union(self, tp: Any, value: Any, path: str) -> Any:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return self.convert(options[0], value, path)
        for option in options:
            try:
                return self.convert(option, value, path)
            except ConfigError:
                continue
        expected = " | ".join(_type_name(a) for a in args)
        raise self._fail(tp, value, path, f"expected {expected}, got {type(value).__name__}")

    def _sequence(self, tp: Any, origin: Any, value: Any, path: str) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise self._fail(
                tp, value, path, f"expected {_type_name(tp)} (an array), got {type(value).__name__}"
            )
        args = typing.get_args(tp)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise self._fail(tp, value, path, f"expected {len(args)} items, got {len(value)}")
            return tuple(
                self.convert(a, v, f"{path}[{i}]")
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        item_tp = args[0] if args else Any
        items = [self.convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items

    def _mapping(self, tp: Any, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self._fail(
                tp, value, path, f"expected {_type_name(tp)} (a table), got {type(value).__name__}"
            )
        args = typing.get_args(tp)
        key_tp, item_tp = args if args else (str, Any)
        if key_tp is not str:
            raise ConfigError(path, _HIDDEN, f"unsupported key type {_type_name(key_tp)}")
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(_join(path, repr(key)), _HIDDEN, "keys must be strings")
            result[key] = self.convert(item_tp, item, _join(path, key))
        return result

    def build(self, cls: type[_T], value: Any, path: str) -> _T:
        where = path or "<root>"
        if not isinstance(value, Mapping):
            raise ConfigError(
                where, value, f"expected a table for {cls.__name__}, got {type(value).__name__}"
            )
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:
            raise InvalidValue("cls", cls, f"cannot resolve the type annotations: {exc}") from exc
        fields = {(f.alias or f.name): f for f in attrs.fields(typing.cast(Any, cls)) if f.init}
        for key in value:
            if not isinstance(key, str) or key not in fields:
                accepted = ", ".join(fields) or "(none)"
                raise ConfigError(
                    _join(path, str(key)),
                    _HIDDEN,
                    f"unknown key; {cls.__name__} accepts: {accepted}",
                )
        kwargs: dict[str, Any] = {}
        for key, field in fields.items():
            key_path = _join(path, key)
            if key in value:
                kwargs[key] = self.convert(hints.get(field.name, Any), value[key], key_path)
            elif field.default is attrs.NOTHING:
                raise ConfigError(key_path, _MISSING, "required key is missing")
        try:
            return cls(**kwargs)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigError(where, _HIDDEN, f"rejected by {cls.__name__}: {exc}") from exc


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message gives line and column, never the offending text.
        raise ConfigError("source", origin, f"invalid TOML: {exc}") from None
    return data


def _read_text(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(field, str(path), "file not found") from None
    except OSError as exc:
        raise ConfigError(field, str(path), f"cannot read: {exc.strerror}") from None


def load_secrets_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a secrets file: a ``.toml`` table of strings, or ``NAME=value`` lines.

    In the env-file form, blank lines and ``#`` comments are skipped, an ``export`` prefix is
    allowed, and one pair of matching surrounding quotes is removed from the value.

    Raises
    ------
    ConfigError
        If the file is missing or malformed. Messages name the file and line or key, never a
        value.
    """
    file = Path(path)
    text = _read_text(file, "secrets_file")
    if file.suffix == ".toml":
        try:
            data: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("secrets_file", str(file), f"invalid TOML: {exc}") from None
        for key, value in data.items():
            if not isinstance(value, str):
                raise ConfigError(f"secrets_file.{key}", _HIDDEN, "must be a string")
        return dict(data)
    result: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise ConfigError(f"secrets_file:{lineno}", _HIDDEN, "expected NAME=value")
        name, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[name] = value
    return result


def load_config(
    cls: type[_T],
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    secrets_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> _T:
    """Build and validate an attrs config object.

    Parameters
    ----------
    cls
        The (frozen) attrs class that is the schema.
    source
        A mapping; a :class:`~pathlib.Path` (or any path-like) to a TOML file; or a str, which
        is read as a file path if it has no newline and either names an existing file or ends
        in ``.toml``, and is parsed as TOML text otherwise.
    secrets_file
        Optional second source for ``${NAME}`` references in :class:`Secret` fields (the
        environment takes precedence).
    environ
        The environment to resolve references from; defaults to :data:`os.environ`.

    Returns
    -------
    object
        An instance of ``cls``.

    Raises
    ------
    ConfigError
        For unknown keys, missing required keys, wrong types, unresolved secret references
        and unreadable sources; ``field`` is the full key path.
    InvalidValue
        If ``cls`` is not an attrs class.
    """
    schema: type[_T] = cls
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise InvalidValue("cls", cls, "must be an attrs class")
    data: Any
    if isinstance(source, Mapping):
        data = source
    elif isinstance(source, os.PathLike):
        path = Path(source)
        data = _parse_toml(_read_text(path, "source"), str(path))
    elif isinstance(source, str):
        if "\n" not in source and (source.endswith(".toml") or os.path.isfile(source)):
            data = _parse_toml(_read_text(Path(source), "source"), source)
        else:
            data = _parse_toml(source, "<toml text>")
    else:
        raise ConfigError(
            "source",
            _HIDDEN,
            f"expected a mapping, a path or TOML text, got {type(source).__name__}",
        )
    secrets = load_secrets_file(secrets_file) if secrets_file is not None else {}
    ctx = _Context(environ if environ is not None else os.environ, secrets)
    return _Converter(ctx).build(schema, data, "")
