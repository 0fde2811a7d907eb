//! `gdpr export`: everything the backend holds about one user, nothing about anyone else, in one archive.

use super::archive::{self, Archive, Format};
use super::error::sdk;
use super::read::{self, str_of};
use super::user::{self, UserRef};
use super::{GdprClients, GdprError, Report, Resources};
use rainmaker_core::gdpr::manifest::{self, Manifest, SCHEMA_VERSION};
use rainmaker_core::gdpr::{isolate, Source};
use rainmaker_model::attr;
use rainmaker_model::ddb::map_to_json;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the archive goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    File(PathBuf),
    Stdout,
}

/// What an export wrote (the command's result; no personal data beyond the user id asked for).
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub tenant: String,
    pub user_id: String,
    /// The archive's path, or `-` for stdout.
    pub out: String,
    pub format: Format,
    pub bytes: u64,
    pub sha256: String,
    pub items: BTreeMap<&'static str, u64>,
    pub files: usize,
}

/// Export `who` to `out` as `format` (refusing an existing file unless `force`).
#[allow(clippy::too_many_arguments)]
pub async fn export(
    c: &GdprClients,
    r: &Resources,
    who: &UserRef,
    out: &Out,
    force: bool,
    format: Format,
    progress: &dyn Report,
) -> Result<ExportReport, GdprError> {
    if let Out::File(p) = out {
        if !force && p.exists() {
            return Err(archive::exists(p));
        }
    }
    let pool_user = user::find(c, r, who).await?;
    let user_id = match (&pool_user, who) {
        (Some(u), _) => u.sub.clone(),
        (None, UserRef::Sub(s)) => s.clone(),
        (None, UserRef::Email(e)) => return Err(unknown(r, e)),
    };
    let user_item = read::user_item(c, r, &user_id).await?;
    let grants = read::grants(c, r, &user_id).await?;
    if pool_user.is_none() && user_item.is_none() && grants.is_empty() {
        return Err(unknown(r, &user_id));
    }

    let (tmp, file) = match out {
        Out::File(p) => archive::temp_beside(p)?,
        Out::Stdout => {
            let name = format!("rainmaker-gdpr-export-{}.{}", std::process::id(), format.extension());
            let p = std::env::temp_dir().join(name);
            let _ = std::fs::remove_file(&p);
            (p.clone(), archive::create_private(&p)?)
        }
    };
    let archive = Archive::new(file, &tmp, format);
    let result = write(c, r, &user_id, pool_user.as_ref(), user_item, &grants, archive, progress).await;
    let entries = match result {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(archive::spool_path(&tmp));
            return Err(e);
        }
    };
    let (bytes, sha256) = hash_file(&tmp)?;
    match out {
        Out::File(p) => archive::publish(&tmp, p, force)?,
        Out::Stdout => {
            let copied = copy_to_stdout(&tmp);
            let _ = std::fs::remove_file(&tmp);
            copied?;
        }
    }
    let mut items = BTreeMap::new();
    for f in &entries {
        *items.entry(f.source.name()).or_insert(0) += f.items;
    }
    Ok(ExportReport {
        tenant: r.tenant.clone(),
        user_id,
        out: match out {
            Out::File(p) => p.display().to_string(),
            Out::Stdout => "-".into(),
        },
        format,
        bytes,
        sha256,
        items,
        files: entries.len(),
    })
}

fn unknown(r: &Resources, user: &str) -> GdprError {
    GdprError::UnknownUser { user: user.into(), tenant: r.tenant.clone(), user_pool: r.user_pool_id.clone() }
}

fn hash_file(p: &Path) -> Result<(u64, String), GdprError> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(p).map_err(|e| GdprError::io("reading the archive", e))?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h).map_err(|e| GdprError::io("reading the archive", e))?;
    Ok((n, hex::encode(h.finalize())))
}

fn copy_to_stdout(p: &Path) -> Result<(), GdprError> {
    let mut f = std::fs::File::open(p).map_err(|e| GdprError::io("reading the archive", e))?;
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut f, &mut stdout).map_err(|e| GdprError::io("writing the archive to stdout", e))?;
    stdout.flush().map_err(|e| GdprError::io("writing the archive to stdout", e))
}

