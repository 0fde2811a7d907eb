//! `telemetry.pipeline: packed` applied to moto, each resource through its own service API: the consumer with
//! `TELEMETRY_LAYOUT=packed` and without telemetry-ingest (Lambda GetFunctionConfiguration, GetFunction), the
//! stream (Kinesis DescribeStreamSummary), and the event source mapping taking full batches over the configured
//! window (Lambda ListEventSourceMappings). moto does not run the mapping, so records are put into the deployed
//! stream as the rule's action would, read back with GetRecords and handed to the consumer (the telemetry-batch
//! library, configured from the deployed function's environment) as Lambda's Kinesis event: they land in the
//! deployed telemetry table as one packed item per bucket.

use super::batched::{
    consumer_without_ingest, deployed, deployed_consumer, put_reading, stream_event, stream_summary, telemetry_items,
    the_mapping, uploaded, Deployed,
};
use super::fixtures::moto_apply_options;
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::config::Pipeline;
use rainmaker_model::telemetry::packed::{self, bucket_of, ATTR_COUNT, ATTR_PACKED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packed_pipeline_deploys_the_consumer_with_its_layout_and_stores_packed_items() {
    let Deployed { sdk, name, applied, dir: _dir, .. } = deployed("it-packed", "it-pack", |t| {
        t.pipeline = Pipeline::Packed;
        t.batch_window_seconds = Some(120);
    })
    .await;
    assert_eq!(uploaded(&applied), ["api", "binding-confirm", "presence", "provisioning-hook", "telemetry-batch"]);

    // the consumer, through Lambda: the packed layout; telemetry-ingest is not deployed
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let consumer = format!("rm-{name}-telemetry-batch");
    let f = consumer_without_ingest(&lambda, &name).await;
    let env = f.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    assert_eq!(env.get("TELEMETRY_LAYOUT").map(String::as_str), Some("packed"), "{env:?}");

    // the stream, through Kinesis, and the mapping from it, through Lambda: full batches over the window set
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let stream = format!("rm-{name}-telemetry");
    let s = stream_summary(&kinesis, &stream).await;
    assert_eq!((s.stream_status().as_str(), s.open_shard_count()), ("ACTIVE", 1));
    let stream_arn = s.stream_arn().to_string();
    let m = &the_mapping(&lambda, &consumer).await;
    assert_eq!(m.event_source_arn(), Some(stream_arn.as_str()));
    assert_eq!(m.function_arn(), f.function_arn());
    assert_eq!(m.batch_size(), Some(10_000), "Kinesis's largest batch");
    assert_eq!(m.maximum_batching_window_in_seconds(), Some(120), "telemetry.batch_window_seconds");
    assert_eq!(m.function_response_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["ReportBatchItemFailures"]);
    assert_eq!(m.bisect_batch_on_function_error(), Some(true));
    assert!(m.destination_config().and_then(|d| d.on_failure()).and_then(|f| f.destination()).is_some());

    // records of two nodes in two buckets, as the rule's action puts them, read back and consumed
    let now = rainmaker_model::time::now_ms();
    let (a, b) = ("SN-000001", "SN-000002");
    assert_ne!(bucket_of(a), bucket_of(b));
    let mut shard = String::new();
    for (node, ts) in [(a, now - 3000), (b, now - 2000), (a, now - 1000)] {
        shard = put_reading(&kinesis, &stream, node, ts, now).await;
    }
    let event = stream_event(&kinesis, &stream, &shard, &stream_arn).await;
    assert_eq!(event.records.len(), 3, "the records put");
    let (tables, c) = deployed_consumer(&sdk, &f);
    let out = c.process(serde_json::to_value(&event).unwrap()).await;
    assert_eq!((out.accepted, out.puts, out.failed.len(), out.rejected), (3, 2, 0, 0), "{out:?}");

    // in the deployed table: one packed item in each node's bucket, none in the nodes' own partitions
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for (node, want) in [(a, vec![now - 3000, now - 1000]), (b, vec![now - 2000])] {
        let q = telemetry_items(&ddb, &tables, packed::partition_key(bucket_of(node))).await;
        assert_eq!(q.count(), 1, "{node}: {q:?}");
        let item = &q.items()[0];
        assert_eq!(item[ATTR_COUNT].as_n().map(String::as_str), Ok(want.len().to_string().as_str()));
        let readings = packed::decode(item[ATTR_PACKED].as_b().expect("binary").as_ref()).expect("decodes");
        assert!(readings.iter().all(|r| r.node_id == node));
        assert_eq!(readings.iter().map(|r| r.ts).collect::<Vec<_>>(), want, "{node}");
        assert_eq!(telemetry_items(&ddb, &tables, node.to_string()).await.count(), 0, "{node}: no per-node item");
    }
}

/// A deployed batched tenant switched to `packed` by a re-apply: the stream stays (same ARN, its records kept), the
/// function's environment and the mapping change in place (same mapping UUID, BatchSize 10,000, window 60 s), the
/// per-node item stored before is still there, and the next record is stored packed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_batched_to_packed_keeps_the_stream_and_what_is_stored() {
    let Deployed { sdk, name, mut t, dir: _dir, .. } =
        deployed("it-packed-switch", "it-pksw", |t| t.pipeline = Pipeline::Batched).await;

    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let consumer = format!("rm-{name}-telemetry-batch");
    let stream = format!("rm-{name}-telemetry");
    let arn_before = stream_summary(&kinesis, &stream).await.stream_arn().to_string();
    let m = &the_mapping(&lambda, &consumer).await;
    assert_eq!((m.batch_size(), m.maximum_batching_window_in_seconds()), (Some(1000), Some(10)));
    let uuid = m.uuid().expect("a mapping id").to_string();

    // one record stored per node by the batched consumer, from the deployed environment
    let now = rainmaker_model::time::now_ms();
    let node = "SN-000001";
    let consume = |skip: usize, ts: i64| {
        let (kinesis, lambda, sdk, stream, name, arn) = (&kinesis, &lambda, &sdk, &stream, &name, &arn_before);
        async move {
            let shard = put_reading(kinesis, stream, node, ts, now).await;
            let mut event = stream_event(kinesis, stream, &shard, arn).await;
            event.records.drain(..skip); // the records the mapping already checkpointed
            let f = consumer_without_ingest(lambda, name).await;
            let (tables, c) = deployed_consumer(sdk, &f);
            let out = c.process(serde_json::to_value(&event).unwrap()).await;
            assert_eq!((out.records, out.accepted, out.failed.len()), (1, 1, 0), "{out:?}");
            let env = f.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
            (tables, env.get("TELEMETRY_LAYOUT").cloned())
        }
    };
    let (tables, layout) = consume(0, now - 2000).await;
    assert_eq!(layout.as_deref(), Some("per-node"));

    t.config.telemetry.pipeline = Pipeline::Packed;
    let applied = deploy::apply(&t, &moto_apply_options(), &Always(true), &NoProgress).await.expect("apply packed");
    assert!(applied.failed_checks().is_empty(), "verification: {:#?}", applied.verification);
    let arn_after = stream_summary(&kinesis, &stream).await.stream_arn().to_string();
    assert_eq!(arn_after, arn_before, "the stream is the same (its records kept)");
    let m = &the_mapping(&lambda, &consumer).await;
    assert_eq!(m.uuid(), Some(uuid.as_str()), "the mapping is updated in place, not replaced");
    assert_eq!((m.batch_size(), m.maximum_batching_window_in_seconds()), (Some(10_000), Some(60)));
    let (_, layout) = consume(1, now - 1000).await;
    assert_eq!(layout.as_deref(), Some("packed"));

    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let per_node = telemetry_items(&ddb, &tables, node.to_string()).await;
    assert_eq!(per_node.count(), 1, "the per-node item stored before the switch is kept");
    assert!(per_node.items()[0].contains_key("readings"));
    let bucket = telemetry_items(&ddb, &tables, packed::partition_key(bucket_of(node))).await;
    assert_eq!(bucket.count(), 1, "the reading after the switch is packed");
    let readings = packed::decode(bucket.items()[0][ATTR_PACKED].as_b().unwrap().as_ref()).unwrap();
    assert_eq!(readings.iter().map(|r| (r.node_id.as_str(), r.ts)).collect::<Vec<_>>(), [(node, now - 1000)]);
}
