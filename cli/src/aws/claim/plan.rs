//! The pure parts of `claim rotate` and `claim show`: the grace period's syntax and deadline, which retiring
//! certificates are due, and a certificate's fingerprint. No AWS types; the time is passed in.

use super::secret::Retiring;
use aws_smithy_types::date_time::{DateTime, Format};
use sha2::{Digest, Sha256};

/// `--grace`: `<n>d`, `<n>h`, `<n>m`, `<n>s` in that order, combined (`30d`, `7d12h`, `90m`, `0s`); at most 365 days.
pub fn parse_grace(text: &str) -> Result<std::time::Duration, String> {
    let bad =
        || format!("`{text}` is not a grace period: use days, hours, minutes and seconds like 30d, 7d12h, 90m or 0s");
    let (mut total, mut number, mut last) = (0u64, String::new(), 0u8);
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, secs) = match c {
            'd' => (1, 86_400),
            'h' => (2, 3600),
            'm' => (3, 60),
            's' => (4, 1),
            _ => return Err(bad()),
        };
        if number.is_empty() || rank <= last {
            return Err(bad());
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n.checked_mul(secs).and_then(|v| v.checked_add(total)).ok_or_else(bad)?;
        number.clear();
        last = rank;
    }
    if !number.is_empty() || last == 0 {
        return Err(bad());
    }
    if total > 365 * 86_400 {
        return Err(format!("`{text}` is out of range: at most 365d"));
    }
    Ok(std::time::Duration::from_secs(total))
}

/// RFC 3339 of `secs` after the Unix epoch.
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs).fmt(Format::DateTime).unwrap_or_else(|_| secs.to_string())
}

/// The retiring certificates whose grace has ended at `now` (seconds since the epoch), and those still waiting. A
/// `not_before` that does not parse is never due (deleting a claim certificate early strands devices).
pub fn split_due(retiring: &[Retiring], now: i64) -> (Vec<Retiring>, Vec<Retiring>) {
    retiring
        .iter()
        .cloned()
        .partition(|r| DateTime::from_str(&r.not_before, Format::DateTime).map(|t| t.secs() <= now).unwrap_or(false))
}

/// The SHA-256 fingerprint (hex) of the certificate in a PEM: of its DER, as AWS IoT computes certificate ids.
pub fn fingerprint(pem: &str) -> Option<String> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = aws_smithy_types::base64::decode(b64).ok()?;
    (!der.is_empty()).then(|| hex::encode(Sha256::digest(&der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_periods() {
        let d = |s: &str| parse_grace(s).map(|d| d.as_secs());
        assert_eq!(d("30d"), Ok(30 * 86_400));
        assert_eq!(d("7d12h"), Ok(7 * 86_400 + 12 * 3600));
        assert_eq!(d("90m"), Ok(5400));
        assert_eq!(d("0s"), Ok(0));
        for bad in ["", "30", "d", "1h2d", "1x", "30d30d", "-1d"] {
            let e = parse_grace(bad).unwrap_err();
            assert!(e.contains("30d, 7d12h, 90m or 0s"), "{bad}: {e}");
        }
        assert!(parse_grace("366d").unwrap_err().contains("at most 365d"));
    }

    #[test]
    fn due_when_the_grace_has_ended_never_when_unreadable() {
        let r = |id: &str, at: &str| Retiring {
            certificate_id: id.into(),
            certificate_arn: format!("arn:aws:iot:eu-west-1:123456789012:cert/{id}"),
            not_before: at.into(),
        };
        let now = DateTime::from_str("2026-12-03T12:00:00Z", Format::DateTime).unwrap().secs();
        let all = [
            r("a", "2026-12-03T11:59:59Z"),
            r("b", "2026-12-03T12:00:00Z"),
            r("c", "2026-12-03T12:00:01Z"),
            r("d", "soon"),
        ];
        let (due, waiting) = split_due(&all, now);
        assert_eq!(due.iter().map(|r| r.certificate_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(waiting.iter().map(|r| r.certificate_id.as_str()).collect::<Vec<_>>(), ["c", "d"]);
        assert_eq!(rfc3339(now + 86_400), "2026-12-04T12:00:00Z");
    }

    #[test]
    fn fingerprints_are_of_the_der() {
        let g = super::super::keygen::generate("acme").unwrap();
        assert_eq!(fingerprint(&g.pem), Some(g.id));
        assert_eq!(fingerprint("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"), None);
    }
}
