//! Rows as both databases give them back. The queries of the two stores select the same columns
//! in the same order; each row is decoded here once, whichever driver read it.

use super::{
    ContactRow, HeldHit, Hit, HoldRow, InboxRow, InputColumns, MailRow, MessageRef, NewInput,
    NewMessage, NewTask, OutboxRow, OutboxState, TaskRow, TokenRow,
};
use crate::engine::{ContactId, Timer};

/// The columns of a row by position (what each driver can give).
pub(crate) trait Cols {
    type Error;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn int_opt(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn text_opt(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, Self::Error>;
    fn bytes_opt(&self, i: usize) -> Result<Option<Vec<u8>>, Self::Error>;
}

macro_rules! cols {
    ($row:ty, $err:ty, $get:ident) => {
        impl Cols for $row {
            type Error = $err;
            fn int(&self, i: usize) -> Result<i64, $err> {
                self.$get(i)
            }
            fn int_opt(&self, i: usize) -> Result<Option<i64>, $err> {
                self.$get(i)
            }
            fn text(&self, i: usize) -> Result<String, $err> {
                self.$get(i)
            }
            fn text_opt(&self, i: usize) -> Result<Option<String>, $err> {
                self.$get(i)
            }
            fn flag(&self, i: usize) -> Result<bool, $err> {
                self.$get(i)
            }
            fn bytes(&self, i: usize) -> Result<Vec<u8>, $err> {
                self.$get(i)
            }
            fn bytes_opt(&self, i: usize) -> Result<Option<Vec<u8>>, $err> {
                self.$get(i)
            }
        }
    };
}

cols!(rusqlite::Row<'_>, rusqlite::Error, get);
cols!(::postgres::Row, ::postgres::Error, try_get);

/// The inbox's columns, as [`input_row`] reads them.
pub(crate) const INBOX_COLUMNS: &str =
    "seq, key, at, contact, origin, kind, event, step, cadence, field, value, fields, machine,
     message_enrolment, message_exec";

pub(crate) fn input_row<R: Cols>(r: &R) -> Result<InboxRow, R::Error> {
    let kind = r.text(5)?;
    let columns = InputColumns {
        kind: "",
        event: r.text_opt(6)?,
        step: r.int_opt(7)?,
        cadence: r.text_opt(8)?,
        field: r.text_opt(9)?,
        value: r.text_opt(10)?,
        fields: r.bytes_opt(11)?,
        machine: r.flag(12)?,
        message: match (r.int_opt(13)?, r.int_opt(14)?) {
            (Some(e), Some(x)) => Some((e, x)),
            _ => None,
        },
    };
    Ok(InboxRow {
        seq: r.int(0)?,
        input: NewInput {
            key: crate::mail::hex(&r.bytes(1)?),
            at: r.int(2)?,
            contact: r.text(3)?,
            origin: r.text(4)?,
            what: columns.decode(&kind),
        },
    })
}

/// The columns [`message_ref`] reads, over `outbox o JOIN contacts c`.
pub(crate) const MESSAGE_REF_FROM: &str =
    "SELECT c.id, o.version, o.step, o.recipient, o.sender, o.message_id,
            o.contact, CASE WHEN o.state = 'sent' THEN o.updated ELSE o.at END AS sent,
            o.enrolment, o.exec
     FROM outbox o JOIN contacts c ON c.seq = o.contact";

/// When a message left (handed to the server), or was made (while it waits in the outbox).
pub(crate) const SENT_AT: &str = "CASE WHEN o.state = 'sent' THEN o.updated ELSE o.at END";

pub(crate) fn message_ref<R: Cols>(r: &R) -> Result<MessageRef, R::Error> {
    Ok(MessageRef {
        contact: r.text(0)?,
        version: r.int(1)?,
        step: r.int(2)? as u32,
        recipient: r.text(3)?,
        sender: r.text(4)?,
        message_id: r.text(5)?,
        rowid: r.int(6)? as ContactId,
        sent: r.int(7)?,
        enrolment: r.int_opt(8)?.unwrap_or(0) as u64,
        exec: r.int_opt(9)?.unwrap_or(0) as u32,
    })
}

/// The columns [`outbox_row`] reads, over `outbox o JOIN contacts c`.
pub(crate) const OUTBOX_COLUMNS: &str =
    "o.id, c.id, o.contact, o.enrolment, o.exec, o.version, o.step, o.at,
     o.message_id, o.sender, o.reply_to, o.recipient, o.subject, o.body, o.html, o.unsubscribe,
     o.state, o.attempts, o.next_attempt, o.reply, o.updated";

pub(crate) fn outbox_row<R: Cols>(r: &R) -> Result<OutboxRow, R::Error> {
    Ok(OutboxRow {
        id: r.int(0)?,
        contact_id: r.text(1)?,
        message: NewMessage {
            contact: r.int(2)? as ContactId,
            enrolment: r.int(3)? as u64,
            exec: r.int(4)? as u32,
            version: r.int(5)?,
            step: r.int(6)? as u32,
            at: r.int(7)?,
            message_id: r.text(8)?,
            sender: r.text(9)?,
            reply_to: r.text_opt(10)?,
            recipient: r.text(11)?,
            subject: r.text(12)?,
            body: r.text(13)?,
            html: r.flag(14)?,
            unsubscribe: r.text(15)?,
        },
        state: OutboxState::parse(&r.text(16)?).unwrap_or(OutboxState::Failed),
        attempts: r.int(17)?,
        next_attempt: r.int(18)?,
        reply: r.text_opt(19)?,
        updated: r.int(20)?,
    })
}

/// `seq, id, state` of a contact.
pub(crate) fn contact_row<R: Cols>(r: &R) -> Result<ContactRow, R::Error> {
    Ok(ContactRow {
        rowid: r.int(0)? as ContactId,
        id: r.text(1)?,
        state: r.bytes(2)?,
    })
}

/// `seq, id, state, due, since, enrolment, slot, generation` of a contact with a timer.
pub(crate) fn due_row<R: Cols>(r: &R) -> Result<(ContactRow, Timer), R::Error> {
    Ok((
        contact_row(r)?,
        Timer {
            due: r.int(3)?,
            since: r.int(4)?,
            enrolment: r.int(5)? as u64,
            slot: r.int(6)? as u16,
            generation: r.int(7)? as u32,
        },
    ))
}

/// The columns [`task_row`] reads, over `tasks t JOIN contacts c JOIN versions v`.
pub(crate) const TASK_COLUMNS: &str =
    "t.id, c.id, v.name, t.contact, t.enrolment, t.exec, t.version, t.step, t.kind,
     t.subject, t.task_type, t.owner, t.priority, t.due, t.created, t.phone, t.zone,
     t.state, t.outcome, t.closed";

pub(crate) fn task_row<R: Cols>(r: &R) -> Result<TaskRow, R::Error> {
    Ok(TaskRow {
        id: r.int(0)?,
        contact_id: r.text(1)?,
        cadence: r.text(2)?,
        task: NewTask {
            contact: r.int(3)? as ContactId,
            enrolment: r.int(4)? as u64,
            exec: r.int(5)? as u32,
            version: r.int(6)?,
            step: r.int(7)? as u32,
            kind: r.text(8)?,
            subject: r.text(9)?,
            task_type: r.text_opt(10)?,
            owner: r.text_opt(11)?,
            priority: r.text(12)?,
            due: r.int(13)?,
            created: r.int(14)?,
            phone: r.text_opt(15)?,
            zone: r.text(16)?,
        },
        state: r.text(17)?,
        outcome: r.text_opt(18)?,
        closed: r.int_opt(19)?,
    })
}

/// The columns [`mail_row`] reads, over `mail`.
pub(crate) const MAIL_COLUMNS: &str =
    "mailbox, uidvalidity, uid, message_id, sender, subject, class, event, contact,
     ours, matched_by, sent, at, read, note";

pub(crate) fn mail_row<R: Cols>(r: &R) -> Result<MailRow, R::Error> {
    Ok(MailRow {
        mailbox: r.text(0)?,
        uidvalidity: r.int(1)? as u32,
        uid: r.int(2)? as u32,
        message_id: r.text_opt(3)?,
        sender: r.text_opt(4)?,
        subject: r.text(5)?,
        class: r.text(6)?,
        event: r.text_opt(7)?,
        contact: r.text_opt(8)?,
        ours: r.text_opt(9)?,
        matched_by: r.text_opt(10)?,
        sent: r.int_opt(11)?,
        at: r.int(12)?,
        read: r.int(13)?,
        note: r.text_opt(14)?,
    })
}

/// A held click: `h.id, h.contact, h.enrolment, h.exec, h.step, h.cadence, h.link, h.at,
/// h.machine`, then how many clicks on other links of its message came close to it.
pub(crate) fn held_hit<R: Cols>(r: &R) -> Result<HeldHit, R::Error> {
    Ok(HeldHit {
        id: r.int(0)?,
        hit: Hit {
            contact: r.text(1)?,
            enrolment: r.int(2)? as u64,
            exec: r.int(3)? as u32,
            step: r.int(4)? as u32,
            cadence: r.text_opt(5)?,
            link: r.int_opt(6)?.map(|l| l as u32),
            at: r.int(7)?,
            machine: r.text_opt(8)?,
        },
        burst: r.int(9)? > 0,
    })
}

/// `kind, name, since, until, catch_up` of a hold.
pub(crate) fn hold_row<R: Cols>(r: &R) -> Result<HoldRow, R::Error> {
    Ok(HoldRow {
        owner: r.text(0)? == "owner",
        name: r.text(1)?,
        since: r.int(2)?,
        until: r.int_opt(3)?,
        catch_up: r.flag(4)?,
    })
}

/// `name, created, revoked` of a token.
pub(crate) fn token_row<R: Cols>(r: &R) -> Result<TokenRow, R::Error> {
    Ok(TokenRow {
        name: r.text(0)?,
        created: r.int(1)?,
        revoked: r.int_opt(2)?,
    })
}
