//! Bar aggregation: time, tick, volume and value bars from a stream of price samples.
//!
//! A sample is one observation of a price series (a trade's price and size, or a quote's bid,
//! ask or mid with a size) at a timestamp; all values are raw fixed-point integers at the
//! precisions the caller chose. The aggregator is streaming: how the stream is cut into batches
//! never changes the bars.
//!
//! - **Time** bars cover `[start, start + step)` with `start` aligned to the Unix epoch. A bar is
//!   emitted when a sample at or after its end arrives, or on [`BarAggregator::flush_until`];
//!   its `ts_close` is the interval end. Intervals without samples produce no bar.
//! - **Tick** bars close after `step` samples; `ts_close` is the last sample's timestamp.
//! - **Volume** bars close when their volume reaches `step` (raw size units). A sample that
//!   overshoots is split: the part that fills the bar stays, the rest opens the next bar(s) at
//!   the same price and timestamp, so every closed bar has exactly `step` volume.
//! - **Value** bars do the same with notional `price * size` (raw, at price precision + size
//!   precision) against `step`; the split is in whole raw size units, so a bar's value reaches
//!   `step` within one unit of size times the price.

use crate::error::{CoreError, CoreResult};

/// One observation of the aggregated price series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub ts: u64,
    pub price: i64,
    pub size: i64,
}

/// A finished (or, from [`BarAggregator::partial`], unfinished) bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub ts_open: u64,
    pub ts_close: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: i64,
    pub ticks: u64,
}

/// How bars are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// `step` nanoseconds per bar.
    Time,
    /// `step` samples per bar.
    Tick,
    /// `step` raw size units per bar.
    Volume,
    /// `step` raw notional (price raw * size raw) per bar.
    Value,
}

/// Streaming aggregator for one bar type.
#[derive(Debug, Clone)]
pub struct BarAggregator {
    kind: BarKind,
    step: i64,
    current: Option<Bar>,
    /// Value bars: notional accumulated in the current bar (exact).
    value: i128,
    last_ts: Option<u64>,
}

impl BarAggregator {
    /// A new aggregator; `step` must be positive.
    pub fn new(kind: BarKind, step: i64) -> CoreResult<Self> {
        if step <= 0 {
            return Err(CoreError::InvalidArgument {
                field: "step",
                value: step.to_string(),
                reason: "must be positive".into(),
            });
        }
        Ok(BarAggregator {
            kind,
            step,
            current: None,
            value: 0,
            last_ts: None,
        })
    }

    pub fn kind(&self) -> BarKind {
        self.kind
    }

    pub fn step(&self) -> i64 {
        self.step
    }

    /// The bar being built, if any.
    pub fn partial(&self) -> Option<Bar> {
        self.current
    }

    /// Checks a batch without changing anything: timestamps must not go backwards (relative
    /// to each other and to what was already aggregated), sizes must be non-negative, and
    /// value bars need positive prices. Errors name the index and the value.
    pub fn validate(&self, samples: &[Sample]) -> CoreResult<()> {
        let mut last = self.last_ts;
        for (i, s) in samples.iter().enumerate() {
            if let Some(prev) = last {
                if s.ts < prev {
                    return Err(invalid(
                        "ts",
                        i,
                        s.ts,
                        format!("goes backwards (previous {prev})"),
                    ));
                }
            }
            if s.size < 0 {
                return Err(invalid("size", i, s.size, "must be >= 0".into()));
            }
            if self.kind == BarKind::Value && s.price <= 0 {
                return Err(invalid(
                    "price",
                    i,
                    s.price,
                    "must be > 0 for value bars".into(),
                ));
            }
            last = Some(s.ts);
        }
        Ok(())
    }

    /// Aggregates a batch, all or nothing: the batch is validated first, so an error leaves
    /// the aggregator unchanged. Closed bars are passed to `emit` in order.
    pub fn update(&mut self, samples: &[Sample], mut emit: impl FnMut(Bar)) -> CoreResult<()> {
        self.validate(samples)?;
        for s in samples {
            self.push(*s, &mut emit);
        }
        Ok(())
    }

