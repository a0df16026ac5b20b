//! The canonical CSV loader: the first byte picks the table, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    partner_audit::fuzzing::csv_loader(data);
});
