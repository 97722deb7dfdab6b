//! Positions in a document (LSP counts columns in UTF-16 code units unless told otherwise) and
//! the names a file declares and uses: templates, steps, fields and events, with their spans.

use lsp_types::{Position, Range};

use crate::check::template::parse_text;
use crate::check::template::UNSUBSCRIBE_LINK;
use crate::syntax::ast::{
    self, Action, Expectation, Expr, ExprKind, ItemKind, OwnerPart, StepOption, Target, TestInput,
    TestItem, TimezoneSpec, Trigger,
};
use crate::syntax::{Span, Spanned};

/// Line starts of a text, to turn byte offsets into LSP positions and back.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// Columns in bytes (the client accepted UTF-8) instead of UTF-16 code units.
    utf8: bool,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str, utf8: bool) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts, utf8 }
    }

    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = if self.utf8 {
            offset - start
        } else {
            self.text[start..offset].encode_utf16().count()
        };
        Position::new(line as u32, col as u32)
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of a position; past the end of a line is its end, past the last line
    /// the end of the text.
    pub fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(p.line as usize + 1)
            .map_or(self.text.len(), |e| e - 1);
        // A position past the end of a CRLF line is before its `\r`.
        let end = if self.text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        let line = &self.text[start..end];
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= p.character as usize {
                return start + i;
            }
            units += if self.utf8 {
                c.len_utf8()
            } else {
                c.len_utf16()
            };
        }
        end
    }

    /// The whole text's range.
    pub fn all(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

/// What a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Template,
    Step,
    Field,
    Event,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Template => "template",
            Kind::Step => "step",
            Kind::Field => "field",
            Kind::Event => "event",
        }
    }
}

/// One place a name is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub kind: Kind,
    pub name: String,
    pub span: Span,
    /// Where it is declared (`template NAME`, `step N:`, `field NAME:`, `event NAME`).
    pub decl: bool,
    /// Written in a `test` block: `Some(true)` when the block deploys (it then names the steps
    /// of the version deployed).
    pub test: Option<bool>,
}

/// Every name written in a file, in the order of the text.
pub fn occurrences(file: &ast::File, text: &str) -> Vec<Occurrence> {
    let mut out = Occurrences {
        out: Vec::new(),
        text,
        test: None,
    };
    for item in &file.items {
        out.item(&item.kind);
    }
    let mut v = out.out;
    v.sort_by_key(|o| (o.span.start, o.span.end));
    v.dedup_by(|a, b| a.span == b.span && a.kind == b.kind);
    v
}

/// The occurrence under a byte offset (its end counts: the cursor after a word is on it).
pub fn at(occs: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occs.iter()
        .find(|o| o.span.start <= offset && offset <= o.span.end && o.span.start < o.span.end)
}

struct Occurrences<'t> {
    out: Vec<Occurrence>,
    text: &'t str,
    /// Inside a `test` block, and whether a `deploy` came before.
    test: Option<bool>,
}

