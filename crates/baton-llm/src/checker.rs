//! An arithmetic checker: re-computes the calculations written in a response and flags what looks wrong,
//! without knowing the gold answer.
//!
//! What it checks:
//! - **Annotations** `<<expr=result>>` (GSM8K's calculator notation): `expr` is evaluated and compared with
//!   `result`.
//! - **Inline equations** `a op b ... = c`: a run of numbers, operators (`+ - * / × ÷`, and `x` between two
//!   numbers), parentheses and `=` with no words in between (`$` and thousands commas are ignored, `20%` is
//!   0.2 or 20, whichever makes the equation hold). Each side with an operator is compared with the bare number
//!   that follows its `=`. Comparisons between two expressions (`20 - 5 = 15 - 3 = 12`, a running total) are
//!   not made, and a side that starts with an operator, even `-` (its left operand was a word: `5S - 4 = 96`),
//!   is skipped, so the checker errs towards not flagging. Markdown's escaped star `\*` is a `*`.
//! - A stated result may be rounded: it matches if it is within half a unit of its last written digit
//!   (`10/3 = 3.33`, `7/2 = 3`), or within a relative 1e-6.
//!
//! Flags, gathered in a [`CheckVerdict`]:
//! - `arithmetic_errors`: the calculations that do not hold;
//! - `cut_off`: the output stops without a final answer (no `####`, no "answer is") mid-calculation
//!   (an unclosed `<<`), mid-number or mid-sentence (the last character is not `.`, `!`, `?`, `)` or `%`),
//!   or is empty;
//! - `missing_final`: no `####` and no "answer is";
//! - `non_integer_final`: the final answer ([`crate::grade::parse_answer`]) is not a whole number (GSM8K's
//!   answers all are).

use crate::grade;

/// One calculation that does not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct ArithmeticError {
    /// The calculation as written (annotation content, or the inline expression and its stated result).
    pub expression: String,
    /// The value the response states.
    pub stated: f64,
    /// The value re-computed from the expression.
    pub computed: f64,
}

/// What the checker found in one response.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CheckVerdict {
    /// Calculations re-computed (annotations plus inline equations).
    pub calculations: usize,
    /// The calculations that do not hold.
    pub arithmetic_errors: Vec<ArithmeticError>,
    /// The output stops mid-calculation, mid-number or mid-sentence without a final answer.
    pub cut_off: bool,
    /// There is no `####` and no "answer is".
    pub missing_final: bool,
    /// The final answer is not a whole number.
    pub non_integer_final: bool,
    /// The final answer as parsed by [`grade::parse_answer`].
    pub final_answer: Option<f64>,
}

impl CheckVerdict {
    /// Whether some calculation does not hold.
    pub fn arithmetic_error(&self) -> bool {
        !self.arithmetic_errors.is_empty()
    }

    /// The narrow flag: an arithmetic error or cut-off output.
    pub fn arithmetic_or_cut_off(&self) -> bool {
        self.arithmetic_error() || self.cut_off
    }

    /// The wide flag: any of arithmetic error, cut-off, missing final answer, non-integer final answer.
    pub fn any(&self) -> bool {
        self.arithmetic_or_cut_off() || self.missing_final || self.non_integer_final
    }
}

/// Checks one response. See the module doc for the rules.
pub fn check(text: &str) -> CheckVerdict {
    let mut v = CheckVerdict::default();
    // 1. Annotations, and the text with them removed.
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    let mut unclosed = false;
    while let Some(open) = rest.find("<<") {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find(">>") else {
            unclosed = true;
            rest = "";
            break;
        };
        check_annotation(&after[..close], &mut v);
        rest = &after[close + 2..];
    }
    plain.push_str(rest);
    // 2. Inline equations.
    check_inline(&plain, &mut v);
    // 3. Form of the ending.
    let has_final = grade::final_answer_section(text).is_some();
    v.missing_final = !has_final;
    let trimmed = text.trim_end();
    let bad_end = match trimmed.chars().next_back() {
        None => true,
        Some(c) => !matches!(c, '.' | '!' | '?' | ')' | '%' | '"' | '*' | ']'),
    };
    v.cut_off = !has_final && (unclosed || bad_end);
    v.final_answer = grade::parse_answer(text);
    v.non_integer_final = v.final_answer.is_some_and(|a| (a - a.round()).abs() > 1e-9);
    v
}