#[allow(clippy::too_many_arguments)]
async fn write(
    c: &GdprClients,
    r: &Resources,
    user_id: &str,
    pool_user: Option<&user::PoolUser>,
    user_item: Option<rainmaker_model::ddb::Item>,
    grant_items: &[rainmaker_model::ddb::Item],
    mut a: Archive,
    progress: &dyn Report,
) -> Result<Vec<rainmaker_core::gdpr::FileEntry>, GdprError> {
    // cognito.json
    let cognito = match pool_user {
        Some(u) => u.profile.clone(),
        None => json!({"in_user_pool": false}),
    };
    a.json(Source::Cognito.path(), Source::Cognito, &cognito, u64::from(pool_user.is_some()))?;
    progress.source(Source::Cognito.name(), u64::from(pool_user.is_some()), true);

    // users.json
    let users = user_item.as_ref().map(|i| Value::Object(map_to_json(i))).unwrap_or(Value::Null);
    a.json(Source::Users.path(), Source::Users, &users, u64::from(user_item.is_some()))?;
    progress.source(Source::Users.name(), u64::from(user_item.is_some()), true);

    // nodes.json (owned nodes) and memberships.json (grants; shares given as counts)
    let nodes = read::owned_nodes(c, r, user_id).await?;
    let grants: Vec<isolate::Grant> = grant_items.iter().map(read::grant).collect();
    let mut given = BTreeMap::new();
    for node in &nodes {
        let id = str_of(node, attr::NODE_ID);
        let users = rainmaker_model::unbind::grants_of(&c.ddb, &r.tables, &id).await.map_err(GdprError::unbind)?;
        given.insert(id, users);
    }
    let memberships = isolate::memberships(user_id, &grants, &given);
    a.json(Source::Memberships.path(), Source::Memberships, &memberships, grants.len() as u64)?;
    progress.source(Source::Memberships.name(), grants.len() as u64, true);
    let node_values: Vec<Value> = nodes.iter().map(|n| Value::Object(map_to_json(n))).collect();
    a.json(Source::Nodes.path(), Source::Nodes, &Value::Array(node_values), nodes.len() as u64)?;
    progress.source(Source::Nodes.name(), nodes.len() as u64, true);
    let node_ids: Vec<String> = nodes.iter().map(|n| str_of(n, attr::NODE_ID)).collect();

    // things.json, shadows.json
    let mut things = Vec::new();
    for id in &node_ids {
        if let Some(t) = read::thing(c, id).await? {
            things.push(t);
        }
    }
    a.json(Source::Things.path(), Source::Things, &Value::Array(things.clone()), things.len() as u64)?;
    progress.source(Source::Things.name(), things.len() as u64, true);
    let mut shadows = Vec::new();
    for id in &node_ids {
        for name in read::shadow_names(c, id).await? {
            let shadow_name = (!name.is_empty()).then_some(name.as_str());
            if let Some(doc) = read::shadow(c, id, shadow_name).await? {
                shadows.push(json!({"node_id": id, "shadow_name": shadow_name, "document": doc}));
            }
        }
    }
    a.json(Source::Shadows.path(), Source::Shadows, &Value::Array(shadows.clone()), shadows.len() as u64)?;
    progress.source(Source::Shadows.name(), shadows.len() as u64, true);

    // telemetry/<node>.ndjson, streamed page by page
    let mut total = 0u64;
    for id in &node_ids {
        let owner_since = grants.iter().find(|g| g.node_id == *id && g.role == "owner").and_then(|g| g.granted_at);
        let since = isolate::telemetry_since(owner_since);
        a.begin(&format!("{}{id}.ndjson", Source::Telemetry.path()), Source::Telemetry)?;
        let mut pages = read::telemetry(c, r, id, since).into_paginator().send();
        let mut buf = Vec::with_capacity(64 * 1024);
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk("DynamoDB Query"))?;
            buf.clear();
            for item in page.items() {
                serde_json::to_writer(&mut buf, &Value::Object(map_to_json(item)))
                    .map_err(|e| GdprError::io("encoding telemetry", e))?;
                buf.push(b'\n');
            }
            a.write(&buf, page.items().len() as u64)?;
            total += page.items().len() as u64;
            progress.source(Source::Telemetry.name(), total, false);
        }
        a.end()?;
    }
    progress.source(Source::Telemetry.name(), total, true);

    // binding_requests.json
    let requests = read::binding_requests(c, r, user_id).await?;
    let values: Vec<Value> = requests.iter().map(|i| Value::Object(map_to_json(i))).collect();
    a.json(Source::BindingRequests.path(), Source::BindingRequests, &Value::Array(values), requests.len() as u64)?;
    progress.source(Source::BindingRequests.name(), requests.len() as u64, true);

    // manifest.json and README.txt
    let files = a.files().to_vec();
    let m = Manifest {
        schema_version: SCHEMA_VERSION,
        tenant: r.tenant.clone(),
        region: r.region.clone(),
        cli_version: env!("CARGO_PKG_VERSION").into(),
        template_version: r.template_version.clone(),
        exported_at: super::now_rfc3339(),
        user_id: user_id.into(),
        sources: manifest::sources(&files, &r.retention),
        files: files.clone(),
        not_included: manifest::not_included(&r.retention),
    };
    let mut text = serde_json::to_vec_pretty(&m).map_err(|e| GdprError::io("encoding the manifest", e))?;
    text.push(b'\n');
    a.extra("manifest.json", &text)?;
    a.extra("README.txt", manifest::readme(&m).as_bytes())?;
    a.finish()?;
    Ok(files)
}
