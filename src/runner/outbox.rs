//! The outbox relay: claims pending messages, hands them to the SMTP server, and records what
//! the server said. A message is marked `sending` (committed) before it is handed over, and
//! `sent` after: a relay stopped in between leaves it `sending`, and the next start marks it
//! *in doubt* — listed, never sent again unless an operator asks (`cadence outbox --resend`).
//! So no message reaches the server twice, and none is lost.
//!
//! A refusal for good (5xx) becomes a `bounced` input for the engine; a refusal for now (4xx,
//! no connection) is retried with exponential backoff and jitter, and after too many attempts
//! it is given up as a bounce.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::clock::{sleep_until, wall_now};
use crate::mail::smtp::{Mailer, Sent};
use crate::store::live::{Delivery, InputKind, LiveStore, NewInput, OutboxRow};

/// How the relay sends.
#[derive(Clone)]
pub struct Relay {
    pub mailer: Mailer,
    /// Messages handed to the server at once (each on a connection of the pool).
    pub workers: usize,
    /// The first retry waits this long; each next one twice as long (with jitter), up to a day.
    pub backoff: Duration,
    /// Attempts before a temporary failure is given up.
    pub max_attempts: i64,
    /// Version id -> cadence name (bounces name their cadence).
    pub cadences: HashMap<i64, String>,
    /// Test hook: a pause between the server's acceptance and the commit.
    pub pause_after_send: Option<Duration>,
}

/// What the relay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayStats {
    pub sent: usize,
    pub retried: usize,
    pub bounced: usize,
    pub failed: usize,
}

impl RelayStats {
    fn add(&mut self, o: RelayStats) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.bounced += o.bounced;
        self.failed += o.failed;
    }
}

/// When the relay stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// When nothing is left to send now and `done` is set (the engine has finished).
    Drained,
    /// When `stop` is set.
    Stopped,
}

/// Sends one message, and counts it for `/metrics`: how long the server took, and what it said.
fn timed_send(mailer: &Mailer, row: &OutboxRow) -> Sent {
    let t0 = std::time::Instant::now();
    let sent = mailer.send(row);
    metrics::histogram!("cadence_send_seconds").record(t0.elapsed().as_secs_f64());
    let result = match &sent {
        Sent::Accepted(_) => "accepted",
        Sent::Permanent(_) => "refused",
        Sent::Temporary(_) => "deferred",
    };
    metrics::counter!("cadence_emails_sent_total", "result" => result).increment(1);
    sent
}

impl Relay {
    /// Runs the relay over `store` until it should stop.
    pub fn run(
        &self,
        store: &mut dyn LiveStore,
        until: Until,
        done: &AtomicBool,
        stop: &AtomicBool,
    ) -> Result<RelayStats, String> {
        let mut stats = RelayStats::default();
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(stats);
            }
            let engine_done = done.load(Ordering::SeqCst);
            let s = self.once(store)?;
            let idle = s == RelayStats::default();
            stats.add(s);
            if !idle {
                continue;
            }
            if until == Until::Drained && engine_done {
                return Ok(stats);
            }
            // New messages come from the engine at any moment: look again soon.
            sleep_until(std::time::Instant::now() + Duration::from_millis(100), stop);
        }
    }

    /// Claims and sends one round of messages: one per connection, so that a relay killed
    /// mid-round leaves in doubt only the messages that were really on the wire.
    pub fn once(&self, store: &mut dyn LiveStore) -> Result<RelayStats, String> {
        let rows = store
            .claim_outbox(wall_now(), self.workers.max(1))
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(RelayStats::default());
        }
        let results = self.send_all(&rows);
        if let Some(p) = self.pause_after_send {
            std::thread::sleep(p);
        }
        let mut stats = RelayStats::default();
        let now = wall_now();
        let deliveries: Vec<(i64, Delivery)> = rows
            .iter()
            .zip(results)
            .map(|(row, sent)| (row.id, self.judge(row, sent, now, &mut stats)))
            .collect();
        store
            .finish_outbox(&deliveries, now)
            .map_err(|e| e.to_string())?;
        Ok(stats)
    }

    /// Sends rows on up to `workers` connections at once.
    fn send_all(&self, rows: &[OutboxRow]) -> Vec<Sent> {
        let workers = self.workers.clamp(1, rows.len());
        let chunk = rows.len().div_ceil(workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(chunk)
                .map(|part| {
                    let mailer = self.mailer.clone();
                    s.spawn(move || {
                        part.iter()
                            .map(|r| timed_send(&mailer, r))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Sent::Temporary("the sender stopped".into())])
                })
                .collect()
        })
    }

    fn judge(&self, row: &OutboxRow, sent: Sent, now: i64, stats: &mut RelayStats) -> Delivery {
        let id = row.message.message_id.as_str();
        match &sent {
            Sent::Accepted(_) => {}
            Sent::Permanent(reply) => {
                tracing::warn!(
                    message_id = id,
                    reply = reply.as_str(),
                    "email refused for good"
                )
            }
            Sent::Temporary(reply) => tracing::warn!(
                message_id = id,
                reply = reply.as_str(),
                attempts = row.attempts,
                "email refused for now"
            ),
        }
        match sent {
            Sent::Accepted(reply) => {
                stats.sent += 1;
                Delivery::Sent { reply }
            }
            Sent::Permanent(reply) => {
                stats.bounced += 1;
                Delivery::Bounced {
                    input: self.bounce(row),
                    reply,
                }
            }
            Sent::Temporary(reply) if row.attempts >= self.max_attempts => {
                stats.failed += 1;
                Delivery::Failed {
                    reply: format!("gave up after {} attempts: {reply}", row.attempts),
                    input: Some(self.bounce(row)),
                }
            }
            Sent::Temporary(reply) => {
                stats.retried += 1;
                Delivery::Retry {
                    reply,
                    next_attempt: now + self.delay(row.attempts),
                }
            }
        }
    }

    /// Seconds before attempt `attempts + 1`: the backoff doubled per attempt, up to a day, with
    /// up to half of it again at random (so that many failed messages do not come back at once).
    fn delay(&self, attempts: i64) -> i64 {
        let base = self.backoff.as_secs_f64().max(0.001);
        let d = (base * 2f64.powi((attempts - 1).clamp(0, 30) as i32)).min(86_400.0);
        let jitter = getrandom::u32().unwrap_or(0) as f64 / u32::MAX as f64 * 0.5;
        (d * (1.0 + jitter)).ceil() as i64
    }

    fn bounce(&self, row: &OutboxRow) -> NewInput {
        NewInput {
            key: format!("bounce:{}", row.message.message_id),
            at: row.message.at,
            contact: row.contact_id.clone(),
            what: InputKind::Event {
                event: "bounced".into(),
                step: Some(row.message.step),
                cadence: self.cadences.get(&row.message.version).cloned(),
                field: None,
                value: None,
                machine: false,
                message: Some((row.message.enrolment, row.message.exec)),
            },
            origin: format!("smtp (message {})", row.id),
        }
    }
}
