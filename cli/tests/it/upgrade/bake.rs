//! Bake: a wave's updates carry the backend's exported alarms as CloudFormation rollback triggers, and after the wave
//! the alarms are read (DescribeAlarms); one in ALARM halts the rest. moto neither creates `AWS::CloudWatch::Alarm`
//! resources from a template nor honours rollback triggers, so: the alarms the backend exports are created in moto
//! by PutMetricAlarm under the exported names (their states then come from moto's CloudWatch API, set with
//! SetAlarmState), the CreateChangeSet requests are asserted through a recording proxy, and the rollback
//! CloudFormation would do is replayed by rewriting moto's DescribeStacks answer (`StackStatus`
//! `UPDATE_ROLLBACK_COMPLETE`, as the API reference spells it) after our ExecuteChangeSet.

use super::fleet::{memories, sdk_in, statuses, Entry, Fleet};
use super::schema::check_report;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{MotoServer, Proxy, Received};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAVES: &str = "waves:\n  canary: { max_concurrent: 1, failure_tolerance: 0, bake_minutes: 15 }\n  rest: { max_concurrent: 5, failure_tolerance: 0 }\n";

/// Decode one `application/x-www-form-urlencoded` body into its pairs, in order.
pub(super) fn form(body: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("a %XX escape"));
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("UTF-8 form value")
    };
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (dec(k), dec(v))).collect()
}

/// The CreateChangeSet requests for `stack`, decoded.
fn change_sets(proxy: &Proxy, stack: &str) -> Vec<BTreeMap<String, String>> {
    proxy
        .received()
        .iter()
        .filter(|q| q.body.contains("Action=CreateChangeSet"))
        .map(|q| form(&q.body).into_iter().collect::<BTreeMap<_, _>>())
        .filter(|f| f.get("StackName").map(String::as_str) == Some(stack))
        .collect()
}

/// The `RollbackConfiguration` of one decoded request: trigger (ARN, Type) pairs and the monitoring time.
type Triggers = (Vec<(String, String)>, Option<String>);

fn rollback(f: &BTreeMap<String, String>) -> Option<Triggers> {
    if !f.keys().any(|k| k.starts_with("RollbackConfiguration")) {
        return None;
    }
    let mut triggers = Vec::new();
    for n in 1.. {
        let Some(arn) = f.get(&format!("RollbackConfiguration.RollbackTriggers.member.{n}.Arn")) else { break };
        let ty = f.get(&format!("RollbackConfiguration.RollbackTriggers.member.{n}.Type")).cloned().unwrap_or_default();
        triggers.push((arn.clone(), ty));
    }
    Some((triggers, f.get("RollbackConfiguration.MonitoringTimeInMinutes").cloned()))
}

/// The backend's exported alarm ARNs (outputs ending `AlarmArn`), from the outputs file the upgrade wrote for the
/// tenant (moto's DescribeStacks has no outputs for stacks made by change sets; the deploy core completes them from
/// the template).
fn exported_alarms(f: &Fleet, t: &Entry) -> BTreeMap<String, String> {
    let file = f.path().join("tenants").join(&t.name).join(".rainmaker").join(&t.account).join(&t.region).join(&t.name);
    let text = std::fs::read_to_string(file.join("outputs.json")).unwrap_or_else(|e| panic!("{}: {e}", t.name));
    let v: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    v.into_iter().filter(|(k, _)| k.ends_with("AlarmArn")).collect()
}

fn name_of(arn: &str) -> &str {
    arn.rsplit_once(":alarm:").map(|(_, n)| n).expect("an alarm ARN")
}

/// What CloudFormation would have made from the template's alarms: one metric alarm per exported name (state OK).
async fn create_alarms(moto: &MotoServer, t: &Entry, arns: &BTreeMap<String, String>) {
    let cw = aws_sdk_cloudwatch::Client::new(&sdk_in(moto, &t.account, &t.region).await);
    for arn in arns.values() {
        cw.put_metric_alarm()
            .alarm_name(name_of(arn))
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .unwrap();
    }
}

async fn set_state(moto: &MotoServer, t: &Entry, arn: &str, state: aws_sdk_cloudwatch::types::StateValue) {
    let cw = aws_sdk_cloudwatch::Client::new(&sdk_in(moto, &t.account, &t.region).await);
    cw.set_alarm_state().alarm_name(name_of(arn)).state_value(state).state_reason("test").send().await.unwrap();
}

fn set_memory(f: &Fleet, from: u32, to: u32) {
    for t in &f.tenants {
        let p = f.config(&t.name);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace(&format!("memory_mb: {from}"), &format!("memory_mb: {to}"))).unwrap();
    }
}

