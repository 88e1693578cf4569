//! Tagged config tables (`kind = "..."`) whose errors name the field.
//!
//! serde reads an internally tagged enum (`#[serde(tag = "kind")]`) by buffering the whole table before it
//! knows the variant, and an error inside the buffered table loses its place: `serde_path_to_error` can only
//! name the table (`workload.topology: invalid type ...`). [`kind_first`] reads such a table itself: `kind`
//! first, then the rest as that variant with its path tracked, and puts the inner path into the error's
//! message between two [`INNER_PATH`] marks. Whoever reads the whole file with `serde_path_to_error` joins the
//! inner path to the table's with [`split_inner_path`] (`workload.topology.rows: invalid type ...`).
//!
//! An enum opts in with a private externally tagged mirror (`#[serde(remote = "...")]`, which the compiler
//! checks against the enum's fields) and a `Deserialize` impl that calls [`kind_first`] with it.

use serde::de::Error as _;
use serde::Deserialize as _;
use serde_path_to_error::Segment;

/// Opens and closes the inner path at the start of an error message (see the [module](self) documentation).
pub const INNER_PATH: char = '\u{1f}';

/// The inner path and the rest of an error message raised inside a tagged table, if it has one.
pub fn split_inner_path(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(INNER_PATH)?.split_once(INNER_PATH)
}

/// An error at `path` inside the table being read (a path of the form `field`, `field[2].inner`).
pub fn at_path<E: serde::de::Error>(path: &str, message: impl std::fmt::Display) -> E {
    let message = message.to_string();
    match split_inner_path(&message) {
        // Already marked further in: join the two paths.
        Some((inner, rest)) if !path.is_empty() => {
            E::custom(format!("{INNER_PATH}{}{INNER_PATH}{rest}", join(path, inner)))
        }
        Some(_) => E::custom(message),
        None if path.is_empty() => E::custom(message),
        None => E::custom(format!("{INNER_PATH}{path}{INNER_PATH}{message}")),
    }
}

