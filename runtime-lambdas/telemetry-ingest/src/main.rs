//! Lambda entry point of telemetry-ingest: read the configuration once, then store every rule event.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use telemetry_ingest::Ingest;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let ingest = Ingest::from_env().await?;
    let ingest = &ingest;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        ingest.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
