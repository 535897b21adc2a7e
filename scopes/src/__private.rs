//! What the macros' expanded code calls. Not public API.

pub use crate::engine::child::{BoxFuture, LocalBoxFuture};
pub use std::boxed::Box;
pub use std::result::Result::Ok;
