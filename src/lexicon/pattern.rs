//! The pattern syntax of cue files that declare `syntax = "pattern"` (`lexicons/families.toml`).
//!
//! A pattern is words separated by spaces, like a plain cue, plus a few operators for the
//! shapes that one fixed phrase cannot write: `(a|b c)` alternatives, `x?` and `(a b)?`
//! optional parts, `...` or `…` a gap of 0 to [`GAP_MAX`] words, `<name>` a word class defined
//! in the same file, `<digits>` any number token. It compiles to a short list of word sequences
//! (alternatives and optional parts expanded), each of which the [`CueMatcher`] matches on the
//! same folded tokens as plain cues; gaps stay in the sequence as [`WordPat::Gap`].
//!
//! [`CueMatcher`]: super::matcher::CueMatcher

use std::fmt;

use rustc_hash::FxHashMap;

use super::matcher::{Pattern, WordPat};
use crate::tokenize;

/// The most words a gap `...` skips.
pub(crate) const GAP_MAX: u8 = 8;
/// The most word sequences one pattern may expand to: beyond, it should be split.
const MAX_VARIANTS: usize = 256;
/// The most steps (words, plus [`GAP_MAX`] per gap) in one sequence: the matcher's state is a
/// 64-bit set of steps.
pub(crate) const MAX_STEPS: usize = 63;

/// A pattern that does not parse: where (1-based character of the pattern) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "character {}: {}", self.column, self.message)
    }
}

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError { column, message: message.into() })
}

/// The word classes of one language of a file: name → the words it stands for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Classes {
    map: FxHashMap<String, Vec<WordPat>>,
}

impl Classes {
    /// Defines class `name` from `def`, an alternative of single words (`(minutes|heures)`),
    /// which may use `<digits>` and classes defined before it.
    pub fn define(&mut self, name: &str, def: &str) -> Result<(), PatternError> {
        if name == "digits" {
            return err(1, "`digits` is built in (any number token): pick another class name");
        }
        if !is_class_name(name) {
            return err(1, format!("class name `{name}` must be snake_case (a-z, 0-9, _)"));
        }
        if let Some(i) = def.chars().position(|c| c == '?' || c == '…') {
            // `heures?` would make the whole word optional, not its `s`: not a regex.
            return err(
                i + 1,
                format!(
                    "class `{name}`: a class is a list of words, with no optional part or gap \
                     (list each form, or use a prefix such as `heure*`)"
                ),
            );
        }
        let variants = parse(def, self)?;
        let mut members = Vec::new();
        for v in variants {
            match v.0.as_slice() {
                [WordPat::AnyOf(ws)] => members.extend(ws.iter().cloned()),
                [w @ (WordPat::Exact(_) | WordPat::Prefix(_) | WordPat::Digits)] => {
                    members.push(w.clone())
                }
                _ => {
                    return err(
                        1,
                        format!(
                            "class `{name}`: each alternative must be one word (found `{}`)",
                            v.display()
                        ),
                    );
                }
            }
        }
        self.map.insert(name.to_string(), members);
        Ok(())
    }

    fn get(&self, name: &str) -> Option<WordPat> {
        if name == "digits" {
            return Some(WordPat::Digits);
        }
        self.map.get(name).map(|ws| WordPat::any_of(ws.clone()))
    }

    fn names(&self) -> String {
        let mut names: Vec<&str> = self.map.keys().map(String::as_str).collect();
        names.push("digits");
        names.sort_unstable();
        names.join(", ")
    }
}

fn is_class_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One lexical unit of a pattern, with the column where it starts.
#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Open,
    Close,
    Bar,
    Optional,
    Gap,
    Class(String),
    Word(String),
}

