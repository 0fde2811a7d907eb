//! Is a live stack already what we would deploy? The deployed-hash tag decides without a call; a stack deployed
//! without it is judged by its template text.

use super::{Ready, Target};
use crate::aws::sdk::Clients;
use crate::aws::{stack, DeployError};
use aws_sdk_cloudformation::types::Stack;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The stack tag holding [`deployed_hash`] of what was deployed: a no-op apply reads it instead of the template.
pub const HASH_TAG: &str = "rainmaker:template-sha256";

/// SHA-256 (hex) of the rendered template and its parameters (`key=value` lines in key order).
pub fn deployed_hash(body: &str, parameters: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    for (k, v) in parameters {
        h.update(format!("\n{k}={v}").as_bytes());
    }
    hex::encode(h.finalize())
}

/// The tags a change set of `t` carries: the target's plus [`HASH_TAG`].
pub fn wanted_tags(t: &Target<'_>) -> BTreeMap<String, String> {
    let mut tags = t.tags.clone();
    tags.insert(HASH_TAG.into(), deployed_hash(t.body, &t.parameters));
    tags
}

/// How a live stack compares with the target, from its parameters and tags alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Parameters, tags and the deployed hash are ours: unchanged, no call needed.
    Same,
    /// Parameters and tags are ours but the stack has no (or another) hash tag: compare the template text.
    CompareTemplate,
    Differs,
}

/// Pure: compare live parameters and tags with the wanted ones (wanted tags include [`HASH_TAG`]).
pub fn verdict(
    live_parameters: &BTreeMap<String, String>,
    live_tags: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
    wanted_tags: &BTreeMap<String, String>,
) -> Verdict {
    let without = |m: &BTreeMap<String, String>| {
        let mut m = m.clone();
        let hash = m.remove(HASH_TAG);
        (m, hash)
    };
    let ((live, live_hash), (want, want_hash)) = (without(live_tags), without(wanted_tags));
    if live_parameters != parameters || live != want {
        Verdict::Differs
    } else if live_hash.is_some() && live_hash == want_hash {
        Verdict::Same
    } else {
        Verdict::CompareTemplate
    }
}

/// Compare a recovered stack (missing or stable: [`super::recover()`] deletes one left in review) with the target:
/// unchanged when parameters and tags are ours and the deployed-hash tag matches (no call), or, for a stack
/// deployed without that tag, when its template (GetTemplate) is the same document.
pub async fn compare(c: &Clients, t: &Target<'_>, live: Option<Stack>) -> Result<Ready, DeployError> {
    let Some(live) = live else { return Ok(Ready::Change { live: None, create: true }) };
    match verdict(&stack::parameters(&live), &stack::tags(&live), &t.parameters, &wanted_tags(t)) {
        Verdict::Same => return Ok(Ready::Unchanged(live)),
        Verdict::CompareTemplate => {
            let body = stack::template_body(&c.cfn, t.stack_name).await?;
            if body.as_deref().is_some_and(|b| same_template(b, t.body)) {
                return Ok(Ready::Unchanged(live));
            }
        }
        Verdict::Differs => {}
    }
    Ok(Ready::Change { live: Some(live), create: false })
}

/// Same template text, or the same document once parsed (quoting and layout changes are not changes).
pub fn same_template(live: &str, wanted: &str) -> bool {
    live == wanted || matches!((crate::template::parse(live), crate::template::parse(wanted)), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod verdict_tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_hash_tag_decides_without_the_template_and_anything_else_differing_is_a_change() {
        let params = map(&[("ApiCodeKey", "k1")]);
        let hash = deployed_hash("Resources: {}", &params);
        let tags = map(&[("rainmaker:tenant", "acme"), (HASH_TAG, &hash)]);
        assert_eq!(verdict(&params, &tags, &params, &tags), Verdict::Same);
        // deployed before the tag existed: the template text decides
        assert_eq!(verdict(&params, &map(&[("rainmaker:tenant", "acme")]), &params, &tags), Verdict::CompareTemplate);
        // another template or parameters: another hash, the template text decides (the change set says what)
        let other = map(&[("rainmaker:tenant", "acme"), (HASH_TAG, "00")]);
        assert_eq!(verdict(&params, &other, &params, &tags), Verdict::CompareTemplate);
        assert_eq!(verdict(&map(&[("ApiCodeKey", "k0")]), &tags, &params, &tags), Verdict::Differs);
        assert_eq!(verdict(&params, &map(&[(HASH_TAG, &hash)]), &params, &tags), Verdict::Differs);
        assert_ne!(deployed_hash("Resources: {}", &map(&[("ApiCodeKey", "k2")])), hash);
        assert_ne!(deployed_hash("Resources: {x: 1}", &params), hash);
    }
}
