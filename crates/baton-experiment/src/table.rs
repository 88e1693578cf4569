//! A workload's result tables, made once from its typed summary and rendered twice: aligned plain text for
//! `baton run`'s terminal, Markdown for `baton report`. Also what reads a `summary.json` back into its typed
//! summary ([`parse`], and the [`nan`] helpers for the floats `serde_json` wrote as `null`).

use std::fmt::Write as _;

use serde::de::DeserializeOwned;

/// One table: an optional caption, a header, rows of cells (already formatted), and sentences under it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// A sentence above the table (what the rows are), if any.
    pub caption: Option<String>,
    /// The column names.
    pub header: Vec<String>,
    /// The rows, each as many cells as the header.
    pub rows: Vec<Vec<String>>,
    /// Sentences under the table (checks and claims computed from the same summary).
    pub notes: Vec<String>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        Table { header: header.iter().map(|h| h.as_ref().to_string()).collect(), ..Table::default() }
    }

    /// The same with a caption.
    #[must_use]
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Append a row (as many cells as the header).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len(), "a row of {cells:?} under {:?}", self.header);
        self.rows.push(cells);
    }

    /// Append a sentence under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Aligned plain text: the caption, the header, the rows (two spaces apart; a column of words left-aligned,
    /// one of numbers right-aligned), then one line per note; every line ends with a newline.
    pub fn text(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        // A column is words when any of its cells starts with a letter (a method, a critic, a router).
        let mut words = vec![false; self.header.len()];
        for row in &self.rows {
            for ((w, left), cell) in widths.iter_mut().zip(words.iter_mut()).zip(row) {
                *w = (*w).max(cell.chars().count());
                *left |= cell.starts_with(char::is_alphabetic);
            }
        }
        let line = |cells: &[String], out: &mut String| {
            let mut l = String::new();
            for (i, ((cell, w), left)) in cells.iter().zip(&widths).zip(&words).enumerate() {
                let gap = if i == 0 { "" } else { "  " };
                if *left {
                    let _ = write!(l, "{gap}{cell:<w$}");
                } else {
                    let _ = write!(l, "{gap}{cell:>w$}");
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        let mut out = String::new();
        if let Some(c) = &self.caption {
            let _ = writeln!(out, "{c}");
        }
        line(&self.header, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        out
    }

    /// Markdown: the caption as a paragraph, the table, then the notes as a list; ends with a blank line.
    pub fn markdown(&self) -> String {
        let cell = |c: &str| c.replace('|', "\\|");
        let line =
            |cells: &[String]| format!("| {} |\n", cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
        let mut out = String::new();
        if let Some(c) = &self.caption {
            let _ = writeln!(out, "{c}\n");
        }
        out.push_str(&line(&self.header));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out.push('\n');
        if !self.notes.is_empty() {
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
            out.push('\n');
        }
        out
    }
}

/// A number for a table cell: four decimals, scientific notation when very large or small, `–` when not finite.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// A 95% interval for a table cell, each end by [`num`]: `[lo, hi]`.
pub fn interval(ci: [f64; 2]) -> String {
    format!("[{}, {}]", num(ci[0]), num(ci[1]))
}

/// An optional number by [`num`], `-` when absent.
pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), num)
}

/// A share as a percentage with two decimals (`12.34%`), `–` when not finite.
pub fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", 100.0 * x)
    } else {
        "–".into()
    }
}

/// Read a `summary.json`'s text as `T`. The error names the field: its path in the summary (e.g.
/// `rows[0].value: invalid type ...`, or `rows[0]: missing field `value``) and where in the text.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("at `{path}`: {}", e.into_inner())
        }
    })?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// `deserialize_with` helpers for floats that may be non-finite: `serde_json` writes NaN and the infinities as
/// `null`, and these read `null` back as NaN (so a summary reads back into the type that wrote it).
pub mod nan {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    /// An `f64` or `null` (NaN).
    struct F(f64);

