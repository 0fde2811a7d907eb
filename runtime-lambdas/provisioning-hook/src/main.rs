//! Lambda entry point of the pre-provisioning hook: read the configuration once, then answer every event.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use provisioning_hook::Hook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let hook = Hook::from_env().await?;
    let hook = &hook;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(hook.handle(event.payload).await)
    }))
    .await
}
