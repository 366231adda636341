//! `tandem comment|comments|review|reviews|chat`: thin wrappers over the control API.

use super::{ChatCmd, CommentCmd, ReviewCmd};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use tandem::control::{self, Request};
use tandem::review::CommentKind;
use tandem::workspace::Layout;

async fn call(layout: &Layout, req: Request) -> Result<Value> {
    Ok(control::call(&layout.root, &layout.socket_path(), &req).await?)
}

/// Splits `FILE:LINE[-LINE]`; FILE may be relative to the current folder or to the workspace.
fn parse_at(layout: &Layout, at: &str) -> Result<(String, usize, usize)> {
    let (file, lines) = at.rsplit_once(':').context("expected FILE:LINE or FILE:FIRST-LAST")?;
    let (a, b) = lines.split_once('-').unwrap_or((lines, lines));
    let first: usize = a.parse().with_context(|| format!("bad line number {a:?}"))?;
    let last: usize = b.parse().with_context(|| format!("bad line number {b:?}"))?;
    let here = std::env::current_dir()?.join(file);
    let rel = match here
        .canonicalize()
        .ok()
        .and_then(|p| p.strip_prefix(&layout.root).ok().map(Path::to_path_buf))
    {
        Some(p) => p.to_string_lossy().to_string(),
        None => file.to_string(),
    };
    Ok((rel, first, last))
}

pub async fn comment(layout: Layout, cmd: CommentCmd) -> Result<()> {
    let (req, prints_id) = match cmd {
        CommentCmd::Add {
            at,
            text,
            kind,
            suggest,
        } => {
            let (file, start_line, end_line) = parse_at(&layout, &at)?;
            let Some(kind) = CommentKind::parse(&kind) else {
                bail!("unknown kind {kind:?}: suggestion, question, issue or praise")
            };
            let kind = if suggest.is_some() {
                CommentKind::Suggestion
            } else {
                kind
            };
            (
                Request::CommentAdd {
                    file,
                    start_line,
                    end_line,
                    kind,
                    body: text,
                    suggest,
                },
                true,
            )
        }
        CommentCmd::Reply { id, text } => (Request::CommentReply { thread: id, body: text }, true),
        CommentCmd::Resolve { id } => (
            Request::CommentAct {
                action: "resolve".into(),
                id,
            },
            false,
        ),
        CommentCmd::Reopen { id } => (
            Request::CommentAct {
                action: "reopen".into(),
                id,
            },
            false,
        ),
        CommentCmd::Apply { id } => (
            Request::CommentAct {
                action: "apply".into(),
                id,
            },
            false,
        ),
        CommentCmd::Edit { id, text } => (Request::CommentEdit { id, body: text }, false),
        CommentCmd::Delete { id } => (
            Request::CommentAct {
                action: "delete".into(),
                id,
            },
            false,
        ),
    };
    let out = call(&layout, req).await?;
    if prints_id {
        println!("{}", out["id"].as_str().unwrap_or_default());
    }
    Ok(())
}

pub async fn comments(layout: Layout, file: Option<String>, open: bool, resolved: bool, json: bool) -> Result<()> {
    let out = call(&layout, Request::Comments).await?;
    let threads: Vec<Value> = out["threads"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| file.as_deref().is_none_or(|f| t["file"] == f))
        .filter(|t| {
            let state = t["state"].as_str().unwrap_or("");
            (!open || matches!(state, "open" | "outdated")) && (!resolved || matches!(state, "resolved" | "applied"))
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&json!(threads))?);
        return Ok(());
    }
    if threads.is_empty() {
        println!("no comments");
    }
    for t in threads {
        let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
        println!(
            "{}  {}:{}-{}  [{}] {}  by {}",
            s("id"),
            s("file"),
            t["start_line"],
            t["end_line"],
            s("kind"),
            s("state"),
            name_or_id(&t["author_name"], &t["author"])
        );
        println!("    {}", s("body"));
        if let Some(sug) = t["suggestion"].as_str() {
            println!("    suggests: {}", sug.replace('\n', "\n              "));
        }
        for r in t["replies"].as_array().into_iter().flatten() {
            println!(
                "    ↳ {}: {}",
                name_or_id(&r["author_name"], &r["author"]),
                r["body"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

fn name_or_id(name: &Value, id: &Value) -> String {
    match name.as_str() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => id.as_str().unwrap_or("").chars().take(12).collect(),
    }
}

pub async fn review(layout: Layout, cmd: ReviewCmd) -> Result<()> {
    match cmd {
        ReviewCmd::Request {
            mut files_then_title,
            approvals,
        } => {
            let title = files_then_title.pop().unwrap_or_default();
            let out = call(
                &layout,
                Request::ReviewRequest {
                    files: files_then_title,
                    approvals,
                    title,
                },
            )
            .await?;
            println!("{}", out["id"].as_str().unwrap_or_default());
        }
        ReviewCmd::Approve { id } => {
            call(
                &layout,
                Request::ReviewVote {
                    id,
                    approve: true,
                    reason: String::new(),
                },
            )
            .await?;
        }
        ReviewCmd::Reject { id, why } => {
            call(
                &layout,
                Request::ReviewVote {
                    id,
                    approve: false,
                    reason: why,
                },
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn reviews(layout: Layout, json: bool) -> Result<()> {
    let out = call(&layout, Request::Reviews).await?;
    let reviews = out["reviews"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&json!(reviews))?);
        return Ok(());
    }
    if reviews.is_empty() {
        println!("no review requests");
    }
    for r in reviews {
        let votes = r["votes"].as_array().cloned().unwrap_or_default();
        let approvals = votes.iter().filter(|v| v["vote"] == "approve").count();
        println!(
            "{}  {}  [{}]  {}/{} approvals  by {}",
            r["id"].as_str().unwrap_or(""),
            r["title"].as_str().unwrap_or(""),
            r["outcome"].as_str().unwrap_or(""),
            approvals,
            r["approvals_needed"],
            name_or_id(&r["author_name"], &r["author"])
        );
        for v in votes {
            let why = v["reason"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            println!(
                "    {} {}{}",
                name_or_id(&v["name"], &v["peer"]),
                v["vote"].as_str().unwrap_or(""),
                why
            );
        }
    }
    Ok(())
}

fn print_message(m: &Value, json: bool) {
    if json {
        println!("{m}");
    } else {
        println!(
            "{}: {}",
            name_or_id(&m["author_name"], &m["author"]),
            m["text"].as_str().unwrap_or("")
        );
    }
}

pub async fn chat(layout: Layout, cmd: ChatCmd) -> Result<()> {
    match cmd {
        ChatCmd::Send { text } => {
            call(&layout, Request::ChatSend { text }).await?;
        }
        ChatCmd::Log { json, follow } => {
            let out = call(&layout, Request::ChatLog).await?;
            let messages = out["messages"].as_array().cloned().unwrap_or_default();
            if json && !follow {
                println!("{}", serde_json::to_string_pretty(&json!(messages))?);
            } else {
                for m in &messages {
                    print_message(m, json);
                }
            }
            if follow {
                control::follow(&layout.root, &layout.socket_path(), |ev| {
                    if ev["event"] == "chat" {
                        print_message(&ev["message"], json);
                    }
                    true
                })
                .await?;
            }
        }
    }
    Ok(())
}
