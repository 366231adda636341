//! Who belongs to a workspace and what each role may do.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the workspace or was promoted: edits, invites, changes roles.
    Owner,
    /// Edits files, comments, resolves.
    Editor,
    /// Reads everything; may comment and chat but not edit files.
    Viewer,
}

impl Role {
    /// Whether this role may change file contents.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    /// Whether this role may add members or change roles.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner)
    }

    /// Compact wire code (used in invite codes).
    pub fn code(self) -> u8 {
        match self {
            Role::Owner => 0,
            Role::Editor => 1,
            Role::Viewer => 2,
        }
    }

    /// Inverse of [`Role::code`].
    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            0 => Some(Role::Owner),
            1 => Some(Role::Editor),
            2 => Some(Role::Viewer),
            _ => None,
        }
    }

    /// The role's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not owner, editor or viewer.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected owner, editor or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}
