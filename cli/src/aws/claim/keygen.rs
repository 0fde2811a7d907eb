//! A new claim key pair (ECDSA P-256) and its self-signed certificate, made on this machine so that the secret can
//! hold them before AWS IoT knows the certificate (RegisterCertificateWithoutCA): its id is the SHA-256 of the DER
//! the secret already holds, so a retried or re-run registration finds the same certificate and nothing is orphaned.

use super::super::DeployError;
use sha2::{Digest, Sha256};

/// A generated certificate: its id as AWS IoT computes it (hex SHA-256 of the DER), the PEM and the PKCS#8 key.
pub struct Generated {
    pub id: String,
    pub pem: String,
    pub key: String,
}

/// Generate one. Valid from 2025-01-01 to 2049-12-31 (the end date of certificates AWS IoT issues itself).
pub fn generate(tenant: &str) -> Result<Generated, DeployError> {
    let err = |e: rcgen::Error| DeployError::io("generating the claim certificate", e);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("rm-{tenant} fleet provisioning claim"));
    params.distinguished_name = dn;
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(Generated { id: hex::encode(Sha256::digest(cert.der())), pem: cert.pem(), key: key.serialize_pem() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_certificate_is_new_and_its_id_is_the_sha256_of_its_der() {
        let a = super::generate("acme").unwrap();
        let b = super::generate("acme").unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.key, b.key);
        assert!(a.pem.starts_with("-----BEGIN CERTIFICATE-----") && a.key.contains("PRIVATE KEY"));
        // the id is computed from the DER inside the PEM, independently of rcgen
        let b64: String = a.pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64_decode(&b64);
        use sha2::Digest;
        assert_eq!(a.id, hex::encode(sha2::Sha256::digest(&der)));
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut buf, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|c| *c != b'=') {
            buf = (buf << 6) | T.iter().position(|t| *t == c).unwrap() as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buf >> bits) as u8);
            }
        }
        out
    }
}
