//! The write paths that give nodes and grants their shape (feature `dynamodb`): provisioning (the hook's claim),
//! binding (binding-confirm) and sharing (the api), as the `TransactWriteItems` items each one sends.
//!
//! The provisioning hook sends [`provision`], binding-confirm [`bind`] (plus the consumption of the code), the api
//! [`share`]; the CLI's seed sends all three, so seeded tenants hold exactly what the functions write: owner and
//! `owner_epoch` on the node, `epoch` on every grant, `certificate_id` on the node and the allow-list entry. The
//! CLI test `gdpr::seeded_items_have_the_shape_the_functions_write` runs the real hook, binding-confirm and api
//! against moto next to a seed and fails when the attribute sets differ.

use crate::attr;
use crate::ddb::{n, s, to_av};
use crate::items::Role;
use crate::tables::TableNames;
use crate::window::{self, Window};
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

/// Provisioning: mark the listed serial provisioned by `certificate_id` (only if it is on the allow-list with the
/// device secret's HMAC `secret_hmac` — the one the hook judged — and not provisioned yet, or by this very
/// certificate) and create or refresh its node item with the certificate id.
pub fn provision(
    tables: &TableNames,
    serial: &str,
    certificate_id: &str,
    secret_hmac: &str,
    now_ms: i64,
) -> Result<[TransactWriteItem; 2], BuildError> {
    let allow = Update::builder()
        .table_name(&tables.serial_allowlist)
        .key(attr::SERIAL, s(serial))
        .update_expression("SET #p = :true, #c = :cert, #at = :now")
        .condition_expression(
            "attribute_exists(#s) AND #h = :h AND (attribute_not_exists(#p) OR #p = :false OR #c = :cert)",
        )
        .expression_attribute_names("#h", attr::SECRET_HMAC)
        .expression_attribute_values(":h", s(secret_hmac))
        .expression_attribute_names("#p", attr::PROVISIONED)
        .expression_attribute_names("#c", attr::CERTIFICATE_ID)
        .expression_attribute_names("#at", attr::PROVISIONED_AT)
        .expression_attribute_names("#s", attr::SERIAL)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":cert", s(certificate_id))
        .expression_attribute_values(":now", n(now_ms))
        .build()?;
    let node = Update::builder()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, s(serial))
        .update_expression("SET #s = :serial, #at = :now, #c = if_not_exists(#c, :false), #cert = :cert")
        .expression_attribute_names("#s", attr::SERIAL)
        .expression_attribute_names("#cert", attr::CERTIFICATE_ID)
        .expression_attribute_values(":cert", s(certificate_id))
        .expression_attribute_names("#at", attr::PROVISIONED_AT)
        .expression_attribute_names("#c", attr::CONNECTED)
        .expression_attribute_values(":serial", s(serial))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .build()?;
    Ok([TransactWriteItem::builder().update(allow).build(), TransactWriteItem::builder().update(node).build()])
}

/// Binding: the node gets `user_id` as its owner and the fresh `epoch` (only if it exists, has no owner, was
/// provisioned by `certificate_id`, the certificate that confirmed the code, and its last ownership ended at or
/// before `now_ms`), the owner's grant carries the same epoch, and the owner's `users` item records the open
/// ownership window from `now_ms` ([`crate::window`]; `epoch` must be [`crate::ownership::epoch`] of `now_ms`).
pub fn bind(
    tables: &TableNames,
    node_id: &str,
    user_id: &str,
    certificate_id: &str,
    epoch: &str,
    now_ms: i64,
) -> Result<[TransactWriteItem; 3], BuildError> {
    let owner = Update::builder()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, s(node_id))
        .update_expression("SET #o = :u, #e = :e")
        .condition_expression(
            "attribute_exists(#n) AND attribute_not_exists(#o) AND #cert = :cert \
             AND (attribute_not_exists(#r) OR #r <= :now)",
        )
        .expression_attribute_names("#r", attr::RELEASED_AT)
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_names("#cert", attr::CERTIFICATE_ID)
        .expression_attribute_values(":cert", s(certificate_id))
        .expression_attribute_names("#o", attr::OWNER_ID)
        .expression_attribute_names("#e", attr::OWNER_EPOCH)
        .expression_attribute_names("#n", attr::NODE_ID)
        .expression_attribute_values(":u", s(user_id))
        .expression_attribute_values(":e", s(epoch))
        .build()?;
    let link = Put::builder()
        .table_name(&tables.user_nodes)
        .item(attr::USER_ID, s(user_id))
        .item(attr::NODE_ID, s(node_id))
        .item(attr::ROLE, s(Role::Owner.as_str()))
        .item(attr::GRANTED_BY, s(user_id))
        .item(attr::GRANTED_AT, n(now_ms))
        .item(attr::EPOCH, s(epoch))
        .build()?;
    let window = Window { node_id: node_id.to_string(), from: now_ms, to: None };
    let record = record_window(tables, user_id, &window, Some(epoch))?;
    Ok([
        TransactWriteItem::builder().update(owner).build(),
        TransactWriteItem::builder().put(link).build(),
        TransactWriteItem::builder().update(record).build(),
    ])
}

