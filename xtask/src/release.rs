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
    ("smpp-client", "tls", false),
    ("smpp-client", "serde", false),
    ("smpp-client", "tls-ring,tls-webpki-roots", false),
    ("smpp-client", "tls-aws-lc-rs,tls-native-roots,serde,log", false),
    ("smpp-server", "", false),
    ("smpp-server", "sqlite", false),
    ("smpp-server", "redis", false),
    ("smpp-server", "tls", false),
    ("smpp-server", "log", false),
    ("smpp-server", "tls-ring,tls-webpki-roots,serde", false),
    ("smpp-server", "tls-aws-lc-rs,tls-native-roots", false),
    ("smpp-cli", "", true),
    ("smpp-cli", "", false),
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
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let current = workspace_key(&manifest, "version").ok_or("no version in the workspace Cargo.toml")?;
    let Some(baseline) = previous_release(&changelog, &current) else {
        println!("semver: no release before {current} in CHANGELOG.md, nothing to compare against");
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

/// The release to compare `current` against: the newest release heading
/// (`## [1.2.3] - 2027-01-31`) of a Keep a Changelog file that is not `current` itself
/// (on the commit that cuts a release, its heading is already there, unpublished);
/// `None` while there is only `## [Unreleased]`.
pub(crate) fn previous_release(changelog: &str, current: &str) -> Option<String> {
    changelog.lines().filter_map(release_heading).find(|version| version != current)
}

/// The version of a release heading line, if it is one.
fn release_heading(line: &str) -> Option<String> {
    let rest = line.strip_prefix("## [")?;
    let (version, _) = rest.split_once(']')?;
    // MAJOR.MINOR.PATCH, then maybe a pre-release (`-rc.1`).
    let core = version.split_once('-').map_or(version, |(core, _)| core);
    let is_version = core.split('.').count() == 3 && core.split('.').all(|n| n.parse::<u64>().is_ok());
    is_version.then(|| version.to_owned())
}

/// A `key = "value"` line of a manifest (the first one: the workspace's own).
fn workspace_key(manifest: &str, key: &str) -> Option<String> {
    manifest
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix("= \"")?.strip_suffix('"').map(str::to_owned))
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
    // The provider and roots choices that `--all-features` hides: none, and a provider
    // with no roots.
    run(cargo().args(["test", "--quiet", "-p", "smpp-tokio", "--no-default-features", "--features", "tls", "--lib"]))?;
    run(cargo().args([
        "test",
        "--quiet",
        "-p",
        "smpp-tokio",
        "--no-default-features",
        "--features",
        "tls-ring",
        "--lib",
    ]))
}

/// `cargo xtask msrv`: each published crate built with the toolchain its
/// `rust-version` names (installed with rustup when missing): the libraries with every
/// feature on but `sqlite` (rusqlite needs a newer Rust, as the feature's docs say),
/// the CLI (which always has the SQLite store) with its own.
pub(crate) fn msrv() -> Result<(), String> {
    let root = project_root();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).map_err(|e| format!("{path}: {e}"));
    let libraries = workspace_key(&read("Cargo.toml")?, "rust-version").ok_or("no rust-version in Cargo.toml")?;
    let cli = workspace_key(&read("smpp-cli/Cargo.toml")?, "rust-version").unwrap_or_else(|| libraries.clone());
    let features = "smpp-server/tls-ring,smpp-server/tls-aws-lc-rs,smpp-server/tls-webpki-roots,\
                    smpp-server/tls-native-roots,smpp-server/serde,smpp-server/log,smpp-server/redis,\
                    smpp-wire/proptest";
    let libs: Vec<&str> = PUBLISHED.iter().copied().filter(|k| *k != "smpp-cli").collect();
    for (version, packages, features) in [(&libraries, libs, features), (&cli, vec!["smpp-cli"], "")] {
        run(Command::new("rustup").args(["toolchain", "install", version, "--profile", "minimal"]))?;
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&root).arg(format!("+{version}")).args(["check", "--quiet"]);
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        for krate in packages {
            cmd.args(["-p", krate]);
        }
        // Its own target folder: another compiler's artefacts do not mix with stable's.
        cmd.arg("--target-dir").arg(root.join("target").join("msrv"));
        // rustup's proxy picks the toolchain from `+VERSION`; cargo's env would override it.
        cmd.env_remove("RUSTC").env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN");
        run(&mut cmd)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_is_the_newest_release_before_the_current_version() {
        let unreleased = "# Changelog\n\n## [Unreleased]\n\n### Added\n- x\n";
        assert_eq!(previous_release(unreleased, "0.1.0"), None);
        let released = "## [Unreleased]\n\n## [0.2.0] - 2027-03-01\n- y\n\n## [0.1.0] - 2027-01-01\n";
        // Working towards 0.3.0: the last release.
        assert_eq!(previous_release(released, "0.3.0").as_deref(), Some("0.2.0"));
        // The commit cutting 0.2.0 already has its heading: compare with 0.1.0.
        assert_eq!(previous_release(released, "0.2.0").as_deref(), Some("0.1.0"));
        assert_eq!(previous_release("## [1.0.0-rc.1] - 2027-05-01", "1.0.0").as_deref(), Some("1.0.0-rc.1"));
        assert_eq!(previous_release("## [0.1.0] - 2027-01-01", "0.1.0"), None, "the first release has no baseline");
    }

    #[test]
    fn the_workspace_keys_are_read_from_the_manifest() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(workspace_key(&manifest, "version").is_some_and(|v| v.split('.').count() == 3));
        assert!(workspace_key(&manifest, "rust-version").is_some_and(|v| v.starts_with("1.")));
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
