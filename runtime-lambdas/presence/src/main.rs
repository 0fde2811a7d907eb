//! Lambda entry point of presence: read the configuration once, then apply every lifecycle event.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use presence::Presence;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let presence = Presence::from_env().await?;
    let presence = &presence;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        presence.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
