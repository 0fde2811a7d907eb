//! Waiting for a stack operation while streaming its events: poll DescribeStackEvents since the operation started,
//! dedupe by EventId, report each new event with the resource's description, and cancel an update on request
//! (the caller injects the signal: Ctrl-C in the CLI, a job's shutdown in an upgrade, a test).

use super::plan::TemplateInfo;
use super::progress::{Progress, ProgressEvent};
use super::stack;
use super::DeployError;
use aws_sdk_cloudformation::types::Stack;
use aws_sdk_cloudformation::Client;
use aws_smithy_types::DateTime;
use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// The receiving end of a cancellation request; cheap to clone, one per tenant or shared by many.
#[derive(Debug, Clone)]
pub struct CancelSignal(watch::Receiver<bool>);

/// The sending end: [`Canceller::cancel`] asks every [`CancelSignal`] of the pair to stop.
#[derive(Debug)]
pub struct Canceller(watch::Sender<bool>);

/// A new, not yet cancelled pair.
pub fn cancel_pair() -> (Canceller, CancelSignal) {
    let (tx, rx) = watch::channel(false);
    (Canceller(tx), CancelSignal(rx))
}

impl Canceller {
    /// Request cancellation (idempotent).
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl CancelSignal {
    /// Has cancellation been requested?
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancellation is requested; never when the [`Canceller`] is dropped without cancelling.
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Time between two polls (2 s against AWS; tests use 0).
    pub poll: Duration,
    /// Set by Ctrl-C: a change set not yet executed is deleted; an update in progress is cancelled
    /// (CancelUpdateStack) and rolled back; a create or delete cannot be cancelled and is waited for.
    pub cancel: Option<CancelSignal>,
    /// Give up after this long (the stack keeps going; `status` shows it).
    pub timeout: Duration,
    /// How long an operation we started may show no event at all before it is reported as not started.
    pub start_timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            poll: Duration::from_secs(2),
            cancel: None,
            timeout: Duration::from_secs(3600),
            start_timeout: Duration::from_secs(300),
        }
    }
}

impl WaitOptions {
    /// Has the caller asked to cancel?
    pub fn cancel_requested(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelSignal::is_cancelled)
    }

    /// Sleep one poll interval, or less when cancellation is requested meanwhile.
    pub(crate) async fn pause(&self) {
        match &self.cancel {
            Some(c) if !c.is_cancelled() => {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = c.cancelled() => {}
                }
            }
            _ => tokio::time::sleep(self.poll).await,
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The stack at the end (`None` once deleted).
    pub stack: Option<Stack>,
    pub status: String,
    /// The first failure reason seen in the events (a resource's, not the stack's generic one).
    pub first_failure: Option<String>,
    /// CancelUpdateStack was sent.
    pub cancelled: bool,
}

/// Streams the events of one stack.
pub struct EventStream<'a> {
    cfn: &'a Client,
    stack_name: String,
    info: &'a TemplateInfo,
    progress: &'a dyn Progress,
    seen: HashSet<String>,
    since: DateTime,
    /// When the stream was made (just before the operation is sent): an event of another operation stamped before
    /// it, inside the clock-skew margin of `since`, is that operation's, not ours ([`EventStream::ours`]).
    opened: DateTime,
    started: Instant,
    first_failure: Option<String>,
    token: Option<String>,
    /// The `ClientRequestToken` of the operation this run started ([`EventStream::ours`]); None: not ours.
    ours: Option<String>,
    /// Has any event newer than `since` been seen (the operation started moving)?
    moved: bool,
}

impl<'a> EventStream<'a> {
    /// Start streaming events newer than now (minus a little clock skew).
    pub fn new(cfn: &'a Client, stack_name: &str, info: &'a TemplateInfo, progress: &'a dyn Progress) -> Self {
        let now = SystemTime::now();
        let since = DateTime::from(now - Duration::from_secs(5));
        EventStream { opened: DateTime::from(now), ..Self::since(cfn, stack_name, info, progress, since) }
    }

    /// Start streaming events newer than `since`.
    pub fn since(
        cfn: &'a Client,
        stack_name: &str,
        info: &'a TemplateInfo,
        progress: &'a dyn Progress,
        since: DateTime,
    ) -> Self {
        EventStream {
            cfn,
            stack_name: stack_name.to_string(),
            info,
            progress,
            seen: HashSet::new(),
            since,
            opened: since,
            started: Instant::now(),
            first_failure: None,
            token: None,
            ours: None,
            moved: false,
        }
    }

