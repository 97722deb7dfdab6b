//! Text -> AST: statement cutting, the pest grammar, and the syntax tree with spans.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod source;
pub mod span;

pub use parser::{closest, dedent, parse};
pub use source::{FileId, SourceFile, Sources};
pub use span::{Span, Spanned};