/// `outer` then `inner` as one dotted path (`a` + `b` = `a.b`, `a` + `[1].b` = `a[1].b`).
pub fn join(outer: &str, inner: &str) -> String {
    if inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

/// `path` as `a.b[2].c`, without the enum variants `serde_path_to_error` records (a variant is not a field).
fn dotted(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Enum { .. } => {}
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

/// Read an internally tagged table `kind` first: the rest of the table is handed to `read` as the externally
/// tagged `{ <kind> = { ...rest } }`, with its path tracked. `read` is the `deserialize` of an externally tagged
/// mirror of the enum (see the [module](self) documentation). Errors inside the table carry their inner path
/// (see [`split_inner_path`]); a missing `kind` is serde's `missing field`.
pub fn kind_first<'de, D, T>(
    deserializer: D,
    read: impl FnOnce(serde_path_to_error::Deserializer<'_, '_, toml::Value>) -> Result<T, toml::de::Error>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut table = toml::Table::deserialize(deserializer)?;
    let kind = match table.remove("kind") {
        Some(toml::Value::String(kind)) => kind,
        Some(other) => return Err(at_path("kind", format!("expected a string, got {other}"))),
        None => return Err(D::Error::missing_field("kind")),
    };
    let first_field = table.keys().next().cloned();
    let mut outer = toml::Table::new();
    outer.insert(kind.clone(), toml::Value::Table(table));
    let mut track = serde_path_to_error::Track::new();
    let result = read(serde_path_to_error::Deserializer::new(toml::Value::Table(outer), &mut track));
    result.map_err(|e| {
        let message = e.message();
        if message.starts_with("unknown variant") {
            return at_path("kind", message);
        }
        if message == "expected empty table" {
            // A kind without fields given one.
            let field = first_field.unwrap_or_default();
            return at_path(&field, format!("unknown field `{field}`: kind `{kind}` takes no other fields"));
        }
        at_path(&dotted(&track.path()), message)
    })
}

/// Why a TOML text did not deserialize, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlError {
    /// The dotted field (`learner.behaviour.epsilon`; empty for the text as a whole, e.g. a syntax error).
    pub path: String,
    /// The reason.
    pub message: String,
    /// The line of the text it points at, when known.
    pub line: Option<usize>,
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TomlError {}

/// Read a TOML text into `T`, naming the dotted field of an error, inside tagged tables too.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, TomlError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| TomlError {
        path: String::new(),
        message: e.to_string().trim_end().to_string(),
        line: None,
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let error = e.into_inner();
        let line = error.span().map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let (path, message) = match split_inner_path(error.message()) {
            Some((inner, rest)) if !path.is_empty() => (join(&path, inner), rest.to_string()),
            Some((inner, rest)) => (inner.to_string(), rest.to_string()),
            None => (path, error.message().to_string()),
        };
        TomlError { path, message, line }
    })
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(tag = "kind", rename_all = "kebab-case")]
    enum Shape {
        Dot,
        Grid { rows: u32, cols: u32 },
        Ring { sizes: Vec<u32>, inner: Option<Box<Shape>> },
    }

    #[derive(Deserialize)]
    #[serde(remote = "Shape", rename_all = "kebab-case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum ShapeDe {
        Dot,
        Grid { rows: u32, cols: u32 },
        Ring { sizes: Vec<u32>, inner: Option<Box<Shape>> },
    }

    impl<'de> Deserialize<'de> for Shape {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            kind_first(deserializer, |d| ShapeDe::deserialize(d))
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        shape: Shape,
        shapes: Vec<Shape>,
    }

    /// The dotted path and message of reading `text`, as a config reader reports them.
    fn error(text: &str) -> String {
        let e = serde_path_to_error::deserialize::<_, File>(toml::Deserializer::parse(text).expect("TOML"))
            .expect_err("a bad file");
        let path = e.path().to_string();
        let inner = e.into_inner();
        match split_inner_path(inner.message()) {
            Some((inner, rest)) => format!("{}: {rest}", join(&path, inner)),
            None => format!("{path}: {}", inner.message()),
        }
    }

    #[test]
    fn good_tables_read_as_the_derived_representation_would() {
        let text = "shape = { kind = \"grid\", rows = 2, cols = 3 }\nshapes = [{ kind = \"dot\" }, \
                    { kind = \"ring\", sizes = [1], inner = { kind = \"dot\" } }]";
        let f: File = toml::from_str(text).expect("valid");
        assert_eq!(f.shape, Shape::Grid { rows: 2, cols: 3 });
        assert_eq!(f.shapes[1], Shape::Ring { sizes: vec![1], inner: Some(Box::new(Shape::Dot)) });
        // And it round-trips through the (still internally tagged) Serialize.
        let again: Shape = toml::from_str(&toml::to_string(&f.shape).expect("serialise")).expect("read back");
        assert_eq!(again, f.shape);
    }

    #[test]
    fn errors_inside_tagged_tables_name_the_field() {
        let ok_shapes = "shapes = []";
        let e = error(&format!("shape = {{ kind = \"grid\", rows = -1, cols = 3 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape.rows: invalid value: integer `-1`, expected u32"), "{e}");
        let e = error(&format!("shape = {{ kind = \"grid\", rows = 1 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape: missing field `cols`"), "{e}");
        let e = error(&format!("shape = {{ kind = \"grid\", rows = 1, cols = 1, colz = 2 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape.colz: unknown field `colz`"), "{e}");
        let e = error(&format!("shape = {{ kind = \"gird\" }}\n{ok_shapes}"));
        assert!(e.starts_with("shape.kind: unknown variant `gird`"), "{e}");
        let e = error(&format!("shape = {{ kind = 3 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape.kind: expected a string"), "{e}");
        let e = error(&format!("shape = {{ rows = 3 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape: missing field `kind`"), "{e}");
        let e = error(&format!("shape = {{ kind = \"dot\", rows = 3 }}\n{ok_shapes}"));
        assert!(e.starts_with("shape.rows: unknown field `rows`"), "{e}");
        // In an array, and nested one tagged table inside another.
        let e =
            error("shape = { kind = \"dot\" }\nshapes = [{ kind = \"dot\" }, { kind = \"ring\", sizes = [1, \"x\"] }]");
        assert!(e.starts_with("shapes[1].sizes[1]: invalid type: string \"x\", expected u32"), "{e}");
        let e = error(
            "shape = { kind = \"ring\", sizes = [], inner = { kind = \"grid\", rows = 1, cols = 1.5 } }\nshapes = []",
        );
        assert!(e.starts_with("shape.inner.cols: invalid type: floating point `1.5`, expected u32"), "{e}");
    }

    #[test]
    fn from_toml_names_the_field_and_line() {
        let e = from_toml::<File>(
            "shapes = []
shape = { kind = \"grid\", rows = 1, cols = -2 }
",
        )
        .expect_err("bad");
        assert_eq!(e.path, "shape.cols");
        assert!(e.message.contains("expected u32") && !e.message.contains(INNER_PATH), "{e}");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with("shape.cols: invalid value"), "{e}");
        let e = from_toml::<File>("shapes = [\n").expect_err("a syntax error");
        assert!(e.path.is_empty() && e.line.is_none(), "{e:?}");
    }
}
