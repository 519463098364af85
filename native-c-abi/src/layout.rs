//! `af_layout`: the sizes and offsets of every `#[repr(C)]` record, so the Python side can
//! check its cffi declarations against the compiled library at import.

use std::ffi::c_char;
use std::mem::{offset_of, size_of};

use crate::bars::{AfBar, AfPriceSample};
use crate::book::{AfBookDelta, AfBookFill, AfBookOrder, AfBookTop};
use crate::fixed::AfFixed;
use crate::guard::{guard, non_null, str_arg, FfiError};
use crate::matching::{
    AfMatchEvent, AfMatchLevel, AfMatchingConfig, AfOrderCommand, AfOrderInfo, AfQuoteTick,
    AfTradeTick,
};
use crate::status::*;

/// Size of a field's type, taken from a projection closure (no instance needed).
fn field_size<R, F>(_project: fn(&R) -> &F) -> usize {
    size_of::<F>()
}

/// One entry per record: `Record { field, ... }`. Add every new `#[repr(C)]` struct here;
/// tests/header.rs fails if a struct in the header is missing.
macro_rules! layout_table {
    ($($record:ident { $($field:ident),* $(,)? })*) => {
        pub(crate) const RECORDS: &[&str] = &[$(stringify!($record)),*];

        fn lookup(record: &str, field: Option<&str>) -> Option<(usize, usize)> {
            match record {
                $(stringify!($record) => match field {
                    None => Some((0, size_of::<$record>())),
                    $(Some(stringify!($field)) => Some((
                        offset_of!($record, $field),
                        field_size(|r: &$record| &r.$field),
                    )),)*
                    Some(_) => None,
                },)*
                _ => None,
            }
        }
    };
}

layout_table! {
    AfFixed { raw, precision }
    AfPriceSample { ts, price, size }
    AfBar { ts_open, ts_close, open, high, low, close, volume, ticks }
    AfMatchingConfig {
        price_increment, size_increment, min_quantity, max_quantity, maker_fee_rate,
        taker_fee_rate, day_end_offset_ns, mode, self_trade, queue_model, price_precision,
        size_precision, fee_rate_precision, fee_precision,
    }
    AfOrderCommand {
        ts, client_order_id, price, trigger_price, qty, display_qty, expire_ts, trader_id,
        flags, kind, side, order_type, time_in_force, reserved,
    }
    AfMatchEvent {
        ts, client_order_id, venue_order_id, trade_id, price, trigger_price, qty, leaves, fee,
        trader_id, reason, kind, liquidity, side, order_type, reserved,
    }
    AfQuoteTick { ts, bid_price, ask_price, bid_size, ask_size }
    AfTradeTick { ts, price, size, aggressor, reserved }
    AfMatchLevel { price, visible, total, orders, reserved }
    AfOrderInfo {
        client_order_id, venue_order_id, price, trigger_price, qty, filled, leaves, visible,
        display_qty, queue_ahead, expire_ts, trader_id, flags, side, order_type, time_in_force,
        pending_trigger, reserved,
    }
    AfBookDelta { ts_event, ts_init, sequence, order_id, price, size, action, side, flags, _pad }
    AfBookTop { bid_price, bid_size, ask_price, ask_size, sequence, ts_event, update_count, flags, last_flags, book_type, _pad }
    AfBookFill { filled, avg_price, slippage, best_price, worst_price, levels, avg_precision, complete, _pad }
    AfBookOrder { price, size, size_ahead, orders_ahead, side, _pad }
}

/// Offset and size of `record.field`, or offset 0 and the record size when `field` is NULL.
#[no_mangle]
pub unsafe extern "C" fn af_layout(
    record: *const c_char,
    field: *const c_char,
    offset: *mut usize,
    size: *mut usize,
) -> i32 {
    guard(|| {
        non_null(offset, "offset")?;
        non_null(size, "size")?;
        let record = str_arg(record, "record")?;
        let field = if field.is_null() {
            None
        } else {
            Some(str_arg(field, "field")?)
        };
        let (off, len) = lookup(record, field).ok_or_else(|| {
            let what = match field {
                Some(f) => format!("record={record:?}, field={f:?}: unknown field"),
                None => format!(
                    "record={record:?}: unknown record (known: {})",
                    RECORDS.join(", ")
                ),
            };
            FfiError::new(AF_ERR_NOT_FOUND, what)
        })?;
        *offset = off;
        *size = len;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null;

    #[test]
    fn af_fixed_layout() {
        let (mut off, mut size) = (9usize, 9usize);
        unsafe {
            assert_eq!(
                af_layout(c"AfFixed".as_ptr(), null(), &mut off, &mut size),
                AF_OK
            );
            assert_eq!((off, size), (0, 16));
            assert_eq!(
                af_layout(
                    c"AfFixed".as_ptr(),
                    c"precision".as_ptr(),
                    &mut off,
                    &mut size
                ),
                AF_OK
            );
            assert_eq!((off, size), (8, 1));
            assert_eq!(
                af_layout(c"AfFixed".as_ptr(), c"raw".as_ptr(), &mut off, &mut size),
                AF_OK
            );
            assert_eq!((off, size), (0, 8));
            assert_eq!(
                af_layout(c"AfFixed".as_ptr(), c"nope".as_ptr(), &mut off, &mut size),
                AF_ERR_NOT_FOUND
            );
            assert_eq!(
                af_layout(c"Nope".as_ptr(), null(), &mut off, &mut size),
                AF_ERR_NOT_FOUND
            );
            assert_eq!(
                af_layout(null(), null(), &mut off, &mut size),
                AF_ERR_NULL_POINTER
            );
            assert_eq!((off, size), (0, 8));
        }
    }
}
