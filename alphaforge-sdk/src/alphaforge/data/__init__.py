"""Market data for backtests: columnar schemas, a Parquet catalog, importers, a synthetic market.

* :mod:`~alphaforge.data.schemas` -- Arrow schemas and numpy dtypes (raw int64 fixed point,
  uint64 nanoseconds, precision once per column).
* :mod:`~alphaforge.data.arrays` -- :class:`MarketArray` (numpy structured array + precisions)
  and conversions to Arrow and to model objects.
* :mod:`~alphaforge.data.catalog` -- :class:`ParquetDataCatalog`: atomic writes per
  instrument and day, range queries, streaming reads.
* :mod:`~alphaforge.data.importers` -- Binance, Tardis and generic CSV importers (streaming,
  exact, all-or-nothing).
* :mod:`~alphaforge.data.synthetic` -- :func:`generate_market`, the seeded default market.
* :mod:`~alphaforge.data.merge` -- deterministic merging of several sorted streams.

Names are imported lazily (pyarrow is only loaded when something here is used).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.data.arrays import MarketArray, concat_arrays
    from alphaforge.data.catalog import ParquetDataCatalog, WriteResult
    from alphaforge.data.errors import CatalogError, DataImportError, OutOfOrderError, OverlapError
    from alphaforge.data.importers import (
        CsvSpec,
        ImportResult,
        import_binance,
        import_csv,
        import_tardis,
        load_binance,
        load_csv,
        load_tardis,
        read_binance,
        read_csv,
        read_tardis,
    )
    from alphaforge.data.merge import merge_order, merge_sorted
    from alphaforge.data.schemas import (
        BAR_DTYPE,
        QUOTE_DTYPE,
        TRADE_DTYPE,
        DataType,
        arrow_schema,
        book_delta_dtype,
        numpy_dtype,
    )
    from alphaforge.data.synthetic import (
        MarketData,
        SyntheticConfig,
        default_instrument,
        generate_market,
        write_to_catalog,
    )

_EXPORTS: Mapping[str, str] = MappingProxyType(
    {
        "BAR_DTYPE": "alphaforge.data.schemas",
        "QUOTE_DTYPE": "alphaforge.data.schemas",
        "TRADE_DTYPE": "alphaforge.data.schemas",
        "DataType": "alphaforge.data.schemas",
        "arrow_schema": "alphaforge.data.schemas",
        "book_delta_dtype": "alphaforge.data.schemas",
        "numpy_dtype": "alphaforge.data.schemas",
        "MarketArray": "alphaforge.data.arrays",
        "concat_arrays": "alphaforge.data.arrays",
        "ParquetDataCatalog": "alphaforge.data.catalog",
        "WriteResult": "alphaforge.data.catalog",
        "CatalogError": "alphaforge.data.errors",
        "DataImportError": "alphaforge.data.errors",
        "OutOfOrderError": "alphaforge.data.errors",
        "OverlapError": "alphaforge.data.errors",
        "CsvSpec": "alphaforge.data.importers",
        "ImportResult": "alphaforge.data.importers",
        "import_binance": "alphaforge.data.importers",
        "import_csv": "alphaforge.data.importers",
        "import_tardis": "alphaforge.data.importers",
        "load_binance": "alphaforge.data.importers",
        "load_csv": "alphaforge.data.importers",
        "load_tardis": "alphaforge.data.importers",
        "read_binance": "alphaforge.data.importers",
        "read_csv": "alphaforge.data.importers",
        "read_tardis": "alphaforge.data.importers",
        "merge_order": "alphaforge.data.merge",
        "merge_sorted": "alphaforge.data.merge",
        "MarketData": "alphaforge.data.synthetic",
        "SyntheticConfig": "alphaforge.data.synthetic",
        "default_instrument": "alphaforge.data.synthetic",
        "generate_market": "alphaforge.data.synthetic",
        "write_to_catalog": "alphaforge.data.synthetic",
    }
)

__all__ = [
    "BAR_DTYPE",
    "CatalogError",
    "CsvSpec",
    "DataImportError",
    "DataType",
    "ImportResult",
    "MarketArray",
    "MarketData",
    "OutOfOrderError",
    "OverlapError",
    "ParquetDataCatalog",
    "QUOTE_DTYPE",
    "SyntheticConfig",
    "TRADE_DTYPE",
    "WriteResult",
    "arrow_schema",
    "book_delta_dtype",
    "concat_arrays",
    "default_instrument",
    "generate_market",
    "import_binance",
    "import_csv",
    "import_tardis",
    "load_binance",
    "load_csv",
    "load_tardis",
    "merge_order",
    "merge_sorted",
    "numpy_dtype",
    "read_binance",
    "read_csv",
    "read_tardis",
    "write_to_catalog",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
