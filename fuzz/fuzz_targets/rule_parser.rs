//! The rule parser: the input is a rule file (TOML, with its query expression).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    partner_audit::fuzzing::rule_parser(data);
});
