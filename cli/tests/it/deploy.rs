//! Deploy lifecycle tests: against moto through the real SDK (`moto`), the commands as a user runs them (`cli`),
//! and replayed real-AWS responses (`replay`).

mod account;
mod adopt;
mod adopt_recovery;
mod adopt_replay;
mod artifacts;
mod batched;
mod claim;
mod claim_replay;
mod claim_rotate;
pub mod cli;
mod destroy;
mod failed;
mod fastpath;
mod faults;
pub mod fixtures;
mod interrupt;
mod kms;
mod moto;
mod policy;
mod policy_kill;
mod replay;
mod tenants;
mod tokens;
mod waits;
