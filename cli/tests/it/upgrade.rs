//! `upgrade --tenants`: input refusals before any AWS call (`refusals`), and rollouts against one moto server with
//! tenants in 2 accounts x 3 regions reached through STS AssumeRole (`moto`), built on the `fleet` fixture; reports checked against
//! their JSON Schema (`schema`); `status --tenants` across the fleet (`status`); STS per tenant: one AssumeRole and one
//! GetCallerIdentity, and a role that cannot be assumed (`roles`); drift in `status` and before an upgrade, replayed
//! (`drift`); Ctrl-C in the middle of a tenant's update (`interrupt`); progress rows on a pseudo-terminal (`terminal`).

mod bake;
mod blocked;
mod drift;
mod fleet;
mod interrupt;
mod moto;
mod refusals;
mod roles;
mod schema;
mod status;
mod terminal;
