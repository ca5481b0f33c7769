//! The layers of `src/` point one way. The six layers, in this order (domain, stores,
//! worker, engine, faces, tui), may each import only from the layers before it, and no
//! import cycle joins two of them. Read from the source text of every `.rs` file under
//! `src/`: `use crate::…`, inline `crate::…::` paths, and `super::` paths that climb out of
//! a layer, each named by file and line when it points the wrong way. `main.rs` and
//! `lib.rs` stand above the layers and may import any of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, in dependency order: each may import only from the ones before it.
const LAYERS: [&str; 6] = ["domain", "stores", "worker", "engine", "faces", "tui"];

/// The files that stand above the layers (the crate roots).
const EXEMPT: [&str; 2] = ["main.rs", "lib.rs"];

/// A bound on the files and folders walked under `src/`.
const ENTRY_COUNT_MAX: usize = 10_000;

/// A path in one file that names a top-level module of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    /// The top-level module the path names: `faces` in `crate::faces::play`.
    target: String,
}

/// One `.rs` file under `src/` that belongs to a layer.
struct SourceFile {
    /// The path relative to the project, for messages: `src/engine/observe.rs`.
    shown: String,
    /// Its module path: `["engine", "observe"]`.
    module_path: Vec<String>,
    references: Vec<Reference>,
}

/// An import from one layer into another, with where it is written.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    place: String,
}

