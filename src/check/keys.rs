//! Stable keys for anonymous rules (`when … then …`), which have no name.
//!
//! A rule is shown as `FILE:LINE`, but a line number moves when a comment or
//! a line is inserted above, and the engine keeps state (and a restart finds
//! it again) by key. The key is the file, the rule's content hash
//! ([`ir::fingerprint`]: no spans, no comments) and, for identical rules in
//! one file, their ordinal: `FILE#HASH` or `FILE#HASH.N`.

use std::collections::HashMap;

use crate::ir;
use crate::source::SourceMap;

/// Sets [`ir::Policy::key`] of every anonymous rule of the program.
pub(super) fn assign(sources: &SourceMap, program: &mut ir::Program) {
    let mut seen: HashMap<(crate::source::FileId, u64), u32> = HashMap::new();
    let prints: Vec<Option<u64>> = program
        .policies
        .iter()
        .map(|p| p.anonymous.then(|| ir::fingerprint(program, p)))
        .collect();
    for (p, print) in program.policies.iter_mut().zip(prints) {
        let Some(print) = print else { continue };
        let file = p.span.file;
        let n = seen.entry((file, print)).or_default();
        let name = &sources.get(file).name;
        p.key = match *n {
            0 => format!("{name}#{print:016x}"),
            n => format!("{name}#{print:016x}.{n}"),
        };
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::compile;

    fn keys(text: &str) -> Vec<(String, String)> {
        let c = compile(vec![("rules.apr".into(), text.to_string())]);
        assert!(!c.has_errors());
        c.checked
            .program
            .policies
            .iter()
            .map(|p| (p.name.clone(), p.key.clone()))
            .collect()
    }

    #[test]
    fn inserting_lines_above_keeps_the_key() {
        let rule = "when pvc.usage > 90% then resize(+50%, max = 1Ti)\n";
        let twice = format!("{rule}{rule}");
        let before = keys(&twice);
        let after = keys(&format!("# a comment\n\n{twice}"));
        assert_eq!(before[0].0, "rules.apr:1");
        assert_eq!(after[0].0, "rules.apr:3");
        assert_eq!(
            before.iter().map(|k| &k.1).collect::<Vec<_>>(),
            after.iter().map(|k| &k.1).collect::<Vec<_>>()
        );
        assert_ne!(before[0].1, before[1].1, "identical rules get an ordinal");
        let other = keys("when pvc.usage > 91% then resize(+50%, max = 1Ti)\n");
        assert_ne!(other[0].1, before[0].1);
    }

    #[test]
    fn named_policies_are_keyed_by_name() {
        let k = keys("policy grow { when pvc.usage > 90% then resize(+50%, max = 1Ti) }\n");
        assert_eq!(k[0].1, "grow");
    }
}
