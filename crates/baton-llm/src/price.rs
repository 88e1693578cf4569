//! Per-token prices: a configuration table, USD per million tokens per model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::LlmError;

/// GPT-4 Turbo preview (November 2023), the recording's strong model.
pub const GPT_4_1106: &str = "gpt-4-1106-preview";
/// Mixtral-8x7B-Instruct, the recording's weak model.
pub const MIXTRAL_8X7B: &str = "mistralai/Mixtral-8x7B-Instruct-v0.1";
/// GPT-4o mini.
pub const GPT_4O_MINI: &str = "gpt-4o-mini";
/// GPT-4o.
pub const GPT_4O: &str = "gpt-4o";

/// The price of one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per million input (prompt) tokens.
    pub input_per_million: f64,
    /// USD per million output (completion) tokens.
    pub output_per_million: f64,
    /// Billed tokens per `cl100k_base` token: 1 for OpenAI models; for other tokenizers an approximation (see
    /// the crate doc). Default 1.
    #[serde(default = "one")]
    pub token_factor: f64,
}

fn one() -> f64 {
    1.0
}

impl ModelPrice {
    /// Cost in USD of `input` and `output` billed tokens.
    pub fn cost(&self, input: u64, output: u64) -> f64 {
        (input as f64 * self.input_per_million + output as f64 * self.output_per_million) / 1e6
    }

    /// Billed tokens for `cl100k` counted tokens: `round(cl100k × token_factor)`.
    pub fn billed_tokens(&self, cl100k: u64) -> u64 {
        (cl100k as f64 * self.token_factor).round() as u64
    }
}

/// Prices per model name. In TOML:
///
/// ```toml
/// [models."gpt-4o"]
/// input_per_million = 2.5
/// output_per_million = 10.0
/// ```
///
/// Defaults ([`PriceTable::default`]): `gpt-4-1106-preview` $10/$30, `mistralai/Mixtral-8x7B-Instruct-v0.1`
/// $0.24/$0.24 (a blended price, token factor 1.25), `gpt-4o-mini` $0.15/$0.60, `gpt-4o` $2.50/$10.00.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// Price per model name.
    pub models: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        let p = |i: f64, o: f64, f: f64| ModelPrice { input_per_million: i, output_per_million: o, token_factor: f };
        let models = [
            (GPT_4_1106, p(10.0, 30.0, 1.0)),
            (MIXTRAL_8X7B, p(0.24, 0.24, MIXTRAL_TOKEN_FACTOR)),
            (GPT_4O_MINI, p(0.15, 0.60, 1.0)),
            (GPT_4O, p(2.50, 10.00, 1.0)),
        ];
        PriceTable { models: models.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }
}

/// The assumed ratio of Mixtral (SentencePiece, 32k vocabulary) tokens to `cl100k_base` tokens; not measured
/// (see the crate doc).
pub const MIXTRAL_TOKEN_FACTOR: f64 = 1.25;

impl PriceTable {
    /// Checks every price is finite and non-negative and every token factor finite and positive.
    pub fn validate(&self) -> Result<(), LlmError> {
        for (name, p) in &self.models {
            for (field, v) in [("input_per_million", p.input_per_million), ("output_per_million", p.output_per_million)]
            {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(LlmError::invalid(
                        format!("models.{name}.{field}"),
                        format!("{v} is not a finite price >= 0"),
                    ));
                }
            }
            if !(p.token_factor.is_finite() && p.token_factor > 0.0) {
                return Err(LlmError::invalid(
                    format!("models.{name}.token_factor"),
                    format!("{} must be finite and > 0", p.token_factor),
                ));
            }
        }
        Ok(())
    }

    /// The price of `model`, or [`LlmError::UnknownModel`].
    pub fn get(&self, model: &str) -> Result<&ModelPrice, LlmError> {
        self.models.get(model).ok_or_else(|| LlmError::UnknownModel {
            model: model.to_string(),
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_price_a_million_tokens() {
        let t = PriceTable::default();
        t.validate().unwrap();
        assert_eq!(t.get(GPT_4_1106).unwrap().cost(1_000_000, 1_000_000), 40.0);
        assert!((t.get(MIXTRAL_8X7B).unwrap().cost(500_000, 500_000) - 0.24).abs() < 1e-12);
        assert!((t.get(GPT_4O_MINI).unwrap().cost(1_000_000, 0) - 0.15).abs() < 1e-12);
        assert!((t.get(GPT_4O).unwrap().cost(0, 1_000_000) - 10.0).abs() < 1e-12);
        assert!(matches!(t.get("nope"), Err(LlmError::UnknownModel { .. })));
    }

    #[test]
    fn toml_round_trips_and_rejects_unknown_fields() {
        let t = PriceTable::default();
        let text = toml::to_string(&t).unwrap();
        assert_eq!(toml::from_str::<PriceTable>(&text).unwrap(), t);
        let bad = "[models.x]\ninput_per_million = 1.0\noutput_per_million = 1.0\ncolour = 3\n";
        assert!(toml::from_str::<PriceTable>(bad).is_err());
        let neg = "[models.x]\ninput_per_million = -1.0\noutput_per_million = 1.0\n";
        let e = toml::from_str::<PriceTable>(neg).unwrap().validate().unwrap_err();
        assert_eq!(e, LlmError::invalid("models.x.input_per_million", "-1 is not a finite price >= 0"));
    }
}
