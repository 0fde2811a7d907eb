//! The optional `account:` of rainmaker.yaml: a 12-digit AWS account id, read from a string (or, forgivingly, a
//! YAML integer, so an unquoted id is still checked rather than refused as a type error).

use super::error::Problem;
use serde::de::{self, Visitor};
use serde::Deserializer;

/// Accept `"123456789012"` and `123456789012` (any YAML scalar, read as its digits); validation ([`problem`])
/// checks them.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Id;
    impl<'de> Visitor<'de> for Id {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a 12-digit AWS account id")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Id)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_option(Id)
}

/// The problem with an account id, if any.
pub fn problem(account: &str) -> Option<Problem> {
    let ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (!ok).then(|| Problem {
        path: "account".into(),
        message: format!("`{account}` is not an AWS account id"),
        help: "write the 12 digits of the account, quoted so leading zeros are kept: `account: \"123456789012\"` \
               (`aws sts get-caller-identity` prints it); or leave `account` out to accept any account"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn twelve_digits_and_nothing_else() {
        for good in ["123456789012", "000000000001"] {
            assert!(super::problem(good).is_none(), "{good}");
        }
        for bad in ["12345678901", "1234567890123", "12345678901a", "", " 123456789012", "arn:aws:iam::1:root"] {
            assert!(super::problem(bad).is_some(), "{bad:?}");
        }
    }
}
