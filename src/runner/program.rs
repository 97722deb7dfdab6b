//! The program a runner executes: the cadences given on the command line (their newest
//! versions, which take new enrolments), and every older version stored in the database, which
//! carries on the enrolments that started on it. A version is the text of a cadence and of the
//! files it uses, by hash: a later change of a file never rewrites history.

use std::collections::{BTreeSet, HashMap};

use crate::check::{Action, Program};
use crate::mail::sha256_hex;
use crate::store::live::{LiveStore, VersionFile, VersionRow};
use crate::syntax::{FileId, Sources};

/// The merged program, and which version each of its cadences is.
pub struct LiveProgram {
    pub program: Program,
    /// Cadence index -> version id.
    pub versions: Vec<i64>,
    /// Cadence index -> the newest version of the same cadence (its family).
    pub family: Vec<u32>,
    /// Cadence index -> whether it takes new enrolments.
    pub current: Vec<bool>,
    by_version: HashMap<i64, u32>,
}

impl LiveProgram {
    /// The cadence index of a stored version.
    pub fn index_of(&self, version: i64) -> Option<u32> {
        self.by_version.get(&version).copied()
    }

    /// Stores the versions of the cadences checked from the files given, marks exactly them
    /// deployed, and builds the program with every older version the database holds.
    pub fn deploy(
        store: &mut dyn LiveStore,
        sources: &Sources,
        given: &[FileId],
        program: Program,
        now: i64,
    ) -> Result<LiveProgram, String> {
        let db = |e: crate::store::live::LiveError| e.to_string();
        // Every file of the run: the ones given, then template bodies read by `body file`.
        let files: Vec<(VersionFile, String)> = sources
            .ids()
            .map(|id| {
                let f = sources.get(id);
                (
                    VersionFile {
                        name: f.name.clone(),
                        hash: sha256_hex(f.text.as_bytes()),
                        given: given.contains(&id),
                    },
                    f.text.clone(),
                )
            })
            .collect();
        let hashes = cadence_hashes(sources, &program);
        let mut ids = Vec::new();
        for (c, hash) in program.cadences.iter().zip(&hashes) {
            let file = sources.get(c.file).name.clone();
            ids.push(
                store
                    .add_version(&c.name, hash, &file, &files, now)
                    .map_err(db)?,
            );
        }
        store.set_deployed(&ids).map_err(db)?;
        let stored = store.versions().map_err(db)?;
        LiveProgram::build(store, program, ids, &stored)
    }

    /// The program of what the database holds: its deployed versions (in the order they were
    /// given) and every older one.
    pub fn from_store(store: &mut dyn LiveStore) -> Result<LiveProgram, String> {
        let stored = store.versions().map_err(|e| e.to_string())?;
        let deployed: Vec<&VersionRow> = stored.iter().filter(|v| v.deployed).collect();
        let mut program = Program {
            cadences: Vec::new(),
            templates: Vec::new(),
            custom_events: Vec::new(),
            tests: Vec::new(),
        };
        let mut ids = Vec::new();
        let mut checked = Checked::default();
        for v in deployed {
            let p = checked.get(store, v)?;
            let i = find(p, v)?;
            program.append_cadence(p, i);
            ids.push(v.id);
        }
        LiveProgram::build(store, program, ids, &stored)
    }

    fn build(
        store: &mut dyn LiveStore,
        mut program: Program,
        current: Vec<i64>,
        stored: &[VersionRow],
    ) -> Result<LiveProgram, String> {
        program.tests.clear();
        let mut versions = current.clone();
        let mut checked = Checked::default();
        for v in stored {
            if current.contains(&v.id) {
                continue;
            }
            let p = checked.get(store, v)?;
            let i = find(p, v)?;
            program.append_cadence(p, i);
            versions.push(v.id);
        }
        // A family is the cadences of one name; its newest version is the deployed one, or
        // else the last stored.
        let n = program.cadences.len();
        let mut family = vec![0u32; n];
        let mut head: HashMap<&str, u32> = HashMap::new();
        for (i, c) in program.cadences.iter().enumerate() {
            match head.get(c.name.as_str()) {
                // Deployed versions come first; among stored ones, the later is the newer.
                Some(&h) if (h as usize) < current.len() => {}
                _ => {
                    head.insert(c.name.as_str(), i as u32);
                }
            }
        }
        for (i, c) in program.cadences.iter().enumerate() {
            family[i] = head[c.name.as_str()];
        }
        let current_flags = (0..n).map(|i| i < current.len()).collect();
        let by_version = versions
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, i as u32))
            .collect();
        Ok(LiveProgram {
            program,
            versions,
            family,
            current: current_flags,
            by_version,
        })
    }
}

