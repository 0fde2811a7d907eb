//! Parse errors without the values they quote: serde's messages echo what the event carried (`invalid type:
//! string "<the value>", expected i64`, ``unknown field `<the name>` ``), and an event's values and even its field
//! names are the sender's data (a token, a user id, a device secret put where a number belongs). A refusal is
//! logged with [`parse_error`]: the kind of problem and what was expected, never what was sent.

/// `message` with every quoted part before `, expected` replaced by `…` (the part after it names only the
/// schema's own types and fields). `missing field` and `duplicate field` messages name a field of the schema and
/// stay as they are.
pub fn parse_error(message: &str) -> String {
    if message.starts_with("missing field") || message.starts_with("duplicate field") {
        return message.to_string();
    }
    let (head, tail) = match message.find(", expected") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in head.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '`' || c == '"' {
                    open = Some(c);
                }
            }
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_unknown_names_are_removed_expected_names_kept() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct E {
            received_at: i64,
        }
        let cases = [
            (serde_json::json!({"received_at": "tok-SECRET"}), "invalid type: string \"…\", expected i64"),
            (serde_json::json!({"received_at": 1, "tok-SECRET": 1}), "unknown field `…`, expected `received_at`"),
            (serde_json::json!({}), "missing field `received_at`"),
        ];
        for (v, want) in cases {
            let msg = serde_json::from_value::<E>(v).unwrap_err().to_string();
            assert_eq!(parse_error(&msg), want, "{msg}");
        }
        assert_eq!(parse_error("an open \"quote SECRET"), "an open \"…");
        assert_eq!(parse_error("no quotes"), "no quotes");
    }
}
