//! The `provisioning:` section of rainmaker.yaml: how devices get their key pair when they provision by claim.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fleet provisioning by claim. Every field has a default, so the section may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    /// Where a device's private key is made: `csr` (default: on the device, which sends a certificate signing
    /// request to `$aws/certificates/create-from-csr/*`; the key never travels) or `aws` (AWS IoT makes the key
    /// pair and sends the private key to the device over `$aws/certificates/create/*`). The claim policy allows
    /// only the chosen topics.
    #[serde(default)]
    pub key_generation: KeyGeneration,
}

/// Who generates a device's key pair at provisioning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyGeneration {
    /// The device makes its key and sends a CSR (`CreateCertificateFromCsr`).
    #[default]
    Csr,
    /// AWS IoT makes the key pair (`CreateKeysAndCertificate`).
    Aws,
}

impl KeyGeneration {
    /// The MQTT API topic prefix of the claim policy (`$aws/certificates/<this>/*`).
    pub const fn certificates_topic(self) -> &'static str {
        match self {
            KeyGeneration::Csr => "create-from-csr",
            KeyGeneration::Aws => "create",
        }
    }
}
