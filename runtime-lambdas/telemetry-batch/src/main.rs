//! Lambda entry point of telemetry-batch: read the configuration once, then store every batch of the stream
//! (the event is parsed by the library, which refuses anything but a Kinesis event).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use telemetry_batch::Consumer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let consumer = Consumer::from_env().await?;
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
