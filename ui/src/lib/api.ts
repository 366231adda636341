// Typed wrappers over the Tauri commands in src-tauri/src/commands/.

import { Channel, invoke } from "@tauri-apps/api/core";
import type { ActivityItem, Metrics } from "./metrics";
import type { Review } from "./reviews";
import type { AlertRules } from "./alertRules";

/** How far a join is (src-tauri `JoinProgress`). */
export interface JoinProgress {
  received: number;
  total: number;
}
import type { ChatMessage, CommandError, CommentAction, CommentKind, LiveView, Profile, Role, Status, Thread } from "./types";

export const api = {
  startupDir: () => invoke<string | null>("startup_dir"),
  /** The file to show once the startup folder is open (relative to it), if one was given. */
  startupFile: () => invoke<string | null>("startup_file"),
  /** `name` is how teammates see this peer; none: the OS user name. */
  openWorkspace: (path: string, name?: string) => invoke<Status>("open_workspace", { path, name: name ?? null }),
  initWorkspace: (path: string, name?: string) => invoke<Status>("init_workspace", { path, name: name ?? null }),
  /** `onProgress(received, total)` is called while the workspace's documents arrive. */
  joinWorkspace: (code: string, path: string, name: string, onProgress: (p: JoinProgress) => void) => {
    const progress = new Channel<JoinProgress>();
    progress.onmessage = onProgress;
    return invoke<Status>("join_workspace", { code, path, name, progress });
  },
  closeWorkspace: () => invoke<void>("close_workspace"),
  status: () => invoke<Status>("status"),
  invite: (role: Role, ttlSecs: number) => invoke<string>("invite", { role, ttlSecs }),
  readFile: (path: string) => invoke<string>("read_file", { path }),
  writeFile: (path: string, text: string) => invoke<void>("write_file", { path, text }),
  newClientId: () => invoke<number>("new_client_id"),
  /** Raw bytes: the shell answers with a `tauri::ipc::Response`. */
  docDiff: async (doc: string, sv: Uint8Array) =>
    new Uint8Array(await invoke<ArrayBuffer>("doc_diff", { doc, sv: Array.from(sv) })),
  /** The update goes as the raw body, the document id in a header (percent-encoded: ASCII only). */
  applyUpdate: (doc: string, update: Uint8Array) =>
    invoke<void>("apply_update", update, { headers: { "Tandem-Doc": encodeURIComponent(doc) } }),
  comments: () => invoke<Thread[]>("comments"),
  addComment: (file: string, line: number, kind: CommentKind, body: string) =>
    invoke<string>("add_comment", { file, line, kind, body }),
  /** Replies in a thread; returns the reply's id. */
  replyComment: (thread: string, body: string) => invoke<string>("reply_comment", { thread, body }),
  /** `delete` takes a thread or reply id, the others a thread id. */
  commentAction: (action: CommentAction, id: string) => invoke<void>("comment_action", { action, id }),
  /** Review requests with their votes and outcome. */
  reviews: () => invoke<Review[]>("reviews"),
  /** Asks for a review; returns the request's id. */
  requestReview: (title: string, files: string[], approvals: number) =>
    invoke<string>("request_review", { title, files, approvals }),
  /** Approves, or requests changes with a reason. */
  voteReview: (review: string, approve: boolean, reason: string) =>
    invoke<void>("vote_review", { review, approve, reason }),
  chatSend: (text: string) => invoke<void>("chat_send", { text }),
  chatLog: () => invoke<ChatMessage[]>("chat_log"),
  setOpenFile: (path: string | null) => invoke<void>("set_open_file", { path }),
  /** Our selection in `file`, as Yjs v1-encoded relative positions (small: JSON arrays). */
  setCursor: (file: string, anchor: Uint8Array, head: Uint8Array) =>
    invoke<void>("set_cursor", { file, anchor: Array.from(anchor), head: Array.from(head) }),
  liveView: () => invoke<LiveView>("live_view"),
  /** A peer's metrics over the last ten minutes, oldest first. */
  metricsSeries: (peer: string) => invoke<Metrics[]>("metrics_series", { peer }),
  /** Native notifications for alerts and mentions on or off (the shell raises them). */
  setNotifications: (enabled: boolean) => invoke<void>("set_notifications", { enabled }),
  /** The name and colour teammates see for this member. */
  profile: () => invoke<Profile>("profile"),
  /** Renames this member and/or changes its colour, for every peer, at once. */
  setProfile: (change: { name?: string; colour?: string }) =>
    invoke<Profile>("set_profile", { name: change.name ?? null, colour: change.colour ?? null }),
  /** The open workspace's alert thresholds. */
  alertRules: () => invoke<AlertRules>("alert_rules"),
  /** Saves them to `.tandem/config.toml`; they are in force at once. */
  setAlertRules: (rules: AlertRules) => invoke<void>("set_alert_rules", { rules }),
  /** The activity feed, newest first. */
  activity: () => invoke<ActivityItem[]>("activity"),
};

/** Whether a rejected command carried the shell's `{code, message}` error. */
export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** Plain words for any rejection. */
export function errorText(e: unknown): string {
  if (isCommandError(e)) return e.message;
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  return "something went wrong: " + JSON.stringify(e);
}
