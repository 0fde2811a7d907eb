//! What an import does to one serial, decided from its allow-list entry (pure, table-tested).

use serde::Serialize;

/// The allow-list entry as the import reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Current {
    pub provisioned: bool,
    pub secret_hmac: Option<String>,
}

/// What happens to one line of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not listed: added, unprovisioned.
    Added,
    /// Listed with this very secret: nothing to write.
    Unchanged,
    /// Listed, not provisioned, another (or no) secret: the HMAC is replaced.
    Updated,
    /// Provisioned with another (or no) secret: never changed (`serials reset` first).
    Refused,
}

/// Decide one serial: `current` is its entry (`None`: not listed), `hmac` the HMAC of the file's secret.
pub fn decide(current: Option<&Current>, hmac: &str) -> Outcome {
    match current {
        None => Outcome::Added,
        Some(c) if c.secret_hmac.as_deref() == Some(hmac) => Outcome::Unchanged,
        Some(c) if c.provisioned => Outcome::Refused,
        Some(_) => Outcome::Updated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_table() {
        let entry = |provisioned: bool, h: Option<&str>| Current { provisioned, secret_hmac: h.map(String::from) };
        let cases = [
            (None, Outcome::Added),
            (Some(entry(false, Some("h1"))), Outcome::Unchanged),
            (Some(entry(true, Some("h1"))), Outcome::Unchanged),
            (Some(entry(false, Some("h2"))), Outcome::Updated),
            (Some(entry(false, None)), Outcome::Updated),
            (Some(entry(true, Some("h2"))), Outcome::Refused),
            (Some(entry(true, None)), Outcome::Refused),
        ];
        for (current, want) in cases {
            assert_eq!(decide(current.as_ref(), "h1"), want, "{current:?}");
        }
    }
}
