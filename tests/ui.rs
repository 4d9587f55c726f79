//! Compile-time checks: one fault per file under `tests/ui/<macro>/`, each with the
//! expected compiler output committed next to it; `tests/ui/pass/` holds tricky inputs
//! that must compile warning-free. The expected output is that of `--all-features`
//! (as `scripts/test.sh` runs it): the lists of implementing types depend on them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/monitored/*.rs");
    t.compile_fail("tests/ui/timed_field/*.rs");
    t.compile_fail("tests/ui/usage/*.rs");
    t.compile_fail("tests/ui/point/*.rs");
    t.pass("tests/ui/pass/*.rs");
    if cfg!(feature = "axum") {
        t.pass("tests/ui/axum/*.rs");
    }
    if cfg!(feature = "actix") {
        t.pass("tests/ui/actix/*.rs");
    }
}
