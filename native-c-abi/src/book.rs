//! `af_book_*`: native order books (L1, L2, L3) behind an opaque handle.
//!
//! Deltas cross the boundary as `AfBookDelta` records, one at a time or as a contiguous batch
//! that is read in place (the record has exactly the layout of the core's `BookDelta`). A batch
//! is all or nothing. After every successful change the handle republishes an `AfBookTop`
//! that callers may read directly through the pointer from `af_book_top_ptr` (see its docs for
//! the lifetime and threading rules).

use std::cell::UnsafeCell;
use std::mem::{align_of, offset_of, size_of};
use std::sync::{Mutex, MutexGuard};

use alphaforge_core::book::{
    BookDelta, BookError, BookErrorKind, BookQuery, BookType, OrderBook, Side,
};

use crate::guard::{guard, guard_value, non_null, FfiError, FfiResult};
use crate::status::*;

/// Book type: top of book only.
pub const AF_BOOK_L1_MBP: u8 = 1;
/// Book type: market by price.
pub const AF_BOOK_L2_MBP: u8 = 2;
/// Book type: market by order.
pub const AF_BOOK_L3_MBO: u8 = 3;

/// Delta action: add a level (L1/L2) or an order (L3).
pub const AF_BOOK_ADD: u8 = 1;
/// Delta action: new size of a level or order (0 removes it).
pub const AF_BOOK_UPDATE: u8 = 2;
/// Delta action: remove a level or order.
pub const AF_BOOK_DELETE: u8 = 3;
/// Delta action: empty one side (side 1/2) or both (side 0).
pub const AF_BOOK_CLEAR: u8 = 4;

/// Side value for CLEAR of both sides.
pub const AF_BOOK_NO_SIDE: u8 = 0;
/// Bids / a buy order.
pub const AF_BOOK_BUY: u8 = 1;
/// Asks / a sell order.
pub const AF_BOOK_SELL: u8 = 2;

/// Delta flag: last delta of an atomic venue update.
pub const AF_BOOK_F_LAST: u8 = 128;
/// Delta flag: part of a snapshot.
pub const AF_BOOK_F_SNAPSHOT: u8 = 32;

/// `AfBookTop.flags`: there is a best bid.
pub const AF_BOOK_TOP_HAS_BID: u32 = 1;
/// `AfBookTop.flags`: there is a best ask.
pub const AF_BOOK_TOP_HAS_ASK: u32 = 2;

/// `af_book_crossing`: best bid < best ask, or a side is empty.
pub const AF_BOOK_UNCROSSED: i32 = 0;
/// `af_book_crossing`: best bid == best ask.
pub const AF_BOOK_LOCKED: i32 = 1;
/// `af_book_crossing`: best bid > best ask.
pub const AF_BOOK_CROSSED: i32 = 2;

/// One book change (56 bytes). Prices and sizes are raw integers at the book's precisions.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfBookDelta {
    /// Venue event time, ns since the Unix epoch.
    pub ts_event: u64,
    /// Local receive/build time, ns since the Unix epoch (carried, not used by the book).
    pub ts_init: u64,
    /// Venue sequence number; must not go down (0 when the venue has none).
    pub sequence: u64,
    /// Venue order id (L3 books); ignored by L1/L2 books.
    pub order_id: u64,
    /// Raw price.
    pub price: i64,
    /// Raw size: the level's (L1/L2) or the order's (L3) new size.
    pub size: i64,
    /// AF_BOOK_ADD / _UPDATE / _DELETE / _CLEAR.
    pub action: u8,
    /// AF_BOOK_BUY / AF_BOOK_SELL (AF_BOOK_NO_SIDE for CLEAR of both sides).
    pub side: u8,
    /// Bit set of AF_BOOK_F_LAST, AF_BOOK_F_SNAPSHOT.
    pub flags: u8,
    /// Padding; ignored.
    pub _pad: [u8; 5],
}

