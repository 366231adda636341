//! How the window's web view renders, and what it caches.
//!
//! On Linux, WebKitGTK composites pages with OpenGL by default. Where there is no GPU (a virtual
//! display, a VM, a remote desktop) that GL is Mesa's software rasteriser, and compositing a
//! text editor through it cost the web process about 430 MB more memory and several percent of a
//! core while idle (measured under Xvfb, see src-tauri/README.md). The editor's page is text,
//! boxes and one canvas per chart, which WebKit's non-composited path draws well on the CPU, so
//! that is the default; `TANDEM_GPU=1` leaves WebKit's own policy (GPU compositing) in place.

use tauri::{Runtime, WebviewWindow};

/// Whether `TANDEM_GPU` asks for WebKit's GPU compositing.
#[cfg(target_os = "linux")]
fn gpu_wanted() -> bool {
    std::env::var("TANDEM_GPU").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Applies the rendering policy and the cache model to `window`'s web view.
pub fn configure<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    {
        let applied = window.with_webview(|platform| {
            use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
            let view = platform.inner();
            if let Some(settings) = view.settings().filter(|_| !gpu_wanted()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            // One page of local assets: no back/forward cache, smallest memory caches.
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
        if let Err(e) = applied {
            tracing::warn!("could not set the web view's rendering policy: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
