//! Features of the learned heads: what a comment looks like to a linear model.
//!
//! A comment becomes a short sparse vector of `(id, value)` pairs:
//! - hashed word unigrams and bigrams (accent-folded keys; a word in a negation's scope also
//!   yields a `¬word` feature, so "pas bon" and "bon" pull apart);
//! - hashed character 3- to 5-grams of each word, which carry typos, inflection and compounds;
//! - the lexicon's own reading: its score and the sums of positive and negative evidence, the
//!   label, the mode and the churn level it chose, sentence-level extremes.
//!
//! Ids below [`HASH_BASE`] are fixed slots (numeric lexicon features, then the sentence
//! embedding of the accurate tier); hashed features live above it. Id 0 is never used, so a
//! row can be padded with `(0, 0.0)`. The hash is FNV-1a, written here so that ids never change
//! with a dependency's version: a trained head stays valid as long as [`FEATURE_VERSION`] does.

use crate::analysis::{ChurnLevel, ModeHit, Sentiment, ThemeHit};
use crate::classify::Scan;
use crate::tokenize::TokenKind;

/// Bumped whenever the mapping from text to features changes; heads record it.
pub const FEATURE_VERSION: u32 = 1;
/// First slot of the numeric lexicon features.
const LEX_BASE: u32 = 1;
/// First slot of the sentence embedding (accurate tier).
pub const EMBED_BASE: u32 = 64;
/// First hashed id.
pub const HASH_BASE: u32 = 512;

/// A sparse feature vector: ids strictly increasing, no zero values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Feature ids.
    pub ids: Vec<u32>,
    /// Their values.
    pub values: Vec<f32>,
}

impl SparseVec {
    /// Number of non-zero entries.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no feature fired.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds the embedding, times `scale` (the head's embedding scale), at its fixed slots (the
    /// caller computed it from the same text).
    pub fn push_embedding(&mut self, embedding: &[f32], scale: f32) {
        // The slots lie between the lexicon ids and the hashed ids: one splice keeps ids sorted.
        let at = self.ids.partition_point(|&id| id < EMBED_BASE);
        let n = embedding.len() as u32;
        self.ids.splice(at..at, EMBED_BASE..EMBED_BASE + n);
        self.values.splice(at..at, embedding.iter().map(|x| x * scale));
    }
}

/// How many hashed ids there are: the head's input size is `HASH_BASE + buckets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashing {
    bits: u32,
}

impl Hashing {
    /// `2^bits` buckets (bits in 10..=24).
    pub fn new(bits: u32) -> Option<Hashing> {
        (10..=24).contains(&bits).then_some(Hashing { bits })
    }

    /// log2 of the bucket count.
    pub fn bits(self) -> u32 {
        self.bits
    }

    /// The number of features a head over these ids takes.
    pub fn n_features(self) -> usize {
        HASH_BASE as usize + (1usize << self.bits)
    }

    fn id(self, family: u8, parts: &[&str]) -> u32 {
        let mut h = Fnv::new();
        h.write(&[family]);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.write(&[0x1f]);
            }
            h.write(p.as_bytes());
        }
        self.bucket(&h)
    }

    fn bucket(self, h: &Fnv) -> u32 {
        HASH_BASE + (h.finish() & ((1u64 << self.bits) - 1)) as u32
    }
}

/// The lexicon's verdicts, as computed by the classifiers for the same comment.
pub(crate) struct LexiconView<'a> {
    pub sentiment: &'a Sentiment,
    pub themes: &'a [ThemeHit],
    pub mode: &'a ModeHit,
    pub churn_level: ChurnLevel,
    pub churn_risk: f32,
}

const WORDS: u8 = b'w';
const BIGRAMS: u8 = b'b';
const CHARS: u8 = b'c';
const LABELS: u8 = b'l';