fn wave<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["waves"].as_array().unwrap().iter().find(|w| w["name"] == name).unwrap_or_else(|| panic!("wave {name}: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baked_update_carries_its_alarms_as_rollback_triggers_and_an_alarm_halts_the_rest() {
    let moto = MotoServer::shared();
    let canary = |t: &Entry| if t.name.ends_with("-a0") { "    wave: canary\n".to_string() } else { String::new() };
    let mut f = Fleet::new(moto, "upk", WAVES, &canary);
    let (a0, a1, b0) = (f.tenants[0].clone(), f.tenants[1].clone(), f.tenants[3].clone());
    let only = format!("{},{},{}", a0.name, a1.name, b0.name);
    let stack_a0 = Names::new(&a0.name).backend_stack;
    // the replayed rollback: armed, the DescribeStacks answers of a0's backend after our ExecuteChangeSet say
    // UPDATE_ROLLBACK_COMPLETE
    let armed = Arc::new(AtomicBool::new(false));
    let executed = Arc::new(Mutex::new(false));
    let rewrite = {
        let (armed, executed, stack) = (armed.clone(), executed.clone(), stack_a0.clone());
        Arc::new(move |req: &Received, body: &str| {
            let mine = req.body.contains(&format!("StackName={stack}"));
            if armed.load(Ordering::SeqCst) && mine && req.body.contains("Action=ExecuteChangeSet") {
                *executed.lock().unwrap() = true;
            }
            if *executed.lock().unwrap() && mine && req.body.contains("Action=DescribeStacks") {
                body.replace(
                    "<StackStatus>UPDATE_COMPLETE</StackStatus>",
                    "<StackStatus>UPDATE_ROLLBACK_COMPLETE</StackStatus>",
                )
            } else {
                body.to_string()
            }
        })
    };
    let proxy = Proxy::moto(moto, Duration::ZERO, Some(rewrite));
    f.endpoint = proxy.endpoint_url();

    // 1. first rollout: creates have no alarms yet, so no rollback configuration and nothing to check
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    check_report(&v);
    let creates = change_sets(&proxy, &stack_a0);
    assert_eq!(creates.len(), 1, "one CREATE change set: {creates:?}");
    assert_eq!(creates[0]["ChangeSetType"], "CREATE");
    assert_eq!(rollback(&creates[0]), None, "a first create carries no rollback triggers");
    assert_eq!(wave(&v, "canary")["bake_minutes"], 15);
    assert_eq!(wave(&v, "canary")["baked"], serde_json::json!([]), "{v}");

    // what CloudFormation would have made of the template's alarms, for the three tenants
    let mut alarms = BTreeMap::new();
    for t in [&a0, &a1, &b0] {
        let a = exported_alarms(&f, t);
        assert!(a.len() >= 5, "{}: its exported alarms: {a:?}", t.name);
        create_alarms(moto, t, &a).await;
        alarms.insert(t.name.clone(), a);
    }
    let a0_alarms = &alarms[&a0.name];

    // 2. an update everywhere; a0's API 5xx alarm is in ALARM when the canary wave is checked
    set_memory(&f, 128, 512);
    set_state(moto, &a0, &a0_alarms["Api5xxAlarmArn"], aws_sdk_cloudwatch::types::StateValue::Alarm).await;
    let before = proxy.received().len();
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only]);
    assert_eq!(r.code, 4, "none failed, the rest halted: {}", r.transcript());
    check_report(&v);
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "upgraded", "{st:?}");
    assert_eq!((st[&a1.name].as_str(), st[&b0.name].as_str()), ("halted", "halted"), "{st:?}");
    let c = wave(&v, "canary");
    assert_eq!(c["status"], "halted", "{v}");
    assert_eq!(c["baked"], serde_json::json!([a0.name]));
    let firing: Vec<&str> = c["firing"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(firing, [format!("{}: {} (ALARM)", a0.name, name_of(&a0_alarms["Api5xxAlarmArn"]))], "{v}");
    assert_eq!(wave(&v, "rest")["status"], "skipped");
    assert!(v["stopped"].as_str().unwrap().contains("alarm after wave canary"), "{v}");
    // halted means never started: their functions keep the old memory
    for t in [&a1, &b0] {
        assert!(memories(moto, t).await.iter().all(|m| *m == 128), "{} untouched", t.name);
    }
    // the UPDATE change set asked CloudFormation to watch the five first alarms for 15 minutes
    let sets = change_sets(&proxy, &stack_a0);
    let update = sets.last().unwrap();
    assert_eq!(update["ChangeSetType"], "UPDATE");
    let (triggers, minutes) = rollback(update).expect("the UPDATE carries a RollbackConfiguration");
    assert_eq!(minutes.as_deref(), Some("15"));
    let want: Vec<(String, String)> = ["Api5xxAlarmArn", "DeadLetterQueueDepthAlarmArn"]
        .iter()
        .map(|k| (a0_alarms[*k].clone(), "AWS::CloudWatch::Alarm".to_string()))
        .collect();
    assert_eq!(triggers.len(), 5, "CloudFormation takes at most 5 triggers: {triggers:?}");
    assert_eq!(triggers[..2], want[..], "the API 5xx and dead-letter alarms first");
    for (arn, ty) in &triggers[2..] {
        assert!(arn.ends_with("-errors") && ty == "AWS::CloudWatch::Alarm", "then functions' errors: {triggers:?}");
        assert!(a0_alarms.values().any(|a| a == arn), "{arn} is one of a0's exported alarms");
    }
    // the bootstrap stack's change sets (if any) never carry triggers
    let boot = change_sets(&proxy, &Names::new(&a0.name).bootstrap_stack);
    assert!(boot.iter().all(|f| rollback(f).is_none()), "{boot:?}");
    // after the wave: one DescribeAlarms with every exported alarm of a0, with a0's own keys
    let described: Vec<BTreeMap<String, String>> = proxy.received()[before..]
        .iter()
        .filter(|q| q.body.contains("Action=DescribeAlarms"))
        .map(|q| form(&q.body).into_iter().collect())
        .collect();
    assert_eq!(described.len(), 1, "{described:?}");
    let asked: Vec<&String> =
        described[0].iter().filter(|(k, _)| k.starts_with("AlarmNames.member.")).map(|(_, v)| v).collect();
    let mut want_names: Vec<&str> = a0_alarms.values().map(|a| name_of(a)).collect();
    let mut got_names: Vec<&str> = asked.iter().map(|s| s.as_str()).collect();
    want_names.sort();
    got_names.sort();
    assert_eq!(got_names, want_names);

    // 3. the alarm back to OK, a bake on every wave: a0 is unchanged (nothing to bake), a1 and b0 update with
    // 5-minute triggers, their alarms read OK after the wave, and the run completes
    set_state(moto, &a0, &a0_alarms["Api5xxAlarmArn"], aws_sdk_cloudwatch::types::StateValue::Ok).await;
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only, "--bake", "5"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    check_report(&v);
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "unchanged");
    assert_eq!((st[&a1.name].as_str(), st[&b0.name].as_str()), ("upgraded", "upgraded"), "{st:?}");
    let rest = wave(&v, "rest");
    assert_eq!((rest["status"].as_str(), rest["bake_minutes"].as_u64()), (Some("completed"), Some(5)), "{v}");
    assert_eq!(rest["baked"], serde_json::json!([a1.name, b0.name]));
    assert_eq!(rest["firing"], serde_json::json!([]));
    for t in [&a1, &b0] {
        let sets = change_sets(&proxy, &Names::new(&t.name).backend_stack);
        let (triggers, minutes) = rollback(sets.last().unwrap()).expect("triggers on the update");
        assert_eq!((triggers.len(), minutes.as_deref()), (5, Some("5")), "{}", t.name);
        assert!(triggers.iter().all(|(a, _)| alarms[&t.name].values().any(|x| x == a)), "{}'s own alarms", t.name);
    }
    // the text report shows the bake per wave
    let r = f.upgrade(&["--yes", "--only", &only, "--bake", "5", "--dry-run"]);
    assert!(r.stdout.contains("bake 5 min"), "{}", r.stdout);

    // 4. CloudFormation rolls a0's baked update back because its dead-letter alarm fired: a0 is `failed`, the
    // reason names the alarm, the canary's tolerance 0 is exceeded, the rest skipped
    set_memory(&f, 512, 256);
    set_state(moto, &a0, &a0_alarms["DeadLetterQueueDepthAlarmArn"], aws_sdk_cloudwatch::types::StateValue::Alarm)
        .await;
    armed.store(true, Ordering::SeqCst);
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    check_report(&v);
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "failed", "{st:?}");
    assert_eq!((st[&a1.name].as_str(), st[&b0.name].as_str()), ("skipped", "skipped"), "{st:?}");
    let row = v["tenants"].as_array().unwrap().iter().find(|t| t["name"] == a0.name.as_str()).unwrap();
    let err = row["error"].as_str().unwrap();
    let dlq = name_of(&a0_alarms["DeadLetterQueueDepthAlarmArn"]);
    assert!(err.contains("UPDATE_ROLLBACK_COMPLETE"), "{err}");
    assert!(err.contains(&format!("rolled back by its rollback trigger: alarm {dlq} in ALARM")), "{err}");
    assert!(!err.contains(name_of(&a0_alarms["Api5xxAlarmArn"])), "an alarm in OK is not named: {err}");
}