// The batch is read in place as the core's `BookDelta`: the layouts must be identical.
const _: () = {
    assert!(size_of::<AfBookDelta>() == size_of::<BookDelta>());
    assert!(align_of::<AfBookDelta>() == align_of::<BookDelta>());
    assert!(offset_of!(AfBookDelta, ts_event) == offset_of!(BookDelta, ts_event));
    assert!(offset_of!(AfBookDelta, ts_init) == offset_of!(BookDelta, ts_init));
    assert!(offset_of!(AfBookDelta, sequence) == offset_of!(BookDelta, sequence));
    assert!(offset_of!(AfBookDelta, order_id) == offset_of!(BookDelta, order_id));
    assert!(offset_of!(AfBookDelta, price) == offset_of!(BookDelta, price));
    assert!(offset_of!(AfBookDelta, size) == offset_of!(BookDelta, size));
    assert!(offset_of!(AfBookDelta, action) == offset_of!(BookDelta, action));
    assert!(offset_of!(AfBookDelta, side) == offset_of!(BookDelta, side));
    assert!(offset_of!(AfBookDelta, flags) == offset_of!(BookDelta, flags));
    assert!(offset_of!(AfBookDelta, _pad) == offset_of!(BookDelta, reserved));
    assert!(size_of::<AfBookDelta>() == 56);
};

/// Top of book and bookkeeping (64 bytes). When a side is empty its price is INT64_MIN and
/// its size 0; `flags` says authoritatively which sides are present.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfBookTop {
    pub bid_price: i64,
    pub bid_size: i64,
    pub ask_price: i64,
    pub ask_size: i64,
    /// Sequence of the last applied delta.
    pub sequence: u64,
    /// ts_event of the last applied delta.
    pub ts_event: u64,
    /// Number of successful changing calls on the handle (apply, batch, quote, trade, clear).
    pub update_count: u64,
    /// AF_BOOK_TOP_HAS_BID | AF_BOOK_TOP_HAS_ASK.
    pub flags: u32,
    /// Flags of the last applied delta (AF_BOOK_F_LAST, ...).
    pub last_flags: u8,
    /// The book type (AF_BOOK_L1_MBP, ...).
    pub book_type: u8,
    pub _pad: [u8; 2],
}

/// Result of `af_book_fill_price` (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfBookFill {
    /// Raw size the book can fill (<= the quantity asked).
    pub filled: i64,
    /// Volume-weighted average price, raw at `avg_precision` (0 if nothing fills).
    pub avg_price: i64,
    /// How much worse than `best_price` the average is, raw at `avg_precision`, >= 0.
    pub slippage: i64,
    /// Best price of the walked side before the fill (raw, book precision; 0 if empty).
    pub best_price: i64,
    /// Price of the last level touched (raw, book precision; 0 if nothing fills).
    pub worst_price: i64,
    /// Number of levels touched.
    pub levels: u32,
    /// Precision of `avg_price` and `slippage` (the `precision` argument).
    pub avg_precision: u8,
    /// 1 if the whole quantity fills, else 0.
    pub complete: u8,
    pub _pad: [u8; 2],
}

/// An order of an L3 book and its place in the queue (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfBookOrder {
    pub price: i64,
    pub size: i64,
    /// Total size of the orders ahead of it at its price.
    pub size_ahead: i64,
    /// Number of orders ahead of it at its price.
    pub orders_ahead: u32,
    /// AF_BOOK_BUY or AF_BOOK_SELL.
    pub side: u8,
    pub _pad: [u8; 3],
}

struct Inner {
    book: OrderBook,
    update_count: u64,
}

/// Opaque handle. The Mutex is needed because cffi releases the GIL around calls; the
/// published top lives outside it so that callers can read it without a call.
pub struct AfBook {
    inner: Mutex<Inner>,
    top: UnsafeCell<AfBookTop>,
}

// `top` is only written while `inner` is locked (see `publish`).
unsafe impl Sync for AfBook {}

unsafe fn lock<'a>(h: *mut AfBook) -> FfiResult<MutexGuard<'a, Inner>> {
    non_null(h, "h")?;
    (*h).inner.lock().map_err(|_| {
        FfiError::new(
            AF_ERR_STATE,
            "h: book is unusable after a panic inside a call (poisoned lock); free it",
        )
    })
}

fn status_of_book(err: &BookError) -> i32 {
    match err.kind {
        BookErrorKind::InvalidArgument => AF_ERR_INVALID_ARGUMENT,
        BookErrorKind::NotFound => AF_ERR_NOT_FOUND,
        BookErrorKind::Overflow => AF_ERR_OVERFLOW,
        BookErrorKind::Precision => AF_ERR_PRECISION,
        BookErrorKind::Integrity => AF_ERR_STATE,
    }
}

fn book_err(err: BookError) -> FfiError {
    let message = match err.kind {
        BookErrorKind::Integrity => format!("book integrity check failed: {}", err.reason),
        _ => err.to_string(),
    };
    FfiError::new(status_of_book(&err), message)
}

