//! Tandem's desktop app: a thin Tauri shell. Every command takes the running [`tandem::Node`] from
//! the app's state, calls it and maps the error; the engine holds all the logic.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod notify;
mod state;
mod webview;

use state::AppState;
use std::path::PathBuf;
use tauri::{Manager, RunEvent};

fn main() {
    tandem::memory::compact_heap();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tandem=info,tandem_desktop=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    // `tandem-desktop [DIR [FILE]]`: the UI asks for DIR with `startup_dir` and opens it, then
    // shows FILE (relative to DIR) in the editor.
    let startup_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .map(|p| std::path::absolute(&p).unwrap_or(p));
    let startup_file = std::env::args().nth(2);

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(AppState::new(startup_dir, startup_file))
        .setup(|app| {
            if let Some(window) = app.get_webview_window("main") {
                webview::configure(&window);
            }
            // Ctrl-C or SIGTERM exits like closing the window: the peer stops cleanly.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                stop_signal().await;
                handle.exit(0);
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::workspace::startup_dir,
            commands::workspace::startup_file,
            commands::workspace::open_workspace,
            commands::workspace::init_workspace,
            commands::workspace::join_workspace,
            commands::workspace::close_workspace,
            commands::workspace::status,
            commands::workspace::invite,
            commands::docs::read_file,
            commands::docs::write_file,
            commands::docs::new_client_id,
            commands::docs::doc_diff,
            commands::docs::apply_update,
            commands::review::comments,
            commands::review::add_comment,
            commands::review::reply_comment,
            commands::review::comment_action,
            commands::review::reviews,
            commands::review::request_review,
            commands::review::vote_review,
            commands::review::chat_send,
            commands::review::chat_log,
            commands::presence::set_open_file,
            commands::presence::set_cursor,
            commands::presence::live_view,
            commands::metrics::metrics_series,
            commands::metrics::activity,
            commands::settings::set_notifications,
            commands::settings::profile,
            commands::settings::set_profile,
            commands::settings::alert_rules,
            commands::settings::set_alert_rules,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("tandem-desktop: could not start the window: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Stop the peer cleanly: pending edits committed, control socket removed.
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(state.close());
        }
    });
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
