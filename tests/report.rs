//! `cadence report` and `cadence timeline`: numbers checked against a hand-counted trace, the
//! HTML parsed and self-contained, and (when Chromium is there) rendered and looked at.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cadence(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const TRACE: &str = "tests/fixtures/report/trace.jsonl";
const CADENCE: &str = "tests/fixtures/sim/onboarding.cadence";

fn json() -> serde_json::Value {
    let (_, out, _) = cadence(&["report", TRACE, CADENCE, "--format", "json"]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn numbers_match_the_hand_count() {
    let v = json();
    let c = &v["cadences"][0];
    assert_eq!(c["cadence"], "Onboarding");
    assert_eq!(c["enrolled"], 4);
    assert_eq!(c["active"], 0);
    assert_eq!(c["completed"], 2);
    assert_eq!(c["exited"]["unenrolled"], 1);
    assert_eq!(c["goals"]["converted"], 1);
    assert_eq!(c["conversion"], 0.25);
    assert_eq!(c["time_to_goal"]["median"], 4 * 86_400);
    assert_eq!(c["time_to_exit"]["median"], 2 * 86_400);
    let s1 = &c["steps"][0];
    assert_eq!(
        (
            s1["step"].as_u64(),
            s1["entered"].as_u64(),
            s1["executed"].as_u64()
        ),
        (Some(1), Some(4), Some(3))
    );
    assert_eq!(s1["skipped"]["no_email"], 1);
    // a opened twice (counted once), b clicked (a click is an open too).
    assert_eq!(s1["outcomes"]["opened"], 2);
    assert_eq!(s1["outcomes"]["clicked"], 1);
    assert_eq!(s1["timeouts"]["no_open"], 1);
    let s2 = &c["steps"][1];
    assert_eq!(s2["executed"], 3);
    assert_eq!(s2["outcomes"]["answered"], 1);
    assert_eq!(s2["outcomes"]["voicemail"], 1);
    assert!(
        s2["outcomes"].get("opened").is_none(),
        "calls are not opened"
    );
    assert_eq!(s2["timeouts"]["overdue"], 1);
    assert_eq!(c["steps"][2]["executed"], 1);
    let branch = |from: u64, on: &str| {
        c["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["from"] == from && b["on"] == on)
            .unwrap()["taken"]
            .clone()
    };
    assert_eq!(branch(1, "opened"), 2);
    assert_eq!(branch(1, "no_open"), 1);
    assert_eq!(branch(2, "answered"), 1);
    assert_eq!(branch(2, "overdue"), 1);
}

#[test]
fn a_bad_trace_line_is_reported_with_its_number() {
    let (code, _, stderr) = cadence(&["report", TRACE]);
    assert_eq!(code, 1);
    assert!(stderr.contains("trace.jsonl:27: not JSON"), "{stderr}");
}

#[test]
fn text_tables() {
    let (_, out, _) = cadence(&["report", TRACE, CADENCE]);
    insta::assert_snapshot!("report_text", out);
}

fn html() -> String {
    cadence(&["report", TRACE, CADENCE, "--format", "html"]).1
}

#[test]
fn the_html_parses_and_is_self_contained() {
    let page = html();
    let dom = tl::parse(&page, tl::ParserOptions::default()).expect("parses as HTML");
    let parser = dom.parser();
    let count = |sel: &str| dom.query_selector(sel).map_or(0, |q| q.count());
    assert_eq!(count("html"), 1);
    assert_eq!(count("title"), 1);
    assert_eq!(count("section.cadence"), 1);
    assert_eq!(count("svg.funnel"), 1);
    assert_eq!(count("svg.flow"), 1);
    assert_eq!(count("table.steps"), 1);
    // Enrolled, three steps, goal.
    let bars: Vec<u64> = dom
        .query_selector("rect.bar")
        .unwrap()
        .filter_map(|h| {
            h.get(parser)?
                .as_tag()?
                .attributes()
                .get("data-value")??
                .as_utf8_str()
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(bars, [4, 3, 3, 1, 1]);
    for bad in [
        "<script", "<link", "src=", "href=", "http://", "https://", "@import", "url(http",
    ] {
        assert!(!page.contains(bad), "not self-contained: found {bad}");
    }
}

#[test]
fn timeline_shows_where_a_record_stands() {
    let (code, out, _) = cadence(&["timeline", "b", TRACE, CADENCE]);
    assert_eq!(code, 1, "the trace has a bad line");
    assert!(
        out.contains("\"Onboarding\": reached goal \"converted\" at 2026-01-09T09:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("2026-01-05 11:00:00Z  clicked (step 1)"),
        "{out}"
    );
    let (_, out, _) = cadence(&["timeline", "nobody", TRACE]);
    assert!(out.is_empty());
}

#[test]
fn timeline_of_an_active_record_says_what_comes_next() {
    let dir = std::env::temp_dir().join(format!("cadence-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.jsonl");
    std::fs::write(
        &trace,
        "{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"z\",\"cadence\":\"Onboarding\",\"kind\":\"enrolled\"}\n{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"z\",\"cadence\":\"Onboarding\",\"kind\":\"executed\",\"step\":1,\"action\":\"email\",\"name\":\"welcome\"}\n",
    )
    .unwrap();
    let (code, out, _) = cadence(&["timeline", "z", trace.to_str().unwrap(), CADENCE]);
    assert_eq!(code, 0);
    assert!(out.contains("active: step 1 (executed 2026-01-05T09:00:00Z); next: no_open at 2026-01-08T09:00:00Z unless it happens first"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Renders the report in headless Chromium and looks at the picture: not blank, and the funnel
/// bars as long as their numbers say. Chromium comes from Debian's `chromium` package, which
/// `.ci/run` installs; without it this test says so and skips (and fails when
/// CADENCE_REQUIRE_BROWSER is set).
#[test]
fn the_report_renders_in_a_browser() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var_os("CADENCE_REQUIRE_BROWSER").is_none(),
            "Chromium is required but not installed"
        );
        eprintln!("SKIPPED the_report_renders_in_a_browser: no Chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cadence-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, html()).unwrap();
    let shot = dir.join("shot.png");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.line_size / info.width as usize;
    let px = |x: usize, y: usize| {
        let i = y * info.line_size + x * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    let non_white = (0..info.height as usize)
        .flat_map(|y| (0..info.width as usize).map(move |x| (x, y)))
        .filter(|&(x, y)| px(x, y) != (255, 255, 255))
        .count();
    assert!(
        non_white > 10_000,
        "the page looks blank ({non_white} non-white pixels)"
    );
    // Funnel bars: #1e40af (enrolled), #2563eb (steps), #047857 (goal). Each bar is a run of
    // rows holding one of those colours; its width is the length of the run in its middle row.
    let is_bar = |(r, g, b): (u8, u8, u8)| {
        let near = |c: (u8, u8, u8)| {
            (r as i32 - c.0 as i32).abs() < 12
                && (g as i32 - c.1 as i32).abs() < 12
                && (b as i32 - c.2 as i32).abs() < 12
        };
        near((0x1e, 0x40, 0xaf)) || near((0x25, 0x63, 0xeb)) || near((0x04, 0x78, 0x57))
    };
    let mut widths = Vec::new();
    let mut y = 0;
    let h = info.height as usize;
    while y < h {
        let row_width = |y: usize| {
            (0..info.width as usize)
                .filter(|&x| is_bar(px(x, y)))
                .count()
        };
        if row_width(y) > 0 {
            let start = y;
            while y < h && row_width(y) > 0 {
                y += 1;
            }
            widths.push(row_width((start + y) / 2));
        }
        y += 1;
    }
    // The first five runs are the funnel (the flowchart below uses other colours).
    let funnel: Vec<usize> = widths.into_iter().take(5).collect();
    let values = [4.0, 3.0, 3.0, 1.0, 1.0];
    assert_eq!(funnel.len(), 5, "found bars {funnel:?}");
    for (i, w) in funnel.iter().enumerate() {
        let expected = values[i] / 4.0 * funnel[0] as f64;
        assert!(
            (*w as f64 - expected).abs() <= 3.0,
            "bar {i} is {w} px, expected about {expected:.0}: {funnel:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// For every example: simulate its story, report it, and the numbers add up.
#[test]
fn every_examples_report_adds_up() {
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|x| x != "cadence") {
            continue;
        }
        let events = p.with_extension("events.csv");
        let (code, trace, err) = cadence(&[
            "simulate",
            p.to_str().unwrap(),
            "--contacts",
            "examples/contacts.csv",
            "--events",
            events.to_str().unwrap(),
            "--format",
            "jsonl",
        ]);
        assert_eq!(code, 0, "{err}");
        let dir = std::env::temp_dir().join(format!("cadence-addup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = dir.join("trace.jsonl");
        std::fs::write(&t, &trace).unwrap();
        let (code, out, err) = cadence(&[
            "report",
            t.to_str().unwrap(),
            p.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for c in v["cadences"].as_array().unwrap() {
            let n = |k: &str| c[k].as_u64().unwrap();
            let sum = |k: &str| {
                c[k].as_object()
                    .unwrap()
                    .values()
                    .map(|x| x.as_u64().unwrap())
                    .sum::<u64>()
            };
            assert_eq!(
                n("enrolled"),
                n("active") + n("completed") + sum("exited") + sum("goals"),
                "{}",
                p.display()
            );
            let enrolled_in_trace = trace.matches("\"kind\":\"enrolled\"").count() as u64;
            assert_eq!(n("enrolled"), enrolled_in_trace);
            for s in c["steps"].as_array().unwrap() {
                let skipped: u64 = s["skipped"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|x| x.as_u64().unwrap())
                    .sum();
                assert_eq!(
                    s["entered"].as_u64().unwrap(),
                    s["executed"].as_u64().unwrap() + skipped
                );
                for (k, r) in s["rates"].as_object().unwrap() {
                    assert!(
                        r.as_f64().unwrap() <= 1.0,
                        "{} step {} {k}",
                        p.display(),
                        s["step"]
                    );
                }
            }
            let transitions = trace.matches("\"kind\":\"transition\"").count() as u64;
            let taken: u64 = c["branches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["taken"].as_u64().unwrap())
                .sum();
            assert_eq!(taken, transitions, "{}", p.display());
        }
        let (code, html, _) = cadence(&[
            "report",
            t.to_str().unwrap(),
            p.to_str().unwrap(),
            "--format",
            "html",
        ]);
        assert_eq!(code, 0);
        assert!(html.contains("<svg class=\"funnel\"") && html.contains("<svg class=\"flow\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn rates_count_each_message_once_even_after_re_enrolment() {
    let dir = std::env::temp_dir().join(format!("cadence-reenrol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("t.jsonl");
    let line = |at: &str, kind: &str, extra: &str| {
        format!(
            "{{\"at\":\"{at}\",\"contact\":\"a\",\"cadence\":\"R\",\"kind\":\"{kind}\"{extra}}}\n"
        )
    };
    let mut trace = String::new();
    for day in ["05", "20"] {
        trace.push_str(&line(&format!("2026-01-{day}T09:00:00Z"), "enrolled", ""));
        trace.push_str(&line(
            &format!("2026-01-{day}T09:00:00Z"),
            "executed",
            ",\"step\":1,\"action\":\"email\",\"name\":\"w\"",
        ));
        trace.push_str(&line(
            &format!("2026-01-{day}T10:00:00Z"),
            "event",
            ",\"step\":1,\"event\":\"opened\"",
        ));
        trace.push_str(&line(&format!("2026-01-{day}T10:00:00Z"), "completed", ""));
    }
    std::fs::write(&t, trace).unwrap();
    let (_, out, _) = cadence(&["report", t.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["cadences"][0]["steps"][0];
    assert_eq!(s["executed"], 2);
    assert_eq!(s["outcomes"]["opened"], 2);
    assert_eq!(s["rates"]["opened"], 1.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn machines_opens_are_counted_apart_and_as_people_s_only_where_the_cadence_says_so() {
    let trace = "\
{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"enrolled\"}
{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"executed\",\"step\":1,\"action\":\"email\",\"name\":\"welcome\"}
{\"at\":\"2026-01-05T09:00:05Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"event\",\"step\":1,\"event\":\"opened\",\"machine\":true}
{\"at\":\"2026-01-05T09:00:06Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"event\",\"step\":1,\"event\":\"clicked\",\"machine\":true}
";
    let (records, bad) = cadence::report::read_trace(trace.as_bytes());
    assert!(bad.is_empty());
    let program = |track: &str| {
        let text = format!(
            "cadence \"T\"\n{track}\ntemplate welcome {{ subject \"Hi\"; body \"<p>Hi https://a.test {{{{unsubscribe_link}}}}</p>\" }}\nstep 1: email welcome\n  on opened -> done\n"
        );
        let mut sources = cadence::syntax::Sources::new();
        let id = sources.add("t.cadence", &text);
        cadence::check::check(&mut sources, &[id]).program.unwrap()
    };
    let plain = program("track opens, clicks");
    let r = cadence::report::report(&records, Some(&plain));
    let s = &r.cadences[0].steps[0];
    assert_eq!(s.machine.get("opened"), Some(&1));
    assert_eq!(s.machine.get("clicked"), Some(&1));
    assert!(s.outcomes.is_empty(), "{:?}", s.outcomes);
    let counted = program("track opens including machine, clicks");
    let r = cadence::report::report(&records, Some(&counted));
    let s = &r.cadences[0].steps[0];
    assert_eq!(s.outcomes.get("opened"), Some(&1));
    assert_eq!(s.outcomes.get("clicked"), None);
    assert_eq!(s.machine.get("opened"), Some(&1));
}

#[test]
fn a_folder_given_as_the_trace_is_an_error_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [vec!["report", d], vec!["timeline", "c1", d]] {
        let t0 = std::time::Instant::now();
        let (code, _, err) = cadence(&args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("it is a folder, not a file"), "{err}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }
    // A reader that fails after some lines stops there, with the line.
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk failed"));
            }
            self.0 -= 1;
            let line = b"{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"enrolled\"}\n";
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
    let (records, bad) = cadence::report::read_trace(std::io::BufReader::new(Failing(2)));
    assert_eq!(records.len(), 2);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].1.contains("cannot read on"), "{bad:?}");
}

#[test]
fn malformed_records_are_reported_with_their_line_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let rec = |at: &str, rest: &str| {
        format!("{{\"at\":\"{at}\",\"contact\":\"c1\",\"cadence\":\"T\",{rest}}}\n")
    };
    let text = [
        rec("2026-01-05T09:00:00Z", "\"kind\":\"enrolled\""),
        rec(
            "2026-01-05T09:00:00Z",
            "\"kind\":\"executed\",\"step\":4294967297,\"action\":\"email\",\"name\":\"w\"",
        ),
        rec("2026-01-05T09:00:00Z", "\"kind\":\"teleported\""),
        rec("2026-01-05T10:00:00Z", "\"kind\":\"goal\""),
        rec("2026-01-05T08:00:00Z", "\"kind\":\"completed\""),
        rec("2026-01-05T11:00:00Z", "\"kind\":\"goal\",\"name\":\"won\""),
    ]
    .concat();
    std::fs::write(&t, text).unwrap();
    let (code, out, err) = cadence(&["report", t.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let f = t.display().to_string();
    assert!(
        err.contains(&format!("{f}:2: a `executed` record needs `step`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:3: unknown kind `teleported`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:4: a `goal` record needs `name`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:5: this record is earlier")),
        "{err}"
    );
    // What is left counts once: one enrolment, one goal, never 200%.
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cadences"][0]["enrolled"], 1);
    assert_eq!(v["cadences"][0]["goals"]["won"], 1);
}

#[test]
fn a_trace_of_a_hundred_thousand_cadences_is_reported_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let text: String = (0..100_000)
        .map(|i| {
            format!("{{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c{i}\",\"cadence\":\"cad{i}\",\"kind\":\"enrolled\"}}\n")
        })
        .collect();
    std::fs::write(&t, text).unwrap();
    let t0 = std::time::Instant::now();
    let (code, out, err) = cadence(&["report", t.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cadences"].as_array().unwrap().len(), 100_000);
    assert_eq!(v["cadences"][99_999]["cadence"], "cad99999");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        t0.elapsed()
    );
}

/// A trace written by hand: (at, contact, kind and its keys).
fn trace_of(lines: &[(&str, &str, &str)]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for (at, contact, rest) in lines {
        use std::io::Write;
        writeln!(
            f,
            "{{\"at\":\"{at}\",\"contact\":\"{contact}\",\"cadence\":\"Outbound\",{rest}}}"
        )
        .unwrap();
    }
    f
}

/// The `executed` keys of email step `step` (template `tSTEP`).
fn email_sent(step: u32) -> String {
    format!("\"kind\":\"executed\",\"step\":{step},\"action\":\"email\",\"name\":\"t{step}\"")
}

/// A story that starts with a, b and c enrolled and a and b sent step 1, then `rest`.
fn story(rest: &[(&str, &str, &str)]) -> tempfile::NamedTempFile {
    let e1 = email_sent(1);
    let mut lines: Vec<(&str, &str, &str)> = vec![
        ("2026-01-05T09:00:00Z", "a", "\"kind\":\"enrolled\""),
        ("2026-01-05T09:00:00Z", "b", "\"kind\":\"enrolled\""),
        ("2026-01-05T09:00:00Z", "c", "\"kind\":\"enrolled\""),
        ("2026-01-05T09:00:00Z", "a", &e1),
        ("2026-01-05T09:00:00Z", "b", &e1),
    ];
    lines.extend_from_slice(rest);
    trace_of(&lines)
}

#[test]
fn the_email_funnel_counts_unique_contacts_and_leaves_machines_out() {
    let e2 = email_sent(2);
    let f = story(&[
        // a opens twice, on two emails: one contact.
        (
            "2026-01-05T10:00:00Z",
            "a",
            "\"kind\":\"event\",\"step\":1,\"event\":\"opened\"",
        ),
        // b's open is a mail proxy's.
        (
            "2026-01-05T10:00:00Z",
            "b",
            "\"kind\":\"event\",\"step\":1,\"event\":\"opened\",\"machine\":true",
        ),
        ("2026-01-06T09:00:00Z", "a", &e2),
        (
            "2026-01-06T10:00:00Z",
            "a",
            "\"kind\":\"event\",\"step\":2,\"event\":\"opened\"",
        ),
        // b replies without an open: the reply counts as one.
        (
            "2026-01-06T11:00:00Z",
            "b",
            "\"kind\":\"event\",\"step\":1,\"event\":\"replied\"",
        ),
    ]);
    let (code, out, err) = cadence(&["report", f.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stages: Vec<(String, u64)> = v["cadences"][0]["email_funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["contacts"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("enrolled", 3),
        ("sent", 2),
        ("opened", 2),
        ("clicked", 0),
        ("replied", 1),
    ];
    assert_eq!(
        stages,
        want.iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect::<Vec<_>>()
    );
    // Rates: sent of enrolled, the others of sent.
    assert_eq!(v["cadences"][0]["email_funnel"][1]["rate"], 2.0 / 3.0);
    assert_eq!(v["cadences"][0]["email_funnel"][4]["rate"], 0.5);
}

#[test]
fn a_goal_is_counted_at_the_step_the_contact_had_reached_not_the_last_step() {
    let (e2, e3) = (email_sent(2), email_sent(3));
    let f = story(&[
        // a books a meeting after the first email: never sent the breakup email (step 3).
        (
            "2026-01-06T09:00:00Z",
            "a",
            "\"kind\":\"goal\",\"name\":\"meeting booked\"",
        ),
        ("2026-01-06T09:00:00Z", "b", &e2),
        ("2026-01-07T09:00:00Z", "b", &e3),
        (
            "2026-01-07T10:00:00Z",
            "b",
            "\"kind\":\"goal\",\"name\":\"meeting booked\"",
        ),
        // c leaves before anything was sent.
        (
            "2026-01-07T11:00:00Z",
            "c",
            "\"kind\":\"exited\",\"reason\":\"unenrolled\"",
        ),
    ]);
    let (_, out, _) = cadence(&["report", f.path().to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let endings = &v["cadences"][0]["endings"];
    assert_eq!(endings[0]["kind"], "goal");
    assert_eq!(endings[0]["total"], 2);
    assert_eq!(endings[0]["at"]["step 1"], 1);
    assert_eq!(endings[0]["at"]["step 3"], 1);
    assert_eq!(endings[1]["kind"], "exit");
    assert_eq!(endings[1]["at"]["before step 1"], 1);
    let (_, text, _) = cadence(&["report", f.path().to_str().unwrap()]);
    assert!(
        text.contains("goal \"meeting booked\": 2 (after step 1: 1, step 3: 1)"),
        "{text}"
    );
    assert!(
        text.contains("exited \"unenrolled\": 1 (before step 1: 1)"),
        "{text}"
    );
}

#[test]
fn the_page_is_titled_by_its_cadences_dated_and_draws_each_ending_as_its_own_node() {
    let page = || {
        let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(["report", TRACE, CADENCE, "--format", "html"])
            .current_dir(root())
            .env("SOURCE_DATE_EPOCH", "1767225600")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let html = page();
    assert!(
        html.contains("<h1>Cadence report: Onboarding</h1>"),
        "{}",
        &html[..600]
    );
    // The period the trace covers, and when the page was made (SOURCE_DATE_EPOCH).
    assert!(
        html.contains("2026-01-05 09:00:00Z to 2026-01-10 09:00:00Z"),
        "{}",
        &html[..800]
    );
    assert!(html.contains("generated 2026-01-01 00:00:00Z"));
    assert_eq!(html, page(), "the same trace and epoch give the same bytes");
    // Each goal and exit reason is an end node of the flowchart.
    assert!(html.contains(">goal: converted</text>"), "no goal node");
    assert!(html.contains(">exit: unenrolled</text>"), "no exit node");
}
