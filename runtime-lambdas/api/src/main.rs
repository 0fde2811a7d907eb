//! Lambda entry point of api: read the configuration once, then answer API Gateway and binding-rule events.

use api::Api;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let api = Api::from_env().await?;
    let api = &api;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        api.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
