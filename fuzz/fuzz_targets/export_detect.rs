//! Export folders: the first byte picks a file name in a tenant folder, the rest is the file (format detection, unwrapping, mapping).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    partner_audit::fuzzing::export_detect(data);
});
