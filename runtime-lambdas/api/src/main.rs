//! Lambda entry point of api: read the configuration once, then answer every API Gateway request.

use api::Api;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let api = Api::from_env().await?;
    let api = &api;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(api.handle(event.payload).await)
    }))
    .await
}
