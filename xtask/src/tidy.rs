//! Repository rules no compiler checks. Also run as `#[test]`s, so `cargo test` covers them.
//!
//! - The sans-IO crates (`smpp-wire`, `smpp-session`) depend on no tokio or mio, and
//!   their sources read no clock, open no socket and never sleep.
//! - Without a TLS feature, the driver, the client and the server compile no TLS (no ring,
//!   no rustls).
//! - Every `.rs` file of a library crate opens with a `//!` doc.
//! - No test is skipped or expects a panic.
//! - No trailing whitespace.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates that must stay free of I/O, clocks and async runtimes: (package, folder).
const SANS_IO: &[(&str, &str)] = &[("smpp-wire", "smpp-pdu"), ("smpp-session", "smpp-session")];
/// The folders of the library crates whose files must open with a module doc.
const LIBRARIES: &[&str] =
    &["smpp-pdu", "smpp-session", "smpp-tokio", "smpp-client", "smpp-server", "smpp-chaos", "smpp-fuzz"];
/// The crates that must not pull in TLS unless their `tls` feature is on.
const TLS_OPTIONAL: &[&str] = &["smpp-tokio", "smpp-client", "smpp-server"];

/// Runs every rule and reports all violations at once.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    problems.extend(dependency_isolation(root));
    problems.extend(no_clock_or_io(root));
    problems.extend(module_docs(root));
    problems.extend(no_skipped_tests(root));
    problems.extend(no_trailing_whitespace(root));
    if problems.is_empty() {
        println!("tidy: ok");
        Ok(())
    } else {
        Err(format!("tidy found {} problem(s):\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// Whether `cargo tree -p KRATE -i FORBIDDEN` finds a path from the crate to it.
fn dependency_isolation(root: &Path) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut out = Vec::new();
    let rules = SANS_IO
        .iter()
        .flat_map(|(k, _)| ["tokio", "mio"].map(|f| (*k, f)))
        .chain(TLS_OPTIONAL.iter().flat_map(|k| ["ring", "rustls"].map(|f| (*k, f))));
    for (krate, forbidden) in rules {
        {
            let reachable = Command::new(&cargo)
                .current_dir(root)
                .args(["tree", "--quiet", "-p", krate, "-e", "normal", "-i", forbidden])
                .output()
                // It fails when the package is nowhere in the graph, and prints nothing
                // when it is in the graph but not reachable from the crate.
                .map(|o| o.status.success() && !o.stdout.is_empty())
                .unwrap_or(true);
            if reachable {
                out.push(format!("{krate} depends on {forbidden} (or cargo tree could not run)"));
            }
        }
    }
    out
}

fn no_clock_or_io(root: &Path) -> Vec<String> {
    // Built from pieces so this file does not trip its own check.
    let banned = [
        ["Instant", "::now"].concat(),
        ["SystemTime", "::now"].concat(),
        ["std", "::net"].concat(),
        ["thread", "::sleep"].concat(),
        ["tokio", "::"].concat(),
    ];
    let mut out = Vec::new();
    for (_, folder) in SANS_IO {
        for file in rust_files(&root.join(folder).join("src")) {
            // Deterministic tests need one real `Instant` as the epoch of virtual time;
            // it is taken in `src/tests/util.rs` and nowhere else.
            if file.ends_with("src/tests/util.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for b in &banned {
                    if code.contains(b.as_str()) {
                        out.push(format!("{}:{}: `{b}` in a sans-IO crate", rel(root, &file), n + 1));
                    }
                }
            }
        }
    }
    out
}

fn module_docs(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for krate in LIBRARIES {
        for file in rust_files(&root.join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if !text.trim_start().starts_with("//!") {
                out.push(format!("{}: does not open with a `//!` module doc", rel(root, &file)));
            }
        }
    }
    out
}

fn no_skipped_tests(root: &Path) -> Vec<String> {
    let banned = [["#[should", "_panic"].concat(), ["#[ig", "nore"].concat()];
    let mut out = Vec::new();
    for file in rust_files(root) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.contains(b.as_str())) {
                out.push(format!("{}:{}: skipped or panic-expecting test", rel(root, &file), n + 1));
            }
        }
    }
    out
}

fn no_trailing_whitespace(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for file in files(root, &|p| matches!(ext(p), "rs" | "toml" | "md" | "py" | "js" | "sh") || p.ends_with("run")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                out.push(format!("{}:{}: trailing whitespace", rel(root, &file), n + 1));
            }
        }
    }
    out
}

fn ext(p: &Path) -> &str {
    p.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files(dir, &|p| ext(p) == "rs")
}

/// Files under `dir`, skipping build output, dependencies and hidden folders.
fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules" || name == "corpus") {
                    stack.push(path);
                }
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::project_root()
    }

    #[test]
    fn sans_io_crates_depend_on_no_async_runtime() {
        assert_eq!(dependency_isolation(&root()), Vec::<String>::new());
    }

    #[test]
    fn sans_io_crates_read_no_clock_and_do_no_io() {
        assert_eq!(no_clock_or_io(&root()), Vec::<String>::new());
    }

    #[test]
    fn library_files_open_with_a_module_doc() {
        assert_eq!(module_docs(&root()), Vec::<String>::new());
    }

    #[test]
    fn no_test_is_skipped() {
        assert_eq!(no_skipped_tests(&root()), Vec::<String>::new());
    }

    #[test]
    fn no_trailing_whitespace_anywhere() {
        assert_eq!(no_trailing_whitespace(&root()), Vec::<String>::new());
    }

    #[test]
    fn the_clock_check_catches_a_clock() {
        let dir = std::env::temp_dir().join(format!("tidy-probe-{}", std::process::id()));
        let src = dir.join("smpp-pdu").join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), ["//! x\nfn f() { let _ = std::time::Instant", "::now(); }\n"].concat())
            .unwrap();
        let found = no_clock_or_io(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