/// The version hash of each cadence of a program: of its name, its file, the files of the
/// templates it sends, library files (no cadence in them) and template bodies. Identical texts
/// give the same hash, so deploying them again makes no new version.
pub fn cadence_hashes(sources: &Sources, program: &Program) -> Vec<String> {
    let file_hash: Vec<String> = sources
        .ids()
        .map(|id| sha256_hex(sources.get(id).text.as_bytes()))
        .collect();
    let cadence_files: BTreeSet<FileId> = program.cadences.iter().map(|c| c.file).collect();
    program
        .cadences
        .iter()
        .map(|c| {
            let mut deps: BTreeSet<FileId> = BTreeSet::new();
            deps.insert(c.file);
            for s in &c.steps {
                if let Action::Email { template, variants } = &s.action {
                    deps.insert(program.templates[template.0].file);
                    for v in variants {
                        deps.insert(program.templates[v.template.0].file);
                    }
                }
            }
            for id in sources.ids() {
                if !cadence_files.contains(&id) {
                    deps.insert(id);
                }
            }
            let mut text = format!("cadence {}\n", c.name);
            for d in &deps {
                text.push_str(&file_hash[d.0]);
                text.push('\n');
            }
            sha256_hex(text.as_bytes())
        })
        .collect()
}

/// The texts of the files the deployed cadences were checked with (each file once), and which
/// of them were given: what `check` needs to build the running program again with its sources,
/// for commands that quote the cadences' lines.
pub fn deployed_sources(store: &mut dyn LiveStore) -> Result<(Sources, Vec<FileId>), String> {
    let mut stored = store.versions().map_err(|e| e.to_string())?;
    // The newest version first: a file that changed since an older deployed version (whose
    // cadence did not change) is read as the newest run gave it.
    stored.sort_by_key(|v| std::cmp::Reverse(v.id));
    let mut sources = Sources::new();
    let mut given = Vec::new();
    let mut seen: HashMap<String, FileId> = HashMap::new();
    for v in stored.iter().filter(|v| v.deployed) {
        for f in &v.files {
            if seen.contains_key(&f.hash) || sources.find(&f.name).is_some() {
                continue;
            }
            let text = store
                .source(&f.hash)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the database lacks the text of `{}`", f.name))?;
            let id = sources.add(f.name.clone(), text);
            seen.insert(f.hash.clone(), id);
            if f.given {
                given.push(id);
            }
        }
    }
    Ok((sources, given))
}

fn find(p: &Program, v: &VersionRow) -> Result<usize, String> {
    p.cadences
        .iter()
        .position(|c| c.name == v.name)
        .ok_or_else(|| {
            format!(
                "stored version {} of cadence \"{}\" does not define it any more",
                v.id, v.name
            )
        })
}

/// Stored file sets checked so far (versions deployed together share one).
#[derive(Default)]
struct Checked {
    done: Vec<(Vec<VersionFile>, Program)>,
}

impl Checked {
    fn get(&mut self, store: &mut dyn LiveStore, v: &VersionRow) -> Result<&Program, String> {
        if let Some(i) = self.done.iter().position(|(f, _)| *f == v.files) {
            return Ok(&self.done[i].1);
        }
        let mut sources = Sources::new();
        let mut given = Vec::new();
        for f in &v.files {
            let text = store
                .source(&f.hash)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "the database lacks the text of `{}` (version {} of \"{}\")",
                        f.name, v.id, v.name
                    )
                })?;
            let id = sources.add(f.name.clone(), text);
            if f.given {
                given.push(id);
            }
        }
        let checked = crate::check::check(&mut sources, &given);
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .take(3)
            .map(|d| d.message.clone())
            .collect();
        match checked.program {
            Some(p) if errors.is_empty() => {
                self.done.push((v.files.clone(), p));
                Ok(&self.done[self.done.len() - 1].1)
            }
            _ => Err(format!(
                "stored version {} of cadence \"{}\" (from `{}`) no longer checks: {}",
                v.id,
                v.name,
                v.file,
                errors.join("; ")
            )),
        }
    }
}

impl LiveProgram {
    /// Names each cadence by its version, `Trial (version 2, 3f9a1c2b)`, so that a trace or
    /// a report tells the versions apart.
    pub fn name_by_version(&mut self, store: &mut dyn LiveStore) -> Result<(), String> {
        let rows = store.versions().map_err(|e| e.to_string())?;
        for (i, c) in self.program.cadences.iter_mut().enumerate() {
            if let Some(v) = rows.iter().find(|v| Some(&v.id) == self.versions.get(i)) {
                let hash: String = v.hash.chars().take(8).collect();
                c.name = format!("{} (version {}, {hash})", c.name, v.id);
            }
        }
        Ok(())
    }
}

/// Live enrolments (not ended) per (cadence index, step index) of a [`LiveProgram`].
type LiveAt = HashMap<(u32, u32), u64>;