fn lex(src: &str) -> Result<Vec<(usize, Lex)>, PatternError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let col = i + 1;
        let c = chars[i];
        let three_dots = chars.get(i..i + 3) == Some(&['.', '.', '.'][..]);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '(' => Some(Lex::Open),
            ')' => Some(Lex::Close),
            '|' => Some(Lex::Bar),
            '?' => Some(Lex::Optional),
            '…' => Some(Lex::Gap),
            _ => None,
        };
        if let Some(l) = single {
            if l == Lex::Optional && (i == 0 || chars[i - 1].is_whitespace()) {
                return err(col, "`?` must follow a word or a `)` directly");
            }
            out.push((col, l));
            i += 1;
        } else if three_dots {
            out.push((col, Lex::Gap));
            i += 3;
            while chars.get(i) == Some(&'.') {
                i += 1;
            }
        } else if c == '<' {
            let end = chars[i..].iter().position(|&c| c == '>');
            let Some(end) = end else {
                return err(col, "`<` opens a class name that no `>` closes");
            };
            out.push((col, Lex::Class(chars[i + 1..i + end].iter().collect())));
            i += end + 1;
        } else if c == '>' {
            return err(col, "`>` without a `<` before it");
        } else {
            let start = i;
            while i < chars.len() && !ends_word(&chars, i) {
                i += 1;
            }
            out.push((col, Lex::Word(chars[start..i].iter().collect())));
        }
    }
    Ok(out)
}

fn ends_word(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    c.is_whitespace() || "()|?…<>".contains(c) || chars.get(i..i + 3) == Some(&['.', '.', '.'][..])
}

/// A parsed pattern, before expansion.
#[derive(Debug, Clone)]
enum Node {
    /// Consecutive words of one written word (`d'attente` is `d'` `attente`).
    Words(Vec<WordPat>),
    Gap,
    Alt(Vec<Vec<(usize, Node)>>),
    Opt(Box<Node>),
}

struct Parser<'a> {
    toks: Vec<(usize, Lex)>,
    pos: usize,
    classes: &'a Classes,
    len: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Lex)> {
        self.toks.get(self.pos)
    }

    /// Items up to a `|`, a `)` or the end.
    fn sequence(&mut self) -> Result<Vec<(usize, Node)>, PatternError> {
        let mut items = Vec::new();
        while let Some((col, l)) = self.peek().cloned() {
            let node = match l {
                Lex::Bar | Lex::Close => break,
                Lex::Optional => return err(col, "`?` must follow a word or a `)`"),
                Lex::Gap => Node::Gap,
                Lex::Class(name) => match self.classes.get(&name) {
                    Some(w) => Node::Words(vec![w]),
                    None => {
                        return err(
                            col,
                            format!(
                                "unknown class `<{name}>` (defined here: {})",
                                self.classes.names()
                            ),
                        );
                    }
                },
                Lex::Word(w) => Node::Words(word(&w, col)?),
                Lex::Open => {
                    self.pos += 1;
                    let alt = self.group(col)?;
                    items.push((col, self.optional(alt)?));
                    continue;
                }
            };
            self.pos += 1;
            let node = self.optional(node)?;
            if matches!(node, Node::Gap) && matches!(items.last(), Some((_, Node::Gap))) {
                return err(col, "two gaps in a row: one gap already spans 0 to 8 words");
            }
            items.push((col, node));
        }
        Ok(items)
    }

    /// The alternatives of a group whose `(` is at `open`; the `(` is consumed.
    fn group(&mut self, open: usize) -> Result<Node, PatternError> {
        let mut alts = Vec::new();
        loop {
            let seq = self.sequence()?;
            let here = self.peek().map_or(self.len + 1, |t| t.0);
            if seq.is_empty() {
                return err(here, "empty alternative: every alternative needs a word");
            }
            alts.push(seq);
            match self.peek() {
                Some((_, Lex::Bar)) => self.pos += 1,
                Some((_, Lex::Close)) => {
                    self.pos += 1;
                    return Ok(merge_one_word_alternatives(alts));
                }
                _ => return err(open, "unbalanced parenthesis: this `(` is never closed"),
            }
        }
    }

    fn optional(&mut self, node: Node) -> Result<Node, PatternError> {
        if let Some((col, Lex::Optional)) = self.peek() {
            if matches!(node, Node::Gap) {
                return err(*col, "a gap cannot be optional: it already spans 0 words or more");
            }
            self.pos += 1;
            return Ok(Node::Opt(Box::new(node)));
        }
        Ok(node)
    }
}

