//! One test per rule of the language's semantics (spec section 6), each a small cadence, its
//! inputs and the expected trace. 2026-01-05 is a Monday.

mod common;

use common::{run, trace, Sim, NO_EVENTS, TEMPLATES};

fn cad(body: &str) -> String {
    format!("{TEMPLATES}\n{body}")
}

const ONE: &str = "id,first_name,email\nc1,Ann,ann@example.test\n";
const TWO: &str = "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\n";

fn enroll_c1(at: &str) -> String {
    format!("at,contact,event\n{at},c1,enroll\n")
}

// ---- 1. entering a step ---------------------------------------------------------------------

#[test]
fn entering_a_step_makes_it_due_after_its_delay() {
    let t = run(
        &cad("step 1: email welcome after 2d\nstep 2: call \"Intro\" after 1h"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-07T09:00:00Z c1 executed 1 welcome",
            "2026-01-07T10:00:00Z c1 executed 2 Intro",
            "2026-01-07T10:00:00Z c1 completed",
        ]
    );
}

#[test]
fn the_default_delay_is_zero() {
    let t = run(
        &cad("step 1: email welcome"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 executed 1 welcome");
}

#[test]
fn business_days_skip_weekends_and_holidays_keeping_the_time_of_day() {
    // Thursday 15:00 + 2bd, with Friday a holiday: Tuesday 15:00.
    let t = run(
        &cad("holidays [2026-01-09]\nstep 1: call \"Follow up\" after 2bd"),
        ONE,
        &enroll_c1("2026-01-08T15:00:00Z"),
        "2026-01-08T15:00:00Z",
    );
    assert_eq!(t[1], "2026-01-13T15:00:00Z c1 executed 1 Follow up");
}

#[test]
fn business_days_count_in_the_cadence_zone() {
    // Friday 23:30 UTC is Saturday 07:30 in Shanghai: + 1bd = Monday 07:30 there.
    let t = run(
        &cad("timezone \"Asia/Shanghai\"\nstep 1: call \"Follow up\" after 1bd"),
        ONE,
        &enroll_c1("2026-01-09T23:30:00Z"),
        "2026-01-09T23:30:00Z",
    );
    assert_eq!(t[1], "2026-01-11T23:30:00Z c1 executed 1 Follow up");
}

#[test]
fn at_cron_moves_the_due_time_to_the_first_instant_at_or_after_it() {
    // Due Tuesday 10:00 after 1d; the first 09:00 at or after that is Wednesday.
    let t = run(
        &cad("step 1: call \"Morning call\" after 1d at \"0 9 * * *\""),
        ONE,
        &enroll_c1("2026-01-05T10:00:00Z"),
        "2026-01-05T10:00:00Z",
    );
    assert_eq!(t[1], "2026-01-07T09:00:00Z c1 executed 1 Morning call");
}

#[test]
fn at_cron_at_exactly_the_due_time_keeps_it() {
    let t = run(
        &cad("step 1: call \"Morning call\" at \"0 9 * * *\""),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 executed 1 Morning call");
}

#[test]
fn cron_day_of_week_uses_0_and_7_for_sunday_and_1_for_monday() {
    // Enrolled Monday 2026-01-05 10:00: the next Sunday 08:00 is 2026-01-11.
    for cron in ["0 8 * * 0", "0 8 * * 7", "0 8 * * SUN"] {
        let t = run(
            &cad(&format!("step 1: call \"Weekend\" at \"{cron}\"")),
            ONE,
            &enroll_c1("2026-01-05T10:00:00Z"),
            "2026-01-05T10:00:00Z",
        );
        assert_eq!(t[1], "2026-01-11T08:00:00Z c1 executed 1 Weekend", "{cron}");
    }
    let t = run(
        &cad("step 1: call \"Monday\" at \"0 8 * * 1\""),
        ONE,
        &enroll_c1("2026-01-05T10:00:00Z"),
        "2026-01-05T10:00:00Z",
    );
    assert_eq!(t[1], "2026-01-12T08:00:00Z c1 executed 1 Monday");
}

#[test]
fn cron_with_seconds_is_accepted() {
    let t = run(
        &cad("step 1: call \"Precise\" at \"30 0 9 * * *\""),
        ONE,
        &enroll_c1("2026-01-05T08:00:00Z"),
        "2026-01-05T08:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:30Z c1 executed 1 Precise");
}

#[test]
fn window_moves_email_steps_to_the_first_window_instant() {
    // Enrolled Saturday: the email waits for Monday 09:00; the call does not wait.
    let t = run(
        &cad("window \"0 9-17 * * 1-5\"\nstep 1: call \"Intro\"\nstep 2: email welcome"),
        ONE,
        &enroll_c1("2026-01-10T12:00:00Z"),
        "2026-01-10T12:00:00Z",
    );
    assert_eq!(t[1], "2026-01-10T12:00:00Z c1 executed 1 Intro");
    assert_eq!(t[2], "2026-01-12T09:00:00Z c1 executed 2 welcome");
}

#[test]
fn window_hours_send_at_once_inside_a_range() {
    // Monday 10:20, inside 09:00-12:00: the email goes at 10:20, not on the next hour.
    let t = run(
        &cad("window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00\nstep 1: email welcome"),
        ONE,
        &enroll_c1("2026-01-05T10:20:00Z"),
        "2026-01-05T10:20:00Z",
    );
    assert_eq!(t[1], "2026-01-05T10:20:00Z c1 executed 1 welcome");
}

#[test]
fn window_hours_outside_a_range_wait_for_the_next_range_start() {
    // Monday 12:10 (lunch) waits for 13:00; Monday 17:30 (the end is outside) waits for
    // Tuesday 09:00; Friday 15:00 waits for Monday 09:00; a call ignores the window.
    for (at, sent) in [
        ("2026-01-05T12:10:00Z", "2026-01-05T13:00:00Z"),
        ("2026-01-05T17:30:00Z", "2026-01-06T09:00:00Z"),
        ("2026-01-05T17:29:59Z", "2026-01-05T17:29:59Z"),
        ("2026-01-09T15:00:00Z", "2026-01-12T09:00:00Z"),
        ("2026-01-10T12:00:00Z", "2026-01-12T09:00:00Z"),
    ] {
        let t = run(
            &cad("window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00\nstep 1: call \"Intro\"\nstep 2: email welcome"),
            ONE,
            &enroll_c1(at),
            at,
        );
        assert_eq!(t[1], format!("{at} c1 executed 1 Intro"));
        assert_eq!(t[2], format!("{sent} c1 executed 2 welcome"), "due {at}");
    }
}

#[test]
fn window_hours_are_read_in_each_contacts_zone_and_skip_holidays() {
    // 07:30Z Monday is 08:30 in Berlin (wait for 09:00, 08:00Z) and 15:30 in Shanghai (send).
    // Tuesday 6 January is a holiday: c3, due then in London, waits for Wednesday.
    let contacts = "id,email,timezone\nc1,a@example.test,Europe/Berlin\nc2,b@example.test,Asia/Shanghai\nc3,c@example.test,Europe/London\n";
    let t = run(
        &cad("timezone field timezone\nwindow mon-fri 09:00-17:00\nholidays [2026-01-06]\nstep 1: email welcome"),
        contacts,
        "at,contact,event\n2026-01-05T07:30:00Z,c1,enroll\n2026-01-05T07:30:00Z,c2,enroll\n2026-01-06T10:00:00Z,c3,enroll\n",
        "2026-01-05T07:30:00Z",
    );
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    assert_eq!(
        executed,
        [
            "2026-01-05T07:30:00Z c2 executed 1 welcome",
            "2026-01-05T08:00:00Z c1 executed 1 welcome",
            "2026-01-07T09:00:00Z c3 executed 1 welcome",
        ]
    );
}

#[test]
fn throttle_with_window_hours_defers_to_the_next_days_first_range() {
    let contacts = "id,email\nc1,a@example.test\nc2,b@example.test\n";
    let events =
        "at,contact,event\n2026-01-05T10:20:00Z,c1,enroll\n2026-01-05T10:20:00Z,c2,enroll\n";
    let t = run(
        &cad("window mon-fri 09:30-17:00\nlimit 1 emails per day\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-05T10:20:00Z",
    );
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    assert_eq!(
        executed,
        [
            "2026-01-05T10:20:00Z c1 executed 1 welcome",
            "2026-01-06T09:30:00Z c2 executed 1 welcome",
        ]
    );
}

#[test]
fn throttle_reopens_in_the_contacts_own_window() {
    // The limit's day is the cadence's (Berlin); the window the deferred email waits for is the
    // contact's (Tokyo): 09:00 Tokyo on Wednesday is 00:00Z, not 08:00Z (17:00 in Tokyo).
    let contacts = "id,email,tzf\nt1,a@example.test,Asia/Tokyo\nt2,b@example.test,Asia/Tokyo\n";
    let events =
        "at,contact,event\n2026-01-06T02:00:00Z,t1,enroll\n2026-01-06T02:00:00Z,t2,enroll\n";
    let t = run(
        &cad("field tzf: tz\ntimezone field tzf default \"Europe/Berlin\"\nwindow mon-fri 09:00-17:00\nlimit 1 emails per day\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-06T02:00:00Z",
    );
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    assert_eq!(
        executed,
        [
            "2026-01-06T02:00:00Z t1 executed 1 welcome",
            "2026-01-07T00:00:00Z t2 executed 1 welcome",
        ]
    );
}

#[test]
fn window_skips_holidays() {
    let t = run(
        &cad("window \"0 9 * * 1-5\"\nholidays [2026-01-06]\nstep 1: email welcome"),
        ONE,
        &enroll_c1("2026-01-05T10:00:00Z"),
        "2026-01-05T10:00:00Z",
    );
    assert_eq!(t[1], "2026-01-07T09:00:00Z c1 executed 1 welcome");
}

#[test]
fn window_in_the_cadence_zone_follows_daylight_saving() {
    // 09:00 in New York is 14:00Z in winter and 13:00Z after 2026-03-08.
    let t = run(
        &cad("timezone \"America/New_York\"\nwindow \"0 9 * * *\"\nstep 1: email welcome\nstep 2: email reminder after 1d"),
        ONE,
        &enroll_c1("2026-03-07T15:00:00Z"),
        "2026-03-07T15:00:00Z",
    );
    assert_eq!(t[1], "2026-03-08T13:00:00Z c1 executed 1 welcome");
    assert_eq!(t[2], "2026-03-09T13:00:00Z c1 executed 2 reminder");
}

#[test]
fn timezone_field_uses_each_contacts_zone() {
    let contacts = "id,email,timezone\nc1,a@example.test,Asia/Shanghai\nc2,b@example.test,\n";
    let t = run(
        &cad("timezone field timezone default \"Europe/London\"\nwindow \"0 9 * * *\"\nstep 1: email welcome"),
        contacts,
        "at,contact,event\n2026-01-05T12:00:00Z,c1,enroll\n2026-01-05T12:00:00Z,c2,enroll\n",
        "2026-01-05T12:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-06T01:00:00Z c1 executed 1 welcome".to_string()),
        "{t:#?}"
    );
    assert!(
        t.contains(&"2026-01-06T09:00:00Z c2 executed 1 welcome".to_string()),
        "{t:#?}"
    );
}

#[test]
fn at_field_minus_a_duration_is_due_at_that_instant() {
    let contacts = "id,email,appointment_date\nc1,a@example.test,2026-01-20T15:00:00Z\n";
    let t = run(
        &cad("field appointment_date: date\nstep 1: email reminder at appointment_date - 1d"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-19T15:00:00Z c1 executed 1 reminder");
}

#[test]
fn at_field_with_a_calendar_day_is_midnight_in_the_cadence_zone() {
    let contacts = "id,email,trial_ends\nc1,a@example.test,2026-01-20\n";
    let t = run(
        &cad("timezone \"Asia/Shanghai\"\nfield trial_ends: date\nstep 1: call \"Trial ends\" at trial_ends - 1d"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-18T16:00:00Z c1 executed 1 Trial ends");
}

#[test]
fn at_field_earlier_than_entering_the_step_is_skipped() {
    let contacts = "id,email,appointment_date\nc1,a@example.test,2026-01-05T10:00:00Z\n";
    let t = run(
        &cad("field appointment_date: date\nstep 1: email reminder at appointment_date - 1d\nstep 2: call \"Check in\""),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 skipped 1 date_passed",
            "2026-01-05T09:00:00Z c1 executed 2 Check in",
            "2026-01-05T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn a_moved_appointment_moves_its_pending_reminder() {
    let contacts = "id,email,appointment_date\nc1,a@example.test,2026-01-20T15:00:00Z\n";
    let events = "at,contact,event,field,value\n2026-01-05T09:00:00Z,c1,enroll,,\n2026-01-10T09:00:00Z,c1,set,appointment_date,2026-01-25T15:00:00Z\n";
    let t = run(
        &cad("field appointment_date: date\nstep 1: email reminder at appointment_date - 1d"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-24T15:00:00Z c1 executed 1 reminder");
    assert_eq!(t.len(), 3);
}

#[test]
fn an_appointment_moved_so_its_reminder_time_has_passed_sends_the_reminder_at_once() {
    // Entered on the 5th; on the 10th the appointment moves to the 10th 12:00, so the reminder
    // time (the 9th 12:00) is after the entry but already past: it is due at once.
    let contacts = "id,email,appointment_date\nc1,a@example.test,2026-01-20T15:00:00Z\n";
    let events = "at,contact,event,field,value\n2026-01-05T09:00:00Z,c1,enroll,,\n2026-01-10T09:00:00Z,c1,set,appointment_date,2026-01-10T12:00:00Z\n";
    let t = run(
        &cad("field appointment_date: date\nstep 1: email reminder at appointment_date - 1d"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-10T09:00:00Z c1 executed 1 reminder");
}

#[test]
fn an_appointment_moved_before_the_step_was_entered_skips_its_reminder() {
    let contacts = "id,email,appointment_date\nc1,a@example.test,2026-01-20T15:00:00Z\n";
    let events = "at,contact,event,field,value\n2026-01-05T09:00:00Z,c1,enroll,,\n2026-01-10T09:00:00Z,c1,set,appointment_date,2026-01-05T12:00:00Z\n";
    let t = run(
        &cad("field appointment_date: date\nstep 1: email reminder at appointment_date - 1d"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-10T09:00:00Z c1 skipped 1 date_passed");
}

// ---- 2. at the due time ---------------------------------------------------------------------

#[test]
fn exit_when_is_evaluated_before_each_step() {
    let contacts = "id,email,status\nc1,a@example.test,lost\n";
    let t = run(
        &cad("exit \"lost\" when status == \"lost\"\nstep 1: email welcome"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 exited lost"
        ]
    );
}

#[test]
fn goal_when_is_evaluated_before_each_step_and_reports_its_name() {
    let contacts = "id,email,status\nc1,a@example.test,customer\n";
    let t = run(
        &cad("goal \"converted\" when status == \"customer\"\nstep 1: email welcome"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 goal converted");
}

#[test]
fn if_guard_false_skips_the_step_and_falls_through() {
    let t = run(
        &cad("step 1: task \"Research company\" if company is set\nstep 2: email welcome"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 skipped 1 condition",
            "2026-01-05T09:00:00Z c1 executed 2 welcome",
            "2026-01-05T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn email_to_a_record_without_an_address_is_skipped() {
    let t = run(
        &cad("step 1: email welcome\nstep 2: call \"Call instead\""),
        "id,first_name,email\nc1,Ann,\n",
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 skipped 1 no_email");
    assert_eq!(t[2], "2026-01-05T09:00:00Z c1 executed 2 Call instead");
}

#[test]
fn deals_send_to_the_contact_email_field() {
    let t = run(
        "module deals\ntemplate offer { subject \"{{name}}\"; body \"Amount {{amount | tbc}} {{unsubscribe_link}}\" }\nstep 1: email offer",
        "id,name,contact_email\nd1,Big deal,buyer@example.test\n",
        "at,contact,event\n2026-01-05T09:00:00Z,d1,enroll\n",
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z d1 executed 1 offer");
}

#[test]
fn throttle_defers_to_the_next_days_window_first_come_first_served() {
    let contacts = "id,email\nc1,a@example.test\nc2,b@example.test\nc3,c@example.test\n";
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T09:00:00Z,c3,enroll\n";
    let t = run(
        &cad("window \"0 9-17 * * 1-5\"\nlimit 2 emails per day\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    assert_eq!(
        executed,
        [
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-05T09:00:00Z c2 executed 1 welcome",
            "2026-01-06T09:00:00Z c3 executed 1 welcome",
        ]
    );
}

#[test]
fn throttle_serves_deferred_emails_first_the_next_day() {
    // Limit 1 a day. c1 and c2 enrol on Monday, c3 (enrolled first) has a step due Tuesday 09:00:
    // c2 was deferred from Monday, so it goes before c3 on Tuesday.
    let contacts = "id,email\nc3,c@example.test\nc1,a@example.test\nc2,b@example.test\n";
    let events = "at,contact,event,cadence\n2026-01-05T08:00:00Z,c3,enroll,A\n2026-01-05T09:00:00Z,c1,enroll,B\n2026-01-05T09:00:00Z,c2,enroll,B\n";
    let a = cad("cadence \"A\"\nwindow \"0 9 * * 1-5\"\nlimit 1 emails per day\nfrom \"x@acme.test\"\nstep 1: email welcome after 1d");
    let b = "cadence \"B\"\nwindow \"0 9 * * 1-5\"\nlimit 1 emails per day\nfrom \"x@acme.test\"\nstep 1: email tips\n";
    let t = trace(&Sim {
        files: vec![("a.cadence", &a), ("b.cadence", b)],
        contacts,
        events,
        start: "2026-01-05T08:00:00Z",
        until: None,
    });
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    assert_eq!(
        executed,
        [
            "2026-01-05T09:00:00Z c1 executed 1 tips",
            "2026-01-06T09:00:00Z c2 executed 1 tips",
            "2026-01-06T09:00:00Z c3 executed 1 welcome",
        ]
    );
}

#[test]
fn throttle_without_a_window_defers_to_midnight() {
    let contacts = "id,email\nc1,a@example.test\nc2,b@example.test\n";
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n";
    let t = run(
        &cad("limit 1 emails per day\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-06T00:00:00Z c2 executed 1 welcome".to_string()),
        "{t:#?}"
    );
}

// ---- 3. after executing ---------------------------------------------------------------------

#[test]
fn a_step_without_on_lines_falls_through_and_the_next_delay_counts_from_execution() {
    let t = run(
        &cad("step 1: email welcome after 1d\nstep 2: email tips after 2d"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[2], "2026-01-08T09:00:00Z c1 executed 2 tips");
    assert_eq!(t[3], "2026-01-08T09:00:00Z c1 completed");
}

#[test]
fn the_first_matching_event_wins_at_its_time() {
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,opened\n2026-01-05T11:00:00Z,c1,clicked\n";
    let t = run(
        &cad("step 1: email welcome\n  on opened -> step 2\n  on clicked -> step 3\n  on no_open 3d -> done\nstep 2: call \"Opened\"\nstep 3: call \"Clicked\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-05T10:00:00Z c1 event 1 opened",
            "2026-01-05T10:00:00Z c1 transition 1->2 on opened",
            "2026-01-05T10:00:00Z c1 executed 2 Opened",
            "2026-01-05T10:00:00Z c1 executed 3 Clicked",
            "2026-01-05T10:00:00Z c1 completed",
            "2026-01-05T11:00:00Z c1 event 1 clicked",
        ]
    );
}

#[test]
fn a_timeout_fires_at_execution_plus_its_duration() {
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 3d -> step 2\nstep 2: email reminder"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[2], "2026-01-08T09:00:00Z c1 transition 1->2 on no_reply");
    assert_eq!(t[3], "2026-01-08T09:00:00Z c1 executed 2 reminder");
}

#[test]
fn a_timeout_does_not_fire_when_its_outcome_happened_at_or_before_that_instant() {
    // The reply arrives exactly at the timeout instant; the step has no `on replied`.
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-08T09:00:00Z,c1,replied\n";
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 3d -> step 2\n  on bounced -> exit\nstep 2: email reminder"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-08T09:00:00Z c1 event 1 replied",
        ]
    );
}

#[test]
fn clicked_and_replied_count_as_opened_for_no_open() {
    for outcome in ["clicked", "replied"] {
        let events = format!(
            "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-06T09:00:00Z,c1,{outcome}\n"
        );
        let t = run(
            &cad("step 1: email welcome\n  on no_open 3d -> step 2\n  on bounced -> exit\nstep 2: email reminder"),
            ONE,
            &events,
            "2026-01-05T09:00:00Z",
        );
        assert!(
            !t.iter().any(|l| l.contains("no_open")),
            "{outcome}: {t:#?}"
        );
    }
}

#[test]
fn a_click_without_its_own_handler_takes_on_opened() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,clicked\n";
    let t = run(
        &cad("step 1: email welcome\n  on opened -> step 2\n  on no_open 3d -> done\nstep 2: call \"Interested\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..4],
        [
            "2026-01-05T10:00:00Z c1 event 1 clicked",
            "2026-01-05T10:00:00Z c1 transition 1->2 on opened"
        ]
    );
}

#[test]
fn a_click_with_its_own_handler_takes_it() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,clicked\n";
    let t = run(
        &cad("step 1: email welcome\n  on opened -> step 2\n  on clicked -> step 3\n  on no_open 3d -> done\nstep 2: call \"Opened\"\nstep 3: call \"Clicked\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[3], "2026-01-05T10:00:00Z c1 transition 1->3 on clicked");
}

#[test]
fn an_unsubscribe_before_any_email_still_ends_every_enrolment() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,unsubscribed\n";
    let t = run(&cad("step 1: call \"Intro\"\n  on answered -> done\n  on overdue 1d -> next\nstep 2: email welcome"), ONE, events, "2026-01-05T09:00:00Z");
    assert_eq!(
        &t[2..],
        [
            "2026-01-05T10:00:00Z c1 event 1 unsubscribed",
            "2026-01-05T10:00:00Z c1 exited unsubscribed"
        ]
    );
}

#[test]
fn opened_does_not_satisfy_no_reply() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-06T09:00:00Z,c1,opened\n";
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 3d -> step 2\nstep 2: email reminder"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-08T09:00:00Z c1 transition 1->2 on no_reply".to_string()),
        "{t:#?}"
    );
}

#[test]
fn overdue_is_satisfied_by_any_outcome_of_the_call() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T12:00:00Z,c1,voicemail\n";
    let t = run(
        &cad("step 1: call \"Intro\"\n  on answered -> done\n  on overdue 2d -> step 2\nstep 2: email reminder"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t.last().unwrap(),
        "2026-01-05T12:00:00Z c1 event 1 voicemail"
    );
}

#[test]
fn overdue_fires_for_a_task_nobody_completed() {
    let t = run(
        &cad("step 1: task \"Send proposal\" type todo due 1d\n  on completed -> done\n  on overdue 2d -> exit \"stalled\""),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-07T09:00:00Z c1 transition 1->exit on overdue",
            "2026-01-07T09:00:00Z c1 exited stalled",
        ]
    );
}

#[test]
fn two_timeouts_at_the_same_instant_the_first_written_wins() {
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 3d -> step 3\n  on no_open 72h -> step 2\nstep 2: call \"Not opened\"\nstep 3: call \"No reply\""),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[2], "2026-01-08T09:00:00Z c1 transition 1->3 on no_reply");
    assert!(!t.iter().any(|l| l.contains("Not opened")), "{t:#?}");
}

#[test]
fn a_skipped_step_falls_through_to_the_next() {
    let t = run(
        &cad("step 1: call \"VIP call\" if title == \"CEO\"\nstep 2: call \"Regular call\""),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 skipped 1 condition");
    assert_eq!(t[2], "2026-01-05T09:00:00Z c1 executed 2 Regular call");
}

#[test]
fn on_skipped_sends_a_skipped_step_to_its_target_instead_of_the_next() {
    // No phone: the call is skipped, and "sorry I missed you" must not follow.
    let t = run(
        &cad("step 1: call \"Intro call\" if phone is set\n  on skipped -> step 3\n  on answered -> done\n  on overdue 1d -> next\nstep 2: email welcome\nstep 3: call \"Regular call\" after 1h"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 skipped 1 condition",
            "2026-01-05T09:00:00Z c1 transition 1->3 on skipped",
            "2026-01-05T10:00:00Z c1 executed 3 Regular call",
            "2026-01-05T10:00:00Z c1 completed",
        ]
    );
}

#[test]
fn on_skipped_is_not_waited_for_after_the_step_executes() {
    // With a phone the call executes; a step whose only `on` line is `on skipped` falls
    // through at once, as a step without `on` lines does.
    let contacts = "id,first_name,email,phone\nc1,Ann,ann@example.test,+4930123456\n";
    let t = run(
        &cad("step 1: call \"Intro call\" if phone is set\n  on skipped -> exit \"no phone\"\nstep 2: call \"Second call\" after 1h"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[1], "2026-01-05T09:00:00Z c1 executed 1 Intro call");
    assert_eq!(t[2], "2026-01-05T10:00:00Z c1 executed 2 Second call");
    // Without one it exits with the reason of the line.
    let t = run(
        &cad("step 1: call \"Intro call\" if phone is set\n  on skipped -> exit \"no phone\"\nstep 2: call \"Second call\" after 1h"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t[2],
        "2026-01-05T09:00:00Z c1 transition 1->exit on skipped"
    );
    assert_eq!(t[3], "2026-01-05T09:00:00Z c1 exited no phone");
}

#[test]
fn on_skipped_applies_to_a_date_that_has_passed_when_the_step_is_entered() {
    let contacts = "id,first_name,email,appointment\nc1,Ann,ann@example.test,2026-01-01\n";
    let t = run(
        &cad("field appointment: date\nstep 1: email welcome at appointment - 1d\n  on skipped -> done\nstep 2: call \"Day-after call\" at appointment + 1d"),
        contacts,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t[1..],
        [
            "2026-01-05T09:00:00Z c1 skipped 1 date_passed",
            "2026-01-05T09:00:00Z c1 transition 1->done on skipped",
            "2026-01-05T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn next_on_the_last_step_completes_the_enrolment() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,opened\n";
    let t = run(
        &cad("step 1: email welcome\n  on opened -> next\n  on no_open 1d -> exit"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[3..],
        [
            "2026-01-05T10:00:00Z c1 transition 1->done on opened",
            "2026-01-05T10:00:00Z c1 completed"
        ]
    );
}

#[test]
fn a_handler_exit_without_a_reason_uses_the_event_name() {
    let t = run(
        &cad("step 1: email welcome\n  on no_open 1d -> exit"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t.last().unwrap(), "2026-01-06T09:00:00Z c1 exited no_open");
}

// ---- 4. events ------------------------------------------------------------------------------

#[test]
fn an_event_without_a_step_belongs_to_the_most_recent_executed_step_of_its_channel() {
    // Step 2 (a call) executed last, but `opened` is an email outcome: it belongs to step 1.
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T12:00:00Z,c1,opened\n";
    let t = run(
        &cad("step 1: email welcome\nstep 2: call \"Intro\" after 1h\n  on answered -> done\n  on overdue 2d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-05T12:00:00Z c1 event 1 opened".to_string()),
        "{t:#?}"
    );
}

#[test]
fn an_event_naming_a_step_belongs_to_that_step() {
    let events = "at,contact,event,step\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-07T12:00:00Z,c1,opened,1\n";
    let t = run(
        &cad("step 1: email welcome\nstep 2: email tips after 1d\n  on opened -> done\n  on no_open 5d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    // The open is for step 1's message: step 2 keeps waiting and times out.
    assert!(
        t.contains(&"2026-01-07T12:00:00Z c1 event 1 opened".to_string()),
        "{t:#?}"
    );
    assert!(
        t.contains(&"2026-01-11T09:00:00Z c1 transition 2->done on no_open".to_string()),
        "{t:#?}"
    );
}

#[test]
fn an_event_for_a_step_no_longer_waiting_changes_no_state_but_counts_for_cadence_rules() {
    let events = "at,contact,event,step\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-07T12:00:00Z,c1,opened,1\n2026-01-08T12:00:00Z,c1,replied,1\n";
    let t = run(
        &cad("exit on replied\nstep 1: email welcome\n  on opened -> step 3\n  on no_open 1d -> step 2\nstep 2: email tips\n  on no_open 5d -> done\nstep 3: call \"Opened\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[3..],
        [
            "2026-01-06T09:00:00Z c1 executed 2 tips",
            "2026-01-07T12:00:00Z c1 event 1 opened",
            "2026-01-08T12:00:00Z c1 event 1 replied",
            "2026-01-08T12:00:00Z c1 exited replied",
        ]
    );
}

// ---- 5. cadence-wide rules ------------------------------------------------------------------

#[test]
fn cadence_wide_exit_on_applies_before_the_steps_own_handlers() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,replied\n";
    let t = run(
        &cad("exit on replied\nstep 1: email welcome\n  on replied -> step 2\n  on no_reply 3d -> done\nstep 2: call \"Thanks\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-05T10:00:00Z c1 event 1 replied",
            "2026-01-05T10:00:00Z c1 exited replied"
        ]
    );
}

#[test]
fn goal_on_a_custom_event() {
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-06T10:00:00Z,c1,meeting_booked\n";
    let t = run(
        &cad("event meeting_booked\ngoal \"meeting booked\" on meeting_booked\nstep 1: email welcome\n  on no_reply 3d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-06T10:00:00Z c1 event 1 meeting_booked",
            "2026-01-06T10:00:00Z c1 goal meeting booked"
        ]
    );
}

#[test]
fn exit_when_and_goal_when_are_evaluated_when_a_field_changes() {
    let events = "at,contact,event,field,value\n2026-01-05T09:00:00Z,c1,enroll,,\n2026-01-06T10:00:00Z,c1,set,status,customer\n";
    let t = run(
        &cad("goal \"converted\" when status == \"customer\"\nstep 1: email welcome\n  on no_reply 3d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t.last().unwrap(), "2026-01-06T10:00:00Z c1 goal converted");
}

// ---- 6. unsubscribe and bounce ---------------------------------------------------------------

#[test]
fn unsubscribe_ends_every_active_enrolment_in_every_cadence() {
    let a = cad("cadence \"A\"\nstep 1: email welcome\n  on no_reply 3d -> done");
    let b = "cadence \"B\"\nstep 1: call \"Call\" after 1d\nstep 2: email tips after 1d\n";
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,unsubscribed\n";
    let t = trace(&Sim {
        files: vec![("a.cadence", &a), ("b.cadence", b)],
        contacts: ONE,
        events,
        start: "2026-01-05T09:00:00Z",
        until: None,
    });
    assert!(
        t.contains(&"2026-01-05T10:00:00Z c1 event 1 unsubscribed".to_string()),
        "{t:#?}"
    );
    assert_eq!(
        t.iter()
            .filter(|l| l.ends_with("exited unsubscribed"))
            .count(),
        2,
        "{t:#?}"
    );
    assert!(!t.iter().any(|l| l.contains("executed 2")), "{t:#?}");
}

#[test]
fn no_email_is_sent_to_a_contact_after_unsubscribing() {
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,unsubscribed\n2026-01-10T09:00:00Z,c1,enroll\n";
    let t = run(
        &cad("reenroll after 1d\nstep 1: email welcome\nstep 2: call \"Call\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-10T09:00:00Z c1 skipped 1 unsubscribed".to_string()),
        "{t:#?}"
    );
    assert!(
        t.contains(&"2026-01-10T09:00:00Z c1 executed 2 Call".to_string()),
        "{t:#?}"
    );
}

#[test]
fn a_bounce_follows_on_bounced_of_the_waiting_step() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:05:00Z,c1,bounced\n";
    let t = run(
        &cad("step 1: email welcome\n  on bounced -> step 2\n  on no_open 3d -> done\nstep 2: call \"Find a new address\"\nstep 3: email tips"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-05T09:05:00Z c1 event 1 bounced",
            "2026-01-05T09:05:00Z c1 transition 1->2 on bounced",
            "2026-01-05T09:05:00Z c1 executed 2 Find a new address",
            "2026-01-05T09:05:00Z c1 skipped 3 bounced",
            "2026-01-05T09:05:00Z c1 completed",
        ]
    );
}

#[test]
fn a_bounce_without_a_handler_exits_with_reason_bounced() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:05:00Z,c1,bounced\n";
    let t = run(
        &cad("step 1: email welcome\n  on opened -> done\n  on no_open 3d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t.last().unwrap(), "2026-01-05T09:05:00Z c1 exited bounced");
}

#[test]
fn after_a_bounce_later_email_to_that_address_is_skipped_in_other_cadences() {
    let a = cad("cadence \"A\"\nstep 1: email welcome\n  on no_open 3d -> done");
    let b = "cadence \"B\"\nstep 1: email tips after 2d\n";
    let events = "at,contact,event,cadence\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-05T09:05:00Z,c1,bounced,A\n";
    let t = trace(&Sim {
        files: vec![("a.cadence", &a), ("b.cadence", b)],
        contacts: ONE,
        events,
        start: "2026-01-05T09:00:00Z",
        until: None,
    });
    assert!(
        t.contains(&"2026-01-07T09:00:00Z c1 skipped 1 bounced".to_string()),
        "{t:#?}"
    );
}

#[test]
fn auto_reply_never_counts_as_replied() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:01:00Z,c1,auto_reply\n";
    let t = run(
        &cad("exit on replied\nstep 1: email welcome\n  on replied -> done\n  on no_reply 3d -> step 2\nstep 2: email reminder"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-08T09:00:00Z c1 transition 1->2 on no_reply".to_string()),
        "{t:#?}"
    );
}

// ---- 7. enrolment ---------------------------------------------------------------------------

#[test]
fn enroll_when_enrols_at_start_and_when_a_field_makes_it_true() {
    let contacts = "id,email,plan\nc1,a@example.test,trial\nc2,b@example.test,\n";
    let events = "at,contact,event,field,value\n2026-01-06T09:00:00Z,c2,set,plan,trial\n";
    let t = run(
        &cad("field plan: enum(\"trial\", \"pro\")\nenroll when plan == \"trial\"\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[0], "2026-01-05T09:00:00Z c1 enrolled");
    assert!(
        t.contains(&"2026-01-06T09:00:00Z c2 enrolled".to_string()),
        "{t:#?}"
    );
}

#[test]
fn a_record_is_enrolled_once_per_cadence() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-06T09:00:00Z,c1,enroll\n";
    let t = run(
        &cad("step 1: email welcome"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t.iter().filter(|l| l.ends_with("enrolled")).count(), 1);
}

#[test]
fn reenroll_after_allows_a_new_enrolment_once_the_delay_has_passed() {
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-07T09:00:00Z,c1,enroll\n2026-01-20T09:00:00Z,c1,enroll\n";
    let t = run(
        &cad("reenroll after 10d\nstep 1: email welcome"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    let enrolled: Vec<&String> = t.iter().filter(|l| l.ends_with("enrolled")).collect();
    assert_eq!(
        enrolled,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-20T09:00:00Z c1 enrolled"
        ]
    );
}

#[test]
fn unenroll_exits_with_reason_unenrolled() {
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-06T09:00:00Z,c1,unenroll\n";
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 3d -> done"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t.last().unwrap(),
        "2026-01-06T09:00:00Z c1 exited unenrolled"
    );
}

#[test]
fn an_enrolment_ends_in_exactly_one_of_three_records() {
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T10:00:00Z,c1,replied\n2026-01-09T09:00:00Z,c1,unenroll\n";
    let t = run(
        &cad("exit on replied\nstep 1: email welcome\n  on no_reply 1d -> done"),
        TWO,
        events,
        "2026-01-05T09:00:00Z",
    );
    for c in ["c1", "c2"] {
        let ends = t
            .iter()
            .filter(|l| {
                l.contains(&format!(" {c} "))
                    && (l.contains(" completed") || l.contains(" exited") || l.contains(" goal"))
            })
            .count();
        assert_eq!(ends, 1, "{c}: {t:#?}");
    }
}

// ---- 8. order ---------------------------------------------------------------------------------

#[test]
fn at_one_instant_inputs_run_first_then_timers_by_enrolment_order() {
    // c2 enrols before c1; both steps fall due at the same instants; c1 replies at 08:00 on
    // the 6th, when step 2 of both falls due.
    let events = "at,contact,event\n2026-01-05T08:00:00Z,c2,enroll\n2026-01-05T08:00:00Z,c1,enroll\n2026-01-06T08:00:00Z,c1,replied\n";
    let t = run(
        &cad("exit on replied\nstep 1: email welcome\nstep 2: call \"Follow up\" after 1d\n"),
        TWO,
        events,
        "2026-01-05T08:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T08:00:00Z c2 enrolled",
            "2026-01-05T08:00:00Z c1 enrolled",
            "2026-01-05T08:00:00Z c2 executed 1 welcome",
            "2026-01-05T08:00:00Z c1 executed 1 welcome",
            "2026-01-06T08:00:00Z c1 event 1 replied",
            "2026-01-06T08:00:00Z c1 exited replied",
            "2026-01-06T08:00:00Z c2 executed 2 Follow up",
            "2026-01-06T08:00:00Z c2 completed",
        ]
    );
}

#[test]
fn a_loop_in_which_no_time_passes_is_stopped() {
    let t = run(
        &cad("step 1: call \"Again\"\n  on overdue 0d -> step 1"),
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t.last().unwrap(),
        "2026-01-05T09:00:00Z c1 exited loop_without_delay"
    );
}

#[test]
fn a_long_cadence_without_a_loop_runs_to_its_end() {
    let steps: String = (1..=1_200)
        .map(|i| format!("step {i}: task \"t{i}\"\n"))
        .collect();
    let t = run(
        &steps,
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t.last().unwrap(), "2026-01-05T09:00:00Z c1 completed");
}

#[test]
fn a_step_years_away_still_runs_without_until() {
    let t = run(
        "step 1: call \"now\"\nstep 2: call \"later\" after 3000d\n",
        ONE,
        &enroll_c1("2026-01-05T09:00:00Z"),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[2], "2034-03-24T09:00:00Z c1 executed 2 later");
    assert_eq!(t[3], "2034-03-24T09:00:00Z c1 completed");
}

#[test]
fn the_trace_is_identical_across_runs() {
    let s = Sim {
        files: vec![("t.cadence", "step 1: call \"x\"\n  on answered -> done\n  on overdue 1d -> done\n")],
        contacts: TWO,
        events: "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T10:00:00Z,c2,answered\n",
        start: "2026-01-05T09:00:00Z",
        until: None,
    };
    assert_eq!(common::jsonl(&s), common::jsonl(&s));
}

#[test]
fn until_stops_the_clock() {
    let s = Sim {
        files: vec![(
            "t.cadence",
            "step 1: call \"x\" after 1d\nstep 2: call \"y\" after 5d\n",
        )],
        contacts: ONE,
        events: NO_EVENTS,
        start: "2026-01-05T09:00:00Z",
        until: Some("2026-01-08T00:00:00Z"),
    };
    // Nothing enrols without an input; enrol by event instead.
    let _ = trace(&s);
    let s = Sim {
        events: "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
        ..s
    };
    let t = trace(&s);
    assert_eq!(t.last().unwrap(), "2026-01-06T09:00:00Z c1 executed 1 x");
}

// ---- opens and clicks made by machines (`track`) --------------------------------------------

#[test]
fn a_machine_open_takes_no_branch_and_does_not_stop_no_open() {
    let events = "at,contact,event,machine\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-05T09:00:05Z,c1,opened,true\n2026-01-05T09:00:06Z,c1,clicked,true\n";
    let t = run(
        &cad("exit on clicked\ntrack opens, clicks\nstep 1: email welcome\n  on opened -> step 2\n  on no_open 3d -> step 3\nstep 2: call \"Opened\"\nstep 3: email reminder"),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-05T09:00:05Z c1 event 1 opened machine",
            "2026-01-05T09:00:06Z c1 event 1 clicked machine",
            "2026-01-08T09:00:00Z c1 transition 1->3 on no_open",
            "2026-01-08T09:00:00Z c1 executed 3 reminder",
            "2026-01-08T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn a_machine_open_counts_where_the_cadence_says_including_machine() {
    let events = "at,contact,event,machine\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-05T09:00:05Z,c1,opened,true\n";
    let t = run(
        &cad("track opens including machine\nstep 1: email welcome\n  on opened -> step 2\n  on no_open 3d -> done\nstep 2: call \"Opened\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-05T09:00:05Z c1 event 1 opened machine",
            "2026-01-05T09:00:05Z c1 transition 1->2 on opened",
            "2026-01-05T09:00:05Z c1 executed 2 Opened",
            "2026-01-05T09:00:05Z c1 completed",
        ]
    );
}

#[test]
fn a_machine_click_counts_only_for_clicks_when_opens_say_including_machine() {
    let events = "at,contact,event,machine\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-05T09:00:05Z,c1,clicked,true\n";
    let t = run(
        &cad("track opens including machine, clicks\nstep 1: email welcome\n  on opened -> step 2\n  on no_open 3d -> done\nstep 2: call \"Opened\""),
        ONE,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(t[2], "2026-01-05T09:00:05Z c1 event 1 clicked machine");
    assert_eq!(
        t[3],
        "2026-01-08T09:00:00Z c1 transition 1->done on no_open"
    );
}

#[test]
fn only_opens_and_clicks_can_be_made_by_machines() {
    let mut sources = cadence::syntax::Sources::new();
    let text = cad("step 1: email welcome\n  on replied -> done");
    let id = sources.add("t.cadence", &text);
    let program = cadence::check::check(&mut sources, &[id]).program.unwrap();
    let catalog = cadence::engine::Catalog::new(&program);
    let events = "at,contact,event,machine\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-05T10:00:00Z,c1,replied,true\n2026-01-05T11:00:00Z,c1,opened,maybe\n2026-01-05T12:00:00Z,c1,opened,yes\n";
    let (rows, bad) =
        cadence::sim::read_events(events.as_bytes(), &program, &catalog, &|_| Some(0)).unwrap();
    let bad: Vec<(u64, String)> = bad.into_iter().map(|b| (b.line, b.message)).collect();
    assert_eq!(
        bad,
        [
            (
                3,
                "only an `opened` or a `clicked` can be made by a machine".to_string()
            ),
            (4, "`machine` is `maybe`; write true or false".to_string()),
        ]
    );
    assert_eq!(rows.len(), 2);
    assert!(matches!(
        rows[1].input,
        cadence::engine::Input::Event { machine: true, .. }
    ));
}

#[test]
fn an_event_that_names_its_message_belongs_to_that_message_only() {
    // The first welcome (execution 0) is opened after the loop has sent a second one: the open
    // is recorded for step 1, but the second welcome's `on opened` is not taken.
    use cadence::store::ContactStore as _;
    let text = cad("step 1: email welcome\n  on opened -> step 3\n  on no_open 1d -> step 2\nstep 2: call \"Again\" after 1h\n  on answered -> step 1\nstep 3: call \"Opened\"");
    let mut sources = cadence::syntax::Sources::new();
    let id = sources.add("t.cadence", &text);
    let program = cadence::check::check(&mut sources, &[id]).program.unwrap();
    let catalog = cadence::engine::Catalog::new(&program);
    let loaded = cadence::sim::read_contacts(ONE.as_bytes(), &catalog).unwrap();
    let mut store = cadence::store::MemoryStore::new();
    for r in loaded.records {
        store.upsert(r).unwrap();
    }
    let mut engine = cadence::sim::load_engine(&program, &store).unwrap();
    let lookup = |id: &str| engine.contact_id(id);
    let events = "at,contact,event,step\n2026-01-05T09:00:00Z,c1,enroll,\n2026-01-06T11:00:00Z,c1,answered,2\n2026-01-06T12:00:00Z,c1,opened,\n2026-01-06T13:00:00Z,c1,opened,\n";
    let (mut rows, bad) =
        cadence::sim::read_events(events.as_bytes(), &program, &catalog, &lookup).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    // 12:00: the first message's open (enrolment 0, execution 0); 13:00: the second's (execution 2).
    for (row, x) in [(2, 0), (3, 2)] {
        if let cadence::engine::Input::Event { message, .. } = &mut rows[row].input {
            *message = Some((0, x));
        }
    }
    let mut out = Vec::new();
    cadence::sim::run(
        &mut engine,
        &mut store,
        &rows,
        common::instant("2026-01-05T09:00:00Z"),
        cadence::sim::Until::Idle,
        cadence::sim::TraceFormat::Jsonl,
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    let t = common::compact(&String::from_utf8(out).unwrap());
    assert_eq!(
        t[4..],
        [
            "2026-01-06T11:00:00Z c1 event 2 answered",
            "2026-01-06T11:00:00Z c1 transition 2->1 on answered",
            "2026-01-06T11:00:00Z c1 executed 1 welcome",
            "2026-01-06T12:00:00Z c1 event 1 opened",
            "2026-01-06T13:00:00Z c1 event 1 opened",
            "2026-01-06T13:00:00Z c1 transition 1->3 on opened",
            "2026-01-06T13:00:00Z c1 executed 3 Opened",
            "2026-01-06T13:00:00Z c1 completed",
        ]
    );
}

// ---- 6. suppression is kept per address -----------------------------------------------------

#[test]
fn an_address_that_bounced_is_never_emailed_again_from_another_record() {
    let contacts = "id,first_name,email\nc1,Ann,shared@example.test\nc2,Bo,Shared@Example.test\n";
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,bounced\n2026-01-06T09:00:00Z,c2,enroll\n";
    let t = run(
        &cad("step 1: email welcome\nstep 2: call \"Call\""),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-06T09:00:00Z c2 skipped 1 bounced".to_string()),
        "{t:#?}"
    );
    assert!(!t.iter().any(|l| l.contains("c2 executed 1")), "{t:#?}");
}

#[test]
fn an_address_that_unsubscribed_is_never_emailed_again_from_another_record_or_cadence() {
    let contacts = "id,first_name,email\nc1,Ann,ann@example.test\nc2,Ann again,ann@example.test\n";
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T10:00:00Z,c1,unsubscribed\n2026-01-06T09:00:00Z,c2,enroll\n";
    let t = run(
        &cad("step 1: email welcome\nstep 2: email reminder after 1d"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    assert!(
        t.contains(&"2026-01-06T09:00:00Z c2 skipped 1 unsubscribed".to_string()),
        "{t:#?}"
    );
    assert!(
        t.contains(&"2026-01-07T09:00:00Z c2 skipped 2 unsubscribed".to_string()),
        "{t:#?}"
    );
}

#[test]
fn the_day_of_a_limit_is_the_cadence_s_zone_even_with_a_timezone_field() {
    let contacts = "id,first_name,email,timezone\nc1,A,a@example.test,Pacific/Kiritimati\nc2,B,b@example.test,Pacific/Pago_Pago\nc3,C,c@example.test,UTC\n";
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T09:00:00Z,c3,enroll\n";
    let t = run(
        &cad("timezone field timezone default \"UTC\"\nlimit 1 emails per day\nstep 1: email welcome"),
        contacts,
        events,
        "2026-01-05T09:00:00Z",
    );
    let executed: Vec<&String> = t.iter().filter(|l| l.contains("executed")).collect();
    // One a day, by the days of UTC (the default zone), whatever each contact's zone is.
    assert_eq!(
        executed,
        [
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-06T00:00:00Z c2 executed 1 welcome",
            "2026-01-07T00:00:00Z c3 executed 1 welcome",
        ],
        "{t:#?}"
    );
}

#[test]
fn nothing_is_due_after_the_last_instant_rfc_3339_can_write() {
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 5d -> step 2\nstep 2: email reminder after 3d"),
        ONE,
        &enroll_c1("9999-12-30T00:00:00Z"),
        "9999-12-30T00:00:00Z",
    );
    // The timeout would fall in the year 10000: it never comes, and nothing is written with a
    // five-digit year.
    assert_eq!(
        t,
        [
            "9999-12-30T00:00:00Z c1 enrolled",
            "9999-12-30T00:00:00Z c1 executed 1 welcome",
        ]
    );
}

#[test]
fn on_skipped_takes_no_duration_and_a_misspelling_gets_a_suggestion() {
    let codes = |text: &str| {
        common::diagnostics(&cad(text))
            .iter()
            .map(|d| format!("{} {}", d.code, d.help.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let got = codes(
        "step 1: call \"Intro\" if phone is set\n  on skipped 2d -> done\nstep 2: email welcome",
    );
    assert!(got.len() == 1 && got[0].starts_with("E117"), "{got:?}");
    let got =
        codes("step 1: call \"Intro\" if phone is set\n  on skiped -> done\nstep 2: email welcome");
    assert!(
        got.len() == 1 && got[0].contains("did you mean `skipped`"),
        "{got:?}"
    );
    let got = codes("step 1: call \"Intro\" if phone is set\n  on skipped -> done\n  on skipped -> next\nstep 2: email welcome");
    assert!(got.len() == 1 && got[0].starts_with("E107"), "{got:?}");
}
