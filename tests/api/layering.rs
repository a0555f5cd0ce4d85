//! The simulators are tools, not the service: no module of the service imports their crate.
//! Only the binary (`src/main.rs`, for the demo and the `*-sim` subcommands) may.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_service_module_imports_the_simulators() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the service's sources");
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .expect("read")
                .contains("dgs_sims")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "service modules import the simulators' crate: {offenders:?}"
    );
}