/// Alternatives of one word each (`(attente|attendu|patienté)`) become one class of words rather
/// than so many sequences: a pattern with several long lists would otherwise expand to hundreds.
/// Alternatives of several words stay as they are, beside that class.
fn merge_one_word_alternatives(alts: Vec<Vec<(usize, Node)>>) -> Node {
    let mut members = Vec::new();
    let mut first_col = None;
    let mut rest = Vec::new();
    for alt in alts {
        let one = match alt.as_slice() {
            [(col, Node::Words(ws))] if ws.len() == 1 && !matches!(ws[0], WordPat::Gap(_)) => {
                Some((*col, ws[0].clone()))
            }
            _ => None,
        };
        match one {
            Some((col, WordPat::AnyOf(inner))) => {
                first_col.get_or_insert(col);
                members.extend(inner);
            }
            Some((col, w)) => {
                first_col.get_or_insert(col);
                members.push(w);
            }
            None => rest.push(alt),
        }
    }
    let class = (!members.is_empty()).then(|| WordPat::any_of(members));
    match (class, first_col) {
        (Some(w), _) if rest.is_empty() => Node::Words(vec![w]),
        (Some(w), Some(col)) => {
            rest.insert(0, vec![(col, Node::Words(vec![w]))]);
            Node::Alt(rest)
        }
        _ => Node::Alt(rest),
    }
}

/// One written word, through the comment tokenizer so that both split alike; a trailing `*`
/// makes its last word a prefix.
fn word(w: &str, col: usize) -> Result<Vec<WordPat>, PatternError> {
    let star = w.ends_with('*');
    let body = w.trim_end_matches('*');
    if body.contains('*') {
        return err(col, format!("`{w}`: `*` is only allowed at the end of a word"));
    }
    let toks = tokenize::tokenize(body);
    let mut words: Vec<WordPat> = (0..toks.tokens().len())
        .filter(|&i| toks.tokens()[i].kind.is_matchable())
        .map(|i| WordPat::Exact(toks.key(i).to_string()))
        .collect();
    let Some(last) = words.pop() else {
        return err(col, format!("`{w}` holds no word (punctuation is not matched)"));
    };
    let last = match last {
        WordPat::Exact(s) if star => {
            if s.chars().count() < 3 || body.ends_with(|c: char| !c.is_alphanumeric()) {
                return err(col, format!("`{w}`: a prefix needs at least 3 letters before `*`"));
            }
            WordPat::Prefix(s)
        }
        other => other,
    };
    words.push(last);
    Ok(words)
}

/// Parses `src` with the word classes `classes` and expands it into the word sequences it
/// stands for.
pub(crate) fn parse(src: &str, classes: &Classes) -> Result<Vec<Pattern>, PatternError> {
    let toks = lex(src)?;
    let len = src.chars().count();
    let mut p = Parser { toks, pos: 0, classes, len };
    let items = p.sequence()?;
    if let Some((col, l)) = p.peek() {
        return match l {
            Lex::Close => err(*col, "unbalanced parenthesis: `)` without a matching `(`"),
            _ => err(*col, "`|` outside parentheses: write the alternatives as `(a|b)`"),
        };
    }
    match (items.first(), items.last()) {
        (None, _) => return err(1, "empty pattern"),
        (Some((col, Node::Gap)), _) => {
            return err(*col, "a gap `...` at the start matches nothing more: remove it");
        }
        (_, Some((col, Node::Gap))) => {
            return err(*col, "a gap `...` at the end matches nothing more: remove it");
        }
        _ => {}
    }
    let mut variants = expand(&items, 1)?;
    for v in &mut variants {
        tidy(v);
    }
    if variants.iter().any(Vec::is_empty) {
        return err(1, "every part is optional: the pattern would match an empty text");
    }
    let mut out: Vec<Pattern> = Vec::with_capacity(variants.len());
    for v in variants {
        let steps: usize =
            v.iter().map(|w| if let WordPat::Gap(n) = w { usize::from(*n) } else { 1 }).sum();
        if steps > MAX_STEPS {
            return err(
                1,
                format!("too long: {steps} words counting 8 per gap (at most {MAX_STEPS})"),
            );
        }
        let pat = Pattern(v);
        if !out.contains(&pat) {
            out.push(pat);
        }
    }
    Ok(out)
}

