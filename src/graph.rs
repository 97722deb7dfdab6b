//! `cadence graph`: a flowchart of a cadence, as Mermaid (renders in GitHub pull requests) or
//! Graphviz DOT. Steps are nodes labelled with their action and timing; `on` lines are edges
//! labelled with their event; fall-through is dashed and skips dotted; the endings (completed,
//! each exit reason, each goal) are end nodes; cadence-wide rules hang off an "any step" node.

use crate::check::{Action, At, Cadence, EndTrigger, EventName, Program};
use crate::lint::graph::{edges, Dest, Via};
use crate::syntax::{ast, FileId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Mermaid,
    Dot,
}

struct Node {
    id: String,
    label: Vec<String>,
    kind: NodeKind,
}

#[derive(PartialEq)]
enum NodeKind {
    Start,
    Step,
    Done,
    Exit,
    Goal,
    Any,
}

struct Arrow {
    from: String,
    to: String,
    label: String,
    dashed: bool,
    dotted: bool,
}

fn step_label(program: &Program, c: &Cadence, i: usize) -> Vec<String> {
    let s = &c.steps[i];
    let mut lines = vec![match &s.label {
        Some(l) => format!("step {}: {l}", s.number),
        None => format!("step {}", s.number),
    }];
    lines.push(match &s.action {
        Action::Email { template, variants } if variants.is_empty() => {
            format!("email {}", program.templates[template.0].name)
        }
        Action::Email { variants, .. } => {
            let list: Vec<String> = variants
                .iter()
                .map(|v| {
                    format!(
                        "{} {}%",
                        program.templates[v.template.0].name,
                        crate::check::show_weight(v.weight)
                    )
                })
                .collect();
            format!("email A/B: {}", list.join(" / "))
        }
        Action::Call { subject } => format!("call: {subject}"),
        Action::Task { subject, .. } => format!("task: {subject}"),
    });
    let mut timing = Vec::new();
    if !s.after.is_zero() {
        timing.push(format!("after {}", s.after));
    }
    match &s.at {
        Some(At::Cron(c)) => timing.push(format!("at {}", c.source())),
        Some(At::Field {
            field,
            offset,
            negative,
        }) => {
            let name = &c.schema.field(*field).name;
            if offset.is_zero() {
                timing.push(format!("at {name}"));
            } else {
                timing.push(format!(
                    "at {name} {} {offset}",
                    if *negative { "-" } else { "+" }
                ));
            }
        }
        None => {}
    }
    if s.guard.is_some() {
        timing.push("if ...".into());
    }
    if !timing.is_empty() {
        lines.push(timing.join(", "));
    }
    lines
}

/// The node of an ending, created on first use; ids are numbered, so any two different
/// reasons get different nodes.
fn end_node(nodes: &mut Vec<Node>, prefix: &str, label: String, kind: NodeKind) -> String {
    if let Some(n) = nodes.iter().find(|n| n.kind == kind && n.label[0] == label) {
        return n.id.clone();
    }
    let id = format!(
        "{prefix}{}",
        nodes.iter().filter(|n| n.kind == kind).count() + 1
    );
    nodes.push(Node {
        id: id.clone(),
        label: vec![label],
        kind,
    });
    id
}

