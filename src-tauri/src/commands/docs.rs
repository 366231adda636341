//! Reading and writing file text through the CRDT, and the editor's Yjs binding.
//!
//! The editor holds a Yjs replica of each open file (`f:<path>`): it gets a client id from
//! [`new_client_id`], loads and catches up with [`doc_diff`], and sends its own edits with
//! [`apply_update`]. Updates travel as raw bytes, not JSON arrays.

use crate::error::{Error, Result};
use crate::state::AppState;
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::State;

/// A file's current text.
#[tauri::command]
pub async fn read_file(state: State<'_, AppState>, path: String) -> Result<String> {
    state
        .node()
        .await?
        .text(&path)
        .await?
        .ok_or_else(|| Error::new("not_found", format!("{path} is not in the workspace (deleted?)")))
}

/// Replaces a file's text (the engine diffs it into CRDT operations); returns once stored.
#[tauri::command]
#[tracing::instrument(skip(state, text), err(Debug))]
pub async fn write_file(state: State<'_, AppState>, path: String, text: String) -> Result<()> {
    Ok(state.node().await?.set_text(&path, &text).await?)
}

/// A Yjs client id reserved for one editor replica.
#[tauri::command]
pub async fn new_client_id(state: State<'_, AppState>) -> Result<u64> {
    Ok(state.node().await?.new_client_id().await?)
}

/// What a replica with state vector `sv` misses of `doc`, as a Yjs v1 update (raw bytes); an
/// empty `sv` gives the whole document.
#[tauri::command]
pub async fn doc_diff(state: State<'_, AppState>, doc: String, sv: Vec<u8>) -> Result<Response> {
    let diff = state.node().await?.doc_diff(&doc, sv).await?;
    Ok(Response::new(diff))
}

/// Applies a Yjs v1 update made by an editor replica; returns once stored. The body is the update
/// (raw bytes), the `Tandem-Doc` header the document id, percent-encoded (headers are ASCII).
#[tauri::command]
#[tracing::instrument(skip(state, request), err(Debug))]
pub async fn apply_update(state: State<'_, AppState>, request: Request<'_>) -> Result<()> {
    let doc = request
        .headers()
        .get("tandem-doc")
        .and_then(|v| v.to_str().ok())
        .and_then(percent_decode)
        .ok_or_else(|| Error::new("refused", "apply_update needs a Tandem-Doc header"))?;
    let update = match request.body() {
        InvokeBody::Raw(bytes) => bytes.clone(),
        // The postMessage fallback of the IPC sends bytes as a JSON array.
        InvokeBody::Json(value) => serde_json::from_value::<Vec<u8>>(value.clone())
            .map_err(|_| Error::new("refused", "apply_update takes the update as raw bytes"))?,
    };
    Ok(state.node().await?.apply_local_update(&doc, update).await?)
}

/// Decodes `%XX` escapes (as made by `encodeURIComponent`); None if malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_encode_uri_component() {
        assert_eq!(
            percent_decode("f%3Asrc%2Fm%C3%A4in.rs").as_deref(),
            Some("f:src/mäin.rs")
        );
        assert_eq!(percent_decode("f:plain.txt").as_deref(), Some("f:plain.txt"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("bad%+1"), None);
        assert_eq!(percent_decode("%FF"), None);
    }
}
