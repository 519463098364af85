"""Errors raised by the data layer (catalog, importers, conversions).

All derive from :class:`~alphaforge.errors.InvalidValue` (bad input: the message names where
and what), so ``except ValueError`` and ``except AlphaForgeError`` both catch them.
"""

from __future__ import annotations

from typing import Any

from alphaforge.errors import InvalidValue

__all__ = ["CatalogError", "DataImportError", "OutOfOrderError", "OverlapError"]


class DataImportError(InvalidValue):
    """A malformed row in an imported file; nothing of the import was written.

    Attributes
    ----------
    path
        The file being imported.
    line
        1-based physical line number in the (decompressed) file, or ``None`` when unknown.
    column
        The column (as named in the file or by the importer), or ``None`` for a whole row.
    value
        The offending text.
    expected
        What the importer expected instead.
    """

    def __init__(
        self, path: str, line: int | None, column: str | None, value: Any, expected: str
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.expected = expected
        where = f"{path}:{line}" if line is not None else path
        col = f" column {column!r}:" if column is not None else ""
        message = f"{where}:{col} expected {expected}, got {value!r}"
        Exception.__init__(self, message)
        self.field = column or ""
        self.value = value
        self.reason = message


class OutOfOrderError(DataImportError):
    """A row's ``ts_init`` is earlier than the row before it (pass ``sort=True`` to sort)."""


class CatalogError(InvalidValue):
    """A catalog write or read was refused; the catalog is unchanged.

    The message names the data type, the instrument (or bar type) and the conflict.
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.field = ""
        self.value = None
        self.reason = message


class OverlapError(CatalogError):
    """New data overlaps (or precedes) data already in the catalog; use ``mode="overwrite"``."""