fn side_arg(side: u8, name: &str) -> FfiResult<Side> {
    Side::from_u8(side).ok_or_else(|| {
        FfiError::new(
            AF_ERR_INVALID_ARGUMENT,
            format!("{name}={side}: must be 1 (AF_BOOK_BUY) or 2 (AF_BOOK_SELL)"),
        )
    })
}

impl AfBook {
    /// Republishes the top of book; called with the lock held, after a successful change.
    fn publish(&self, inner: &mut Inner) {
        inner.update_count += 1;
        let t = inner.book.top();
        let mut top = AfBookTop {
            bid_price: i64::MIN,
            ask_price: i64::MIN,
            sequence: t.sequence,
            ts_event: t.ts_event,
            update_count: inner.update_count,
            last_flags: t.last_flags,
            book_type: inner.book.book_type() as u8,
            ..AfBookTop::default()
        };
        if let Some((p, s)) = t.bid {
            (top.bid_price, top.bid_size) = (p, s);
            top.flags |= AF_BOOK_TOP_HAS_BID;
        }
        if let Some((p, s)) = t.ask {
            (top.ask_price, top.ask_size) = (p, s);
            top.flags |= AF_BOOK_TOP_HAS_ASK;
        }
        // SAFETY: writers hold `inner`'s lock; lock-free readers are documented to read only
        // when no call on the handle is in progress.
        unsafe { std::ptr::write_volatile(self.top.get(), top) };
    }
}

/// Runs a changing operation under the lock and republishes the top on success.
unsafe fn mutate(h: *mut AfBook, op: impl FnOnce(&mut OrderBook) -> FfiResult) -> FfiResult {
    let mut inner = lock(h)?;
    op(&mut inner.book)?;
    (*h).publish(&mut inner);
    Ok(())
}

/// Creates an empty book. `book_type` is AF_BOOK_L1_MBP, AF_BOOK_L2_MBP or AF_BOOK_L3_MBO;
/// precisions are 0..=18. Free it with af_book_free.
#[no_mangle]
pub unsafe extern "C" fn af_book_new(
    book_type: u8,
    price_precision: u8,
    size_precision: u8,
    out: *mut *mut AfBook,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let kind = BookType::from_u8(book_type).ok_or_else(|| {
            FfiError::new(
                AF_ERR_INVALID_ARGUMENT,
                format!("book_type={book_type}: must be 1 (L1_MBP), 2 (L2_MBP) or 3 (L3_MBO)"),
            )
        })?;
        let book = OrderBook::new(kind, price_precision, size_precision).map_err(book_err)?;
        let handle = Box::new(AfBook {
            inner: Mutex::new(Inner {
                book,
                update_count: 0,
            }),
            top: UnsafeCell::new(AfBookTop {
                bid_price: i64::MIN,
                ask_price: i64::MIN,
                book_type,
                ..AfBookTop::default()
            }),
        });
        *out = Box::into_raw(handle);
        Ok(())
    })
}

/// Frees a handle from af_book_new. NULL is a no-op; freeing twice is undefined. Invalidates
/// the pointer from af_book_top_ptr.
#[no_mangle]
pub unsafe extern "C" fn af_book_free(h: *mut AfBook) {
    guard_value((), || {
        if !h.is_null() {
            drop(Box::from_raw(h));
        }
    })
}

/// Applies one delta. On error the book is unchanged and the message names the field
/// (`delta.size=-5: must be >= 0`).
#[no_mangle]
pub unsafe extern "C" fn af_book_apply(h: *mut AfBook, delta: *const AfBookDelta) -> i32 {
    guard(|| {
        non_null(delta, "delta")?;
        let d = &*delta.cast::<BookDelta>();
        mutate(h, |book| book.apply(d).map_err(book_err))
    })
}