/// The features of one scanned comment.
pub(crate) fn extract(scan: &Scan<'_>, lex: &LexiconView<'_>, hashing: Hashing) -> SparseVec {
    let mut words: Vec<u32> = Vec::with_capacity(64);
    let mut chars: Vec<u32> = Vec::with_capacity(256);
    let mut scratch = GramScratch::default();
    let toks = scan.toks;
    let mut tokens = 0usize;
    for s in &scan.sentences {
        let mut prev = "<s>";
        for (pos, &i) in s.idx.iter().enumerate() {
            let key = toks.key(i);
            tokens += 1;
            words.push(hashing.id(WORDS, &[key]));
            if s.negated.get(pos).copied().unwrap_or(false) {
                words.push(hashing.id(WORDS, &["¬", key]));
            }
            words.push(hashing.id(BIGRAMS, &[prev, key]));
            prev = key;
            if toks.tokens()[i].kind == TokenKind::Word {
                char_grams(key, hashing, &mut scratch, &mut chars);
            }
        }
        words.push(hashing.id(BIGRAMS, &[prev, "</s>"]));
        if s.question {
            words.push(hashing.id(WORDS, &["?"]));
        }
        if s.exclamations > 0 {
            words.push(hashing.id(WORDS, &["!"]));
        }
    }
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(words.len() + chars.len() + 24);
    push_counts(&mut words, &mut out);
    push_counts(&mut chars, &mut out);
    push_lexicon(scan, lex, tokens, hashing, &mut out);
    // Two sorted runs (words, chars) and a short tail: the stable sort merges runs in linear time.
    out.sort_by_key(|p| p.0);
    // Hashed families may collide with each other: merge equal ids.
    let mut v = SparseVec::default();
    for (id, val) in out {
        if v.ids.last() == Some(&id) {
            if let Some(last) = v.values.last_mut() {
                *last += val;
            }
        } else if val != 0.0 {
            v.ids.push(id);
            v.values.push(val);
        }
    }
    v
}

/// Reused buffers of [`char_grams`]: one allocation per comment, not two per word.
#[derive(Default)]
struct GramScratch {
    text: Vec<u8>,
    bounds: Vec<usize>,
}

/// Character 3- to 5-grams of `<key>` (word boundaries marked), over chars, not bytes. The
/// ids are those of `hashing.id(CHARS, &[gram])`; the 4- and 5-gram at a position extend the
/// 3-gram's hash state instead of hashing again (this runs for every word of every comment).
fn char_grams(key: &str, hashing: Hashing, scratch: &mut GramScratch, out: &mut Vec<u32>) {
    let GramScratch { text, bounds } = scratch;
    text.clear();
    text.push(b'<');
    text.extend_from_slice(key.as_bytes());
    text.push(b'>');
    // Where each char of `<key>` starts, then the end.
    bounds.clear();
    bounds.push(0);
    bounds.extend(key.char_indices().map(|(i, _)| i + 1));
    bounds.push(text.len() - 1);
    bounds.push(text.len());
    let n_chars = bounds.len() - 1;
    for start in 0..n_chars.saturating_sub(2) {
        let mut h = Fnv::new();
        h.write(&[CHARS]);
        h.write(&text[bounds[start]..bounds[start + 3]]);
        out.push(hashing.bucket(&h));
        for end in start + 4..=(start + 5).min(n_chars) {
            h.write(&text[bounds[end - 1]..bounds[end]]);
            out.push(hashing.bucket(&h));
        }
    }
}

/// Sub-linear counts (1 + ln tf), the family scaled to unit length so that long comments and
/// the many character grams do not drown the rest.
fn push_counts(ids: &mut [u32], out: &mut Vec<(u32, f32)>) {
    ids.sort_unstable();
    let start = out.len();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i + 1;
        while j < ids.len() && ids[j] == ids[i] {
            j += 1;
        }
        out.push((ids[i], 1.0 + ((j - i) as f32).ln()));
        i = j;
    }
    let norm = out[start..].iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        for p in &mut out[start..] {
            p.1 /= norm;
        }
    }
}

