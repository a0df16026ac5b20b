//! The canonical JSON loader: the first byte picks a table file (.json or .jsonl), the manifest or a single-file snapshot; the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    partner_audit::fuzzing::json_loader(data);
});
