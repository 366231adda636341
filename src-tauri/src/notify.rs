//! Native notifications for alerts and @mentions. They are raised here, from the engine's events,
//! so the UI needs no notification permission at all (the capability grants none).

use crate::state::AppState;
use std::sync::atomic::Ordering;
use tandem::alerts::Change;
use tandem::Event;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// Longest body shown; chat messages can be long.
const MAX_BODY: usize = 200;

/// A notification: title and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Note {
    pub title: String,
    pub body: String,
}

/// What an engine event tells a user who is not looking at the window, if anything.
pub fn note_for(event: &Event) -> Option<Note> {
    match event {
        Event::Alert {
            change: Change::Fired(alert),
        } => Some(Note {
            title: "Tandem alert".to_string(),
            body: shorten(&alert.message),
        }),
        Event::Mentioned { by, text } => Some(Note {
            title: format!("{} mentioned you", if by.is_empty() { "A teammate" } else { by }),
            body: shorten(text),
        }),
        _ => None,
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_BODY) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Shows the event's notification, unless notifications are off or the window has the focus (it
/// shows the alert or mention itself then).
pub fn notify(app: &AppHandle, event: &Event) {
    let Some(note) = note_for(event) else { return };
    if !app.state::<AppState>().notifications.load(Ordering::Relaxed) {
        return;
    }
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        tracing::debug!("no notification while the window has the focus: {}", note.title);
        return;
    }
    // No notification service (a bare X server, CI) is not worth more than a debug line.
    if let Err(e) = app.notification().builder().title(note.title).body(note.body).show() {
        tracing::debug!("could not show a notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem::alerts::Alert;

    fn alert() -> Alert {
        Alert {
            id: "cpu:p1".into(),
            rule: "cpu".into(),
            peer: "p1".into(),
            message: "CPU on alice at 97% for 30 s".into(),
            since: 1,
        }
    }

    #[test]
    fn a_fired_alert_notifies_with_its_message_and_a_cleared_one_does_not() {
        let fired = Event::Alert {
            change: Change::Fired(alert()),
        };
        assert_eq!(
            note_for(&fired),
            Some(Note {
                title: "Tandem alert".into(),
                body: "CPU on alice at 97% for 30 s".into()
            })
        );
        let cleared = Event::Alert {
            change: Change::Cleared(alert()),
        };
        assert_eq!(note_for(&cleared), None);
    }

    #[test]
    fn a_mention_names_who_mentioned_and_shortens_long_messages() {
        let long = "é".repeat(300);
        let note = note_for(&Event::Mentioned {
            by: "bob".into(),
            text: long,
        })
        .expect("a mention notifies");
        assert_eq!(note.title, "bob mentioned you");
        assert_eq!(note.body.chars().count(), MAX_BODY + 1);
        assert!(note.body.ends_with('…'));
    }

    #[test]
    fn other_events_do_not_notify() {
        assert_eq!(note_for(&Event::ReviewChanged), None);
    }
}
