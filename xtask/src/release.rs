//! What publishing needs, checked before there is anything to publish:
//!
//! - `package`: `cargo package` of every published crate, which builds each from its
//!   packaged form (so no path that exists only in this workspace is needed), then a
//!   semver check against the last release named in `CHANGELOG.md` once there is one.
//! - `features`: the feature combinations the crates document, each built alone.
//! - `msrv`: the libraries built with the toolchain `rust-version` names.

use std::path::Path;
use std::process::Command;

use crate::{cargo, project_root, run};

/// The crates published to crates.io, in dependency order (package names).
pub(crate) const PUBLISHED: &[&str] =
    &["smpp-wire", "smpp-session", "smpp-tokio", "smpp-client", "smpp-server", "smpp-cli"];

/// Each documented feature combination: (package, `--features` value, with the
/// default features too). Every combination a crate's front page or README names.
const FEATURE_SETS: &[(&str, &str, bool)] = &[
    ("smpp-wire", "", false),
    ("smpp-wire", "serde", false),
    ("smpp-wire", "proptest", false),
    ("smpp-session", "", false),
    ("smpp-session", "serde,log", false),
    ("smpp-tokio", "", false),
    ("smpp-tokio", "tls", false),
    ("smpp-tokio", "tls-ring,tls-webpki-roots", false),
    ("smpp-tokio", "tls-aws-lc-rs,tls-native-roots", false),
    ("smpp-tokio", "serde,log", false),
    ("smpp-client", "", false),
    ("smpp-client", "tls-ring,tls-webpki-roots", false),
    ("smpp-client", "tls-aws-lc-rs,tls-native-roots,serde,log", false),
    ("smpp-server", "", false),
    ("smpp-server", "sqlite", false),
    ("smpp-server", "redis", false),
    ("smpp-server", "tls-ring,tls-webpki-roots,serde", false),
    ("smpp-cli", "", true),
    ("smpp-cli", "tls-aws-lc-rs,tls-native-roots", false),
];

/// `cargo xtask package`.
pub(crate) fn package() -> Result<(), String> {
    let mut cmd = cargo();
    cmd.arg("package");
    for krate in PUBLISHED {
        cmd.args(["-p", krate]);
    }
    run(&mut cmd)?;
    semver_check(&project_root())
}

/// Runs cargo-semver-checks against the last release, if there is one.
fn semver_check(root: &Path) -> Result<(), String> {
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).map_err(|e| format!("CHANGELOG.md: {e}"))?;
    let Some(baseline) = last_release(&changelog) else {
        println!("semver: no release in CHANGELOG.md yet, nothing to compare against");
        return Ok(());
    };
    let installed = cargo().args(["semver-checks", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        run(cargo().args(["install", "--locked", "cargo-semver-checks"]))?;
    }
    let mut cmd = cargo();
    cmd.args(["semver-checks", "check-release", "--baseline-version", &baseline]);
    // The CLI has no library API to keep.
    for krate in PUBLISHED.iter().filter(|k| **k != "smpp-cli") {
        cmd.args(["-p", krate]);
    }
    run(&mut cmd)
}

/// The version of the newest release heading (`## [1.2.3] - 2027-01-31`) in a Keep a
/// Changelog file; `None` while there is only `## [Unreleased]`.
pub(crate) fn last_release(changelog: &str) -> Option<String> {
    changelog.lines().find_map(|line| {
        let rest = line.strip_prefix("## [")?;
        let (version, _) = rest.split_once(']')?;
        // MAJOR.MINOR.PATCH, then maybe a pre-release (`-rc.1`).
        let core = version.split_once('-').map_or(version, |(core, _)| core);
        let is_version = core.split('.').count() == 3 && core.split('.').all(|n| n.parse::<u64>().is_ok());
        is_version.then(|| version.to_owned())
    })
}

/// `cargo xtask features`: each documented combination builds on its own, and the
/// TLS helpers' tests run without a crypto provider (the typed error path).
pub(crate) fn features() -> Result<(), String> {
    for (krate, features, defaults) in FEATURE_SETS {
        let mut cmd = cargo();
        cmd.args(["check", "--quiet", "-p", krate]);
        if !defaults {
            cmd.arg("--no-default-features");
        }
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        run(&mut cmd)?;
    }
    run(cargo().args(["test", "--quiet", "-p", "smpp-tokio", "--no-default-features", "--features", "tls", "--lib"]))
}

/// `cargo xtask msrv`: the published libraries built with the toolchain their
/// `rust-version` names (installed with rustup when missing), every feature on but
/// `sqlite` (rusqlite needs a newer Rust, as its docs say).
pub(crate) fn msrv() -> Result<(), String> {
    let root = project_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \"")?.strip_suffix('"').map(str::to_owned))
        .ok_or("no rust-version in the workspace Cargo.toml")?;
    run(Command::new("rustup").args(["toolchain", "install", &version, "--profile", "minimal"]))?;
    let features = "smpp-server/tls-ring,smpp-server/tls-aws-lc-rs,smpp-server/tls-webpki-roots,\
                    smpp-server/tls-native-roots,smpp-server/serde,smpp-server/log,smpp-server/redis,\
                    smpp-wire/proptest";
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&root).arg(format!("+{version}")).args(["check", "--quiet", "--features", features]);
    for krate in PUBLISHED.iter().filter(|k| **k != "smpp-cli") {
        cmd.args(["-p", krate]);
    }
    // Its own target folder: another compiler's artefacts do not mix with stable's.
    cmd.arg("--target-dir").arg(root.join("target").join("msrv"));
    // rustup's proxy picks the toolchain from `+VERSION`; cargo's env would override it.
    cmd.env_remove("RUSTC").env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN");
    run(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_release_is_the_first_version_heading() {
        let unreleased = "# Changelog\n\n## [Unreleased]\n\n### Added\n- x\n";
        assert_eq!(last_release(unreleased), None);
        let released = "## [Unreleased]\n\n## [0.2.0] - 2027-03-01\n- y\n\n## [0.1.0] - 2027-01-01\n";
        assert_eq!(last_release(released).as_deref(), Some("0.2.0"));
        assert_eq!(last_release("## [1.0.0-rc.1] - 2027-05-01").as_deref(), Some("1.0.0-rc.1"));
    }

    #[test]
    fn every_published_crate_has_its_readme_and_licences() {
        let root = project_root();
        for folder in ["smpp-pdu", "smpp-session", "smpp-tokio", "smpp-client", "smpp-server", "smpp-cli"] {
            for file in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
                let text = std::fs::read_to_string(root.join(folder).join(file)).unwrap_or_default();
                assert!(text.len() > 500, "{folder}/{file} is missing or empty");
            }
        }
    }
}