/// Applies `count` contiguous deltas all or nothing. `deltas` must be 8-byte aligned (it may
/// be NULL when `count` is 0).
///
/// On success `*applied = count`. If delta `i` is rejected, nothing is applied (the book is
/// exactly as before the call), the status is that delta's error, the message names it
/// (`deltas[i].size=-5: ...`) and — unlike other outputs on failure — `*applied = i`, the
/// length of the valid prefix. Argument errors (NULL, alignment) leave `*applied` untouched.
#[no_mangle]
pub unsafe extern "C" fn af_book_apply_batch(
    h: *mut AfBook,
    deltas: *const AfBookDelta,
    count: usize,
    applied: *mut usize,
) -> i32 {
    guard(|| {
        non_null(applied, "applied")?;
        if count > 0 {
            non_null(deltas, "deltas")?;
        }
        if (deltas as usize) % align_of::<AfBookDelta>() != 0 {
            return Err(FfiError::new(
                AF_ERR_INVALID_ARGUMENT,
                format!("deltas={deltas:p}: not aligned to 8 bytes"),
            ));
        }
        if count > isize::MAX as usize / size_of::<AfBookDelta>() {
            return Err(FfiError::new(
                AF_ERR_INVALID_ARGUMENT,
                format!("count={count}: too large"),
            ));
        }
        let slice: &[BookDelta] = if count == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(deltas.cast::<BookDelta>(), count)
        };
        let result = mutate(h, |book| {
            book.apply_batch(slice).map_err(|e| {
                *applied = e.index.unwrap_or(0);
                book_err(e)
            })
        });
        if result.is_ok() {
            *applied = count;
        }
        result
    })
}

/// L1 books only: sets both sides from a quote (a size of 0 empties that side).
#[no_mangle]
pub unsafe extern "C" fn af_book_apply_quote(
    h: *mut AfBook,
    bid_price: i64,
    bid_size: i64,
    ask_price: i64,
    ask_size: i64,
    sequence: u64,
    ts_event: u64,
) -> i32 {
    guard(|| {
        mutate(h, |book| {
            book.apply_quote(
                (bid_price, bid_size),
                (ask_price, ask_size),
                sequence,
                ts_event,
            )
            .map_err(book_err)
        })
    })
}

/// L1 books only: sets both sides to the trade price and size (`size > 0`).
#[no_mangle]
pub unsafe extern "C" fn af_book_apply_trade(
    h: *mut AfBook,
    price: i64,
    size: i64,
    sequence: u64,
    ts_event: u64,
) -> i32 {
    guard(|| {
        mutate(h, |book| {
            book.apply_trade(price, size, sequence, ts_event)
                .map_err(book_err)
        })
    })
}

/// Empties the book and resets its last sequence, ts_event and flags (e.g. before a resync).
#[no_mangle]
pub unsafe extern "C" fn af_book_clear(h: *mut AfBook) -> i32 {
    guard(|| {
        mutate(h, |book| {
            book.clear();
            Ok(())
        })
    })
}

/// Copies the top of book (taken under the lock, so consistent even with concurrent writers).
#[no_mangle]
pub unsafe extern "C" fn af_book_top(h: *mut AfBook, out: *mut AfBookTop) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let _inner = lock(h)?;
        *out = std::ptr::read_volatile((*h).top.get());
        Ok(())
    })
}

/// A pointer to the handle's published `AfBookTop`, rewritten after every successful change.
/// It stays valid until af_book_free. Reading it is a plain memory read (no call, no lock):
/// the values are consistent when no call on the handle runs concurrently (single-threaded use,
/// or the caller serializes); otherwise use af_book_top.
#[no_mangle]
pub unsafe extern "C" fn af_book_top_ptr(h: *mut AfBook, out: *mut *const AfBookTop) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        non_null(h, "h")?;
        *out = (*h).top.get();
        Ok(())
    })
}

/// Writes up to `n` levels of `side` (AF_BOOK_BUY: bids from the highest, AF_BOOK_SELL: asks
/// from the lowest) into `prices[]`/`sizes[]`; `*written` = levels written. The buffers may be
/// NULL only when `n` is 0.
#[no_mangle]
pub unsafe extern "C" fn af_book_depth(
    h: *mut AfBook,
    side: u8,
    n: usize,
    prices: *mut i64,
    sizes: *mut i64,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        let side = side_arg(side, "side")?;
        if n > 0 {
            non_null(prices, "prices")?;
            non_null(sizes, "sizes")?;
        }
        let inner = lock(h)?;
        let count = if n == 0 {
            0
        } else {
            let prices = std::slice::from_raw_parts_mut(prices, n);
            let sizes = std::slice::from_raw_parts_mut(sizes, n);
            inner.book.depth_into(side, prices, sizes)
        };
        *written = count;
        Ok(())
    })
}

/// Number of price levels on `side`.
#[no_mangle]
pub unsafe extern "C" fn af_book_level_count(h: *mut AfBook, side: u8, out: *mut usize) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let side = side_arg(side, "side")?;
        *out = lock(h)?.book.level_count(side);
        Ok(())
    })
}

/// Number of orders on `side` (L3); the number of levels for L1/L2 books.
#[no_mangle]
pub unsafe extern "C" fn af_book_order_count(h: *mut AfBook, side: u8, out: *mut usize) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let side = side_arg(side, "side")?;
        *out = lock(h)?.book.order_count(side);
        Ok(())
    })
}

