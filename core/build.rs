//! Rebuild when an embedded file changes: `include_dir!` cannot tell cargo which files it read.

fn main() {
    println!("cargo:rerun-if-changed=../templates");
    println!("cargo:rerun-if-changed=../blueprints");
}
