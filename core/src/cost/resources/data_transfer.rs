//! Data transfer out to the internet: the bytes of the REST API's responses (`AWS::ApiGateway::RestApi`, see
//! `apigateway.rs`), billed at the EC2 data-transfer-out rates, tiered on the account's monthly total over all
//! services, the first 100 GB a month free (price `data_transfer.out_internet`, free tier `data-transfer-out`).

use super::Line;
use crate::cost::flow::GB;

/// Usage key of the REST API: bytes of one response as sent (body + headers), an assumption.
pub const RESPONSE_BYTES: &str = "response_bytes";
/// Its default: about 1 KB (a node or a short list as JSON, ~600 B, plus ~400 B of HTTP headers).
pub const DEFAULT_RESPONSE_BYTES: f64 = 1024.0;

/// The line for `responses` of `bytes` each, in GB.
pub fn api_responses(responses: f64, bytes: f64) -> Line {
    Line::new(
        format!("Data transfer out (responses, {bytes} B each)"),
        "data_transfer.out_internet",
        responses * bytes / GB,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_times_bytes_in_gb() {
        // 821,358,000 responses × 1,024 B = 783.3 GB (GiB, as AWS bills data).
        let l = api_responses(821_358_000.0, 1024.0);
        assert_eq!(l.price_id, "data_transfer.out_internet");
        assert!((l.quantity - 783.308_029).abs() < 1e-5, "{}", l.quantity);
        assert_eq!(l.name, "Data transfer out (responses, 1024 B each)");
    }
}
