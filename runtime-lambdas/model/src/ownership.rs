//! Ownership epochs: whether a grant still holds (pure).
//!
//! Binding gives the node a fresh `owner_epoch` (the bind time in ms and random digits) and writes the owner's
//! grant with the same `epoch` in one transaction; a share is written in a transaction conditioned on the caller
//! still owning the node at that epoch; unbinding removes `owner_id` and `owner_epoch`. A grant is valid only
//! while the node has an owner and the grant's epoch is the node's: a grant left over from an earlier ownership
//! (one the unbind missed on the eventually consistent `by-node` index, or one written concurrently) grants
//! nothing. Items from before epochs existed carry none on either side and keep working until the next unbind.

use crate::items::Role;

/// A fresh ownership epoch: the bind time in ms and 8 hex digits of `random` (binding-confirm and the CLI's seed
/// pass 4 random bytes).
pub fn epoch(bind_ms: i64, random: u32) -> String {
    format!("{bind_ms}-{random:08x}")
}

/// What authorization reads: the caller's grant and the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant<'a> {
    pub role: Option<&'a str>,
    pub epoch: Option<&'a str>,
}

/// The node's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership<'a> {
    pub owner_id: Option<&'a str>,
    pub owner_epoch: Option<&'a str>,
}

/// The caller's role, if the grant holds; `user_id` is the caller (an owner grant must name the node's owner).
pub fn role(user_id: &str, grant: Grant, node: Ownership) -> Option<Role> {
    let role = Role::parse(grant.role?)?;
    let owner = node.owner_id?;
    if grant.epoch != node.owner_epoch {
        return None;
    }
    match role {
        Role::Owner if owner != user_id => None,
        r => Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_is_the_bind_time_and_eight_hex_digits() {
        assert_eq!(epoch(1_700_000_000_123, 0xab), "1700000000123-000000ab");
        assert_ne!(epoch(5, 1), epoch(5, 2));
    }

    #[test]
    fn a_grant_holds_only_in_its_own_ownership_epoch() {
        let g = |role, epoch| Grant { role: Some(role), epoch };
        let n = |owner, epoch| Ownership { owner_id: owner, owner_epoch: epoch };
        let cases = [
            ("alice", g("owner", Some("e1")), n(Some("alice"), Some("e1")), Some(Role::Owner)),
            ("carol", g("shared", Some("e1")), n(Some("alice"), Some("e1")), Some(Role::Shared)),
            ("carol", g("shared", Some("e1")), n(Some("bob"), Some("e2")), None), // survived a resale
            ("carol", g("shared", Some("e1")), n(None, None), None),              // node unbound
            ("alice", g("owner", Some("e1")), n(Some("bob"), Some("e2")), None),  // previous owner
            ("alice", g("owner", Some("e2")), n(Some("bob"), Some("e2")), None),  // owner grant naming another
            ("carol", g("shared", None), n(Some("alice"), Some("e1")), None),     // pre-epoch grant, new owner
            ("carol", g("shared", None), n(Some("alice"), None), Some(Role::Shared)), // pre-epoch data
            ("carol", g("admin", Some("e1")), n(Some("alice"), Some("e1")), None),
            ("carol", Grant { role: None, epoch: None }, n(Some("alice"), None), None),
        ];
        for (user, grant, node, want) in cases {
            assert_eq!(role(user, grant, node), want, "{user} {grant:?} {node:?}");
        }
    }
}
