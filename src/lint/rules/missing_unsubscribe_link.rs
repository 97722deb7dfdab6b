//! L206: an email template without `{{unsubscribe_link}}`.

use crate::check::template::UNSUBSCRIBE_LINK;
use crate::check::{TemplateId, TextPart};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    let p = cx.program;
    for (i, t) in p.templates.iter().enumerate() {
        let sent = p.cadences.iter().any(|c| {
            c.steps
                .iter()
                .any(|s| s.action.templates().contains(&TemplateId(i)))
        });
        let has =
            t.body.parts.iter().any(
                |part| matches!(part, TextPart::Merge { name, .. } if name == UNSUBSCRIBE_LINK),
            );
        if sent && !has {
            out.push(Finding {
                file: t.file,
                span: t.span,
                message: format!("template `{}` has no unsubscribe link", t.name),
                label: "sent by an email step".into(),
                help: "add `{{unsubscribe_link}}` to the body: bulk email must offer a one-click unsubscribe (CAN-SPAM, RFC 8058)".into(),
            });
        }
    }
}