/// Goal: no file imports from a layer after its own, so that the list of layers is the
/// order of dependency. Method: scan every file, and name each path that points at a
/// later layer, or at something at the crate root that is no layer.
#[test]
fn every_import_points_at_an_earlier_layer() {
    let files = layered_files();
    let mut violations = Vec::new();
    for file in &files {
        let layer = file.module_path[0].as_str();
        for reference in &file.references {
            if let Some(problem) = judge(layer, &reference.target) {
                violations.push(format!("{}:{}: {problem}", file.shown, reference.line));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "{} import(s) point the wrong way (allowed: each layer imports only from those \
         before it in {LAYERS:?}):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Goal: no two top-level modules import each other, directly or through others.
/// Method: the graph of imports between layers, and for each edge a way back if any,
/// named with one place per edge.
#[test]
fn no_import_cycle_between_layers() {
    let edges = layer_edges(&layered_files());
    let mut cycles = BTreeSet::new();
    let mut shown = Vec::new();
    for edge in edges.values() {
        let Some(back) = path_between(&edges, &edge.to, &edge.from) else {
            continue;
        };
        let mut cycle = vec![edge.clone()];
        cycle.extend(back);
        let members: BTreeSet<String> = cycle.iter().map(|edge| edge.from.clone()).collect();
        if cycles.insert(members) {
            let steps: Vec<String> = cycle
                .iter()
                .map(|edge| format!("  {} -> {} ({})", edge.from, edge.to, edge.place))
                .collect();
            shown.push(steps.join("\n"));
        }
    }
    assert!(
        shown.is_empty(),
        "{} import cycle(s) between layers:\n{}",
        shown.len(),
        shown.join("\n\n")
    );
}

/// Goal: the scan can see what the two tests above look for, so that their silence means
/// something. Method: every layer has files, the walk reaches files two folders deep
/// (`src/tui/view/…`), and the scan finds an import the tree is known to have (the
/// engine uses the domain).
#[test]
fn the_scan_sees_every_layer_and_their_imports() {
    let files = layered_files();
    for layer in LAYERS {
        assert!(
            files.iter().any(|file| file.module_path[0] == layer),
            "no file in the {layer} layer"
        );
    }
    let edges = layer_edges(&files);
    assert!(
        edges.contains_key(&("engine".to_string(), "domain".to_string())),
        "the scan found no import of domain by engine: {:?}",
        edges.keys().collect::<Vec<_>>()
    );
    assert!(
        files.iter().any(|file| file.module_path.len() == 3),
        "the walk found no file two folders deep (src/tui/view/…)"
    );
}

/// Goal: the scanner recognises each form of path the rule is about, in the right module,
/// and ignores comments and strings. Method: a made-up file, scanned as `src/engine.rs`
/// and as `src/engine/report.rs`.
#[test]
fn the_scanner_reads_each_form_of_path() {
    let source = r##"
use crate::domain::lane::Lane;
use crate::{
    stores::record,
    worker::{self, protocol},
};
// use crate::tui::app; in a comment
/* crate::tui::strings, /* nested */ in a block comment */
const TEXT: &str = "crate::tui::strings";
const RAW: &str = r#"crate::tui::" strings"#;
pub(crate) fn f<'a>(x: &'a str) -> char {
    crate::faces::play::run(x);
    '"'
}
use super::tui::app;
mod tests {
    use super::*;
    use super::super::stores::supervisor;
}
const LONG: &str = "crate::tui::strings \
    continued on the next line";
fn g() { crate::domain::ids::short_id(); }
"##;
    let targets = |module_path: &[&str]| -> Vec<(usize, String)> {
        let module_path: Vec<String> = module_path.iter().map(|name| name.to_string()).collect();
        references(&module_path, source)
            .into_iter()
            .map(|reference| (reference.line, reference.target))
            .collect()
    };
    let expected_in_engine = vec![
        (2, "domain".to_string()),
        (4, "stores".to_string()),
        (5, "worker".to_string()),
        (12, "faces".to_string()),
        (15, "tui".to_string()),
        (18, "stores".to_string()),
        (22, "domain".to_string()),
    ];
    assert_eq!(targets(&["engine"]), expected_in_engine);
    // One level deeper, `super::` stays inside the engine and names nothing outside it.
    let expected_in_report = vec![
        (2, "domain".to_string()),
        (4, "stores".to_string()),
        (5, "worker".to_string()),
        (12, "faces".to_string()),
        (22, "domain".to_string()),
    ];
    assert_eq!(targets(&["engine", "report"]), expected_in_report);
    assert_eq!(judge("engine", "domain"), None);
    assert_eq!(judge("engine", "engine"), None);
    assert!(judge("engine", "faces").is_some());
    assert!(judge("domain", "stores").is_some());
    assert!(judge("tui", "*").is_some(), "a glob of the crate root");
}

/// Why `target`, named from the `layer` layer, breaks the rule; `None` when it does not.
fn judge(layer: &str, target: &str) -> Option<String> {
    let allowed = layer_index(layer)
        .map(|index| &LAYERS[..index])
        .expect("a layer");
    match layer_index(target) {
        Some(_) if target == layer || allowed.contains(&target) => None,
        Some(_) => Some(format!(
            "{layer} imports `crate::{target}`, a later layer; {layer} may import only {}",
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        )),
        None => Some(format!(
            "{layer} names `crate::{target}`, which is none of the layers {LAYERS:?}"
        )),
    }
}

fn layer_index(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| *layer == name)
}

/// Every `.rs` file under `src/` but the crate roots, scanned. A file outside the six
/// layers fails here: a new top-level module must take its place in `LAYERS`.
fn layered_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for path in rust_files(&root) {
        let relative = path.strip_prefix(&root).expect("a file under src/");
        let components: Vec<String> = relative
            .iter()
            .map(|component| component.to_string_lossy().into_owned())
            .collect();
        if components.len() == 1 && EXEMPT.contains(&components[0].as_str()) {
            continue;
        }
        let module_path: Vec<String> = components
            .iter()
            .map(|component| component.trim_end_matches(".rs").to_string())
            .collect();
        let shown = format!("src/{}", relative.display());
        assert!(
            layer_index(&module_path[0]).is_some(),
            "{shown} belongs to no layer: add its top-level module to LAYERS, in order"
        );
        let source = std::fs::read_to_string(&path).expect("a readable source file");
        let references = references(&module_path, &source);
        files.push(SourceFile {
            shown,
            module_path,
            references,
        });
    }
    assert!(!files.is_empty(), "no source file under {}", root.display());
    files
}

/// The `.rs` files under `root`, sorted.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    for _entry_index in 0..ENTRY_COUNT_MAX {
        let Some(directory) = pending.pop() else {
            found.sort();
            return found;
        };
        let entries = std::fs::read_dir(&directory).expect("a readable folder");
        for path in entries.map(|entry| entry.expect("a folder entry").path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }
    panic!(
        "more than {ENTRY_COUNT_MAX} folders under {}",
        root.display()
    );
}

/// The imports between different layers, each with the first place that writes it.
fn layer_edges(files: &[SourceFile]) -> BTreeMap<(String, String), Edge> {
    let mut edges = BTreeMap::new();
    for file in files {
        let from = &file.module_path[0];
        for reference in &file.references {
            if &reference.target == from || layer_index(&reference.target).is_none() {
                continue;
            }
            edges
                .entry((from.clone(), reference.target.clone()))
                .or_insert_with(|| Edge {
                    from: from.clone(),
                    to: reference.target.clone(),
                    place: format!("{}:{}", file.shown, reference.line),
                });
        }
    }
    edges
}

