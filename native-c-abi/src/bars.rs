//! `af_bars_*`: a streaming bar aggregator handle fed with batches of price samples.
//!
//! Closed bars go to an internal queue (one sample can close several volume/value bars), and
//! every call drains as many as fit into the caller's buffer; `af_bars_drain` fetches the rest.
//! Nothing is ever dropped.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use alphaforge_core::bars::{Bar, BarAggregator, BarKind, Sample};

use crate::guard::{guard, guard_value, non_null, FfiError, FfiResult};
use crate::status::*;

/// Time bars: `step` is nanoseconds.
pub const AF_BAR_TIME: i32 = 1;
/// Tick bars: `step` is a number of samples.
pub const AF_BAR_TICK: i32 = 2;
/// Volume bars: `step` is raw size units.
pub const AF_BAR_VOLUME: i32 = 3;
/// Value bars: `step` is raw notional (price raw * size raw).
pub const AF_BAR_VALUE: i32 = 4;

/// One observation of the aggregated series (raw fixed-point values).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AfPriceSample {
    pub ts: u64,
    pub price: i64,
    pub size: i64,
}

/// A bar (raw fixed-point values at the samples' precisions).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AfBar {
    pub ts_open: u64,
    pub ts_close: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: i64,
    pub ticks: u64,
}

impl From<Bar> for AfBar {
    fn from(b: Bar) -> Self {
        AfBar {
            ts_open: b.ts_open,
            ts_close: b.ts_close,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            ticks: b.ticks,
        }
    }
}

struct State {
    aggregator: BarAggregator,
    closed: VecDeque<AfBar>,
}

/// Opaque handle. The Mutex is needed because cffi releases the GIL around calls.
pub struct AfBarAggregator {
    inner: Mutex<State>,
}

unsafe fn lock<'a>(h: *mut AfBarAggregator) -> FfiResult<MutexGuard<'a, State>> {
    non_null(h, "h")?;
    (*h).inner.lock().map_err(|_| {
        FfiError::new(
            AF_ERR_STATE,
            "h: bar aggregator is unusable after a panic inside a call (poisoned lock); free it",
        )
    })
}

/// Moves up to `cap` queued bars into `out`.
unsafe fn drain(state: &mut State, out: *mut AfBar, cap: usize, written: *mut usize) -> FfiResult {
    let n = cap.min(state.closed.len());
    if n > 0 {
        non_null(out, "out")?;
        let out = std::slice::from_raw_parts_mut(out, n);
        for (slot, bar) in out.iter_mut().zip(state.closed.drain(..n)) {
            *slot = bar;
        }
    }
    *written = n;
    Ok(())
}

/// Creates an aggregator of `kind` (`AF_BAR_*`) with a positive `step`.
#[no_mangle]
pub unsafe extern "C" fn af_bars_new(kind: i32, step: i64, out: *mut *mut AfBarAggregator) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let kind = match kind {
            AF_BAR_TIME => BarKind::Time,
            AF_BAR_TICK => BarKind::Tick,
            AF_BAR_VOLUME => BarKind::Volume,
            AF_BAR_VALUE => BarKind::Value,
            other => {
                return Err(FfiError::new(
                    AF_ERR_INVALID_ARGUMENT,
                    format!("kind={other}: expected AF_BAR_TIME/TICK/VOLUME/VALUE (1..=4)"),
                ))
            }
        };
        let aggregator = BarAggregator::new(kind, step).map_err(|e| FfiError::core("step", &e))?;
        *out = Box::into_raw(Box::new(AfBarAggregator {
            inner: Mutex::new(State {
                aggregator,
                closed: VecDeque::new(),
            }),
        }));
        Ok(())
    })
}

/// Frees a handle from af_bars_new. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn af_bars_free(h: *mut AfBarAggregator) {
    guard_value((), || {
        if !h.is_null() {
            drop(Box::from_raw(h));
        }
    })
}

