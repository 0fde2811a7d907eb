//! Lambda entry point of binding-confirm: read the configuration once, then handle every binding rule event.

use binding_confirm::Confirm;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let confirm = Confirm::from_env().await?;
    let confirm = &confirm;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        confirm.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
