//! HMAC-SHA256 and the keyed hash of a record key: the runtime's own (`rainmaker_model::hmac`), so the CLI's
//! receipts and the functions' log pseudonyms hash the same way.

pub use rainmaker_model::hmac::{hmac_sha256, keyed};
