//! Progress on a terminal: under a pseudo-terminal (`script`, util-linux) `upgrade` draws one indicatif row per
//! started tenant (`<tenant> [<wave>] [elapsed] <state>`) instead of plain lines; with `--no-progress` the same
//! terminal gets the plain lines. The endpoint is a closed port, so the canary fails at once at AssumeRole and its
//! wave's tolerance 0 skips the other tenant: nothing to set up in AWS.

use super::refusals::{setup, GOOD};
use crate::deploy::cli::aws_cmd;
use crate::support::{on_a_terminal, tempdir};
use rainmaker_test_support::closed_port_url;

#[test]
fn a_terminal_gets_one_row_per_tenant_and_no_progress_gets_plain_lines() {
    let d = tempdir();
    setup(d.path(), GOOD);
    crate::deploy::fixtures::write_artifacts(&d.path().join("artifacts"), "terminal");
    let upgrade = |extra: &[&str]| {
        let mut c = aws_cmd(d.path(), &closed_port_url());
        c.args(extra).args(["upgrade", "--tenants", "tenants.yaml", "--dry-run", "--artifacts", "artifacts"]);
        on_a_terminal(&c)
    };

    let (code, screen) = upgrade(&[]);
    assert_eq!(code, 3, "{screen}");
    // the canary's row, frozen with its status; no plain line for it
    assert!(screen.contains("acme-home [canary] ["), "a row: {screen:?}");
    assert!(screen.contains("] failed"), "the row ends with the status: {screen:?}");
    assert!(!screen.contains("acme-home [canary] starting ("), "no plain lines on a terminal: {screen:?}");
    assert!(!screen.contains("beta-home [rest]"), "a tenant never started has no row: {screen:?}");
    // the report table still follows on stdout
    assert!(screen.contains("skipped"), "{screen:?}");

    let (code, screen) = upgrade(&["--no-progress"]);
    assert_eq!(code, 3, "{screen}");
    let plain: Vec<&str> = screen.lines().map(str::trim_end).filter(|l| l.starts_with("acme-home [canary] ")).collect();
    assert_eq!(plain.len(), 3, "starting, assuming, failed: {screen:?}");
    assert!(
        plain[0].starts_with("acme-home [canary] starting (") && plain[2].starts_with("acme-home [canary] failed (")
    );
}
