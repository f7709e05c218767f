//! The ids met in one indexing run: which repeat, and where each was first read.
//!
//! An index holds one document per id, so a repeated id replaces (or, by policy, is skipped or
//! refused); either way the run must say so. Memory is bounded by the number of distinct ids:
//! one 64-bit hash and one packed place (file and line) each, about 20 bytes, so 20 MB for a
//! million ids. Two different ids share a hash with probability about n²/2⁶⁵ (1 in 37 million
//! for a run of a million ids); the second would then count as a repeat of the first.

use std::hash::{DefaultHasher, Hash, Hasher};

use rustc_hash::FxHashMap;
use serde::Serialize;

/// Where a record was read.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The input file (`-` for standard input).
    pub file: &'a str,
    /// 1-based line where the record starts.
    pub line: u64,
}

/// An id read again in the same run: the first example of each repeated id is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repeat {
    /// The id.
    pub id: String,
    /// Where it was first read (`x.csv:3`; empty when not known).
    pub first: String,
    /// Where it was read again.
    pub again: String,
}

/// What [`SeenIds::see`] found.
pub(crate) enum Seen {
    /// The id is new in this run.
    First,
    /// The id was read before in this run, first at this place (`x.csv:3`, empty if unknown).
    Again { first: String },
}

/// Repeats kept as examples.
const EXAMPLES: usize = 5;
/// Set on an entry once its id has repeated (to count repeated ids, not only records).
const REPEATED: u64 = 1 << 63;
/// Bits of a packed place holding the line; the file index (plus one, 0: unknown) is above.
const LINE_BITS: u32 = 40;

/// The ids of one run.
#[derive(Default)]
pub(crate) struct SeenIds {
    /// Hash of the id → packed place of its first record.
    first: FxHashMap<u64, u64>,
    /// The files places refer to, in order of first use.
    files: Vec<String>,
    /// Records whose id was read before in the run.
    pub repeated_records: u64,
    /// Distinct ids read more than once.
    pub repeated_ids: u64,
    /// The first few repeats.
    pub examples: Vec<Repeat>,
}

/// The hash ids are tracked by (SipHash, fixed keys: the same in every run).
pub(crate) fn key(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl SeenIds {
    /// Notes that `id` (whose [`key`] is `k`) was read at `at`.
    pub fn see(&mut self, k: u64, id: &str, at: Option<Place>) -> Seen {
        let packed = at.map_or(0, |p| self.pack(p));
        let Some(entry) = self.first.get_mut(&k) else {
            self.first.insert(k, packed);
            return Seen::First;
        };
        self.repeated_records += 1;
        let first_time = *entry & REPEATED == 0;
        *entry |= REPEATED;
        let first = *entry & !REPEATED;
        let first = self.unpack(first);
        if first_time {
            self.repeated_ids += 1;
            if self.examples.len() < EXAMPLES {
                let again = at.map(|p| format!("{}:{}", p.file, p.line)).unwrap_or_default();
                self.examples.push(Repeat { id: id.to_string(), first: first.clone(), again });
            }
        }
        Seen::Again { first }
    }

    /// Whether an id with key `k` was read in this run.
    pub fn contains(&self, k: u64) -> bool {
        self.first.contains_key(&k)
    }

    /// Distinct ids read.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    fn pack(&mut self, p: Place) -> u64 {
        let file = match self.files.iter().rposition(|f| f == p.file) {
            Some(i) => i,
            None => {
                self.files.push(p.file.to_string());
                self.files.len() - 1
            }
        };
        let line = p.line.min((1 << LINE_BITS) - 1);
        ((file as u64 + 1) << LINE_BITS | line) & !REPEATED
    }

    fn unpack(&self, packed: u64) -> String {
        let file = (packed >> LINE_BITS) as usize;
        match file.checked_sub(1).and_then(|i| self.files.get(i)) {
            Some(f) => format!("{f}:{}", packed & ((1 << LINE_BITS) - 1)),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn see(s: &mut SeenIds, id: &str, file: &str, line: u64) -> Option<String> {
        match s.see(key(id), id, Some(Place { file, line })) {
            Seen::First => None,
            Seen::Again { first } => Some(first),
        }
    }

    #[test]
    fn repeats_are_counted_with_their_first_place() {
        let mut s = SeenIds::default();
        assert_eq!(see(&mut s, "a", "x.csv", 3), None);
        assert_eq!(see(&mut s, "b", "x.csv", 4), None);
        assert_eq!(see(&mut s, "a", "y.csv", 7).as_deref(), Some("x.csv:3"));
        assert_eq!(see(&mut s, "a", "y.csv", 9).as_deref(), Some("x.csv:3"));
        assert_eq!(
            s.examples,
            [Repeat { id: "a".into(), first: "x.csv:3".into(), again: "y.csv:7".into() }]
        );
        assert_eq!((s.repeated_records, s.repeated_ids, s.len()), (2, 1, 2));
        assert!(s.contains(key("b")) && !s.contains(key("c")));
        let mut unknown = SeenIds::default();
        unknown.see(key("a"), "a", None);
        assert!(
            matches!(unknown.see(key("a"), "a", None), Seen::Again { first } if first.is_empty())
        );
    }
}
