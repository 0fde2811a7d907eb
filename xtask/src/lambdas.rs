//! `cargo xtask lambdas`: not built yet (see the open issues).

use anyhow::{bail, Result};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask lambdas` is not built yet")
}
