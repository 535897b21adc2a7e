//! Compile-time checks (SPEC §5): each `tests/ui/*.rs` is one misuse whose
//! error (snapshot in the `.stderr` next to it) lands on the user's token
//! and, for the macros' own errors, says what to do; `tests/ui/pass/*.rs`
//! are the forms that must keep compiling.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`
//! and read every changed `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
