"""Log-linear (HDR-style) bucketing of non-negative integers.

Values below ``2**bits`` get a bucket each (exact). Above, every power-of-two range
``[2**k, 2**(k+1))`` is split into ``2**(bits-1)`` equal buckets, so a bucket is at most
``1 / 2**(bits-1)`` of its lower bound wide: with the default ``bits=8`` every recorded value is
known to within 0.79 % (better than two significant digits) over the whole int64 range, in
``256 + 55 * 128 = 7296`` buckets.

A value's bucket index is a few integer operations (:meth:`LogLinearLayout.index`; vectorised
over numpy arrays in :meth:`LogLinearLayout.indices`). Following HdrHistogram, a bucket stands
for all of its values: "count at or below ``v``" includes the whole bucket that holds ``v``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from alphaforge.errors import InvalidValue

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["LogLinearLayout"]

_MAX_BITS = 16


def _check_bits(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= _MAX_BITS:
        raise InvalidValue(attribute.name, value, f"must be an int in 2..{_MAX_BITS}")


@attrs.frozen
class LogLinearLayout:
    """Bucket boundaries for values in ``[0, 2**63)``.

    Parameters
    ----------
    bits
        Sub-bucket resolution: ``2**bits`` exact buckets at the bottom, then ``2**(bits-1)``
        buckets per power of two (relative width at most ``2**(1-bits)``).
    """

    bits: int = attrs.field(default=8, validator=_check_bits)

    @property
    def size(self) -> int:
        """Number of buckets."""
        return (1 << self.bits) + (63 - self.bits) * (1 << (self.bits - 1))

    @property
    def relative_precision(self) -> float:
        """The largest bucket width relative to its lower bound."""
        return 1.0 / (1 << (self.bits - 1))

    def index(self, value: int) -> int:
        """The bucket index of one value (negative values count as 0).

        With ``shift = max(bit_length - bits, 0)`` the index is ``(value >> shift) + shift *
        2**(bits-1)``: exact below ``2**bits``, then ``2**(bits-1)`` buckets per power of two.

        Parameters
        ----------
        value
            An int below ``2**63``.
        """
        if value < 0:
            return 0
        shift = max(value.bit_length() - self.bits, 0)
        return (value >> shift) + shift * (1 << (self.bits - 1))

    def bucket_bounds(self, index: int) -> tuple[int, int]:
        """The half-open value range ``[lo, hi)`` of bucket ``index``.

        Raises
        ------
        InvalidValue
            If ``index`` is outside ``0 .. size - 1``.
        """
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise InvalidValue("index", index, f"must be an int in 0..{self.size - 1}")
        full = 1 << self.bits
        if index < full:
            return index, index + 1
        half = full >> 1
        shift, offset = divmod(index - full, half)
        shift += 1
        top = half + offset
        return top << shift, (top + 1) << shift

    def highest_equivalent(self, index: int) -> int:
        """The largest value in bucket ``index`` (what quantiles report, as HdrHistogram)."""
        return self.bucket_bounds(index)[1] - 1

    def indices(self, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Bucket indices of an int64 array of non-negative values (vectorised :meth:`index`).

        Parameters
        ----------
        values
            Non-negative int64 values.
        """
        import numpy as np

        # frexp's exponent is the bit length (exact below 2**53).
        shift = np.frexp(values.astype(np.float64))[1].astype(np.int64)
        shift -= self.bits
        np.maximum(shift, 0, out=shift)
        top = values >> shift
        if values.size and int(values.max()) >= 1 << 53:
            # Float rounding may push a value just below a power of two up by one bit.
            low = top < (1 << (self.bits - 1))
            low &= shift > 0
            shift[low] -= 1
            top = values >> shift
        top += shift * (1 << (self.bits - 1))
        return top
