//! Agents: automated participants hosted by a peer (a test runner, a linter, an AI assistant),
//! with a status, a current task, progress and an ETA estimated from the progress so far.

use serde::{Deserialize, Serialize};

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    /// Waiting for work.
    #[default]
    Idle,
    /// Busy with its task.
    Working,
    /// Its last task failed.
    Error,
    /// Its host is gone (derived).
    Offline,
}

impl std::str::FromStr for AgentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "idle" => Ok(AgentStatus::Idle),
            "working" => Ok(AgentStatus::Working),
            "error" => Ok(AgentStatus::Error),
            other => Err(format!("unknown agent status {other:?}: idle, working or error")),
        }
    }
}

/// A step of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subtask {
    /// What it is.
    pub name: String,
    /// Whether it is done.
    pub done: bool,
}

/// An agent's current task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Task {
    /// Title.
    pub title: String,
    /// 0–100.
    pub progress: u8,
    /// Unix seconds when it started.
    pub started: u64,
    /// Unix seconds when it should end, from the progress so far (None until there is progress).
    pub eta: Option<u64>,
    /// Steps.
    pub subtasks: Vec<Subtask>,
}

/// An agent as shown to the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Stable id (its name on its host).
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind: test-runner, linter, build, assistant, reviewer...
    pub kind: String,
    /// Host peer id (filled by whoever shows it).
    #[serde(default)]
    pub peer: String,
    /// Status.
    pub status: AgentStatus,
    /// Current or last task.
    pub task: Option<Task>,
    /// Why the last task failed.
    pub error: Option<String>,
    /// Unix seconds of the last update.
    pub updated_at: u64,
}

/// A change to an agent from its owner (the CLI or an external program).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AgentUpdate {
    /// New status.
    pub status: Option<AgentStatus>,
    /// New task title (starts a new task when it differs).
    pub task: Option<String>,
    /// Progress 0–100.
    pub progress: Option<u8>,
    /// Subtasks as `name=done|todo`; replaces the list when given.
    #[serde(default)]
    pub subtasks: Vec<String>,
}

impl Agent {
    /// A new idle agent.
    pub fn new(name: &str, kind: &str) -> Agent {
        Agent {
            id: name.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            peer: String::new(),
            status: AgentStatus::Idle,
            task: None,
            error: None,
            updated_at: crate::unix_now(),
        }
    }

    /// Applies an update at `now` (unix seconds).
    pub fn apply(&mut self, u: &AgentUpdate, now: u64) -> Result<(), String> {
        if let Some(title) = &u.task {
            if self.task.as_ref().is_none_or(|t| &t.title != title) {
                self.task = Some(Task {
                    title: title.clone(),
                    started: now,
                    ..Default::default()
                });
            }
        }
        if let Some(p) = u.progress {
            if p > 100 {
                return Err(format!("progress {p} is over 100"));
            }
            let task = self.task.get_or_insert_with(|| Task {
                started: now,
                ..Default::default()
            });
            task.progress = p;
            task.eta = eta(task.started, now, p);
        }
        if !u.subtasks.is_empty() {
            let subtasks = u
                .subtasks
                .iter()
                .map(|s| parse_subtask(s))
                .collect::<Result<Vec<_>, _>>()?;
            self.task
                .get_or_insert_with(|| Task {
                    started: now,
                    ..Default::default()
                })
                .subtasks = subtasks;
        }
        if let Some(s) = u.status {
            self.status = s;
            if s != AgentStatus::Error {
                self.error = None;
            }
        } else if u.task.is_some() || u.progress.is_some() {
            self.status = AgentStatus::Working;
        }
        self.updated_at = now;
        Ok(())
    }

    /// Marks the task done.
    pub fn done(&mut self, now: u64) {
        if let Some(t) = &mut self.task {
            t.progress = 100;
            t.eta = Some(now);
            for s in &mut t.subtasks {
                s.done = true;
            }
        }
        self.status = AgentStatus::Idle;
        self.error = None;
        self.updated_at = now;
    }

    /// Marks the task failed, with why.
    pub fn fail(&mut self, reason: &str, now: u64) {
        self.status = AgentStatus::Error;
        self.error = Some(reason.to_string());
        self.updated_at = now;
    }
}

/// When a task at `progress` % after running since `started` should end, assuming a steady pace.
pub fn eta(started: u64, now: u64, progress: u8) -> Option<u64> {
    if progress == 0 {
        return None;
    }
    let elapsed = now.saturating_sub(started) as f64;
    Some(started + (elapsed * 100.0 / f64::from(progress)).round() as u64)
}

fn parse_subtask(s: &str) -> Result<Subtask, String> {
    let (name, state) = s.rsplit_once('=').unwrap_or((s, "todo"));
    let done = match state {
        "done" | "true" | "yes" => true,
        "todo" | "false" | "no" | "" => false,
        other => return Err(format!("subtask {name:?}: {other:?} is not done or todo")),
    };
    Ok(Subtask {
        name: name.to_string(),
        done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_gives_an_eta_from_the_pace_so_far() {
        let mut a = Agent::new("t", "test-runner");
        let u = AgentUpdate {
            task: Some("Run tests".into()),
            ..Default::default()
        };
        a.apply(&u, 1000).unwrap();
        a.apply(
            &AgentUpdate {
                progress: Some(25),
                subtasks: vec!["unit=done".into(), "e2e".into()],
                ..Default::default()
            },
            1010,
        )
        .unwrap();
        let t = a.task.clone().unwrap();
        assert_eq!((a.status, t.progress, t.eta), (AgentStatus::Working, 25, Some(1040)));
        assert_eq!(
            t.subtasks,
            vec![
                Subtask {
                    name: "unit".into(),
                    done: true
                },
                Subtask {
                    name: "e2e".into(),
                    done: false
                }
            ]
        );
        a.fail("exit code 3", 1020);
        assert_eq!(
            (a.status, a.error.as_deref()),
            (AgentStatus::Error, Some("exit code 3"))
        );
        assert!(a
            .apply(
                &AgentUpdate {
                    progress: Some(101),
                    ..Default::default()
                },
                1030
            )
            .is_err());
    }
}