/// Aggregates `n` samples (all or nothing: a bad sample fails the call, naming its index, and
/// changes nothing), then writes up to `cap` closed bars to `out`; `*written` says how many.
/// Bars that did not fit stay queued for af_bars_drain.
#[no_mangle]
pub unsafe extern "C" fn af_bars_update(
    h: *mut AfBarAggregator,
    samples: *const AfPriceSample,
    n: usize,
    out: *mut AfBar,
    cap: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        let mut state = lock(h)?;
        if n > 0 {
            non_null(samples, "samples")?;
            let input = std::slice::from_raw_parts(samples, n);
            let samples: Vec<Sample> = input
                .iter()
                .map(|s| Sample {
                    ts: s.ts,
                    price: s.price,
                    size: s.size,
                })
                .collect();
            let State { aggregator, closed } = &mut *state;
            aggregator
                .update(&samples, |bar| closed.push_back(bar.into()))
                .map_err(|e| FfiError::core("samples", &e))?;
        }
        drain(&mut state, out, cap, written)
    })
}

/// Time bars: closes the bar whose interval ends at or before `ts` (time passing without
/// data), then drains like af_bars_update.
#[no_mangle]
pub unsafe extern "C" fn af_bars_flush(
    h: *mut AfBarAggregator,
    ts: u64,
    out: *mut AfBar,
    cap: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        let mut state = lock(h)?;
        let State { aggregator, closed } = &mut *state;
        aggregator.flush_until(ts, |bar| closed.push_back(bar.into()));
        drain(&mut state, out, cap, written)
    })
}

/// Writes up to `cap` queued closed bars to `out`.
#[no_mangle]
pub unsafe extern "C" fn af_bars_drain(
    h: *mut AfBarAggregator,
    out: *mut AfBar,
    cap: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        drain(&mut *lock(h)?, out, cap, written)
    })
}

/// The number of closed bars waiting to be drained.
#[no_mangle]
pub unsafe extern "C" fn af_bars_pending(h: *mut AfBarAggregator, out: *mut usize) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        *out = lock(h)?.closed.len();
        Ok(())
    })
}

/// The bar being built: `*has` = 1 and `*out` filled, or `*has` = 0.
#[no_mangle]
pub unsafe extern "C" fn af_bars_partial(
    h: *mut AfBarAggregator,
    out: *mut AfBar,
    has: *mut i32,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        non_null(has, "has")?;
        match lock(h)?.aggregator.partial() {
            Some(bar) => {
                *out = bar.into();
                *has = 1;
            }
            None => *has = 0,
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    fn sample(ts: u64, price: i64, size: i64) -> AfPriceSample {
        AfPriceSample { ts, price, size }
    }

    #[test]
    fn queued_bars_survive_a_small_buffer() {
        unsafe {
            let mut h = ptr::null_mut();
            assert_eq!(af_bars_new(AF_BAR_VOLUME, 1, &mut h), AF_OK);
            let samples = [sample(1, 10, 5)];
            let mut out = [AfBar::default(); 2];
            let mut written = 0;
            let status = af_bars_update(h, samples.as_ptr(), 1, out.as_mut_ptr(), 2, &mut written);
            assert_eq!((status, written), (AF_OK, 2));
            let mut pending = 0;
            assert_eq!(af_bars_pending(h, &mut pending), AF_OK);
            assert_eq!(pending, 3);
            assert_eq!(af_bars_drain(h, out.as_mut_ptr(), 2, &mut written), AF_OK);
            assert_eq!(written, 2);
            af_bars_free(h);
            af_bars_free(ptr::null_mut());
        }
    }

    #[test]
    fn bad_input_is_a_status_not_a_crash() {
        unsafe {
            let mut h = ptr::null_mut();
            assert_eq!(af_bars_new(9, 1, &mut h), AF_ERR_INVALID_ARGUMENT);
            assert_eq!(af_bars_new(AF_BAR_TICK, 0, &mut h), AF_ERR_INVALID_ARGUMENT);
            assert_eq!(af_bars_new(AF_BAR_TICK, 2, &mut h), AF_OK);
            let mut written = 0;
            let bad = [sample(5, 1, 1), sample(4, 1, 1)];
            let status = af_bars_update(h, bad.as_ptr(), 2, ptr::null_mut(), 0, &mut written);
            assert_eq!(status, AF_ERR_INVALID_ARGUMENT);
            let status = af_bars_update(h, ptr::null(), 1, ptr::null_mut(), 0, &mut written);
            assert_eq!(status, AF_ERR_NULL_POINTER);
            let (mut bar, mut has) = (AfBar::default(), 7);
            assert_eq!(af_bars_partial(h, &mut bar, &mut has), AF_OK);
            assert_eq!(has, 0, "the failed batch must not have started a bar");
            af_bars_free(h);
        }
    }
}