/// The owner's `users` item records `window` ([`crate::window`]): one attribute per ownership, set whole (the item
/// is created if missing; its other attributes are kept).
pub fn record_window(
    tables: &TableNames,
    user_id: &str,
    window: &Window,
    epoch: Option<&str>,
) -> Result<Update, BuildError> {
    Update::builder()
        .table_name(&tables.users)
        .key(attr::USER_ID, s(user_id))
        .update_expression("SET #w = :w")
        .expression_attribute_names("#w", window::attribute_name(&window.node_id, epoch, window.from))
        .expression_attribute_values(":w", to_av(&window.to_json()))
        .build()
}

/// Sharing: a `shared` grant of `node_id` to `target`, conditioned on `owner` still owning the node in `epoch`
/// (the epoch the caller's authorization saw; `None` for a node from before epochs) and on the grant being new.
pub fn share(
    tables: &TableNames,
    node_id: &str,
    owner: &str,
    target: &str,
    epoch: Option<&str>,
    now_ms: i64,
) -> Result<[TransactWriteItem; 2], BuildError> {
    let still_owner = ConditionCheck::builder()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, s(node_id))
        .expression_attribute_names("#o", attr::OWNER_ID)
        .expression_attribute_names("#e", attr::OWNER_EPOCH)
        .expression_attribute_values(":u", s(owner));
    let mut grant = Put::builder()
        .table_name(&tables.user_nodes)
        .item(attr::USER_ID, s(target))
        .item(attr::NODE_ID, s(node_id))
        .item(attr::ROLE, s(Role::Shared.as_str()))
        .item(attr::GRANTED_BY, s(owner))
        .item(attr::GRANTED_AT, n(now_ms))
        .condition_expression("attribute_not_exists(#u)")
        .expression_attribute_names("#u", attr::USER_ID);
    let still_owner = match epoch {
        Some(e) => {
            grant = grant.item(attr::EPOCH, s(e));
            still_owner.condition_expression("#o = :u AND #e = :e").expression_attribute_values(":e", s(e))
        }
        None => still_owner.condition_expression("#o = :u AND attribute_not_exists(#e)"),
    };
    Ok([
        TransactWriteItem::builder().condition_check(still_owner.build()?).build(),
        TransactWriteItem::builder().put(grant.build()?).build(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_item(t: &TransactWriteItem) -> &std::collections::HashMap<String, AttributeValue> {
        t.put().map(|p| p.item()).expect("a put")
    }

    #[test]
    fn bind_and_share_carry_the_epoch_on_node_and_grants() {
        let t = TableNames::for_tenant("acme");
        let [node, grant, record] = bind(&t, "SN1", "u1", "cert1", "5-0000000a", 5).unwrap();
        let r = record.update().unwrap();
        assert_eq!(r.table_name(), "rm-acme-users");
        assert_eq!(r.key()[attr::USER_ID], s("u1"));
        assert_eq!(r.expression_attribute_names().unwrap()["#w"], "ownership#SN1#5-0000000a");
        assert_eq!(
            r.expression_attribute_values().unwrap()[":w"],
            to_av(&serde_json::json!({"node_id": "SN1", "from": 5}))
        );
        assert!(node.update().unwrap().condition_expression().unwrap().contains("#r <= :now"), "after the last unbind");
        let u = node.update().unwrap();
        assert_eq!(u.table_name(), "rm-acme-nodes");
        assert_eq!(u.expression_attribute_values().unwrap()[":e"], s("5-0000000a"));
        assert_eq!(u.expression_attribute_values().unwrap()[":cert"], s("cert1"));
        assert_eq!(put_item(&grant)[attr::EPOCH], s("5-0000000a"));
        assert_eq!(put_item(&grant)[attr::ROLE], s("owner"));

        let [check, shared] = share(&t, "SN1", "u1", "u2", Some("5-0000000a"), 9).unwrap();
        assert_eq!(check.condition_check().unwrap().condition_expression(), "#o = :u AND #e = :e");
        assert_eq!(put_item(&shared)[attr::EPOCH], s("5-0000000a"));
        assert_eq!(put_item(&shared)[attr::GRANTED_BY], s("u1"));
        let [check, legacy] = share(&t, "SN1", "u1", "u2", None, 9).unwrap();
        assert!(check.condition_check().unwrap().condition_expression().contains("attribute_not_exists(#e)"));
        assert!(!put_item(&legacy).contains_key(attr::EPOCH));
    }

    #[test]
    fn provisioning_records_the_certificate_on_the_allow_list_and_the_node() {
        let t = TableNames::for_tenant("acme");
        let [allow, node] = provision(&t, "SN1", "cert1", "hmac1", 7).unwrap();
        assert_eq!(allow.update().unwrap().table_name(), "rm-acme-serial-allowlist");
        assert!(allow.update().unwrap().condition_expression().unwrap().contains("#h = :h"), "the judged HMAC");
        assert_eq!(allow.update().unwrap().expression_attribute_values().unwrap()[":h"], s("hmac1"));
        assert_eq!(node.update().unwrap().key()[attr::NODE_ID], s("SN1"));
        assert_eq!(node.update().unwrap().expression_attribute_values().unwrap()[":cert"], s("cert1"));
    }
}
