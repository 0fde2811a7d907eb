//! AWS::S3::Bucket (S3 Standard): storage and requests. The artifacts bucket holds the Lambda zips; its usage
//! is small and set by defaults (override with `resource_usage`).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct Bucket;

const KEYS: &[Key] = &[
    Key { name: "storage_gb", default: 0.1, doc: "GB stored (Lambda zips of the kept versions)" },
    Key { name: "monthly_put_requests", default: 100.0, doc: "PUT/COPY/POST/LIST requests a month (deploys)" },
    Key {
        name: "monthly_get_requests",
        default: 1000.0,
        doc: "GET requests a month (CloudFormation reading the zips)",
    },
];

impl Priced for Bucket {
    fn type_name(&self) -> &'static str {
        "AWS::S3::Bucket"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        vec![
            Line::new("Storage", "s3.storage", u.get("storage_gb")),
            Line::new("PUT/COPY/POST/LIST requests", "s3.put_requests", u.get("monthly_put_requests")),
            Line::new("GET requests", "s3.get_requests", u.get("monthly_get_requests")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn defaults_apply() {
        let r = resource("B", "AWS::S3::Bucket", json!({}));
        let l = lines_of(&Bucket, &r, &[]);
        assert_eq!(l[0], Line::new("Storage", "s3.storage", 0.1));
        assert_eq!(l[2], Line::new("GET requests", "s3.get_requests", 1000.0));
    }
}
