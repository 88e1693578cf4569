//! Grading: parse a response's final answer and compare it to the gold answer.
//!
//! Two rules:
//! - [`parse_answer`] / [`is_correct`], a decimal-aware parser: the final answer is the first number after the
//!   last `####`, else after the last "answer is", else the last number in the text. Numbers may carry a
//!   currency sign (`$20.00` = 20), thousands commas (`1,000`), decimals, a fraction (`3/4`), a percent sign
//!   (`25%` = 25) and a sign (`-3`; a `-` after a digit, `)` or `%`, or glued to a word, is subtraction).
//!   Answers are compared numerically (relative tolerance 1e-6).
//! - [`is_correct_routellm`], the recording's own rule: remove commas, take the last run of digits (`\d+`) of
//!   the response and of the reference, and compare them as Python integer literals. So `$20.00` reads as 0,
//!   `-3` as 3, and a last run with a leading zero such as `05` is invalid (never correct). The recording's
//!   True/False columns are exactly this rule (checked on all 1319 rows by the integration tests).

use std::sync::OnceLock;

use regex::Regex;

use crate::data::Gold;

/// Relative tolerance of numeric comparisons.
pub const REL_TOL: f64 = 1e-6;

/// A number found in a text, with its byte span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumberMatch {
    /// The value (`$1,200.50` = 1200.5, `3/4` = 0.75, `25%` = 25).
    pub value: f64,
    /// Byte offset where the match starts (at the sign, currency sign or first digit).
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
    /// Whether the text had a percent sign.
    pub percent: bool,
    /// Digits after the decimal point as written (0 for integers and fractions).
    pub decimals: u32,
}

fn number_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::unwrap_used)] // a constant pattern, covered by tests
        Regex::new(
            r"(?P<neg>-\s?)?(?:\$\s?)?(?P<neg2>-)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:/(?P<den>\d+(?:\.\d+)?))?(?P<pct>\s?%)?",
        )
        .unwrap()
    })
}

/// Every number in `text`, in order. See the module doc for what counts as a number.
pub fn numbers(text: &str) -> Vec<NumberMatch> {
    let mut out = Vec::new();
    for c in number_re().captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let Some(num) = c.name("num") else { continue };
        let mut start = whole.start();
        let digits: String = num.as_str().chars().filter(|&ch| ch != ',').collect();
        let Ok(mut value) = digits.parse::<f64>() else { continue };
        let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len() as u32);
        let mut decimals_out = decimals;
        if let Some(den) = c.name("den") {
            match den.as_str().parse::<f64>() {
                Ok(d) if d != 0.0 => {
                    value /= d;
                    decimals_out = 0;
                }
                _ => {}
            }
        }
        // A leading '-' is a sign only when what precedes it (ignoring spaces) is not an operand.
        let sign = c.name("neg").or(c.name("neg2"));
        let negative = match sign {
            Some(m) => {
                let before = text[..m.start()].trim_end_matches(' ').chars().next_back();
                let glued = text[..m.start()].chars().next_back().is_some_and(char::is_alphabetic);
                !glued && !matches!(before, Some(ch) if ch.is_ascii_digit() || ch == ')' || ch == '%')
            }
            None => false,
        };
        if let (Some(m), false) = (c.name("neg"), negative) {
            // The '-' is an operator: the number starts after it.
            start = m.end();
            let rest = &text[start..whole.end()];
            start += rest.len() - rest.trim_start().len();
        }
        if negative {
            value = -value;
        }
        out.push(NumberMatch {
            value,
            start,
            end: whole.end(),
            percent: c.name("pct").is_some(),
            decimals: decimals_out,
        });
    }
    out
}

/// The value of `s` if it is exactly one number (surrounding spaces allowed), e.g. `"$1,200.50"`.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    match numbers(t).as_slice() {
        [m] if m.start == 0 && m.end == t.len() => Some(m.value),
        _ => None,
    }
}

/// Where the final answer is announced: the text after the last `####`, else after the last "answer is"
/// (case-insensitive), else `None`.
pub fn final_answer_section(text: &str) -> Option<&str> {
    if let Some(k) = text.rfind("####") {
        return Some(&text[k + 4..]);
    }
    let lower = text.to_ascii_lowercase();
    lower.rfind("answer is").map(|k| &text[k + "answer is".len()..])
}

