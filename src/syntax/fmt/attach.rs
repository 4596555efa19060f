//! Which item or clause each comment goes with.

use super::*;

/// A comment on its own line, and whether a blank line precedes it.
pub(super) struct Note<'c> {
    pub(super) comment: &'c Comment,
    pub(super) blank_before: bool,
}

/// The comments that belong to one child of a block (an item or a clause).
#[derive(Default)]
pub(super) struct Slot<'c> {
    /// Own-line comments before the child.
    pub(super) leading: Vec<Note<'c>>,
    /// Comments inside the child's span.
    pub(super) inner: Vec<&'c Comment>,
    /// The comment that ends the child's last line.
    pub(super) trailing: Option<&'c Comment>,
    /// A blank line separates the child from what precedes it.
    pub(super) blank_before: bool,
}

impl Slot<'_> {
    /// A blank line separates this child's first line (comment or code) from
    /// the previous child.
    pub(super) fn gap_blank(&self) -> bool {
        self.leading
            .first()
            .map_or(self.blank_before, |n| n.blank_before)
    }
}

/// The comments of one block (the file, a policy body), attached to its
/// children; `dangling` are those after the last child.
pub(super) struct Attached<'c> {
    pub(super) slots: Vec<Slot<'c>>,
    pub(super) dangling: Vec<Note<'c>>,
}

/// Attaches the comments of a block to its children. `start` is where the
/// block's content begins; between children and comments there is only
/// whitespace, whose blank lines are noted.
pub(super) fn attach<'c>(
    text: &str,
    start: usize,
    children: &[Span],
    comments: &[&'c Comment],
) -> Attached<'c> {
    let mut a = Attacher {
        text,
        slots: children.iter().map(|_| Slot::default()).collect(),
        pending: Vec::new(),
        last_end: start,
        first: true,
        after_child: false,
    };
    let mut next = 0;
    for &c in comments {
        while next < children.len() && children[next].start as usize <= c.span.start {
            a.child(next, children[next]);
            next += 1;
        }
        let inside = next > 0 && c.span.start < children[next - 1].end as usize;
        if inside {
            a.slots[next - 1].inner.push(c);
        } else if a.after_child && !a.gap(c.span.start).contains('\n') {
            a.slots[next - 1].trailing = Some(c);
            a.after_child = false;
            a.last_end = c.span.end;
        } else {
            let blank_before = a.blank_until(c.span.start);
            a.pending.push(Note {
                comment: c,
                blank_before,
            });
            a.last_end = c.span.end;
            a.first = false;
            a.after_child = false;
        }
    }
    while next < children.len() {
        a.child(next, children[next]);
        next += 1;
    }
    Attached {
        slots: a.slots,
        dangling: a.pending,
    }
}

pub(super) struct Attacher<'t, 'c> {
    pub(super) text: &'t str,
    pub(super) slots: Vec<Slot<'c>>,
    /// Own-line comments not yet given to a child.
    pub(super) pending: Vec<Note<'c>>,
    /// End of the last child or comment seen.
    pub(super) last_end: usize,
    /// Nothing seen yet in this block.
    pub(super) first: bool,
    /// The last thing seen was a child, not a comment.
    pub(super) after_child: bool,
}

impl<'c> Attacher<'_, 'c> {
    pub(super) fn gap(&self, to: usize) -> &str {
        self.text.get(self.last_end..to).unwrap_or("")
    }

    pub(super) fn blank_until(&self, to: usize) -> bool {
        !self.first && self.gap(to).matches('\n').count() >= 2
    }

    pub(super) fn child(&mut self, i: usize, span: Span) {
        self.slots[i].blank_before = self.blank_until(span.start as usize);
        self.slots[i].leading = std::mem::take(&mut self.pending);
        self.last_end = span.end as usize;
        self.first = false;
        self.after_child = true;
    }
}