impl Occurrences<'_> {
    fn push(&mut self, kind: Kind, name: &str, span: Span, decl: bool) {
        if name.is_empty() || span.end > self.text.len() || span.start >= span.end {
            return;
        }
        self.out.push(Occurrence {
            kind,
            name: name.to_string(),
            span,
            decl,
            test: self.test,
        });
    }

    fn spanned(&mut self, kind: Kind, s: &Spanned<String>, decl: bool) {
        self.push(kind, &s.node, s.span, decl);
    }

    fn item(&mut self, kind: &ItemKind) {
        match kind {
            ItemKind::Field(f) => self.spanned(Kind::Field, &f.name, true),
            ItemKind::Enroll(e) => self.expr(e),
            ItemKind::Exit(r) | ItemKind::Goal(r) => match &r.trigger {
                Trigger::On(ev) => self.spanned(Kind::Event, ev, false),
                Trigger::When(e) => self.expr(e),
            },
            ItemKind::Timezone(TimezoneSpec::Field { field, .. }) => {
                self.spanned(Kind::Field, field, false)
            }
            ItemKind::PauseOn { event, .. } => self.spanned(Kind::Event, event, false),
            ItemKind::Event(e) => self.spanned(Kind::Event, e, true),
            ItemKind::Template(t) => {
                self.spanned(Kind::Template, &t.name, true);
                if let Some(s) = &t.subject {
                    self.merge_fields(s);
                }
                if let Some(ast::Body::Inline(s)) = &t.body {
                    self.merge_fields(s);
                }
            }
            ItemKind::Step(s) => self.step(s),
            ItemKind::Migrate(m) => {
                for map in &m.maps {
                    if let Target::Step(n) = &map.target.node {
                        self.spanned(Kind::Step, n, false);
                    }
                }
            }
            ItemKind::Test(t) => {
                // A test that deploys names the steps of the version it deploys, wherever
                // the `deploy` line stands (as the checker reads it).
                let deploys = t.items.iter().any(|i| {
                    matches!(&i.node, TestItem::At { input, .. } if matches!(input.node, TestInput::Deploy { .. }))
                });
                self.test = Some(deploys);
                for item in &t.items {
                    self.test_item(&item.node);
                }
                self.test = None;
            }
            _ => {}
        }
    }

    fn step(&mut self, s: &ast::Step) {
        self.spanned(Kind::Step, &s.number, true);
        if let Action::Email { template, variants } = &s.action.node {
            self.spanned(Kind::Template, template, false);
            for v in variants {
                self.spanned(Kind::Template, &v.template, false);
            }
        }
        for o in &s.options {
            match &o.node {
                StepOption::AtField { field, .. } => self.spanned(Kind::Field, field, false),
                StepOption::If(e) => self.expr(e),
                StepOption::Owner(parts) => {
                    for p in parts {
                        if let OwnerPart::Field(f) = p {
                            self.spanned(Kind::Field, f, false);
                        }
                    }
                }
                StepOption::Subject(s) => self.merge_fields(s),
                _ => {}
            }
        }
        for h in &s.handlers {
            self.spanned(Kind::Event, &h.event, false);
            if let Target::Step(n) = &h.target.node {
                self.spanned(Kind::Step, n, false);
            }
        }
    }

    fn test_item(&mut self, item: &TestItem) {
        match item {
            TestItem::Contact { fields, .. } => {
                for a in fields {
                    self.spanned(Kind::Field, &a.field, false);
                }
            }
            TestItem::At { input, .. } => match &input.node {
                TestInput::Set { fields, .. } => {
                    for a in fields {
                        self.spanned(Kind::Field, &a.field, false);
                    }
                }
                TestInput::Event { event, step, .. } => {
                    self.spanned(Kind::Event, event, false);
                    if let Some(n) = step {
                        self.spanned(Kind::Step, n, false);
                    }
                }
                _ => {}
            },
            TestItem::Expect(e) => match &e.what.node {
                Expectation::Executed(n)
                | Expectation::NotExecuted(n)
                | Expectation::Skipped(n)
                | Expectation::AtStep(n) => self.spanned(Kind::Step, n, false),
                Expectation::ExecutedVariant { step, variant } => {
                    self.spanned(Kind::Step, step, false);
                    self.spanned(Kind::Template, variant, false);
                }
                _ => {}
            },
            TestItem::Pin { step, variant, .. } => {
                self.spanned(Kind::Step, step, false);
                self.spanned(Kind::Template, variant, false);
            }
            _ => {}
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Field(name) => self.push(Kind::Field, name, e.span, false),
            ExprKind::Not(a) | ExprKind::Paren(a) => self.expr(a),
            ExprKind::Is { expr, .. } => self.expr(expr),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::In { expr, list, .. } => {
                self.expr(expr);
                for e in list {
                    self.expr(e);
                }
            }
            _ => {}
        }
    }

    /// The merge fields of a string, located in the source text.
    fn merge_fields(&mut self, s: &ast::Str) {
        let Some(raw) = self.text.get(s.content.range()) else {
            return;
        };
        let (_, refs, _) = parse_text(raw);
        for r in refs {
            if r.name != UNSUBSCRIBE_LINK {
                let span = Span::new(s.content.start + r.name_at.0, s.content.start + r.name_at.1);
                self.push(Kind::Field, &r.name, span, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse, FileId};

    #[test]
    fn positions_count_utf16_units_and_go_back_to_the_same_offset() {
        let text = "a\n日本 x\n𝄞y\n";
        let ix = LineIndex::new(text, false);
        let y = text.find('y').unwrap();
        assert_eq!(ix.position(y), Position::new(2, 2));
        assert_eq!(ix.offset(Position::new(2, 2)), y);
        let x = text.find('x').unwrap();
        assert_eq!(ix.position(x), Position::new(1, 3));
        assert_eq!(ix.offset(Position::new(1, 3)), x);
        // Past the end of a line: its end; past the last line: the end of the text.
        assert_eq!(ix.offset(Position::new(0, 99)), 1);
        assert_eq!(ix.offset(Position::new(99, 0)), text.len());
        let crlf = LineIndex::new("ab\r\ncd", false);
        assert_eq!(crlf.offset(Position::new(0, 99)), 2);
        let ix8 = LineIndex::new(text, true);
        assert_eq!(ix8.position(x), Position::new(1, 7));
    }

    #[test]
    fn names_are_found_where_they_are_declared_and_used() {
        let text = "field plan: text\nenroll when plan == \"trial\"\ntemplate welcome {\n  subject \"Hi {{first_name | there}}\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email welcome; on opened -> step 2\nstep 2: call \"Intro\"\n";
        let (file, d) = parse(FileId(0), text);
        assert!(d.is_empty(), "{d:?}");
        let occ = occurrences(&file, text);
        let names: Vec<(Kind, &str, bool, &str)> = occ
            .iter()
            .map(|o| (o.kind, o.name.as_str(), o.decl, &text[o.span.range()]))
            .collect();
        assert_eq!(
            names,
            vec![
                (Kind::Field, "plan", true, "plan"),
                (Kind::Field, "plan", false, "plan"),
                (Kind::Template, "welcome", true, "welcome"),
                (Kind::Field, "first_name", false, "first_name"),
                (Kind::Step, "1", true, "1"),
                (Kind::Template, "welcome", false, "welcome"),
                (Kind::Event, "opened", false, "opened"),
                (Kind::Step, "2", false, "2"),
                (Kind::Step, "2", true, "2"),
            ]
        );
    }
}

#[cfg(test)]
mod test_blocks {
    use super::*;
    use crate::syntax::{parse, FileId};

    #[test]
    fn every_step_named_by_a_test_that_deploys_is_marked_wherever_the_deploy_stands() {
        let text = "test \"t\" {\n  start 2026-01-05T09:00:00Z\n  at +0d: enroll a\n  expect a executed step 3\n  at +1d: deploy \"next/v2.cadence\"\n}\ntest \"u\" {\n  start 2026-01-05T09:00:00Z\n  expect a executed step 3\n}\n";
        let (file, d) = parse(FileId(0), text);
        assert!(d.is_empty(), "{d:?}");
        let marks: Vec<Option<bool>> = occurrences(&file, text)
            .iter()
            .filter(|o| o.kind == Kind::Step)
            .map(|o| o.test)
            .collect();
        assert_eq!(marks, [Some(true), Some(false)]);
    }
}
