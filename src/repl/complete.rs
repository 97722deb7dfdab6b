//! Tab completion and hints for the REPL, as pure functions of the line and what the session
//! knows (so they are tested without a terminal).

/// What completion can offer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    pub contacts: Vec<String>,
    pub cadences: Vec<String>,
    pub fields: Vec<String>,
    /// Per contact: the events its current step can receive (all outcomes when it waits nowhere).
    pub events: Vec<(String, Vec<String>)>,
    /// Every event name (outcomes and custom events).
    pub all_events: Vec<String>,
}

/// The commands, with their usage (shown as hints and by `help`).
pub const COMMANDS: &[(&str, &str)] = &[
    ("contact", "ID FIELD=VALUE...     create or update a record"),
    (
        "enroll",
        "ID [CADENCE]           enrol a record (in every cadence, or one)",
    ),
    (
        "unenroll",
        "ID [CADENCE]         end an enrolment with reason unenrolled",
    ),
    (
        "event",
        "ID EVENT [step N]       an outcome (opened, answered, ...) or a custom event",
    ),
    (
        "set",
        "ID FIELD=VALUE...         change fields (re-evaluates enroll/exit/goal rules)",
    ),
    (
        "pause",
        "ID [UNTIL] [catch-up]   hold a record's timers; also `cadence NAME`, `owner NAME`",
    ),
    (
        "resume",
        "ID [catch-up]          continue: waits keep the time they had left",
    ),
    (
        "advance",
        "DURATION              move the clock forward (30m, 2h, 3d, 1w)",
    ),
    (
        "at",
        "INSTANT                    move the clock to an instant (2026-01-08T09:00:00Z)",
    ),
    (
        "status",
        "[ID]                   where each enrolment stands and what it waits for",
    ),
    (
        "history",
        "ID                    everything that happened to a record",
    ),
    (
        "agenda",
        "                       what falls due next: steps and timeouts",
    ),
    (
        "paths",
        "                        the branches of the loaded cadences",
    ),
    (
        "reload",
        "                       read the files again, keeping the state",
    ),
    (
        "deploy",
        "FILE                   deploy a new version: its `migrate` block moves the contacts",
    ),
    (
        "save-test",
        "NAME FILE           append the session as a test block to FILE",
    ),
    ("help", "[COMMAND]                this list"),
    ("quit", "                         leave (also Ctrl-D)"),
];

/// Other names for commands.
pub const ALIASES: &[(&str, &str)] = &[
    ("exit", "quit"),
    ("q", "quit"),
    ("?", "help"),
    ("h", "help"),
];

/// The command a word names, aliases resolved.
pub fn command(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .find(|c| *c == word)
        .or_else(|| ALIASES.iter().find(|(a, _)| *a == word).map(|(_, c)| *c))
}

fn quote(s: &str) -> String {
    if s.contains(' ') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// Completion of `line` at byte `pos`: the start of the word being completed, and candidates.
pub fn complete(line: &str, pos: usize, known: &Known) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    let start = before.rfind(' ').map_or(0, |i| i + 1);
    let word = &before[start..];
    let words: Vec<&str> = before[..start].split_whitespace().collect();
    let pick = |options: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = options
            .into_iter()
            .filter(|o| o.starts_with(word))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let candidates = match words.as_slice() {
        [] => pick(COMMANDS.iter().map(|(c, _)| c.to_string()).collect()),
        [cmd] => match command(cmd) {
            Some(
                "contact" | "enroll" | "unenroll" | "event" | "set" | "history" | "status"
                | "pause" | "resume",
            ) => pick(known.contacts.clone()),
            Some("help") => pick(COMMANDS.iter().map(|(c, _)| c.to_string()).collect()),
            Some("advance") => pick(["1h", "1d", "2d", "3d", "1w"].map(String::from).to_vec()),
            _ => Vec::new(),
        },
        [cmd, id, rest @ ..] => match command(cmd) {
            Some("enroll" | "unenroll") if rest.is_empty() => {
                pick(known.cadences.iter().map(|c| quote(c)).collect())
            }
            Some("event") if rest.is_empty() => {
                let events = known
                    .events
                    .iter()
                    .find(|(c, _)| c == id)
                    .map(|(_, e)| e.clone())
                    .unwrap_or_else(|| known.all_events.clone());
                pick(events)
            }
            Some("event") if rest.len() == 1 => pick(vec!["step".to_string()]),
            Some("contact" | "set") => pick(known.fields.iter().map(|f| format!("{f}=")).collect()),
            _ => Vec::new(),
        },
    };
    (start, candidates)
}

