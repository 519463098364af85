//! String interning: stable small `u32` ids for strings (instrument ids at the ABI).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{CoreError, CoreResult};

/// Maps strings to dense ids `0, 1, 2, ...` in first-seen order and back.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `text`, assigning the next one if it is new.
    pub fn intern(&mut self, text: &str) -> CoreResult<u32> {
        if let Some(&id) = self.ids.get(text) {
            return Ok(id);
        }
        let id = u32::try_from(self.strings.len()).map_err(|_| CoreError::Overflow {
            op: "intern (more than 2^32 strings)",
        })?;
        let shared: Arc<str> = Arc::from(text);
        self.strings.push(Arc::clone(&shared));
        self.ids.insert(shared, id);
        Ok(id)
    }

    /// The id of `text` if it was interned.
    pub fn get(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The string of `id` if it exists.
    pub fn resolve(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).map(|s| &**s)
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_stable_ids() {
        let mut i = Interner::new();
        assert!(i.is_empty());
        assert_eq!(i.intern("BTCUSDT.BINANCE"), Ok(0));
        assert_eq!(i.intern("ETHUSDT.BINANCE"), Ok(1));
        assert_eq!(i.intern("BTCUSDT.BINANCE"), Ok(0));
        assert_eq!(i.intern(""), Ok(2));
        assert_eq!(i.len(), 3);
        assert_eq!(i.resolve(1), Some("ETHUSDT.BINANCE"));
        assert_eq!(i.resolve(3), None);
        assert_eq!(i.get("ETHUSDT.BINANCE"), Some(1));
        assert_eq!(i.get("nope"), None);
    }
}
