//! Compile-time checks: one fault per file under `tests/ui/<macro>/`, each with the
//! expected compiler output committed next to it; `tests/ui/pass/` holds tricky inputs
//! that must compile warning-free. The expected output is that of `--all-features`
//! (as `scripts/test.sh` runs it): the lists of implementing types depend on them.

#[test]
fn ui() {
    // trybuild builds its own project (under target/tests/trybuild) with cargo's default
    // profile, full debug info for every dependency; line tables are enough here and
    // take a fraction of the disk (the only test in this binary, so no other thread
    // reads the environment).
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "line-tables-only");
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
