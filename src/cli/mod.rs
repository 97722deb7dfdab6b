//! The command line: clap argument structs and one file per subcommand.

mod backup;
mod check;
pub(crate) mod config;
mod deploy;
mod diff;
mod explain;
pub(crate) mod fmt;
mod generate;
mod graph;
mod ingest;
pub(crate) mod input;
pub(crate) mod lint;
pub(crate) mod live;
mod log;
mod lsp;
mod mail;
mod outbox;
mod pause;
mod repl;
mod report;
mod run;
mod simulate;
pub(crate) mod tasks;
mod test;
pub mod token;
mod trace;
mod versions;
mod why;

use std::process::ExitCode;

pub(crate) use input::open_input;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit status: 0 clean, 1 findings or failed tests, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Clean,
    Findings,
    Failure,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::Failure => 2,
        })
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "cadence",
    version,
    about = "Sales cadences as code: check, explain and run follow-up plans kept in git",
    long_about = "Sales cadences as code.\n\nA cadence is the plan of follow-ups a CRM record goes through: send the welcome \
email today; if it is opened, call tomorrow; if there is no reply in three days, send a reminder; \
stop the moment they reply. cadence checks `.cadence` files like a compiler, with precise \
diagnostics, and runs them on a virtual clock.",
    after_help = "Examples:\n  cadence check examples/*.cadence\n  cadence lint --format github examples/*.cadence\n  cadence test examples/*.cadence --coverage\n  cadence simulate examples/saas_onboarding.cadence --contacts examples/contacts.csv --events examples/saas_onboarding.events.csv\n  cadence repl examples/saas_onboarding.cadence --start 2026-03-02T09:00:00Z\n  cadence explain E105\n\nExit status: 0 clean, 1 findings (errors, failed tests, bad rows), 2 usage or I/O error.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and type-check cadence files (files given together share templates, fields, events)
    #[command(
        after_help = "Diagnostics go to stderr; with `--format json|github|sarif` they go to stdout.\nA folder stands for every .cadence file below it (what .gitignore leaves out is left out);\nwith no path, the current folder. Use `-` to read a file from standard input.\n\nExamples:\n  cadence check\n  cadence check cadences/\n  cadence check onboarding.cadence templates.cadence\n  cadence check --format github cadences/\n  cat x.cadence | cadence check -\n\nExit status: 0 clean, 1 errors found, 2 usage or I/O error."
    )]
    #[command(display_order = 1)]
    Check(check::Args),
    /// Run cadences on a virtual clock over contacts and events from CSV, printing the trace
    #[command(
        after_help = "Examples:\n  cadence simulate examples/saas_onboarding.cadence --contacts examples/contacts.csv --events examples/saas_onboarding.events.csv\n  cadence simulate examples/*.cadence --contacts examples/contacts.csv --format jsonl --until 30d\n\nBad CSV rows are reported as FILE:LINE: message and skipped; the rest still runs.\nExit status: 0 clean, 1 cadence errors or bad rows, 2 usage or I/O error."
    )]
    #[command(display_order = 6)]
    Simulate(simulate::Args),
    /// Explore a cadence by hand on a virtual clock: enrol, send events, move time, inspect
    #[command(
        after_help = "Examples:\n  cadence repl examples/saas_onboarding.cadence --contacts examples/contacts.csv --start 2026-03-02T09:00:00Z\n  cadence repl onboarding.cadence < session.txt     # scripted: one command per line\n\nType `help` in the session for the commands. Tab completes; Ctrl-C cancels a line; Ctrl-D leaves."
    )]
    #[command(display_order = 7)]
    Repl(repl::Args),
    /// Run the `test` blocks of cadence files: pass/fail per test, coverage of steps and branches
    #[command(
        after_help = "Examples:\n  cadence test\n  cadence test examples/ --coverage --fail-under 90\n  cadence test examples/ --coverage --coverage-format json > coverage.json\n  cadence test examples/*.cadence --format junit > junit.xml\n\nA folder stands for every .cadence file below it; with no path, the current folder.\n`fail-under` under [test] in cadence.toml sets the threshold too.\nExit status: 0 all tests pass (and coverage is at or above --fail-under), 1 a test failed, coverage is\nbelow the threshold or the files have errors, 2 usage or I/O error."
    )]
    #[command(display_order = 5)]
    Test(test::Args),
    /// Write a large generated workload (a five-step cadence, contacts, events) for load tests
    #[command(
        after_help = "Example:\n  cadence generate /tmp/load --contacts 100000 --events 300000\n  cadence simulate /tmp/load/trial.cadence --contacts /tmp/load/contacts.csv --events /tmp/load/events.csv --format jsonl > /dev/null"
    )]
    #[command(display_order = 20)]
    Generate(generate::Args),
    /// Check cadences beyond types: dead steps, loops, waits for ever, missing unsubscribe links...
    #[command(
        after_help = "Examples:\n  cadence lint\n  cadence lint cadences/\n  cadence lint --format github --deny warnings cadences/\n  cadence lint --format sarif cadences/ > lint.sarif\n  cadence lint --paths examples/saas_onboarding.cadence\n\nFindings go to stdout, the closing count to stderr. A folder stands for every .cadence file below it;\nwith no path, the current folder. [lint] in cadence.toml sets select, ignore, per-file-ignores,\ndeny-warnings, max-emails and max-days; flags win over it. An unknown rule in --select, --ignore,\nthe configuration or an allow comment is an error. Suppress one finding with a comment\n`# lint: allow(L205)` on its line or the line above. `cadence explain L205` documents a rule.\n\nExit status: 0 clean, 1 an error (or a warning with --deny warnings), 2 usage or I/O error."
    )]
    #[command(display_order = 2)]
    Lint(lint::Args),
    /// Format cadence files in one canonical layout (comments kept); --check for CI
    #[command(
        after_help = "Examples:\n  cadence fmt                                # every .cadence file below the current folder\n  cadence fmt examples/*.cadence\n  cadence fmt --check cadences/              # in CI: prints a diff, exits 1 if a file would change\n  cadence fmt - < messy.cadence > tidy.cadence\n\nA folder stands for every .cadence file below it; `-` is standard input to standard output.\nExit status: 0 formatted (or nothing to change), 1 a file would change (--check) or does not parse, 2 I/O error."
    )]
    #[command(display_order = 3)]
    Fmt(fmt::Args),
    /// Draw a cadence as a flowchart: Mermaid (renders in pull requests) or Graphviz DOT
    #[command(
        after_help = "Examples:\n  cadence graph examples/saas_onboarding.cadence > flow.mmd\n  cadence graph examples/saas_onboarding.cadence --format dot | dot -Tsvg > flow.svg"
    )]
    #[command(display_order = 4)]
    Graph(graph::Args),
    /// Funnel and step statistics over a trace: text, JSON, or a self-contained HTML page
    #[command(
        after_help = "Examples:\n  cadence simulate examples/saas_onboarding.cadence --contacts examples/contacts.csv --events examples/saas_onboarding.events.csv --format jsonl > trace.jsonl\n  cadence report trace.jsonl examples/saas_onboarding.cadence\n  cadence report trace.jsonl examples/saas_onboarding.cadence --format html --out report.html\n  cadence report --db live.db              # the journal of `cadence run`\n  cadence report --db live.db --by-version # one funnel per version of each cadence"
    )]
    #[command(display_order = 8)]
    Report(report::Args),
    /// One record's view over a trace: its cadences, where it stands, what comes next, its history
    #[command(
        after_help = "Examples:\n  cadence timeline c013 trace.jsonl examples/saas_onboarding.cadence\n  cadence timeline c013 --db live.db        # the journal of `cadence run`"
    )]
    #[command(display_order = 9)]
    Timeline(report::TimelineArgs),
    /// Make new versions of cadences the running ones, and move the contacts in flight as their `migrate` blocks say
    #[command(
        after_help = "Examples:\n  cadence diff old/onboarding.cadence cadences/onboarding.cadence --db live.db   # what it will do\n  cadence deploy --db live.db cadences/*.cadence\n\nEnrolments stay on the version they started on, unless the new version has a `migrate` block:\nthen every live enrolment of an older version moves into it (a mapped step goes where the block\nsays; another keeps its step number, its wait recomputed from the new rules). A deploy that would\nleave contacts at a step that is gone and not mapped is refused, with nothing written.\n`cadence run` deploys the files it is given the same way when it starts."
    )]
    #[command(display_order = 9)]
    Deploy(deploy::Args),
    /// The versions of the cadences a database holds: hash, when stored, deployed, contacts in flight
    #[command(
        after_help = "Examples:\n  cadence versions --db live.db\n  cadence versions --db live.db --format json\n\nA version is the text of a cadence and of the files it uses, stored by hash when `cadence run` or\n`cadence deploy` is given it. The hash's first characters pin a `migrate` block to one version:\n`migrate from \"3f9a1c2b\" { ... }`."
    )]
    #[command(display_order = 9)]
    Versions(versions::Args),
    /// What a change of the cadences does: steps, settings and templates added, removed or changed
    #[command(
        after_help = "Examples:\n  git show main:cadences/onboarding.cadence > /tmp/old.cadence\n  cadence diff /tmp/old.cadence cadences/onboarding.cadence\n  cadence diff /tmp/old.cadence cadences/onboarding.cadence --db live.db   # how many contacts are at each step\n  cadence diff old/ cadences/ --format github                          # annotations on a pull request\n\nCadences are matched by name and steps by number; each part of a step (its action, after, at, if,\nowner, each `on` line) is compared in `cadence fmt`'s form, so layout and comments do not count.\n\nExit status: 0, or 1 when a deploy would strand contacts (a removed step that contacts can be at,\nwhich the new version's `migrate` block does not map): CI fails the change."
    )]
    #[command(display_order = 9)]
    Diff(diff::Args),
    /// Why each thing happened to one contact: the rule and the line behind every decision
    #[command(
        after_help = "Examples:\n  cadence why c013 trace.jsonl examples/saas_onboarding.cadence\n  cadence why c013 trace.jsonl examples/saas_onboarding.cadence --step 3\n  cadence why c013 --db live.db              # the journal of `cadence run`\n\nFor each step: when it became due (its `after` and `at` from when it was entered), how long the\nsend window, holidays and `limit N emails per day` held it (with the count sent that day), and\nwhen it was sent; why a step was skipped (its `if`, a past or empty date, no address); which `on`\nline or rule moved the contact on or ended the enrolment. Times are in the contact's zone."
    )]
    #[command(display_order = 9)]
    Why(why::Args),
    /// Run cadences for real: a database remembers everything, emails go out over SMTP
    #[command(
        after_help = "Examples:\n  cadence run examples/saas_onboarding.cadence --db live.db --contacts examples/contacts.csv --smtp smtp://127.0.0.1:2525\n  cadence run cadences/*.cadence --db live.db --clock virtual --events events.csv --until 30d\n  cadence run cadences/*.cadence --db postgres://cadence@127.0.0.1:5432/cadence --smtp smtp://127.0.0.1:25\n\nThe database (an SQLite file, created when missing, or a postgres://USER@HOST/DB URL) holds contacts, enrolments, timers, the inbox, the outbox,\nthe reps' tasks, the journal and every version of the cadences: running again continues where it stopped,\nand each row of --contacts and --events is applied once however often it is given.\nWithout --smtp emails stay in the outbox. `--clock wall` (the default) runs until Ctrl-C or SIGTERM.\nWith --listen it serves the one-click unsubscribe links of its emails and POST /api/events (`cadence token`).\nSettings come from flags, then CADENCE_DB, CADENCE_SMTP_URL, CADENCE_PUBLIC_URL, CADENCE_FROM,\nCADENCE_CLOCK, CADENCE_LISTEN, then the [run] table of cadence.toml. docs/running.md tells how to run it in production.\n\nExit status: 0 done, 1 bad rows were skipped, 2 usage, database or I/O error."
    )]
    #[command(display_order = 12)]
    Run(Box<run::Args>),
    /// Print the journal of a live database, as `simulate` prints a trace
    #[command(
        after_help = "Examples:\n  cadence trace --db live.db\n  cadence trace --db live.db --format jsonl > trace.jsonl"
    )]
    #[command(display_order = 13)]
    Trace(trace::Args),
    /// The reps' work queue: calls and tasks, with the contact's phone and local time
    #[command(
        after_help = "Examples:\n  cadence tasks --db live.db --due today\n  cadence tasks --db live.db --owner csm --format json"
    )]
    #[command(display_order = 14)]
    Tasks(tasks::Args),
    /// Record the outcome of a call or a task (or any event) for a running instance
    #[command(
        after_help = "Examples:\n  cadence log --db live.db c013 answered\n  cadence log --db live.db c013 voicemail --step 2 --at 2026-03-03T10:15:00Z"
    )]
    #[command(display_order = 15)]
    Log(log::Args),
    /// Hold the timers of a contact or a whole cadence, or an owner's calls and tasks while they are away
    #[command(
        after_help = "Examples:\n  cadence pause --db live.db \"Trial onboarding\" --until 2026-12-28T09:00:00Z   # the whole cadence, over the holidays\n  cadence pause --db live.db --contact c013 --until 2w\n  cadence pause --db live.db --owner csm --until 2026-08-17T08:00:00Z          # the rep's time off\n\nA paused enrolment keeps its place: its step does not fall due and its timeouts do not fire, but a\nreply or an exit rule still ends it. On resume (`cadence resume`, or by itself at --until) each\nwait continues with the time it had left; with --catch-up what fell due meanwhile fires once, now.\nWhile a cadence is paused, contacts enrolled in it start paused. An owner's call and task steps\nthat fall due while they are away wait until --until (emails go on), and their open calls and\ntasks are due then. Each command queues an input: the runner applies it at --at (default: the\ndatabase's clock) with the rest of its inputs, in order, whether it runs now or starts later."
    )]
    #[command(display_order = 15)]
    Pause(pause::PauseArgs),
    /// End a pause: waits continue with the time they had left, or (--catch-up) what fell due fires now
    #[command(
        after_help = "Examples:\n  cadence resume --db live.db \"Trial onboarding\"\n  cadence resume --db live.db --contact c013 --catch-up\n  cadence resume --db live.db --owner csm"
    )]
    #[command(display_order = 15)]
    Resume(pause::ResumeArgs),
    /// Queue an events or contacts file for a running instance (each row once)
    #[command(
        after_help = "Examples:\n  cadence ingest --db live.db crm-export.csv\n  cadence ingest --db live.db opens-2026-03-03.csv"
    )]
    #[command(display_order = 16)]
    Ingest(ingest::Args),
    /// The emails of a live database: pending, sent, in doubt, bounced; resend one
    #[command(
        after_help = "Examples:\n  cadence outbox --db live.db --state in-doubt\n  cadence outbox --db live.db --resend 42"
    )]
    #[command(display_order = 17)]
    Outbox(outbox::Args),
    /// What `cadence run --imap` read from the mailboxes: replies, automatic answers, bounces
    #[command(
        after_help = "Examples:\n  cadence mail --db live.db --unmatched\n  cadence mail --db live.db --contact c42 --format json"
    )]
    #[command(display_order = 17)]
    Mail(mail::Args),
    /// Copy a live database while it runs
    #[command(
        after_help = "Example:\n  cadence backup --db live.db backups/live-$(date +%F-%H%M).db"
    )]
    #[command(display_order = 18)]
    Backup(backup::Args),
    /// Bearer tokens of the HTTP API (`cadence run --listen`): create, list, revoke
    #[command(
        after_help = "Examples:\n  cadence token create --db live.db --name crm\n  cadence token list --db live.db\n  cadence token revoke --db live.db crm"
    )]
    #[command(display_order = 18)]
    Token(token::Args),
    /// The project's configuration (cadence.toml): `config show` prints what is in effect
    #[command(
        after_help = "Example:\n  cadence config show\n\ncadence.toml is found in the current folder or the nearest one above it (or given with --config).\nIts tables: [lint] (select, ignore, per-file-ignores, deny-warnings, max-emails, max-days),\n[test] (fail-under) and [run]. Flags win over it. docs/ci.md shows a complete file."
    )]
    #[command(display_order = 19)]
    Config(config::Args),
    /// The language server for editors (LSP over standard input and output)
    #[command(
        after_help = "Editors start it themselves: VS Code with the extension in editors/vscode, Neovim and\nHelix with a few lines of configuration (docs/editors.md). It checks each document with the\n`.cadence` files of its folder, as `cadence check FOLDER` does, and lints it with the\nnearest cadence.toml."
    )]
    #[command(display_order = 19)]
    Lsp(lsp::Args),
    /// Print the documentation of a diagnostic code (what it means, why, example, fix)
    #[command(after_help = "Examples:\n  cadence explain E105\n  cadence explain --list")]
    #[command(display_order = 19)]
    Explain(explain::Args),
}

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiagFormat {
    /// Readable reports with the source, on stderr
    #[default]
    Human,
    /// A JSON array of {code, severity, file, line, column, message} on stdout
    Json,
}

