"""CSV importers: Binance public data, Tardis.dev datasets, generic CSV with a column mapping.

Each format has three entry points: ``read_*`` streams :class:`~alphaforge.data.arrays.
MarketArray` chunks, ``load_*`` returns one array, ``import_*`` writes into a
:class:`~alphaforge.data.catalog.ParquetDataCatalog` all or nothing.
"""

from __future__ import annotations

from alphaforge.data.importers._common import ImportResult
from alphaforge.data.importers.binance import import_binance, load_binance, read_binance
from alphaforge.data.importers.csv import CsvSpec, import_csv, load_csv, read_csv
from alphaforge.data.importers.tardis import import_tardis, load_tardis, read_tardis

__all__ = [
    "CsvSpec",
    "ImportResult",
    "import_binance",
    "import_csv",
    "import_tardis",
    "load_binance",
    "load_csv",
    "load_tardis",
    "read_binance",
    "read_csv",
    "read_tardis",
]
