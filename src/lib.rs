//! cadence: a language for sales cadences.
//!
//! Data flows one way: text -> [`syntax`] -> AST -> [`check`] -> [`check::Program`] ->
//! engine -> trace. See `src/README.md` for the map of the source tree.

pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod diff;
pub mod engine;
pub mod fmt;
pub mod graph;
pub mod http;
pub mod lint;
pub mod lsp;
pub mod mail;
pub mod repl;
pub mod report;
pub mod runner;
pub mod sim;
pub mod store;
pub mod syntax;
pub mod testing;
pub mod time;