/// The final answer of a response: the first number after the last `####`, else after the last "answer is",
/// else the last number in the text. `None` if there is no number.
pub fn parse_answer(text: &str) -> Option<f64> {
    if let Some(section) = final_answer_section(text) {
        if let Some(m) = numbers(section).first() {
            return Some(m.value);
        }
    }
    numbers(text).last().map(|m| m.value)
}

/// The gold answer of a GSM8K reference solution: the number after `####`.
pub fn gold_gsm8k(reference: &str) -> Option<f64> {
    let k = reference.rfind("####")?;
    numbers(&reference[k + 4..]).first().map(|m| m.value)
}

/// Whether two numbers are equal within [`REL_TOL`] (relative, absolute below 1).
pub fn same_number(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs()).max(1.0)
}

/// Whether `response` answers `gold` correctly under the decimal-aware rule ([`parse_answer`]; for a
/// multiple-choice gold, [`parse_choice`]).
pub fn is_correct(response: &str, gold: &Gold) -> bool {
    match gold {
        Gold::Number(g) => parse_answer(response).is_some_and(|v| same_number(v, *g)),
        Gold::Choice { letter, options } => parse_choice(response, options) == Some(*letter),
    }
}

/// The option a multiple-choice response picks: in the final-answer section (see [`final_answer_section`]),
/// a lone option letter (`c`, `(c)`, `c)`), else a number equal to exactly one option's value; without a
/// final-answer section, the last such number in the text.
pub fn parse_choice(response: &str, options: &[(char, String)]) -> Option<char> {
    let values: Vec<(char, f64)> = options.iter().filter_map(|(l, t)| option_value(t).map(|v| (*l, v))).collect();
    let by_value = |v: f64| {
        let hits: Vec<char> = values.iter().filter(|(_, x)| same_number(*x, v)).map(|(l, _)| *l).collect();
        match hits.as_slice() {
            [l] => Some(*l),
            _ => None,
        }
    };
    if let Some(section) = final_answer_section(response) {
        let word = section
            .trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '(')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>();
        if word.len() == 1 {
            let c = word.chars().next().map(|c| c.to_ascii_lowercase());
            if let Some(c) = c.filter(|c| options.iter().any(|(l, _)| l == c)) {
                return Some(c);
            }
        }
        return numbers(section).first().and_then(|m| by_value(m.value));
    }
    numbers(response).last().and_then(|m| by_value(m.value))
}

/// The numeric value of a MathQA option text when it holds exactly one number (`"rs . 1200"` = 1200).
pub fn option_value(text: &str) -> Option<f64> {
    // MathQA spaces its tokens: "1 , 600" and "2 . 5" are numbers; "rs . 1" is not a decimal.
    let chars: Vec<char> = text.chars().collect();
    let mut compact = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let joins = |j: usize| matches!(chars.get(j), Some(',' | '.'));
        let digit = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(char::is_ascii_digit);
        if c == ' '
            && ((joins(i + 1) && digit(i.checked_sub(1)))
                || (i >= 2 && joins(i - 1) && digit(Some(i + 1)) && digit(i.checked_sub(3))))
        {
            continue;
        }
        compact.push(c);
    }
    match numbers(&compact).as_slice() {
        [m] => Some(m.value),
        _ => None,
    }
}

/// The recording's reading of a text: the last run of ASCII digits after removing commas, normalised (leading
/// zeros dropped), or `None` if there is none or it is not a valid Python integer literal (a leading zero
/// followed by a non-zero digit, like `05`).
pub fn routellm_value(text: &str) -> Option<String> {
    let cleaned: String = text.chars().filter(|&c| c != ',').collect();
    let bytes = cleaned.as_bytes();
    let end = bytes.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = bytes[..end].iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |k| k + 1);
    let run = &cleaned[start..end];
    let trimmed = run.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some("0".to_string());
    }
    if trimmed.len() != run.len() {
        return None; // "05": a SyntaxError in Python 3, graded as invalid
    }
    Some(trimmed.to_string())
}

