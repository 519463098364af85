//! Timing of the side storages (price ladder vs BTreeMap) on a recorded delta stream; the
//! numbers behind docs/adr/0001-order-book-structure.md. Ignored by default (timing is not a
//! test). Run:
//!
//! ```text
//! python benches/workloads.py dump /tmp/l2_synthetic.bin
//! AF_BOOK_WORKLOAD=/tmp/l2_synthetic.bin \
//!     cargo test --release --test book_structure_bench -- --ignored --nocapture
//! ```
//!
//! Without `AF_BOOK_WORKLOAD` a built-in stream of the same shape is used (20 levels per side
//! around 50,000.00, 0.01 tick, 80 % updates near the top).

use std::hint::black_box;
use std::time::Instant;

use alphaforge_core::book::{
    BookDelta, BookQuery, L2Book, Ladder, Side, SideStore, TreeStore, F_LAST,
};

fn load() -> (String, Vec<BookDelta>) {
    if let Ok(path) = std::env::var("AF_BOOK_WORKLOAD") {
        let bytes = std::fs::read(&path).expect("cannot read AF_BOOK_WORKLOAD");
        let size = std::mem::size_of::<BookDelta>();
        assert_eq!(
            bytes.len() % size,
            0,
            "not a whole number of 56-byte records"
        );
        let deltas = bytes
            .chunks_exact(size)
            .map(|r| {
                let u = |o: usize| u64::from_le_bytes(r[o..o + 8].try_into().unwrap());
                BookDelta {
                    ts_event: u(0),
                    ts_init: u(8),
                    sequence: u(16),
                    order_id: u(24),
                    price: u(32) as i64,
                    size: u(40) as i64,
                    action: r[48],
                    side: r[49],
                    flags: r[50],
                    reserved: [0; 5],
                }
            })
            .collect();
        return (path, deltas);
    }
    ("built-in synthetic".into(), builtin(1_000_000))
}

/// A stream of the same shape as benches/workloads.py's (not byte-identical).
fn builtin(n: usize) -> Vec<BookDelta> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut bid, mut ask) = (4_999_999i64, 5_000_001i64);
    let mut out = Vec::with_capacity(n);
    let mut seq = 1u64;
    for k in 0..20 {
        out.push(BookDelta::add(Side::Buy, bid - k, 1000, 0).at(seq, 0));
        out.push(BookDelta::add(Side::Sell, ask + k, 1000, 0).at(seq, 0));
    }
    while out.len() < n {
        seq += 1;
        let r = rnd();
        let buy = r & 1 == 0;
        let depth = ((r >> 8) % 64).trailing_zeros().min(20) as i64 + (r >> 20) as i64 % 3;
        let size = 1 + ((r >> 32) % 20_000) as i64;
        let d = match (r >> 40) % 100 {
            0..=79 if buy => BookDelta::update(Side::Buy, bid - depth, size, 0),
            0..=79 => BookDelta::update(Side::Sell, ask + depth, size, 0),
            80..=89 if buy && bid + 1 < ask => {
                bid += 1;
                BookDelta::add(Side::Buy, bid, size, 0)
            }
            80..=89 if !buy && ask - 1 > bid => {
                ask -= 1;
                BookDelta::add(Side::Sell, ask, size, 0)
            }
            _ if buy => {
                bid -= 1;
                BookDelta::delete(Side::Buy, bid + 1, 0)
            }
            _ => {
                ask += 1;
                BookDelta::delete(Side::Sell, ask - 1, 0)
            }
        };
        out.push(d.at(seq, 0).with_flags(F_LAST));
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time_ns_per_delta(deltas: &[BookDelta], mut run: impl FnMut() -> usize) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        black_box(run());
        samples.push(start.elapsed().as_nanos() as f64 / deltas.len() as f64);
    }
    median(samples)
}

fn bench_store<S: SideStore<i64>>(name: &str, store: S, deltas: &[BookDelta]) {
    let batch = time_ns_per_delta(deltas, || {
        let mut book = L2Book::with_store(2, 3, store.empty_like()).unwrap();
        book.apply_batch(deltas).unwrap();
        book.level_count(Side::Buy)
    });
    let single = time_ns_per_delta(deltas, || {
        let mut book = L2Book::with_store(2, 3, store.empty_like()).unwrap();
        for d in deltas {
            book.apply(d).unwrap();
        }
        book.level_count(Side::Buy)
    });
    let chunked = time_ns_per_delta(deltas, || {
        let mut book = L2Book::with_store(2, 3, store.empty_like()).unwrap();
        for chunk in deltas.chunks(64) {
            book.apply_batch(chunk).unwrap();
        }
        book.level_count(Side::Buy)
    });
    let mut book = L2Book::with_store(2, 3, store.empty_like()).unwrap();
    book.apply_batch(deltas).unwrap();
    let reps = 10_000_000usize;
    let start = Instant::now();
    let mut acc = 0i64;
    for _ in 0..reps {
        let b = black_box(&book);
        acc = acc.wrapping_add(b.best_bid().map_or(0, |l| l.price));
        acc = acc.wrapping_add(b.best_ask().map_or(0, |l| l.price));
    }
    black_box(acc);
    let best = start.elapsed().as_nanos() as f64 / reps as f64;
    println!(
        "{name:<10} batch {batch:6.2} ns/delta | batches of 64 {chunked:6.2} | single apply \
         {single:6.2} | best bid+ask {best:5.2} ns"
    );
}

#[test]
#[ignore = "timing; run explicitly with --ignored --nocapture"]
fn ladder_vs_btreemap() {
    let (source, deltas) = load();
    println!("workload: {source}, {} deltas", deltas.len());
    bench_store("ladder", Ladder::<i64>::default(), &deltas);
    bench_store(
        "ladder-1k",
        Ladder::<i64>::with_window(1024, 1 << 16),
        &deltas,
    );
    bench_store(
        "ladder-16k",
        Ladder::<i64>::with_window(1 << 14, 1 << 16),
        &deltas,
    );
    bench_store(
        "ladder-64k",
        Ladder::<i64>::with_window(1 << 16, 1 << 16),
        &deltas,
    );
    bench_store("btreemap", TreeStore::<i64>::new(), &deltas);
}

#[inline(always)]
fn is_valid_copy(d: &BookDelta, last_sequence: u64) -> bool {
    let a = d.action;
    let action_ok = a.wrapping_sub(1) <= 3;
    let side_ok = (a == 4) & (d.side <= 2) | (a != 4) & (d.side.wrapping_sub(1) <= 1);
    let size_ok = (d.size > 0) | ((d.size == 0) & (a != 1));
    let seq_ok = d.sequence >= last_sequence;
    action_ok & side_ok & size_ok & seq_ok
}

/// Reading + checking the records without applying them: the memory-bandwidth floor of a
/// batch (the whole 56 MB synthetic batch does not stay in cache).
#[test]
#[ignore = "timing"]
fn validation_only() {
    let (_, deltas) = load();
    let t = time_ns_per_delta(&deltas, || {
        let mut ok = true;
        let mut seq = 0;
        for d in black_box(&deltas) {
            ok &= is_valid_copy(d, seq);
            seq = d.sequence;
        }
        ok as usize
    });
    let t2 = time_ns_per_delta(&deltas, || {
        let mut ok = 0usize;
        for c in black_box(&deltas).chunks(2048) {
            let mut seq = 0;
            for d in c {
                ok += is_valid_copy(d, seq) as usize;
                seq = d.sequence;
            }
        }
        ok
    });
    println!("validation only {t:.2} ns/delta; chunked {t2:.2}");
}
