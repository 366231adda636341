//! `tandem members|role|revoke|invites`: thin wrappers over the control API.

use super::InvitesCmd;
use anyhow::Result;
use serde_json::{json, Value};
use std::time::Duration;
use tandem::control::{self, Request};
use tandem::workspace::Layout;
use tandem::Role;

async fn call(layout: &Layout, req: Request) -> Result<Value> {
    Ok(control::call(&layout.root, &layout.socket_path(), &req).await?)
}

/// Unix seconds as a UTC date and time, for listings.
fn when(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

pub async fn members(layout: Layout, json: bool) -> Result<()> {
    let out = call(&layout, Request::Members).await?;
    let members = out["members"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&json!(members))?);
        return Ok(());
    }
    for m in &members {
        let name = m["name"].as_str().filter(|n| !n.is_empty()).unwrap_or("(no name)");
        let added_by = m["added_by"].as_str().unwrap_or("");
        let added = m["added_at"].as_u64().map(when).unwrap_or_default();
        let state = match m["revoked_by"].as_str() {
            Some(by) => format!("  REVOKED by {by}"),
            None => String::new(),
        };
        println!(
            "{:<7} {:<16} {}  added by {} at {}{}",
            m["role"].as_str().unwrap_or("?"),
            name,
            m["peer"].as_str().unwrap_or("?"),
            if added_by.is_empty() {
                "(created the workspace)"
            } else {
                added_by
            },
            added,
            state
        );
    }
    Ok(())
}

pub async fn role(layout: Layout, peer: String, role: Role) -> Result<()> {
    call(
        &layout,
        Request::SetRole {
            peer: peer.clone(),
            role,
        },
    )
    .await?;
    println!("{peer} is now {role}");
    Ok(())
}

pub async fn profile(layout: Layout, name: Option<String>, colour: Option<String>) -> Result<()> {
    let out = call(&layout, Request::Profile { name, colour }).await?;
    let field = |k: &str| out.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    println!("name {}, colour {}", field("name"), field("colour"));
    Ok(())
}

pub async fn revoke(layout: Layout, peer: String, grace: Duration) -> Result<()> {
    let req = Request::Revoke {
        peer,
        grace_secs: Some(grace.as_secs()),
    };
    let out = call(&layout, req).await?;
    println!(
        "revoked {}; workspace key rotated (epoch {}). Members move to the new key as they sync; \
         those away can come back with the old key for {} (the revoked peer cannot). Open invites \
         were cancelled.",
        out["peer"].as_str().unwrap_or("?"),
        out["epoch"],
        humantime::format_duration(grace)
    );
    Ok(())
}

pub async fn invites(layout: Layout, json: bool, cmd: Option<InvitesCmd>) -> Result<()> {
    if let Some(InvitesCmd::Cancel { id }) = cmd {
        call(&layout, Request::InviteCancel { id: id.clone() }).await?;
        println!("invite {id} cancelled");
        return Ok(());
    }
    let out = call(&layout, Request::Invites).await?;
    let invites = out["invites"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&json!(invites))?);
    } else if invites.is_empty() {
        println!("no open invites");
    } else {
        for i in &invites {
            println!(
                "{}  {:<6}  expires {}",
                i["id"].as_str().unwrap_or("?"),
                i["role"].as_str().unwrap_or("?"),
                i["expires_at"].as_u64().map(when).unwrap_or_default()
            );
        }
    }
    Ok(())
}