/// A shortest chain of edges from `start` to `goal`, if there is one (breadth first).
fn path_between(
    edges: &BTreeMap<(String, String), Edge>,
    start: &str,
    goal: &str,
) -> Option<Vec<Edge>> {
    let mut reached_by: BTreeMap<String, Option<Edge>> = BTreeMap::new();
    reached_by.insert(start.to_string(), None);
    let mut frontier = vec![start.to_string()];
    // Each round reaches at least one new layer, or ends the search.
    for _round in 0..LAYERS.len() {
        let mut next = Vec::new();
        for node in &frontier {
            for edge in edges.values().filter(|edge| &edge.from == node) {
                if !reached_by.contains_key(&edge.to) {
                    reached_by.insert(edge.to.clone(), Some(edge.clone()));
                    next.push(edge.to.clone());
                }
            }
        }
        if reached_by.contains_key(goal) {
            let mut chain = Vec::new();
            let mut node = goal.to_string();
            while let Some(Some(edge)) = reached_by.get(&node) {
                chain.push(edge.clone());
                node = edge.from.clone();
            }
            chain.reverse();
            return Some(chain);
        }
        if next.is_empty() {
            return None;
        }
        frontier = next;
    }
    None
}

/// Every path in `source` (the file of module `module_path`) that names a top-level
/// module: `crate::x`, each member of `crate::{x, y::z}`, and `super::…` when it climbs
/// to the crate root. Inline `mod name { … }` blocks count as one level deeper.
fn references(module_path: &[String], source: &str) -> Vec<Reference> {
    let tokens = tokens(source);
    let mut found = Vec::new();
    // Inline modules open in this file, with the brace depth outside each.
    let mut inline_modules: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate() {
        let next = |offset: usize| tokens.get(index + offset).map(|token| &token.kind);
        match &token.kind {
            Kind::Punct('{') => {
                if index >= 2
                    && tokens[index - 2].kind == Kind::Word("mod".into())
                    && matches!(tokens[index - 1].kind, Kind::Word(_))
                {
                    inline_modules.push(depth);
                }
                depth += 1;
            }
            Kind::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline_modules.last() == Some(&depth) {
                    inline_modules.pop();
                }
            }
            Kind::Word(word) if word == "crate" && next(1) == Some(&Kind::PathSeparator) => {
                found.extend(root_members(&tokens, index + 2));
            }
            Kind::Word(word)
                if word == "super"
                    && next(1) == Some(&Kind::PathSeparator)
                    && (index == 0 || tokens[index - 1].kind != Kind::PathSeparator) =>
            {
                let mut climbed = 0;
                while tokens.get(index + 2 * climbed).map(|token| &token.kind)
                    == Some(&Kind::Word("super".into()))
                    && tokens.get(index + 2 * climbed + 1).map(|token| &token.kind)
                        == Some(&Kind::PathSeparator)
                {
                    climbed += 1;
                }
                if climbed == module_path.len() + inline_modules.len() {
                    found.extend(root_members(&tokens, index + 2 * climbed));
                }
            }
            _ => {}
        }
    }
    found
}

/// The top-level modules named by the path that continues at `start`, right after the
/// crate root's `::`: one name, the first name of each member of a `{…}` group, or `*`.
fn root_members(tokens: &[Token], start: usize) -> Vec<Reference> {
    let Some(first) = tokens.get(start) else {
        return Vec::new();
    };
    match &first.kind {
        Kind::Word(name) => vec![Reference {
            line: first.line,
            target: name.clone(),
        }],
        Kind::Punct('*') => vec![Reference {
            line: first.line,
            target: "*".to_string(),
        }],
        Kind::Punct('{') => group_members(tokens, start),
        _ => Vec::new(),
    }
}

/// The first name of each member of the group whose `{` is at `open`.
fn group_members(tokens: &[Token], open: usize) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut member_starts = false;
    for token in &tokens[open..] {
        match &token.kind {
            Kind::Punct('{') => {
                depth += 1;
                if depth == 1 {
                    member_starts = true;
                    continue;
                }
            }
            Kind::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Kind::Punct(',') if depth == 1 => {
                member_starts = true;
                continue;
            }
            Kind::Word(name) if depth == 1 && member_starts && name != "self" => {
                found.push(Reference {
                    line: token.line,
                    target: name.clone(),
                });
            }
            Kind::Punct('*') if depth == 1 && member_starts => found.push(Reference {
                line: token.line,
                target: "*".to_string(),
            }),
            _ => {}
        }
        member_starts = false;
    }
    found
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// An identifier, keyword or number.
    Word(String),
    /// `::`.
    PathSeparator,
    Punct(char),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    line: usize,
}

