//! `rainmaker-deploy estimate`: monthly cost of the deployed backend (being built: see issue 3).

use crate::cli::GlobalArgs;
use clap::Args;
use miette::Result;

#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// Number of devices
    #[arg(long)]
    pub devices: u64,
}

pub fn run(_g: &GlobalArgs, _args: &EstimateArgs) -> Result<()> {
    Err(miette::miette!("estimate is not built yet"))
}