/// Walks the book for a taker order of `qty` (raw size, > 0) on `order_side` (AF_BOOK_BUY
/// walks the asks, AF_BOOK_SELL the bids). `precision` (book price precision..=18) is the
/// precision of the average price and slippage, rounded half to even.
#[no_mangle]
pub unsafe extern "C" fn af_book_fill_price(
    h: *mut AfBook,
    order_side: u8,
    qty: i64,
    precision: u8,
    out: *mut AfBookFill,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let side = side_arg(order_side, "order_side")?;
        let est = lock(h)?.book.fill_estimate(side, qty).map_err(book_err)?;
        if precision < est.price_precision || precision > AF_MAX_PRECISION {
            return Err(FfiError::new(
                AF_ERR_PRECISION,
                format!(
                    "precision={precision}: must be in {}..={AF_MAX_PRECISION} (the book's price precision up to 18)",
                    est.price_precision
                ),
            ));
        }
        let avg = est.avg_price(precision).map_err(book_err)?;
        let slip = est.slippage(precision).map_err(book_err)?;
        *out = AfBookFill {
            filled: est.filled,
            avg_price: avg.unwrap_or(0),
            slippage: slip.unwrap_or(0),
            best_price: est.best_price.unwrap_or(0),
            worst_price: est.worst_price.unwrap_or(0),
            levels: est.levels,
            avg_precision: precision,
            complete: u8::from(est.is_complete()),
            _pad: [0; 2],
        };
        Ok(())
    })
}

/// `*out` = AF_BOOK_UNCROSSED, AF_BOOK_LOCKED or AF_BOOK_CROSSED.
#[no_mangle]
pub unsafe extern "C" fn af_book_crossing(h: *mut AfBook, out: *mut i32) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.book.crossing() as i32;
        Ok(())
    })
}

/// Checks the book's invariants and that it is not crossed (locked passes). A failure returns
/// AF_ERR_STATE with the reason in the message; here the handle stays usable.
#[no_mangle]
pub unsafe extern "C" fn af_book_check_integrity(h: *mut AfBook) -> i32 {
    guard(|| lock(h)?.book.check_integrity().map_err(book_err))
}

