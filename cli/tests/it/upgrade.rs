//! `upgrade --tenants`: input refusals before any AWS call (`refusals`), and rollouts against one moto server with
//! tenants in 2 accounts x 3 regions reached through STS AssumeRole (`moto`), built on the `fleet` fixture; reports checked against
//! their JSON Schema (`schema`); `status --tenants` across the fleet (`status`).

mod bake;
mod blocked;
mod fleet;
mod moto;
mod refusals;
mod schema;
mod status;