/// Drops gaps left at an edge by an optional part, and merges gaps left side by side.
fn tidy(v: &mut Vec<WordPat>) {
    let mut out: Vec<WordPat> = Vec::with_capacity(v.len());
    for w in v.drain(..) {
        match (&w, out.last_mut()) {
            (WordPat::Gap(_), None) => {}
            (WordPat::Gap(n), Some(WordPat::Gap(m))) => *m = m.saturating_add(*n),
            _ => out.push(w),
        }
    }
    while matches!(out.last(), Some(WordPat::Gap(_))) {
        out.pop();
    }
    *v = out;
}

fn expand(items: &[(usize, Node)], col: usize) -> Result<Vec<Vec<WordPat>>, PatternError> {
    let mut acc: Vec<Vec<WordPat>> = vec![Vec::new()];
    for (c, node) in items {
        let options = expand_node(node, *c)?;
        let mut next = Vec::with_capacity(acc.len() * options.len());
        for a in &acc {
            for o in &options {
                let mut v = a.clone();
                v.extend(o.iter().cloned());
                next.push(v);
            }
        }
        if next.len() > MAX_VARIANTS {
            return err(
                col.max(*c),
                format!(
                    "expands to more than {MAX_VARIANTS} word sequences: split it into \
                     several patterns"
                ),
            );
        }
        acc = next;
    }
    Ok(acc)
}