fn push_lexicon(
    scan: &Scan<'_>,
    lex: &LexiconView<'_>,
    tokens: usize,
    hashing: Hashing,
    out: &mut Vec<(u32, f32)>,
) {
    let s = lex.sentiment;
    let (mut pos, mut neg, mut negated) = (0f32, 0f32, 0f32);
    for e in &s.evidence {
        let w = e.weight.unwrap_or(0.0);
        if w > 0.0 {
            pos += w;
        } else {
            neg -= w;
        }
        if e.negated {
            negated += 1.0;
        }
    }
    let sent =
        |f: fn(f32, f32) -> f32, init: f32| s.sentences.iter().map(|t| t.score).fold(init, f);
    let theme_mean = if lex.themes.is_empty() {
        0.0
    } else {
        lex.themes.iter().map(|t| t.sentiment.score).sum::<f32>() / lex.themes.len() as f32
    };
    let numeric = [
        s.score,
        (pos / 4.0).tanh(),
        (neg / 4.0).tanh(),
        (negated / 3.0).min(1.0),
        sent(f32::min, 0.0),
        sent(f32::max, 0.0),
        s.sentences.first().map_or(0.0, |t| t.score),
        s.sentences.last().map_or(0.0, |t| t.score),
        theme_mean,
        lex.churn_risk,
        ((1 + tokens) as f32).ln() / 6.0,
        ((1 + scan.sentences.len()) as f32).ln() / 3.0,
        (lex.themes.len() as f32 / 4.0).min(1.0),
    ];
    for (k, v) in numeric.into_iter().enumerate() {
        if v.is_finite() && v != 0.0 {
            out.push((LEX_BASE + k as u32, v));
        }
    }
    for label in [
        ("tone", s.label.as_str()),
        ("mode", lex.mode.label.as_str()),
        ("churn", lex.churn_level.as_str()),
        ("lang", scan.lang.as_str()),
    ] {
        out.push((hashing.id(LABELS, &[label.0, label.1]), 1.0));
    }
}

/// 64-bit FNV-1a of `bytes`: the project's one stable hash (feature ids, the embedding cache's
/// keys, the hash split of a user's training file), written here so that it never changes with
/// a dependency's version.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.write(bytes);
    h.finish()
}

/// 64-bit FNV-1a, fed in parts.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_values() {
        // Published FNV-1a 64 test vectors.
        let mut h = Fnv::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv::new();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hashed_ids_stay_in_range() {
        let h = Hashing::new(12).unwrap();
        for w in ["", "a", "résiliation", "🙂"] {
            let id = h.id(WORDS, &[w]);
            assert!(id >= HASH_BASE && (id as usize) < h.n_features());
        }
        assert!(Hashing::new(9).is_none() && Hashing::new(25).is_none());
    }

    #[test]
    fn char_grams_count_chars_not_bytes() {
        let h = Hashing::new(16).unwrap();
        let mut out = Vec::new();
        char_grams("été", h, &mut GramScratch::default(), &mut out);
        // "<été>" has 5 chars: three 3-grams, two 4-grams, one 5-gram.
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn char_grams_are_the_hashes_of_the_grams() {
        // The incremental hashing must give the ids of the grams hashed one by one (the shipped
        // heads were trained on those).
        let h = Hashing::new(18).unwrap();
        let mut scratch = GramScratch::default();
        for key in ["", "a", "ok", "été", "résiliation", "🙂👍🏽", "naïveté"] {
            let chars: Vec<char> = format!("<{key}>").chars().collect();
            let mut want = Vec::new();
            for n in 3..=5 {
                for w in chars.windows(n) {
                    want.push(h.id(CHARS, &[&w.iter().collect::<String>()]));
                }
            }
            let mut got = Vec::new();
            char_grams(key, h, &mut scratch, &mut got);
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{key:?}");
        }
    }

    #[test]
    fn embedding_goes_to_its_slots_in_order() {
        let mut v = SparseVec { ids: vec![3, HASH_BASE + 7], values: vec![0.5, 1.0] };
        v.push_embedding(&[0.1, 0.2], 1.0);
        assert_eq!(v.ids, vec![3, EMBED_BASE, EMBED_BASE + 1, HASH_BASE + 7]);
        assert_eq!(v.values, vec![0.5, 0.1, 0.2, 1.0]);
    }
}