fn build(program: &Program, files: &[(FileId, ast::File)], c: &Cadence) -> (Vec<Node>, Vec<Arrow>) {
    let mut nodes = vec![Node {
        id: "start".into(),
        label: vec!["enrolled".into()],
        kind: NodeKind::Start,
    }];
    let mut arrows = Vec::new();
    for i in 0..c.steps.len() {
        nodes.push(Node {
            id: format!("s{}", c.steps[i].number),
            label: step_label(program, c, i),
            kind: NodeKind::Step,
        });
    }
    if let Some(s) = c.steps.first() {
        arrows.push(Arrow {
            from: "start".into(),
            to: format!("s{}", s.number),
            label: String::new(),
            dashed: false,
            dotted: false,
        });
    }
    let end = |nodes: &mut Vec<Node>, d: &Dest| -> String {
        match d {
            Dest::Step(j) => format!("s{}", c.steps[*j].number),
            Dest::Done => end_node(nodes, "done", "completed".to_string(), NodeKind::Done),
            Dest::Exit(r) => end_node(nodes, "exit", format!("exit: {r}"), NodeKind::Exit),
        }
    };
    for e in edges(c) {
        // Any email step is skipped when the record has no address; only deliberate skips
        // (an `if`, an `at FIELD`, an `on skipped` line) are drawn.
        let s = &c.steps[e.from];
        if e.via == Via::Skip
            && e.handler.is_none()
            && s.guard.is_none()
            && !matches!(s.at, Some(At::Field { .. }))
        {
            continue;
        }
        let to = end(&mut nodes, &e.to);
        let (label, dashed, dotted) = match &e.via {
            Via::Event(o) => (o.name().to_string(), false, false),
            Via::Timeout(t, d) => (format!("{} {d}", t.name()), false, false),
            Via::Next => (String::new(), true, false),
            Via::Skip => ("skipped".to_string(), false, true),
        };
        arrows.push(Arrow {
            from: format!("s{}", c.steps[e.from].number),
            to,
            label,
            dashed,
            dotted,
        });
    }
    // Cadence-wide rules: from any step.
    let rules: Vec<_> = c
        .exits
        .iter()
        .map(|r| (r, false))
        .chain(c.goals.iter().map(|r| (r, true)))
        .collect();
    if !rules.is_empty() {
        nodes.push(Node {
            id: "any".into(),
            label: vec!["any step".into()],
            kind: NodeKind::Any,
        });
        for (r, goal) in rules {
            let id = if goal {
                end_node(
                    &mut nodes,
                    "goal",
                    format!("goal: {}", r.name),
                    NodeKind::Goal,
                )
            } else {
                end_node(
                    &mut nodes,
                    "exit",
                    format!("exit: {}", r.name),
                    NodeKind::Exit,
                )
            };
            let how = match &r.trigger {
                EndTrigger::Event(EventName::Outcome(o)) => format!("on {}", o.name()),
                EndTrigger::Event(EventName::Custom(i)) => {
                    format!("on {}", program.custom_events[*i])
                }
                EndTrigger::When(_) => {
                    // The condition as written, from the syntax tree.
                    let cond = files
                        .iter()
                        .filter(|(f, _)| *f == c.file)
                        .flat_map(|(_, a)| &a.items)
                        .find(|i| i.span == r.span)
                        .and_then(|i| match &i.kind {
                            ast::ItemKind::Exit(x) | ast::ItemKind::Goal(x) => match &x.trigger {
                                ast::Trigger::When(e) => Some(crate::fmt::expr(e)),
                                ast::Trigger::On(_) => None,
                            },
                            _ => None,
                        });
                    format!("when {}", cond.unwrap_or_else(|| "...".into()))
                }
            };
            arrows.push(Arrow {
                from: "any".into(),
                to: id,
                label: how,
                dashed: true,
                dotted: false,
            });
        }
    }
    (nodes, arrows)
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('\n', " ")
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The flowchart of every cadence of the program.
pub fn render(program: &Program, files: &[(FileId, ast::File)], style: Style) -> String {
    let mut out = String::new();
    for c in &program.cadences {
        let (nodes, arrows) = build(program, files, c);
        match style {
            Style::Mermaid => {
                // The title is a YAML string: quoted, with `"` and `\\` escaped.
                let title = c.name.replace('\\', "\\\\").replace('"', "\\\"");
                out.push_str(&format!("---\ntitle: \"{title}\"\n---\nflowchart TD\n"));
                for n in &nodes {
                    let text = n
                        .label
                        .iter()
                        .map(|l| mermaid_text(l))
                        .collect::<Vec<_>>()
                        .join("<br/>");
                    let shape = match n.kind {
                        NodeKind::Step => format!("[\"{text}\"]"),
                        NodeKind::Any => format!("{{{{\"{text}\"}}}}"),
                        _ => format!("([\"{text}\"])"),
                    };
                    out.push_str(&format!("  {}{shape}\n", n.id));
                }
                for a in &arrows {
                    let arrow = if a.dashed || a.dotted { "-.->" } else { "-->" };
                    if a.label.is_empty() {
                        out.push_str(&format!("  {} {arrow} {}\n", a.from, a.to));
                    } else {
                        out.push_str(&format!(
                            "  {} {arrow}|\"{}\"| {}\n",
                            a.from,
                            mermaid_text(&a.label),
                            a.to
                        ));
                    }
                }
                out.push_str("  classDef exit fill:#fde2e1,stroke:#b42318\n  classDef goal fill:#dcfae6,stroke:#067647\n  classDef done fill:#e0f2fe,stroke:#026aa2\n");
                for n in &nodes {
                    let class = match n.kind {
                        NodeKind::Exit => "exit",
                        NodeKind::Goal => "goal",
                        NodeKind::Done => "done",
                        _ => continue,
                    };
                    out.push_str(&format!("  class {} {class}\n", n.id));
                }
            }
            Style::Dot => {
                out.push_str(&format!("digraph \"{}\" {{\n", dot_text(&c.name)));
                out.push_str("  rankdir=TB;\n  labelloc=t;\n");
                out.push_str(&format!("  label=\"{}\";\n", dot_text(&c.name)));
                out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f8fafc\", fontname=\"Helvetica\", fontsize=11];\n");
                out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
                for n in &nodes {
                    let label = n
                        .label
                        .iter()
                        .map(|l| dot_text(l))
                        .collect::<Vec<_>>()
                        .join("\\n");
                    let attrs = match n.kind {
                        NodeKind::Start => ", shape=oval, fillcolor=\"#eef2ff\"",
                        NodeKind::Step => "",
                        NodeKind::Done => ", shape=oval, fillcolor=\"#e0f2fe\"",
                        NodeKind::Exit => ", shape=oval, fillcolor=\"#fde2e1\"",
                        NodeKind::Goal => ", shape=oval, fillcolor=\"#dcfae6\"",
                        NodeKind::Any => ", shape=hexagon, fillcolor=\"#fefce8\"",
                    };
                    out.push_str(&format!("  {} [label=\"{label}\"{attrs}];\n", n.id));
                }
                for a in &arrows {
                    let mut attrs = Vec::new();
                    if !a.label.is_empty() {
                        attrs.push(format!("label=\"{}\"", dot_text(&a.label)));
                    }
                    if a.dashed {
                        attrs.push("style=dashed".into());
                    }
                    if a.dotted {
                        attrs.push("style=dotted".into());
                    }
                    let attrs = if attrs.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", attrs.join(", "))
                    };
                    out.push_str(&format!("  {} -> {}{attrs};\n", a.from, a.to));
                }
                out.push_str("}\n");
            }
        }
    }
    out
}
