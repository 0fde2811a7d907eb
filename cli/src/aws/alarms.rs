//! The backend's CloudWatch alarms for a bake: which of its exported alarms become CloudFormation rollback triggers
//! on an UPDATE (pure, from the live stack's outputs), and their states after a wave (DescribeAlarms).

use super::DeployError;
use aws_sdk_cloudformation::types::Stack;
use std::collections::BTreeMap;

/// CloudFormation takes at most this many rollback triggers per stack operation (`RollbackTriggers`, max 5).
pub const MAX_TRIGGERS: usize = 5;
/// The longest monitoring time CloudFormation accepts (`MonitoringTimeInMinutes`, 0..=180).
pub const MAX_MONITORING_MINUTES: u32 = 180;
/// The `Type` of every trigger we pass.
pub const TRIGGER_TYPE: &str = "AWS::CloudWatch::Alarm";

/// The `RollbackConfiguration` of one change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTriggers {
    /// Alarm ARNs (at most [`MAX_TRIGGERS`]); empty clears the triggers CloudFormation saved from an earlier bake.
    pub alarms: Vec<String>,
    pub minutes: u32,
}

/// The alarm name in an alarm ARN (`arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`).
pub fn alarm_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(7, ':');
    let (arn_, _, service, _, _, kind) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let name = parts.next()?;
    (arn_ == "arn" && service == "cloudwatch" && kind == "alarm" && !name.is_empty()).then_some(name)
}

/// Rank of an alarm output for the trigger slots: the API's 5xx and the dead-letter depth say most about a bad
/// deployment, then each function's errors, then throttles, then the rest (provisioning denials).
fn rank(output_key: &str) -> u8 {
    if output_key.starts_with("Api5xx") {
        0
    } else if output_key.starts_with("DeadLetterQueueDepth") {
        1
    } else if output_key.ends_with("ErrorsAlarmArn") {
        2
    } else if output_key.ends_with("ThrottlesAlarmArn") {
        3
    } else {
        4
    }
}

/// Every alarm the stack exports (outputs whose value is a CloudWatch alarm ARN), in trigger order: by [`rank`],
/// then by output key. These are all checked after a baked wave.
pub fn exported(outputs: &BTreeMap<String, String>) -> Vec<String> {
    let mut found: Vec<(&String, &String)> = outputs.iter().filter(|(_, v)| alarm_name(v).is_some()).collect();
    found.sort_by_key(|(k, _)| (rank(k), (*k).clone()));
    found.into_iter().map(|(_, v)| v.clone()).collect()
}

/// The rollback configuration of the backend's change set, decided from the live stack (`None`: a first create).
///
/// - `bake` (minutes, 1..=180) on an UPDATE: the first [`MAX_TRIGGERS`] exported alarms that the new template still
///   exports (a trigger that is missing fails the whole operation), monitored for `bake` minutes.
/// - No bake (or a create): nothing, unless the live stack still carries triggers or a monitoring time saved by an
///   earlier bake (CloudFormation applies saved triggers to every later update): then an empty list and 0 minutes
///   clear them, so `apply` and `--no-bake` never bake by accident.
///
/// `live_outputs`: the live stack's outputs (completed from the template where the service left some out).
pub fn rollback_for(
    bake: Option<u32>,
    live: Option<&Stack>,
    live_outputs: &BTreeMap<String, String>,
    wanted_outputs: &[String],
) -> Option<RollbackTriggers> {
    let live = live?;
    match bake.filter(|m| *m > 0) {
        Some(minutes) => {
            let outputs: BTreeMap<String, String> =
                live_outputs.clone().into_iter().filter(|(k, _)| wanted_outputs.iter().any(|w| w == k)).collect();
            let alarms = exported(&outputs).into_iter().take(MAX_TRIGGERS).collect();
            Some(RollbackTriggers { alarms, minutes: minutes.min(MAX_MONITORING_MINUTES) })
        }
        None => {
            let saved = live.rollback_configuration()?;
            let busy = !saved.rollback_triggers().is_empty() || saved.monitoring_time_in_minutes().unwrap_or(0) > 0;
            busy.then(|| RollbackTriggers { alarms: vec![], minutes: 0 })
        }
    }
}