/// The tokens of Rust source that paths are made of, with their line (from 1); comments,
/// string literals and character literals are skipped.
fn tokens(source: &str) -> Vec<Token> {
    let characters: Vec<char> = source.chars().collect();
    let at = |index: usize| characters.get(index).copied();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut index = 0;
    while let Some(character) = at(index) {
        let start_line = line;
        if character == '\n' {
            line += 1;
            index += 1;
        } else if character.is_whitespace() {
            index += 1;
        } else if character == '/' && at(index + 1) == Some('/') {
            while at(index).is_some_and(|character| character != '\n') {
                index += 1;
            }
        } else if character == '/' && at(index + 1) == Some('*') {
            index = skip_block_comment(&characters, index, &mut line);
        } else if character == '"' {
            index = skip_string(&characters, index + 1, 0, true, &mut line);
        } else if character == '\'' {
            index = skip_character_or_lifetime(&characters, index);
        } else if character.is_alphanumeric() || character == '_' {
            let end = (index..characters.len())
                .find(|&end| !(characters[end].is_alphanumeric() || characters[end] == '_'))
                .unwrap_or(characters.len());
            let word: String = characters[index..end].iter().collect();
            index = end;
            if let Some(after) = skip_prefixed_literal(&characters, &word, index, &mut line) {
                index = after;
                continue;
            }
            tokens.push(Token {
                kind: Kind::Word(word),
                line: start_line,
            });
        } else if character == ':' && at(index + 1) == Some(':') {
            tokens.push(Token {
                kind: Kind::PathSeparator,
                line,
            });
            index += 2;
        } else {
            tokens.push(Token {
                kind: Kind::Punct(character),
                line,
            });
            index += 1;
        }
    }
    tokens
}

/// Skips the (possibly nested) block comment opening at `index`; returns the index after.
fn skip_block_comment(characters: &[char], mut index: usize, line: &mut usize) -> usize {
    let mut depth = 0usize;
    while index < characters.len() {
        let pair = (characters[index], characters.get(index + 1).copied());
        match pair {
            ('/', Some('*')) => {
                depth += 1;
                index += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                index += 2;
                if depth == 0 {
                    return index;
                }
            }
            ('\n', _) => {
                *line += 1;
                index += 1;
            }
            _ => index += 1,
        }
    }
    index
}

/// Skips a string's body from `index` (just after its opening `"`) to just after its
/// closing `"` and `hashes` `#`s, and returns that index. A raw string has no escapes.
fn skip_string(
    characters: &[char],
    mut index: usize,
    hashes: usize,
    escapes: bool,
    line: &mut usize,
) -> usize {
    while let Some(&character) = characters.get(index) {
        index += 1;
        match character {
            '\n' => *line += 1,
            '\\' if escapes => {
                // An escaped line break (a string continued on the next line) is a line too.
                if characters.get(index) == Some(&'\n') {
                    *line += 1;
                }
                index += 1;
            }
            '"' if (0..hashes).all(|offset| characters.get(index + offset) == Some(&'#')) => {
                return index + hashes;
            }
            _ => {}
        }
    }
    index
}

/// After a word, a literal it prefixes: `b"…"`, `c"…"`, `r"…"`, `r#"…"#`, `br#"…"#`, or
/// `b'…'`. Returns the index after the literal, or `None` if the word is just a word.
fn skip_prefixed_literal(
    characters: &[char],
    word: &str,
    index: usize,
    line: &mut usize,
) -> Option<usize> {
    let next = characters.get(index).copied();
    match (word, next) {
        ("b" | "c", Some('"')) => Some(skip_string(characters, index + 1, 0, true, line)),
        ("b", Some('\'')) => Some(skip_character_or_lifetime(characters, index)),
        ("r" | "br" | "cr", Some('"' | '#')) => {
            let hashes = characters[index..]
                .iter()
                .take_while(|character| **character == '#')
                .count();
            if characters.get(index + hashes) != Some(&'"') {
                return None;
            }
            Some(skip_string(
                characters,
                index + hashes + 1,
                hashes,
                false,
                line,
            ))
        }
        _ => None,
    }
}

/// Skips a character literal (`'x'`, `'\n'`, `'\u{1F600}'`) at `index`, or only the `'`
/// of a lifetime or label (whose name is then read as a word).
fn skip_character_or_lifetime(characters: &[char], index: usize) -> usize {
    match (characters.get(index + 1), characters.get(index + 2)) {
        (Some('\\'), _) => {
            let close = (index + 3..characters.len())
                .find(|&close| characters[close] == '\'')
                .unwrap_or(characters.len());
            close + 1
        }
        (Some(_), Some('\'')) => index + 3,
        _ => index + 1,
    }
}
