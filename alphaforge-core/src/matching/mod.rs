//! The matching engine: one per instrument, price-time priority, in two modes.
//!
//! * [`Mode::Exchange`]: a venue. Resting orders match each other (self-trade prevention,
//!   icebergs, post-only, reduce-only, stops triggered by the last trade price).
//! * [`Mode::Backtest`]: a simulated venue. The user's orders match against market data:
//!   L1 quotes, trade prints, OHLC bars and L2 book deltas, with a queue-position estimate for
//!   resting limit orders so fills are not optimistic.
//!
//! Inputs are [`Command`]s and market-data records with timestamps; every outcome (accepted,
//! rejected, filled, canceled, expired, triggered, updated, ...) is an [`Event`] queued inside
//! the engine until drained. Invalid commands become events with a [`Reason`]; they never
//! leave the engine inconsistent. See docs/matching-engine.md for the semantics.

mod backtest;
mod engine;
mod fee;
mod store;
mod types;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

pub use engine::MatchingEngine;
pub use types::*;