    /// Time bars: emits every bar whose interval ends at or before `ts` (a clock tick with
    /// no data). Other kinds close on data only; this is a no-op for them.
    pub fn flush_until(&mut self, ts: u64, mut emit: impl FnMut(Bar)) {
        if self.kind != BarKind::Time {
            return;
        }
        if let Some(bar) = self.current {
            if ts >= bar.ts_close {
                emit(bar);
                self.current = None;
            }
        }
    }

    fn push(&mut self, s: Sample, emit: &mut impl FnMut(Bar)) {
        self.last_ts = Some(s.ts);
        match self.kind {
            BarKind::Time => {
                if let Some(bar) = self.current {
                    if s.ts >= bar.ts_close {
                        emit(bar);
                        self.current = None;
                    }
                }
                let step = self.step as u64;
                let start = s.ts - s.ts % step;
                self.add(s, s.size, start, start.saturating_add(step));
            }
            BarKind::Tick => {
                self.add(s, s.size, s.ts, s.ts);
                if let Some(bar) = self.current {
                    if bar.ticks >= self.step as u64 {
                        emit(bar);
                        self.current = None;
                    }
                }
            }
            BarKind::Volume => {
                let mut left = s.size;
                loop {
                    let room = self.step - self.current.map_or(0, |b| b.volume);
                    let take = left.min(room);
                    self.add(s, take, s.ts, s.ts);
                    left -= take;
                    if take == room {
                        emit(self.current.take().expect("bar just added"));
                    }
                    if left == 0 {
                        break;
                    }
                }
            }
            BarKind::Value => {
                let price = i128::from(s.price);
                let mut left = s.size;
                loop {
                    let room = i128::from(self.step) - self.value;
                    // Whole size units needed to reach the threshold (at least one).
                    let needed = ((room + price - 1) / price).max(1);
                    let take = i128::from(left).min(needed);
                    // `take` <= `left`, so it fits i64.
                    let take64 = take as i64;
                    self.add(s, take64, s.ts, s.ts);
                    self.value += take * price;
                    left -= take64;
                    if self.value >= i128::from(self.step) {
                        emit(self.current.take().expect("bar just added"));
                        self.value = 0;
                    }
                    if left == 0 {
                        break;
                    }
                }
            }
        }
    }

    /// Adds `size` of sample `s` to the current bar, opening one if needed.
    fn add(&mut self, s: Sample, size: i64, ts_open: u64, ts_close: u64) {
        match &mut self.current {
            Some(bar) => {
                bar.high = bar.high.max(s.price);
                bar.low = bar.low.min(s.price);
                bar.close = s.price;
                bar.volume = bar.volume.saturating_add(size);
                bar.ticks += 1;
                if self.kind != BarKind::Time {
                    bar.ts_close = s.ts;
                }
            }
            None => {
                self.current = Some(Bar {
                    ts_open,
                    ts_close,
                    open: s.price,
                    high: s.price,
                    low: s.price,
                    close: s.price,
                    volume: size,
                    ticks: 1,
                });
            }
        }
    }
}

