//! The contacts and events CSV readers on any bytes.
#![no_main]

use std::sync::OnceLock;

use cadence::check::{check, Program};
use cadence::engine::Catalog;
use cadence::syntax::Sources;
use libfuzzer_sys::fuzz_target;

const CADENCE: &str = include_str!("../../../examples/saas_onboarding.cadence");

/// The example's program and catalog, checked once (not once per input).
fn program() -> &'static (Program, Catalog) {
    static PROGRAM: OnceLock<(Program, Catalog)> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let mut sources = Sources::new();
        let id = sources.add("saas_onboarding.cadence", CADENCE);
        let program = check(&mut sources, &[id]).program.expect("the example checks");
        let catalog = Catalog::new(&program);
        (program, catalog)
    })
}

fuzz_target!(|data: &[u8]| {
    let (program, catalog) = program();
    let _ = cadence::sim::read_contacts(data, catalog);
    let _ = cadence::sim::read_events(data, program, catalog, &|_| Some(0));
});