fn expand_node(node: &Node, col: usize) -> Result<Vec<Vec<WordPat>>, PatternError> {
    Ok(match node {
        Node::Words(ws) => vec![ws.clone()],
        Node::Gap => vec![vec![WordPat::Gap(GAP_MAX)]],
        Node::Opt(inner) => {
            let mut v = expand_node(inner, col)?;
            v.push(Vec::new());
            v
        }
        Node::Alt(alts) => {
            let mut v = Vec::new();
            for a in alts {
                v.extend(expand(a, col)?);
            }
            v
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr_classes() -> Classes {
        let mut c = Classes::default();
        c.define("duration", "(minute*|heure*|jours|semaines|mois)").unwrap();
        c.define("number", "(<digits>|deux|trois|dix)").unwrap();
        c
    }

    fn shown(src: &str) -> Vec<String> {
        parse(src, &fr_classes()).unwrap().iter().map(Pattern::display).collect()
    }

    fn error(src: &str) -> PatternError {
        parse(src, &fr_classes()).expect_err(src)
    }

    #[test]
    fn plain_words_are_one_sequence() {
        assert_eq!(shown("Trop d'attente"), ["trop d'attente"]);
        assert_eq!(shown("rappel*"), ["rappel*"]);
    }

    #[test]
    fn alternatives_expand_and_each_may_be_several_words() {
        assert_eq!(shown("(pas de|aucune) réponse"), ["aucune reponse", "pas de reponse"]);
        assert_eq!(shown("a (b|c d) e"), ["a b e", "a c d e"]);
        assert_eq!(shown("(a|(b|c) d)"), ["a", "(b|c) d"]);
        // One word per alternative: a class, not one sequence each.
        assert_eq!(
            shown("(attente|attendu|patienté) <number>"),
            ["(attendu|attente|patiente) (deux|dix|trois|<digits>)"]
        );
        assert_eq!(shown("(a|<number>)"), ["(a|deux|dix|trois|<digits>)"]);
    }

    #[test]
    fn optional_word_and_group() {
        assert_eq!(
            shown("toujours pas de réponse?"),
            ["toujours pas de reponse", "toujours pas de"]
        );
        assert_eq!(shown("rappelé (le jour)? même"), ["rappele le jour meme", "rappele meme"]);
        assert_eq!(shown("(très)? long"), ["tres long", "long"]);
        assert_eq!(shown("(très|trop)? long"), ["(tres|trop) long", "long"]);
    }

    #[test]
    fn gaps_stay_in_the_sequence_and_edges_are_tidied() {
        assert_eq!(shown("promis ... jamais"), ["promis … jamais"]);
        assert_eq!(shown("promis … jamais"), ["promis … jamais"]);
        // An optional word beside a gap: without it the gaps merge; at an edge the gap goes.
        assert_eq!(shown("a ... b? ... c"), ["a … b … c", "a …16 c"]);
        assert_eq!(shown("a (x ... y)? b"), ["a x … y b", "a b"]);
        assert_eq!(shown("(x ...)? b"), ["x … b", "b"]);
    }

    #[test]
    fn classes_and_digits() {
        assert_eq!(
            shown("<number> <duration>"),
            ["(deux|dix|trois|<digits>) (jours|mois|semaines|minute*|heure*)"]
        );
        assert_eq!(shown("<digits> fois"), ["<digits> fois"]);
    }

    #[test]
    fn each_error_names_its_place() {
        let e = error("attente <durée>");
        assert_eq!(e.column, 9);
        assert!(e.message.contains("unknown class `<durée>`") && e.message.contains("duration"));
        let e = error("(trop d'attente");
        assert_eq!((e.column, e.message.contains("never closed")), (1, true), "{e}");
        let e = error("trop) d'attente");
        assert_eq!((e.column, e.message.contains("without a matching")), (5, true), "{e}");
        let e = error("(a||b)");
        assert_eq!((e.column, e.message.contains("empty alternative")), (4, true), "{e}");
        assert!(error("(a|)").message.contains("empty alternative"));
        assert!(error("()").message.contains("empty alternative"));
        assert_eq!(
            error("... jamais").message,
            "a gap `...` at the start matches nothing more: remove it"
        );
        let e = error("promis …");
        assert_eq!((e.column, e.message.contains("at the end")), (8, true), "{e}");
        assert!(error("a ... ... b").message.contains("two gaps"));
        assert!(error("a ...? b").message.contains("cannot be optional"));
        assert!(error("a ? b").message.contains("directly"));
        assert!(error("?a").message.contains("directly"));
        assert!(error("a | b").message.contains("outside parentheses"));
        assert!(error("a <duration b").message.contains("no `>`"));
        assert!(error("a > b").message.contains("without a `<`"));
        assert!(error("fa*").message.contains("3 letters"));
        assert!(error("f*ct").message.contains("end of a word"));
        assert!(error("a (, ;)").message.contains("holds no word"));
        assert!(error("").message.contains("empty"));
        assert!(error("a? b?").message.contains("empty text"));
        let many = "(a b|c) (d e|f) (g h|i) (j k|l) (m n|o) (p q|r) (s t|u) (v w|x) (y z|zz)";
        assert!(error(many).message.contains("more than 256"));
        let long = "a ... b ... c ... d ... e ... f ... g ... h";
        assert!(error(long).message.contains("too long"));
    }

    #[test]
    fn class_definitions_are_checked() {
        let mut c = Classes::default();
        assert!(c.define("d", "(jours|deux semaines)").unwrap_err().message.contains("one word"));
        assert!(c.define("Durée", "(jours)").unwrap_err().message.contains("snake_case"));
        assert!(c.define("digits", "(un)").unwrap_err().message.contains("built in"));
        assert!(c.define("h", "(heures?|jours)").unwrap_err().message.contains("no optional"));
        c.define("small", "(un|deux)").unwrap();
        c.define("n", "(<small>|<digits>|trois)").unwrap();
        let p = parse("<n>", &c).unwrap();
        assert_eq!(p[0].display(), "(deux|trois|un|<digits>)");
    }
}