    impl<'de> Deserialize<'de> for F {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(F(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN)))
        }
    }

    /// `f64`, `null` read as NaN.
    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        F::deserialize(d).map(|F(x)| x)
    }

    /// `[f64; 2]` (an interval), each `null` read as NaN.
    pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        <[F; 2]>::deserialize(d).map(|[F(a), F(b)]| [a, b])
    }

    /// `Vec<f64>`, each `null` read as NaN.
    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<F>::deserialize(d).map(|v| v.into_iter().map(|F(x)| x).collect())
    }

    /// `BTreeMap<String, f64>`, each `null` read as NaN.
    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        BTreeMap::<String, F>::deserialize(d).map(|m| m.into_iter().map(|(k, F(x))| (k, x)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["method", "value", "95% CI"]).caption("Two methods.");
        t.row(vec!["ic-q".into(), num(0.5), interval([0.25, f64::NAN])]);
        t.row(vec!["a|b".into(), num(1e-7), interval([1.0, 2.0])]);
        t.note("IC-Q holds.");
        t
    }

    /// The cells of a Markdown table, row by row (header first, the `---` line skipped).
    fn markdown_cells(md: &str) -> Vec<Vec<String>> {
        md.lines()
            .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
            .map(|l| {
                let inner = &l[2..l.len() - 2];
                inner.replace("\\|", "\u{0}").split(" | ").map(|c| c.replace('\u{0}', "|")).collect()
            })
            .collect()
    }

    #[test]
    fn the_terminal_and_markdown_renderings_carry_the_same_cells_and_notes() {
        let t = sample();
        let mut expected = vec![t.header.clone()];
        expected.extend(t.rows.iter().cloned());
        let md = t.markdown();
        assert_eq!(markdown_cells(&md), expected, "{md}");
        assert!(md.starts_with("Two methods.\n\n") && md.contains("\n- IC-Q holds.\n"), "{md}");
        let text = t.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Two methods.");
        assert_eq!(lines.last(), Some(&"IC-Q holds."));
        for (line, cells) in lines[1..lines.len() - 1].iter().zip(&expected) {
            let mut rest: &str = line;
            for cell in cells {
                let at = rest.find(cell.as_str()).unwrap_or_else(|| panic!("`{cell}` not in `{line}`"));
                rest = &rest[at + cell.len()..];
            }
        }
        assert_eq!(lines.len(), 1 + expected.len() + 1, "{text}");
    }

    #[test]
    fn plain_text_columns_are_aligned() {
        let text = sample().text();
        let lines: Vec<&str> = text.lines().skip(1).take(3).collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{text}");
        assert!(lines[1].starts_with("ic-q    "), "a column of words is left-aligned: {text}");
        assert!(lines[0].contains("   value  "), "a column of numbers is right-aligned: {text}");
    }

    #[test]
    fn numbers_are_formatted_once_for_both_renderings() {
        assert_eq!(num(0.5), "0.5000");
        assert_eq!(num(123456.0), "1.235e5");
        assert_eq!(num(f64::NAN), "–");
        assert_eq!(interval([0.1, f64::INFINITY]), "[0.1000, –]");
        assert_eq!(opt(None), "-");
        assert_eq!(percent(0.1234), "12.34%");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "nan::f64")]
        x: f64,
        #[serde(deserialize_with = "nan::pair")]
        ci: [f64; 2],
        n: u32,
    }

    #[test]
    fn null_reads_back_as_nan_and_a_bad_field_is_named() {
        let p: Probe = parse(r#"{"x": null, "ci": [1.0, null], "n": 3}"#).expect("null floats read back");
        assert!(p.x.is_nan() && p.ci[0] == 1.0 && p.ci[1].is_nan() && p.n == 3);
        let e = parse::<Probe>(r#"{"x": 1.0, "ci": [1.0, 2.0]}"#).expect_err("n missing");
        assert!(e.contains("missing field `n`"), "{e}");
        let e = parse::<Probe>(r#"{"x": 1.0, "ci": [1.0, "two"], "n": 3}"#).expect_err("ci[1] mistyped");
        assert!(e.contains("`ci[1]`") && e.contains("invalid type"), "{e}");
        let e = parse::<Probe>(r#"{"x": 1.0, "ci": [1.0, 2.0], "n": 3} trailing"#).expect_err("trailing text");
        assert!(e.contains("trailing"), "{e}");
    }
}