/// The state of each alarm (`OK`, `ALARM`, `INSUFFICIENT_DATA`), by ARN; an alarm CloudWatch does not know is
/// `MISSING`. One DescribeAlarms per 100 names (the API's page size), following `NextToken`.
pub async fn states(cw: &aws_sdk_cloudwatch::Client, arns: &[String]) -> Result<BTreeMap<String, String>, DeployError> {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for chunk in arns.chunks(100) {
        let names: Vec<String> = chunk.iter().filter_map(|a| alarm_name(a)).map(str::to_string).collect();
        let mut token: Option<String> = None;
        loop {
            let out = cw
                .describe_alarms()
                .set_alarm_names(Some(names.clone()))
                .max_records(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| DeployError::sdk("CloudWatch DescribeAlarms", e))?;
            for a in out.metric_alarms() {
                let (Some(n), Some(s)) = (a.alarm_name(), a.state_value()) else { continue };
                by_name.insert(n.to_string(), s.as_str().to_string());
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(arns
        .iter()
        .map(|a| {
            let state = alarm_name(a).and_then(|n| by_name.get(n)).cloned().unwrap_or_else(|| "MISSING".into());
            (a.clone(), state)
        })
        .collect())
}

/// The alarms that stop a rollout: in ALARM, or gone (a bake cannot vouch for an alarm it cannot read), as
/// `name (STATE)`.
pub fn firing(states: &BTreeMap<String, String>) -> Vec<String> {
    states
        .iter()
        .filter(|(_, s)| s.as_str() == "ALARM" || s.as_str() == "MISSING")
        .map(|(arn, s)| format!("{} ({s})", alarm_name(arn).unwrap_or(arn)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::{Output, RollbackConfiguration, RollbackTrigger};

    const ACCOUNT: &str = "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:";

    fn stack(outputs: &[(&str, &str)], saved: Option<RollbackConfiguration>) -> Stack {
        let mut b = Stack::builder().stack_name("rm-acme-backend").set_rollback_configuration(saved);
        for (k, v) in outputs {
            b = b.outputs(Output::builder().output_key(*k).output_value(*v).build());
        }
        b.build()
    }

    fn outs(s: &Stack) -> BTreeMap<String, String> {
        crate::aws::stack::outputs(s)
    }

    fn outputs() -> Vec<(&'static str, String)> {
        let a = |n: &str| format!("{ACCOUNT}{n}");
        vec![
            ("ApiFunctionErrorsAlarmArn", a("rm-acme-api-errors")),
            ("ApiFunctionThrottlesAlarmArn", a("rm-acme-api-throttles")),
            ("Api5xxAlarmArn", a("rm-acme-api-5xx")),
            ("BindingFunctionErrorsAlarmArn", a("rm-acme-binding-errors")),
            ("DeadLetterQueueDepthAlarmArn", a("rm-acme-dead-letters")),
            ("IngestFunctionErrorsAlarmArn", a("rm-acme-ingest-errors")),
            ("PresenceFunctionErrorsAlarmArn", a("rm-acme-presence-errors")),
            ("ProvisioningDenialsAlarmArn", a("rm-acme-provisioning-denials")),
            ("ApiUrl", "https://x.execute-api.eu-west-1.amazonaws.com/prod".into()),
            ("UsersTableArn", "arn:aws:dynamodb:eu-west-1:111111111111:table/users".into()),
        ]
    }

    #[test]
    fn alarm_names_come_from_alarm_arns_only() {
        for (arn, name) in [
            ("arn:aws:cloudwatch:eu-west-1:111111111111:alarm:rm-acme-api-5xx", Some("rm-acme-api-5xx")),
            ("arn:aws-cn:cloudwatch:cn-north-1:111111111111:alarm:a:b", Some("a:b")),
            ("arn:aws:cloudwatch:eu-west-1:111111111111:dashboard:x", None),
            ("arn:aws:dynamodb:eu-west-1:111111111111:table/users", None),
            ("arn:aws:cloudwatch:eu-west-1:111111111111:alarm:", None),
            ("rm-acme-api-5xx", None),
        ] {
            assert_eq!(alarm_name(arn), name, "{arn}");
        }
    }

    #[test]
    fn an_update_with_a_bake_watches_the_five_first_alarms_of_the_new_template() {
        let o = outputs();
        let refs: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let live = stack(&refs, None);
        let all: Vec<String> = o.iter().map(|(k, _)| k.to_string()).collect();
        let r = rollback_for(Some(15), Some(&live), &outs(&live), &all).expect("an update with a bake");
        let names: Vec<&str> = r.alarms.iter().filter_map(|a| alarm_name(a)).collect();
        assert_eq!(
            names,
            [
                "rm-acme-api-5xx",
                "rm-acme-dead-letters",
                "rm-acme-api-errors",
                "rm-acme-binding-errors",
                "rm-acme-ingest-errors"
            ]
        );
        assert_eq!(r.minutes, 15);
        // an alarm the new template no longer exports is never a trigger (a missing trigger fails the update)
        let without_5xx: Vec<String> = all.iter().filter(|k| *k != "Api5xxAlarmArn").cloned().collect();
        let r = rollback_for(Some(15), Some(&live), &outs(&live), &without_5xx).unwrap();
        assert!(!r.alarms.iter().any(|a| a.ends_with("api-5xx")), "{r:?}");
        assert_eq!(r.alarms.len(), MAX_TRIGGERS);
        // every exported alarm is checked after the wave: eight here, the table ARN and the URL are not alarms
        let map: BTreeMap<String, String> = o.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(exported(&map).len(), 8);
        assert!(exported(&map).last().unwrap().ends_with("provisioning-denials"));
        // more than 180 minutes is not accepted by CloudFormation: capped
        assert_eq!(rollback_for(Some(500), Some(&live), &outs(&live), &all).unwrap().minutes, MAX_MONITORING_MINUTES);
    }

    #[test]
    fn no_bake_sends_nothing_unless_an_earlier_bake_left_triggers_saved() {
        let o = outputs();
        let refs: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let all: Vec<String> = o.iter().map(|(k, _)| k.to_string()).collect();
        // a first create: no live stack, no alarms yet, with or without a bake
        assert_eq!(rollback_for(Some(15), None, &BTreeMap::new(), &all), None);
        assert_eq!(rollback_for(None, None, &BTreeMap::new(), &all), None);
        // an update without a bake on a stack that never baked: nothing in the request
        assert_eq!(rollback_for(None, Some(&stack(&refs, None)), &BTreeMap::new(), &all), None);
        assert_eq!(rollback_for(Some(0), Some(&stack(&refs, None)), &BTreeMap::new(), &all), None);
        // saved triggers (or a saved monitoring time) from an earlier bake: cleared
        let saved = RollbackConfiguration::builder()
            .rollback_triggers(RollbackTrigger::builder().arn(&o[2].1).r#type(TRIGGER_TYPE).build())
            .monitoring_time_in_minutes(15)
            .build();
        let clear = Some(RollbackTriggers { alarms: vec![], minutes: 0 });
        assert_eq!(rollback_for(None, Some(&stack(&refs, Some(saved))), &BTreeMap::new(), &all), clear);
        let minutes_only = RollbackConfiguration::builder().monitoring_time_in_minutes(5).build();
        assert_eq!(rollback_for(None, Some(&stack(&refs, Some(minutes_only))), &BTreeMap::new(), &all), clear);
        let empty = RollbackConfiguration::builder().monitoring_time_in_minutes(0).build();
        assert_eq!(rollback_for(None, Some(&stack(&refs, Some(empty))), &BTreeMap::new(), &all), None);
    }

    /// The backend template of every blueprint: every alarm it declares is exported (so the check after a wave sees
    /// them all), and the five triggers are chosen from them as documented (docs/upgrade.md, "Which five").
    #[test]
    fn the_five_triggers_of_each_blueprints_template() {
        for b in crate::assets::blueprint_names() {
            let cfg = crate::config::blueprint_config(b, "acme", "eu-west-1").expect("blueprint config");
            let rendered = crate::template::render(&cfg).expect("renders");
            let body = &rendered.stack("backend").expect("a backend stack").body;
            let t = crate::template::parse(body).expect("parses");
            let alarms: Vec<&String> = t["Resources"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
                .map(|(k, _)| k)
                .collect();
            // output `<Alarm>Arn` -> the ARN it exports (`Fn::Sub` of `...:alarm:<AlarmName>`), named after the alarm
            let outputs: BTreeMap<String, String> = alarms
                .iter()
                .filter_map(|a| {
                    let key = format!("{a}Arn");
                    let sub = t["Outputs"][&key]["Value"]["Fn::Sub"].as_str()?;
                    let name = t["Resources"][a.as_str()]["Properties"]["AlarmName"].as_str()?;
                    sub.ends_with(&format!(":alarm:{name}")).then(|| (key, format!("{ACCOUNT}{a}")))
                })
                .collect();
            assert_eq!(outputs.len(), alarms.len(), "{b}: every alarm is exported: {alarms:?} vs {outputs:?}");
            assert!(outputs.keys().all(|k| k.ends_with("AlarmArn")), "{b}: {outputs:?}");
            let live = stack(&[], None);
            let keys: Vec<String> = outputs.keys().cloned().collect();
            let r = rollback_for(Some(15), Some(&live), &outputs, &keys).expect("an update with a bake");
            let names: Vec<&str> = r.alarms.iter().filter_map(|a| a.strip_prefix(ACCOUNT)).collect();
            assert_eq!(names.len(), MAX_TRIGGERS.min(alarms.len()), "{b}: {names:?}");
            assert_eq!(&names[..2], ["Api5xxAlarm", "DeadLetterQueueDepthAlarm"], "{b}");
            // then the functions' errors, by output key; never a throttle or the denials while an error is left out
            let errors: Vec<&str> = {
                let mut e: Vec<&String> = outputs.keys().filter(|k| k.ends_with("ErrorsAlarmArn")).collect();
                e.sort();
                e.iter().map(|k| outputs[*k].strip_prefix(ACCOUNT).unwrap()).collect()
            };
            assert_eq!(&names[2..], &errors[..3.min(errors.len())], "{b}");
            // the rest are checked after the wave, not triggers
            assert_eq!(exported(&outputs).len(), alarms.len(), "{b}");
        }
    }

    #[test]
    fn alarm_and_missing_stop_a_rollout_ok_and_insufficient_data_do_not() {
        let s: BTreeMap<String, String> = [
            (format!("{ACCOUNT}a"), "OK"),
            (format!("{ACCOUNT}b"), "ALARM"),
            (format!("{ACCOUNT}c"), "INSUFFICIENT_DATA"),
            (format!("{ACCOUNT}d"), "MISSING"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        assert_eq!(firing(&s), ["b (ALARM)", "d (MISSING)"]);
        assert!(firing(&BTreeMap::new()).is_empty());
    }
}