fn check_annotation(inner: &str, v: &mut CheckVerdict) {
    let Some((lhs, rhs)) = inner.rsplit_once('=') else { return };
    let (Some(lt), Some(rt)) = (tokenize_strict(lhs), tokenize_strict(rhs)) else { return };
    let [Tok::Num(stated)] = rt.as_slice() else { return };
    if !has_op(&lt) {
        return;
    }
    for pct in [true, false] {
        if let Some(c) = eval(&lt, pct) {
            v.calculations += 1;
            if !matches_stated(c, stated) {
                v.arithmetic_errors.push(ArithmeticError {
                    expression: inner.trim().to_string(),
                    stated: stated.value,
                    computed: c,
                });
            }
            return;
        }
    }
}

fn check_inline(text: &str, v: &mut CheckVerdict) {
    let toks = tokenize(text);
    for run in toks.split(|t| matches!(t, Tok::Break)) {
        if !run.iter().any(|t| matches!(t, Tok::Eq)) {
            continue;
        }
        let segs: Vec<&[Tok]> = run.split(|t| matches!(t, Tok::Eq)).collect();
        for pair in segs.windows(2) {
            let (lhs, rhs) = (pair[0], pair[1]);
            let [Tok::Num(stated)] = rhs else { continue };
            if !has_op(lhs) || matches!(lhs.first(), Some(Tok::Op(_))) {
                continue;
            }
            let with_pct = eval(lhs, true);
            let plain = eval(lhs, false);
            let Some(first) = with_pct.or(plain) else { continue };
            v.calculations += 1;
            let ok = [with_pct, plain].into_iter().flatten().any(|c| {
                matches_stated(c, stated)
                    || (stated.percent && matches_stated(c, &Num { value: stated.value * 100.0, ..*stated }))
            });
            if !ok {
                v.arithmetic_errors.push(ArithmeticError {
                    expression: format!("{} = {}", show(lhs), show(rhs)),
                    stated: stated.value_plain(),
                    computed: first,
                });
            }
        }
    }
}

/// A number as written. `value` has percent already divided by 100.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Num {
    value: f64,
    decimals: u32,
    percent: bool,
}

