//! `tandem agent|agents|activity|top`: thin wrappers over the control API.

use super::AgentCmd;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::time::Duration;
use tandem::agents::AgentUpdate;
use tandem::control::{self, Request};
use tandem::workspace::Layout;

async fn call(layout: &Layout, req: Request) -> Result<Value> {
    Ok(control::call(&layout.root, &layout.socket_path(), &req).await?)
}

pub async fn agent(layout: Layout, cmd: AgentCmd) -> Result<()> {
    match cmd {
        AgentCmd::Register { name, kind } => {
            call(&layout, Request::AgentRegister { name, kind }).await?;
        }
        AgentCmd::Update {
            name,
            status,
            task,
            progress,
            subtasks,
        } => {
            let status = status.map(|s| s.parse()).transpose().map_err(anyhow::Error::msg)?;
            let update = AgentUpdate {
                status,
                task,
                progress,
                subtasks,
            };
            call(&layout, Request::AgentUpdate { name, update }).await?;
        }
        AgentCmd::Done { name } => {
            call(&layout, Request::AgentDone { name }).await?;
        }
        AgentCmd::Fail { name, reason } => {
            call(&layout, Request::AgentFail { name, reason }).await?;
        }
        AgentCmd::Run { name, kind, command } => {
            let code = run(&layout, name, kind, command).await?;
            if code != 0 {
                std::process::exit(code);
            }
        }
    }
    Ok(())
}

/// Runs a command as an agent and returns its exit code (the CLI exits with it).
async fn run(layout: &Layout, name: String, kind: String, command: Vec<String>) -> Result<i32> {
    call(
        layout,
        Request::AgentRegister {
            name: name.clone(),
            kind,
        },
    )
    .await?;
    let title = command.join(" ");
    let update = AgentUpdate {
        task: Some(title.clone()),
        ..Default::default()
    };
    call(
        layout,
        Request::AgentUpdate {
            name: name.clone(),
            update,
        },
    )
    .await?;
    let status = match tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .status()
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("could not start {}: {e}", command[0]);
            call(
                layout,
                Request::AgentFail {
                    name,
                    reason: reason.clone(),
                },
            )
            .await?;
            bail!(reason);
        }
    };
    match status.code() {
        Some(0) => {
            call(layout, Request::AgentDone { name }).await?;
            Ok(0)
        }
        Some(code) => {
            call(
                layout,
                Request::AgentFail {
                    name,
                    reason: format!("exit code {code}"),
                },
            )
            .await?;
            Ok(code)
        }
        None => {
            call(
                layout,
                Request::AgentFail {
                    name,
                    reason: "killed by a signal".into(),
                },
            )
            .await?;
            Ok(1)
        }
    }
}

fn agent_line(a: &Value) -> String {
    let task = &a["task"];
    let mut line = format!(
        "{:<16} {:<12} {:<8} on {}",
        a["name"].as_str().unwrap_or(""),
        a["kind"].as_str().unwrap_or(""),
        a["status"].as_str().unwrap_or(""),
        a["peer"].as_str().unwrap_or("").chars().take(12).collect::<String>()
    );
    if let Some(title) = task["title"].as_str() {
        line += &format!("  {title} {}%", task["progress"].as_u64().unwrap_or(0));
        if let Some(eta) = task["eta"].as_u64() {
            let left = eta.saturating_sub(tandem::unix_now());
            line += &format!(" eta {left}s");
        }
        let subs = task["subtasks"].as_array().cloned().unwrap_or_default();
        if !subs.is_empty() {
            let done = subs.iter().filter(|s| s["done"] == true).count();
            line += &format!(" [{done}/{} steps]", subs.len());
        }
    }
    if let Some(e) = a["error"].as_str() {
        line += &format!("  error: {e}");
    }
    line
}

pub async fn agents(layout: Layout, json: bool) -> Result<()> {
    let out = call(&layout, Request::Agents).await?;
    let agents = out["agents"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&json!(agents))?);
    } else if agents.is_empty() {
        println!("no agents");
    } else {
        for a in &agents {
            println!("{}", agent_line(a));
        }
    }
    Ok(())
}

fn print_item(item: &Value, json: bool) {
    if json {
        println!("{item}");
    } else {
        println!(
            "[{}] {}",
            item["kind"].as_str().unwrap_or(""),
            item["text"].as_str().unwrap_or("")
        );
    }
}

pub async fn activity(layout: Layout, json: bool, follow: bool) -> Result<()> {
    let out = call(&layout, Request::Activity).await?;
    let items = out["items"].as_array().cloned().unwrap_or_default();
    if json && !follow {
        println!("{}", serde_json::to_string_pretty(&json!(items))?);
    } else {
        for item in items.iter().rev() {
            print_item(item, json);
        }
    }
    if follow {
        control::follow(&layout.root, &layout.socket_path(), |ev| {
            if ev["event"] == "activity" {
                print_item(&ev["item"], json);
            }
            true
        })
        .await?;
    }
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}

pub async fn top(layout: Layout) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tick.tick() => {}
        }
        let s = call(&layout, Request::Status).await?;
        let mut out = String::from("\x1b[H\x1b[2J");
        out += &format!(
            "tandem top — {} ({})\n\n",
            s["name"].as_str().unwrap_or(""),
            s["root"].as_str().unwrap_or("")
        );
        out += "PEER             STATUS   FILE                          CPU%   MEM              NET rx/tx KiB/s  SYNC ms\n";
        let metrics = &s["metrics"];
        let mut rows = vec![(s["peer_id"].clone(), json!(s["name"]), json!("online"), Value::Null)];
        for p in s["peers"].as_array().into_iter().flatten() {
            rows.push((
                p["id"].clone(),
                p["name"].clone(),
                p["status"].clone(),
                p["file"].clone(),
            ));
        }
        for (id, name, status, file) in rows {
            let m = &metrics[id.as_str().unwrap_or("")];
            let net = format!(
                "{:.1}/{:.1}",
                m["net_rx_bps"].as_f64().unwrap_or(0.0) / 1024.0,
                m["net_tx_bps"].as_f64().unwrap_or(0.0) / 1024.0
            );
            out += &format!(
                "{:<16} {:<8} {:<29} {:>5.1}  {:<16} {:<16} {}\n",
                name.as_str().unwrap_or(""),
                status.as_str().unwrap_or(""),
                file.as_str().unwrap_or("-"),
                m["cpu_percent"].as_f64().unwrap_or(0.0),
                format!(
                    "{}/{}",
                    mb(m["mem_used"].as_u64().unwrap_or(0)),
                    mb(m["mem_total"].as_u64().unwrap_or(0))
                ),
                net,
                m["sync_latency_ms"]
                    .as_f64()
                    .map(|v| format!("{v:.1}"))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        out += "\nAGENTS\n";
        for a in s["agents"].as_array().into_iter().flatten() {
            out += &format!("  {}\n", agent_line(a));
        }
        out += "\nALERTS\n";
        for a in s["alerts"].as_array().into_iter().flatten() {
            out += &format!("  {}\n", a["message"].as_str().unwrap_or(""));
        }
        print!("{out}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
}
