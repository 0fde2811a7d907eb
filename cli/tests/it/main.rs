//! Integration tests of rainmaker-deploy: one test binary, one module per area.

mod commands;
mod contract;
mod deploy;
mod doctor;
mod errors;
mod estimate;
mod gdpr;
mod install;
mod security;
mod serials;
mod support;
mod templates;
mod tidy;
mod upgrade;