impl Num {
    fn value_plain(&self) -> f64 {
        if self.percent {
            self.value * 100.0
        } else {
            self.value
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Num(Num),
    Op(char),
    LParen,
    RParen,
    Eq,
    Break,
}

fn has_op(t: &[Tok]) -> bool {
    t.iter().any(|x| matches!(x, Tok::Op(_)))
}

fn show(t: &[Tok]) -> String {
    let mut s = String::new();
    for x in t {
        if !s.is_empty() {
            s.push(' ');
        }
        match x {
            Tok::Num(n) if n.percent => s.push_str(&format!("{}%", n.value * 100.0)),
            Tok::Num(n) => s.push_str(&format!("{}", n.value)),
            Tok::Op(c) => s.push(*c),
            Tok::LParen => s.push('('),
            Tok::RParen => s.push(')'),
            Tok::Eq => s.push('='),
            Tok::Break => s.push('|'),
        }
    }
    s
}

/// Whether `computed` equals the stated number up to the stated number's rounding.
fn matches_stated(computed: f64, stated: &Num) -> bool {
    let shown = stated.value_plain();
    let c = if stated.percent { computed * 100.0 } else { computed };
    let half_unit = 0.5 * 10f64.powi(-(stated.decimals as i32));
    (c - shown).abs() <= half_unit + 1e-9 || grade::same_number(c, shown)
}

/// Tokens of an annotation side: `None` if it holds anything but numbers, operators and parentheses.
fn tokenize_strict(s: &str) -> Option<Vec<Tok>> {
    let t = tokenize(s);
    if t.iter().any(|x| matches!(x, Tok::Break | Tok::Eq)) || t.is_empty() {
        None
    } else {
        Some(t)
    }
}

fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    let push_break = |out: &mut Vec<Tok>| {
        if !matches!(out.last(), Some(Tok::Break) | None) {
            out.push(Tok::Break);
        }
    };
    let next_nonspace = |from: usize| chars[from..].iter().copied().find(|c| *c != ' ');
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (n, len) = read_number(&chars[i..]);
            out.push(Tok::Num(n));
            i += len;
            continue;
        }
        match c {
            // Markdown escapes its stars: `17 \* 4`.
            ' ' | '\t' | '$' | '€' | '£' | '\\' => {}
            '\n' | '\r' => push_break(&mut out),
            '+' => out.push(Tok::Op('+')),
            '-' | '−' | '–' => out.push(Tok::Op('-')),
            '*' | '×' | '·' => out.push(Tok::Op('*')),
            '/' | '÷' => out.push(Tok::Op('/')),
            '(' => out.push(Tok::LParen),
            ')' => out.push(Tok::RParen),
            '=' => out.push(Tok::Eq),
            // A lone `x` is a times sign, even after a word ("15 pages x 1/3 = 5"): the run then starts with
            // an operator and is not checked.
            'x' | 'X'
                if !chars.get(i + 1).is_some_and(|c| c.is_alphabetic())
                    && (i == 0 || !chars[i - 1].is_alphabetic())
                    && next_nonspace(i + 1).is_some_and(|c| c.is_ascii_digit() || c == '$' || c == '(') =>
            {
                out.push(Tok::Op('*'));
            }
            _ => {
                // A word or any other symbol ends the run; skip the whole word.
                push_break(&mut out);
                if c.is_alphanumeric() {
                    while i + 1 < chars.len() && chars[i + 1].is_alphanumeric() {
                        i += 1;
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// Reads a number at the start of `c` (digits with optional 3-digit comma groups, decimals, a percent sign);
/// returns it and the characters consumed.
fn read_number(c: &[char]) -> (Num, usize) {
    let mut i = 0;
    let mut digits = String::new();
    while i < c.len() && c[i].is_ascii_digit() {
        digits.push(c[i]);
        i += 1;
    }
    // Thousands groups: ",ddd" not followed by another digit.
    while i + 3 < c.len()
        && c[i] == ','
        && c[i + 1..=i + 3].iter().all(char::is_ascii_digit)
        && !c.get(i + 4).is_some_and(char::is_ascii_digit)
        && !digits.is_empty()
    {
        digits.extend(&c[i + 1..=i + 3]);
        i += 4;
    }
    let mut decimals = 0;
    if i + 1 < c.len() && c[i] == '.' && c[i + 1].is_ascii_digit() {
        digits.push('.');
        i += 1;
        while i < c.len() && c[i].is_ascii_digit() {
            digits.push(c[i]);
            decimals += 1;
            i += 1;
        }
    }
    let mut value = digits.parse::<f64>().unwrap_or(f64::NAN);
    let mut percent = false;
    if i < c.len() && c[i] == '%' {
        percent = true;
        value /= 100.0;
        i += 1;
    }
    (Num { value, decimals, percent }, i)
}

/// Evaluates an arithmetic expression (`+ - * /`, unary minus, parentheses). `pct` decides whether `20%` is
/// 0.2 (true) or 20. `None` if the tokens are not one complete expression or the value is not finite.
fn eval(t: &[Tok], pct: bool) -> Option<f64> {
    let mut p = Parser { t, i: 0, pct };
    let v = p.expr()?;
    (p.i == t.len() && v.is_finite()).then_some(v)
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
    pct: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<Tok> {
        self.t.get(self.i).copied()
    }

    fn expr(&mut self) -> Option<f64> {
        let mut v = self.term()?;
        while let Some(Tok::Op(c @ ('+' | '-'))) = self.peek() {
            self.i += 1;
            let r = self.term()?;
            v = if c == '+' { v + r } else { v - r };
        }
        Some(v)
    }

    fn term(&mut self) -> Option<f64> {
        let mut v = self.factor()?;
        while let Some(Tok::Op(c @ ('*' | '/'))) = self.peek() {
            self.i += 1;
            let r = self.factor()?;
            v = if c == '*' { v * r } else { v / r };
        }
        Some(v)
    }

    fn factor(&mut self) -> Option<f64> {
        match self.peek()? {
            Tok::Op('-') => {
                self.i += 1;
                Some(-self.factor()?)
            }
            Tok::Num(n) => {
                self.i += 1;
                Some(if n.percent && !self.pct { n.value * 100.0 } else { n.value })
            }
            Tok::LParen => {
                self.i += 1;
                let v = self.expr()?;
                if self.peek()? != Tok::RParen {
                    return None;
                }
                self.i += 1;
                Some(v)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correct_reference_solution_is_clean() {
        let v = check("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18");
        assert_eq!(v.arithmetic_errors, vec![]);
        assert!(v.calculations >= 4, "{v:?}");
        assert!(!v.any(), "{v:?}");
        assert_eq!(v.final_answer, Some(18.0));
    }

    #[test]
    fn wrong_annotation_is_flagged() {
        let v = check("So 12 * 3 = <<12*3=38>>38 cookies.\n#### 38");
        assert!(v.arithmetic_error());
        assert_eq!(v.arithmetic_errors[0].stated, 38.0);
        assert_eq!(v.arithmetic_errors[0].computed, 36.0);
    }

    #[test]
    fn wrong_inline_equation_with_currency_and_commas_is_flagged() {
        let v = check("The house cost $80,000 + $50,000 = $140,000 in total.\n#### 140000");
        assert_eq!(v.arithmetic_errors.len(), 1, "{v:?}");
        let v = check("The house cost $80,000 + $50,000 = $130,000 in total.\n#### 130000");
        assert!(!v.arithmetic_error(), "{v:?}");
    }

    #[test]
    fn parentheses_division_percent_and_x_are_understood() {
        assert!(!check("120 * 7 / (7 + 13) = 42 cups.\n#### 42").arithmetic_error());
        assert!(!check("She pays 20% * 400 = $80.\n#### 80").arithmetic_error());
        assert!(!check("So 10/50 * 100 = 20% of them.\n#### 20").arithmetic_error());
        assert!(!check("He buys 3 x 12 = 36 donuts.\n#### 36").arithmetic_error());
        assert!(check("He buys 3 x 12 = 34 donuts.\n#### 34").arithmetic_error());
    }

    #[test]
    fn rounding_to_the_written_precision_is_accepted() {
        assert!(!check("Each gets 10 / 3 = 3.33 dollars.\n#### 3").arithmetic_error());
        assert!(!check("It takes 2 + 1/2 = 5/2 = <<5/2=2.5>>2.5 bolts.\n#### 3").arithmetic_error());
        assert!(check("Each gets 10 / 3 = 3.5 dollars.\n#### 3").arithmetic_error());
    }

    #[test]
    fn words_between_numbers_and_running_totals_are_not_checked() {
        // "eggs" separates 9 from "* $2": the run starts with an operator and is skipped.
        assert!(!check("She sells 9 eggs * $2 = $18.\n#### 18").arithmetic_error());
        assert!(!check("So 20 - 5 = 15 - 3 = 12 left.\n#### 12").arithmetic_error());
        assert!(!check("Cubes = 5S - 4 = 5 * 20 - 4 = 96.\n#### 96").arithmetic_error());
        assert!(!check("So 17 / (1/4) = 17 \\* 4 = 68 beads.\n#### 68").arithmetic_error());
        assert!(!check("She wrote 15 pages x 1/3 = 5 pages.\n#### 10").arithmetic_error());
        assert!(!check("Harald sold 10x + x = 11x = 88,000 copies.\n#### 8000").arithmetic_error());
    }

    #[test]
    fn cut_off_output_is_flagged() {
        let v = check(" Wendi gives 15 + 25 = <<15+2");
        assert!(v.cut_off && v.missing_final);
        let v = check("The value after repairs is 80,000 + 50,000 = $<<80000+50000=130000>>130,00");
        assert!(v.cut_off);
        assert!(check("").cut_off);
        // A finished sentence without '####' is missing its final marker but not cut off.
        let v = check("She makes $18 every day.");
        assert!(!v.cut_off && v.missing_final);
        assert!(!v.arithmetic_or_cut_off() && v.any());
    }

    #[test]
    fn non_integer_final_answer_is_flagged() {
        let v = check("So 5 / 2 = 2.5 bolts.\n#### 2.5");
        assert!(v.non_integer_final && !v.missing_final);
        assert!(!check("#### $20.00").non_integer_final);
    }
}
