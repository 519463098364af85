//! Fees: `fee = price * qty * rate`, exact in 128-bit integers, rounded half-even to the fee
//! precision.

/// `price_raw * qty_raw * rate_raw` is at precision `in_precision` (the sum of the three
/// precisions); returns it at `out_precision`, rounded half to even. Magnitudes whose exact
/// product does not fit in `i128` (far beyond any real notional) are first reduced by
/// dropping low decimal digits of `price * qty`, and a result beyond `i64` saturates.
pub(crate) fn fee_raw(price: i64, qty: i64, rate: i64, in_precision: u8, out_precision: u8) -> i64 {
    if rate == 0 || qty == 0 || price == 0 {
        return 0;
    }
    let mut notional = i128::from(price) * i128::from(qty);
    let mut shift = i32::from(in_precision) - i32::from(out_precision);
    // Reduce until the product with the rate fits (at most ~19 digits).
    let mut product = notional.checked_mul(i128::from(rate));
    while product.is_none() && shift > 0 {
        notional = div_round_half_even(notional, 10);
        shift -= 1;
        product = notional.checked_mul(i128::from(rate));
    }
    let Some(mut value) = product else {
        return saturate(if (notional < 0) == (rate < 0) { 1 } else { -1 });
    };
    if shift > 0 {
        // 10^38 < i128::MAX < 10^39: beyond 38 digits the quotient rounds to 0.
        value = if shift > 38 {
            0
        } else {
            div_round_half_even(value, 10i128.pow(shift as u32))
        };
    } else if shift < 0 {
        let up = (-shift) as u32;
        value = match 10i128.checked_pow(up).and_then(|m| value.checked_mul(m)) {
            Some(v) => v,
            None => return saturate(value.signum() as i8),
        };
    }
    i64::try_from(value).unwrap_or_else(|_| saturate(value.signum() as i8))
}

fn saturate(sign: i8) -> i64 {
    if sign < 0 {
        i64::MIN
    } else {
        i64::MAX
    }
}

/// `n / d` (d > 0) rounded half to even.
fn div_round_half_even(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    // n = q*d + r with 0 <= r < d; compare 2r with d (avoid overflow: r vs d - r).
    let twice_cmp = r.cmp(&(d - r));
    match twice_cmp {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_fees() {
        // price 100.00 (2), qty 1.5 (1), rate 0.001 (3) -> 0.15 at fee precision 2 = 15
        assert_eq!(fee_raw(10_000, 15, 1, 6, 2), 15);
        // rebate
        assert_eq!(fee_raw(10_000, 15, -1, 6, 2), -15);
        // half-even: 0.125 -> 0.12, 0.135 -> 0.14 at 2 dp
        assert_eq!(fee_raw(125, 1, 1, 5, 2), 0); // 0.00125 -> 0.00
        assert_eq!(fee_raw(125, 1, 1, 3, 2), 12);
        assert_eq!(fee_raw(135, 1, 1, 3, 2), 14);
        assert_eq!(fee_raw(-125, 1, 1, 3, 2), -12);
        // scaling up
        assert_eq!(fee_raw(3, 2, 1, 0, 4), 60_000);
        assert_eq!(fee_raw(0, 2, 1, 0, 4), 0);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        // 1e18 * 1e18 * 1e18 at precision 54 -> 1 at precision 0, scaled to 18 -> 1e18
        let one = 1_000_000_000_000_000_000i64;
        assert_eq!(fee_raw(one, one, one, 54, 18), one);
        assert_eq!(fee_raw(i64::MAX, i64::MAX, i64::MAX, 0, 0), i64::MAX);
        assert_eq!(fee_raw(i64::MAX, i64::MAX, -i64::MAX, 0, 0), i64::MIN);
        // (2^63 - 1)^3 / 10^54 = 784.6...
        assert_eq!(fee_raw(i64::MAX, i64::MAX, i64::MAX, 54, 0), 785);
    }
}
