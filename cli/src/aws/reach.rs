//! Fail fast when an endpoint cannot be reached: the SDK's HTTPS client, wrapped so that a connection that cannot
//! be opened (refused, unknown host, no route, no answer to the connect) ends the call at once with [`Unreachable`]
//! instead of eight retries with backoff (53 s before the first word). Failures after the connection was opened
//! (reset, dropped, timed out reading) stay transient and are retried as before.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{tls, Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::error::Error;
use std::io::ErrorKind;

/// A connection to `endpoint` could not be opened, and why (`connection refused`, `unknown host`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub endpoint: String,
    pub reason: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot reach {} ({})", self.endpoint, self.reason)
    }
}

impl Error for Unreachable {}

/// The [`Unreachable`] somewhere in an error's source chain.
pub fn find_unreachable<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a Unreachable> {
    chain(e).find_map(|s| s.downcast_ref::<Unreachable>())
}

fn chain<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&e| e.source())
}

/// Why a connector error means the connection was never opened, or `None` when it was (or it is not a
/// connection problem): the pure decision, over the error's source chain.
pub fn connect_failure(e: &(dyn Error + 'static)) -> Option<String> {
    let mut connect = false;
    let mut deepest = String::new();
    for s in chain(e) {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return Some("connection refused".into()),
                ErrorKind::NetworkUnreachable => return Some("network unreachable".into()),
                ErrorKind::HostUnreachable => return Some("no route to host".into()),
                _ => {}
            }
        }
        let text = s.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("dns") || lower.contains("failed to lookup address") {
            return Some(format!("unknown host: {}", innermost(s)));
        }
        if lower.contains("connect timeout") {
            return Some(format!("no answer to the connection attempt: {text}"));
        }
        if lower.contains("client error (connect)") || lower.contains("tcp connect error") {
            connect = true;
        }
        deepest = text;
    }
    connect.then_some(deepest)
}

fn innermost(e: &(dyn Error + 'static)) -> String {
    chain(e).last().map(|s| s.to_string()).unwrap_or_default()
}

/// `scheme://host[:port]` of a request URI.
pub fn endpoint_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or(rest)),
        None => uri.to_string(),
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the environment) behind [`FailFast`].
pub fn https_client() -> SharedHttpClient {
    let inner = Builder::new().build_with_connector_fn(move |settings, components| {
        let mut b =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    });
    SharedHttpClient::new(FailFast { inner })
}

/// An [`HttpClient`] that turns "could not connect" into a non-retryable [`Unreachable`].
#[derive(Debug, Clone)]
pub struct FailFast {
    pub inner: SharedHttpClient,
}

impl HttpClient for FailFast {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FailFastConnector { inner: self.inner.http_connector(settings, components) })
    }
}

#[derive(Debug)]
struct FailFastConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for FailFastConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = endpoint_of(request.uri());
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            call.await.map_err(|e| match connect_failure(&e) {
                // `other` without an error kind: no retry classifier retries it
                Some(reason) => ConnectorError::other(Box::new(Unreachable { endpoint, reason }), None),
                None => e,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<dyn Error + Send + Sync>>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    fn io(kind: ErrorKind, text: &'static str) -> Box<dyn Error + Send + Sync> {
        Box::new(std::io::Error::new(kind, text))
    }

    #[test]
    fn connect_failures_are_told_from_failures_after_the_connection_opened() {
        let refused = Wrap(
            "client error (Connect)",
            Some(Box::new(Wrap(
                "tcp connect error",
                Some(io(ErrorKind::ConnectionRefused, "Connection refused (os error 111)")),
            ))),
        );
        let dns = Wrap(
            "client error (Connect)",
            Some(Box::new(Wrap(
                "dns error",
                Some(io(ErrorKind::Other, "failed to lookup address information: Name or service not known")),
            ))),
        );
        let timeout = Wrap("timeout", Some(Box::new(Wrap("HTTP connect timeout occurred after 3.1s", None))));
        let other_connect =
            Wrap("client error (Connect)", Some(Box::new(Wrap("invalid peer certificate: UnknownIssuer", None))));
        let reset = Wrap("io error", Some(io(ErrorKind::ConnectionReset, "Connection reset by peer")));
        let read_timeout = Wrap("HTTP read timeout occurred after 30s", None);
        let cases: [(&dyn Error, Option<&str>); 6] = [
            (&refused, Some("connection refused")),
            (&dns, Some("unknown host: failed to lookup address information: Name or service not known")),
            (&timeout, Some("no answer to the connection attempt: HTTP connect timeout occurred after 3.1s")),
            (&other_connect, Some("invalid peer certificate: UnknownIssuer")),
            (&reset, None),
            (&read_timeout, None),
        ];
        for (e, want) in cases {
            assert_eq!(connect_failure(e).as_deref(), want, "{e}");
        }
    }

    #[test]
    fn endpoints_keep_scheme_host_and_port_only() {
        assert_eq!(endpoint_of("http://127.0.0.1:5/?Action=DescribeStacks"), "http://127.0.0.1:5");
        assert_eq!(
            endpoint_of("https://cloudformation.us-east-1.amazonaws.com/"),
            "https://cloudformation.us-east-1.amazonaws.com"
        );
        assert_eq!(endpoint_of("https://s3.amazonaws.com"), "https://s3.amazonaws.com");
    }
}
