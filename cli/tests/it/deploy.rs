//! Deploy lifecycle tests: against moto through the real SDK (`moto`), the commands as a user runs them (`cli`),
//! and replayed real-AWS responses (`replay`).

mod account;
mod adopt;
mod adopt_recovery;
mod adopt_replay;
mod artifacts;
mod audit_replay;
mod batched;
mod claim;
mod claim_kms;
mod claim_replay;
mod claim_rotate;
mod claim_status;
pub mod cli;
mod destroy;
mod destroy_failed;
mod encryption_replay;
mod failed;
mod fastpath;
mod fault_scenario;
mod faults;
pub mod fixtures;
mod interrupt;
mod kms;
mod moto;
mod packed;
mod policy;
mod policy_kill;
mod replay;
mod tenants;
mod tokens;
mod update;
mod update_replay;
mod update_script;
mod waits;