/// The program of the database, with every contact read and decoded once, in turn.
fn each_contact(
    store: &mut dyn LiveStore,
    visit: &mut dyn FnMut(&LiveProgram, &crate::engine::Contact),
) -> Result<LiveProgram, String> {
    let lp = LiveProgram::from_store(store)?;
    let catalog = crate::engine::Catalog::new(&lp.program);
    for id in store.contact_ids().map_err(|e| e.to_string())? {
        let Some(row) = store.contact_by_id(&id).map_err(|e| e.to_string())? else {
            continue;
        };
        let d = super::state::decode(&lp, &catalog, row.rowid, &row.id, &row.state)?;
        visit(&lp, &d.contact);
    }
    Ok(lp)
}

/// The program of the database, and its live enrolments.
fn live_enrolments(store: &mut dyn LiveStore) -> Result<(LiveProgram, LiveAt), String> {
    let mut live = LiveAt::new();
    let lp = each_contact(store, &mut |_, c| {
        for e in c.enrolments.iter().filter(|e| e.ended.is_none()) {
            *live.entry((e.cadence, e.step)).or_default() += 1;
        }
    })?;
    Ok((lp, live))
}

/// Live enrolments (not ended) per cadence name and step number, over every version: where the
/// contacts of a database are now.
pub fn live_counts(store: &mut dyn LiveStore) -> Result<HashMap<(String, u32), u64>, String> {
    let (lp, live) = live_enrolments(store)?;
    let mut out: HashMap<(String, u32), u64> = HashMap::new();
    for ((ci, si), n) in live {
        let c = &lp.program.cadences[ci as usize];
        if let Some(s) = c.steps.get(si as usize) {
            *out.entry((c.name.clone(), s.number)).or_default() += n;
        }
    }
    Ok(out)
}

/// The contacts a deploy of `new` would strand: for each cadence of `new` with a `migrate`
/// block, the live enrolments on an older version it applies to, at a step the block does not
/// map and the new version does not have. One message per such step, naming the version, the
/// step's line in that version's file, and how many contacts wait there. Without a `migrate`
/// block enrolments stay on their version, and nothing is stranded.
pub fn stranded(store: &mut dyn LiveStore, new: &Program) -> Result<Vec<String>, String> {
    if new.cadences.iter().all(|c| c.migration.is_none()) {
        return Ok(Vec::new());
    }
    let stored = store.versions().map_err(|e| e.to_string())?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let (lp, live) = live_enrolments(store)?;
    let mut out = Vec::new();
    for c in &new.cadences {
        let Some(m) = &c.migration else { continue };
        for (i, old) in lp.program.cadences.iter().enumerate() {
            let Some(v) = stored.iter().find(|v| Some(&v.id) == lp.versions.get(i)) else {
                continue;
            };
            if old.name != c.name || !m.applies_to(&v.hash) {
                continue;
            }
            for (si, s) in old.steps.iter().enumerate() {
                let n = live.get(&(i as u32, si as u32)).copied().unwrap_or(0);
                if n == 0
                    || m.destination(c, s.number, s.label.as_deref())
                        != crate::check::Destination::Stranded
                {
                    continue;
                }
                // The step's line in the file of that version, for the message.
                let line = v
                    .files
                    .iter()
                    .find(|f| f.name == v.file)
                    .and_then(|f| store.source(&f.hash).ok().flatten())
                    .map(|text| {
                        let at = s.span.start.min(text.len());
                        let no = text[..at].matches('\n').count() + 1;
                        let src = text[at..].lines().next().unwrap_or("").trim().to_string();
                        format!("{}:{no}: `{src}`", v.file)
                    })
                    .unwrap_or_else(|| format!("step {}", s.number));
                out.push(format!(
                    "deploying \"{}\" would strand {} at step {} of version {} ({line}): the new version has no step {} and its `migrate` block does not map it; add `step {} -> step N` (or `-> exit \"reason\"`) to the block",
                    c.name,
                    if n == 1 { "1 contact".to_string() } else { format!("{n} contacts") },
                    s.number,
                    &v.hash[..v.hash.len().min(12)],
                    s.number,
                    s.number
                ));
            }
        }
    }
    Ok(out)
}

/// The hash of each stored version, by id.
pub fn version_hashes(store: &mut dyn LiveStore) -> Result<HashMap<i64, String>, String> {
    Ok(store
        .versions()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|v| (v.id, v.hash))
        .collect())
}

/// Live enrolments (not ended) per stored version id.
pub fn live_by_version(store: &mut dyn LiveStore) -> Result<HashMap<i64, u64>, String> {
    let (lp, live) = live_enrolments(store)?;
    let mut out: HashMap<i64, u64> = HashMap::new();
    for ((ci, _), n) in live {
        if let Some(v) = lp.versions.get(ci as usize) {
            *out.entry(*v).or_default() += n;
        }
    }
    Ok(out)
}
