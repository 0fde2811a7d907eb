//! Pseudonyms for log lines: functions never log a raw user id, e-mail or token, only its keyed hash.
//!
//! `pseudonym(tenant, kind, id)` = the first 16 hex digits of `HMAC-SHA256(key = "rainmaker-log:" + tenant,
//! kind NUL id)`. The key is not a secret (functions keep no secrets in their environment): the pseudonym keeps
//! ids out of the logs and lets an operator who *has* an id find its lines (hash it the same way), but someone
//! with both the logs and a list of candidate ids can match them. User ids are random UUIDs, so the logs alone
//! do not reveal them.

use crate::hmac::keyed;

/// The log pseudonym of `id` (a user id, a binding code, ...) of `kind` in `tenant`.
pub fn pseudonym(tenant: &str, kind: &str, id: &str) -> String {
    let key = format!("rainmaker-log:{tenant}");
    keyed(key.as_bytes(), kind, &[id])[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_hide_the_id_and_separate_tenants_and_kinds() {
        let id = "7d4c8f3e-1b2a-4c5d-9e6f-0a1b2c3d4e5f";
        let p = pseudonym("acme", "user", id);
        assert_eq!(p.len(), 16);
        assert!(!p.contains("7d4c8f3e"));
        assert_eq!(p, pseudonym("acme", "user", id), "stable, so an operator can search for it");
        assert_ne!(p, pseudonym("other", "user", id));
        assert_ne!(p, pseudonym("acme", "code", id));
    }
}
