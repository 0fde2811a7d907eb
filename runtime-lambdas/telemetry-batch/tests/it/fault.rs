//! A fault for the tests: an SDK HTTP client in front of moto that answers every request whose body mentions a
//! given string with DynamoDB's `ValidationException` (400, not retried), and forwards everything else unchanged.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

#[derive(Debug, Clone)]
struct Failing {
    inner: SharedHttpClient,
    needle: String,
}

impl HttpClient for Failing {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FailingConnector {
            inner: self.inner.http_connector(settings, components),
            needle: self.needle.clone(),
        })
    }
}

#[derive(Debug)]
struct FailingConnector {
    inner: SharedHttpConnector,
    needle: String,
}

impl HttpConnector for FailingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let hit = request.body().bytes().is_some_and(|b| String::from_utf8_lossy(b).contains(&self.needle));
        if !hit {
            return self.inner.call(request);
        }
        let body = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"injected fault"}"#;
        let mut resp = HttpResponse::new(StatusCode::try_from(400u16).expect("400"), SdkBody::from(body));
        resp.headers_mut().insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(resp))
    }
}

/// `sdk` with requests mentioning `needle` failing.
pub fn failing_for(sdk: &aws_config::SdkConfig, needle: &str) -> aws_config::SdkConfig {
    let inner = sdk.http_client().unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
    sdk.to_builder().http_client(Failing { inner, needle: needle.to_string() }).build()
}
