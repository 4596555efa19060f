//! Tab completion: `:commands`, kinds, `let`s, actions and functions, and
//! after `KIND.` the kind's fields and metrics (stdlib and loaded).

use super::{COMMANDS, Session};
use crate::check::ACTION_NAMES as ACTIONS;
use crate::check::kinds;
use crate::ir::Kind;

const WORDS: [&str; 9] = [
    "namespace",
    "and",
    "or",
    "not",
    "in",
    "min",
    "max",
    "abs",
    "true",
];

/// The start of the word before `pos`, and what could complete it.
pub fn complete(session: &Session, line: &str, pos: usize) -> (usize, Vec<String>) {
    let pos = pos.min(line.len());
    let before = &line[..pos];
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':'))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let mut out: Vec<String> = Vec::new();
    if let Some(cmd) = word.strip_prefix(':') {
        if before[..start].trim().is_empty() {
            for (c, _) in COMMANDS {
                let name = c.split(' ').next().unwrap_or(c);
                if name[1..].starts_with(cmd) {
                    out.push(name.to_string());
                }
            }
        }
    } else if let Some((root, partial)) = word.rsplit_once('.') {
        let members: Vec<String> = match Kind::from_name(root) {
            Some(kind) => {
                let mut m: Vec<String> = kinds::fields(kind)
                    .into_iter()
                    .map(|(name, _, _)| name.to_string())
                    .collect();
                m.extend(["labels", "annotations"].map(String::from));
                m.extend(session.metric_names(kind));
                m
            }
            None if root == "namespace" => {
                ["name", "labels", "annotations"].map(String::from).to_vec()
            }
            None => Vec::new(),
        };
        out = members
            .into_iter()
            .filter(|m| m.starts_with(partial))
            .map(|m| format!("{root}.{m}"))
            .collect();
    } else {
        let mut words: Vec<String> = Kind::ALL.map(|k| k.name().to_string()).to_vec();
        words.extend(WORDS.map(String::from));
        words.extend(ACTIONS.map(String::from));
        words.extend(session.let_names());
        out = words.into_iter().filter(|w| w.starts_with(word)).collect();
    }
    out.sort();
    out.dedup();
    (start, out)
}
