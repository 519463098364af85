//! Domain newtypes over [`Fixed`]: `Price` (signed), `Quantity` (never negative), `Money`.

use std::fmt;
use std::str::FromStr;

use crate::error::{CoreError, CoreResult};
use crate::fixed::Fixed;

/// A price; may be negative (spreads, some futures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(Fixed);

impl Price {
    pub fn new(raw: i64, precision: u8) -> CoreResult<Self> {
        Fixed::new(raw, precision).map(Price)
    }
    pub fn parse(text: &str) -> CoreResult<Self> {
        Fixed::parse(text).map(Price)
    }
    pub fn parse_with_precision(text: &str, precision: u8) -> CoreResult<Self> {
        Fixed::parse_with_precision(text, precision).map(Price)
    }
    pub fn fixed(self) -> Fixed {
        self.0
    }
    pub fn checked_add(self, other: Price) -> CoreResult<Price> {
        self.0.checked_add(other.0).map(Price)
    }
    pub fn checked_sub(self, other: Price) -> CoreResult<Price> {
        self.0.checked_sub(other.0).map(Price)
    }
}

impl From<Fixed> for Price {
    fn from(value: Fixed) -> Self {
        Price(value)
    }
}

/// A quantity; a negative value is rejected at construction and by every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(Fixed);

impl Quantity {
    pub fn new(raw: i64, precision: u8) -> CoreResult<Self> {
        Quantity::try_from(Fixed::new(raw, precision)?)
    }
    pub fn parse(text: &str) -> CoreResult<Self> {
        Quantity::try_from(Fixed::parse(text)?)
    }
    pub fn parse_with_precision(text: &str, precision: u8) -> CoreResult<Self> {
        Quantity::try_from(Fixed::parse_with_precision(text, precision)?)
    }
    pub fn fixed(self) -> Fixed {
        self.0
    }
    pub fn checked_add(self, other: Quantity) -> CoreResult<Quantity> {
        Quantity::try_from(self.0.checked_add(other.0)?)
    }
    /// Fails with `InvalidArgument` if the result would be negative.
    pub fn checked_sub(self, other: Quantity) -> CoreResult<Quantity> {
        Quantity::try_from(self.0.checked_sub(other.0)?)
    }
}

impl TryFrom<Fixed> for Quantity {
    type Error = CoreError;

    fn try_from(value: Fixed) -> CoreResult<Self> {
        if value.is_negative() {
            return Err(CoreError::InvalidArgument {
                field: "quantity",
                value: value.to_string(),
                reason: "must not be negative".into(),
            });
        }
        Ok(Quantity(value))
    }
}

/// An ISO-4217-like currency code: 1 to 8 ASCII uppercase letters or digits, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    bytes: [u8; 8],
    len: u8,
}

impl Currency {
    pub const MAX_LEN: usize = 8;

    pub fn new(code: &str) -> CoreResult<Self> {
        let invalid = |reason: &str| CoreError::InvalidArgument {
            field: "currency",
            value: format!("{code:?}"),
            reason: reason.into(),
        };
        if code.is_empty() || code.len() > Self::MAX_LEN {
            return Err(invalid("must be 1 to 8 characters"));
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(invalid("must be ASCII uppercase letters or digits"));
        }
        let mut bytes = [0u8; 8];
        bytes[..code.len()].copy_from_slice(code.as_bytes());
        Ok(Currency {
            bytes,
            len: code.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored, so this cannot fail; fall back to "" rather than panic.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = CoreError;
    fn from_str(s: &str) -> CoreResult<Self> {
        Currency::new(s)
    }
}

/// An amount in a currency. Arithmetic between different currencies is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Fixed,
    currency: Currency,
}

impl Money {
    pub fn new(amount: Fixed, currency: Currency) -> Self {
        Money { amount, currency }
    }
    pub fn parse(amount: &str, currency: &str) -> CoreResult<Self> {
        Ok(Money::new(Fixed::parse(amount)?, Currency::new(currency)?))
    }
    pub fn amount(self) -> Fixed {
        self.amount
    }
    pub fn currency(self) -> Currency {
        self.currency
    }
    pub fn checked_add(self, other: Money) -> CoreResult<Money> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount.checked_add(other.amount)?,
            self.currency,
        ))
    }
    pub fn checked_sub(self, other: Money) -> CoreResult<Money> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount.checked_sub(other.amount)?,
            self.currency,
        ))
    }

    fn same_currency(self, other: Money) -> CoreResult<()> {
        if self.currency != other.currency {
            return Err(CoreError::InvalidArgument {
                field: "currency",
                value: other.currency.to_string(),
                reason: format!("does not match {}", self.currency),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

macro_rules! display_via_fixed {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl FromStr for $t {
            type Err = CoreError;
            fn from_str(s: &str) -> CoreResult<Self> {
                <$t>::parse(s)
            }
        }
    )*};
}
display_via_fixed!(Price, Quantity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_rejects_negative() {
        assert!(Quantity::parse("-1").is_err());
        assert!(Quantity::new(-1, 0).is_err());
        let a = Quantity::parse("1.5").unwrap();
        let b = Quantity::parse("2").unwrap();
        assert!(matches!(
            a.checked_sub(b),
            Err(CoreError::InvalidArgument { .. })
        ));
        assert_eq!(b.checked_sub(a).unwrap().to_string(), "0.5");
        assert_eq!(Quantity::parse("-0").unwrap().to_string(), "0");
    }

    #[test]
    fn price_is_signed() {
        let p: Price = "-1.25".parse().unwrap();
        assert_eq!(p.to_string(), "-1.25");
        assert_eq!(
            p.checked_add(Price::parse("2").unwrap())
                .unwrap()
                .to_string(),
            "0.75"
        );
        assert_eq!(
            Price::parse_with_precision("3", 2).unwrap().to_string(),
            "3.00"
        );
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::new("USDT").unwrap().as_str(), "USDT");
        assert_eq!(Currency::new("1INCH").unwrap().to_string(), "1INCH");
        for bad in ["", "usd", "TOOLONGXX", "US D", "€"] {
            assert!(Currency::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_same_currency_only() {
        let a = Money::parse("10.50", "USD").unwrap();
        let b = Money::parse("0.5", "USD").unwrap();
        assert_eq!(a.checked_add(b).unwrap().to_string(), "11.00 USD");
        assert_eq!(a.checked_sub(b).unwrap().to_string(), "10.00 USD");
        let c = Money::parse("1", "EUR").unwrap();
        assert!(matches!(
            a.checked_add(c),
            Err(CoreError::InvalidArgument { .. })
        ));
    }
}
