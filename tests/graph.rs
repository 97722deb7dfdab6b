//! `cadence graph`: golden Mermaid and DOT output, and every edge between declared nodes.

use std::process::Command;

fn graph(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("graph")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

#[test]
fn mermaid_flowchart() {
    let (code, out) = graph(&["tests/fixtures/repl/onboarding.cadence"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("onboarding_mermaid", out);
}

#[test]
fn dot_digraph() {
    let (code, out) = graph(&["tests/fixtures/repl/onboarding.cadence", "--format", "dot"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("onboarding_dot", out);
}

#[test]
fn every_example_draws_with_edges_between_declared_nodes() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|x| x != "cadence") {
            continue;
        }
        let (code, out) = graph(&[p.to_str().unwrap(), "--format", "mermaid"]);
        assert_eq!(code, 0, "{}", p.display());
        assert!(out.contains("flowchart TD"));
        let mut nodes = Vec::new();
        for line in out.lines().map(str::trim) {
            if let Some(id) = line
                .split(['[', '(', '{'])
                .next()
                .filter(|_| !line.contains("-->") && !line.contains("-.->"))
            {
                if line.contains('[') || line.contains("{{") || line.contains("([") {
                    nodes.push(id.to_string());
                }
            }
        }
        for line in out
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("-->") || l.contains("-.->"))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (from, to) = (words[0], *words.last().unwrap());
            assert!(
                nodes.iter().any(|n| n == from),
                "{}: undeclared {from} in {line}",
                p.display()
            );
            assert!(
                nodes.iter().any(|n| n == to),
                "{}: undeclared {to} in {line}",
                p.display()
            );
        }
        let (code, dot) = graph(&[p.to_str().unwrap(), "--format", "dot"]);
        assert_eq!(code, 0);
        assert!(dot.starts_with("digraph ") && dot.trim_end().ends_with('}'));
        assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    }
}

#[test]
fn a_file_with_errors_is_not_drawn() {
    let (code, out) = graph(&["tests/fixtures/check/E103_missing_step.cadence"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
}

#[test]
fn different_exit_reasons_get_different_nodes() {
    let dir = std::env::temp_dir().join(format!("cadence-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("g.cadence");
    std::fs::write(
        &p,
        "cadence \"Outbound: VP Sales\"\nexit \"paid when due\" when status == \"paid\"\nstep 1: call \"x\"\n  on answered -> exit \"退订\"\n  on no_answer -> exit \"无效\"\n  on overdue 1d -> exit \"bad-address\"\n",
    )
    .unwrap();
    let (code, out) = graph(&[p.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("title: \"Outbound: VP Sales\""), "{out}");
    for reason in [
        "exit: 退订",
        "exit: 无效",
        "exit: bad-address",
        "exit: paid when due",
    ] {
        assert_eq!(out.matches(reason).count(), 1, "{reason}: {out}");
    }
    assert!(
        out.contains("|\"when status == #quot;paid#quot;\"|"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_on_skipped_line_is_drawn_as_a_dotted_skip_edge_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("skip.cadence");
    std::fs::write(
        &f,
        "template case_study { subject \"A case study\"; body \"Hi {{unsubscribe_link}}\" }\n\
         template sorry { subject \"Sorry I missed you\"; body \"Hi {{unsubscribe_link}}\" }\n\
         step 1: call \"Intro call\" if phone is set\n  on skipped -> step 3\n  on answered -> done\n  on overdue 2d -> next\n\
         step 2: email sorry\n\
         step 3: email case_study after 2d\n",
    )
    .unwrap();
    let (code, out) = graph(&[f.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("s1 -.->|\"skipped\"| s3"), "{out}");
    assert!(
        !out.contains("s1 -.->|\"skipped\"| s2"),
        "no implicit skip to the next: {out}"
    );
}