fn invalid(field: &'static str, index: usize, value: impl ToString, reason: String) -> CoreError {
    CoreError::InvalidArgument {
        field,
        value: value.to_string(),
        reason: format!("sample {index}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: u64, price: i64, size: i64) -> Sample {
        Sample { ts, price, size }
    }

    fn run(kind: BarKind, step: i64, samples: &[Sample]) -> Vec<Bar> {
        let mut agg = BarAggregator::new(kind, step).unwrap();
        let mut bars = Vec::new();
        agg.update(samples, |b| bars.push(b)).unwrap();
        bars
    }

    #[test]
    fn time_bars_align_to_the_epoch_and_skip_empty_intervals() {
        let bars = run(
            BarKind::Time,
            60,
            &[
                s(61, 10, 1),
                s(70, 12, 2),
                s(119, 9, 1),
                s(120, 11, 5),
                s(300, 8, 1),
            ],
        );
        assert_eq!(bars.len(), 2);
        assert_eq!(
            bars[0],
            Bar {
                ts_open: 60,
                ts_close: 120,
                open: 10,
                high: 12,
                low: 9,
                close: 9,
                volume: 4,
                ticks: 3
            }
        );
        assert_eq!(
            (bars[1].ts_open, bars[1].ts_close, bars[1].close),
            (120, 180, 11)
        );
    }

    #[test]
    fn flush_closes_a_time_bar_without_data() {
        let mut agg = BarAggregator::new(BarKind::Time, 60).unwrap();
        let mut bars = Vec::new();
        agg.update(&[s(10, 5, 1)], |b| bars.push(b)).unwrap();
        agg.flush_until(59, |b| bars.push(b));
        assert!(bars.is_empty());
        agg.flush_until(60, |b| bars.push(b));
        assert_eq!(bars.len(), 1);
        assert!(agg.partial().is_none());
    }

    #[test]
    fn tick_bars_close_after_step_samples() {
        let bars = run(BarKind::Tick, 2, &[s(1, 1, 1), s(2, 3, 1), s(3, 2, 1)]);
        assert_eq!(bars.len(), 1);
        assert_eq!((bars[0].open, bars[0].high, bars[0].close), (1, 3, 3));
        assert_eq!((bars[0].ts_open, bars[0].ts_close), (1, 2));
    }

    #[test]
    fn volume_bars_split_an_overshooting_sample() {
        let bars = run(
            BarKind::Volume,
            10,
            &[s(1, 100, 4), s(2, 101, 25), s(3, 99, 1)],
        );
        // 4 + 6 of the 25 | 10 of the 25 | last 9 of the 25 + 1
        assert_eq!(
            bars.iter().map(|b| b.volume).collect::<Vec<_>>(),
            vec![10, 10, 10]
        );
        assert_eq!((bars[0].open, bars[0].close, bars[0].ticks), (100, 101, 2));
        assert_eq!((bars[1].open, bars[1].close, bars[1].ticks), (101, 101, 1));
        assert_eq!((bars[2].open, bars[2].close, bars[2].ticks), (101, 99, 2));
    }

    #[test]
    fn value_bars_reach_their_threshold() {
        let bars = run(BarKind::Value, 1000, &[s(1, 100, 3), s(2, 100, 9)]);
        assert_eq!(bars.len(), 1);
        assert_eq!(bars[0].volume, 10);
    }

    #[test]
    fn a_bad_batch_changes_nothing() {
        let mut agg = BarAggregator::new(BarKind::Tick, 3).unwrap();
        agg.update(&[s(5, 1, 1)], |_| {}).unwrap();
        let before = agg.clone();
        let err = agg.update(&[s(6, 1, 1), s(4, 1, 1)], |_| {}).unwrap_err();
        assert!(err.to_string().contains("sample 1"), "{err}");
        assert_eq!(agg.partial(), before.partial());
        assert!(agg.update(&[s(7, 1, -1)], |_| {}).is_err());
        assert!(BarAggregator::new(BarKind::Time, 0).is_err());
        let value = BarAggregator::new(BarKind::Value, 10).unwrap();
        assert!(value.validate(&[s(1, 0, 1)]).is_err());
    }

    #[test]
    fn batching_does_not_change_the_bars() {
        let samples: Vec<Sample> = (0..500u64)
            .map(|i| s(i * 7, 1000 + (i as i64 * 37 % 23), 1 + (i as i64 % 5)))
            .collect();
        for kind in [
            BarKind::Time,
            BarKind::Tick,
            BarKind::Volume,
            BarKind::Value,
        ] {
            let step = if kind == BarKind::Value { 20_000 } else { 13 };
            let whole = run(kind, step, &samples);
            let mut agg = BarAggregator::new(kind, step).unwrap();
            let mut pieces = Vec::new();
            for chunk in samples.chunks(17) {
                agg.update(chunk, |b| pieces.push(b)).unwrap();
            }
            assert_eq!(whole, pieces, "{kind:?}");
        }
    }
}
