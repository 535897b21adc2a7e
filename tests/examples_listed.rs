//! The root package lists its examples by hand (`autoexamples = false`, so
//! that examples/seeds.rs belongs to the scopes-seeds package alone and
//! `cargo run --example seeds` does not build this package's
//! dev-dependencies). This checks that every file in examples/ is an example
//! of exactly one package, so a new example cannot be left unbuilt.

use std::collections::BTreeMap;
use std::path::Path;

/// The `path = "..."` values of a manifest's `[[example]]` sections.
fn example_paths(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).expect("readable manifest");
    let mut paths = Vec::new();
    let mut in_example = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_example = line == "[[example]]";
        } else if in_example && let Some(value) = line.strip_prefix("path = ") {
            paths.push(value.trim_matches('"').to_owned());
        }
    }
    paths
}

#[test]
fn every_example_file_belongs_to_exactly_one_package() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (package, manifest, prefix) in [
        ("scopes-workspace", "Cargo.toml", "examples/"),
        ("scopes-seeds", "seeds/Cargo.toml", "../examples/"),
    ] {
        for path in example_paths(root.join(manifest).to_str().unwrap()) {
            let file = path
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{manifest}: example outside examples/: {path}"));
            owners.entry(file.to_owned()).or_default().push(package);
        }
    }
    let mut files: Vec<String> = std::fs::read_dir(root.join("examples"))
        .expect("examples/")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    files.sort();
    for file in &files {
        match owners.get(file).map(Vec::as_slice) {
            Some([_]) => {}
            Some(packages) => panic!("examples/{file} is an example of {packages:?}"),
            None => panic!("examples/{file} is in no [[example]] list (root Cargo.toml)"),
        }
    }
    let listed: Vec<&String> = owners.keys().collect();
    assert_eq!(listed, files.iter().collect::<Vec<_>>(), "listed examples");
    assert_eq!(owners["seeds.rs"], ["scopes-seeds"]);
}
