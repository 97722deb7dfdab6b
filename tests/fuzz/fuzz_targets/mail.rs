//! The inbound mail reader (`cadence run --imap`) on any bytes, and the return-day reader on
//! any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let _ = cadence::mail::inbound::read(data, today);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cadence::mail::inbound::return_day(text, today);
        let _ = cadence::mail::inbound::address_key(text);
    }
});