/// A hint shown after the cursor: the usage of the command being typed.
pub fn hint(line: &str, pos: usize) -> Option<String> {
    if pos < line.len() {
        return None;
    }
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let typed = line.split_whitespace().count();
    if !line.ends_with(' ') && typed == 1 {
        // Completing the command word itself: show the rest of a unique match.
        let matches: Vec<&str> = COMMANDS
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| c.starts_with(first))
            .collect();
        return match matches.as_slice() {
            [one] if *one != first => Some(one[first.len()..].to_string()),
            _ => None,
        };
    }
    let cmd = command(first)?;
    let usage = COMMANDS.iter().find(|(c, _)| *c == cmd)?.1;
    let args: Vec<&str> = usage.split("  ").next()?.split_whitespace().collect();
    let have = typed - 1 + usize::from(!line.ends_with(' ') && typed > 1);
    let rest: Vec<&str> = args.iter().skip(have).copied().collect();
    if rest.is_empty() || !line.ends_with(' ') {
        return None;
    }
    Some(rest.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            contacts: vec!["alice".into(), "albert".into(), "bob".into()],
            cadences: vec!["SaaS onboarding".into(), "Clinic".into()],
            fields: vec!["plan".into(), "phone".into(), "email".into()],
            events: vec![(
                "alice".into(),
                vec!["opened".into(), "clicked".into(), "bounced".into()],
            )],
            all_events: vec!["opened".into(), "answered".into()],
        }
    }

    #[test]
    fn commands_complete_at_the_start() {
        assert_eq!(complete("en", 2, &known()), (0, vec!["enroll".to_string()]));
        assert_eq!(complete("s", 1, &known()).1, ["save-test", "set", "status"]);
    }

    #[test]
    fn contact_ids_complete_after_a_command() {
        assert_eq!(
            complete("event al", 8, &known()),
            (6, vec!["albert".to_string(), "alice".to_string()])
        );
        assert_eq!(complete("history b", 9, &known()).1, ["bob"]);
    }

    #[test]
    fn events_are_those_the_contacts_step_can_receive() {
        assert_eq!(
            complete("event alice ", 12, &known()).1,
            ["bounced", "clicked", "opened"]
        );
        assert_eq!(complete("event alice c", 13, &known()).1, ["clicked"]);
        // A contact that waits nowhere: every event.
        assert_eq!(
            complete("event bob ", 10, &known()).1,
            ["answered", "opened"]
        );
        assert_eq!(complete("event alice opened ", 19, &known()).1, ["step"]);
    }

    #[test]
    fn cadence_names_are_quoted_when_they_hold_spaces() {
        assert_eq!(
            complete("enroll alice ", 13, &known()).1,
            ["\"SaaS onboarding\"", "Clinic"]
        );
    }

    #[test]
    fn fields_complete_with_an_equals_sign() {
        assert_eq!(complete("set alice p", 11, &known()).1, ["phone=", "plan="]);
    }

    #[test]
    fn aliases_work_like_their_command() {
        assert_eq!(command("q"), Some("quit"));
        assert_eq!(complete("? he", 4, &known()).1, ["help"]);
    }

    #[test]
    fn hints_show_the_missing_arguments() {
        assert_eq!(hint("event ", 6), Some("ID EVENT [step N]".into()));
        assert_eq!(hint("event alice ", 12), Some("EVENT [step N]".into()));
        assert_eq!(hint("adv", 3), Some("ance".into()));
        assert_eq!(hint("agenda", 6), None);
    }
}
