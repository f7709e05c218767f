//! Plain-text lexicon files: `#` comments, blank lines, tab-separated columns.

use crate::error::Error;

/// One data line: its 1-based line number and columns.
pub(crate) struct Line<'a> {
    pub number: usize,
    pub cols: Vec<&'a str>,
}

/// The data lines of a TSV or word-list file. `min_cols` columns are required on each line.
pub(crate) fn lines<'a>(file: &str, src: &'a str, min_cols: usize) -> Result<Vec<Line<'a>>, Error> {
    let mut out = Vec::new();
    for (i, raw) in src.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cols.len() < min_cols || cols[..min_cols].iter().any(|c| c.is_empty()) {
            return Err(Error::data(
                file,
                i + 1,
                format!("expected {min_cols} tab-separated column(s), found `{line}`"),
            ));
        }
        out.push(Line { number: i + 1, cols });
    }
    Ok(out)
}

/// Parses a number column, naming file and line on failure.
pub(crate) fn number(
    file: &str,
    line: &Line<'_>,
    col: usize,
    range: (f32, f32),
) -> Result<f32, Error> {
    let raw = line.cols[col];
    let v: f32 = raw.parse().map_err(|_| {
        Error::data(
            file,
            line.number,
            format!("column {} must be a number, found `{raw}`", col + 1),
        )
    })?;
    if !(range.0..=range.1).contains(&v) {
        return Err(Error::data(
            file,
            line.number,
            format!("column {} must be in [{}, {}], found {v}", col + 1, range.0, range.1),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_and_blank_lines_and_names_bad_lines() {
        let src = "# header\n\nbon\t2\nmauvais\n";
        let err = lines("x.tsv", src, 2).err().unwrap().to_string();
        assert_eq!(err, "x.tsv:4: expected 2 tab-separated column(s), found `mauvais`");
        let ok = lines("x.tsv", "# h\nbon\t2\n", 2).unwrap();
        assert_eq!(ok[0].number, 2);
        assert_eq!(number("x.tsv", &ok[0], 1, (-4.0, 4.0)).unwrap(), 2.0);
    }
}