/// Prints `text` on standard output: a closed pipe ends quietly, any other failure is exit 2.
pub(crate) fn print_or_fail(text: &str) -> Status {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Status::Clean,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Status::Clean,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            Status::Failure
        }
    }
}

/// Makes a failed write to standard output or error (a full disk, `> /dev/full`, a closed
/// descriptor) end the command with one line and exit status 2, as other I/O errors do,
/// wherever in a command the write happens; every other panic is reported as before.
fn exit_on_output_errors() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        for stream in ["stdout", "stderr"] {
            if let Some(reason) = message.strip_prefix(&format!("failed printing to {stream}: ")) {
                if stream == "stdout" {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "error: cannot write the output: {reason}"
                    );
                }
                std::process::exit(2);
            }
        }
        default(info);
    }));
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    exit_on_output_errors();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Status::Failure.into()
            } else {
                Status::Clean.into()
            };
        }
    };
    let status = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Report(args) => report::run(args),
        Command::Timeline(args) => report::run_timeline(args),
        Command::Why(args) => why::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Versions(args) => versions::run(args),
        Command::Pause(args) => pause::pause(args),
        Command::Resume(args) => pause::resume(args),
        Command::Graph(args) => graph::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Test(args) => test::run_cmd(args),
        Command::Repl(args) => repl::run(args),
        Command::Run(args) => run::run(*args),
        Command::Trace(args) => trace::run(args),
        Command::Tasks(args) => tasks::run(args),
        Command::Log(args) => log::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Outbox(args) => outbox::run(args),
        Command::Mail(args) => mail::run(args),
        Command::Backup(args) => backup::run(args),
        Command::Token(args) => token::run(args),
        Command::Config(args) => config::run(args),
    };
    status.into()
}
