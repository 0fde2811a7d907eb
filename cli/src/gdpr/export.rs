//! `gdpr export`: everything the backend holds about one user, nothing about anyone else, in one archive.

use super::archive::{self, Archive, Format};
use super::error::sdk;
use super::read::{self, str_of};
use super::user::{self, UserRef};
use super::{windows, GdprClients, GdprError, Report, Resources};
use rainmaker_core::gdpr::manifest::{self, Manifest, SCHEMA_VERSION};
use rainmaker_core::gdpr::{isolate, sources, Source};
use rainmaker_model::attr;
use rainmaker_model::ddb::{map_to_json, Item};
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
    // every attribute but those left out with a reason (sources::ATTRIBUTES: released_at, the previous owner's)
    let exported = |n: &Item| -> Value {
        let mut m = map_to_json(n);
        m.retain(|k, _| sources::attribute("nodes", k).is_none_or(|c| c.exported.is_some()));
        Value::Object(m)
    };
    let node_values: Vec<Value> = nodes.iter().map(exported).collect();
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

    // telemetry/<node>.ndjson: per node the user owns or owned, the readings received inside their windows,
    // streamed page by page: the node's own items, then its readings in its bucket's packed items
    let ws = windows::of_user(user_item.as_ref(), &nodes, &grants);
    let mut total = 0u64;
    let mut window_nodes: Vec<&str> = ws.iter().map(|w| w.node_id.as_str()).collect();
    window_nodes.dedup(); // sorted by node
    for id in window_nodes {
        a.begin(&format!("{}{id}.ndjson", Source::Telemetry.path()), Source::Telemetry)?;
        for w in ws.iter().filter(|w| w.node_id == id) {
            let query = read::telemetry(c, r, id, w.to).limit(TELEMETRY_PAGE);
            let mut pages = QueryPages { query, start: None, done: false };
            stream_telemetry(&mut pages, &mut a, &mut total, progress, &|item| windows::inside(item, w)).await?;
            super::packed::export(c, r, id, w, &mut a, &mut total, progress).await?;
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

/// Readings per telemetry Query of the export (`Limit`). The export holds one page at a time (the items as the SDK
/// parsed them and their NDJSON), so this bounds its memory whatever a node holds. Without it a page is DynamoDB's
/// 1 MB, about 10,000 readings: at 10,000 readings a node the benchmark saw 17 MiB above the starting RSS.
pub const TELEMETRY_PAGE: i32 = 1000;

/// Pages of telemetry items, asked for one at a time.
pub trait Pages {
    /// The next page, or `None` after the last.
    fn next_page(&mut self) -> impl std::future::Future<Output = Option<Result<Vec<Item>, GdprError>>>;
}

/// Where the pages' NDJSON goes (the archive's open entry).
pub trait PageSink {
    fn write_page(&mut self, ndjson: &[u8], items: u64) -> Result<(), GdprError>;
}

impl PageSink for Archive {
    fn write_page(&mut self, ndjson: &[u8], items: u64) -> Result<(), GdprError> {
        self.write(ndjson, items)
    }
}

/// A telemetry Query as [`Pages`]: each page asked for with the last one's `LastEvaluatedKey`.
struct QueryPages {
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    start: Option<Item>,
    done: bool,
}

impl Pages for QueryPages {
    async fn next_page(&mut self) -> Option<Result<Vec<Item>, GdprError>> {
        if self.done {
            return None;
        }
        let out = self.query.clone().set_exclusive_start_key(self.start.take()).send().await;
        Some(out.map_err(sdk("DynamoDB Query")).map(|o| {
            self.start = o.last_evaluated_key;
            self.done = self.start.is_none();
            o.items.unwrap_or_default()
        }))
    }
}

/// The part of a telemetry item (as JSON) to export, or `None`.
pub type Keep<'a> = dyn Fn(&serde_json::Map<String, Value>) -> Option<serde_json::Map<String, Value>> + 'a;

/// Encode each page as NDJSON and write it before asking for the next one: at most one page is held, however
/// many a node has. `keep` gives the part of an item to export (the user's readings, `windows::inside`) or
/// `None`. `total` counts the items written (progress).
pub async fn stream_telemetry(
    pages: &mut impl Pages,
    sink: &mut impl PageSink,
    total: &mut u64,
    progress: &dyn Report,
    keep: &Keep<'_>,
) -> Result<(), GdprError> {
    let mut buf = Vec::with_capacity(64 * 1024);
    while let Some(page) = pages.next_page().await {
        let page = page?;
        buf.clear();
        let mut items = 0u64;
        for item in &page {
            let Some(part) = keep(&map_to_json(item)) else { continue };
            serde_json::to_writer(&mut buf, &Value::Object(part))
                .map_err(|e| GdprError::io("encoding telemetry", e))?;
            buf.push(b'\n');
            items += 1;
        }
        drop(page); // the parsed page goes before the next is asked for
        sink.write_page(&buf, items)?;
        *total += items;
        progress.source(Source::Telemetry.name(), *total, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        /// A page was asked for.
        Fetch(usize),
        /// NDJSON was written: items, bytes.
        Write(u64, usize),
    }

    type Log = Rc<RefCell<Vec<Event>>>;

    struct FakePages {
        pages: Vec<Result<Vec<Item>, GdprError>>,
        next: usize,
        log: Log,
    }

    impl Pages for FakePages {
        async fn next_page(&mut self) -> Option<Result<Vec<Item>, GdprError>> {
            if self.next == self.pages.len() {
                return None;
            }
            self.log.borrow_mut().push(Event::Fetch(self.next));
            let page = std::mem::replace(&mut self.pages[self.next], Ok(vec![]));
            self.next += 1;
            Some(page)
        }
    }

    struct Sink {
        log: Log,
        out: Vec<u8>,
    }

    impl PageSink for Sink {
        fn write_page(&mut self, ndjson: &[u8], items: u64) -> Result<(), GdprError> {
            self.log.borrow_mut().push(Event::Write(items, ndjson.len()));
            self.out.extend_from_slice(ndjson);
            Ok(())
        }
    }

    fn reading(node: &str, ts: i64) -> Item {
        let t = rainmaker_model::Telemetry {
            node_id: node.into(),
            ts,
            params: json!({"temp": 21.5, "seq": ts}).as_object().cloned().unwrap(),
            received_at: ts + 40,
            expires_at: 4_000_000_000,
            msg_id: Some(format!("m{ts}")),
        };
        rainmaker_model::ddb::to_item(&t).unwrap()
    }

    fn line(item: &Item) -> Vec<u8> {
        let mut l = serde_json::to_vec(&Value::Object(map_to_json(item))).unwrap();
        l.push(b'\n');
        l
    }

    fn run(pages: Vec<Result<Vec<Item>, GdprError>>) -> (Result<(), GdprError>, Vec<Event>, Vec<u8>, u64) {
        let log = Log::default();
        let mut p = FakePages { pages, next: 0, log: log.clone() };
        let mut sink = Sink { log: log.clone(), out: vec![] };
        let mut total = 0;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r =
            rt.block_on(stream_telemetry(&mut p, &mut sink, &mut total, &super::super::NoReport, &|m| Some(m.clone())));
        let events = log.borrow().clone();
        (r, events, sink.out, total)
    }

    /// Each page is written before the next is asked for, and each write is that one page: nothing of a node's
    /// telemetry accumulates across pages, so the export holds one page (`TELEMETRY_PAGE` items) at most.
    #[test]
    fn telemetry_is_written_page_by_page_and_never_held_beyond_one_page() {
        let pages: Vec<Vec<Item>> =
            (0..5).map(|p| (0..1000).map(|i| reading("RM-N-1", p * 1000 + i)).collect()).collect();
        let want: Vec<Vec<u8>> = pages.iter().map(|p| p.iter().flat_map(line).collect()).collect();
        let (r, events, out, total) = run(pages.into_iter().map(Ok).collect());
        r.unwrap();
        let expected: Vec<Event> =
            want.iter().enumerate().flat_map(|(i, w)| [Event::Fetch(i), Event::Write(1000, w.len())]).collect();
        assert_eq!(events, expected, "fetch, write, fetch, write, ...");
        assert_eq!(out, want.concat(), "every reading once, in order, as one NDJSON line");
        assert_eq!(total, 5000);
        // a page of readings like these is ~100 KB of NDJSON: far from a node's 500 KB here
        let biggest = events.iter().filter_map(|e| if let Event::Write(_, b) = e { Some(*b) } else { None }).max();
        assert!(biggest.unwrap() * 4 < out.len(), "one write holds one page");
    }

    #[test]
    fn a_failed_page_stops_after_the_pages_before_it_were_written() {
        let err = GdprError::io("DynamoDB Query", "throttled");
        let pages = vec![Ok(vec![reading("RM-N-1", 1)]), Err(err), Ok(vec![reading("RM-N-1", 2)])];
        let (r, events, out, total) = run(pages);
        assert!(r.unwrap_err().to_string().contains("throttled"));
        assert_eq!(events[..2], [Event::Fetch(0), Event::Write(1, out.len())]);
        assert_eq!(events[2], Event::Fetch(1));
        assert_eq!((events.len(), total), (3, 1), "nothing asked for after the failure: {events:?}");
    }

    #[test]
    fn the_page_limit_bounds_memory_well_below_dynamodbs_1_mb_page() {
        // a seeded reading is ~150 bytes of NDJSON; DynamoDB's 1 MB page holds ~10,000 of them
        let one = line(&reading("SEED000000U0N0", 1_700_000_000_000)).len();
        assert!(TELEMETRY_PAGE as usize * one < 256 * 1024, "{TELEMETRY_PAGE} readings of {one} bytes");
    }
}