/// L3 books only: the order `order_id` and what is ahead of it in its queue. An unknown id is
/// AF_ERR_NOT_FOUND; an L1/L2 book is AF_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn af_book_order(
    h: *mut AfBook,
    order_id: u64,
    out: *mut AfBookOrder,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let inner = lock(h)?;
        let OrderBook::L3(book) = &inner.book else {
            return Err(FfiError::new(
                AF_ERR_INVALID_ARGUMENT,
                format!(
                    "h: an L{} book has no orders (only L3_MBO books do)",
                    inner.book.book_type() as u8
                ),
            ));
        };
        let (Some(order), Some(pos)) = (book.order(order_id), book.queue_position(order_id)) else {
            return Err(FfiError::new(
                AF_ERR_NOT_FOUND,
                format!("order_id={order_id}: not on the book"),
            ));
        };
        *out = AfBookOrder {
            price: order.price,
            size: order.size,
            size_ahead: pos.size_ahead,
            orders_ahead: pos.orders_ahead,
            side: order.side as u8,
            _pad: [0; 3],
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::af_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn delta(action: u8, side: u8, price: i64, size: i64, seq: u64) -> AfBookDelta {
        AfBookDelta {
            action,
            side,
            price,
            size,
            sequence: seq,
            ts_event: seq * 100,
            ..AfBookDelta::default()
        }
    }

    fn new_book(kind: u8) -> *mut AfBook {
        let mut h = null_mut();
        assert_eq!(unsafe { af_book_new(kind, 2, 3, &mut h) }, AF_OK);
        h
    }

    fn depth(h: *mut AfBook, side: u8) -> Vec<(i64, i64)> {
        let (mut p, mut s, mut w) = ([0i64; 64], [0i64; 64], 0usize);
        assert_eq!(
            unsafe { af_book_depth(h, side, 64, p.as_mut_ptr(), s.as_mut_ptr(), &mut w) },
            AF_OK
        );
        p[..w].iter().copied().zip(s[..w].iter().copied()).collect()
    }

    #[test]
    fn new_free_and_arguments() {
        unsafe {
            let mut h = null_mut();
            assert_eq!(af_book_new(4, 2, 2, &mut h), AF_ERR_INVALID_ARGUMENT);
            assert_eq!(
                last_error(),
                "book_type=4: must be 1 (L1_MBP), 2 (L2_MBP) or 3 (L3_MBO)"
            );
            assert_eq!(af_book_new(2, 19, 2, &mut h), AF_ERR_PRECISION);
            assert!(
                last_error().starts_with("price_precision=19"),
                "{}",
                last_error()
            );
            assert!(h.is_null());
            assert_eq!(af_book_new(2, 2, 2, null_mut()), AF_ERR_NULL_POINTER);
            let h = new_book(AF_BOOK_L2_MBP);
            assert_eq!(af_book_apply(h, null()), AF_ERR_NULL_POINTER);
            assert_eq!(last_error(), "delta is NULL");
            let d = delta(AF_BOOK_ADD, AF_BOOK_BUY, 1, 1, 1);
            assert_eq!(af_book_apply(null_mut(), &d), AF_ERR_NULL_POINTER);
            assert_eq!(last_error(), "h is NULL");
            let mut n = 0usize;
            assert_eq!(af_book_level_count(h, 3, &mut n), AF_ERR_INVALID_ARGUMENT);
            assert_eq!(
                last_error(),
                "side=3: must be 1 (AF_BOOK_BUY) or 2 (AF_BOOK_SELL)"
            );
            let mut w = 7usize;
            assert_eq!(
                af_book_depth(h, AF_BOOK_BUY, 4, null_mut(), null_mut(), &mut w),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(
                af_book_depth(h, AF_BOOK_BUY, 0, null_mut(), null_mut(), &mut w),
                AF_OK
            );
            assert_eq!(w, 0);
            af_book_free(h);
            af_book_free(null_mut());
        }
    }

    #[test]
    fn apply_top_depth_and_published_top() {
        unsafe {
            let h = new_book(AF_BOOK_L2_MBP);
            let mut top_ptr: *const AfBookTop = null();
            assert_eq!(af_book_top_ptr(h, &mut top_ptr), AF_OK);
            assert_eq!((*top_ptr).flags, 0);
            assert_eq!((*top_ptr).ask_price, i64::MIN);
            assert_eq!((*top_ptr).book_type, AF_BOOK_L2_MBP);
            let batch = [
                delta(AF_BOOK_ADD, AF_BOOK_BUY, 100, 5, 1),
                delta(AF_BOOK_ADD, AF_BOOK_BUY, 99, 6, 1),
                delta(AF_BOOK_ADD, AF_BOOK_SELL, 102, 7, 2),
                AfBookDelta {
                    flags: AF_BOOK_F_LAST,
                    ..delta(AF_BOOK_ADD, AF_BOOK_SELL, 103, 8, 2)
                },
            ];
            let mut applied = 0usize;
            assert_eq!(
                af_book_apply_batch(h, batch.as_ptr(), batch.len(), &mut applied),
                AF_OK
            );
            assert_eq!(applied, 4);
            let top = *top_ptr;
            assert_eq!(
                (top.bid_price, top.bid_size, top.ask_price, top.ask_size),
                (100, 5, 102, 7)
            );
            assert_eq!(top.flags, AF_BOOK_TOP_HAS_BID | AF_BOOK_TOP_HAS_ASK);
            assert_eq!((top.sequence, top.ts_event, top.update_count), (2, 200, 1));
            assert_eq!(top.last_flags, AF_BOOK_F_LAST);
            let mut copy = AfBookTop::default();
            assert_eq!(af_book_top(h, &mut copy), AF_OK);
            assert_eq!(copy, top);
            assert_eq!(depth(h, AF_BOOK_BUY), vec![(100, 5), (99, 6)]);
            assert_eq!(depth(h, AF_BOOK_SELL), vec![(102, 7), (103, 8)]);
            // Truncated depth.
            let (mut p, mut s, mut w) = ([0i64; 1], [0i64; 1], 0usize);
            assert_eq!(
                af_book_depth(h, AF_BOOK_SELL, 1, p.as_mut_ptr(), s.as_mut_ptr(), &mut w),
                AF_OK
            );
            assert_eq!((w, p[0], s[0]), (1, 102, 7));
            // Single deltas republish too.
            let d = delta(AF_BOOK_DELETE, AF_BOOK_BUY, 100, 0, 3);
            assert_eq!(af_book_apply(h, &d), AF_OK);
            assert_eq!(((*top_ptr).bid_price, (*top_ptr).update_count), (99, 2));
            let mut crossing = 9;
            assert_eq!(af_book_crossing(h, &mut crossing), AF_OK);
            assert_eq!(crossing, AF_BOOK_UNCROSSED);
            assert_eq!(af_book_check_integrity(h), AF_OK);
            assert_eq!(af_book_clear(h), AF_OK);
            assert_eq!(((*top_ptr).flags, (*top_ptr).sequence), (0, 0));
            assert_eq!(((*top_ptr).bid_price, (*top_ptr).bid_size), (i64::MIN, 0));
            af_book_free(h);
        }
    }

    #[test]
    fn batch_errors_report_index_and_change_nothing() {
        unsafe {
            let h = new_book(AF_BOOK_L2_MBP);
            let ok = [delta(AF_BOOK_ADD, AF_BOOK_BUY, 100, 5, 1)];
            let mut applied = 0usize;
            assert_eq!(af_book_apply_batch(h, ok.as_ptr(), 1, &mut applied), AF_OK);
            let mut top_before = AfBookTop::default();
            af_book_top(h, &mut top_before);
            let bad = [
                delta(AF_BOOK_CLEAR, AF_BOOK_NO_SIDE, 0, 0, 2),
                delta(AF_BOOK_ADD, AF_BOOK_SELL, 101, 1, 2),
                delta(AF_BOOK_UPDATE, AF_BOOK_SELL, 101, -3, 2),
            ];
            assert_eq!(
                af_book_apply_batch(h, bad.as_ptr(), 3, &mut applied),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(applied, 2);
            assert_eq!(last_error(), "deltas[2].size=-3: must be >= 0");
            let mut top_after = AfBookTop::default();
            af_book_top(h, &mut top_after);
            assert_eq!(top_after, top_before);
            assert_eq!(depth(h, AF_BOOK_BUY), vec![(100, 5)]);
            // Argument errors leave `applied` alone.
            applied = 77;
            assert_eq!(
                af_book_apply_batch(h, null(), 3, &mut applied),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(applied, 77);
            assert_eq!(af_book_apply_batch(h, null(), 0, &mut applied), AF_OK);
            assert_eq!(applied, 0);
            let raw = [0u8; 200];
            let misaligned = raw.as_ptr().add(1 + (8 - raw.as_ptr() as usize % 8) % 8);
            assert_eq!(
                af_book_apply_batch(h, misaligned.cast(), 1, &mut applied),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().contains("not aligned"), "{}", last_error());
            af_book_free(h);
        }
    }

    #[test]
    fn l3_orders_and_not_found() {
        unsafe {
            let h = new_book(AF_BOOK_L3_MBO);
            let mut a = delta(AF_BOOK_ADD, AF_BOOK_BUY, 100, 5, 1);
            a.order_id = 11;
            let mut b = a;
            b.order_id = 12;
            b.size = 7;
            let mut applied = 0;
            assert_eq!(
                af_book_apply_batch(h, [a, b].as_ptr(), 2, &mut applied),
                AF_OK
            );
            let mut o = AfBookOrder::default();
            assert_eq!(af_book_order(h, 12, &mut o), AF_OK);
            assert_eq!(
                (o.price, o.size, o.size_ahead, o.orders_ahead, o.side),
                (100, 7, 5, 1, AF_BOOK_BUY)
            );
            assert_eq!(af_book_order(h, 13, &mut o), AF_ERR_NOT_FOUND);
            let mut d = delta(AF_BOOK_DELETE, AF_BOOK_BUY, 100, 0, 2);
            d.order_id = 99;
            assert_eq!(af_book_apply(h, &d), AF_ERR_NOT_FOUND);
            assert_eq!(
                last_error(),
                "delta.order_id=99: DELETE of an order id that is not on the book"
            );
            let mut n = 0usize;
            af_book_order_count(h, AF_BOOK_BUY, &mut n);
            assert_eq!(n, 2);
            af_book_level_count(h, AF_BOOK_BUY, &mut n);
            assert_eq!(n, 1);
            af_book_free(h);
            let h2 = new_book(AF_BOOK_L2_MBP);
            assert_eq!(af_book_order(h2, 1, &mut o), AF_ERR_INVALID_ARGUMENT);
            af_book_free(h2);
        }
    }

    #[test]
    fn fill_price_quote_trade_integrity() {
        unsafe {
            let h = new_book(AF_BOOK_L2_MBP);
            let batch = [
                delta(AF_BOOK_ADD, AF_BOOK_SELL, 1000, 1000, 1),
                delta(AF_BOOK_ADD, AF_BOOK_SELL, 1001, 2000, 1),
            ];
            let mut applied = 0;
            af_book_apply_batch(h, batch.as_ptr(), 2, &mut applied);
            let mut f = AfBookFill::default();
            assert_eq!(af_book_fill_price(h, AF_BOOK_BUY, 2000, 3, &mut f), AF_OK);
            assert_eq!(
                (
                    f.filled,
                    f.avg_price,
                    f.slippage,
                    f.best_price,
                    f.worst_price,
                    f.levels,
                    f.complete
                ),
                (2000, 10005, 5, 1000, 1001, 2, 1)
            );
            assert_eq!(af_book_fill_price(h, AF_BOOK_SELL, 10, 3, &mut f), AF_OK);
            assert_eq!((f.filled, f.complete), (0, 0));
            assert_eq!(
                af_book_fill_price(h, AF_BOOK_BUY, 0, 3, &mut f),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                af_book_fill_price(h, AF_BOOK_BUY, 1, 1, &mut f),
                AF_ERR_PRECISION
            );
            assert_eq!(
                af_book_fill_price(h, AF_BOOK_SELL, 1, 1, &mut f),
                AF_ERR_PRECISION
            );
            assert_eq!(
                af_book_apply_quote(h, 1, 1, 2, 1, 5, 5),
                AF_ERR_INVALID_ARGUMENT
            );
            let d = delta(AF_BOOK_ADD, AF_BOOK_BUY, 1002, 1, 2);
            assert_eq!(af_book_apply(h, &d), AF_OK);
            assert_eq!(af_book_check_integrity(h), AF_ERR_STATE);
            assert_eq!(
                last_error(),
                "book integrity check failed: crossed book: best bid 1002 > best ask 1000"
            );
            // Still usable after a failed check.
            let mut crossing = 0;
            assert_eq!(af_book_crossing(h, &mut crossing), AF_OK);
            assert_eq!(crossing, AF_BOOK_CROSSED);
            af_book_free(h);

            let l1 = new_book(AF_BOOK_L1_MBP);
            assert_eq!(af_book_apply_quote(l1, 100, 3, 101, 4, 1, 10), AF_OK);
            let mut top = AfBookTop::default();
            af_book_top(l1, &mut top);
            assert_eq!((top.bid_price, top.ask_size, top.ts_event), (100, 4, 10));
            assert_eq!(
                af_book_apply_trade(l1, 100, 0, 2, 11),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(af_book_apply_trade(l1, 100, 2, 2, 11), AF_OK);
            af_book_top(l1, &mut top);
            assert_eq!((top.bid_price, top.ask_price, top.ask_size), (100, 100, 2));
            af_book_free(l1);
        }
    }

    #[test]
    fn poisoned_lock_is_state_error() {
        unsafe {
            let h = new_book(AF_BOOK_L2_MBP);
            let handle = &*h;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _g = handle.inner.lock();
                panic!("poison");
            }));
            let d = delta(AF_BOOK_ADD, AF_BOOK_BUY, 1, 1, 1);
            assert_eq!(af_book_apply(h, &d), AF_ERR_STATE);
            assert!(last_error().contains("poisoned"), "{}", last_error());
            af_book_free(h);
        }
    }

    #[test]
    fn concurrent_batches_serialize() {
        struct Shared(*mut AfBook);
        unsafe impl Send for Shared {}
        unsafe impl Sync for Shared {}
        let shared = Shared(new_book(AF_BOOK_L2_MBP));
        std::thread::scope(|s| {
            for t in 0..4i64 {
                let shared = &shared;
                s.spawn(move || {
                    for i in 0..500i64 {
                        let d = [
                            delta(AF_BOOK_UPDATE, AF_BOOK_BUY, 1000 - t, 1 + i, 0),
                            delta(AF_BOOK_UPDATE, AF_BOOK_SELL, 2000 + t, 1 + i, 0),
                        ];
                        let mut applied = 0;
                        assert_eq!(
                            unsafe { af_book_apply_batch(shared.0, d.as_ptr(), 2, &mut applied) },
                            AF_OK
                        );
                    }
                });
            }
        });
        let mut top = AfBookTop::default();
        unsafe {
            af_book_top(shared.0, &mut top);
            assert_eq!(top.update_count, 2000);
            assert_eq!(
                (top.bid_price, top.ask_price, top.bid_size),
                (1000, 2000, 500)
            );
            assert_eq!(af_book_check_integrity(shared.0), AF_OK);
            af_book_free(shared.0);
        }
    }
}