/// The recording's correctness rule: [`routellm_value`] of the response equals that of the reference.
pub fn is_correct_routellm(response: &str, reference: &str) -> bool {
    match (routellm_value(response), routellm_value(reference)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether two responses give the same final answer under [`parse_answer`] (both must have one).
pub fn answers_agree(a: &str, b: &str) -> bool {
    matches!((parse_answer(a), parse_answer(b)), (Some(x), Some(y)) if same_number(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: f64) -> Gold {
        Gold::Number(x)
    }

    #[test]
    fn currency_commas_decimals_fractions_percent_and_signs_parse() {
        assert_eq!(parse_number("$20.00"), Some(20.0));
        assert_eq!(parse_number("1,234,567"), Some(1_234_567.0));
        assert_eq!(parse_number("$1,200.50"), Some(1200.5));
        assert_eq!(parse_number("3/4"), Some(0.75));
        assert_eq!(parse_number("25%"), Some(25.0));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("-$5"), Some(-5.0));
        assert_eq!(parse_number("$-5"), Some(-5.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("abc"), None);
    }

    #[test]
    fn minus_after_an_operand_is_subtraction() {
        let v: Vec<f64> = numbers("16 - 3 = 13, and 5-2 = 3, temp -4").iter().map(|m| m.value).collect();
        assert_eq!(v, vec![16.0, 3.0, 13.0, 5.0, 2.0, 3.0, -4.0]);
        assert_eq!(parse_answer("The change is -12 degrees."), Some(-12.0));
        assert_eq!(parse_answer("#### -7"), Some(-7.0));
    }

    #[test]
    fn final_answer_prefers_hashes_then_answer_is_then_last_number() {
        assert_eq!(parse_answer("She earns 9 * 2 = 18 dollars.\n#### 18\n"), Some(18.0));
        assert_eq!(parse_answer("So 5 apples.\nThe answer is 5, from 2 + 3."), Some(5.0));
        assert_eq!(parse_answer("She makes 9 * $2 = $18.00 every day."), Some(18.0));
        assert_eq!(parse_answer("Total: 1,000 cookies."), Some(1000.0));
        assert_eq!(parse_answer("It takes 2 + 1/2 = 5/2 bolts"), Some(2.5));
        assert_eq!(parse_answer("nothing here"), None);
        // A sentence-ending period is not a decimal point.
        assert_eq!(parse_answer("The total is 18."), Some(18.0));
    }

    #[test]
    fn decimal_aware_grading_accepts_what_last_integer_rejects() {
        let text = "Each ticket is $20.00 in total.";
        assert!(is_correct(text, &g(20.0)));
        assert!(!is_correct_routellm(text, "#### 20"));
        assert!(is_correct("#### 0.75", &g(0.75)));
        assert!(is_correct("#### 3/4", &g(0.75)));
        assert!(!is_correct("#### 19", &g(20.0)));
        assert!(!is_correct("no number", &g(20.0)));
    }

    #[test]
    fn routellm_rule_matches_python_last_integer_literal() {
        assert_eq!(routellm_value("costs $1,200"), Some("1200".to_string()));
        assert_eq!(routellm_value("$20.00"), Some("0".to_string()));
        assert_eq!(routellm_value("is -3"), Some("3".to_string()));
        assert_eq!(routellm_value("at 05"), None);
        assert_eq!(routellm_value("no digits"), None);
        assert_eq!(routellm_value("3.5"), Some("5".to_string()));
        assert!(is_correct_routellm("#### 18", "so 9*2=<<9*2=18>>18\n#### 18"));
        assert!(!is_correct_routellm("", "#### 18"));
        assert!(is_correct_routellm("#### 1,000", "#### 1000"));
    }

    #[test]
    fn choices_parse_by_letter_or_value() {
        let opts: Vec<(char, String)> =
            [('a', "12"), ('b', "rs . 1 , 600"), ('c', "5 : 3")].iter().map(|(l, t)| (*l, t.to_string())).collect();
        assert_eq!(parse_choice("so the answer is (c).", &opts), Some('c'));
        assert_eq!(parse_choice("#### b", &opts), Some('b'));
        assert_eq!(parse_choice("#### 1600", &opts), Some('b'));
        assert_eq!(parse_choice("we get 12", &opts), Some('a'));
        assert_eq!(parse_choice("#### 7", &opts), None);
        let gold = Gold::Choice { letter: 'a', options: opts };
        assert!(is_correct("The answer is a", &gold));
    }

    #[test]
    fn agreement_compares_final_answers() {
        assert!(answers_agree("#### 18", "She makes $18.00."));
        assert!(!answers_agree("#### 18", "#### 19"));
        assert!(!answers_agree("none", "none"));
    }
}
