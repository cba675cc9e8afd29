//! The layering rule, enforced: each module imports only from the layers below its own.
//! The layers are the table in ARCHITECTURE.md ("Layers"), read from there, so the
//! document and the code cannot disagree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level module → layer number, from the fenced `layers` block of ARCHITECTURE.md.
fn layers(root: &Path) -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    let mut table = BTreeMap::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let layer: usize = words
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a layer line starts with its number: {line}"));
        for module in words {
            assert!(
                table.insert(module.to_string(), layer).is_none(),
                "{module} is listed twice"
            );
        }
    }
    table
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file (`src/formats/npm/mod.rs` → `formats::npm`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The top-level modules a file's code (comments left out) refers to: `crate::x`,
/// `use crate::{x, y}` and `super::` chains that climb to the crate root.
fn references(code: &str, depth: usize) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        for (at, _) in line.match_indices("crate::") {
            let before = line[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // `codeartifact_local_crate::` and the like
            }
            let rest = &line[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                found.extend(group.split(',').map(|item| ident(item.trim())));
            } else {
                found.push(ident(rest));
            }
        }
        for (at, _) in line.match_indices("super::") {
            if line[..at].ends_with("super::") {
                continue; // counted from the first `super::` of a chain
            }
            let mut rest = &line[at..];
            let mut climbs = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                climbs += 1;
                rest = after;
            }
            if climbs >= depth {
                found.push(ident(rest));
            }
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

#[test]
fn modules_import_only_from_layers_below_their_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let layers = layers(root);
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let path = module_path(&src, &file);
        let top = path[0].as_str();
        if matches!(top, "main" | "lib" | "layering") {
            continue;
        }
        let Some(&own) = layers.get(top) else {
            violations.push(format!("{top} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        let code = std::fs::read_to_string(&file).expect("a source file");
        // A format is its own protocol: it never reaches into another format.
        if top == "formats" && path.len() > 1 {
            let own = format!("crate::formats::{}", path[1]);
            for line in code.lines().map(|l| l.split("//").next().unwrap_or("")) {
                if line.contains("crate::formats::") && !line.contains(&own) {
                    violations.push(format!("{} reaches into another format", file.display()));
                }
            }
        }
        for used in references(&code, path.len()) {
            if used == top {
                continue;
            }
            match layers.get(&used) {
                Some(&layer) if layer < own => {}
                Some(&layer) => violations.push(format!(
                    "{} (layer {own}) imports {used} (layer {layer})",
                    file.display()
                )),
                None => violations.push(format!(
                    "{} imports {used}, which is in no layer",
                    file.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn references_are_found_in_every_spelling() {
    let code = "use crate::{wire::Body, state};\nlet x = crate::registry::Error;\n// crate::app\nuse super::super::events;";
    assert_eq!(
        references(code, 2),
        vec!["wire", "state", "registry", "events"]
    );
    assert!(references("use super::x;", 2).is_empty());
}
