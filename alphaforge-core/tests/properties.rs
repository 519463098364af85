//! Property tests: every operation against an exact big-integer reference.

use alphaforge_core::{CoreError, Fixed, Rounding, UnixNanos};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use proptest::prelude::*;

fn pow10(exp: u32) -> BigInt {
    BigInt::from(10u8).pow(exp)
}

/// `n / d` rounded with `mode`, computed independently of the crate (floor-based).
fn round_div(n: BigInt, d: BigInt, mode: Rounding) -> BigInt {
    let (n, d) = if d.is_negative() { (-n, -d) } else { (n, d) };
    let (floor, rem) = n.div_mod_floor(&d); // 0 <= rem < d
    if rem.is_zero() {
        return floor;
    }
    let ceil = &floor + 1;
    match mode {
        Rounding::Floor => floor,
        Rounding::Ceiling => ceil,
        Rounding::Down if n.is_positive() => floor,
        Rounding::Down => ceil,
        Rounding::Up if n.is_positive() => ceil,
        Rounding::Up => floor,
        Rounding::HalfEven => match (rem * BigInt::from(2)).cmp(&d) {
            std::cmp::Ordering::Less => floor,
            std::cmp::Ordering::Greater => ceil,
            std::cmp::Ordering::Equal if floor.is_even() => floor,
            std::cmp::Ordering::Equal => ceil,
        },
    }
}

/// The expected outcome: `Ok(raw)` if the exact rounded result fits i64, else overflow.
fn expect(value: BigInt) -> Option<i64> {
    value.to_i64()
}

fn check(result: Result<Fixed, CoreError>, expected: Option<i64>, precision: u8) {
    match (result, expected) {
        (Ok(v), Some(raw)) => {
            assert_eq!(v.raw(), raw);
            assert_eq!(v.precision(), precision);
        }
        (Err(CoreError::Overflow { .. }), None) => {}
        (got, want) => panic!("got {got:?}, want raw {want:?} at precision {precision}"),
    }
}

fn raw_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -1_000_000i64..1_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        (any::<i64>(), 0u32..19).prop_map(|(r, k)| r / 10i64.pow(k)),
    ]
}

fn fixed_strategy() -> impl Strategy<Value = Fixed> {
    (raw_strategy(), 0u8..=18).prop_map(|(raw, p)| Fixed::new(raw, p).unwrap())
}

fn rounding_strategy() -> impl Strategy<Value = Rounding> {
    proptest::sample::select(Rounding::ALL.to_vec())
}

fn big(v: Fixed) -> BigInt {
    BigInt::from(v.raw())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_parse_round_trip(v in fixed_strategy()) {
        let text = v.to_string();
        let back = Fixed::parse(&text).unwrap();
        prop_assert_eq!((back.raw(), back.precision()), (v.raw(), v.precision()));
        let exact = Fixed::parse_with_precision(&text, v.precision()).unwrap();
        prop_assert_eq!(exact.raw(), v.raw());
    }

    #[test]
    fn parse_matches_reference(neg in any::<bool>(), int in "[0-9]{1,22}", frac in "[0-9]{0,20}") {
        let text = format!("{}{}{}{}", if neg { "-" } else { "" }, int, if frac.is_empty() { "" } else { "." }, frac);
        let digits: BigInt = format!("{int}{frac}").parse().unwrap();
        let raw = if neg { -digits } else { digits };
        match Fixed::parse(&text) {
            Ok(v) => {
                prop_assert_eq!(usize::from(v.precision()), frac.len());
                prop_assert_eq!(BigInt::from(v.raw()), raw);
            }
            Err(_) => prop_assert!(frac.len() > 18 || raw.to_i64().is_none()),
        }
    }

    #[test]
    fn add_sub_match_reference(a in fixed_strategy(), b in fixed_strategy()) {
        let p = a.precision().max(b.precision());
        let sa = big(a) * pow10(u32::from(p - a.precision()));
        let sb = big(b) * pow10(u32::from(p - b.precision()));
        check(a.checked_add(b), expect(&sa + &sb), p);
        check(a.checked_sub(b), expect(sa - sb), p);
    }

    #[test]
    fn mul_matches_reference(a in fixed_strategy(), b in fixed_strategy(), p in 0u8..=18, mode in rounding_strategy()) {
        let n = big(a) * big(b) * pow10(u32::from(p));
        let d = pow10(u32::from(a.precision()) + u32::from(b.precision()));
        check(a.checked_mul(b, p, mode), expect(round_div(n, d, mode)), p);
    }

    #[test]
    fn div_matches_reference(a in fixed_strategy(), b in fixed_strategy(), p in 0u8..=18, mode in rounding_strategy()) {
        if b.raw() == 0 {
            prop_assert_eq!(a.checked_div(b, p, mode), Err(CoreError::DivisionByZero));
        } else {
            let n = big(a) * pow10(u32::from(b.precision()) + u32::from(p));
            let d = big(b) * pow10(u32::from(a.precision()));
            check(a.checked_div(b, p, mode), expect(round_div(n, d, mode)), p);
        }
    }

    #[test]
    fn rescale_matches_reference(a in fixed_strategy(), p in 0u8..=18, mode in rounding_strategy()) {
        let n = big(a) * pow10(u32::from(p));
        let d = pow10(u32::from(a.precision()));
        check(a.rescale(p, mode), expect(round_div(n, d, mode)), p);
    }

    #[test]
    fn cmp_matches_reference(a in fixed_strategy(), b in fixed_strategy()) {
        let sa = big(a) * pow10(u32::from(b.precision()));
        let sb = big(b) * pow10(u32::from(a.precision()));
        prop_assert_eq!(a.cmp(&b), sa.cmp(&sb));
        prop_assert_eq!(a == b, sa == sb);
        // Equal values at different precisions compare equal.
        if let Ok(wider) = a.rescale(18, Rounding::Down) {
            prop_assert_eq!(wider, a);
        }
    }

    #[test]
    fn neg_abs_match_reference(a in fixed_strategy()) {
        check(a.checked_neg(), expect(-big(a)), a.precision());
        check(a.checked_abs(), expect(big(a).abs()), a.precision());
    }

    #[test]
    fn timestamp_round_trip(ns in any::<u64>()) {
        let text = UnixNanos(ns).to_iso8601();
        prop_assert_eq!(text.len(), 30);
        prop_assert_eq!(UnixNanos::parse_iso8601(&text), Ok(UnixNanos(ns)));
    }

    #[test]
    fn timestamp_offsets_agree(secs in 86_400u64..15_000_000_000, oh in 0u64..24, om in 0u64..60) {
        let t = UnixNanos::from_secs(secs).unwrap();
        let shift = oh * 3600 + om * 60;
        // The same instant written in the local time of a +HH:MM zone.
        let local = UnixNanos::from_secs(secs + shift).unwrap().to_iso8601();
        let with_offset = format!("{}+{oh:02}:{om:02}", &local[..local.len() - 1]);
        prop_assert_eq!(UnixNanos::parse_iso8601(&with_offset), Ok(t));
    }
}