    /// The operation being waited for is ours, started with this `ClientRequestToken`: only then does a cancel
    /// request send CancelUpdateStack (and only once its events carry the token).
    pub fn ours(mut self, token: impl Into<String>) -> Self {
        self.ours = Some(token.into());
        self
    }

    /// Do the events seen say the running operation is the one we started?
    fn running_is_ours(&self) -> bool {
        self.ours.is_some() && self.token == self.ours
    }

    /// An event of the operation before ours: stamped before this stream was opened (inside the clock-skew margin
    /// of `since`) and carrying another operation's `ClientRequestToken`. CloudFormation stamps every event of an
    /// operation with its token; taking such an event for ours would report another run's progress, mark the
    /// operation as started, and could end the wait on the previous operation's final status.
    fn before_ours(&self, e: &aws_sdk_cloudformation::types::StackEvent) -> bool {
        let foreign = match (&self.ours, e.client_request_token().filter(|t| !t.is_empty())) {
            (Some(ours), Some(token)) => token != ours,
            _ => false,
        };
        foreign && e.timestamp().is_some_and(|t| t.as_nanos() < self.opened.as_nanos())
    }

    /// The `ClientRequestToken` of the operation whose events were seen (says who started it, e.g.
    /// `Console-UpdateStack-7f59c3cf-...`), when the events carry one.
    pub fn operation_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Fetch and report the events not seen yet, oldest first.
    pub async fn poll(&mut self) -> Result<(), DeployError> {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..10 {
            let out =
                self.cfn.describe_stack_events().stack_name(&self.stack_name).set_next_token(token.take()).send().await;
            let out = match out {
                Ok(out) => out,
                // a deleted stack has no events to show any more (its DescribeStacks says DELETE_COMPLETE)
                Err(e)
                    if e.as_service_error()
                        .and_then(|s| s.meta().message())
                        .is_some_and(|m| m.contains("does not exist")) =>
                {
                    return Ok(())
                }
                Err(e) => return Err(DeployError::sdk("CloudFormation DescribeStackEvents", e)),
            };
            for e in out.stack_events() {
                let id = e.event_id().unwrap_or_default().to_string();
                let old = e.timestamp().is_some_and(|t| t.as_nanos() < self.since.as_nanos());
                if old || self.seen.contains(&id) {
                    break 'pages;
                }
                if self.before_ours(e) {
                    continue;
                }
                fresh.push(e.clone());
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        for e in fresh.into_iter().rev() {
            let id = e.event_id().unwrap_or_default().to_string();
            if !self.seen.insert(id.clone()) {
                continue;
            }
            self.moved = true;
            if let Some(t) = e.client_request_token().filter(|t| !t.is_empty()) {
                self.token = Some(t.to_string());
            }
            let logical_id = e.logical_resource_id().unwrap_or_default().to_string();
            let status = e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default();
            let reason = e.resource_status_reason().map(str::to_string);
            let failed = status.ends_with("_FAILED");
            if failed && self.first_failure.is_none() {
                if let Some(r) = &reason {
                    if !r.contains("Resource creation cancelled") && !r.contains("Resource update cancelled") {
                        self.first_failure = Some(format!("{logical_id}: {r}"));
                    }
                }
            }
            self.progress.report(ProgressEvent::Resource {
                stack: self.stack_name.clone(),
                event_id: id,
                description: self.info.description(&logical_id),
                logical_id,
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                failed: failed || status.contains("ROLLBACK"),
                status,
                reason,
                elapsed_secs: self.started.elapsed().as_secs_f64(),
            });
        }
        Ok(())
    }

    /// Poll events and the stack until the operation is over.
    pub async fn wait(&mut self, opts: &WaitOptions) -> Result<Finished, DeployError> {
        let mut cancelled = false;
        let mut said_uncancellable = false;
        loop {
            self.poll().await?;
            let Some(s) = stack::describe(self.cfn, &self.stack_name).await? else {
                let status = "DELETE_COMPLETE".to_string();
                self.progress
                    .report(ProgressEvent::StackDone { stack: self.stack_name.clone(), status: status.clone() });
                return Ok(Finished { stack: None, status, first_failure: self.first_failure.clone(), cancelled });
            };
            let status = stack::status(&s);
            // an operation we started that shows no event yet: a terminal status is the one from before it
            let not_started = self.ours.is_some() && !self.moved;
            if not_started && self.started.elapsed() > opts.start_timeout {
                return Err(DeployError::Stuck {
                    stack: self.stack_name.clone(),
                    status,
                    help: format!(
                        "the operation did not start: no stack event in the {:?} after it was sent; `rainmaker-deploy \
                         status` shows the stack; run the command again (it continues from the stack's state)",
                        opts.start_timeout
                    ),
                });
            }
            if stack::is_terminal(&status) && !not_started {
                self.progress
                    .report(ProgressEvent::StackDone { stack: self.stack_name.clone(), status: status.clone() });
                return Ok(Finished { stack: Some(s), status, first_failure: self.first_failure.clone(), cancelled });
            }
            if opts.cancel_requested() && !cancelled {
                match &self.ours {
                    // someone else's operation (another operator, the console, a pipeline): never cancel it
                    None => {
                        let holder = self.token.as_deref().unwrap_or("without a ClientRequestToken");
                        return Err(DeployError::Declined {
                            reason: format!(
                                "cancelled while waiting for another operation on {} ({status}, {holder}); it was \
                                 left running and nothing was changed",
                                self.stack_name
                            ),
                        });
                    }
                    Some(_) if status == "UPDATE_IN_PROGRESS" && self.running_is_ours() => {
                        self.cfn
                            .cancel_update_stack()
                            .stack_name(&self.stack_name)
                            .send()
                            .await
                            .map_err(|e| DeployError::sdk("CloudFormation CancelUpdateStack", e))?;
                        cancelled = true;
                        self.progress.report(ProgressEvent::Step {
                            stack: Some(self.stack_name.clone()),
                            message: "cancelling the update (CancelUpdateStack); waiting for the rollback".into(),
                        });
                    }
                    // ours, but its events (carrying our token) are not in yet: look again next poll
                    Some(_) if status == "UPDATE_IN_PROGRESS" => {}
                    Some(_) => {
                        if !said_uncancellable {
                            said_uncancellable = true;
                            self.progress.report(ProgressEvent::Step {
                                stack: Some(self.stack_name.clone()),
                                message: format!("{status} cannot be cancelled; waiting for it to finish (the next apply converges from there)"),
                            });
                        }
                    }
                }
            }
            if self.started.elapsed() > opts.timeout {
                return Err(DeployError::Stuck {
                    stack: self.stack_name.clone(),
                    status,
                    help: format!(
                        "still in progress after {:?} (--timeout); it goes on in CloudFormation: `rainmaker-deploy status` \
                         follows it, and the next apply waits for it and continues",
                        opts.timeout
                    ),
                });
            }
            opts.pause().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::StackEvent;

    #[test]
    fn only_another_operations_events_from_before_our_request_are_skipped() {
        let conf = aws_sdk_cloudformation::Config::builder()
            .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
            .build();
        let cfn = Client::from_conf(conf);
        let info = TemplateInfo::default();
        let progress = super::super::progress::NoProgress;
        let stream = EventStream::new(&cfn, "rm-acme", &info, &progress).ours("rainmaker-1-rm-acme");
        let at = |secs: i64| DateTime::from_secs(stream.opened.secs() + secs);
        let event = |token: Option<&str>, secs: i64| {
            StackEvent::builder().set_client_request_token(token.map(str::to_string)).timestamp(at(secs)).build()
        };
        let cases = [
            (Some("rainmaker-0-rm-acme"), -2, true), // the previous run's, inside the skew margin
            (Some("rainmaker-1-rm-acme"), -2, false), // ours, stamped by a clock behind ours
            (Some("rainmaker-0-rm-acme"), 1, false), // after our request: not known to be another's
            (None, -2, false),                       // no token (moto): cannot tell, kept
            (Some(""), -2, false),
        ];
        for (token, secs, skipped) in cases {
            assert_eq!(stream.before_ours(&event(token, secs)), skipped, "{token:?} at {secs:+} s");
        }
        // a stream of someone else's operation skips nothing
        let theirs = EventStream::new(&cfn, "rm-acme", &info, &progress);
        assert!(!theirs.before_ours(&event(Some("rainmaker-0-rm-acme"), -2)));
    }
}
