//! The optional `account:` of rainmaker.yaml: a 12-digit AWS account id, read from a string (or, forgivingly, a
//! YAML integer, so an unquoted id is still checked rather than refused as a type error).

use super::error::Problem;
use serde::{Deserialize, Deserializer};

/// Accept `"123456789012"` and `123456789012`; validation ([`problem`]) checks the digits.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    }))
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
