//! `cargo xtask bench`: not built yet (see the open issues).

use anyhow::{bail, Result};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask bench` is not built yet")
}
