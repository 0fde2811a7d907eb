//! Proof of possession at provisioning: a per-device secret set at the factory, kept in the allow-list only as an
//! HMAC under the tenant's key, and compared in constant time (issue 8, high 1).
//!
//! The stored value is `hex(HMAC-SHA256(tenant key, "device-secret" NUL serial NUL secret))` ([`secret_hmac`]): the
//! serial is in the message, so two devices with the same secret still store different values and a stored value
//! copied to another serial does not verify. The tenant key is the `SecretString` of the backend stack's
//! `SerialKeySecret` (Secrets Manager, generated in the tenant's account); neither it nor a device secret is ever
//! logged or printed ([`TenantKey`] and [`DeviceSecret`] have redacted `Debug`).

use crate::hmac;

/// Fewest characters of a device secret (22 base64url characters carry 128 random bits; 32 hex characters too).
pub const SECRET_MIN_LEN: usize = 22;
/// Most characters of a device secret.
pub const SECRET_MAX_LEN: usize = 128;
/// What a device secret may contain, in words (errors and docs say this).
pub const SECRET_CHARSET: &str = "A-Z, a-z, 0-9, '-' and '_' (base64url or hex)";
/// Fewest characters of the tenant key (the stack generates 64).
pub const KEY_MIN_LEN: usize = 32;

/// The message kind of the stored HMAC (domain separation from the other keyed hashes).
const KIND: &str = "device-secret";

/// Why a device secret is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    #[error("the secret is empty")]
    Empty,
    #[error("the secret has {0} characters; it needs {SECRET_MIN_LEN} to {SECRET_MAX_LEN}")]
    Length(usize),
    #[error("the secret has a character outside {SECRET_CHARSET} at position {0}")]
    Charset(usize),
}

/// Check a device secret's length and characters (the character itself is not named: it is part of a secret).
pub fn check_secret(secret: &str) -> Result<(), SecretProblem> {
    if secret.is_empty() {
        return Err(SecretProblem::Empty);
    }
    if let Some(i) = secret.chars().position(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        return Err(SecretProblem::Charset(i + 1));
    }
    let n = secret.len();
    if !(SECRET_MIN_LEN..=SECRET_MAX_LEN).contains(&n) {
        return Err(SecretProblem::Length(n));
    }
    Ok(())
}

/// The tenant's HMAC key. `Debug` prints no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantKey(Vec<u8>);

impl std::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TenantKey(<{} bytes>)", self.0.len())
    }
}

/// The tenant key is too short to be the generated one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the serial key has {0} characters; at least {KEY_MIN_LEN} are needed (the stack generates 64)")]
pub struct WeakKey(pub usize);

impl TenantKey {
    /// The key from the secret's `SecretString` (its UTF-8 bytes).
    pub fn from_secret_string(s: &str) -> Result<TenantKey, WeakKey> {
        if s.len() < KEY_MIN_LEN {
            return Err(WeakKey(s.len()));
        }
        Ok(TenantKey(s.as_bytes().to_vec()))
    }
}

/// A device secret as presented at provisioning. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSecret(String);

impl std::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSecret(<redacted>)")
    }
}

impl DeviceSecret {
    pub fn new(s: impl Into<String>) -> DeviceSecret {
        DeviceSecret(s.into())
    }

    /// The secret itself, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The value the allow-list stores for `serial` with `secret` (64 hex digits).
pub fn secret_hmac(key: &TenantKey, serial: &str, secret: &str) -> String {
    hmac::keyed(&key.0, KIND, &[serial, secret])
}

/// Byte-wise equality that looks at every byte of the longer input whatever differs (no early exit).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = a.len() ^ b.len();
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Whether `presented` is the secret whose HMAC the allow-list stores for `serial`. The HMAC is computed and
/// compared in full even when nothing is stored, so the work done does not tell the cases apart.
pub fn verify(key: &TenantKey, serial: &str, presented: &DeviceSecret, stored: Option<&str>) -> bool {
    let got = secret_hmac(key, serial, presented.expose());
    const NOTHING: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    let want = stored.unwrap_or(NOTHING);
    let same = constant_time_eq(got.as_bytes(), want.as_bytes());
    same && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TenantKey {
        TenantKey::from_secret_string(&"k".repeat(64)).unwrap()
    }

    #[test]
    fn secrets_are_checked_for_length_and_charset() {
        let cases: [(&str, Result<(), SecretProblem>); 7] = [
            ("", Err(SecretProblem::Empty)),
            ("short", Err(SecretProblem::Length(5))),
            (&"a".repeat(21), Err(SecretProblem::Length(21))),
            ("0123456789abcdef0123456789abcdef", Ok(())),
            ("k7Qw2mZ9xR4tY8uB3nV6pL", Ok(())),
            ("k7Qw2mZ9xR4tY8uB3nV6p!", Err(SecretProblem::Charset(22))),
            ("k7Qw2mZ9 xR4tY8uB3nV6pL1", Err(SecretProblem::Charset(9))),
        ];
        for (s, want) in cases {
            assert_eq!(check_secret(s), want, "{s:?}");
        }
        assert_eq!(check_secret(&"a".repeat(129)), Err(SecretProblem::Length(129)));
        assert!(!SecretProblem::Charset(3).to_string().contains('!'), "the character is never named");
    }

    #[test]
    fn the_hmac_binds_key_serial_and_secret() {
        let k = key();
        let h = secret_hmac(&k, "SN-1", "secret-aaaaaaaaaaaaaaaaaaaa");
        assert_eq!(h.len(), 64);
        assert_ne!(h, secret_hmac(&k, "SN-2", "secret-aaaaaaaaaaaaaaaaaaaa"), "another serial");
        let k2 = TenantKey::from_secret_string(&"j".repeat(64)).unwrap();
        assert_ne!(h, secret_hmac(&k2, "SN-1", "secret-aaaaaaaaaaaaaaaaaaaa"), "another tenant's key");
        assert_eq!(h, hmac::keyed(&[b'k'; 64], "device-secret", &["SN-1", "secret-aaaaaaaaaaaaaaaaaaaa"]));
    }

    #[test]
    fn verify_needs_the_stored_hmac_of_this_serial() {
        let k = key();
        let s = DeviceSecret::new("secret-aaaaaaaaaaaaaaaaaaaa");
        let stored = secret_hmac(&k, "SN-1", s.expose());
        assert!(verify(&k, "SN-1", &s, Some(&stored)));
        assert!(!verify(&k, "SN-1", &DeviceSecret::new("secret-bbbbbbbbbbbbbbbbbbbb"), Some(&stored)));
        assert!(!verify(&k, "SN-2", &s, Some(&stored)), "a stored value does not move to another serial");
        assert!(!verify(&k, "SN-1", &s, None));
        assert!(!verify(&k, "SN-1", &s, Some(&stored[..63])));
        assert!(!verify(&k, "SN-1", &s, Some("")));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"abc\0", b"abc"));
        assert!(!constant_time_eq(&[0u8; 256], &[]), "a length difference of 256 is not lost");
    }

    #[test]
    fn nothing_secret_in_debug() {
        assert_eq!(format!("{:?}", DeviceSecret::new("hunter2-hunter2-hunter2")), "DeviceSecret(<redacted>)");
        assert!(!format!("{:?}", key()).contains('k'.to_string().repeat(2).as_str()));
        assert_eq!(TenantKey::from_secret_string("short"), Err(WeakKey(5)));
    }
}
